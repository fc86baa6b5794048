"""The Layers page: the input, every block's maps, the dense layer's contributions, the logits."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import QWidget

from mnistconv.core.activations import MAP_SHAPES, Reading

from ..tiles import GREY, SEQUENTIAL, Tiles, diverging, format_value, paint_scale, signed_limit
from .canvas import GAP, MARGIN, MAX_TILE, SCALE_WIDTH, SECTION_GAP, Canvas, at, signed

BOLD_HEADERS = ("dense", "input", "logits")

class LayersCanvas(Canvas):
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
            self.input.set_values(reading.seen, 0.0, 1.0, GREY)
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
    def shown_headers(self) -> dict[str, str]:
        """Each column's heading as drawn at the present size."""
        return {key: self.fitted(self.header(key), rect.width(), key in BOLD_HEADERS) for key, rect in self._headers.items()}

    def header(self, key: str) -> str | tuple[str, ...]:
        """A column's heading: one wording, or several, longest first (the first that fits is drawn)."""
        reading = self.reading
        if key.startswith("block"):
            block = int(key[-1])
            count, height, width = MAP_SHAPES[block - 1]
            return (f"Block {block}: {count} maps, {height}×{width} (pooled)", f"Block {block}: {count} maps, {height}×{width}",
                    f"Block {block}: {count} maps", f"Block {block}")
        if key == "input":
            deskewed = reading is not None and not np.array_equal(reading.seen, reading.image)
            return "Input, deskewed" if deskewed else "Input, 28×28"  # short: the column is the image wide
        if key == "logits":
            return "Logit · probability"
        if key == "dense":
            return ("Dense layer: feature × weight", "Dense: feature × weight", "Dense layer", "Dense")
        digit = None if reading is None else (reading.winner if key == "winner" else reading.runner_up)
        role = "answer" if key == "winner" else "2nd"
        if digit is None:
            return f"to the {'answer' if key == 'winner' else 'runner-up'}"
        total = float(np.sum(reading.contributions(digit), dtype=np.float64))
        logit, bias = format_value(float(reading.logits[digit])), signed(float(reading.bias[digit]))
        return (f"to {digit} ({role}): {signed(total)} {bias} bias = logit {logit}",
                f"to {digit}: {signed(total)} {bias} bias = {logit}", f"to {digit} ({role}): {logit}")

    def describe(self, tiles: Tiles, index: int, row: int, column: int) -> str:
        value = float(tiles.values[index, row, column])
        if tiles is self.input:
            return f"Input at {at(row, column)}: {value:.3f} (0 black … 1 white)"
        if tiles in self.blocks:
            block = self.blocks.index(tiles) + 1
            return (f"Block {block}, map {index + 1}, {at(row, column)}: {format_value(value)} "
                    f"(this map's largest {format_value(float(tiles.values[index].max()))}; "
                    f"block scale {format_value(tiles.low)} … {format_value(tiles.high)}). Click to see what feeds it.")
        reading = self.reading
        digit = reading.winner if tiles is self.to_winner else reading.runner_up
        feature = index * 9 + row * 3 + column
        weight = float(reading.weight[digit, feature])
        by_map = float(reading.contributions_by_map(digit)[index])
        return (f"Feature {feature + 1} (block 3, map {index + 1}, {at(row, column)}) = "
                f"{format_value(float(reading.features[feature]))} × weight {signed(weight, 3)} = {signed(value, 3)} "
                f"towards {digit}; map {index + 1}'s nine features together: {signed(by_map, 3)}")

    def describe_at(self, point: QPointF) -> str | None:
        text = super().describe_at(point)
        if text is None and self.reading is not None:
            for digit, rect in enumerate(self._logit_rows):
                if rect.contains(point):
                    reading = self.reading
                    total = float(np.sum(reading.contributions(digit), dtype=np.float64))
                    probability = 100 * float(reading.probabilities[digit])
                    return (f"{digit}: logit {reading.logits[digit]:.3f} = {signed(total, 3)} from the features "
                            f"{signed(float(reading.bias[digit]), 3)} bias; probability {probability:.2f} %")
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
            self._text(painter, rect, self.header(key), bold=key in BOLD_HEADERS)
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
