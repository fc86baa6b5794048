"""The test-set evaluation: accuracy, predictions, their confidences and the confusion matrix."""

import numpy as np
import pytest
import torch

from mnistconv.core.data import pixels
from mnistconv.core.evaluate import evaluate
from mnistconv.core.model import build_model


def test_each_prediction_comes_with_its_softmax_probability(tiny_data):
    torch.manual_seed(0)
    model = build_model()
    images, labels = tiny_data.test_images, tiny_data.test_labels
    result = evaluate(model, images, labels, batch_size=64)  # several chunks, the last one shorter
    with torch.no_grad():
        probabilities = torch.softmax(model.eval()(pixels(images)), dim=1)
    expected_confidence, expected_class = probabilities.max(dim=1)
    assert result.confidences.dtype == np.float32 and result.confidences.shape == (len(labels),)
    np.testing.assert_array_equal(result.predictions, expected_class.numpy())
    np.testing.assert_allclose(result.confidences, expected_confidence.numpy(), rtol=1e-5)
    assert result.confidences.min() >= 0.1 - 1e-6 and result.confidences.max() <= 1.0  # a top probability of ten
    assert result.confusion.sum() == len(labels)
    assert result.accuracy == np.trace(result.confusion) / len(labels)


def test_the_loss_is_the_mean_cross_entropy_of_the_whole_set():
    torch.manual_seed(0)
    model = build_model()
    images = torch.rand(150, 1, 28, 28)
    labels = torch.randint(0, 10, (150,))
    with torch.no_grad():
        expected = float(torch.nn.functional.cross_entropy(model.eval()(images), labels))
    assert evaluate(model, images, labels, batch_size=64).loss == pytest.approx(expected, rel=1e-5)
