"""Fit a model to your handwriting: fine-tune it on your personal digits mixed with MNIST's.

`finetune_session` is a session like training's (core.session): a generator of events, stoppable by
its TrainingControl, run by the window's thread or the command line. Each step trains on a batch
partly of your digits (distorted as the robust preset distorts, so a few examples go a long way) and
the rest MNIST's training digits (so the model does not forget everyone else's), with Adam and a
learning rate that decays to zero.

It reports before and after: the accuracy on your digits that the fit did not see (with few digits,
cross-validated: the set in folds, each read by a model fitted on the others), and on MNIST's test
set. A fit that would lower MNIST test accuracy by more than MAX_MNIST_DROP is refused, and says so,
as is one that reads the held-out digits worse than the model it started from (digits filed under
the wrong label, most often); an accepted one is saved as a new run (with the run store) and handed
back for the sketchpad. Held-out digits that the model reads as the same other digit before and
after fitting are named: their label may be wrong.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from torch.nn import functional as F

from . import checkpoint, events
from .atomic import NotARegularFile, check_write_target
from .augment import AugmentSettings, augment_batch
from .config import RULES, SEED_MAX
from .data import pixels
from .device import describe_device, resolve_device
from .errors import ConfigError
from .evaluate import evaluate
from .events import FinishReason
from .history import EventKind, Marker
from .model import ConvNet
from .paths import CHECKPOINT_NAME, bundled_model_path, checkpoint_file, default_models_dir, ensure_folder, folder_of_its_own
from .personal import PersonalDigits
from .runstore import RunStore, StoreError, now_text
from .session import DataCache, load_data, read_saved_model, stopped_before_training
from .train import Adam, TrainingControl
from .wording import finetune_refusal, held_out_refusal

MAX_MNIST_DROP = 0.002  # 0.2 points of MNIST test accuracy
FOLDS = 5
HOLD_OUT = 0.2  # with many digits, one held-out fifth instead of folds
MANY = 100
# Every personal digit distorted (the robust preset distorts half of its batches' digits).
PERSONAL_AUGMENT = AugmentSettings(p=1.0)


@dataclass(frozen=True)
class FinetuneSettings:
    # Measured on real writers the bundled model never saw (benchmarks/fit_writers.py: the three it
    # reads worst, fitted on half of each one's digits and read on the other half): an eighth of each
    # batch from the personal digits, 300 steps at lr 1e-3, removed 80 % of the pen-drawn errors and
    # 56 % of those with random hands, MNIST test accuracy ending 0–0.09 point lower. The earlier
    # defaults (a sixteenth, 200 steps at 3e-4) removed 20 % and 38 %; a quarter of each batch
    # removed 80 % and 65 % but cost MNIST up to 0.2 point, the refusal limit.
    steps: int = 300
    seconds: float | None = None  # a time limit for all the fitting, folds included
    lr: float = 1e-3
    batch_size: int = 64
    personal_share: float = 0.125
    label_smoothing: float = 0.1
    noise_std: float = 0.1
    seed: int = 0
    device: str = "auto"
    progress_interval_s: float = 0.1

    def validate(self) -> None:
        for name in ("steps", "lr", "batch_size", "label_smoothing", "noise_std", "seed", "progress_interval_s"):
            RULES[name].check(getattr(self, name))
        if self.seconds is not None:
            RULES["seconds"].check(self.seconds)
        if not 0 < self.personal_share < 1 or self.batch_size < 2:
            raise ConfigError("personal share must be in (0, 1) and the batch size ≥ 2")


def base_model_path(base: Path | None) -> tuple[Path, str]:
    """The checkpoint to start from and its name: a given file, else the bundled model."""
    if base is not None:
        return Path(base), str(base)
    with bundled_model_path() as path:
        return Path(path), "the bundled model"


def finetune_session(
    digits_dir: Path,
    data_dir: Path,
    control: TrainingControl | None = None,
    *,
    base: Path | None = None,
    settings: FinetuneSettings = FinetuneSettings(),
    runs_dir: Path | None = None,
    savepath: Path | None = None,
    cache: DataCache | None = None,
    reload_device: str | None = None,
) -> Iterator[events.TrainingEvent]:
    control = control or TrainingControl()
    settings.validate()
    if savepath is not None:
        _check_save_target(checkpoint_file(savepath))  # before the fit, not after it
    device = resolve_device(settings.device)
    base_path, base_name = base_model_path(base)
    saved = checkpoint.load_checkpoint(base_path)
    images, labels, digits, skipped = PersonalDigits(digits_dir).load()
    if len(labels) == 0:
        raise ConfigError(f"there are no personal digits in {digits_dir} to fit to"
                          + (f" ({len(skipped)} file(s) could not be read)" if skipped else ""))
    mnist = yield from load_data(Path(data_dir), device, control, cache)
    if mnist is None:
        yield from stopped_before_training()
        return
    personal_x = torch.from_numpy(images)[:, None].to(device)
    personal_y = torch.from_numpy(labels).to(device)
    folds = _folds(labels, settings.seed)
    started = time.perf_counter()
    started_at = now_text()  # the fit is recorded when it is kept, from when it began
    per_digit = tuple(int(n) for n in np.bincount(labels, minlength=10))
    yield events.FinetuneStarted(base=base_name, digits=len(labels), per_digit=per_digit, folds=len(folds),
                                 skipped=tuple(skipped), device=describe_device(device))

    base_model = saved.build_model(device)
    before_mnist = evaluate(base_model, mnist.test_images, mnist.test_labels).accuracy
    before_personal = _accuracy(base_model, personal_x, personal_y)
    stages = len(folds) + 1
    budget = None if settings.seconds is None else settings.seconds / stages
    # Each held-out digit's label, and what the base model and the model fitted without it read.
    filed, read_before, read_after = [], [], []
    try:
        for stage, held_out in enumerate(folds, start=1):
            train_rows = np.setdiff1d(np.arange(len(labels)), held_out)
            model = copy.deepcopy(base_model)
            yield from _fit(model, personal_x[train_rows], personal_y[train_rows], mnist, settings, control, stage, stages,
                            budget)
            filed.append(labels[held_out])
            read_before.append(_readings(base_model, personal_x[held_out]))
            read_after.append(_readings(model, personal_x[held_out]))
        model = copy.deepcopy(base_model)
        yield from _fit(model, personal_x, personal_y, mnist, settings, control, stages, stages, budget)
    except _Stopped as stop:
        yield events.Stopped(epoch=stop.stage, batch=stop.step)
        yield events.Finished.before_any_model(FinishReason.STOPPED, best_accuracy=before_mnist, fit=True)
        return
    after_mnist = evaluate(model, mnist.test_images, mnist.test_labels).accuracy
    after_fitted = _accuracy(model, personal_x, personal_y)
    held_out = HeldOut(*(np.concatenate(parts) if parts else np.zeros(0, np.int64)
                         for parts in (filed, read_before, read_after)))
    if not keeps_mnist(before_mnist, after_mnist):
        reason = finetune_refusal(before_mnist, after_mnist, MAX_MNIST_DROP)
    elif held_out.worse():
        # Digits the fit did not see read worse: it learnt something false, most often from digits
        # filed under the wrong label. The previous model stays.
        reason = held_out_refusal(held_out.accuracy_before(), held_out.accuracy_after(), len(held_out.filed))
    else:
        reason = ""
    accepted = not reason
    path = run_id = None
    if accepted:
        path, run_id, problem = _save(model, saved, base_name, settings, digits_dir, data_dir, runs_dir, savepath,
                                      after_mnist, len(labels), time.perf_counter() - started, started_at)
        if problem is not None:
            yield problem
    yield events.FinetuneFinished(
        base=base_name, digits=len(labels), before_personal=before_personal,
        held_out_after=held_out.accuracy_after(), held_out_before=held_out.accuracy_before(),
        held_out_digits=len(held_out.filed), doubtful_labels=held_out.doubtful_labels(),
        fitted_after=after_fitted, before_mnist=before_mnist, after_mnist=after_mnist, accepted=accepted,
        reason=reason, checkpoint=path, run_id=run_id, seconds=time.perf_counter() - started,
    )
    if path is not None and reload_device is not None:
        yield read_saved_model(path, reload_device)
    yield events.Finished(reason=FinishReason.COMPLETED, epochs_run=1, best_accuracy=after_mnist, best_epoch=1 if path else 0,
                          checkpoint=path, fit=True)


def _check_save_target(path: Path) -> None:
    """The fitted model can be written at `path`: its folder is one (or can be made) and the file is
    a regular file or a new name; ConfigError says why not."""
    ensure_folder(path.parent)
    try:
        check_write_target(path)
    except NotARegularFile as exc:
        raise ConfigError(f"cannot save the fitted model: {exc.strerror}") from None


def keeps_mnist(before: float, after: float) -> bool:
    """Whether a fit keeps MNIST test accuracy: at most MAX_MNIST_DROP lower than before."""
    return after >= before - MAX_MNIST_DROP - 1e-12


class _Stopped(Exception):
    def __init__(self, stage: int, step: int):
        self.stage, self.step = stage, step


def _folds(labels: np.ndarray, seed: int) -> list[np.ndarray]:
    """Held-out parts: with many digits one fifth, else up to FOLDS folds; none with a single digit.
    Each digit class is spread over the parts (stratified)."""
    count = len(labels)
    if count < 2:
        return []
    rng = np.random.default_rng(seed)
    parts = 1 if count >= MANY else min(FOLDS, count)
    order = np.concatenate([rng.permutation(np.flatnonzero(labels == digit)) for digit in range(10)])
    if parts == 1:
        return [np.sort(order[:: round(1 / HOLD_OUT)])]
    return [np.sort(order[start::parts]) for start in range(parts)]


ACCURACY_BATCH = 1000  # digits read at once: memory stays flat however many digits there are
NOISE_DIGITS = 1  # held-out digits a fit may read worse, net, before it counts as worse (chance)


@torch.inference_mode()
def _readings(model: ConvNet, images: torch.Tensor) -> np.ndarray:
    """The digit the model reads in each image, in batches of ACCURACY_BATCH."""
    model.eval()
    return np.concatenate([model(images[i : i + ACCURACY_BATCH]).argmax(1).cpu().numpy()
                           for i in range(0, len(images), ACCURACY_BATCH)] or [np.zeros(0, np.int64)])


def _accuracy(model: ConvNet, images: torch.Tensor, labels: torch.Tensor) -> float:
    if not len(labels):
        return math.nan
    return float((_readings(model, images) == labels.cpu().numpy()).mean())


@dataclass(frozen=True)
class HeldOut:
    """The held-out digits: each one's label, and what the base model and the model fitted without
    it read."""

    filed: np.ndarray
    read_before: np.ndarray
    read_after: np.ndarray

    def accuracy_before(self) -> float | None:
        return float((self.read_before == self.filed).mean()) if len(self.filed) else None

    def accuracy_after(self) -> float | None:
        return float((self.read_after == self.filed).mean()) if len(self.filed) else None

    def worse(self) -> bool:
        """Whether the fit reads them worse, net of chance (NOISE_DIGITS)."""
        lost = int(((self.read_before == self.filed) & (self.read_after != self.filed)).sum())
        gained = int(((self.read_before != self.filed) & (self.read_after == self.filed)).sum())
        return lost - gained > NOISE_DIGITS

    def doubtful_labels(self) -> tuple[tuple[int, int, int], ...]:
        """(filed under, read as, how many) for the digits both models read as the same other digit:
        the fit did not teach what the label says, so the label itself may be wrong."""
        doubtful = (self.read_before == self.read_after) & (self.read_after != self.filed)
        pairs, counts = np.unique(np.stack([self.filed[doubtful], self.read_after[doubtful]]), axis=1, return_counts=True)
        return tuple((int(a), int(b), int(n)) for (a, b), n in zip(pairs.T, counts))


def _fit(model: ConvNet, personal_x: torch.Tensor, personal_y: torch.Tensor, mnist, settings: FinetuneSettings,
         control: TrainingControl, stage: int, stages: int, budget: float | None) -> Iterator[events.BatchProgress]:
    device = personal_x.device
    generator = torch.Generator(device=device).manual_seed((settings.seed + stage) % (SEED_MAX + 1))  # within torch's range
    model.train().requires_grad_(True)
    optimizer = Adam(model.parameters(), lr=settings.lr)  # torch's, without the compile wrappers (core.train)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer,
                                                 lambda step: 0.5 * (1 + math.cos(math.pi * step / settings.steps)))
    own = max(1, round(settings.batch_size * settings.personal_share))
    others = settings.batch_size - own
    n_mnist = len(mnist.train_labels)
    start = last_report = time.perf_counter()
    loss_sum, reported = 0.0, 0
    for step in range(settings.steps):
        if control.paused:
            control.wait_while_paused()
        if control.stop_requested:
            raise _Stopped(stage, step)
        if budget is not None and time.perf_counter() - start > budget:
            break
        pick = torch.randint(len(personal_y), (own,), generator=generator, device=device)
        drawn = augment_batch(personal_x[pick], generator, PERSONAL_AUGMENT)
        rows = torch.randint(n_mnist, (others,), generator=generator, device=device)
        x = torch.cat([drawn, pixels(mnist.train_images[rows])])
        y = torch.cat([personal_y[pick], mnist.train_labels[rows]])
        x = x + settings.noise_std * torch.randn(x.shape, generator=generator, device=device)
        logits = model(x.contiguous(memory_format=torch.channels_last))
        loss = F.cross_entropy(logits, y, label_smoothing=settings.label_smoothing)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        loss_sum += float(loss.detach())
        now = time.perf_counter()
        if now - last_report >= settings.progress_interval_s or step + 1 == settings.steps:
            done = step + 1
            yield events.BatchProgress(
                epoch=stage, batch=done, batches=settings.steps, loss=loss_sum / (done - reported),
                lr=optimizer.param_groups[0]["lr"], images_per_s=done * settings.batch_size / (now - start), seconds=now - start,
            )
            loss_sum, reported, last_report = 0.0, done, now
    model.eval().requires_grad_(False)


def _save(model: ConvNet, base, base_name: str, settings: FinetuneSettings, digits_dir: Path, data_dir: Path,
          runs_dir: Path | None, savepath: Path | None, accuracy: float, digits: int, seconds: float, started_at: str):
    """Save the fitted model as a new run (in the store, when there is one) or to `savepath`."""
    hyperparameters = {**base.hyperparameters, **{f"finetune_{k}": v for k, v in asdict(settings).items()},
                       "finetune_base": base_name, "finetune_digits": digits, "finetune_digits_dir": str(digits_dir)}
    # The run's record: one fit (the base model's own epochs are in its settings, not this run's).
    recorded = {**hyperparameters, **base.shape.to_dict(), "epochs": 1, "seed": settings.seed}
    problem = None
    store = run = None
    if runs_dir is not None:
        try:
            store = RunStore(runs_dir)
            explicit = checkpoint_file(savepath) if savepath is not None else None
            run = store.create_run(config=recorded, preset="fit to my handwriting", kind="finetune",
                                   data_dir=str(data_dir), checkpoint=explicit, started=started_at)
            store.set_started(run.id, device=describe_device(resolve_device(settings.device)),
                              torch_version=str(torch.__version__), seed=settings.seed, config=recorded)
        except StoreError as exc:
            problem = events.RecordingFailed(run_id=None, message=str(exc))
            store = run = None
    if run is not None:
        path = run.checkpoint
    elif savepath is not None:
        path = checkpoint_file(savepath)
    else:
        # Not recorded and no folder named: a folder of its own beside the window's models, never the current folder.
        folder = Path(runs_dir) if runs_dir is not None else default_models_dir()
        path = folder_of_its_own(folder, "fitted") / CHECKPOINT_NAME
    # The base's temperature stays: a fit of a few hundred steps moves the logits' scale little.
    checkpoint.save_checkpoint(path, model, epoch=1, accuracy=accuracy, lr=settings.lr, hyperparameters=hyperparameters,
                               temperature=base.temperature)
    if store is not None:
        try:
            store.record_epoch(run.id, {"epoch": 1, "test_accuracy": accuracy, "lr": settings.lr, "seconds": seconds})
            store.set_best(run.id, accuracy, 1, [Marker(1, EventKind.NEW_BEST, f"{accuracy:.4f}")])
            store.record_end(run.id, FinishReason.COMPLETED)
        except StoreError as exc:
            problem = events.RecordingFailed(run_id=run.id, message=str(exc))
        finally:
            store.close()
    return path, run.id if run is not None else None, problem
