"""My digits: the personal set as a grid by digit, with counts, how the current model reads each,
delete and relabel, import and export, and the button that fits the model to them.

Pictures are decoded only when the grid shows them (the model asks for each item's picture as it
comes into view), so a set of ten thousand lists at once; each reading is cached until the model
changes. Files that are not digit pictures are named in a note, never shown as errors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QAbstractListModel, QEvent, QModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QAction, QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListView,
    QMenu,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mnistconv.core.personal import DIGITS, PersonalDigit, PersonalDigits, PersonalError, digit_image

from .file_places import remember, start_in
from .guarded_model import GuardedData

THUMB = 56
MISREAD_COLOUR = QColor("#e03131")
ITEM_ROLE = Qt.ItemDataRole.UserRole
ITEM_SIZE = QSize(THUMB + 48, THUMB + 24)  # a thumbnail and a caption such as "0 → read 8"


class PersonalModel(GuardedData, QAbstractListModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.digits: list[PersonalDigit] = []
        self.predictor = None
        self._pictures: dict[Path, QPixmap | None] = {}
        self._images: dict[Path, np.ndarray | None] = {}
        self._readings: dict[Path, int | None] = {}

    def set_digits(self, digits: list[PersonalDigit]) -> None:
        self.beginResetModel()
        self.digits = digits
        keep = {digit.path for digit in digits}
        for cache in (self._pictures, self._images, self._readings):
            for path in [path for path in cache if path not in keep]:
                del cache[path]
        self.endResetModel()

    def set_predictor(self, predictor) -> None:
        self.predictor = predictor
        self._readings.clear()
        if self.digits:
            self.dataChanged.emit(self.index(0), self.index(len(self.digits) - 1))

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.digits)

    def image(self, digit: PersonalDigit) -> np.ndarray | None:
        if digit.path not in self._images:
            try:
                self._images[digit.path] = digit_image(digit.path)
            except PersonalError:
                self._images[digit.path] = None
        return self._images[digit.path]

    def reading(self, digit: PersonalDigit) -> int | None:
        """The digit the current model reads in it (None: no model, or not readable)."""
        if digit.path not in self._readings:
            image = self.image(digit)
            answer = None
            if image is not None and self.predictor is not None:
                try:
                    answer = int(np.asarray(self.predictor.predict(image))[0].argmax())
                except Exception:  # noqa: BLE001 - a model that fails reads nothing; the grid stays
                    answer = None
            self._readings[digit.path] = answer
        return self._readings[digit.path]

    def _pixmap(self, digit: PersonalDigit) -> QPixmap | None:
        if digit.path not in self._pictures:
            image = self.image(digit)
            if image is None:
                self._pictures[digit.path] = None
            else:
                pixels = np.ascontiguousarray((np.clip(image, 0, 1) * 255).astype(np.uint8))
                picture = QImage(pixels.data, 28, 28, 28, QImage.Format.Format_Grayscale8).copy()
                pixmap = QPixmap.fromImage(picture.scaled(THUMB, THUMB))
                self._pictures[digit.path] = pixmap
        pixmap = self._pictures[digit.path]
        if pixmap is None:
            return None
        reading = self.reading(digit)
        if reading is None or reading == digit.label:
            return pixmap
        marked = QPixmap(pixmap)  # a misread one gets a red frame
        painter = QPainter(marked)
        painter.setPen(QPen(MISREAD_COLOUR, 4))
        painter.drawRect(marked.rect().adjusted(2, 2, -2, -2))
        painter.end()
        return marked

    def cell(self, index: QModelIndex, role: int):
        digit = self.digits[index.row()]
        if role == Qt.ItemDataRole.DecorationRole:
            return self._pixmap(digit)
        if role == Qt.ItemDataRole.DisplayRole:
            reading = self.reading(digit)
            if self.image(digit) is None:
                return f"{digit.label}: unreadable"
            return f"{digit.label}" if reading in (None, digit.label) else f"{digit.label} → read {reading}"
        if role == Qt.ItemDataRole.ForegroundRole:
            reading = self.reading(digit)
            return MISREAD_COLOUR if reading is not None and reading != digit.label else None
        if role == Qt.ItemDataRole.ToolTipRole:
            reading = self.reading(digit)
            read = "" if reading is None else f"; the model reads {reading}"
            return f"A {digit.label} of yours ({digit.path.name}){read}"
        if role == Qt.ItemDataRole.SizeHintRole:
            return ITEM_SIZE  # every item as large as the longest caption needs (the grid asks one item for all)
        if role == ITEM_ROLE:
            return digit
        return None


class PersonalView(QWidget):
    fit_requested = Signal()
    changed = Signal()  # digits added, deleted, relabelled or imported

    def __init__(self, digits: PersonalDigits, parent: QWidget | None = None):
        super().__init__(parent)
        self.digits = digits
        self.counts_label = QLabel()
        self.counts_label.setWordWrap(True)
        self.notes_label = QLabel()
        self.notes_label.setWordWrap(True)
        self.notes_label.setForegroundRole(self.notes_label.foregroundRole())
        self.filter_combo = QComboBox()
        self.filter_combo.addItem("All digits", None)
        for label in DIGITS:
            self.filter_combo.addItem(f"{label}s", label)
        self.filter_combo.currentIndexChanged.connect(self.refresh)
        self.model = PersonalModel(self)
        self.grid = QListView()
        self.grid.setModel(self.model)
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setMovement(QListView.Movement.Static)
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setUniformItemSizes(True)
        self.grid.setIconSize(QSize(THUMB, THUMB))
        self.grid.setGridSize(ITEM_SIZE)
        self.grid.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.grid.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.grid.customContextMenuRequested.connect(self._on_context_menu)
        self.grid.setAccessibleName("Your digits")
        self.grid.installEventFilter(self)

        self.fit_button = QPushButton("Fit to my hand&writing")
        self.fit_button.setToolTip("Fine-tune the sketchpad's model on these digits mixed with MNIST's; kept only if "
                                   "MNIST test accuracy stays within 0.2 points")
        self.fit_button.clicked.connect(self.fit_requested)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self.delete_selected)
        self.relabel_button = QPushButton("Relabel as…")
        relabel_menu = QMenu(self.relabel_button)
        for label in DIGITS:
            relabel_menu.addAction(str(label), lambda label=label: self.relabel_selected(label))
        self.relabel_button.setMenu(relabel_menu)
        self.import_button = QPushButton("Import…")
        self.import_button.setToolTip("Copy in a folder of digit pictures in folders 0 … 9")
        self.import_button.clicked.connect(self._on_import)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Copy your digits (pictures and strokes) to a folder, in folders 0 … 9")
        self.export_button.clicked.connect(self._on_export)

        # Short rows, so the tab fits beside the sketchpad in the smallest window; the counts get a
        # row of their own (beside the buttons they wrapped into a tall column).
        top = QHBoxLayout()
        top.addWidget(self.filter_combo)
        top.addStretch(1)
        top.addWidget(self.delete_button)
        top.addWidget(self.relabel_button)
        buttons = QHBoxLayout()
        buttons.addWidget(self.fit_button)
        buttons.addStretch(1)
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.counts_label)
        layout.addWidget(self.grid, 1)
        layout.addWidget(self.notes_label)
        layout.addLayout(buttons)
        self.refresh()

    def set_predictor(self, predictor) -> None:
        self.model.set_predictor(predictor)

    def refresh(self) -> None:
        listing = self.digits.list()
        wanted = self.filter_combo.currentData()
        shown = [digit for digit in listing.digits if wanted is None or digit.label == wanted]
        self.model.set_digits(shown)
        counts = listing.counts()
        total = sum(counts.values())
        self.counts_label.setText(
            f"{total:,} digit{'' if total == 1 else 's'} of yours: " + ", ".join(f"{counts[d]} × {d}" for d in DIGITS)
            if total else "None yet: draw a digit, then press its key (or click its bar) to keep it here.")
        self.notes_label.setText("Skipped: " + "; ".join(listing.skipped[:3]) + (" …" if len(listing.skipped) > 3 else "")
                                 if listing.skipped else "")
        self.fit_button.setEnabled(total > 0)

    def selected(self) -> list[PersonalDigit]:
        return [index.data(ITEM_ROLE) for index in self.grid.selectionModel().selectedIndexes()]

    def delete_selected(self) -> None:
        chosen = self.selected()
        if not chosen:
            return
        answer = QMessageBox.question(self, "Delete digits", f"Delete {len(chosen)} of your digits?",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        if answer != QMessageBox.StandardButton.Yes:
            return
        self._each(chosen, self.digits.delete)

    def relabel_selected(self, label: int) -> None:
        self._each(self.selected(), lambda digit: self.digits.relabel(digit, label))

    def _each(self, chosen: list[PersonalDigit], action) -> None:
        try:
            for digit in chosen:
                action(digit)
        except PersonalError as exc:
            QMessageBox.warning(self, "Your digits", str(exc))
        self.refresh()
        self.changed.emit()

    def _on_context_menu(self, position) -> None:
        if not self.selected():
            return
        menu = QMenu(self)
        menu.addAction("Delete", self.delete_selected)
        relabel = menu.addMenu("Relabel as")
        for label in DIGITS:
            relabel.addAction(str(label), lambda label=label: self.relabel_selected(label))
        menu.exec(self.grid.viewport().mapToGlobal(position))

    def eventFilter(self, watched, event) -> bool:
        if watched is self.grid and event.type() in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress):
            if event.key() == Qt.Key.Key_Delete and event.modifiers() == Qt.KeyboardModifier.NoModifier:
                if event.type() == QEvent.Type.ShortcutOverride:
                    event.accept()  # Delete deletes digits here, not the sketchpad's drawing
                else:
                    self.delete_selected()
                return True
        return super().eventFilter(watched, event)

    def import_folder(self, folder: Path) -> tuple[int, list[str]]:
        copied, skipped = self.digits.import_folder(folder)
        self.refresh()
        self.changed.emit()
        return copied, skipped

    def _on_import(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import digits (a folder with folders 0 … 9)", start_in())
        if not folder:
            return
        remember(folder)
        try:
            copied, skipped = self.import_folder(Path(folder))
        except PersonalError as exc:
            QMessageBox.warning(self, "Could not import", str(exc))
            return
        note = f"\n\nSkipped {len(skipped)}: " + "; ".join(skipped[:5]) if skipped else ""
        QMessageBox.information(self, "Imported", f"Copied {copied} digit pictures into your digits.{note}")

    def _on_export(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export your digits to a folder", start_in())
        if not folder:
            return
        remember(folder)
        try:
            count = self.digits.export_to(Path(folder))
        except OSError as exc:
            QMessageBox.warning(self, "Could not export", f"{folder}: {exc.strerror or exc}")
            return
        QMessageBox.information(self, "Exported", f"Copied {count} digits to {folder}, in folders 0 … 9.")


def keep_actions(parent: QWidget, keep) -> list[QAction]:
    """The keys 0–9 as window-wide actions that keep the drawing as that digit (text fields keep their keys)."""
    actions = []
    for label in DIGITS:
        action = QAction(f"Keep the drawing as a {label}", parent)
        action.setShortcut(str(label))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(lambda checked=False, label=label: keep(label))
        parent.addAction(action)
        actions.append(action)
    return actions
