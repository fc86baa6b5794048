"""A training session in a QThread, its events turned into Qt signals (QtCore only, no widgets).

The thread only forwards: it iterates core.session's generator and emits each event on the signal
of its type, carrying the event itself. Any exception becomes `failed`, and `finished` always comes
last. Pause, resume and stop go to the session's TrainingControl, which acts between batches (and
stop also cuts a data fetch short). Signals cross to the GUI thread through queued connections.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Iterator

from PySide6.QtCore import QObject, QThread, Signal

from . import events
from .config import TrainConfig
from .errors import MnistConvError
from .events import FinishReason
from .finetune import FinetuneSettings, finetune_session
from .priority import lower_this_threads_priority
from .seed_groups import group_session, resume_member_session
from .session import RunLabels, training_session
from .train import TrainingControl

# The signal that carries each event type: past tense, snake_case, one per type.
SIGNAL_NAMES: dict[type, str] = {
    events.DataLoading: "data_loading_started",
    events.AcquireProgress: "acquisition_progressed",
    events.DataLoaded: "data_loaded",
    events.TrainingStarted: "training_started",
    events.BatchProgress: "batch_progressed",
    events.EpochFinished: "epoch_finished",
    events.LrDropped: "lr_dropped",
    events.LrChanged: "lr_changed",
    events.NewBestSaved: "new_best_saved",
    events.SaveFailed: "save_failed",
    events.StateSaveFailed: "state_save_failed",
    events.EarlyExit: "early_exited",
    events.Converged: "converged",
    events.NanAbort: "nan_aborted",
    events.Stopped: "stopped",
    events.TrainingFailed: "failed",
    events.SavedModelLoaded: "saved_model_loaded",
    events.SavedModelUnreadable: "saved_model_unreadable",
    events.RunRecorded: "run_recorded",
    events.GroupMemberStarted: "group_member_started",
    events.RecordingFailed: "recording_failed",
    events.FinetuneStarted: "finetune_started",
    events.FinetuneFinished: "finetune_finished",
    events.Finished: "finished",
}


class _SessionThread(QThread):
    def __init__(self, trainer: "QtTrainer", session: Iterator[events.TrainingEvent], control: TrainingControl):
        super().__init__(trainer)
        self.trainer = trainer
        self.session = session
        self.control = control

    def run(self) -> None:
        lower_this_threads_priority()  # the window stays smooth; training takes the cycles left over
        finished = None
        try:
            for event in self.session:
                if isinstance(event, events.Finished):
                    finished = event  # sent last, below
                else:
                    self.trainer.emit_event(event)
        except MnistConvError as exc:
            self.trainer.emit_event(events.TrainingFailed(message=str(exc)))
        except Exception as exc:  # noqa: BLE001 - anything else must reach the window, not kill the thread
            self.trainer.emit_event(events.TrainingFailed(message=f"{type(exc).__name__}: {exc}", details=traceback.format_exc()))
        finally:
            self.session.close()
        if finished is None:
            reason = FinishReason.STOPPED if self.control.stop_requested else FinishReason.FAILED
            finished = events.Finished.before_any_model(reason)
        self.trainer.emit_event(finished)


class QtTrainer(QObject):
    data_loading_started = Signal(events.DataLoading)
    acquisition_progressed = Signal(events.AcquireProgress)
    data_loaded = Signal(events.DataLoaded)
    training_started = Signal(events.TrainingStarted)
    batch_progressed = Signal(events.BatchProgress)
    epoch_finished = Signal(events.EpochFinished)
    lr_dropped = Signal(events.LrDropped)
    lr_changed = Signal(events.LrChanged)
    new_best_saved = Signal(events.NewBestSaved)
    save_failed = Signal(events.SaveFailed)
    state_save_failed = Signal(events.StateSaveFailed)
    early_exited = Signal(events.EarlyExit)
    converged = Signal(events.Converged)
    nan_aborted = Signal(events.NanAbort)
    stopped = Signal(events.Stopped)
    failed = Signal(events.TrainingFailed)
    saved_model_loaded = Signal(events.SavedModelLoaded)
    saved_model_unreadable = Signal(events.SavedModelUnreadable)
    run_recorded = Signal(events.RunRecorded)
    group_member_started = Signal(events.GroupMemberStarted)
    recording_failed = Signal(events.RecordingFailed)
    finetune_started = Signal(events.FinetuneStarted)
    finetune_finished = Signal(events.FinetuneFinished)
    finished = Signal(events.Finished)

    def __init__(self, parent: QObject | None = None, saved_model_device: str | None = None):
        """With `saved_model_device`, each saved model is read back on that device for the sketchpad."""
        super().__init__(parent)
        self.saved_model_device = saved_model_device
        # No DataCache here: reading MNIST again takes about 0.1 s, and a window that kept the last
        # run's data would hold 55 MB more from the end of its first run to its close.
        self._thread: _SessionThread | None = None
        self._control: TrainingControl | None = None
        self.finished.connect(self._on_finished)

    def _on_finished(self, _: events.Finished) -> None:
        # The thread emits `finished` as its last act; wait for it to end so that is_running() is
        # False for every slot that reacts to `finished` (this connection was made first).
        if self._thread is not None:
            self._thread.wait()

    def emit_event(self, event: events.TrainingEvent) -> None:
        getattr(self, SIGNAL_NAMES[type(event)]).emit(event)

    def start(self, config: TrainConfig, data_dir: str | Path, *, runs_dir: Path | None = None,
              preset: str | None = None, labels: RunLabels = RunLabels(), seeds: int = 1) -> None:
        """Fetch, load and train in the background (core.session.training_session), recording the
        run in the run store at `runs_dir` when given; with `seeds` > 1, a seed group of that many
        runs (core.seed_groups), one after another."""
        control = TrainingControl()
        if seeds > 1:
            session = group_session(config, Path(data_dir), control, count=seeds, runs_dir=runs_dir, preset=preset,
                                    labels=labels, reload_device=self.saved_model_device)
        else:
            session = training_session(config, Path(data_dir), control, reload_device=self.saved_model_device,
                                       runs_dir=runs_dir, preset=preset, labels=labels)
        self.run_session(session, control)

    def resume_run(self, runs_dir: Path, run_id: int, *, epochs: int | None = None, data_dir: Path | None = None) -> None:
        """Continue a recorded run in the background (core.session.resume_session), and the rest of
        its seed group after it (core.seed_groups.resume_member_session)."""
        control = TrainingControl()
        session = resume_member_session(runs_dir, run_id, control, epochs=epochs, data_dir=data_dir,
                                        reload_device=self.saved_model_device)
        self.run_session(session, control)

    def set_lr(self, lr: float) -> None:
        """Train at `lr` from the next batch on (core.train.TrainingControl.request_lr)."""
        if self._control is not None:
            self._control.request_lr(lr)

    def fine_tune(self, digits_dir: Path, data_dir: Path, *, base: Path | None, runs_dir: Path | None,
                  settings: FinetuneSettings = FinetuneSettings()) -> None:
        """Fit a model to personal digits in the background (core.finetune.finetune_session)."""
        control = TrainingControl()
        session = finetune_session(Path(digits_dir), Path(data_dir), control, base=base, settings=settings, runs_dir=runs_dir,
                                   reload_device=self.saved_model_device)
        self.run_session(session, control)

    def run_session(self, session: Iterator[events.TrainingEvent], control: TrainingControl) -> None:
        """Run any session generator in the background, `control` pausing and stopping it."""
        if self.is_running():
            raise RuntimeError("training is already running")
        if self._thread is not None:
            self._thread.deleteLater()  # the previous run's thread has ended; do not keep one per run
        self._control = control
        self._thread = _SessionThread(self, session, control)
        self._thread.start()

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    def is_paused(self) -> bool:
        return self._control is not None and self._control.paused

    def is_stopping(self) -> bool:
        return self.is_running() and self._control is not None and self._control.stop_requested

    def pause(self) -> None:
        if self._control is not None:
            self._control.pause()

    def resume(self) -> None:
        if self._control is not None:
            self._control.resume()

    def stop(self) -> None:
        if self._control is not None:
            self._control.request_stop()

    def stop_and_wait(self, timeout_ms: int = 60_000) -> bool:
        """Stop and block until the thread has ended (it ends within one batch or one save)."""
        self.stop()
        if self._thread is None:
            return True
        return self._thread.wait(timeout_ms)
