"""CUDA-only checks, run by benchmarks/gpu_check.sh where a GPU is present; skipped elsewhere."""

import numpy as np
import pytest
import torch

from mnistconv.core.predict import Predictor

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]


def test_prediction_on_cuda_matches_the_cpu():
    image = np.random.default_rng(0).random((3, 28, 28), dtype=np.float32)
    on_gpu = Predictor.bundled(device="cuda")
    assert on_gpu.device.type == "cuda"
    np.testing.assert_allclose(on_gpu.predict(image), Predictor.bundled(device="cpu").predict(image), atol=1e-4)


def test_auto_picks_cuda():
    assert Predictor.bundled(device="auto").device.type == "cuda"


def test_the_sketchpad_reads_on_the_gpu_on_a_stream_of_its_own():
    """A reading does not wait behind work queued on the default stream (where training runs): it
    returns while a long kernel queued there before it is still running."""
    from mnistconv.core.sketchpad_device import SketchpadDevice, SketchpadDevices

    lines = []
    reader = SketchpadDevices(SketchpadDevice.GPU, on_fallback=lines.append, background=False).place(
        Predictor.bundled(device="cpu"))
    assert reader.device.type == "cuda" and lines == []
    image = np.random.default_rng(1).random((2, 28, 28), dtype=np.float32)
    np.testing.assert_allclose(reader.predict(image), reader.cpu.predict(image), atol=1e-4)
    torch.cuda.synchronize()
    torch.cuda._sleep(5_000_000_000)  # several seconds of GPU time on the default stream
    reader.predict(image)
    busy = not torch.cuda.default_stream().query()
    torch.cuda.synchronize()
    assert busy, "the default stream's work ended before the reading came back: the reading waited for it"
