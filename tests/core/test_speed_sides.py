"""benchmarks/speed.py compares like with like: the straight port never runs with the project's
process-wide memory settings, and the small-pages side is the project without huge pages."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from mnistconv.core import allocator

SPEED = Path(__file__).resolve().parents[2] / "benchmarks" / "speed.py"


def load_speed():
    spec = importlib.util.spec_from_file_location("speed_benchmark", SPEED)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_each_side_gets_its_own_huge_pages_setting(monkeypatch):
    speed = load_speed()
    variable = allocator.HUGE_PAGES_VARIABLE
    monkeypatch.setenv(variable, "1")  # as in speed.py's own process once it has prepared for training
    assert variable not in speed.side_env("baseline")
    assert variable not in speed.side_env("baseline", {variable: "1", "OTHER": "x"})
    assert speed.side_env("baseline", {variable: "1", "OTHER": "x"})["OTHER"] == "x"
    assert speed.side_env("small_pages")[variable] == "0"
    for side in ("project", "recorded", "torch_step"):
        assert speed.side_env(side)[variable] == "1"
    assert set(speed.SIDES) == {"baseline", "project", "recorded", "torch_step", "small_pages"}
