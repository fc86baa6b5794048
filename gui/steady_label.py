"""A label for text that changes many times a second, without re-laying out the window.

QLabel.setText asks the layouts above it to recompute on every change: for the sketchpad's digit
and confidence, read dozens of times a second while someone draws, that was a layout pass of the
whole main window per reading (and a geometry animation started by QMainWindow each time). A
SteadyLabel keeps the size its owner gives it and only repaints. The training panel's progress
detail, rewritten with every batch report, is one too.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget


class SteadyLabel(QWidget):
    """Word-wrapped text (centred unless told otherwise) in a box whose size never follows the text.

    Give it its height (setFixedHeight) for the longest text it must show; text that does not fit
    is cut off at the box's edge, and then shown whole in the tooltip.
    """

    def __init__(self, parent: QWidget | None = None, alignment: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignCenter):
        super().__init__(parent)
        self._flags = alignment | Qt.TextFlag.TextWordWrap
        self._text = ""
        self._font: QFont | None = None  # None: the widget's own font
        self._colour: QColor | None = None  # None: the palette's text colour
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def text(self) -> str:
        return self._text

    def font_shown(self) -> QFont:
        """The font the text is painted in."""
        return QFont(self._font) if self._font is not None else self.font()

    def colour_shown(self) -> QColor:
        """The colour the text is painted in."""
        return QColor(self._colour) if self._colour is not None else self.palette().color(QPalette.ColorRole.WindowText)

    def set_text(self, text: str, font: QFont | None = None, colour: QColor | None = None) -> None:
        """Show `text` in `font` and `colour` (None: the widget's own); repaints only on a change."""
        if text == self._text and font == self._font and colour == self._colour:
            return
        self._text, self._font, self._colour = text, font, colour
        self.setAccessibleName(text)
        self.update()

    def is_cut_off(self) -> bool:
        """Whether the text, wrapped to the box's width, needs more room than the box has."""
        needed = QFontMetrics(self.font_shown()).boundingRect(self.rect(), self._flags, self._text)
        return needed.height() > self.height() or needed.width() > self.width()

    def clear(self) -> None:
        self.set_text("")

    def sizeHint(self) -> QSize:
        return QSize(self.minimumWidth(), self.minimumHeight() or self.fontMetrics().height())

    def event(self, event) -> bool:
        # Hovering shows the whole text where the box cuts it off (decided now, not kept up to date).
        if event.type() == QEvent.Type.ToolTip and self._text and self.is_cut_off():
            QToolTip.showText(event.globalPos(), self._text, self)
            return True
        return super().event(event)

    def paintEvent(self, event) -> None:
        if not self._text:
            return
        painter = QPainter(self)
        painter.setFont(self.font_shown())
        painter.setPen(self.colour_shown())
        painter.drawText(self.rect(), self._flags, self._text)
