"""Write targets: only regular files (or new names) are written, whole; a link, a FIFO, a device or
a folder is refused with its reason and left as it is. Personal digits are never written over."""

import os
import stat

import numpy as np
import pytest

from mnistconv.core import cli_runs
from mnistconv.core.atomic import NotARegularFile, atomic_write
from mnistconv.core.personal import PersonalDigits
from mnistconv.core.runstore import RunStore


def targets(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    link = tmp_path / "link.csv"
    link.symlink_to(victim)
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    paths = {"link": link, "fifo": fifo, "folder": folder}
    try:
        # A device node of our own (the null device's numbers): were the refusal ever to break, the
        # test replaces this one, never the system's /dev/null.
        os.mknod(tmp_path / "device.csv", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        paths["device"] = tmp_path / "device.csv"
    except (PermissionError, AttributeError):
        pass
    return victim, paths


def target(paths, kind):
    if kind not in paths:
        pytest.skip("making a device node needs root")
    return paths[kind]


@pytest.mark.parametrize("kind", ["link", "fifo", "folder", "device"])
def test_atomic_write_refuses_what_is_not_a_regular_file(tmp_path, kind):
    victim, paths = targets(tmp_path)
    with pytest.raises(NotARegularFile, match="not a regular file; it is left as it is"):
        with atomic_write(target(paths, kind)) as sink:
            sink.write(b"new")
    assert victim.read_text() == "precious" and os.path.islink(paths["link"])
    assert kind != "device" or stat.S_ISCHR(os.stat(paths["device"]).st_mode)
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".partial")]


@pytest.mark.parametrize("kind", ["link", "fifo", "device"])
def test_csv_export_to_a_special_file_is_refused_and_says_why(tmp_path, kind, capsys):
    victim, paths = targets(tmp_path)
    with RunStore(tmp_path / "runs") as store:
        run = store.create_run(config={}, preset=None, data_dir=None)
        store.record_epoch(run.id, {"epoch": 1, "test_accuracy": 0.9})
    status = cli_runs.runs_main(["--runs-dir", str(tmp_path / "runs"), "export", str(run.id), "--csv",
                                 str(target(paths, kind))])
    assert status != 0 and "not a regular file" in capsys.readouterr().err
    assert victim.read_text() == "precious"


def test_csv_export_to_standard_output_is_a_stream(tmp_path, capsys):
    with RunStore(tmp_path / "runs") as store:
        run = store.create_run(config={}, preset=None, data_dir=None)
        store.record_epoch(run.id, {"epoch": 1, "test_accuracy": 0.9})
    assert cli_runs.runs_main(["--runs-dir", str(tmp_path / "runs"), "export", str(run.id), "--csv", "-"]) == 0
    assert capsys.readouterr().out.startswith("epoch")


def test_relabelling_onto_a_name_the_other_class_has_keeps_both_digits(tmp_path):
    digits = PersonalDigits(tmp_path)
    canvas = np.zeros((28, 28), np.float32)
    canvas[10:20, 13:15] = 1
    one = digits.add(canvas, 1)
    seven_picture = tmp_path / "7" / one.path.name  # as ImageFolder sets name files: 0001.png in every class
    seven_picture.parent.mkdir(exist_ok=True)
    seven_picture.write_bytes(one.path.read_bytes()[:-1] + b"\x00")
    before = seven_picture.read_bytes()
    moved = digits.relabel(one, 7)
    assert moved.path != seven_picture and moved.path.parent == seven_picture.parent
    assert seven_picture.read_bytes() == before and moved.path.is_file() and not one.path.exists()
    assert sorted(d.label for d in digits.list().digits) == [7, 7]


def test_export_into_a_folder_with_the_same_names_keeps_what_was_there(tmp_path):
    digits = PersonalDigits(tmp_path / "mine")
    canvas = np.zeros((28, 28), np.float32)
    canvas[10:20, 13:15] = 1
    kept = digits.add(canvas, 3)
    target = tmp_path / "out"
    (target / "3").mkdir(parents=True)
    (target / "3" / kept.path.name).write_bytes(b"someone else's")
    assert digits.export_to(target) == 1
    assert (target / "3" / kept.path.name).read_bytes() == b"someone else's"
    assert len(list((target / "3").glob("*.png"))) == 2
