"""Seed groups in the Runs tab: one row per group, its members' best accuracies summed up.

`group_rows` (Qt-free) gathers each group's members from the runs already listed, so a listing
costs no query per group; `GroupsModel` shows the rows, and its first column's check box says
whether the group's mean curve and band are drawn on the plots; `GroupsBox` is the small sortable
table under the runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from mnistconv.core.groups import Spread, spread
from mnistconv.core.run_tables import done_count, group_settings
from mnistconv.core.runstore import Group, Run

from .guarded_model import GuardedData
from .runs_table import MISSING, SORT_ROLE

GROUP_COLUMNS = ("Group", "Name", "Done", "Best (mean ± σ)", "Min–max", "Settings")


@dataclass(frozen=True)
class GroupRow:
    group: Group
    members: tuple[Run, ...]  # the group's recorded runs, oldest first
    best: Spread | None  # of the members' best accuracies

    @property
    def id(self) -> int:
        return self.group.id

    @property
    def name(self) -> str:
        """Its first member's name, else its preset."""
        first = self.members[0] if self.members else None
        return (first.name if first else None) or self.group.preset or (first.kind if first else "custom")

    @property
    def done(self) -> int:
        return done_count(self.members)

    @property
    def range_text(self) -> str:
        return "" if self.best is None else self.best.range_text()


def group_rows(groups: list[Group], runs: list[Run]) -> list[GroupRow]:
    """One row per group, its members found among `runs`."""
    members: dict[int, list[Run]] = {}
    for run in sorted(runs, key=lambda run: run.id):
        if run.group_id is not None:
            members.setdefault(run.group_id, []).append(run)
    rows = []
    for group in groups:
        listed = tuple(members.get(group.id, ()))
        rows.append(GroupRow(group, listed, spread(run.best_accuracy for run in listed)))
    return rows


def _cell(row: GroupRow, column: int) -> tuple:
    """(sort value, text) of one cell."""
    if column == 0:
        return row.id, str(row.id)
    if column == 1:
        return row.name.casefold(), row.name
    if column == 2:
        return row.done, f"{row.done}/{row.group.size}"
    if column == 3:
        return (MISSING, "") if row.best is None else (row.best.mean, row.best.percent_text())
    if column == 4:
        return (MISSING if row.best is None else row.best.low), row.range_text
    text = group_settings(row.group)
    return text, text


class GroupsModel(GuardedData, QAbstractTableModel):
    overlay_toggled = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[GroupRow] = []
        self.overlaid: set[int] = set()

    def set_rows(self, rows: list[GroupRow]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.overlaid &= {row.id for row in self.rows}
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(GROUP_COLUMNS)

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(GROUP_COLUMNS):
            return GROUP_COLUMNS[section]
        return None

    def flags(self, index: QModelIndex):
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        return flags | Qt.ItemFlag.ItemIsUserCheckable if index.column() == 0 else flags

    def cell(self, index: QModelIndex, role: int):
        row = self.rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.CheckStateRole and column == 0:
            return Qt.CheckState.Checked if row.id in self.overlaid else Qt.CheckState.Unchecked
        if role in (Qt.ItemDataRole.DisplayRole, SORT_ROLE):
            sort_value, shown = _cell(row, column)
            return shown if role == Qt.ItemDataRole.DisplayRole else sort_value
        if role == Qt.ItemDataRole.ToolTipRole:
            members = ", ".join(f"run {run.id} (seed {run.seed}, {run.outcome})" for run in row.members) or "none yet"
            return f"Group {row.id}, seeds {', '.join(map(str, row.group.seeds))}; members: {members}"
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (0, 2, 3, 4):
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        return None

    def setData(self, index: QModelIndex, value, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.CheckStateRole or index.column() != 0 or not 0 <= index.row() < len(self.rows):
            return False
        group_id = self.rows[index.row()].id
        checked = Qt.CheckState(value) == Qt.CheckState.Checked
        (self.overlaid.add if checked else self.overlaid.discard)(group_id)
        self.dataChanged.emit(index, index, [role])
        self.overlay_toggled.emit()
        return True


class GroupsBox(QWidget):
    """The groups' table under a line that says what a group is."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = GroupsModel(self)
        proxy = QSortFilterProxyModel(self)
        proxy.setSourceModel(self.model)
        proxy.setSortRole(SORT_ROLE)
        self.table = QTableView()
        self.table.setModel(proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setAccessibleName("Seed groups")
        self.table.setToolTip("Tick a group to draw its members' mean curve and band on the plots")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Seed groups: the same settings trained with several seeds"))
        layout.addWidget(self.table, 1)
