"""GPU figures, for a machine with CUDA: the sketchpad's reading latency (idle and while training runs
on the same GPU), the seed recipe's seconds per epoch and the fast preset's time to 99 %.

    python benchmarks/gpu_check.py [--data-dir DIR] [--dry-run]

Writes the "gpu" section of benchmarks/RESULTS.md. Run through benchmarks/gpu_check.sh, which also
runs the CUDA-marked tests. Exits with status 2 where torch finds no CUDA device. --dry-run runs the
same code on the CPU with a slice of the data and few readings, writes nothing: a check that the
script works on a machine without a GPU (its figures mean nothing).

The readings go through the sketchpad's own path (core.sketchpad_device, device setting GPU): a copy
of the weights on CUDA reading on a high-priority stream of its own, one 28×28 drawing at a time,
every 12 ms as the sketchpad throttles them, from this (the main) thread while another thread trains
the seed recipe on the same GPU, as the window's training thread does.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mnistconv.core import events  # noqa: E402
from mnistconv.core.config import TrainConfig  # noqa: E402
from mnistconv.core.data import MnistData, load_mnist  # noqa: E402
from mnistconv.core.paths import resolve_data_dir  # noqa: E402
from mnistconv.core.predict import Predictor  # noqa: E402
from mnistconv.core.preprocess import to_mnist  # noqa: E402
from mnistconv.core.presets import preset_config  # noqa: E402
from mnistconv.core.sketchpad_device import SketchpadDevice, SketchpadDevices  # noqa: E402
from mnistconv.core.train import TrainingControl, train  # noqa: E402

from call_times import call_times_ms  # noqa: E402
from results_file import machine_description, write_section  # noqa: E402

READ_EVERY_S = 0.012  # the sketchpad reads a drawing at most every 12 ms (gui/sketchpad.py)
BARS = {"reading_while_training_ms": 2.0, "seed_epoch_s": 0.5, "fast_to_99_training_s": 1.0}


def drawing() -> np.ndarray:
    """A canvas-sized drawing of a 7, as the sketchpad's canvas gives it to to_mnist."""
    canvas = np.zeros((280, 280), np.float32)
    canvas[60:80, 70:210] = 1.0
    for row in range(80, 230):
        column = 200 - (row - 80) * 0.6
        canvas[row, int(column) - 9 : int(column) + 9] = 1.0
    return canvas


def percentiles(times_ms: list[float]) -> dict:
    return {"median": statistics.median(times_ms), "p99": float(np.percentile(times_ms, 99)), "max": max(times_ms),
            "n": len(times_ms)}


def sketchpad_reader(device: str, failures: list[str]):
    devices = SketchpadDevices(SketchpadDevice.GPU if device == "cuda" else SketchpadDevice.CPU,
                               on_fallback=failures.append, background=False)
    reader = devices.place(Predictor.bundled(device="cpu"))
    if reader.device.type != device:
        raise RuntimeError(f"the sketchpad's reader is on {reader.device}, not {device}: {failures}")
    return reader


def idle_readings(reader, image: np.ndarray, calls: int) -> dict:
    """A reading alone (the model on its device), and preprocessing + reading, with nothing else running."""
    digit = to_mnist(image)
    return {"predict": percentiles(call_times_ms(lambda: reader.predict(digit), calls, warmup=20)),
            "preprocess_and_predict": percentiles(call_times_ms(lambda: reader.predict(to_mnist(image)), calls, warmup=5))}


def readings_while_training(reader, image: np.ndarray, data: MnistData, config: TrainConfig) -> dict:
    """Readings every READ_EVERY_S from this thread while another thread trains `config` on `data`;
    the training's seconds per epoch meanwhile."""
    digit = to_mnist(image)
    epochs: list[float] = []
    started = threading.Event()
    failure: list[BaseException] = []

    def training() -> None:
        try:
            for event in train(config, data):
                if isinstance(event, events.TrainingStarted):
                    started.set()
                elif isinstance(event, events.EpochFinished):
                    epochs.append(event.seconds)
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            failure.append(exc)
        finally:
            started.set()

    thread = threading.Thread(target=training, name="training")
    thread.start()
    started.wait()
    predict_ms, full_ms = [], []
    while thread.is_alive():
        start = time.perf_counter()
        reader.predict(digit)
        predict_ms.append(1000 * (time.perf_counter() - start))
        start = time.perf_counter()
        reader.predict(to_mnist(image))
        full_ms.append(1000 * (time.perf_counter() - start))
        time.sleep(READ_EVERY_S)
    thread.join()
    if failure:
        raise failure[0]
    return {"predict": percentiles(predict_ms), "preprocess_and_predict": percentiles(full_ms), "epoch_seconds": epochs}


def seed_epochs(data: MnistData, device: str, epochs: int) -> list[dict]:
    """The seed recipe on `device`: training and evaluation seconds of each epoch."""
    result, train_seconds = [], 0.0
    with tempfile.TemporaryDirectory() as savepath:
        # The default progress rate, as users train: each report reads the loss back from the GPU (a sync);
        # the last batch of every epoch reports, so its seconds are the epoch's training time.
        config = TrainConfig(seed=0, device=device, savepath=savepath, epochs=epochs)
        for event in train(config, data):
            if isinstance(event, events.BatchProgress):
                train_seconds = event.seconds
            elif isinstance(event, events.EpochFinished):
                result.append({"train": train_seconds, "total": event.seconds, "accuracy": event.test_accuracy})
    return result


def fast_to_99(data: MnistData, device: str, seed: int) -> dict:
    """The fast preset's training seconds (evaluation apart) and wall seconds to the first epoch at ≥ 99.0 %."""
    control = TrainingControl()
    training, last_batch, best = 0.0, 0.0, 0.0
    with tempfile.TemporaryDirectory() as savepath:
        config = preset_config("fast", seed=seed, device=device, savepath=savepath)
        start = time.perf_counter()
        for event in train(config, data, control):
            if isinstance(event, events.BatchProgress):
                last_batch = event.seconds
            elif isinstance(event, events.EpochFinished):
                training += last_batch
                best = max(best, event.test_accuracy)
                if event.test_accuracy >= 0.99:
                    control.request_stop()
                    return {"training_s": training, "wall_s": time.perf_counter() - start, "epoch": event.epoch,
                            "accuracy": event.test_accuracy}
    return {"training_s": None, "accuracy": best}


def slice_of(data: MnistData, train_images: int, test_images: int) -> MnistData:
    return MnistData(data.train_images[:train_images], data.train_labels[:train_images],
                     data.test_images[:test_images], data.test_labels[:test_images])


def report(idle: dict, busy: dict, epochs: list[dict], fast: dict, failures: list[str], dry_run: bool = False) -> str:
    def row(name: str, figures: dict) -> str:
        return f"| {name} | {figures['median']:.3f} | {figures['p99']:.3f} | {figures['max']:.3f} | {figures['n']} |"

    train_epochs = [e["train"] for e in epochs[1:]] or [epochs[0]["train"]]  # the first includes CUDA's start-up
    seed_epoch = statistics.median(train_epochs)
    fast_seconds = [r["training_s"] for r in fast.values()]
    reading = busy["predict"]["median"]
    lines = [
        "## GPU",
        "",
        (f"`benchmarks/gpu_check.sh --dry-run` on {dt.date.today()}: every step on the CPU with a slice of the data, "
         "a check that the script runs; its figures mean nothing." if dry_run else
         f"`benchmarks/gpu_check.sh` on {dt.date.today()}; machine: {machine_description()}."),
        "",
        "### The sketchpad on the GPU (device setting GPU: its own high-priority CUDA stream)",
        "",
        "| reading, ms | median | p99 | longest | readings |",
        "|---|---:|---:|---:|---:|",
        row("model only, idle", idle["predict"]),
        row("to_mnist + model, idle", idle["preprocess_and_predict"]),
        row("model only, while the seed recipe trains on the same GPU", busy["predict"]),
        row("to_mnist + model, while it trains", busy["preprocess_and_predict"]),
        "",
        "Training meanwhile (seconds per epoch, training and evaluation): "
        + ", ".join(f"{s:.2f}" for s in busy["epoch_seconds"]) + ".",
        f"CUDA failures that sent the sketchpad to the CPU: {len(failures)}" + (f" ({failures[0]})" if failures else "") + ".",
        "",
        "### Training on the GPU",
        "",
        "| seed recipe epoch | training, s | training + evaluation, s | test accuracy |",
        "|---:|---:|---:|---:|",
    ]
    lines += [f"| {i} | {e['train']:.2f} | {e['total']:.2f} | {e['accuracy']:.4f} |" for i, e in enumerate(epochs, 1)]
    lines += ["", "The first epoch includes CUDA's start-up (kernels loaded on first use).", "",
              "| fast preset | training to ≥ 99.0 %, s | wall, with evaluations, s | epoch | accuracy |",
              "|---:|---:|---:|---:|---:|"]
    for seed, r in fast.items():
        if r["training_s"] is None:
            lines.append(f"| seed {seed} | not reached | | | best {r['accuracy']:.4f} |")
        else:
            lines.append(f"| seed {seed} | {r['training_s']:.2f} | {r['wall_s']:.2f} | {r['epoch']} | {r['accuracy']:.4f} |")
    lines += [
        "", "### Against the bars (GPU)", "", "| bar | measured | met |", "|---|---:|:---:|",
        f"| a reading ≤ 2 ms median while training runs | {reading:.3f} ms | {'yes' if reading <= 2 else '**no**'} |",
        f"| seed recipe ≤ 0.5 s per epoch (training; median of epochs 2–) | {seed_epoch:.2f} s "
        f"| {'yes' if seed_epoch <= 0.5 else '**no**'} |",
    ]
    if None in fast_seconds:
        lines.append("| fast preset to 99 % ≤ 1 s of training | not reached on every seed | **no** |")
    else:
        met = max(fast_seconds) <= 1
        lines.append(f"| fast preset to 99 % ≤ 1 s of training | {min(fast_seconds):.2f}–{max(fast_seconds):.2f} s "
                     f"| {'yes' if met else '**no**'} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--dry-run", action="store_true", help="every step on the CPU, a slice of the data; nothing written")
    args = parser.parse_args()
    if args.dry_run:
        device, seed_epoch_count, fast_seeds, calls = "cpu", 2, (0,), 20
    elif not torch.cuda.is_available():
        print("gpu_check: torch finds no CUDA device here", file=sys.stderr)
        return 2
    else:
        device, seed_epoch_count, fast_seeds, calls = "cuda", 4, (0, 1, 2, 3, 4), 1000
    data = load_mnist(resolve_data_dir(args.data_dir), device)
    if args.dry_run:
        data = slice_of(data, 1024, 1000)
    failures: list[str] = []
    reader = sketchpad_reader(device, failures)
    image = drawing()
    print("readings, idle", file=sys.stderr, flush=True)
    idle = idle_readings(reader, image, calls)
    print("readings while training", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory() as savepath:
        busy = readings_while_training(reader, image, data, TrainConfig(seed=1, device=device, savepath=savepath, epochs=2))
    print("seed recipe epochs", file=sys.stderr, flush=True)
    epochs = seed_epochs(data, device, seed_epoch_count)
    print("fast preset to 99 %", file=sys.stderr, flush=True)
    fast = {seed: fast_to_99(data, device, seed) for seed in fast_seeds}
    text = report(idle, busy, epochs, fast, failures, args.dry_run)
    if not args.dry_run:
        write_section("gpu", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
