"""The QThread trainer: signals in order with their payloads, stop, pause/resume."""

import pytest

from mnistconv.core import events
from mnistconv.core.config import TrainConfig
from mnistconv.core.qt_trainer import QtTrainer

SIGNALS = ["acquiring", "data_loaded", "started", "batch_progress", "epoch_finished", "lr_dropped",
           "new_best_saved", "save_failed", "early_exit", "converged", "nan_abort", "stopped", "failed", "finished"]


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
    values = dict(epochs=2, batch_size=64, seed=0, device="cpu", savepath=str(tmp_path / "run"),
                  progress_interval_s=0.0, target_accuracy=1.01)
    values.update(overrides)
    return TrainConfig(**values)


def names(trainer):
    return [name for name, _ in trainer.received]


def test_signals_arrive_in_order_with_payloads(qtbot, trainer, tiny_mnist_dir, tmp_path):
    with qtbot.waitSignal(trainer.finished, timeout=60_000):
        trainer.start(config(tmp_path), tiny_mnist_dir)
    order = [n for n in names(trainer) if n != "batch_progress"]
    assert order[:2] == ["data_loaded", "started"]
    assert order[-1] == "finished"
    assert order.count("epoch_finished") == 2
    first_epoch = order.index("epoch_finished")
    assert order[first_epoch + 1] == "new_best_saved"
    payloads = dict(trainer.received)
    assert isinstance(payloads["data_loaded"], events.DataLoaded)
    assert payloads["data_loaded"].test_images.shape == (200, 28, 28)
    assert isinstance(payloads["started"], events.TrainingStarted)
    assert isinstance(payloads["epoch_finished"], events.EpochFinished)
    assert payloads["new_best_saved"].path == tmp_path / "run" / "mnist_conv.pt"
    assert payloads["finished"].reason == "completed"
    batches = [p for n, p in trainer.received if n == "batch_progress"]
    assert len(batches) == 16 and all(isinstance(b, events.BatchProgress) for b in batches)
    assert not trainer.is_running()


def test_stop_ends_within_one_batch(qtbot, trainer, tiny_mnist_dir, tmp_path):
    def stop_at_third_batch(progress):
        if progress.epoch == 1 and progress.batch == 3:
            trainer.stop()

    trainer.batch_progress.connect(stop_at_third_batch)
    with qtbot.waitSignal(trainer.finished, timeout=60_000) as finished:
        trainer.start(config(tmp_path, epochs=20), tiny_mnist_dir)
    assert finished.args[0].reason == "stopped"
    stopped = [p for n, p in trainer.received if n == "stopped"]
    assert len(stopped) == 1
    # Signals are queued, so the thread may have run a batch or two before the slot ran: "within one batch"
    # is about the loop, measured from when it saw the request.
    batches_after = [p for n, p in trainer.received if n == "batch_progress" and p.batch > stopped[0].batch]
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

    trainer.batch_progress.connect(pause_once)
    trainer.start(config(tmp_path), tiny_mnist_dir)
    qtbot.waitUntil(trainer.is_paused, timeout=30_000)
    qtbot.wait(300)  # let signals queued before the pause arrive
    held = len(trainer.received)
    qtbot.wait(500)
    assert len(trainer.received) == held and trainer.is_running()  # nothing new while paused
    trainer.batch_progress.disconnect(pause_once)
    with qtbot.waitSignal(trainer.finished, timeout=60_000):
        trainer.resume()
    accuracies = [p.test_accuracy for n, p in trainer.received if n == "epoch_finished"]
    assert accuracies == ref_accuracies


def test_failure_reaches_the_failed_signal_then_finished(qtbot, trainer, tmp_path, no_network_acquisition):
    with qtbot.waitSignal(trainer.finished, timeout=60_000) as finished:
        trainer.start(config(tmp_path), tmp_path / "no-data")
    failed = [p for n, p in trainer.received if n == "failed"]
    assert len(failed) == 1 and "Could not fetch MNIST" in failed[0].message
    assert finished.args[0].reason == "failed"


def test_train_again_after_stop(qtbot, trainer, tiny_mnist_dir, tmp_path):
    trainer.batch_progress.connect(lambda p: trainer.stop())
    with qtbot.waitSignal(trainer.finished, timeout=60_000):
        trainer.start(config(tmp_path), tiny_mnist_dir)
    trainer.batch_progress.disconnect()
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
