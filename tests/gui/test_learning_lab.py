"""The learning lab in the window: steering a run's learning rate, and seed groups from the panel."""

import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt

from mnistconv.core import events
from mnistconv.core.history import EventKind
from mnistconv.core.runstore import RunStore


def click(qtbot, button):
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_a_rate_set_mid_run_reaches_the_next_batches_is_marked_logged_and_recorded(qtbot, make_window):
    window = make_window(epochs=2)
    panel = window.panel
    changes, reports = [], []
    window.trainer.lr_changed.connect(changes.append)

    def steer(report: events.BatchProgress) -> None:
        reports.append(report)
        if (report.epoch, report.batch) == (1, 2):
            panel.lr_edit.setText("5e-4")
            click(qtbot, panel.lr_set_button)

    window.trainer.batch_progressed.connect(steer)
    with qtbot.waitSignal(window.trainer.finished, timeout=120_000):
        click(qtbot, panel.train_button)
        qtbot.waitUntil(lambda: panel.lr_set_button.isVisible() and panel.lr_set_button.isEnabled(), timeout=10_000)
    (change,) = changes
    assert change.new_lr == 5e-4 and not change.planned and change.batch >= 2
    after = [r for r in reports if (r.epoch, r.batch) > (change.epoch, change.batch)]
    assert after and {r.lr for r in after} == {5e-4}
    assert {r.lr for r in reports if (r.epoch, r.batch) <= (change.epoch, change.batch)} == {3e-3}
    (drawn,) = window.plots.markers(EventKind.LR_SET)
    assert "0.0005" in drawn.text and drawn.epoch == change.batch / change.batches
    assert any("Setting learning rate to 0.0005 (from 0.003) in epoch 1" in line for line in window.log.lines())
    with RunStore(window.runs_dir) as store:
        (run,) = store.runs()
        recorded = [m for m in store.history(run.id).markers if m.kind is EventKind.LR_SET]
    assert [(m.x, m.detail) for m in recorded] == [(drawn.epoch, "0.0005")]
    assert not panel.lr_set_button.isVisible()  # idle again: the field is the next run's rate


def test_a_rate_that_cannot_work_changes_nothing_and_says_why(qtbot, make_window):
    window = make_window(epochs=1)
    changes = []
    window.trainer.lr_changed.connect(changes.append)
    window.trainer.batch_progressed.connect(
        lambda report: report.batch == 2 and window.training.set_lr("-1"))
    with qtbot.waitSignal(window.trainer.finished, timeout=120_000):
        click(qtbot, window.panel.train_button)
    assert not changes
    assert any("The learning rate stays as it is: learning rate must be a positive number" in line
               for line in window.log.lines())


def test_a_one_cycle_run_cannot_be_steered(qtbot, make_window):
    window = make_window(epochs=1)
    panel = window.panel
    panel.preset_combo.setCurrentIndex(panel.preset_combo.findData("fast"))
    states = []
    window.trainer.batch_progressed.connect(lambda _: states.append((panel.lr_edit.isEnabled(), panel.lr_set_button.isEnabled())))
    with qtbot.waitSignal(window.trainer.finished, timeout=120_000):
        click(qtbot, panel.train_button)
    assert states and set(states) == {(False, False)}


def test_runs_x3_trains_a_group_of_three_recorded_runs_one_after_another(qtbot, make_window):
    window = make_window(epochs=1, seed=5)
    panel = window.panel
    panel.savepath_edit.clear()  # each run in its own folder, as a group needs
    panel.seeds_spin.setValue(3)
    members, bars = [], []
    window.trainer.group_member_started.connect(members.append)
    window.trainer.batch_progressed.connect(lambda _: bars.append(panel.progress_text()[0]))
    with qtbot.waitSignal(window.trainer.finished, timeout=180_000) as finished:
        click(qtbot, panel.train_button)
    assert finished.args[0].reason == "completed"
    assert [(m.index, m.size, m.seed) for m in members] == [(1, 3, 5), (2, 3, 6), (3, 3, 7)]
    assert any("run 3/3" in bar for bar in bars)
    # The plots show the last member as the current run: its one epoch, not three.
    assert list(window.plots.accuracy_curve.xData) == [1]
    with RunStore(window.runs_dir) as store:
        (group,) = store.groups()
        members = store.group_runs(group.id)
        assert [(run.seed, str(run.outcome)) for run in members] == [(5, "completed"), (6, "completed"), (7, "completed")]
    # The Runs tab: one group row; ticked, the plots draw one mean curve and one band of the three.
    window.tabs.setCurrentWidget(window.runs_view)
    window.runs_view.refresh()
    groups = window.runs_view.groups_model
    assert groups.rowCount() == 1
    assert groups.setData(groups.index(0, 0), Qt.CheckState.Checked.value, Qt.ItemDataRole.CheckStateRole)
    assert window.plots.shown_groups() == [group.id]
    items = window.plots.group_items(group.id)
    accuracies = sorted(run.best_accuracy for run in members)
    assert list(items["mean"].yData) == [pytest.approx(100 * sum(accuracies) / 3)]
    assert [list(items["low"].yData), list(items["high"].yData)] == [[pytest.approx(100 * accuracies[0])],
                                                                     [pytest.approx(100 * accuracies[-1])]]
    assert sum(isinstance(item, pg.FillBetweenItem) for item in window.plots.plot_widget("accuracy").getPlotItem().items) == 1


def test_a_group_with_a_save_folder_is_refused_before_it_starts(qtbot, make_window):
    window = make_window(epochs=1)  # its save folder is set
    window.panel.seeds_spin.setValue(2)
    assert not window.training.train()
    assert not window.trainer.is_running()
    assert "a seed group keeps each run's model in that run's own folder" in window.panel.error_text()
