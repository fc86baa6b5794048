"""What the run store reads back is untrusted, and no run is ever written over: tampered rows, a
lost store, a copied or moved runs folder, another run's state, a foreign database."""

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mnistconv.core import cli_runs, events
from mnistconv.core.errors import CheckpointError, ConfigError
from mnistconv.core.history import EventKind, Marker
from mnistconv.core.paths import state_file
from mnistconv.core.runstore import DB_NAME, LOCK_NAME, RunStore, StoreError
from mnistconv.core.session import RUN_FOLDER, resume_session, training_session
from mnistconv.core.train import TrainingControl

from tiny_training import tiny_config

BAD_VALUES = {
    "ended": "x", "started": 5, "best_accuracy": "high", "best_epoch": -3, "epochs_done": "many", "seed": "abc",
    "config": "[1, 2", "kind": 7, "preset": 2.5, "outcome": "exploded", "checkpoint": 12,
    "name": 5, "tags": "[1, 2", "note": b"\x00", "parameters": "many", "group_id": "one",
}
# JSON with a number of more than 4,300 digits, which Python's json will not read (a plain ValueError)
UNREADABLE_NUMBER = "9" * 5000
TAMPERED = [*BAD_VALUES.items(), ("config", f'{{"epochs": {UNREADABLE_NUMBER}}}'), ("tags", f"[{UNREADABLE_NUMBER}]")]


def tamper(root, run_id, **values):
    with sqlite3.connect(root / DB_NAME) as db:
        for column, value in values.items():
            db.execute(f"UPDATE runs SET {column} = ? WHERE id = ?", (value, run_id))


@pytest.mark.parametrize("column, value", TAMPERED, ids=[f"{column}-{index}" for index, (column, _) in enumerate(TAMPERED)])
def test_a_tampered_row_reads_as_unknown_values_never_an_error(tmp_path, column, value, capsys):
    with RunStore(tmp_path) as store:
        run = store.create_run(config={"epochs": 4}, preset="seed", data_dir=None)
        store.record_end(run.id, "completed")
    tamper(tmp_path, run.id, **{column: value})
    with RunStore(tmp_path) as store:
        (read,) = store.runs()
    assert read.id == run.id and read.folder == tmp_path / str(run.id)
    assert read.duration_s is None or read.duration_s >= 0
    assert read.best_accuracy is None or 0 <= read.best_accuracy <= 1
    assert (read.epochs_done is None or isinstance(read.epochs_done, int)) and isinstance(read.config, dict)
    assert cli_runs.runs_main(["--runs-dir", str(tmp_path), "list"]) == 0
    assert cli_runs.runs_main(["--runs-dir", str(tmp_path), "show", str(run.id)]) == 0
    assert str(run.id) in capsys.readouterr().out


def test_a_stored_folder_outside_the_runs_folder_is_never_deleted(tmp_path):
    root = tmp_path / "runs"
    beside = tmp_path / "beside.txt"
    beside.write_text("keep me")
    with RunStore(root) as store:
        run = store.create_run(config={}, preset=None, data_dir=None)
        store.record_end(run.id, "completed")
    tamper(root, run.id, folder=str(root / ".."), checkpoint=str(tmp_path / "beside.txt"))
    with RunStore(root) as store:
        store.delete_run(run.id)
    assert beside.read_text() == "keep me" and (root / DB_NAME).is_file()


@pytest.mark.parametrize("loss", ["deleted", "emptied"])
def test_a_lost_store_never_leads_to_a_run_folder_being_reused(tiny_mnist_dir, tmp_path, loss):
    runs = tmp_path / "runs"
    list(training_session(tiny_config(RUN_FOLDER, epochs=1), tiny_mnist_dir, runs_dir=runs))
    first_model = (runs / "1" / "mnist_conv.pt").read_bytes()
    for name in os.listdir(runs):
        if name.startswith(DB_NAME):
            (runs / name).unlink() if loss == "deleted" else (runs / name).write_bytes(b"")
    session = list(training_session(tiny_config(RUN_FOLDER, epochs=1, seed=5), tiny_mnist_dir, runs_dir=runs))
    recorded = next(e for e in session if isinstance(e, events.RunRecorded))
    assert recorded.run_id == 2 and recorded.folder == runs / "2"
    assert (runs / "1" / "mnist_conv.pt").read_bytes() == first_model


def stopped_run(tiny_mnist_dir, runs, **settings):
    control = TrainingControl()
    for event in training_session(tiny_config(RUN_FOLDER, epochs=3, **settings), tiny_mnist_dir, control, runs_dir=runs):
        if isinstance(event, events.EpochFinished):
            control.request_stop()


@pytest.mark.parametrize("how", ["copied", "moved"])
def test_a_copied_or_moved_runs_folder_resumes_where_it_is(tiny_mnist_dir, tmp_path, how):
    original = tmp_path / "runs"
    stopped_run(tiny_mnist_dir, original)
    model = (original / "1" / "mnist_conv.pt").read_bytes()
    elsewhere = tmp_path / "elsewhere"
    (shutil.copytree if how == "copied" else shutil.move)(original, elsewhere)
    finished = list(resume_session(elsewhere))[-1]
    assert finished.reason is events.FinishReason.COMPLETED
    assert finished.checkpoint == elsewhere / "1" / "mnist_conv.pt"
    if how == "copied":
        assert (original / "1" / "mnist_conv.pt").read_bytes() == model  # the original is not touched
    else:
        assert not original.exists()  # nothing recreated where the folder was


def test_a_state_whose_savepath_points_elsewhere_still_saves_in_its_run(tiny_mnist_dir, tmp_path):
    runs = tmp_path / "runs"
    stopped_run(tiny_mnist_dir, runs)
    state = torch.load(state_file(runs / "1"), weights_only=True)
    victim = tmp_path / "victim"
    state["config"]["savepath"] = str(victim)
    torch.save(state, state_file(runs / "1"))
    finished = list(resume_session(runs))[-1]
    assert finished.checkpoint == runs / "1" / "mnist_conv.pt" and not victim.exists()


def test_another_runs_state_is_refused(tiny_mnist_dir, tmp_path):
    runs = tmp_path / "runs"
    stopped_run(tiny_mnist_dir, runs)
    stopped_run(tiny_mnist_dir, runs, seed=7)
    model = (runs / "1" / "mnist_conv.pt").read_bytes()
    shutil.copyfile(state_file(runs / "2"), state_file(runs / "1"))
    with pytest.raises(CheckpointError, match=r"Cannot resume run 1: its folder holds the state of run 2"):
        list(resume_session(runs, 1))
    assert (runs / "1" / "mnist_conv.pt").read_bytes() == model


@pytest.mark.parametrize("version", [0, 1])
def test_a_foreign_sqlite_database_is_refused_not_converted(tmp_path, version):
    with sqlite3.connect(tmp_path / DB_NAME) as db:
        db.execute("CREATE TABLE recipes (name TEXT)")
        db.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY, title TEXT)")
        db.execute(f"PRAGMA user_version = {version}")
    before = (tmp_path / DB_NAME).read_bytes()
    with pytest.raises(StoreError, match="another program"):
        RunStore(tmp_path)
    assert (tmp_path / DB_NAME).read_bytes() == before


def test_a_store_that_is_a_link_is_refused(tmp_path):
    outside = tmp_path / "outside.db"
    outside.write_bytes(b"")
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / DB_NAME).symlink_to(outside)
    with pytest.raises(StoreError, match="not a plain file"):
        RunStore(tmp_path / "runs")
    assert outside.read_bytes() == b""


def test_an_explicit_relative_save_file_is_recorded_where_it_was_meant(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with RunStore(tmp_path / "runs") as store:
        run = store.create_run(config={}, preset=None, data_dir=None, checkpoint=Path("models") / "mine.pt")
        assert run.checkpoint == tmp_path / "models" / "mine.pt"
        assert run.folder == tmp_path / "runs" / str(run.id)


def recorded_run(root):
    """A run with two epochs, batch reports and markers, as training records them."""
    with RunStore(root) as store:
        run = store.create_run(config={"epochs": 4}, preset="seed", data_dir=None)
        for epoch in (1, 2):
            store.record_epoch(run.id, {"epoch": epoch, "test_accuracy": 0.9 + epoch / 100, "train_loss": 0.3},
                               [(epoch - 0.5, 0.4, 3e-3), (float(epoch), 0.3, 3e-3)],
                               [Marker(epoch, EventKind.NEW_BEST, "0.9")])
        store.set_best(run.id, 0.92, 2)
        store.record_end(run.id, "completed")
    return run


HISTORY_TAMPERING = [
    "UPDATE epochs SET test_accuracy = 'high' WHERE epoch = 1",
    "UPDATE epochs SET epoch = 'two' WHERE epoch = 2",
    "UPDATE epochs SET train_loss = x'00ff' WHERE epoch = 1",
    "UPDATE epochs SET seconds = 1e999 WHERE epoch = 1",
    "UPDATE batches SET x = 'far' WHERE rowid = 1",
    "UPDATE batches SET loss = 'low', lr = x'01' WHERE rowid = 2",
    "UPDATE events SET x = 1e30 WHERE rowid = 1",
    "UPDATE events SET detail = 7, kind = 'exploded' WHERE rowid = 2",
]


@pytest.mark.parametrize("statement", HISTORY_TAMPERING)
def test_a_tampered_history_row_is_left_out_or_unmeasured_never_an_error(tmp_path, statement, capsys):
    run = recorded_run(tmp_path)
    with sqlite3.connect(tmp_path / DB_NAME) as db:
        db.execute(statement)
    with RunStore(tmp_path) as store:
        history = store.history(run.id)
    assert len(history.epochs) in (1, 2) and len(history.batch_x) in (3, 4)
    assert all(0 <= marker.x <= 10**6 for marker in history.markers)
    assert history.epochs_csv().startswith("epoch,")
    assert cli_runs.runs_main(["--runs-dir", str(tmp_path), "show", str(run.id)]) == 0
    assert cli_runs.runs_main(["--runs-dir", str(tmp_path), "export", str(run.id), "--csv", str(tmp_path / "r.csv")]) == 0
    assert "Wrote" in capsys.readouterr().out


def test_more_epochs_done_than_planned_reads_as_unknown(tmp_path, capsys):
    run = recorded_run(tmp_path)
    tamper(tmp_path, run.id, epochs_done=100)
    with RunStore(tmp_path) as store:
        read = store.run(run.id)
    assert read.epochs_done is None and read.epochs_text == "?/4"
    assert read.best_epoch == 2  # its own field, in range: a run whose count is unknown still lists its model
    tamper(tmp_path, run.id, epochs_done=1)
    with RunStore(tmp_path) as store:
        assert store.run(run.id).best_epoch is None  # best after the last epoch done: unknown
    assert cli_runs.runs_main(["--runs-dir", str(tmp_path), "list"]) == 0
    assert "100" not in capsys.readouterr().out


STORE_COLUMNS = ["started", "ended", "kind", "preset", "config", "seed", "device", "torch_version", "data_dir",
                 "folder", "checkpoint", "outcome", "best_accuracy", "best_epoch", "epochs_done", "name", "tags", "note",
                 "parameters", "group_id"]
ANY_SQLITE_VALUE = st.one_of(st.none(), st.integers(-2**63, 2**63 - 1), st.floats(), st.text(max_size=40),
                             st.binary(max_size=16), st.sampled_from(["completed", "running", "..", "/", "2026-13-40"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.dictionaries(st.sampled_from(STORE_COLUMNS), ANY_SQLITE_VALUE, min_size=1, max_size=5),
       history_value=ANY_SQLITE_VALUE, history_column=st.sampled_from(
           ["epochs.epoch", "epochs.test_accuracy", "epochs.lr", "batches.x", "batches.loss", "events.x", "events.kind",
            "events.detail"]))
def test_randomly_mutated_store_rows_never_crash_a_read_or_a_command(tmp_path_factory, values, history_value,
                                                                      history_column):
    root = tmp_path_factory.mktemp("store")
    run = recorded_run(root)
    table, column = history_column.split(".")
    with sqlite3.connect(root / DB_NAME) as db:
        db.execute("PRAGMA foreign_keys = OFF")
        for name, value in values.items():
            db.execute(f"UPDATE OR IGNORE runs SET {name} = ? WHERE id = ?", (value, run.id))  # NOT NULL holds
        db.execute(f"UPDATE OR IGNORE {table} SET {column} = ? WHERE rowid = 1", (history_value,))
    with RunStore(root) as store:
        (read,) = store.runs()
        history = store.history(run.id)
    assert read.folder == root / str(run.id) and root in read.checkpoint.parents or read.checkpoint.is_absolute()
    assert read.best_accuracy is None or 0 <= read.best_accuracy <= 1
    assert read.epochs_done is None or read.epochs_done >= 0
    history.last_epoch()
    for argv in (["list"], ["--json", "list"], ["show", str(run.id)], ["groups"]):
        assert cli_runs.runs_main(["--runs-dir", str(root), *argv]) == 0


@pytest.mark.parametrize("tags, kept", [('["a", 3, "b,c", "d\\n", ""]', ("a",)), ("{}", ()), ("[[[", ()), ('"a"', ()),
                                        (f'["a", {UNREADABLE_NUMBER}]', ())])
def test_tampered_tags_keep_only_tags_a_person_could_have_given(tmp_path, tags, kept):
    with RunStore(tmp_path) as store:
        run = store.create_run(config={}, preset=None, data_dir=None, tags=("x",))
    tamper(tmp_path, run.id, tags=tags)
    with RunStore(tmp_path) as store:
        assert store.run(run.id).tags == kept


@pytest.mark.parametrize("seeds", ["[1, -2]", "[", "{}", "[]", '["x"]', 7, "[" + ", ".join(["1"] * 1001) + "]",
                                   f"[{UNREADABLE_NUMBER}]"])
def test_a_tampered_group_is_left_out_never_an_error(tmp_path, seeds, capsys):
    with RunStore(tmp_path) as store:
        good = store.create_group(seeds=(1, 2), config={}, preset="seed")
        bad = store.create_group(seeds=(3,), config={}, preset="seed")
        store.create_run(config={}, preset="seed", data_dir=None, group_id=bad.id)
    with sqlite3.connect(tmp_path / DB_NAME) as db:
        db.execute("UPDATE groups SET seeds = ? WHERE id = ?", (seeds, bad.id))
    with RunStore(tmp_path) as store:
        assert [group.id for group in store.groups()] == [good.id]
        with pytest.raises(StoreError, match="damaged"):
            store.group(bad.id)
        assert store.runs()[0].group_id == bad.id
    assert cli_runs.runs_main(["--runs-dir", str(tmp_path), "groups"]) == 0
    assert cli_runs.runs_main(["--runs-dir", str(tmp_path), "show", "1"]) == 0


def make_odd_entry(path: Path, kind: str, tmp_path: Path) -> None:
    if kind == "link":
        target = tmp_path / "elsewhere"
        target.write_text("12345")
        path.symlink_to(target)
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        path.mkdir()


@pytest.mark.parametrize("kind", ["link", "fifo", "folder"])
def test_a_run_lock_that_is_not_a_plain_file_is_named_not_followed(tiny_mnist_dir, tmp_path, kind):
    runs = tmp_path / "runs"
    stopped_run(tiny_mnist_dir, runs)
    lock = runs / "1" / LOCK_NAME
    make_odd_entry(lock, kind, tmp_path)
    with pytest.raises(StoreError, match=r"\.lock.*not a plain file"):
        list(resume_session(runs, 1))
    assert lock.is_symlink() or lock.exists()  # left as it is
    if kind == "link":
        assert (tmp_path / "elsewhere").read_text() == "12345"


@pytest.mark.parametrize("kind", ["link", "fifo", "folder"])
def test_a_save_file_lock_that_is_not_a_plain_file_is_refused_before_training(tiny_mnist_dir, tmp_path, kind):
    models = tmp_path / "models"
    models.mkdir()
    make_odd_entry(models / ".mnist_conv.pt.lock", kind, tmp_path)
    with pytest.raises(ConfigError, match="not a plain file"):
        list(training_session(tiny_config(str(models), epochs=1), tiny_mnist_dir, runs_dir=tmp_path / "runs"))


def test_runs_and_data_in_folders_named_in_another_encoding_are_recorded_and_resumed(tiny_mnist_dir, tmp_path):
    runs = tmp_path / os.fsdecode(b"caf\xe9-runs")  # Latin-1 bytes: not UTF-8, as an old disk may name folders
    data = tmp_path / os.fsdecode(b"donn\xe9es")
    shutil.copytree(tiny_mnist_dir, data)
    stopped_run(data, runs)
    with RunStore(runs) as store:
        (run,) = store.runs()
    assert run.data_dir == str(data) and run.checkpoint == runs / "1" / "mnist_conv.pt"
    finished = list(resume_session(runs))[-1]  # the data folder as recorded
    assert finished.reason is events.FinishReason.COMPLETED
    strict_terminal = {**os.environ, "PYTHONIOENCODING": "utf-8:strict"}  # as a UTF-8 terminal's streams
    shown = subprocess.run([sys.executable, "-c", "from mnistconv.core.commands import runs; runs()", "--runs-dir",
                            runs, "show", "1"], capture_output=True, env=strict_terminal)
    assert shown.returncode == 0, shown.stderr
    assert b"[3]: Test accuracy" in shown.stdout and b"caf\\udce9-runs" in shown.stdout


def test_a_runs_folder_that_is_a_file_is_named_before_any_training(tiny_mnist_dir, tmp_path):
    runs = tmp_path / "runs"
    runs.write_text("not a folder")
    with pytest.raises(StoreError, match=r"Cannot keep runs in .*runs/sub: it \(or a folder above it\) is a file"):
        RunStore(runs / "sub")
    session = training_session(tiny_config(RUN_FOLDER, epochs=1), tiny_mnist_dir, runs_dir=runs)
    with pytest.raises(ConfigError, match="the runs folder .*runs is a file, not a folder"):
        next(session)  # before the data is even loaded


def test_a_store_on_a_read_only_file_system_says_so(tmp_path, monkeypatch):
    from mnistconv.core import runstore

    class ReadOnly:
        f_flag = os.ST_RDONLY

    def unopenable(*args, **kwargs):
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(runstore.os, "statvfs", lambda folder: ReadOnly())
    monkeypatch.setattr(runstore.sqlite3, "connect", unopenable)
    with pytest.raises(StoreError, match=r"runs is on a read-only file system \(unable to open database file\)"):
        RunStore(tmp_path / "runs")


def test_a_fit_to_handwriting_is_not_resumed_and_says_why(tmp_path):
    with RunStore(tmp_path) as store:
        run = store.create_run(config={}, preset="fit to my handwriting", kind="finetune", data_dir=None)
        store.record_end(run.id, "completed")
    with pytest.raises(StoreError, match="Run 1 is a fit to handwriting, which keeps no state to resume"):
        next(resume_session(tmp_path, 1))
