"""The network view beside a sketchpad: its numbers against a plain forward pass, hover, clicks, its rate, bad input."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QColor, QHelpEvent, QImage, QPalette
from PySide6.QtWidgets import QApplication, QHBoxLayout, QTabWidget, QToolTip, QWidget

from mnistconv.core.checkpoint import load_checkpoint
from mnistconv.core.model import build_model, deskew
from mnistconv.core.paths import bundled_model_path
from mnistconv.core.predict import Predictor
from mnistconv.gui.colour_scheme import dark_palette
from mnistconv.gui.network_view import INTERVAL_MS, NetworkView
from mnistconv.gui.scripted_mouse import drag, send_mouse
from mnistconv.gui.sketchpad import Sketchpad
from mnistconv.gui.tiles import SEQUENTIAL, format_value

from reference_forward import reference_forward

TOLERANCE = dict(rtol=1e-5, atol=1e-4)


def two():
    """A '2' in the canvas's 280×280 square: an arc, a diagonal and a base."""
    angles = np.radians(np.linspace(160, -35, 30))
    arc = [(140 + 55 * np.cos(a), 95 - 55 * np.sin(a)) for a in angles]
    return arc + [(82.0, 222.0), (205.0, 218.0)]


@pytest.fixture(scope="module")
def bundled_state():
    with bundled_model_path() as path:
        return load_checkpoint(path).model_state


def seen_by_bundled(image: np.ndarray) -> np.ndarray:
    """The sketchpad's input as the bundled network's first block sees it (deskewed, if it deskews)."""
    with bundled_model_path() as path:
        deskews = load_checkpoint(path).deskews
    return deskew(torch.from_numpy(image)[None, None])[0, 0].numpy() if deskews else image


@pytest.fixture
def make_view(qtbot):
    """A sketchpad and a network view side by side, the sketchpad reading with `predictor` (default: bundled)."""

    def make(predictor="bundled", size=(1000, 680)):
        pad = Sketchpad(Predictor.bundled("cpu") if predictor == "bundled" else predictor)
        pad.canvas_holder.setFixedSize(280, 280)
        view = NetworkView()
        view.watch(pad)
        holder = QWidget()
        layout = QHBoxLayout(holder)
        layout.addWidget(pad)
        layout.addWidget(view, 1)
        qtbot.addWidget(holder)
        holder.resize(*size)
        holder.show()
        qtbot.waitExposed(holder)
        holder.pad, holder.view = pad, view
        return holder

    return make


def drawn(qtbot, holder, points=None):
    """Draw (a 2 by default) and wait until the view shows the sketchpad's last reading."""
    pad, view = holder.pad, holder.view
    drag(pad.canvas, points or two())
    qtbot.waitUntil(lambda: view.reading() is not None and pad.network_input() is not None
                    and np.array_equal(view.reading().image, pad.network_input()), timeout=3000)
    return view.reading()


def tile_centre(tiles, index, row=None, column=None) -> QPoint:
    rect = tiles.rects[index]
    rows, columns = tiles.shape
    row = rows // 2 if row is None else row
    column = columns // 2 if column is None else column
    x = rect.left() + (column + 0.5) * rect.width() / columns
    return QPointF(x, rect.top() + (row + 0.5) * rect.height() / rows).toPoint()


def test_the_view_shows_what_a_plain_forward_pass_computes(qtbot, make_view, bundled_state):
    holder = make_view()
    reading = drawn(qtbot, holder)
    expected = reference_forward(bundled_state, seen_by_bundled(holder.pad.network_input()))
    for ours, theirs in zip(reading.maps, expected["maps"]):
        np.testing.assert_allclose(ours, theirs, **TOLERANCE)
    np.testing.assert_allclose(reading.logits, expected["logits"], **TOLERANCE)
    np.testing.assert_allclose(reading.probabilities, holder.pad.probabilities(), rtol=1e-5, atol=1e-6)
    layers = holder.view.layers
    # What the tiles are painted from is the reading itself.
    for tiles, maps in zip(layers.blocks, expected["maps"]):
        np.testing.assert_allclose(tiles.values, maps, **TOLERANCE)
    # The input as the first block sees it: the bundled network deskews, and says so.
    np.testing.assert_array_equal(layers.input.values[0], reading.seen)
    np.testing.assert_allclose(reading.seen, seen_by_bundled(holder.pad.network_input()), atol=1e-6, rtol=0)
    assert layers.header("input") == "Input, deskewed"
    assert int(np.argmax(expected["logits"])) == reading.winner == int(holder.pad.probabilities().argmax())


def test_contributions_shown_add_up_to_the_logits_they_name(qtbot, make_view, bundled_state):
    holder = make_view()
    reading = drawn(qtbot, holder)
    expected = reference_forward(bundled_state, seen_by_bundled(holder.pad.network_input()))
    layers = holder.view.layers
    for tiles, digit in ((layers.to_winner, reading.winner), (layers.to_runner_up, reading.runner_up)):
        shown = tiles.values.reshape(-1)
        np.testing.assert_allclose(shown, expected["weight"][digit] * expected["features"], **TOLERANCE)
        assert float(shown.sum(dtype=np.float64)) + expected["bias"][digit] == pytest.approx(expected["logits"][digit], abs=1e-4)
        assert f"logit {format_value(float(reading.logits[digit]))}" in layers.header("winner" if tiles is layers.to_winner
                                                                                      else "runner_up")[0]
    # One symmetric scale for both, so the two rows can be compared by colour.
    assert layers.to_winner.low == -layers.to_winner.high
    assert (layers.to_winner.low, layers.to_winner.high) == (layers.to_runner_up.low, layers.to_runner_up.high)
    largest = max(np.abs(layers.to_winner.values).max(), np.abs(layers.to_runner_up.values).max())
    assert layers.to_winner.high == pytest.approx(largest)


def test_every_map_of_a_block_is_coloured_on_the_blocks_stated_scale(qtbot, make_view):
    holder = make_view()
    reading = drawn(qtbot, holder)
    layers = holder.view.layers
    for block in (1, 2, 3):
        maps = reading.maps[block - 1]
        low, high = layers.scale(block)
        assert (low, high) == (0.0, pytest.approx(float(maps.max())))
        tiles = layers.blocks[block - 1]
        # Every pixel of every map is the colour its value has on that one scale.
        indices = np.clip((maps - low) * (255 / (high - low)) + 0.5, 0, 255).astype(np.uint8)
        expected = SEQUENTIAL[indices]
        for index in range(len(maps)):
            for row in range(maps.shape[1]):
                for column in range(maps.shape[2]):
                    assert tiles.colour_at(index, row, column).rgb() & 0xFFFFFF == int(expected[index, row, column]) & 0xFFFFFF
    brightest = np.unravel_index(np.argmax(reading.maps[1]), reading.maps[1].shape)
    assert layers.blocks[1].colour_at(*brightest).rgb() & 0xFFFFFF == int(SEQUENTIAL[255]) & 0xFFFFFF


def test_hovering_a_map_shows_its_value(qtbot, make_view):
    holder = make_view()
    reading = drawn(qtbot, holder)
    layers = holder.view.layers
    point = tile_centre(layers.blocks[1], 5, 3, 4)
    value = float(reading.maps[1][5, 3, 4])
    QApplication.sendEvent(layers, QHelpEvent(QEvent.Type.ToolTip, point, layers.mapToGlobal(point)))
    qtbot.waitUntil(lambda: QToolTip.isVisible(), timeout=2000)
    # Maps, rows and columns counted from 1, as people count: index 5 is the sixth map.
    assert f"Block 2, map 6, row 4, column 5: {format_value(value)}" in QToolTip.text()
    QToolTip.hideText()
    send_mouse(layers, QEvent.Type.MouseMove, point.x(), point.y(), Qt.MouseButton.NoButton, Qt.MouseButton.NoButton)
    assert layers.status_text.startswith("Block 2, map 6, row 4, column 5")
    feature = tile_centre(layers.to_winner, 7, 1, 2)
    send_mouse(layers, QEvent.Type.MouseMove, feature.x(), feature.y(), Qt.MouseButton.NoButton, Qt.MouseButton.NoButton)
    contribution = float(reading.contributions(reading.winner)[7 * 9 + 1 * 3 + 2])
    assert layers.status_text.startswith(f"Feature {7 * 9 + 5 + 1} (block 3, map 8, row 2, column 3)")
    assert f"{contribution:+.3f}".replace("-", "−") in layers.status_text


def test_clicking_a_map_shows_it_with_the_filters_and_inputs_that_make_it(qtbot, make_view, bundled_state):
    holder = make_view()
    reading = drawn(qtbot, holder)
    view = holder.view
    qtbot.mouseClick(view.layers, Qt.MouseButton.LeftButton, pos=tile_centre(view.layers.blocks[1], 9))
    assert view.page() == "map"
    qtbot.waitUntil(lambda: view.unit() is not None and (view.unit().block, view.unit().channel) == (2, 9), timeout=2000)
    unit, canvas = view.unit(), view.unit_canvas
    order = canvas.order()
    assert sorted(order) == list(range(16)) and list(unit.strengths()[order]) == sorted(unit.strengths(), reverse=True)
    np.testing.assert_allclose(canvas.kernels.values, bundled_state["conv2.weight"][9].numpy()[order], rtol=1e-6)
    np.testing.assert_allclose(canvas.inputs.values, reading.maps[0][order], rtol=1e-6)
    np.testing.assert_allclose(canvas.output.values[0], reading.maps[1][9], rtol=1e-6)
    expected = reference_forward(bundled_state, reading.seen)
    np.testing.assert_allclose(canvas.pre_pool.values[0], expected["pre_pool"][1][9], **TOLERANCE)
    # Its own block's scale and its inputs' block's scale, as on the Layers page.
    assert (canvas.output.low, canvas.output.high) == view.layers.scale(2)
    assert (canvas.inputs.low, canvas.inputs.high) == view.layers.scale(1)
    assert view.layers.blocks[1].selected == 9
    # A feature of the dense layer is a pixel of a block-3 map: clicking it opens that map.
    view.set_page("layers")
    qtbot.mouseClick(view.layers, Qt.MouseButton.LeftButton, pos=tile_centre(view.layers.to_runner_up, 30))
    qtbot.waitUntil(lambda: view.unit() is not None and (view.unit().block, view.unit().channel) == (3, 30), timeout=2000)
    assert view.block_combo.currentText() == "Block 3" and view.channel_spin.value() == 30 and view.channel_spin.maximum() == 31
    view.block_combo.setCurrentIndex(0)  # the selector, for the keyboard
    qtbot.waitUntil(lambda: view.unit().block == 1, timeout=2000)
    assert view.unit_canvas.inputs.count == 1 and view.channel_spin.maximum() == 15
    np.testing.assert_array_equal(view.unit_canvas.inputs.values[0], reading.seen)


def test_the_view_refreshes_at_most_once_per_interval_and_ends_on_the_last_reading(qtbot, make_view):
    holder = make_view()
    pad, view = holder.pad, holder.view
    qtbot.wait(50)
    before = view.refreshes
    points = [(60 + 160 * t, 60 + 170 * np.sin(3 * t)) for t in np.linspace(0, 1, 60)]
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    send_mouse(pad.canvas, QEvent.Type.MouseButtonPress, *points[0], left, left)
    moves = iter(points[1:])
    timer = QTimer(interval=5)

    def move():
        point = next(moves, None)
        if point is None:
            timer.stop()
            send_mouse(pad.canvas, QEvent.Type.MouseButtonRelease, *points[-1], left, none)
        else:
            send_mouse(pad.canvas, QEvent.Type.MouseMove, *point, none, left)

    timer.timeout.connect(move)
    begin = time.perf_counter()
    timer.start()
    qtbot.waitUntil(lambda: not timer.isActive(), timeout=60_000)
    seconds = time.perf_counter() - begin
    qtbot.wait(3 * INTERVAL_MS)
    refreshes = view.refreshes - before
    assert refreshes <= seconds * 1000 / INTERVAL_MS + 2  # never more often than its interval
    assert refreshes >= 3  # while the pen moved, not only once it stopped
    np.testing.assert_array_equal(view.reading().image, pad.network_input())  # the last reading is shown


def test_readings_within_the_interval_wait_and_the_last_is_shown_once_the_pen_rests(qtbot, make_view):
    holder = make_view()
    pad, view = holder.pad, holder.view
    now = [time.perf_counter() + 100.0]  # later than any refresh so far
    view.clock = lambda: now[0]  # the view's own clock; Qt's timers keep real time

    def shows_the_pads_input() -> bool:
        return view.reading() is not None and np.array_equal(view.reading().image, pad.network_input())

    drag(pad.canvas, [(60, 60), (60, 200)])
    qtbot.waitUntil(shows_the_pads_input, timeout=2000)
    quiet = view._quiet.start
    view._quiet.start = lambda _ms: None  # from here the pen "rests" only when this test says so
    first = view.refreshes
    now[0] += 0.010
    drag(pad.canvas, [(120, 60), (120, 200)])
    pad.read_drawing()
    for _ in range(4):  # a few turns of the event loop, however loaded the machine
        qtbot.wait(5)
    assert view.refreshes == first and not shows_the_pads_input()  # 10 ms after a refresh: it waits
    now[0] += INTERVAL_MS / 1000
    pad.read_drawing()  # the next reading after the interval is shown right after it
    qtbot.waitUntil(shows_the_pads_input, timeout=2000)
    assert view.refreshes == first + 1
    now[0] += 0.005
    drag(pad.canvas, [(200, 60), (200, 200)])
    view._quiet.start = quiet
    pad.read_drawing()
    QApplication.processEvents()
    assert view.refreshes == first + 1
    qtbot.waitUntil(shows_the_pads_input, timeout=2000)  # no reading follows: shown once the pen rests
    assert view.refreshes == first + 2


def test_a_hidden_view_computes_nothing_until_shown(qtbot):
    pad = Sketchpad(Predictor.bundled("cpu"))
    pad.canvas_holder.setFixedSize(280, 280)
    view = NetworkView()
    view.watch(pad)
    tabs = QTabWidget()
    tabs.addTab(QWidget(), "Other")
    tabs.addTab(view, "Network")
    holder = QWidget()
    layout = QHBoxLayout(holder)
    layout.addWidget(pad)
    layout.addWidget(tabs)
    qtbot.addWidget(holder)
    holder.show()
    qtbot.waitExposed(holder)
    qtbot.wait(50)
    before = view.refreshes
    drag(pad.canvas, two())
    qtbot.wait(4 * INTERVAL_MS)
    assert view.refreshes == before and view.reading() is None
    tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: view.reading() is not None, timeout=2000)
    np.testing.assert_array_equal(view.reading().image, pad.network_input())
    assert view.refreshes == before + 1


def test_an_empty_canvas_shows_the_sketchpads_hint(qtbot, make_view):
    holder = make_view()
    drawn(qtbot, holder)
    holder.pad.canvas.clear()
    view = holder.view
    qtbot.waitUntil(lambda: view.reading() is None, timeout=2000)
    assert view.message() == "Draw a digit"
    assert all(tiles.values is None for tiles in view.layers.tile_groups())
    view.set_page("map")
    qtbot.waitUntil(lambda: view.unit_canvas.message == "Draw a digit", timeout=2000)
    assert view.unit() is None
    for page in ("layers", "map", "filters"):
        view.set_page(page)
        assert not view.grab().isNull()


def test_a_model_swapped_mid_stroke_is_the_one_shown(qtbot, make_view):
    holder = make_view()
    pad, view = holder.pad, holder.view
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    points = two()
    send_mouse(pad.canvas, QEvent.Type.MouseButtonPress, *points[0], left, left)
    for point in points[1:15]:
        send_mouse(pad.canvas, QEvent.Type.MouseMove, *point, none, left)
    qtbot.waitUntil(lambda: view.reading() is not None, timeout=2000)
    torch.manual_seed(7)
    other = build_model()
    pad.set_predictor(Predictor.from_model(other, device="cpu"))
    for point in points[15:]:
        send_mouse(pad.canvas, QEvent.Type.MouseMove, *point, none, left)
    send_mouse(pad.canvas, QEvent.Type.MouseButtonRelease, *points[-1], left, none)
    qtbot.waitUntil(lambda: view.reading() is not None and np.array_equal(view.reading().image, pad.network_input()),
                    timeout=2000)
    qtbot.wait(2 * INTERVAL_MS)
    expected = reference_forward(other.state_dict(), pad.network_input())
    np.testing.assert_allclose(view.reading().logits, expected["logits"], **TOLERANCE)
    view.set_page("filters")
    np.testing.assert_array_equal(view.filters_canvas.first.values, other.conv1.weight.detach()[:, 0].numpy())


class NotThisNetwork:
    """A predictor that reads digits without being this program's network (as a test double or a plugin might)."""

    def predict(self, images):
        return np.full((1, 10), 0.1, dtype=np.float32)

    def describe(self):
        return "some other model"


def test_models_that_cannot_be_shown_say_why_and_nothing_breaks(qtbot, make_view):
    holder = make_view(predictor=NotThisNetwork())
    pad, view = holder.pad, holder.view
    drag(pad.canvas, two())
    qtbot.waitUntil(lambda: "cannot be shown" in view.message(), timeout=2000)
    assert "not the network this program builds" in view.message() and view.reading() is None
    view.set_page("filters")
    assert "cannot be shown" in view.filters_canvas.message
    # Weights gone NaN (refused when loaded from a file, but a model handed over directly is checked too).
    model = build_model()
    with torch.no_grad():
        model.conv2.weight[0, 0, 0, 0] = float("nan")
    view.set_page("layers")
    pad.set_predictor(Predictor.from_model(model, device="cpu"))
    qtbot.waitUntil(lambda: "not finite" in view.message(), timeout=2000)
    view.set_page("map")
    qtbot.waitUntil(lambda: "not finite" in view.unit_canvas.message, timeout=2000)
    pad.set_predictor(None)
    view.set_page("layers")
    qtbot.waitUntil(lambda: view.message() == "No model to read it yet", timeout=2000)
    for page in ("layers", "map", "filters"):
        view.set_page(page)
        assert not view.grab().isNull()


@pytest.mark.parametrize("size", [(420, 300), (60, 40), (1, 1)])
def test_a_very_small_view_still_paints_and_answers_the_pointer(qtbot, make_view, size):
    holder = make_view()
    reading = drawn(qtbot, holder)
    view = holder.view
    view.setMinimumSize(0, 0)
    for canvas in (view.layers, view.unit_canvas):
        canvas.setMinimumSize(0, 0)
    view.setFixedSize(*size)
    qtbot.wait(30)
    for page in ("layers", "map", "filters"):
        view.set_page(page)
        qtbot.wait(10)
        assert not view.grab().isNull()
    view.layers.resize(*size)
    for tiles in view.layers.tile_groups():
        assert all(rect.width() >= 1 for rect in tiles.rects)
    view.layers.describe_at(QPointF(size[0] / 2, size[1] / 2))
    qtbot.mouseClick(view.layers, Qt.MouseButton.LeftButton, pos=QPoint(size[0] // 2, size[1] // 2))
    assert reading is not None


def test_the_view_follows_the_colour_scheme(qtbot, make_view):
    holder = make_view()
    drawn(qtbot, holder)
    layers = holder.view.layers

    def lightness(colour) -> int:
        return QColor.fromRgb(int(colour)).lightness()

    light = layers.grab().toImage()
    assert light.pixelColor(2, 2).lightness() > 180
    assert lightness(layers.to_winner.table[128]) > 200  # zero on the signed scale: near the light background
    holder.setPalette(dark_palette())
    qtbot.waitUntil(lambda: layers.palette().color(QPalette.ColorRole.Window).lightness() < 80, timeout=2000)
    dark = layers.grab().toImage()
    assert dark.pixelColor(2, 2).lightness() < 80
    assert lightness(layers.to_winner.table[128]) < 60  # …and near the dark one
    assert lightness(layers.to_winner.table[255]) > 100 and lightness(layers.to_winner.table[0]) > 100  # both ends stand out
    text = layers.palette().color(QPalette.ColorRole.WindowText)
    assert text.lightness() > 180  # headers and values in light text


def test_filters_page_shows_the_filters_and_a_row_per_saved_model(qtbot, make_view, bundled_state):
    holder = make_view()
    view = holder.view
    view.set_page("filters")
    canvas = view.filters_canvas
    qtbot.waitUntil(lambda: canvas.filters is not None, timeout=2000)
    np.testing.assert_array_equal(canvas.first.values, bundled_state["conv1.weight"][:, 0].numpy())
    np.testing.assert_allclose(canvas.strengths[0].values[0], bundled_state["conv2.weight"].norm(dim=(2, 3)).numpy().T, rtol=1e-5)
    np.testing.assert_allclose(canvas.strengths[1].values[0], bundled_state["conv3.weight"].norm(dim=(2, 3)).numpy().T, rtol=1e-5)
    assert canvas.first.low == -canvas.first.high == -np.abs(canvas.first.values).max()
    height = canvas.height()
    torch.manual_seed(1)
    first, second = build_model(), build_model()
    view.add_saved_model(1, Predictor.from_model(first, device="cpu"))
    view.add_saved_model(3, Predictor.from_model(second, device="cpu"))
    assert [epoch for epoch, _ in canvas.history] == [1, 3] and canvas.rows.count == 32
    assert canvas.height() > height  # the page grows a row per saved model (it scrolls)
    w1, w3 = first.conv1.weight.detach()[:, 0].numpy(), second.conv1.weight.detach()[:, 0].numpy()
    assert canvas.changes()[0] is None
    assert canvas.changes()[1] == pytest.approx(np.linalg.norm(w3 - w1) / np.linalg.norm(w1), rel=1e-5)
    np.testing.assert_array_equal(canvas.rows.values[16:], w3)
    assert canvas.rows.high == pytest.approx(max(np.abs(w1).max(), np.abs(w3).max()))  # one scale for every row
    view.clear_history()
    assert canvas.history == [] and canvas.rows.count == 0


def test_every_page_saves_as_a_png_of_the_whole_page(qtbot, make_view, tmp_path):
    holder = make_view()
    drawn(qtbot, holder)
    view = holder.view
    view.add_saved_model(1, Predictor.bundled("cpu"))
    for page, widget in (("layers", view.layers), ("map", view.unit_canvas), ("filters", view.filters_canvas)):
        path = tmp_path / f"{page}.png"
        assert view.save_png(path, page)
        image = QImage(str(path))
        assert not image.isNull() and (image.width(), image.height()) == (widget.width(), widget.height())
    assert not view.save_png(tmp_path / "no-such-folder" / "x.png")


def test_the_view_explains_each_page_and_counts_maps_from_one(qtbot, make_view):
    holder = make_view()
    view = holder.view
    assert view.explanation.isHidden()
    view.help_button.click()
    assert view.explanation.isVisibleTo(view) and "logit" in view.explanation.text() and "⊛" in view.explanation.text()
    view.pages.setCurrentIndex(2)
    assert "Block 1's 16 filters" in view.explanation.text()
    view.help_button.click()
    assert view.explanation.isHidden()
    view.channel_spin.setValue(0)
    assert view.channel_spin.text() == "map 1"  # the first map, as people count
    view.channel_spin.lineEdit().setText("map 16")
    view.channel_spin.interpretText()
    assert view.channel_spin.value() == 15
