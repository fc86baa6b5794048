"""A read-only, timestamped log of training events, in the words of the seed's log lines."""

from __future__ import annotations

import collections
import datetime as dt
import html

from PySide6.QtWidgets import QPlainTextEdit, QWidget

MAX_LINES = 5000  # the oldest lines go, in the widget and in lines()

COLOURS = {"info": None, "warning": "#c77c02", "error": "#d0342c", "success": "#2e8b57"}


class EventLog(QPlainTextEdit):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setReadOnly(True)
        self.setMaximumBlockCount(MAX_LINES)
        self.setPlaceholderText("Training events appear here.")
        self._lines: collections.deque[str] = collections.deque(maxlen=MAX_LINES)
        self._following = True
        self.verticalScrollBar().valueChanged.connect(self._on_scrolled)

    def add(self, text: str, level: str = "info") -> None:
        stamp = dt.datetime.now().strftime("%H:%M:%S")
        line = f"{stamp}  {text}"
        self._lines.append(line)
        colour = COLOURS.get(level)
        escaped = html.escape(line).replace("  ", "&nbsp;&nbsp;")
        self.appendHtml(f'<span style="color:{colour}">{escaped}</span>' if colour else escaped)
        self._follow_if_reading_the_end()

    # Qt follows new lines only while the last one is wholly in view. When the log is made shorter
    # (the panel above it grows during training) the end moves out of view without the reader
    # scrolling, and new lines then went on below the visible area. So the log remembers whether
    # the reader is at the end (they scrolled there, or never away) and keeps them there.
    def _on_scrolled(self, value: int) -> None:
        self._following = value >= self.verticalScrollBar().maximum() - 1

    def _follow_if_reading_the_end(self) -> None:
        if self._following:
            bar = self.verticalScrollBar()
            bar.setValue(bar.maximum())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._follow_if_reading_the_end()

    def lines(self) -> list[str]:
        return list(self._lines)
