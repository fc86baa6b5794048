"""The Layers page: the input, every block's maps, the hidden units (when there are), the contributions to
the logits, the logits."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import QWidget

from mnistconv.core.activations import Reading
from mnistconv.core.shape import SEED_SHAPE, NetworkShape

from ..tiles import GREY, SEQUENTIAL, Tiles, diverging, format_value, paint_scale, signed_limit
from .canvas import GAP, MARGIN, MAX_TILE, SCALE_WIDTH, SECTION_GAP, Canvas, at, signed

BOLD_HEADERS = ("dense", "hidden", "input", "logits")
COLUMNS = (4, 8, 16, 32, 64)  # tiles per row tried; 64 only helps a group of more than 32 (hidden units)


def _count_word(number: int) -> str:
    return {1: "one", 4: "four", 9: "nine"}.get(number, str(number))


class LayersCanvas(Canvas):
    """The input, each block's maps, the hidden units, the contributions to the logits, the logits and
    probabilities, laid out for the shape of the network shown (`set_shape`)."""

    map_clicked = Signal(int, int)  # block (from 1), map
    hint = "Hover over a map for its values; click one to see what feeds it."

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.input = Tiles("input", 1, (28, 28))
        self.shape: NetworkShape | None = None
        self.reading: Reading | None = None
        self.message = "Draw a digit"
        self._headers: dict[str, QRectF] = {}
        self._scales: dict[str, QRectF] = {}
        self._scaled: dict[str, Tiles] = {}  # the tiles whose scale each header's colour bar shows
        self._logit_rows: list[QRectF] = []
        self._message_rect = QRectF()
        self.setMinimumSize(160, 120)
        self.set_shape(SEED_SHAPE)

    def set_shape(self, shape: NetworkShape) -> None:
        """Lay the page out for a network of `shape`: a group of tiles per block, and what the logits
        layer reads (the last block's maps, or the hidden units). What was shown goes."""
        if shape == self.shape:
            return
        self.shape = shape
        self.blocks = [Tiles(f"block{b}", n, (h, w)) for b, (n, h, w) in enumerate(shape.map_shapes(), start=1)]
        count, side, _ = shape.map_shapes()[-1]
        # The contributions are laid out as what they weigh: the last maps, or one cell per hidden unit.
        read, read_shape = (shape.hidden, (1, 1)) if shape.hidden else (count, (side, side))
        self.hidden_units = Tiles("hidden", shape.hidden, (1, 1)) if shape.hidden else None
        self.to_winner = Tiles("winner", read, read_shape)
        self.to_runner_up = Tiles("runner_up", read, read_shape)
        self.reading = None
        self.input.clear()
        self._layout()

    def sizeHint(self) -> QSize:
        return QSize(600, 620)

    def minimumSizeHint(self) -> QSize:
        return QSize(160, 120)

    def tile_groups(self) -> list[Tiles]:
        return [self.input, *self.blocks, *self._hidden_group(), self.to_winner, self.to_runner_up]

    def _hidden_group(self) -> list[Tiles]:
        return [] if self.hidden_units is None else [self.hidden_units]

    # -- data --------------------------------------------------------------------------------------
    def set_reading(self, reading: Reading | None, message: str = "") -> None:
        """Show a reading, or nothing with `message` saying why."""
        if reading is not None:
            self.set_shape(reading.shape)
        self.reading, self.message = reading, message
        if reading is None:
            for tiles in self.tile_groups():
                tiles.clear()
        else:
            self.input.set_values(reading.seen, 0.0, 1.0, GREY)
            for tiles, maps in zip(self.blocks, reading.maps):
                tiles.set_values(maps, 0.0, float(maps.max()), SEQUENTIAL)
            if self.hidden_units is not None:
                self.hidden_units.set_values(reading.hidden, 0.0, float(reading.hidden.max()), SEQUENTIAL)
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
        reading, shape = self.reading, self.shape
        if key.startswith("block"):
            block = int(key.removeprefix("block"))
            count, height, width = shape.map_shapes()[block - 1]
            return (f"Block {block}: {count} maps, {height}×{width} (pooled)", f"Block {block}: {count} maps, {height}×{width}",
                    f"Block {block}: {count} maps", f"Block {block}")
        if key == "input":
            deskewed = reading is not None and not np.array_equal(reading.seen, reading.image)
            return "Input, deskewed" if deskewed else "Input, 28×28"  # short: the column is the image wide
        if key == "logits":
            return "Logit · probability"
        if key == "hidden":
            units = shape.hidden
            return (f"Hidden layer: {units} units, ReLU(the {shape.features} features × weights + bias)",
                    f"Hidden layer: {units} units", f"Hidden: {units} units", "Hidden")
        if key == "dense":
            if shape.hidden:
                return ("Dense layer: hidden unit × weight", "Dense: unit × weight", "Dense layer", "Dense")
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
        if tiles is self.hidden_units:
            return (f"Hidden unit {index + 1}: {format_value(value)} (ReLU of its {self.shape.features} weighted features "
                    f"plus its bias; layer scale {format_value(tiles.low)} … {format_value(tiles.high)})")
        reading = self.reading
        digit = reading.winner if tiles is self.to_winner else reading.runner_up
        weight = float(reading.weight[digit, index * tiles.shape[0] * tiles.shape[1] + row * tiles.shape[1] + column])
        if self.hidden_units is not None:
            return (f"Hidden unit {index + 1} = {format_value(float(reading.hidden[index]))} × weight {signed(weight, 3)} "
                    f"= {signed(value, 3)} towards {digit}")
        side = tiles.shape[0]
        feature = index * side * side + row * side + column
        blocks = len(self.blocks)
        where = f"map {index + 1}" if side == 1 else f"map {index + 1}, {at(row, column)}"
        together = ""
        if side > 1:  # a map of one pixel is its one feature
            by_map = float(reading.contributions_by_map(digit)[index])
            together = f"; map {index + 1}'s {_count_word(side * side)} features together: {signed(by_map, 3)}"
        return (f"Feature {feature + 1} (block {blocks}, {where}) = {format_value(float(reading.features[feature]))} "
                f"× weight {signed(weight, 3)} = {signed(value, 3)} towards {digit}{together}")

    def describe_at(self, point: QPointF) -> str | None:
        text = super().describe_at(point)
        if text is None and self.reading is not None:
            for digit, rect in enumerate(self._logit_rows):
                if rect.contains(point):
                    reading = self.reading
                    total = float(np.sum(reading.contributions(digit), dtype=np.float64))
                    probability = 100 * float(reading.probabilities[digit])
                    source = "the hidden units" if reading.hidden is not None else "the features"
                    return (f"{digit}: logit {reading.logits[digit]:.3f} = {signed(total, 3)} from {source} "
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
        # Right column: each block's maps, the hidden units (with a hidden layer), then the contributions
        # to the logits (their own header and scale, and a line for each of the two classes), with as
        # large tiles as fit.
        right = MARGIN + left + 14
        room = max(width - right - MARGIN, 1)
        groups = [*self.blocks, *self._hidden_group(), self.to_winner, self.to_runner_up]
        lines = len(groups) + 1  # a line over each group, and the dense layer's header
        free = bottom - MARGIN - lines * line - len(groups) * SECTION_GAP
        tile, columns = self._fit(groups, room, free)
        spare = free - sum(math.ceil(tiles.count / columns) for tiles in groups) * (tile + GAP)
        # Block 1's 14×14 maps show most: given room to spare, they get larger tiles, 8 to a row.
        first = self.blocks[0]
        first_columns, first_tile = columns, tile
        if columns >= 16:
            wider = float(math.floor(min(MAX_TILE, (room - 7 * GAP) / 8)))
            more = math.ceil(first.count / 8) * (wider + GAP) - math.ceil(first.count / columns) * (tile + GAP)
            if wider > tile and more <= spare:
                first_columns, first_tile = 8, wider
        scale_width = min(SCALE_WIDTH, room * 0.45)
        y = MARGIN
        self._scales, self._scaled = {}, {}
        keyed = [(f"block{number}", tiles) for number, tiles in enumerate(self.blocks, start=1)]
        for key, tiles in [*keyed, *(("hidden", tiles) for tiles in self._hidden_group()), ("dense", None)]:
            self._headers[key] = QRectF(right, y, room - scale_width - 6, line)
            self._scales[key] = QRectF(right + room - scale_width, y, scale_width, line)
            self._scaled[key] = self.to_winner if tiles is None else tiles  # the dense layer's: the contributions'
            y += line
            if tiles is not None:
                size, across = (first_tile, first_columns) if tiles is first else (tile, columns)
                y += self._grid(tiles, right, y, size, across) + SECTION_GAP - GAP
        for key, tiles in (("winner", self.to_winner), ("runner_up", self.to_runner_up)):
            self._headers[key] = QRectF(right, y, room, line)
            y += line
            y += self._grid(tiles, right, y, tile, columns) + SECTION_GAP - GAP
        below = max(y, self._logit_rows[-1].bottom() + GAP)
        self._status_rect = QRectF(MARGIN, min(below, height - MARGIN - line), max(width - 2 * MARGIN, 1), line)
        self.update()

    @staticmethod
    def _fit(groups: list[Tiles], room: float, height: float) -> tuple[float, int]:
        """The largest whole tile (and its tiles per row) with which every group fits `room` × `height`."""
        best_tile, best_columns = 0.0, 16
        for columns in COLUMNS:
            rows = sum(math.ceil(tiles.count / columns) for tiles in groups)
            tile = min(MAX_TILE, (room - (columns - 1) * GAP) / columns, (height - rows * GAP) / rows)
            if tile > best_tile:
                best_tile, best_columns = tile, columns
        return float(max(1, math.floor(best_tile))), best_columns

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
            for key, tiles in self._scaled.items():
                paint_scale(painter, self._scales[key], tiles.table, tiles.low, tiles.high, text)
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
                if self.hidden_units is None and (hit := tiles.hit(point)) is not None:
                    self.map_clicked.emit(len(self.blocks), hit[0])  # a feature is a pixel of a last-block map
                    return
        super().mousePressEvent(event)
