"""Feature maps, contributions, logits and filters against a plain forward pass over a checkpoint's tensors,
for the seed's network and for networks of other shapes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from mnistconv.core.activations import (
    NotShowable,
    first_filters_flat,
    first_filters_shape,
    network_filters,
    read_network,
    unit_inputs,
)
from mnistconv.core.checkpoint import load_checkpoint, save_checkpoint
from mnistconv.core.model import build_model, deskew
from mnistconv.core.paths import bundled_model_path
from mnistconv.core.predict import Predictor
from mnistconv.core.shape import NetworkShape

from reference_forward import reference_forward

TOLERANCE = dict(rtol=1e-5, atol=1e-5)


@pytest.fixture(scope="module")
def bundled():
    with bundled_model_path() as path:
        saved = load_checkpoint(path)
    return saved.model_state, Predictor.bundled("cpu"), saved.deskews


def as_the_network_sees_it(image: np.ndarray, deskews: bool) -> np.ndarray:
    """The input of the first block: the image, deskewed when the checkpoint says its network deskews."""
    return deskew(torch.from_numpy(image)[None, None])[0, 0].numpy() if deskews else image


def images():
    """A drawn-looking 7, noise, a blank and an all-ink image."""
    seven = np.zeros((28, 28), dtype=np.float32)
    seven[6:9, 6:22] = 1.0
    for row in range(9, 23):
        seven[row, 20 - (row - 9) // 2 : 23 - (row - 9) // 2] = 0.9
    noise = np.random.default_rng(0).random((28, 28), dtype=np.float32)
    return {"seven": seven, "noise": noise, "blank": np.zeros((28, 28), np.float32), "ink": np.ones((28, 28), np.float32)}


@pytest.mark.parametrize("name", list(images()))
def test_maps_features_logits_and_contributions_equal_the_plain_forward_pass(bundled, name):
    state, predictor, deskews = bundled
    image = images()[name]
    reading = read_network(predictor, image)
    seen = as_the_network_sees_it(image, deskews)
    expected = reference_forward(state, seen, predictor.temperature)
    assert [m.shape for m in reading.maps] == [(16, 14, 14), (32, 7, 7), (32, 3, 3)]
    for ours, theirs in zip(reading.maps, expected["maps"]):
        np.testing.assert_allclose(ours, theirs, **TOLERANCE)
    np.testing.assert_array_equal(reading.image, image)
    np.testing.assert_array_equal(reading.seen, seen)
    np.testing.assert_allclose(reading.features, expected["features"], **TOLERANCE)
    np.testing.assert_allclose(reading.logits, expected["logits"], rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(reading.probabilities, expected["probabilities"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(reading.probabilities, predictor.predict(image)[0], rtol=1e-5, atol=1e-6)
    for digit in range(10):
        np.testing.assert_allclose(reading.contributions(digit), expected["weight"][digit] * expected["features"], **TOLERANCE)
    order = np.argsort(-expected["logits"])
    assert (reading.winner, reading.runner_up) == (order[0], order[1])


@pytest.mark.parametrize("name", list(images()))
def test_the_288_contributions_plus_the_bias_are_the_logit(bundled, name):
    reading = read_network(bundled[1], images()[name])
    for digit in range(10):
        total = float(np.sum(reading.contributions(digit), dtype=np.float64)) + float(reading.bias[digit])
        assert total == pytest.approx(float(reading.logits[digit]), rel=1e-5, abs=1e-4)
        assert reading.contributions_by_map(digit).sum() + reading.bias[digit] == pytest.approx(float(reading.logits[digit]),
                                                                                                rel=1e-5, abs=1e-4)


def test_features_are_numbered_map_row_column():
    reading = read_network(Predictor.bundled("cpu"), images()["seven"])
    np.testing.assert_array_equal(reading.features.reshape(32, 3, 3), reading.maps[2])


def test_an_untrained_model_and_a_checkpoint_saved_from_it_read_alike(tmp_path):
    torch.manual_seed(3)
    model = build_model()
    path = save_checkpoint(tmp_path / "m.pt", model, epoch=1, accuracy=0.5, lr=1e-3, hyperparameters={})
    state = load_checkpoint(path).model_state
    image = images()["seven"]
    expected = reference_forward(state, image)
    for source in (model, Predictor.from_checkpoint(path, "cpu")):
        reading = read_network(source, image)
        np.testing.assert_allclose(reading.logits, expected["logits"], rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(reading.maps[1], expected["maps"][1], **TOLERANCE)


@pytest.mark.parametrize("block, channel", [(1, 0), (1, 15), (2, 5), (3, 31)])
def test_a_maps_inputs_filters_and_partial_sums_make_the_map(bundled, block, channel):
    state, predictor, deskews = bundled
    image = as_the_network_sees_it(images()["seven"], deskews)
    reading = read_network(predictor, images()["seven"])
    unit = unit_inputs(predictor, reading, block, channel)
    expected = reference_forward(state, image)
    inputs = image[None] if block == 1 else expected["maps"][block - 2]
    np.testing.assert_allclose(unit.inputs, inputs, **TOLERANCE)
    np.testing.assert_allclose(unit.kernels, state[f"conv{block}.weight"][channel].numpy(), **TOLERANCE)
    assert unit.bias == pytest.approx(float(state[f"conv{block}.bias"][channel]))
    np.testing.assert_allclose(unit.pre_pool, expected["pre_pool"][block - 1][channel], rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(unit.partials.sum(axis=0) + unit.bias, unit.pre_pool, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(unit.output, reading.maps[block - 1][channel], **TOLERANCE)
    # Each partial is its input map convolved with its own kernel.
    last_input = torch.from_numpy(inputs[-1:].astype(np.float64))[None]
    one = F.conv2d(last_input, torch.from_numpy(unit.kernels[-1:].astype(np.float64))[None], padding=1)[0, 0].numpy()
    np.testing.assert_allclose(unit.partials[-1], one, rtol=1e-5, atol=1e-5)
    strengths = unit.strengths()
    assert strengths.shape == (len(inputs),) and np.isfinite(strengths).all()


def test_strengths_average_each_partial_where_pooling_reads_it():
    reading = read_network(Predictor.bundled("cpu"), images()["seven"])
    unit = unit_inputs(Predictor.bundled("cpu"), reading, 3, 4)
    # 7×7 before pooling, 3×3 after: each output pixel reads the largest of its 2×2 (the last row and column unused).
    kept = np.zeros((7, 7), dtype=bool)
    for r in range(3):
        for c in range(3):
            window = unit.pre_pool[2 * r : 2 * r + 2, 2 * c : 2 * c + 2]
            dr, dc = np.unravel_index(np.argmax(window), (2, 2))
            kept[2 * r + dr, 2 * c + dc] = True
    np.testing.assert_allclose(unit.strengths(), unit.partials[:, kept].mean(axis=1), rtol=1e-6)


def test_filters_are_the_checkpoints_tensors(bundled):
    state, predictor, _ = bundled
    filters = network_filters(predictor)
    np.testing.assert_array_equal(filters.first, state["conv1.weight"][:, 0].float().numpy())
    np.testing.assert_array_equal(filters.first_bias, state["conv1.bias"].float().numpy())
    for block, strengths in ((2, filters.strengths[0]), (3, filters.strengths[1])):
        weight = state[f"conv{block}.weight"].double()
        np.testing.assert_allclose(strengths, weight.pow(2).sum(dim=(2, 3)).sqrt().numpy(), rtol=1e-5)
    assert filters.strengths[0].shape == (32, 16) and filters.strengths[1].shape == (32, 32)


def test_bad_images_and_bad_models_are_refused_with_reasons(bundled):
    predictor = bundled[1]
    with pytest.raises(ValueError, match="needs a \\(28, 28\\) image"):
        read_network(predictor, np.zeros((20, 20), np.float32))
    with pytest.raises(ValueError, match="NaN"):
        read_network(predictor, np.full((28, 28), np.nan, np.float32))
    with pytest.raises(ValueError, match="one \\(28, 28\\) image"):
        read_network(predictor, np.zeros((2, 28, 28), np.float32))
    with pytest.raises(NotShowable, match="not the network"):
        read_network(torch.nn.Linear(784, 10), images()["seven"])
    reading = read_network(predictor, images()["seven"])
    with pytest.raises(ValueError, match="block must be"):
        unit_inputs(predictor, reading, 4, 0)
    with pytest.raises(ValueError, match="maps 0–15"):
        unit_inputs(predictor, reading, 1, 16)


def test_a_model_gone_nan_is_not_shown():
    model = build_model()
    with torch.no_grad():
        model.fc.bias[3] = float("nan")
    with pytest.raises(NotShowable, match="not finite"):
        read_network(Predictor.from_model(model, device="cpu"), images()["seven"])


# -- networks of other shapes (core.shape's family) -------------------------------------------------------------

FOUR_BLOCKS = NetworkShape((8, 16, 16, 24), 5, 32)  # 5×5, down to maps of 1×1, a hidden layer
ONE_BLOCK = NetworkShape((4,), 3, 0)  # 4 maps of 14×14 straight to the logits
SHAPES = [FOUR_BLOCKS, ONE_BLOCK, NetworkShape((8, 16), 5, 0), NetworkShape((4, 8, 8), 3, 16)]


def shape_id(shape: NetworkShape) -> str:
    return f"{shape.channels_text()}-k{shape.kernel}-h{shape.hidden}"


def model_of(shape: NetworkShape, deskew: bool = False, seed: int = 0):
    """An untrained network of `shape`, its biases not zero (as a trained one's are not)."""
    torch.manual_seed(seed)
    model = build_model(shape=shape, deskew=deskew)
    with torch.no_grad():
        for layer in (*model.convs, *model.dense_layers):
            layer.bias.uniform_(-0.1, 0.1)
    return model.eval()


def plain_forward(model, image: np.ndarray) -> dict:
    """The network of any shape written out from its tensors with torch.nn.functional alone, in float64:
    conv k×k (padding k//2) → ReLU → max-pool per block, flatten, the hidden layer with ReLU, the logits."""
    state = {name: tensor.detach().double() for name, tensor in model.state_dict().items()}
    shape = model.shape
    x = torch.from_numpy(image.astype(np.float64))[None, None]
    out = {"pre_pool": [], "maps": []}
    for block in range(1, shape.blocks + 1):
        conv = F.conv2d(x, state[f"conv{block}.weight"], state[f"conv{block}.bias"], padding=shape.kernel // 2)
        out["pre_pool"].append(conv[0].numpy())
        x = F.max_pool2d(F.relu(conv), 2)
        out["maps"].append(x[0].numpy())
    x = features = x.reshape(1, -1)
    out["hidden"] = None
    if shape.hidden:
        x = F.relu(F.linear(x, state["hidden.weight"], state["hidden.bias"]))
        out["hidden"] = x[0].numpy()
    logits = F.linear(x, state["fc.weight"], state["fc.bias"])
    out.update(features=features[0].numpy(), logits=logits[0].numpy(), weight=state["fc.weight"].numpy())
    return out


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_any_shape_reads_as_its_own_forward_pass_and_the_contributions_make_the_logits(shape):
    model = model_of(shape)
    image = images()["seven"]
    reading = read_network(model, image)
    expected = plain_forward(model, image)
    assert reading.shape == shape
    assert [m.shape for m in reading.maps] == list(shape.map_shapes())
    for ours, theirs in zip(reading.maps, expected["maps"], strict=True):
        np.testing.assert_allclose(ours, theirs, **TOLERANCE)
    assert reading.features.shape == (shape.features,)
    np.testing.assert_array_equal(reading.features, reading.maps[-1].reshape(-1))
    with torch.no_grad():
        own = model(torch.from_numpy(image)[None, None]).numpy()[0]
    np.testing.assert_allclose(reading.logits, own, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(reading.logits, expected["logits"], rtol=1e-5, atol=1e-5)
    if shape.hidden:
        np.testing.assert_allclose(reading.hidden, expected["hidden"], **TOLERANCE)
        assert reading.weight.shape == (10, shape.hidden)
        with pytest.raises(ValueError, match="hidden"):
            reading.contributions_by_map(0)
    else:
        assert reading.hidden is None and reading.weight.shape == (10, shape.features)
    reads = expected["features"] if expected["hidden"] is None else expected["hidden"]
    for digit in range(10):
        contributions = reading.contributions(digit)
        np.testing.assert_allclose(contributions, expected["weight"][digit] * reads, rtol=1e-5, atol=1e-6)
        total = float(np.sum(contributions, dtype=np.float64)) + float(reading.bias[digit])
        assert total == pytest.approx(float(reading.logits[digit]), rel=1e-5, abs=1e-5)
        if not shape.hidden:
            assert reading.contributions_by_map(digit).shape == (shape.channels[-1],)
            assert float(reading.contributions_by_map(digit).sum()) + reading.bias[digit] == pytest.approx(
                float(reading.logits[digit]), rel=1e-5, abs=1e-5)


def test_a_deskewing_network_of_another_shape_shows_what_its_first_block_sees():
    model = model_of(ONE_BLOCK, deskew=True)
    image = images()["seven"]
    reading = read_network(Predictor.from_model(model, device="cpu"), image)
    seen = as_the_network_sees_it(image, True)
    np.testing.assert_allclose(reading.seen, seen, atol=1e-6)
    np.testing.assert_allclose(reading.maps[0], plain_forward(model, seen)["maps"][0], **TOLERANCE)


@pytest.mark.parametrize("shape", [FOUR_BLOCKS, ONE_BLOCK], ids=shape_id)
def test_every_block_of_any_shape_is_made_of_its_inputs_and_its_k_by_k_filters(shape):
    model = model_of(shape)
    image = images()["seven"]
    reading = read_network(model, image)
    expected = plain_forward(model, image)
    k = shape.kernel
    for block, count in enumerate(shape.channels, start=1):
        for channel in (0, count - 1):
            unit = unit_inputs(model, reading, block, channel)
            inputs = image[None] if block == 1 else expected["maps"][block - 2]
            np.testing.assert_allclose(unit.inputs, inputs, **TOLERANCE)
            assert unit.kernels.shape == (len(inputs), k, k)
            np.testing.assert_array_equal(unit.kernels, model.convs[block - 1].weight[channel].detach().numpy())
            np.testing.assert_allclose(unit.pre_pool, expected["pre_pool"][block - 1][channel], rtol=1e-5, atol=1e-5)
            np.testing.assert_allclose(unit.partials.sum(axis=0) + unit.bias, unit.pre_pool, rtol=1e-5, atol=1e-5)
            np.testing.assert_allclose(unit.output, reading.maps[block - 1][channel], **TOLERANCE)
            assert unit.strengths().shape == (len(inputs),)
    with pytest.raises(ValueError, match=f"block must be 1 to {shape.blocks}"):
        unit_inputs(model, reading, shape.blocks + 1, 0)
    with pytest.raises(ValueError, match=f"maps 0–{shape.channels[0] - 1}"):
        unit_inputs(model, reading, 1, shape.channels[0])


@pytest.mark.parametrize("shape", [FOUR_BLOCKS, ONE_BLOCK], ids=shape_id)
def test_the_filters_of_any_shape(shape):
    model = model_of(shape)
    filters = network_filters(Predictor.from_model(model, device="cpu"))
    k = shape.kernel
    np.testing.assert_array_equal(filters.first, model.conv1.weight.detach()[:, 0].numpy())
    np.testing.assert_array_equal(filters.first_bias, model.conv1.bias.detach().numpy())
    assert [s.shape for s in filters.strengths] == list(zip(shape.channels[1:], shape.channels[:-1]))
    for conv, strengths in zip(model.convs[1:], filters.strengths, strict=True):
        np.testing.assert_allclose(strengths, conv.weight.detach().double().pow(2).sum(dim=(2, 3)).sqrt().numpy(), rtol=1e-5)
    flat = first_filters_flat(model)
    assert first_filters_shape(model) == (shape.channels[0], k, k) == filters.first.shape
    assert len(flat) == shape.channels[0] * k * k
    np.testing.assert_array_equal(np.array(flat, np.float32).reshape(first_filters_shape(model)), filters.first)
    assert first_filters_flat(torch.nn.Linear(784, 10)) == () == first_filters_shape(torch.nn.Linear(784, 10))


def test_a_network_whose_layers_disagree_with_its_shape_is_not_shown():
    image = images()["seven"]
    swapped = model_of(FOUR_BLOCKS)
    swapped.conv2 = torch.nn.Conv2d(8, 16, 3, padding=1)  # a 3×3 layer in a 5×5 network
    with pytest.raises(NotShowable, match="not those of its shape"):
        read_network(swapped, image)
    added = model_of(ONE_BLOCK)
    added.hidden = torch.nn.Linear(784, 10)  # a hidden layer its shape does not have
    with pytest.raises(NotShowable, match="not those of its shape"):
        network_filters(added)
    mislabelled = model_of(ONE_BLOCK)
    mislabelled.shape = FOUR_BLOCKS  # declares layers it lacks
    with pytest.raises(NotShowable):
        read_network(mislabelled, image)
    assert first_filters_flat(mislabelled) == () and first_filters_shape(mislabelled) == ()
