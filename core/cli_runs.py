"""`mnistconv-runs` lists, shows, labels, exports and deletes recorded runs and sums up seed groups;
`mnistconv-export` writes a model as ONNX.

    mnistconv-runs [--json]                       every run, newest first: name, tags, group, outcome
    mnistconv-runs show RUN [--json]              one run's labels, settings and epochs
    mnistconv-runs label RUN [--name TEXT] [--tag TAG]... [--untag TAG]... [--note TEXT]
                                                  name, tag or annotate it (--name "" clears the name)
    mnistconv-runs export --csv FILE RUN [RUN…]   per-epoch metrics as CSV (several runs: a run column)
    mnistconv-runs groups [--json]                each seed group: members, best accuracy mean ± σ
    mnistconv-runs delete RUN --yes               remove it and its folder
    mnistconv-export --onnx FILE [--checkpoint PATH]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path
from typing import Sequence

from .atomic import atomic_write
from .cli import EXIT_FAILED, add_runs_dir, run_number
from .errors import MnistConvError
from .groups import spread
from .run_tables import done_count, group_settings, printable, runs_csv
from .runstore import Group, Run, RunStore, StoreError, resolve_runs_dir
from .wording import epoch_line

COMMANDS = ("list", "show", "label", "export", "groups", "delete")
NAME_WIDTH = 24  # the most characters of a name the list shows ("…" ends a longer one)
TAGS_WIDTH = 24
SETTINGS_WIDTH = 40  # of a group's settings summary
MEMBERS_WIDTH = 60  # of a group's members (run:seed …)
#: The outcomes of a member that trained to its end: a group counts these as done.
def runs_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mnistconv-runs", description="The recorded training runs and seed groups.")
    add_runs_dir(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    commands = parser.add_subparsers(dest="command", metavar="{" + ",".join(COMMANDS) + "}")
    commands.add_parser("list", help="every run, newest first, with its name, tags and group (the default)")
    show = commands.add_parser("show", help="one run's labels, settings and epochs")
    show.add_argument("run", type=run_number, help="the run's number")
    show.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    label = commands.add_parser("label", help="name, tag or annotate a run",
                                description="Name, tag or annotate a recorded run; what is not given stays as it is.")
    label.add_argument("run", type=run_number, help="the run's number")
    label.add_argument("--name", default=None, metavar="TEXT", help="its name, one line (\"\": no name)")
    label.add_argument("--tag", action="append", default=[], metavar="TAG",
                       help="add a tag (repeatable; a tag has no commas)")
    label.add_argument("--untag", action="append", default=[], metavar="TAG", help="remove a tag (repeatable)")
    label.add_argument("--note", default=None, metavar="TEXT", help="its note, any lines (\"\": no note)")
    export = commands.add_parser("export", help="runs' per-epoch metrics as CSV",
                                 description="One run: its epochs (epoch,test_accuracy,…). Several runs: one file with "
                                             "a run and a name column first, each run's epochs in turn.")
    export.add_argument("runs", nargs="+", type=run_number, metavar="RUN", help="the runs' numbers")
    export.add_argument("--csv", required=True, type=Path, metavar="FILE", help="where to write them ('-': standard output)")
    groups = commands.add_parser("groups", help="each seed group: its members and their best accuracy, mean ± σ")
    groups.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    delete = commands.add_parser("delete", help="remove a run, its models and its state")
    delete.add_argument("run", type=run_number)
    delete.add_argument("--yes", action="store_true", help="delete without asking")
    return parser


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.2f} %"


def _cell(text: str, width: int) -> str:
    """One line of at most `width` characters, '…' ending a longer one."""
    text = " ".join(printable(text).split())
    return text if len(text) <= width else text[:width - 1] + "…"


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)


def run_table(runs: list[Run]) -> str:
    rows = [("run", "started (UTC)", "name", "tags", "group", "network", "epochs", "best", "outcome")]
    for run in runs:
        rows.append((str(run.id), run.started.replace("T", " ")[:16], _cell(run.title, NAME_WIDTH),
                     _cell(", ".join(run.tags), TAGS_WIDTH), "" if run.group_id is None else str(run.group_id),
                     run.network_text, run.epochs_text, _percent(run.best_accuracy), run.outcome))
    return _table(rows)


def label_lines(store: RunStore, run: Run) -> list[str]:
    """A run's name, tags, note (each further line indented under the first), group and parameters."""
    if run.group_id is None:
        group = "—"
    else:
        try:
            found = store.group(run.group_id)
            group = f"{found.id} ({found.size} seed{'' if found.size == 1 else 's'})"
        except StoreError:  # removed, or damaged: the run still shows
            group = f"{run.group_id} (not readable)"
    note = printable(run.note).splitlines() if run.note else ["—"]
    fields = [("name", printable(run.name or "—")), ("tags", printable(", ".join(run.tags)) or "—"),
              ("note", ("\n" + " " * 13).join(note or ["—"])), ("group", group),
              ("network", run.network_text), ("parameters", "—" if run.parameters is None else f"{run.parameters:,}")]
    return [f"{name + ':':<12} {value}" for name, value in fields]


def group_summary(group: Group, members: list[Run]) -> dict:
    """What `groups --json` prints of a group; its best accuracy is its members' best accuracies'
    spread (members without one left out)."""
    figures = spread(run.best_accuracy for run in members)
    return {
        "id": group.id, "created": group.created, "preset": group.preset, "settings": group.config,
        "size": group.size, "seeds": list(group.seeds),
        "runs": [{"id": run.id, "seed": run.seed, "outcome": str(run.outcome), "best_accuracy": run.best_accuracy}
                 for run in members],
        "done": done_count(members),
        "best_accuracy": None if figures is None else {"count": figures.count, "mean": figures.mean,
                                                        "sigma": figures.sigma, "min": figures.low, "max": figures.high},
    }


def group_table(store: RunStore, groups: list[Group]) -> str:
    rows = [("group", "created (UTC)", "settings", "runs", "done", "best (mean ± σ)", "min–max", "members (run:seed)")]
    for group in groups:
        members = store.group_runs(group.id)
        figures = spread(run.best_accuracy for run in members)
        seeds = " ".join(f"{run.id}:{'?' if run.seed is None else run.seed}" for run in members)
        rows.append((str(group.id), group.created.replace("T", " ")[:16], _cell(group_settings(group), SETTINGS_WIDTH),
                     f"{len(members)}/{group.size}", str(done_count(members)),
                     "—" if figures is None else figures.percent_text(),
                     "—" if figures is None else figures.range_text(),
                     _cell(seeds, MEMBERS_WIDTH) or "—"))
    return _table(rows)


def runs_main(argv: Sequence[str] | None = None) -> int:
    parser = runs_parser()
    args = parser.parse_args(argv)
    if args.command == "label" and args.name is None and args.note is None and not args.tag and not args.untag:
        parser.error("label: give at least one of --name, --tag, --untag, --note")
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
    if args.command == "groups":
        groups = store.groups()
        if args.json:
            print(json.dumps([group_summary(group, store.group_runs(group.id)) for group in groups], indent=2))
        elif groups:
            print(group_table(store, groups))
        else:
            print(f"No seed groups recorded in {store.root} yet (mnistconv-train --seeds N makes one).")
        return 0
    if args.command == "export":
        return _export(args, store)
    run = store.run(args.run)
    if args.command == "show":
        epochs = store.history(run.id).epoch_rows()
        if args.json:
            print(json.dumps({**run.summary(), "config": run.config, "epochs": epochs}, indent=2))
            return 0
        print(run_table([run]) + "\n")
        print("\n".join(label_lines(store, run)))
        print(f"{'settings:':<12} {json.dumps(run.config, sort_keys=True)}")
        print(f"{'best model:':<12} {run.checkpoint}\n")
        for epoch in epochs:
            print(epoch_line(epoch))
        return 0
    if args.command == "label":
        return _label(args, store, run)
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


def _label(args, store: RunStore, run: Run) -> int:
    """Add --tag's tags to the run's, remove --untag's, set --name and --note; store.set_labels
    checks them all before it writes anything."""
    both = {tag.strip() for tag in args.tag} & {tag.strip() for tag in args.untag}
    if both:
        raise MnistConvError(f"tag {sorted(both)[0]!r} is both added and removed; give it once")
    tags = None
    if args.tag or args.untag:
        removed = {tag.strip() for tag in args.untag}
        tags = [tag for tag in (*run.tags, *args.tag) if tag.strip() not in removed]
    labelled = store.set_labels(run.id, name=args.name, tags=tags, note=args.note)
    print(f"Labelled run {labelled.id}:")
    print("\n".join(label_lines(store, labelled)))
    return 0


def _export(args, store: RunStore) -> int:
    """One run: its epochs as they always were written; several: one file with a run column. Every
    run is looked up before anything is written."""
    runs = [store.run(run_id) for run_id in dict.fromkeys(args.runs)]
    if len(runs) == 1:
        history = store.history(runs[0].id)
        text, count = history.epochs_csv(), len(history.epochs)
    else:
        text = runs_csv(store, runs)
        count = len(list(csv.reader(io.StringIO(text)))) - 1  # a name may hold a line break (quoted)
    if str(args.csv) == "-":
        sys.stdout.write(text)
        return 0
    try:
        with atomic_write(args.csv, durable=False) as sink:
            sink.write(text.encode("utf-8"))
    except OSError as exc:
        raise MnistConvError(f"Could not write {args.csv}: {exc.strerror or exc}") from exc
    which = f"run {runs[0].id}" if len(runs) == 1 else "runs " + ", ".join(str(run.id) for run in runs)
    print(f"Wrote {count} epoch{'' if count == 1 else 's'} of {which} to {args.csv}")
    return 0


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

