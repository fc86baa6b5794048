"""The training settings every test that trains on the tiny data set starts from."""

from __future__ import annotations

from pathlib import Path

from mnistconv.core.config import TrainConfig


def tiny_config(savepath: Path, **overrides) -> TrainConfig:
    """Two epochs of batch 64 on the CPU with seed 0, saving into `savepath`, a progress report after
    every batch, and no early exit (the tiny digits are easy enough to reach 100 %)."""
    values = dict(epochs=2, batch_size=64, seed=0, device="cpu", savepath=str(savepath),
                  progress_interval_s=0.0, target_accuracy=1.01)
    values.update(overrides)
    return TrainConfig(**values)
