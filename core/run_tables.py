"""Many recorded runs as one table: per-epoch metrics with a run column (one CSV for several runs),
and each run's settings and results as a row (the hyper-parameter table)."""

from __future__ import annotations

import csv
import io
from typing import Iterable

from .config import TrainConfig
from .history import EPOCH_KEYED
from .runstore import Run, RunStore

#: The settings the hyper-parameter table shows, in TrainConfig's order: every one that changes what
#: a run computes (where it saves, how often it reports and how it evaluates do not).
SETTINGS = tuple(name for name in TrainConfig.__dataclass_fields__
                 if name not in ("savepath", "progress_interval_s", "eval_batch_size"))


def runs_csv(store: RunStore, runs: Iterable[Run]) -> str:
    """The per-epoch metrics of `runs`, one file: a `run` and a `name` column, then EPOCH_KEYED; an
    unmeasured value is empty."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("run", "name", *EPOCH_KEYED))
    for run in runs:
        for row in store.history(run.id).epoch_rows():
            writer.writerow([run.id, run.name or "", *(row[name] for name in EPOCH_KEYED)])
    return buffer.getvalue()


def setting_text(value) -> str:
    """A setting as a table cell: numbers in their shortest form, a plan as --lr-at writes it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        try:
            return ",".join(f"{int(epoch)}:{float(lr):g}" for epoch, lr in value)
        except (TypeError, ValueError):
            return "?"
    return str(value)
