"""The dialog that edits a run's note: free text, kept in the run store."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QMessageBox, QPlainTextEdit, QVBoxLayout, QWidget

from mnistconv.core.runstore import Run


class NoteDialog(QDialog):
    """OK hands the text to `keep(run_id, note)` ("" clears the note), which stores it and gives back
    None, or the reason it was refused: then that is said and the dialog stays open with the text."""

    def __init__(self, run: Run, keep: Callable[[int, str], str | None], parent: QWidget | None = None):
        super().__init__(parent)
        self.run_id = run.id
        self._keep = keep
        self.refusal: QMessageBox | None = None
        self.setWindowTitle(f"Run {run.id}: note")
        self.editor = QPlainTextEdit(run.note or "")
        self.editor.setAccessibleName("Note")
        self.editor.setPlaceholderText("What this run tried, what it showed…")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        label = QLabel(f"Note on run {run.id} ({run.title}); the run's row shows it as its tooltip:")
        label.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(label)
        layout.addWidget(self.editor)
        layout.addWidget(self.buttons)
        self.resize(460, 260)

    def text(self) -> str:
        return self.editor.toPlainText()

    def accept(self) -> None:
        reason = self._keep(self.run_id, self.text())
        if reason is None:
            super().accept()
            return
        self.refusal = QMessageBox(QMessageBox.Icon.Warning, "Note not kept", reason, QMessageBox.StandardButton.Ok, self)
        self.refusal.setTextFormat(Qt.TextFormat.PlainText)
        self.refusal.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.refusal.open()
