"""The main window: the training panel and log, live plots and confusion matrix, and the sketchpad."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from mnistconv.core import allocator, events
from mnistconv.core.device import describe_device, resolve_device
from mnistconv.core.errors import CheckpointError, ConfigError
from mnistconv.core.events import FinishReason
from mnistconv.core.paths import APP_NAME, checkpoint_file, default_models_dir, ensure_folder, resolve_data_dir
from mnistconv.core.predict import Predictor
from mnistconv.core.qt_trainer import SIGNAL_NAMES, QtTrainer
from mnistconv.core.sketchpad_device import SketchpadDevices
from mnistconv.core.wording import finish_summary, log_lines

from .about import show_about
from .confusion import ConfusionMatrixView
from .event_log import EventLog
from .plots import MarkerKind, TrainingPlots
from .sketchpad import Sketchpad
from .sketchpad_device_menu import SketchpadDeviceMenu, stored_setting
from .training_panel import PanelState, TrainingPanel

# Models are read from their files on the CPU; the sketchpad's device setting (File → Sketchpad
# device) then places them (core.sketchpad_device).
MODEL_LOAD_DEVICE = "cpu"


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, predictor: Predictor | None = None):
        super().__init__()
        self.settings = settings if settings is not None else QSettings(APP_NAME, APP_NAME)  # ~/.config/mnistconv/mnistconv.conf
        self.setWindowTitle("mnistconv")
        self.setAcceptDrops(True)
        self.trainer = QtTrainer(self, saved_model_device=MODEL_LOAD_DEVICE)
        self.dialogs: list[QMessageBox] = []
        self._batches = 0
        self._epochs = 0
        self._save_failure_shown = False  # one dialog per run: a read-only folder fails every epoch
        self._menu_actions: dict[QWidget, QAction] = {}
        self._model: Predictor | None = None  # the sketchpad's model, on the CPU
        self.sketchpad_devices = SketchpadDevices(stored_setting(self.settings))

        self.panel = TrainingPanel(default_models_dir(), resolve_data_dir())
        self.log = EventLog()
        self.plots = TrainingPlots()
        self.confusion = ConfusionMatrixView()
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
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.addWidget(self.model_label)
        right_layout.addWidget(self.sketchpad, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        for widget in (left, self.tabs, right):
            self.splitter.addWidget(widget)
        self.splitter.setStretchFactor(1, 1)
        self.setCentralWidget(self.splitter)

        self.device_label = QLabel(describe_device(resolve_device("auto")))
        self.statusBar().addPermanentWidget(self.device_label)
        self._build_menus()
        self._connect()

        self.panel.load_settings(self.settings)
        self._restore_geometry()
        self.set_predictor(predictor if predictor is not None else self._bundled_predictor())

    # -- construction --------------------------------------------------------------------------
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.open_action = self._action("&Open model…", QKeySequence.StandardKey.Open, self._on_open_model, file_menu)
        self.open_action.setToolTip("Load an mnist_conv.pt for the sketchpad (or drop one on the window)")
        self.device_menu = SketchpadDeviceMenu(self.sketchpad_devices, self.settings, self)
        self.sketchpad_devices.on_fallback = self.device_menu.fallback_reported.emit  # from any thread
        self.device_menu.fallback_reported.connect(self._on_sketchpad_fallback)
        self.device_menu.device_chosen.connect(self._on_sketchpad_device_chosen)
        file_menu.addMenu(self.device_menu)
        file_menu.addSeparator()
        self._action("&Quit", QKeySequence.StandardKey.Quit, self.close, file_menu)
        train_menu = self.menuBar().addMenu("&Training")
        for button in (self.panel.train_button, self.panel.pause_button, self.panel.stop_button):
            # The buttons own the shortcuts; the menu shows them and follows their enabled state.
            action = QAction(button.text(), self)
            action.setShortcut(button.shortcut())
            action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            action.triggered.connect(button.click)
            train_menu.addAction(action)
            self._menu_actions[button] = action
        help_menu = self.menuBar().addMenu("&Help")
        self._action("&About mnistconv", None, lambda: show_about(self, self.device_label.text()), help_menu)

    def _action(self, text, shortcut, slot, menu) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _connect(self) -> None:
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

    def _set_panel_state(self, state: PanelState) -> None:
        self.panel.set_state(state)
        for button, action in self._menu_actions.items():
            action.setEnabled(button.isEnabled())
            action.setText(button.text())

    # -- models for the sketchpad --------------------------------------------------------------
    def _bundled_predictor(self) -> Predictor | None:
        try:
            return Predictor.bundled(device=MODEL_LOAD_DEVICE)
        except CheckpointError as exc:
            self.log.add(f"No bundled model: {exc}", "warning")
            return None

    def set_predictor(self, predictor: Predictor | None) -> None:
        """Read the sketchpad with `predictor`'s weights, on the device the sketchpad's setting chooses."""
        self._model = predictor
        self.sketchpad.set_predictor(self.sketchpad_devices.place(predictor))
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
            predictor = Predictor.from_checkpoint(path, device=MODEL_LOAD_DEVICE)
        except CheckpointError as exc:
            self.show_message(QMessageBox.Icon.Warning, "Could not open the model", f"{exc}\n\nThe current model stays in use.")
            return False
        self.set_predictor(predictor)
        self.log.add(f"Sketchpad model: {predictor.describe()}")
        return True

    def _on_sketchpad_device_chosen(self, _) -> None:
        self.set_predictor(self._model)  # placed anew

    def _on_sketchpad_fallback(self, line: str) -> None:
        self.log.add(line, "warning")

    def _on_open_model(self) -> None:
        start = str(checkpoint_file(self.panel.savepath_edit.text()))
        path, _ = QFileDialog.getOpenFileName(self, "Open model", start, "mnistconv models (*.pt);;All files (*)")
        if path:
            self.load_model_file(path)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(url.toLocalFile().endswith(".pt") for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.toLocalFile().endswith(".pt")]
        if paths:
            event.acceptProposedAction()
            self.load_model_file(paths[0])

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
            ensure_folder(config.savepath)
        except ConfigError as exc:
            self.panel.show_error(str(exc))
            return
        self.panel.show_error(None)
        self.plots.reset()
        self.plots.set_epoch_span(config.epochs)
        self.confusion.clear()
        self._epochs = config.epochs
        self._save_failure_shown = False
        self.panel.set_progress(None, "Loading data…")
        self._set_panel_state(PanelState.RUNNING)
        self.trainer.start(config, self.panel.data_dir())

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

    def _on_batch_progressed(self, p: events.BatchProgress) -> None:
        self.plots.add_batch(p.epoch, p.batch, p.batches, p.loss)
        remaining = (p.batches - p.batch) * p.seconds / max(p.batch, 1)
        self.panel.set_progress(
            p.batch / p.batches,
            f"Epoch {p.epoch}/{self._epochs} · %p%",
            f"Batch {p.batch}/{p.batches} · {p.images_per_s:,.0f} images/s · {remaining:.0f} s left in this epoch",
        )

    def _on_epoch_finished(self, e: events.EpochFinished) -> None:
        self.plots.add_epoch(e.epoch, e.test_accuracy, e.lr)
        self.confusion.set_results(e.epoch, e.confusion, e.predictions)

    def _on_lr_dropped(self, e: events.LrDropped) -> None:
        self.plots.mark_event(MarkerKind.LR_DROP, e.epoch, f"lr {e.new_lr:g}")

    def _on_new_best_saved(self, e: events.NewBestSaved) -> None:
        self.plots.mark_event(MarkerKind.NEW_BEST, e.epoch)

    def _on_saved_model_loaded(self, event: events.SavedModelLoaded) -> None:
        # A fresh copy of the weights from the file just saved (the session loaded it off this
        # thread): never the model being trained.
        self.set_predictor(event.predictor)

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
        words = finish_summary(f)
        self.panel.set_progress(0.0 if f.reason is FinishReason.FAILED else 1.0, words)
        self.statusBar().showMessage(words, 10_000)

    # -- persistence and closing ---------------------------------------------------------------
    def _restore_geometry(self) -> None:
        geometry = self.settings.value("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1400, 820)
        splitter = self.settings.value("window/splitter")
        if splitter is not None:
            self.splitter.restoreState(splitter)

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
        super().closeEvent(event)
