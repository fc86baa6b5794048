"""Accuracy against size: the seed's family of networks (core.shape), from tiny to wide, on real MNIST.

    python benchmarks/shapes.py [--preset fast] [--epochs N] [--up-to PARAMETERS] [--seed 1] [--data-dir DIR] [--device auto]

Trains each shape of SHAPES with the same preset (the fast one by default: one epoch, one-cycle) and
seed, through the product's own training loop, and writes the "shapes" section of
benchmarks/RESULTS.md: parameters, FLOPs per image, test accuracy after the preset's epochs, the
best one, training seconds per epoch, and the smallest shape that reaches 99 %. The eight shapes
of the fast preset take about 5 minutes on a 2-core CPU; run it alone, or the times mean little.
With --epochs the preset trains longer (one-cycle spreads over them) and the section is
"shapes-N-epochs"; --up-to keeps the shapes of at most that many parameters (the small ones, where
more epochs tell most).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from mnistconv.core import allocator, events  # noqa: E402
from mnistconv.core.data import load_mnist  # noqa: E402
from mnistconv.core.device import describe_device, resolve_device  # noqa: E402
from mnistconv.core.paths import resolve_data_dir  # noqa: E402
from mnistconv.core.presets import PRESETS, preset_config  # noqa: E402
from mnistconv.core.shape import SEED_SHAPE, NetworkShape, count_text  # noqa: E402
from mnistconv.core.train import train  # noqa: E402

from results_file import machine_description, write_section  # noqa: E402

SHAPES = (
    NetworkShape((4, 8, 8, 8), 3, 0),  # four narrow blocks: the last maps are 8 single pixels
    NetworkShape((4,), 3, 0),  # one block, its 4·14·14 features straight to the logits
    NetworkShape((4, 8, 16), 3, 0),  # the seed's layout, a quarter as wide
    NetworkShape((8, 16, 16), 3, 0),
    SEED_SHAPE,
    NetworkShape((16, 32, 32), 5, 0),  # the seed with 5×5 filters
    NetworkShape((16, 32, 32), 3, 128),  # the seed with a hidden layer
    NetworkShape((32, 64, 64), 3, 0),  # twice as wide
)
TARGET = 0.99


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", choices=list(PRESETS), default="fast")
    parser.add_argument("--epochs", type=int, default=None, help="(default: the preset's)")
    parser.add_argument("--up-to", type=int, default=None, metavar="PARAMETERS", help="only shapes this small")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    allocator.keep_freed_memory()  # as mnistconv-train does
    device = resolve_device(args.device)
    data = load_mnist(resolve_data_dir(args.data_dir), device)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for index, shape in enumerate(s for s in SHAPES if args.up_to is None or s.parameters <= args.up_to):
            overrides = {"epochs": args.epochs} if args.epochs else {}
            config = preset_config(args.preset, seed=args.seed, device=args.device, savepath=f"{folder}/{index}",
                                   channels=shape.channels, kernel=shape.kernel, hidden=shape.hidden, **overrides)
            rows.append(measure(shape, config, data))
    write_report(args, rows, describe_device(device))


def measure(shape: NetworkShape, config, data) -> dict:
    epochs = [event for event in train(config, data) if isinstance(event, events.EpochFinished)]
    for event in epochs:
        print(f"{shape.text()}: [{event.epoch}] {event.test_accuracy:.4f} {event.seconds:.1f}s", flush=True)
    return {"shape": shape, "final": epochs[-1].test_accuracy, "best": max(e.test_accuracy for e in epochs),
            "seconds": sorted(e.seconds for e in epochs)[len(epochs) // 2], "epochs": len(epochs)}


def write_report(args, rows: list[dict], device: str) -> None:
    preset = PRESETS[args.preset]
    epochs = rows[0]["epochs"]
    title = f", {epochs} epochs" if args.epochs else ""
    lines = [
        f"## Network shapes: accuracy against size{title}",
        "",
        f"`python benchmarks/shapes.py --preset {args.preset}{f' --epochs {args.epochs}' if args.epochs else ''}"
        f"{f' --up-to {args.up_to}' if args.up_to else ''} --seed {args.seed}`: each shape trained with the "
        f"{preset.title.lower()} preset's settings "
        f"({epochs} epoch{'s' if epochs > 1 else ''}), seed {args.seed}, on {device}; {machine_description()}.",
        "One seed per shape: the seed recipe's accuracy varies by about ±0.1 point from seed to seed "
        "(the seed-group section), so differences smaller than that are not differences.",
        "",
        "| network | parameters | MFLOPs per image | test accuracy | best | seconds per epoch |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in sorted(rows, key=lambda row: row["shape"].parameters):
        shape = row["shape"]
        name = f"**{shape.text()}** (seed)" if shape == SEED_SHAPE else shape.text()
        lines.append(f"| {name} | {count_text(shape.parameters)} | {shape.flops / 1e6:.2f} | {100 * row['final']:.2f} % | "
                     f"{100 * row['best']:.2f} % | {row['seconds']:.1f} |")
    reaching = [row for row in rows if row["best"] >= TARGET]
    smallest = min(reaching, key=lambda row: row["shape"].parameters, default=None)
    lines.append("")
    if smallest is None:
        lines.append(f"No shape reached {TARGET:.0%} with these settings.")
    else:
        shape = smallest["shape"]
        lines.append(f"The smallest shape here that reaches {TARGET:.0%}: **{shape.text()}**, "
                     f"{count_text(shape.parameters)} parameters ({shape.parameters / SEED_SHAPE.parameters:.0%} of the "
                     f"seed's), {100 * smallest['best']:.2f} %.")
    body = "\n".join(lines)
    write_section(f"shapes-{args.epochs}-epochs" if args.epochs else "shapes", body)
    print(body)


if __name__ == "__main__":
    main()
