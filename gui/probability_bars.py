"""Ten probability bars, one per digit, painted by one widget.

The sketchpad updates them with every reading, dozens of times a second while someone draws.
Ten styled QProgressBars (with their ten labels) took about 3 ms to paint per reading; this widget
draws the same rows (digit, bar, percentage) with a handful of QPainter calls and repaints only
when what it shows has changed.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QRect, QSize, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

STEPS = 1000  # a bar's resolution: probabilities are shown in steps of 0.1 %
ROW_SPACING = 2
MIN_BAR_HEIGHT = 18


def with_article(label: str) -> str:
    """'a 3', 'an 8': the label as English reads it aloud."""
    return f"{'an' if str(label).startswith('8') else 'a'} {label}"


class ProbabilityBars(QWidget):
    """One row per class: its label, a bar filled to its probability, and the percentage. Clicking a
    row says which (`row_clicked`)."""

    row_clicked = Signal(int)

    def __init__(self, labels: Sequence[str] = tuple("0123456789"), parent: QWidget | None = None):
        super().__init__(parent)
        self._labels = [str(label) for label in labels]
        self._values = [0] * len(self._labels)  # in STEPS
        self._top: int | None = None  # the row in bold: the reading's answer
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAccessibleName("Probability of each digit")
        self._describe()

    # -- public ---------------------------------------------------------------------------------
    def set_probabilities(self, probabilities: Sequence[float] | None) -> None:
        """Show these probabilities (one per label, 0–1); None empties every bar."""
        if probabilities is None:
            values, top = [0] * len(self._labels), None
        else:
            if len(probabilities) != len(self._labels):
                raise ValueError(f"expected {len(self._labels)} probabilities, got {len(probabilities)}")
            floats = [float(p) for p in probabilities]
            values = [min(STEPS, max(0, round(p * STEPS))) for p in floats]
            top = max(range(len(floats)), key=floats.__getitem__)  # the first of equals, as argmax
        if values == self._values and top == self._top:
            return  # nothing to repaint
        self._values, self._top = values, top
        self._describe()
        self.update()

    def values(self) -> list[int]:
        """What each bar shows, in steps of 1/STEPS."""
        return list(self._values)

    def bold_row(self) -> int | None:
        """The row shown in bold (the most probable), or None when the bars are empty."""
        return self._top

    def text(self, row: int) -> str:
        """The percentage written on a row's bar, as painted: whole percents, but a tenth near the ends,
        where calibrated readings gather (99.5 % is not 100 %, nor 0.4 % nothing)."""
        percent = 100 * self._values[row] / STEPS
        return f"{percent:.1f} %" if 0 < self._values[row] < STEPS and (percent > 99 or percent < 1) else f"{percent:.0f} %"

    # -- geometry -------------------------------------------------------------------------------
    def _row_height(self) -> int:
        return max(MIN_BAR_HEIGHT, self.fontMetrics().height() + 4)

    def _label_width(self) -> int:
        bold = QFont(self.font())
        bold.setBold(True)
        metrics = QFontMetrics(bold)
        return max(metrics.horizontalAdvance(label) for label in self._labels) + 6

    def sizeHint(self) -> QSize:
        rows = len(self._labels)
        return QSize(self._label_width() + 160, rows * self._row_height() + (rows - 1) * ROW_SPACING)

    def minimumSizeHint(self) -> QSize:
        return QSize(self._label_width() + 60, self.sizeHint().height())

    def mouseReleaseEvent(self, event) -> None:
        row = self._row_at(round(event.position().y()))
        if event.button() == Qt.MouseButton.LeftButton and row is not None:
            self.row_clicked.emit(row)
        super().mouseReleaseEvent(event)

    def _row_at(self, y: int) -> int | None:
        """The row under height y, or None between rows and beyond the last."""
        pitch = self._row_height() + ROW_SPACING
        row = y // pitch
        return row if 0 <= row < len(self._labels) and y - row * pitch < self._row_height() else None

    # -- painting -------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        palette = self.palette()
        label_colour = palette.color(QPalette.ColorRole.WindowText)
        track_colour = palette.color(QPalette.ColorRole.Base)
        fill_colour = palette.color(QPalette.ColorRole.Highlight)
        border_colour = palette.color(QPalette.ColorRole.Mid)
        text_on_fill = palette.color(QPalette.ColorRole.HighlightedText)
        text_on_track = palette.color(QPalette.ColorRole.Text)
        font = self.font()
        bold = QFont(font)
        bold.setBold(True)
        label_width = self._label_width()
        height = self._row_height()
        width = self.width() - label_width
        centre = Qt.AlignmentFlag.AlignCenter
        for row, (label, value) in enumerate(zip(self._labels, self._values)):
            top = row * (height + ROW_SPACING)
            if not event.rect().intersects(QRect(0, top, self.width(), height)):
                continue
            painter.setFont(bold if row == self._top else font)
            painter.setPen(label_colour)
            painter.drawText(QRect(0, top, label_width, height), Qt.AlignmentFlag.AlignVCenter, label)
            track = QRect(label_width, top, width, height)
            filled = round(width * value / STEPS)
            painter.fillRect(track, track_colour)
            painter.fillRect(QRect(label_width, top, filled, height), fill_colour)
            painter.setPen(border_colour)
            painter.drawRect(track.adjusted(0, 0, -1, -1))
            # The percentage in the middle, in the fill's text colour where it lies on the fill.
            text = self.text(row)
            painter.setFont(font)
            if filled > 0:
                painter.setClipRect(QRect(label_width, top, filled, height))
                painter.setPen(text_on_fill)
                painter.drawText(track, centre, text)
            if filled < width:
                painter.setClipRect(QRect(label_width + filled, top, width - filled, height))
                painter.setPen(text_on_track)
                painter.drawText(track, centre, text)
            painter.setClipping(False)

    # -- tooltips and accessibility ---------------------------------------------------------------
    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            row = self._row_at(event.pos().y())
            if row is None:
                QToolTip.hideText()
            else:
                QToolTip.showText(event.globalPos(),
                                  f"Probability that the drawing is {with_article(self._labels[row])}: "
                                  f"{100 * self._values[row] / STEPS:.1f} %\n"
                                  f"Click to keep the drawing in your digits as {with_article(self._labels[row])}", self)
            return True
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self.updateGeometry()
        return super().event(event)

    def _describe(self) -> None:
        self.setAccessibleDescription(", ".join(f"{label}: {self.text(row)}" for row, label in enumerate(self._labels)))
