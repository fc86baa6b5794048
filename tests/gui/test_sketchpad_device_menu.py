"""File → Sketchpad device: the setting, kept between sessions; CUDA faked here, and made to fail."""

import threading

import numpy as np
import torch
from PySide6.QtCore import QSettings

from mnistconv.core import checkpoint, sketchpad_device
from mnistconv.core.sketchpad_device import SketchpadDevice
from mnistconv.gui.main_window import MainWindow
from mnistconv.gui.sketchpad_device_menu import SETTINGS_KEY


def fallback_lines(window):
    return [line for line in window.log.lines() if "moved to the CPU after a CUDA error" in line]


def test_auto_by_default_and_gpu_greyed_out_without_cuda(make_window):
    window = make_window()
    menu = window.device_menu
    assert window.sketchpad_devices.setting is SketchpadDevice.AUTO
    assert menu.device_actions[SketchpadDevice.AUTO].isChecked()
    assert menu.device_actions[SketchpadDevice.GPU].isEnabled() is torch.cuda.is_available()
    if not torch.cuda.is_available():
        assert window.sketchpad.predictor.device.type == "cpu"
    assert "Sketchpad" in menu.title()


def test_the_choice_is_kept_between_sessions(qtbot, make_window, tmp_path):
    window = make_window()
    window.device_menu.device_actions[SketchpadDevice.CPU].trigger()
    assert window.sketchpad_devices.setting is SketchpadDevice.CPU
    assert window.sketchpad.predictor.device.type == "cpu"
    window.close()
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    assert settings.value(SETTINGS_KEY) == "cpu"
    restored = MainWindow(settings=settings)
    qtbot.addWidget(restored)
    assert restored.sketchpad_devices.setting is SketchpadDevice.CPU
    assert restored.device_menu.device_actions[SketchpadDevice.CPU].isChecked()


class FailingTwin:
    def predict(self, images):
        raise RuntimeError("CUDA error: unspecified launch failure")


def test_a_cuda_failure_while_reading_is_one_line_in_the_log_and_the_pad_keeps_reading(make_window, monkeypatch):
    window = make_window()
    monkeypatch.setattr(sketchpad_device, "cuda_twin", lambda predictor: FailingTwin())
    devices = window.sketchpad_devices
    devices.cuda_available, devices.background = (lambda: True), False
    window.device_menu.choose(SketchpadDevice.GPU)
    reader = window.sketchpad.predictor
    assert reader.device.type == "cuda"
    image = np.zeros((28, 28), np.float32)
    image[4:24, 12:16] = 1.0
    for _ in range(3):
        assert reader.predict(image).shape == (1, 10)
    assert reader.device.type == "cpu"
    assert len(fallback_lines(window)) == 1
    assert "CUDA error: unspecified launch failure" in fallback_lines(window)[0]


def test_a_failure_on_the_copying_thread_reaches_the_log_on_the_windows_thread(qtbot, make_window, monkeypatch):
    window = make_window()
    seen_on = []

    def failing_copy(predictor):
        raise RuntimeError("CUDA error: out of memory")

    monkeypatch.setattr(sketchpad_device, "cuda_twin", failing_copy)
    window.log.add = lambda text, level="info", add=window.log.add: (seen_on.append(threading.current_thread()), add(text, level))
    window.sketchpad_devices.cuda_available = lambda: True
    window.device_menu.choose(SketchpadDevice.AUTO)
    qtbot.waitUntil(lambda: len(fallback_lines(window)) == 1, timeout=10_000)
    assert seen_on[-1] is threading.main_thread()
    assert window.sketchpad.predictor.device.type == "cpu"


def test_choosing_a_device_keeps_the_models_file_for_save_model_as(make_window, tmp_path):
    window = make_window()
    window.device_menu.choose(SketchpadDevice.CPU)
    reader = window.sketchpad.predictor
    target = tmp_path / "after-the-choice.pt"
    assert window.sketchpad_model.save_model_file(target), [box.text() for box in window.messages.dialogs]
    saved = checkpoint.load_checkpoint(target)
    for name, tensor in reader.model.state_dict().items():
        assert torch.equal(saved.model_state[name], tensor.cpu()), name
