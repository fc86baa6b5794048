"""The console scripts: each runs its command's main function, then ends the process at once.

When a main function has returned, its work is done and on disk: models and run states are
written atomically and synced (core/atomic.py), the run store's transactions are committed, its
files and locks closed. What Python's own shutdown would still do is tear down every module the
command imported, torch's thousands above all: about 0.4 s on a 2-core machine (`benchmarks/
speed.py` measures it after `import torch`), a sixteenth of `mnistconv-train --epochs 1` and a
quarter of `mnistconv-runs`, for nothing the user sees. So once the standard streams are flushed
the process ends with os._exit and the main function's status.

The main functions themselves (core.cli, core.cli_runs, core.cli_finetune) still return their
status, for the tests and for anyone calling them from Python; only these entry points exit.
"""

from __future__ import annotations

import os
import sys
from typing import Callable, NoReturn


def run_then_exit(main: Callable[[], int | None]) -> NoReturn:
    """Run `main`, flush stdout and stderr, and end the process with its status, skipping
    Python's shutdown. An exception other than SystemExit goes up as usual (and Python reports it)."""
    for stream in (sys.stdout, sys.stderr):
        # A path that is not UTF-8 (a folder named in another encoding) or a character the terminal's
        # encoding lacks is printed escaped (\udce9), never an UnicodeEncodeError in the middle of a run.
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        status = main()
    except SystemExit as exc:  # argparse's --help and usage errors, or a main that exits itself
        status = exc.code
        if status is not None and not isinstance(status, int):
            print(status, file=sys.stderr)  # what Python does with a non-integer exit code
            status = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can reach the reader
            pass
    os._exit(status or 0)


def train() -> NoReturn:
    """mnistconv-train"""
    from .cli import train_main

    run_then_exit(train_main)


def test() -> NoReturn:
    """mnistconv-test"""
    from .cli import test_main

    run_then_exit(test_main)


def fetch() -> NoReturn:
    """mnistconv-fetch"""
    from .cli import fetch_main

    run_then_exit(fetch_main)


def runs() -> NoReturn:
    """mnistconv-runs"""
    from .cli_runs import runs_main

    run_then_exit(runs_main)


def export() -> NoReturn:
    """mnistconv-export"""
    from .cli_runs import export_main

    run_then_exit(export_main)


def finetune() -> NoReturn:
    """mnistconv-finetune"""
    from .cli_finetune import finetune_main

    run_then_exit(finetune_main)
