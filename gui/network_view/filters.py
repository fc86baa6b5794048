"""The Filters page: block 1's filters, how strongly deeper filters read each map, and block 1's
filters at each model saved while training."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import QWidget

from mnistconv.core.activations import Filters

from ..tiles import SEQUENTIAL, Tiles, diverging, format_value, paint_scale, signed_limit
from .canvas import GAP, MARGIN, MIN_FILTERS_WIDTH, SECTION_GAP, Canvas, at, signed


class FiltersCanvas(Canvas):
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
            return (f"Block 1, filter {index + 1} (makes map {index + 1}), weight at {at(row, column)}: "
                    f"{signed(value, 3)}; bias {signed(bias, 3)}")
        if tiles in self.strengths:
            block = 2 if tiles is self.strengths[0] else 3
            return (f"Block {block}, filter {column + 1} reads block {block - 1}'s map {row + 1} with a 3×3 kernel of "
                    f"size (L2 norm, the strength shown) {format_value(value)}")
        epoch = self.history[index // 16][0]
        return (f"Epoch {epoch}: block 1, filter {index % 16 + 1}, weight at {at(row, column)}: "
                f"{signed(value, 3)}")

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
