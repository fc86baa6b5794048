"""The training loop end to end on a tiny dataset."""

import copy
import threading
from dataclasses import replace

import pytest
import torch
from torch.nn import functional as F

from mnistconv.core import checkpoint, events
from mnistconv.core.data import pixels
from mnistconv.core.errors import ConfigError
from mnistconv.core.evaluate import evaluate_saved_model
from mnistconv.core.model import ConvNet, build_model
from mnistconv.core.recipe import ScheduleState, decide_after_epoch
from mnistconv.core.train import TrainingControl, make_optimizer, train

from tiny_training import fixed_accuracies, tiny_config


def config_for(tmp_path, **overrides):
    return tiny_config(tmp_path / "run", **{"epochs": 3, **overrides})


def kinds(run):
    return [type(e).__name__ for e in run]


def test_events_in_order_checkpoint_written_and_reloaded(tmp_path, tiny_data):
    run = list(train(config_for(tmp_path), tiny_data))
    assert isinstance(run[0], events.TrainingStarted)
    assert run[0].batches_per_epoch == 8 and run[0].parameters == 16_938
    epochs = [e for e in run if isinstance(e, events.EpochFinished)]
    assert [e.epoch for e in epochs] == [1, 2, 3]
    progress = [e for e in run if isinstance(e, events.BatchProgress)]
    assert [p.batch for p in progress if p.epoch == 1] == list(range(1, 9))
    # Each epoch's batches come before its EpochFinished, and saves follow it.
    first_epoch_end = run.index(epochs[0])
    assert run[1:first_epoch_end] == [p for p in progress if p.epoch == 1]
    assert isinstance(run[first_epoch_end + 1], events.NewBestSaved) and run[first_epoch_end + 1].epoch == 1
    finished = run[-1]
    assert isinstance(finished, events.Finished) and finished.reason == "completed"
    assert finished.epochs_run == 3
    assert finished.checkpoint == tmp_path / "run" / "mnist_conv.pt"
    assert finished.best_accuracy == max(e.test_accuracy for e in epochs)
    assert finished.best_accuracy > 0.9  # the tiny digits are easy
    saves = [e for e in run if isinstance(e, events.NewBestSaved)]
    assert saves and saves[-1].epoch == finished.best_epoch
    reloaded, saved = evaluate_saved_model(tmp_path / "run", tiny_data)
    assert reloaded == pytest.approx(finished.best_accuracy)
    assert saved.epoch == finished.best_epoch
    for e in epochs:
        assert e.confusion.sum() == 200 and e.predictions.shape == (200,)
        assert e.lr == 3e-3 and e.train_loss > 0 and e.images_per_s > 0


def test_same_seed_same_run(tmp_path, tiny_data):
    accuracies = []
    for attempt in range(2):
        run = train(config_for(tmp_path / str(attempt), epochs=2), tiny_data)
        accuracies.append([(e.test_accuracy, e.train_loss) for e in run if isinstance(e, events.EpochFinished)])
    assert len(accuracies[0]) == 2 and accuracies[0] == accuracies[1]


def test_stop_takes_effect_within_one_batch(tmp_path, tiny_data):
    control = TrainingControl()
    run = train(config_for(tmp_path, epochs=5), tiny_data, control)
    seen = []
    for event in run:
        seen.append(event)
        if isinstance(event, events.BatchProgress) and event.epoch == 2 and event.batch == 3:
            control.request_stop()
    stopped = [e for e in seen if isinstance(e, events.Stopped)]
    assert stopped == [events.Stopped(epoch=2, batch=3)]
    after_request = seen[seen.index(stopped[0]) - 1]
    assert isinstance(after_request, events.BatchProgress) and after_request.batch == 3
    assert seen[-1].reason == "stopped" and seen[-1].epochs_run == 1


def test_pause_holds_and_resume_continues_to_the_same_end(tmp_path, tiny_data):
    reference = [e.test_accuracy for e in train(config_for(tmp_path / "a", epochs=2), tiny_data)
                 if isinstance(e, events.EpochFinished)]
    control = TrainingControl()
    run = train(config_for(tmp_path / "b", epochs=2), tiny_data, control)
    resumed = threading.Event()
    accuracies = []
    after_pause = []
    for event in run:
        if isinstance(event, events.BatchProgress) and event.epoch == 1 and event.batch == 4 and not resumed.is_set():
            control.pause()
            timer = threading.Timer(0.3, lambda: (resumed.set(), control.resume()))
            timer.start()
        if isinstance(event, events.BatchProgress) and event.epoch == 1 and event.batch == 5:
            after_pause.append(resumed.is_set())  # the loop did not run past the pause
        if isinstance(event, events.EpochFinished):
            accuracies.append(event.test_accuracy)
    assert after_pause == [True]
    assert len(reference) == 2 and accuracies == reference


def test_nan_abort_keeps_the_last_good_model(tmp_path, tiny_data):
    config = config_for(tmp_path, epochs=1)
    list(train(config, tiny_data))
    saved_path = tmp_path / "run" / "mnist_conv.pt"
    before = saved_path.read_bytes()
    run = list(train(config_for(tmp_path, epochs=3, lr=1e12), tiny_data))
    assert [type(e) for e in run[-2:]] == [events.NanAbort, events.Finished]
    assert run[-1].reason is events.FinishReason.NAN_ABORT and run[-1].checkpoint is None
    assert saved_path.read_bytes() == before
    checkpoint.load_checkpoint(saved_path)


def test_failed_save_is_reported_and_training_goes_on(tmp_path, tiny_data, monkeypatch):
    def refuse(*args, **kwargs):
        raise checkpoint.CheckpointError("Could not save: the disk is full")

    monkeypatch.setattr(checkpoint, "save_checkpoint", refuse)
    run = list(train(config_for(tmp_path, epochs=2), tiny_data))
    failures = [e for e in run if isinstance(e, events.SaveFailed)]
    assert failures and "disk is full" in failures[0].message
    assert run[-1].reason == "completed" and run[-1].checkpoint is None


def test_lr_drop_reaches_the_optimizer(tmp_path, tiny_data, monkeypatch):
    # Best at epoch 1, then a plateau: with patience 2 the LR drops after epochs 3 and 5.
    fixed_accuracies(monkeypatch, [0.6, 0.5, 0.5, 0.5, 0.5, 0.5])
    config = config_for(tmp_path, epochs=6, lr_drop_patience=2, converge_patience=100, lr=1e-3)
    run = list(train(config, tiny_data))
    drops = [e for e in run if isinstance(e, events.LrDropped)]
    assert [(d.epoch, d.old_lr, d.new_lr) for d in drops] == [
        (3, 1e-3, pytest.approx(1e-4)), (5, pytest.approx(1e-4), pytest.approx(1e-5))]
    epoch_lrs = {e.epoch: e.lr for e in run if isinstance(e, events.EpochFinished)}
    assert epoch_lrs == {1: 1e-3, 2: 1e-3, 3: 1e-3, 4: pytest.approx(1e-4), 5: pytest.approx(1e-4), 6: pytest.approx(1e-5)}
    # The batches after a drop train with the new rate: the optimizer got it, not just the report.
    batch_lrs = {e.epoch: e.lr for e in run if isinstance(e, events.BatchProgress)}
    assert batch_lrs[4] == pytest.approx(1e-4) and batch_lrs[6] == pytest.approx(1e-5)


def test_converged_ends_the_run_after_the_patience_without_improvement(tmp_path, tiny_data, monkeypatch):
    # Best at epoch 1, then a plateau: with converge patience 2 (and no LR drop) the run ends after epoch 3.
    fixed_accuracies(monkeypatch, [0.6, 0.5, 0.5, 0.5, 0.5, 0.5])
    run = list(train(config_for(tmp_path, epochs=6, lr_drop_patience=100, converge_patience=2), tiny_data))
    assert [e.epoch for e in run if isinstance(e, events.EpochFinished)] == [1, 2, 3]
    assert run[-2:] == [events.Converged(epoch=3), run[-1]]
    assert run[-1].reason is events.FinishReason.CONVERGED and run[-1].epochs_run == 3
    assert (run[-1].best_accuracy, run[-1].best_epoch) == (0.6, 1)


def test_early_exit_at_the_target(tmp_path, tiny_data):
    run = list(train(config_for(tmp_path, epochs=10, target_accuracy=0.5), tiny_data))
    assert [type(e) for e in run[-3:]] == [events.NewBestSaved, events.EarlyExit, events.Finished]
    assert run[-1].reason == "early_exit" and run[-1].epochs_run == 1


def test_batch_size_larger_than_the_data_is_refused(tmp_path, tiny_data):
    with pytest.raises(ConfigError, match="larger than the 512 training images"):
        next(train(config_for(tmp_path, batch_size=513), tiny_data))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_trains_on_cuda(tmp_path, tiny_mnist_dir):
    from mnistconv.core.data import load_mnist

    data = load_mnist(tiny_mnist_dir, "cuda")
    run = list(train(config_for(tmp_path, device="cuda", epochs=2), data))
    assert run[0].device.startswith("CUDA") and run[-1].reason == "completed"


def test_onecycle_anneals_the_lr_and_trains(tmp_path, tiny_data):
    config = config_for(tmp_path, epochs=6, lr=1e-2, lr_schedule="onecycle", label_smoothing=0.1, shuffle=True)
    run = list(train(config, tiny_data))
    lrs = [e.lr for e in run if isinstance(e, events.EpochFinished)]
    assert len(lrs) == 6 and max(lrs) <= 1e-2 and lrs[-1] < 1e-4 < max(lrs)  # annealed to near zero at the end
    assert run[-1].reason == "completed" and run[-1].best_accuracy > 0.9


def test_onecycle_owns_the_lr_and_turns_plateau_drops_off(tmp_path, tiny_data, monkeypatch):
    # Best at epoch 1, then a plateau: with patience 1 the seed's rule would drop the LR after every epoch from the 2nd.
    accuracies = [0.6, 0.5, 0.5, 0.5, 0.5, 0.5]
    config = config_for(tmp_path, epochs=6, lr=1e-2, lr_schedule="onecycle", lr_drop_patience=1, converge_patience=100)
    state, plateau_drops = ScheduleState(lr=config.lr), []
    for epoch, accuracy in enumerate(accuracies, start=1):
        decision = decide_after_epoch(state, epoch, accuracy, replace(config, lr_schedule="plateau"))
        state = decision.state
        plateau_drops.append(decision.lr_dropped)
    assert plateau_drops == [False] + [True] * 5  # the plateau is there for the rule to see
    fixed_accuracies(monkeypatch, accuracies)
    run = list(train(config, tiny_data))
    assert not [e for e in run if isinstance(e, events.LrDropped)]
    # The rate at each epoch's end is the one-cycle schedule's after that many batches, untouched by any drop.
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=config.lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=6 * 8)
    expected = []
    for _ in range(6):
        for _ in range(8):
            optimizer.step()
            schedule.step()
        expected.append(optimizer.param_groups[0]["lr"])
    assert [e.lr for e in run if isinstance(e, events.EpochFinished)] == pytest.approx(expected)
    assert run[-1].reason == "completed" and run[-1].epochs_run == 6


def test_shuffled_runs_repeat_with_a_seed_and_differ_from_the_seed_order(tmp_path, tiny_data):
    def losses(**overrides):
        run = train(config_for(tmp_path / str(len(overrides)), epochs=1, **overrides), tiny_data)
        return [e.loss for e in run if isinstance(e, events.BatchProgress)]

    shuffled = losses(shuffle=True)
    assert len(shuffled) == 8 and shuffled == losses(shuffle=True, seed=0)
    assert shuffled != losses()


def test_noise_source_draws_in_bulk_with_the_right_scale():
    from mnistconv.core.train import NoiseSource

    generator = torch.Generator().manual_seed(0)
    source = NoiseSource(0.1, (1, 28, 28), generator, images_per_draw=1000)
    zeros = torch.zeros(128, 1, 28, 28)
    draws = [source.add_to(zeros) for _ in range(20)]  # 2,560 images: three bulk draws
    stacked = torch.cat(draws)
    assert abs(float(stacked.std()) - 0.1) < 0.005 and abs(float(stacked.mean())) < 0.005
    assert not torch.equal(draws[0], draws[1])
    assert NoiseSource(0.0, (1, 28, 28), generator, 10).add_to(zeros) is zeros


def test_the_optimizer_steps_exactly_as_torchs_fused_adam():
    torch.manual_seed(0)
    ours, theirs = build_model(), build_model()
    theirs.load_state_dict(ours.state_dict())
    optimizers = [make_optimizer(ours, 3e-3), torch.optim.Adam(theirs.parameters(), lr=3e-3, fused=True)]
    schedules = [torch.optim.lr_scheduler.OneCycleLR(o, max_lr=1e-2, total_steps=20) for o in optimizers]
    x, y = torch.rand(16, 1, 28, 28), torch.randint(0, 10, (16,))
    for step in range(6):
        for model, optimizer, schedule in zip((ours, theirs), optimizers, schedules):
            loss = torch.nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
        if step == 2:  # a saved state goes back in as torch's own would
            optimizers[0].load_state_dict(optimizers[0].state_dict())
    for a, b in zip(ours.parameters(), theirs.parameters()):
        assert torch.equal(a, b)
    assert not any(p.requires_grad for group in optimizers[0].state.values() for p in group.values())
    assert str(optimizers[0].state_dict()) == str(optimizers[1].state_dict())


def test_synthesised_digits_join_each_batch_and_runs_repeat(tmp_path, tiny_data):
    from mnistconv.core.synth import per_batch

    def batches(name, **overrides):
        model, seen = build_model(), []
        model.register_forward_pre_hook(lambda module, args: seen.append(args[0].shape[0]) if module.training else None)
        run = list(train(config_for(tmp_path / name, epochs=1, **overrides), tiny_data, model=model))
        return seen, [e.loss for e in run if isinstance(e, events.BatchProgress)]

    plain, plain_losses = batches("plain")
    assert plain == [64] * 8
    sizes, losses = batches("synth", synth_share=0.2)
    assert sizes == [64 + per_batch(64, 0.2)] * 8 == [80] * 8
    assert losses == batches("again", synth_share=0.2)[1]
    assert losses != plain_losses


def test_real_handwriting_and_synthesised_digits_share_each_batch_and_the_model_deskews(tmp_path, tiny_data, monkeypatch):
    from mnistconv.core import train as train_module
    from mnistconv.core.checkpoint import load_checkpoint

    monkeypatch.setattr(train_module, "REAL_BANK", 40)  # a small bank of real renderings: a test need not wait
    seen = []
    config = config_for(tmp_path / "mixed", epochs=1, synth_share=0.1, real_share=0.4, deskew=True)
    run = list(train(config, tiny_data))
    saved = next(e for e in run if isinstance(e, events.NewBestSaved))
    checkpoint = load_checkpoint(saved.path)
    assert checkpoint.deskews and checkpoint.hyperparameters["real_share"] == 0.4
    assert "UNIPEN" in checkpoint.hyperparameters["trained_on"]  # its attribution travels with it
    model = build_model(deskew=True)
    model.register_forward_pre_hook(lambda module, args: seen.append(args[0].shape[0]) if module.training else None)
    list(train(config_for(tmp_path / "counted", epochs=1, synth_share=0.1, real_share=0.4, deskew=True), tiny_data, model=model))
    # 64 MNIST digits, then 10 % and 40 % of the whole batch: 64 / 0.5 = 128 in all.
    assert seen == [64 + 13 + 51] * 8


class RecordingNet(ConvNet):
    """The seed's network, keeping a copy of every batch it is trained on."""

    def __init__(self):
        super().__init__()
        self.trained_on = []

    def forward(self, x):
        if self.training:
            self.trained_on.append(x.detach().clone())
        return super().forward(x)


def test_each_batch_is_the_seeds_next_slice_with_fresh_noise_of_std_0_1(tmp_path, tiny_data):
    model = RecordingNet()
    list(train(config_for(tmp_path, epochs=2), tiny_data, model=model))
    assert len(model.trained_on) == 2 * 8
    images = pixels(tiny_data.train_images)
    for index, x in enumerate(model.trained_on):
        start = (index % 8) * 64  # the seed's minibatches: the data in order, 64 at a time, every epoch
        noise = x - images[start : start + 64]
        assert abs(float(noise.std()) - 0.1) < 0.003 and abs(float(noise.mean())) < 0.003, f"batch {index}"
    # The noise is drawn afresh: the same slice gets different noise in the second epoch.
    assert not torch.allclose(model.trained_on[0], model.trained_on[8])


def test_each_step_is_the_seeds_adam_on_the_cross_entropy(tmp_path, tiny_data):
    """Three epochs of one 512-image batch without noise are three steps of torch's own Adam (lr 3e-3,
    betas 0.9/0.999, eps 1e-8) on the cross-entropy of that batch."""
    torch.manual_seed(1)
    model = build_model()
    reference = copy.deepcopy(model)
    fixed = config_for(tmp_path, epochs=3, batch_size=512, noise_std=0.0)
    optimizer = make_optimizer(build_model(), fixed.lr)
    assert isinstance(optimizer, torch.optim.Adam)  # torch's own Adam (without its torch.compile wrappers)
    settings = {key: optimizer.param_groups[0][key] for key in ("lr", "betas", "eps", "weight_decay", "amsgrad")}
    assert settings == {"lr": 3e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0, "amsgrad": False}
    list(train(fixed, tiny_data, model=model))
    # The reference computes in the loop's memory layout (channels_last): on some CPUs the two layouts'
    # convolution kernels round differently, and Adam's first steps (about lr·sign(g)) turn a rounding
    # difference in a near-zero gradient into one of up to 2·lr in its weight.
    reference.to(memory_format=torch.channels_last)
    images = pixels(tiny_data.train_images).contiguous(memory_format=torch.channels_last)
    adam = torch.optim.Adam(reference.parameters(), lr=3e-3)
    for _ in range(3):
        loss = F.cross_entropy(reference(images), tiny_data.train_labels)
        adam.zero_grad()
        loss.backward()
        adam.step()
    for (name, trained), (_, expected) in zip(model.named_parameters(), reference.named_parameters()):
        torch.testing.assert_close(trained.detach(), expected.detach(), rtol=1e-4, atol=2e-6, msg=name)
