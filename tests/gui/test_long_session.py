"""A short long session: 1,000 sketchpad predictions and 3 tiny training runs in one window.

The full version, 10,000 predictions on bigger data, is benchmarks/long_session.py (its figures are
in benchmarks/RESULTS.md); this one uses the same driver and the same promise: the memory in use
(RSS after gc and glibc's malloc_trim, see long_session.release_free_memory) grows by less than
50 MB after the first run, no QThread running, no timer left running. The window is hidden while
the 1,000 strokes are read (repainting the plots would only cost time, not memory); it is shown
while it trains, and strokes are drawn during runs 2 and 3.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

import pytest

from idx_files import write_tiny_mnist

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "long_session.py"


def load_driver():
    spec = importlib.util.spec_from_file_location("long_session", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("long_session", module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the current RSS from /proc")
def test_long_session_holds_memory_and_leaves_nothing_running(qtbot, tmp_path, capsys):
    driver = load_driver()
    data_dir = write_tiny_mnist(tmp_path / "data", wrong_test_labels=10)
    window = driver.make_window(data_dir, tmp_path / "models", tmp_path / "settings.ini", epochs=2, batch_size=64)
    qtbot.addWidget(window)
    session = driver.LongSession(window)
    started = time.perf_counter()
    report = session.run(predictions=1_000, runs=3, warmup=100, shown=False, log=lambda _: None)
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(f"\n[long session] {report.predictions:,} predictions, runs {report.runs}, {elapsed:.1f} s; "
              f"RSS growth after run 1: {report.growth_mb:+.1f} MB in use, {report.untrimmed_growth_mb:+.1f} MB "
              f"before trimming\n{report.table()}")
    assert report.runs == ["completed"] * 3
    assert report.predictions >= 1_100
    assert report.growth_mb < driver.GROWTH_LIMIT_MB
    assert report.running_threads == 0 and not window.trainer.is_running()
    assert not report.timers_left_running, report.active_timers
