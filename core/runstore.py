"""The run store: every training run, from the window or the command line, in one SQLite database.

Where: `--runs-dir DIR`, else `$MNISTCONV_RUNS`, else `runs/` in the per-user data folder. It holds
`runs.sqlite3` (WAL mode, so a window and a command line can record at once) and one folder per
run with its best model (`mnist_conv.pt`) and its resumable state (`state.pt`).

A run is a row in `runs`; its history (core.history) is its epochs' rows in `epochs`, one column
per per-epoch metric, its batch losses (at the rate the plots show them) in `batches`, and its
marked events in `events`. A run still marked "running" whose process no longer holds its folder's
lock (core.run_lock) died: it reads as "interrupted".

The schema is versioned (`PRAGMA user_version`); MIGRATIONS bring any older store up to date, and a
store from a newer mnistconv is refused rather than changed. A per-epoch metric that the store has
no column for yet (core.history.EPOCH_COLUMNS grew) gets its column added, empty for the epochs
recorded before. Every statement names its columns and parameters. Nothing here ever deletes or
recreates a store it cannot read: it says so, and training goes on without recording.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from . import run_lock
from .errors import ConfigError, MnistConvError
from .events import Outcome
from .history import EPOCH_COLUMNS, EPOCH_KEYED, EventKind, Marker, RunHistory
from .paths import CHECKPOINT_NAME, make_folder, state_file, user_data_dir
from .shape import CHANNELS, KERNELS, SHAPE_FIELDS, NetworkShape, shape_from_dict

DB_NAME = "runs.sqlite3"
LOCK_NAME = ".lock"
SCHEMA_VERSION = 4
MAX_LABEL = 200  # characters of a run's name or of one tag
MAX_NOTE = 10_000
MAX_TAGS = 50
FIRST_FILTERS_SHAPE = (16, 3, 3)  # the seed's block 1 filters: one row per saved model (the Filters page)
BUSY_TIMEOUT_S = 5.0  # another process writing: wait this long before calling the store unavailable
RUNNING = Outcome.RUNNING
INTERRUPTED = Outcome.INTERRUPTED

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
    2: """
    CREATE TABLE filters (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        epoch INTEGER NOT NULL,
        weights BLOB NOT NULL,  -- float32, little-endian, (count, side, side) since version 4
        PRIMARY KEY (run_id, epoch)
    );
    """,
    3: """
    CREATE TABLE groups (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created TEXT NOT NULL,
        seeds TEXT NOT NULL,  -- a JSON list of the members' seeds, as texts, in the order they train
        preset TEXT,
        config TEXT NOT NULL  -- the settings every member shares (its seed aside)
    );
    ALTER TABLE runs ADD COLUMN name TEXT;
    ALTER TABLE runs ADD COLUMN tags TEXT;  -- a JSON list of texts
    ALTER TABLE runs ADD COLUMN note TEXT;
    ALTER TABLE runs ADD COLUMN parameters INTEGER;
    ALTER TABLE runs ADD COLUMN group_id INTEGER REFERENCES groups(id) ON DELETE SET NULL;
    """,
    4: """
    ALTER TABLE filters ADD COLUMN count INTEGER;  -- how many filters (NULL in rows from before shapes: the seed's 16)
    ALTER TABLE filters ADD COLUMN side INTEGER;  -- each filter's side, 3 or 5 (NULL: the seed's 3)
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
    outcome: Outcome
    best_accuracy: float | None
    best_epoch: int | None
    epochs_done: int | None  # None: the stored count was unreadable or past the planned epochs
    name: str | None = None
    tags: tuple[str, ...] = ()
    note: str | None = None
    parameters: int | None = None
    group_id: int | None = None  # the seed group it belongs to

    @property
    def title(self) -> str:
        """How lists name it: its name, else its preset (or kind)."""
        return self.name or self.preset or self.kind

    @property
    def network(self) -> NetworkShape | None:
        """The shape of the network it trained (the seed's for a run from before shapes); None when the
        stored one is not a shape mnistconv builds."""
        try:
            return shape_from_dict({name: self.config[name] for name in SHAPE_FIELDS if name in self.config})
        except ConfigError:
            return None

    @property
    def network_text(self) -> str:
        return "?" if self.network is None else self.network.text()

    @property
    def planned_epochs(self) -> int | None:
        return _count_or_none(self.config.get("epochs")) or None

    @property
    def epochs_text(self) -> str:
        """Epochs done of planned, as lists show them ("?" for an unreadable count)."""
        done = "?" if self.epochs_done is None else str(self.epochs_done)
        return f"{done}/{self.planned_epochs}" if self.planned_epochs else done

    @property
    def resumable(self) -> bool:
        return self.outcome != RUNNING and state_file(self.folder).is_file()

    @property
    def duration_s(self) -> float | None:
        if not self.ended or not self.started:
            return None
        return (_parse_time(self.ended) - _parse_time(self.started)).total_seconds()

    def summary(self) -> dict:
        """The fields `mnistconv-runs --json` prints."""
        return {
            "id": self.id, "started": self.started, "ended": self.ended, "kind": self.kind, "preset": self.preset,
            "epochs_done": self.epochs_done, "best_accuracy": self.best_accuracy, "best_epoch": self.best_epoch,
            "outcome": str(self.outcome), "seed": self.seed, "device": self.device, "checkpoint": str(self.checkpoint),
            "folder": str(self.folder), "name": self.name, "tags": list(self.tags), "note": self.note,
            "group": self.group_id, "parameters": self.parameters, "duration_s": self.duration_s,
            "network": None if self.network is None else self.network.to_dict(),
        }


@dataclass(frozen=True)
class Group:
    """Runs of the same settings with different seeds, trained one after another."""

    id: int
    created: str
    seeds: tuple[int, ...]  # the members' seeds, in the order they train
    preset: str | None
    config: dict  # the settings the members share (their seed aside)

    @property
    def size(self) -> int:
        return len(self.seeds)


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
        if self.path.is_symlink() or (self.path.exists() and not self.path.is_file()):
            raise StoreError(f"Cannot open the run store {self.path}: it is not a plain file (a link, a folder or a "
                             "device); it is left as it is")
        try:
            make_folder(self.root)
        except (FileExistsError, NotADirectoryError):
            raise StoreError(f"Cannot keep runs in {self.root}: it (or a folder above it) is a file, not a folder") from None
        except OSError as exc:
            raise StoreError(f"Cannot make the runs folder {self.root}: {exc.strerror or exc}") from exc
        try:
            self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA user_version").fetchone()  # SQLite opens the file only now
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"Cannot open the run store {self.path}: {_reason(exc, self.root)}") from exc
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
            raise StoreError(f"Cannot use the run store {self.path}: {_reason(exc, self.root)}") from exc

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
        if version == 0 and self._db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]:
            raise StoreError(f"{self.path} is an SQLite database of another program, not a run store; it is left as it is "
                             "(record runs elsewhere with --runs-dir, or move it away)")
        if version >= 1:
            self._check_tables(version)  # before any migration: another program's tables are never altered
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self._transaction() as db:
                # Another process may have migrated since the version was read: look again, inside.
                if db.execute("PRAGMA user_version").fetchone()[0] < target:
                    for statement in MIGRATIONS[target].split(";"):
                        if statement.strip():
                            db.execute(statement)
                    db.execute(f"PRAGMA user_version = {target}")
        self._check_tables(SCHEMA_VERSION)
        if self._missing_epoch_columns(self._db):
            with self._transaction() as db:
                for name in self._missing_epoch_columns(db):  # again, inside: another process may have added them
                    db.execute(f"ALTER TABLE epochs ADD COLUMN {name} REAL")

    def _check_tables(self, version: int) -> None:
        """Refuse a database whose version says run store but whose tables are not a run store's of
        that version."""
        for table, by_version in _TABLES.items():
            versions = [since for since in by_version if since <= version]
            if not versions:
                continue
            columns = by_version[max(versions)]
            present = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if not columns <= present:
                raise StoreError(f"{self.path} is not a run store (its table {table!r} is missing or not a run "
                                 "store's), perhaps another program's database; it is left as it is (record runs "
                                 "elsewhere with --runs-dir, or move it away)")

    @staticmethod
    def _missing_epoch_columns(db: sqlite3.Connection) -> list[str]:
        present = {row[1] for row in db.execute("PRAGMA table_info(epochs)")}
        return [name for name in EPOCH_COLUMNS if name not in present]

    def _transaction(self):
        return _Transaction(self._db)

    # -- writing --------------------------------------------------------------------------------
    def create_run(self, *, config: dict, preset: str | None, kind: str = "train", data_dir: str | None,
                   checkpoint: Path | None = None, started: str | None = None, group_id: int | None = None,
                   name: str | None = None, tags: Iterable[str] = (), note: str | None = None) -> Run:
        """A new run, marked running, with a new folder made; `checkpoint` is an explicit save file
        (default: `mnist_conv.pt` in the run's folder). The run's number is past every run recorded
        and every run folder present, so a folder is never reused, even after the store was lost."""
        with self._transaction() as db:
            recorded = db.execute("SELECT MAX(id) FROM runs").fetchone()[0] or 0
            sequence = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'runs'").fetchone()
            run_id = max(recorded, sequence[0] if sequence else 0, self._highest_folder()) + 1
            folder = self.root / str(run_id)
            try:
                folder.mkdir()
            except OSError as exc:
                raise StoreError(f"Cannot make the run folder {folder}: {_reason(exc)}") from exc
            name, tags, note = check_labels(name, tags, note)
            db.execute(
                "INSERT INTO runs (id, started, kind, preset, config, seed, data_dir, folder, checkpoint, pid, host, "
                "group_id, name, tags, note) VALUES (:id, :started, :kind, :preset, :config, :seed, :data_dir, :folder, "
                ":checkpoint, :pid, :host, :group_id, :name, :tags, :note)",
                {"group_id": group_id, "name": name, "tags": json.dumps(list(tags)), "note": note,
                 "id": run_id, "started": started or now_text(), "kind": kind, "preset": preset, "config": json.dumps(config),
                 "seed": _text(config.get("seed")), "data_dir": _stored_path(data_dir), "folder": str(run_id),
                 # An explicit save file is where the person said, from where they said it: absolute.
                 "checkpoint": _stored_path(os.path.abspath(checkpoint)) if checkpoint is not None
                 else f"{run_id}/{CHECKPOINT_NAME}",
                 "pid": os.getpid(), "host": _host()},
            )
        return self.run(run_id)

    def _highest_folder(self) -> int:
        """The highest number among the folders (and other entries) named by a number in the root."""
        try:
            return max((int(entry.name) for entry in os.scandir(self.root)
                        if entry.name.isascii() and entry.name.isdigit() and len(entry.name) < 19), default=0)
        except OSError:
            return 0

    def lock_run(self, run: Run) -> run_lock.RunLock:
        """Hold the run's folder for this process (run_lock.LockHeld when another one trains it)."""
        make_folder(run.folder)
        try:
            return run_lock.acquire(run.folder / LOCK_NAME)
        except run_lock.LockUnusable as exc:
            raise StoreError(f"Run {run.id}'s folder cannot be locked: {exc}") from None

    def mark_running(self, run_id: int) -> None:
        with self._transaction() as db:
            db.execute("UPDATE runs SET outcome = :outcome, ended = NULL, pid = :pid, host = :host WHERE id = :run_id",
                       {"outcome": str(RUNNING), "pid": os.getpid(), "host": _host(), "run_id": run_id})

    def set_started(self, run_id: int, *, device: str, torch_version: str, seed: int, config: dict,
                    parameters: int | None = None) -> None:
        with self._transaction() as db:
            db.execute("UPDATE runs SET device = :device, torch_version = :torch_version, seed = :seed, config = :config, "
                       "parameters = :parameters WHERE id = :run_id",
                       {"device": device, "torch_version": torch_version, "seed": _text(seed),
                        "config": json.dumps(config), "parameters": parameters, "run_id": run_id})

    def set_labels(self, run_id: int, *, name: str | None = None, tags: Iterable[str] | None = None,
                   note: str | None = None) -> Run:
        """Name, tag or annotate a run (a value left None stays as it is; "" clears a name or note)."""
        self.run(run_id)  # StoreError when there is no such run
        name, checked_tags, note = check_labels(name, tags or (), note)
        changes = {"name": name, "note": note} | ({"tags": json.dumps(list(checked_tags))} if tags is not None else {})
        with self._transaction() as db:
            for column, value in changes.items():
                if value is not None:
                    db.execute(f"UPDATE runs SET {column} = :value WHERE id = :run_id",
                               {"value": value or None, "run_id": run_id})
        return self.run(run_id)

    # -- seed groups -----------------------------------------------------------------------------
    def create_group(self, *, seeds: Iterable[int], config: dict, preset: str | None) -> Group:
        seeds = tuple(seeds)
        if not seeds:
            raise StoreError("a seed group needs at least one seed")
        with self._transaction() as db:
            cursor = db.execute("INSERT INTO groups (created, seeds, preset, config) VALUES (:created, :seeds, :preset, :config)",
                                {"created": now_text(), "seeds": json.dumps([str(seed) for seed in seeds]),
                                 "preset": preset, "config": json.dumps(config)})
            group_id = cursor.lastrowid
        return self.group(group_id)

    def group(self, group_id: int) -> Group:
        rows = self._rows("SELECT id, created, seeds, preset, config FROM groups WHERE id = :id", {"id": int(group_id)})
        group = _group(rows[0]) if rows else None
        if group is None:
            raise StoreError(f"There is no seed group {group_id} in {self.root}" if not rows else
                             f"Seed group {group_id} in {self.root} is damaged (its seeds are not a list of seeds)")
        return group

    def groups(self) -> list[Group]:
        """Every readable group, newest first."""
        rows = self._rows("SELECT id, created, seeds, preset, config FROM groups ORDER BY id DESC")
        return [group for group in map(_group, rows) if group is not None]

    def group_runs(self, group_id: int) -> list[Run]:
        """The group's runs, in the order they were made."""
        rows = self._rows(f"SELECT {_RUN_COLUMNS} FROM runs WHERE group_id = :id ORDER BY id", {"id": int(group_id)})
        return [self._run(row) for row in rows]

    def record_epoch(self, run_id: int, epoch: dict, batches: Iterable[tuple[float, float, float]] = (),
                     markers: Iterable[Marker] = ()) -> None:
        """An epoch's row ({"epoch": …, column: value, …}, as RunHistory.epoch_rows gives them) with the
        batch reports and markers since the last one, in one transaction."""
        with self._transaction() as db:
            db.execute(_EPOCH_INSERT, {"run_id": run_id, **{name: epoch.get(name) for name in EPOCH_KEYED}})
            self._append(db, run_id, batches, markers)
            db.execute("UPDATE runs SET epochs_done = :epoch WHERE id = :run_id", {"epoch": epoch["epoch"], "run_id": run_id})

    def set_best(self, run_id: int, accuracy: float, epoch: int, markers: Iterable[Marker] = (),
                 first_filters: Iterable[float] = (), filter_shape: tuple[int, ...] = FIRST_FILTERS_SHAPE) -> None:
        """A new best model was saved (its NEW_BEST marker among `markers`; its block 1 filters, flat,
        when given, of `filter_shape` (count, side, side))."""
        with self._transaction() as db:
            db.execute("UPDATE runs SET best_accuracy = :accuracy, best_epoch = :epoch WHERE id = :run_id",
                       {"accuracy": accuracy, "epoch": epoch, "run_id": run_id})
            self._append(db, run_id, (), markers)
            weights = np.asarray(tuple(first_filters), dtype="<f4")
            if _filter_shape_or_none(*filter_shape[:1], *filter_shape[1:2]) and weights.size == math.prod(filter_shape):
                db.execute("INSERT OR REPLACE INTO filters (run_id, epoch, weights, count, side) "
                           "VALUES (:run_id, :epoch, :weights, :count, :side)",
                           {"run_id": run_id, "epoch": epoch, "weights": weights.tobytes(), "count": filter_shape[0],
                            "side": filter_shape[1]})

    def record_end(self, run_id: int, outcome: Outcome, batches: Iterable[tuple[float, float, float]] = (),
                   markers: Iterable[Marker] = ()) -> None:
        with self._transaction() as db:
            self._append(db, run_id, batches, markers)
            db.execute("UPDATE runs SET outcome = :outcome, ended = :ended WHERE id = :run_id",
                       {"outcome": str(Outcome(outcome)), "ended": now_text(), "run_id": run_id})

    @staticmethod
    def _append(db, run_id: int, batches, markers) -> None:
        db.executemany("INSERT INTO batches (run_id, x, loss, lr) VALUES (:run_id, :x, :loss, :lr)",
                       [{"run_id": run_id, "x": x, "loss": loss, "lr": lr} for x, loss, lr in batches])
        db.executemany("INSERT INTO events (run_id, x, kind, detail) VALUES (:run_id, :x, :kind, :detail)",
                       [{"run_id": run_id, "x": m.x, "kind": str(m.kind), "detail": m.detail} for m in markers])

    def rewind(self, run_id: int, epochs_done: int, x: float) -> None:
        """Forget what was recorded beyond a resumed state's position (an epoch recorded just before
        the process died, but not yet in its state)."""
        where = {"run_id": run_id, "epochs_done": epochs_done, "x": x}
        with self._transaction() as db:
            db.execute("DELETE FROM epochs WHERE run_id = :run_id AND epoch > :epochs_done", where)
            db.execute("DELETE FROM batches WHERE run_id = :run_id AND x > :x", where)
            db.execute("DELETE FROM events WHERE run_id = :run_id AND x > :x", where)
            db.execute("DELETE FROM filters WHERE run_id = :run_id AND epoch > :epochs_done", where)
            best = db.execute("SELECT test_accuracy, epoch FROM epochs WHERE run_id = :run_id "
                              "ORDER BY test_accuracy DESC, epoch DESC LIMIT 1", where).fetchone()
            db.execute("UPDATE runs SET epochs_done = :epochs_done, best_accuracy = :accuracy, best_epoch = :epoch "
                       "WHERE id = :run_id", {**where, "accuracy": best[0] if best else None, "epoch": best[1] if best else None})

    def delete_run(self, run_id: int) -> None:
        """Remove a run and its folder; refused (StoreError) while a process trains it."""
        run = self.run(run_id)
        if run.outcome == RUNNING:
            raise StoreError(f"Run {run_id} is training; stop it before deleting it")
        with self._transaction() as db:
            db.execute("DELETE FROM runs WHERE id = :run_id", {"run_id": run_id})
        folder = run.folder  # always ROOT/<id> (Run rows never name their folder themselves)
        if folder.is_dir() and not folder.is_symlink() and folder.resolve().parent == self.root.resolve():
            shutil.rmtree(folder, ignore_errors=True)

    # -- reading --------------------------------------------------------------------------------
    def runs(self) -> list[Run]:
        """Every run, newest first."""
        rows = self._rows(f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY id DESC")
        return [self._run(row) for row in rows]

    def run(self, run_id: int) -> Run:
        rows = self._rows(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = :run_id", {"run_id": int(run_id)})
        row = rows[0] if rows else None
        if row is None:
            raise StoreError(f"There is no run {run_id} in {self.root}")
        return self._run(row)

    def latest(self) -> Run | None:
        rows = self._rows(f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY id DESC LIMIT 1")
        row = rows[0] if rows else None
        return self._run(row) if row else None

    def latest_with_model(self) -> Run | None:
        """The newest run that saved a best model."""
        for run in self.runs():
            if run.best_epoch and run.checkpoint.is_file():
                return run
        return None

    def history(self, run_id: int) -> RunHistory:
        """The run's recorded history: its epochs, batch reports and markers (a marker of a kind this
        version does not know is left out)."""
        history = RunHistory()
        by_run = {"run_id": run_id}
        # Rows are checked as they are read: a row whose epoch or place is not a number in range is
        # left out, a metric that is not a finite number reads as unmeasured (NaN).
        for row in self._rows(f"SELECT {', '.join(EPOCH_KEYED)} FROM epochs WHERE run_id = :run_id ORDER BY epoch",
                              by_run):
            if _count_or_none(row[0]) is not None:
                history.add_epoch(row[0], **{name: _finite_or_nan(value) for name, value in zip(EPOCH_COLUMNS, row[1:])})
        for x, loss, lr in self._rows("SELECT x, loss, lr FROM batches WHERE run_id = :run_id ORDER BY x", by_run):
            if _place_or_none(x) is not None:
                history.add_batch(x, _finite_or_nan(loss), _finite_or_nan(lr))
        for x, kind, detail in self._rows("SELECT x, kind, detail FROM events WHERE run_id = :run_id ORDER BY x",
                                          by_run):
            if kind in _KINDS and _place_or_none(x) is not None:
                history.add_marker(Marker(float(x), EventKind(kind), _text_or_none(detail)))
        return history

    def final_accuracies(self) -> dict[int, float]:
        """Each run's test accuracy after its last recorded epoch (runs without a readable one left out)."""
        rows = self._rows("SELECT e.run_id, e.test_accuracy FROM epochs AS e JOIN (SELECT run_id, MAX(epoch) AS last "
                          "FROM epochs GROUP BY run_id) AS m ON e.run_id = m.run_id AND e.epoch = m.last")
        return {run_id: float(accuracy) for run_id, accuracy in rows
                if _count_or_none(run_id) is not None and _fraction_or_none(accuracy) is not None}

    def first_filters(self, run_id: int) -> list[tuple[int, np.ndarray]]:
        """Block 1's filters at each model the run saved, by epoch: (epoch, (count, side, side) float32).
        A row whose epoch is not a count, whose shape is not one a network of core.shape has, or whose
        weights are not that many finite floats is left out."""
        rows = self._rows("SELECT epoch, weights, count, side FROM filters WHERE run_id = :run_id ORDER BY epoch",
                          {"run_id": run_id})
        out = []
        for epoch, weights, count, side in rows:
            shape = _filter_shape_or_none(FIRST_FILTERS_SHAPE[0] if count is None else count,
                                          FIRST_FILTERS_SHAPE[1] if side is None else side)
            if _count_or_none(epoch) is None or shape is None or not isinstance(weights, bytes) \
                    or len(weights) != 4 * math.prod(shape):
                continue
            filters = np.frombuffer(weights, dtype="<f4").astype(np.float32).reshape(shape)
            if np.isfinite(filters).all():
                out.append((epoch, filters))
        return out

    def _rows(self, query: str, parameters: dict | None = None) -> list:
        """All the rows of a query; a store damaged past its first page is a StoreError naming it."""
        try:
            return self._db.execute(query, parameters or {}).fetchall()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"Cannot read the run store {self.path}: {_reason(exc)}") from exc

    def data_version(self) -> int:
        """A number that changes whenever another connection (process) has written to the store."""
        return self._rows("PRAGMA data_version")[0][0]

    def integrity(self) -> str:
        return self._db.execute("PRAGMA integrity_check").fetchone()[0]

    def _run(self, row) -> Run:
        """A stored row as a Run, each field checked: a value of the wrong type or range (a damaged or
        tampered store) reads as unknown, never as an error later. The run's folder is always its
        number in this store's folder, wherever the store was first made."""
        values = dict(zip(_RUN_FIELDS, row))
        run_id = values["id"]
        folder = self.root / str(run_id)
        outcome = values["outcome"] if values["outcome"] in _OUTCOMES else str(Outcome.FAILED)
        run = Run(
            id=run_id, started=_time_or_none(values["started"]) or "", ended=_time_or_none(values["ended"]),
            kind=_text_or_none(values["kind"]) or "train", preset=_text_or_none(values["preset"]),
            config=_json_dict(values["config"]), seed=_seed_or_none(values["seed"]),
            device=_text_or_none(values["device"]), torch_version=_text_or_none(values["torch_version"]),
            data_dir=_path_or_none(values["data_dir"]), folder=folder,
            checkpoint=self._checkpoint_of(folder, values["checkpoint"]), outcome=Outcome(outcome),
            best_accuracy=_fraction_or_none(values["best_accuracy"]), best_epoch=_count_or_none(values["best_epoch"]),
            epochs_done=_count_or_none(values["epochs_done"]),
            name=_label_or_none(values["name"], MAX_LABEL), tags=_tags(values["tags"]),
            note=_label_or_none(values["note"], MAX_NOTE), parameters=_count_or_none(values["parameters"]),
            group_id=_count_or_none(values["group_id"]),
        )
        if run.epochs_done is not None and run.planned_epochs and run.epochs_done > run.planned_epochs:
            run = dataclasses.replace(run, epochs_done=None)
        if run.best_epoch is not None and run.epochs_done is not None and run.best_epoch > run.epochs_done:
            run = dataclasses.replace(run, best_epoch=None)
        if run.outcome == RUNNING and not run_lock.is_held(folder / LOCK_NAME):
            run = dataclasses.replace(run, outcome=INTERRUPTED)  # its process died without saying how it ended
        return run

    def _checkpoint_of(self, folder: Path, stored: object) -> Path:
        """The run's best-model file: relative paths are in this store's folder; a path to a run
        folder's own model (as older versions stored it, absolute) is this run folder's, so a copied
        or moved runs folder never writes the original's; another absolute path is an explicit save
        file the run was given."""
        text = _path_or_none(stored)
        if not text:
            return folder / CHECKPOINT_NAME
        path = Path(text)
        if not path.is_absolute():
            resolved = self.root / path
            return resolved if ".." not in path.parts else folder / CHECKPOINT_NAME
        if path.name == CHECKPOINT_NAME and path.parent.name == folder.name:
            return folder / CHECKPOINT_NAME
        return path


_KINDS = {kind.value for kind in EventKind}
_OUTCOMES = {outcome.value for outcome in Outcome}
_EPOCH_INSERT = (f"INSERT OR REPLACE INTO epochs (run_id, {', '.join(EPOCH_KEYED)}) "
                 f"VALUES (:run_id, {', '.join(':' + name for name in EPOCH_KEYED)})")
_RUN_FIELDS_1 = ("id", "started", "ended", "kind", "preset", "config", "seed", "device", "torch_version", "data_dir",
                 "folder", "checkpoint", "outcome", "best_accuracy", "best_epoch", "epochs_done")
_RUN_FIELDS = (*_RUN_FIELDS_1, "name", "tags", "note", "parameters", "group_id")
_RUN_COLUMNS = ", ".join(_RUN_FIELDS)
#: The columns each table must have at each schema version that changed them (later metrics are
#: added to `epochs` when missing).
def _filter_shape_or_none(count: object = None, side: object = None) -> tuple[int, int, int] | None:
    """(count, side, side) when block 1 of a network of core.shape can have these filters."""
    if type(count) is not int or type(side) is not int or not CHANNELS[0] <= count <= CHANNELS[1] or side not in KERNELS:
        return None
    return (count, side, side)


_TABLES = {
    "runs": {1: set(_RUN_FIELDS_1), 3: set(_RUN_FIELDS)},
    "epochs": {1: {"run_id", "epoch", "test_accuracy"}},
    "batches": {1: {"run_id", "x", "loss", "lr"}},
    "events": {1: {"run_id", "x", "kind", "detail"}},
    "filters": {2: {"run_id", "epoch", "weights"}, 4: {"run_id", "epoch", "weights", "count", "side"}},
    "groups": {3: {"id", "created", "seeds", "preset", "config"}},
}


def check_labels(name: str | None, tags: Iterable[str], note: str | None) -> tuple[str | None, tuple[str, ...], str | None]:
    """A run's name, tags and note as stored: text, trimmed, of bounded length; tags without commas
    (lists join them with commas), each once. StoreError says what is wrong."""
    if name is not None:
        if not isinstance(name, str) or len(name.strip()) > MAX_LABEL or "\n" in name.strip():
            raise StoreError(f"a run's name is one line of at most {MAX_LABEL} characters")
        name = name.strip()
    checked: list[str] = []
    for tag in tags:
        if not isinstance(tag, str) or not tag.strip() or len(tag.strip()) > MAX_LABEL or set(tag) & set(",\n"):
            raise StoreError(f"a tag is a word or a few, without commas, of at most {MAX_LABEL} characters, not {tag!r}")
        if tag.strip() not in checked:
            checked.append(tag.strip())
    if len(checked) > MAX_TAGS:
        raise StoreError(f"a run takes at most {MAX_TAGS} tags")
    if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE):
        raise StoreError(f"a run's note is text of at most {MAX_NOTE} characters")
    return name, tuple(checked), note


def _label_or_none(value: object, longest: int) -> str | None:
    return value if isinstance(value, str) and value and len(value) <= longest and "\0" not in value else None


def _tags(value: object) -> tuple[str, ...]:
    """Stored tags, each kept when it is one a person could have given."""
    listed = _stored_json(value)
    if not isinstance(listed, list):
        return ()
    return tuple(tag for tag in listed[:MAX_TAGS] if isinstance(tag, str) and tag and len(tag) <= MAX_LABEL
                 and not set(tag) & set(",\n\0"))


def _group(row) -> Group | None:
    """A stored group, or None when its seeds are not a list of seeds."""
    group_id, created, seeds, preset, config = row
    listed = _stored_json(seeds)
    parsed = [_seed_or_none(seed) for seed in listed] if isinstance(listed, list) and 0 < len(listed) <= 1000 else [None]
    if _count_or_none(group_id) is None or None in parsed:
        return None
    return Group(id=group_id, created=_time_or_none(created) or "", seeds=tuple(parsed),
                 preset=_text_or_none(preset), config=_json_dict(config))


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


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _stored_path(path: str | None) -> str | bytes | None:
    """A path as the store keeps it: text, or its bytes where it is not UTF-8 (a folder named in
    another encoding; SQLite's text must be UTF-8)."""
    if path is None:
        return None
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path)
    return path


def _path_or_none(value: object) -> str | None:
    """A stored path (text, or bytes for one that is not UTF-8) as Python names it, or None."""
    if isinstance(value, bytes) and 0 < len(value) < 4096 and b"\0" not in value:
        return os.fsdecode(value)
    return value if isinstance(value, str) and "\0" not in value else None


def _time_or_none(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = _parse_time(value)
    except ValueError:
        return None
    return value if parsed.tzinfo is not None else None  # the store writes UTC times with their offset


def _seed_or_none(value: object) -> int | None:
    try:
        seed = int(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    except ValueError:
        return None
    return seed if seed is not None and 0 <= seed < 2**64 else None


def _fraction_or_none(value: object) -> float | None:
    return float(value) if type(value) in (int, float) and 0 <= value <= 1 else None


def _count_or_none(value: object) -> int | None:
    return value if type(value) is int and 0 <= value < 10**9 else None


def _finite_or_nan(value: object) -> float:
    return float(value) if type(value) in (int, float) and math.isfinite(value) else math.nan


def _place_or_none(value: object) -> float | None:
    """A place on the epoch axis: a number from 0 to a million epochs."""
    return float(value) if type(value) in (int, float) and 0 <= value <= 10**6 else None


def _stored_json(text: object) -> object:
    """What a stored JSON text holds, or None when it is not JSON Python reads: not text, not JSON,
    nested past the recursion limit, or a number of more than 4,300 digits (a plain ValueError)."""
    if not isinstance(text, str):
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # json.JSONDecodeError is a ValueError
        return None


def _json_dict(text: object) -> dict:
    value = _stored_json(text or "{}")
    return value if isinstance(value, dict) else {}


def _unwritable(folder: Path) -> str | None:
    """Why nothing can be written in `folder`, when that is so."""
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return f"{folder} is on a read-only file system"
    except (OSError, AttributeError):  # no statvfs (Windows)
        pass
    if not os.access(folder, os.W_OK):
        return f"the folder {folder} is not writable"
    return None


def _host() -> str:
    return os.uname().nodename if hasattr(os, "uname") else os.environ.get("COMPUTERNAME", "")


def _reason(exc: BaseException, folder: Path | None = None) -> str:
    text = str(exc)
    lowered = text.lower()
    if folder is not None and ("unable to open" in lowered or "disk i/o" in lowered or "readonly" in lowered):
        where = _unwritable(folder)
        if where:
            return f"{where} ({text})"
    if "not a database" in lowered or "malformed" in lowered:
        return f"the file is damaged or not a run store ({text}); it is left as it is"
    if "readonly" in lowered or "read-only" in lowered:
        return f"it is read-only ({text})"
    if "disk is full" in lowered or getattr(exc, "errno", None) == 28:
        return "the disk is full"
    if "disk i/o" in lowered:
        return f"the disk refused a read or a write ({text}): it may be full, read-only or failing"
    if "unable to open" in lowered:
        return f"SQLite could not open or create the file there ({text})"
    if "locked" in lowered or "busy" in lowered:
        return f"another process kept it busy for over {BUSY_TIMEOUT_S:.0f} s ({text})"
    return getattr(exc, "strerror", None) or text
