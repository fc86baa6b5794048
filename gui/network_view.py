"""The network view: what the network computes as it reads the sketchpad's drawing, and what it has learned.

Three pages, each painted by one widget (no layout pass when the data change, only a repaint):

- Layers: the 28×28 input the network sees; each block's feature maps after pooling (16 of 14×14,
  32 of 7×7, 32 of 3×3), all maps of a block on one colour scale from 0 to the block's largest value,
  written beside it; what each of the 288 features adds to the logit of the answer and of the
  runner-up (weight × feature, on one scale symmetric about 0); the ten logits and probabilities.
  Hovering shows the values under the pointer; clicking a map opens it on the next page.
- One map: a map large, before and after pooling, with the 3×3 filter applied to each of its
  inputs, each input map, and what each input adds (input ⊛ filter), strongest first.
- Filters: the 16 filters of block 1, how strongly each deeper filter reads each map before it, and
  block 1's filters at each model saved while training (one row per saved epoch).

The view follows a Sketchpad (`watch`): its input and model. It computes (core.activations) at most
every INTERVAL_MS while the pen moves, right after one of the sketchpad's readings so the bars are
never kept waiting, and only while one of its live pages is on screen.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPalette
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
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from mnistconv.core.activations import (
    MAP_SHAPES,
    Filters,
    NotShowable,
    Reading,
    UnitInputs,
    network_filters,
    read_network,
    unit_inputs,
)

from .colour_scheme import is_dark
from .tiles import GREY, SEQUENTIAL, Tiles, diverging, format_value, paint_scale, signed_limit

INTERVAL_MS = 30  # the view refreshes at most this often while drawing (about 25–30 times a second)
QUIET_MS = 25  # …and this long after the last reading when the pen stops between two refreshes
MARGIN = 6
GAP = 2
SECTION_GAP = 6
MAX_TILE = 72
SCALE_WIDTH = 136  # a header's colour bar with its two values
MIN_FILTERS_WIDTH = 480


def _signed(value: float, digits: int = 2) -> str:
    return f"{value:+.{digits}f}".replace("-", "−")


class _Canvas(QWidget):
    """A widget that paints tile groups and text at places its `_layout` computes from its size."""

    hint = "Hover over a map for its values."  # the hover line when the pointer is over nothing

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMouseTracking(True)
        self.status_text = self.hint
        self._status_rect = QRectF()

    def tile_groups(self) -> list[Tiles]:
        raise NotImplementedError

    def describe(self, tiles: Tiles, index: int, row: int, column: int) -> str:
        raise NotImplementedError

    def describe_at(self, point: QPointF) -> str | None:
        """What the pointer is over, in words, or None."""
        for tiles in self.tile_groups():
            hit = tiles.hit(point)
            if hit is not None and tiles.values is not None:
                return self.describe(tiles, *hit)
        return None

    def _layout(self) -> None:
        raise NotImplementedError

    def resizeEvent(self, event) -> None:
        self._layout()
        super().resizeEvent(event)

    def changeEvent(self, event) -> None:
        if event.type() == QEvent.Type.FontChange:
            self._layout()
        elif event.type() == QEvent.Type.PaletteChange:
            self._recolour()
        super().changeEvent(event)

    def _recolour(self) -> None:
        self.update()

    def _dark(self) -> bool:
        return is_dark(self.palette())

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            text = self.describe_at(QPointF(event.pos()))
            if text:
                QToolTip.showText(event.globalPos(), text, self)
            else:
                QToolTip.hideText()
            return True
        return super().event(event)

    def mouseMoveEvent(self, event) -> None:
        text = self.describe_at(event.position()) or self.hint
        if text != self.status_text:
            self.status_text = text
            self.update(self._status_rect.toAlignedRect())
        super().mouseMoveEvent(event)

    def leaveEvent(self, event) -> None:
        if self.status_text != self.hint:
            self.status_text = self.hint
            self.update(self._status_rect.toAlignedRect())
        super().leaveEvent(event)

    # -- painting helpers ------------------------------------------------------------------------
    def _colours(self) -> tuple[QColor, QColor, QColor, QColor]:
        palette = self.palette()
        return (palette.color(QPalette.ColorRole.Window), palette.color(QPalette.ColorRole.WindowText),
                palette.color(QPalette.ColorRole.Mid), palette.color(QPalette.ColorRole.Highlight))

    def _text(self, painter: QPainter, rect: QRectF, text: str, align=Qt.AlignmentFlag.AlignLeft, bold: bool = False) -> None:
        if rect.width() < 4 or not text:
            return
        font = QFont(self.font())
        font.setBold(bold)
        painter.setFont(font)
        elided = painter.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, int(rect.width()))
        painter.drawText(rect, align | Qt.AlignmentFlag.AlignVCenter, elided)
        painter.setFont(self.font())

    def _paint_status(self, painter: QPainter, colour: QColor) -> None:
        painter.setPen(colour)
        self._text(painter, self._status_rect, self.status_text)

    @staticmethod
    def _grid(tiles: Tiles, left: float, top: float, tile: float, columns: int, gap: float = GAP) -> float:
        """Place the tiles in rows of `columns`; returns the height they take."""
        tiles.rects = [QRectF(left + (i % columns) * (tile + gap), top + (i // columns) * (tile + gap), tile, tile)
                       for i in range(tiles.count)]
        return math.ceil(tiles.count / columns) * (tile + gap)


class LayersCanvas(_Canvas):
    """The input, the three blocks' maps, the dense layer's contributions, the logits and probabilities."""

    map_clicked = Signal(int, int)  # block 1–3, map
    hint = "Hover over a map for its values; click one to see what feeds it."

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.input = Tiles("input", 1, (28, 28))
        self.blocks = [Tiles(f"block{b + 1}", n, (h, w)) for b, (n, h, w) in enumerate(MAP_SHAPES)]
        self.to_winner = Tiles("winner", MAP_SHAPES[2][0], (3, 3))
        self.to_runner_up = Tiles("runner_up", MAP_SHAPES[2][0], (3, 3))
        self.reading: Reading | None = None
        self.message = "Draw a digit"
        self._headers: dict[str, QRectF] = {}
        self._scales: dict[str, QRectF] = {}
        self._logit_rows: list[QRectF] = []
        self._message_rect = QRectF()
        self.setMinimumSize(160, 120)
        self._layout()

    def sizeHint(self) -> QSize:
        return QSize(600, 620)

    def minimumSizeHint(self) -> QSize:
        return QSize(160, 120)

    def tile_groups(self) -> list[Tiles]:
        return [self.input, *self.blocks, self.to_winner, self.to_runner_up]

    # -- data --------------------------------------------------------------------------------------
    def set_reading(self, reading: Reading | None, message: str = "") -> None:
        """Show a reading, or nothing with `message` saying why."""
        self.reading, self.message = reading, message
        if reading is None:
            for tiles in self.tile_groups():
                tiles.clear()
        else:
            self.input.set_values(reading.image, 0.0, 1.0, GREY)
            for tiles, maps in zip(self.blocks, reading.maps):
                tiles.set_values(maps, 0.0, float(maps.max()), SEQUENTIAL)
            self._colour_contributions()
        self.update()

    def _colour_contributions(self) -> None:
        reading = self.reading
        if reading is None:
            return
        winner, runner_up = reading.contributions(reading.winner), reading.contributions(reading.runner_up)
        limit = signed_limit(winner, runner_up)
        table = diverging(self._dark())
        self.to_winner.set_values(winner, -limit, limit, table)
        self.to_runner_up.set_values(runner_up, -limit, limit, table)

    def _recolour(self) -> None:
        self._colour_contributions()
        self.update()

    def scale(self, block: int) -> tuple[float, float]:
        """The colour scale of a block's maps (low, high), as the header states it."""
        tiles = self.blocks[block - 1]
        return tiles.low, tiles.high

    def set_selected(self, block: int | None, channel: int | None) -> None:
        for number, tiles in enumerate(self.blocks, start=1):
            tiles.selected = channel if number == block else None
        self.update()

    # -- words -------------------------------------------------------------------------------------
    def header(self, key: str) -> str:
        reading = self.reading
        if key.startswith("block"):
            block = int(key[-1])
            count, height, width = MAP_SHAPES[block - 1]
            return f"Block {block}: {count} maps, {height}×{width} (pooled)"
        if key == "input":
            return "Input, 28×28"
        if key == "logits":
            return "Logit · probability"
        if key == "dense":
            return "Dense layer: feature × weight"
        digit = None if reading is None else (reading.winner if key == "winner" else reading.runner_up)
        role = "answer" if key == "winner" else "2nd"
        if digit is None:
            return f"to the {'answer' if key == 'winner' else 'runner-up'}"
        total = float(np.sum(reading.contributions(digit), dtype=np.float64))
        return (f"to {digit} ({role}): {_signed(total)} {_signed(float(reading.bias[digit]))} bias "
                f"= logit {format_value(float(reading.logits[digit]))}")

    def describe(self, tiles: Tiles, index: int, row: int, column: int) -> str:
        value = float(tiles.values[index, row, column])
        if tiles is self.input:
            return f"Input at row {row}, column {column}: {value:.3f} (0 black … 1 white)"
        if tiles in self.blocks:
            block = self.blocks.index(tiles) + 1
            return (f"Block {block}, map {index}, row {row}, column {column}: {format_value(value)} "
                    f"(this map's largest {format_value(float(tiles.values[index].max()))}; "
                    f"block scale {format_value(tiles.low)} … {format_value(tiles.high)}). Click to see what feeds it.")
        reading = self.reading
        digit = reading.winner if tiles is self.to_winner else reading.runner_up
        feature = index * 9 + row * 3 + column
        weight = float(reading.weight[digit, feature])
        by_map = float(reading.contributions_by_map(digit)[index])
        return (f"Feature {feature} (block 3, map {index}, row {row}, column {column}) = "
                f"{format_value(float(reading.features[feature]))} × weight {_signed(weight, 3)} = {_signed(value, 3)} "
                f"towards {digit}; map {index}'s nine features together: {_signed(by_map, 3)}")

    def describe_at(self, point: QPointF) -> str | None:
        text = super().describe_at(point)
        if text is None and self.reading is not None:
            for digit, rect in enumerate(self._logit_rows):
                if rect.contains(point):
                    reading = self.reading
                    total = float(np.sum(reading.contributions(digit), dtype=np.float64))
                    probability = 100 * float(reading.probabilities[digit])
                    return (f"{digit}: logit {reading.logits[digit]:.3f} = {_signed(total, 3)} from the features "
                            f"{_signed(float(reading.bias[digit]), 3)} bias; probability {probability:.2f} %")
        return text

    # -- geometry ----------------------------------------------------------------------------------
    def _layout(self) -> None:
        metrics = self.fontMetrics()
        line = metrics.height() + 4
        width, height = max(self.width(), 1), max(self.height(), 1)
        bottom = height - MARGIN - line - GAP  # the hover line below everything
        # Left column: the input, then the logits and probabilities.
        left = max(metrics.horizontalAdvance("Logit · probability"), metrics.horizontalAdvance("8 2nd  −88.88  100.0 %")) + 8
        x, y = MARGIN, MARGIN
        self._headers = {"input": QRectF(x, y, left, line)}
        y += line
        rows_height = 10 * line
        side = max(28.0, min(float(left), bottom - y - line - rows_height - SECTION_GAP))
        self.input.rects = [QRectF(x, y, side, side)]
        self._message_rect = QRectF(x, y, left, side)
        y += side + SECTION_GAP
        self._headers["logits"] = QRectF(x, y, left, line)
        y += line
        self._logit_rows = [QRectF(x, y + digit * line, left, line) for digit in range(10)]
        # Right column: three blocks of maps, then the dense layer (its own header and scale, and a
        # line for each of the two classes), with as large tiles as fit.
        right = MARGIN + left + 14
        room = max(width - right - MARGIN, 1)
        groups = [self.blocks[0], self.blocks[1], self.blocks[2], self.to_winner, self.to_runner_up]
        lines = 6  # three block headers, the dense layer's, a line for each class
        best_tile, best_columns = 0.0, 16
        for columns in (4, 8, 16, 32):
            rows = sum(math.ceil(tiles.count / columns) for tiles in groups)
            fixed = lines * line + 5 * SECTION_GAP + rows * GAP
            tile = min(MAX_TILE, (room - (columns - 1) * GAP) / columns, (bottom - MARGIN - fixed) / rows)
            if tile > best_tile:
                best_tile, best_columns = tile, columns
        tile = float(max(1, math.floor(best_tile)))
        rows = sum(math.ceil(tiles.count / best_columns) for tiles in groups)
        spare = bottom - MARGIN - (lines * line + 5 * SECTION_GAP + rows * (tile + GAP))
        # Block 1's 14×14 maps show most: given room to spare, they get two rows of larger tiles.
        first_columns, first_tile = best_columns, tile
        if best_columns >= 16:
            wider = float(math.floor(min(MAX_TILE, (room - 7 * GAP) / 8)))
            if wider > tile and 2 * (wider + GAP) - math.ceil(16 / best_columns) * (tile + GAP) <= spare:
                first_columns, first_tile = 8, wider
        scale_width = min(SCALE_WIDTH, room * 0.45)
        y = MARGIN
        self._scales = {}
        for number, tiles in enumerate(self.blocks, start=1):
            key = f"block{number}"
            self._headers[key] = QRectF(right, y, room - scale_width - 6, line)
            self._scales[key] = QRectF(right + room - scale_width, y, scale_width, line)
            y += line
            columns, size = (first_columns, first_tile) if number == 1 else (best_columns, tile)
            y += self._grid(tiles, right, y, size, columns) + SECTION_GAP - GAP
        self._headers["dense"] = QRectF(right, y, room - scale_width - 6, line)
        self._scales["dense"] = QRectF(right + room - scale_width, y, scale_width, line)
        y += line
        for key, tiles in (("winner", self.to_winner), ("runner_up", self.to_runner_up)):
            self._headers[key] = QRectF(right, y, room, line)
            y += line
            y += self._grid(tiles, right, y, tile, best_columns) + SECTION_GAP - GAP
        below = max(y, self._logit_rows[-1].bottom() + GAP)
        self._status_rect = QRectF(MARGIN, min(below, height - MARGIN - line), max(width - 2 * MARGIN, 1), line)
        self.update()

    # -- painting ----------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        background, text, outline, highlight = self._colours()
        painter.fillRect(self.rect(), background)
        painter.setPen(text)
        for key, rect in self._headers.items():
            self._text(painter, rect, self.header(key), bold=key in ("dense", "input", "logits"))
        for tiles in self.tile_groups():
            tiles.paint(painter, outline, highlight)
        reading = self.reading
        if reading is None:
            painter.setPen(text)
            painter.drawText(self._message_rect.adjusted(4, 4, -4, -4),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.message)
        else:
            for key, tiles in zip(("block1", "block2", "block3"), self.blocks):
                paint_scale(painter, self._scales[key], tiles.table, tiles.low, tiles.high, text)
            paint_scale(painter, self._scales["dense"], self.to_winner.table, self.to_winner.low, self.to_winner.high, text)
            self._paint_logits(painter, reading, text, highlight)
        self._paint_status(painter, self.palette().color(QPalette.ColorRole.PlaceholderText))

    def _paint_logits(self, painter: QPainter, reading: Reading, text: QColor, highlight: QColor) -> None:
        fill = QColor(highlight)
        fill.setAlpha(70)
        for digit, rect in enumerate(self._logit_rows):
            probability = float(reading.probabilities[digit])
            painter.fillRect(QRectF(rect.left(), rect.top() + 1, rect.width() * probability, rect.height() - 2), fill)
            bold = digit == reading.winner
            painter.setPen(text)
            digit_rect = QRectF(rect.left() + 2, rect.top(), rect.width() * 0.34, rect.height())
            self._text(painter, digit_rect, str(digit) + (" 2nd" if digit == reading.runner_up else ""), bold=bold)
            logit_rect = QRectF(rect.left(), rect.top(), rect.width() * 0.62, rect.height())
            self._text(painter, logit_rect, f"{reading.logits[digit]:.2f}".replace("-", "−"), Qt.AlignmentFlag.AlignRight, bold)
            self._text(painter, QRectF(rect.left(), rect.top(), rect.width() - 2, rect.height()),
                       f"{100 * probability:.1f} %", Qt.AlignmentFlag.AlignRight, bold)

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.reading is not None:
            point = event.position()
            for block, tiles in enumerate(self.blocks, start=1):
                if (hit := tiles.hit(point)) is not None:
                    self.map_clicked.emit(block, hit[0])
                    return
            for tiles in (self.to_winner, self.to_runner_up):
                if (hit := tiles.hit(point)) is not None:
                    self.map_clicked.emit(3, hit[0])  # a feature is a pixel of a block-3 map
                    return
        super().mousePressEvent(event)


class UnitCanvas(_Canvas):
    """One map, large, with what feeds it: its inputs, their 3×3 filters and what each adds."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.unit: UnitInputs | None = None
        self.message = "Draw a digit"
        self.block, self.channel = 1, 0
        self._order = np.zeros(1, dtype=np.int64)  # input channels, strongest first
        self._input_scale = (0.0, 1.0)
        self._output_scale = (0.0, 1.0)
        self._make_tiles()
        self.setMinimumSize(160, 120)

    def sizeHint(self) -> QSize:
        return QSize(600, 620)

    def minimumSizeHint(self) -> QSize:
        return QSize(160, 120)

    def _make_tiles(self) -> None:
        inputs = 1 if self.block == 1 else MAP_SHAPES[self.block - 2][0]
        side = 28 if self.block == 1 else MAP_SHAPES[self.block - 2][1]
        self.pre_pool = Tiles("pre_pool", 1, (side, side))
        self.output = Tiles("output", 1, (side // 2, side // 2))
        self.inputs = Tiles("inputs", inputs, (side, side))
        self.kernels = Tiles("kernels", inputs, (3, 3))
        self.partials = Tiles("partials", inputs, (side, side))
        self._layout()

    def tile_groups(self) -> list[Tiles]:
        return [self.pre_pool, self.output, self.inputs, self.kernels, self.partials]

    def set_unit(self, unit: UnitInputs | None, scales: tuple[tuple[float, float], tuple[float, float]] | None = None,
                 message: str = "", block: int | None = None, channel: int | None = None) -> None:
        """Show what feeds a map; `scales` are its input's and its own block's colour scales (those of the
        Layers page). Without a unit, `message` says why (and `block`, `channel` which map it would be)."""
        self.unit, self.message = unit, message
        block = unit.block if unit is not None else (block or self.block)
        channel = unit.channel if unit is not None else (self.channel if channel is None else channel)
        if block != self.block:
            self.block = block
            self._make_tiles()
        self.channel = channel
        if unit is None:
            for tiles in self.tile_groups():
                tiles.clear()
        else:
            self._input_scale, self._output_scale = scales if scales is not None else ((0.0, 1.0), (0.0, 1.0))
            self._order = np.argsort(-unit.strengths(), kind="stable")
            self._colour()
        self.update()

    def _colour(self) -> None:
        unit = self.unit
        if unit is None:
            return
        table = diverging(self._dark())
        order = self._order
        limit = signed_limit(unit.pre_pool)
        self.pre_pool.set_values(unit.pre_pool[None], -limit, limit, table)
        self.output.set_values(unit.output[None], *self._output_scale, SEQUENTIAL)
        self.inputs.set_values(unit.inputs[order], *self._input_scale, GREY if unit.block == 1 else SEQUENTIAL)
        kernel_limit = signed_limit(unit.kernels)
        self.kernels.set_values(unit.kernels[order], -kernel_limit, kernel_limit, table)
        partial_limit = signed_limit(unit.partials)
        self.partials.set_values(unit.partials[order], -partial_limit, partial_limit, table)

    def _recolour(self) -> None:
        self._colour()
        self.update()

    def order(self) -> list[int]:
        """The input channels in the order shown: the strongest contributor first."""
        return [int(i) for i in self._order]

    def _source(self) -> str:
        return "the input image" if self.block == 1 else f"block {self.block - 1}"

    def title(self) -> str:
        count = self.inputs.count
        inputs = "the input image" if self.block == 1 else f"the {count} maps of block {self.block - 1}"
        bias = "" if self.unit is None else f" {_signed(self.unit.bias, 3)}"
        return (f"Block {self.block}, map {self.channel} = ReLU(max-pool 2×2(Σ of {inputs} ⊛ its 3×3 filters "
                f"+ bias{bias}))")

    def describe(self, tiles: Tiles, index: int, row: int, column: int) -> str:
        value = float(tiles.values[index, row, column])
        source = int(self._order[index]) if tiles in (self.inputs, self.kernels, self.partials) else 0
        name = "the input image" if self.block == 1 else f"block {self.block - 1}, map {source}"
        if tiles is self.pre_pool:
            return f"Before pooling, row {row}, column {column}: {format_value(value)} (the inputs' sum plus the bias)"
        if tiles is self.output:
            return f"Block {self.block}, map {self.channel}, row {row}, column {column}: {format_value(value)}"
        if tiles is self.inputs:
            return f"Input: {name}, row {row}, column {column}: {format_value(value)}"
        if tiles is self.kernels:
            weights = ", ".join(_signed(float(w), 3) for w in tiles.values[index].ravel())
            return f"Filter on {name}, weight at row {row}, column {column}: {_signed(value, 3)} (all nine: {weights})"
        strength = float(self.unit.strengths()[source]) if self.unit is not None else 0.0
        return (f"{name} ⊛ its filter, row {row}, column {column}: {_signed(value, 3)}; "
                f"on average {_signed(strength, 3)} where pooling reads the map")

    def _layout(self) -> None:
        metrics = self.fontMetrics()
        line = metrics.height() + 4
        width, height = max(self.width(), 1), max(self.height(), 1)
        self._status_rect = QRectF(MARGIN, height - MARGIN - line, max(width - 2 * MARGIN, 1), line)
        bottom = height - MARGIN - line - GAP
        room = max(width - 2 * MARGIN, 1)
        y = MARGIN
        self._title_rect = QRectF(MARGIN, y, room, 2 * line)  # wraps onto a second line in a narrow view
        y += 2 * line
        big = max(8.0, min((room - 3 * MARGIN) / 2, (bottom - y) * 0.38, 260.0))
        self._big_labels = [QRectF(MARGIN, y, big, line), QRectF(MARGIN + big + 3 * MARGIN, y, big, line)]
        y += line
        self.pre_pool.rects = [QRectF(MARGIN, y, big, big)]
        self.output.rects = [QRectF(MARGIN + big + 3 * MARGIN, y, big, big)]
        y += big + 2
        self._big_scales = [QRectF(MARGIN, y, big, line), QRectF(MARGIN + big + 3 * MARGIN, y, big, line)]
        y += line + SECTION_GAP
        self._inputs_header = QRectF(MARGIN, y, room, line)
        y += line
        third = room / 3
        self._small_scales = [QRectF(MARGIN + i * third, y, third - 8, line) for i in range(3)]
        y += line + 2
        count = self.inputs.count
        best_tile, best_columns = 0.0, 1
        for columns in (1, 2, 4, 8, 16, 32):
            if columns > count:
                break
            rows = math.ceil(count / columns)
            tile = min(MAX_TILE, (room - (columns - 1) * 3 * GAP) / columns, (bottom - y - rows * 4 * GAP) / (3 * rows))
            if tile > best_tile:
                best_tile, best_columns = tile, columns
        tile = float(max(1, math.floor(best_tile)))
        stack = 3 * tile + 2 * GAP + 2 * GAP  # input, filter, product, and room before the next row
        for kind, tiles in enumerate((self.inputs, self.kernels, self.partials)):
            tiles.rects = [QRectF(MARGIN + (i % best_columns) * (tile + 3 * GAP),
                                  y + (i // best_columns) * stack + kind * (tile + GAP), tile, tile) for i in range(count)]
        self.update()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        background, text, outline, highlight = self._colours()
        painter.fillRect(self.rect(), background)
        painter.setPen(text)
        bold = QFont(self.font())
        bold.setBold(True)
        painter.setFont(bold)
        painter.drawText(self._title_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter | Qt.TextFlag.TextWordWrap,
                         self.title())
        painter.setFont(self.font())
        labels = (f"Before pooling, {self.pre_pool.shape[0]}×{self.pre_pool.shape[1]}",
                  f"After pooling and ReLU: the map, {self.output.shape[0]}×{self.output.shape[1]}")
        for rect, label in zip(self._big_labels, labels):
            self._text(painter, rect, label)
        count = self.inputs.count
        what = "its input" if count == 1 else f"its {count} inputs, strongest first"
        self._text(painter, self._inputs_header, f"From {what}: each input, its 3×3 filter, and input ⊛ filter (what it adds)",
                   bold=True)
        for tiles in self.tile_groups():
            tiles.paint(painter, outline, highlight)
        if self.unit is None:
            painter.setPen(text)
            painter.drawText(self.pre_pool.rects[0].adjusted(4, 4, -4, -4) if self.pre_pool.rects else self.rect(),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.message)
        else:
            for rect, tiles in zip(self._big_scales, (self.pre_pool, self.output)):
                paint_scale(painter, rect, tiles.table, tiles.low, tiles.high, text)
            for rect, tiles, name in zip(self._small_scales, (self.inputs, self.kernels, self.partials),
                                         ("input", "filter", "⊛")):
                label_width = painter.fontMetrics().horizontalAdvance(name) + 6
                self._text(painter, QRectF(rect.left(), rect.top(), label_width, rect.height()), name)
                paint_scale(painter, rect.adjusted(label_width, 0, 0, 0), tiles.table, tiles.low, tiles.high, text)
        self._paint_status(painter, self.palette().color(QPalette.ColorRole.PlaceholderText))


class FiltersCanvas(_Canvas):
    """Block 1's filters, the deeper blocks' filter strengths, and block 1's filters at each saved model."""

    hint = "Hover over a filter for its weights."
    KERNEL = 26  # px per 3×3 filter
    HISTORY_KERNEL = 20
    CELL = 7  # px per kernel in the strength matrices

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.filters: Filters | None = None
        self.message = "No model"
        self.history: list[tuple[int, np.ndarray]] = []  # (epoch, block 1's (16, 3, 3) filters)
        self.first = Tiles("first", 16, (3, 3))
        self.strengths = [Tiles("strengths2", 1, (16, 32)), Tiles("strengths3", 1, (32, 32))]
        self.rows = Tiles("history", 0, (3, 3))
        self._layout()

    def tile_groups(self) -> list[Tiles]:
        return [self.first, *self.strengths, self.rows]

    def set_filters(self, filters: Filters | None, message: str = "") -> None:
        self.filters, self.message = filters, message
        self._colour()
        self.update()

    def set_history(self, history: list[tuple[int, np.ndarray]]) -> None:
        self.history = list(history)
        self.rows = Tiles("history", 16 * len(self.history), (3, 3))
        self._colour()
        self._layout()

    def changes(self) -> list[float | None]:
        """Each history row's change from the row before: ‖W − W_before‖ / ‖W_before‖ (None for the first)."""
        out: list[float | None] = [None]
        for (_, before), (_, after) in zip(self.history, self.history[1:]):
            norm = float(np.linalg.norm(before))
            out.append(float(np.linalg.norm(after - before)) / norm if norm > 0 else None)
        return out[: len(self.history)]

    def _colour(self) -> None:
        table = diverging(self._dark())
        if self.filters is None:
            for tiles in (self.first, *self.strengths):
                tiles.clear()
        else:
            limit = signed_limit(self.filters.first)
            self.first.set_values(self.filters.first, -limit, limit, table)
            for tiles, strengths in zip(self.strengths, self.filters.strengths):
                tiles.set_values(strengths.T[None], 0.0, float(strengths.max()), SEQUENTIAL)
        if self.history:
            stacked = np.concatenate([first for _, first in self.history])
            limit = signed_limit(stacked)
            self.rows.set_values(stacked, -limit, limit, table)
        else:
            self.rows.clear()

    def _recolour(self) -> None:
        self._colour()
        self.update()

    def describe(self, tiles: Tiles, index: int, row: int, column: int) -> str:
        value = float(tiles.values[index, row, column])
        if tiles is self.first:
            bias = float(self.filters.first_bias[index])
            return (f"Block 1, filter {index} (makes map {index}), weight at row {row}, column {column}: {_signed(value, 3)}; "
                    f"bias {_signed(bias, 3)}")
        if tiles in self.strengths:
            block = 2 if tiles is self.strengths[0] else 3
            return (f"Block {block}, filter {column} reads block {block - 1}'s map {row} with a 3×3 kernel of "
                    f"size (L2 norm, the strength shown) {format_value(value)}")
        epoch = self.history[index // 16][0]
        return f"Epoch {epoch}: block 1, filter {index % 16}, weight at row {row}, column {column}: {_signed(value, 3)}"

    def _layout(self) -> None:
        metrics = self.fontMetrics()
        line = metrics.height() + 4
        x, y = MARGIN, MARGIN
        self._spots: dict[str, QRectF] = {}
        wide = max(16 * (self.KERNEL + 4), 2 * 32 * self.CELL + 24, MIN_FILTERS_WIDTH)
        self._spots["first"] = QRectF(x, y, wide, line)
        y += line
        self._grid(self.first, x, y, self.KERNEL, 16, gap=4)
        y += self.KERNEL + 4
        self._spots["first_scale"] = QRectF(x, y, min(wide, 260), line)
        y += line + SECTION_GAP
        self._spots["strengths"] = QRectF(x, y, wide, line)
        y += line
        left = x
        for tiles, label in zip(self.strengths, ("strengths2", "strengths3")):
            rows, columns = tiles.shape
            self._spots[label] = QRectF(left, y, columns * self.CELL, line)
            tiles.rects = [QRectF(left, y + line, columns * self.CELL, rows * self.CELL)]
            self._spots[label + "_scale"] = QRectF(left, y + line + rows * self.CELL + 4, columns * self.CELL, line)
            left += columns * self.CELL + 24
        y += line + 32 * self.CELL + 4 + line + SECTION_GAP
        self._spots["history"] = QRectF(x, y, wide, line)
        y += line
        self._spots["history_scale"] = QRectF(x, y, 260, line)
        y += line + 2
        label = metrics.horizontalAdvance("epoch 000") + 8
        step = self.HISTORY_KERNEL + GAP
        self._history_labels = []
        self._history_changes = []
        rects = []
        for row in range(len(self.history)):
            top = y + row * (self.HISTORY_KERNEL + 4)
            self._history_labels.append(QRectF(x, top, label, self.HISTORY_KERNEL))
            rects += [QRectF(x + label + i * step, top, self.HISTORY_KERNEL, self.HISTORY_KERNEL) for i in range(16)]
            self._history_changes.append(QRectF(x + label + 16 * step + 6, top, metrics.horizontalAdvance("Δ 100.0 %") + 8,
                                                self.HISTORY_KERNEL))
        self.rows.rects = rects
        y += max(1, len(self.history)) * (self.HISTORY_KERNEL + 4)
        self._status_rect = QRectF(x, y + 2, wide, line)
        width = int(max(wide, label + 16 * step + metrics.horizontalAdvance("Δ 100.0 %") + 20) + 2 * MARGIN)
        size = QSize(width, int(y + line + MARGIN + 4))
        if self.size() != size:
            self.setFixedSize(size)
        self.update()

    def resizeEvent(self, event) -> None:
        QWidget.resizeEvent(self, event)  # the size follows the content, not the other way round

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        background, text, outline, highlight = self._colours()
        painter.fillRect(self.rect(), background)
        painter.setPen(text)
        spots = self._spots
        self._text(painter, spots["first"], "Block 1: its 16 filters (3×3 weights), one per map", bold=True)
        self._text(painter, spots["strengths"], "Blocks 2 and 3: how strongly each filter reads each map before it",
                   bold=True)
        self._text(painter, spots["strengths2"], "Block 2: filters →, block 1's maps ↓")
        self._text(painter, spots["strengths3"], "Block 3: filters →, block 2's maps ↓")
        self._text(painter, spots["history"], "Block 1's filters at each model saved while training, one row per epoch",
                   bold=True)
        for tiles in self.tile_groups():
            tiles.paint(painter, outline, highlight)
        if self.filters is None:
            painter.setPen(text)
            self._text(painter, spots["first_scale"], self.message)
        else:
            paint_scale(painter, spots["first_scale"], self.first.table, self.first.low, self.first.high, text)
            for tiles, key in zip(self.strengths, ("strengths2_scale", "strengths3_scale")):
                paint_scale(painter, spots[key], tiles.table, tiles.low, tiles.high, text)
        if self.history:
            paint_scale(painter, spots["history_scale"], self.rows.table, self.rows.low, self.rows.high, text)
            for (epoch, _), rect, change_rect, change in zip(self.history, self._history_labels, self._history_changes,
                                                              self.changes()):
                painter.setPen(text)
                self._text(painter, rect, f"epoch {epoch}")
                self._text(painter, change_rect, "" if change is None else f"Δ {100 * change:.1f} %")
        else:
            painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            self._text(painter, spots["history_scale"].adjusted(0, 0, 400, 0),
                       "Train a model: each one saved adds a row here, so you can watch the filters change.")
        self._paint_status(painter, self.palette().color(QPalette.ColorRole.PlaceholderText))


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

        self.layers = LayersCanvas()
        self.unit_canvas = UnitCanvas()
        self.filters_canvas = FiltersCanvas()
        self.block_combo = QComboBox()
        self.block_combo.addItems(["Block 1", "Block 2", "Block 3"])
        self.block_combo.setToolTip("The block of the map shown")
        self.channel_spin = QSpinBox()
        self.channel_spin.setPrefix("map ")
        self.channel_spin.setRange(0, MAP_SHAPES[0][0] - 1)
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
        self.pages.setCornerWidget(self.save_button, Qt.Corner.TopRightCorner)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
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
        self._schedule(at_once=True)

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
        """Open map `channel` of `block` on the One map page."""
        with _signals_blocked(self.block_combo, self.channel_spin):
            self.block_combo.setCurrentIndex(block - 1)
            self.channel_spin.setRange(0, MAP_SHAPES[block - 1][0] - 1)
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
        self.history.clear()
        self.filters_canvas.set_history([])

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
        return widget.grab().save(str(path), "PNG")

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
        count = MAP_SHAPES[block - 1][0]
        if self.channel_spin.maximum() != count - 1:
            with _signals_blocked(self.channel_spin):
                self.channel_spin.setRange(0, count - 1)
        self.show_unit(block, self.channel_spin.value())

    def _on_save_clicked(self) -> None:
        name = f"network-{self.page()}.png"
        path, _ = QFileDialog.getSaveFileName(self, "Save as PNG", str(Path.home() / name), "PNG images (*.png)")
        if path:
            path = path if path.lower().endswith(".png") else path + ".png"
            if not self.save_png(path):
                box = QMessageBox(QMessageBox.Icon.Warning, "Could not save the image", f"{path} could not be written.",
                                  QMessageBox.StandardButton.Ok, self)
                box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
                box.open()


class _signals_blocked:
    def __init__(self, *widgets):
        self.widgets = widgets

    def __enter__(self):
        self.previous = [w.blockSignals(True) for w in self.widgets]

    def __exit__(self, *exc):
        for widget, previous in zip(self.widgets, self.previous):
            widget.blockSignals(previous)
