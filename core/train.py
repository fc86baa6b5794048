"""The seed recipe's training loop, Qt-free: a generator of events that can be paused and stopped.

`train(config, data)` yields the events of core.events as they happen. The rules that decide after
each epoch live in core.recipe; saving lives in core.checkpoint. A TrainingControl lets another
thread pause, resume or stop the loop; it looks at it before every batch. Fetching and loading the
data, and reading saved models back, belong to the session around it (core.session).
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Iterator

import torch
from torch.nn import functional as F

from . import checkpoint, events
from .activations import first_filters_flat, first_filters_shape
from .augment import AugmentSettings, augment_batch
from .banks import cached_bank
from .config import TrainConfig, lr_plan_text, validate_config
from .data import MnistData, pixels
from .device import describe_device
from .errors import CheckpointError
from .evaluate import evaluate
from .events import FinishReason
from .handwriting import ATTRIBUTION, handwriting_bank, handwriting_digest
from .model import ConvNet, build_model, parameter_count
from .paths import checkpoint_file
from .recipe import ScheduleState, decide_after_epoch, has_nan_parameters
from .resume import ResumeState, save_resume_state
from .synth import available_fonts, bank_size, per_batch, synth_bank

# Half of each batch distorted: the model keeps seeing clean MNIST digits too.
AUGMENT = AugmentSettings(p=0.5)


class TrainingControl:
    """Thread-safe stop and pause requests, honoured between batches."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._lock = threading.Lock()
        self._lr_request: float | None = None

    def request_lr(self, lr: float) -> None:
        """Ask for this learning rate from the next batch on (the latest request wins)."""
        with self._lock:
            self._lr_request = float(lr)

    def take_lr_request(self) -> float | None:
        """The rate asked for since the last call, if any."""
        with self._lock:
            lr, self._lr_request = self._lr_request, None
        return lr

    def request_stop(self) -> None:
        self._stop.set()
        self._running.set()  # a paused loop must wake up to stop

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self) -> None:
        self._running.wait()


def _undecorated(method):
    """A torch.optim method without its torch.compile wrapper, or the method itself where it has none."""
    return getattr(method, "__wrapped__", method)


class Adam(torch.optim.Adam):
    """torch's Adam, the same code and kernels, without the torch.compile wrappers around its methods.

    Each wrapper imports torch._dynamo (and sympy with it) on its first call: over half a second
    before the first batch, and more on a busy machine, for a compiler this program never uses.
    Stepping without it is what those wrappers do outside torch.compile: the update under no_grad."""

    add_param_group = _undecorated(torch.optim.Optimizer.add_param_group)
    zero_grad = _undecorated(torch.optim.Optimizer.zero_grad)
    state_dict = _undecorated(torch.optim.Optimizer.state_dict)
    load_state_dict = _undecorated(torch.optim.Optimizer.load_state_dict)
    _adam_step = _undecorated(torch.optim.Adam.step)

    def step(self, closure=None):
        with torch.no_grad():
            return self._adam_step(closure)


def make_optimizer(model: torch.nn.Module, lr: float) -> torch.optim.Adam:
    """The seed's ADAM (Flux's defaults are torch's: betas 0.9/0.999, eps 1e-8) as torch's fused
    kernel, one call for all eight parameter tensors, on the CPU as on CUDA. It steps as fast as
    Adam over one flat buffer of all the parameters did (benchmarks/RESULTS.md)."""
    return Adam(model.parameters(), lr=lr, fused=True)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def current_lr(optimizer: torch.optim.Optimizer) -> float:
    return float(optimizer.param_groups[0]["lr"])


class NoiseSource:
    """The seed's augmentation, x + std·N(0, 1), with the noise drawn many batches at a time:
    one large randn costs much less than many small ones.

    To continue a run exactly, it remembers the generator's state before each bulk draw: the
    buffer can then be drawn again (`restore`) without storing it."""

    def __init__(self, std: float, image_shape, generator: torch.Generator, images_per_draw: int):
        self.std = std
        self.image_shape = tuple(image_shape)
        self.generator = generator
        self.images_per_draw = images_per_draw
        self.buffer: torch.Tensor | None = None
        self.offset = 0
        self.draw_state: torch.Tensor | None = None  # the generator before the buffer was drawn

    def _draw(self, images: int, device: torch.device, dtype: torch.dtype) -> None:
        self.draw_state = self.generator.get_state()
        shape = (images, *self.image_shape)
        self.buffer = torch.randn(shape, generator=self.generator, device=device, dtype=dtype).mul_(self.std)
        self.offset = 0

    def add_to(self, x: torch.Tensor) -> torch.Tensor:
        if not self.std:
            return x
        n = len(x)
        if self.buffer is None or self.offset + n > len(self.buffer):
            self._draw(max(n, self.images_per_draw), x.device, x.dtype)
        chunk = self.buffer[self.offset : self.offset + n]
        self.offset += n
        return x + chunk

    def restore(self, draw_state: torch.Tensor | None, images: int, offset: int, device: torch.device) -> None:
        """Draw the buffer of a saved run again from the generator state it was drawn from; the
        caller sets the generator's current state afterwards."""
        if draw_state is None or not self.std:
            return
        self.generator.set_state(draw_state)
        self._draw(images, device, torch.float32)
        self.offset = offset


def with_seed(config: TrainConfig) -> TrainConfig:
    """The config with a seed: its own, or a fresh random one, so that every run can be repeated."""
    return config if config.seed is not None else replace(config, seed=secrets.randbelow(2**31))


def train(config: TrainConfig, data: MnistData, control: TrainingControl | None = None, model: ConvNet | None = None,
          *, state_path: Path | None = None, resume: ResumeState | None = None,
          run_id: int | None = None) -> Iterator[events.TrainingEvent]:
    """Run the recipe on `data` (already on its device) and yield what happens.

    A config without a seed gets a random one, reported in TrainingStarted and saved with the model.
    `model` gives the starting weights (default: a freshly initialised network). With `state_path`,
    the run's exact state is written there at the end of each epoch and when it stops; `resume`
    (such a state, read back) continues that run where it was, up to `config.epochs` epochs; `run_id`
    is the recorded run the state belongs to, written into it.
    """
    run = RecipeRun(config, data, model, resume)
    run.run_id = run_id
    yield from run.run(control or TrainingControl(), state_path)


class RecipeRun:
    """One run of the recipe: the model, its optimiser and schedule, and where the run is."""

    def __init__(self, config: TrainConfig, data: MnistData, model: ConvNet | None = None, resume: ResumeState | None = None):
        validate_config(config, train_size=len(data.train_labels))
        self.config = config = with_seed(config)
        self.data = data
        device = data.device
        torch.manual_seed(config.seed)  # the initial weights
        # channels_last: PyTorch's CPU convolutions and max-pool are several times faster in NHWC.
        model = model or build_model(deskew=config.deskew, shape=config.network_shape)
        self.model = model.to(device, memory_format=torch.channels_last)
        self.optimizer = make_optimizer(self.model, config.lr)
        self.generator = torch.Generator(device=device)  # noise, shuffling and augmentation
        self.generator.manual_seed(config.seed)
        n_train = len(data.train_labels)
        # The seed's minibatches: 1:N in order, partitioned by batch size, the last one shorter.
        self.starts = range(0, n_train, config.batch_size)
        self.scheduler = (
            torch.optim.lr_scheduler.OneCycleLR(self.optimizer, max_lr=config.lr, total_steps=config.epochs * len(self.starts))
            if config.lr_schedule == "onecycle" else None
        )
        self.noise = NoiseSource(config.noise_std, data.train_images.shape[1:], self.generator,
                                 images_per_draw=16 * config.batch_size)
        # The banks of added digits: made from the seed alone, never from the run's generator, so a
        # resumed run has the same ones (from the cache, or made again).
        self.added = [(share, _on_device(bank, device)) for share, bank in (
            (config.synth_share, synthesised_digits(n_train, config.synth_share, config.seed)),
            (config.real_share, real_digits(config.real_share, config.seed)),
        ) if share > 0]
        self.save_to = checkpoint_file(config.savepath)
        # What a saved model says of itself: its settings, and the data it learned from that asks to be named.
        self.described = {**config.to_dict(), **({"trained_on": ATTRIBUTION} if config.real_share > 0 else {}),
                          **({"lr_at": lr_plan_text(config.lr_at)} if config.lr_at else {})}
        self.schedule = ScheduleState(lr=config.lr)
        self.best_epoch = 0
        self.saved: tuple[int, float] | None = None  # the epoch and accuracy of the model in the save file
        self.epochs_done = 0
        self.batch = 0  # batches done in epoch epochs_done + 1
        self.order: torch.Tensor | None = None
        self.loss_sum = torch.zeros((), device=device)
        self.seconds_in_epoch = 0.0
        self.run_id: int | None = None  # the recorded run, named in the states it saves
        if resume is not None:
            self._restore(resume)

    # -- state ------------------------------------------------------------------------------------
    def state(self, finished: FinishReason | None = None) -> ResumeState:
        return ResumeState(
            config=self.config.to_dict(), epochs_done=self.epochs_done, batch=self.batch,
            model_state={k: v.detach().to("cpu").clone() for k, v in self.model.state_dict().items()},
            optimizer_state=_to_cpu(self.optimizer.state_dict()),
            scheduler_state=self.scheduler.state_dict() if self.scheduler is not None else None,
            lr=self.schedule.lr, best_accuracy=self.schedule.best_accuracy, last_improvement=self.schedule.last_improvement,
            best_epoch=self.best_epoch, saved_any=self.saved is not None, **self._saved_fields(),
            generator_state=self.generator.get_state(),
            noise_draw_state=self.noise.draw_state if self.noise.buffer is not None else None,
            noise_draw_images=len(self.noise.buffer) if self.noise.buffer is not None else 0,
            noise_offset=self.noise.offset,
            order=self.order.to("cpu", torch.int32) if self.order is not None else None,
            loss_sum=float(self.loss_sum), seconds_in_epoch=self.seconds_in_epoch,
            finished=None if finished is None else str(finished), run_id=self.run_id,
        )

    def _check_position(self, state: ResumeState) -> None:
        """Where a saved state says the run is must be a place in this run on this data: checked here,
        where the data's size is known (a state is read before its data)."""
        n_train, config = len(self.data.train_labels), self.config
        batches = -(-n_train // config.batch_size)
        problems = []
        if state.epochs_done > config.epochs:
            problems.append(f"{state.epochs_done} epochs done of {config.epochs}")
        if not 0 <= state.batch < batches:
            problems.append(f"batch {state.batch} of an epoch of {batches} batches ({n_train} training images)")
        if state.order is not None:
            order = state.order
            if order.dtype not in (torch.int32, torch.int64) or tuple(order.shape) != (n_train,) or \
                    not torch.equal(torch.sort(order.to(torch.int64)).values, torch.arange(n_train)):
                problems.append(f"its batch order is not an order of the {n_train} training images")
        if state.noise_draw_state is not None and (state.noise_draw_images != self.noise.images_per_draw
                                                   or not 0 <= state.noise_offset <= state.noise_draw_images):
            problems.append(f"its noise buffer of {state.noise_draw_images} images, {state.noise_offset} used, "
                            f"is not this run's ({self.noise.images_per_draw})")
        if problems:
            raise CheckpointError(f"the run's saved state does not fit this run: {'; '.join(problems)}")

    def _restore(self, state: ResumeState) -> None:
        device = self.data.device
        self._check_position(state)
        try:
            self.model.load_state_dict(state.model_state)
            self.optimizer.load_state_dict(state.optimizer_state)
            if self.scheduler is not None and state.scheduler_state is not None:
                self.scheduler.load_state_dict(state.scheduler_state)
            self.noise.restore(state.noise_draw_state, state.noise_draw_images, state.noise_offset, device)
            self.generator.set_state(state.generator_state)
        except (RuntimeError, ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(f"the run's saved state does not fit this run ({exc})") from exc
        self.schedule = ScheduleState(lr=state.lr, best_accuracy=state.best_accuracy, last_improvement=state.last_improvement)
        self.best_epoch = state.best_epoch
        if state.saved_epoch is not None and state.saved_accuracy is not None:
            self.saved = (state.saved_epoch, state.saved_accuracy)
        elif state.saved_any:  # a state from before saves were told apart from the best: the best
            self.saved = (state.best_epoch, state.best_accuracy)
        self.epochs_done, self.batch = state.epochs_done, state.batch
        self.order = state.order.to(device, torch.int64) if state.order is not None else None
        self.loss_sum = torch.tensor(state.loss_sum, device=device)
        self.seconds_in_epoch = state.seconds_in_epoch

    def _save_state(self, path: Path | None, finished: FinishReason | None = None) -> events.StateSaveFailed | None:
        if path is None:
            return None
        try:
            save_resume_state(path, self.state(finished))
        except CheckpointError as exc:
            return events.StateSaveFailed(epoch=self.epochs_done, message=str(exc))
        return None

    # -- the loop ---------------------------------------------------------------------------------
    def _set_lr(self, lr: float, epoch: int, batch: int, batches: int, planned: bool) -> events.LrChanged:
        """Train at `lr` from the next batch on. The plateau rule goes on from it (its next drop divides
        this rate); the saved state holds it, so a resumed run keeps it."""
        old = current_lr(self.optimizer)
        set_lr(self.optimizer, lr)
        self.schedule = replace(self.schedule, lr=lr)
        return events.LrChanged(epoch=epoch, batch=batch, batches=batches, old_lr=old, new_lr=lr, planned=planned)

    def _finished(self, reason: FinishReason, epochs_run: int) -> events.Finished:
        return events.Finished(
            reason=reason, epochs_run=epochs_run, best_accuracy=self.schedule.best_accuracy,
            best_epoch=self.best_epoch, checkpoint=self.save_to if self.saved is not None else None,
            **self._saved_fields(),
        )

    def _saved_fields(self) -> dict:
        """The model in the save file, as a state and the Finished event name it."""
        epoch, accuracy = self.saved if self.saved is not None else (None, None)
        return {"saved_epoch": epoch, "saved_accuracy": accuracy}

    def run(self, control: TrainingControl, state_path: Path | None) -> Iterator[events.TrainingEvent]:
        config, data, model, optimizer = self.config, self.data, self.model, self.optimizer
        device = data.device
        images, labels = data.train_images, data.train_labels
        n_train, batches = len(labels), len(self.starts)
        yield events.TrainingStarted(
            device=describe_device(device), train_images=n_train, test_images=len(data.test_labels),
            batches_per_epoch=batches, parameters=parameter_count(model), seed=config.seed,
            first_epoch=self.epochs_done + 1, first_batch=self.batch, network=config.network_shape.text(),
        )

        def stop_here(reason: FinishReason, epochs_run: int) -> Iterator[events.TrainingEvent]:
            if (failed := self._save_state(state_path, None if reason is FinishReason.STOPPED else reason)) is not None:
                yield failed
            yield self._finished(reason, epochs_run)

        for epoch in range(self.epochs_done + 1, config.epochs + 1):
            model.train()
            if self.batch == 0:
                self.loss_sum = torch.zeros((), device=device)
                self.seconds_in_epoch = 0.0
            if config.shuffle and self.order is None:  # a state saved mid-epoch brings its epoch's order
                self.order = torch.randperm(n_train, generator=self.generator, device=device)
            if self.batch == 0 and (planned := config.lr_for_epoch(epoch)) is not None:
                # At the epoch's start, before any batch: a run resumed here sets it just the same.
                yield self._set_lr(planned, epoch, 0, batches, planned=True)
            epoch_start = last_report = time.perf_counter() - self.seconds_in_epoch
            reported_sum, reported_batches = float(self.loss_sum), self.batch
            for batch_index in range(self.batch, batches):
                if control.paused:
                    paused_at = time.perf_counter()
                    control.wait_while_paused()
                    epoch_start += time.perf_counter() - paused_at  # paused time is not training time
                if (asked := control.take_lr_request()) is not None and self.scheduler is None:
                    yield self._set_lr(asked, epoch, batch_index, batches, planned=False)
                if control.stop_requested:
                    self.seconds_in_epoch = time.perf_counter() - epoch_start
                    yield events.Stopped(epoch=epoch, batch=batch_index)
                    yield from stop_here(FinishReason.STOPPED, epoch - 1)
                    return
                start = self.starts[batch_index]
                if self.order is None:
                    x = pixels(images[start : start + config.batch_size])
                    y = labels[start : start + config.batch_size]
                else:
                    picked = self.order[start : start + config.batch_size]
                    x, y = pixels(images[picked]), labels[picked]
                mnist_count = len(y)
                for share, (bank_images, bank_labels) in self.added:
                    # Drawn from the run's generator before the augmentation and the noise, every batch.
                    others = config.synth_share + config.real_share - share
                    pick = torch.randint(len(bank_labels), (per_batch(mnist_count, share, others),),
                                         generator=self.generator, device=device)
                    x, y = torch.cat([x, bank_images[pick]]), torch.cat([y, bank_labels[pick]])
                if config.augment:
                    x = augment_batch(x, self.generator, AUGMENT)
                x = self.noise.add_to(x).contiguous(memory_format=torch.channels_last)
                loss = F.cross_entropy(model(x), y, label_smoothing=config.label_smoothing)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                # A one-cycle schedule ends with its planned steps; a run extended past them keeps the last rate.
                if self.scheduler is not None and self.scheduler.last_epoch < self.scheduler.total_steps:
                    self.scheduler.step()
                self.loss_sum += loss.detach()
                self.batch = batch_index + 1

                now = time.perf_counter()
                if now - last_report >= config.progress_interval_s or self.batch == batches:
                    # The only host read of the loss: at the progress rate, not every batch.
                    total = float(self.loss_sum)
                    done = self.batch
                    seen = min(done * config.batch_size, n_train)
                    yield events.BatchProgress(
                        epoch=epoch, batch=done, batches=batches,
                        loss=(total - reported_sum) / max(done - reported_batches, 1), lr=current_lr(optimizer),
                        images_per_s=seen / max(now - epoch_start, 1e-9), seconds=now - epoch_start,
                    )
                    reported_sum, reported_batches, last_report = total, done, now
            train_seconds = time.perf_counter() - epoch_start
            train_loss = float(self.loss_sum) / batches
            self.epochs_done, self.batch, self.order = epoch, 0, None

            if has_nan_parameters(model):
                yield events.NanAbort(epoch=epoch)
                yield self._finished(FinishReason.NAN_ABORT, epoch)  # the state stays at the last good epoch
                return

            result = evaluate(model, data.test_images, data.test_labels, config.eval_batch_size)
            yield events.EpochFinished(
                epoch=epoch, test_accuracy=result.accuracy, test_loss=result.loss, train_loss=train_loss,
                lr=current_lr(optimizer),
                seconds=time.perf_counter() - epoch_start, images_per_s=n_train / max(train_seconds, 1e-9),
                predictions=result.predictions, confusion=result.confusion, confidences=result.confidences,
            )

            decision = decide_after_epoch(self.schedule, epoch, result.accuracy, config)
            previous_lr = self.schedule.lr
            self.schedule = decision.state
            if decision.save:
                self.best_epoch = epoch
                try:
                    checkpoint.save_checkpoint(
                        self.save_to, model, epoch=epoch, accuracy=result.accuracy, lr=self.schedule.lr,
                        hyperparameters=self.described,
                    )
                    self.saved = (epoch, result.accuracy)
                    yield events.NewBestSaved(epoch=epoch, accuracy=result.accuracy, path=self.save_to,
                                              first_filters=first_filters_flat(model), filter_shape=first_filters_shape(model))
                except CheckpointError as exc:
                    # Training goes on; the previous file is untouched (the write was atomic).
                    yield events.SaveFailed(epoch=epoch, message=str(exc))
            if decision.early_exit:
                yield events.EarlyExit(epoch=epoch, accuracy=result.accuracy, target=config.target_accuracy)
                yield from stop_here(FinishReason.EARLY_EXIT, epoch)
                return
            if decision.lr_dropped:
                set_lr(optimizer, self.schedule.lr)
                yield events.LrDropped(epoch=epoch, old_lr=previous_lr, new_lr=self.schedule.lr)
            if decision.converged:
                yield events.Converged(epoch=epoch)
                yield from stop_here(FinishReason.CONVERGED, epoch)
                return
            if epoch < config.epochs and (failed := self._save_state(state_path)) is not None:
                yield failed
        yield from stop_here(FinishReason.COMPLETED, config.epochs)


REAL_BANK = 32_000  # renderings of the training writers' digits: about eight each


def synthesised_digits(train_images: int, share: float, seed: int):
    if share <= 0:
        return None
    count, fonts = bank_size(train_images, share), available_fonts()
    return cached_bank("synth", {"count": count, "seed": seed, "fonts": fonts}, lambda: synth_bank(count, seed, fonts))


def real_digits(share: float, seed: int):
    if share <= 0:
        return None
    return cached_bank("handwriting", {"count": REAL_BANK, "seed": seed, "file": handwriting_digest()},
                       lambda: handwriting_bank(REAL_BANK, seed))


def _on_device(bank, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = bank
    return torch.from_numpy(images).to(device).unsqueeze(1).float().div_(255.0), torch.from_numpy(labels).to(device, torch.int64)


def _to_cpu(value):
    """A state dict with its tensors on the CPU (Adam's moments), for saving."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu").clone()
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_cpu(v) for v in value]
    return value
