"""The confusion matrix of the test digits, each digit's accuracy, and a gallery of the test images
behind any one cell.

`ConfusionMatrixView` takes plain numpy arrays from the main window (the test set once, results
after each epoch); it knows nothing about the trainer. Rows are true labels, columns predictions.
Beside the matrix, a table gives each digit's accuracy. Clicking a cell shows that cell's test
images in the `MisclassifiedGallery` below (clicking a digit's accuracy, all its misreadings): a
grid of thumbnails, each with its test-set index, the digit read and the model's confidence.

A slider goes back over the run's epochs: the matrix, the accuracies and the gallery then show that
epoch's results. Any test image in the gallery can be opened in the sketchpad (double-click, Enter,
its context menu or the button under the gallery): the view asks for it with
`open_in_sketchpad_requested`, the window does it.

Both views sit on small item models that answer from numpy arrays, so an update is one model
reset rather than hundreds of per-item setter calls, and thumbnails are drawn only when seen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QEvent, QModelIndex, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSlider,
    QSplitter,
    QStyle,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from .confusion_models import DIGITS, VALUE_ROLE, ConfusionModel, PerDigitModel
from .gallery import MisclassifiedGallery, as_uint8_images

MIN_COUNT_POINTS = 6.5  # the smallest font the matrix's counts are shrunk to in a narrow window


@dataclass(frozen=True)
class EpochResults:
    """One epoch's results on the test set, as EpochFinished carries them."""

    confusion: np.ndarray  # (10, 10) int64
    predictions: np.ndarray  # (N,) int16: the digit read for each test image
    confidences: np.ndarray | None  # (N,) float32


class ConfusionMatrixView(QWidget):
    """A 10×10 table of counts (rows true digit, columns predicted) beside a gallery of one cell's images."""

    cell_activated = Signal(int, int)  # true label, predicted label
    open_in_sketchpad_requested = Signal(int)  # a test-set index

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
        # Back over the run's epochs: the matrix, the accuracies and the gallery of the epoch chosen.
        self.epoch_slider = QSlider(Qt.Orientation.Horizontal)
        self.epoch_slider.setAccessibleName("Epoch shown")
        self.epoch_slider.setToolTip("Show the results after an earlier epoch of this run")
        self.epoch_slider.setPageStep(1)
        self.epoch_slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.epoch_slider.valueChanged.connect(self._on_slider_moved)
        self.epoch_label = QLabel()
        self.epoch_label.setMinimumWidth(self.epoch_label.fontMetrics().horizontalAdvance("epoch 000 of 000") + 8)
        epoch_row = QHBoxLayout()
        epoch_row.setContentsMargins(0, 0, 0, 0)
        epoch_row.addWidget(QLabel("Epoch:"))
        epoch_row.addWidget(self.epoch_slider, stretch=1)
        epoch_row.addWidget(self.epoch_label)

        self.model = ConfusionModel(self)
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
        self.digit_model = PerDigitModel(self)
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
        panel_layout.addLayout(epoch_row)
        panel_layout.addWidget(hint)
        panel_layout.addLayout(tables, stretch=1)

        self.gallery = MisclassifiedGallery()
        self.gallery.open_requested.connect(self.open_in_sketchpad_requested)
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
        self._results: dict[int, EpochResults] = {}  # this run's, by epoch
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
        """Keep an epoch's (10, 10) confusion counts, `predictions` (N,) and their `confidences` (N,) for
        the epoch slider; show them unless the slider is on an earlier epoch."""
        confusion = np.asarray(confusion).astype(np.int64)
        if confusion.shape != (DIGITS, DIGITS):
            raise ValueError(f"expected a ({DIGITS}, {DIGITS}) confusion matrix, got {confusion.shape}")
        following = not self._results or self.shown_epoch() == max(self._results)
        self._results[epoch] = EpochResults(
            confusion, np.asarray(predictions).astype(np.int16).ravel(),  # 10 classes: small integers keep a run's epochs cheap
            None if confidences is None else np.asarray(confidences, dtype=np.float32).ravel())
        epochs = self.epochs()
        self.epoch_slider.blockSignals(True)
        self.epoch_slider.setRange(0, len(epochs) - 1)
        self.epoch_slider.setEnabled(len(epochs) > 1)
        if following:
            self.epoch_slider.setValue(len(epochs) - 1)
        self.epoch_slider.blockSignals(False)
        self.show_epoch(epoch if following else self._epoch)

    def epochs(self) -> list[int]:
        """The epochs of this run with results, oldest first."""
        return sorted(self._results)

    def shown_epoch(self) -> int | None:
        """The epoch whose results are shown, or None."""
        return self._epoch or None

    def show_epoch(self, epoch: int) -> None:
        """Show the results kept for `epoch` (and move the slider there)."""
        results = self._results[epoch]
        epochs = self.epochs()
        if self.epoch_slider.value() != epochs.index(epoch):
            self.epoch_slider.blockSignals(True)
            self.epoch_slider.setValue(epochs.index(epoch))
            self.epoch_slider.blockSignals(False)
        confusion = results.confusion
        self._predictions = results.predictions
        self._confidences = results.confidences
        self._epoch = epoch
        latest = epochs[-1]
        self.epoch_label.setText(f"epoch {epoch} of {latest}" if len(epochs) > 1 else f"epoch {epoch}")
        total = int(confusion.sum())
        percent = 100.0 * int(np.trace(confusion)) / total if total else 0.0
        which = "the latest" if epoch == latest else f"the latest is {latest}"
        self.caption.setText(f"Epoch {epoch}, {which}: {percent:.2f} % of {total:,} test digits correct")
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
        self._results = {}
        self.epoch_slider.blockSignals(True)
        self.epoch_slider.setRange(0, 0)
        self.epoch_slider.blockSignals(False)
        self.epoch_slider.setEnabled(False)
        self.epoch_label.setText("no epochs yet")
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

    def test_image(self, index: int) -> np.ndarray | None:
        """Test image `index` as (28, 28) uint8 ink, or None without it."""
        if self._images is None or not 0 <= index < len(self._images):
            return None
        return self._images[index].copy()

    def describe_test_image(self, index: int) -> str:
        """'test digit #123 (a 7, read as 1 after epoch 3)'."""
        words = f"test digit #{index}"
        if self._labels is not None and 0 <= index < len(self._labels):
            words += f" (a {int(self._labels[index])}"
            if self._predictions is not None and len(self._predictions) == len(self._labels):
                words += f", read as {int(self._predictions[index])} after epoch {self._epoch}"
            words += ")"
        return words

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

    def _on_slider_moved(self, position: int) -> None:
        epochs = self.epochs()
        if 0 <= position < len(epochs):
            self.show_epoch(epochs[position])

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
