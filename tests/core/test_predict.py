"""Predictor: probabilities of the right shape, its own copy of the weights, checkpoints good and bad."""

import re
from importlib import resources

import numpy as np
import pytest
import torch

from mnistconv.core.checkpoint import save_checkpoint
from mnistconv.core.data import load_mnist, pixels
from mnistconv.core.errors import CheckpointError
from mnistconv.core.model import build_model
from mnistconv.core.predict import Predictor
from mnistconv.core.train import train

from idx_files import write_tiny_mnist
from tiny_training import tiny_config


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny synthetic data and a checkpoint trained on it, made once for this module."""
    folder = tmp_path_factory.mktemp("predict")
    data = load_mnist(write_tiny_mnist(folder / "data"), "cpu")
    list(train(tiny_config(folder / "run"), data))
    return data, folder / "run" / "mnist_conv.pt"


@pytest.fixture
def untrained():
    torch.manual_seed(0)
    return Predictor.from_model(build_model(), name="untrained")


def test_single_image_and_batch_give_n_by_10_probabilities(untrained):
    rng = np.random.default_rng(0)
    single = untrained.predict(rng.random((28, 28), dtype=np.float32))
    batch = untrained.predict(rng.random((5, 28, 28)))  # float64 is fine too
    assert single.shape == (1, 10) and batch.shape == (5, 10)
    for probabilities in (single, batch):
        assert probabilities.dtype == np.float32
        assert (probabilities >= 0).all()
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_batch_rows_match_single_predictions(untrained):
    images = np.random.default_rng(1).random((3, 28, 28), dtype=np.float32)
    batch = untrained.predict(images)
    for image, row in zip(images, batch):
        np.testing.assert_allclose(untrained.predict(image)[0], row, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", [(784,), (28, 27), (2, 1, 28, 28), (4, 28, 28, 3), ()])
def test_wrong_shapes_are_refused(untrained, shape):
    with pytest.raises(ValueError, match=r"\(28, 28\) image or an \(N, 28, 28\) batch"):
        untrained.predict(np.zeros(shape, dtype=np.float32))


def test_uint8_images_are_refused_rather_than_misread(untrained):
    with pytest.raises(ValueError, match="float images in \\[0, 1\\]"):
        untrained.predict(np.zeros((28, 28), dtype=np.uint8))


def test_from_model_keeps_its_own_copy():
    torch.manual_seed(0)
    model = build_model()
    predictor = Predictor.from_model(model, name="copy", accuracy=0.5)
    image = np.random.default_rng(2).random((28, 28), dtype=np.float32)
    before = predictor.predict(image)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.mul_(-3.0).add_(0.1)
    model.train()
    np.testing.assert_array_equal(predictor.predict(image), before)
    assert predictor.model is not model
    assert not predictor.model.training
    assert not any(p.requires_grad for p in predictor.model.parameters())
    assert model.training and all(p.requires_grad for p in model.parameters())  # the original is untouched
    assert predictor.device == torch.device("cpu")
    assert predictor.describe() == "copy — 50.00 % test accuracy"


def test_checkpoint_round_trip_names_and_accuracy(tmp_path):
    torch.manual_seed(0)
    model = build_model()
    path = save_checkpoint(tmp_path / "mnist_conv.pt", model, epoch=1, accuracy=0.9924, lr=3e-3, hyperparameters={})
    predictor = Predictor.from_checkpoint(path, device="cpu")
    assert predictor.name == str(path)
    assert predictor.accuracy == pytest.approx(0.9924)
    assert predictor.device == torch.device("cpu")
    assert predictor.describe() == f"{path} — 99.24 % test accuracy"
    image = np.random.default_rng(3).random((28, 28), dtype=np.float32)
    expected = torch.softmax(model.eval()(torch.from_numpy(image)[None, None]), dim=1).detach().numpy()
    np.testing.assert_allclose(predictor.predict(image), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("content", [None, b"", b"not a checkpoint at all"], ids=["missing", "empty", "garbage"])
def test_from_checkpoint_on_a_bad_file_raises_checkpoint_error(tmp_path, content):
    path = tmp_path / "mnist_conv.pt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match="mnist_conv.pt"):
        Predictor.from_checkpoint(path, device="cpu")


def test_trained_predictor_reads_the_tiny_test_digits(tiny):
    data, path = tiny
    predictor = Predictor.from_checkpoint(path, device="cpu")
    images = pixels(data.test_images)[:, 0].numpy()
    labels = data.test_labels.numpy()
    predicted = predictor.predict(images).argmax(axis=1)
    assert (predicted == labels).mean() >= 0.95
    assert predictor.accuracy is not None and predictor.accuracy >= 0.95


def test_missing_bundled_model_is_a_checkpoint_error(monkeypatch, tmp_path):
    monkeypatch.setattr(resources, "files", lambda package: tmp_path)
    with pytest.raises(CheckpointError, match="bundled model .* is missing"):
        Predictor.bundled(device="cpu")


def test_bundled_model_loads_and_predicts():
    if not (resources.files("mnistconv.resources") / "mnist_conv.pt").is_file():
        pytest.skip("resources/mnist_conv.pt has not been generated yet (scripts/make_bundled_model.py)")
    predictor = Predictor.bundled(device="cpu")
    assert predictor.name == "bundled model"
    assert predictor.describe().startswith("bundled model — ")
    probabilities = predictor.predict(np.zeros((28, 28), dtype=np.float32))
    assert probabilities.shape == (1, 10)
    np.testing.assert_allclose(probabilities.sum(), 1.0, rtol=1e-5)


def test_saliency_marks_the_ink_that_drove_the_prediction():
    from mnistconv.core.model import build_model
    from mnistconv.core.predict import Predictor

    torch.manual_seed(0)
    predictor = Predictor.from_model(build_model(), device="cpu")
    image = np.zeros((28, 28), np.float32)
    image[4:24, 12:16] = 1.0
    heat = predictor.saliency(image)
    assert heat.shape == (28, 28) and heat.dtype == np.float32
    assert float(heat.max()) == pytest.approx(1.0)
    assert float(heat[image == 0].max()) == 0.0  # input × gradient: no ink, no credit
    with pytest.raises(ValueError):
        predictor.saliency(np.zeros((2, 28, 28), np.float32))


# Images outside [0, 1] and targets that are not a class: refused with a reason, never read as nonsense.

def _image(value: float, dtype=np.float32) -> np.ndarray:
    image = np.full((28, 28), 0.2, dtype=dtype)
    image[5, 7] = value
    return image


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("call", ["predict", "saliency"])
def test_nan_and_infinite_pixels_are_refused(untrained, value, call):
    with pytest.raises(ValueError, match=rf"^{call} needs finite pixel values: the image holds NaN or infinite values$"):
        getattr(untrained, call)(_image(value))


def test_the_batch_image_with_a_nan_is_named(untrained):
    batch = np.zeros((5, 28, 28), dtype=np.float64)
    batch[3, 0, 0] = np.nan
    reason = r"^predict needs finite pixel values: image 3 of the batch holds NaN or infinite values$"
    with pytest.raises(ValueError, match=reason):
        untrained.predict(batch)


@pytest.mark.parametrize("image, found", [
    (np.full((28, 28), -100.0, np.float32), "-100 to -100"),
    (np.full((28, 28), 255.0), "255 to 255"),
    (_image(1.5), "0.2 to 1.5"),
    (_image(-0.02), "-0.02 to 0.2"),
    (_image(1e308, np.float64), "0.2 to 1e+308"),  # float64 beyond float32's range: not "infinite"
], ids=["-100", "255", "1.5", "-0.02", "1e308"])
@pytest.mark.parametrize("call", ["predict", "saliency"])
def test_pixels_far_outside_0_to_1_are_refused(untrained, image, found, call):
    with pytest.raises(ValueError, match=rf"^{call} needs pixel values in \[0, 1\] \(e\.g\. from to_mnist\); "
                                         rf"the image has values from {re.escape(found)}$"):
        getattr(untrained, call)(image)


def test_small_excursions_beyond_0_and_1_are_clipped(untrained):
    image = np.random.default_rng(4).random((28, 28), dtype=np.float32)
    image[0, :3] = [-0.01, -0.004, 0.0]
    image[1, :3] = [1.01, 1.003, 1.0]
    kept = image.copy()
    np.testing.assert_array_equal(untrained.predict(image), untrained.predict(np.clip(image, 0.0, 1.0)))
    np.testing.assert_array_equal(untrained.saliency(image), untrained.saliency(np.clip(image, 0.0, 1.0)))
    np.testing.assert_array_equal(image, kept)  # the caller's array is not clipped in place


def test_an_empty_batch_gives_no_rows(untrained):
    assert untrained.predict(np.zeros((0, 28, 28), np.float32)).shape == (0, 10)


@pytest.mark.parametrize("target", [-1, 10, 1.7, 2.0, True, np.bool_(True), "3", np.float64(4.0), [3]],
                         ids=["-1", "10", "1.7", "2.0", "True", "np.True_", "'3'", "np.float64", "[3]"])
def test_saliency_target_must_be_a_class_0_to_9(untrained, target):
    with pytest.raises(ValueError, match=rf"^saliency's target must be a class 0–9 \(an int\), not {re.escape(repr(target))}$"):
        untrained.saliency(_image(1.0), target)


def test_saliency_target_takes_numpy_ints_and_picks_that_class(untrained):
    image = _image(1.0)
    image[10:20, 12:15] = 1.0
    predicted = int(untrained.predict(image).argmax())
    other = (predicted + 1) % 10
    np.testing.assert_array_equal(untrained.saliency(image, np.int64(other)), untrained.saliency(image, other))
    np.testing.assert_array_equal(untrained.saliency(image, np.uint8(predicted)), untrained.saliency(image))
    assert not np.array_equal(untrained.saliency(image, other), untrained.saliency(image))
