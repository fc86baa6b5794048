"""Many recorded runs as one table: per-epoch metrics with a run column (one CSV for several runs),
and each run's settings and results as a row (the hyper-parameter table)."""

from __future__ import annotations

import csv
import io
import unicodedata
from typing import Iterable

from .config import TrainConfig, lr_plan_text
from .events import Outcome
from .history import EPOCH_KEYED
from .presets import PRESETS
from .runstore import Group, Run, RunStore

#: The outcomes of a group member that has done its part (stopped or failed ones have not).
DONE = frozenset({Outcome.COMPLETED, Outcome.EARLY_EXIT, Outcome.CONVERGED})


def done_count(members: Iterable[Run]) -> int:
    """How many of a group's runs have done their part."""
    return sum(run.outcome in DONE for run in members)

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
    """A setting as a table cell: numbers in their shortest form, channels as --channels and a plan as
    --lr-at write them."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)) and value and all(type(item) is int for item in value):
        return ",".join(map(str, value))  # a network's channels, as --channels takes them
    if isinstance(value, (list, tuple)):
        try:
            return lr_plan_text(value)
        except (TypeError, ValueError):
            return "?"
    return str(value)


def printable(text: str) -> str:
    """Text from the store as a terminal shows it: control characters (an escape sequence in a
    crafted store) become '\ufffd'; line breaks and tabs stay."""
    return "".join(c if c in "\n\t" or unicodedata.category(c) != "Cc" else "\ufffd" for c in text)


def group_settings(group: Group) -> str:
    """The group's preset (or 'custom') and the settings its members differ from it in, seeds aside."""
    base = PRESETS[group.preset].config if group.preset in PRESETS else TrainConfig()
    changed = [f"{name} {setting_text(group.config[name])}" for name in SETTINGS
               if name != "seed" and name in group.config
               and setting_text(group.config[name]) != setting_text(getattr(base, name))]
    return ", ".join([printable(group.preset or "custom"), *changed])
