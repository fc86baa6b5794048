"""Which of the runs table's columns show, and in what order.

The columns show in DISPLAY_ORDER, sized to their contents (within WIDEST_COLUMN), the table scrolling
sideways when they are wider than it. The header's context menu lists every column to show or hide;
the choice is kept in the window's settings, by title, once `use_settings` has them.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QSettings, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QMenu, QTableView

from .runs_table import COLUMNS, DEFAULT_SHOWN, DISPLAY_ORDER
from .settings_reader import Field, read, text

COLUMNS_KEY = "runs/columns"  # the columns shown, by title, comma-separated
WIDEST_COLUMN = 320  # pixels: a long name or setting is cut (its row's tooltip tells the run)
ALWAYS = "Run"  # the run's number and tick box always show


class RunsColumns(QObject):
    def __init__(self, table: QTableView):
        super().__init__(table)
        self.table = table
        self._settings: QSettings | None = None
        header = table.horizontalHeader()
        for place, title in enumerate(DISPLAY_ORDER):
            header.moveSection(header.visualIndex(COLUMNS.index(title)), place)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setMaximumSectionSize(WIDEST_COLUMN)
        header.setStretchLastSection(True)
        table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.menu = QMenu("Columns", table)
        for title in DISPLAY_ORDER:
            action = self.menu.addAction(title)
            action.setCheckable(True)
            action.setEnabled(title != ALWAYS)
            action.toggled.connect(lambda shown, title=title: self.set_shown(title, shown))
        self.menu.addSeparator()
        self.menu.addAction("The usual columns", lambda: self.show_only(DEFAULT_SHOWN))
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(lambda place: self.menu.popup(header.mapToGlobal(place)))
        self.show_only(DEFAULT_SHOWN, keep=False)

    def shown(self) -> list[str]:
        """The titles of the columns shown, in the order they show."""
        return [title for title in DISPLAY_ORDER if not self.table.isColumnHidden(COLUMNS.index(title))]

    def set_shown(self, title: str, shown: bool) -> None:
        if title not in COLUMNS or title == ALWAYS or shown != self.table.isColumnHidden(COLUMNS.index(title)):
            return
        self.table.setColumnHidden(COLUMNS.index(title), not shown)
        self._tick_menu()
        self._keep()

    def show_only(self, titles, keep: bool = True) -> None:
        """Show these columns (and Run), hide the others."""
        wanted = {ALWAYS, *titles}
        for index, title in enumerate(COLUMNS):
            self.table.setColumnHidden(index, title not in wanted)
        self._tick_menu()
        if keep:
            self._keep()

    def use_settings(self, settings: QSettings) -> list[str]:
        """Show the columns these settings keep, and keep each later choice in them; a line for the
        log for a stored value that cannot be used (the usual columns show)."""
        problems: list[str] = []
        stored = read(settings, Field(COLUMNS_KEY, text), problems)
        if stored is not None:
            self.show_only([title for title in stored.split(",") if title in COLUMNS], keep=False)
        self._settings = settings
        return problems

    def _tick_menu(self) -> None:
        shown = set(self.shown())
        for action in self.menu.actions():
            if action.isCheckable():
                action.blockSignals(True)
                action.setChecked(action.text() in shown)
                action.blockSignals(False)

    def _keep(self) -> None:
        if self._settings is not None:
            self._settings.setValue(COLUMNS_KEY, ",".join(self.shown()))
