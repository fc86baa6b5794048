"""The training session without Qt: fetch, load (cached), train, and read each saved model back."""

import numpy as np
import pytest

from mnistconv.core import events, session
from mnistconv.core.checkpoint import load_checkpoint
from mnistconv.core.errors import ConfigError, DataError
from mnistconv.core.events import FinishReason
from mnistconv.core.train import TrainingControl

from tiny_training import tiny_config


def kinds(run):
    return [type(e).__name__ for e in run]


def test_a_session_loads_trains_and_reads_each_saved_model_back(tiny_mnist_dir, tmp_path):
    run = list(session.training_session(tiny_config(tmp_path / "run"), tiny_mnist_dir, reload_device="cpu"))
    assert kinds(run)[:3] == ["DataLoading", "DataLoaded", "TrainingStarted"]
    assert run[0].data_dir == tiny_mnist_dir
    loaded = run[1]
    assert loaded.train_images == 512 and loaded.test_images.shape == (200, 28, 28) and loaded.test_images.dtype == np.uint8
    assert isinstance(run[-1], events.Finished) and run[-1].reason is FinishReason.COMPLETED
    saves = [i for i, e in enumerate(run) if isinstance(e, events.NewBestSaved)]
    assert saves  # the tiny data improves or holds, so at least the first epoch saves
    for index in saves:
        follower = run[index + 1]
        assert isinstance(follower, events.SavedModelLoaded) and follower.path == run[index].path
    # The predictor holds the weights of the file (the last one saved: the file is overwritten).
    last = run[saves[-1] + 1].predictor
    image = loaded.test_images[0].astype(np.float32) / 255
    expected = load_checkpoint(run[saves[-1]].path).build_model("cpu")
    import torch

    with torch.inference_mode():
        want = torch.softmax(expected(torch.from_numpy(image)[None, None]), 1).numpy()
    np.testing.assert_allclose(last.predict(image), want, atol=1e-6)


def test_without_a_reload_device_no_model_is_read_back(tiny_mnist_dir, tmp_path):
    run = list(session.training_session(tiny_config(tmp_path / "run", epochs=1), tiny_mnist_dir))
    assert "NewBestSaved" in kinds(run)
    assert "SavedModelLoaded" not in kinds(run) and "SavedModelUnreadable" not in kinds(run)


def test_an_unreadable_saved_model_is_reported_and_training_goes_on(tiny_mnist_dir, tmp_path, monkeypatch):
    def unreadable(path, device="auto"):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(session.Predictor, "from_checkpoint", unreadable)
    run = list(session.training_session(tiny_config(tmp_path / "run"), tiny_mnist_dir, reload_device="cpu"))
    problems = [e for e in run if isinstance(e, events.SavedModelUnreadable)]
    assert problems and problems[0].message == "RuntimeError: disk on fire"
    assert run[-1].reason is FinishReason.COMPLETED and run[-1].epochs_run == 2


def test_the_cache_keeps_the_data_for_the_next_run_on_the_same_folder_and_device(tiny_mnist_dir, tmp_path, monkeypatch):
    loads = []
    real_load = session.load_mnist

    def counting_load(data_dir, device):
        loads.append((data_dir, str(device)))
        return real_load(data_dir, device)

    monkeypatch.setattr(session, "load_mnist", counting_load)
    cache = session.DataCache()
    for attempt in range(2):
        run = list(session.training_session(tiny_config(tmp_path / str(attempt), epochs=1), tiny_mnist_dir, cache=cache))
        assert run[-1].reason is FinishReason.COMPLETED
    assert loads == [(tiny_mnist_dir, "cpu")]
    other = tmp_path / "copy"
    import shutil

    shutil.copytree(tiny_mnist_dir, other)
    list(session.training_session(tiny_config(tmp_path / "2", epochs=1), other, cache=cache))
    assert loads == [(tiny_mnist_dir, "cpu"), (other, "cpu")]


def test_a_stop_while_fetching_closes_the_fetch_and_ends_as_stopped(tmp_path, monkeypatch):
    closed = []

    def long_fetch(data_dir):
        try:
            for _ in range(50):  # far more steps than the stop needs; a session that ignores it fails, not hangs
                yield events.AcquireProgress("Downloading train-images-idx3-ubyte.gz", 10, 100)
            raise AssertionError("the session fetched on after the stop")
        finally:
            closed.append(data_dir)  # where a real fetch removes its half-written file

    monkeypatch.setattr(session, "fetch_mnist", long_fetch)
    control = TrainingControl()
    run = []
    for event in session.training_session(tiny_config(tmp_path / "run"), tmp_path / "data", control):
        run.append(event)
        if isinstance(event, events.AcquireProgress) and len(run) == 3:
            control.request_stop()
    assert kinds(run) == ["DataLoading", "AcquireProgress", "AcquireProgress", "Stopped", "Finished"]
    assert run[-2] == events.Stopped(epoch=0, batch=0) and run[-1].reason is FinishReason.STOPPED
    assert closed == [tmp_path / "data"]


def test_bad_settings_and_bad_data_raise_for_the_caller_to_word(tmp_path, tiny_mnist_dir):
    with pytest.raises(ConfigError, match="learning rate"):
        next(session.training_session(tiny_config(tmp_path / "run", lr=-1.0), tiny_mnist_dir))
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="cannot create the save folder"):
        next(session.training_session(tiny_config(blocker / "sub"), tiny_mnist_dir))
    (tiny_mnist_dir / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").write_bytes(b"\0\0\x08\x02")
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte"):
        list(session.training_session(tiny_config(tmp_path / "run"), tiny_mnist_dir))


def test_a_random_seed_is_drawn_reported_and_saved_so_the_run_can_be_repeated(tiny_mnist_dir, tmp_path):
    first = list(session.training_session(tiny_config(tmp_path / "a", seed=None, epochs=1), tiny_mnist_dir))
    started = next(e for e in first if isinstance(e, events.TrainingStarted))
    assert isinstance(started.seed, int) and started.seed >= 0
    assert load_checkpoint(tmp_path / "a" / "mnist_conv.pt").hyperparameters["seed"] == started.seed
    again = list(session.training_session(tiny_config(tmp_path / "b", seed=started.seed, epochs=1), tiny_mnist_dir))

    def accuracies(run):
        return [(e.test_accuracy, e.train_loss) for e in run if isinstance(e, events.EpochFinished)]

    assert len(accuracies(first)) == 1 and accuracies(again) == accuracies(first)
