"""The One map page: a map before and after pooling, and each of its inputs with its filter and what it adds."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QFont, QPainter, QPalette
from PySide6.QtWidgets import QWidget

from mnistconv.core.activations import UnitInputs
from mnistconv.core.shape import IMAGE_SIDE, SEED_SHAPE, NetworkShape

from ..tiles import GREY, SEQUENTIAL, Tiles, diverging, format_value, paint_scale, signed_limit
from .canvas import GAP, MARGIN, MAX_TILE, SECTION_GAP, Canvas, at, signed


class UnitCanvas(Canvas):
    """One map, large, with what feeds it: its inputs, their k×k filters and what each adds."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.unit: UnitInputs | None = None
        self.message = "Draw a digit"
        self.shape = SEED_SHAPE
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

    def set_shape(self, shape: NetworkShape) -> None:
        """Show maps of a network of `shape` (the block and map shown kept where it has them)."""
        if shape != self.shape:
            self.shape, self.unit = shape, None
            self.block = min(self.block, shape.blocks)
            self.channel = min(self.channel, shape.channels[self.block - 1] - 1)
            self._make_tiles()

    def _make_tiles(self) -> None:
        if self.block == 1:
            inputs, side = 1, IMAGE_SIDE
        else:
            inputs, side, _ = self.shape.map_shapes()[self.block - 2]
        kernel = self.shape.kernel
        self.pre_pool = Tiles("pre_pool", 1, (side, side))
        self.output = Tiles("output", 1, (side // 2, side // 2))
        self.inputs = Tiles("inputs", inputs, (side, side))
        self.kernels = Tiles("kernels", inputs, (kernel, kernel))
        self.partials = Tiles("partials", inputs, (side, side))
        self._layout()

    def _kernel_text(self) -> str:
        return f"{self.shape.kernel}×{self.shape.kernel}"

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
        bias = "" if self.unit is None else f" {signed(self.unit.bias, 3)}"
        return (f"Block {self.block}, map {self.channel + 1} = ReLU(max-pool 2×2(Σ of {inputs} ⊛ its {self._kernel_text()} "
                f"filters + bias{bias}))")

    def describe(self, tiles: Tiles, index: int, row: int, column: int) -> str:
        value = float(tiles.values[index, row, column])
        source = int(self._order[index]) if tiles in (self.inputs, self.kernels, self.partials) else 0
        name = "the input image" if self.block == 1 else f"block {self.block - 1}, map {source + 1}"
        if tiles is self.pre_pool:
            return f"Before pooling, {at(row, column)}: {format_value(value)} (the inputs' sum plus the bias)"
        if tiles is self.output:
            return f"Block {self.block}, map {self.channel + 1}, {at(row, column)}: {format_value(value)}"
        if tiles is self.inputs:
            return f"Input: {name}, {at(row, column)}: {format_value(value)}"
        if tiles is self.kernels:
            weights = ", ".join(signed(float(w), 3) for w in tiles.values[index].ravel())
            every = "nine" if tiles.values[index].size == 9 else str(tiles.values[index].size)
            return f"Filter on {name}, weight at {at(row, column)}: {signed(value, 3)} (all {every}: {weights})"
        strength = float(self.unit.strengths()[source]) if self.unit is not None else 0.0
        return (f"{name} ⊛ its filter, {at(row, column)}: {signed(value, 3)}; "
                f"on average {signed(strength, 3)} where pooling reads the map")

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

    def big_labels(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The wordings over the two large maps, longest first."""
        before, after = (f"{shape[0]}×{shape[1]}" for shape in (self.pre_pool.shape, self.output.shape))
        return ((f"Before pooling, {before}", f"Before pool, {before}", before),
                (f"After pooling and ReLU: the map, {after}", f"After pooling and ReLU, {after}", f"Pooled, ReLU, {after}",
                 after))

    def shown_big_labels(self) -> list[str]:
        return [self.fitted(label, rect.width()) for rect, label in zip(self._big_labels, self.big_labels())]

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
        for rect, label in zip(self._big_labels, self.big_labels()):
            self._text(painter, rect, label)
        count = self.inputs.count
        what = "its input" if count == 1 else f"its {count} inputs, strongest first"
        self._text(painter, self._inputs_header,
                   f"From {what}: each input, its {self._kernel_text()} filter, and input ⊛ filter (what it adds)", bold=True)
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
