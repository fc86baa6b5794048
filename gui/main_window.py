"""The main window: the training panel and log, live plots and confusion matrix, and the sketchpad.

The window lays out its parts, builds the menus and keeps its geometry between sessions; each job
is a small controller of its own: training (training_controller), what a run produces
(run_results), the recorded runs beside the live one (runs_controller), the sketchpad's model and
files (sketchpad_model), kept drawings (kept_drawings) and pictures of the views (exports).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, QSize, Qt
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QDialog, QDockWidget, QLabel, QMainWindow, QSplitter, QTabWidget, QVBoxLayout, QWidget

from mnistconv.core.device import describe_device, resolve_device
from mnistconv.core.finetune import FinetuneSettings
from mnistconv.core.paths import APP_NAME, resolve_data_dir
from mnistconv.core.personal import PersonalDigits
from mnistconv.core.predict import Predictor
from mnistconv.core.qt_trainer import QtTrainer
from mnistconv.core.runstore import resolve_runs_dir
from mnistconv.core.sketchpad_device import SketchpadDevices

from . import file_places
from .about import show_about
from .confusion import ConfusionMatrixView
from .event_log import EventLog
from .exports import Exports
from .kept_drawings import KeptDrawings
from .messages import Messages
from .network_view import NetworkView
from .personal_view import PersonalView
from .plots import TrainingPlots
from .run_results import RunResults
from .runs_controller import RunsController
from .runs_view import RunsView
from .settings_reader import Field, flag, read, saved_state, text
from .shortcuts import ShortcutsDialog, shortcut_rows
from .sketchpad import Sketchpad
from .sketchpad_device_menu import SketchpadDeviceMenu, stored_setting
from .sketchpad_model import MODEL_LOAD_DEVICE, SketchpadModel
from .status_bar import ElidingStatusBar
from .training_controller import TrainingController
from .training_panel import TrainingPanel

SKETCHPAD_MIN_WIDTH = 300
SKETCHPAD_MAX_WIDTH = 560
NETWORK_TAB = "Network"
NETWORK_TIP = "Inside the network as it reads the sketchpad's drawing"
MAX_DEFAULT_SIZE = QSize(1800, 1100)  # the first size on a screen that has room for more


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, predictor: Predictor | None = None):
        super().__init__()
        self.settings = settings if settings is not None else QSettings(APP_NAME, APP_NAME)  # ~/.config/mnistconv/mnistconv.conf
        self.setWindowTitle("mnistconv")
        self.setAcceptDrops(True)
        self.trainer = QtTrainer(self, saved_model_device=MODEL_LOAD_DEVICE)
        self.messages = Messages(self)
        settings_problems: list[str] = []  # said in the log once it exists
        self.sketchpad_devices = SketchpadDevices(stored_setting(self.settings, settings_problems))

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
        self.network = NetworkView()
        self.network.watch(self.sketchpad)
        self.sketchpad_model = SketchpadModel(self)
        self._lay_out()

        self.setStatusBar(ElidingStatusBar())
        self.device_label = QLabel(describe_device(resolve_device("auto")))
        self.seed_label = QLabel()  # the last run's seed, given or drawn: enter it in Seed to repeat the run
        self.statusBar().addPermanentWidget(self.seed_label)
        self.statusBar().addPermanentWidget(self.device_label)
        self.results = RunResults(self)  # first: the log says what happened before anything reacts to it
        self.training = TrainingController(self)
        self.runs = RunsController(self)
        self.exports = Exports(self)
        self.kept = KeptDrawings(self)
        self._build_menus()
        self.sketchpad.reading_failed.connect(lambda why: self.log.add(f"Could not read the drawing: {why}", "error"))
        self.confusion.open_in_sketchpad_requested.connect(self.sketchpad_model.open_test_digit)
        self.personal_view.fit_requested.connect(self.training.fit_to_handwriting)
        self.tabs.currentChanged.connect(self._on_tab_changed)

        problems = settings_problems + self.panel.load_settings(self.settings)
        problems += self.plots.load_settings(self.settings)
        problems += self._restore_geometry()
        file_places.restore(read(self.settings, Field(file_places.SETTINGS_KEY, text), problems))
        for line in problems:
            self.log.add(line, "warning")
        if predictor is None:
            self.sketchpad_model.restore()
        else:
            self.sketchpad_model.set_predictor(predictor, Path(predictor.name) if str(predictor.name).endswith(".pt") else None)

    # -- construction --------------------------------------------------------------------------
    def _lay_out(self) -> None:
        """The panel and log on the left, the tabs in the middle, the sketchpad on the right."""
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.panel)
        left.addWidget(self.log)
        left.setStretchFactor(1, 1)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.plots, "Live plots")
        self.tabs.addTab(self.confusion, "Confusion matrix")
        self.tabs.addTab(self.runs_view, "Runs")
        self.tabs.addTab(self.network, NETWORK_TAB)
        self.tabs.setTabToolTip(self.tabs.indexOf(self.network), NETWORK_TIP)
        # The network view is a tab by default; View → Network view in a dock moves it beside the window.
        self.network_dock = QDockWidget(NETWORK_TAB, self)
        self.network_dock.setObjectName("network_dock")  # saveState/restoreState find it by name
        self.network_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                                      | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.network_dock)
        self.network_dock.hide()
        self.tabs.addTab(self.personal_view, "My digits")
        right = QWidget()
        right.setMinimumWidth(SKETCHPAD_MIN_WIDTH)
        right.setMaximumWidth(SKETCHPAD_MAX_WIDTH)  # past that, a larger canvas helps less than wider plots
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(6, 6, 6, 6)
        right_layout.addWidget(self.sketchpad_model.label)
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

    def _build_menus(self) -> None:
        model, exports = self.sketchpad_model, self.exports
        file_menu = self.menuBar().addMenu("&File")
        self.open_action = self._action("&Open model…", QKeySequence.StandardKey.Open, model.ask_to_open_model, file_menu)
        self.open_action.setToolTip("Load an mnist_conv.pt for the sketchpad (or drop one on the window)")
        self.open_image_action = self._action("Open &image…", QKeySequence("Ctrl+Shift+O"), model.ask_to_open_image, file_menu)
        self.open_image_action.setToolTip("Read a picture of a digit with the sketchpad's model (or drop one on the window)")
        self.save_model_action = self._action("&Save model as…", QKeySequence("Ctrl+Shift+S"), model.ask_to_save_model,
                                              file_menu)
        self.save_model_action.setToolTip("Write the sketchpad's current model to a file of your choice")
        self.export_plots_action = self._action("&Export plots…", QKeySequence("Ctrl+E"), exports.ask_to_export_plots,
                                                file_menu)
        self.export_plots_action.setToolTip("Write the three plots, overlays included, as PNG or SVG")
        self.export_action = self._action("Export the &view shown as PNG…", QKeySequence("Ctrl+Shift+E"),
                                          exports.ask_to_export_view, file_menu)
        self.export_action.setToolTip("Save the tab shown (plots, confusion matrix, runs, or a page of the network view) as PNG")
        self.device_menu = SketchpadDeviceMenu(self.sketchpad_devices, self.settings, self)
        self.sketchpad_devices.on_fallback = self.device_menu.fallback_reported.emit  # from any thread
        self.device_menu.fallback_reported.connect(lambda line: self.log.add(line, "warning"))
        self.device_menu.device_chosen.connect(lambda _: model.place_again())
        file_menu.addMenu(self.device_menu)
        file_menu.addSeparator()
        self._action("&Quit", QKeySequence("Ctrl+Q"), self.close, file_menu)
        self.training_menu = self.menuBar().addMenu("&Training")
        # The panel's actions: they own the shortcuts, and the panel's state enables them.
        self.training_menu.addActions(self.panel.actions_for_menu())
        sketch_menu = self.menuBar().addMenu("&Sketchpad")
        sketch_menu.addActions([self.sketchpad.canvas.clear_action, self.sketchpad.canvas.undo_action])
        view_menu = self.menuBar().addMenu("&View")
        self.network_dock_action = QAction("&Network view in a dock", self)
        self.network_dock_action.setCheckable(True)
        self.network_dock_action.setToolTip("Show the network view beside the window (movable, or floating) instead of as a tab")
        self.network_dock_action.toggled.connect(self.set_network_docked)
        view_menu.addAction(self.network_dock_action)
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

    def show_shortcuts(self) -> QDialog:
        """Help → Keyboard shortcuts: every action's shortcuts, read from the actions now."""
        dialog = ShortcutsDialog(shortcut_rows(self), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def _on_tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.runs_view:
            self.runs_view.refresh()
        elif self.tabs.widget(index) is self.personal_view:
            self.personal_view.refresh()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self.sketchpad_model.droppable(event.mimeData().urls()) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        if self.sketchpad_model.open_dropped(event.mimeData().urls()):
            event.acceptProposedAction()

    # -- the network view: a tab or a dock ---------------------------------------------------------
    def set_network_docked(self, docked: bool) -> None:
        """Show the network view in a dock beside the window (True) or as a tab beside the plots (False)."""
        if docked == (self.network_dock.widget() is self.network):
            return
        if docked:
            self.tabs.removeTab(self.tabs.indexOf(self.network))
            self.network_dock.setWidget(self.network)
            self.network_dock.show()
        else:
            self.network_dock.hide()
            self.network_dock.setWidget(QWidget())  # the dock lets go of the view
            self.tabs.insertTab(self.tabs.indexOf(self.runs_view) + 1, self.network, NETWORK_TAB)  # where it was
            self.tabs.setTabToolTip(self.tabs.indexOf(self.network), NETWORK_TIP)
            self.tabs.setCurrentWidget(self.network)
        self.network.show()
        if self.network_dock_action.isChecked() != docked:
            self.network_dock_action.setChecked(docked)

    # -- persistence and closing ---------------------------------------------------------------
    def _restore_geometry(self) -> list[str]:
        problems: list[str] = []
        geometry = read(self.settings, Field("window/geometry", saved_state), problems)
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(self.default_size())
        docked = read(self.settings, Field("window/network_docked", flag), problems)
        self.network_dock_action.setChecked(bool(docked))
        state = read(self.settings, Field("window/state", saved_state), problems)
        if state is not None:
            self.restoreState(state)  # where the network view's dock was
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
        self.messages.close_all()
        self.panel.save_settings(self.settings)
        self.plots.save_settings(self.settings)
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        self.settings.setValue("window/network_docked", self.network_dock_action.isChecked())
        self.settings.setValue("window/state", self.saveState())
        self.settings.setValue(file_places.SETTINGS_KEY, file_places.start_in())
        self.settings.sync()
        self.runs_view.close_store()
        super().closeEvent(event)
