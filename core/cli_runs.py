"""`mnistconv-runs` lists, shows, exports and deletes recorded runs; `mnistconv-export` writes a model as ONNX.

    mnistconv-runs [--json]                  every run, newest first
    mnistconv-runs show RUN [--json]         one run's settings and epochs
    mnistconv-runs export RUN --csv FILE     its per-epoch metrics as CSV
    mnistconv-runs delete RUN --yes          remove it and its folder
    mnistconv-export --onnx FILE [--checkpoint PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from .atomic import atomic_write
from .cli import EXIT_FAILED, add_runs_dir, run_number
from .errors import MnistConvError
from .runstore import Run, RunStore, resolve_runs_dir
from .wording import epoch_line


def runs_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mnistconv-runs", description="The recorded training runs.")
    add_runs_dir(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    commands = parser.add_subparsers(dest="command", metavar="{list,show,export,delete}")
    commands.add_parser("list", help="every run, newest first (the default)")
    show = commands.add_parser("show", help="one run's settings and epochs")
    show.add_argument("run", type=run_number, help="the run's number")
    show.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    export = commands.add_parser("export", help="one run's per-epoch metrics")
    export.add_argument("run", type=run_number)
    export.add_argument("--csv", required=True, type=Path, metavar="FILE", help="where to write them ('-': standard output)")
    delete = commands.add_parser("delete", help="remove a run, its models and its state")
    delete.add_argument("run", type=run_number)
    delete.add_argument("--yes", action="store_true", help="delete without asking")
    return parser


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.2f} %"


def run_table(runs: list[Run]) -> str:
    rows = [("run", "started (UTC)", "preset", "epochs", "best", "outcome")]
    for run in runs:
        rows.append((str(run.id), run.started.replace("T", " ")[:16], run.preset or run.kind, run.epochs_text,
                     _percent(run.best_accuracy), run.outcome))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)


def runs_main(argv: Sequence[str] | None = None) -> int:
    args = runs_parser().parse_args(argv)
    try:
        with RunStore(resolve_runs_dir(args.runs_dir)) as store:
            return _runs_command(args, store)
    except MnistConvError as exc:
        print(f"mnistconv-runs: error: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _runs_command(args, store: RunStore) -> int:
    if args.command in (None, "list"):
        runs = store.runs()
        if args.json:
            print(json.dumps([run.summary() for run in runs], indent=2))
        elif runs:
            print(run_table(runs))
        else:
            print(f"No runs recorded in {store.root} yet.")
        return 0
    run = store.run(args.run)
    if args.command == "show":
        epochs = store.history(run.id).epoch_rows()
        if args.json:
            print(json.dumps({**run.summary(), "config": run.config, "epochs": epochs}, indent=2))
            return 0
        print(run_table([run]))
        print(f"\nsettings: {json.dumps(run.config, sort_keys=True)}")
        print(f"best model: {run.checkpoint}\n")
        for epoch in epochs:
            print(epoch_line(epoch))
        return 0
    if args.command == "export":
        history = store.history(run.id)
        text = history.epochs_csv()
        if str(args.csv) == "-":
            sys.stdout.write(text)
        else:
            try:
                with atomic_write(args.csv, durable=False) as sink:
                    sink.write(text.encode("utf-8"))
            except OSError as exc:
                raise MnistConvError(f"Could not write {args.csv}: {exc.strerror or exc}") from exc
            count = len(history.epochs)
            print(f"Wrote {count} epoch{'' if count == 1 else 's'} of run {run.id} to {args.csv}")
        return 0
    if args.command == "delete":
        if not args.yes:
            if not sys.stdin.isatty():
                raise MnistConvError(f"deleting run {run.id} removes its models and state; add --yes to confirm")
            answer = input(f"Delete run {run.id} ({run.preset or run.kind}, {run.epochs_text} epochs, best "
                           f"{_percent(run.best_accuracy)}) and its folder {run.folder}? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                print("Nothing deleted.")
                return 0
        store.delete_run(run.id)
        print(f"Deleted run {run.id}.")
        return 0
    raise AssertionError(args.command)


def export_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mnistconv-export", description="Write a model as ONNX.")
    parser.add_argument("--onnx", required=True, type=Path, metavar="FILE", help="the .onnx file to write")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="the model (default: the latest run's best model, else the bundled one)")
    add_runs_dir(parser)
    return parser


def export_main(argv: Sequence[str] | None = None) -> int:
    from .onnx_export import INPUT_NAME, OUTPUT_NAME, export_onnx
    from .paths import bundled_model_path

    args = export_parser().parse_args(argv)
    try:
        source = args.checkpoint
        if source is None:
            with RunStore(resolve_runs_dir(args.runs_dir)) as store:
                run = store.latest_with_model()
            source = run.checkpoint if run is not None else None
        with bundled_model_path() as bundled:
            path = export_onnx(source or bundled, args.onnx)
    except MnistConvError as exc:
        print(f"mnistconv-export: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"Wrote {path} from {source or 'the bundled model'}: input '{INPUT_NAME}' (N, 1, 28, 28) float32 in [0, 1], "
          f"output '{OUTPUT_NAME}' (N, 10)")
    return 0

