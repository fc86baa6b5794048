"""Starting, pausing, stopping, resuming and fitting runs, and what the panel shows of the one going.

The controller owns the current run's RunHistory (core.history) and feeds it the trainer's events;
the plots draw it. It starts a run from the panel's fields, continues a recorded one from the run
store (its recorded history first), or fits the sketchpad's model to your handwriting; the panel's
bar and the status bar follow the run.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QInputDialog, QWidget

from mnistconv.core import allocator, events
from mnistconv.core.config import parse_setting
from mnistconv.core.errors import ConfigError
from mnistconv.core.events import FinishReason
from mnistconv.core.history import EventKind, RunHistory
from mnistconv.core.paths import checkpoint_file, ensure_folder
from mnistconv.core.predict import BUNDLED_NAME
from mnistconv.core.runstore import INTERRUPTED, RUNNING
from mnistconv.core.session import RUN_FOLDER
from mnistconv.core.wording import finish_summary, stopping_text

from .training_panel import NO_SEED, PanelState

# The trainer's events that add to a run's history.
HISTORY_SIGNALS = ("training_started", "batch_progressed", "epoch_finished", "lr_dropped", "lr_changed", "new_best_saved",
                   "save_failed",
                   "state_save_failed", "early_exited", "converged", "nan_aborted", "stopped")


class TrainingController(QObject):
    """`window` gives the trainer, the panel, the plots, the confusion matrix, the network view, the
    runs view, the personal digits, the sketchpad's model, the log and the status bar."""

    def __init__(self, window: QWidget):
        super().__init__(window)
        self.window = window
        self.history = RunHistory()
        self._epochs = 0  # the run's planned epochs, for the bar
        self._fit_folds: int | None = None  # while fitting: its held-out parts (then the final fit)
        self._group: events.GroupMemberStarted | None = None  # while a seed group trains: its current member
        window.plots.show_history(self.history)
        panel, trainer = window.panel, window.trainer
        panel.train_requested.connect(self.train)
        panel.pause_toggled.connect(self.toggle_pause)
        panel.stop_requested.connect(self.stop)
        panel.lr_set_requested.connect(self.set_lr)
        for name in HISTORY_SIGNALS:
            getattr(trainer, name).connect(self._on_history_event)
        trainer.acquisition_progressed.connect(self._on_acquisition_progressed)
        trainer.training_started.connect(self._on_training_started)
        trainer.batch_progressed.connect(self._on_batch_progressed)
        trainer.finetune_started.connect(self._on_fit_started)
        trainer.group_member_started.connect(self._on_group_member_started)
        trainer.finished.connect(self._on_finished)

    # -- starting ------------------------------------------------------------------------------------
    def train(self) -> bool:
        """A new run with the panel's settings; a field that cannot work is said under the bar."""
        window = self.window
        if window.trainer.is_running():
            return False
        panel = window.panel
        try:
            config = panel.config()
            if config.savepath != RUN_FOLDER and panel.seeds_spin.value() > 1:
                raise ConfigError("a seed group keeps each run's model in that run's own folder; clear the save folder")
            if config.savepath != RUN_FOLDER:
                ensure_folder(checkpoint_file(config.savepath).parent)  # a .pt path names the file, not a folder
        except ConfigError as exc:
            panel.show_error(str(exc))
            return False
        panel.show_error(None)
        self._begin(RunHistory(), config.epochs, steerable=config.lr_schedule == "plateau")
        window.trainer.start(config, panel.data_dir(), runs_dir=window.runs_dir, preset=panel.preset_name(),
                             seeds=panel.seeds_spin.value())
        return True

    def resume_run(self, run_id: int) -> bool:
        """Continue a recorded run where it stopped (a finished one: for more epochs, asked for)."""
        window = self.window
        if window.trainer.is_running():
            return False
        run = window.runs_view.run(run_id)
        if run is None:
            return False
        epochs = None
        done = run.epochs_done or 0  # the run's state says for certain; the store's row only guides the question
        planned = run.planned_epochs or done
        if run.outcome not in (RUNNING, INTERRUPTED, FinishReason.STOPPED) or done >= planned:
            epochs, accepted = QInputDialog.getInt(
                window, f"Train run {run_id} further", f"Run {run_id} has finished ({str(run.outcome).replace('_', ' ')} "
                f"after {run.epochs_text} epochs). Train it to how many epochs in all?", max(planned, done) + 5,
                done + 1, 1000)
            if not accepted:
                return False
        self._begin(window.runs_view.history(run.id) or RunHistory(), epochs or planned,
                    steerable=run.config.get("lr_schedule", "plateau") == "plateau")
        window.network.set_history(window.runs_view.first_filters(run.id))  # the Filters page from the run's first epoch
        window.trainer.resume_run(window.runs_dir, run_id, epochs=epochs)
        return True

    def fit_to_handwriting(self) -> bool:
        """Fine-tune the sketchpad's model (or the bundled one) on your digits, in the background."""
        window = self.window
        if window.trainer.is_running():
            return False
        predictor, file = window.sketchpad.predictor, window.sketchpad_model.file
        bundled = predictor is None or predictor.name == BUNDLED_NAME
        base = None if bundled or file is None or not file.is_file() else file
        self._begin(RunHistory(), 1)
        window.panel.set_progress(None, "Fitting to your handwriting…")
        window.trainer.fine_tune(window.personal.root, window.panel.data_dir(), base=base, runs_dir=window.runs_dir,
                                 settings=window.finetune_settings)
        return True

    def _begin(self, history: RunHistory, epochs: int, steerable: bool = False) -> None:
        self._show_new_run(history, epochs)
        self._fit_folds = None
        self._group = None
        self.window.panel.set_progress(None, "Loading data…")
        self.window.panel.set_steerable(steerable)
        self.window.panel.set_state(PanelState.RUNNING)

    def _show_new_run(self, history: RunHistory, epochs: int) -> None:
        """The plots, the confusion matrix and the network view start afresh with `history`."""
        window = self.window
        self.history = history
        window.plots.show_history(history)
        window.plots.set_epoch_span(epochs)
        window.confusion.clear()
        window.network.clear_history()
        window.results.begin()
        self._epochs = epochs

    # -- while it runs -------------------------------------------------------------------------------
    def toggle_pause(self) -> None:
        trainer, panel, log = self.window.trainer, self.window.panel, self.window.log
        if not trainer.is_running():
            return
        if trainer.is_paused():
            trainer.resume()
            panel.set_state(PanelState.RUNNING)
            log.add("Resumed")
        else:
            trainer.pause()
            panel.set_state(PanelState.PAUSED)
            log.add("Paused (between batches)")

    def stop(self) -> None:
        if self.window.trainer.is_running():
            self.window.trainer.stop()
            saved = any(marker.kind is EventKind.NEW_BEST for marker in self.history.markers)
            self.window.panel.stopping_text = stopping_text(saved)
            self.window.panel.set_state(PanelState.STOPPING)
            self.window.log.add(f"{stopping_text(saved)}…")

    def set_lr(self, text: str) -> bool:
        """Train the running run at the rate typed from its next batch on; a rate that cannot work is
        said in the status bar and the log, and nothing changes."""
        window = self.window
        if not window.trainer.is_running() or window.trainer.is_stopping():
            return False
        try:
            lr = parse_setting("lr", text)
        except ConfigError as exc:
            window.statusBar().showMessage(f"The learning rate stays as it is: {exc}", 10_000)
            window.log.add(f"The learning rate stays as it is: {exc}", "warning")
            return False
        window.trainer.set_lr(lr)
        window.statusBar().showMessage(f"Learning rate {lr:g} from the next batch", 5000)
        return True

    def _on_group_member_started(self, event: events.GroupMemberStarted) -> None:
        """A seed group goes on to its next run: the plots start afresh (the runs before are in the Runs tab)."""
        if len(self.history.batch_x) or len(self.history.epochs):  # after a member, or after the run resumed before it
            self._show_new_run(RunHistory(), self._epochs)
        self._group = event

    def _on_history_event(self, event: events.TrainingEvent) -> None:
        self.history.observe(event)

    def _on_acquisition_progressed(self, step: events.AcquireProgress) -> None:
        self.window.panel.set_progress(step.fraction, step.message)
        self.window.statusBar().showMessage(step.message, 3000)

    def _on_training_started(self, event: events.TrainingStarted) -> None:
        window = self.window
        window.device_label.setText(event.device)
        drawn = window.panel.seed_spin.value() == NO_SEED
        window.seed_label.setText(f"Seed {event.seed}" + (" (drawn at random)" if drawn else ""))
        window.seed_label.setToolTip(f"Enter {event.seed} in the Seed field to repeat this run")

    def _on_fit_started(self, event: events.FinetuneStarted) -> None:
        self._fit_folds = event.folds
        self.window.plots.set_epoch_span(event.folds + 1)  # the parts sit at 1, 2, … on the plots' axis

    def _on_batch_progressed(self, p: events.BatchProgress) -> None:
        remaining = (p.batches - p.batch) * p.seconds / max(p.batch, 1)
        if self._fit_folds is not None:
            # A fit's "epochs" are its parts: each held-out fit, then the final one; one bar for all.
            folds = self._fit_folds
            part = f"held-out part {p.epoch} of {folds}" if p.epoch <= folds else "the final model"
            self.window.panel.set_progress(
                (p.epoch - 1 + p.batch / p.batches) / (folds + 1), f"Fitting: {part} · %p%",
                f"Step {p.batch}/{p.batches} · {p.images_per_s:,.0f} images/s · {remaining:.0f} s left in this part",
            )
            return
        member = f" · run {self._group.index}/{self._group.size}" if self._group is not None else ""
        self.window.panel.set_progress(
            p.batch / p.batches,
            f"Epoch {p.epoch}/{self._epochs}{member} · %p%",
            f"Batch {p.batch}/{p.batches} · {p.images_per_s:,.0f} images/s · {remaining:.0f} s left in this epoch",
        )

    def _on_finished(self, f: events.Finished) -> None:
        allocator.release_freed_memory()  # the run's activation memory goes back to the system
        self.window.panel.set_state(PanelState.IDLE)
        words = finish_summary(f)
        self.window.panel.set_progress(0.0 if f.reason is FinishReason.FAILED else 1.0, words)
        self.window.statusBar().showMessage(words, 10_000)
