"""The sketchpad's device: the setting's choice, and the fall back to the CPU on a CUDA error, faked here on the CPU."""

import threading

import numpy as np
import pytest
import torch

from mnistconv.core import sketchpad_device
from mnistconv.core.predict import Predictor
from mnistconv.core.sketchpad_device import SketchpadDevice, SketchpadDevices, choose_device

IMAGE = np.random.default_rng(0).random((28, 28), dtype=np.float32)
CUDA_ERROR = RuntimeError("CUDA error: an illegal memory access was encountered\nCUDA kernel errors might be reported later")


@pytest.fixture(scope="module")
def predictor():
    return Predictor.bundled(device="cpu")


class FakeTwin:
    """Stands in for the GPU copy: answers a fixed reading, or fails as CUDA would."""

    def __init__(self, fail: bool = False):
        self.fail = fail
        self.calls = 0

    def predict(self, images):
        self.calls += 1
        if self.fail:
            raise CUDA_ERROR
        return np.full((1, 10), 0.1, np.float32)

    def saliency(self, image, target=None):
        self.calls += 1
        if self.fail:
            raise CUDA_ERROR
        if target is not None and not 0 <= target < 10:
            raise ValueError("saliency's target must be a class 0–9")
        return np.zeros((28, 28), np.float32)


@pytest.fixture
def fake_cuda(monkeypatch):
    """CUDA 'present', GPU copies made by `twins` in turn (an exception in it is raised on copying)."""
    twins = []
    made = []

    def twin(predictor):
        item = twins.pop(0) if twins else FakeTwin()
        if isinstance(item, BaseException):
            raise item
        made.append(item)
        return item

    monkeypatch.setattr(sketchpad_device, "cuda_twin", twin)
    return twins, made


def devices(lines, setting=SketchpadDevice.AUTO, cuda=True, background=False):
    return SketchpadDevices(setting, on_fallback=lines.append, cuda_available=lambda: cuda, background=background)


@pytest.mark.parametrize("setting, cuda, expected", [
    ("auto", True, "cuda"), ("auto", False, "cpu"), ("gpu", True, "cuda"), ("gpu", False, "cpu"),
    ("cpu", True, "cpu"), ("cpu", False, "cpu"), ("nonsense", True, "cuda"),
])
def test_the_setting_chooses_the_device(setting, cuda, expected):
    assert choose_device(setting, lambda: cuda).type == expected


def test_a_stored_setting_reads_back_and_anything_else_is_auto():
    assert SketchpadDevice.parse("GPU") is SketchpadDevice.GPU
    assert SketchpadDevice.parse(SketchpadDevice.CPU) is SketchpadDevice.CPU
    assert SketchpadDevice.parse(None) is SketchpadDevice.AUTO
    assert [d.label for d in SketchpadDevice] == ["Auto", "GPU", "CPU"]


def test_without_cuda_the_reader_is_the_cpu_predictor(predictor, fake_cuda):
    lines = []
    reader = devices(lines, cuda=False).place(predictor)
    assert reader.device.type == "cpu" and reader.ready.is_set()
    np.testing.assert_array_equal(reader.predict(IMAGE), predictor.predict(IMAGE))
    assert reader.describe() == predictor.describe() and reader.name == predictor.name
    assert fake_cuda[1] == [] and lines == []


def test_cpu_setting_makes_no_gpu_copy_even_with_cuda(predictor, fake_cuda):
    reader = devices([], SketchpadDevice.CPU).place(predictor)
    assert reader.device.type == "cpu" and fake_cuda[1] == []


def test_with_cuda_readings_run_on_the_gpu_copy(predictor, fake_cuda):
    lines = []
    reader = devices(lines).place(predictor)
    assert reader.device.type == "cuda"
    np.testing.assert_array_equal(reader.predict(IMAGE), np.full((1, 10), 0.1, np.float32))
    assert reader.saliency(IMAGE, 3).shape == (28, 28)
    assert fake_cuda[1][0].calls == 2 and lines == []


def test_a_cuda_error_while_reading_falls_back_to_the_cpu_with_one_line(predictor, fake_cuda):
    twins, made = fake_cuda
    twins.append(FakeTwin(fail=True))
    lines = []
    place = devices(lines)
    reader = place.place(predictor)
    assert reader.device.type == "cuda"
    np.testing.assert_array_equal(reader.predict(IMAGE), predictor.predict(IMAGE))  # answered, on the CPU
    assert reader.device.type == "cpu" and place.device.type == "cpu"
    reader.predict(IMAGE)
    assert made[0].calls == 1  # the GPU copy is not tried again
    assert len(lines) == 1
    assert "CPU" in lines[0] and "CUDA error: an illegal memory access was encountered" in lines[0]
    assert "\n" not in lines[0]
    # The next model (a new best one) starts on the CPU: no second copy, no second line.
    later = place.place(predictor)
    assert later.device.type == "cpu" and len(made) == 1 and len(lines) == 1


def test_a_cuda_error_in_saliency_falls_back_too(predictor, fake_cuda):
    fake_cuda[0].append(FakeTwin(fail=True))
    lines = []
    reader = devices(lines).place(predictor)
    np.testing.assert_array_equal(reader.saliency(IMAGE, 4), predictor.saliency(IMAGE, 4))
    assert len(lines) == 1 and reader.device.type == "cpu"


def test_a_cuda_error_making_the_copy_falls_back_with_one_line(predictor, fake_cuda):
    fake_cuda[0].append(RuntimeError("CUDA error: out of memory"))
    lines = []
    reader = devices(lines).place(predictor)
    assert reader.device.type == "cpu" and reader.ready.is_set()
    np.testing.assert_array_equal(reader.predict(IMAGE), predictor.predict(IMAGE))
    assert lines == ["The sketchpad's model moved to the CPU after a CUDA error (RuntimeError: CUDA error: out of memory)"]


def test_choosing_again_tries_the_gpu_anew(predictor, fake_cuda):
    fake_cuda[0].append(RuntimeError("CUDA error: launch failure"))
    lines = []
    place = devices(lines)
    assert place.place(predictor).device.type == "cpu"
    place.set_setting("gpu")
    assert place.setting is SketchpadDevice.GPU and place.failure is None
    assert place.place(predictor).device.type == "cuda"
    assert len(lines) == 1


def test_a_bad_image_is_the_callers_error_not_a_cuda_failure(predictor, fake_cuda):
    lines = []
    reader = devices(lines).place(predictor)
    with pytest.raises(ValueError, match="pixel values"):
        reader.predict(np.full((28, 28), 255.0, np.float32))
    with pytest.raises(ValueError, match="target"):
        reader.saliency(IMAGE, 12)
    assert reader.device.type == "cuda" and lines == []


def test_the_cpu_answers_until_the_background_copy_is_ready(predictor, monkeypatch):
    release = threading.Event()

    def slow_twin(_):
        release.wait(30)
        return FakeTwin()

    monkeypatch.setattr(sketchpad_device, "cuda_twin", slow_twin)
    reader = devices([], background=True).place(predictor)
    assert not reader.ready.is_set() and reader.device.type == "cpu"
    np.testing.assert_array_equal(reader.predict(IMAGE), predictor.predict(IMAGE))
    release.set()
    assert reader.ready.wait(30)
    assert reader.device.type == "cuda"
    np.testing.assert_array_equal(reader.predict(IMAGE), np.full((1, 10), 0.1, np.float32))


def test_a_predictor_on_another_device_is_read_from_a_cpu_copy(predictor):
    reader = devices([], cuda=False).place(Predictor.from_model(predictor.model, torch.device("cpu"), name="copy"))
    assert reader.cpu.device.type == "cpu" and reader.name == "copy"
    assert devices([]).place(None) is None
