"""Freed activation buffers stay mapped while training, so steps do not page-fault them back in."""

import os
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


# What torch's allocator does with a process's large tensors, seen from inside each entry point
# once it has started: with huge pages asked for, it page-aligns them (and advises MADV_HUGEPAGE);
# otherwise it aligns to 64 bytes, so three 4 MB tensors all page-aligned by chance is 1 in 64³.
PROBE = """
import sys, torch
def large_tensors_are_page_aligned():
    return all(t.data_ptr() % 4096 == 0 for t in [torch.empty(1 << 20) for _ in range(3)])
"""
ENTRY_POINTS = {
    "mnistconv-train": PROBE + """
from mnistconv.core import cli
def probe(args, parser, control):
    print(large_tensors_are_page_aligned())
    return iter(())
cli._session = probe
cli.train_main(["--epochs", "1"])
""",
    "mnistconv-finetune": PROBE + """
from mnistconv.core import cli_finetune
def probe(*args, **kwargs):
    print(large_tensors_are_page_aligned())
    raise SystemExit(0)
cli_finetune.finetune_session = probe
cli_finetune.finetune_main([])
""",
    "mnistconv-gui": PROBE + """
from mnistconv.gui.app import create_application
create_application(["mnistconv-gui"])
print(large_tensors_are_page_aligned())
""",
}


def entry_point_aligns(name: str, huge_pages_setting: str | None) -> bool:
    env = {k: v for k, v in os.environ.items() if k != allocator.HUGE_PAGES_VARIABLE}
    env["QT_QPA_PLATFORM"] = "offscreen"
    if huge_pages_setting is not None:
        env[allocator.HUGE_PAGES_VARIABLE] = huge_pages_setting
    result = subprocess.run([sys.executable, "-c", ENTRY_POINTS[name]], capture_output=True, text=True, env=env, timeout=300)
    assert result.stdout.split()[-1:] in (["True"], ["False"]), result.stdout + result.stderr
    return result.stdout.split()[-1] == "True"


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_entry_points_ask_for_huge_pages_before_their_first_tensor(name):
    assert entry_point_aligns(name, None)
    assert not entry_point_aligns(name, "0")  # a user's THP_MEM_ALLOC_ENABLE=0 is kept
