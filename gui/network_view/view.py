"""The network view's controller: three pages in tabs, following a sketchpad, refreshed at most every
INTERVAL_MS while it is on screen."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QPalette, QValidator
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mnistconv.core.activations import (
    NotShowable,
    Reading,
    UnitInputs,
    network_filters,
    network_shape,
    read_network,
    unit_inputs,
)
from mnistconv.core.shape import SEED_SHAPE, NetworkShape

from ..file_places import remember, start_in
from ..plot_export import save_png
from .canvas import MARGIN
from .explanations import explanation
from .filters import FiltersCanvas
from .layers import LayersCanvas
from .unit import UnitCanvas

INTERVAL_MS = 30  # the view refreshes at most this often while drawing (about 25–30 times a second)
QUIET_MS = 25  # …and this long after the last reading when the pen stops between two refreshes


class CountedFromOne(QSpinBox):
    """A spin box of 0-based indices shown counted from 1, as people count maps."""

    def textFromValue(self, value: int) -> str:
        return str(value + 1)

    def valueFromText(self, text: str) -> int:
        digits = text.removeprefix(self.prefix()).strip()
        return int(digits) - 1 if digits.isdigit() else self.value()

    def validate(self, text: str, position: int):
        digits = text.removeprefix(self.prefix()).strip()
        if not digits:
            return QValidator.State.Intermediate, text, position
        if not digits.isdigit():
            return QValidator.State.Invalid, text, position
        inside = self.minimum() <= int(digits) - 1 <= self.maximum()
        return (QValidator.State.Acceptable if inside else QValidator.State.Intermediate), text, position


class NetworkView(QWidget):
    """Layers, one map and the filters of the model the sketchpad reads with, as it reads."""

    refreshed = Signal()  # the live pages were recomputed (at most every INTERVAL_MS while drawing)

    PAGE_NAMES = ("layers", "map", "filters")

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._pad = None
        self._predictor = None
        self._reading: Reading | None = None
        self._unit: UnitInputs | None = None
        self._shown_input: np.ndarray | None = None
        self._shown_predictor = None
        self._filters_predictor = None
        self._input_dirty = True
        self._unit_dirty = True
        self._last_refresh = -math.inf
        self.clock = time.perf_counter  # seconds; tests put their own clock here
        self.refreshes = 0
        self.history: list[tuple[int, np.ndarray]] = []
        self._shape = SEED_SHAPE  # the pages are laid out for it: the last shown model's

        self.layers = LayersCanvas()
        self.unit_canvas = UnitCanvas()
        self.filters_canvas = FiltersCanvas()
        self.block_combo = QComboBox()
        self.block_combo.addItems([f"Block {block}" for block in range(1, self._shape.blocks + 1)])
        self.block_combo.setToolTip("The block of the map shown")
        self.channel_spin = CountedFromOne()
        self.channel_spin.setPrefix("map ")
        self.channel_spin.setRange(0, self._shape.channels[0] - 1)
        self.channel_spin.setToolTip("The map shown (or click one on the Layers page)")
        self.block_combo.currentIndexChanged.connect(self._on_selector_changed)
        self.channel_spin.valueChanged.connect(self._on_selector_changed)
        unit_page = QWidget()
        selector = QHBoxLayout()
        selector.setContentsMargins(MARGIN, 4, MARGIN, 0)
        selector.addWidget(QLabel("Map:"))
        selector.addWidget(self.block_combo)
        selector.addWidget(self.channel_spin)
        selector.addStretch(1)
        unit_layout = QVBoxLayout(unit_page)
        unit_layout.setContentsMargins(0, 0, 0, 0)
        unit_layout.addLayout(selector)
        unit_layout.addWidget(self.unit_canvas, 1)
        self.filters_scroll = QScrollArea()
        self.filters_scroll.setWidget(self.filters_canvas)
        self.filters_scroll.setWidgetResizable(False)
        self.filters_scroll.setBackgroundRole(QPalette.ColorRole.Window)
        self.filters_scroll.setFrameShape(QScrollArea.Shape.NoFrame)

        self.pages = QTabWidget()
        self.pages.setDocumentMode(True)
        self.pages.addTab(self.layers, "Layers")
        self.pages.addTab(unit_page, "One map")
        self.pages.addTab(self.filters_scroll, "Filters")
        self.pages.setTabToolTip(0, "The input, every block's feature maps, the dense layer's contributions, the logits")
        self.pages.setTabToolTip(1, "One feature map with the filters and inputs that make it")
        self.pages.setTabToolTip(2, "The learned filters, and how block 1's changed from epoch to epoch")
        self.save_button = QToolButton()
        self.save_button.setText("Save as PNG…")
        self.save_button.setToolTip("Save the page shown as a PNG image")
        self.save_button.clicked.connect(self._on_save_clicked)
        self.help_button = QToolButton()
        self.help_button.setText("Explain")
        self.help_button.setCheckable(True)
        self.help_button.setToolTip("What am I looking at? The page shown explained: filters, maps, features, logits")
        corner = QWidget()
        corner_layout = QHBoxLayout(corner)
        corner_layout.setContentsMargins(0, 0, 0, 0)
        corner_layout.addWidget(self.help_button)
        corner_layout.addWidget(self.save_button)
        self.pages.setCornerWidget(corner, Qt.Corner.TopRightCorner)
        self.explanation = QLabel()
        self.explanation.setWordWrap(True)
        self.explanation.setTextFormat(Qt.TextFormat.RichText)
        self.explanation.setContentsMargins(MARGIN, 4, MARGIN, 4)
        self.explanation.hide()
        self.help_button.toggled.connect(self._show_explanation)
        self.pages.currentChanged.connect(lambda _: self._show_explanation(self.help_button.isChecked()))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.explanation)
        layout.addWidget(self.pages)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

        self._soon = QTimer(self)
        self._soon.setSingleShot(True)
        self._soon.setInterval(0)
        self._soon.timeout.connect(self._on_timer)
        self._quiet = QTimer(self)
        self._quiet.setSingleShot(True)
        self._quiet.setInterval(QUIET_MS)
        self._quiet.timeout.connect(self._on_timer)
        self.pages.currentChanged.connect(lambda _: self._schedule(at_once=True))
        self.layers.map_clicked.connect(self.show_unit)

    def _show_explanation(self, shown: bool) -> None:
        self.explanation.setText(explanation(self.pages.currentIndex(), self._shape))
        self.explanation.setVisible(shown)

    # -- wiring ------------------------------------------------------------------------------------
    def watch(self, sketchpad) -> None:
        """Follow a Sketchpad: what it reads and the model it reads with."""
        self._pad = sketchpad
        sketchpad.reading_changed.connect(self._on_reading)
        sketchpad.predictor_changed.connect(self._on_predictor_changed)
        self._on_predictor_changed(sketchpad.predictor)

    def _on_reading(self) -> None:
        self._input_dirty = True
        self._schedule()

    def _on_predictor_changed(self, predictor) -> None:
        self._predictor = predictor
        self._input_dirty = self._unit_dirty = True
        try:
            self._set_shape(network_shape(predictor))
        except NotShowable:
            pass  # no model, or one that cannot be shown: the pages say so, laid out as they were
        self._schedule(at_once=True)

    def _set_shape(self, shape: NetworkShape) -> None:
        """Lay every page out for a network of `shape`: its blocks, their maps, its kernel, its hidden layer."""
        if shape == self._shape:
            return
        self._shape = shape
        self._reading = self._unit = None  # of the other shape's model; the next refresh reads anew
        self.layers.set_shape(shape)
        self.unit_canvas.set_shape(shape)
        self.filters_canvas.set_shape(shape)
        block = min(self.block_combo.currentIndex() + 1, shape.blocks)
        with QSignalBlocker(self.block_combo), QSignalBlocker(self.channel_spin):
            self.block_combo.clear()
            self.block_combo.addItems([f"Block {number}" for number in range(1, shape.blocks + 1)])
            self.block_combo.setCurrentIndex(block - 1)
            self.channel_spin.setRange(0, shape.channels[block - 1] - 1)  # keeps the map shown, where it has it
        self._show_explanation(self.help_button.isChecked())

    # -- public ------------------------------------------------------------------------------------
    def reading(self) -> Reading | None:
        """What the Layers page shows, or None."""
        return self._reading

    def unit(self) -> UnitInputs | None:
        """What the One map page shows, or None."""
        return self._unit

    def message(self) -> str:
        """Why there is no reading (empty when there is one)."""
        return self.layers.message

    def page(self) -> str:
        return self.PAGE_NAMES[self.pages.currentIndex()]

    def set_page(self, name: str) -> None:
        self.pages.setCurrentIndex(self.PAGE_NAMES.index(name))

    def show_unit(self, block: int, channel: int) -> None:
        """Open map `channel` of `block` on the One map page (nothing happens for a map the network lacks)."""
        if not (1 <= block <= self._shape.blocks and 0 <= channel < self._shape.channels[block - 1]):
            return
        with QSignalBlocker(self.block_combo), QSignalBlocker(self.channel_spin):
            self.block_combo.setCurrentIndex(block - 1)
            self.channel_spin.setRange(0, self._shape.channels[block - 1] - 1)
            self.channel_spin.setValue(channel)
        self.layers.set_selected(block, channel)
        self._unit_dirty = True
        if self.page() == "map":
            self._schedule(at_once=True)
        else:
            self.set_page("map")

    def add_saved_model(self, epoch: int, predictor) -> None:
        """A model saved while training: block 1's filters get a row on the Filters page."""
        try:
            filters = network_filters(predictor)
        except NotShowable:
            return
        self.history.append((int(epoch), filters.first))
        self.filters_canvas.set_history(self.history)

    def clear_history(self) -> None:
        self.set_history([])

    def set_history(self, rows: list[tuple[int, np.ndarray]]) -> None:
        """The Filters page's rows so far: (epoch, block 1's (C₁, k, k) filters), as a resumed run recorded them
        (rows of another shape than the model shown are kept, not shown)."""
        self.history = [(int(epoch), filters) for epoch, filters in rows]
        self.filters_canvas.set_history(self.history)

    def save_png(self, path: str | Path, page: str | None = None) -> bool:
        """Save a page (the one shown by default) as a PNG image, whole; False when it cannot be written."""
        page = page or self.page()
        if page in ("layers", "map"):
            self._refresh_now()
        else:
            self._refresh_filters()
        widget = {"layers": self.layers, "map": self.unit_canvas, "filters": self.filters_canvas}[page]
        if widget.width() < 2 or widget.height() < 2:
            widget.resize(widget.sizeHint())
        try:
            save_png(widget.grab(), path)
        except OSError:
            return False
        return True

    # -- refreshing --------------------------------------------------------------------------------
    def _live_shown(self) -> bool:
        return self.isVisible() and self.page() in ("layers", "map") and not self.window().isMinimized()

    def _schedule(self, at_once: bool = False) -> None:
        if self.page() == "filters":
            if self.isVisible():
                self._refresh_filters()
            return
        if not self._live_shown():
            return
        elapsed_ms = 1000 * (self.clock() - self._last_refresh)
        if at_once or elapsed_ms >= INTERVAL_MS:
            if not self._soon.isActive():  # restarting it would push it behind the next reading, and the next
                self._soon.start()  # after the reading that called this has finished, so the bars come first
        else:
            # Restarted by each reading: fires once the pen rests (never sooner than the interval allows).
            self._quiet.start(max(QUIET_MS, math.ceil(INTERVAL_MS - elapsed_ms)))

    def _on_timer(self) -> None:
        if self._live_shown() and (self._input_dirty or (self._unit_dirty and self.page() == "map")):
            self._refresh_now()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._schedule(at_once=True)

    def _refresh_now(self) -> None:
        """Compute what the live pages show from the sketchpad's input and model, now."""
        self._soon.stop()
        self._quiet.stop()
        self._last_refresh = self.clock()
        pad = self._pad
        image = pad.network_input() if pad is not None else None
        predictor = self._predictor
        changed = (predictor is not self._shown_predictor or image is None or self._shown_input is None
                   or not np.array_equal(image, self._shown_input))
        if self._input_dirty and changed:
            self._shown_input, self._shown_predictor = image, predictor
            self._reading, message = None, ""
            if image is None:
                message = pad.digit_label.text() if pad is not None else "Draw a digit"
            elif predictor is None:
                message = "No model to read it yet"
            else:
                try:
                    self._reading = read_network(predictor, image)
                except (NotShowable, ValueError, RuntimeError) as exc:
                    message = f"The network cannot be shown: {exc}"
            self.layers.set_reading(self._reading, message)
            self._unit_dirty = True
            self.refreshes += 1
        self._input_dirty = False
        if self._unit_dirty and self.page() == "map":
            self._refresh_unit()
        self.refreshed.emit()

    def _refresh_unit(self) -> None:
        self._unit_dirty = False
        block, channel = self.block_combo.currentIndex() + 1, self.channel_spin.value()
        reading = self._reading
        self._unit = None
        if reading is None:
            self.unit_canvas.set_unit(None, message=self.layers.message, block=block, channel=channel)
            return
        try:
            self._unit = unit_inputs(self._predictor, reading, block, channel)
        except (NotShowable, ValueError, RuntimeError) as exc:
            self.unit_canvas.set_unit(None, message=f"The map cannot be shown: {exc}", block=block, channel=channel)
            return
        source = self.layers.input if block == 1 else self.layers.blocks[block - 2]
        target = self.layers.blocks[block - 1]
        self.unit_canvas.set_unit(self._unit, ((source.low, source.high), (target.low, target.high)))

    def _refresh_filters(self) -> None:
        if self._filters_predictor is self._predictor and self.filters_canvas.filters is not None:
            return
        self._filters_predictor = self._predictor
        if self._predictor is None:
            self.filters_canvas.set_filters(None, "No model")
            return
        try:
            self.filters_canvas.set_filters(network_filters(self._predictor))
        except NotShowable as exc:
            self.filters_canvas.set_filters(None, f"The filters cannot be shown: {exc}")

    def _on_selector_changed(self) -> None:
        block = self.block_combo.currentIndex() + 1
        count = self._shape.channels[block - 1]
        if self.channel_spin.maximum() != count - 1:
            with QSignalBlocker(self.channel_spin):
                self.channel_spin.setRange(0, count - 1)
        self.show_unit(block, self.channel_spin.value())

    def _on_save_clicked(self) -> None:
        name = f"network-{self.page()}.png"
        path, _ = QFileDialog.getSaveFileName(self, "Save as PNG", start_in(name), "PNG images (*.png)")
        if path:
            remember(path)
            path = path if path.lower().endswith(".png") else path + ".png"
            if not self.save_png(path):
                box = QMessageBox(QMessageBox.Icon.Warning, "Could not save the image", f"{path} could not be written.",
                                  QMessageBox.StandardButton.Ok, self)
                box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
                box.open()
