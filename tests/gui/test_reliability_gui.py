"""The window under faults: refused fields, foreign model files, NaN, a crash in the training thread,
failed saves, unreadable data, and closing at awkward moments. After each, the app must still work:
a clear message, the current model kept, and Train able to start a fresh run.
"""

from __future__ import annotations

import errno
import functools
import os
import pickle
import select
import socket
import sys
import tempfile
import textwrap
import threading
import time
import zipfile
from pathlib import Path

import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from mnistconv.core import atomic, checkpoint
from mnistconv.core import train as train_module
from mnistconv.core.errors import ConfigError
from mnistconv.core.model import build_model
from mnistconv.gui import training_panel

LONG = 120_000  # ms: generous, the CPU may be shared


@pytest.fixture
def make_window(make_window):
    """tests/gui/conftest.py's factory, two epochs unless a test asks for more."""
    return functools.partial(make_window, epochs=2)


def click(qtbot, button):
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def idle(window) -> bool:
    p = window.panel
    return (p.train_button.isEnabled(), p.pause_button.isEnabled(), p.stop_button.isEnabled()) == (True, False, False)


def run_to_end(qtbot, window):
    with qtbot.waitSignal(window.trainer.finished, timeout=LONG) as finished:
        click(qtbot, window.panel.train_button)
    qtbot.wait(1)  # the switch to the run's last saved model comes on the event loop's next turn
    return finished.args[0]


def texts(window) -> list[str]:
    return [box.text() for box in window.messages.dialogs]


# -- bad parameters are refused in the fields ------------------------------------------------------

@pytest.mark.parametrize("field, value, reason", [
    ("lr", "-1", "learning rate must be a positive number"),
    ("lr", "abc", "learning rate must be a positive number"),
    ("lr", "nan", "learning rate must be a positive number"),
    ("lr", "inf", "learning rate must be a positive number"),
    ("lr", "1e-400", "learning rate must be a positive number"),  # underflows to 0
    ("savepath", "<file>/models", "cannot create the save folder"),
    ("savepath", "<file>", "is a file, not a folder"),
])
def test_bad_field_is_refused_with_a_one_line_reason(qtbot, make_window, tmp_path, field, value, reason):
    window = make_window()
    if field == "lr":
        window.panel.lr_edit.setText(value)
    else:
        blocker = tmp_path / "a-file"
        blocker.write_text("not a folder")
        window.panel.savepath_edit.setText(value.replace("<file>", str(blocker)))
    click(qtbot, window.panel.train_button)
    assert not window.trainer.is_running()
    error = window.panel.error_text()
    assert reason in error and "\n" not in error and error in window.panel.progress_detail.text()
    assert idle(window) and not window.messages.dialogs


def test_cuda_asked_for_where_there_is_none(qtbot, make_window, monkeypatch):
    monkeypatch.setattr(training_panel, "cuda_available", lambda: False)
    window = make_window()
    combo = window.panel.device_combo
    cuda = combo.findData("cuda")
    assert not combo.model().item(cuda).isEnabled()  # the person cannot pick it
    assert combo.itemText(cuda) == "CUDA (not found)"
    combo.setCurrentIndex(cuda)  # a program (or old settings) can: the check still holds
    with pytest.raises(ConfigError, match="CUDA was asked for"):
        window.panel.config()
    click(qtbot, window.panel.train_button)
    assert not window.trainer.is_running()
    assert "CUDA was asked for, but torch finds no CUDA device here" in window.panel.error_text()


@pytest.mark.parametrize("spin", ["epochs_spin", "batch_spin"])
def test_epochs_and_batch_size_cannot_be_zero(qtbot, make_window, monkeypatch, spin):
    window = make_window()
    box = getattr(window.panel, spin)
    box.setValue(0)
    assert box.value() == 1  # the field itself refuses 0
    box.selectAll()
    qtbot.keyClicks(box, "0")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    box.clearFocus()
    assert box.value() >= 1
    # And were a 0 to get through the field, config() still refuses it with a reason.
    monkeypatch.setattr(box, "value", lambda: 0)
    with pytest.raises(ConfigError, match="must be a whole number from 1 to [0-9]+, not 0"):
        window.panel.config()
    click(qtbot, window.panel.train_button)
    assert not window.trainer.is_running() and "must be a whole number from 1 to" in window.panel.error_text()


def test_a_refused_field_then_a_good_one_trains(qtbot, make_window):
    window = make_window(epochs=1, lr="0")
    click(qtbot, window.panel.train_button)
    assert window.panel.error_text()
    window.panel.lr_edit.setText("0.003")
    assert run_to_end(qtbot, window).reason == "completed"
    assert not window.panel.error_text() and "Cannot train" not in window.panel.progress_detail.text()


# -- foreign model files: a clear dialog, the current model stays --------------------------------

class RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def write_foreign(kind: str, folder: Path, marker: Path) -> Path:
    """A file of the given kind, named mnist_conv.pt (or a folder of that name)."""
    path = folder / kind / "mnist_conv.pt"
    path.parent.mkdir(parents=True)
    good = lambda model=None: checkpoint.save_checkpoint(  # noqa: E731
        path, model or build_model(), epoch=1, accuracy=0.9, lr=3e-3, hyperparameters={})
    if kind == "code-in-torch-zip":
        torch.save({"format": checkpoint.FORMAT, "model_state": RunsCode(marker)}, path)
    elif kind == "code-in-raw-pickle":
        path.write_bytes(pickle.dumps(RunsCode(marker)))
    elif kind == "code-in-protocol-2-pickle":  # torch's own pickle protocol: the unpickler meets the GLOBAL
        path.write_bytes(pickle.dumps(RunsCode(marker), protocol=2))
    elif kind == "zip-bomb":
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            with archive.open("archive/data.pkl", "w", force_zip64=True) as member:
                for _ in range(100):
                    member.write(bytes(1 << 20))
    elif kind == "another-architecture":
        payload = torch.load(good(), weights_only=True)
        payload["model_state"]["fc.weight"] = torch.zeros(10, 512)
        torch.save(payload, path)
    elif kind == "plain-state-dict":
        torch.save(torch.nn.Linear(784, 10).state_dict(), path)
    elif kind == "nan-weights":
        model = build_model()
        with torch.no_grad():
            model.fc.weight[0, 0] = float("nan")
        good(model)
    elif kind == "huge":
        with open(path, "wb") as f:
            f.truncate(checkpoint.MAX_BYTES + 1)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "directory":
        path.mkdir()
    elif kind == "truncated":
        data = good().read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "random-bytes":
        path.write_bytes(os.urandom(5000))
    elif kind == "missing":
        pass
    return path


FOREIGN = {
    "code-in-torch-zip": "could run code; nothing was run",
    "code-in-raw-pickle": "is not a loadable checkpoint: it is damaged, cut short or not a PyTorch file",
    "code-in-protocol-2-pickle": "holds Python objects (posix.system) that could run code; nothing was run",
    "zip-bomb": "would unpack to 100 MB; refusing to read it",
    "another-architecture": "holds weights of another architecture",
    "plain-state-dict": "is not an mnistconv checkpoint",
    "nan-weights": "has NaN or infinite weights in fc.weight",
    "huge": "an mnistconv checkpoint is well under 1 MB",
    "empty": "is empty",
    "directory": "is not a file",
    "truncated": "is not a loadable checkpoint: it is damaged, cut short or not a PyTorch file",
    "random-bytes": "is not a loadable checkpoint: it is damaged, cut short or not a PyTorch file",
    "missing": "does not exist",
}


@pytest.mark.parametrize("kind", list(FOREIGN))
def test_foreign_model_file_keeps_the_current_model(qtbot, make_window, tmp_path, kind):
    window = make_window()
    current = window.sketchpad.predictor
    label = window.sketchpad_model.label.text()
    marker = tmp_path / "code-ran"
    path = write_foreign(kind, tmp_path / "foreign", marker)
    assert window.sketchpad_model.load_model_file(path) is False
    assert window.sketchpad.predictor is current and window.sketchpad_model.label.text() == label
    assert not marker.exists()
    box = window.messages.dialogs[-1]
    assert box.icon() == QMessageBox.Icon.Warning and box.windowTitle() == "Could not open the model"
    assert str(path) in box.text() and FOREIGN[kind] in box.text()
    assert box.text().endswith("The current model stays in use.")
    assert current is not None  # the window starts with the bundled model: there is a model to keep
    assert current.predict(torch.zeros(28, 28).numpy()).shape == (1, 10)  # and it still reads digits


# -- training that goes wrong, and Train again with fresh state ---------------------------------

def assert_fresh_run(window, epochs: int) -> None:
    assert list(window.plots.accuracy_curve.xData) == list(range(1, epochs + 1))
    loss_x = window.plots.loss_curve.xData
    assert len(loss_x) and float(min(loss_x)) > 0 and float(max(loss_x)) <= epochs


def test_nan_loss_gives_a_dialog_keeps_the_model_and_train_works_again(qtbot, make_window, tmp_path):
    window = make_window(epochs=1)
    assert run_to_end(qtbot, window).reason == "completed"
    saved = tmp_path / "models" / "mnist_conv.pt"
    before = saved.read_bytes()
    model_in_use = window.sketchpad.predictor
    window.panel.lr_edit.setText("1e12")
    window.panel.epochs_spin.setValue(3)
    with qtbot.waitSignal(window.trainer.nan_aborted, timeout=LONG):
        finished = run_to_end(qtbot, window)
    assert finished.reason == "nan_abort"
    assert any("NaN params after epoch" in t and "the last good model is kept" in t for t in texts(window))
    assert len(window.plots.markers("nan_abort")) == 1
    assert saved.read_bytes() == before and window.sketchpad.predictor is model_in_use
    assert idle(window) and "NaN" in window.panel.progress_bar.format()
    window.panel.lr_edit.setText("0.003")
    window.panel.epochs_spin.setValue(2)
    assert run_to_end(qtbot, window).reason == "completed"
    assert_fresh_run(window, 2)
    assert not window.plots.markers("nan_abort")


@pytest.mark.parametrize("where", ["evaluate", "forward"])
def test_exception_in_the_training_thread_reaches_a_dialog(qtbot, make_window, monkeypatch, where):
    window = make_window(epochs=3)
    if where == "evaluate":
        def broken_evaluate(*args, **kwargs):
            raise RuntimeError("evaluate blew up")

        monkeypatch.setattr(train_module, "evaluate", broken_evaluate)
    else:
        real_build = train_module.build_model

        def broken_build(*args, **kwargs):
            model = real_build(*args, **kwargs)
            calls = []
            real_forward = model.forward

            def forward(x):
                calls.append(1)
                if len(calls) == 3:
                    raise RuntimeError("forward blew up")
                return real_forward(x)

            model.forward = forward
            return model

        monkeypatch.setattr(train_module, "build_model", broken_build)
    finished = run_to_end(qtbot, window)
    assert finished.reason == "failed"
    box = window.messages.dialogs[-1]
    assert box.icon() == QMessageBox.Icon.Critical and box.windowTitle() == "Training failed"
    assert box.text() == f"RuntimeError: {where} blew up"
    assert "Traceback" in box.detailedText() and "blew up" in box.detailedText()
    assert idle(window) and not window.trainer.is_running()
    assert window.panel.lr_edit.isEnabled()  # fields unlocked
    monkeypatch.undo()
    assert run_to_end(qtbot, window).reason == "completed"
    assert_fresh_run(window, 3)


def test_train_again_after_an_early_exit_starts_fresh(qtbot, make_window):
    window = make_window(epochs=10, mislabelled=0)  # the easy digits reach 100 %: early exit
    first = run_to_end(qtbot, window)
    assert first.reason == "early_exit" and first.epochs_run < 10
    assert len(window.plots.markers("early_exit")) == 1
    finishes = []
    window.trainer.finished.connect(finishes.append)
    click(qtbot, window.panel.train_button)
    # Reset as the new run starts: no marker or point of the previous run.
    assert not window.plots.markers("early_exit") and window.plots.accuracy_curve.xData is None
    qtbot.waitUntil(lambda: bool(finishes), timeout=LONG)
    assert finishes[0].reason == "early_exit"
    assert_fresh_run(window, finishes[0].epochs_run)
    assert len(window.plots.markers("early_exit")) == 1


def test_failed_save_gives_a_dialog_and_training_goes_on(qtbot, make_window, tmp_path, monkeypatch):
    window = make_window(epochs=1)
    run_to_end(qtbot, window)
    saved = tmp_path / "models" / "mnist_conv.pt"
    before = saved.read_bytes()
    model_in_use = window.sketchpad.predictor

    real_mkstemp = tempfile.mkstemp

    def read_only(*args, dir=None, **kwargs):  # the save's temporary file cannot be made there
        if dir is not None and Path(dir) == saved.parent:
            raise OSError(errno.EROFS, "Read-only file system", str(dir))
        return real_mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(atomic.tempfile, "mkstemp", read_only)
    window.panel.epochs_spin.setValue(3)
    save_failures = []
    window.trainer.save_failed.connect(save_failures.append)
    finished = run_to_end(qtbot, window)
    assert finished.reason == "completed" and finished.epochs_run == 3
    failures = [t for t in texts(window) if t.startswith(f"Could not save {saved}: the folder is not writable")]
    logged = [line for line in window.log.lines() if "Could not save the model" in line]
    # One dialog for the run, however many epochs failed to save; each failure is in the log.
    assert len(save_failures) >= 2 and len(logged) == len(save_failures)
    assert len(failures) == 1 and "Training goes on; the previous saved model is untouched." in failures[0]
    assert saved.read_bytes() == before and window.sketchpad.predictor is model_in_use
    assert not [name for name in os.listdir(saved.parent) if name != "mnist_conv.pt"]


def test_unreadable_data_folder_is_a_dialog(qtbot, make_window, monkeypatch, tmp_path):
    window = make_window()
    locked = Path(window.panel.data_dir_edit.text()) / "MNIST"
    real_stat = Path.stat

    def stat(self, *args, **kwargs):
        if str(self).startswith(str(locked) + os.sep):
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_stat(self, *args, **kwargs)

    monkeypatch.setattr(Path, "stat", stat)
    assert run_to_end(qtbot, window).reason == "failed"
    box = window.messages.dialogs[-1]
    assert box.icon() == QMessageBox.Icon.Critical
    assert box.text() == f"{locked / 'raw'}: cannot read the folder (Permission denied)"
    assert idle(window)


@pytest.mark.parametrize("damage, words", [
    ("magic", "not an MNIST images file (magic number 0x00000903, expected 0x00000803)"),
    ("labels", "labels must be 0–9, found 0…12"),
    ("truncated", "truncated: header promises 200 images"),
    ("not-gzip", "not a readable gzip file"),
])
def test_bad_data_file_is_named_in_a_dialog_before_training_starts(qtbot, make_window, damage, words):
    import numpy as np

    from idx_files import TEST_NAMES, TRAIN_NAMES, idx_bytes

    window = make_window()
    raw = Path(window.panel.data_dir_edit.text()) / "MNIST" / "raw"
    if damage == "magic":
        path = raw / TRAIN_NAMES[0]
        path.write_bytes(b"\x00\x00\x09\x03" + path.read_bytes()[4:])
    elif damage == "labels":
        path = raw / TEST_NAMES[1]
        labels = np.zeros(200, np.uint8)
        labels[3] = 12
        path.write_bytes(idx_bytes(labels))
    elif damage == "truncated":
        path = raw / TEST_NAMES[0]
        path.write_bytes(path.read_bytes()[:-1000])
    else:
        (raw / TEST_NAMES[0]).unlink()
        path = raw / f"{TEST_NAMES[0]}.gz"
        path.write_bytes(b"this is not gzip at all")
    started = []
    window.trainer.training_started.connect(started.append)
    assert run_to_end(qtbot, window).reason == "failed"
    assert not started  # refused before training began
    box = window.messages.dialogs[-1]
    assert box.icon() == QMessageBox.Icon.Critical and box.text().startswith(f"{path}: ") and words in box.text()
    assert idle(window)


# -- closing at awkward moments ------------------------------------------------------------------

def slow_npm(bin_dir: Path, pid_file: Path) -> None:
    """An `npm` that records its pid and then takes forever to pack anything."""
    script = bin_dir / "npm"
    script.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import os, time
        open({str(pid_file)!r}, "w").write(str(os.getpid()))
        time.sleep(120)
        """))
    script.chmod(0o755)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.skipif(os.name != "posix", reason="the stand-in npm is a script with a #! line")
def test_closing_during_data_acquisition_is_prompt_and_leaves_nothing(qtbot, make_window, tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    pid_file = tmp_path / "npm.pid"
    slow_npm(bin_dir, pid_file)
    monkeypatch.setenv("PATH", str(bin_dir))
    window = make_window()
    data_dir = tmp_path / "fresh-data"
    window.panel.data_dir_edit.setText(str(data_dir))
    click(qtbot, window.panel.train_button)
    qtbot.waitUntil(lambda: pid_file.exists() and pid_file.read_text().isdigit(), timeout=30_000)
    pid = int(pid_file.read_text())
    qtbot.waitUntil(lambda: "npm" in window.panel.progress_bar.format(), timeout=30_000)  # acquiring shown
    started = time.monotonic()
    window.close()
    took = time.monotonic() - started
    assert took < 5, f"closing took {took:.1f} s"
    assert not window.trainer.is_running()
    assert not alive(pid)  # npm was killed and reaped
    raw = data_dir / "MNIST" / "raw"
    assert not raw.exists() or not list(raw.iterdir())


def test_closing_while_a_mirror_stalls_waits_at_most_one_timeout(qtbot, make_window, tmp_path, monkeypatch):
    """No npm: the download route. Both mirrors accept the connection and never answer."""
    from torchvision.datasets import MNIST

    from mnistconv.core import acquire

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)  # the kernel completes the handshakes; nobody ever answers
    url = f"http://127.0.0.1:{server.getsockname()[1]}/"
    empty_bin = tmp_path / "empty-bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))
    monkeypatch.setattr(MNIST, "mirrors", [url + f"{n}/" for n in range(4)])
    monkeypatch.setattr(acquire, "DOWNLOAD_TIMEOUT_S", 2)  # the product's is 10 s
    try:
        window = make_window()
        data_dir = tmp_path / "fresh-data"
        window.panel.data_dir_edit.setText(str(data_dir))
        click(qtbot, window.panel.train_button)
        # A connection waiting in the backlog: the download is under way, stalled.
        qtbot.waitUntil(lambda: bool(select.select([server], [], [], 0)[0]), timeout=30_000)
        assert "Downloading" in window.panel.progress_bar.format()
        started = time.monotonic()
        window.close()
        took = time.monotonic() - started
    finally:
        server.close()
    assert not window.trainer.is_running()
    assert took < acquire.DOWNLOAD_TIMEOUT_S + 3, f"closing took {took:.1f} s"  # not one timeout per mirror and file
    raw = data_dir / "MNIST" / "raw"
    assert not raw.exists() or not list(raw.iterdir())


def test_closing_during_a_save_keeps_a_complete_checkpoint(qtbot, make_window, tmp_path, monkeypatch):
    window = make_window(epochs=50)
    real_save = checkpoint.save_checkpoint
    in_save, close_began = threading.Event(), threading.Event()
    saves = []

    def blocking_save(*args, **kwargs):
        saves.append(kwargs["epoch"])
        if len(saves) == 2:  # the first save gives a file to protect; the second waits for the close
            in_save.set()
            assert close_began.wait(30)
            time.sleep(0.2)  # well into closeEvent
        return real_save(*args, **kwargs)

    monkeypatch.setattr(checkpoint, "save_checkpoint", blocking_save)
    real_stop = window.trainer.stop

    def stop():
        close_began.set()
        real_stop()

    monkeypatch.setattr(window.trainer, "stop", stop)
    click(qtbot, window.panel.train_button)
    qtbot.waitUntil(in_save.is_set, timeout=LONG)
    started = time.monotonic()
    window.close()
    took = time.monotonic() - started
    assert not window.trainer.is_running() and took < 20
    assert len(saves) == 2  # the save in progress finished; none began after the close
    saved = checkpoint.load_checkpoint(tmp_path / "models" / "mnist_conv.pt")
    assert saved.epoch == saves[1]  # the save that was under way when the close began, complete
    assert os.listdir(tmp_path / "models") == ["mnist_conv.pt"]


def test_closing_with_a_dialog_open(qtbot, make_window):
    window = make_window()
    box = window.messages.show(QMessageBox.Icon.Information, "Hello", "A dialog left open")
    qtbot.waitExposed(box)
    assert box.isVisible() and window.messages.dialogs == [box]
    window.close()
    assert not window.isVisible() and not box.isVisible()
    assert window.messages.dialogs == []


def test_closing_mid_training_with_a_dialog_open(qtbot, make_window, tmp_path):
    window = make_window(epochs=50)
    with qtbot.waitSignal(window.trainer.epoch_finished, timeout=LONG):
        click(qtbot, window.panel.train_button)
    box = window.messages.show(QMessageBox.Icon.Warning, "Still here", "Open while training")
    assert window.trainer.is_running()  # the close below meets a run in progress
    started = time.monotonic()
    window.close()
    assert time.monotonic() - started < 20
    assert not window.trainer.is_running() and not box.isVisible() and window.messages.dialogs == []
    checkpoint.load_checkpoint(tmp_path / "models" / "mnist_conv.pt")
