"""The main window as the GUI tests build it."""

import pytest
from PySide6.QtCore import QSettings

from mnistconv.gui.main_window import MainWindow

from idx_files import write_tiny_mnist


@pytest.fixture
def make_window(qtbot, tmp_path):
    """A factory of windows with their own settings file, the tiny data set and a temporary save folder.

    `mislabelled` test digits (of 200) keep accuracy under the 99.9 % early exit; with 0 an early
    exit comes fast."""

    def make(epochs=3, batch_size=64, seed=0, lr=None, mislabelled=10):
        data_dir = tmp_path / f"data-{mislabelled}"
        if not data_dir.exists():
            write_tiny_mnist(data_dir, wrong_test_labels=mislabelled)
        settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings)
        qtbot.addWidget(window)
        panel = window.panel
        panel.progress_interval_s = 0.0  # every batch reported, however fast this machine is
        panel.savepath_edit.setText(str(tmp_path / "models"))
        panel.data_dir_edit.setText(str(data_dir))
        panel.epochs_spin.setValue(epochs)
        panel.batch_spin.setValue(batch_size)
        panel.seed_spin.setValue(seed)
        panel.device_combo.setCurrentIndex(panel.device_combo.findData("cpu"))
        if lr is not None:
            panel.lr_edit.setText(lr)
        window.show()
        return window

    return make


@pytest.fixture
def shrink_to_minimum(qtbot):
    """Resize a window to its smallest size and wait until it has it."""

    def shrink(window):
        minimum = window.minimumSizeHint()
        window.resize(minimum)
        qtbot.waitUntil(lambda: window.size() == minimum.expandedTo(window.minimumSize()), timeout=5000)
        return window

    return shrink
