"""GPU figures, for a machine with CUDA: seed recipe s/epoch, fast preset time to 99 %, prediction latency.

    python benchmarks/gpu_check.py [--data-dir DIR]

Writes the "gpu" section of benchmarks/RESULTS.md. Run through benchmarks/gpu_check.sh, which also
runs the CUDA-marked tests. Exits with status 2 where torch finds no CUDA device.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mnistconv.core import events  # noqa: E402
from mnistconv.core.config import TrainConfig  # noqa: E402
from mnistconv.core.data import load_mnist  # noqa: E402
from mnistconv.core.paths import resolve_data_dir  # noqa: E402
from mnistconv.core.predict import Predictor  # noqa: E402
from mnistconv.core.presets import preset_config  # noqa: E402
from mnistconv.core.train import TrainingControl, train  # noqa: E402

from call_times import call_times_ms  # noqa: E402
from results_file import machine_description, write_section  # noqa: E402


def seed_epochs(data, epochs: int = 3) -> list[float]:
    with tempfile.TemporaryDirectory() as savepath:
        run = train(TrainConfig(seed=0, device="cuda", savepath=savepath, epochs=epochs), data)
        return [e.seconds for e in run if isinstance(e, events.EpochFinished)]


def fast_to_99(data, seed: int) -> tuple[float | None, float]:
    control = TrainingControl()
    with tempfile.TemporaryDirectory() as savepath:
        start = time.perf_counter()
        best = 0.0
        for event in train(preset_config("fast", seed=seed, device="cuda", savepath=savepath), data, control):
            if isinstance(event, events.EpochFinished):
                best = max(best, event.test_accuracy)
                if event.test_accuracy >= 0.99:
                    control.request_stop()
                    return time.perf_counter() - start, event.test_accuracy
    return None, best


def prediction_latency(calls: int = 1000) -> tuple[float, float]:
    predictor = Predictor.bundled(device="cuda")
    image = np.random.default_rng(0).random((28, 28), dtype=np.float32)
    times = call_times_ms(lambda: predictor.predict(image), calls, warmup=50)
    return statistics.median(times), float(np.percentile(times, 99))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("gpu_check: torch finds no CUDA device here", file=sys.stderr)
        return 2
    data = load_mnist(resolve_data_dir(args.data_dir), "cuda")
    epochs = seed_epochs(data)
    fast = {seed: fast_to_99(data, seed) for seed in (0, 1, 2)}
    median_ms, p99_ms = prediction_latency()
    lines = [
        "## GPU",
        "",
        f"`benchmarks/gpu_check.sh` on {dt.date.today()}; machine: {machine_description()}.",
        "",
        f"- Seed recipe, seconds per epoch (training + evaluation), epochs 1–{len(epochs)}: "
        + ", ".join(f"{s:.2f}" for s in epochs) + " (the first includes CUDA start-up).",
    ]
    for seed, (seconds, acc) in fast.items():
        outcome = f"≥ 99.0 % after {seconds:.2f} s ({acc:.4f})" if seconds else f"99.0 % not reached (best {acc:.4f})"
        lines.append(f"- Fast preset, seed {seed}: {outcome}")
    lines.append(f"- Single-image prediction on CUDA: median {median_ms:.3f} ms, p99 {p99_ms:.3f} ms over 1,000 calls.")
    text = "\n".join(lines)
    write_section("gpu", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
