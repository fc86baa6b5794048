"""Headless commands: `mnistconv-train` runs a training session, `mnistconv-test` re-measures a saved
model, `mnistconv-fetch` fetches MNIST ahead of time.

Log lines are core.wording's, the seed's words (`[3]: Test accuracy: 0.9884`, ` -> New best
accuracy! ...`). Bad arguments end with a one-line reason and status 2, missing or bad data with
status 1. Ctrl+C or SIGTERM stop training after the current batch, keeping the best model saved.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import textwrap
import threading
from pathlib import Path
from typing import Sequence, TextIO

from . import allocator, checkpoint, data
from .acquire import fetch_mnist
from .config import RULES, TrainConfig, parse_lr_change
from .device import DEVICE_CHOICES, describe_device, resolve_device
from .errors import ConfigError, MnistConvError
from .evaluate import evaluate_saved_model
from .events import AcquireProgress, Finished, FinishReason, NewBestSaved, RunRecorded
from .paths import CHECKPOINT_NAME, checkpoint_file, resolve_data_dir
from .presets import PRESETS, preset_config
from .progress_bar import ProgressBar
from .runstore import RunStore, resolve_runs_dir
from .seed_groups import group_session, resume_member_session
from .session import RUN_FOLDER, RunLabels, load_data, training_session
from .shape import CHANNELS, KERNELS, MAX_BLOCKS, SEED_SHAPE, parse_channels
from .train import TrainingControl
from .wording import Level, log_lines, stopping_at_ctrl_c

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130, as a shell reports a Ctrl+C
LATEST = "latest"


def setting(name: str):
    """An argparse type for a setting: its text parsed and checked by core.config's rule, in its words."""
    rule = RULES[name]

    def parse(text: str):
        try:
            return rule.parse(text)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def lr_change(text: str) -> tuple[int, float]:
    """--lr-at's EPOCH:LR (an argparse type)."""
    try:
        return parse_lr_change(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def channels_list(text: str) -> tuple[int, ...]:
    """--channels' 8,16,16 (an argparse type)."""
    try:
        return parse_channels(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", default=None, help="MNIST folder (default: $MNISTCONV_DATA, else the per-user cache)")


def add_runs_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs-dir", default=None,
                        help="the run store (default: $MNISTCONV_RUNS, else runs/ in the per-user data folder)")


def _add_common(parser: argparse.ArgumentParser, savepath_default: str) -> None:
    parser.add_argument("--savepath", default=None,
                        help=f"folder of {CHECKPOINT_NAME}, or a .pt file (default: {savepath_default})")
    _add_data_dir(parser)
    parser.add_argument("--device", default=None, choices=DEVICE_CHOICES, help="auto (the default) picks CUDA when present")
    add_runs_dir(parser)


def presets_epilog(width: int = 78) -> str:
    """Each preset on its own lines: 'presets:' then '  fast: One-cycle LR …', wrapped and indented."""
    lines = ["presets:"]
    for preset in PRESETS.values():
        lines += textwrap.wrap(f"{preset.name}: {preset.summary}", width, initial_indent="  ", subsequent_indent="    ")
    return "\n".join(lines)


def train_parser() -> argparse.ArgumentParser:
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(
        prog="mnistconv-train",
        description="Train the seed's MNIST ConvNet, or reshape it (--channels, --kernel, --hidden).",
        epilog=presets_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,  # the epilog keeps its lines
    )
    parser.add_argument("--preset", choices=list(PRESETS), default=None, help="starting settings (default: seed)")
    # None means "as the preset says"; the help shows the seed's values.
    parser.add_argument("--epochs", type=setting("epochs"), default=None, help=f"(seed: {defaults.epochs})")
    parser.add_argument("--lr", type=setting("lr"), default=None, help=f"Adam learning rate (seed: {defaults.lr:g})")
    parser.add_argument("--batch-size", type=setting("batch_size"), default=None, help=f"(seed: {defaults.batch_size})")
    parser.add_argument("--noise-std", type=setting("noise_std"), default=None,
                        help=f"gaussian noise added to each batch (seed: {defaults.noise_std:g})")
    parser.add_argument("--seed", type=setting("seed"), default=None,
                        help="make the run repeatable (default: a random seed, printed)")
    parser.add_argument("--channels", type=channels_list, default=None, metavar="C1,C2,…",
                        help=f"the network's blocks: 1 to {MAX_BLOCKS}, each of {CHANNELS[0]}–{CHANNELS[1]} channels "
                             f"(seed: {SEED_SHAPE.channels_text()})")
    parser.add_argument("--kernel", type=int, choices=KERNELS, default=None,
                        help=f"each block's filters are K×K (seed: {SEED_SHAPE.kernel})")
    parser.add_argument("--hidden", type=setting("hidden"), default=None, metavar="UNITS",
                        help=f"a hidden dense layer of that many units before the logits, 0 for none (seed: {SEED_SHAPE.hidden})")
    parser.add_argument("--lr-at", type=lr_change, action="append", default=None, metavar="EPOCH:LR",
                        help="the learning rate from that epoch on, e.g. --lr-at 6:1e-3 (repeatable; the plateau rule "
                             "still divides it later)")
    parser.add_argument("--seeds", type=setting("seeds"), default=None, metavar="N",
                        help="a seed group: N recorded runs of these settings, one after another, with seeds counted "
                             "from --seed (or drawn at random)")
    parser.add_argument("--name", default=None, help="a name for the run (mnistconv-runs shows it)")
    parser.add_argument("--tag", action="append", default=None, metavar="TAG", help="a tag for the run (repeatable)")
    parser.add_argument("--note", default=None, help="a note kept with the run")
    parser.add_argument("--resume", nargs="?", const=LATEST, default=None, metavar="RUN",
                        help="continue a recorded run exactly where it stopped (default: the latest run); "
                             "with --epochs, train a finished run further")
    _add_common(parser, "the run's own folder in the run store")
    return parser


def test_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mnistconv-test", description="Reload a saved model and report its test accuracy.")
    _add_common(parser, "the latest recorded run's best model")
    return parser


def fetch_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mnistconv-fetch",
                                     description="Fetch the MNIST files now, so that training starts at once.")
    _add_data_dir(parser)
    return parser


def _fail(prog: str, message: str, code: int = EXIT_FAILED) -> int:
    print(f"{prog}: error: {message}", file=sys.stderr)
    return code


def drain(generator, handle):
    """Pass each item of `generator` to `handle`; return the generator's return value. An exception
    from `handle` (a Ctrl+C) closes the generator, so it cleans up what it was doing."""
    with contextlib.closing(generator):
        while True:
            try:
                item = next(generator)
            except StopIteration as stop:
                return stop.value
            handle(item)


def print_event(event, out: TextIO, progress: ProgressBar) -> None:
    """One event on the terminal: its log lines (errors to stderr), fetch progress as a bar."""
    if isinstance(event, AcquireProgress):
        progress(event)
        return
    for line in log_lines(event):
        print(line.text, file=sys.stderr if line.level is Level.ERROR else out, flush=True)


class StopOnSignals:
    """While a session runs, Ctrl+C (SIGINT) and SIGTERM ask it to stop after the current batch,
    so the run ends with its usual last lines; a second Ctrl+C interrupts at once."""

    def __init__(self, control: TrainingControl, log: TextIO):
        self.control = control
        self.log = log
        self.saved = False  # whether a best model was saved yet (the caller says, as events come)
        self.received: int | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> "StopOnSignals":
        if threading.current_thread() is threading.main_thread():  # only there can handlers be set
            for number in (signal.SIGINT, signal.SIGTERM):
                self._previous[number] = signal.signal(number, self._on_signal)
        return self

    def __exit__(self, *exc_info) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)

    def _on_signal(self, number: int, frame) -> None:
        if self.received is not None and number == signal.SIGINT:
            raise KeyboardInterrupt
        self.received = number
        self.control.request_stop()
        print(stopping_at_ctrl_c(self.saved), file=self.log, flush=True)

    @property
    def exit_status(self) -> int | None:
        return None if self.received is None else 128 + self.received


def _session(args, parser: argparse.ArgumentParser, control: TrainingControl):
    """The session the arguments ask for: a new run, or (--resume) a recorded one continued."""
    runs_dir = resolve_runs_dir(args.runs_dir)
    if args.resume is not None:
        fixed = [flag for flag, value in (("--preset", args.preset), ("--lr", args.lr), ("--batch-size", args.batch_size),
                                          ("--noise-std", args.noise_std), ("--seed", args.seed), ("--savepath", args.savepath),
                                          ("--lr-at", args.lr_at), ("--seeds", args.seeds), ("--name", args.name),
                                          ("--tag", args.tag), ("--note", args.note), ("--channels", args.channels),
                                          ("--kernel", args.kernel), ("--hidden", args.hidden))
                 if value is not None]
        if fixed:
            parser.error(f"{', '.join(fixed)} cannot be changed when resuming: the run continues with its own settings")
        run_id = None if args.resume == LATEST else _run_number(parser, args.resume)
        data_dir = resolve_data_dir(args.data_dir) if args.data_dir else None
        return resume_member_session(runs_dir, run_id, control, epochs=args.epochs, device=args.device, data_dir=data_dir)
    given = {"lr": args.lr, "epochs": args.epochs, "batch_size": args.batch_size, "noise_std": args.noise_std,
             "lr_at": tuple(sorted(args.lr_at)) if args.lr_at else None, "channels": args.channels, "kernel": args.kernel,
             "hidden": args.hidden}
    config = preset_config(
        args.preset or "seed", seed=args.seed, device=args.device or "auto",
        savepath=RUN_FOLDER if args.savepath is None else args.savepath,
        **{name: value for name, value in given.items() if value is not None},
    )
    labels = RunLabels(name=args.name, tags=tuple(args.tag or ()), note=args.note)
    if args.seeds is not None:
        return group_session(config, resolve_data_dir(args.data_dir), control, count=args.seeds, runs_dir=runs_dir,
                             preset=args.preset or "seed", labels=labels)
    return training_session(config, resolve_data_dir(args.data_dir), control, runs_dir=runs_dir, preset=args.preset or "seed",
                            labels=labels)


MAX_RUN_NUMBER = 10**15  # far past any store, well inside SQLite's integers


def run_number(text: str) -> int:
    """A run's number as the command line names it (an argparse type: a bad one is a usage error)."""
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_RUN_NUMBER:
        raise argparse.ArgumentTypeError(f"a run is named by its number (see mnistconv-runs), not {text!r}")
    return int(text)


def _run_number(parser: argparse.ArgumentParser, text: str) -> int:
    try:
        return run_number(text)
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))


def train_main(argv: Sequence[str] | None = None) -> int:
    parser = train_parser()
    args = parser.parse_args(argv)
    allocator.keep_freed_memory()  # this process only trains: keep freed activation memory mapped
    out = sys.stdout
    control = TrainingControl()
    progress = ProgressBar(sys.stderr)
    finished: Finished | None = None
    last_saved: NewBestSaved | None = None
    recorded: RunRecorded | None = None
    with StopOnSignals(control, sys.stderr) as signals:
        try:
            for event in _session(args, parser, control):
                print_event(event, out, progress)
                finished = event if isinstance(event, Finished) else finished
                last_saved = event if isinstance(event, NewBestSaved) else last_saved
                signals.saved = last_saved is not None
                recorded = event if isinstance(event, RunRecorded) else recorded
        except ConfigError as exc:
            return _fail("mnistconv-train", str(exc), EXIT_USAGE)
        except MnistConvError as exc:
            return _fail("mnistconv-train", str(exc))
        except KeyboardInterrupt:
            where = f"; the best model so far is in {last_saved.path}" if last_saved else ""
            print(f"Interrupted{where}.", file=sys.stderr, flush=True)
            return EXIT_INTERRUPTED
    if recorded is not None and finished is not None and finished.reason is FinishReason.STOPPED:
        print(f"Run {recorded.run_id} can be continued where it stopped: mnistconv-train --resume {recorded.run_id}", file=out)
    if signals.exit_status is not None:
        return signals.exit_status
    return EXIT_FAILED if finished is None or finished.reason is FinishReason.NAN_ABORT else 0


def test_main(argv: Sequence[str] | None = None) -> int:
    args = test_parser().parse_args(argv)
    allocator.keep_freed_memory()
    try:
        device = resolve_device(args.device or "auto")
        path = _model_to_test(args)
        checkpoint.load_checkpoint(path)  # a bad file is refused before the data are read, not after
        progress = ProgressBar(sys.stderr)
        steps = load_data(resolve_data_dir(args.data_dir), device, TrainingControl())
        mnist = drain(steps, lambda event: print_event(event, sys.stdout, progress))
        accuracy, saved = evaluate_saved_model(path, mnist)
    except MnistConvError as exc:
        return _fail("mnistconv-test", str(exc))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    # The seed's words, with what was measured on the same line.
    print(f"accuracy(test_set..., model) = {accuracy:.4f}   ({saved.path}, saved after epoch {saved.epoch}; "
          f"{len(mnist.test_labels):,} test images on {describe_device(device)}; network {saved.shape.text()})")
    return 0


def _model_to_test(args) -> Path:
    """--savepath's model, else the latest recorded run's best model."""
    if args.savepath is not None:
        path = checkpoint_file(args.savepath)
        if not path.is_file():
            raise MnistConvError(f"no saved model at {path}; train one with mnistconv-train --savepath {args.savepath}")
        return path
    runs_dir = resolve_runs_dir(args.runs_dir)
    with RunStore(runs_dir) as store:
        run = store.latest_with_model()
    if run is None:
        raise MnistConvError(f"no run in {runs_dir} has saved a model yet; train one with mnistconv-train "
                             "(or name a model with --savepath)")
    return run.checkpoint


def fetch_main(argv: Sequence[str] | None = None) -> int:
    args = fetch_parser().parse_args(argv)
    folder = resolve_data_dir(args.data_dir)
    progress = ProgressBar(sys.stderr)
    try:
        drain(fetch_mnist(folder), progress)
        counts = data.check_files(folder, require_full=True)
    except MnistConvError as exc:
        return _fail("mnistconv-fetch", str(exc))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    print(f"MNIST in {folder}: {counts['train']:,} training and {counts['test']:,} test images")
    return 0


if __name__ == "__main__":
    sys.exit(train_main())
