"""`mnistconv-finetune`: fit a model to your own digits from the command line, with before/after figures.

    mnistconv-finetune [--digits DIR] [--from CHECKPOINT] [--savepath DIR] [--seconds N]

The same fit as the window's "Fit to my handwriting" (core.finetune). Status 0 when the fitted model
was kept, 1 when it was refused (MNIST test accuracy would fall too far) or could not be made.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from . import allocator
from .cli import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    StopOnSignals,
    _fail,
    add_runs_dir,
    print_event,
    setting,
)
from .device import DEVICE_CHOICES
from .errors import ConfigError, MnistConvError
from .events import FinetuneFinished
from .finetune import FinetuneSettings, finetune_session
from .paths import resolve_data_dir
from .personal import default_personal_dir
from .progress_bar import ProgressBar
from .runstore import resolve_runs_dir
from .train import TrainingControl


def finetune_parser() -> argparse.ArgumentParser:
    defaults = FinetuneSettings()
    parser = argparse.ArgumentParser(
        prog="mnistconv-finetune",
        description="Fit a model to your handwriting: fine-tune it on your own digits mixed with MNIST's, and keep the "
                    "result only if MNIST test accuracy stays within 0.2 points.",
    )
    parser.add_argument("--digits", type=Path, default=None,
                        help="your digits, in folders 0 … 9 of pictures (default: the personal set the window keeps)")
    parser.add_argument("--from", dest="base", type=Path, default=None, help="the model to start from (default: the bundled one)")
    parser.add_argument("--savepath", type=Path, default=None,
                        help="where to write the fitted mnist_conv.pt (default: a new run's folder in the run store)")
    parser.add_argument("--seconds", type=setting("seconds"), default=None, help="a time limit for all the fitting")
    parser.add_argument("--steps", type=setting("steps"), default=defaults.steps,
                        help=f"steps per fit (default: {defaults.steps})")
    parser.add_argument("--seed", type=setting("seed"), default=defaults.seed)
    parser.add_argument("--data-dir", default=None, help="MNIST folder (default: $MNISTCONV_DATA, else the per-user cache)")
    parser.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
    add_runs_dir(parser)
    return parser


def finetune_main(argv: Sequence[str] | None = None) -> int:
    parser = finetune_parser()
    args = parser.parse_args(argv)
    allocator.keep_freed_memory()
    settings = FinetuneSettings(steps=args.steps, seconds=args.seconds, seed=args.seed, device=args.device)
    control = TrainingControl()
    progress = ProgressBar(sys.stderr)
    result = None
    with StopOnSignals(control, sys.stderr) as signals:
        try:
            session = finetune_session(args.digits or default_personal_dir(), resolve_data_dir(args.data_dir), control,
                                       base=args.base, settings=settings, runs_dir=resolve_runs_dir(args.runs_dir),
                                       savepath=args.savepath)
            for event in session:
                print_event(event, sys.stdout, progress)
                result = event if isinstance(event, FinetuneFinished) else result
        except ConfigError as exc:
            return _fail("mnistconv-finetune", str(exc), EXIT_USAGE)
        except MnistConvError as exc:
            return _fail("mnistconv-finetune", str(exc))
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED
    if signals.exit_status is not None:
        return signals.exit_status
    return 0 if result is not None and result.accepted else EXIT_FAILED
