"""What the run store reads back is untrusted, and no run is ever written over: tampered rows, a
lost store, a copied or moved runs folder, another run's state, a foreign database."""

import os
import shutil
import sqlite3
from pathlib import Path

import pytest
import torch

from mnistconv.core import cli_runs, events
from mnistconv.core.errors import CheckpointError
from mnistconv.core.paths import state_file
from mnistconv.core.runstore import DB_NAME, RunStore, StoreError
from mnistconv.core.session import RUN_FOLDER, resume_session, training_session
from mnistconv.core.train import TrainingControl

from tiny_training import tiny_config

BAD_VALUES = {
    "ended": "x", "started": 5, "best_accuracy": "high", "best_epoch": -3, "epochs_done": "many", "seed": "abc",
    "config": "[1, 2", "kind": 7, "preset": 2.5, "outcome": "exploded", "checkpoint": 12,
}


def tamper(root, run_id, **values):
    with sqlite3.connect(root / DB_NAME) as db:
        for column, value in values.items():
            db.execute(f"UPDATE runs SET {column} = ? WHERE id = ?", (value, run_id))


@pytest.mark.parametrize("column", BAD_VALUES)
def test_a_tampered_row_reads_as_unknown_values_never_an_error(tmp_path, column, capsys):
    with RunStore(tmp_path) as store:
        run = store.create_run(config={"epochs": 4}, preset="seed", data_dir=None)
        store.record_end(run.id, "completed")
    tamper(tmp_path, run.id, **{column: BAD_VALUES[column]})
    with RunStore(tmp_path) as store:
        (read,) = store.runs()
    assert read.id == run.id and read.folder == tmp_path / str(run.id)
    assert read.duration_s is None or read.duration_s >= 0
    assert read.best_accuracy is None or 0 <= read.best_accuracy <= 1
    assert isinstance(read.epochs_done, int) and isinstance(read.config, dict)
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


def test_a_foreign_sqlite_database_is_refused_not_converted(tmp_path):
    with sqlite3.connect(tmp_path / DB_NAME) as db:
        db.execute("CREATE TABLE recipes (name TEXT)")
    before = (tmp_path / DB_NAME).read_bytes()
    with pytest.raises(StoreError, match="an SQLite database of another program, not a run store"):
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
