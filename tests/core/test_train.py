"""The training loop end to end on a tiny dataset."""

import threading

import pytest
import torch

from mnistconv.core import checkpoint, events
from mnistconv.core.errors import ConfigError
from mnistconv.core.evaluate import evaluate_saved_model
from mnistconv.core.train import TrainingControl, train

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
    assert all(isinstance(e, events.BatchProgress) for e in run[1:first_epoch_end])
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
    assert accuracies[0] == accuracies[1]


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
    for event in run:
        if isinstance(event, events.BatchProgress) and event.epoch == 1 and event.batch == 4 and not resumed.is_set():
            control.pause()
            timer = threading.Timer(0.3, lambda: (resumed.set(), control.resume()))
            timer.start()
        if isinstance(event, events.BatchProgress) and event.epoch == 1 and event.batch == 5:
            assert resumed.is_set()  # the loop did not run past the pause
        if isinstance(event, events.EpochFinished):
            accuracies.append(event.test_accuracy)
    assert accuracies == reference


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


def test_onecycle_owns_the_lr_and_turns_plateau_drops_off(tmp_path, tiny_data):
    config = config_for(tmp_path, epochs=6, lr=1e-2, lr_schedule="onecycle", lr_drop_patience=1, label_smoothing=0.1,
                        shuffle=True)
    run = list(train(config, tiny_data))
    assert not [e for e in run if isinstance(e, events.LrDropped)]
    lrs = [e.lr for e in run if isinstance(e, events.EpochFinished)]
    assert max(lrs) <= 1e-2 and lrs[-1] < 1e-4 < max(lrs)  # annealed to near zero at the end
    assert run[-1].reason == "completed" and run[-1].best_accuracy > 0.9


def test_shuffled_runs_repeat_with_a_seed_and_differ_from_the_seed_order(tmp_path, tiny_data):
    def losses(**overrides):
        run = train(config_for(tmp_path / str(len(overrides)), epochs=1, **overrides), tiny_data)
        return [e.loss for e in run if isinstance(e, events.BatchProgress)]

    shuffled = losses(shuffle=True)
    assert shuffled == losses(shuffle=True, seed=0)
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


def test_synthesised_digits_join_each_batch_and_runs_repeat(tmp_path, tiny_data):
    from mnistconv.core.model import build_model
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
