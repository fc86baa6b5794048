"""Steering a run's learning rate: planned (lr_at, --lr-at) or asked for while it trains."""

import pytest

from mnistconv.core import events
from mnistconv.core.config import TrainConfig, parse_lr_change, validate_config
from mnistconv.core.errors import ConfigError
from mnistconv.core.events import FinishReason
from mnistconv.core.history import EventKind, RunHistory
from mnistconv.core.paths import state_file
from mnistconv.core.resume import load_resume_state
from mnistconv.core.runstore import RunStore
from mnistconv.core.session import RUN_FOLDER, resume_session, training_session
from mnistconv.core.train import TrainingControl
from mnistconv.core.wording import log_lines

from tiny_training import fixed_accuracies, tiny_config


def lr_of_batches(run, epoch):
    return {e.lr for e in run if isinstance(e, events.BatchProgress) and e.epoch == epoch}


def test_a_planned_rate_reaches_the_optimizer_at_its_epoch_and_is_logged_and_marked(tiny_mnist_dir, tmp_path):
    config = tiny_config(RUN_FOLDER, epochs=3, lr_at=((2, 1e-4),))
    run = list(training_session(config, tiny_mnist_dir, runs_dir=tmp_path / "runs"))
    assert lr_of_batches(run, 1) == {3e-3} and lr_of_batches(run, 2) == {1e-4} and lr_of_batches(run, 3) == {1e-4}
    (changed,) = [e for e in run if isinstance(e, events.LrChanged)]
    assert (changed.epoch, changed.batch, changed.old_lr, changed.new_lr, changed.planned) == (2, 0, 3e-3, 1e-4, True)
    assert "Setting learning rate to 0.0001 (from 0.003) at the start of epoch 2, as the run's plan says" in \
        log_lines(changed)[0].text
    with RunStore(tmp_path / "runs") as store:
        (recorded,) = store.runs()
        assert recorded.config["lr_at"] == [[2, 1e-4]]
        (marker,) = [m for m in store.history(recorded.id).markers if m.kind is EventKind.LR_SET]
    assert (marker.x, marker.detail) == (1.0, "0.0001")


def test_a_rate_asked_for_mid_run_reaches_the_next_batch_is_marked_recorded_and_survives_resume(tiny_mnist_dir, tmp_path):
    """Set the rate in epoch 1 after batch 3, stop in epoch 2, resume: the resumed batches train at
    the rate that was set, and the recorded history marks where it was set."""
    runs_dir = tmp_path / "runs"
    control = TrainingControl()
    before = []
    for event in training_session(tiny_config(RUN_FOLDER, epochs=3), tiny_mnist_dir, control, runs_dir=runs_dir):
        before.append(event)
        if isinstance(event, events.BatchProgress) and (event.epoch, event.batch) == (1, 3):
            control.request_lr(5e-4)
        if isinstance(event, events.BatchProgress) and (event.epoch, event.batch) == (2, 2):
            control.request_stop()
    assert before[-1].reason is FinishReason.STOPPED
    (changed,) = [e for e in before if isinstance(e, events.LrChanged)]
    assert (changed.epoch, changed.batch, changed.new_lr, changed.planned) == (1, 3, 5e-4, False)
    reports = [e for e in before if isinstance(e, events.BatchProgress)]
    assert [e.lr for e in reports if e.epoch == 1 and e.batch <= 3] == [3e-3] * 3
    assert {e.lr for e in reports if (e.epoch, e.batch) > (1, 3)} == {5e-4}
    assert load_resume_state(state_file(runs_dir / "1")).lr == 5e-4

    after = list(resume_session(runs_dir))
    assert {e.lr for e in after if isinstance(e, events.BatchProgress)} == {5e-4}
    assert after[-1].reason is FinishReason.COMPLETED
    with RunStore(runs_dir) as store:
        history = store.history(1)
    (marker,) = [m for m in history.markers if m.kind is EventKind.LR_SET]
    assert marker.x == pytest.approx(3 / 8) and marker.detail == "0.0005"


def test_steered_then_resumed_equals_steered_uninterrupted(tiny_mnist_dir, tmp_path):
    """A plan is part of the run's settings: a run stopped between epochs and resumed sets the rate at
    the same place as one that never stopped, and computes the same."""
    config = tiny_config(RUN_FOLDER, epochs=3, lr_at=((2, 1e-3), (3, 2e-4)))

    def figures(run):
        return [(e.epoch, e.test_accuracy, e.train_loss) for e in run if isinstance(e, events.EpochFinished)]

    expected = figures(training_session(config, tiny_mnist_dir, runs_dir=tmp_path / "reference"))
    control = TrainingControl()
    before = []
    for event in training_session(config, tiny_mnist_dir, control, runs_dir=tmp_path / "runs"):
        before.append(event)
        if isinstance(event, events.EpochFinished) and event.epoch == 1:
            control.request_stop()
    after = list(resume_session(tmp_path / "runs"))
    assert [e.epoch for e in after if isinstance(e, events.LrChanged)] == [2, 3]
    assert figures(before) + figures(after) == expected


def test_the_plateau_rule_divides_the_rate_that_was_set(tiny_mnist_dir, tmp_path, monkeypatch):
    fixed_accuracies(monkeypatch, [0.5, 0.4, 0.4])
    config = tiny_config(RUN_FOLDER, epochs=3, lr_at=((2, 1e-3),), lr_drop_patience=1, converge_patience=10)
    run = list(training_session(config, tiny_mnist_dir, runs_dir=tmp_path / "runs"))
    dropped = [e for e in run if isinstance(e, events.LrDropped)][0]
    assert (dropped.epoch, dropped.old_lr, dropped.new_lr) == (2, 1e-3, pytest.approx(1e-4))
    assert lr_of_batches(run, 3) == {1e-3 / 10}


def test_a_mid_epoch_change_is_marked_where_it_happened():
    history = RunHistory()
    history.observe(events.LrChanged(epoch=3, batch=4, batches=8, old_lr=3e-3, new_lr=1e-3, planned=False))
    assert [(m.x, m.kind, m.detail) for m in history.markers] == [(2.5, EventKind.LR_SET, "0.001")]


def test_a_request_is_ignored_under_one_cycle(tiny_mnist_dir, tmp_path):
    control = TrainingControl()
    control.request_lr(1e-5)
    run = list(training_session(tiny_config(RUN_FOLDER, epochs=1, lr_schedule="onecycle"), tiny_mnist_dir, control,
                                runs_dir=tmp_path / "runs"))
    assert not [e for e in run if isinstance(e, events.LrChanged)]


@pytest.mark.parametrize("plan, words", [
    (((0, 1e-3),), "in the learning-rate plan, epochs must be a whole number from 1"),
    (((2, -1.0),), "in the learning-rate plan, learning rate must be a positive number"),
    (((2, 1e-3), (2, 1e-4)), "names an epoch twice"),
    ("2:1e-3", "must be pairs of an epoch and a rate"),
])
def test_a_bad_plan_is_refused_in_words(plan, words):
    with pytest.raises(ConfigError, match=words):
        validate_config(TrainConfig(lr_at=plan))


def test_a_plan_needs_the_plateau_schedule():
    with pytest.raises(ConfigError, match="needs the plateau schedule"):
        validate_config(TrainConfig(lr_at=((2, 1e-3),), lr_schedule="onecycle"))


def test_a_plan_survives_the_json_of_the_run_store():
    import json

    config = TrainConfig(lr_at=((2, 1e-3), (5, 1e-4)))
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


@pytest.mark.parametrize("text, expected", [("6:1e-3", (6, 1e-3)), (" 2 : 0,5 ", (2, 0.5))])
def test_lr_at_text(text, expected):
    assert parse_lr_change(text) == expected


@pytest.mark.parametrize("text", ["6", "x:1e-3", "6:0", "6:nan"])
def test_bad_lr_at_text(text):
    with pytest.raises(ConfigError):
        parse_lr_change(text)
