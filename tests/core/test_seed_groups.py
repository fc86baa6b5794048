"""Seed groups: one setting trained with several seeds, each a recorded run; stoppable and resumable."""

import pytest

from mnistconv.core import events
from mnistconv.core.cli import train_main
from mnistconv.core.errors import ConfigError
from mnistconv.core.events import FinishReason
from mnistconv.core.groups import spread
from mnistconv.core.runstore import RunStore
from mnistconv.core.seed_groups import group_seeds, group_session, resume_member_session
from mnistconv.core.session import RUN_FOLDER, RunLabels
from mnistconv.core.train import TrainingControl

from tiny_training import tiny_config


def test_a_group_of_three_records_three_runs_with_counted_seeds_and_one_group(tiny_mnist_dir, tmp_path, monkeypatch):
    from mnistconv.core import session

    reads = []
    real_load = session.load_mnist
    monkeypatch.setattr(session, "load_mnist", lambda *args: reads.append(args) or real_load(*args))
    runs_dir = tmp_path / "runs"
    run = list(group_session(tiny_config(RUN_FOLDER, epochs=1, seed=7), tiny_mnist_dir, count=3, runs_dir=runs_dir,
                             preset="seed", labels=RunLabels(name="baseline", tags=("lab",))))
    started = [e for e in run if isinstance(e, events.GroupMemberStarted)]
    assert [(e.index, e.size, e.seed) for e in started] == [(1, 3, 7), (2, 3, 8), (3, 3, 9)]
    assert [e.seed for e in run if isinstance(e, events.TrainingStarted)] == [7, 8, 9]
    assert len(reads) == 1  # MNIST is read once for the whole group
    with RunStore(runs_dir) as store:
        (group,) = store.groups()
        members = store.group_runs(group.id)
    assert group.seeds == (7, 8, 9) and group.config["seed"] is None
    assert [(m.seed, m.group_id, m.name, m.tags, str(m.outcome)) for m in members] == \
        [(seed, group.id, "baseline", ("lab",), "completed") for seed in (7, 8, 9)]
    # Different seeds, different initial weights: the first losses differ.
    assert len({e.loss for e in run if isinstance(e, events.BatchProgress) and (e.epoch, e.batch) == (1, 1)}) == 3


def test_a_stopped_group_resumes_its_member_then_trains_the_rest(tiny_mnist_dir, tmp_path):
    runs_dir = tmp_path / "runs"
    control = TrainingControl()
    before = []
    for event in group_session(tiny_config(RUN_FOLDER, epochs=2, seed=1), tiny_mnist_dir, control, count=3,
                               runs_dir=runs_dir):
        before.append(event)
        if isinstance(event, events.BatchProgress) and event.epoch == 2 and event.batch == 2 and \
                [e.seed for e in before if isinstance(e, events.TrainingStarted)] == [1, 2]:
            control.request_stop()
    assert [e.seed for e in before if isinstance(e, events.GroupMemberStarted)] == [1, 2]  # the third never began
    with RunStore(runs_dir) as store:
        assert [str(r.outcome) for r in store.group_runs(1)] == ["completed", "stopped"]

    after = list(resume_member_session(runs_dir, 2))
    assert [e.seed for e in after if isinstance(e, events.GroupMemberStarted)] == [3]
    with RunStore(runs_dir) as store:
        members = store.group_runs(1)
    assert [(m.seed, str(m.outcome), m.epochs_done) for m in members] == [(1, "completed", 2), (2, "completed", 2),
                                                                          (3, "completed", 2)]


def test_a_group_member_resumed_and_stopped_again_does_not_start_the_rest(tiny_mnist_dir, tmp_path):
    runs_dir = tmp_path / "runs"
    control = TrainingControl()
    for event in group_session(tiny_config(RUN_FOLDER, epochs=2, seed=1), tiny_mnist_dir, control, count=2,
                               runs_dir=runs_dir):
        if isinstance(event, events.EpochFinished):
            control.request_stop()
    again = TrainingControl()
    again.request_stop()
    after = list(resume_member_session(runs_dir, 1, again))
    assert after[-1].reason is FinishReason.STOPPED
    assert not [e for e in after if isinstance(e, events.GroupMemberStarted)]


def test_random_seeds_are_drawn_once_and_kept_with_the_group():
    seeds = group_seeds(5, None)
    assert len(seeds) == 5 and all(0 <= seed < 2**31 for seed in seeds)
    assert group_seeds(3, 10) == (10, 11, 12)


@pytest.mark.parametrize("count, first", [(0, 1), (101, 1), (2, 2**64 - 1)])
def test_a_group_out_of_bounds_is_refused(count, first):
    with pytest.raises(ConfigError):
        group_seeds(count, first)


def test_a_group_with_an_explicit_save_file_is_refused(tiny_mnist_dir, tmp_path):
    with pytest.raises(ConfigError, match="own folder"):
        list(group_session(tiny_config(tmp_path / "model"), tiny_mnist_dir, count=2, runs_dir=tmp_path / "runs"))


def test_the_command_line_trains_a_named_tagged_group_with_a_plan(tiny_mnist_dir, tmp_path, capsys):
    runs_dir = tmp_path / "runs"
    status = train_main(["--seeds", "2", "--seed", "4", "--epochs", "2", "--batch-size", "64", "--lr-at", "2:1e-4",
                         "--name", "low tail", "--tag", "lab", "--tag", "plan", "--note", "two seeds",
                         "--device", "cpu", "--data-dir", str(tiny_mnist_dir), "--runs-dir", str(runs_dir)])
    out = capsys.readouterr().out
    assert status == 0
    assert "Seed group 1: run 1 of 2, seed 4" in out and "Seed group 1: run 2 of 2, seed 5" in out
    assert out.count("Setting learning rate to 0.0001 (from 0.003) at the start of epoch 2") == 2
    with RunStore(runs_dir) as store:
        members = store.group_runs(1)
        accuracies = [m.best_accuracy for m in members]
    assert [(m.name, m.tags, m.note, m.seed, m.config["lr_at"]) for m in members] == \
        [("low tail", ("lab", "plan"), "two seeds", seed, [[2, 1e-4]]) for seed in (4, 5)]
    assert spread(accuracies).count == 2


@pytest.mark.parametrize("argv, words", [
    (["--seeds", "0"], "runs in a seed group must be a whole number from 1 to 100, not 0"),
    (["--lr-at", "2"], "EPOCH:LR"),
    (["--resume", "1", "--name", "x"], "cannot be changed when resuming"),
])
def test_bad_group_and_plan_arguments_are_usage_errors(argv, words, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train_main(argv)
    assert exit_info.value.code == 2 and words in capsys.readouterr().err


def test_a_bad_name_is_refused_before_training(tiny_mnist_dir, tmp_path, capsys):
    status = train_main(["--name", "x" * 300, "--data-dir", str(tiny_mnist_dir), "--runs-dir", str(tmp_path / "runs")])
    assert status == 2 and "a run's name is one line of at most 200 characters" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists() or not RunStore(tmp_path / "runs").runs()
