"""Training parameters, with the seed recipe's numbers as defaults, and their validation."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from .device import DEVICE_CHOICES
from .errors import ConfigError, shown
from .shape import MAX_HIDDEN, SEED_SHAPE, NetworkShape, check_shape

LR_SCHEDULES = ("plateau", "onecycle")
MAX_SYNTH_SHARE = 0.5  # beyond this a batch is mostly not MNIST
MAX_REAL_SHARE = 0.5
MAX_ADDED_SHARE = 0.6  # synthesised and real together: MNIST stays at least 40 % of a batch


@dataclass(frozen=True)
class TrainConfig:
    lr: float = 3e-3
    epochs: int = 20
    batch_size: int = 128
    noise_std: float = 0.1
    seed: int | None = None
    device: str = "auto"
    savepath: str = "."
    # The seed's schedule: divide the LR by 10 after 5 epochs without improvement (while lr > 1e-6),
    # stop at ≥ 99.9 % test accuracy, call it converged after 10 epochs without improvement.
    lr_drop_patience: int = 5
    lr_drop_factor: float = 10.0
    min_lr: float = 1e-6
    target_accuracy: float = 0.999
    converge_patience: int = 10
    # Beyond the seed (used by presets): "plateau" is the seed's LR rule above; "onecycle" ramps the
    # LR up to `lr` and anneals it over the run, per batch, and turns the plateau drops off.
    lr_schedule: str = "plateau"
    label_smoothing: float = 0.0
    shuffle: bool = False  # the seed visits the same minibatches in the same order every epoch
    augment: bool = False  # random affine, stroke thickness and elastic distortion (core.augment)
    # The share of each batch that is digits the project synthesises (core.synth): strokes in styles
    # MNIST lacks and font digits, added to the batch's MNIST digits. 0: MNIST only, as the seed.
    synth_share: float = 0.0
    # The share of each batch that is real handwriting (core.handwriting): the training writers'
    # pen-drawn digits, drawn on the canvas with random hands as the sketchpad would receive them.
    real_share: float = 0.0
    # Deskew every input inside the network (core.model): the same network, its input made upright.
    deskew: bool = False
    # Planned learning rates: (epoch, lr) pairs, each setting the rate from the start of that epoch
    # on (the plateau rule still divides it later). Empty: the seed's single starting rate.
    lr_at: tuple[tuple[int, float], ...] = ()
    # The network's shape (core.shape): each block's channels, the kernel, the hidden layer's units
    # (0: none). The seed's: 16, 32, 32 channels of 3×3, no hidden layer.
    channels: tuple[int, ...] = SEED_SHAPE.channels
    kernel: int = SEED_SHAPE.kernel
    hidden: int = SEED_SHAPE.hidden
    # How the loop runs, not what it computes.
    eval_batch_size: int = 250  # core.evaluate.EVAL_BATCH_SIZE: activations stay small on the CPU
    progress_interval_s: float = 0.1

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        """A config from stored values (JSON makes lr_at's pairs lists: they become tuples again;
        a malformed plan is kept as it is, for validate_config to refuse)."""
        known = {f.name for f in fields(cls)}
        chosen = {k: v for k, v in values.items() if k in known}
        plan = chosen.get("lr_at")
        if isinstance(plan, (list, tuple)) and all(isinstance(pair, (list, tuple)) for pair in plan):
            chosen["lr_at"] = tuple(tuple(pair) for pair in plan)
        if isinstance(chosen.get("channels"), list):
            chosen["channels"] = tuple(chosen["channels"])
        return cls(**chosen)

    @property
    def network_shape(self) -> NetworkShape:
        """The shape its fields make (ConfigError when one is out of bounds)."""
        return check_shape(self.channels, self.kernel, self.hidden)

    def lr_for_epoch(self, epoch: int) -> float | None:
        """The rate the plan sets at the start of `epoch`, if it sets one."""
        return next((lr for at, lr in self.lr_at if at == epoch), None)


@dataclass(frozen=True)
class Rule:
    """The values one setting takes: a whole number or a number, finite, within bounds. The command
    line, the window's fields and its settings file, a resumed run's state and the config all ask it,
    so a value is refused in the same words wherever it comes from."""

    words: str  # what a person calls it: "learning rate"
    kind: type  # int or float
    lowest: float
    highest: float = math.inf
    above: bool = False  # strictly above `lowest`

    @property
    def requirement(self) -> str:
        """'a positive number', 'a number ≥ 0', 'a whole number from 1 to 10000', 'a number above 1 and at most 1000'."""
        noun = "a whole number" if self.kind is int else "a number"
        if self.above and self.lowest == 0 and self.highest == math.inf:
            return "a positive number"
        if self.highest == math.inf:
            return f"{noun} {'>' if self.above else '≥'} {self.lowest:g}"
        highest = int(self.highest) if self.kind is int else f"{self.highest:g}"
        if self.above:
            return f"{noun} above {self.lowest:g} and at most {highest}"
        return f"{noun} from {self.lowest:g} to {highest}"

    def _refuse(self, text: str) -> ConfigError:
        return ConfigError(f"{self.words} must be {self.requirement}, not {text}")

    def check(self, value):
        """`value` itself when it is one this setting takes, else ConfigError saying why."""
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (self.kind is int and not isinstance(value, int)):
            raise self._refuse(shown(value))
        # An int is finite, however large: math.isfinite would turn it into a float, which overflows.
        infinite = isinstance(value, float) and not math.isfinite(value)
        if infinite or not (value > self.lowest if self.above else value >= self.lowest) or value > self.highest:
            raise self._refuse(shown(value))
        if self.kind is float:
            try:
                return float(value)
            except OverflowError:  # an int beyond any float
                raise self._refuse(shown(value)) from None
        return value

    def parse(self, value):
        """A value typed or stored as text ("3e-3", "3,5" with a decimal comma) or as a number, checked."""
        if isinstance(value, str):
            text = value.strip()
            try:
                number = int(text) if self.kind is int else float(text.replace(",", "."))
            except (ValueError, OverflowError):
                raise self._refuse(shown(text, quoted=False)) from None
            try:
                return self.check(number)
            except ConfigError:
                raise self._refuse(shown(text, quoted=False)) from None
        return self.check(value)


SEED_MAX = 2**64 - 1  # torch's seeds
#: Every numeric setting's rule.
RULES: dict[str, Rule] = {
    "lr": Rule("learning rate", float, 0, above=True),
    "epochs": Rule("epochs", int, 1, 100_000),
    "batch_size": Rule("batch size", int, 1, 60_000),
    "noise_std": Rule("noise std", float, 0, 10),
    "seed": Rule("seed", int, 0, SEED_MAX),
    "lr_drop_patience": Rule("LR drop patience", int, 1, 10**6),
    "lr_drop_factor": Rule("LR drop factor", float, 1, 1000, above=True),
    "min_lr": Rule("smallest learning rate", float, 0),
    "target_accuracy": Rule("target accuracy", float, 0, above=True),  # above 1: never stop early
    "converge_patience": Rule("convergence patience", int, 1, 10**6),
    "label_smoothing": Rule("label smoothing", float, 0, 0.99),
    "synth_share": Rule("the synthesised share of a batch", float, 0, MAX_SYNTH_SHARE),
    "real_share": Rule("the real handwriting share of a batch", float, 0, MAX_REAL_SHARE),
    "eval_batch_size": Rule("evaluation batch size", int, 1, 100_000),
    "progress_interval_s": Rule("progress interval", float, 0, 3600),
    # Fitting to a hand (core.finetune).
    "steps": Rule("steps", int, 1, 1_000_000),
    "seconds": Rule("the time limit", float, 0, above=True),
    # Seed groups (core.seed_groups).
    "seeds": Rule("runs in a seed group", int, 1, 100),
    # The network's hidden dense layer (core.shape): 0 for none.
    "hidden": Rule("the hidden layer's units", int, 0, MAX_HIDDEN),
}
CHOICES: dict[str, tuple[str, ...]] = {"device": DEVICE_CHOICES, "lr_schedule": LR_SCHEDULES}
FLAGS = ("shuffle", "augment", "deskew")


def parse_setting(name: str, value):
    """One setting's value, typed or stored (text or a number), checked by its rule; ConfigError says why not."""
    return RULES[name].parse(value)


MAX_LR_CHANGES = 1000


def check_lr_plan(plan, schedule: str = "plateau") -> None:
    """A plan of (epoch, lr) pairs: each epoch a whole number from 1 and given once, each rate positive;
    only under the plateau rule (one-cycle sets the rate itself every batch)."""
    if not isinstance(plan, tuple) or len(plan) > MAX_LR_CHANGES or \
            not all(isinstance(pair, tuple) and len(pair) == 2 for pair in plan):
        raise ConfigError(f"the learning-rate plan must be pairs of an epoch and a rate, not {shown(plan)}")
    for epoch, lr in plan:
        try:
            RULES["epochs"].check(epoch)
            RULES["lr"].check(lr)
        except ConfigError as exc:
            raise ConfigError(f"in the learning-rate plan, {exc}") from None
    epochs = [epoch for epoch, _ in plan]
    if len(set(epochs)) != len(epochs):
        raise ConfigError(f"the learning-rate plan names an epoch twice: {shown(plan)}")
    if plan and schedule != "plateau":
        raise ConfigError("a learning-rate plan needs the plateau schedule; one-cycle sets the rate itself every batch")


def parse_lr_change(text: str) -> tuple[int, float]:
    """'EPOCH:LR' (as --lr-at takes it) as (epoch, lr), each checked; ConfigError says why not."""
    epoch, colon, lr = text.partition(":")
    if not colon:
        raise ConfigError(f"a learning-rate change is EPOCH:LR, like 6:1e-3, not {shown(text, quoted=False)}")
    return RULES["epochs"].parse(epoch), RULES["lr"].parse(lr)


def lr_plan_text(plan) -> str:
    """A plan as --lr-at writes it: '6:0.001,12:0.0001' (a plan read from a store may hold anything:
    ValueError or TypeError when it is not pairs of numbers)."""
    return ",".join(f"{int(epoch)}:{float(lr):g}" for epoch, lr in plan)


def validate_config(config: TrainConfig, train_size: int | None = None) -> None:
    """Raise ConfigError with a one-line reason for the first parameter that cannot work."""
    for name, rule in RULES.items():
        if not hasattr(config, name):
            continue  # a rule of fitting's
        value = getattr(config, name)
        if name == "seed" and value is None:
            continue  # drawn at random when the run starts
        rule.check(value)
    if config.synth_share + config.real_share > MAX_ADDED_SHARE:
        raise ConfigError(f"synthesised and real handwriting together must be at most {MAX_ADDED_SHARE:.0%} of a batch, "
                          f"not {config.synth_share + config.real_share:.0%}")
    if train_size is not None and config.batch_size > train_size:
        raise ConfigError(f"batch size {config.batch_size} is larger than the {train_size} training images")
    for name, choices in CHOICES.items():
        if getattr(config, name) not in choices:
            words = {"lr_schedule": "LR schedule"}.get(name, name)
            raise ConfigError(f"{words} must be one of {', '.join(choices)}, not {shown(getattr(config, name))}")
    for name in FLAGS:
        if not isinstance(getattr(config, name), bool):
            raise ConfigError(f"{name} must be true or false, not {shown(getattr(config, name))}")
    check_lr_plan(config.lr_at, config.lr_schedule)
    check_shape(config.channels, config.kernel, config.hidden)
    if not isinstance(config.savepath, str) or "\0" in config.savepath:
        raise ConfigError(f"the save path must be text, not {shown(config.savepath)}")
