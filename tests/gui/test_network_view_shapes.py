"""The network view for networks of other shapes than the seed's: 1 to 4 blocks, 5×5 kernels, a hidden layer;
and a model of another shape swapped in, and back."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt
from PySide6.QtWidgets import QHBoxLayout, QWidget

from mnistconv.core.model import build_model
from mnistconv.core.predict import Predictor
from mnistconv.core.shape import NetworkShape
from mnistconv.gui.network_view import NetworkView
from mnistconv.gui.scripted_mouse import drag, send_mouse
from mnistconv.gui.sketchpad import Sketchpad

FOUR_BLOCKS = NetworkShape((8, 16, 16, 24), 5, 32)  # 5×5, down to maps of 1×1, a hidden layer of 32
ONE_BLOCK = NetworkShape((4,), 3, 0)  # 4 maps of 14×14 straight to the logits


def two():
    """A '2' in the canvas's 280×280 square: an arc, a diagonal and a base."""
    angles = np.radians(np.linspace(160, -35, 30))
    return [(140 + 55 * np.cos(a), 95 - 55 * np.sin(a)) for a in angles] + [(82.0, 222.0), (205.0, 218.0)]


def reader(shape: NetworkShape, seed: int = 0) -> Predictor:
    """An untrained network of `shape` (biases not zero), as the sketchpad reads with it."""
    torch.manual_seed(seed)
    model = build_model(shape=shape)
    with torch.no_grad():
        for layer in (*model.convs, *model.dense_layers):
            layer.bias.uniform_(-0.1, 0.1)
    return Predictor.from_model(model, device="cpu")


@pytest.fixture
def make_view(qtbot):
    """A sketchpad reading with `predictor` and a network view beside it."""

    def make(predictor, size=(1000, 680)):
        pad = Sketchpad(predictor)
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


def shows_the_pad(holder) -> bool:
    view, pad = holder.view, holder.pad
    return (view.reading() is not None and pad.network_input() is not None
            and view.reading().shape == pad.predictor.model.shape and np.array_equal(view.reading().image, pad.network_input()))


def drawn(qtbot, holder):
    drag(holder.pad.canvas, two())
    qtbot.waitUntil(lambda: shows_the_pad(holder), timeout=3000)
    return holder.view.reading()


def tile_centre(tiles, index, row=None, column=None) -> QPoint:
    rect = tiles.rects[index]
    rows, columns = tiles.shape
    row = rows // 2 if row is None else row
    column = columns // 2 if column is None else column
    x = rect.left() + (column + 0.5) * rect.width() / columns
    return QPointF(x, rect.top() + (row + 0.5) * rect.height() / rows).toPoint()


def hover(canvas, point: QPoint) -> str:
    none = Qt.MouseButton.NoButton
    send_mouse(canvas, QEvent.Type.MouseMove, point.x(), point.y(), none, none)
    return canvas.status_text


def combo_items(view) -> list[str]:
    return [view.block_combo.itemText(index) for index in range(view.block_combo.count())]


def inside(widget, tiles) -> bool:
    """Every tile of a group lies within the widget (nothing laid out past its edge)."""
    area = QRectF(widget.rect())
    return len(tiles.rects) == tiles.count and all(area.contains(rect) for rect in tiles.rects)


def test_four_blocks_and_a_hidden_layer_are_laid_out_by_the_networks_shape(qtbot, make_view):
    holder = make_view(reader(FOUR_BLOCKS))
    reading = drawn(qtbot, holder)
    view, layers = holder.view, holder.view.layers
    assert [(tiles.count, *tiles.shape) for tiles in layers.blocks] == list(FOUR_BLOCKS.map_shapes())
    for tiles, maps in zip(layers.blocks, reading.maps, strict=True):
        np.testing.assert_array_equal(tiles.values, maps)
        assert inside(layers, tiles)
    # The logits layer reads the 32 hidden units: they are shown, and what each adds to the two classes.
    assert (layers.hidden_units.count, layers.hidden_units.shape) == (32, (1, 1))
    np.testing.assert_array_equal(layers.hidden_units.values.reshape(-1), reading.hidden)
    for tiles, digit in ((layers.to_winner, reading.winner), (layers.to_runner_up, reading.runner_up)):
        assert (tiles.count, tiles.shape) == (32, (1, 1)) and inside(layers, tiles)
        np.testing.assert_array_equal(tiles.values.reshape(-1), reading.contributions(digit))
        total = float(tiles.values.sum(dtype=np.float64)) + float(reading.bias[digit])
        assert total == pytest.approx(float(reading.logits[digit]), abs=1e-5)
    headers = layers.shown_headers()
    assert headers["block4"] == "Block 4: 24 maps, 1×1 (pooled)" and headers["hidden"].startswith("Hidden layer: 32 units")
    assert headers["dense"] == "Dense layer: hidden unit × weight"
    assert hover(layers, tile_centre(layers.blocks[3], 5)).startswith("Block 4, map 6, row 1, column 1: ")
    assert hover(layers, tile_centre(layers.hidden_units, 3)).startswith("Hidden unit 4: ")
    assert hover(layers, tile_centre(layers.to_winner, 3)).startswith("Hidden unit 4 = ")
    assert combo_items(view) == ["Block 1", "Block 2", "Block 3", "Block 4"]
    # A hidden unit is no map: clicking one opens nothing.
    qtbot.mouseClick(layers, Qt.MouseButton.LeftButton, pos=tile_centre(layers.to_winner, 3))
    assert view.page() == "layers"
    # A 1×1 map of block 4 is one tile: clicking it opens it, fed by block 3's 16 maps through 5×5 filters.
    qtbot.mouseClick(layers, Qt.MouseButton.LeftButton, pos=tile_centre(layers.blocks[3], 20))
    assert view.page() == "map"
    qtbot.waitUntil(lambda: view.unit() is not None and (view.unit().block, view.unit().channel) == (4, 20), timeout=2000)
    canvas = view.unit_canvas
    assert view.block_combo.currentText() == "Block 4" and view.channel_spin.maximum() == 23
    assert (canvas.inputs.count, canvas.inputs.shape, canvas.kernels.shape) == (16, (3, 3), (5, 5))
    assert canvas.output.shape == (1, 1) and layers.blocks[3].selected == 20
    np.testing.assert_allclose(canvas.output.values[0], reading.maps[3][20], rtol=1e-6)
    assert "its 5×5 filters" in canvas.title()
    view.block_combo.setCurrentIndex(0)
    qtbot.waitUntil(lambda: view.unit().block == 1, timeout=2000)
    assert view.channel_spin.maximum() == 7 and canvas.kernels.shape == (5, 5)


def test_one_block_shows_its_maps_and_their_features_contributions(qtbot, make_view):
    holder = make_view(reader(ONE_BLOCK))
    reading = drawn(qtbot, holder)
    view, layers = holder.view, holder.view.layers
    assert len(layers.blocks) == 1 and layers.hidden_units is None
    assert combo_items(view) == ["Block 1"] and view.channel_spin.maximum() == 3
    # The 4·14·14 = 784 features reach the logits straight: their contributions laid out as the maps.
    assert (layers.to_winner.count, layers.to_winner.shape) == (4, (14, 14))
    np.testing.assert_array_equal(layers.to_winner.values.reshape(-1), reading.contributions(reading.winner))
    assert "hidden" not in layers.shown_headers() and "block2" not in layers.shown_headers()
    text = hover(layers, tile_centre(layers.to_runner_up, 2, 5, 6))
    assert text.startswith(f"Feature {2 * 196 + 5 * 14 + 6 + 1} (block 1, map 3, row 6, column 7)")
    assert "map 3's 196 features together" in text
    qtbot.mouseClick(layers, Qt.MouseButton.LeftButton, pos=tile_centre(layers.to_runner_up, 2))
    qtbot.waitUntil(lambda: view.unit() is not None and (view.unit().block, view.unit().channel) == (1, 2), timeout=2000)
    assert view.unit_canvas.kernels.shape == (3, 3) and view.unit_canvas.inputs.count == 1
    view.show_unit(2, 0)  # a block the network lacks: nothing happens
    assert (view.unit().block, view.unit().channel) == (1, 2)
    view.help_button.click()
    view.set_page("layers")
    assert "That gives 4 maps of 14×14:" in view.explanation.text() and "288" not in view.explanation.text()
    view.set_page("filters")
    assert "Block 1's 4 filters are its 3×3 weights" in view.explanation.text()
    assert "blocks 2" not in view.explanation.text()


def test_the_filters_page_is_sized_by_block_ones_filters_and_skips_rows_of_another_shape(qtbot, make_view):
    holder = make_view(reader(NetworkShape((32, 16, 16), 5, 0)))
    view, canvas = holder.view, holder.view.filters_canvas
    view.set_page("filters")
    qtbot.waitUntil(lambda: canvas.filters is not None, timeout=2000)
    model = holder.pad.predictor.model
    assert (canvas.first.count, canvas.first.shape) == (32, (5, 5))
    np.testing.assert_array_equal(canvas.first.values, model.conv1.weight.detach()[:, 0].numpy())
    assert [tiles.shape for tiles in canvas.strengths] == [(32, 16), (16, 16)]
    # 5×5 filters drawn larger than 3×3 ones, in proportion; 32 of them in two rows of 16.
    assert canvas.first.rects[0].width() == canvas.KERNEL * 5 // 3
    assert len({rect.top() for rect in canvas.first.rects}) == 2
    view.add_saved_model(1, holder.pad.predictor)
    view.add_saved_model(2, reader(NetworkShape((32, 16, 16), 5, 0), seed=1))
    assert canvas.rows.count == 64 and canvas.rows.shape == (5, 5)
    for tiles in canvas.tile_groups():
        assert inside(canvas, tiles), tiles.key
    width, height = canvas.width(), canvas.height()
    # A row of another shape (a seed-shaped run's) is left out, and said to be.
    seed_row = np.zeros((16, 3, 3), np.float32)
    view.set_history([(1, seed_row), *view.history])
    assert [epoch for epoch, _ in canvas.history] == [1, 2] and canvas.left_out == 1
    assert "1 of another network's shape not shown" in canvas.headings()["history"]
    assert (canvas.width(), canvas.height()) == (width, height)
    assert not view.grab().isNull()
    # The seed's model shows the seed-shaped row, and not the others.
    holder.pad.set_predictor(Predictor.bundled("cpu"))
    qtbot.waitUntil(lambda: canvas.first.shape == (3, 3) and canvas.filters is not None, timeout=2000)
    assert canvas.first.count == 16 and [epoch for epoch, _ in canvas.history] == [1] and canvas.left_out == 2
    assert canvas.width() < width and not view.grab().isNull()


def test_a_model_of_another_shape_lays_the_view_out_anew_and_back(qtbot, make_view):
    holder = make_view(Predictor.bundled("cpu"))
    pad, view = holder.pad, holder.view
    drawn(qtbot, holder)
    view.show_unit(3, 30)
    qtbot.waitUntil(lambda: view.unit() is not None and (view.unit().block, view.unit().channel) == (3, 30), timeout=2000)
    view.help_button.click()
    pad.set_predictor(reader(FOUR_BLOCKS))  # block 3 has 16 maps there: the map shown is its last
    # Laid out at once; nothing of the seed's model is left on the new layout until the view reads anew.
    assert len(view.layers.blocks) == 4 and view.reading() is None and view.layers.reading is None
    qtbot.waitUntil(lambda: shows_the_pad(holder) and view.unit() is not None, timeout=3000)
    assert len(view.layers.blocks) == 4 and combo_items(view) == ["Block 1", "Block 2", "Block 3", "Block 4"]
    assert (view.unit().block, view.unit().channel) == (3, 15) and view.channel_spin.maximum() == 15
    assert view.unit_canvas.kernels.shape == (5, 5)
    assert "5×5" in view.explanation.text() and "3×3 <i>filters" not in view.explanation.text()
    view.set_page("layers")
    assert "Blocks 1–4" in view.explanation.text() and "32 units" in view.explanation.text()
    assert "288" not in view.explanation.text()
    pad.set_predictor(reader(ONE_BLOCK))
    qtbot.waitUntil(lambda: shows_the_pad(holder), timeout=3000)
    assert len(view.layers.blocks) == 1 and combo_items(view) == ["Block 1"] and view.layers.hidden_units is None
    for page in ("map", "filters", "layers"):
        view.set_page(page)
        assert not view.grab().isNull()
    pad.set_predictor(Predictor.bundled("cpu"))
    qtbot.waitUntil(lambda: shows_the_pad(holder), timeout=3000)
    layers = view.layers
    assert [(tiles.count, *tiles.shape) for tiles in layers.blocks] == [(16, 14, 14), (32, 7, 7), (32, 3, 3)]
    assert (layers.to_winner.count, layers.to_winner.shape) == (32, (3, 3)) and layers.hidden_units is None
    assert combo_items(view) == ["Block 1", "Block 2", "Block 3"] and view.channel_spin.maximum() == 15
    assert "16 maps of 14×14, then 32 of 7×7, then 32 of 3×3" in view.explanation.text()
    qtbot.mouseClick(layers, Qt.MouseButton.LeftButton, pos=tile_centre(layers.blocks[2], 31))
    qtbot.waitUntil(lambda: view.unit() is not None and (view.unit().block, view.unit().channel) == (3, 31), timeout=2000)
    assert view.unit_canvas.kernels.shape == (3, 3) and view.unit_canvas.inputs.count == 32
