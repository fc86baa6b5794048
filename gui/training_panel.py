"""The training form: the network's shape and the seed's hyper-parameters as fields, folders, and
Train / Pause / Stop."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QAction, QColor, QDoubleValidator, QFontMetrics, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mnistconv.core.config import RULES, TrainConfig, parse_setting, validate_config
from mnistconv.core.device import cuda_available
from mnistconv.core.errors import ConfigError
from mnistconv.core.paths import APP_NAME, user_data_dir
from mnistconv.core.presets import PRESETS, preset_config
from mnistconv.core.seed_groups import MAX_GROUP
from mnistconv.core.session import RUN_FOLDER
from mnistconv.core.shape import KERNELS, MAX_HIDDEN, SEED_SHAPE, NetworkShape, check_shape, count_text, parse_channels
from mnistconv.core.wording import STOPPING

from .elided_label import ElidedLabel
from .settings_reader import Field, one_of, read, setting, shape_part, text
from .steady_label import SteadyLabel

NO_SEED = -1  # the seed field's "random" value
LR_TIP = "Adam learning rate (the seed: 3e-3); while a run trains, type a new one and press Set"
LR_STEER_TIP = "Type a rate and press Set (or Enter): the run trains at it from the next batch"
LR_ONECYCLE_TIP = "The one-cycle schedule sets the rate itself every batch; it cannot be changed while it trains"
ERROR_COLOUR = QColor("#d0342c")
SEED_NETWORK_TIP = (f"Set the seed's network: blocks of {SEED_SHAPE.channels_text()} channels, "
                    f"{SEED_SHAPE.kernel}×{SEED_SHAPE.kernel}, no hidden layer ({count_text(SEED_SHAPE.parameters)} parameters)")


def flops_text(flops: int) -> str:
    """2940000 → '2.94 MFLOPs'; 72100 → '72.1 kFLOPs' (the shapes here cost 0.07 to 60 million)."""
    return f"{flops / 1e6:.3g} MFLOPs" if flops >= 1_000_000 else f"{flops / 1e3:.3g} kFLOPs"


def cost_text(shape: NetworkShape) -> str:
    """'16,938 parameters · 2.94 MFLOPs per image'."""
    return f"{count_text(shape.parameters)} parameters · {flops_text(shape.flops)} per image"


def shortcut_text(action: QAction) -> str:
    """An action's shortcuts as the platform writes them: 'Esc or Del'."""
    return " or ".join(keys.toString(QKeySequence.SequenceFormat.NativeText) for keys in action.shortcuts())


def former_default_savepaths() -> set[str]:
    """The save folder's defaults before runs had folders of their own (one model, overwritten by each run)."""
    return {str(user_data_dir() / APP_NAME / "models"), str(user_data_dir() / "models")}


def _row(*parts: tuple[QWidget, int]) -> QWidget:
    """Widgets side by side in one form row, each with its stretch."""
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    for widget, stretch in parts:
        layout.addWidget(widget, stretch)
    return row


class PanelState(str, Enum):
    IDLE = "idle"  # fields editable, Train enabled
    RUNNING = "running"  # fields locked, Pause and Stop enabled
    PAUSED = "paused"  # as running, Pause reads Resume
    STOPPING = "stopping"  # a stop was asked for: nothing to press until the run ends


class TrainingPanel(QWidget):
    train_requested = Signal()
    pause_toggled = Signal()
    stop_requested = Signal()
    lr_set_requested = Signal(str)  # the rate as typed, to train at from the next batch of the running run

    def __init__(self, default_data_dir: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self._default_data_dir = Path(default_data_dir)
        self._browse_buttons: list[QToolButton] = []
        defaults = TrainConfig()

        self.preset_combo = QComboBox()
        for preset in PRESETS.values():
            self.preset_combo.addItem(preset.title, preset.name)
        self.preset_summary = QLabel()
        self.preset_summary.setWordWrap(True)
        self.preset_summary.setStyleSheet("color: palette(placeholder-text)")

        # The network's shape: the channels typed as the command line takes them ("16,32,32").
        self.channels_edit = QLineEdit(SEED_SHAPE.channels_text())
        self.channels_edit.setPlaceholderText(SEED_SHAPE.channels_text())
        self.channels_edit.setToolTip("Channels of each convolution block, 1 to 4 blocks of 4 to 64, like 8,16 or 16,32,32 "
                                      "(the seed's); each block halves the maps")
        self.kernel_combo = QComboBox()
        for kernel in KERNELS:
            self.kernel_combo.addItem(f"{kernel}×{kernel}", kernel)
        self.kernel_combo.setToolTip("The convolutions' kernel (the seed's: 3×3)")
        self.hidden_spin = QSpinBox(minimum=0, maximum=MAX_HIDDEN, singleStep=16, value=SEED_SHAPE.hidden)
        self.hidden_spin.setSpecialValueText("none")
        self.hidden_spin.setToolTip(f"Units of a hidden dense layer before the 10 outputs, up to {MAX_HIDDEN} "
                                    "(the seed has none: its last maps go straight to the outputs)")
        self.seed_network_button = QToolButton()
        self.seed_network_button.setText("Seed network")
        self.seed_network_button.setToolTip(SEED_NETWORK_TIP)
        self.seed_network_button.clicked.connect(lambda: self.set_network_shape(SEED_SHAPE))
        # What the shape costs, or why it cannot be built, updated as it is typed.
        # One line: a reason too long for it ends in "…" (whole in the tooltip, and said whole by Train).
        self.shape_summary = ElidedLabel()

        self.lr_edit = QLineEdit(f"{defaults.lr:g}")
        validator = QDoubleValidator(1e-9, 10.0, 12, self)
        validator.setNotation(QDoubleValidator.Notation.ScientificNotation)
        self.lr_edit.setValidator(validator)
        self.lr_edit.setToolTip(LR_TIP)
        self.lr_edit.returnPressed.connect(self._on_lr_entered)
        # While a run trains, the rate can be changed: typed, then Set (or Enter).
        self.lr_set_button = QToolButton()
        self.lr_set_button.setText("Set")
        self.lr_set_button.setToolTip("Train at this rate from the next batch on (the change is marked on the plots "
                                      "and recorded with the run)")
        self.lr_set_button.clicked.connect(self._on_lr_entered)
        self._steerable = True  # whether the running run takes a new rate (one-cycle sets its own)
        self.epochs_spin = QSpinBox(minimum=1, maximum=RULES["epochs"].highest, value=defaults.epochs)
        self.batch_spin = QSpinBox(minimum=1, maximum=RULES["batch_size"].highest, value=defaults.batch_size)
        self.batch_spin.setToolTip("Batch size: training images per step")
        self.noise_spin = QDoubleSpinBox(minimum=0.0, maximum=RULES["noise_std"].highest, singleStep=0.05, decimals=3,
                                         value=defaults.noise_std)
        self.noise_spin.setToolTip("Standard deviation of the gaussian noise added to each training batch")
        self.seed_spin = QSpinBox(minimum=NO_SEED, maximum=2**31 - 1, value=NO_SEED)
        self.seed_spin.setSpecialValueText("random")
        self.seed_spin.setToolTip("A fixed seed makes a run repeatable")
        self.device_combo = QComboBox()
        found = "CUDA" if cuda_available() else "CPU"
        self.device_combo.addItem(f"Auto ({found})", "auto")
        self.device_combo.addItem("CPU", "cpu")
        self.device_combo.addItem("CUDA" if cuda_available() else "CUDA (not found)", "cuda")
        if not cuda_available():
            self.device_combo.model().item(2).setEnabled(False)
        self.seeds_spin = QSpinBox(minimum=1, maximum=MAX_GROUP, value=1)
        self.seeds_spin.setPrefix("×")
        self.seeds_spin.setToolTip("Train this many runs of these settings one after another, with seeds counted from the "
                                   "Seed field (or drawn at random): a seed group, shown in the Runs tab as mean ± σ")
        self.savepath_edit, save_row = self._folder_row(None, "Folder for mnist_conv.pt (empty: each run's "
                                                        "own folder in the run store, never overwritten by another run)")
        self.savepath_edit.setPlaceholderText("each run's own folder")
        self.data_dir_edit, data_row = self._folder_row(self._default_data_dir,
                                                        "Folder of the MNIST files (fetched there when missing)")

        form = QFormLayout()
        form.addRow("Preset", self.preset_combo)
        form.addRow(self.preset_summary)
        form.addRow("Channels", _row((self.channels_edit, 1), (self.seed_network_button, 0)))
        form.addRow("Kernel", self._pair(self.kernel_combo, "Hidden", self.hidden_spin))
        form.addRow(self.shape_summary)
        form.addRow("Learning rate", _row((self.lr_edit, 1), (self.lr_set_button, 0)))
        # Two short fields to a row: the log below keeps its lines on a small screen.
        form.addRow("Epochs", self._pair(self.epochs_spin, "Batch", self.batch_spin))
        form.addRow("Noise std", self._pair(self.noise_spin, "Seed", self.seed_spin))
        form.addRow("Device", self._device_row())
        form.addRow("Save folder", save_row)
        form.addRow("Data folder", data_row)
        # Train, Pause/Resume and Stop are actions: they own the shortcuts (anywhere in the window, one
        # binding per key), the Training menu shows them, and the buttons below follow them.
        self.train_action = self._control_action("Train", "Ctrl+Return", "Start training with these settings",
                                                 self.train_requested)
        self.pause_action = self._control_action("Pause", "Ctrl+P", "Pause or resume between batches", self.pause_toggled)
        self.stop_action = self._control_action("Stop", "Ctrl+.", "Stop after the current batch; the best model stays saved",
                                                self.stop_requested)
        self.train_button = self._control_button(self.train_action)
        self.pause_button = self._control_button(self.pause_action)
        self.stop_button = self._control_button(self.stop_action)
        buttons = QHBoxLayout()
        for button in (self.train_button, self.pause_button, self.stop_button):
            buttons.addWidget(button)

        self.progress_bar = QProgressBar()
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setFormat("Idle")
        self.progress_bar.setValue(0)
        # Images/s and time left, too long for the bar itself. Two lines kept for it from the start,
        # in a label that does not re-lay out the window each time a batch report rewrites it.
        self.progress_detail = SteadyLabel(alignment=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        # A field that cannot work is said there too, so the form above never moves.
        self.progress_detail.setFixedHeight(2 * QFontMetrics(self.font()).lineSpacing())
        self._state = PanelState.IDLE
        self.stopping_text = STOPPING  # what stopping keeps (the controller says whether a model was saved)
        self._progress = (0.0, "Idle", "")
        self._error = ""

        box = QGroupBox("Training")
        inner = QVBoxLayout(box)
        inner.addLayout(form)
        inner.addLayout(buttons)
        inner.addWidget(self.progress_bar)
        inner.addWidget(self.progress_detail)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(box)
        self.preset_combo.currentIndexChanged.connect(self._on_preset_changed)
        self._show_preset_summary()
        self.channels_edit.textChanged.connect(self._show_shape)
        self.kernel_combo.currentIndexChanged.connect(self._show_shape)
        self.hidden_spin.valueChanged.connect(self._show_shape)
        self._fields = [self.preset_combo, self.channels_edit, self.kernel_combo, self.hidden_spin, self.epochs_spin,
                        self.batch_spin, self.noise_spin, self.seed_spin, self.device_combo, self.seeds_spin,
                        self.savepath_edit, self.data_dir_edit, *self._browse_buttons]
        self.set_state(PanelState.IDLE)

    def _control_action(self, text: str, keys: str, tip: str, signal) -> QAction:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(keys))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setToolTip(f"{tip} ({shortcut_text(action)})")
        action.triggered.connect(signal)
        self.addAction(action)  # its shortcut works wherever the focus is in this window
        return action

    @staticmethod
    def _control_button(action: QAction) -> QPushButton:
        button = QPushButton(action.text())
        button.setToolTip(action.toolTip())
        button.clicked.connect(action.trigger)  # a disabled action ignores it

        def follow() -> None:
            button.setEnabled(action.isEnabled())
            button.setText(action.text())

        action.changed.connect(follow)
        follow()
        return button

    def actions_for_menu(self) -> list[QAction]:
        return [self.train_action, self.pause_action, self.stop_action]

    def _folder_row(self, default: Path | None, tip: str) -> tuple[QLineEdit, QWidget]:
        edit = QLineEdit("" if default is None else str(default))
        edit.setToolTip(tip)
        browse = QToolButton()
        browse.setText("…")
        browse.setToolTip(f"Choose… ({tip[0].lower()}{tip[1:]})")
        browse.setAccessibleName("Browse")
        browse.clicked.connect(lambda: self._on_browse(edit))
        self._browse_buttons.append(browse)
        return edit, _row((edit, 1), (browse, 0))

    def _device_row(self) -> QWidget:
        """The device, and the seed group's size beside it: one row, so the network's rows and the log's
        ten lines fit a 1000×640 window."""
        # Room for "Auto (CUDA)", not for "CUDA (not found)", which is never chosen.
        self.device_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.device_combo.setMinimumContentsLength(6)  # Qt counts wide characters and room for an icon
        caption = QLabel("Runs")
        caption.setBuddy(self.seeds_spin)
        caption.setToolTip(self.seeds_spin.toolTip())
        return _row((self.device_combo, 1), (caption, 0), (self.seeds_spin, 0))

    @staticmethod
    def _pair(first: QWidget, label: str, second: QWidget) -> QWidget:
        """Two fields in one form row, the second with its own label: "[20]  Batch size [128]"."""
        for field in (first, second):
            # Narrower than their largest values ask for (a seed has ten digits): they scroll.
            field.setMinimumWidth(min(field.minimumSizeHint().width(), 72))
        caption = QLabel(label)
        caption.setBuddy(second)
        return _row((first, 1), (caption, 0), (second, 1))

    def preset_name(self) -> str:
        return self.preset_combo.currentData()

    def _show_preset_summary(self) -> None:
        self.preset_summary.setText(PRESETS[self.preset_name()].summary)
        self._fit_height()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_height()

    def _fit_height(self) -> None:
        """Ask for the height the wrapped preset summary needs at this width: the splitter above the
        log knows only minimum heights, and gave the summary two lines of its three."""
        needed = self.layout().totalHeightForWidth(self.width()) if self.layout() is not None else -1
        if needed > 0 and needed != self.minimumHeight():
            self.setMinimumHeight(needed)

    def _on_preset_changed(self) -> None:
        """Fill the fields with the chosen preset's values; they stay editable."""
        config = PRESETS[self.preset_name()].config
        self.lr_edit.setText(f"{config.lr:g}")
        self.epochs_spin.setValue(config.epochs)
        self.batch_spin.setValue(config.batch_size)
        self.noise_spin.setValue(config.noise_std)
        self.set_network_shape(config.network_shape)
        self._show_preset_summary()

    def network_shape(self) -> NetworkShape:
        """The shape the fields make; ConfigError, in core.shape's words, when it cannot be built."""
        return check_shape(parse_channels(self.channels_edit.text()), self.kernel_combo.currentData(),
                           self.hidden_spin.value())

    def set_network_shape(self, shape: NetworkShape) -> None:
        self.channels_edit.setText(shape.channels_text())
        self.kernel_combo.setCurrentIndex(self.kernel_combo.findData(shape.kernel))
        self.hidden_spin.setValue(shape.hidden)

    def _show_shape(self) -> None:
        try:
            shape = self.network_shape()
        except ConfigError as exc:
            shape = None
            self.shape_summary.setText(f"{str(exc)[:1].upper()}{str(exc)[1:]}.")
            self.shape_summary.setStyleSheet(f"color: {ERROR_COLOUR.name()}")
        else:
            self.shape_summary.setText(cost_text(shape))
            self.shape_summary.setStyleSheet("color: palette(placeholder-text)")
        # Only where it would change something, and never while a run trains.
        self.seed_network_button.setEnabled(self._state is PanelState.IDLE and shape != SEED_SHAPE)

    def _on_browse(self, edit: QLineEdit) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder", edit.text())
        if folder:
            edit.setText(folder)

    # -- state -------------------------------------------------------------------------------
    def set_state(self, state: PanelState) -> None:
        """Buttons enabled only where they make sense, fields locked while training."""
        self._state = state
        idle = state is PanelState.IDLE
        for field in self._fields:
            field.setEnabled(idle)
        training = state in (PanelState.RUNNING, PanelState.PAUSED)
        self.lr_edit.setEnabled(idle or (training and self._steerable))
        self.lr_set_button.setVisible(not idle)
        self.lr_set_button.setEnabled(training and self._steerable)
        self.lr_edit.setToolTip(LR_TIP if idle else LR_STEER_TIP if self._steerable else LR_ONECYCLE_TIP)
        self.train_action.setEnabled(idle)
        self.pause_action.setEnabled(training)
        self.stop_action.setEnabled(training)
        self.pause_action.setText("Resume" if state is PanelState.PAUSED else "Pause")
        self._show_shape()
        self._show_progress()

    def state(self) -> PanelState:
        return self._state

    def set_steerable(self, steerable: bool) -> None:
        """Whether the run about to train takes a new learning rate while it runs (one-cycle does not)."""
        self._steerable = steerable
        self.set_state(self._state)

    def _on_lr_entered(self) -> None:
        if self._state in (PanelState.RUNNING, PanelState.PAUSED) and self._steerable:
            self.lr_set_requested.emit(self.lr_edit.text())

    def show_error(self, message: str | None) -> None:
        """Say why the fields cannot train (None: nothing wrong), in the space kept under the bar."""
        self._error = message or ""
        self._show_progress()

    def error_text(self) -> str:
        return self._error
    # -- values ------------------------------------------------------------------------------
    # How often the bar and the loss plot hear from the training loop (tests ask for every batch).
    progress_interval_s = TrainConfig.progress_interval_s

    def config(self) -> TrainConfig:
        """The fields as a TrainConfig; ConfigError with a one-line reason when a field cannot work."""
        lr = parse_setting("lr", self.lr_edit.text())
        shape = self.network_shape()
        savepath = self.savepath_edit.text().strip() or RUN_FOLDER
        config = preset_config(
            self.preset_name(),
            lr=lr, epochs=self.epochs_spin.value(), batch_size=self.batch_spin.value(),
            noise_std=self.noise_spin.value(), channels=shape.channels, kernel=shape.kernel, hidden=shape.hidden,
            seed=None if self.seed_spin.value() == NO_SEED else self.seed_spin.value(),
            device=self.device_combo.currentData(), savepath=savepath,
            progress_interval_s=self.progress_interval_s,
        )
        validate_config(config)
        if config.device == "cuda" and not cuda_available():
            raise ConfigError("CUDA was asked for, but torch finds no CUDA device here")
        return config

    def data_dir(self) -> Path:
        return Path(self.data_dir_edit.text().strip() or self._default_data_dir)

    def set_progress(self, fraction: float | None, text: str, detail: str = "") -> None:
        """The bar's fraction (None: busy) and text, and the detail under it. While paused or
        stopping, the bar says so and the detail's speed and time left (stale by then) wait."""
        self._progress = (fraction, text, detail)
        self._error = ""
        self._show_progress()

    def _show_progress(self) -> None:
        fraction, text, detail = self._progress
        if self._state is PanelState.PAUSED:
            text = f"Paused · {text}"
            detail = f"Paused between batches: {self.pause_action.text()} ({shortcut_text(self.pause_action)}) goes on."
        elif self._state is PanelState.STOPPING:
            text = f"Stopping · {text}"
            detail = f"{self.stopping_text}."
        if self._error:
            self.progress_detail.set_text(f"Cannot train: {self._error}.", colour=ERROR_COLOUR)
        else:
            self.progress_detail.set_text(detail)
        if fraction is None:
            self.progress_bar.setRange(0, 0)  # busy indicator
        else:
            self.progress_bar.setRange(0, 1000)
            self.progress_bar.setValue(round(1000 * fraction))
        self.progress_bar.setFormat(text)

    def progress_text(self) -> tuple[str, str]:
        """What the bar and the detail under it say now."""
        return self.progress_bar.format(), self.progress_detail.text()

    # -- settings ----------------------------------------------------------------------------
    def save_settings(self, settings: QSettings) -> None:
        settings.beginGroup("training")
        settings.setValue("preset", self.preset_name())
        settings.setValue("lr", self.lr_edit.text())
        settings.setValue("channels", self.channels_edit.text().strip())  # as typed, like the rate
        settings.setValue("kernel", self.kernel_combo.currentData())
        settings.setValue("hidden", self.hidden_spin.value())
        settings.setValue("epochs", self.epochs_spin.value())
        settings.setValue("batch_size", self.batch_spin.value())
        settings.setValue("noise_std", self.noise_spin.value())
        settings.setValue("seed", self.seed_spin.value())
        settings.setValue("seeds", self.seeds_spin.value())
        settings.setValue("device", self.device_combo.currentData())
        settings.setValue("savepath", self.savepath_edit.text())
        settings.setValue("data_dir", self.data_dir_edit.text())
        settings.endGroup()

    def load_settings(self, settings: QSettings) -> list[str]:
        """Fill the fields from the settings; a value that is missing or unusable leaves its field as
        it is. Returns one line per unusable value, naming its key."""
        problems: list[str] = []

        def value(key: str, parse):
            return read(settings, Field(f"training/{key}", parse), problems)

        preset = value("preset", one_of(PRESETS))
        if preset is not None:
            self.preset_combo.setCurrentIndex(self.preset_combo.findData(preset))  # fills the fields; saved values follow
        if value("lr", setting("lr")) is not None:
            self.lr_edit.setText(str(settings.value("training/lr")).strip())  # as it was typed
        if (channels := value("channels", shape_part("channels"))) is not None:
            self.channels_edit.setText(",".join(map(str, channels)))
        if (kernel := value("kernel", shape_part("kernel"))) is not None:
            self.kernel_combo.setCurrentIndex(self.kernel_combo.findData(kernel))
        if (hidden := value("hidden", shape_part("hidden"))) is not None:
            self.hidden_spin.setValue(hidden)
        for key, spin in (("epochs", self.epochs_spin), ("batch_size", self.batch_spin), ("noise_std", self.noise_spin)):
            if (number_ := value(key, setting(key))) is not None:
                spin.setValue(number_)
        if settings.value("training/seed") in (NO_SEED, str(NO_SEED)):
            self.seed_spin.setValue(NO_SEED)  # "random", as it was left
        elif (seed := value("seed", setting("seed", highest=self.seed_spin.maximum()))) is not None:
            self.seed_spin.setValue(seed)
        if (count := value("seeds", setting("seeds"))) is not None:
            self.seeds_spin.setValue(count)
        device = value("device", one_of(self.device_combo.itemData(i) for i in range(self.device_combo.count())))
        index = self.device_combo.findData(device)
        if device is not None and self.device_combo.model().item(index).isEnabled():
            self.device_combo.setCurrentIndex(index)
        for key, edit in (("savepath", self.savepath_edit), ("data_dir", self.data_dir_edit)):
            if (folder := value(key, text)) is not None:
                edit.setText(folder)
        if self.savepath_edit.text() in former_default_savepaths():
            self.savepath_edit.clear()  # a default, never chosen: runs now save into folders of their own
        return problems
