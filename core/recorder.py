"""Writes a session's history into the run store as it grows, in the session's own thread.

The recorder feeds every event to a RunHistory (core.history) and writes what it added since the
last write: at the end of each epoch (its row, its batch reports and markers, in one short
transaction), when a new best model is on disk, and when the run ends. So recording costs training
nothing it would notice, and a process that dies mid-epoch loses only that epoch's batch reports:
the store keeps every completed epoch. A store that fails mid-run (a full disk) is reported once;
training goes on.
"""

from __future__ import annotations

import torch

from . import events
from .history import Mark, RunHistory
from .runstore import Run, RunStore, StoreError


class Recorder:
    def __init__(self, store: RunStore, run: Run):
        self.store = store
        self.run = run
        self.history = RunHistory()
        self._written = Mark()
        self.failed = False

    def observe(self, event: events.TrainingEvent) -> events.RecordingFailed | None:
        """Record one event; the first failure of the store comes back as a RecordingFailed event."""
        if self.failed:
            return None
        self.history.observe(event)
        try:
            self._write(event)
        except StoreError as exc:
            self.failed = True
            return events.RecordingFailed(run_id=self.run.id, message=str(exc))
        return None

    def _unwritten(self):
        """The batch reports and markers added since the last write, and the mark to write from next."""
        history, since = self.history, self._written
        return history.batch_rows(since.batches), history.markers[since.markers:], history.mark()

    def _write(self, event) -> None:
        match event:
            case events.TrainingStarted():
                config = dict(self.run.config, seed=event.seed)
                self.store.set_started(self.run.id, device=event.device, torch_version=str(torch.__version__),
                                       seed=event.seed, config=config,
                                       parameters=event.parameters)
            case events.EpochFinished():
                batches, markers, mark = self._unwritten()
                (epoch,) = self.history.epoch_rows(mark.epochs - 1)
                self.store.record_epoch(self.run.id, epoch, batches, markers)
                self._written = mark
            case events.NewBestSaved():
                # In the store as soon as the file is on disk, with its marker.
                _, markers, mark = self._unwritten()
                self.store.set_best(self.run.id, event.accuracy, event.epoch, markers, first_filters=event.first_filters,
                                    filter_shape=event.filter_shape)
                self._written = Mark(self._written.batches, mark.epochs, mark.markers)
            case events.Finished():
                batches, markers, mark = self._unwritten()
                self.store.record_end(self.run.id, event.reason, batches, markers)
                self._written = mark
