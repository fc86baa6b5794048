"""A training run as the user sees it, from "Train" to the last saved model, Qt-free.

`training_session(...)` is one generator for the window and the command line alike: it resolves the
device, finds the data (fetching MNIST when missing, cancellable, with progress), loads it (or
takes it from a DataCache, for callers that run many sessions in a row), trains, and after each saved model can
hand back a ready Predictor of it. Everything it does arrives as core.events, in order; it ends with
`Finished`. Errors with a message for a person (core.errors) propagate to the caller, which words
them; the Qt adapter (core.qt_trainer) and the CLI (core.cli) are thin loops around it.

With a run store (core.runstore), each run is recorded as it goes, saves into a folder of its own
and keeps the exact state it can be resumed from; `resume_session` continues such a run.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Generator, Iterator

import torch

from . import events, run_lock
from .acquire import fetch_mnist
from .config import TrainConfig, validate_config
from .data import MnistData, load_mnist
from .device import resolve_device
from .errors import CheckpointError, ConfigError
from .events import FinishReason
from .paths import CHECKPOINT_NAME, checkpoint_file, ensure_folder, folder_of_its_own, state_file
from .predict import Predictor
from .recorder import Recorder
from .resume import ResumeState, load_resume_state
from .runstore import Run, RunStore, StoreError, check_labels
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
        test_images=data.test_images[:, 0].cpu().numpy().copy(),  # uint8, as the files hold them; the window's own
        test_labels=data.test_labels.cpu().numpy(),
    )
    return data


RUN_FOLDER = ""  # a config's savepath meaning "the run's own folder in the run store"


@dataclass(frozen=True)
class RunLabels:
    """What a person calls a run: a name, tags and a note (core.runstore.check_labels bounds them)."""

    name: str | None = None
    tags: tuple[str, ...] = ()
    note: str | None = None


def training_session(
    config: TrainConfig,
    data_dir: Path,
    control: TrainingControl | None = None,
    *,
    cache: DataCache | None = None,
    reload_device: str | None = None,
    runs_dir: Path | None = None,
    preset: str | None = None,
    labels: RunLabels = RunLabels(),
    group_id: int | None = None,
) -> Iterator[events.TrainingEvent]:
    """Fetch, load and train, yielding every event.

    With `runs_dir`, the run is recorded in the run store there (core.runstore) and keeps its exact
    state for resuming; a config whose savepath is RUN_FOLDER saves its best model in the run's own
    folder. With `reload_device`, each NewBestSaved is followed by SavedModelLoaded (a Predictor on
    that device) or SavedModelUnreadable."""
    control = control or TrainingControl()
    validate_config(config)
    try:
        check_labels(labels.name, labels.tags, labels.note)  # said now, not after the data are loaded
    except StoreError as exc:
        raise ConfigError(str(exc)) from None
    device = resolve_device(config.device)
    with contextlib.ExitStack() as held:
        if config.savepath != RUN_FOLDER:
            held.enter_context(_hold_save_file(checkpoint_file(config.savepath)))
        elif runs_dir is None:
            raise ConfigError("choose a save folder (or record the run in a run store)")
        else:
            ensure_folder(runs_dir, "runs folder")  # a file there is said now, not after every epoch
        data = yield from load_data(Path(data_dir), device, control, cache)
        if data is None:
            yield from stopped_before_training()
            return
        store, problem = _open_store(runs_dir)
        if problem is not None:
            yield problem
        run = None
        if store is not None:
            held.callback(store.close)
            try:
                explicit = checkpoint_file(config.savepath) if config.savepath != RUN_FOLDER else None
                run = store.create_run(config=config.to_dict(), preset=preset, data_dir=str(data_dir), checkpoint=explicit,
                                       group_id=group_id, name=labels.name, tags=labels.tags, note=labels.note)
                held.enter_context(store.lock_run(run))
            except StoreError as exc:
                yield events.RecordingFailed(run_id=None, message=str(exc))
                store, run = None, None
        if config.savepath == RUN_FOLDER:
            # Unrecorded (the store could not be used): a folder of its own, made now, or said why not.
            folder = run.folder if run is not None else ensure_folder(folder_of_its_own(runs_dir, "unrecorded"),
                                                                      "folder for this unrecorded run")
            config = replace(config, savepath=str(folder / CHECKPOINT_NAME))
        if run is not None:
            yield events.RunRecorded(run_id=run.id, folder=run.folder, resumed=False)
        yield from _train_and_record(config, data, control, store, run, None, reload_device)


def resume_session(
    runs_dir: Path,
    run_id: int | None = None,
    control: TrainingControl | None = None,
    *,
    epochs: int | None = None,
    device: str | None = None,
    data_dir: Path | None = None,
    cache: DataCache | None = None,
    reload_device: str | None = None,
) -> Iterator[events.TrainingEvent]:
    """Continue a recorded run (the latest when `run_id` is None) from its saved state, exactly as
    if it had never stopped; `epochs` extends it to that many epochs in all."""
    control = control or TrainingControl()
    with contextlib.ExitStack() as held:
        store = held.enter_context(RunStore(runs_dir))
        run = store.run(run_id) if run_id is not None else store.latest()
        if run is None:
            raise StoreError(f"There are no runs in {runs_dir} to resume")
        if run.kind == "finetune":
            raise StoreError(f"Run {run.id} is a fit to handwriting, which keeps no state to resume; fit again instead "
                             "(mnistconv-finetune, or the window's My digits tab)")
        try:
            held.enter_context(store.lock_run(run))
        except run_lock.LockHeld as exc:
            raise StoreError(f"Run {run.id} is being trained by another process (pid {exc.pid}); "
                             "it can be resumed once that one stops") from None
        path = state_file(run.folder)
        try:
            state = load_resume_state(path)
        except CheckpointError as exc:
            raise CheckpointError(f"Cannot resume run {run.id}: {exc}") from exc
        if state.run_id is not None and state.run_id != run.id:
            raise CheckpointError(f"Cannot resume run {run.id}: its folder holds the state of run {state.run_id} "
                                  f"({path}); nothing was changed")
        # The best model goes where the store says this run's model is (in this runs folder, wherever
        # it was copied or moved), never where the state file says.
        config = replace(TrainConfig.from_dict(state.config), savepath=str(run.checkpoint))
        if device is not None:
            config = replace(config, device=device)
        if epochs is not None:
            if epochs < state.epochs_done:
                raise ConfigError(f"run {run.id} has already trained {state.epochs_done} epochs; --epochs must be at least that")
            config = replace(config, epochs=epochs)
        if state.finished is not None and config.epochs <= state.epochs_done:
            raise ConfigError(f"run {run.id} has finished ({state.finished} after {state.epochs_done} epochs); "
                              "give a larger number of epochs to train it further")
        validate_config(config)
        held.enter_context(_hold_save_file(checkpoint_file(config.savepath)))
        data = yield from load_data(Path(data_dir or run.data_dir or ""), resolve_device(config.device), control, cache)
        if data is None:
            yield from stopped_before_training()
            return
        batches = -(-len(data.train_labels) // config.batch_size)
        store.rewind(run.id, state.epochs_done, state.epochs_done + state.batch / batches)
        store.mark_running(run.id)
        # The record's settings become the ones it now trains with (more epochs, another device),
        # taken from the checked state, not from the stored row.
        in_run_folder = run.checkpoint == run.folder / CHECKPOINT_NAME
        run = replace(run, config={**config.to_dict(), "savepath": RUN_FOLDER if in_run_folder else str(run.checkpoint)})
        yield events.RunRecorded(run_id=run.id, folder=run.folder, resumed=True)
        yield from _train_and_record(config, data, control, store, run, state, reload_device)


def _train_and_record(config, data, control, store: RunStore | None, run: Run | None, state: ResumeState | None,
                      reload_device: str | None) -> Iterator[events.TrainingEvent]:
    recorder = Recorder(store, run) if store is not None and run is not None else None
    state_path = state_file(run.folder) if run is not None else None
    finished = False
    try:
        for event in train(config, data, control, state_path=state_path, resume=state,
                           run_id=run.id if run is not None else None):
            if recorder is not None and (problem := recorder.observe(event)) is not None:
                yield problem
            finished = finished or isinstance(event, events.Finished)
            yield event
            if reload_device is not None and isinstance(event, events.NewBestSaved):
                yield read_saved_model(event.path, reload_device)
    finally:
        if recorder is not None and not finished and not recorder.failed:
            # An error (or the caller giving up on the session) ended the run.
            recorder.observe(events.Finished.before_any_model(FinishReason.FAILED))


def stopped_before_training() -> Iterator[events.TrainingEvent]:
    yield events.Stopped(epoch=0, batch=0)
    yield events.Finished.before_any_model(FinishReason.STOPPED)


def _open_store(runs_dir: Path | None) -> tuple[RunStore | None, events.RecordingFailed | None]:
    if runs_dir is None:
        return None, None
    try:
        return RunStore(runs_dir), None
    except StoreError as exc:
        return None, events.RecordingFailed(run_id=None, message=str(exc))


@contextlib.contextmanager
def _hold_save_file(path: Path):
    """Hold `path`'s lock while this session may write it: a second training aiming at the same
    file is refused at once, rather than both printing that the file holds their best model."""
    folder = ensure_folder(path.parent)
    try:
        lock = run_lock.acquire(folder / f".{path.name}.lock")
    except run_lock.LockHeld as exc:
        holder = f"process {exc.pid}" if exc.pid else "another process"
        raise ConfigError(
            f"{holder} is already training into {path}; wait for it to finish or choose another save folder"
        ) from None
    except run_lock.LockUnusable as exc:
        raise ConfigError(f"Cannot train into {path}: {exc}") from None
    with lock:
        yield


def read_saved_model(path: Path, device: str) -> events.SavedModelLoaded | events.SavedModelUnreadable:
    """The file just saved as a Predictor of its own (reading it takes 5–20 ms, longer on a slow
    disk: the session's thread does it, not the window's), or why it could not be read."""
    try:
        return events.SavedModelLoaded(path=path, predictor=Predictor.from_checkpoint(path, device=device))
    except CheckpointError as exc:
        return events.SavedModelUnreadable(path=path, message=str(exc))
    except Exception as exc:  # noqa: BLE001 - the sketchpad's copy must never stop training
        return events.SavedModelUnreadable(path=path, message=f"{type(exc).__name__}: {exc}")
