"""The recorded runs beside the live one: ticked runs' histories overlaid on the plots, ticked seed
groups drawn as their members' mean and band, and the Runs tab kept current as runs start, end and
are deleted."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from mnistconv.core import events

from .plots import GroupOverlay, Overlay


class RunsController(QObject):
    """`window` gives the trainer, the runs view, the plots, the training controller, the sketchpad's
    model and the log."""

    def __init__(self, window: QWidget):
        super().__init__(window)
        self.window = window
        runs_view = window.runs_view
        runs_view.overlays_changed.connect(self.show_overlays)
        runs_view.group_overlays_changed.connect(self.show_groups)
        runs_view.resume_requested.connect(window.training.resume_run)
        runs_view.open_model_requested.connect(window.sketchpad_model.load_model_file)
        runs_view.run_deleted.connect(self._on_run_deleted)
        window.trainer.run_recorded.connect(self._on_run_recorded)
        window.trainer.data_loading_started.connect(lambda _: self._show_as_current(None))
        window.trainer.finished.connect(self._on_finished)
        window.plots.run_picked.connect(self.pick_run)
        self.current_run: int | None = None  # the recorded run the plots show as the current one
        self._ticked: list[int] = []
        for line in runs_view.use_settings(window.settings):  # the columns the person chose to see
            window.log.add(line, "warning")

    def show_overlays(self, run_ids: list[int]) -> None:
        """Overlay the recorded histories of these runs on the plots (none when the store cannot be
        read); the run the plots already show as the current one is not drawn a second time."""
        self._ticked = list(run_ids)
        runs_view = self.window.runs_view
        overlays = []
        for run in filter(None, map(runs_view.run, run_ids)):
            if run.id == self.current_run:
                continue
            history = runs_view.history(run.id)
            if history is not None:
                overlays.append(Overlay(run.id, f"run {run.id} ({run.preset or run.kind})", history))
        self.window.plots.set_overlays(overlays)

    def pick_run(self, run_id: int) -> None:
        """A run picked from the chart: selected in the Runs tab (the tab in front stays), and named."""
        runs_view = self.window.runs_view
        runs_view.select(run_id)
        run = runs_view.run(run_id)
        if run is not None:
            best = "" if run.best_accuracy is None else f", best {100 * run.best_accuracy:.2f} %"
            self.window.statusBar().showMessage(f"Run {run.id} ({run.title}{best}) is selected in the Runs tab", 10_000)

    def show_groups(self, group_ids: list[int]) -> None:
        """Draw each of these seed groups as its members' mean curve and band (a group none of whose
        members can be read is left out)."""
        runs_view = self.window.runs_view
        groups = []
        for row in filter(None, map(runs_view.group_row, group_ids)):
            histories = [history for history in map(runs_view.history, (run.id for run in row.members)) if history is not None]
            if histories:
                groups.append(GroupOverlay(row.id, f"group {row.id}: {row.name}×{len(histories)}", histories))
        self.window.plots.set_groups(groups)

    def _show_as_current(self, run_id: int | None) -> None:
        self.current_run = run_id
        self.window.plots.set_current_label("this run" if run_id is None else f"run {run_id} (this run)")
        self.show_overlays(self._ticked)

    def _on_run_recorded(self, event: events.RunRecorded) -> None:
        self.current_run = event.run_id
        self.window.plots.set_current_label(f"run {event.run_id} (this run)")
        self.window.runs_view.training_run = event.run_id
        self.window.runs_view.refresh()

    def _on_finished(self, _: events.Finished) -> None:
        self.window.runs_view.training_run = None
        self.window.runs_view.refresh()

    def _on_run_deleted(self, run_id: int) -> None:
        self.window.log.add(f"Deleted run {run_id}")
        self.window.sketchpad_model.on_run_deleted()
