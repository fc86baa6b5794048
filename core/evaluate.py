"""Test-set accuracy, predictions and the confusion matrix, computed in chunks without autograd."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import checkpoint
from .data import MnistData
from .paths import checkpoint_file


@dataclass(frozen=True)
class Evaluation:
    accuracy: float
    predictions: np.ndarray  # predicted class per image
    confusion: np.ndarray  # (classes, classes) counts; rows are true labels, columns predictions


@torch.inference_mode()
def predict_classes(model: torch.nn.Module, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    was_training = model.training
    model.eval()
    try:
        chunks = [model(images[i : i + batch_size]).argmax(dim=1) for i in range(0, len(images), batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(chunks)


def evaluate(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000,
             num_classes: int = 10) -> Evaluation:
    predicted = predict_classes(model, images, batch_size)
    # One host transfer per evaluation: counts reduced on the device.
    confusion = torch.bincount(labels * num_classes + predicted, minlength=num_classes * num_classes)
    confusion = confusion.reshape(num_classes, num_classes).cpu().numpy()
    accuracy = float(np.trace(confusion)) / max(1, len(labels))
    return Evaluation(accuracy=accuracy, predictions=predicted.cpu().numpy(), confusion=confusion)


def evaluate_saved_model(savepath: str | Path, data: MnistData, batch_size: int = 1000) -> tuple[float, checkpoint.Checkpoint]:
    """The seed's test(): rebuild the model from the saved checkpoint and measure it on the test set.

    `savepath` is the checkpoint file or its folder (core.paths.checkpoint_file)."""
    model, saved = checkpoint.load_model(checkpoint_file(savepath), data.device)
    return evaluate(model, data.test_images, data.test_labels, batch_size).accuracy, saved
