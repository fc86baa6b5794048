"""What a training session reports, one small frozen dataclass per kind of event.

A session (core.session) yields them in this order: DataLoading, any AcquireProgress while MNIST
is fetched, DataLoaded, then the training loop's own (core.train): TrainingStarted, BatchProgress
and EpochFinished with the schedule's events between, and Finished last. With a device to read
saved models on, each NewBestSaved is followed by SavedModelLoaded or SavedModelUnreadable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np


class FinishReason(str, Enum):
    """Why a run ended."""

    COMPLETED = "completed"  # every epoch asked for
    EARLY_EXIT = "early_exit"  # the target accuracy was reached
    CONVERGED = "converged"  # no improvement for converge_patience epochs
    NAN_ABORT = "nan_abort"  # the parameters became NaN
    STOPPED = "stopped"  # a person asked it to stop
    FAILED = "failed"  # an error ended it (bad data, a bug)

    def __str__(self) -> str:
        return self.value  # "completed", not "FinishReason.COMPLETED", in messages and files


class _Named(str, Enum):
    def __str__(self) -> str:
        return self.value


#: A recorded run's outcome: how it ended (each FinishReason), or still running, or interrupted (its
#: process died without saying how it ended).
Outcome = _Named("Outcome", [(reason.name, reason.value) for reason in FinishReason]
                 + [("RUNNING", "running"), ("INTERRUPTED", "interrupted")], module=__name__)


@dataclass(frozen=True)
class DataLoading:
    """The session starts looking for the data in this folder (fetching it when missing)."""

    data_dir: Path


@dataclass(frozen=True)
class AcquireProgress:
    """One step of fetching MNIST: `done` of `total` bytes (total None while the size is unknown)."""

    message: str
    done: int = 0
    total: int | None = None

    @property
    def fraction(self) -> float | None:
        return self.done / self.total if self.total else None


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
    seed: int  # the run's seed: given, or drawn at random and reported so the run can be repeated
    first_epoch: int = 1  # where the run starts: later when it continues a saved state
    first_batch: int = 0
    network: str = ""  # the network's shape in words (NetworkShape.text): "16·32·32, 3×3"


@dataclass(frozen=True)
class BatchProgress:
    epoch: int
    batch: int  # batches done in this epoch
    batches: int
    loss: float  # mean training loss over the batches since the previous report
    lr: float  # the learning rate of the last batch
    images_per_s: float
    seconds: float  # since the epoch began


def per_epoch() -> Any:
    """Marks an EpochFinished field as a per-epoch metric: core.history keeps it as a named column,
    the run store as a column of its own, and the CSV export as one more column."""
    return field(metadata={"per_epoch": True})


@dataclass(frozen=True)
class EpochFinished:
    epoch: int
    test_accuracy: float = per_epoch()
    test_loss: float = per_epoch()  # the test set's mean cross-entropy, beside the training loss
    train_loss: float = per_epoch()
    lr: float = per_epoch()
    seconds: float = per_epoch()  # training and evaluation
    images_per_s: float = per_epoch()  # training images per second
    predictions: np.ndarray = field(repr=False, compare=False)  # predicted class of each test image
    confusion: np.ndarray = field(repr=False, compare=False)  # 10×10 counts, rows true, columns predicted
    confidences: np.ndarray = field(repr=False, compare=False)  # float32: each prediction's softmax probability


@dataclass(frozen=True)
class LrDropped:
    epoch: int
    old_lr: float
    new_lr: float


@dataclass(frozen=True)
class LrChanged:
    """The learning rate was set before batch `batch` of `epoch`: by the run's plan (`--lr-at`), or by
    a person while it trained."""

    epoch: int
    batch: int  # batches already done in this epoch (0: at its start)
    batches: int
    old_lr: float
    new_lr: float
    planned: bool  # from the config's lr_at, not asked for while it ran


@dataclass(frozen=True)
class NewBestSaved:
    epoch: int
    accuracy: float
    path: Path
    # Block 1's filters, flat (core.activations.first_filters_flat), for the Filters page, and their
    # (count, height, width): the seed's 16 filters of 3×3 are (16, 3, 3).
    first_filters: tuple[float, ...] = field(default=(), repr=False)
    filter_shape: tuple[int, ...] = ()


@dataclass(frozen=True)
class SaveFailed:
    epoch: int
    message: str


@dataclass(frozen=True)
class StateSaveFailed:
    """The run's resumable state could not be written; training goes on (resuming would start
    from the last state that was written)."""

    epoch: int
    message: str


@dataclass(frozen=True)
class EarlyExit:
    epoch: int
    accuracy: float
    target: float  # the target accuracy it reached


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
    reason: FinishReason
    epochs_run: int
    best_accuracy: float
    best_epoch: int
    checkpoint: Path | None
    # The model the checkpoint holds: the best one's, unless saving it failed (then an earlier one's).
    saved_epoch: int | None = None
    saved_accuracy: float | None = None
    fit: bool = False  # the end of a fit to handwriting (its best is the fitted model, when kept)

    @classmethod
    def before_any_model(cls, reason: FinishReason, best_accuracy: float = 0.0, fit: bool = False) -> "Finished":
        """A run that ended before it saved a model: stopped while fetching, failed, refused."""
        return cls(reason=reason, epochs_run=0, best_accuracy=best_accuracy, best_epoch=0, checkpoint=None, fit=fit)


@dataclass(frozen=True)
class TrainingFailed:
    """An exception ended the run; `message` is for a person, `details` is the traceback."""

    message: str
    details: str = ""


@dataclass(frozen=True)
class SavedModelLoaded:
    """The model just saved, read back from its file as a ready Predictor (its own copy of the weights)."""

    path: Path
    predictor: Any = field(compare=False)  # a core.predict.Predictor


@dataclass(frozen=True)
class SavedModelUnreadable:
    """The model just saved could not be read back; training goes on."""

    path: Path
    message: str


@dataclass(frozen=True)
class RunRecorded:
    """The session records this run in the run store (core.runstore), as run `run_id`."""

    run_id: int
    folder: Path
    resumed: bool  # it continues a run recorded before


@dataclass(frozen=True)
class GroupMemberStarted:
    """A seed group (core.seed_groups) starts its `index`-th run of `size`, with `seed`."""

    group_id: int
    index: int  # 1-based
    size: int
    seed: int


@dataclass(frozen=True)
class RecordingFailed:
    """The run store cannot be used; training goes on, unrecorded (from here on)."""

    run_id: int | None
    message: str


@dataclass(frozen=True)
class FinetuneStarted:
    """Fitting a model to personal digits begins (core.finetune)."""

    base: str  # the model it starts from
    digits: int
    per_digit: tuple  # how many of each digit 0–9
    folds: int  # held-out parts read by models fitted on the rest (0: too few digits to hold any out)
    skipped: tuple  # notes on files that could not be read
    device: str


@dataclass(frozen=True)
class FinetuneFinished:
    """The fit's figures, before and after, and whether the fitted model was kept."""

    base: str
    digits: int
    before_personal: float  # the base model on all the personal digits
    held_out_after: float | None  # fitted models on personal digits they did not see (None: too few)
    held_out_digits: int
    fitted_after: float  # the final model on all the personal digits (it saw them)
    before_mnist: float
    after_mnist: float
    accepted: bool
    reason: str  # why it was refused, when it was
    checkpoint: Path | None
    run_id: int | None
    seconds: float
    held_out_before: float | None = None  # the base model on those same held-out digits
    doubtful_labels: tuple[tuple[int, int, int], ...] = ()  # (filed under, read as, count), before and after alike


TrainingEvent = (
    DataLoading | AcquireProgress | DataLoaded | TrainingStarted | BatchProgress | EpochFinished | LrDropped | LrChanged
    | NewBestSaved | SaveFailed | StateSaveFailed | EarlyExit | Converged | NanAbort | Stopped | Finished | TrainingFailed
    | SavedModelLoaded | SavedModelUnreadable | RunRecorded | GroupMemberStarted | RecordingFailed | FinetuneStarted
    | FinetuneFinished
)
