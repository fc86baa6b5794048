"""benchmarks/gui_timings.py's drawing-to-bars measurement still runs against today's sketchpad.

It drives the sketchpad through its internals (the reading's parts are timed one by one), so a
change there can break the benchmark without breaking the app; speed.py then reports no GUI
figures. This runs the short part of it, as speed.py does, in a process of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "gui_timings.py"


def test_the_drawing_latency_benchmark_reads_the_drawn_digit_and_times_each_part():
    result = subprocess.run([sys.executable, str(BENCHMARK), "--only", "latency"], capture_output=True, text=True,
                            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    latency = json.loads(result.stdout.strip().splitlines()[-1])["canvas_latency"]
    assert latency["read_as"] == latency["drawn_digit"]
    assert set(latency["parts_ms"]) == {"ink", "to_mnist", "predict", "show_preview", "show_prediction"}
    assert all(ms > 0 for ms in latency["parts_ms"].values())
    assert latency["stroke_to_bars_ms"]["readings"] > 0 and latency["work_ms"]["n"] > 0
