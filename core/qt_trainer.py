"""The training loop in a QThread, its events turned into Qt signals (QtCore only, no widgets).

`QtTrainer.start(config, data_dir)` acquires and loads the data, then runs core.train.train in a
worker thread. Each event type has its own signal carrying its frozen dataclass; `finished` always
comes last, also after a failure. Pause, resume and stop act between batches (and stop also cuts
data acquisition short). Signals cross to the GUI thread through Qt's queued connections.
"""

from __future__ import annotations

import traceback
from pathlib import Path

import torch
from PySide6.QtCore import QObject, QThread, Signal

from . import events
from .acquire import AcquireProgress, ensure_mnist
from .config import TrainConfig
from .data import MnistData, load_mnist
from .device import resolve_device
from .errors import CheckpointError, MnistConvError
from .predict import Predictor
from .priority import lower_this_threads_priority
from .train import TrainingControl, train


class AcquisitionCancelled(MnistConvError):
    """Raised from the progress callback to cut data acquisition short."""


class _TrainingThread(QThread):
    def __init__(self, trainer: "QtTrainer", config: TrainConfig, data_dir: Path, control: TrainingControl):
        super().__init__(trainer)
        self.trainer = trainer
        self.config = config
        self.data_dir = Path(data_dir)
        self.control = control

    def run(self) -> None:
        trainer = self.trainer
        finished = None
        lower_this_threads_priority()  # the window stays smooth; training takes the cycles left over
        try:
            data = self._data()
            for event in train(self.config, data, self.control):
                trainer.emit_event(event)
                if isinstance(event, events.NewBestSaved):
                    self._load_saved_model(event.path)
                elif isinstance(event, events.Finished):
                    finished = event
        except AcquisitionCancelled:
            trainer.stopped.emit(events.Stopped(epoch=0, batch=0))
        except MnistConvError as exc:
            trainer.failed.emit(events.TrainingFailed(message=str(exc)))
        except Exception as exc:  # noqa: BLE001 - anything else must reach the window, not kill the thread
            trainer.failed.emit(events.TrainingFailed(message=f"{type(exc).__name__}: {exc}", details=traceback.format_exc()))
        if finished is None:
            reason = "stopped" if self.control.stop_requested else "failed"
            finished = events.Finished(reason=reason, epochs_run=0, best_accuracy=0.0, best_epoch=0, checkpoint=None)
        trainer.finished.emit(finished)

    def _data(self) -> MnistData:
        device = resolve_device(self.config.device)
        cached = self.trainer._data_cache
        if cached is not None and cached[0] == (self.data_dir, str(device)):
            data = cached[1]
        else:
            ensure_mnist(self.data_dir, self._on_acquire_progress)
            data = load_mnist(self.data_dir, device)
            self.trainer._data_cache = ((self.data_dir, str(device)), data)
        self.trainer.data_loaded.emit(
            events.DataLoaded(
                data_dir=self.data_dir,
                train_images=len(data.train_labels),
                test_images=(data.test_images[:, 0] * 255).round().to(torch.uint8).cpu().numpy(),
                test_labels=data.test_labels.cpu().numpy(),
            )
        )
        return data

    def _load_saved_model(self, path: Path) -> None:
        # Here, not on the GUI thread: reading the file and building the model take 5–20 ms, and
        # longer on a slow disk, which the window would spend frozen.
        device = self.trainer.saved_model_device
        if device is None:
            return
        try:
            predictor = Predictor.from_checkpoint(path, device=device)
        except CheckpointError as exc:
            self.trainer.saved_model_unreadable.emit(str(exc))  # training goes on
            return
        except Exception as exc:  # noqa: BLE001 - the sketchpad's copy must never stop training
            self.trainer.saved_model_unreadable.emit(f"{type(exc).__name__}: {exc}")
            return
        self.trainer.saved_model_loaded.emit(predictor)

    def _on_acquire_progress(self, step: AcquireProgress) -> None:
        if self.control.stop_requested:
            raise AcquisitionCancelled("data acquisition cancelled")
        self.trainer.acquiring.emit(step)


class QtTrainer(QObject):
    acquiring = Signal(AcquireProgress)
    data_loaded = Signal(events.DataLoaded)
    started = Signal(events.TrainingStarted)
    batch_progress = Signal(events.BatchProgress)
    epoch_finished = Signal(events.EpochFinished)
    lr_dropped = Signal(events.LrDropped)
    new_best_saved = Signal(events.NewBestSaved)
    save_failed = Signal(events.SaveFailed)
    early_exit = Signal(events.EarlyExit)
    converged = Signal(events.Converged)
    nan_abort = Signal(events.NanAbort)
    stopped = Signal(events.Stopped)
    failed = Signal(events.TrainingFailed)
    finished = Signal(events.Finished)
    # With saved_model_device set: after each new_best_saved, a Predictor of the file just saved
    # (its own copy of the weights, loaded in the training thread), or why it could not be read.
    saved_model_loaded = Signal(object)
    saved_model_unreadable = Signal(str)

    def __init__(self, parent: QObject | None = None, saved_model_device: str | None = None):
        super().__init__(parent)
        self.saved_model_device = saved_model_device
        self._thread: _TrainingThread | None = None
        self._control: TrainingControl | None = None
        self._data_cache: tuple | None = None
        self._signals = {
            events.TrainingStarted: self.started,
            events.BatchProgress: self.batch_progress,
            events.EpochFinished: self.epoch_finished,
            events.LrDropped: self.lr_dropped,
            events.NewBestSaved: self.new_best_saved,
            events.SaveFailed: self.save_failed,
            events.EarlyExit: self.early_exit,
            events.Converged: self.converged,
            events.NanAbort: self.nan_abort,
            events.Stopped: self.stopped,
        }
        self.finished.connect(self._on_finished)

    def _on_finished(self, _: events.Finished) -> None:
        # The thread emits `finished` as its last act; wait for it to end so that is_running() is
        # False for every slot that reacts to `finished` (this connection was made first).
        if self._thread is not None:
            self._thread.wait()

    def emit_event(self, event) -> None:
        # Finished is sent by the thread itself, after everything else.
        signal = self._signals.get(type(event))
        if signal is not None:
            signal.emit(event)

    def start(self, config: TrainConfig, data_dir: str | Path) -> None:
        if self.is_running():
            raise RuntimeError("training is already running")
        if self._thread is not None:
            self._thread.deleteLater()  # the previous run's thread has ended; do not keep one per run
        self._control = TrainingControl()
        self._thread = _TrainingThread(self, config, Path(data_dir), self._control)
        self._thread.start()

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    def is_paused(self) -> bool:
        return self._control is not None and self._control.paused

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
