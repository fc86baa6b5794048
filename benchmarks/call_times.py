"""Timing repeated calls of a function: the loop the benchmark scripts share."""

from __future__ import annotations

import time
from typing import Callable


def call_times_ms(function: Callable[[], object], repeats: int, warmup: int = 0) -> list[float]:
    """Milliseconds taken by each of `repeats` calls of `function`, after `warmup` untimed calls."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(1000 * (time.perf_counter() - start))
    return times
