"""Freed activation buffers stay mapped while training, so steps do not page-fault them back in."""

import platform
import subprocess
import sys

import pytest

from mnistconv.core import allocator

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


# Ten training steps of batch 128 after five warm-up steps, in a fresh interpreter: the page
# faults they cost, with glibc's default thresholds or with keep_freed_memory().
CHILD = """
import resource, sys, torch
from torch.nn import functional as F
from mnistconv.core import allocator
from mnistconv.core.model import build_model
from mnistconv.core.train import make_optimizer
if sys.argv[1] == "keep":
    assert allocator.keep_freed_memory()
model = build_model().to(memory_format=torch.channels_last)
optimizer = make_optimizer(model, lr=3e-3)
x, y = torch.rand(128, 1, 28, 28), torch.randint(0, 10, (128,))
def steps(n):
    for _ in range(n):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
steps(5)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
steps(10)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
allocator.release_freed_memory()
"""


def page_faults_of_ten_steps(mode: str) -> int:
    result = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return int(result.stdout.split()[-1])


@pytest.mark.skipif(not GLIBC, reason="the thresholds are glibc's")
def test_training_steps_reuse_their_buffers_without_page_faults():
    default, kept = page_faults_of_ten_steps("default"), page_faults_of_ten_steps("keep")
    # Measured here: about 51,000 faults with glibc's defaults, 0–10 kept.
    assert kept < 2_000 and default > 10 * max(kept, 100), (default, kept)


def test_does_nothing_harmful_off_glibc(monkeypatch):
    allocator._glibc.cache_clear()
    allocator.keep_freed_memory.cache_clear()
    monkeypatch.setattr(allocator.sys, "platform", "darwin")
    try:
        assert allocator.keep_freed_memory() is False
        allocator.release_freed_memory()
    finally:
        allocator._glibc.cache_clear()
        allocator.keep_freed_memory.cache_clear()
