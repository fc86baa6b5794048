"""Confidences that mean what they say: the temperature fit, the calibration error, and the
bundled model's percentages."""

import math

import numpy as np
import pytest
import torch

from mnistconv.core import checkpoint
from mnistconv.core.calibration import HIGHEST, LOWEST, check_temperature, expected_calibration_error, fit_temperature, softmax
from mnistconv.core.errors import CheckpointError
from mnistconv.core.model import build_model
from mnistconv.core.predict import Predictor


def calibrated_at(temperature: float, count: int = 20_000, seed: int = 0):
    """Logits whose labels are drawn from softmax(logits / temperature): that temperature is the true one."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 4, size=(count, 10))
    probabilities = softmax(logits, temperature)
    labels = np.array([rng.choice(10, p=row) for row in probabilities])
    return logits, labels


@pytest.mark.parametrize("true", [0.5, 1.0, 2.5])
def test_the_fitted_temperature_is_the_one_the_labels_were_drawn_with(true):
    logits, labels = calibrated_at(true)
    assert fit_temperature(logits, labels) == pytest.approx(true, rel=0.05)
    assert expected_calibration_error(softmax(logits, true), labels) < 0.015
    assert expected_calibration_error(softmax(logits, true * 3), labels) > 0.05  # too soft: far off


def test_the_calibration_error_of_known_readings():
    sure_and_right = np.array([[0.9, 0.1], [0.9, 0.1]])
    assert expected_calibration_error(sure_and_right, np.array([0, 0])) == pytest.approx(0.1)  # 90 % shown, 100 % right
    assert expected_calibration_error(sure_and_right, np.array([0, 1])) == pytest.approx(0.4)  # 90 % shown, 50 % right


@pytest.mark.parametrize("value", [0, -1.0, math.nan, math.inf, LOWEST / 2, HIGHEST * 2, "0.5", True, None])
def test_a_temperature_out_of_range_is_refused(value):
    with pytest.raises(ValueError, match="a temperature is a number from"):
        check_temperature(value)


def test_a_checkpoint_keeps_its_temperature_and_a_crafted_one_is_refused(tmp_path):
    path = checkpoint.save_checkpoint(tmp_path / "m.pt", build_model(), epoch=1, accuracy=0.5, lr=1e-3,
                                      hyperparameters={}, temperature=0.5)
    assert checkpoint.load_checkpoint(path).temperature == 0.5
    payload = torch.load(path, weights_only=True)
    del payload["temperature"]  # a file from before calibration
    torch.save(payload, tmp_path / "older.pt")
    assert checkpoint.load_checkpoint(tmp_path / "older.pt").temperature == 1.0
    payload["temperature"] = float("nan")
    torch.save(payload, tmp_path / "crafted.pt")
    with pytest.raises(CheckpointError, match="crafted.pt: a temperature is a number from"):
        checkpoint.load_checkpoint(tmp_path / "crafted.pt")


def test_the_predictor_divides_the_logits_by_the_temperature(tmp_path):
    model = build_model()
    path = checkpoint.save_checkpoint(tmp_path / "m.pt", model, epoch=1, accuracy=0.5, lr=1e-3, hyperparameters={},
                                      temperature=0.25)
    predictor = Predictor.from_checkpoint(path, "cpu")
    image = np.random.default_rng(1).random((28, 28), dtype=np.float32)
    with torch.inference_mode():
        logits = predictor.model(torch.from_numpy(image)[None, None]).numpy()
    np.testing.assert_allclose(predictor.predict(image), softmax(logits, 0.25), atol=1e-5)


@pytest.mark.mnist
def test_the_bundled_models_percentages_are_calibrated_on_mnist_and_reach_99(tmp_path):
    from mnistconv.core import data
    from mnistconv.core.paths import resolve_data_dir

    folder = resolve_data_dir()
    if data.missing_files(folder):
        pytest.skip(f"real MNIST not in {folder} (fetch it: mnistconv-fetch)")
    test = data.load_mnist(folder, "cpu")
    bundled = Predictor.bundled("cpu")
    assert bundled.temperature < 1  # label smoothing left it too unsure: the temperature sharpens
    held_out = slice(1, None, 2)  # the odd-numbered test digits: the even ones fitted the temperature
    probabilities = bundled.predict(data.pixels(test.test_images[held_out])[:, 0].numpy())
    assert expected_calibration_error(probabilities, test.test_labels[held_out].numpy()) <= 0.02
    assert (probabilities.max(axis=1) >= 0.99).mean() > 0.5  # clean digits reach 99 %


def test_a_copy_of_a_predictor_reads_with_the_same_temperature(tmp_path):
    path = checkpoint.save_checkpoint(tmp_path / "m.pt", build_model(), epoch=1, accuracy=0.5, lr=1e-3,
                                      hyperparameters={}, temperature=0.25)
    original = Predictor.from_checkpoint(path, "cpu")
    copy = original.copy_to(torch.device("cpu"))  # as the sketchpad copies it to and from the GPU
    assert (copy.temperature, copy.name, copy.accuracy) == (0.25, original.name, original.accuracy)
    assert copy.model is not original.model
    image = np.random.default_rng(2).random((28, 28), dtype=np.float32)
    np.testing.assert_array_equal(copy.predict(image), original.predict(image))
