"""The Runs view: every recorded run in a sortable table, with what can be done with one.

`RunsView` reads the run store (core.runstore) on the window's thread: a listing is one short query,
done when a run starts or ends and when the tab is shown, never per batch. Ticking a run's box
overlays its curves on the live plots (`overlays_changed`); the buttons ask the window to resume a
run or open its best model, and delete (after asking) or export its metrics here.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QEvent, QModelIndex, QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGridLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mnistconv.core.atomic import atomic_write
from mnistconv.core.errors import MnistConvError
from mnistconv.core.history import RunHistory
from mnistconv.core.runstore import RUNNING, Run, RunStore, StoreError

COLUMNS = ("Run", "Started (UTC)", "Preset", "Best", "Epochs", "Duration", "Outcome")
SORT_ROLE = Qt.ItemDataRole.UserRole
from .file_places import remember, start_in
from .guarded_model import GuardedData

WATCH_MS = 2000  # how often a shown Runs tab looks for runs recorded elsewhere


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


def _cell(run: Run, column: int) -> tuple:
    """(sort value, text) of one cell: each column on its own, so one bad value empties one cell."""
    if column == 0:
        return run.id, str(run.id)
    if column == 1:
        return run.started, run.started.replace("T", " ")[:16]
    if column == 2:
        return run.preset or run.kind, run.preset or run.kind
    if column == 3:
        return run.best_accuracy or 0.0, "" if run.best_accuracy is None else f"{100 * run.best_accuracy:.2f} %"
    if column == 4:
        return -1 if run.epochs_done is None else run.epochs_done, run.epochs_text
    if column == 5:
        return run.duration_s or 0.0, _duration(run.duration_s)
    return run.outcome, run.outcome.replace("_", " ")


class RunsModel(GuardedData, QAbstractTableModel):
    """The runs as rows; the first column's check box says whether the run is overlaid on the plots."""

    overlay_toggled = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.runs: list[Run] = []
        self.overlaid: set[int] = set()

    def set_runs(self, runs: list[Run]) -> None:
        self.beginResetModel()
        self.runs = runs
        self.overlaid &= {run.id for run in runs}
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.runs)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def flags(self, index: QModelIndex):
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        return flags | Qt.ItemFlag.ItemIsUserCheckable if index.column() == 0 else flags

    def cell(self, index: QModelIndex, role: int):
        run = self.runs[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.CheckStateRole and column == 0:
            return Qt.CheckState.Checked if run.id in self.overlaid else Qt.CheckState.Unchecked
        if role in (Qt.ItemDataRole.DisplayRole, SORT_ROLE):
            sort_value, shown = _cell(run, column)
            return shown if role == Qt.ItemDataRole.DisplayRole else sort_value
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"Run {run.id}: {run.preset or run.kind}, seed {run.seed}, {run.device or ''}; best model {run.checkpoint}"
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (0, 3, 4, 5):
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        return None

    def setData(self, index: QModelIndex, value, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.CheckStateRole or index.column() != 0:
            return False
        run_id = self.runs[index.row()].id
        checked = Qt.CheckState(value) == Qt.CheckState.Checked
        (self.overlaid.add if checked else self.overlaid.discard)(run_id)
        self.dataChanged.emit(index, index, [role])
        self.overlay_toggled.emit()
        return True


class RunsView(QWidget):
    overlays_changed = Signal(list)  # the ids of the runs to overlay on the plots
    resume_requested = Signal(int)
    open_model_requested = Signal(Path)
    run_deleted = Signal(int)

    def __init__(self, runs_dir: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.runs_dir = Path(runs_dir)
        self._store: RunStore | None = None
        self.training_run: int | None = None  # the run this window is training now
        # Runs recorded by another process (the command line, another window) appear by themselves:
        # while the tab is shown, the store is asked every WATCH_MS whether anyone else wrote to it.
        self._seen_version: int | None = None
        self._watch = QTimer(self)
        self._watch.setInterval(WATCH_MS)
        self._watch.timeout.connect(self._refresh_if_changed)  # started while the tab is shown

        self.status = QLabel()
        self.status.setWordWrap(True)
        self.model = RunsModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setAccessibleName("Recorded runs")
        self.table.setToolTip("Tick a run to overlay its curves on the plots (Space ticks the selected run)")
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.table.doubleClicked.connect(lambda _: self._on_open_model())
        self.table.installEventFilter(self)
        self.model.overlay_toggled.connect(lambda: self.overlays_changed.emit(sorted(self.model.overlaid)))

        self.resume_button = QPushButton("&Resume")
        self.resume_button.setToolTip("Continue the selected run exactly where it stopped (a finished one: train it further)")
        self.open_button = QPushButton("&Open model")
        self.open_button.setToolTip("Read drawings with the selected run's best model")
        self.settings_button = QPushButton("Settin&gs…")
        self.settings_button.setToolTip("Every setting the selected run trained with")
        self.export_button = QPushButton("E&xport CSV…")
        self.export_button.setToolTip("The selected run's metrics, one row per epoch")
        self.delete_button = QPushButton("&Delete…")
        self.delete_button.setToolTip("Remove the selected run, its models and its state (asks first; Delete in the table)")
        self.refresh_button = QPushButton("Re&load list")
        self.resume_button.clicked.connect(self._on_resume)
        self.open_button.clicked.connect(self._on_open_model)
        self.settings_button.clicked.connect(self._on_settings)
        self.export_button.clicked.connect(self._on_export)
        self.delete_button.clicked.connect(self._on_delete)
        self.refresh_button.clicked.connect(self.refresh)
        buttons = QGridLayout()  # two rows: the window keeps fitting a small screen
        for index, button in enumerate((self.resume_button, self.open_button, self.settings_button,
                                        self.export_button, self.delete_button, self.refresh_button)):
            buttons.addWidget(button, index // 3, index % 3)
        buttons.setColumnStretch(3, 1)

        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self._update_buttons()

    # -- the store --------------------------------------------------------------------------------
    def store(self) -> RunStore | None:
        """The store, opened on first use; None (and the reason shown) when it cannot be used."""
        if self._store is None:
            try:
                self._store = RunStore(self.runs_dir)
            except StoreError as exc:
                self.status.setText(f"<b>Runs cannot be listed:</b> {exc}")
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
            return
        try:
            self._seen_version = store.data_version()
            runs = store.runs()
        except StoreError as exc:
            self.status.setText(f"<b>Runs cannot be listed:</b> {exc}")
            return
        selected = self.selected_run()
        self.model.set_runs(runs)
        self.status.setText(f"{len(runs)} run{'' if len(runs) == 1 else 's'} in {self.runs_dir}" if runs
                            else f"No runs yet: each training run is recorded in {self.runs_dir}.")
        if selected is not None:
            self.select(selected.id)
        self._update_buttons()
        self.overlays_changed.emit(sorted(self.model.overlaid))

    def run(self, run_id: int) -> Run | None:
        return next((run for run in self.model.runs if run.id == run_id), None)

    def history(self, run_id: int) -> RunHistory | None:
        """A run's recorded history; None (and the reason shown) when the store cannot be read."""
        store = self.store()
        if store is None:
            return None
        try:
            return store.history(run_id)
        except StoreError as exc:
            self.status.setText(f"<b>Run {run_id} cannot be read:</b> {exc}")
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
        return self.model.runs[source.row()] if source.row() < len(self.model.runs) else None

    def set_overlaid(self, run_ids) -> None:
        self.model.overlaid = set(run_ids)
        self.model.dataChanged.emit(self.model.index(0, 0), self.model.index(max(0, self.model.rowCount() - 1), 0))
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
        self.export_button.setEnabled(run is not None)
        self.delete_button.setEnabled(run is not None and not busy)

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

    def _on_export(self) -> None:
        run = self.selected_run()
        if run is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export metrics", start_in(f"run-{run.id}.csv"), "CSV files (*.csv)")
        if not path:
            return
        remember(path)
        try:
            self.export_csv(run, Path(path))
        except (OSError, MnistConvError) as exc:
            QMessageBox.warning(self, "Could not export", f"Could not write {path}: {getattr(exc, 'strerror', None) or exc}")
            return
        self.status.setText(f"Wrote run {run.id}'s epochs to {path}")

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
