"""The seed's after-epoch rules as small pure functions on plain numbers.

Order within an epoch, as in the seed: NaN check, test accuracy, then these rules. One deliberate
difference: the seed exits at ≥ 99.9 % before its save step, so its best model was never written;
here the save rule (accuracy ≥ best so far) runs first, so an early exit keeps that model.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch


@dataclass(frozen=True)
class ScheduleState:
    lr: float
    best_accuracy: float = 0.0
    last_improvement: int = 0


@dataclass(frozen=True)
class EpochDecision:
    state: ScheduleState
    save: bool = False
    early_exit: bool = False
    lr_dropped: bool = False
    converged: bool = False

    @property
    def stop(self) -> bool:
        return self.early_exit or self.converged


def decide_after_epoch(state: ScheduleState, epoch: int, accuracy: float, rules) -> EpochDecision:
    """Apply the seed's rules to the test accuracy of (1-based) `epoch`.

    `rules` carries lr_drop_patience, lr_drop_factor, min_lr, target_accuracy and converge_patience
    (a TrainConfig does). Under a one-cycle schedule (rules.lr_schedule == "onecycle") the schedule
    owns the learning rate and the plateau drop is off; the other rules still apply.
    """
    save = accuracy >= state.best_accuracy
    if save:
        state = replace(state, best_accuracy=accuracy, last_improvement=epoch)
    if accuracy >= rules.target_accuracy:
        return EpochDecision(state, save=save, early_exit=True)
    lr_dropped = (
        getattr(rules, "lr_schedule", "plateau") == "plateau"
        and epoch - state.last_improvement >= rules.lr_drop_patience
        and state.lr > rules.min_lr
    )
    if lr_dropped:
        # After dropping the LR, give it a few epochs to improve.
        state = replace(state, lr=state.lr / rules.lr_drop_factor, last_improvement=epoch)
    converged = epoch - state.last_improvement >= rules.converge_patience
    return EpochDecision(state, save=save, lr_dropped=lr_dropped, converged=converged)


def has_nan_parameters(model: torch.nn.Module) -> bool:
    """True when any parameter holds NaN (or ±inf, which turns into NaN one step later)."""
    with torch.no_grad():
        return any(not bool(torch.isfinite(p).all()) for p in model.parameters())
