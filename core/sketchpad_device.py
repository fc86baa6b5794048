"""Where the sketchpad's model runs: Auto (the GPU where CUDA is present, else the CPU), GPU or CPU.

`SketchpadDevices` places each model the sketchpad reads with (`place(predictor)`) on the device the
setting chooses. On the CPU a reading is the Predictor's own. On CUDA the reader keeps a copy of the
weights on the GPU and reads on a CUDA stream of its own, at high priority, so a reading never waits
behind the training step's kernels on the default stream. The GPU copy is made and warmed up on a
background thread (CUDA's start-up takes a second or more); until it is ready, readings run on the
CPU. Any CUDA error, making the copy or reading, moves the sketchpad to the CPU for good (until the
setting is chosen again), said once through `on_fallback`, and that reading is answered on the CPU.
Qt-free: the window gives the setting and shows the line.
"""

from __future__ import annotations

import logging
import threading
from enum import Enum
from typing import Callable

import numpy as np
import torch

from .predict import Predictor

log = logging.getLogger("mnistconv")


class SketchpadDevice(str, Enum):
    AUTO = "auto"  # the GPU where CUDA is present, else the CPU
    GPU = "gpu"
    CPU = "cpu"

    @property
    def label(self) -> str:
        return {"auto": "Auto", "gpu": "GPU", "cpu": "CPU"}[self.value]

    @classmethod
    def parse(cls, value: object) -> "SketchpadDevice":
        """A stored setting read back; anything unknown is Auto."""
        if isinstance(value, cls):
            return value
        try:
            return cls(str(value).lower())
        except ValueError:
            return cls.AUTO


def choose_device(setting: SketchpadDevice | str, cuda_available: Callable[[], bool] = torch.cuda.is_available) -> torch.device:
    """The device a setting means here: GPU and Auto mean CUDA where it is present; without it both mean the CPU."""
    setting = SketchpadDevice.parse(setting)
    if setting is not SketchpadDevice.CPU and cuda_available():
        return torch.device("cuda")
    return torch.device("cpu")


class StreamPredictor:
    """A Predictor on CUDA whose every call runs on `stream`; `.cpu()` at the end of a reading waits
    for that stream only."""

    def __init__(self, predictor: Predictor, stream: torch.cuda.Stream):
        self.predictor = predictor
        self.stream = stream

    def predict(self, images: np.ndarray) -> np.ndarray:
        with torch.cuda.stream(self.stream):
            return self.predictor.predict(images)

    def saliency(self, image: np.ndarray, target: int | None = None) -> np.ndarray:
        with torch.cuda.stream(self.stream):
            return self.predictor.saliency(image, target)


def cuda_twin(predictor: Predictor) -> StreamPredictor:
    """A copy of `predictor`'s weights on CUDA with a high-priority stream of its own, warmed up: the
    first convolution on a GPU loads its kernels, which takes far longer than a reading."""
    stream = torch.cuda.Stream(priority=-1)  # lower numbers are higher priorities
    with torch.cuda.stream(stream):
        twin = StreamPredictor(predictor.copy_to(torch.device("cuda")), stream)
        twin.predict(np.zeros((28, 28), np.float32))
    stream.synchronize()
    return twin


class SketchpadDevices:
    """The sketchpad's device setting, and the readers that follow it."""

    def __init__(self, setting: SketchpadDevice | str = SketchpadDevice.AUTO, *,
                 on_fallback: Callable[[str], None] | None = None,
                 cuda_available: Callable[[], bool] = torch.cuda.is_available, background: bool = True):
        self._setting = SketchpadDevice.parse(setting)
        self.on_fallback = on_fallback or log.warning
        self.cuda_available = cuda_available
        self.background = background  # make GPU copies on a thread of their own (False: at once, for tests)
        self.failure: str | None = None  # the CUDA error that sent the sketchpad to the CPU
        self._lock = threading.Lock()

    @property
    def setting(self) -> SketchpadDevice:
        return self._setting

    def set_setting(self, setting: SketchpadDevice | str) -> None:
        """Choose again; choosing forgets an earlier CUDA failure, so GPU is tried anew."""
        self._setting = SketchpadDevice.parse(setting)
        self.failure = None

    @property
    def device(self) -> torch.device:
        """Where readings run (once a GPU copy is ready): the setting's device, the CPU after a CUDA failure."""
        return torch.device("cpu") if self.failure is not None else choose_device(self._setting, self.cuda_available)

    def place(self, predictor):
        """A reader of `predictor`'s weights on this setting's device (the predictor itself stays on the CPU)."""
        if not isinstance(predictor, Predictor):
            return predictor  # None (no model), or a reader of another kind: read as it is
        return SketchpadReader(predictor, self)

    def fall_back(self, exc: BaseException) -> None:
        """Record a CUDA failure and say so, once: readers after it read on the CPU."""
        with self._lock:
            if self.failure is not None:
                return
            self.failure = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}".rstrip(": ")
        self.on_fallback(f"The sketchpad's model moved to the CPU after a CUDA error ({self.failure})")


class SketchpadReader:
    """Reads drawings with one model on the sketchpad's device; the CPU copy answers until the GPU's is
    ready, and whenever CUDA fails."""

    def __init__(self, predictor: Predictor, devices: SketchpadDevices):
        self.cpu = predictor if predictor.device.type == "cpu" else predictor.copy_to(torch.device("cpu"))
        self.devices = devices
        self.name = predictor.name
        self.accuracy = predictor.accuracy
        self._gpu: StreamPredictor | None = None
        self.ready = threading.Event()  # set once the GPU copy is ready, or will not be made
        if devices.device.type == "cuda":
            if devices.background:
                threading.Thread(target=self._make_gpu_copy, name="sketchpad GPU copy", daemon=True).start()
            else:
                self._make_gpu_copy()
        else:
            self.ready.set()

    def _make_gpu_copy(self) -> None:
        try:
            twin = cuda_twin(self.cpu)
            if self.devices.failure is None:
                self._gpu = twin
        except Exception as exc:  # noqa: BLE001 - any CUDA failure means the CPU, said once
            self.devices.fall_back(exc)
        finally:
            self.ready.set()

    @property
    def model(self) -> torch.nn.Module:
        """The weights it reads with: the CPU copy's network (Save model as… writes these)."""
        return self.cpu.model

    @property
    def temperature(self) -> float:
        return self.cpu.temperature

    @property
    def device(self) -> torch.device:
        """Where the next reading runs."""
        return torch.device("cuda") if self._gpu is not None else torch.device("cpu")

    def _on_device(self, read: Callable[[object], np.ndarray], checks: Callable[[], object]) -> np.ndarray:
        gpu = self._gpu
        if gpu is not None:
            checks()  # a bad image is the caller's ValueError, not a CUDA failure
            try:
                return read(gpu)
            except ValueError:  # the caller's (a saliency target out of range), wherever it runs
                raise
            except Exception as exc:  # noqa: BLE001 - a CUDA error of any kind: the CPU answers from now on
                self._gpu = None
                self.devices.fall_back(exc)
        return read(self.cpu)

    def predict(self, images: np.ndarray) -> np.ndarray:
        return self._on_device(lambda p: p.predict(images), lambda: Predictor._as_batch(images, "predict"))

    def saliency(self, image: np.ndarray, target: int | None = None) -> np.ndarray:
        return self._on_device(lambda p: p.saliency(image, target), lambda: Predictor._as_batch(image, "saliency"))

    def seen(self, image: np.ndarray) -> np.ndarray:
        """The image as the network's first block sees it (core.predict.Predictor.seen), on the CPU."""
        return self.cpu.seen(image)

    def describe(self) -> str:
        return self.cpu.describe()

    def __repr__(self) -> str:
        return f"SketchpadReader({self.describe()!r}, device={self.device})"

