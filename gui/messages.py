"""Messages for a person in window-modal boxes that never block the event loop (training signals keep
flowing while one is open)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget


class Messages:
    def __init__(self, parent: QWidget):
        self.parent = parent
        self.dialogs: list[QMessageBox] = []  # those open now

    def show(self, icon: QMessageBox.Icon, title: str, text: str, details: str = "") -> QMessageBox:
        box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, self.parent)
        if details:
            box.setDetailedText(details)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _=None, b=box: self.dialogs.remove(b) if b in self.dialogs else None)
        self.dialogs.append(box)
        box.open()
        return box

    def warn(self, title: str, text: str, details: str = "") -> QMessageBox:
        return self.show(QMessageBox.Icon.Warning, title, text, details)

    def close_all(self) -> None:
        for box in list(self.dialogs):
            box.close()
