"""The training settings every test that trains on the tiny data set starts from."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mnistconv.core.config import TrainConfig
from mnistconv.core.evaluate import Evaluation


def tiny_config(savepath: Path, **overrides) -> TrainConfig:
    """Two epochs of batch 64 on the CPU with seed 0, saving into `savepath`, a progress report after
    every batch, and no early exit (the tiny digits are easy enough to reach 100 %)."""
    values = dict(epochs=2, batch_size=64, seed=0, device="cpu", savepath=str(savepath),
                  progress_interval_s=0.0, target_accuracy=1.01)
    values.update(overrides)
    return TrainConfig(**values)


def fixed_accuracies(monkeypatch, accuracies) -> None:
    """Replace the training loop's test-set evaluation with a fixed sequence of accuracies, one per
    epoch, so a test can make the schedule's rules (plateaus, targets) happen when it wants."""
    from mnistconv.core import train as train_module

    sequence = iter(accuracies)

    def evaluate(model, images, labels, batch_size):
        return Evaluation(accuracy=next(sequence), loss=1.0, predictions=np.zeros(len(labels), dtype=np.int64),
                          confusion=np.zeros((10, 10), dtype=np.int64), confidences=np.ones(len(labels), dtype=np.float32))

    monkeypatch.setattr(train_module, "evaluate", evaluate)
