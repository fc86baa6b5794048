"""File → Sketchpad device: Auto, GPU or CPU for the model the sketchpad reads with (core.sketchpad_device).

The choice is kept in the window's settings under SETTINGS_KEY. GPU is greyed out where torch finds
no CUDA device. `fallback_reported` carries core's one line about a CUDA failure to the window's
thread, whichever thread found it.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu, QWidget

from mnistconv.core.sketchpad_device import SketchpadDevice, SketchpadDevices

from .settings_reader import Field, Unusable, read

SETTINGS_KEY = "sketchpad/device"
TOOLTIPS = {
    SketchpadDevice.AUTO: "The GPU where CUDA is present, else the CPU",
    SketchpadDevice.GPU: "Read drawings on the GPU, on a CUDA stream of their own (the CPU if CUDA fails)",
    SketchpadDevice.CPU: "Read drawings on the CPU",
}


def device_setting(value: object) -> SketchpadDevice:
    """A stored choice as the menu writes it ("auto", "gpu" or "cpu"; any case, spaces around)."""
    if isinstance(value, str):
        try:
            return SketchpadDevice(value.strip().lower())
        except ValueError:
            pass
    raise Unusable(f"not one of {', '.join(device.value for device in SketchpadDevice)}")


def stored_setting(settings: QSettings, problems: list[str]) -> SketchpadDevice:
    """The stored choice, read through the settings' validating layer: Auto where it is absent or
    unusable (then a line naming the key is added to `problems`)."""
    return read(settings, Field(SETTINGS_KEY, device_setting), problems) or SketchpadDevice.AUTO


class SketchpadDeviceMenu(QMenu):
    device_chosen = Signal(object)  # the SketchpadDevice picked, after `devices` has taken it
    fallback_reported = Signal(str)

    def __init__(self, devices: SketchpadDevices, settings: QSettings, parent: QWidget | None = None):
        super().__init__("Sketchpad &device", parent)
        self.devices = devices
        self.settings = settings
        self.setToolTipsVisible(True)
        group = QActionGroup(self)
        group.setExclusive(True)
        cuda = devices.cuda_available()
        self.device_actions: dict[SketchpadDevice, QAction] = {}
        for device in SketchpadDevice:
            action = QAction(device.label, self)
            action.setCheckable(True)
            action.setChecked(device is devices.setting)
            usable = cuda or device is not SketchpadDevice.GPU
            action.setToolTip(TOOLTIPS[device] if usable else "torch finds no CUDA device here")
            action.setEnabled(usable)
            action.triggered.connect(lambda _=False, d=device: self.choose(d))
            group.addAction(action)
            self.addAction(action)
            self.device_actions[device] = action

    def choose(self, device: SketchpadDevice) -> None:
        self.device_actions[device].setChecked(True)
        self.devices.set_setting(device)
        self.settings.setValue(SETTINGS_KEY, device.value)
        self.device_chosen.emit(device)
