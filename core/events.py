"""What the training loop reports, one small frozen dataclass per kind of event."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class DataLoaded:
    """The data is on the training device; the test set travels along for galleries of mistakes."""

    data_dir: Path
    train_images: int
    test_images: np.ndarray = field(repr=False, compare=False)  # (N, 28, 28) uint8
    test_labels: np.ndarray = field(repr=False, compare=False)  # (N,)


@dataclass(frozen=True)
class TrainingStarted:
    device: str
    train_images: int
    test_images: int
    batches_per_epoch: int
    parameters: int


@dataclass(frozen=True)
class BatchProgress:
    epoch: int
    batch: int  # batches done in this epoch
    batches: int
    loss: float  # mean training loss over the batches since the previous report
    images_per_s: float
    seconds: float  # since the epoch began


@dataclass(frozen=True)
class EpochFinished:
    epoch: int
    test_accuracy: float
    train_loss: float
    lr: float
    seconds: float  # training and evaluation
    images_per_s: float  # training images per second
    predictions: np.ndarray = field(repr=False, compare=False)  # predicted class of each test image
    confusion: np.ndarray = field(repr=False, compare=False)  # 10×10 counts, rows true, columns predicted


@dataclass(frozen=True)
class LrDropped:
    epoch: int
    old_lr: float
    new_lr: float


@dataclass(frozen=True)
class NewBestSaved:
    epoch: int
    accuracy: float
    path: Path


@dataclass(frozen=True)
class SaveFailed:
    epoch: int
    message: str


@dataclass(frozen=True)
class EarlyExit:
    epoch: int
    accuracy: float


@dataclass(frozen=True)
class Converged:
    epoch: int


@dataclass(frozen=True)
class NanAbort:
    epoch: int


@dataclass(frozen=True)
class Stopped:
    epoch: int
    batch: int


@dataclass(frozen=True)
class Finished:
    reason: str  # "completed", "early_exit", "converged", "nan", "stopped" or "failed"
    epochs_run: int
    best_accuracy: float
    best_epoch: int
    checkpoint: Path | None


@dataclass(frozen=True)
class TrainingFailed:
    """An exception ended the run; `message` is for a person, `details` is the traceback."""

    message: str
    details: str = ""


TrainingEvent = (
    TrainingStarted | BatchProgress | EpochFinished | LrDropped | NewBestSaved | SaveFailed
    | EarlyExit | Converged | NanAbort | Stopped | Finished
)
