"""The full seed recipe (20 epochs) on real MNIST, next to the seed's own per-epoch accuracies.

    python benchmarks/seed_recipe.py [--data-dir DIR] [--seed N]

Writes the "seed-recipe" section of benchmarks/RESULTS.md. Takes a few minutes on a CPU.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from mnistconv.core import allocator, events  # noqa: E402
from mnistconv.core.acquire import ensure_mnist  # noqa: E402
from mnistconv.core.config import TrainConfig  # noqa: E402
from mnistconv.core.data import load_mnist  # noqa: E402
from mnistconv.core.device import resolve_device  # noqa: E402
from mnistconv.core.evaluate import evaluate_saved_model  # noqa: E402
from mnistconv.core.paths import resolve_data_dir  # noqa: E402
from mnistconv.core.train import train  # noqa: E402

from results_file import machine_description, write_section  # noqa: E402

# The seed's log (Flux, 20 epochs): test accuracy after each epoch.
SEED_ACCURACY = [0.9794, 0.9867, 0.9884, 0.9868, 0.9870, 0.9900, 0.9901, 0.9904, 0.9856, 0.9885,
                 0.9894, 0.9888, 0.9876, 0.9924, 0.9924, 0.9921, 0.9924, 0.9919, 0.9924, 0.9919]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    allocator.keep_freed_memory()  # as mnistconv-train does
    device = resolve_device(args.device)
    data_dir = resolve_data_dir(args.data_dir)
    data = load_mnist(ensure_mnist(data_dir), device)
    load_before = os.getloadavg()[0]
    rows, notes = [], []
    with tempfile.TemporaryDirectory() as savepath:
        config = TrainConfig(seed=args.seed, device=args.device, savepath=savepath)
        for event in train(config, data):
            if isinstance(event, events.EpochFinished):
                rows.append(event)
                print(f"[{event.epoch}] {event.test_accuracy:.4f} {event.seconds:.1f}s", flush=True)
            elif isinstance(event, (events.LrDropped, events.EarlyExit, events.Converged, events.NanAbort)):
                notes.append(f"epoch {event.epoch}: {type(event).__name__}")
            elif isinstance(event, events.Finished):
                finished = event
        reloaded, _ = evaluate_saved_model(savepath, data)
    lines = [
        "## Seed recipe, full run on real MNIST",
        "",
        f"`python benchmarks/seed_recipe.py --seed {args.seed}` on {dt.date.today()}; machine: {machine_description()}.",
        "",
        "| epoch | seed (Flux) | mnistconv | lr | seconds |",
        "|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        seed_acc = f"{SEED_ACCURACY[row.epoch - 1]:.4f}" if row.epoch <= len(SEED_ACCURACY) else ""
        lines.append(f"| {row.epoch} | {seed_acc} | {row.test_accuracy:.4f} | {row.lr:g} | {row.seconds:.1f} |")
    seconds = sorted(r.seconds for r in rows)
    lines += [
        "",
        f"Finished: {finished.reason} after {finished.epochs_run} epochs; "
        f"best {finished.best_accuracy:.4f} at epoch {finished.best_epoch}; "
        f"the saved model reloaded (the seed's `test()`): {reloaded:.4f} (seed: 0.9924).",
        f"Seconds per epoch (training + evaluation): median {seconds[len(seconds) // 2]:.1f}, "
        f"min {seconds[0]:.1f}, max {seconds[-1]:.1f}.",
        f"Schedule events: {', '.join(notes) or 'none'}.",
        f"1-minute load average before the run {load_before:.1f}, after it {os.getloadavg()[0]:.1f} "
        "(above 2 on this 2-core machine means other work shared the CPU and the seconds are inflated).",
    ]
    write_section("seed-recipe", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
