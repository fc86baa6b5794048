"""Shared fixtures: small MNIST-format files written by the tests, read by the product's own loader."""

from __future__ import annotations

import gc
import os
import sys
import warnings
from pathlib import Path

import pytest

from idx_files import write_tiny_mnist

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


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
def dangling_qthreads():
    """Fail any test that leaves a QThread running."""
    yield
    if "PySide6.QtCore" not in sys.modules:
        return
    from PySide6.QtCore import QThread
    from shiboken6 import isValid

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # isinstance() on every object trips lazy deprecation warnings
        running = [obj for obj in gc.get_objects() if isinstance(obj, QThread) and isValid(obj) and obj.isRunning()]
    for thread in running:  # keep the next tests clean
        thread.quit()
        thread.wait(10_000)
    assert not running, f"test left {len(running)} QThread(s) running: {running}"
