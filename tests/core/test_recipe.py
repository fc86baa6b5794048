"""The seed's after-epoch rules, driven by scripted accuracy sequences."""

import math

import pytest
import torch

from mnistconv.core.config import TrainConfig
from mnistconv.core.model import build_model
from mnistconv.core.recipe import ScheduleState, decide_after_epoch, has_nan_parameters

RULES = TrainConfig()


def run_schedule(accuracies, lr=3e-3, rules=RULES):
    """Feed accuracies epoch by epoch; return the decisions up to the first stop."""
    state = ScheduleState(lr=lr)
    decisions = []
    for epoch, accuracy in enumerate(accuracies, start=1):
        decision = decide_after_epoch(state, epoch, accuracy, rules)
        decisions.append(decision)
        state = decision.state
        if decision.stop:
            break
    return decisions


def test_saves_whenever_accuracy_reaches_the_best_so_far():
    decisions = run_schedule([0.97, 0.98, 0.975, 0.98, 0.99])
    assert [d.save for d in decisions] == [True, True, False, True, True]
    assert decisions[-1].state.best_accuracy == 0.99


def test_lr_drops_by_ten_after_five_epochs_without_improvement():
    decisions = run_schedule([0.98] + [0.97] * 5 + [0.97] * 5)
    dropped = [i + 1 for i, d in enumerate(decisions) if d.lr_dropped]
    assert dropped == [6, 11]  # the drop resets the patience counter
    assert math.isclose(decisions[5].state.lr, 3e-4)
    assert math.isclose(decisions[10].state.lr, 3e-5)
    assert not decisions[4].lr_dropped


def test_lr_stops_dropping_at_one_millionth_and_then_converges():
    decisions = run_schedule([0.98] + [0.97] * 40)
    drops = [i + 1 for i, d in enumerate(decisions) if d.lr_dropped]
    assert drops == [6, 11, 16, 21]  # 3e-3 → 3e-4 → 3e-5 → 3e-6 → 3e-7, which is not > 1e-6
    assert math.isclose(decisions[-1].state.lr, 3e-7)
    assert decisions[-1].converged
    assert len(decisions) == 31  # ten epochs after the last drop


def test_converged_after_ten_epochs_without_improvement_when_lr_cannot_drop():
    decisions = run_schedule([0.98] + [0.97] * 20, lr=1e-6)
    assert not any(d.lr_dropped for d in decisions)
    assert decisions[-1].converged and len(decisions) == 11


def test_early_exit_at_99_9_percent_and_the_model_is_saved():
    decisions = run_schedule([0.99, 0.9989, 0.999, 0.9995])
    assert len(decisions) == 3
    assert decisions[-1].early_exit and decisions[-1].save
    assert not decisions[1].early_exit


def test_seed_log_schedule_is_reproduced():
    # The seed's 20 accuracies: LR dropped once, after epoch 13 (last improvement at epoch 8).
    seed = [0.9794, 0.9867, 0.9884, 0.9868, 0.9870, 0.9900, 0.9901, 0.9904, 0.9856, 0.9885,
            0.9894, 0.9888, 0.9876, 0.9924, 0.9924, 0.9921, 0.9924, 0.9919, 0.9924, 0.9919]
    decisions = run_schedule(seed)
    assert len(decisions) == 20
    assert [i + 1 for i, d in enumerate(decisions) if d.lr_dropped] == [13]
    assert [i + 1 for i, d in enumerate(decisions) if d.save] == [1, 2, 3, 6, 7, 8, 14, 15, 17, 19]


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_nan_parameters_are_detected(bad):
    model = build_model()
    assert not has_nan_parameters(model)
    with torch.no_grad():
        model.conv3.weight[0, 0, 0, 0] = bad
    assert has_nan_parameters(model)
