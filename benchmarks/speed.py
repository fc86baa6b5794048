"""Speed of mnistconv against a straight port of the seed, measured in one run on one machine.

    python benchmarks/speed.py [--data-dir DIR] [--skip-gui]

Writes the "speed" section of benchmarks/RESULTS.md. On a 2-core CPU it takes about 13 minutes
(more on a slow day):
- training: the baseline (benchmarks/baseline.py) and the project interleaved epoch by epoch,
  2 epochs on each of seeds 0 and 1, so both sides see the same machine state; ms per batch and
  s per epoch, and the accuracies side by side. Each side runs in a worker process of its own
  (started by this one, which hands out the epochs in turn): the project changes process-wide
  settings (glibc's allocator thresholds) that would otherwise speed up the baseline too. A third
  worker runs the project with its former optimizer, Adam over one flat buffer of all parameters
  (benchmarks/flat_adam.py), against torch's fused per-tensor Adam that replaced it;
- test-set evaluation, 5 times each side, in the same two workers;
- time to first ≥ 99.0 % test accuracy: the seed recipe (seed 0) and the fast preset (seeds 0–2);
- peak memory of one training epoch, each side in a fresh process;
- the GUI figures from benchmarks/gui_timings.py (start-up, drawing-to-bars latency, single-image
  prediction latency, event-loop gaps during a training epoch, and drawing on the sketchpad during
  another epoch), run as a subprocess.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from mnistconv.core import allocator, events  # noqa: E402
from mnistconv.core import train as train_module  # noqa: E402
from mnistconv.core.acquire import ensure_mnist  # noqa: E402
from mnistconv.core.config import TrainConfig  # noqa: E402
from mnistconv.core.data import load_mnist  # noqa: E402
from mnistconv.core.evaluate import evaluate  # noqa: E402
from mnistconv.core.model import build_model  # noqa: E402
from mnistconv.core.paths import resolve_data_dir  # noqa: E402
from mnistconv.core.presets import preset_config  # noqa: E402
from mnistconv.core.train import TrainingControl, train  # noqa: E402

import baseline  # noqa: E402
import flat_adam  # noqa: E402
from results_file import machine_description, write_section  # noqa: E402

SEEDS = (0, 1)
EPOCHS_PER_SEED = 2
SIDES = ("baseline", "project", "flat_adam")  # flat_adam: the project with its former optimizer


def project_epochs(data, seed: int, savepath: str):
    """The project's loop as epoch-sized steps: dicts shaped like baseline.train_epochs'."""
    config = TrainConfig(seed=seed, device="cpu", savepath=savepath, epochs=EPOCHS_PER_SEED, progress_interval_s=0.0)
    marks = [0.0]
    for event in train(config, data):
        if isinstance(event, events.BatchProgress):
            marks.append(event.seconds)
        elif isinstance(event, events.EpochFinished):
            train_seconds = marks[-1]
            yield {"epoch": event.epoch, "accuracy": event.test_accuracy, "train_seconds": train_seconds,
                   "eval_seconds": event.seconds - train_seconds, "batch_seconds": list(np.diff(marks))}
            marks = [0.0]


class EpochWorker:
    """One side of the comparison in a process of its own, driven a line at a time."""

    def __init__(self, side: str, seed: int, data_dir: Path):
        self.side = side
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--epoch-worker", side, "--seed", str(seed), "--data-dir", str(data_dir)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )

    def ask(self, command: str) -> dict:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.side} worker ended early (status {self.process.wait()})")
        return json.loads(line)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


def epoch_worker(side: str, seed: int, data_dir: Path) -> None:
    """Answer "epoch" with the next epoch's figures and "eval" with one timed evaluation."""
    if side != "baseline":
        allocator.keep_freed_memory()  # as the project's commands and window do at start-up
    if side == "flat_adam":
        train_module.make_optimizer = flat_adam.make_optimizer
    data = load_mnist(data_dir, "cpu")
    with tempfile.TemporaryDirectory() as savepath:
        if side == "baseline":
            epochs = baseline.train_epochs(data, EPOCHS_PER_SEED, seed)
        else:
            epochs = project_epochs(data, seed, savepath)
        seed_net, ours = baseline.SeedNet(), build_model().to(memory_format=torch.channels_last)
        for command in sys.stdin:
            if command.strip() == "epoch":
                answer = next(epochs)
            else:
                start = time.perf_counter()
                if side == "baseline":
                    baseline.accuracy(seed_net, data.test_images, data.test_labels)
                else:
                    evaluate(ours, data.test_images, data.test_labels)
                answer = {"seconds": time.perf_counter() - start}
            print(json.dumps(answer, default=float), flush=True)


def interleaved_training(data_dir: Path, eval_repeats: int = 5) -> tuple[dict, dict]:
    """Per-epoch figures of both sides, then their evaluation times, taken in turns."""
    sides = {side: [] for side in SIDES}
    evals = {side: [] for side in SIDES}
    for seed in SEEDS:
        workers = [EpochWorker(side, seed, data_dir) for side in sides]
        try:
            for _ in range(EPOCHS_PER_SEED):
                for worker in workers:
                    epoch = worker.ask("epoch")
                    epoch["seed"] = seed
                    sides[worker.side].append(epoch)
                    print(f"  {worker.side:9} seed {seed} epoch {epoch['epoch']}: {epoch['accuracy']:.4f} "
                          f"{epoch['train_seconds']:.1f} s", file=sys.stderr, flush=True)
            if seed == SEEDS[-1]:
                for _ in range(eval_repeats):
                    for worker in workers:
                        evals[worker.side].append(worker.ask("eval")["seconds"])
        finally:
            for worker in workers:
                worker.close()
    return sides, evals


def spread(values) -> str:
    values = sorted(values)
    return f"{statistics.median(values):.2f} (min {values[0]:.2f}, max {values[-1]:.2f})"


def time_to_99(data, config: TrainConfig) -> tuple[float | None, int | None, float]:
    """Seconds from the start of training (data already loaded) to the first epoch at ≥ 99.0 %."""
    control = TrainingControl()
    start = time.perf_counter()
    best = 0.0
    for event in train(config, data, control):
        if isinstance(event, events.EpochFinished):
            best = max(best, event.test_accuracy)
            print(f"  {config.lr_schedule} seed {config.seed} epoch {event.epoch}: {event.test_accuracy:.4f}",
                  file=sys.stderr, flush=True)
            if event.test_accuracy >= 0.99:
                elapsed = time.perf_counter() - start
                control.request_stop()
                return elapsed, event.epoch, event.test_accuracy
    return None, None, best


def peak_memory(side: str, data_dir: Path) -> tuple[float, float]:
    """A fresh process loads the data, then trains one epoch: its RSS before training and the peak during it, MB."""
    result = subprocess.run([sys.executable, __file__, "--memory-child", side, "--data-dir", str(data_dir)],
                            capture_output=True, text=True, check=True)
    before, peak = result.stdout.strip().splitlines()[-1].split()
    return float(before), float(peak)


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def memory_child(side: str, data_dir: Path) -> None:
    import threading

    data = load_mnist(data_dir, "cpu")
    before = _rss_mb()
    peak = [before]
    done = threading.Event()

    def sample() -> None:  # ru_maxrss would include start-up; sample RSS while training instead
        while not done.wait(0.01):
            peak[0] = max(peak[0], _rss_mb())

    sampler = threading.Thread(target=sample)
    sampler.start()
    if side == "baseline":
        next(baseline.train_epochs(data, 1, seed=0))
    else:
        allocator.keep_freed_memory()
        with tempfile.TemporaryDirectory() as savepath:
            list(train(TrainConfig(epochs=1, seed=0, device="cpu", savepath=savepath), data))
    done.set()
    sampler.join()
    print(f"{before:.1f} {max(peak[0], _rss_mb()):.1f}")


def gui_timings(data_dir: Path) -> dict | None:
    result = subprocess.run([sys.executable, str(HERE / "gui_timings.py"), "--data-dir", str(data_dir)],
                            capture_output=True, text=True, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    if result.returncode != 0:
        print(result.stderr, file=sys.stderr)
        return None
    return json.loads(result.stdout.strip().splitlines()[-1])


def report(sides, evals, seed99, fast99, memory, gui) -> str:
    b, p = sides["baseline"], sides["project"]
    b_batch = [1000 * s for e in b for s in e["batch_seconds"]]
    p_batch = [1000 * s for e in p for s in e["batch_seconds"]]
    b_epoch = [e["train_seconds"] for e in b]
    p_epoch = [e["train_seconds"] for e in p]
    ratio = statistics.median(b_epoch) / statistics.median(p_epoch)
    lines = [
        "## Speed: the project against a straight port of the seed",
        "",
        f"`python benchmarks/speed.py` on {dt.date.today()}; machine: {machine_description()}; "
        f"1-minute load average at the end {os.getloadavg()[0]:.1f}.",
        "",
        "### Training (seed recipe, CPU; baseline and project interleaved epoch by epoch)",
        "",
        "Each side trains in a worker process of its own, the two taking turns epoch by epoch.",
        "",
        "| | baseline | project |",
        "|---|---:|---:|",
        f"| ms per batch, median (min, max) | {spread(b_batch)} | {spread(p_batch)} |",
        f"| s per epoch of training, median (min, max) | {spread(b_epoch)} | {spread(p_epoch)} |",
        f"| test-set evaluation, s, median (min, max) of {len(evals['project'])} "
        f"| {spread(evals['baseline'])} | {spread(evals['project'])} |",
        f"| resident memory with the data loaded → peak during one training epoch, MB | "
        f"{memory['baseline'][0]:.0f} → {memory['baseline'][1]:.0f} | {memory['project'][0]:.0f} → {memory['project'][1]:.0f} |",
        "",
        f"Training speed: the project is **{ratio:.2f}×** the baseline (median epoch {statistics.median(p_epoch):.2f} s "
        f"against {statistics.median(b_epoch):.2f} s); "
        f"evaluation {statistics.median(evals['baseline']) / statistics.median(evals['project']):.1f}× faster.",
        "",
        "Same recipe, same accuracies within seed noise:",
        "",
        "| seed | epoch | baseline | project |",
        "|---:|---:|---:|---:|",
    ]
    lines += [f"| {x['seed']} | {x['epoch']} | {x['accuracy']:.4f} | {y['accuracy']:.4f} |" for x, y in zip(b, p)]
    lines += ["", *optimizer_report(sides)]
    lines += ["", "### Time to first ≥ 99.0 % test accuracy (training and evaluation, data loaded)", "",
              "| run | seconds | epoch | accuracy then |", "|---|---:|---:|---:|"]
    runs = [("seed recipe, seed 0", seed99)] + [(f"fast preset, seed {s}", r) for s, r in fast99.items()]
    for name, (seconds, epoch, acc) in runs:
        if seconds is None:
            lines.append(f"| {name} | not reached | | best {acc:.4f} |")
        else:
            lines.append(f"| {name} | {seconds:.1f} | {epoch} | {acc:.4f} |")
    if gui:
        lines += ["", "### The app", "", "| figure | value |", "|---|---:|"]
        lines += [f"| {name} | {value} |" for name, value in gui_rows(gui)]
    lines += ["", "### Against the bars (CPU)", "", "| bar | measured | met |", "|---|---:|:---:|"]
    lines += [f"| {bar} | {value} | {'yes' if met else '**no**'} |"
              for bar, value, met in bars(ratio, evals, seed99, fast99, gui)]
    return "\n".join(lines)


def optimizer_report(sides: dict) -> list[str]:
    """torch's fused per-tensor Adam (the project) against the former Adam over one flat buffer."""
    p, f = sides["project"], sides["flat_adam"]
    p_batch = [1000 * s for e in p for s in e["batch_seconds"]]
    f_batch = [1000 * s for e in f for s in e["batch_seconds"]]
    p_epoch, f_epoch = [e["train_seconds"] for e in p], [e["train_seconds"] for e in f]
    ratio = statistics.median(f_epoch) / statistics.median(p_epoch)
    return [
        "### Optimizer: torch's fused Adam per tensor against Adam over one flat buffer",
        "",
        "The same loop, in a third worker taking its turn with the other two; only the optimizer differs.",
        "",
        "| | flat buffer (former) | fused per tensor (now) |",
        "|---|---:|---:|",
        f"| ms per batch, median (min, max) | {spread(f_batch)} | {spread(p_batch)} |",
        f"| s per epoch of training, median (min, max) | {spread(f_epoch)} | {spread(p_epoch)} |",
        "",
        f"Fused per tensor runs at **{ratio:.2f}×** the flat buffer's speed (above 1: faster); accuracies "
        + ", ".join(f"{x['accuracy']:.4f}/{y['accuracy']:.4f}" for x, y in zip(f, p)) + " (flat/fused, by seed and epoch).",
    ]


def bars(ratio: float, evals: dict, seed99, fast99: dict, gui: dict | None) -> list[tuple[str, str, bool]]:
    """Each speed goal with this run's figure and whether it was met."""
    seed_seconds = seed99[0]
    fast_seconds = [r[0] for r in fast99.values()]
    eval_seconds = statistics.median(evals["project"])
    rows = [
        ("training ≥ 1.5× the baseline (aim 2.5×)", f"{ratio:.2f}×", ratio >= 1.5),
        ("seed recipe to ≥ 99.0 % in ≤ 75 s", "not reached" if seed_seconds is None else f"{seed_seconds:.1f} s",
         seed_seconds is not None and seed_seconds <= 75),
        ("fast preset to ≥ 99.0 % in ≤ 30 s on every seed (aim ≤ 20 s)",
         "not reached" if None in fast_seconds else f"{min(fast_seconds):.1f}–{max(fast_seconds):.1f} s",
         None not in fast_seconds and max(fast_seconds) <= 30),
        ("test-set evaluation ≤ 0.6 s", f"{eval_seconds:.2f} s", eval_seconds <= 0.6),
    ]
    if gui and "canvas_latency" in gui:
        c = gui["canvas_latency"]
        predict = c["predict_ms"]
        rows.append(("single image: median ≤ 0.5 ms, p99 ≤ 1 ms", f"{predict['median']:.3f} / {predict['p99']:.3f} ms",
                     predict["median"] <= 0.5 and predict["p99"] <= 1))
        after_pause, stroke = c["event_to_bars_ms"], c["stroke_to_bars_ms"]
        p99s = [after_pause["p99"], stroke["p99"]]
        name = "drawing to updated bars ≤ 16 ms (p99: a move after a pause / while drawing"
        if (drawing := drawing_figures(gui)) is not None:
            p99s.append(drawing["drawing"]["p99"])
            name += " / while drawing during training"
        rows.append((name + ")", " / ".join(f"{value:.1f}" for value in p99s) + " ms", max(p99s) <= 16))
    if gui and "gaps" in gui:
        t = gui["gaps"]["training"]
        rows.append(("event loop during a training epoch: p99 gap ≤ 20 ms, longest ≤ 50 ms",
                     f"{t['p99_gap_ms']:.1f} / {t['longest_gap_ms']:.1f} ms",
                     t["p99_gap_ms"] <= 20 and t["longest_gap_ms"] <= 50))
    return rows


def drawing_figures(gui: dict) -> dict | None:
    """gui_timings' drawing-during-training result, or None where it is absent or failed."""
    drawing = gui.get("drawing")
    return drawing if drawing is not None and "drawing" in drawing else None


def gui_rows(gui: dict) -> list[tuple[str, str]]:
    rows = []
    if "startup" in gui:
        s = gui["startup"]
        rows.append(("start-up to a shown window, s, median (min, max)",
                     f"{s['median_s']:.2f} ({s['min_s']:.2f}, {s['max_s']:.2f})"))
    if "canvas_latency" in gui:
        c = gui["canvas_latency"]
        rows.append(("single-image prediction, ms, median / p99 of 1,000",
                     f"{c['predict_ms']['median']:.3f} / {c['predict_ms']['p99']:.3f}"))
        rows.append(("canvas → preprocessing → prediction → bars (work), ms, median / p99",
                     f"{c['work_ms']['median']:.2f} / {c['work_ms']['p99']:.2f}"))
        rows.append(("a mouse move after a pause → bars updated, ms, median / p99",
                     f"{c['event_to_bars_ms']['median']:.1f} / {c['event_to_bars_ms']['p99']:.1f}"))
        if "stroke_to_bars_ms" in c:
            stroke = c["stroke_to_bars_ms"]
            rows.append((f"while drawing (a move every 5 ms; read at most every {c['throttle_ms']} ms) → bars updated, "
                         "ms, median / p99 / longest",
                         f"{stroke['median']:.1f} / {stroke['p99']:.1f} / {stroke['max']:.1f}"))
    if "gaps" in gui:
        g = gui["gaps"]
        t, idle = g["training"], g["idle"]
        rows.append(("event-loop gap between 10 ms ticks during one training epoch, ms: p99 / longest",
                     f"{t['p99_gap_ms']:.1f} / {t['longest_gap_ms']:.1f}"))
        rows.append(("the same, idle window, ms: p99 / longest", f"{idle['p99_gap_ms']:.1f} / {idle['longest_gap_ms']:.1f}"))
        if "gui_thread_cores" in t:
            rows.append(("the window's (GUI) thread during that epoch, CPU cores", f"{t['gui_thread_cores']:.2f}"))
    if (drawing := drawing_figures(gui)) is not None:
        d, t = drawing["drawing"], drawing["training"]
        rows.append((f"drawing the digit again and again during one training epoch ({d['strokes']} strokes, a move every 5 ms) "
                     "→ bars updated, ms, median / p99 / longest", f"{d['median']:.1f} / {d['p99']:.1f} / {d['max']:.1f}"))
        rows.append(("event-loop gap during that epoch, ms: p99 / longest", f"{t['p99_gap_ms']:.1f} / {t['longest_gap_ms']:.1f}"))
        rows.append(("that epoch's seconds (the window's drawing has priority over training)", f"{t['epoch_seconds']:.1f}"))
        if "gui_thread_cores" in t:
            rows.append(("the window's (GUI) thread during that epoch, CPU cores", f"{t['gui_thread_cores']:.2f}"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--skip-gui", action="store_true")
    parser.add_argument("--memory-child", choices=["baseline", "project"], help=argparse.SUPPRESS)
    parser.add_argument("--epoch-worker", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    data_dir = ensure_mnist(resolve_data_dir(args.data_dir))
    if args.memory_child:
        memory_child(args.memory_child, data_dir)
        return
    if args.epoch_worker:
        epoch_worker(args.epoch_worker, args.seed, data_dir)
        return
    allocator.keep_freed_memory()  # the time-to-99 runs below train in this process
    print("training, interleaved", file=sys.stderr)
    sides, evals = interleaved_training(data_dir)
    data = load_mnist(data_dir, "cpu")
    print("time to 99 %", file=sys.stderr)
    with tempfile.TemporaryDirectory() as savepath:
        seed99 = time_to_99(data, TrainConfig(seed=0, device="cpu", savepath=savepath))
        fast99 = {seed: time_to_99(data, preset_config("fast", seed=seed, device="cpu", savepath=savepath)) for seed in (0, 1, 2)}
    memory = {side: peak_memory(side, data_dir) for side in ("baseline", "project")}
    gui = None if args.skip_gui else gui_timings(data_dir)
    text = report(sides, evals, seed99, fast99, memory, gui)
    write_section("speed", text)
    print(text)


if __name__ == "__main__":
    main()
