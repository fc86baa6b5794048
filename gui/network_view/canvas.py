"""The network view's painted pages share this: tiles and text placed by a layout computed from the
widget's size, the value under the pointer in a tooltip and on a status line."""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPalette
from PySide6.QtWidgets import QToolTip, QWidget

from ..colour_scheme import is_dark
from ..tiles import Tiles

MARGIN = 6
GAP = 2
SECTION_GAP = 6
MAX_TILE = 72
SCALE_WIDTH = 136  # a header's colour bar with its two values
MIN_FILTERS_WIDTH = 480


def at(row: int, column: int) -> str:
    """A cell's place as the view words it, counted from 1 as people count ("row 1, column 3")."""
    return f"row {row + 1}, column {column + 1}"


def signed(value: float, digits: int = 2) -> str:
    return f"{value:+.{digits}f}".replace("-", "−")


class Canvas(QWidget):
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

    def _text(self, painter: QPainter, rect: QRectF, text: str | tuple[str, ...], align=Qt.AlignmentFlag.AlignLeft,
              bold: bool = False) -> None:
        """Draw `text` in `rect`; given several wordings, longest first, the first one that fits
        (the last one cut short with … when none does)."""
        if rect.width() < 4 or not text:
            return
        font = QFont(self.font())
        font.setBold(bold)
        painter.setFont(font)
        painter.drawText(rect, align | Qt.AlignmentFlag.AlignVCenter, self.fitted(text, rect.width(), bold))
        painter.setFont(self.font())

    def fitted(self, text: str | tuple[str, ...], width: float, bold: bool = False) -> str:
        """What `_text` shows of `text` in `width` pixels."""
        font = QFont(self.font())
        font.setBold(bold)
        metrics = QFontMetricsF(font)
        wordings = (text,) if isinstance(text, str) else text
        fitting = next((w for w in wordings if metrics.horizontalAdvance(w) <= width), wordings[-1])
        return metrics.elidedText(fitting, Qt.TextElideMode.ElideRight, width)

    def _paint_status(self, painter: QPainter, colour: QColor) -> None:
        painter.setPen(colour)
        self._text(painter, self._status_rect, self.status_text)

    @staticmethod
    def _grid(tiles: Tiles, left: float, top: float, tile: float, columns: int, gap: float = GAP) -> float:
        """Place the tiles in rows of `columns`; returns the height they take."""
        tiles.rects = [QRectF(left + (i % columns) * (tile + gap), top + (i // columns) * (tile + gap), tile, tile)
                       for i in range(tiles.count)]
        return math.ceil(tiles.count / columns) * (tile + gap)
