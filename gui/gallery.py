"""The gallery of test images behind a confusion matrix cell: a grid of thumbnails, each captioned with
its test-set index, the digit read and the model's confidence, any of which can be opened in the
sketchpad. Thumbnails are drawn only when seen."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractListModel, QModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QAction, QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListView,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

THUMBNAIL_SCALE = 2  # 28×28 → 56×56, nearest neighbour, so pixels stay crisp
VALUE_ROLE = Qt.ItemDataRole.UserRole  # a thumbnail's test-set index

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


def plural(count: int) -> str:
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
    open_requested = Signal(int)  # a test-set index: put this image on the sketchpad

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
        self.open_button = QPushButton("Open in sketchpad")
        self.open_button.setToolTip("Read the selected test image with the sketchpad, to see its reading, what drove it and "
                                    "its feature maps (or double-click the image)")
        self.open_button.clicked.connect(self._on_open)
        self.open_action = QAction("Open in sketchpad", self.list)
        self.open_action.triggered.connect(self._on_open)
        self.list.addAction(self.open_action)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.list.activated.connect(self._on_open)  # double-click, or Enter
        self.list.selectionModel().currentChanged.connect(self._update_open)
        self.model.modelReset.connect(self._update_open)
        title_row = QHBoxLayout()
        title_row.setContentsMargins(0, 0, 0, 0)
        title_row.addWidget(self.title, stretch=1)
        title_row.addWidget(self.open_button, alignment=Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(title_row)
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
        title = f"{cell}: {plural(len(indices))}"
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

    def current(self) -> int | None:
        """The test-set index of the selected thumbnail, or None."""
        index = self.list.currentIndex()
        return self.model.data(index, VALUE_ROLE) if index.isValid() else None

    def select(self, test_index: int) -> None:
        """Select the thumbnail of a test-set index shown in the gallery."""
        self.list.setCurrentIndex(self.model.index(self.model.indices.index(test_index)))

    def _update_open(self, *_) -> None:
        enabled = self.current() is not None
        self.open_button.setEnabled(enabled)
        self.open_action.setEnabled(enabled)

    def _on_open(self, *_) -> None:
        test_index = self.current()
        if test_index is not None:
            self.open_requested.emit(test_index)
