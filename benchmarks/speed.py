"""Speed of mnistconv against a straight port of the seed, measured in one run on one machine.

    python benchmarks/speed.py [--data-dir DIR] [--skip-gui] [--quick]

Writes the "speed" section of benchmarks/RESULTS.md (with --quick it only prints, unless --write).
On a 2-core CPU the full run takes about 20 minutes (more on a busy day); --quick about 4:
- the whole command a user waits for: `mnistconv-train --epochs 1` as users run it (recording the
  run in a run store, here a temporary one through $MNISTCONV_RUNS) against the straight port's whole
  process (`python benchmarks/baseline.py --epochs 1`, torchvision reading the same IDX files), taking
  turns, 3 times each; from process start to the first training batch (the "Beginning training
  loop..." line each prints just before it), to the first printed epoch and to the exit; and
  `python -c "import torch"` alone, the floor under both;
- training: the baseline (benchmarks/baseline.py) and the project interleaved epoch by epoch,
  2 epochs on each of seeds 0 and 1, so both sides see the same machine state; ms per batch and
  s per epoch, and the accuracies side by side. Each side runs in a worker process of its own
  (started by this one, which hands out the epochs in turn): the project changes process-wide
  settings (glibc's allocator thresholds) that would otherwise speed up the baseline too. Further
  workers take their turns too: the project recording its run into a run store (against the same
  loop unrecorded: what recording costs), and the project with its former optimizer, Adam over one
  flat buffer (benchmarks/flat_adam.py);
- this CPU's float32 GEMM rate (torch.mm, the training's threads), measured between the epochs, and
  the recipe's FLOPs per epoch: the epoch's speed as a fraction of that rate;
- test-set evaluation, 5 times each side, in the same workers;
- one step on one thread, each side in a fresh process, in the main thread's CPU time: a ratio
  that other processes on a shared machine barely move (waiting for a core is not CPU time);
- the fast preset on seeds 0–4: test accuracy after its first epoch, and seconds to ≥ 99.0 %; the
  seed recipe's time to ≥ 99.0 % (seed 0);
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
from mnistconv.core.data import MnistData, load_mnist, pixels  # noqa: E402
from mnistconv.core.evaluate import evaluate  # noqa: E402
from mnistconv.core.model import build_model  # noqa: E402
from mnistconv.core.paths import resolve_data_dir  # noqa: E402
from mnistconv.core.presets import preset_config  # noqa: E402
from mnistconv.core.session import RUN_FOLDER, DataCache, training_session  # noqa: E402
from mnistconv.core.train import TrainingControl, train  # noqa: E402

import baseline  # noqa: E402
import flat_adam  # noqa: E402
from results_file import machine_description, write_section  # noqa: E402

SEEDS = (0, 1)
EPOCHS_PER_SEED = 2
# flat_adam: the project with its former optimizer; recorded: the project recording into a run store.
SIDES = ("baseline", "project", "recorded", "flat_adam")
FAST_SEEDS = (0, 1, 2, 3, 4)
COMMAND_REPEATS = 3
STEPS = 100  # timed steps of the one-thread comparison, after 10 untimed
FIRST_BATCH_LINE = "Beginning training loop..."  # printed by both commands just before their first batch


# -- the whole command ----------------------------------------------------------------------------

def as_floats(data: MnistData) -> MnistData:
    """MNIST as float32 pixels, as a straight port of the seed holds it (the project keeps the bytes)."""
    return MnistData(pixels(data.train_images), data.train_labels, pixels(data.test_images), data.test_labels)

def project_command() -> list[str]:
    """`mnistconv-train` as installed beside this Python, else the same entry point through -c."""
    script = Path(sys.executable).with_name("mnistconv-train")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from mnistconv.core.commands import train; train()"]


def timed_process(command: list[str], env: dict) -> dict:
    """Seconds from just before the process is started to its first-batch line, its first epoch's
    line ("[1]: ...") and its exit; the lines are read as they are printed."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                               text=True, env=env)
    marks = {}
    for line in process.stdout:
        now = time.perf_counter() - start
        if line.startswith(FIRST_BATCH_LINE):
            marks.setdefault("first_batch", now)
        elif line.startswith("[1]:"):
            marks.setdefault("first_epoch", now)
            marks["accuracy"] = float(line.split()[3])
    status = process.wait()
    marks["exit"] = time.perf_counter() - start
    if status != 0 or "first_epoch" not in marks:
        raise RuntimeError(f"{command[0]} ended with status {status} before its first epoch was printed")
    return marks


def import_torch_process(env: dict) -> dict:
    """`python -c "import torch"`: seconds to its exit, and from the end of its import (a line it
    prints) to its exit: Python's shutdown after torch, which the project's commands skip
    (core/commands.py) and the port's does not."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", "import torch; print('imported', flush=True)"],
                               stdout=subprocess.PIPE, text=True, env=env)
    process.stdout.readline()
    imported = time.perf_counter()
    if process.wait() != 0:
        raise RuntimeError("python -c 'import torch' failed")
    end = time.perf_counter()
    return {"exit": end - start, "shutdown": end - imported}


def whole_commands(data_dir: Path, repeats: int) -> dict[str, list[dict]]:
    """The project's command, the port's and `import torch`, taking turns `repeats` times."""
    runs = {"project": [], "baseline": [], "import torch": []}
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "MNISTCONV_RUNS": str(Path(folder) / "runs")}  # recorded, as by default, but not in the user's store
        args = ["--epochs", "1", "--seed", "0", "--data-dir", str(data_dir)]
        commands = {
            "project": project_command() + args,
            "baseline": [sys.executable, str(HERE / "baseline.py"), *args, "--savepath", folder],
        }
        for _ in range(repeats):
            for side, command in commands.items():
                runs[side].append(timed_process(command, env))
                print(f"  {side:9} whole command: first batch {runs[side][-1]['first_batch']:.2f} s, "
                      f"exit {runs[side][-1]['exit']:.2f} s", file=sys.stderr, flush=True)
            runs["import torch"].append(import_torch_process(env))
    return runs


# -- training epochs, side by side ----------------------------------------------------------------
def project_epochs(data, data_dir: Path, seed: int, savepath: str, runs_dir: Path | None):
    """The project's session as epoch-sized steps: dicts shaped like baseline.train_epochs', plus
    `interval_seconds`, the wall time from the previous epoch's end as this loop sees it (saving and
    recording included), and for the last epoch `session_seconds`, from TrainingStarted to Finished;
    neither counts the time this generator waits between epochs for the other workers' turns."""
    cache = DataCache()
    cache.put(data_dir, data.device, data)  # loaded once by the worker: the session takes it from here
    config = TrainConfig(seed=seed, device="cpu", epochs=EPOCHS_PER_SEED, progress_interval_s=0.0,
                         savepath=RUN_FOLDER if runs_dir is not None else savepath)
    marks, last, waited = [0.0], None, 0.0
    for event in training_session(config, data_dir, cache=cache, runs_dir=runs_dir):
        now = time.perf_counter()
        if isinstance(event, events.TrainingStarted):
            started = last_end = now
        elif isinstance(event, events.BatchProgress):
            marks.append(event.seconds)
        elif isinstance(event, events.EpochFinished):
            train_seconds = marks[-1]
            epoch = {"epoch": event.epoch, "accuracy": event.test_accuracy, "train_seconds": train_seconds,
                     "eval_seconds": event.seconds - train_seconds, "batch_seconds": list(np.diff(marks)),
                     "interval_seconds": now - last_end}
            marks, last_end = [0.0], now
            if event.epoch < config.epochs:
                yield epoch
                resumed = time.perf_counter()
                waited += resumed - now  # the other workers' turns
                last_end = resumed
            else:
                last = epoch  # answered once the session has finished, with its length
        elif isinstance(event, events.RecordingFailed):
            raise RuntimeError(f"recording failed: {event.message}")
        elif isinstance(event, events.Finished):
            last["session_seconds"] = now - started - waited
    yield last


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
    """Answer "epoch" with the next epoch's figures, "eval" with one timed evaluation and "gemm" with
    the GEMM rate."""
    if side != "baseline":
        allocator.keep_freed_memory()  # as the project's commands and window do at start-up
    if side == "flat_adam":
        train_module.make_optimizer = flat_adam.make_optimizer
    data = load_mnist(data_dir, "cpu")
    if side == "baseline":
        data = as_floats(data)  # a straight port holds MNIST as floats
    with tempfile.TemporaryDirectory() as savepath:
        if side == "baseline":
            epochs = baseline.train_epochs(data, EPOCHS_PER_SEED, seed)
        else:
            runs_dir = Path(savepath) / "runs" if side == "recorded" else None
            epochs = project_epochs(data, data_dir, seed, savepath, runs_dir)
        seed_net, ours = baseline.SeedNet(), build_model().to(memory_format=torch.channels_last)
        for command in sys.stdin:
            command = command.strip()
            if command == "epoch":
                answer = {k: v for k, v in next(epochs).items() if k != "model"}
            elif command == "gemm":
                answer = {"gflops": gemm_gflops()}
            else:
                start = time.perf_counter()
                if side == "baseline":
                    baseline.accuracy(seed_net, data.test_images, data.test_labels)
                else:
                    evaluate(ours, data.test_images, data.test_labels)
                answer = {"seconds": time.perf_counter() - start}
            print(json.dumps(answer, default=float), flush=True)


def interleaved_training(data_dir: Path, seeds=SEEDS, eval_repeats: int = 5) -> tuple[dict, dict, list[float]]:
    """Per-epoch figures of every side, their evaluation times, and GEMM rates, taken in turns."""
    sides = {side: [] for side in SIDES}
    evals = {side: [] for side in SIDES}
    gemm = []
    for seed in seeds:
        workers = [EpochWorker(side, seed, data_dir) for side in sides]
        try:
            for _ in range(EPOCHS_PER_SEED):
                for worker in workers:
                    epoch = worker.ask("epoch")
                    epoch["seed"] = seed
                    sides[worker.side].append(epoch)
                    print(f"  {worker.side:9} seed {seed} epoch {epoch['epoch']}: {epoch['accuracy']:.4f} "
                          f"{epoch['train_seconds']:.1f} s", file=sys.stderr, flush=True)
                gemm.append(workers[1].ask("gemm")["gflops"])  # in the project's worker, between its epochs
            if seed == seeds[-1]:
                for _ in range(eval_repeats):
                    for worker in workers:
                        evals[worker.side].append(worker.ask("eval")["seconds"])
        finally:
            for worker in workers:
                worker.close()
    return sides, evals, gemm


# -- the limit: GEMM rate and the recipe's FLOPs -----------------------------------------------------
def gemm_gflops(size: int = 2048, repeats: int = 5) -> float:
    """The best rate of a float32 (size × size) @ (size × size) product on this process's torch threads, GFLOP/s."""
    a, b = torch.rand(size, size), torch.rand(size, size)
    out = torch.empty(size, size)
    torch.mm(a, b, out=out)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def recipe_flops_per_image(model: torch.nn.Module | None = None, image_size: int = 28) -> dict[str, float]:
    """FLOPs (2 per multiply-add) of the convolutions and the dense layer for one training image
    (forward, gradients of the weights, gradients of the inputs except the image's own) and one
    evaluated image (forward)."""
    model = model or build_model()
    forward, input_grads, side = 0, 0, image_size
    for index, layer in enumerate((model.conv1, model.conv2, model.conv3)):
        macs = side * side * layer.out_channels * layer.in_channels * layer.kernel_size[0] * layer.kernel_size[1]
        forward += macs
        input_grads += macs if index > 0 else 0  # nothing needs the gradient of the image
        side //= 2
    forward += model.fc.in_features * model.fc.out_features
    input_grads += model.fc.in_features * model.fc.out_features
    return {"train": 2 * (2 * forward + input_grads), "eval": 2 * forward}


# -- time to 99 % ---------------------------------------------------------------------------------
def time_to_99(data, config: TrainConfig) -> dict:
    """Seconds from the start of training (data already loaded) to the first epoch at ≥ 99.0 %, and
    the first epoch's accuracy and seconds."""
    control = TrainingControl()
    start = time.perf_counter()
    result = {"seconds": None, "epoch": None, "accuracy": 0.0, "first_epoch_accuracy": None}
    for event in train(config, data, control):
        if isinstance(event, events.EpochFinished):
            result["accuracy"] = max(result["accuracy"], event.test_accuracy)
            if event.epoch == 1:
                result["first_epoch_accuracy"] = event.test_accuracy
                result["first_epoch_seconds"] = event.seconds
            print(f"  {config.lr_schedule} seed {config.seed} epoch {event.epoch}: {event.test_accuracy:.4f}",
                  file=sys.stderr, flush=True)
            if event.test_accuracy >= 0.99:
                result.update(seconds=time.perf_counter() - start, epoch=event.epoch, accuracy=event.test_accuracy)
                control.request_stop()
    return result


# -- memory ---------------------------------------------------------------------------------------
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
        next(baseline.train_epochs(as_floats(data), 1, seed=0))
    else:
        allocator.keep_freed_memory()
        with tempfile.TemporaryDirectory() as savepath:
            list(train(TrainConfig(epochs=1, seed=0, device="cpu", savepath=savepath), data))
    done.set()
    sampler.join()
    print(f"{before:.1f} {max(peak[0], _rss_mb()):.1f}")


def one_thread_step(side: str) -> dict:
    """A fresh process trains STEPS batches of 128 (random images) on one torch thread; the main
    thread's CPU time per step (min and median), which other processes on the machine barely disturb."""
    result = subprocess.run([sys.executable, __file__, "--step-child", side], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def step_child(side: str, steps: int = STEPS) -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    x, y = torch.rand(128, 1, 28, 28), torch.randint(0, 10, (128,))
    if side == "baseline":
        model = baseline.SeedNet()
        optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)

        def batch() -> torch.Tensor:
            return x + 0.1 * torch.randn_like(x)
    else:
        allocator.keep_freed_memory()
        model = build_model().to(memory_format=torch.channels_last)
        optimizer = train_module.make_optimizer(model, 3e-3)
        noise = train_module.NoiseSource(0.1, x.shape[1:], torch.Generator().manual_seed(0), images_per_draw=16 * 128)

        def batch() -> torch.Tensor:
            return noise.add_to(x).contiguous(memory_format=torch.channels_last)
    times = []
    for i in range(steps + 10):
        start = time.thread_time()
        loss = torch.nn.functional.cross_entropy(model(batch()), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if i >= 10:
            times.append(1000 * (time.thread_time() - start))
    print(json.dumps({"min_ms": min(times), "median_ms": statistics.median(times)}))


def gui_timings(data_dir: Path) -> dict | None:
    result = subprocess.run([sys.executable, str(HERE / "gui_timings.py"), "--data-dir", str(data_dir)],
                            capture_output=True, text=True, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    if result.returncode != 0:
        print(result.stderr, file=sys.stderr)
        return None
    return json.loads(result.stdout.strip().splitlines()[-1])


# -- the report -----------------------------------------------------------------------------------
def spread(values) -> str:
    values = sorted(values)
    return f"{statistics.median(values):.2f} (min {values[0]:.2f}, max {values[-1]:.2f})"


def median_of(runs: list[dict], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def commands_report(commands: dict) -> list[str]:
    p, b, floor = commands["project"], commands["baseline"], commands["import torch"]
    ratio = median_of(b, "exit") / median_of(p, "exit")
    rows = [("process start → first training batch", "first_batch"), ("process start → first epoch printed", "first_epoch"),
            ("process start → exit (the whole command)", "exit")]
    lines = [
        "### The whole command: `mnistconv-train --epochs 1` against the port's whole process",
        "",
        f"Each command ran {len(p)} time{'s' if len(p) > 1 else ''}, taking turns with the other; seconds, median (min, max). "
        "The project's "
        "command is run as users run it: its run is recorded in a run store (here a temporary one, through "
        "`$MNISTCONV_RUNS`) and its best model saved there; the port (`python benchmarks/baseline.py --epochs 1`) "
        "reads the same IDX files through torchvision and saves its model. The first batch is when each prints "
        f"`{FIRST_BATCH_LINE}`, just before it.",
        "",
        "| | baseline (port) | project |",
        "|---|---:|---:|",
    ]
    lines += [f"| {name} | {spread(r[key] for r in b)} | {spread(r[key] for r in p)} |" for name, key in rows]
    lines += [
        f"| test accuracy after the epoch | {b[0]['accuracy']:.4f} | {p[0]['accuracy']:.4f} |",
        "",
        f"The whole command: the project is **{ratio:.2f}×** the port. `python -c \"import torch\"` alone, the floor "
        f"under both, takes {spread(r['exit'] for r in floor)} s, of which Python's shutdown after the import "
        f"{spread(r['shutdown'] for r in floor)} s: the project's commands end without it once their work is done and "
        "their output flushed (`core/commands.py`); the port goes through it.",
    ]
    return lines


def training_report(sides: dict, evals: dict, gemm: list[float], memory: dict | None) -> list[str]:
    b, p = sides["baseline"], sides["project"]
    b_batch = [1000 * s for e in b for s in e["batch_seconds"]]
    p_batch = [1000 * s for e in p for s in e["batch_seconds"]]
    b_epoch = [e["train_seconds"] for e in b]
    p_epoch = [e["train_seconds"] for e in p]
    ratio = statistics.median(b_epoch) / statistics.median(p_epoch)
    flops = recipe_flops_per_image()
    n_train = 60_000
    epoch_gflop = flops["train"] * n_train / 1e9
    best_gemm = max(gemm)
    achieved = epoch_gflop / statistics.median(p_epoch)
    lines = [
        "### Training (seed recipe, CPU; baseline and project interleaved epoch by epoch)",
        "",
        "Each side trains in a worker process of its own, the workers taking turns epoch by epoch.",
        "",
        "| | baseline | project |",
        "|---|---:|---:|",
        f"| ms per batch, median (min, max) | {spread(b_batch)} | {spread(p_batch)} |",
        f"| s per epoch of training, median (min, max) | {spread(b_epoch)} | {spread(p_epoch)} |",
        f"| test-set evaluation, s, median (min, max) of {len(evals['project'])} "
        f"| {spread(evals['baseline'])} | {spread(evals['project'])} |",
    ]
    if memory:
        lines.append(f"| resident memory with the data loaded → peak during one training epoch, MB | "
                     f"{memory['baseline'][0]:.0f} → {memory['baseline'][1]:.0f} | "
                     f"{memory['project'][0]:.0f} → {memory['project'][1]:.0f} |")
    lines += [
        "",
        f"Training speed: the project is **{ratio:.2f}×** the baseline (median epoch {statistics.median(p_epoch):.2f} s "
        f"against {statistics.median(b_epoch):.2f} s); "
        f"evaluation {statistics.median(evals['baseline']) / statistics.median(evals['project']):.1f}× faster.",
        "",
        f"Against this CPU's limit: an epoch of the recipe is {epoch_gflop:.0f} GFLOP ({flops['train'] / 1e6:.2f} MFLOP per "
        "training image: the convolutions and the dense layer, forward, weight gradients and input gradients but the "
        f"image's; 2 FLOPs per multiply-add; ReLU, pooling, loss and Adam not counted). The project's median epoch "
        f"runs it at {achieved:.0f} GFLOP/s, **{100 * achieved / best_gemm:.0f} %** of the {best_gemm:.0f} GFLOP/s "
        f"this CPU's float32 GEMM reaches on the same {torch.get_num_threads()} threads (torch.mm of 2048×2048 matrices, "
        f"best of {len(gemm)} measurements between the epochs: {', '.join(f'{g:.0f}' for g in gemm)}); the baseline "
        f"runs at {100 * epoch_gflop / statistics.median(b_epoch) / best_gemm:.0f} %.",
        "",
        "Same recipe, same accuracies within seed noise:",
        "",
        "| seed | epoch | baseline | project |",
        "|---:|---:|---:|---:|",
    ]
    lines += [f"| {x['seed']} | {x['epoch']} | {x['accuracy']:.4f} | {y['accuracy']:.4f} |" for x, y in zip(b, p)]
    return lines


def step_report(steps: dict) -> list[str]:
    """One thread, CPU time: a ratio that other processes on a shared machine barely move."""
    b = min(r["min_ms"] for r in steps["baseline"])
    p = min(r["min_ms"] for r in steps["project"])
    flops = recipe_flops_per_image()["train"] * 128
    return [
        "",
        f"On one thread, in the main thread's CPU time (each side in a fresh process, {len(steps['project'])} time(s), the "
        f"fastest of {STEPS} steps of 128 images; waiting for a core does not count): the project's step takes "
        f"{p:.1f} ms (median {min(r['median_ms'] for r in steps['project']):.1f}), the baseline's {b:.1f} ms "
        f"(median {min(r['median_ms'] for r in steps['baseline']):.1f}): **{b / p:.2f}×**; the project's step runs at "
        f"{flops / p / 1e6:.0f} GFLOP/s on that one thread.",
    ]


def recording_report(sides: dict) -> list[str]:
    """What recording into the run store costs: the same loop with and without it, in turns."""
    p, r = sides["project"], sides["recorded"]
    p_interval, r_interval = [e["interval_seconds"] for e in p], [e["interval_seconds"] for e in r]
    p_session = [e["session_seconds"] for e in p if "session_seconds" in e]
    r_session = [e["session_seconds"] for e in r if "session_seconds" in e]
    ratio = statistics.median(r_interval) / statistics.median(p_interval)
    return [
        "### Recording into the run store",
        "",
        "The same training session (core/session.py, the data already loaded) in two workers taking turns epoch by "
        "epoch: one records its run into a run store (a row per epoch with its batch losses, the best model in the "
        "run's folder, the exact state for resuming after every epoch), the other saves only its best model. The "
        "recorder writes in the training thread, between epochs; in the window that is the training thread, never "
        "the window's.",
        "",
        "| | unrecorded | recorded |",
        "|---|---:|---:|",
        f"| s from one epoch's end to the next (training, evaluation, saving, recording), median (min, max) "
        f"| {spread(p_interval)} | {spread(r_interval)} |",
        f"| s per session of {EPOCHS_PER_SEED} epochs, start to finish | {spread(p_session)} | {spread(r_session)} |",
        "",
        f"Recording: **{ratio:.3f}×** the unrecorded epoch's time (1.0: no cost).",
    ]


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
        "The same loop, in another worker taking its turn with the others; only the optimizer differs.",
        "",
        "| | flat buffer (former) | fused per tensor (now) |",
        "|---|---:|---:|",
        f"| ms per batch, median (min, max) | {spread(f_batch)} | {spread(p_batch)} |",
        f"| s per epoch of training, median (min, max) | {spread(f_epoch)} | {spread(p_epoch)} |",
        "",
        f"Fused per tensor runs at **{ratio:.2f}×** the flat buffer's speed (above 1: faster); accuracies "
        + ", ".join(f"{x['accuracy']:.4f}/{y['accuracy']:.4f}" for x, y in zip(f, p)) + " (flat/fused, by seed and epoch).",
    ]


def fast_report(fast: dict, seed99: dict | None) -> list[str]:
    config = preset_config("fast")
    lines = [
        "### The fast preset, and time to first ≥ 99.0 % test accuracy (training and evaluation, data loaded)",
        "",
        f"The fast preset: {config.epochs} epoch(s), batch {config.batch_size}, one-cycle LR up to {config.lr:g}, "
        f"label smoothing {config.label_smoothing:g}, noise std {config.noise_std:g}, shuffled batches.",
        "",
        "| run | accuracy after epoch 1 | epoch 1, s | seconds to ≥ 99.0 % | epoch | accuracy then |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    runs = [(f"fast preset, seed {s}", r) for s, r in fast.items()] + ([("seed recipe, seed 0", seed99)] if seed99 else [])
    for name, r in runs:
        first = f"{r['first_epoch_accuracy']:.4f} | {r['first_epoch_seconds']:.1f}"
        if r["seconds"] is None:
            lines.append(f"| {name} | {first} | not reached | | best {r['accuracy']:.4f} |")
        else:
            lines.append(f"| {name} | {first} | {r['seconds']:.1f} | {r['epoch']} | {r['accuracy']:.4f} |")
    return lines


def report(commands, sides, evals, gemm, fast, seed99, memory, gui, quick: bool, steps: dict | None = None) -> str:
    mode = " --quick" if quick else ""
    lines = [
        "## Speed: the project against a straight port of the seed",
        "",
        f"`python benchmarks/speed.py{mode}` on {dt.date.today()}; machine: {machine_description()}; "
        f"1-minute load average at the end {os.getloadavg()[0]:.1f}.",
        "",
        *commands_report(commands),
        "",
        *training_report(sides, evals, gemm, memory),
        *(step_report(steps) if steps else []),
        "",
        *recording_report(sides),
        "",
        *optimizer_report(sides),
        "",
        *fast_report(fast, seed99),
    ]
    if gui:
        lines += ["", "### The app", "", "| figure | value |", "|---|---:|"]
        lines += [f"| {name} | {value} |" for name, value in gui_rows(gui)]
    lines += ["", "### Against the bars (CPU)", "", "| bar | measured | met |", "|---|---:|:---:|"]
    lines += [f"| {bar} | {value} | {'yes' if met else '**no**'} |"
              for bar, value, met in bars(commands, sides, evals, gemm, fast, gui)]
    return "\n".join(lines)


def bars(commands, sides, evals: dict, gemm, fast: dict, gui: dict | None) -> list[tuple[str, str, bool]]:
    """Each speed goal with this run's figure and whether it was met."""
    p, b = commands["project"], commands["baseline"]
    command_ratio = median_of(b, "exit") / median_of(p, "exit")
    first_batch = median_of(p, "first_batch")
    b_epoch = [e["train_seconds"] for e in sides["baseline"]]
    p_epoch = [e["train_seconds"] for e in sides["project"]]
    ratio = statistics.median(b_epoch) / statistics.median(p_epoch)
    fraction = recipe_flops_per_image()["train"] * 60_000 / 1e9 / statistics.median(p_epoch) / max(gemm)
    record = statistics.median(e["interval_seconds"] for e in sides["recorded"]) / statistics.median(
        e["interval_seconds"] for e in sides["project"])
    first_accuracies = [r["first_epoch_accuracy"] for r in fast.values()]
    fast_seconds = [r["seconds"] for r in fast.values()]
    eval_seconds = statistics.median(evals["project"])
    rows = [
        ("`mnistconv-train --epochs 1`, whole process, ≥ 1.8× the port's (aim 2.5×)", f"{command_ratio:.2f}×",
         command_ratio >= 1.8),
        ("process start to first training batch ≤ 2.5 s", f"{first_batch:.2f} s", first_batch <= 2.5),
        ("seed recipe epochs ≥ 2.0× the baseline (aim 2.5×), with the fraction of GEMM throughput",
         f"{ratio:.2f}×, {100 * fraction:.0f} % of GEMM", ratio >= 2.0),
        (f"fast preset ≥ 99.0 % after one epoch on seeds {FAST_SEEDS[0]}–{FAST_SEEDS[-1]}, or ≥ 99.0 % in ≤ 8 s on every seed",
         f"{min(first_accuracies):.4f}–{max(first_accuracies):.4f} after one epoch; "
         + ("not reached on every seed" if None in fast_seconds else f"{min(fast_seconds):.1f}–{max(fast_seconds):.1f} s"),
         min(first_accuracies) >= 0.99 or (None not in fast_seconds and max(fast_seconds) <= 8)),
        ("recording into the run store costs training nothing measurable (≈ 1.0×)", f"{record:.3f}×", record <= 1.05),
        ("test-set evaluation ≤ 0.6 s", f"{eval_seconds:.2f} s", eval_seconds <= 0.6),
    ]
    if gui and "canvas_latency" in gui:
        c = gui["canvas_latency"]
        predict, work = c["predict_ms"], c["work_ms"]
        rows.append(("single image: median ≤ 0.5 ms, p99 ≤ 1 ms", f"{predict['median']:.3f} / {predict['p99']:.3f} ms",
                     predict["median"] <= 0.5 and predict["p99"] <= 1))
        rows.append(("a sketchpad reading (preprocessing, prediction, bars) about 2 ms on the CPU (median ≤ 3 ms)",
                     f"{work['median']:.2f} ms", work["median"] <= 3))
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
    parser.add_argument("--quick", action="store_true",
                        help="a short check that everything runs: 1 run of each command, one seed, fast preset on seed 0, "
                             "no seed-recipe time to 99 %%, no memory or GUI figures; prints without writing RESULTS.md")
    parser.add_argument("--write", action="store_true", help="with --quick, write RESULTS.md all the same")
    parser.add_argument("--memory-child", choices=["baseline", "project"], help=argparse.SUPPRESS)
    parser.add_argument("--epoch-worker", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--step-child", choices=["baseline", "project"], help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step_child:
        step_child(args.step_child)
        return
    data_dir = ensure_mnist(resolve_data_dir(args.data_dir))
    if args.memory_child:
        memory_child(args.memory_child, data_dir)
        return
    if args.epoch_worker:
        epoch_worker(args.epoch_worker, args.seed, data_dir)
        return
    allocator.keep_freed_memory()  # the time-to-99 runs below train in this process
    print("the whole command, taking turns", file=sys.stderr)
    commands = whole_commands(data_dir, 1 if args.quick else COMMAND_REPEATS)
    print("training, interleaved", file=sys.stderr)
    sides, evals, gemm = interleaved_training(data_dir, SEEDS[:1] if args.quick else SEEDS, 2 if args.quick else 5)
    print("one thread, CPU time per step", file=sys.stderr)
    steps = {side: [one_thread_step(side) for _ in range(1 if args.quick else 3)] for side in ("baseline", "project")}
    data = load_mnist(data_dir, "cpu")
    print("fast preset, and time to 99 %", file=sys.stderr)
    with tempfile.TemporaryDirectory() as savepath:
        fast = {seed: time_to_99(data, preset_config("fast", seed=seed, device="cpu", savepath=savepath))
                for seed in (FAST_SEEDS[:1] if args.quick else FAST_SEEDS)}
        seed99 = None if args.quick else time_to_99(data, TrainConfig(seed=0, device="cpu", savepath=savepath))
    memory = None if args.quick else {side: peak_memory(side, data_dir) for side in ("baseline", "project")}
    gui = None if args.skip_gui or args.quick else gui_timings(data_dir)
    text = report(commands, sides, evals, gemm, fast, seed99, memory, gui, args.quick, steps)
    if not args.quick or args.write:
        write_section("speed", text)
    print(text)


if __name__ == "__main__":
    main()
