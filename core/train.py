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
from typing import Iterator

import torch
from torch.nn import functional as F

from . import checkpoint, events
from .augment import AugmentSettings, augment_batch
from .config import TrainConfig, validate_config
from .data import MnistData
from .device import describe_device
from .errors import CheckpointError
from .evaluate import evaluate
from .events import FinishReason
from .model import ConvNet, build_model, parameter_count
from .paths import checkpoint_file
from .recipe import ScheduleState, decide_after_epoch, has_nan_parameters

# Half of each batch distorted: the model keeps seeing clean MNIST digits too.
AUGMENT = AugmentSettings(p=0.5)


class TrainingControl:
    """Thread-safe stop and pause requests, honoured between batches."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()

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


def make_optimizer(model: torch.nn.Module, lr: float) -> torch.optim.Adam:
    """The seed's ADAM (Flux's defaults are torch's: betas 0.9/0.999, eps 1e-8) as torch's fused
    kernel, one call for all eight parameter tensors, on the CPU as on CUDA. It steps as fast as
    Adam over one flat buffer of all the parameters did (benchmarks/RESULTS.md)."""
    return torch.optim.Adam(model.parameters(), lr=lr, fused=True)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def current_lr(optimizer: torch.optim.Optimizer) -> float:
    return float(optimizer.param_groups[0]["lr"])


class NoiseSource:
    """The seed's augmentation, x + std·N(0, 1), with the noise drawn many batches at a time:
    one large randn costs much less than many small ones."""

    def __init__(self, std: float, image_shape, generator: torch.Generator, images_per_draw: int):
        self.std = std
        self.image_shape = tuple(image_shape)
        self.generator = generator
        self.images_per_draw = images_per_draw
        self.buffer: torch.Tensor | None = None
        self.offset = 0

    def add_to(self, x: torch.Tensor) -> torch.Tensor:
        if not self.std:
            return x
        n = len(x)
        if self.buffer is None or self.offset + n > len(self.buffer):
            shape = (max(n, self.images_per_draw), *self.image_shape)
            self.buffer = torch.randn(shape, generator=self.generator, device=x.device, dtype=x.dtype).mul_(self.std)
            self.offset = 0
        chunk = self.buffer[self.offset : self.offset + n]
        self.offset += n
        return x + chunk


def with_seed(config: TrainConfig) -> TrainConfig:
    """The config with a seed: its own, or a fresh random one, so that every run can be repeated."""
    return config if config.seed is not None else replace(config, seed=secrets.randbelow(2**31))


def train(config: TrainConfig, data: MnistData, control: TrainingControl | None = None,
          model: ConvNet | None = None) -> Iterator[events.TrainingEvent]:
    """Run the recipe on `data` (already on its device) and yield what happens.

    A config without a seed gets a random one, reported in TrainingStarted and saved with the model.
    """
    validate_config(config, train_size=len(data.train_labels))
    config = with_seed(config)
    control = control or TrainingControl()
    device = data.device
    torch.manual_seed(config.seed)  # the initial weights
    # channels_last: PyTorch's CPU convolutions and max-pool are several times faster in NHWC.
    model = (model or build_model()).to(device, memory_format=torch.channels_last)
    optimizer = make_optimizer(model, config.lr)
    generator = torch.Generator(device=device)  # noise, shuffling and augmentation
    generator.manual_seed(config.seed)

    images, labels = data.train_images, data.train_labels
    n_train = len(labels)
    # The seed's minibatches: 1:N in order, partitioned by batch size, the last one shorter.
    starts = range(0, n_train, config.batch_size)
    batches = len(starts)
    scheduler = (
        torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=config.epochs * batches)
        if config.lr_schedule == "onecycle" else None
    )
    noise = NoiseSource(config.noise_std, images.shape[1:], generator, images_per_draw=16 * config.batch_size)
    save_to = checkpoint_file(config.savepath)
    schedule = ScheduleState(lr=config.lr)
    best_epoch = 0
    saved_any = False

    yield events.TrainingStarted(
        device=describe_device(device), train_images=n_train, test_images=len(data.test_labels),
        batches_per_epoch=batches, parameters=parameter_count(model), seed=config.seed,
    )

    def finished(reason: FinishReason, epochs_run: int) -> events.Finished:
        return events.Finished(
            reason=reason, epochs_run=epochs_run, best_accuracy=schedule.best_accuracy,
            best_epoch=best_epoch, checkpoint=save_to if saved_any else None,
        )

    for epoch in range(1, config.epochs + 1):
        model.train()
        order = torch.randperm(n_train, generator=generator, device=device) if config.shuffle else None
        epoch_start = last_report = time.perf_counter()
        loss_sum = torch.zeros((), device=device)
        reported_sum = 0.0
        reported_batches = 0
        for batch_index, start in enumerate(starts):
            if control.paused:
                paused_at = time.perf_counter()
                control.wait_while_paused()
                epoch_start += time.perf_counter() - paused_at  # paused time is not training time
            if control.stop_requested:
                yield events.Stopped(epoch=epoch, batch=batch_index)
                yield finished(FinishReason.STOPPED, epoch - 1)
                return
            if order is None:
                x = images[start : start + config.batch_size]
                y = labels[start : start + config.batch_size]
            else:
                picked = order[start : start + config.batch_size]
                x, y = images[picked], labels[picked]
            if config.augment:
                x = augment_batch(x, generator, AUGMENT)
            x = noise.add_to(x).contiguous(memory_format=torch.channels_last)
            loss = F.cross_entropy(model(x), y, label_smoothing=config.label_smoothing)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            loss_sum += loss.detach()

            now = time.perf_counter()
            if now - last_report >= config.progress_interval_s or batch_index + 1 == batches:
                # The only host read of the loss: at the progress rate, not every batch.
                total = float(loss_sum)
                done = batch_index + 1
                seen = min(done * config.batch_size, n_train)
                yield events.BatchProgress(
                    epoch=epoch, batch=done, batches=batches,
                    loss=(total - reported_sum) / (done - reported_batches), lr=current_lr(optimizer),
                    images_per_s=seen / max(now - epoch_start, 1e-9), seconds=now - epoch_start,
                )
                reported_sum, reported_batches, last_report = total, done, now
        train_seconds = time.perf_counter() - epoch_start
        train_loss = float(loss_sum) / batches

        if has_nan_parameters(model):
            yield events.NanAbort(epoch=epoch)
            yield finished(FinishReason.NAN_ABORT, epoch)
            return

        result = evaluate(model, data.test_images, data.test_labels, config.eval_batch_size)
        yield events.EpochFinished(
            epoch=epoch, test_accuracy=result.accuracy, train_loss=train_loss, lr=current_lr(optimizer),
            seconds=time.perf_counter() - epoch_start, images_per_s=n_train / max(train_seconds, 1e-9),
            predictions=result.predictions, confusion=result.confusion, confidences=result.confidences,
        )

        decision = decide_after_epoch(schedule, epoch, result.accuracy, config)
        previous_lr = schedule.lr
        schedule = decision.state
        if decision.save:
            best_epoch = epoch
            try:
                checkpoint.save_checkpoint(
                    save_to, model, epoch=epoch, accuracy=result.accuracy, lr=schedule.lr,
                    hyperparameters=config.to_dict(),
                )
                saved_any = True
                yield events.NewBestSaved(epoch=epoch, accuracy=result.accuracy, path=save_to)
            except CheckpointError as exc:
                # Training goes on; the previous file is untouched (the write was atomic).
                yield events.SaveFailed(epoch=epoch, message=str(exc))
        if decision.early_exit:
            yield events.EarlyExit(epoch=epoch, accuracy=result.accuracy, target=config.target_accuracy)
            yield finished(FinishReason.EARLY_EXIT, epoch)
            return
        if decision.lr_dropped:
            set_lr(optimizer, schedule.lr)
            yield events.LrDropped(epoch=epoch, old_lr=previous_lr, new_lr=schedule.lr)
        if decision.converged:
            yield events.Converged(epoch=epoch)
            yield finished(FinishReason.CONVERGED, epoch)
            return
    yield finished(FinishReason.COMPLETED, config.epochs)

