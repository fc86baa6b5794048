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
