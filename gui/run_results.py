"""What a run produces, where the window shows it: every event in the log (core.wording's words), each
epoch's results in the confusion matrix, each saved model in the sketchpad and the network view,
and a dialog for what a person must not miss (a failed save, a NaN abort, a failure, a fit's result).
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox, QWidget

from mnistconv.core import events
from mnistconv.core.qt_trainer import SIGNAL_NAMES
from mnistconv.core.wording import (
    NAN_TITLE,
    SAVE_FAILED_GOES_ON,
    SAVE_FAILED_TITLE,
    finetune_lines,
    log_lines,
    nan_abort_text,
    save_failed_again,
)


class RunResults(QObject):
    """`window` gives the trainer, the log, the confusion matrix, the network view, the sketchpad's
    model, the personal digits' view, messages and the status bar."""

    def __init__(self, window: QWidget):
        super().__init__(window)
        self.window = window
        self._best_epoch = 0  # the epoch of the latest NewBestSaved, for the model read back after it
        self._save_failure_shown = False  # one dialog per run: a read-only folder fails every epoch
        trainer = window.trainer
        for name in SIGNAL_NAMES.values():
            getattr(trainer, name).connect(self._log_event)
        trainer.data_loaded.connect(self._on_data_loaded)
        trainer.epoch_finished.connect(self._on_epoch_finished)
        trainer.new_best_saved.connect(self._on_new_best_saved)
        trainer.saved_model_loaded.connect(self._on_saved_model_loaded)
        trainer.save_failed.connect(self._on_save_failed)
        trainer.nan_aborted.connect(self._on_nan_aborted)
        trainer.failed.connect(self._on_failed)
        trainer.finetune_finished.connect(self._on_finetune_finished)

    def begin(self) -> None:
        """A run starts: nothing saved yet, and its first failed save gets a dialog."""
        self._best_epoch = 0
        self._save_failure_shown = False

    def _log_event(self, event: events.TrainingEvent) -> None:
        for line in log_lines(event):
            self.window.log.add(line.text, line.level.value)

    def _on_data_loaded(self, event: events.DataLoaded) -> None:
        self.window.confusion.set_test_set(event.test_images, event.test_labels)

    def _on_epoch_finished(self, e: events.EpochFinished) -> None:
        self.window.confusion.set_results(e.epoch, e.confusion, e.predictions, e.confidences)

    def _on_new_best_saved(self, e: events.NewBestSaved) -> None:
        self.window.confusion.set_best_epoch(e.epoch)
        self._best_epoch = e.epoch

    def _on_saved_model_loaded(self, event: events.SavedModelLoaded) -> None:
        # A fresh copy of the weights from the file just saved (the session loaded it off this
        # thread): never the model being trained.
        self.window.sketchpad_model.set_predictor(event.predictor, event.path)
        # A fit to your handwriting saves its one model with no NewBestSaved: its run's one epoch.
        self.window.network.add_saved_model(self._best_epoch or 1, event.predictor)

    def _on_save_failed(self, e: events.SaveFailed) -> None:
        if self._save_failure_shown:
            self.window.statusBar().showMessage(save_failed_again(e.epoch), 10_000)
            return
        self._save_failure_shown = True
        self.window.messages.warn(SAVE_FAILED_TITLE, f"{e.message}\n\n{SAVE_FAILED_GOES_ON}")

    def _on_nan_aborted(self, e: events.NanAbort) -> None:
        self.window.messages.warn(NAN_TITLE, nan_abort_text(e.epoch))

    def _on_failed(self, e: events.TrainingFailed) -> None:
        self.window.messages.show(QMessageBox.Icon.Critical, "Training failed", e.message, e.details)

    def _on_finetune_finished(self, event: events.FinetuneFinished) -> None:
        text = "\n".join(line.text.strip() for line in finetune_lines(event))
        icon = QMessageBox.Icon.Information if event.accepted else QMessageBox.Icon.Warning
        self.window.messages.show(icon, "Fitted to your handwriting" if event.accepted else "The fitted model was not kept",
                                  text)
        self.window.personal_view.refresh()
