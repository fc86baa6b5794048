"""The row of choices above the plots: the loss's smoothing, a log epoch axis, and the seed groups'
band. It only says what a person chose (`smoothing_changed`, `log_x_changed`, `band_changed`);
TrainingPlots does the drawing and shows its state back with `show_choices`. The choices are kept
in the window's settings through `read_choices` and `write_choices`.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QSizePolicy, QSlider, QWidget

from mnistconv.core.groups import BANDS

from .plot_groups import BAND_NAMES
from .plot_smoothing import SMOOTHING_MAX
from .settings_reader import Field, Unusable, flag, one_of, read

STEPS = 100  # the slider moves in hundredths of the weight

SMOOTHING_TIP = ("How much the training loss is smoothed, as in TensorBoard: 0 draws the raw losses, "
                 "higher values a steadier moving average (0.9 by default). Overlaid runs are smoothed alike; "
                 "the faint curve keeps the raw losses.")
LOG_X_TIP = "Show the epoch axis on a log scale, to see the first batches and the last epochs side by side"
BAND_TIP = "What the shaded band around a seed group's mean shows: its runs' lowest and highest value, or the mean ± 1 σ"


class PlotControls(QWidget):
    smoothing_changed = Signal(float)
    log_x_changed = Signal(bool)
    band_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 0, 2, 0)
        layout.setSpacing(4)  # the row must not widen the window's smallest size: the plots have about 340 px there

        label = QLabel("Smoothing")
        self.smoothing_slider = QSlider(Qt.Orientation.Horizontal)
        self.smoothing_slider.setRange(0, round(SMOOTHING_MAX * STEPS))
        self.smoothing_slider.setMinimumWidth(40)
        self.smoothing_slider.setMaximumWidth(140)
        self.smoothing_slider.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.smoothing_value = QLabel()
        self.smoothing_value.setMinimumWidth(self.smoothing_value.fontMetrics().horizontalAdvance("0.00 "))
        for widget in (label, self.smoothing_slider, self.smoothing_value):
            widget.setToolTip(SMOOTHING_TIP)
        label.setBuddy(self.smoothing_slider)

        self.log_x_check = QCheckBox("Log x")
        self.log_x_check.setToolTip(LOG_X_TIP)

        self.band_combo = QComboBox()
        for kind, name in BAND_NAMES.items():
            self.band_combo.addItem(f"{name} band", kind)
        self.band_combo.setToolTip(BAND_TIP)
        self.band_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)

        for widget in (label, self.smoothing_slider, self.smoothing_value, self.log_x_check, self.band_combo):
            layout.addWidget(widget)
        layout.addStretch(1)

        self.smoothing_slider.valueChanged.connect(self._on_slider)
        self.log_x_check.toggled.connect(self.log_x_changed)
        self.band_combo.currentIndexChanged.connect(lambda _: self.band_changed.emit(self.band_combo.currentData()))

    def show_choices(self, smoothing: float, log_x: bool, band: str) -> None:
        """Show these choices without announcing them (they were made in code, not by a person)."""
        blockers = [QSignalBlocker(widget) for widget in (self.smoothing_slider, self.log_x_check, self.band_combo)]
        self.smoothing_slider.setValue(round(smoothing * STEPS))
        self._show_smoothing(smoothing)
        self.log_x_check.setChecked(log_x)
        self.band_combo.setCurrentIndex(self.band_combo.findData(band))
        del blockers

    def _on_slider(self, value: int) -> None:
        weight = value / STEPS
        self._show_smoothing(weight)
        self.smoothing_changed.emit(weight)

    def _show_smoothing(self, weight: float) -> None:
        self.smoothing_value.setText(f"{weight:.2f}")


# -- the choices kept between sessions (under "plots/" in the window's settings) --------------------

def _smoothing_setting(value) -> float:
    try:
        weight = float(value)
    except (TypeError, ValueError):
        raise Unusable("not a number") from None
    if not 0 <= weight <= SMOOTHING_MAX:  # NaN fails this too
        raise Unusable(f"not from 0 to {SMOOTHING_MAX}")
    return weight


CHOICE_FIELDS = {
    "smoothing": Field("plots/smoothing", _smoothing_setting),
    "log_x": Field("plots/log_x", flag),
    "band": Field("plots/band", one_of(BANDS)),
}


def read_choices(settings: QSettings, problems: list[str]) -> dict:
    """The choices stored in `settings` and usable, by name ("smoothing", "log_x", "band"); a line is
    added to `problems` for each unusable one."""
    choices = {name: read(settings, field, problems) for name, field in CHOICE_FIELDS.items()}
    return {name: value for name, value in choices.items() if value is not None}


def write_choices(settings: QSettings, smoothing: float, log_x: bool, band: str) -> None:
    for name, value in (("smoothing", smoothing), ("log_x", log_x), ("band", band)):
        settings.setValue(CHOICE_FIELDS[name].key, value)
