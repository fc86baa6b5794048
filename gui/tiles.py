"""Small images of numbers painted in a stated colour scale: the network view's feature maps and filters.

`Tiles` is a group of equally shaped arrays (16 maps of 14×14, 32 filters of 3×3, …) coloured with
one scale for the whole group and painted by its owner's QPainter into rectangles the owner lays
out. The colours are made in numpy through a 256-entry table into one QImage per group, so an
update costs one array lookup and a repaint, whatever the number of tiles.

Scales: `SEQUENTIAL` (viridis, dark purple for the low end to yellow for the high) for values that
are never negative (feature maps after ReLU, filter strengths), `GREY` for the network's input
(black to white, as the sketchpad's preview), and `diverging(dark)` for signed values (weights,
contributions, sums before pooling): blue below zero, red above, the palette's own background
colour at zero so it reads on light and dark windows alike; a signed scale is symmetric, ±limit.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QLinearGradient, QPainter

_VIRIDIS = ["#440154", "#482475", "#414487", "#355f8d", "#2a788e", "#21918c", "#22a884", "#44bf70", "#7ad151",
            "#bddf26", "#fde725"]
_DIVERGING_LIGHT = ["#2166ac", "#67a9cf", "#f7f7f7", "#ef8a62", "#b2182b"]
_DIVERGING_DARK = ["#6cb0f0", "#2e5f8f", "#262626", "#94402f", "#ff7a5c"]


def _table(anchors: list[str]) -> np.ndarray:
    """256 colours as 0xffRRGGBB (QImage.Format_RGB32), interpolated linearly between the anchors."""
    rgb = np.array([[QColor(a).red(), QColor(a).green(), QColor(a).blue()] for a in anchors], dtype=np.float64)
    at = np.linspace(0, len(anchors) - 1, 256)
    channels = [np.interp(at, np.arange(len(anchors)), rgb[:, c]).round().astype(np.uint32) for c in range(3)]
    return (np.uint32(0xFF000000) | channels[0] << 16 | channels[1] << 8 | channels[2]).astype(np.uint32)


SEQUENTIAL = _table(_VIRIDIS)
GREY = _table(["#000000", "#ffffff"])
_DIVERGING = {False: _table(_DIVERGING_LIGHT), True: _table(_DIVERGING_DARK)}


def diverging(dark: bool) -> np.ndarray:
    return _DIVERGING[bool(dark)]


def colour_of(table: np.ndarray, value: float, low: float, high: float) -> QColor:
    """The colour `value` is painted in on the scale low..high of `table`."""
    return QColor.fromRgb(int(table[int(_indices(np.array([value], np.float32), low, high)[0])]))


def _indices(values: np.ndarray, low: float, high: float) -> np.ndarray:
    span = high - low
    if not np.isfinite(span) or span <= 0:
        return np.zeros(values.shape, dtype=np.uint8)  # one value everywhere: the scale's low end
    scaled = (np.nan_to_num(values, nan=low, posinf=high, neginf=low) - low) * np.float32(255 / span) + np.float32(0.5)
    return np.clip(scaled, 0, 255).astype(np.uint8)


def signed_limit(*arrays: np.ndarray) -> float:
    """The symmetric scale's limit for signed values: their largest magnitude (1 when all are zero)."""
    peak = max((float(np.max(np.abs(a))) for a in arrays if a.size), default=0.0)
    return peak if np.isfinite(peak) and peak > 0 else 1.0


def format_value(value: float) -> str:
    """A value as the view writes it: three significant digits, a real minus sign."""
    return f"{value:.3g}".replace("-", "−")


class Tiles:
    """`count` images of `shape` (rows, columns) sharing one colour scale; the owner sets `rects`."""

    def __init__(self, key: str, count: int, shape: tuple[int, int]):
        self.key = key
        self.count = count
        self.shape = tuple(shape)
        self.values: np.ndarray | None = None  # (count, rows, columns) float32
        self.low = 0.0
        self.high = 0.0
        self.table = SEQUENTIAL
        self.image: QImage | None = None
        self._pixels: np.ndarray | None = None  # the QImage's memory
        self.rects: list[QRectF] = []  # where each tile is painted, set by the owner's layout
        self.selected: int | None = None  # a tile drawn with a highlighted outline

    def set_values(self, values: np.ndarray, low: float, high: float, table: np.ndarray) -> None:
        """Show `values` (count × shape) coloured from low to high through `table`."""
        rows, columns = self.shape
        values = np.asarray(values, dtype=np.float32).reshape(self.count, rows, columns)
        self.values, self.low, self.high, self.table = values, float(low), float(high), table
        self._pixels = np.ascontiguousarray(table[_indices(values, self.low, self.high)].reshape(self.count * rows, columns))
        self.image = QImage(self._pixels.data, columns, self.count * rows, 4 * columns, QImage.Format.Format_RGB32)

    def clear(self) -> None:
        self.values = self.image = self._pixels = None

    def colour_at(self, index: int, row: int, column: int) -> QColor:
        """The colour a value is painted in (for tests and the legend)."""
        return QColor.fromRgb(int(self._pixels[index * self.shape[0] + row, column]))

    def hit(self, point: QPointF) -> tuple[int, int, int] | None:
        """(tile, row, column) under a point, or None."""
        rows, columns = self.shape
        for index, rect in enumerate(self.rects):
            if rect.contains(point):
                row = min(rows - 1, int((point.y() - rect.top()) * rows / max(rect.height(), 1e-9)))
                column = min(columns - 1, int((point.x() - rect.left()) * columns / max(rect.width(), 1e-9)))
                return index, row, column
        return None

    def paint(self, painter: QPainter, outline: QColor, highlight: QColor) -> None:
        if not self.rects:
            return
        rows, columns = self.shape
        if self.image is not None and self.rects[0].width() >= 1:
            for index, rect in enumerate(self.rects[: self.count]):
                painter.drawImage(rect, self.image, QRectF(0, index * rows, columns, rows))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(outline)
        painter.drawRects([rect.adjusted(-0.5, -0.5, 0.5, 0.5) for rect in self.rects])
        if self.selected is not None and self.selected < len(self.rects):
            pen = painter.pen()
            pen.setColor(highlight)
            pen.setWidthF(2.0)
            painter.setPen(pen)
            painter.drawRect(self.rects[self.selected].adjusted(-1.5, -1.5, 1.5, 1.5))


def paint_scale(painter: QPainter, rect: QRectF, table: np.ndarray, low: float, high: float, text_colour: QColor) -> None:
    """A colour bar from `low` to `high` with both values written beside it, filling `rect`."""
    metrics = painter.fontMetrics()
    low_text, high_text = format_value(low), format_value(high)
    low_width = metrics.horizontalAdvance(low_text) + 4
    high_width = metrics.horizontalAdvance(high_text) + 4
    bar = QRectF(rect.left() + low_width, rect.top() + 3, rect.width() - low_width - high_width, rect.height() - 6)
    if bar.width() < 8:
        return
    gradient = QLinearGradient(bar.topLeft(), bar.topRight())
    for stop in np.linspace(0, 1, 9):
        gradient.setColorAt(float(stop), QColor.fromRgb(int(table[int(round(stop * 255))])))
    painter.fillRect(bar, gradient)
    painter.setPen(text_colour)
    align = Qt.AlignmentFlag.AlignVCenter
    painter.drawText(QRectF(rect.left(), rect.top(), low_width, rect.height()), align | Qt.AlignmentFlag.AlignRight,
                     low_text + " ")
    painter.drawText(QRectF(bar.right(), rect.top(), high_width, rect.height()), align | Qt.AlignmentFlag.AlignLeft,
                     " " + high_text)
