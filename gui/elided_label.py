"""A one-line label that cuts a text too long for its width with "…", whole in its tooltip.

For a line whose text can grow while the window keeps its size (the training panel's reason why a
network cannot be built): a word-wrapped label would take a second line from the rows around it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class ElidedLabel(QLabel):
    """`text()` is the whole text; `shown_text()` what fits on the line."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._whole = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # never widens its row

    def setText(self, text: str) -> None:
        self._whole = text
        self._elide()

    def text(self) -> str:
        return self._whole

    def shown_text(self) -> str:
        return super().text()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        shown = self.fontMetrics().elidedText(self._whole, Qt.TextElideMode.ElideRight, max(self.width(), 1))
        super().setText(shown)
        self.setToolTip(self._whole if shown != self._whole else "")
