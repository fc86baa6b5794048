"""ConfusionMatrixView and its gallery, on a small synthetic test set whose answers we know."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from mnistconv.gui.confusion import ConfusionMatrixView
from mnistconv.gui.gallery import MisclassifiedGallery, thumbnail

N = 50


def confusion_of(labels, predictions):
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (labels, predictions), 1)
    return confusion


@pytest.fixture
def test_set():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(N, 28, 28), dtype=np.uint8)
    labels = np.arange(N) % 10
    predictions = labels.copy()
    predictions[[3, 13, 23]] = 8  # three 3s read as 8
    predictions[7] = 1  # one 7 read as 1
    return images, labels, predictions


@pytest.fixture
def view(qtbot, test_set):
    widget = ConfusionMatrixView()
    qtbot.addWidget(widget)
    widget.resize(900, 500)
    widget.show()
    qtbot.waitExposed(widget)
    images, labels, _ = test_set
    widget.set_test_set(images, labels)
    return widget


def cell(view, true, predicted, role=Qt.ItemDataRole.DisplayRole):
    return view.table.model().index(true, predicted).data(role)


def click_cell(qtbot, view, true, predicted):
    table = view.table
    rect = table.visualRect(table.model().index(true, predicted))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_cells_show_the_counts(view, test_set):
    _, labels, predictions = test_set
    confusion = confusion_of(labels, predictions)
    view.set_results(3, confusion, predictions)

    for true in range(10):
        for predicted in range(10):
            assert cell(view, true, predicted) == str(confusion[true, predicted])
            assert view.count(true, predicted) == confusion[true, predicted]
    assert view.count(3, 8) == 3 and view.count(3, 3) == 2
    assert view.caption.text() == "Epoch 3, the latest: 92.00 % of 50 test digits correct"
    model = view.table.model()
    for orientation in (Qt.Orientation.Horizontal, Qt.Orientation.Vertical):
        assert [model.headerData(d, orientation) for d in range(10)] == [str(d) for d in range(10)]


def test_diagonal_and_error_cells_are_coloured_differently(view, test_set):
    _, labels, predictions = test_set
    view.set_results(1, confusion_of(labels, predictions), predictions)

    background = lambda r, c: QColor(cell(view, r, c, Qt.ItemDataRole.BackgroundRole))  # noqa: E731
    assert background(0, 0) != background(3, 8)
    assert background(3, 8).red() > background(3, 8).green()  # an error: red
    assert background(0, 0).green() > background(0, 0).red()  # correct: green
    assert cell(view, 0, 1, Qt.ItemDataRole.BackgroundRole) is None  # no errors: plain


def test_clicking_an_error_cell_shows_exactly_its_images(qtbot, view, test_set):
    _, labels, predictions = test_set
    view.set_results(1, confusion_of(labels, predictions), predictions)

    with qtbot.waitSignal(view.cell_activated, timeout=1000) as blocker:
        click_cell(qtbot, view, 3, 8)

    assert blocker.args == [3, 8]
    expected = np.flatnonzero((labels == 3) & (predictions == 8)).tolist()
    assert view.gallery.indices() == expected == [3, 13, 23]
    assert view.gallery.title.text() == "True 3 → predicted 8: 3 images"
    tooltip = view.gallery.list.model().index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert tooltip == "test #3: true 3, predicted 8"  # no confidences were given


def test_clicking_a_diagonal_cell_shows_correct_ones(qtbot, view, test_set):
    _, labels, predictions = test_set
    view.set_results(1, confusion_of(labels, predictions), predictions)

    with qtbot.waitSignal(view.cell_activated, timeout=1000) as blocker:
        click_cell(qtbot, view, 0, 0)

    assert blocker.args == [0, 0]
    assert view.gallery.indices() == [0, 10, 20, 30, 40]


def test_new_results_refresh_the_shown_cell(qtbot, view, test_set):
    _, labels, predictions = test_set
    view.set_results(1, confusion_of(labels, predictions), predictions)
    click_cell(qtbot, view, 3, 8)

    better = predictions.copy()
    better[[3, 13]] = 3
    with qtbot.assertNotEmitted(view.cell_activated):
        view.set_results(2, confusion_of(labels, better), better)

    assert view.gallery.indices() == [23]
    assert view.gallery.title.text() == "True 3 → predicted 8: 1 image"


def test_clicking_before_any_results_does_nothing(qtbot, view):
    with qtbot.assertNotEmitted(view.cell_activated):
        click_cell(qtbot, view, 3, 8)
    assert view.gallery.indices() == []


def test_clear_empties_matrix_and_gallery(qtbot, view, test_set):
    _, labels, predictions = test_set
    view.set_results(1, confusion_of(labels, predictions), predictions)
    click_cell(qtbot, view, 3, 8)

    view.clear()

    assert all(cell(view, r, c) is None for r in range(10) for c in range(10))
    assert view.count(3, 8) is None
    assert view.gallery.indices() == []
    assert "Epoch" not in view.caption.text()


def test_results_without_a_test_set_still_count(qtbot):
    view = ConfusionMatrixView()
    qtbot.addWidget(view)
    labels = np.arange(20) % 10
    view.set_results(1, confusion_of(labels, labels), labels)
    view._on_cell_clicked(view.table.model().index(4, 4))  # the slot behind a click

    assert view.gallery.indices() == []
    assert view.gallery.title.text().startswith("True 4 → predicted 4: 2 images")


def test_gallery_caps_the_thumbnails(qtbot):
    gallery = MisclassifiedGallery()
    qtbot.addWidget(gallery)
    images = np.zeros((500, 28, 28), dtype=np.uint8)
    gallery.show_images(1, 1, range(500), images)

    assert gallery.indices() == list(range(MisclassifiedGallery.MAX_THUMBNAILS))
    assert gallery.title.text() == "True 1 → predicted 1: 500 images (showing the first 200)"


def test_thumbnails_are_doubled_nearest_neighbour_from_float_or_uint8(qtbot, view):
    image = np.zeros((28, 28), dtype=np.uint8)
    image[0, 0] = 255
    for source in (image, image.astype(np.float32) / 255):
        view.set_test_set(source[None], np.array([5]))
        pixmap = thumbnail(view._images[0])
        assert (pixmap.width(), pixmap.height()) == (56, 56)
        qimage = pixmap.toImage()
        assert [qimage.pixelColor(x, y).value() for x, y in ((0, 0), (1, 1), (2, 2))] == [255, 255, 0]


def confidences_for(predictions):
    return np.linspace(0.5, 0.99, len(predictions)).astype(np.float32)


def test_each_thumbnail_is_captioned_with_its_index_reading_and_confidence(qtbot, view, test_set):
    _, labels, predictions = test_set
    confidences = confidences_for(predictions)
    view.set_results(2, confusion_of(labels, predictions), predictions, confidences)
    click_cell(qtbot, view, 3, 8)
    model = view.gallery.list.model()
    captions = [model.index(row, 0).data(Qt.ItemDataRole.DisplayRole) for row in range(3)]
    assert captions == [f"#{i}\n8 · {100 * confidences[i]:.0f} %" for i in (3, 13, 23)]
    assert model.index(1, 0).data(Qt.ItemDataRole.ToolTipRole) == (
        f"test #13: true 3, predicted 8 with {100 * confidences[13]:.1f} % confidence")


def test_the_gallery_is_a_grid_of_several_columns(qtbot, view, test_set):
    _, labels, predictions = test_set
    view.set_results(1, confusion_of(labels, predictions), predictions, confidences_for(predictions))
    click_cell(qtbot, view, 0, 0)  # five images
    qtbot.waitUntil(lambda: view.gallery.list.visualRect(view.gallery.list.model().index(4, 0)).isValid(), timeout=2000)
    rects = [view.gallery.list.visualRect(view.gallery.list.model().index(row, 0)) for row in range(5)]
    assert len({r.top() for r in rects}) == 1 and len({r.left() for r in rects}) == 5  # one row, side by side
    # The caption fits under the thumbnail: the grid cell is taller than the 56-px image by two lines.
    assert view.gallery.list.gridSize().height() >= 56 + 2 * view.gallery.list.fontMetrics().lineSpacing()


def test_each_digits_accuracy_is_beside_the_matrix(qtbot, view, test_set):
    _, labels, predictions = test_set
    view.set_results(1, confusion_of(labels, predictions), predictions)
    assert view.digit_accuracy(3) == pytest.approx(2 / 5) and view.digit_accuracy(7) == pytest.approx(4 / 5)
    assert view.digit_accuracy(0) == 1.0
    model = view.digits.model()
    assert model.index(3, 0).data() == "40.0 %" and model.index(0, 0).data() == "100.0 %"
    assert model.index(3, 0).data(Qt.ItemDataRole.ToolTipRole).startswith("3: 2 of 5 read right (40.00 %), 3 misread")
    # Beside the matrix, its rows level with the matrix's rows.
    table_top = view.table.mapTo(view, view.table.visualRect(view.table.model().index(3, 0)).topLeft()).y()
    digits_top = view.digits.mapTo(view, view.digits.visualRect(model.index(3, 0)).topLeft()).y()
    assert view.digits.mapTo(view, view.digits.rect().topLeft()).x() > view.table.mapTo(view, view.table.rect().topLeft()).x()
    assert abs(table_top - digits_top) <= 2


def test_clicking_a_digits_accuracy_shows_all_its_misreadings(qtbot, view, test_set):
    _, labels, predictions = test_set
    predictions = predictions.copy()
    predictions[33] = 5  # a fourth 3, read as 5
    view.set_results(1, confusion_of(labels, predictions), predictions, confidences_for(predictions))
    rect = view.digits.visualRect(view.digits.model().index(3, 0))
    qtbot.mouseClick(view.digits.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert view.gallery.indices() == [3, 13, 23, 33]
    assert view.gallery.title.text() == "True 3, misread: 4 images"
    assert view.gallery.list.model().index(3, 0).data().startswith("#33\n5 · ")


def test_the_caption_says_the_matrix_is_the_latest_epochs_not_the_saved_best(view, test_set):
    _, labels, predictions = test_set
    view.set_results(4, confusion_of(labels, predictions), predictions)
    assert "after epoch 4; none has been saved yet" in view.scope.text()
    view.set_best_epoch(2)
    assert view.scope.text() == "The model as it is after epoch 4; the best one saved is from epoch 2."
    view.set_results(5, confusion_of(labels, predictions), predictions)
    view.set_best_epoch(5)
    assert view.scope.text() == "The model as it is after epoch 5, which is also the best one saved."


def epochs_of_results(labels, predictions):
    """Three epochs of one run: the 3s read as 8 get fewer, then the 7 read as 1 is read right."""
    first = predictions.copy()
    second = predictions.copy()
    second[[3, 13]] = 3
    third = second.copy()
    third[7] = 7
    return {1: first, 2: second, 3: third}


def test_the_epoch_slider_goes_back_over_the_runs_epochs(qtbot, view, test_set):
    _, labels, predictions = test_set
    runs = epochs_of_results(labels, predictions)
    assert not view.epoch_slider.isEnabled()
    for epoch, read in runs.items():
        view.set_results(epoch, confusion_of(labels, read), read, confidences_for(read))
    assert view.epochs() == [1, 2, 3] and view.shown_epoch() == 3 and view.epoch_slider.isEnabled()
    assert view.epoch_slider.value() == view.epoch_slider.maximum() == 2
    click_cell(qtbot, view, 3, 8)
    assert view.gallery.indices() == [23]

    view.epoch_slider.setValue(0)  # back to epoch 1: matrix, accuracies, gallery and captions
    assert view.shown_epoch() == 1 and view.count(3, 8) == 3 and view.count(7, 1) == 1
    assert view.digit_accuracy(3) == pytest.approx(2 / 5)
    assert view.gallery.indices() == [3, 13, 23]
    assert view.caption.text() == "Epoch 1, the latest is 3: 92.00 % of 50 test digits correct"
    assert view.epoch_label.text() == "epoch 1 of 3"
    assert "after epoch 1" in view.scope.text()

    fourth = runs[3].copy()
    fourth[23] = 3
    view.set_results(4, confusion_of(labels, fourth), fourth)  # a new epoch while looking back: the view stays
    assert view.shown_epoch() == 1 and view.epoch_slider.maximum() == 3 and view.epoch_label.text() == "epoch 1 of 4"
    view.epoch_slider.setValue(view.epoch_slider.maximum())  # at the end again, it follows the run
    assert view.shown_epoch() == 4 and view.count(3, 8) == 0
    view.set_results(5, confusion_of(labels, fourth), fourth)
    assert view.shown_epoch() == 5

    view.clear()
    assert view.epochs() == [] and not view.epoch_slider.isEnabled() and view.shown_epoch() is None


def test_keeping_a_runs_epochs_stays_small(view, test_set):
    _, labels, predictions = test_set
    view.set_results(1, confusion_of(labels, predictions), predictions.astype(np.int64), confidences_for(predictions))
    kept = view._results[1]
    assert kept.predictions.dtype.itemsize <= 2  # 10,000 test digits: 20 kB an epoch


def test_a_gallery_image_can_be_opened_in_the_sketchpad(qtbot, view, test_set):
    _, labels, predictions = test_set
    view.set_results(1, confusion_of(labels, predictions), predictions)
    click_cell(qtbot, view, 3, 8)
    gallery = view.gallery
    assert not gallery.open_button.isEnabled()  # nothing selected yet
    gallery.select(13)
    assert gallery.current() == 13 and gallery.open_button.isEnabled()
    with qtbot.waitSignal(view.open_in_sketchpad_requested, timeout=1000) as blocker:
        qtbot.mouseClick(gallery.open_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [13]
    rect = gallery.list.visualRect(gallery.model.index(2, 0))
    with qtbot.waitSignal(view.open_in_sketchpad_requested, timeout=1000) as blocker:
        qtbot.mouseClick(gallery.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())  # a double click's first
        qtbot.mouseDClick(gallery.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == [23]
    assert [action.text() for action in gallery.list.actions()] == ["Open in sketchpad"]
    np.testing.assert_array_equal(view.test_image(23), test_set[0][23])
    assert view.describe_test_image(23) == "test digit #23 (a 3, read as 8 after epoch 1)"
    assert view.test_image(50) is None
