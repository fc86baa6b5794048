"""A status bar whose messages are cut to the room left beside its permanent labels, never under them.

QStatusBar paints a temporary message across its whole width, so a long one ran on under the seed
and device labels at the right. Here a message is shortened with … to the room it has, and shown
whole in the bar's tooltip.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QStatusBar, QWidget

# The bar's own margins and the gap Qt leaves before its permanent widgets, in pixels.
FRAME_ALLOWANCE = 24


class ElidingStatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._permanent: list[QWidget] = []
        self._full = ""
        self.messageChanged.connect(self._on_message_changed)

    def addPermanentWidget(self, widget: QWidget, stretch: int = 0) -> None:
        self._permanent.append(widget)
        super().addPermanentWidget(widget, stretch)

    def room(self) -> int:
        """The width a message has, left of the visible permanent widgets."""
        taken = sum(w.sizeHint().width() + self.layout().spacing() for w in self._permanent if w.isVisible())
        return max(0, self.width() - taken - FRAME_ALLOWANCE)

    def showMessage(self, text: str, timeout: int = 0) -> None:
        self._full = text
        # A bar not shown yet has no width of its own to cut to: the message stays whole.
        shown = self.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, self.room()) if self.isVisible() else text
        super().showMessage(shown, timeout)
        self.setToolTip(text if shown != text else "")

    def full_message(self) -> str:
        """The message as given, before any cut ("" once it has gone)."""
        return self._full if self.currentMessage() else ""

    def _on_message_changed(self, message: str) -> None:
        if not message:
            self._full = ""
            self.setToolTip("")
