"""The confusion matrix view's item models: the 10×10 counts with their colours and tooltips, and each
digit's accuracy, both answering from a numpy confusion matrix (an update is one model reset)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QColor, QPalette

from .gallery import plural

DIGITS = 10
VALUE_ROLE = Qt.ItemDataRole.UserRole  # a matrix cell's count (int)

# Tints blended into the palette's base colour: correct (diagonal) and error cells.
_CORRECT_TINT = QColor("#2f9e44")
_ERROR_TINT = QColor("#e03131")

Role = Qt.ItemDataRole


def _blend(base: QColor, tint: QColor, amount: float) -> QColor:
    amount = min(max(amount, 0.0), 1.0)
    return QColor.fromRgbF(
        base.redF() + (tint.redF() - base.redF()) * amount,
        base.greenF() + (tint.greenF() - base.greenF()) * amount,
        base.blueF() + (tint.blueF() - base.blueF()) * amount,
    )


def _readable_text(background: QColor) -> QColor:
    # Luminance, roughly (sRGB weights, no gamma): dark text on light cells and vice versa.
    luminance = 0.2126 * background.redF() + 0.7152 * background.greenF() + 0.0722 * background.blueF()
    return QColor(Qt.GlobalColor.black) if luminance > 0.5 else QColor(Qt.GlobalColor.white)


class ConfusionModel(QAbstractTableModel):
    """A 10×10 table answering counts, colours and tooltips from a confusion matrix (or nothing)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.confusion: np.ndarray | None = None
        self._backgrounds: list[list[QColor | None]] = []
        self._foregrounds: list[list[QColor]] = []

    def set_confusion(self, confusion: np.ndarray | None, palette: QPalette) -> None:
        self.beginResetModel()
        self.confusion = confusion
        self._colour(palette)
        self.endResetModel()

    def recolour(self, palette: QPalette) -> None:
        if self.confusion is not None:
            self._colour(palette)
            self.dataChanged.emit(self.index(0, 0), self.index(DIGITS - 1, DIGITS - 1))

    def _colour(self, palette: QPalette) -> None:
        """Precompute cell colours (data() is called on every repaint)."""
        self._backgrounds, self._foregrounds = [], []
        if self.confusion is None:
            return
        base = palette.color(QPalette.ColorRole.Base)
        faint = palette.color(QPalette.ColorRole.PlaceholderText)
        diagonal = np.diag(self.confusion)
        max_diagonal = max(int(diagonal.max()), 1)
        max_error = max(int((self.confusion - np.diag(diagonal)).max()), 1)
        for row in range(DIGITS):
            backgrounds, foregrounds = [], []
            for column in range(DIGITS):
                count = int(self.confusion[row, column])
                if row == column:
                    # Every diagonal cell is clearly green; its depth follows the class size.
                    background = _blend(base, _CORRECT_TINT, 0.35 + 0.5 * count / max_diagonal)
                elif count:
                    # sqrt: a cell with one error still shows, the worst one is the reddest.
                    background = _blend(base, _ERROR_TINT, 0.15 + 0.7 * float(np.sqrt(count / max_error)))
                else:
                    background = None
                backgrounds.append(background)
                foregrounds.append(_readable_text(background) if background is not None else faint)
            self._backgrounds.append(backgrounds)
            self._foregrounds.append(foregrounds)

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else DIGITS

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else DIGITS

    def flags(self, index: QModelIndex):
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def headerData(self, section: int, orientation, role: int = Role.DisplayRole):
        if role == Role.DisplayRole:
            return str(section)
        if role == Role.ToolTipRole:
            return f"{'predicted' if orientation == Qt.Orientation.Horizontal else 'true'} {section}"
        return None

    def data(self, index: QModelIndex, role: int = Role.DisplayRole):
        if not index.isValid():
            return None
        if role == Role.TextAlignmentRole:
            return Qt.AlignmentFlag.AlignCenter
        if self.confusion is None:
            return None
        row, column = index.row(), index.column()
        count = int(self.confusion[row, column])
        if role == Role.DisplayRole:
            return str(count)
        if role == VALUE_ROLE:
            return count
        if role == Role.BackgroundRole:
            return self._backgrounds[row][column]
        if role == Role.ForegroundRole:
            return self._foregrounds[row][column]
        if role in (Role.ToolTipRole, Role.AccessibleTextRole):
            total = int(self.confusion[row].sum())
            share = f" ({100.0 * count / total:.2f} % of the {row}s)" if total else ""
            if row == column:
                return f"true {row}, predicted {column}: {count:,} correct{share}"
            return f"true {row}, predicted {column}: {plural(count) if count else 'none'}{share if count else ''}"
        return None


class PerDigitModel(QAbstractTableModel):
    """Each digit's accuracy and misread count, from the confusion matrix's rows."""

    HEADERS = ("Accuracy",)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.confusion: np.ndarray | None = None

    def set_confusion(self, confusion: np.ndarray | None) -> None:
        self.beginResetModel()
        self.confusion = confusion
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else DIGITS

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def flags(self, index: QModelIndex):
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def headerData(self, section: int, orientation, role: int = Role.DisplayRole):
        if role == Role.DisplayRole:
            return self.HEADERS[section] if orientation == Qt.Orientation.Horizontal else str(section)
        if role == Role.ToolTipRole and orientation == Qt.Orientation.Horizontal:
            return "Share of each digit's test images read right (level with its row of the matrix)"
        return None

    def accuracy(self, digit: int) -> float | None:
        """The digit's accuracy (a fraction), or None without results or test images of it."""
        if self.confusion is None:
            return None
        total = int(self.confusion[digit].sum())
        return int(self.confusion[digit, digit]) / total if total else None

    def data(self, index: QModelIndex, role: int = Role.DisplayRole):
        if not index.isValid():
            return None
        if role == Role.TextAlignmentRole:
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        if self.confusion is None:
            return None
        digit = index.row()
        total = int(self.confusion[digit].sum())
        right = int(self.confusion[digit, digit])
        accuracy = self.accuracy(digit)
        if role == Role.DisplayRole:
            return "–" if accuracy is None else f"{100 * accuracy:.1f} %"
        if role == VALUE_ROLE:
            return accuracy
        if role in (Role.ToolTipRole, Role.AccessibleTextRole):
            if accuracy is None:
                return f"{digit}: no test images"
            return (f"{digit}: {right:,} of {total:,} read right ({100 * accuracy:.2f} %), {total - right:,} misread; "
                    "click to see the misread ones")
        return None
