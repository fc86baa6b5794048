"""Raw mouse events, as a person's mouse sends them: for drawing on the canvas from code.

The check-set scripts, the benchmarks and the tests draw digits through the real DrawingCanvas
with these. `qtbot.mouseMove` carries no button state, so a drag has to be built from raw events.
"""

from __future__ import annotations

from typing import Iterable

from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QWidget


def send_mouse(widget: QWidget, kind: QEvent.Type, x: float, y: float, button: Qt.MouseButton, buttons) -> None:
    """One mouse event of `kind` at widget position (x, y), delivered to `widget` at once."""
    position = QPointF(x, y)
    event = QMouseEvent(kind, position, widget.mapToGlobal(position), button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def drag(widget: QWidget, points: Iterable[tuple[float, float]]) -> None:
    """One stroke through `points` (widget coordinates): press, moves with the left button held, release."""
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    (x, y), *rest = [(float(px), float(py)) for px, py in points]
    send_mouse(widget, QEvent.Type.MouseButtonPress, x, y, left, left)
    for x, y in rest:
        send_mouse(widget, QEvent.Type.MouseMove, x, y, none, left)
    send_mouse(widget, QEvent.Type.MouseButtonRelease, x, y, left, none)
