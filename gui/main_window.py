"""The main window: the training panel and log, live plots and confusion matrix, and the sketchpad."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, QSize, Qt
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from mnistconv.core import allocator, checkpoint, events
from mnistconv.core.device import describe_device, resolve_device
from mnistconv.core.errors import CheckpointError, ConfigError
from mnistconv.core.events import FinishReason
from mnistconv.core.finetune import FinetuneSettings
from mnistconv.core.paths import (
    APP_NAME,
    CHECKPOINT_NAME,
    CHECKPOINT_SUFFIX,
    checkpoint_file,
    default_models_dir,
    ensure_folder,
    resolve_data_dir,
)
from mnistconv.core.personal import PersonalDigits, PersonalError
from mnistconv.core.predict import BUNDLED_NAME, Predictor
from mnistconv.core.qt_trainer import SIGNAL_NAMES, QtTrainer
from mnistconv.core.runstore import INTERRUPTED, RUNNING, resolve_runs_dir
from mnistconv.core.session import RUN_FOLDER
from mnistconv.core.wording import finetune_lines, finish_summary, log_lines

from .about import show_about
from .confusion import ConfusionMatrixView
from .event_log import EventLog
from .personal_view import PersonalView, keep_actions
from .picture_file import PictureError, canvas_picture, image_suffixes, is_image_file, read_grey
from .plots import MarkerKind, RunCurves, TrainingPlots
from .probability_bars import with_article
from .runs_view import RunsView
from .settings_reader import Field, read, saved_state
from .shortcuts import ShortcutsDialog, shortcut_rows
from .sketchpad import Sketchpad
from .training_panel import NO_SEED, PanelState, TrainingPanel

# One digit at a time is fastest on the CPU (about 0.2 ms), and a GPU busy training would make
# each sketchpad prediction wait behind its queue of training work.
SKETCHPAD_DEVICE = "cpu"
SKETCHPAD_MIN_WIDTH = 300
SKETCHPAD_MAX_WIDTH = 560
MAX_DEFAULT_SIZE = QSize(1800, 1100)  # the first size on a screen that has room for more


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, predictor: Predictor | None = None):
        super().__init__()
        self.settings = settings if settings is not None else QSettings(APP_NAME, APP_NAME)  # ~/.config/mnistconv/mnistconv.conf
        self.setWindowTitle("mnistconv")
        self.setAcceptDrops(True)
        self.trainer = QtTrainer(self, saved_model_device=SKETCHPAD_DEVICE)
        self.dialogs: list[QMessageBox] = []
        self._batches = 0
        self._epochs = 0
        self._save_failure_shown = False  # one dialog per run: a read-only folder fails every epoch
        self._model_file: Path | None = None  # the checkpoint the sketchpad's model was read from

        self.panel = TrainingPanel(resolve_data_dir())
        self.log = EventLog()
        self.plots = TrainingPlots()
        self.confusion = ConfusionMatrixView()
        self.runs_dir = resolve_runs_dir()
        self.runs_view = RunsView(self.runs_dir)
        self.personal = PersonalDigits()
        self.finetune_settings = FinetuneSettings()  # the fit's defaults (tests shorten it)
        self.personal_view = PersonalView(self.personal)
        self.sketchpad = Sketchpad()
        self.model_label = QLabel()
        self.model_label.setWordWrap(True)

        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.panel)
        left.addWidget(self.log)
        left.setStretchFactor(1, 1)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.plots, "Live plots")
        self.tabs.addTab(self.confusion, "Confusion matrix")
        self.tabs.addTab(self.runs_view, "Runs")
        self.tabs.addTab(self.personal_view, "My digits")
        right = QWidget()
        right.setMinimumWidth(SKETCHPAD_MIN_WIDTH)
        right.setMaximumWidth(SKETCHPAD_MAX_WIDTH)  # past that, a larger canvas helps less than wider plots
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(6, 6, 6, 6)
        right_layout.addWidget(self.model_label)
        right_layout.addWidget(self.sketchpad, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        for widget in (left, self.tabs, right):
            self.splitter.addWidget(widget)
        self.splitter.setChildrenCollapsible(False)
        # Extra width goes to the plots and, a third of it, to the sketchpad (its canvas grows with it).
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setStretchFactor(2, 1)
        self.setCentralWidget(self.splitter)

        self.device_label = QLabel(describe_device(resolve_device("auto")))
        self.seed_label = QLabel()  # the last run's seed, given or drawn: enter it in Seed to repeat the run
        self.statusBar().addPermanentWidget(self.seed_label)
        self.statusBar().addPermanentWidget(self.device_label)
        self._build_menus()
        self._connect()

        problems = self.panel.load_settings(self.settings)
        problems += self._restore_geometry()
        for line in problems:
            self.log.add(line, "warning")
        if predictor is None:
            predictor = self._bundled_predictor()
            self.set_predictor(predictor, self._bundled_file())
        else:
            self.set_predictor(predictor, Path(predictor.name) if str(predictor.name).endswith(".pt") else None)

    # -- construction --------------------------------------------------------------------------
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.open_action = self._action("&Open model…", QKeySequence.StandardKey.Open, self._on_open_model, file_menu)
        self.open_action.setToolTip("Load an mnist_conv.pt for the sketchpad (or drop one on the window)")
        self.open_image_action = self._action("Open &image…", QKeySequence("Ctrl+Shift+O"), self._on_open_image, file_menu)
        self.open_image_action.setToolTip("Read a picture of a digit with the sketchpad's model (or drop one on the window)")
        self.save_model_action = self._action("&Save model as…", QKeySequence("Ctrl+Shift+S"), self._on_save_model, file_menu)
        self.save_model_action.setToolTip("Write the sketchpad's current model to a file of your choice")
        self.export_plots_action = self._action("&Export plots…", QKeySequence("Ctrl+E"), self._on_export_plots, file_menu)
        self.export_plots_action.setToolTip("Write the three plots, overlays included, as PNG or SVG")
        file_menu.addSeparator()
        self._action("&Quit", QKeySequence("Ctrl+Q"), self.close, file_menu)
        self.training_menu = self.menuBar().addMenu("&Training")
        # The panel's actions: they own the shortcuts, and the panel's state enables them.
        self.training_menu.addActions(self.panel.actions_for_menu())
        sketch_menu = self.menuBar().addMenu("&Sketchpad")
        sketch_menu.addActions([self.sketchpad.canvas.clear_action, self.sketchpad.canvas.undo_action])
        help_menu = self.menuBar().addMenu("&Help")
        self._action("&Keyboard shortcuts", QKeySequence("F1"), self.show_shortcuts, help_menu)
        self._action("&About mnistconv", None, lambda: show_about(self, self.device_label.text()), help_menu)

    def _action(self, text, shortcut, slot, menu) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _connect(self) -> None:
        self.sketchpad.reading_failed.connect(lambda why: self.log.add(f"Could not read the drawing: {why}", "error"))
        self.panel.train_requested.connect(self._on_train_requested)
        self.panel.pause_toggled.connect(self._on_pause_toggled)
        self.panel.stop_requested.connect(self._on_stop_requested)
        t = self.trainer
        for name in SIGNAL_NAMES.values():
            getattr(t, name).connect(self._log_event)  # every event in the log, in core.wording's words
        t.acquisition_progressed.connect(self._on_acquisition_progressed)
        t.data_loaded.connect(self._on_data_loaded)
        t.training_started.connect(self._on_training_started)
        t.batch_progressed.connect(self._on_batch_progressed)
        t.epoch_finished.connect(self._on_epoch_finished)
        t.lr_dropped.connect(self._on_lr_dropped)
        t.new_best_saved.connect(self._on_new_best_saved)
        t.saved_model_loaded.connect(self._on_saved_model_loaded)
        t.save_failed.connect(self._on_save_failed)
        t.early_exited.connect(self._on_early_exited)
        t.converged.connect(self._on_converged)
        t.nan_aborted.connect(self._on_nan_aborted)
        t.stopped.connect(self._on_stopped)
        t.failed.connect(self._on_failed)
        t.finished.connect(self._on_finished)
        t.run_recorded.connect(self._on_run_recorded)
        self.runs_view.overlays_changed.connect(self._on_overlays_changed)
        self.runs_view.resume_requested.connect(self.resume_run)
        self.runs_view.open_model_requested.connect(self.load_model_file)
        self.runs_view.run_deleted.connect(self._on_run_deleted)
        self.sketchpad.keep_requested.connect(self.keep_drawing)
        self.keep_actions = keep_actions(self, self.keep_drawing)
        self.personal_view.fit_requested.connect(self.fit_to_handwriting)
        t.finetune_finished.connect(self._on_finetune_finished)
        self.tabs.currentChanged.connect(self._on_tab_changed)

    def _set_panel_state(self, state: PanelState) -> None:
        self.panel.set_state(state)

    def show_shortcuts(self) -> QDialog:
        """Help → Keyboard shortcuts: every action's shortcuts, read from the actions now."""
        dialog = ShortcutsDialog(shortcut_rows(self), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    # -- models for the sketchpad --------------------------------------------------------------
    def _bundled_predictor(self) -> Predictor | None:
        try:
            return Predictor.bundled(device=SKETCHPAD_DEVICE)
        except CheckpointError as exc:
            self.log.add(f"No bundled model: {exc}", "warning")
            return None

    @staticmethod
    def _bundled_file() -> Path | None:
        reference = files("mnistconv.resources") / CHECKPOINT_NAME
        return Path(str(reference)) if reference.is_file() else None

    def set_predictor(self, predictor: Predictor | None, source: Path | None = None) -> None:
        """Read with `predictor` from now on; `source` is the checkpoint file it was read from."""
        self.sketchpad.set_predictor(predictor)
        self.personal_view.set_predictor(predictor)
        self._model_file = source if predictor is not None else None
        self.save_model_action.setEnabled(predictor is not None)
        if predictor is None:
            self.model_label.setText("<b>No model yet</b>: train one, or open an mnist_conv.pt (File → Open model…).")
            self.model_label.setToolTip("")
            return
        # A checkpoint's name is its path: show the file and its folder, the whole path in the tooltip.
        path = Path(predictor.name)
        short = f"{path.parent.name}/{path.name}" if path.suffix == ".pt" else predictor.name
        self.model_label.setText(f"<b>Model:</b> {predictor.describe().replace(predictor.name, short, 1)}")
        self.model_label.setToolTip(predictor.name)

    def load_model_file(self, path: str | Path) -> bool:
        """Switch the sketchpad to the checkpoint at `path`; a bad file keeps the current model."""
        try:
            predictor = Predictor.from_checkpoint(path, device=SKETCHPAD_DEVICE)
        except CheckpointError as exc:
            self.show_message(QMessageBox.Icon.Warning, "Could not open the model", f"{exc}\n\nThe current model stays in use.")
            return False
        self.set_predictor(predictor, Path(path))
        self.log.add(f"Sketchpad model: {predictor.describe()}")
        return True

    def save_model_file(self, path: str | Path) -> bool:
        """Write the sketchpad's current model to `path`: its weights, with what its own checkpoint
        says of it (epoch, accuracy, learning rate, settings). A dialog says why when it cannot be."""
        predictor = self.sketchpad.predictor
        if predictor is None:
            return False
        try:
            if self._model_file is None:
                raise CheckpointError("the sketchpad's model did not come from a checkpoint file")
            saved = checkpoint.load_checkpoint(self._model_file)
            lr = saved.lr if saved.lr is not None else float(saved.hyperparameters.get("lr", 0.0))
            written = checkpoint.save_checkpoint(Path(path), predictor.model, epoch=saved.epoch, accuracy=saved.accuracy,
                                                 lr=lr, hyperparameters=saved.hyperparameters)
        except CheckpointError as exc:
            self.show_message(QMessageBox.Icon.Warning, "Could not save the model", f"{exc}\n\nNothing was saved.")
            return False
        self.log.add(f"Saved the sketchpad's model ({predictor.describe()}) to {written}", "success")
        return True

    def _on_save_model(self) -> None:
        predictor = self.sketchpad.predictor
        if predictor is None:
            return
        folder = Path(self.panel.savepath_edit.text() or default_models_dir()).expanduser()
        bundled = self._model_file is None or predictor.name == BUNDLED_NAME
        stem = "mnist_conv-bundled" if bundled else f"{Path(predictor.name).stem}-copy"
        path, _ = QFileDialog.getSaveFileName(self, "Save model as", str(folder / f"{stem}.pt"),
                                              "mnistconv models (*.pt);;All files (*)")
        if path:
            self.save_model_file(path if path.endswith(CHECKPOINT_SUFFIX) else path + CHECKPOINT_SUFFIX)

    def open_image_file(self, path: str | Path) -> bool:
        """Read the digit in a picture file with the sketchpad (it replaces the drawing); a file that
        is not a readable picture, or shows nothing, gets a dialog and the drawing stays."""
        try:
            picture = canvas_picture(read_grey(str(path)))
        except PictureError as exc:
            self.show_message(QMessageBox.Icon.Warning, "Could not read the image", f"{exc}.\n\nThe drawing stays as it was.")
            return False
        self.sketchpad.canvas.set_picture(picture)
        self.statusBar().showMessage(f"Reading {Path(path).name}; draw over it, or Clear (Esc) to draw afresh", 10_000)
        return True

    def _on_open_image(self) -> None:
        patterns = " ".join(f"*.{suffix}" for suffix in image_suffixes())
        path, _ = QFileDialog.getOpenFileName(self, "Open image", str(Path.home()), f"Images ({patterns});;All files (*)")
        if path:
            self.open_image_file(path)

    def _on_open_model(self) -> None:
        start = str(checkpoint_file(self.panel.savepath_edit.text()))
        path, _ = QFileDialog.getOpenFileName(self, "Open model", start, "mnistconv models (*.pt);;All files (*)")
        if path:
            self.load_model_file(path)

    @staticmethod
    def _dropped(event: QDragEnterEvent | QDropEvent) -> tuple[str, str] | None:
        """("model" or "image", path) for the first dropped file the window takes, or None."""
        for url in event.mimeData().urls():
            path = url.toLocalFile()
            if path.endswith(CHECKPOINT_SUFFIX):
                return "model", path
            if is_image_file(path):
                return "image", path
        return None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._dropped(event) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        dropped = self._dropped(event)
        if dropped is not None:
            event.acceptProposedAction()
            kind, path = dropped
            if kind == "model":
                self.load_model_file(path)
            else:
                self.open_image_file(path)

    # -- messages ------------------------------------------------------------------------------
    def show_message(self, icon: QMessageBox.Icon, title: str, text: str, details: str = "") -> QMessageBox:
        """A window-modal message that does not block the event loop (training signals keep flowing)."""
        box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, self)
        if details:
            box.setDetailedText(details)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _=None, b=box: self.dialogs.remove(b) if b in self.dialogs else None)
        self.dialogs.append(box)
        box.open()
        return box

    # -- training controls ---------------------------------------------------------------------
    def _on_train_requested(self) -> None:
        if self.trainer.is_running():
            return
        try:
            config = self.panel.config()
            if config.savepath != RUN_FOLDER:
                ensure_folder(checkpoint_file(config.savepath).parent)  # a .pt path names the file, not a folder
        except ConfigError as exc:
            self.panel.show_error(str(exc))
            return
        self.panel.show_error(None)
        self.plots.reset()
        self.plots.set_epoch_span(config.epochs)
        self._begin(config.epochs)
        self.trainer.start(config, self.panel.data_dir(), runs_dir=self.runs_dir, preset=self.panel.preset_name())

    def _begin(self, epochs: int) -> None:
        self.confusion.clear()
        self._epochs = epochs
        self._save_failure_shown = False
        self.panel.set_progress(None, "Loading data…")
        self._set_panel_state(PanelState.RUNNING)

    def resume_run(self, run_id: int) -> bool:
        """Continue a recorded run where it stopped (a finished one: for more epochs, asked for)."""
        if self.trainer.is_running():
            return False
        run = self.runs_view.run(run_id)
        if run is None:
            return False
        epochs = None
        planned = int(run.config.get("epochs") or run.epochs_done)
        if run.outcome not in (RUNNING, INTERRUPTED, FinishReason.STOPPED.value) or run.epochs_done >= planned:
            epochs, accepted = QInputDialog.getInt(
                self, f"Train run {run_id} further", f"Run {run_id} has finished ({run.outcome.replace('_', ' ')} after "
                f"{run.epochs_done} epochs). Train it to how many epochs in all?", max(planned, run.epochs_done) + 5,
                run.epochs_done + 1, 1000)
            if not accepted:
                return False
        store = self.runs_view.store()
        if store is not None:
            self.plots.show_run(self._run_curves(store, run))
        self.plots.set_epoch_span(epochs or planned)
        self._begin(epochs or planned)
        self.trainer.resume_run(self.runs_dir, run_id, epochs=epochs)
        return True

    def _run_curves(self, store, run) -> RunCurves:
        curves = store.curves(run.id)
        return RunCurves(
            run_id=run.id, label=f"run {run.id} ({run.preset or run.kind})",
            epochs=np.array([e.epoch for e in curves.epochs], dtype=float),
            accuracy=np.array([e.test_accuracy for e in curves.epochs], dtype=float),
            batch_x=np.asarray(curves.batch_x, dtype=float), loss=np.asarray(curves.batch_loss, dtype=float),
            lr=np.asarray(curves.batch_lr, dtype=float), events=tuple(curves.events),
        )

    def _on_overlays_changed(self, run_ids: list[int]) -> None:
        store = self.runs_view.store()
        runs = [self.runs_view.run(run_id) for run_id in run_ids]
        self.plots.set_overlays([] if store is None else [self._run_curves(store, run) for run in runs if run is not None])

    def _on_tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.runs_view:
            self.runs_view.refresh()
        elif self.tabs.widget(index) is self.personal_view:
            self.personal_view.refresh()

    # -- your handwriting ------------------------------------------------------------------------
    def keep_drawing(self, label: int) -> bool:
        """Keep what is drawn in your digits as `label`, then clear the canvas for the next one."""
        canvas = self.sketchpad.canvas
        if canvas.is_empty():
            self.statusBar().showMessage(f"Draw a {label} first, then keep it", 5000)
            return False
        try:
            kept = self.personal.add(canvas.ink(), label, canvas.strokes())
        except PersonalError as exc:
            self.show_message(QMessageBox.Icon.Warning, "Could not keep the drawing", str(exc))
            return False
        count = self.personal.list().counts()[label]
        self.statusBar().showMessage(f"Kept as {with_article(str(label))} in your digits ({count} of them; {kept.path.name})",
                                     5000)
        canvas.clear()
        if self.tabs.currentWidget() is self.personal_view:
            self.personal_view.refresh()
        return True

    def fit_to_handwriting(self) -> bool:
        """Fine-tune the sketchpad's model (or the bundled one) on your digits, in the background."""
        if self.trainer.is_running():
            return False
        predictor = self.sketchpad.predictor
        bundled = predictor is None or predictor.name == BUNDLED_NAME
        base = None if bundled or self._model_file is None or not self._model_file.is_file() else self._model_file
        self.plots.reset()
        self._begin(1)
        self.panel.set_progress(None, "Fitting to your handwriting…")
        self.trainer.fine_tune(self.personal.root, self.panel.data_dir(), base=base, runs_dir=self.runs_dir,
                               settings=self.finetune_settings)
        return True

    def _on_finetune_finished(self, event: events.FinetuneFinished) -> None:
        text = "\n".join(line.text.strip() for line in finetune_lines(event))
        icon = QMessageBox.Icon.Information if event.accepted else QMessageBox.Icon.Warning
        self.show_message(icon, "Fitted to your handwriting" if event.accepted else "The fitted model was not kept", text)
        self.personal_view.refresh()

    def _on_run_recorded(self, event: events.RunRecorded) -> None:
        self.runs_view.training_run = event.run_id
        self.runs_view.refresh()

    def _on_run_deleted(self, run_id: int) -> None:
        self.log.add(f"Deleted run {run_id}")
        if self._model_file is not None and not self._model_file.exists():
            # The sketchpad keeps reading with its copy of the weights; the label says the file is gone.
            self.model_label.setText(self.model_label.text() + " <i>(its run was deleted)</i>")

    def _on_export_plots(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(self, "Export plots", "mnistconv-plots.png",
                                                   "PNG image (*.png);;SVG drawing (*.svg)")
        if not path:
            return
        if not Path(path).suffix:
            path += ".svg" if "svg" in chosen.lower() else ".png"
        try:
            self.plots.export(path)
        except OSError as exc:
            self.show_message(QMessageBox.Icon.Warning, "Could not export the plots", f"{path}: {exc.strerror or exc}")
            return
        self.statusBar().showMessage(f"Plots written to {path}", 5000)

    def _on_pause_toggled(self) -> None:
        if not self.trainer.is_running():
            return
        if self.trainer.is_paused():
            self.trainer.resume()
            self._set_panel_state(PanelState.RUNNING)
            self.log.add("Resumed")
        else:
            self.trainer.pause()
            self._set_panel_state(PanelState.PAUSED)
            self.log.add("Paused (between batches)")

    def _on_stop_requested(self) -> None:
        if self.trainer.is_running():
            self.trainer.stop()
            self._set_panel_state(PanelState.STOPPING)
            self.log.add("Stopping after the current batch…")

    # -- training events -----------------------------------------------------------------------
    def _log_event(self, event: events.TrainingEvent) -> None:
        for line in log_lines(event):
            self.log.add(line.text, line.level.value)

    def _on_acquisition_progressed(self, step: events.AcquireProgress) -> None:
        self.panel.set_progress(step.fraction, step.message)
        self.statusBar().showMessage(step.message, 3000)

    def _on_data_loaded(self, event: events.DataLoaded) -> None:
        self.confusion.set_test_set(event.test_images, event.test_labels)

    def _on_training_started(self, event: events.TrainingStarted) -> None:
        self.device_label.setText(event.device)
        self._batches = event.batches_per_epoch
        drawn = self.panel.seed_spin.value() == NO_SEED
        self.seed_label.setText(f"Seed {event.seed}" + (" (drawn at random)" if drawn else ""))
        self.seed_label.setToolTip(f"Enter {event.seed} in the Seed field to repeat this run")

    def _on_batch_progressed(self, p: events.BatchProgress) -> None:
        self.plots.add_batch(p.epoch, p.batch, p.batches, p.loss, p.lr)
        remaining = (p.batches - p.batch) * p.seconds / max(p.batch, 1)
        self.panel.set_progress(
            p.batch / p.batches,
            f"Epoch {p.epoch}/{self._epochs} · %p%",
            f"Batch {p.batch}/{p.batches} · {p.images_per_s:,.0f} images/s · {remaining:.0f} s left in this epoch",
        )

    def _on_epoch_finished(self, e: events.EpochFinished) -> None:
        self.plots.add_epoch(e.epoch, e.test_accuracy)
        self.confusion.set_results(e.epoch, e.confusion, e.predictions, e.confidences)

    def _on_lr_dropped(self, e: events.LrDropped) -> None:
        self.plots.mark_event(MarkerKind.LR_DROP, e.epoch, f"lr {e.new_lr:g}")

    def _on_new_best_saved(self, e: events.NewBestSaved) -> None:
        self.plots.mark_event(MarkerKind.NEW_BEST, e.epoch)
        self.confusion.set_best_epoch(e.epoch)

    def _on_saved_model_loaded(self, event: events.SavedModelLoaded) -> None:
        # A fresh copy of the weights from the file just saved (the session loaded it off this
        # thread): never the model being trained.
        self.set_predictor(event.predictor, event.path)

    def _on_save_failed(self, e: events.SaveFailed) -> None:
        if self._save_failure_shown:
            self.statusBar().showMessage(f"Could not save the model again (epoch {e.epoch}); see the log", 10_000)
            return
        self._save_failure_shown = True
        self.show_message(QMessageBox.Icon.Warning, "Could not save the model",
                          f"{e.message}\n\nTraining goes on; the previous saved model is untouched.")

    def _on_early_exited(self, e: events.EarlyExit) -> None:
        self.plots.mark_event(MarkerKind.EARLY_EXIT, e.epoch)

    def _on_converged(self, e: events.Converged) -> None:
        self.plots.mark_event(MarkerKind.CONVERGED, e.epoch)

    def _on_nan_aborted(self, e: events.NanAbort) -> None:
        self.plots.mark_event(MarkerKind.NAN_ABORT, e.epoch)
        self.show_message(QMessageBox.Icon.Warning, "Training aborted",
                          f"The model's parameters became NaN in epoch {e.epoch} (is the learning rate too high?). "
                          "The last good model stays saved.")

    def _on_stopped(self, e: events.Stopped) -> None:
        if e.epoch:
            self.plots.mark_event(MarkerKind.STOPPED, e.epoch - 1 + e.batch / max(self._batches, 1))

    def _on_failed(self, e: events.TrainingFailed) -> None:
        self.show_message(QMessageBox.Icon.Critical, "Training failed", e.message, e.details)

    def _on_finished(self, f: events.Finished) -> None:
        allocator.release_freed_memory()  # the run's activation memory goes back to the system
        self._set_panel_state(PanelState.IDLE)
        self.runs_view.training_run = None
        self.runs_view.refresh()
        words = finish_summary(f)
        self.panel.set_progress(0.0 if f.reason is FinishReason.FAILED else 1.0, words)
        self.statusBar().showMessage(words, 10_000)

    # -- persistence and closing ---------------------------------------------------------------
    def _restore_geometry(self) -> list[str]:
        problems: list[str] = []
        geometry = read(self.settings, Field("window/geometry", saved_state), problems)
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(self.default_size())
        splitter = read(self.settings, Field("window/splitter", saved_state), problems)
        if splitter is None or not self.splitter.restoreState(splitter):
            # The form takes a fifth of a wide window (long folder paths show whole), its least on a small one.
            least = self.splitter.widget(0).minimumSizeHint().width()
            left = max(least, min(self.width() // 5, 400))
            right = min(SKETCHPAD_MAX_WIDTH, max(SKETCHPAD_MIN_WIDTH, (self.width() - left) // 3))
            self.splitter.setSizes([left, self.width() - left - right, right])
        return problems

    def default_size(self) -> QSize:
        """The first size: most of the screen (up to MAX_DEFAULT_SIZE), room left for the frame and a
        taskbar on a small one; never under the window's minimum."""
        available = self.screen().availableGeometry()
        minimum = self.minimumSizeHint()
        width = min(round(0.9 * available.width()), available.width() - 40, MAX_DEFAULT_SIZE.width())
        height = min(round(0.9 * available.height()), available.height() - 50, MAX_DEFAULT_SIZE.height())
        return QSize(max(width, minimum.width()), max(height, minimum.height()))

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.trainer.is_running():
            # Stop between batches and wait: saves are atomic, so no half-written checkpoint remains.
            self.statusBar().showMessage("Stopping training…")
            self.trainer.stop_and_wait()
        for box in list(self.dialogs):
            box.close()
        self.panel.save_settings(self.settings)
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        self.settings.sync()
        self.runs_view.close_store()
        super().closeEvent(event)
