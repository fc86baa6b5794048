"""The network view in the window: a tab or a dock, the model it shows, training's filters and epochs, test digits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QImage

from mnistconv.core import checkpoint, events
from mnistconv.core.model import build_model
from mnistconv.core.predict import Predictor
from mnistconv.core.shape import NetworkShape
from mnistconv.gui.main_window import MainWindow
from mnistconv.gui.scripted_mouse import drag

CHECK_SET = Path(__file__).resolve().parents[2] / "benchmarks" / "check_set.npz"


def two():
    angles = np.radians(np.linspace(160, -35, 30))
    return [(140 + 55 * np.cos(a), 95 - 55 * np.sin(a)) for a in angles] + [(82.0, 222.0), (205.0, 218.0)]


def draw_on(qtbot, window):
    canvas = window.sketchpad.canvas
    scale = canvas.width() / 280
    drag(canvas, [(x * scale, y * scale) for x, y in two()])
    return shown_reading(qtbot, window)


def shown_reading(qtbot, window):
    view, pad = window.network, window.sketchpad
    qtbot.waitUntil(lambda: view.reading() is not None and pad.network_input() is not None
                    and np.array_equal(view.reading().image, pad.network_input()), timeout=5000)
    return view.reading()


def test_the_network_view_is_a_tab_beside_the_sketchpad_and_reads_its_drawing(qtbot, make_window):
    window = make_window()
    assert window.tabs.tabText(window.tabs.indexOf(window.network)) == "Network"
    window.tabs.setCurrentWidget(window.network)
    reading = draw_on(qtbot, window)
    np.testing.assert_allclose(reading.probabilities, window.sketchpad.probabilities(), rtol=1e-5, atol=1e-6)


def test_the_view_is_a_dock_when_chosen_and_the_choice_is_remembered(qtbot, make_window, tmp_path):
    window = make_window()
    tab_order = [window.tabs.tabText(index) for index in range(window.tabs.count())]
    window.network_dock_action.trigger()
    assert window.network_dock.widget() is window.network and window.tabs.indexOf(window.network) == -1
    assert window.network_dock.isVisible() and window.network.isVisible()
    reading = draw_on(qtbot, window)  # it reads along while docked
    assert reading is not None
    window.close()
    again = MainWindow(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(again)
    again.show()
    assert again.network_dock_action.isChecked() and again.network_dock.widget() is again.network
    again.network_dock_action.trigger()  # back to a tab
    assert again.tabs.indexOf(again.network) >= 0 and not again.network_dock.isVisible()
    assert [again.tabs.tabText(index) for index in range(again.tabs.count())] == tab_order  # back in its place
    assert again.tabs.currentWidget() is again.network


def test_readings_with_the_network_view_shown_leave_the_window_layout_alone(qtbot, make_window):
    window = make_window()
    window.tabs.setCurrentWidget(window.network)
    draw_on(qtbot, window)
    qtbot.wait(50)
    sizes = window.splitter.sizes()
    for _ in range(3):
        window.sketchpad.canvas.clear()
        qtbot.waitUntil(lambda: window.network.reading() is None, timeout=2000)
        draw_on(qtbot, window)
        qtbot.wait(50)
        assert window.splitter.sizes() == sizes


def test_the_view_shows_each_model_the_sketchpad_reads_with(qtbot, make_window, tmp_path):
    window = make_window()
    window.tabs.setCurrentWidget(window.network)
    bundled = draw_on(qtbot, window)
    torch.manual_seed(5)
    path = checkpoint.save_checkpoint(tmp_path / "other.pt", build_model(), epoch=1, accuracy=0.1, lr=1e-3, hyperparameters={})
    assert window.sketchpad_model.load_model_file(path)
    qtbot.waitUntil(lambda: window.network.reading() is not None
                    and not np.allclose(window.network.reading().logits, bundled.logits), timeout=5000)
    other = Predictor.from_checkpoint(path, "cpu").predict(window.sketchpad.network_input())[0]
    np.testing.assert_allclose(window.network.reading().probabilities, other, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("damage", ["not a checkpoint", "nan weights"])
def test_a_model_that_fails_to_load_leaves_the_view_on_the_current_model(qtbot, make_window, tmp_path, damage):
    window = make_window()
    window.tabs.setCurrentWidget(window.network)
    before = draw_on(qtbot, window)
    path = tmp_path / "bad.pt"
    if damage == "not a checkpoint":
        path.write_bytes(b"nothing like a model")
    else:
        model = build_model()
        with torch.no_grad():
            model.conv1.weight.fill_(float("nan"))
        checkpoint.save_checkpoint(path, model, epoch=1, accuracy=0.5, lr=1e-3, hyperparameters={})
    assert not window.sketchpad_model.load_model_file(path)
    assert window.messages.dialogs and "Could not open the model" in window.messages.dialogs[-1].windowTitle()
    if damage == "nan weights":
        assert "finite" in window.messages.dialogs[-1].text()
    qtbot.wait(100)
    assert window.network.reading() is before  # nothing recomputed: the same model, the same drawing
    window.sketchpad.canvas.clear()
    qtbot.waitUntil(lambda: window.network.reading() is None, timeout=2000)


def test_training_adds_a_filter_row_per_saved_model_and_epochs_to_the_slider(qtbot, make_window):
    window = make_window(epochs=2)
    finished_epochs = []
    saved = []
    window.trainer.epoch_finished.connect(lambda e: finished_epochs.append((e.epoch, e.confusion.copy())))
    window.trainer.new_best_saved.connect(lambda e: saved.append(e.epoch))
    window.network.add_saved_model(9, window.sketchpad.predictor)  # from an earlier run: a new run starts afresh
    with qtbot.waitSignal(window.trainer.finished, timeout=120_000):
        qtbot.mouseClick(window.panel.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(window.network.history) == len(saved), timeout=5000)
    assert [epoch for epoch, _ in window.network.history] == saved and saved
    latest = window.sketchpad.predictor.model.conv1.weight.detach()[:, 0].numpy()
    np.testing.assert_array_equal(window.network.history[-1][1], latest)  # the saved model's own filters
    confusion = window.confusion
    assert confusion.epochs() == [1, 2] and confusion.shown_epoch() == 2
    confusion.epoch_slider.setValue(0)
    assert confusion.shown_epoch() == 1
    first = dict(finished_epochs)[1]
    assert [[confusion.count(t, p) for p in range(10)] for t in range(10)] == first.tolist()


def test_a_fit_to_handwriting_gets_a_row_of_its_own_not_the_last_runs_epoch(qtbot, make_window, monkeypatch):
    window = make_window()
    predictor = window.sketchpad.predictor
    window.trainer.new_best_saved.emit(events.NewBestSaved(epoch=7, accuracy=0.9, path=Path("best.pt")))
    window.trainer.saved_model_loaded.emit(events.SavedModelLoaded(path=Path("best.pt"), predictor=predictor))
    assert [epoch for epoch, _ in window.network.history] == [7]
    monkeypatch.setattr(window.trainer, "fine_tune", lambda *args, **kwargs: None)  # the fit itself is not run here
    assert window.training.fit_to_handwriting()
    assert window.network.history == []  # a new run starts afresh
    # The fit saves its one model and reads it back, with no NewBestSaved before it.
    window.trainer.saved_model_loaded.emit(events.SavedModelLoaded(path=Path("fitted.pt"), predictor=predictor))
    assert [epoch for epoch, _ in window.network.history] == [1]


@pytest.fixture(scope="module")
def check_set_sevens():
    with np.load(CHECK_SET) as stored:
        images, labels = stored["images"], stored["labels"]
    return images[labels == 7][:20]


def test_open_in_sketchpad_reads_the_test_digit_pixel_for_pixel(qtbot, make_window, check_set_sevens):
    window = make_window()
    images = check_set_sevens
    labels = np.full(len(images), 7)
    reads = window.sketchpad.predictor.predict(images.astype(np.float32) / 255)
    predictions = reads.argmax(axis=1)
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (labels, predictions), 1)
    window.confusion.set_test_set(images, labels)
    window.confusion.set_results(1, confusion, predictions, reads.max(axis=1))
    window.tabs.setCurrentWidget(window.confusion)
    window.confusion._on_cell_clicked(window.confusion.model.index(7, int(predictions[4])))
    window.confusion.gallery.select(4)
    qtbot.mouseClick(window.confusion.gallery.open_button, Qt.MouseButton.LeftButton)
    pad = window.sketchpad
    assert pad.canvas.has_picture()
    qtbot.waitUntil(lambda: pad.probabilities() is not None, timeout=5000)
    np.testing.assert_array_equal(pad.network_input(), images[4].astype(np.float32) / 255)
    np.testing.assert_allclose(pad.probabilities(), reads[4], rtol=1e-5, atol=1e-6)  # as the gallery said
    assert "test digit #4 (a 7" in window.statusBar().full_message()
    window.tabs.setCurrentWidget(window.network)
    reading = shown_reading(qtbot, window)
    np.testing.assert_array_equal(reading.image, images[4].astype(np.float32) / 255)
    # A stroke over it makes it a drawing: read through to_mnist like any other.
    canvas = pad.canvas
    drag(canvas, [(10, 10), (30, 12)])
    qtbot.waitUntil(lambda: not np.array_equal(pad.network_input(), images[4].astype(np.float32) / 255), timeout=2000)
    canvas.undo()  # the stroke goes: the test digit again, exactly
    qtbot.waitUntil(lambda: np.array_equal(pad.network_input(), images[4].astype(np.float32) / 255), timeout=2000)
    canvas.clear()
    assert not canvas.has_picture() and canvas.picture_digit() is None


@pytest.mark.parametrize("tab", ["plots", "confusion", "runs_view", "network"])
def test_export_view_saves_the_tab_shown_as_png(qtbot, make_window, tmp_path, tab):
    window = make_window()
    window.tabs.setCurrentWidget(getattr(window, tab))
    path = tmp_path / f"{tab}.png"
    assert window.exports.export_view_png(path)
    image = QImage(str(path))
    assert not image.isNull() and image.width() > 100 and image.height() > 100


def test_the_smallest_window_with_the_network_view_shown_or_docked(qtbot, make_window, shrink_to_minimum):
    window = make_window()
    window.tabs.setCurrentWidget(window.network)
    draw_on(qtbot, window)
    shrink_to_minimum(window)
    for page in ("layers", "map", "filters"):
        window.network.set_page(page)
        qtbot.wait(20)
        assert not window.grab().isNull()
    assert window.network.layers.width() > 0
    window.network_dock_action.trigger()
    assert window.minimumSizeHint().width() <= 1280 and window.minimumSizeHint().height() <= 720
    window.resize(window.minimumSizeHint())
    qtbot.wait(50)
    assert not window.grab().isNull()


def test_at_the_smallest_window_the_headings_are_worded_to_fit_not_cut(qtbot, make_window, shrink_to_minimum):
    window = make_window()
    window.tabs.setCurrentWidget(window.network)
    draw_on(qtbot, window)
    shrink_to_minimum(window)
    qtbot.wait(50)
    headers = window.network.layers.shown_headers()
    assert headers["dense"].startswith("Dense") and not any(text.endswith("…") for text in headers.values()), headers
    window.network.show_unit(2, 0)
    qtbot.wait(50)
    labels = window.network.unit_canvas.shown_big_labels()
    assert labels[1].endswith("7×7") and not any(text.endswith("…") for text in labels), labels


def test_a_model_file_of_another_shape_lays_the_view_out_by_its_shape(qtbot, make_window, tmp_path):
    window = make_window()
    window.tabs.setCurrentWidget(window.network)
    draw_on(qtbot, window)
    torch.manual_seed(2)
    shape = NetworkShape((8, 16, 16, 24), 5, 32)
    path = checkpoint.save_checkpoint(tmp_path / "four.pt", build_model(shape=shape), epoch=1, accuracy=0.1, lr=1e-3,
                                      hyperparameters={})
    assert window.sketchpad_model.load_model_file(path)
    view = window.network
    qtbot.waitUntil(lambda: view.reading() is not None and view.reading().shape == shape, timeout=5000)
    assert len(view.layers.blocks) == 4 and view.layers.header("block4")[0] == "Block 4: 24 maps, 1×1 (pooled)"
    assert view.block_combo.count() == 4
    expected = Predictor.from_checkpoint(path, "cpu").predict(window.sketchpad.network_input())[0]
    np.testing.assert_allclose(view.reading().probabilities, expected, rtol=1e-5, atol=1e-6)
    for page in ("map", "filters"):
        view.set_page(page)
        qtbot.wait(20)
        assert not window.grab().isNull()
    assert view.filters_canvas.first.shape == (5, 5) and view.filters_canvas.first.count == 8
