"""The exact state of a training run between two batches, so that it can be continued later.

Besides the best model (`mnist_conv.pt`), a run keeps its latest state in `state.pt`, rewritten at
the end of every epoch and when the run is stopped: the model, Adam's moments, the schedule (best
accuracy, epochs without improvement, learning rate, one-cycle position), where in which epoch it
is, and every random-number generator state. A run continued from it computes exactly what the
uninterrupted run would have (on the same device and number of threads).

The file is an ordinary `torch.save` zip of plain values and tensors, written atomically, and read
like a checkpoint: with `torch.load(weights_only=True)` after size checks, nothing in it is run.
"""

from __future__ import annotations

import datetime as _dt
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch

from . import checkpoint
from .atomic import atomic_write, remove_abandoned_partials
from .errors import CheckpointError, shown
from .paths import make_folder
from .shape import SEED_SHAPE, SHAPE_FIELDS, NetworkShape

FORMAT = "mnistconv-resume"
FORMAT_VERSION = 1


@dataclass
class ResumeState:
    config: dict  # TrainConfig.to_dict(), seed included
    epochs_done: int  # completed epochs
    batch: int  # batches done in epoch epochs_done + 1 (0 at an epoch's end)
    model_state: dict = field(repr=False)
    optimizer_state: dict = field(repr=False)
    scheduler_state: dict | None = field(repr=False)
    lr: float  # the schedule's learning rate (core.recipe.ScheduleState)
    best_accuracy: float
    last_improvement: int
    best_epoch: int
    saved_any: bool  # a best model was written
    generator_state: torch.Tensor = field(repr=False)  # noise, shuffling, augmentation
    noise_draw_state: torch.Tensor | None = field(repr=False)  # the generator before the noise buffer was drawn
    noise_draw_images: int  # how many images that buffer holds
    noise_offset: int  # how many of them were used
    order: torch.Tensor | None = field(repr=False)  # this epoch's shuffled order, mid-epoch
    loss_sum: float  # this epoch's summed batch losses so far
    seconds_in_epoch: float  # training seconds this epoch so far
    finished: str | None = None  # the FinishReason, once the run has ended
    run_id: int | None = None  # the recorded run this is the state of (None: not recorded, or an older file)
    saved_epoch: int | None = None  # the model in the save file: its epoch and accuracy (None: none, or an older file)
    saved_accuracy: float | None = None

    def to_payload(self) -> dict:
        payload = {name: getattr(self, name) for name in self.__dataclass_fields__}
        payload.update(format=FORMAT, format_version=FORMAT_VERSION, torch_version=str(torch.__version__),
                       saved_at=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
        return payload


def save_resume_state(path: str | os.PathLike, state: ResumeState) -> Path:
    """Write the state beside its final name, then rename it over the previous one."""
    path = Path(path)
    try:
        make_folder(path.parent)
        remove_abandoned_partials(path)
        with atomic_write(path) as sink:
            torch.save(state.to_payload(), sink)
    except (OSError, RuntimeError) as exc:
        raise CheckpointError(f"Could not save the run's state to {path}: {checkpoint.describe_os_error(exc)}") from exc
    return path


_TYPES = {
    "config": dict, "epochs_done": int, "batch": int, "model_state": dict, "optimizer_state": dict,
    "lr": float, "best_accuracy": float, "last_improvement": int, "best_epoch": int, "saved_any": bool,
    "generator_state": torch.Tensor, "noise_draw_images": int, "noise_offset": int, "loss_sum": float,
    "seconds_in_epoch": float,
}
_OPTIONAL = {"scheduler_state": dict, "noise_draw_state": torch.Tensor, "order": torch.Tensor, "finished": str,
             "run_id": int, "saved_epoch": int, "saved_accuracy": float}
# Each number's range: the file's values are untrusted, and a pickle holds ints of up to about 600
# digits, beyond any float. Counts (every int) are whole numbers a float holds exactly.
_MOST_COUNT = 2**53
_MOST_FLOAT = sys.float_info.max
_RANGES = {"lr": (0.0, _MOST_FLOAT), "best_accuracy": (0.0, 1.0), "saved_accuracy": (0.0, 1.0),
           "loss_sum": (0.0, _MOST_FLOAT), "seconds_in_epoch": (0.0, _MOST_FLOAT)}


def load_resume_state(path: str | os.PathLike) -> ResumeState:
    """Read and check a state file; any problem is a CheckpointError saying what is wrong."""
    path = Path(path)
    payload = checkpoint.safe_torch_load(path)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an mnistconv run state")
    version = payload.get("format_version")
    if type(version) is not int or not 1 <= version <= FORMAT_VERSION:
        raise CheckpointError(f"{path} has run-state format {shown(version)}; "
                              f"this version of mnistconv reads up to {FORMAT_VERSION}")
    values = {}
    for name, kind in {**_TYPES, **_OPTIONAL}.items():
        value = payload.get(name)
        if value is None and name in _OPTIONAL:
            values[name] = None
            continue
        if not _of_kind(kind, value):
            raise CheckpointError(f"{path} is a damaged run state ({name} is {type(value).__name__}, expected {kind.__name__})")
        if kind in (int, float) and not _in_range(name, value):  # before float(): an int may be beyond any float
            raise CheckpointError(f"{path} is a damaged run state ({name} is {shown(value)})")
        values[name] = float(value) if kind is float else value
    saved_epoch, saved_accuracy = values["saved_epoch"], values["saved_accuracy"]
    if saved_epoch is not None and not 1 <= saved_epoch <= values["epochs_done"] \
            or saved_accuracy is not None and not 0 <= saved_accuracy <= 1:
        raise CheckpointError(f"{path} is a damaged run state (its saved model: epoch {saved_epoch}, accuracy {saved_accuracy})")
    config = values["config"]
    shape = checkpoint.declared_shape(path, {name: config[name] for name in SHAPE_FIELDS if name in config})
    checkpoint.check_model_state(path, values["model_state"], shape)
    check_optimizer_state(path, values["optimizer_state"], shape)
    return ResumeState(**values)


def _of_kind(kind: type, value: object) -> bool:
    if kind is int:
        return type(value) is int  # not a bool
    if kind is float:
        return type(value) in (int, float)
    return isinstance(value, kind)


def _in_range(name: str, value: int | float) -> bool:
    low, high = _RANGES.get(name, (0, _MOST_COUNT))  # every other number is a count
    # NaN fails every comparison, inf the upper bound; lr must be above 0, the others may be 0
    return (value > low if name == "lr" else value >= low) and value <= high


# Adam's settings in a state's param group: each a finite number in its range, or a flag.
_ADAM_NUMBERS = {"lr": (0.0, 1e3), "eps": (0.0, 1.0), "weight_decay": (0.0, 1e3)}
_ADAM_FLAGS = ("amsgrad", "maximize", "foreach", "capturable", "differentiable", "fused", "decoupled_weight_decay")


def check_optimizer_state(path: Path, state: object, shape: NetworkShape = SEED_SHAPE) -> None:
    """Adam's state for a network of `shape`, checked before torch's own code touches it: one
    param group over the network's parameters, and for each parameter a finite step count and two
    finite moments of that parameter's shape. (Torch's fused Adam trusts the shapes it is given: a
    moment of the wrong size writes outside its memory.)"""
    shapes = list(checkpoint.weight_shapes(shape).values())

    def damaged(why: str) -> CheckpointError:
        return CheckpointError(f"{path} is a damaged run state (the optimizer's {why})")

    if set(state) != {"state", "param_groups"} or not isinstance(state["state"], dict) \
            or not isinstance(state["param_groups"], list) or len(state["param_groups"]) != 1:
        raise damaged("state is not one group of Adam's")
    group = state["param_groups"][0]
    if not isinstance(group, dict) or group.get("params") != list(range(len(shapes))):
        raise damaged("parameters are not the network's")
    for name, (low, high) in _ADAM_NUMBERS.items():
        value = group.get(name)
        if type(value) not in (int, float) or not low <= value <= high or value != value:
            raise damaged(f"{name} is {shown(value)}")
    betas = group.get("betas")
    if not isinstance(betas, (tuple, list)) or len(betas) != 2 or \
            not all(type(b) in (int, float) and 0 <= b < 1 for b in betas):
        raise damaged(f"betas are {shown(betas)}")
    for flag in _ADAM_FLAGS:
        if flag in group and group[flag] is not None and type(group[flag]) is not bool:
            raise damaged(f"{flag} is {shown(group[flag])}")
    for index, moments in state["state"].items():
        if type(index) is not int or not 0 <= index < len(shapes):
            raise damaged(f"state names parameter {shown(index)}")
        if not isinstance(moments, dict) or set(moments) != {"step", "exp_avg", "exp_avg_sq"}:
            raise damaged(f"state of parameter {index} is not Adam's (step, exp_avg, exp_avg_sq)")
        step = moments["step"]
        if not isinstance(step, torch.Tensor) or step.numel() != 1 or not step.dtype.is_floating_point \
                or not bool(torch.isfinite(step).all()) or float(step) < 0:
            raise damaged(f"step count of parameter {index} is {shown(step)}")
        for name in ("exp_avg", "exp_avg_sq"):
            moment = moments[name]
            if not isinstance(moment, torch.Tensor) or moment.layout is not torch.strided or moment.device.type != "cpu" \
                    or moment.dtype != torch.float32 or tuple(moment.shape) != shapes[index]:
                raise damaged(f"{name} of parameter {index} is not a float32 tensor of shape {shapes[index]}")
            if not bool(torch.isfinite(moment).all()) or (name == "exp_avg_sq" and bool((moment < 0).any())):
                raise damaged(f"{name} of parameter {index} holds NaN, infinite or negative values")
