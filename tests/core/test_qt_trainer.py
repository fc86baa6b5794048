"""The QThread trainer: signals in order with their payloads, stop, pause/resume."""

import pytest

from mnistconv.core import events
from mnistconv.core.qt_trainer import SIGNAL_NAMES, QtTrainer

from tiny_training import tiny_config

SIGNALS = list(SIGNAL_NAMES.values())


@pytest.fixture
def trainer(qtbot):
    trainer = QtTrainer()
    received = []
    for name in SIGNALS:
        getattr(trainer, name).connect(lambda payload, name=name: received.append((name, payload)))
    trainer.received = received
    yield trainer
    trainer.stop_and_wait()


def config(tmp_path, **overrides):
    return tiny_config(tmp_path / "run", **overrides)


def names(trainer):
    return [name for name, _ in trainer.received]


def test_signals_arrive_in_order_with_payloads(qtbot, trainer, tiny_mnist_dir, tmp_path):
    with qtbot.waitSignal(trainer.finished, timeout=60_000):
        trainer.start(config(tmp_path), tiny_mnist_dir)
    order = [n for n in names(trainer) if n != "batch_progressed"]
    assert order[:3] == ["data_loading_started", "data_loaded", "training_started"]
    assert order[-1] == "finished"
    assert order.count("epoch_finished") == 2
    first_epoch = order.index("epoch_finished")
    assert order[first_epoch + 1] == "new_best_saved"
    payloads = dict(trainer.received)
    assert isinstance(payloads["data_loaded"], events.DataLoaded)
    assert payloads["data_loaded"].test_images.shape == (200, 28, 28)
    assert isinstance(payloads["training_started"], events.TrainingStarted)
    assert isinstance(payloads["epoch_finished"], events.EpochFinished)
    assert payloads["new_best_saved"].path == tmp_path / "run" / "mnist_conv.pt"
    assert payloads["finished"].reason == "completed"
    batches = [p for n, p in trainer.received if n == "batch_progressed"]
    assert len(batches) == 16 and all(isinstance(b, events.BatchProgress) for b in batches)
    assert not trainer.is_running()


def test_stop_ends_within_one_batch(qtbot, trainer, tiny_mnist_dir, tmp_path):
    def stop_at_third_batch(progress):
        if progress.epoch == 1 and progress.batch == 3:
            trainer.stop()

    trainer.batch_progressed.connect(stop_at_third_batch)
    with qtbot.waitSignal(trainer.finished, timeout=60_000) as finished:
        trainer.start(config(tmp_path, epochs=20), tiny_mnist_dir)
    assert finished.args[0].reason == "stopped"
    stopped = [p for n, p in trainer.received if n == "stopped"]
    assert len(stopped) == 1
    # Signals are queued, so the thread may have run a batch or two before the slot ran: "within one batch"
    # is about the loop, measured from when it saw the request.
    batches_after = [p for n, p in trainer.received if n == "batch_progressed" and p.batch > stopped[0].batch]
    assert not batches_after
    assert stopped[0].epoch == 1 and stopped[0].batch <= 8


def test_pause_holds_and_resume_continues_to_the_same_end(qtbot, trainer, tiny_mnist_dir, tmp_path):
    reference = QtTrainer()
    ref_accuracies = []
    reference.epoch_finished.connect(lambda e: ref_accuracies.append(e.test_accuracy))
    with qtbot.waitSignal(reference.finished, timeout=60_000):
        reference.start(config(tmp_path / "ref"), tiny_mnist_dir)

    def pause_once(progress):
        if progress.epoch == 1 and progress.batch == 2 and not trainer.is_paused():
            trainer.pause()

    trainer.batch_progressed.connect(pause_once)
    trainer.start(config(tmp_path), tiny_mnist_dir)
    qtbot.waitUntil(trainer.is_paused, timeout=30_000)
    qtbot.wait(300)  # let signals queued before the pause arrive
    held = len(trainer.received)
    qtbot.wait(500)
    assert len(trainer.received) == held and trainer.is_running()  # nothing new while paused
    trainer.batch_progressed.disconnect(pause_once)
    with qtbot.waitSignal(trainer.finished, timeout=60_000):
        trainer.resume()
    accuracies = [p.test_accuracy for n, p in trainer.received if n == "epoch_finished"]
    assert len(ref_accuracies) == 2 and accuracies == ref_accuracies


def test_failure_reaches_the_failed_signal_then_finished(qtbot, trainer, tmp_path, no_network_acquisition):
    with qtbot.waitSignal(trainer.finished, timeout=60_000) as finished:
        trainer.start(config(tmp_path), tmp_path / "no-data")
    failed = [p for n, p in trainer.received if n == "failed"]
    assert len(failed) == 1 and "Could not fetch MNIST" in failed[0].message
    assert finished.args[0].reason == "failed"


def test_train_again_after_stop(qtbot, trainer, tiny_mnist_dir, tmp_path):
    trainer.batch_progressed.connect(lambda p: trainer.stop())
    with qtbot.waitSignal(trainer.finished, timeout=60_000) as first:
        trainer.start(config(tmp_path), tiny_mnist_dir)
    assert first.args[0].reason == "stopped"
    trainer.batch_progressed.disconnect()
    trainer.received.clear()
    with qtbot.waitSignal(trainer.finished, timeout=60_000) as finished:
        trainer.start(config(tmp_path, epochs=1), tiny_mnist_dir)
    assert finished.args[0].reason == "completed"


def test_a_new_run_lets_the_previous_runs_thread_go(qtbot, trainer, tiny_mnist_dir, tmp_path):
    from PySide6.QtCore import QThread

    for _ in range(3):
        with qtbot.waitSignal(trainer.finished, timeout=60_000):
            trainer.start(config(tmp_path, epochs=1), tiny_mnist_dir)
        qtbot.wait(10)  # deleteLater is carried out by the event loop
    # Only the last run's thread is still a child: long sessions do not pile them up.
    assert len(trainer.findChildren(QThread)) == 1


def test_each_saved_model_is_loaded_for_the_sketchpad_off_the_gui_thread(qtbot, tiny_mnist_dir, tmp_path, monkeypatch):
    import threading

    import numpy as np
    import torch

    from mnistconv.core.checkpoint import load_checkpoint
    from mnistconv.core.predict import Predictor

    trainer = QtTrainer(saved_model_device="cpu")
    order, loaded, loaded_on = [], [], []
    trainer.new_best_saved.connect(lambda event: order.append("new_best_saved"))

    def on_loaded(event):
        order.append("saved_model_loaded")
        loaded.append(event.predictor)

    trainer.saved_model_loaded.connect(on_loaded)
    original = Predictor.from_checkpoint

    def recording_load(*args, **kwargs):
        loaded_on.append(threading.current_thread() is threading.main_thread())
        return original(*args, **kwargs)

    monkeypatch.setattr(Predictor, "from_checkpoint", recording_load)
    with qtbot.waitSignal(trainer.finished, timeout=60_000):
        trainer.start(config(tmp_path, epochs=1), tiny_mnist_dir)
    assert order == ["new_best_saved", "saved_model_loaded"]
    assert loaded_on == [False]  # loaded in the training thread, not the GUI's
    path = tmp_path / "run" / "mnist_conv.pt"
    predictor = loaded[0]
    assert predictor.name == str(path) and predictor.device == torch.device("cpu")
    # The weights of the file, in a model of its own.
    saved = load_checkpoint(path)
    image = np.random.default_rng(0).random((28, 28), dtype=np.float32)
    expected = torch.softmax(saved.build_model(torch.device("cpu")).eval()(torch.from_numpy(image)[None, None]), 1)
    np.testing.assert_allclose(predictor.predict(image), expected.detach().numpy(), atol=1e-6)


@pytest.mark.parametrize("error, message", [
    ("checkpoint", "the file is not a checkpoint"),
    ("unexpected", "RuntimeError: the file is not a checkpoint"),
])
def test_a_saved_model_that_cannot_be_read_back_is_reported_and_training_goes_on(qtbot, tiny_mnist_dir, tmp_path, monkeypatch,
                                                                                  error, message):
    from mnistconv.core.errors import CheckpointError
    from mnistconv.core.predict import Predictor

    def unreadable(*args, **kwargs):
        raise (CheckpointError if error == "checkpoint" else RuntimeError)("the file is not a checkpoint")

    monkeypatch.setattr(Predictor, "from_checkpoint", unreadable)
    trainer = QtTrainer(saved_model_device="cpu")
    messages, finished = [], []
    trainer.saved_model_unreadable.connect(lambda event: messages.append(event.message))
    trainer.saved_model_loaded.connect(lambda event: pytest.fail("nothing could be loaded"))
    trainer.finished.connect(finished.append)
    with qtbot.waitSignal(trainer.finished, timeout=60_000):
        trainer.start(config(tmp_path, epochs=2), tiny_mnist_dir)
    assert messages and all(m == message for m in messages)
    assert finished[0].reason == "completed" and finished[0].epochs_run == 2


def test_without_a_device_for_them_no_saved_model_is_loaded(qtbot, trainer, tiny_mnist_dir, tmp_path):
    loaded = []
    trainer.saved_model_loaded.connect(loaded.append)
    with qtbot.waitSignal(trainer.finished, timeout=60_000):
        trainer.start(config(tmp_path, epochs=1), tiny_mnist_dir)
    assert "new_best_saved" in names(trainer) and loaded == []
