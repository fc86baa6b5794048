"""The run store: runs recorded as they happen, read back, versioned, and never destroyed when unreadable."""

import json
import os
import sqlite3
import subprocess
import sys

import numpy as np
import pytest

from mnistconv.core import events, run_lock
from mnistconv.core.events import FinishReason
from mnistconv.core.history import EventKind, Marker
from mnistconv.core.runstore import DB_NAME, SCHEMA_VERSION, RunStore, StoreError, resolve_runs_dir
from mnistconv.core.session import RUN_FOLDER, training_session

from tiny_training import fixed_accuracies, tiny_config


def kinds(run):
    return [type(e).__name__ for e in run]


def test_a_session_records_its_run_its_epochs_batches_and_events(tiny_mnist_dir, tmp_path):
    runs_dir = tmp_path / "runs"
    run = list(training_session(tiny_config(RUN_FOLDER, epochs=3, seed=None), tiny_mnist_dir, runs_dir=runs_dir,
                                preset="seed"))
    recorded = next(e for e in run if isinstance(e, events.RunRecorded))
    started = next(e for e in run if isinstance(e, events.TrainingStarted))
    finished = run[-1]
    with RunStore(runs_dir) as store:
        (stored,) = store.runs()
        assert stored.id == recorded.run_id and stored.folder == recorded.folder == runs_dir / str(stored.id)
        assert stored.outcome == "completed" and stored.epochs_done == 3 and stored.preset == "seed"
        assert stored.seed == started.seed and stored.config["seed"] == started.seed  # a random seed, recorded
        assert stored.config["lr"] == 3e-3 and stored.config["batch_size"] == 64
        assert stored.device == started.device and stored.torch_version and stored.data_dir == str(tiny_mnist_dir)
        assert (stored.best_accuracy, stored.best_epoch) == (finished.best_accuracy, finished.best_epoch)
        # Its models are in its own folder, and the state to resume it from.
        assert stored.checkpoint == stored.folder / "mnist_conv.pt" == finished.checkpoint
        assert stored.checkpoint.is_file() and (stored.folder / "state.pt").is_file()
        history = store.history(stored.id)
        epochs = history.epoch_rows()
        reported = [e for e in run if isinstance(e, events.EpochFinished)]
        assert [(e["epoch"], e["test_accuracy"], e["train_loss"], e["lr"]) for e in epochs] == [
            (e.epoch, e.test_accuracy, e.train_loss, e.lr) for e in reported]
        assert all(e["seconds"] > 0 and e["images_per_s"] > 0 for e in epochs)
        progress = [e for e in run if isinstance(e, events.BatchProgress)]
        assert len(history.batch_x) == len(progress) == 3 * 8
        assert list(history.batch_loss.values) == [p.loss for p in progress] and history.batch_x.values[-1] == 3.0
        saves = [e for e in run if isinstance(e, events.NewBestSaved)]
        assert saves and [m.kind for m in history.markers].count(EventKind.NEW_BEST) == len(saves)
        assert store.integrity() == "ok"


def test_schedule_events_are_recorded_where_they_happened(tiny_mnist_dir, tmp_path, monkeypatch):
    # Best at epoch 1; the LR drops after epoch 3 (to below min_lr, so only once); converged after epoch 5.
    fixed_accuracies(monkeypatch, [0.6, 0.5, 0.5, 0.5, 0.5, 0.5])
    config = tiny_config(RUN_FOLDER, epochs=6, lr=1e-3, min_lr=5e-4, lr_drop_patience=2, converge_patience=2)
    run = list(training_session(config, tiny_mnist_dir, runs_dir=tmp_path / "runs"))
    assert run[-1].reason is FinishReason.CONVERGED
    with RunStore(tmp_path / "runs") as store:
        (stored,) = store.runs()
        assert [(m.x, m.kind) for m in store.history(stored.id).markers] == [
            (1.0, "new_best"), (3.0, "lr_drop"), (5.0, "converged")]
        assert stored.outcome == "converged"


def test_two_runs_never_overwrite_each_others_models(tiny_mnist_dir, tmp_path):
    runs_dir = tmp_path / "runs"
    first = list(training_session(tiny_config(RUN_FOLDER, epochs=2), tiny_mnist_dir, runs_dir=runs_dir))
    before = first[-1].checkpoint.read_bytes()
    second = list(training_session(tiny_config(RUN_FOLDER, epochs=1, lr=1e-5), tiny_mnist_dir, runs_dir=runs_dir))
    assert second[-1].checkpoint != first[-1].checkpoint
    assert first[-1].checkpoint.read_bytes() == before
    with RunStore(runs_dir) as store:
        assert [run.id for run in store.runs()] == [2, 1]  # newest first
        assert store.latest_with_model().id == 2


def test_an_explicit_save_path_is_written_as_before_and_recorded(tiny_mnist_dir, tmp_path):
    run = list(training_session(tiny_config(tmp_path / "mine", epochs=1), tiny_mnist_dir, runs_dir=tmp_path / "runs"))
    assert run[-1].checkpoint == tmp_path / "mine" / "mnist_conv.pt"
    with RunStore(tmp_path / "runs") as store:
        (stored,) = store.runs()
        assert stored.checkpoint == tmp_path / "mine" / "mnist_conv.pt"
        assert (stored.folder / "state.pt").is_file() and not (stored.folder / "mnist_conv.pt").exists()


def test_a_second_training_into_the_same_file_is_refused_while_the_first_runs(tiny_mnist_dir, tmp_path):
    from mnistconv.core.errors import ConfigError

    first = training_session(tiny_config(tmp_path / "shared", epochs=2), tiny_mnist_dir)
    next(first)  # the first session holds the file from its start
    with pytest.raises(ConfigError, match=rf"process {os.getpid()} is already training into .*shared/mnist_conv.pt"):
        next(training_session(tiny_config(tmp_path / "shared", epochs=2), tiny_mnist_dir))
    first.close()  # once it ends, the file is free again
    assert list(training_session(tiny_config(tmp_path / "shared", epochs=1), tiny_mnist_dir))[-1].reason is FinishReason.COMPLETED


def test_runs_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("MNISTCONV_RUNS", str(tmp_path / "env"))
    assert resolve_runs_dir(tmp_path / "flag") == tmp_path / "flag"
    assert resolve_runs_dir() == tmp_path / "env"
    monkeypatch.delenv("MNISTCONV_RUNS")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    monkeypatch.setattr(sys, "platform", "linux")
    assert resolve_runs_dir() == tmp_path / "share" / "mnistconv" / "runs"


def test_a_run_whose_process_died_reads_as_interrupted_with_its_completed_epochs(tmp_path):
    runs_dir = tmp_path / "runs"
    # A process that records a run with one epoch and then dies without a word.
    code = (
        "import os, sys\n"
        "from mnistconv.core.runstore import RunStore\n"
        "store = RunStore(sys.argv[1])\n"
        "run = store.create_run(config={'epochs': 5}, preset='seed', data_dir=None)\n"
        "lock = store.lock_run(run)\n"
        "store.record_epoch(run.id, dict(epoch=1, test_accuracy=0.97, train_loss=0.3, lr=0.003, seconds=5.0,"
        " images_per_s=9000.0), [(0.5, 0.4, 0.003)])\n"
        "print('recorded', flush=True)\n"
        "os.kill(os.getpid(), 9)\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(runs_dir)], capture_output=True, text=True, timeout=60)
    assert result.returncode == -9 and "recorded" in result.stdout
    with RunStore(runs_dir) as store:
        (run,) = store.runs()
        assert run.outcome == "interrupted" and run.epochs_done == 1
        assert [e["test_accuracy"] for e in store.history(run.id).epoch_rows()] == [0.97]


def test_a_running_run_reads_as_running(tmp_path):
    with RunStore(tmp_path) as store:
        run = store.create_run(config={}, preset=None, data_dir=None)
        with store.lock_run(run):
            assert store.run(run.id).outcome == "running"
            with pytest.raises(StoreError, match="is training; stop it before deleting it"):
                store.delete_run(run.id)
        assert store.run(run.id).outcome == "interrupted"


def test_delete_removes_the_run_and_its_folder_only(tmp_path):
    with RunStore(tmp_path) as store:
        keep = store.create_run(config={}, preset=None, data_dir=None)
        gone = store.create_run(config={}, preset=None, data_dir=None)
        store.record_epoch(gone.id, {"epoch": 1, "test_accuracy": 0.9}, [(1.0, 0.1, 0.1)],
                           [Marker(1.0, EventKind.NEW_BEST, "0.9")])
        store.record_end(gone.id, "completed")
        (gone.folder / "mnist_conv.pt").write_bytes(b"model")
        store.delete_run(gone.id)
        assert [run.id for run in store.runs()] == [keep.id]
        assert not gone.folder.exists() and keep.folder.is_dir()
        gone_history = store.history(gone.id)
        assert gone_history.epoch_rows() == [] and len(gone_history.batch_x) == 0 and gone_history.markers == []
        with pytest.raises(StoreError, match=f"There is no run {gone.id}"):
            store.run(gone.id)


# -- bad stores: a clear message, training goes on, nothing destroyed ---------------------------

def test_a_corrupt_store_is_reported_left_alone_and_training_goes_on(tiny_mnist_dir, tmp_path):
    runs_dir = tmp_path / "runs"
    runs_dir.mkdir()
    garbage = b"this is not a database at all, " * 100
    (runs_dir / DB_NAME).write_bytes(garbage)
    with pytest.raises(StoreError, match="damaged or not a run store"):
        RunStore(runs_dir)
    run = list(training_session(tiny_config(RUN_FOLDER, epochs=1), tiny_mnist_dir, runs_dir=runs_dir))
    problems = [e for e in run if isinstance(e, events.RecordingFailed)]
    assert len(problems) == 1 and "damaged or not a run store" in problems[0].message
    assert run[-1].reason is FinishReason.COMPLETED and run[-1].checkpoint.is_file()
    assert run[-1].checkpoint.parent.name.startswith("unrecorded-")
    assert (runs_dir / DB_NAME).read_bytes() == garbage


def test_a_store_from_a_newer_version_is_refused_and_kept(tmp_path):
    with RunStore(tmp_path) as store:
        store.create_run(config={}, preset=None, data_dir=None)
    db = sqlite3.connect(tmp_path / DB_NAME)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match=rf"made by a newer mnistconv \(schema {SCHEMA_VERSION + 1}"):
        RunStore(tmp_path)
    db = sqlite3.connect(tmp_path / DB_NAME)
    assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1  # nothing destroyed
    db.close()


def test_a_new_store_is_migrated_to_the_current_schema_once(tmp_path):
    with RunStore(tmp_path):
        pass
    db = sqlite3.connect(tmp_path / DB_NAME)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    db.close()
    assert {"runs", "epochs", "batches", "events"} <= tables
    with RunStore(tmp_path) as store:  # opening again migrates nothing and loses nothing
        assert store.runs() == []


def test_a_store_that_cannot_be_written_is_reported_and_training_goes_on(tiny_mnist_dir, tmp_path, monkeypatch):
    from mnistconv.core import runstore

    real_epoch = runstore.RunStore.record_epoch

    def disk_full(self, run_id, *args, **kwargs):
        if run_id:  # after the first epoch: the disk fills up
            raise StoreError("Cannot write to the run store: the disk is full")
        return real_epoch(self, run_id, *args, **kwargs)

    monkeypatch.setattr(runstore.RunStore, "record_epoch", disk_full)
    run = list(training_session(tiny_config(RUN_FOLDER, epochs=3), tiny_mnist_dir, runs_dir=tmp_path / "runs"))
    problems = [e for e in run if isinstance(e, events.RecordingFailed)]
    assert [p.message for p in problems] == ["Cannot write to the run store: the disk is full"]  # said once
    assert run[-1].reason is FinishReason.COMPLETED and run[-1].epochs_run == 3


def test_a_read_only_store_is_reported_and_training_goes_on(tiny_mnist_dir, tmp_path, monkeypatch):
    runs_dir = tmp_path / "runs"
    with RunStore(runs_dir):
        pass
    real_connect = sqlite3.connect

    def read_only(path, *args, **kwargs):
        # What SQLite answers in a folder the user may not write to (root ignores chmod, so it is faked).
        connection = real_connect(f"file:{path}?mode=ro", *args, uri=True, **kwargs)
        return connection

    monkeypatch.setattr(sqlite3, "connect", read_only)
    run = list(training_session(tiny_config(tmp_path / "models", epochs=1), tiny_mnist_dir, runs_dir=runs_dir))
    problems = [e for e in run if isinstance(e, events.RecordingFailed)]
    assert len(problems) == 1 and "read-only" in problems[0].message
    assert run[-1].reason is FinishReason.COMPLETED and (tmp_path / "models" / "mnist_conv.pt").is_file()


def test_two_processes_record_at_once_without_blocking_or_corrupting(tmp_path):
    code = (
        "import sys, time\n"
        "from mnistconv.core.runstore import RunStore\n"
        "store = RunStore(sys.argv[1])\n"
        "run = store.create_run(config={'who': sys.argv[2]}, preset=None, data_dir=None)\n"
        "lock = store.lock_run(run)\n"
        "slowest = 0.0\n"
        "for epoch in range(1, 41):\n"
        "    start = time.perf_counter()\n"
        "    store.record_epoch(run.id, dict(epoch=epoch, test_accuracy=0.9), [(epoch - 0.5, 0.2, 0.003)] * 20)\n"
        "    slowest = max(slowest, time.perf_counter() - start)\n"
        "    store.runs()\n"
        "store.record_end(run.id, 'completed')\n"
        "print(slowest)\n"
    )
    processes = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path), who], stdout=subprocess.PIPE, text=True)
                 for who in ("window", "cli")]
    slowest = [float(p.communicate(timeout=120)[0]) for p in processes]
    assert all(p.returncode == 0 for p in processes)
    assert max(slowest) < 2.0, slowest  # a moment's wait for the other's transaction, never a block
    with RunStore(tmp_path) as store:
        assert store.integrity() == "ok"
        runs = store.runs()
        assert sorted(run.config["who"] for run in runs) == ["cli", "window"]
        assert all(run.outcome == "completed" and run.epochs_done == 40 for run in runs)
        assert all(len(store.history(run.id).batch_x) == 800 for run in runs)


def test_lock_holder_is_named(tmp_path):
    with run_lock.acquire(tmp_path / "x.lock"):
        assert run_lock.is_held(tmp_path / "x.lock")
        code = ("import sys\nfrom mnistconv.core import run_lock\n"
                "try:\n    run_lock.acquire(sys.argv[1])\nexcept run_lock.LockHeld as exc:\n    print(exc.pid)\n")
        result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "x.lock")], capture_output=True, text=True)
        assert result.stdout.strip() == str(os.getpid())
    assert not run_lock.is_held(tmp_path / "x.lock")


def test_summaries_are_plain_json(tmp_path):
    with RunStore(tmp_path) as store:
        run = store.create_run(config={"lr": 0.003}, preset="fast", data_dir="/d")
        json.dumps(store.run(run.id).summary())


def test_a_store_without_a_metrics_column_gets_it_and_keeps_its_epochs(tmp_path):
    """A store from before a per-epoch metric existed (the test loss): opened, it gains the column;
    its epochs read back with that metric unmeasured, and new epochs record it."""
    from mnistconv.core.runstore import MIGRATIONS

    db = sqlite3.connect(tmp_path / DB_NAME)
    db.executescript(MIGRATIONS[1] + "; PRAGMA user_version = 1;")
    assert "test_loss" not in {row[1] for row in db.execute("PRAGMA table_info(epochs)")}
    db.execute("INSERT INTO runs (id, started, config, folder, checkpoint, outcome) "
               "VALUES (1, '2026-01-01T00:00:00+00:00', '{}', 'x', 'x/m.pt', 'completed')")
    db.execute("INSERT INTO epochs (run_id, epoch, test_accuracy, train_loss) VALUES (1, 1, 0.97, 0.2)")
    db.commit()
    db.close()
    with RunStore(tmp_path) as store:
        (row,) = store.history(1).epoch_rows()
        assert (row["test_accuracy"], row["train_loss"], row["test_loss"]) == (0.97, 0.2, None)
        store.record_epoch(1, {"epoch": 2, "test_accuracy": 0.98, "test_loss": 0.07})
        assert [r["test_loss"] for r in store.history(1).epoch_rows()] == [None, 0.07]
        assert store.integrity() == "ok"


def test_each_saved_models_first_filters_are_recorded_and_read_back(tiny_mnist_dir, tmp_path):
    from mnistconv.core import session
    from mnistconv.core.checkpoint import load_checkpoint

    from tiny_training import tiny_config

    runs = tmp_path / "runs"
    run = list(session.training_session(tiny_config(tmp_path / "run", epochs=3), tiny_mnist_dir, runs_dir=runs))
    saved = [e.epoch for e in run if isinstance(e, events.NewBestSaved)]
    with RunStore(runs) as store:
        (recorded,) = store.runs()
        rows = store.first_filters(recorded.id)
    assert [epoch for epoch, _ in rows] == saved and saved
    last = load_checkpoint(recorded.checkpoint).model_state["conv1.weight"][:, 0].numpy()
    assert rows[-1][1].shape == (16, 3, 3) and np.array_equal(rows[-1][1], last)


@pytest.mark.parametrize("weights", [b"short", "text", np.full(144, np.nan, "<f4").tobytes(), 7])
def test_a_tampered_filters_row_is_left_out(tmp_path, weights):
    with RunStore(tmp_path) as store:
        run = store.create_run(config={}, preset=None, data_dir=None)
        store.set_best(run.id, 0.9, 1, first_filters=np.ones(144))
        store.set_best(run.id, 0.95, 2, first_filters=np.ones(144))
    with sqlite3.connect(tmp_path / DB_NAME) as db:
        db.execute("UPDATE filters SET weights = ? WHERE epoch = 2", (weights,))
    with RunStore(tmp_path) as store:
        assert [epoch for epoch, _ in store.first_filters(run.id)] == [1]


def test_a_version_1_store_gains_the_filters_table_and_keeps_its_runs(tmp_path):
    from mnistconv.core.runstore import MIGRATIONS

    db = sqlite3.connect(tmp_path / DB_NAME)
    db.executescript(MIGRATIONS[1] + "; PRAGMA user_version = 1;")
    db.execute("INSERT INTO runs (id, started, config, folder, checkpoint, outcome) "
               "VALUES (1, '2026-01-01T00:00:00+00:00', '{}', 'x', 'x/m.pt', 'completed')")
    db.commit()
    db.close()
    with RunStore(tmp_path) as store:
        assert [run.id for run in store.runs()] == [1] and store.first_filters(1) == []
        store.set_best(1, 0.9, 1, first_filters=np.arange(144))
        assert np.array_equal(store.first_filters(1)[0][1].reshape(-1), np.arange(144, dtype=np.float32))
    assert sqlite3.connect(tmp_path / DB_NAME).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
