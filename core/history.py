"""A run's history, Qt-free: what the plots draw, the run store keeps and the window shows.

`RunHistory` holds one run's
- batch series: each progress report's place on the epoch axis, its mean training loss, the
  learning rate of its last batch (the plots smooth the losses themselves, with LossSmoother and
  the weight a person chooses);
- per-epoch metrics as named columns: EPOCH_COLUMNS, every per-epoch number that EpochFinished
  carries (a new metric is a field there, marked `per_epoch`, and nothing else here changes);
- markers: the events worth marking where they happened, each of one EventKind.

It is fed training events as a run goes (`observe`, in the recorder and in the window alike), or
rows read back from the run store (`add_batch`, `add_epoch`, `add_marker`). Views subscribe to it
and hear what changed, as napari's widgets listen to its evented models; the history knows nothing
of them.

All positions share one axis in epochs: batch k of the B in epoch e sits at e - 1 + k/B, and the
metrics of epoch e at x = e, where its training ends.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, fields
from enum import Enum
from typing import Callable

import numpy as np

from . import events

# Weight of the past in the loss's moving average; with progress reports every fraction of a
# second this smooths over a few seconds of training.
EMA_DECAY = 0.9

#: The per-epoch metrics, in EpochFinished's order: its fields marked `per_epoch`.
EPOCH_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(events.EpochFinished) if f.metadata.get("per_epoch"))
#: An epoch's row: its number, then its metrics (the CSV export's header).
EPOCH_KEYED = ("epoch", *EPOCH_COLUMNS)


class EventKind(str, Enum):
    """Every kind of event a history marks, and the run store records by its value."""

    LR_DROP = "lr_drop"
    LR_SET = "lr_set"  # set by the run's plan or by a person while it trained
    NEW_BEST = "new_best"
    SAVE_FAILED = "save_failed"
    STATE_SAVE_FAILED = "state_save_failed"
    EARLY_EXIT = "early_exit"
    CONVERGED = "converged"
    NAN_ABORT = "nan_abort"
    STOPPED = "stopped"

    def __str__(self) -> str:
        return self.value


class Change(str, Enum):
    """What a history tells its listeners."""

    BATCHES = "batches"  # batch reports were added
    EPOCHS = "epochs"  # an epoch's metrics were added
    MARKER = "marker"  # a marker was added (it comes along)
    CLEARED = "cleared"  # everything went


@dataclass(frozen=True)
class Marker:
    x: float  # on the epoch axis
    kind: EventKind
    detail: str | None = None  # the new learning rate, the accuracy, a failure's message


def epoch_position(epoch: int, batch: int, batches: int | None) -> float:
    """Where batch `batch` of `batches` in (1-based) `epoch` sits on the epoch axis."""
    return epoch - 1 + batch / max(batches or 1, 1)


class LossSmoother:
    """The loss's exponential moving average, started at 0 and bias-corrected (as Adam's moments), so
    the first points are not pulled towards 0; a NaN or infinite loss leaves it where it was."""

    def __init__(self, decay: float = EMA_DECAY):
        self.decay = decay
        self._ema = 0.0
        self._steps = 0

    def update(self, loss: float) -> float:
        if math.isfinite(loss):
            self._ema = self.decay * self._ema + (1 - self.decay) * loss
            self._steps += 1
        return self._ema / (1 - self.decay**self._steps) if self._steps else math.nan


class Series:
    """A growing float series in a numpy buffer, so appending stays cheap on long runs; `values` is
    a view of what was appended."""

    def __init__(self) -> None:
        self._buffer = np.empty(256)
        self.n = 0

    def append(self, value: float) -> None:
        if self.n == len(self._buffer):
            self._buffer = np.concatenate([self._buffer, np.empty_like(self._buffer)])
        self._buffer[self.n] = value
        self.n += 1

    def __len__(self) -> int:
        return self.n

    @property
    def values(self) -> np.ndarray:
        return self._buffer[: self.n]


@dataclass(frozen=True)
class Mark:
    """How much of a history there was at one moment (for writing only what came after)."""

    batches: int = 0
    epochs: int = 0
    markers: int = 0


Listener = Callable[[Change, "Marker | None"], None]


class RunHistory:
    def __init__(self, batches_per_epoch: int | None = None):
        self.batches_per_epoch = batches_per_epoch  # for events that name a batch but not the epoch's count
        self.batch_x, self.batch_loss, self.batch_lr = Series(), Series(), Series()
        self.epochs = Series()
        self.columns: dict[str, Series] = {name: Series() for name in EPOCH_COLUMNS}
        self.markers: list[Marker] = []
        self._listeners: list[Listener] = []

    # -- listening ---------------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _tell(self, change: Change, marker: Marker | None = None) -> None:
        for listener in list(self._listeners):
            listener(change, marker)

    # -- adding ------------------------------------------------------------------------------------
    def add_batch(self, x: float, loss: float, lr: float) -> None:
        self.batch_x.append(x)
        self.batch_loss.append(loss)
        self.batch_lr.append(lr)
        self._tell(Change.BATCHES)

    def add_epoch(self, epoch: int, **metrics: float | None) -> None:
        """An epoch's metrics by column name; a column not given (or None) is NaN."""
        unknown = set(metrics) - set(self.columns)
        if unknown:
            raise ValueError(f"no such per-epoch column: {', '.join(sorted(unknown))}")
        self.epochs.append(epoch)
        for name, series in self.columns.items():
            value = metrics.get(name)
            series.append(math.nan if value is None else value)
        self._tell(Change.EPOCHS)

    def add_marker(self, marker: Marker) -> None:
        self.markers.append(marker)
        self._tell(Change.MARKER, marker)

    def clear(self) -> None:
        for series in (self.batch_x, self.batch_loss, self.batch_lr, self.epochs, *self.columns.values()):
            series.n = 0
        self.markers.clear()
        self._tell(Change.CLEARED)

    def observe(self, event: events.TrainingEvent) -> None:
        """Take what a training event adds to the history (most events add nothing)."""
        match event:
            case events.TrainingStarted():
                self.batches_per_epoch = event.batches_per_epoch
            case events.BatchProgress():
                self.add_batch(epoch_position(event.epoch, event.batch, event.batches), event.loss, event.lr)
            case events.EpochFinished():
                self.add_epoch(event.epoch, **{name: getattr(event, name) for name in EPOCH_COLUMNS})
            case events.LrDropped():
                self.add_marker(Marker(event.epoch, EventKind.LR_DROP, f"{event.new_lr:g}"))
            case events.LrChanged():
                self.add_marker(Marker(epoch_position(event.epoch, event.batch, event.batches), EventKind.LR_SET,
                                       f"{event.new_lr:g}"))
            case events.NewBestSaved():
                self.add_marker(Marker(event.epoch, EventKind.NEW_BEST, f"{event.accuracy:.4f}"))
            case events.SaveFailed():
                self.add_marker(Marker(event.epoch, EventKind.SAVE_FAILED, event.message))
            case events.StateSaveFailed():
                self.add_marker(Marker(event.epoch, EventKind.STATE_SAVE_FAILED, event.message))
            case events.EarlyExit():
                self.add_marker(Marker(event.epoch, EventKind.EARLY_EXIT, f"{event.accuracy:.4f}"))
            case events.Converged():
                self.add_marker(Marker(event.epoch, EventKind.CONVERGED))
            case events.NanAbort():
                self.add_marker(Marker(event.epoch, EventKind.NAN_ABORT))
            case events.Stopped() if event.epoch:  # epoch 0: stopped before training, nothing to mark
                self.add_marker(Marker(epoch_position(event.epoch, event.batch, self.batches_per_epoch), EventKind.STOPPED))

    # -- reading -----------------------------------------------------------------------------------
    def column(self, name: str) -> np.ndarray:
        """A per-epoch column's values, one per epoch in `epochs`."""
        return self.columns[name].values

    def value_at(self, name: str, epoch: float) -> float | None:
        """A column's value at `epoch` (its latest, were it recorded twice), or None."""
        hits = np.flatnonzero(self.epochs.values == epoch)
        return float(self.columns[name].values[hits[-1]]) if len(hits) else None

    def epoch_rows(self, start: int = 0) -> list[dict]:
        """The epochs from the `start`-th on, each as {"epoch": …, column: value or None, …}."""
        rows = []
        for i in range(start, len(self.epochs)):
            row = {"epoch": int(self.epochs.values[i])}
            for name, series in self.columns.items():
                value = float(series.values[i])
                row[name] = None if math.isnan(value) else value
            rows.append(row)
        return rows

    def epochs_csv(self) -> str:
        """The per-epoch metrics as CSV text, a header row (EPOCH_KEYED) first; an unmeasured value is empty."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(EPOCH_KEYED)
        for row in self.epoch_rows():
            writer.writerow([row[name] for name in EPOCH_KEYED])
        return buffer.getvalue()

    def batch_rows(self, start: int = 0) -> list[tuple[float, float, float]]:
        """The batch reports from the `start`-th on, as (x, loss, lr)."""
        return list(zip(self.batch_x.values[start:].tolist(), self.batch_loss.values[start:].tolist(),
                        self.batch_lr.values[start:].tolist()))

    def mark(self) -> Mark:
        return Mark(len(self.batch_x), len(self.epochs), len(self.markers))

    def last_epoch(self) -> float:
        """The furthest point on the epoch axis that holds anything (0 when empty)."""
        ends = [self.batch_x.values.max(initial=0), self.epochs.values.max(initial=0)]
        return float(max(ends + [marker.x for marker in self.markers]))
