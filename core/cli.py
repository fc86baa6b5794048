"""Headless commands: `mnistconv-train` runs the seed recipe, `mnistconv-test` re-measures a saved model.

Log lines follow the seed's (`[3]: Test accuracy: 0.9884`, ` -> New best accuracy! ...`).
Bad arguments and missing data end with a one-line reason and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence, TextIO

from . import events
from .acquire import AcquireProgress, ensure_mnist
from .config import CHECKPOINT_NAME, TrainConfig, validate_config
from .data import load_mnist, resolve_data_dir
from .device import DEVICE_CHOICES, describe_device, resolve_device
from .errors import ConfigError, MnistConvError
from .presets import PRESETS, preset_config
from .train import TrainingControl, evaluate_saved_model, train

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _bounded(kind: type, lowest: float, strict: bool, requirement: str, highest: float = float("inf")):
    """An argparse type: `kind` parsed from the text, finite, above `lowest` (or at least it), at most `highest`."""
    noun = "number" if kind is float else "whole number"

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a {noun}: {text!r}") from None
        in_range = value > lowest if strict else value >= lowest  # False for NaN, too
        if not in_range or value == float("inf") or value > highest:
            raise argparse.ArgumentTypeError(f"must be {requirement}, not {text}")
        return value

    return parse


_positive_float = _bounded(float, 0, strict=True, requirement="a positive number")
_non_negative_float = _bounded(float, 0, strict=False, requirement="a number ≥ 0")
_positive_int = _bounded(int, 1, strict=False, requirement="≥ 1")
_seed = _bounded(int, 0, strict=False, requirement=f"a whole number from 0 to {2**64 - 1}", highest=2**64 - 1)  # torch's range


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--savepath", default=".", help=f"folder of {CHECKPOINT_NAME} (default: the current folder)")
    parser.add_argument("--data-dir", default=None, help="MNIST folder (default: $MNISTCONV_DATA, else the per-user cache)")
    parser.add_argument("--device", default="auto", choices=DEVICE_CHOICES, help="auto picks CUDA when present")


def train_parser() -> argparse.ArgumentParser:
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(
        prog="mnistconv-train", description="Train the seed's MNIST ConvNet.",
        epilog="Presets: " + "; ".join(f"{p.name}: {p.summary}" for p in PRESETS.values()),
    )
    parser.add_argument("--preset", choices=list(PRESETS), default="seed", help="starting settings (default: seed)")
    # None means "as the preset says"; the help shows the seed's values.
    parser.add_argument("--epochs", type=_positive_int, default=None, help=f"(seed: {defaults.epochs})")
    parser.add_argument("--lr", type=_positive_float, default=None, help=f"Adam learning rate (seed: {defaults.lr:g})")
    parser.add_argument("--batch-size", type=_positive_int, default=None, help=f"(seed: {defaults.batch_size})")
    parser.add_argument("--noise-std", type=_non_negative_float, default=None,
                        help=f"gaussian noise added to each batch (seed: {defaults.noise_std:g})")
    parser.add_argument("--seed", type=_seed, default=None, help="make the run repeatable")
    _add_common(parser)
    return parser


def test_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mnistconv-test", description="Reload a saved model and report its test accuracy.")
    _add_common(parser)
    return parser


class ProgressBar:
    """A one-line progress bar on a terminal; plain lines when the stream is not a terminal."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.tty = stream.isatty()
        self.last_message = None

    def __call__(self, step: AcquireProgress) -> None:
        fraction = step.fraction
        if self.tty and fraction is not None:
            filled = int(fraction * 30)
            self.stream.write(f"\r  {step.message[:40]:<40} [{'#' * filled}{'.' * (30 - filled)}] {fraction:4.0%}")
            if fraction >= 1:
                self.stream.write("\n")
            self.stream.flush()
        elif step.message != self.last_message:
            print(f"  {step.message}", file=self.stream, flush=True)
        self.last_message = step.message


def _load_data(args, device, log: TextIO):
    data_dir = resolve_data_dir(args.data_dir)
    print(f"Loading data set from {data_dir}", file=log, flush=True)
    ensure_mnist(data_dir, ProgressBar(sys.stderr))
    return load_mnist(data_dir, device)


def _fail(prog: str, message: str, code: int = EXIT_FAILED) -> int:
    print(f"{prog}: error: {message}", file=sys.stderr)
    return code


def train_main(argv: Sequence[str] | None = None) -> int:
    args = train_parser().parse_args(argv)
    given = {"lr": args.lr, "epochs": args.epochs, "batch_size": args.batch_size, "noise_std": args.noise_std}
    config = preset_config(
        args.preset, seed=args.seed, device=args.device, savepath=args.savepath,
        **{name: value for name, value in given.items() if value is not None},
    )
    out = sys.stdout
    try:
        validate_config(config)
        device = resolve_device(config.device)
        _check_savepath(Path(config.savepath))
        data = _load_data(args, device, out)
        validate_config(config, train_size=len(data.train_labels))
    except ConfigError as exc:
        return _fail("mnistconv-train", str(exc), EXIT_USAGE)
    except MnistConvError as exc:
        return _fail("mnistconv-train", str(exc))
    control = TrainingControl()
    run = train(config, data, control)
    outcome = None
    try:
        for event in run:
            outcome = _print_event(event, out) or outcome
    except KeyboardInterrupt:
        control.request_stop()
        for event in run:  # let the loop finish its stop cleanly
            outcome = _print_event(event, out) or outcome
        return EXIT_INTERRUPTED
    except MnistConvError as exc:
        return _fail("mnistconv-train", str(exc))
    return EXIT_FAILED if outcome == "nan" else 0


def _check_savepath(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the save folder {folder}: {exc.strerror or exc}") from exc
    if not folder.is_dir():
        raise ConfigError(f"save folder {folder} is not a folder")


def _print_event(event, out: TextIO) -> str | None:
    """Print one event in the seed's words; return the finish reason for the last one."""
    match event:
        case events.TrainingStarted():
            print(f"Building model... ({event.parameters:,} parameters, {event.device})", file=out)
            print("Beginning training loop...", file=out, flush=True)
        case events.EpochFinished():
            print(
                f"[{event.epoch}]: Test accuracy: {event.test_accuracy:.4f}"
                f"   (train loss {event.train_loss:.4f}, lr {event.lr:g}, {event.seconds:.1f} s, {event.images_per_s:,.0f} images/s)",
                file=out, flush=True,
            )
        case events.NewBestSaved():
            print(f" -> New best accuracy! Saving model out to {event.path}", file=out, flush=True)
        case events.SaveFailed():
            print(f" -> Could not save the model: {event.message}", file=sys.stderr, flush=True)
        case events.LrDropped():
            print(f" -> Haven't improved in a while, dropping learning rate to {event.new_lr:g}!", file=out, flush=True)
        case events.EarlyExit():
            print(" -> Early-exiting: We reached our target accuracy of 99.9%", file=out, flush=True)
        case events.Converged():
            print(" -> We're calling this converged.", file=out, flush=True)
        case events.NanAbort():
            print(f"NaN params after epoch {event.epoch}: training aborted; the last good model is kept.", file=sys.stderr, flush=True)
        case events.Stopped():
            print(f"Stopped in epoch {event.epoch} after {event.batch} batches.", file=out, flush=True)
        case events.Finished():
            where = f" in {event.checkpoint}" if event.checkpoint else ""
            print(f"Best test accuracy {event.best_accuracy:.4f} (epoch {event.best_epoch}){where}", file=out, flush=True)
            return event.reason
    return None


def test_main(argv: Sequence[str] | None = None) -> int:
    args = test_parser().parse_args(argv)
    try:
        device = resolve_device(args.device)
        path = Path(args.savepath)
        path = path / CHECKPOINT_NAME if path.is_dir() or not path.suffix else path
        if not path.is_file():
            raise MnistConvError(f"no saved model at {path}; train one with mnistconv-train --savepath {args.savepath}")
        data = _load_data(args, device, sys.stdout)
        accuracy, saved = evaluate_saved_model(path, data)
    except MnistConvError as exc:
        return _fail("mnistconv-test", str(exc))
    print(f"Model {saved.path} (epoch {saved.epoch}) on {describe_device(device)}")
    print(f"accuracy(test_set..., model) = {accuracy:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(train_main())
