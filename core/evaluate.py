"""Test-set accuracy, predictions and the confusion matrix, computed in chunks without autograd."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from . import allocator


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


def evaluate(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000, num_classes: int = 10) -> Evaluation:
    allocator.keep_freed_memory()  # chunks of 1,000 would otherwise be page-faulted in one by one
    predicted = predict_classes(model, images, batch_size)
    # One host transfer per evaluation: counts reduced on the device.
    confusion = torch.bincount(labels * num_classes + predicted, minlength=num_classes * num_classes)
    confusion = confusion.reshape(num_classes, num_classes).cpu().numpy()
    accuracy = float(np.trace(confusion)) / max(1, len(labels))
    return Evaluation(accuracy=accuracy, predictions=predicted.cpu().numpy(), confusion=confusion)
