"""Shared fixtures: small MNIST-format files written by the tests, read by the product's own loader."""

from __future__ import annotations

import os
import time
import traceback
import weakref
from pathlib import Path

import pytest

from idx_files import write_tiny_mnist

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # The workers share the cores: one torch thread each, or their thread pools spin against each other.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
SHORT_SHOT_MS = 1000  # a single-shot QTimer due within this is let finish after a test


@pytest.fixture(autouse=True)
def own_run_store(tmp_path, monkeypatch) -> Path:
    """Every test records its runs in a store of its own, never in the user's (nor keeps digits there)."""
    folder = tmp_path / "run-store"
    monkeypatch.setenv("MNISTCONV_RUNS", str(folder))
    monkeypatch.setenv("MNISTCONV_PERSONAL", str(tmp_path / "personal-digits"))  # and keeps its own digits
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))  # and saves nothing in the user's data folder
    monkeypatch.setenv("MNISTCONV_BANKS", str(tmp_path / "banks"))  # nor keeps digit banks in the user's cache
    return folder


@pytest.fixture
def tiny_mnist_dir(tmp_path) -> Path:
    """A data folder in torchvision's layout with 512 training and 200 test images."""
    return write_tiny_mnist(tmp_path / "data")


@pytest.fixture
def tiny_data(tiny_mnist_dir):
    from mnistconv.core.data import load_mnist

    return load_mnist(tiny_mnist_dir, "cpu")


@pytest.fixture
def no_network_acquisition(monkeypatch, tmp_path):
    """Make both acquisition routes fail at once: no npm on PATH, torchvision mirrors at a dead file:// URL."""
    from torchvision.datasets import MNIST

    empty_bin = tmp_path / "empty-bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))
    monkeypatch.setattr(MNIST, "mirrors", [(tmp_path / "no-mirror").as_uri() + "/"])


@pytest.fixture(autouse=True)
def dangling_qthreads(monkeypatch):
    """Fail any test that leaves a QThread running, saying where it was started.

    QThread.start is wrapped to remember each started thread (weakly) and the caller's stack, so
    the check after the test looks at those threads only, not at the whole heap."""
    from PySide6.QtCore import QThread
    from shiboken6 import isValid

    started: list[tuple[weakref.ref, str]] = []
    real_start = QThread.start

    def recording_start(thread, *args, **kwargs):
        started.append((weakref.ref(thread), "".join(traceback.format_stack(limit=6)[:-1])))
        return real_start(thread, *args, **kwargs)

    monkeypatch.setattr(QThread, "start", recording_start)
    yield started
    running = [(thread, where) for ref, where in started
               if (thread := ref()) is not None and isValid(thread) and thread.isRunning()]
    for thread, _ in running:  # keep the next tests clean
        thread.quit()
        thread.wait(10_000)
    assert not running, "test left QThread(s) running, started at:\n" + "\n".join(where for _, where in running)


@pytest.fixture(autouse=True)
def dangling_qtimers(monkeypatch):
    """Fail any test that leaves a QTimer running, saying where it was started: a repeating timer, or
    a single shot not due within SHORT_SHOT_MS (a short one, such as a throttle's, is let finish).
    The timers are stopped for the next test.

    QTimer.start is wrapped as QThread.start is above: only the timers this test started are looked at."""
    from PySide6.QtCore import QCoreApplication, QTimer
    from shiboken6 import isValid

    started: list[tuple[weakref.ref, str]] = []
    real_start = QTimer.start

    def recording_start(timer, *args, **kwargs):
        started.append((weakref.ref(timer), "".join(traceback.format_stack(limit=8)[:-1])))
        return real_start(timer, *args, **kwargs)

    def active() -> dict:
        return {id(timer): (timer, where) for ref, where in started
                if (timer := ref()) is not None and isValid(timer) and timer.isActive()}

    monkeypatch.setattr(QTimer, "start", recording_start)
    yield started
    deadline = time.monotonic() + SHORT_SHOT_MS / 1000
    while any(timer.isSingleShot() and timer.remainingTime() <= SHORT_SHOT_MS for timer, _ in active().values()) \
            and time.monotonic() < deadline:
        QCoreApplication.processEvents()
        time.sleep(0.005)
    running = active()
    for timer, _ in running.values():
        timer.stop()
    assert not running, "test left QTimer(s) running, started at:\n" + "\n".join(where for _, where in running.values())


@pytest.fixture
def sync_calls(monkeypatch) -> list[tuple[str, object]]:
    """The fsync and rename calls made from now on, in order: ("fsync", inode) and ("rename onto", name).
    What a power cut leaves cannot be tried in a test; the calls that make a write survive one can."""
    calls = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        calls.append(("fsync", os.fstat(fd).st_ino))
        real_fsync(fd)

    def replace(source, target):
        calls.append(("rename onto", os.path.basename(target)))
        real_replace(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return calls
