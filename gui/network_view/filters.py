"""The Filters page: block 1's filters, how strongly deeper filters read each map, and block 1's
filters at each model saved while training."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import QWidget

from mnistconv.core.activations import Filters
from mnistconv.core.shape import SEED_SHAPE, NetworkShape

from ..tiles import SEQUENTIAL, Tiles, diverging, format_value, paint_scale, signed_limit
from .canvas import GAP, MARGIN, MIN_FILTERS_WIDTH, SECTION_GAP, Canvas, at, signed


def deeper_blocks(blocks: int) -> str:
    """'block 2', 'blocks 2 and 3', 'blocks 2–4': the blocks after the first, in words."""
    if blocks == 2:
        return "block 2"
    return "blocks 2 and 3" if blocks == 3 else f"blocks 2–{blocks}"


class FiltersCanvas(Canvas):
    """Block 1's filters, the deeper blocks' filter strengths, and block 1's filters at each saved model,
    for the channels and kernel of the network shown (`set_shape`)."""

    hint = "Hover over a filter for its weights."
    KERNEL = 26  # px per 3×3 filter; a 5×5 one is drawn larger in proportion
    HISTORY_KERNEL = 20
    CELL = 7  # px per kernel in the strength matrices
    PER_ROW = 16  # block 1's filters in a row (the history keeps one row per epoch, however many)
    MATRIX_WIDTH = 110  # at least, so that a small matrix's label can be read

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.filters: Filters | None = None
        self.message = "No model"
        self.channels: tuple[int, ...] = ()
        self.kernel = 0
        self._given: list[tuple[int, np.ndarray]] = []  # every history row, whatever its shape
        self.history: list[tuple[int, np.ndarray]] = []  # the rows shown: (epoch, block 1's (C₁, k, k) filters)
        self.left_out = 0  # rows of another shape than block 1's now, not shown
        self.set_shape(SEED_SHAPE)

    def tile_groups(self) -> list[Tiles]:
        return [self.first, *self.strengths, self.rows]

    def set_shape(self, shape: NetworkShape) -> None:
        """Lay the page out for the blocks and kernel of a network of `shape`."""
        self._set_blocks(shape.channels, shape.kernel)

    def _set_blocks(self, channels: tuple[int, ...], kernel: int) -> None:
        if (channels, kernel) == (self.channels, self.kernel):
            return
        self.channels, self.kernel = channels, kernel
        self.first = Tiles("first", channels[0], (kernel, kernel))
        self.strengths = [Tiles(f"strengths{block}", 1, (before, count))
                          for block, (before, count) in enumerate(zip(channels, channels[1:]), start=2)]
        if self.filters is not None and self.filters.first.shape != self.first_shape():
            self.filters = None
        self.set_history(self._given)

    def first_shape(self) -> tuple[int, int, int]:
        """(C₁, k, k): block 1's filters, as the page shows them."""
        return (self.channels[0], self.kernel, self.kernel)

    def set_filters(self, filters: Filters | None, message: str = "") -> None:
        if filters is not None:  # the page takes the filters' own blocks and kernel
            channels = (len(filters.first), *(len(strengths) for strengths in filters.strengths))
            self._set_blocks(channels, filters.first.shape[-1])
        self.filters, self.message = filters, message
        self._colour()
        self.update()

    def set_history(self, history: list[tuple[int, np.ndarray]]) -> None:
        """Block 1's filters at saved models, (epoch, (C₁, k, k)); those of another shape than block 1's
        now (an earlier run of another network) are counted, not shown."""
        self._given = list(history)
        self.history = [(epoch, first) for epoch, first in self._given if np.shape(first) == self.first_shape()]
        self.left_out = len(self._given) - len(self.history)
        self.rows = Tiles("history", self.channels[0] * len(self.history), (self.kernel, self.kernel))
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
            block = self.strengths.index(tiles) + 2
            return (f"Block {block}, filter {column + 1} reads block {block - 1}'s map {row + 1} with a "
                    f"{self.kernel}×{self.kernel} kernel of size (L2 norm, the strength shown) {format_value(value)}")
        count = self.channels[0]
        epoch = self.history[index // count][0]
        return (f"Epoch {epoch}: block 1, filter {index % count + 1}, weight at {at(row, column)}: "
                f"{signed(value, 3)}")

    def _layout(self) -> None:
        metrics = self.fontMetrics()
        line = metrics.height() + 4
        x, y = MARGIN, MARGIN
        self._spots: dict[str, QRectF] = {}
        kernel = self.KERNEL * self.kernel // 3  # about 9 px a weight, whatever the kernel
        across = min(self.channels[0], self.PER_ROW)
        widths = [max(tiles.shape[1] * self.CELL, self.MATRIX_WIDTH) for tiles in self.strengths]
        wide = max(across * (kernel + 4), sum(widths) + 24 * (len(widths) - 1), MIN_FILTERS_WIDTH)
        self._spots["first"] = QRectF(x, y, wide, line)
        y += line
        y += self._grid(self.first, x, y, kernel, across, gap=4)
        self._spots["first_scale"] = QRectF(x, y, min(wide, 260), line)
        y += line + SECTION_GAP
        self._spots["strengths"] = QRectF(x, y, wide, line)
        y += line
        left = x
        for tiles, width in zip(self.strengths, widths):
            rows, columns = tiles.shape
            label = tiles.key  # "strengths2", …
            self._spots[label] = QRectF(left, y, width, line)
            tiles.rects = [QRectF(left, y + line, columns * self.CELL, rows * self.CELL)]
            self._spots[label + "_scale"] = QRectF(left, y + line + rows * self.CELL + 4, width, line)
            left += width + 24
        if self.strengths:
            y += line + max(tiles.shape[0] for tiles in self.strengths) * self.CELL + 4 + line
        y += SECTION_GAP
        self._spots["history"] = QRectF(x, y, wide, line)
        y += line
        self._spots["history_scale"] = QRectF(x, y, 260, line)
        y += line + 2
        label = metrics.horizontalAdvance("epoch 000") + 8
        cell = self.HISTORY_KERNEL * self.kernel // 3
        step = cell + GAP
        count = self.channels[0]
        self._history_labels = []
        self._history_changes = []
        rects = []
        for row in range(len(self.history)):
            top = y + row * (cell + 4)
            self._history_labels.append(QRectF(x, top, label, cell))
            rects += [QRectF(x + label + i * step, top, cell, cell) for i in range(count)]
            self._history_changes.append(QRectF(x + label + count * step + 6, top, metrics.horizontalAdvance("Δ 100.0 %") + 8,
                                                cell))
        self.rows.rects = rects
        y += max(1, len(self.history)) * (cell + 4)
        self._status_rect = QRectF(x, y + 2, wide, line)
        width = int(max(wide, label + count * step + metrics.horizontalAdvance("Δ 100.0 %") + 20) + 2 * MARGIN)
        size = QSize(width, int(y + line + MARGIN + 4))
        if self.size() != size:
            self.setFixedSize(size)
        self.update()

    def headings(self) -> dict[str, str]:
        """The page's headings, by place: the filters', the strengths' (and each matrix's), the history's."""
        blocks, count, kernel = len(self.channels), self.channels[0], f"{self.kernel}×{self.kernel}"
        texts = {"first": f"Block 1: its {count} filters ({kernel} weights), one per map",
                 "strengths": (f"{deeper_blocks(blocks).capitalize()}: how strongly each filter reads each map before it"
                               if blocks > 1 else "One block only: no deeper filters"),
                 "history": "Block 1's filters at each model saved while training, one row per epoch"}
        for block in range(2, blocks + 1):
            texts[f"strengths{block}"] = f"Block {block}: filters →, block {block - 1}'s maps ↓"
        if self.left_out:
            texts["history"] += f" ({self.left_out} of another network's shape not shown)"
        return texts

    def resizeEvent(self, event) -> None:
        QWidget.resizeEvent(self, event)  # the size follows the content, not the other way round

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        background, text, outline, highlight = self._colours()
        painter.fillRect(self.rect(), background)
        painter.setPen(text)
        spots = self._spots
        for key, heading in self.headings().items():
            self._text(painter, spots[key], heading, bold=key in ("first", "strengths", "history"))
        for tiles in self.tile_groups():
            tiles.paint(painter, outline, highlight)
        if self.filters is None:
            painter.setPen(text)
            self._text(painter, spots["first_scale"], self.message)
        else:
            paint_scale(painter, spots["first_scale"], self.first.table, self.first.low, self.first.high, text)
            for tiles in self.strengths:
                paint_scale(painter, spots[tiles.key + "_scale"], tiles.table, tiles.low, tiles.high, text)
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
