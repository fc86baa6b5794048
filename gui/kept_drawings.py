"""Keeping drawings as your digits: the keys 0–9 and the sketchpad's Keep as… put what is drawn in the
personal set (core.personal), then clear the canvas for the next one."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from mnistconv.core.personal import PersonalError

from .personal_view import keep_actions
from .probability_bars import with_article


class KeptDrawings(QObject):
    """`window` gives the sketchpad, the personal digits and their view, the tabs, messages and the
    status bar."""

    def __init__(self, window: QWidget):
        super().__init__(window)
        self.window = window
        window.sketchpad.keep_requested.connect(self.keep)
        self.actions = keep_actions(window, self.keep)

    def keep(self, label: int) -> bool:
        """Keep what is drawn in your digits as `label`, then clear the canvas for the next one."""
        window = self.window
        canvas = window.sketchpad.canvas
        if canvas.is_empty():
            window.statusBar().showMessage(f"Draw a {label} first, then keep it", 5000)
            return False
        try:
            kept = window.personal.add(canvas.ink(), label, canvas.strokes())
        except PersonalError as exc:
            window.messages.warn("Could not keep the drawing", str(exc))
            return False
        count = window.personal.list().counts()[label]
        window.statusBar().showMessage(f"Kept as {with_article(str(label))} in your digits ({count} of them; "
                                       f"{kept.path.name})", 5000)
        canvas.clear()
        if window.tabs.currentWidget() is window.personal_view:
            window.personal_view.refresh()
        return True
