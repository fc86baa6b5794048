"""A training run as the user sees it, from "Train" to the last saved model, Qt-free.

`training_session(...)` is one generator for the window and the command line alike: it resolves the
device, finds the data (fetching MNIST when missing, cancellable, with progress), loads it (or
takes it from a DataCache, so a second run starts at once), trains, and after each saved model can
hand back a ready Predictor of it. Everything it does arrives as core.events, in order; it ends with
`Finished`. Errors with a message for a person (core.errors) propagate to the caller, which words
them; the Qt adapter (core.qt_trainer) and the CLI (core.cli) are thin loops around it.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Generator, Iterator

import torch

from . import events
from .acquire import fetch_mnist
from .config import TrainConfig, validate_config
from .data import MnistData, load_mnist
from .device import resolve_device
from .errors import CheckpointError
from .events import FinishReason
from .paths import ensure_folder
from .predict import Predictor
from .train import TrainingControl, train


class DataCache:
    """The data set of the last run, kept for the next one with the same folder and device."""

    def __init__(self) -> None:
        self._key: tuple[Path, str] | None = None
        self._data: MnistData | None = None

    def get(self, data_dir: Path, device: torch.device) -> MnistData | None:
        return self._data if self._key == (Path(data_dir), str(device)) else None

    def put(self, data_dir: Path, device: torch.device, data: MnistData) -> None:
        self._key, self._data = (Path(data_dir), str(device)), data

    def clear(self) -> None:
        self._key, self._data = None, None


def load_data(
    data_dir: Path, device: torch.device, control: TrainingControl, cache: DataCache | None = None
) -> Generator[events.TrainingEvent, None, MnistData | None]:
    """Yield DataLoading and the fetch's progress; return the data on `device`, or None when a stop
    was requested while fetching (the fetch is closed: no half-written file stays)."""
    data_dir = Path(data_dir)
    yield events.DataLoading(data_dir=data_dir)
    data = cache.get(data_dir, device) if cache is not None else None
    if data is None:
        with contextlib.closing(fetch_mnist(data_dir)) as steps:
            for step in steps:
                yield step
                if control.stop_requested:
                    return None
        data = load_mnist(data_dir, device)
        if cache is not None:
            cache.put(data_dir, device, data)
    yield events.DataLoaded(
        data_dir=data_dir,
        train_images=len(data.train_labels),
        test_images=(data.test_images[:, 0] * 255).round().to(torch.uint8).cpu().numpy(),
        test_labels=data.test_labels.cpu().numpy(),
    )
    return data


def training_session(
    config: TrainConfig,
    data_dir: Path,
    control: TrainingControl | None = None,
    *,
    cache: DataCache | None = None,
    reload_device: str | None = None,
) -> Iterator[events.TrainingEvent]:
    """Fetch, load and train, yielding every event; with `reload_device`, each NewBestSaved is
    followed by SavedModelLoaded (a Predictor on that device) or SavedModelUnreadable."""
    control = control or TrainingControl()
    validate_config(config)
    device = resolve_device(config.device)
    ensure_folder(config.savepath)
    data = yield from load_data(Path(data_dir), device, control, cache)
    if data is None:
        yield events.Stopped(epoch=0, batch=0)
        yield events.Finished(reason=FinishReason.STOPPED, epochs_run=0, best_accuracy=0.0, best_epoch=0, checkpoint=None)
        return
    for event in train(config, data, control):
        yield event
        if reload_device is not None and isinstance(event, events.NewBestSaved):
            yield read_saved_model(event.path, reload_device)


def read_saved_model(path: Path, device: str) -> events.SavedModelLoaded | events.SavedModelUnreadable:
    """The file just saved as a Predictor of its own (reading it takes 5–20 ms, longer on a slow
    disk: the session's thread does it, not the window's), or why it could not be read."""
    try:
        return events.SavedModelLoaded(path=path, predictor=Predictor.from_checkpoint(path, device=device))
    except CheckpointError as exc:
        return events.SavedModelUnreadable(path=path, message=str(exc))
    except Exception as exc:  # noqa: BLE001 - the sketchpad's copy must never stop training
        return events.SavedModelUnreadable(path=path, message=f"{type(exc).__name__}: {exc}")
