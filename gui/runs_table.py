"""The hyper-parameter table: one row per recorded run, a column per setting and result.

`RunsModel` shows the runs (its first column's check box overlays a run on the plots; its Name and
Tags cells are edited in place, through the `relabel` it is given); `RunsFilter` keeps the rows whose
name, tags, preset, note, outcome or settings hold every word typed. Each cell gives its text for
display and a value for SORT_ROLE, numeric where the column is, so a column sorts as numbers do.

The model's columns keep their first seven places (Run, Started, Preset, Best, Epochs, Duration,
Outcome: what lists and tests have always read there); the view shows them in DISPLAY_ORDER.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Callable

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal

from mnistconv.core.run_tables import SETTINGS, setting_text
from mnistconv.core.runstore import Run

from .guarded_model import GuardedData

SORT_ROLE = Qt.ItemDataRole.UserRole
MISSING = -math.inf  # how an unknown number sorts: before every known one
NOTE_TIP = 600  # characters of a note its row's tooltip shows


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


def _percent(fraction: float | None) -> tuple:
    return (MISSING if fraction is None else fraction), "" if fraction is None else f"{100 * fraction:.2f} %"


def _number(value) -> float | str:
    """A setting's sort value: numbers (and yes/no) as numbers, anything else as its text."""
    if isinstance(value, (bool, int, float)):
        return float(value) if not isinstance(value, float) or math.isfinite(value) else MISSING
    return MISSING if value is None else setting_text(value)


@dataclass(frozen=True)
class Column:
    title: str
    cell: Callable[[Run, float | None], tuple]  # (run, its final accuracy) → (sort value, text)
    numeric: bool = False  # right-aligned
    tip: str = ""


def _setting_column(name: str) -> Column:
    def cell(run: Run, _final) -> tuple:
        value = run.config.get(name)
        return _number(value), setting_text(value)

    numeric = name not in ("device", "lr_schedule", "lr_at", "channels")
    return Column(name, cell, numeric, f"The setting {name} the run trained with")


#: The seed has a column of its own (the seed the run trained with, given or drawn).
SETTING_COLUMNS = tuple(name for name in SETTINGS if name != "seed")

TABLE: tuple[Column, ...] = (
    Column("Run", lambda run, _: (run.id, str(run.id)), True, "Tick a run to overlay its curves on the plots"),
    Column("Started (UTC)", lambda run, _: (run.started, run.started.replace("T", " ")[:16])),
    Column("Preset", lambda run, _: (run.preset or run.kind, run.preset or run.kind)),
    Column("Best", lambda run, _: _percent(run.best_accuracy), True, "The best test accuracy of any epoch"),
    Column("Epochs", lambda run, _: (-1 if run.epochs_done is None else run.epochs_done, run.epochs_text), True,
           "Epochs done of planned"),
    Column("Duration", lambda run, _: (run.duration_s or 0.0, _duration(run.duration_s)), True),
    Column("Outcome", lambda run, _: (str(run.outcome), str(run.outcome).replace("_", " "))),
    Column("Name", lambda run, _: ((run.name or "").casefold(), run.name or ""), tip="Double-click to name the run"),
    Column("Tags", lambda run, _: (", ".join(run.tags).casefold(), ", ".join(run.tags)),
           tip="Double-click to tag the run (tags separated by commas)"),
    Column("Group", lambda run, _: (-1 if run.group_id is None else run.group_id,
                                    "" if run.group_id is None else str(run.group_id)), True, "The run's seed group"),
    Column("Seed", lambda run, _: ("" if run.seed is None else f"{run.seed:020d}", "" if run.seed is None else str(run.seed)),
           True, "The seed the run trained with"),
    *map(_setting_column, SETTING_COLUMNS),
    Column("Final", lambda run, final: _percent(final), True, "The test accuracy after the last recorded epoch"),
    Column("Params", lambda run, _: (-1 if run.parameters is None else run.parameters,
                                     "" if run.parameters is None else f"{run.parameters:,}"), True,
           "The network's parameters"),
    Column("Network", lambda run, _: (MISSING if run.network is None else run.network.parameters, run.network_text), True,
           "The network's shape: each block's channels, the filters' size, and the hidden layer's units when it has "
           "one (sorted by size)"),
)
COLUMNS = tuple(column.title for column in TABLE)
NAME, TAGS = COLUMNS.index("Name"), COLUMNS.index("Tags")
#: The order the view shows the columns in.
#: (The results come before the settings: a narrow window shows them without scrolling.)
DISPLAY_ORDER = ("Run", "Name", "Tags", "Group", "Best", "Final", "Epochs", "Started (UTC)", "Preset", "Seed",
                 *SETTING_COLUMNS, "Duration", "Network", "Params", "Outcome")
#: The columns shown until the person chooses others (the rest are in the header's menu).
DEFAULT_SHOWN = ("Run", "Name", "Tags", "Group", "Best", "Final", "Epochs", "Preset", "Seed", "lr", "epochs", "batch_size",
                 "Duration", "Network", "Outcome")


def split_tags(text: str) -> list[str]:
    """Tags as typed in a cell: separated by commas, blanks dropped."""
    return [tag.strip() for tag in str(text).split(",") if tag.strip()]


def _haystack(run: Run) -> str:
    """What the filter looks in: the run's number, labels, preset, outcome, group and settings."""
    settings = " ".join(f"{name}={setting_text(run.config.get(name))}" for name in SETTINGS if name in run.config)
    return " ".join([str(run.id), run.name or "", *run.tags, run.preset or "", run.kind, run.note or "", str(run.outcome),
                     f"seed={run.seed}", "" if run.group_id is None else f"group={run.group_id}", settings]).casefold()


class RunsModel(GuardedData, QAbstractTableModel):
    """The runs as rows; the first column's check box says whether the run is overlaid on the plots.

    `relabel(run_id, labels)` stores a run's new name or tags (labels: set_labels's keywords) and gives
    back the run as stored, or None when they were refused (it says why)."""

    overlay_toggled = Signal()

    def __init__(self, parent=None, relabel: Callable[[int, dict], Run | None] | None = None):
        super().__init__(parent)
        self.runs: list[Run] = []
        self.finals: dict[int, float] = {}
        self.overlaid: set[int] = set()
        self.relabel = relabel
        self._haystacks: list[str] = []

    def set_runs(self, runs: list[Run], finals: dict[int, float] | None = None) -> None:
        self.beginResetModel()
        self.runs = list(runs)
        self.finals = dict(finals or {})
        self._haystacks = [self._searchable(run) for run in self.runs]
        self.overlaid &= {run.id for run in self.runs}
        self.endResetModel()

    @staticmethod
    def _searchable(run: Run) -> str:
        try:
            return _haystack(run)
        except Exception:  # noqa: BLE001 - a run read oddly is found by its number alone
            return str(run.id)

    def matches(self, row: int, words: list[str]) -> bool:
        return 0 <= row < len(self._haystacks) and all(word in self._haystacks[row] for word in words)

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.runs)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(TABLE)

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(TABLE):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return TABLE[section].title
        if role == Qt.ItemDataRole.ToolTipRole:
            return TABLE[section].tip or None
        return None

    def flags(self, index: QModelIndex):
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == 0:
            return flags | Qt.ItemFlag.ItemIsUserCheckable
        return flags | Qt.ItemFlag.ItemIsEditable if index.column() in (NAME, TAGS) and self.relabel else flags

    def cell(self, index: QModelIndex, role: int):
        run = self.runs[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.CheckStateRole and column == 0:
            return Qt.CheckState.Checked if run.id in self.overlaid else Qt.CheckState.Unchecked
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole, SORT_ROLE):
            sort_value, shown = TABLE[column].cell(run, self.finals.get(run.id))
            return sort_value if role == SORT_ROLE else shown
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(run)
        if role == Qt.ItemDataRole.TextAlignmentRole and TABLE[column].numeric:
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        return None

    @staticmethod
    def tooltip(run: Run) -> str:
        """The row's tooltip: the run's note first, when it has one, then what it is."""
        details = f"Run {run.id}: {run.preset or run.kind}, seed {run.seed}, {run.device or ''}; best model {run.checkpoint}"
        if not run.note:
            return details
        note = run.note if len(run.note) <= NOTE_TIP else run.note[:NOTE_TIP] + "…"
        return f"<qt><p style='white-space:pre-wrap'>{html.escape(note)}</p><p>{html.escape(details)}</p></qt>"

    def setData(self, index: QModelIndex, value, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or not 0 <= index.row() < len(self.runs):
            return False
        run = self.runs[index.row()]
        if role == Qt.ItemDataRole.CheckStateRole and index.column() == 0:
            checked = Qt.CheckState(value) == Qt.CheckState.Checked
            (self.overlaid.add if checked else self.overlaid.discard)(run.id)
            self.dataChanged.emit(index, index, [role])
            self.overlay_toggled.emit()
            return True
        if role != Qt.ItemDataRole.EditRole or index.column() not in (NAME, TAGS) or self.relabel is None:
            return False
        if index.column() == NAME:
            name = str(value).strip()
            labels = {"name": name} if name != (run.name or "") else {}
        else:
            tags = split_tags(value)
            labels = {"tags": tags} if tuple(tags) != run.tags else {}
        if not labels:
            return True  # as it was
        stored = self.relabel(run.id, labels)
        if stored is None:
            return False
        self.replace_run(stored)
        return True

    def replace_run(self, run: Run) -> None:
        """A run as stored now (relabelled): its row shows it."""
        for row, listed in enumerate(self.runs):
            if listed.id == run.id:
                self.runs[row] = run
                self._haystacks[row] = self._searchable(run)
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(TABLE) - 1))
                return


class RunsFilter(QSortFilterProxyModel):
    """Sorts by SORT_ROLE and keeps the rows that hold every word of the filter text (any case)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self._words: list[str] = []

    def set_text(self, text: str) -> None:
        self.beginFilterChange()
        self._words = text.casefold().split()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex) -> bool:
        model = self.sourceModel()
        return not self._words or not isinstance(model, RunsModel) or model.matches(source_row, self._words)
