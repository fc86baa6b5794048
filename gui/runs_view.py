"""The Runs tab: every recorded run in a sortable, filterable hyper-parameter table, its seed groups
summed up under it, and what can be done with a run.

`RunsView` reads the run store (core.runstore) on the window's thread: a listing is three short
queries (runs, final accuracies, groups), done when a run starts or ends and when the tab is shown,
never per batch. Ticking a run's box overlays its curves on the live plots (`overlays_changed`),
ticking a group's box its mean curve and band (`group_overlays_changed`); the buttons ask the
window to resume a run or open its best model, and delete (after asking), annotate or export here.
A run's name and tags are edited in their cells. The header's menu hides and shows columns, a
choice kept in the window's settings (`use_settings`).
"""

from __future__ import annotations

import html
import json
from functools import partial
from pathlib import Path

from PySide6.QtCore import QEvent, QModelIndex, QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGridLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mnistconv.core.atomic import atomic_write
from mnistconv.core.errors import MnistConvError
from mnistconv.core.history import RunHistory
from mnistconv.core.run_tables import runs_csv
from mnistconv.core.runstore import RUNNING, Group, Run, RunStore, StoreError

from .file_places import remember, start_in
from .runs_columns import RunsColumns
from .runs_groups import GroupRow, GroupsBox, group_rows
from .runs_note import NoteDialog
from .runs_table import COLUMNS, NAME, SORT_ROLE, TAGS, RunsFilter, RunsModel

__all__ = ["COLUMNS", "SORT_ROLE", "RunsModel", "RunsView"]

WATCH_MS = 2000  # how often a shown Runs tab looks for runs recorded elsewhere
_escape = partial(html.escape, quote=False)  # text from the store or a person, shown in a rich-text label


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


class RunsView(QWidget):
    overlays_changed = Signal(list)  # the ids of the runs to overlay on the plots
    group_overlays_changed = Signal(list)  # the ids of the seed groups whose mean and band to draw
    resume_requested = Signal(int)
    open_model_requested = Signal(Path)
    run_deleted = Signal(int)

    def __init__(self, runs_dir: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.runs_dir = Path(runs_dir)
        self._store: RunStore | None = None
        self.refusal: QMessageBox | None = None  # the last refused label's message
        self.training_run: int | None = None  # the run this window is training now
        # Runs recorded by another process (the command line, another window) appear by themselves:
        # while the tab is shown, the store is asked every WATCH_MS whether anyone else wrote to it.
        self._seen_version: int | None = None
        self._watch = QTimer(self)
        self._watch.setInterval(WATCH_MS)
        self._watch.timeout.connect(self._refresh_if_changed)  # started while the tab is shown

        self.status = QLabel()
        self.status.setWordWrap(True)
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter by name, tag, preset, note, setting…")
        self.filter_edit.setToolTip("Shows the runs that hold every word typed, in any case (lr=0.003 matches a setting)")
        self.filter_edit.setAccessibleName("Filter runs")
        self.filter_edit.setClearButtonEnabled(True)
        self.model = RunsModel(self, relabel=lambda run_id, labels: self.set_labels(run_id, **labels))
        self.proxy = RunsFilter(self)
        self.proxy.setSourceModel(self.model)
        self.filter_edit.textChanged.connect(self.proxy.set_text)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.table.verticalHeader().hide()
        self.table.setAccessibleName("Recorded runs")
        self.table.setToolTip("Tick a run to overlay its curves on the plots (Space ticks the selected run); "
                              "double-click its name or tags to edit them; right-click the header to choose columns")
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.table.doubleClicked.connect(self._on_double_click)
        self.table.installEventFilter(self)
        self.model.overlay_toggled.connect(self._on_overlay_toggled)
        self.columns = RunsColumns(self.table)
        self.columns_menu = self.columns.menu  # the header's context menu

        self.groups_box = GroupsBox()
        self.groups_model = self.groups_box.model
        self.groups_table = self.groups_box.table
        self.groups_model.overlay_toggled.connect(
            lambda: self.group_overlays_changed.emit(sorted(self.groups_model.overlaid)))
        self.groups_model.overlay_toggled.connect(self._update_buttons)  # Export ticked… takes a group's runs
        self.groups_box.hide()  # until the store holds a group

        self.resume_button = QPushButton("&Resume")
        self.resume_button.setToolTip("Continue the selected run exactly where it stopped (a finished one: train it further)")
        self.open_button = QPushButton("&Open model")
        self.open_button.setToolTip("Read drawings with the selected run's best model")
        self.settings_button = QPushButton("Settin&gs…")
        self.settings_button.setToolTip("Every setting the selected run trained with")
        self.note_button = QPushButton("&Note…")
        self.note_button.setToolTip("Write a note on the selected run (the run's row shows it as its tooltip)")
        self.export_button = QPushButton("E&xport CSV…")
        self.export_button.setToolTip("The selected run's metrics, one row per epoch")
        self.export_ticked_button = QPushButton("Export tic&ked…")
        self.export_ticked_button.setToolTip("The metrics of every ticked run, and of the runs of every ticked seed "
                                             "group, in one CSV file with a run column")
        self.delete_button = QPushButton("&Delete…")
        self.delete_button.setToolTip("Remove the selected run, its models and its state (asks first; Delete in the table)")
        self.refresh_button = QPushButton("Re&load list")
        self.resume_button.clicked.connect(self._on_resume)
        self.open_button.clicked.connect(self._on_open_model)
        self.settings_button.clicked.connect(self._on_settings)
        self.note_button.clicked.connect(self._on_note)
        self.export_button.clicked.connect(self._on_export)
        self.export_ticked_button.clicked.connect(self._on_export_ticked)
        self.delete_button.clicked.connect(self._on_delete)
        self.refresh_button.clicked.connect(self.refresh)
        buttons = QGridLayout()  # three rows: the window keeps fitting a small screen
        for index, button in enumerate((self.resume_button, self.open_button, self.settings_button, self.note_button,
                                        self.export_button, self.export_ticked_button, self.delete_button,
                                        self.refresh_button)):
            buttons.addWidget(button, index // 3, index % 3)
        buttons.setColumnStretch(3, 1)

        tables = QSplitter(Qt.Orientation.Vertical)
        tables.setChildrenCollapsible(False)
        tables.addWidget(self.table)
        tables.addWidget(self.groups_box)
        tables.setStretchFactor(0, 3)
        tables.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.filter_edit)
        layout.addWidget(tables, 1)
        layout.addLayout(buttons)
        self._update_buttons()

    # -- columns (gui.runs_columns) ------------------------------------------------------------------
    def shown_columns(self) -> list[str]:
        """The titles of the columns shown, in the order they show."""
        return self.columns.shown()

    def set_column_shown(self, title: str, shown: bool) -> None:
        self.columns.set_shown(title, shown)

    def use_settings(self, settings: QSettings) -> list[str]:
        """Show the columns these settings keep and keep each later choice there; lines for the log."""
        return self.columns.use_settings(settings)

    # -- the store --------------------------------------------------------------------------------
    def store(self) -> RunStore | None:
        """The store, opened on first use; None (and the reason shown) when it cannot be used."""
        if self._store is None:
            try:
                self._store = RunStore(self.runs_dir)
            except StoreError as exc:
                self.status.setText(f"<b>Runs cannot be listed:</b> {_escape(str(exc))}")
                return None
        return self._store

    def close_store(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._watch.start()

    def hideEvent(self, event) -> None:
        self._watch.stop()
        super().hideEvent(event)

    def _refresh_if_changed(self) -> None:
        if not self.isVisible() or self._store is None:
            return
        try:
            changed = self._store.data_version() != self._seen_version
        except StoreError:
            return  # said by the next refresh
        if changed:
            self.refresh()

    def refresh(self) -> None:
        store = self.store()
        if store is None:
            self.model.set_runs([])
            self._show_groups([])
            return
        try:
            self._seen_version = store.data_version()
            runs = store.runs()
            finals = store.final_accuracies()
            groups = store.groups()
        except StoreError as exc:
            self.status.setText(f"<b>Runs cannot be listed:</b> {_escape(str(exc))}")
            return
        selected = self.selected_run()
        self.model.set_runs(runs, finals)
        self._show_groups(groups)
        self.status.setText(f"{_plural(len(runs), 'run')} in {_escape(str(self.runs_dir))}" if runs
                            else f"No runs yet: each training run is recorded in {_escape(str(self.runs_dir))}.")
        if selected is not None:
            self.select(selected.id)
        self._update_buttons()
        self.overlays_changed.emit(sorted(self.model.overlaid))
        self.group_overlays_changed.emit(sorted(self.groups_model.overlaid))

    def _show_groups(self, groups: list[Group]) -> None:
        self.groups_model.set_rows(group_rows(groups, self.model.runs))
        self.groups_box.setVisible(bool(groups))

    def run(self, run_id: int) -> Run | None:
        return next((run for run in self.model.runs if run.id == run_id), None)

    def group_row(self, group_id: int) -> GroupRow | None:
        """A listed seed group with its members and their best accuracies' spread."""
        return next((row for row in self.groups_model.rows if row.id == group_id), None)

    def history(self, run_id: int) -> RunHistory | None:
        """A run's recorded history; None (and the reason shown) when the store cannot be read."""
        store = self.store()
        if store is None:
            return None
        try:
            return store.history(run_id)
        except StoreError as exc:
            self.status.setText(f"<b>Run {run_id} cannot be read:</b> {_escape(str(exc))}")
            return None

    def first_filters(self, run_id: int) -> list:
        """Block 1's filters at each model the run saved, (epoch, (16, 3, 3)); [] when unreadable."""
        store = self.store()
        if store is None:
            return []
        try:
            return store.first_filters(run_id)
        except StoreError:
            return []

    def select(self, run_id: int) -> None:
        for row, run in enumerate(self.model.runs):
            if run.id == run_id:
                self.table.selectRow(self.proxy.mapFromSource(self.model.index(row, 0)).row())
                return

    def selected_run(self) -> Run | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return None
        source = self.proxy.mapToSource(rows[0])
        return self.model.runs[source.row()] if 0 <= source.row() < len(self.model.runs) else None

    def ticked_runs(self) -> list[Run]:
        """The runs ticked (overlaid) and the runs of the seed groups ticked, oldest first."""
        groups = self.groups_model.overlaid
        return sorted((run for run in self.model.runs if run.id in self.model.overlaid or run.group_id in groups),
                      key=lambda run: run.id)

    def set_overlaid(self, run_ids) -> None:
        self.model.overlaid = set(run_ids)
        self.model.dataChanged.emit(self.model.index(0, 0), self.model.index(max(0, self.model.rowCount() - 1), 0))
        self._on_overlay_toggled()

    def set_group_overlaid(self, group_ids) -> None:
        self.groups_model.overlaid = set(group_ids)
        last = max(0, self.groups_model.rowCount() - 1)
        self.groups_model.dataChanged.emit(self.groups_model.index(0, 0), self.groups_model.index(last, 0))
        self.group_overlays_changed.emit(sorted(self.groups_model.overlaid))
        self._update_buttons()

    def _on_overlay_toggled(self) -> None:
        self._update_buttons()
        self.overlays_changed.emit(sorted(self.model.overlaid))

    def eventFilter(self, watched, event) -> bool:
        """In the table, Space ticks the selected run and Delete asks to delete it (the window's own
        Delete, which clears the sketchpad, gives way while the table has the focus)."""
        if watched is self.table and event.type() in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress):
            key = event.key()
            if key in (Qt.Key.Key_Delete, Qt.Key.Key_Space) and event.modifiers() == Qt.KeyboardModifier.NoModifier:
                if event.type() == QEvent.Type.ShortcutOverride:
                    event.accept()  # the key comes to the table as a key press
                elif key == Qt.Key.Key_Space and (run := self.selected_run()) is not None:
                    self.set_overlaid(self.model.overlaid ^ {run.id})
                elif key == Qt.Key.Key_Delete and self.delete_button.isEnabled():
                    self._on_delete()
                return True
        return super().eventFilter(watched, event)

    def _update_buttons(self) -> None:
        run = self.selected_run()
        busy = run is not None and (run.outcome == RUNNING or run.id == self.training_run)
        self.resume_button.setEnabled(run is not None and run.resumable and self.training_run is None)
        self.open_button.setEnabled(run is not None and run.best_epoch is not None and run.checkpoint.is_file())
        self.settings_button.setEnabled(run is not None)
        self.note_button.setEnabled(run is not None)
        self.export_button.setEnabled(run is not None)
        self.export_ticked_button.setEnabled(bool(self.model.overlaid or self.groups_model.overlaid))
        self.delete_button.setEnabled(run is not None and not busy)

    # -- names, tags, notes -----------------------------------------------------------------------
    def set_labels(self, run_id: int, *, name: str | None = None, tags=None, note: str | None = None) -> Run | None:
        """Name, tag or annotate a run in the store (None keeps a label; "" clears a name or note):
        the run as stored, shown in its row; None when the labels were refused or the store cannot
        be written (then a message says why and the row is as it was)."""
        store = self.store()
        if store is None:
            return None
        try:
            run = store.set_labels(run_id, name=name, tags=tags, note=note)
        except StoreError as exc:
            self._say_refused(f"Run {run_id} was not relabelled", str(exc))
            return None
        self.model.replace_run(run)
        # A group is named by its first member: its row is made again from the runs as they are now.
        self.groups_model.set_rows(group_rows([row.group for row in self.groups_model.rows], self.model.runs))
        return run

    def _say_refused(self, title: str, reason: str) -> None:
        """In the tab's status line and in a box that does not block (an edited cell is still being
        committed when this is said)."""
        self.status.setText(f"<b>{_escape(title)}:</b> {_escape(reason)}")
        self.refusal = QMessageBox(QMessageBox.Icon.Warning, title, reason, QMessageBox.StandardButton.Ok, self)
        self.refusal.setTextFormat(Qt.TextFormat.PlainText)
        self.refusal.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.refusal.open()

    def _on_double_click(self, index: QModelIndex) -> None:
        """A double-click on a name or tags edits them; elsewhere it opens the run's model."""
        if self.proxy.mapToSource(index).column() not in (NAME, TAGS):
            self._on_open_model()

    def _on_note(self) -> None:
        run = self.selected_run()
        if run is None:
            return
        dialog = NoteDialog(run, self._keep_note, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def _keep_note(self, run_id: int, note: str) -> str | None:
        """Store a run's note: None when kept (its row shows it), else the reason it was not."""
        store = self.store()
        if store is None:
            return "the run store cannot be used"
        try:
            run = store.set_labels(run_id, note=note)
        except StoreError as exc:
            return str(exc)
        self.model.replace_run(run)
        return None

    # -- actions ----------------------------------------------------------------------------------
    def _on_resume(self) -> None:
        if (run := self.selected_run()) is not None:
            self.resume_requested.emit(run.id)

    def _on_open_model(self) -> None:
        run = self.selected_run()
        if run is not None and run.checkpoint.is_file():
            self.open_model_requested.emit(run.checkpoint)

    def settings_text(self, run: Run) -> str:
        lines = [f"Run {run.id} ({run.kind}, preset {run.preset}), started {run.started}, {run.outcome}",
                 f"device {run.device}, torch {run.torch_version}, data {run.data_dir}",
                 f"best model {run.checkpoint}", ""]
        lines += [f"{name} = {json.dumps(value)}" for name, value in sorted(run.config.items())]
        return "\n".join(lines)

    def _on_settings(self) -> None:
        run = self.selected_run()
        if run is None:
            return
        dialog = QDialog(self)
        dialog.setWindowTitle(f"Run {run.id}: settings")
        text = QPlainTextEdit(self.settings_text(run))
        text.setReadOnly(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(dialog.reject)
        layout = QVBoxLayout(dialog)
        layout.addWidget(text)
        layout.addWidget(buttons)
        dialog.resize(520, 420)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def export_csv(self, run: Run, path: Path) -> None:
        store = self.store()
        if store is None:
            raise MnistConvError("the run store cannot be used")
        with atomic_write(path, durable=False) as sink:
            sink.write(store.history(run.id).epochs_csv().encode("utf-8"))

    def export_runs_csv(self, runs: list[Run], path: Path) -> None:
        """The epochs of `runs` in one CSV file with a run column (core.run_tables.runs_csv)."""
        store = self.store()
        if store is None:
            raise MnistConvError("the run store cannot be used")
        table = runs_csv(store, runs)
        with atomic_write(path, durable=False) as sink:
            sink.write(table.encode("utf-8"))

    def _ask_to_write(self, title: str, name: str, write) -> str | None:
        """Ask where, then write(path); the path written, or None (a failure said in a box)."""
        path, _ = QFileDialog.getSaveFileName(self, title, start_in(name), "CSV files (*.csv)")
        if not path:
            return None
        remember(path)
        try:
            write(Path(path))
        except (OSError, MnistConvError) as exc:
            QMessageBox.warning(self, "Could not export", f"Could not write {path}: {getattr(exc, 'strerror', None) or exc}")
            return None
        return path

    def _on_export(self) -> None:
        run = self.selected_run()
        if run is not None and (path := self._ask_to_write("Export metrics", f"run-{run.id}.csv",
                                                           lambda path: self.export_csv(run, path))):
            self.status.setText(f"Wrote run {run.id}'s epochs to {_escape(path)}")

    def _on_export_ticked(self) -> None:
        runs = self.ticked_runs()
        if runs and (path := self._ask_to_write("Export the ticked runs' metrics", "runs.csv",
                                                lambda path: self.export_runs_csv(runs, path))):
            numbers = ", ".join(str(run.id) for run in runs)
            self.status.setText(f"Wrote the epochs of {_plural(len(runs), 'run')} ({numbers}) to {_escape(path)}")

    def delete(self, run: Run) -> bool:
        """Delete without asking; False (and a message) when it cannot be."""
        store = self.store()
        if store is None:
            return False
        if run.id == self.training_run:
            QMessageBox.information(self, "Run in progress", f"Run {run.id} is training; stop it before deleting it.")
            return False
        try:
            store.delete_run(run.id)
        except StoreError as exc:
            QMessageBox.warning(self, "Could not delete", str(exc))
            return False
        self.run_deleted.emit(run.id)
        self.refresh()
        return True

    def _on_delete(self) -> None:
        run = self.selected_run()
        if run is None:
            return
        answer = QMessageBox.question(
            self, "Delete run", f"Delete run {run.id} ({run.preset or run.kind}, {run.epochs_text} epochs) with its models "
            f"and its state?\n\n{run.folder}", QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.delete(run)
