"""The Runs tab as a hyper-parameter table: names, tags and notes kept in the store, a filter, columns
sorted as numbers and chosen from the header, seed groups summed up and overlaid, ticked runs in one CSV."""

import csv
import io

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QDialogButtonBox, QFileDialog, QLineEdit

from mnistconv.core.runstore import MAX_LABEL, RunStore
from mnistconv.gui.runs_note import NoteDialog
from mnistconv.gui.runs_table import COLUMNS, DEFAULT_SHOWN, NAME, SORT_ROLE, TAGS
from mnistconv.gui.runs_view import RunsView

CHECK = Qt.ItemDataRole.CheckStateRole
CHECKED = Qt.CheckState.Checked.value


def record(store, accuracies=(0.9,), group_id=None, seed=0, **settings):
    """A completed run with these test accuracies, one per epoch, in the store."""
    config = {"epochs": len(accuracies), "lr": 0.003, "batch_size": 64, "seed": seed, **settings}
    run = store.create_run(config=config, preset="seed", data_dir=None, group_id=group_id)
    for epoch, accuracy in enumerate(accuracies, start=1):
        store.record_epoch(run.id, {"epoch": epoch, "test_accuracy": accuracy, "train_loss": 1 - accuracy},
                           batches=[(epoch - 0.5, 1 - accuracy, 0.003)])
    best = max(accuracies)
    store.set_best(run.id, best, accuracies.index(best) + 1)
    store.record_end(run.id, "completed")
    return run


def make_view(qtbot, folder, settings=None):
    view = RunsView(folder)
    qtbot.addWidget(view)
    if settings is not None:
        view.use_settings(settings)
    view.show()
    qtbot.waitExposed(view)
    view.refresh()
    return view


def row_of(view, run_id):
    rows = [row for row in range(view.proxy.rowCount()) if view.proxy.index(row, 0).data() == str(run_id)]
    assert rows, f"run {run_id} is not listed"
    return rows[0]


def cell(view, run_id, title):
    return view.proxy.index(row_of(view, run_id), COLUMNS.index(title)).data()


def listed(view):
    return sorted(int(view.proxy.index(row, 0).data()) for row in range(view.proxy.rowCount()))


def editor_of(view):
    return view.table.viewport().findChild(QLineEdit)


def test_a_name_tags_and_note_typed_in_the_view_are_kept_in_the_store(qtbot, tmp_path):
    with RunStore(tmp_path) as store:
        run = record(store)
    view = make_view(qtbot, tmp_path)
    opened = []
    view.open_model_requested.connect(opened.append)
    # The name: double-clicked (which edits it, not opens the model), typed, Enter.
    where = view.table.visualRect(view.proxy.index(row_of(view, run.id), NAME)).center()
    qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=where)  # QTest's double-click lacks the first press
    qtbot.mouseDClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=where)
    qtbot.waitUntil(lambda: editor_of(view) is not None, timeout=5_000)
    editor_of(view).setText("  wide net ")
    qtbot.keyClick(editor_of(view), Qt.Key.Key_Return)  # the editor commits once back in the event loop
    qtbot.waitUntil(lambda: cell(view, run.id, "Name") == "wide net", timeout=5_000)
    qtbot.waitUntil(lambda: editor_of(view) is None, timeout=5_000)
    assert opened == []
    # The tags: F2 on the selected cell, typed with commas.
    view.table.setCurrentIndex(view.proxy.index(row_of(view, run.id), TAGS))
    view.table.setFocus()
    qtbot.keyClick(view.table, Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: editor_of(view) is not None, timeout=5_000)
    editor_of(view).setText("baseline, lr sweep,, baseline")
    qtbot.keyClick(editor_of(view), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: cell(view, run.id, "Tags") == "baseline, lr sweep", timeout=5_000)
    # The note: in its dialog.
    view.select(run.id)
    view.note_button.click()
    dialog = view.findChild(NoteDialog)
    dialog.editor.setPlainText("lr <too> high?\nsecond line")
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert not dialog.isVisible()
    assert "lr &lt;too&gt; high?" in view.proxy.index(row_of(view, run.id), 3).data(Qt.ItemDataRole.ToolTipRole)
    view.close_store()

    again = make_view(qtbot, tmp_path)  # a new view (as after a restart) reads them from the store
    assert cell(again, run.id, "Name") == "wide net" and cell(again, run.id, "Tags") == "baseline, lr sweep"
    tooltip = again.proxy.index(row_of(again, run.id), 0).data(Qt.ItemDataRole.ToolTipRole)
    assert "lr &lt;too&gt; high?\nsecond line" in tooltip
    again.close_store()
    with RunStore(tmp_path) as store:
        kept = store.run(run.id)
    assert (kept.name, kept.tags, kept.note) == ("wide net", ("baseline", "lr sweep"), "lr <too> high?\nsecond line")


def test_a_refused_label_is_said_and_leaves_the_cell_and_the_store_as_they_were(qtbot, tmp_path):
    with RunStore(tmp_path) as store:
        run = record(store)
        store.set_labels(run.id, name="kept")
    view = make_view(qtbot, tmp_path)
    index = view.proxy.index(row_of(view, run.id), NAME)
    assert view.proxy.setData(index, "x" * (MAX_LABEL + 1), Qt.ItemDataRole.EditRole) is False
    assert cell(view, run.id, "Name") == "kept"
    assert f"at most {MAX_LABEL} characters" in view.status.text() and view.refusal.isVisible()
    assert f"at most {MAX_LABEL} characters" in view.refusal.text()
    view.refusal.close()
    # A note past the store's limit keeps its dialog open, the text still in it.
    view.select(run.id)
    view.note_button.click()
    dialog = view.findChild(NoteDialog)
    dialog.editor.setPlainText("n" * 10_001)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert dialog.isVisible() and dialog.refusal.isVisible() and len(dialog.editor.toPlainText()) == 10_001
    dialog.refusal.close()
    dialog.reject()
    view.close_store()
    with RunStore(tmp_path) as store:
        assert store.run(run.id).name == "kept" and store.run(run.id).note is None


def test_filtering_by_a_tag_keeps_the_matching_runs_and_ticking_through_it_overlays_the_right_one(
        qtbot, make_window, own_run_store):
    with RunStore(own_run_store) as store:
        runs = [record(store, seed=seed) for seed in range(4)]
        store.set_labels(runs[0].id, tags=["baseline"])
        store.set_labels(runs[1].id, tags=["wide", "Baseline"], name="big")
        store.set_labels(runs[2].id, tags=["other"], note="not a base line")
    window = make_window()
    window.tabs.setCurrentWidget(window.runs_view)
    view = window.runs_view
    view.refresh()
    assert listed(view) == [run.id for run in runs]
    qtbot.keyClicks(view.filter_edit, "baseline")
    assert listed(view) == [runs[0].id, runs[1].id]
    qtbot.keyClicks(view.filter_edit, " wide")
    assert listed(view) == [runs[1].id]
    assert view.proxy.setData(view.proxy.index(0, 0), CHECKED, CHECK)
    assert window.plots.overlaid_runs() == [runs[1].id]
    view.filter_edit.setText("batch_size=64 seed=3")  # a setting, as the table writes it
    assert listed(view) == [runs[3].id]
    view.filter_edit.clear()
    assert listed(view) == [run.id for run in runs]
    assert view.ticked_runs() == [view.run(runs[1].id)]  # the tick stayed where it was put


def test_a_settings_column_sorts_as_numbers(qtbot, tmp_path):
    rates = [0.01, 1e-4, 0.1, 3e-3, 1e-5]
    batches = [64, 512, 128, 1000, 32]
    with RunStore(tmp_path) as store:
        for lr, batch_size in zip(rates, batches):
            record(store, lr=lr, batch_size=batch_size)
        record(store, lr=0.3, batch_size=100, noise_std="lots")  # a damaged setting sorts, without failing, as text
    view = make_view(qtbot, tmp_path)

    def column(title):
        return [view.proxy.index(row, COLUMNS.index(title)).data() for row in range(view.proxy.rowCount())]

    view.table.sortByColumn(COLUMNS.index("lr"), Qt.SortOrder.AscendingOrder)
    assert column("lr") == ["1e-05", "0.0001", "0.003", "0.01", "0.1", "0.3"]
    view.table.sortByColumn(COLUMNS.index("batch_size"), Qt.SortOrder.DescendingOrder)
    assert column("batch_size") == ["1000", "512", "128", "100", "64", "32"]
    for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
        view.table.sortByColumn(COLUMNS.index("noise_std"), order)
    assert sorted(column("noise_std")) == ["", "", "", "", "", "lots"]
    view.table.sortByColumn(COLUMNS.index("Best"), Qt.SortOrder.AscendingOrder)
    assert isinstance(view.proxy.index(0, COLUMNS.index("Best")).data(SORT_ROLE), float)


def test_a_seed_group_is_one_row_with_its_spread_and_ticking_it_draws_its_mean(qtbot, make_window, own_run_store,
                                                                              monkeypatch):
    with RunStore(own_run_store) as store:
        alone = record(store, accuracies=(0.5,))
        group = store.create_group(seeds=(7, 8, 9), config={"epochs": 2, "lr": 0.003}, preset="seed")
        members = [record(store, accuracies=(accuracy - 0.01, accuracy), group_id=group.id, seed=seed)
                   for accuracy, seed in zip((0.97, 0.98, 0.99), group.seeds)]
        store.set_labels(members[0].id, name="narrow")
    window = make_window()
    window.tabs.setCurrentWidget(window.runs_view)
    view = window.runs_view
    view.refresh()
    assert [cell(view, run.id, "Group") for run in members] == [str(group.id)] * 3 and cell(view, alone.id, "Group") == ""
    groups = view.groups_model
    assert groups.rowCount() == 1 and view.groups_box.isVisible()
    row = [groups.index(0, column).data() for column in range(groups.columnCount())]
    assert row[:5] == [str(group.id), "narrow", "3/3", "98.00 ± 1.00 % (n = 3)", "97.00–99.00 %"]
    assert row[5].startswith("seed")

    drawn = []
    real_set_groups = window.plots.set_groups
    monkeypatch.setattr(window.plots, "set_groups", lambda groups: (drawn.append(groups), real_set_groups(groups)))
    with qtbot.waitSignal(view.group_overlays_changed, timeout=1_000) as ticked:
        assert groups.setData(groups.index(0, 0), CHECKED, CHECK)
    assert ticked.args == [[group.id]]
    (overlay,) = drawn[-1]
    assert overlay.group_id == group.id and len(overlay.histories) == 3 and "narrow" in overlay.label
    assert sorted(history.column("test_accuracy")[-1] for history in overlay.histories) == [0.97, 0.98, 0.99]
    assert window.plots.shown_groups() == [group.id]
    view.set_group_overlaid([])
    assert drawn[-1] == [] and window.plots.shown_groups() == []
    # Renaming its first run renames the group's row at once.
    assert view.set_labels(members[0].id, name="wide") is not None
    assert groups.index(0, 1).data() == "wide"


def test_the_ticked_runs_export_as_one_csv_with_a_run_column(qtbot, tmp_path, monkeypatch):
    with RunStore(tmp_path / "runs") as store:
        runs = [record(store, accuracies=(0.8, 0.9)[:count], seed=count) for count in (1, 2, 1)]
    view = make_view(qtbot, tmp_path / "runs")
    assert not view.export_ticked_button.isEnabled()
    view.set_overlaid([runs[2].id, runs[1].id])
    assert view.export_ticked_button.isEnabled()
    target = tmp_path / "ticked.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(target), "CSV files (*.csv)"))
    view.export_ticked_button.click()
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert [(int(row["run"]), int(row["epoch"])) for row in rows] == [(runs[1].id, 1), (runs[1].id, 2), (runs[2].id, 1)]
    assert str(target) in view.status.text() and "2 runs" in view.status.text()


def test_a_ticked_group_exports_its_runs_with_the_ticked_runs(qtbot, tmp_path, monkeypatch):
    with RunStore(tmp_path / "runs") as store:
        alone = record(store, accuracies=(0.7,))
        group = store.create_group(seeds=(1, 2), config={"epochs": 1}, preset="seed")
        members = [record(store, accuracies=(0.9,), group_id=group.id, seed=seed) for seed in group.seeds]
        record(store, accuracies=(0.5,))  # neither ticked nor in the group
    view = make_view(qtbot, tmp_path / "runs")
    assert not view.export_ticked_button.isEnabled()
    view.set_group_overlaid([group.id])
    assert view.export_ticked_button.isEnabled()
    view.set_overlaid([alone.id])
    target = tmp_path / "ticked.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(target), "CSV files (*.csv)"))
    view.export_ticked_button.click()
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert [int(row["run"]) for row in rows] == [alone.id, *(run.id for run in members)]


def test_columns_shown_by_default_and_chosen_from_the_header_are_kept(qtbot, tmp_path):
    with RunStore(tmp_path / "runs") as store:
        record(store)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    view = make_view(qtbot, tmp_path / "runs", settings)
    assert view.shown_columns() == list(DEFAULT_SHOWN)
    assert view.table.horizontalHeader().contextMenuPolicy() == Qt.ContextMenuPolicy.CustomContextMenu
    actions = {action.text(): action for action in view.columns_menu.actions()}
    assert set(COLUMNS) <= set(actions) and not actions["Params"].isChecked() and not actions["Run"].isEnabled()
    actions["Params"].trigger()
    actions["Tags"].trigger()
    shown = view.shown_columns()
    assert "Params" in shown and "Tags" not in shown
    assert shown.index("Params") < shown.index("Outcome")  # in the display order
    settings.sync()

    again = make_view(qtbot, tmp_path / "runs", QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    assert again.shown_columns() == shown
    again.columns_menu.actions()[-1].trigger()  # the usual columns
    assert again.shown_columns() == list(DEFAULT_SHOWN)


@pytest.mark.parametrize("stored", ["Run,Nonsense,Best", ["Run", "Best"]])
def test_a_stored_column_choice_that_makes_no_sense_is_set_aside(qtbot, tmp_path, stored):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("runs/columns", stored)
    view = RunsView(tmp_path / "runs")
    qtbot.addWidget(view)
    problems = view.use_settings(settings)
    if isinstance(stored, str):
        assert problems == [] and view.shown_columns() == ["Run", "Best"]
    else:
        assert len(problems) == 1 and view.shown_columns() == list(DEFAULT_SHOWN)


def test_a_run_is_picked_from_the_chart_by_clicking_its_curve(qtbot, make_window, own_run_store):
    """TensorBoard's "pick a run from the chart": a click on an overlaid curve selects that run in the
    Runs tab and names it in the status bar."""
    from PySide6.QtCore import QPointF

    with RunStore(own_run_store) as store:
        low = record(store, accuracies=(0.50, 0.52, 0.54))
        high = record(store, accuracies=(0.90, 0.92, 0.94))
        store.set_labels(high.id, name="the good one")
    window = make_window()
    view = window.runs_view
    view.refresh()
    view.set_overlaid([low.id, high.id])
    view.select(low.id)
    plot = window.plots.plot_widget("accuracy")
    plot.getPlotItem().getViewBox().autoRange()
    qtbot.wait(50)
    point = plot.mapFromScene(plot.getPlotItem().getViewBox().mapViewToScene(QPointF(2.5, 93.0)))
    qtbot.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=point)
    qtbot.waitUntil(lambda: view.selected_run() is not None and view.selected_run().id == high.id, timeout=2_000)
    assert "Run 2 (the good one, best 94.00 %) is selected in the Runs tab" in window.statusBar().full_message()
