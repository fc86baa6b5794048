"""Exact resume: a run stopped (or killed) and continued computes what the uninterrupted run computes."""

import os
import re
import signal
import subprocess
import sys

import pytest
import torch

from mnistconv.core import events
from mnistconv.core.errors import CheckpointError, ConfigError
from mnistconv.core.events import FinishReason
from mnistconv.core.paths import state_file
from mnistconv.core.resume import load_resume_state
from mnistconv.core.runstore import RunStore, StoreError
from mnistconv.core.session import RUN_FOLDER, resume_session, training_session
from mnistconv.core.train import TrainingControl

from tiny_training import tiny_config

SEED_RECIPE = dict(epochs=4)
# Shuffled batches, augmentation, a one-cycle schedule and label smoothing: every source of randomness.
ROBUST_LIKE = dict(epochs=4, lr=1e-2, lr_schedule="onecycle", label_smoothing=0.1, shuffle=True, augment=True)
# And synthesised and real digits in every batch, deskewed, as the robust preset trains.
WITH_ADDED = dict(ROBUST_LIKE, synth_share=0.1, real_share=0.4, deskew=True)
# A network of another shape: four blocks of 5×5 filters and a hidden layer.
RESHAPED = dict(epochs=4, channels=(8, 16, 16, 24), kernel=5, hidden=32)


def epoch_figures(run):
    return [(e.epoch, e.test_accuracy, e.train_loss) for e in run if isinstance(e, events.EpochFinished)]


def reference(tiny_mnist_dir, tmp_path, settings):
    return epoch_figures(training_session(tiny_config(RUN_FOLDER, **settings), tiny_mnist_dir, runs_dir=tmp_path / "reference"))


def stopped_at(tiny_mnist_dir, runs_dir, settings, epoch, batch):
    """A run stopped by its control before batch `batch` of `epoch` (batch 0: between epochs)."""
    control = TrainingControl()
    seen = []
    for event in training_session(tiny_config(RUN_FOLDER, **settings), tiny_mnist_dir, control, runs_dir=runs_dir):
        seen.append(event)
        at_batch = isinstance(event, events.BatchProgress) and (event.epoch, event.batch) == (epoch, batch)
        at_epoch_end = batch == 0 and isinstance(event, events.EpochFinished) and event.epoch == epoch - 1
        if at_batch or at_epoch_end:
            control.request_stop()
    assert seen[-1].reason is FinishReason.STOPPED
    assert [e for e in seen if isinstance(e, events.Stopped)] == [events.Stopped(epoch=epoch, batch=batch)]
    return seen


@pytest.mark.parametrize("settings", [SEED_RECIPE, ROBUST_LIKE, WITH_ADDED, RESHAPED],
                         ids=["seed-recipe", "shuffled-augmented-onecycle", "with-synthesised-and-real-digits", "reshaped"])
@pytest.mark.parametrize("epoch, batch", [(2, 3), (3, 0)], ids=["mid-epoch", "between-epochs"])
def test_stop_then_resume_equals_the_uninterrupted_run(tiny_mnist_dir, tmp_path, settings, epoch, batch, monkeypatch):
    from mnistconv.core import train as train_module

    monkeypatch.setattr(train_module, "REAL_BANK", 40)  # a small bank of real renderings: a test need not wait
    expected = reference(tiny_mnist_dir, tmp_path, settings)
    runs_dir = tmp_path / "runs"
    before = stopped_at(tiny_mnist_dir, runs_dir, settings, epoch, batch)
    after = list(resume_session(runs_dir))
    started = next(e for e in after if isinstance(e, events.TrainingStarted))
    assert (started.first_epoch, started.first_batch) == (epoch, batch)
    assert epoch_figures(before) + epoch_figures(after) == expected
    assert after[-1].reason is FinishReason.COMPLETED and after[-1].epochs_run == 4
    with RunStore(runs_dir) as store:
        (run,) = store.runs()
        assert run.outcome == "completed" and run.epochs_done == 4
        assert [(e["epoch"], e["test_accuracy"], e["train_loss"]) for e in store.history(run.id).epoch_rows()] == expected
        x = list(store.history(run.id).batch_x.values)
        assert x == sorted(x) and len(x) == 4 * 8  # every batch report once, none twice


def test_a_finished_run_can_be_extended_as_if_it_had_been_asked_for_more(tiny_mnist_dir, tmp_path):
    expected = reference(tiny_mnist_dir, tmp_path, dict(epochs=4))
    runs_dir = tmp_path / "runs"
    first = list(training_session(tiny_config(RUN_FOLDER, epochs=2), tiny_mnist_dir, runs_dir=runs_dir))
    assert first[-1].reason is FinishReason.COMPLETED
    with pytest.raises(ConfigError, match=r"run 1 has finished \(completed after 2 epochs\); give a larger number of epochs"):
        next(resume_session(runs_dir))
    more = list(resume_session(runs_dir, 1, epochs=4))
    assert epoch_figures(first) + epoch_figures(more) == expected
    with RunStore(runs_dir) as store:  # the record says what it trained to, not what it was first asked
        run = store.run(1)
    assert (run.epochs_done, run.planned_epochs, run.epochs_text) == (4, 4, "4/4")
    assert run.best_epoch == more[-1].best_epoch and run.config["savepath"] == RUN_FOLDER


def test_resume_continues_the_latest_run_by_default_and_names_it(tiny_mnist_dir, tmp_path):
    runs_dir = tmp_path / "runs"
    stopped_at(tiny_mnist_dir, runs_dir, dict(epochs=2), 1, 4)
    list(training_session(tiny_config(RUN_FOLDER, epochs=1), tiny_mnist_dir, runs_dir=runs_dir))  # run 2, finished
    with pytest.raises(ConfigError, match="run 2 has finished"):
        next(resume_session(runs_dir))
    recorded = next(e for e in resume_session(runs_dir, 1) if isinstance(e, events.RunRecorded))
    assert recorded.run_id == 1 and recorded.resumed


KILLED_RUN = """
import sys
from mnistconv.core.paths import resolve_data_dir
from mnistconv.core.session import RUN_FOLDER, training_session
from tiny_training import tiny_config
for event in training_session(tiny_config(RUN_FOLDER, epochs=4), sys.argv[1], runs_dir=sys.argv[2]):
    if type(event).__name__ == "EpochFinished":
        print("epoch", event.epoch, flush=True)
    if type(event).__name__ == "BatchProgress" and (event.epoch, event.batch) == (3, 5):
        print("killing", flush=True)
        import os
        os.kill(os.getpid(), 9)
"""


def test_after_kill_9_the_run_resumes_from_its_last_completed_epoch(tiny_mnist_dir, tmp_path):
    from pathlib import Path

    expected = reference(tiny_mnist_dir, tmp_path, dict(epochs=4))
    runs_dir = tmp_path / "runs"
    tests_dir = str(Path(__file__).resolve().parents[1])
    result = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {tests_dir!r})\n" + KILLED_RUN,
                             str(tiny_mnist_dir), str(runs_dir)], capture_output=True, text=True, timeout=120)
    assert result.returncode == -signal.SIGKILL and "killing" in result.stdout, result.stderr
    with RunStore(runs_dir) as store:
        (run,) = store.runs()
        assert run.outcome == "interrupted" and run.epochs_done == 2
    after = list(resume_session(runs_dir))
    assert next(e for e in after if isinstance(e, events.TrainingStarted)).first_epoch == 3
    assert epoch_figures(after) == expected[2:]
    with RunStore(runs_dir) as store:
        assert [(e["epoch"], e["test_accuracy"], e["train_loss"]) for e in store.history(1).epoch_rows()] == expected
        assert store.run(1).outcome == "completed"


# -- refusals ---------------------------------------------------------------------------------------

@pytest.fixture
def stopped_run(tiny_mnist_dir, tmp_path):
    runs_dir = tmp_path / "runs"
    stopped_at(tiny_mnist_dir, runs_dir, dict(epochs=3), 2, 2)
    return runs_dir, state_file(runs_dir / "1")


def test_a_run_being_trained_elsewhere_is_not_resumed(stopped_run):
    runs_dir, _ = stopped_run
    with RunStore(runs_dir) as store, store.lock_run(store.run(1)):
        with pytest.raises(StoreError, match=rf"Run 1 is being trained by another process \(pid {os.getpid()}\)"):
            next(resume_session(runs_dir))


@pytest.mark.parametrize("damage", ["truncated", "empty", "checkpoint-instead", "code", "wrong-type"])
def test_a_damaged_or_foreign_state_is_refused_with_its_reason(stopped_run, damage, tiny_mnist_dir):
    runs_dir, path = stopped_run
    good = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(good[: len(good) // 2])
        reason = "is not a loadable checkpoint: it is damaged, cut short or not a PyTorch file"
    elif damage == "empty":
        path.write_bytes(b"")
        reason = "is empty"
    elif damage == "checkpoint-instead":
        path.write_bytes((runs_dir / "1" / "mnist_conv.pt").read_bytes())
        reason = "is not an mnistconv run state"
    elif damage == "code":
        class Payload:
            def __reduce__(self):
                return (os.system, (f"touch {runs_dir / 'ran'}",))

        torch.save({"format": "mnistconv-resume", "format_version": 1, "config": Payload()}, path)
        reason = "that could run code; nothing was run"
    else:
        state = torch.load(path, weights_only=True)
        state["epochs_done"] = "two"
        torch.save(state, path)
        reason = "is a damaged run state (epochs_done is str, expected int)"
    with pytest.raises(CheckpointError, match="^Cannot resume run 1: .*" + re.escape(reason)):
        next(iter(resume_session(runs_dir)))
    assert not (runs_dir / "ran").exists()


def _moments(state, index=0):
    return state["optimizer_state"]["state"][index]


# Damage to Adam's state that torch's own checks let through: a moment of the wrong shape made the
# fused Adam write outside its memory (SIGSEGV, "munmap_chunk(): invalid pointer") on the next step.
OPTIMIZER_DAMAGE = {
    "moment-of-another-shape": (lambda s: _moments(s).update(exp_avg=torch.zeros(3)), "exp_avg of parameter 0 is not"),
    "moment-too-large": (lambda s: _moments(s, 6).update(exp_avg_sq=torch.zeros(10, 288 * 2)),
                         "exp_avg_sq of parameter 6 is not"),
    "moment-of-integers": (lambda s: _moments(s).update(exp_avg=_moments(s)["exp_avg"].long()), "not a float32 tensor"),
    "nan-moment": (lambda s: _moments(s)["exp_avg"].fill_(float("nan")), "holds NaN, infinite or negative"),
    "negative-second-moment": (lambda s: _moments(s)["exp_avg_sq"].fill_(-1.0), "holds NaN, infinite or negative"),
    "step-of-text": (lambda s: _moments(s).update(step="many"), "step count of parameter 0"),
    "step-vector": (lambda s: _moments(s).update(step=torch.ones(5)), "step count of parameter 0"),
    "parameter-out-of-range": (lambda s: s["optimizer_state"]["state"].update({9: _moments(s)}),
                               "state names parameter 9"),
    "other-parameters": (lambda s: s["optimizer_state"]["param_groups"][0].update(params=[0, 1]),
                         "parameters are not the network's"),
    "two-groups": (lambda s: s["optimizer_state"]["param_groups"].append({}), "not one group of Adam's"),
    "lr-of-text": (lambda s: s["optimizer_state"]["param_groups"][0].update(lr="fast"), "lr is 'fast'"),
    "betas-out-of-range": (lambda s: s["optimizer_state"]["param_groups"][0].update(betas=(0.9, 7.0)), "betas are"),
}


@pytest.mark.parametrize("damage", OPTIMIZER_DAMAGE)
def test_a_crafted_optimizer_state_is_refused_before_torch_uses_it(stopped_run, damage):
    runs_dir, path = stopped_run
    state = torch.load(path, weights_only=True)
    change, reason = OPTIMIZER_DAMAGE[damage]
    change(state)
    torch.save(state, path)
    with pytest.raises(CheckpointError, match="^Cannot resume run 1: .*damaged run state.*" + re.escape(reason)):
        next(iter(resume_session(runs_dir)))


# Numbers out of their range; a pickle holds ints of up to about 600 digits, beyond any float.
NUMBER_DAMAGE = {
    "lr-nan": (lambda s: s.update(lr=float("nan")), "lr is nan"),
    "lr-negative": (lambda s: s.update(lr=-1.0), "lr is -1.0"),
    "lr-of-401-digits": (lambda s: s.update(lr=10**400), "lr is a number of about 401 digits"),
    "best-accuracy-above-1": (lambda s: s.update(best_accuracy=1.5), "best_accuracy is 1.5"),
    "negative-seconds": (lambda s: s.update(seconds_in_epoch=-5.0), "seconds_in_epoch is -5.0"),
    "infinite-loss": (lambda s: s.update(loss_sum=float("inf")), "loss_sum is inf"),
    "epochs-of-601-digits": (lambda s: s.update(epochs_done=10**600), "epochs_done is a number of about 601 digits"),
    "negative-batch": (lambda s: s.update(batch=-1), "batch is -1"),
}


@pytest.mark.parametrize("damage", NUMBER_DAMAGE)
def test_a_state_holding_a_number_out_of_its_range_is_refused_in_words(stopped_run, damage):
    runs_dir, path = stopped_run
    state = torch.load(path, weights_only=True)
    change, reason = NUMBER_DAMAGE[damage]
    change(state)
    torch.save(state, path)
    model = (runs_dir / "1" / "mnist_conv.pt").read_bytes()
    with pytest.raises(CheckpointError, match=r"^Cannot resume run 1: .*state.pt is a damaged run state \(" + re.escape(reason)):
        next(iter(resume_session(runs_dir)))
    assert (runs_dir / "1" / "mnist_conv.pt").read_bytes() == model


@pytest.mark.parametrize("setting, value, words", [
    ("epochs", 10**400, "epochs must be a whole number from 1 to 100000, not a number of about 401 digits"),
    ("lr", 10**400, "learning rate must be a positive number, not a number of about 401 digits"),
    ("noise_std", -10**400, "noise std must be a number from 0 to 10, not a negative number of about 401 digits"),
])
def test_a_state_whose_settings_hold_a_number_beyond_any_float_is_refused_in_words(stopped_run, setting, value, words):
    runs_dir, path = stopped_run
    state = torch.load(path, weights_only=True)
    state["config"][setting] = value
    torch.save(state, path)
    with pytest.raises(ConfigError, match=words):
        next(iter(resume_session(runs_dir)))


POSITION_DAMAGE = {
    "order-with-repeats": (lambda s: s.update(order=torch.zeros_like(s["order"])), "batch order is not an order"),
    "order-out-of-range": (lambda s: s.update(order=s["order"] + 10**6), "batch order is not an order"),
    "order-of-another-length": (lambda s: s.update(order=s["order"][:5]), "batch order is not an order"),
    "batch-beyond-the-epoch": (lambda s: s.update(batch=10**6), "batch 1000000 of an epoch of"),
    "epochs-beyond-the-run": (lambda s: s.update(epochs_done=100), "100 epochs done of"),
    "huge-noise-buffer": (lambda s: s.update(noise_draw_images=4 * 10**6), "noise buffer of 4000000 images"),
    "noise-used-beyond-its-buffer": (lambda s: s.update(noise_offset=10**9), "noise buffer of"),
}


@pytest.mark.parametrize("damage", POSITION_DAMAGE)
def test_a_state_whose_place_is_not_in_this_run_is_refused(tiny_mnist_dir, tmp_path, damage):
    runs_dir = tmp_path / "runs"
    stopped_at(tiny_mnist_dir, runs_dir, dict(epochs=3, shuffle=True), 2, 2)
    path = state_file(runs_dir / "1")
    state = torch.load(path, weights_only=True)
    change, reason = POSITION_DAMAGE[damage]
    change(state)
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=r"^the run's saved state does not fit this run: .*" + re.escape(reason)):
        list(resume_session(runs_dir))


def test_the_state_file_round_trips_every_field(stopped_run):
    _, path = stopped_run
    state = load_resume_state(path)
    assert (state.epochs_done, state.batch) == (1, 2)
    assert state.config["seed"] == 0 and state.finished is None and state.noise_draw_state is not None
    assert state.optimizer_state["state"] and state.saved_any


# -- any tensor of a state replaced at random: a refusal or a resumed run, never a crash --------------

@pytest.fixture(scope="module")
def a_stopped_run(tmp_path_factory):
    from idx_files import write_tiny_mnist

    folder = tmp_path_factory.mktemp("stopped")
    data = write_tiny_mnist(folder / "data")
    stopped_at(data, folder / "runs", dict(epochs=2, shuffle=True), 2, 3)
    return data, folder / "runs"


def tensor_places(state: dict) -> list[tuple]:
    """The paths (keys) of every tensor in a state payload."""
    places = []

    def walk(value, path):
        if isinstance(value, torch.Tensor):
            places.append(path)
        elif isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, (*path, key))
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                walk(inner, (*path, index))

    walk(state, ())
    return places


def test_any_tensor_of_a_state_replaced_at_random_is_refused_or_resumed_never_a_crash(a_stopped_run, tmp_path_factory):
    import shutil

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    data, runs = a_stopped_run
    good = torch.load(state_file(runs / "1"), weights_only=True)
    places = tensor_places(good)
    dtypes = [torch.float32, torch.float64, torch.float16, torch.int64, torch.int32, torch.uint8, torch.bool]

    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    @given(place=st.sampled_from(places), shape=st.lists(st.integers(0, 40), min_size=0, max_size=3),
           dtype=st.sampled_from(dtypes), fill=st.sampled_from(["random", "nan", "inf", "huge", "zero"]))
    def check(place, shape, dtype, fill):
        state = torch.load(state_file(runs / "1"), weights_only=True)
        tensor = torch.rand(shape, dtype=torch.float64) * 1e3 - 5e2
        if fill in ("nan", "inf", "huge") and tensor.numel():
            tensor.view(-1)[0] = {"nan": float("nan"), "inf": float("inf"), "huge": 1e300}[fill]
        elif fill == "zero":
            tensor.zero_()
        holder = state
        for key in place[:-1]:
            holder = holder[key]
        holder[place[-1]] = tensor.to(dtype)
        copy = tmp_path_factory.mktemp("tampered") / "runs"
        shutil.copytree(runs, copy)
        torch.save(state, state_file(copy / "1"))
        try:
            run = list(resume_session(copy, data_dir=data))
        except (CheckpointError, ConfigError, StoreError) as refusal:
            assert str(refusal) and "Traceback" not in str(refusal)
            return
        assert run[-1].reason in (FinishReason.COMPLETED, FinishReason.EARLY_EXIT, FinishReason.CONVERGED, FinishReason.NAN_ABORT)

    check()
