"""The run store: every training run, from the window or the command line, in one SQLite database.

Where: `--runs-dir DIR`, else `$MNISTCONV_RUNS`, else `runs/` in the per-user data folder. It holds
`runs.sqlite3` (WAL mode, so a window and a command line can record at once) and one folder per
run with its best model (`mnist_conv.pt`) and its resumable state (`state.pt`).

A run is a row in `runs`, its epochs rows in `epochs`, its batch losses (at the rate the plots show
them) in `batches`, and its schedule events in `events`. A run still marked "running" whose
process no longer holds its folder's lock (core.run_lock) died: it reads as "interrupted".

The schema is versioned (`PRAGMA user_version`); MIGRATIONS bring any older store up to date, and a
store from a newer mnistconv is refused rather than changed. Nothing here ever deletes or recreates
a store it cannot read: it says so, and training goes on without recording.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from . import run_lock
from .errors import MnistConvError
from .paths import CHECKPOINT_NAME, user_data_dir

DB_NAME = "runs.sqlite3"
LOCK_NAME = ".lock"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 5.0  # another process writing: wait this long before calling the store unavailable
RUNNING = "running"
CSV_COLUMNS = ("epoch", "test_accuracy", "train_loss", "lr", "seconds", "images_per_s")
INTERRUPTED = "interrupted"

# Each entry brings a store from the version before it to this version.
MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        started TEXT NOT NULL,
        ended TEXT,
        kind TEXT NOT NULL DEFAULT 'train',
        preset TEXT,
        config TEXT NOT NULL,
        seed TEXT,  -- text: seeds go up to 2**64 - 1, beyond SQLite's integers
        device TEXT,
        torch_version TEXT,
        data_dir TEXT,
        folder TEXT NOT NULL,
        checkpoint TEXT NOT NULL,
        outcome TEXT NOT NULL DEFAULT 'running',
        best_accuracy REAL,
        best_epoch INTEGER,
        epochs_done INTEGER NOT NULL DEFAULT 0,
        pid INTEGER,
        host TEXT
    );
    CREATE TABLE epochs (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        epoch INTEGER NOT NULL,
        test_accuracy REAL NOT NULL,
        train_loss REAL,
        lr REAL,
        seconds REAL,
        images_per_s REAL,
        PRIMARY KEY (run_id, epoch)
    );
    CREATE TABLE batches (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        x REAL NOT NULL,
        loss REAL,
        lr REAL
    );
    CREATE INDEX batches_of_run ON batches (run_id, x);
    CREATE TABLE events (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        x REAL NOT NULL,
        kind TEXT NOT NULL,
        detail TEXT
    );
    CREATE INDEX events_of_run ON events (run_id, x);
    """,
}


class StoreError(MnistConvError):
    """The run store cannot be opened or written; the message says why and what to do."""


@dataclass(frozen=True)
class Run:
    id: int
    started: str
    ended: str | None
    kind: str
    preset: str | None
    config: dict
    seed: int | None
    device: str | None
    torch_version: str | None
    data_dir: str | None
    folder: Path
    checkpoint: Path
    outcome: str  # a FinishReason's value, "running", or "interrupted"
    best_accuracy: float | None
    best_epoch: int | None
    epochs_done: int

    @property
    def resumable(self) -> bool:
        return self.outcome != RUNNING and (self.folder / "state.pt").is_file()

    @property
    def duration_s(self) -> float | None:
        if not self.ended:
            return None
        return (_parse_time(self.ended) - _parse_time(self.started)).total_seconds()

    def summary(self) -> dict:
        """The fields `mnistconv-runs --json` prints."""
        return {
            "id": self.id, "started": self.started, "ended": self.ended, "kind": self.kind, "preset": self.preset,
            "epochs_done": self.epochs_done, "best_accuracy": self.best_accuracy, "best_epoch": self.best_epoch,
            "outcome": self.outcome, "seed": self.seed, "device": self.device, "checkpoint": str(self.checkpoint),
            "folder": str(self.folder),
        }


@dataclass(frozen=True)
class EpochRecord:
    epoch: int
    test_accuracy: float
    train_loss: float | None
    lr: float | None
    seconds: float | None
    images_per_s: float | None


@dataclass(frozen=True)
class Curves:
    """One run's recorded curves, as the plots draw them."""

    epochs: list[EpochRecord]
    batch_x: list[float]
    batch_loss: list[float]
    batch_lr: list[float]
    events: list[tuple[float, str, str | None]]  # (x, kind, detail)


def now_text() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _parse_time(text: str) -> _dt.datetime:
    return _dt.datetime.fromisoformat(text)


def default_runs_dir() -> Path:
    return user_data_dir() / "runs"


def resolve_runs_dir(explicit: str | os.PathLike | None = None) -> Path:
    """`--runs-dir`, else $MNISTCONV_RUNS, else the per-user data folder's `runs`."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get("MNISTCONV_RUNS"):
        return Path(os.environ["MNISTCONV_RUNS"]).expanduser()
    return default_runs_dir()


class RunStore:
    """The runs in one folder. Each call is a short transaction; the connection is this thread's."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.path = self.root / DB_NAME
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"Cannot open the run store {self.path}: {_reason(exc)}") from exc
        try:
            self._db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")  # durable at each checkpoint of the WAL; never corrupt
        except StoreError:
            self._db.close()
            raise
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise StoreError(f"Cannot use the run store {self.path}: {_reason(exc)}") from exc

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "RunStore":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- schema ---------------------------------------------------------------------------------
    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"The run store {self.path} was made by a newer mnistconv (schema {version}; this one reads up to "
                f"{SCHEMA_VERSION}). It is left as it is; runs are not recorded until mnistconv is updated."
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self._transaction() as db:
                # Another process may have migrated since the version was read: look again, inside.
                if db.execute("PRAGMA user_version").fetchone()[0] < target:
                    for statement in MIGRATIONS[target].split(";"):
                        if statement.strip():
                            db.execute(statement)
                    db.execute(f"PRAGMA user_version = {target}")

    def _transaction(self):
        return _Transaction(self._db)

    # -- writing --------------------------------------------------------------------------------
    def create_run(self, *, config: dict, preset: str | None, kind: str = "train", data_dir: str | None,
                   checkpoint: Path | None = None) -> Run:
        """A new run, marked running, with its folder made; `checkpoint` is an explicit save file
        (default: `mnist_conv.pt` in the run's folder)."""
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO runs (started, kind, preset, config, seed, data_dir, folder, checkpoint, pid, host) "
                "VALUES (?, ?, ?, ?, ?, ?, '', '', ?, ?)",
                (now_text(), kind, preset, json.dumps(config), _text(config.get("seed")), data_dir, os.getpid(), _host()),
            )
            run_id = cursor.lastrowid
            folder = self.root / str(run_id)
            db.execute("UPDATE runs SET folder = ?, checkpoint = ? WHERE id = ?",
                       (str(folder), str(checkpoint or folder / CHECKPOINT_NAME), run_id))
        folder.mkdir(parents=True, exist_ok=True)
        return self.run(run_id)

    def lock_run(self, run: Run) -> run_lock.RunLock:
        """Hold the run's folder for this process (run_lock.LockHeld when another one trains it)."""
        run.folder.mkdir(parents=True, exist_ok=True)
        return run_lock.acquire(run.folder / LOCK_NAME)

    def mark_running(self, run_id: int) -> None:
        with self._transaction() as db:
            db.execute("UPDATE runs SET outcome = ?, ended = NULL, pid = ?, host = ? WHERE id = ?",
                       (RUNNING, os.getpid(), _host(), run_id))

    def set_started(self, run_id: int, *, device: str, torch_version: str, seed: int, config: dict) -> None:
        with self._transaction() as db:
            db.execute("UPDATE runs SET device = ?, torch_version = ?, seed = ?, config = ? WHERE id = ?",
                       (device, torch_version, _text(seed), json.dumps(config), run_id))

    def record_epoch(self, run_id: int, epoch: EpochRecord, batches: Iterable[tuple[float, float, float]],
                     events: Iterable[tuple[float, str, str | None]]) -> None:
        """An epoch with the batch losses and events since the last one, in one transaction."""
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO epochs VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (run_id, epoch.epoch, epoch.test_accuracy, epoch.train_loss, epoch.lr, epoch.seconds, epoch.images_per_s))
            self._append(db, run_id, batches, events)
            db.execute("UPDATE runs SET epochs_done = ? WHERE id = ?", (epoch.epoch, run_id))

    def set_best(self, run_id: int, accuracy: float, epoch: int) -> None:
        """A new best model was saved."""
        with self._transaction() as db:
            db.execute("UPDATE runs SET best_accuracy = ?, best_epoch = ? WHERE id = ?", (accuracy, epoch, run_id))
            db.execute("INSERT INTO events VALUES (?, ?, 'new_best', ?)", (run_id, float(epoch), f"{accuracy:.4f}"))

    def record_end(self, run_id: int, outcome: str, batches, events) -> None:
        with self._transaction() as db:
            self._append(db, run_id, batches, events)
            db.execute("UPDATE runs SET outcome = ?, ended = ? WHERE id = ?", (outcome, now_text(), run_id))

    @staticmethod
    def _append(db, run_id: int, batches, events) -> None:
        db.executemany("INSERT INTO batches VALUES (?, ?, ?, ?)", [(run_id, *row) for row in batches])
        db.executemany("INSERT INTO events VALUES (?, ?, ?, ?)", [(run_id, *row) for row in events])

    def rewind(self, run_id: int, epochs_done: int, x: float) -> None:
        """Forget what was recorded beyond a resumed state's position (an epoch recorded just before
        the process died, but not yet in its state)."""
        with self._transaction() as db:
            db.execute("DELETE FROM epochs WHERE run_id = ? AND epoch > ?", (run_id, epochs_done))
            db.execute("DELETE FROM batches WHERE run_id = ? AND x > ?", (run_id, x))
            db.execute("DELETE FROM events WHERE run_id = ? AND x > ?", (run_id, x))
            best = db.execute("SELECT test_accuracy, epoch FROM epochs WHERE run_id = ? ORDER BY test_accuracy DESC, epoch DESC "
                              "LIMIT 1", (run_id,)).fetchone()
            db.execute("UPDATE runs SET epochs_done = ?, best_accuracy = ?, best_epoch = ? WHERE id = ?",
                       (epochs_done, best[0] if best else None, best[1] if best else None, run_id))

    def delete_run(self, run_id: int) -> None:
        """Remove a run and its folder; refused (StoreError) while a process trains it."""
        run = self.run(run_id)
        if run.outcome == RUNNING:
            raise StoreError(f"Run {run_id} is training; stop it before deleting it")
        with self._transaction() as db:
            db.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        if run.folder.is_dir() and run.folder.parent == self.root:
            shutil.rmtree(run.folder, ignore_errors=True)

    # -- reading --------------------------------------------------------------------------------
    def runs(self) -> list[Run]:
        """Every run, newest first."""
        rows = self._db.execute(f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY id DESC").fetchall()
        return [self._run(row) for row in rows]

    def run(self, run_id: int) -> Run:
        row = self._db.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (int(run_id),)).fetchone()
        if row is None:
            raise StoreError(f"There is no run {run_id} in {self.root}")
        return self._run(row)

    def latest(self) -> Run | None:
        row = self._db.execute(f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        return self._run(row) if row else None

    def latest_with_model(self) -> Run | None:
        """The newest run that saved a best model."""
        for run in self.runs():
            if run.best_epoch and run.checkpoint.is_file():
                return run
        return None

    def epochs(self, run_id: int) -> list[EpochRecord]:
        rows = self._db.execute("SELECT epoch, test_accuracy, train_loss, lr, seconds, images_per_s FROM epochs "
                                "WHERE run_id = ? ORDER BY epoch", (run_id,)).fetchall()
        return [EpochRecord(*row) for row in rows]

    def curves(self, run_id: int) -> Curves:
        batches = self._db.execute("SELECT x, loss, lr FROM batches WHERE run_id = ? ORDER BY x", (run_id,)).fetchall()
        events = self._db.execute("SELECT x, kind, detail FROM events WHERE run_id = ? ORDER BY x", (run_id,)).fetchall()
        return Curves(self.epochs(run_id), [b[0] for b in batches], [b[1] for b in batches], [b[2] for b in batches],
                      [tuple(e) for e in events])

    def metrics_csv(self, run_id: int) -> str:
        """The run's per-epoch metrics as CSV text, with a header row (CSV_COLUMNS)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for epoch in self.epochs(run_id):
            writer.writerow([getattr(epoch, column) for column in CSV_COLUMNS])
        return buffer.getvalue()

    def integrity(self) -> str:
        return self._db.execute("PRAGMA integrity_check").fetchone()[0]

    def _run(self, row) -> Run:
        values = dict(zip(_RUN_FIELDS, row))
        values["config"] = _json_dict(values["config"])
        values["seed"] = int(values["seed"]) if values["seed"] is not None else None
        values["folder"], values["checkpoint"] = Path(values["folder"]), Path(values["checkpoint"])
        if values["outcome"] == RUNNING and not run_lock.is_held(values["folder"] / LOCK_NAME):
            values["outcome"] = INTERRUPTED  # its process died without saying how it ended
        return Run(**values)


_RUN_FIELDS = ("id", "started", "ended", "kind", "preset", "config", "seed", "device", "torch_version", "data_dir",
               "folder", "checkpoint", "outcome", "best_accuracy", "best_epoch", "epochs_done")
_RUN_COLUMNS = ", ".join(_RUN_FIELDS)


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT (ROLLBACK on an exception); errors become StoreError."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot write to the run store: {_reason(exc)}") from exc
        return self.db

    def __exit__(self, kind, exc, traceback) -> bool:
        if kind is None:
            try:
                self.db.execute("COMMIT")
                return False
            except sqlite3.Error as error:
                exc = error
        try:
            self.db.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        if isinstance(exc, sqlite3.Error):
            raise StoreError(f"Cannot write to the run store: {_reason(exc)}") from exc
        return False


def _text(value) -> str | None:
    return None if value is None else str(value)


def _json_dict(text: str | None) -> dict:
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _host() -> str:
    return os.uname().nodename if hasattr(os, "uname") else os.environ.get("COMPUTERNAME", "")


def _reason(exc: BaseException) -> str:
    text = str(exc)
    lowered = text.lower()
    if "not a database" in lowered or "malformed" in lowered:
        return f"the file is damaged or not a run store ({text}); it is left as it is"
    if "readonly" in lowered or "read-only" in lowered:
        return f"it is read-only ({text})"
    if "disk is full" in lowered or getattr(exc, "errno", None) == 28:
        return "the disk is full"
    if "locked" in lowered or "busy" in lowered:
        return f"another process kept it busy for over {BUSY_TIMEOUT_S:.0f} s ({text})"
    return getattr(exc, "strerror", None) or text
