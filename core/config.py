"""Training parameters, with the seed recipe's numbers as defaults, and their validation."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from .device import DEVICE_CHOICES
from .errors import ConfigError

LR_SCHEDULES = ("plateau", "onecycle")
MAX_SYNTH_SHARE = 0.5  # beyond this a batch is mostly not MNIST


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
    # How the loop runs, not what it computes.
    eval_batch_size: int = 1000
    progress_interval_s: float = 0.1

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


def validate_config(config: TrainConfig, train_size: int | None = None) -> None:
    """Raise ConfigError with a one-line reason for the first parameter that cannot work."""
    if not isinstance(config.lr, (int, float)) or not math.isfinite(config.lr) or config.lr <= 0:
        raise ConfigError(f"learning rate must be a positive number, not {config.lr!r}")
    if not isinstance(config.epochs, int) or config.epochs < 1:
        raise ConfigError(f"epochs must be a whole number ≥ 1, not {config.epochs!r}")
    if not isinstance(config.batch_size, int) or config.batch_size < 1:
        raise ConfigError(f"batch size must be a whole number ≥ 1, not {config.batch_size!r}")
    if train_size is not None and config.batch_size > train_size:
        raise ConfigError(f"batch size {config.batch_size} is larger than the {train_size} training images")
    if not isinstance(config.noise_std, (int, float)) or not math.isfinite(config.noise_std) or config.noise_std < 0:
        raise ConfigError(f"noise std must be a number ≥ 0, not {config.noise_std!r}")
    if config.seed is not None and (not isinstance(config.seed, int) or config.seed < 0):
        raise ConfigError(f"seed must be a whole number ≥ 0, not {config.seed!r}")
    if config.device not in DEVICE_CHOICES:
        raise ConfigError(f"device must be one of {', '.join(DEVICE_CHOICES)}, not {config.device!r}")
    if config.lr_schedule not in LR_SCHEDULES:
        raise ConfigError(f"LR schedule must be one of {', '.join(LR_SCHEDULES)}, not {config.lr_schedule!r}")
    if not 0 <= config.label_smoothing < 1:
        raise ConfigError(f"label smoothing must be in [0, 1), not {config.label_smoothing!r}")
    share = config.synth_share
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= MAX_SYNTH_SHARE:
        raise ConfigError(f"the synthesised share of a batch must be a number from 0 to {MAX_SYNTH_SHARE}, not {share!r}")
    if config.eval_batch_size < 1:
        raise ConfigError(f"evaluation batch size must be ≥ 1, not {config.eval_batch_size!r}")
