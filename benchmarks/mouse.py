"""Raw mouse events for the sketchpad's canvas, as a person's mouse would send them.

qtbot.mouseMove carries no button state, so the benchmarks build the events themselves (as
tests/gui/test_sketchpad.py does).
"""

from __future__ import annotations


def send_mouse(canvas, kind, x: float, y: float, button, buttons) -> None:
    """One mouse event of `kind` at widget position (x, y), delivered to `canvas` at once."""
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    position = QPointF(x, y)
    event = QMouseEvent(kind, position, canvas.mapToGlobal(position), button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(canvas, event)
