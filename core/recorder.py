"""Writes a session's events into the run store as they pass, in the session's own thread.

Batch losses and schedule events are kept in memory and written with their epoch, in one short
transaction per epoch (and one when the run ends), so recording costs training nothing it would
notice. A process that dies mid-epoch loses only that epoch's batch losses: the store keeps every
completed epoch. A store that fails mid-run (a full disk) is reported once; training goes on.
"""

from __future__ import annotations

import torch

from . import events
from .runstore import EpochRecord, Run, RunStore, StoreError


class Recorder:
    def __init__(self, store: RunStore, run: Run, batches_per_epoch: int | None = None):
        self.store = store
        self.run = run
        self.batches_per_epoch = batches_per_epoch
        self._batches: list[tuple[float, float, float]] = []
        self._events: list[tuple[float, str, str | None]] = []
        self.failed = False

    def observe(self, event: events.TrainingEvent) -> events.RecordingFailed | None:
        """Record one event; the first failure of the store comes back as a RecordingFailed event."""
        if self.failed:
            return None
        try:
            self._record(event)
        except StoreError as exc:
            self.failed = True
            return events.RecordingFailed(run_id=self.run.id, message=str(exc))
        return None

    def _x(self, epoch: int, batch: int) -> float:
        return epoch - 1 + batch / max(self.batches_per_epoch or 1, 1)

    def _record(self, event) -> None:
        match event:
            case events.TrainingStarted():
                self.batches_per_epoch = event.batches_per_epoch
                config = dict(self.run.config, seed=event.seed)
                self.store.set_started(self.run.id, device=event.device, torch_version=str(torch.__version__),
                                       seed=event.seed, config=config)
            case events.BatchProgress():
                self._batches.append((self._x(event.epoch, event.batch), event.loss, event.lr))
            case events.EpochFinished():
                record = EpochRecord(event.epoch, event.test_accuracy, event.train_loss, event.lr, event.seconds,
                                     event.images_per_s)
                self.store.record_epoch(self.run.id, record, self._batches, self._events)
                self._batches, self._events = [], []
            case events.NewBestSaved():
                # In the store as soon as the file is on disk.
                self.store.set_best(self.run.id, event.accuracy, event.epoch)
            case events.LrDropped():
                self._events.append((float(event.epoch), "lr_drop", f"{event.new_lr:g}"))
            case events.SaveFailed():
                self._events.append((float(event.epoch), "save_failed", event.message))
            case events.StateSaveFailed():
                self._events.append((float(event.epoch), "state_save_failed", event.message))
            case events.EarlyExit():
                self._events.append((float(event.epoch), "early_exit", f"{event.accuracy:.4f}"))
            case events.Converged():
                self._events.append((float(event.epoch), "converged", None))
            case events.NanAbort():
                self._events.append((float(event.epoch), "nan_abort", None))
            case events.Stopped():
                self._events.append((self._x(event.epoch, event.batch), "stopped", None))
            case events.Finished():
                self.store.record_end(self.run.id, str(event.reason), self._batches, self._events)
                self._batches, self._events = [], []
