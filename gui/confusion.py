"""The confusion matrix of the test digits, each digit's accuracy, and a gallery of the test images
behind any one cell.

`ConfusionMatrixView` takes plain numpy arrays from the main window (the test set once, results
after each epoch); it knows nothing about the trainer. Rows are true labels, columns predictions.
Beside the matrix, a table gives each digit's accuracy. Clicking a cell shows that cell's test
images in the `MisclassifiedGallery` below (clicking a digit's accuracy, all its misreadings): a
grid of thumbnails, each with its test-set index, the digit read and the model's confidence.

Both views sit on small item models that answer from numpy arrays, so an update is one model
reset rather than hundreds of per-item setter calls, and thumbnails are drawn only when seen.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractListModel, QAbstractTableModel, QEvent, QModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPalette, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListView,
    QSplitter,
    QStyle,
    QTableView,
    QVBoxLayout,
    QWidget,
)

DIGITS = 10
MIN_COUNT_POINTS = 6.5  # the smallest font the matrix's counts are shrunk to in a narrow window
THUMBNAIL_SCALE = 2  # 28×28 → 56×56, nearest neighbour, so pixels stay crisp
VALUE_ROLE = Qt.ItemDataRole.UserRole  # a matrix cell's count (int); a thumbnail's test-set index

# Tints blended into the palette's base colour: correct (diagonal) and error cells.
_CORRECT_TINT = QColor("#2f9e44")
_ERROR_TINT = QColor("#e03131")

Role = Qt.ItemDataRole


def as_uint8_images(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) images as uint8 ink (0 = background), from float in [0, 1] or uint8."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images
    return (np.clip(images, 0.0, 1.0) * 255).round().astype(np.uint8)


def thumbnail(image: np.ndarray) -> QPixmap:
    """A 28×28 uint8 image as a pixmap scaled up ×2, white ink on black as in MNIST."""
    big = np.ascontiguousarray(image.repeat(THUMBNAIL_SCALE, axis=0).repeat(THUMBNAIL_SCALE, axis=1))
    height, width = big.shape
    # copy(): the QImage must not keep pointing at the numpy buffer once `big` is gone.
    qimage = QImage(big.data, width, height, width, QImage.Format.Format_Grayscale8).copy()
    return QPixmap.fromImage(qimage)


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


def _plural(count: int) -> str:
    return f"{count:,} image{'' if count == 1 else 's'}"


class _ThumbnailModel(QAbstractListModel):
    """Test images by index, each captioned with its index, the digit read and the confidence;
    pixmaps are made when the view first asks for them."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.indices: list[int] = []
        self._images: np.ndarray | None = None
        self._labels: np.ndarray | None = None
        self._predictions: np.ndarray | None = None
        self._confidences: np.ndarray | None = None
        self._pixmaps: dict[int, QPixmap] = {}

    def set_items(self, indices: list[int], images: np.ndarray | None, labels: np.ndarray | None = None,
                  predictions: np.ndarray | None = None, confidences: np.ndarray | None = None) -> None:
        self.beginResetModel()
        self.indices, self._images = indices, images
        self._labels, self._predictions, self._confidences = labels, predictions, confidences
        self._pixmaps = {}
        self.endResetModel()

    def caption(self, test_index: int) -> str:
        """'#1234' over '9 · 87 %': the index, the digit read and how sure the model was."""
        lines = [f"#{test_index}"]
        if self._predictions is not None:
            read = str(int(self._predictions[test_index]))
            if self._confidences is not None:
                read += f" · {100 * float(self._confidences[test_index]):.0f} %"
            lines.append(read)
        return "\n".join(lines)

    def tooltip(self, test_index: int) -> str:
        text = f"test #{test_index}"
        if self._labels is not None and self._predictions is not None:
            text += f": true {int(self._labels[test_index])}, predicted {int(self._predictions[test_index])}"
            if self._confidences is not None:
                text += f" with {100 * float(self._confidences[test_index]):.1f} % confidence"
        return text

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.indices)

    def data(self, index: QModelIndex, role: int = Role.DisplayRole):
        if not index.isValid() or index.row() >= len(self.indices):
            return None
        test_index = self.indices[index.row()]
        if role == Role.DecorationRole:
            if test_index not in self._pixmaps:
                self._pixmaps[test_index] = thumbnail(self._images[test_index])
            return self._pixmaps[test_index]
        if role == Role.DisplayRole:
            return self.caption(test_index)
        if role in (Role.ToolTipRole, Role.AccessibleTextRole):
            return self.tooltip(test_index)
        if role == VALUE_ROLE:
            return test_index
        return None


class MisclassifiedGallery(QWidget):
    """A scrollable grid of captioned test-image thumbnails under a title, e.g. "True 4 → predicted 9: 12 images"."""

    MAX_THUMBNAILS = 200

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.model = _ThumbnailModel(self)
        self.list = QListView()
        self.list.setModel(self.model)
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setUniformItemSizes(True)
        self.list.setWordWrap(True)
        self.list.setSpacing(2)
        side = 28 * THUMBNAIL_SCALE
        self.list.setIconSize(QSize(side, side))
        # Room under each thumbnail for its two caption lines ("#1234", "9 · 87 %").
        lines = self.list.fontMetrics().lineSpacing()
        width = max(side, self.list.fontMetrics().horizontalAdvance("#10000 · ")) + 12
        self.list.setGridSize(QSize(width, side + 2 * lines + 10))
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.list.setAccessibleName("Test images of the selected cell")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.list, stretch=1)
        self.clear()

    def show_images(self, true: int, predicted: int | None, indices, images: np.ndarray | None,
                    labels: np.ndarray | None = None, predictions: np.ndarray | None = None,
                    confidences: np.ndarray | None = None) -> None:
        """Show the test images at `indices`: those of cell true/predicted, or with `predicted` None all
        the misread `true`s (at most 200 are drawn), captioned from `predictions` and `confidences`.

        `images` is the uint8 test set, or None while it has not arrived (the title still counts).
        """
        indices = [int(i) for i in indices]
        cell = f"True {true}, misread" if predicted is None else f"True {true} → predicted {predicted}"
        title = f"{cell}: {_plural(len(indices))}"
        shown = indices[: self.MAX_THUMBNAILS] if images is not None else []
        if images is None:
            title += " (the test images have not arrived)"
        elif len(indices) > len(shown):
            title += f" (showing the first {len(shown)})"
        self.title.setText(title)
        self.model.set_items(shown, images, labels, predictions, confidences)

    def clear(self) -> None:
        self.title.setText("Click a cell of the matrix to see its test images, or a digit's accuracy to see its misreadings.")
        self.model.set_items([], None)

    def indices(self) -> list[int]:
        """The test-set indices of the thumbnails shown, in order."""
        return list(self.model.indices)


class _ConfusionModel(QAbstractTableModel):
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
            return f"true {row}, predicted {column}: {_plural(count) if count else 'none'}{share if count else ''}"
        return None


class _PerDigitModel(QAbstractTableModel):
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


class ConfusionMatrixView(QWidget):
    """A 10×10 table of counts (rows true digit, columns predicted) beside a gallery of one cell's images."""

    cell_activated = Signal(int, int)  # true label, predicted label

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.caption = QLabel()
        self.caption.setStyleSheet("font-weight: bold")
        self.caption.setWordWrap(True)
        # Which model the numbers are of: the one after the latest epoch, not the saved best.
        self.scope = QLabel()
        self.scope.setWordWrap(True)
        self.scope.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        hint = QLabel("Rows: true digit · columns: predicted digit · click a cell to see its images")
        hint.setWordWrap(True)
        hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)

        self.model = _ConfusionModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setAccessibleName("Confusion matrix")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        for header in (self.table.horizontalHeader(), self.table.verticalHeader()):
            header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
            header.setMinimumSectionSize(24)
            header.setSectionsClickable(False)
        self.table.setMinimumSize(10 * 24 + 30, 10 * 22 + 30)
        # Mouse clicks, and Enter for the keyboard. Where the style activates on a single click,
        # `activated` covers both and `clicked` would report each click twice.
        if not self.table.style().styleHint(QStyle.StyleHint.SH_ItemView_ActivateItemOnSingleClick, None, self.table):
            self.table.clicked.connect(self._on_cell_clicked)
        self.table.activated.connect(self._on_cell_clicked)
        self.table.installEventFilter(self)  # its counts' font follows its width (_fit_counts)

        # Each digit's accuracy, row by row beside the matrix (both stretch their rows alike).
        self.digit_model = _PerDigitModel(self)
        self.digits = QTableView()
        self.digits.setModel(self.digit_model)
        self.digits.setAccessibleName("Accuracy of each digit")
        self.digits.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.digits.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.digits.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.digits.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.digits.verticalHeader().setMinimumSectionSize(24)
        self.digits.verticalHeader().hide()  # level with the matrix's rows, whose header names the digit
        self.digits.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.digits.setMinimumHeight(self.table.minimumHeight())
        self.digits.setSizeAdjustPolicy(QAbstractItemView.SizeAdjustPolicy.AdjustToContents)
        self.digits.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.digits.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        if not self.digits.style().styleHint(QStyle.StyleHint.SH_ItemView_ActivateItemOnSingleClick, None, self.digits):
            self.digits.clicked.connect(self._on_digit_clicked)
        self.digits.activated.connect(self._on_digit_clicked)

        tables = QHBoxLayout()
        tables.setContentsMargins(0, 0, 0, 0)
        tables.addWidget(self.table, stretch=1)
        tables.addWidget(self.digits)
        matrix_panel = QWidget()
        panel_layout = QVBoxLayout(matrix_panel)
        panel_layout.setContentsMargins(0, 0, 0, 0)
        panel_layout.addWidget(self.caption)
        panel_layout.addWidget(self.scope)
        panel_layout.addWidget(hint)
        panel_layout.addLayout(tables, stretch=1)

        self.gallery = MisclassifiedGallery()
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(matrix_panel)
        splitter.addWidget(self.gallery)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

        self._images: np.ndarray | None = None
        self._labels: np.ndarray | None = None
        self._predictions: np.ndarray | None = None
        self._confidences: np.ndarray | None = None
        self._epoch = 0
        self._best_epoch: int | None = None
        self._shown_cell: tuple[int, int | None] | None = None  # (true, predicted); predicted None: its misreadings
        self.clear()

    # Public API -------------------------------------------------------------------------------

    def set_test_set(self, images: np.ndarray, labels: np.ndarray) -> None:
        """The test images, (N, 28, 28) float in [0, 1] or uint8, and their labels (N,)."""
        images = as_uint8_images(images)
        labels = np.asarray(labels).astype(np.int64).ravel()
        if images.ndim != 3 or len(images) != len(labels):
            raise ValueError(f"expected (N, 28, 28) images and N labels, got {images.shape} and {labels.shape}")
        self._images, self._labels = images, labels
        self._refresh_gallery()

    def set_results(self, epoch: int, confusion: np.ndarray, predictions: np.ndarray,
                    confidences: np.ndarray | None = None) -> None:
        """Show an epoch's (10, 10) confusion counts; `predictions` (N,) and their `confidences` (N,)
        feed the gallery."""
        confusion = np.asarray(confusion).astype(np.int64)
        if confusion.shape != (DIGITS, DIGITS):
            raise ValueError(f"expected a ({DIGITS}, {DIGITS}) confusion matrix, got {confusion.shape}")
        self._predictions = np.asarray(predictions).astype(np.int64).ravel()
        self._confidences = None if confidences is None else np.asarray(confidences, dtype=np.float32).ravel()
        self._epoch = epoch
        total = int(confusion.sum())
        percent = 100.0 * int(np.trace(confusion)) / total if total else 0.0
        self.caption.setText(f"Epoch {epoch}, the latest: {percent:.2f} % of {total:,} test digits correct")
        self._show_scope()
        self.model.set_confusion(confusion, self.palette())
        self.digit_model.set_confusion(confusion)
        if self._shown_cell is not None:  # a model reset drops the selection; keep the shown cell marked
            true, predicted = self._shown_cell
            if predicted is None:
                self.digits.selectRow(true)
            else:
                self.table.setCurrentIndex(self.model.index(true, predicted))
        self._refresh_gallery()

    def set_best_epoch(self, epoch: int | None) -> None:
        """The epoch of the model saved as the best so far (None: none saved yet)."""
        self._best_epoch = epoch
        self._show_scope()

    def clear(self) -> None:
        """Forget the results (the test set stays) and empty the matrix and the gallery."""
        self._predictions = None
        self._confidences = None
        self._shown_cell = None
        self._epoch, self._best_epoch = 0, None
        self.caption.setText("No results yet: the matrix fills in after the first epoch.")
        self._show_scope()
        self.model.set_confusion(None, self.palette())
        self.digit_model.set_confusion(None)
        self.gallery.clear()

    def digit_accuracy(self, digit: int) -> float | None:
        """The accuracy shown for a digit (a fraction), or None while there are no results."""
        return self.digit_model.accuracy(digit)

    def count(self, true: int, predicted: int) -> int | None:
        """The count shown in a cell, or None while the matrix is empty."""
        return self.model.index(true, predicted).data(VALUE_ROLE)

    # Internals --------------------------------------------------------------------------------

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self.model.recolour(self.palette())  # cell colours are blended from the palette's base
        super().changeEvent(event)

    def eventFilter(self, watched, event) -> bool:
        if watched is self.table and event.type() == QEvent.Type.Resize:
            self._fit_counts()
        return super().eventFilter(watched, event)

    def _fit_counts(self) -> None:
        """A smaller font in the matrix when its columns are too narrow for four-digit counts (a small
        window), the widget's own font again when they are wide enough."""
        font = QFont(self.font())
        column = (self.table.width() - self.table.verticalHeader().width()) / DIGITS - 12  # the cell's own margins
        while QFontMetrics(font).horizontalAdvance("8888") > column and font.pointSizeF() > MIN_COUNT_POINTS:
            font.setPointSizeF(font.pointSizeF() - 0.5)
        if font != self.table.font():
            self.table.setFont(font)

    def _show_scope(self) -> None:
        if not self._epoch:
            self.scope.setText("")
        elif self._best_epoch == self._epoch:
            self.scope.setText(f"The model as it is after epoch {self._epoch}, which is also the best one saved.")
        elif self._best_epoch:
            self.scope.setText(f"The model as it is after epoch {self._epoch}; the best one saved is from epoch "
                               f"{self._best_epoch}.")
        else:
            self.scope.setText(f"The model as it is after epoch {self._epoch}; none has been saved yet.")

    def _on_cell_clicked(self, index: QModelIndex) -> None:
        if self.model.confusion is None:
            return  # nothing to show before the first results
        self._shown_cell = (index.row(), index.column())
        self.digits.clearSelection()
        self._refresh_gallery()
        self.cell_activated.emit(index.row(), index.column())

    def _on_digit_clicked(self, index: QModelIndex) -> None:
        if self.model.confusion is None:
            return
        self._shown_cell = (index.row(), None)
        self.table.clearSelection()
        self._refresh_gallery()

    def _refresh_gallery(self) -> None:
        confusion = self.model.confusion
        if self._shown_cell is None or confusion is None:
            return
        true, predicted = self._shown_cell
        labels, predictions = self._labels, self._predictions
        if labels is None or predictions is None or len(labels) != len(predictions):
            # No test set yet, or one of another size: the title counts from the matrix alone.
            count = int(confusion[true].sum() - confusion[true, true]) if predicted is None else int(confusion[true, predicted])
            self.gallery.show_images(true, predicted, range(count), None)
            return
        if predicted is None:
            indices = np.flatnonzero((labels == true) & (predictions != true))
        else:
            indices = np.flatnonzero((labels == true) & (predictions == predicted))
        confidences = self._confidences if self._confidences is not None and len(self._confidences) == len(labels) else None
        self.gallery.show_images(true, predicted, indices, self._images, labels, predictions, confidences)
