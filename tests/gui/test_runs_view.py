"""The Runs view: runs from the window recorded and listed, overlaid, resumed, deleted and exported."""

import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QMessageBox

from mnistconv.core.runstore import RunStore
from mnistconv.gui.main_window import MainWindow


def train(qtbot, window, **fields):
    panel = window.panel
    for name, value in fields.items():
        getattr(panel, f"{name}_spin").setValue(value)
    with qtbot.waitSignal(window.trainer.finished, timeout=120_000) as finished:
        qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    return finished.args[0]


def runs_tab(window):
    window.tabs.setCurrentWidget(window.runs_view)
    return window.runs_view


def row_of(view, run_id):
    for row in range(view.proxy.rowCount()):
        if view.proxy.index(row, 0).data() == str(run_id):
            return row
    raise AssertionError(f"run {run_id} is not listed")


def test_each_run_from_the_window_is_recorded_in_a_folder_of_its_own(qtbot, make_window, own_run_store):
    window = make_window(epochs=2)
    window.panel.savepath_edit.clear()  # the default: each run's own folder
    first = train(qtbot, window)
    model_one = own_run_store / "1" / "mnist_conv.pt"
    assert first.checkpoint == model_one
    before = model_one.read_bytes()
    second = train(qtbot, window, epochs=1, seed=5)
    assert second.checkpoint == own_run_store / "2" / "mnist_conv.pt"
    assert model_one.read_bytes() == before  # the second run left the first one's model alone
    view = runs_tab(window)
    assert view.proxy.rowCount() == 2
    assert [view.proxy.index(row, 0).data() for row in range(2)] == ["2", "1"]  # newest first
    assert view.proxy.index(row_of(view, 1), 6).data() == "completed"
    assert view.proxy.index(row_of(view, 1), 4).data() == "2/2"
    assert view.proxy.index(row_of(view, 1), 3).data() == f"{100 * first.best_accuracy:.2f} %"
    # Sorted by best accuracy, lowest first, by clicking its header twice.
    view.table.sortByColumn(3, Qt.SortOrder.AscendingOrder)
    bests = [view.model.runs[view.proxy.mapToSource(view.proxy.index(r, 0)).row()].best_accuracy for r in range(2)]
    assert bests == sorted(bests)


def test_ticked_runs_are_overlaid_under_the_current_run_with_a_legend(qtbot, make_window, own_run_store):
    window = make_window(epochs=2)
    window.panel.savepath_edit.clear()
    reports = []
    window.trainer.batch_progressed.connect(reports.append)
    train(qtbot, window)
    first_reports = len(reports)
    train(qtbot, window, epochs=3, seed=4)
    view = runs_tab(window)
    view.model.setData(view.model.index(view.model.runs.index(view.run(1)), 0), Qt.CheckState.Checked.value,
                       Qt.ItemDataRole.CheckStateRole)
    assert window.plots.overlaid_runs() == [1]
    with RunStore(own_run_store) as store:
        recorded = store.history(1)
    items = window.plots.overlay_items(1)
    assert list(items["accuracy"].xData) == [1.0, 2.0]
    assert list(items["accuracy"].yData) == pytest.approx(list(100 * recorded.column("test_accuracy")))
    assert list(items["loss"].xData) == list(recorded.batch_x.values) and len(recorded.batch_x) == first_reports > 2
    assert list(items["loss"].yData) == pytest.approx(moving_average(recorded.batch_loss.values))
    assert list(items["lr"].yData) == pytest.approx(list(recorded.batch_lr.values))
    assert all(item.zValue() < window.plots.accuracy_curve.zValue() for item in items.values())
    assert window.plots.legend.isVisible()
    labels = [label.text for _, label in window.plots.legend.items]
    assert labels == ["run 2 (this run)", "run 1 (seed)"]
    # Space in the table unticks and ticks the selected run.
    view.select(1)
    view.table.setFocus()
    qtbot.keyClick(view.table, Qt.Key.Key_Space)
    assert window.plots.overlaid_runs() == []
    qtbot.keyClick(view.table, Qt.Key.Key_Space)
    assert window.plots.overlaid_runs() == [1]
    view.set_overlaid([])
    assert window.plots.overlaid_runs() == [] and not window.plots.legend.isVisible()


def test_a_stopped_run_is_resumed_from_the_runs_view_and_ends_as_it_would_have(qtbot, make_window, own_run_store, tmp_path):
    reference = make_window(epochs=3, seed=2)
    reference.panel.savepath_edit.setText(str(tmp_path / "reference"))
    reference_run = []
    reference.trainer.epoch_finished.connect(lambda e: reference_run.append((e.epoch, e.test_accuracy, e.train_loss)))
    train(qtbot, reference)
    reference.close()

    window = make_window(epochs=3, seed=2)
    window.panel.savepath_edit.clear()

    def stop_in_epoch_two(progress):
        if progress.epoch == 2 and window.panel.stop_button.isEnabled():
            qtbot.mouseClick(window.panel.stop_button, Qt.MouseButton.LeftButton)

    window.trainer.batch_progressed.connect(stop_in_epoch_two)
    assert train(qtbot, window).reason == "stopped"
    window.trainer.batch_progressed.disconnect(stop_in_epoch_two)
    view = runs_tab(window)
    view.select(2)
    assert view.selected_run().outcome == "stopped" and view.resume_button.isEnabled()
    resumed = []
    window.trainer.epoch_finished.connect(lambda e: resumed.append(e.epoch))
    with qtbot.waitSignal(window.trainer.finished, timeout=120_000) as finished:
        qtbot.mouseClick(view.resume_button, Qt.MouseButton.LeftButton)
    assert finished.args[0].reason == "completed" and resumed == [2, 3]
    assert list(window.plots.accuracy_curve.xData) == [1.0, 2.0, 3.0]  # the recorded epoch, then the new ones
    # The Filters page too: epoch 1's filters, recorded before the stop, then those saved after it.
    with RunStore(own_run_store) as store:
        recorded = store.first_filters(2)
    shown = window.network.history
    assert [epoch for epoch, _ in shown] == [epoch for epoch, _ in recorded] and shown[0][0] == 1
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(shown, recorded, strict=True))
    with RunStore(own_run_store) as store:
        assert [(e["epoch"], e["test_accuracy"], e["train_loss"]) for e in store.history(2).epoch_rows()] == reference_run
        assert store.run(2).outcome == "completed"


def test_delete_asks_refuses_the_training_run_and_keeps_the_sketchpads_copy(qtbot, make_window, own_run_store, monkeypatch):
    window = make_window(epochs=1)
    window.panel.savepath_edit.clear()
    train(qtbot, window)
    qtbot.waitUntil(lambda: window.sketchpad.predictor.name == str(own_run_store / "1" / "mnist_conv.pt"), timeout=5_000)
    reader = window.sketchpad.predictor
    view = runs_tab(window)
    view.select(1)
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: QMessageBox.StandardButton.No)
    view.delete_button.click()
    assert (own_run_store / "1").is_dir() and view.proxy.rowCount() == 1  # "No" deletes nothing
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: QMessageBox.StandardButton.Yes)
    view.delete_button.click()
    assert not (own_run_store / "1").exists() and view.proxy.rowCount() == 0
    assert window.sketchpad.predictor is reader and "(its run was deleted)" in window.sketchpad_model.label.text()
    assert reader.predict(np.zeros((28, 28), dtype=np.float32)).shape == (1, 10)  # still reads
    assert any("Deleted run 1" in line for line in window.log.lines())


def test_the_run_being_trained_cannot_be_deleted(qtbot, make_window, monkeypatch):
    window = make_window(epochs=30)
    window.panel.savepath_edit.clear()
    informed = []
    monkeypatch.setattr(QMessageBox, "information", lambda *args: informed.append(args[2]))
    with qtbot.waitSignal(window.trainer.run_recorded, timeout=60_000):
        qtbot.mouseClick(window.panel.train_button, Qt.MouseButton.LeftButton)
    view = runs_tab(window)
    view.refresh()
    view.select(1)
    assert not view.delete_button.isEnabled() and not view.resume_button.isEnabled()
    assert view.delete(view.selected_run()) is False and informed == ["Run 1 is training; stop it before deleting it."]
    with qtbot.waitSignal(window.trainer.finished, timeout=60_000):
        window.trainer.stop()


def test_open_model_export_csv_and_settings(qtbot, make_window, own_run_store, tmp_path):
    window = make_window(epochs=2)
    window.panel.savepath_edit.clear()
    train(qtbot, window)
    window.sketchpad_model.set_predictor(None)
    view = runs_tab(window)
    view.select(1)
    view.open_button.click()
    assert window.sketchpad.predictor.name == str(own_run_store / "1" / "mnist_conv.pt")
    view.export_csv(view.selected_run(), tmp_path / "run1.csv")
    lines = (tmp_path / "run1.csv").read_text().splitlines()
    assert lines[0] == "epoch,test_accuracy,test_loss,train_loss,lr,seconds,images_per_s"
    assert [line[0] for line in lines[1:]] == ["1", "2"]
    text = view.settings_text(view.selected_run())
    assert "lr = 0.003" in text and "batch_size = 64" in text and "seed = 0" in text


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_the_plots_export_as_one_picture_with_overlays(qtbot, make_window, tmp_path, suffix):
    window = make_window(epochs=2)
    window.panel.savepath_edit.clear()
    train(qtbot, window)
    train(qtbot, window)  # run 2 is drawn as the current run, run 1 under it
    view = runs_tab(window)
    view.set_overlaid([1])
    target = tmp_path / f"plots{suffix}"
    window.plots.export(str(target))
    if suffix == ".png":
        image = QImage(str(target))
        assert not image.isNull() and image.height() > image.width() * 0.8  # three plots, one above the other
    else:
        root = ElementTree.parse(target).getroot()
        texts = " ".join(node.text or "" for node in root.iter() if node.tag.endswith("text"))
        assert root.tag.endswith("svg") and "Test accuracy" in texts and "Learning rate" in texts
        paths = [node for node in root.iter() if node.tag.endswith("path") or node.tag.endswith("polyline")]
        assert len(paths) > 10  # the curves and axes as vectors


def test_closing_mid_run_then_reopening_lists_it_as_stopped_and_resumable(qtbot, make_window, tmp_path):
    window = make_window(epochs=50)
    window.panel.savepath_edit.clear()
    with qtbot.waitSignal(window.trainer.epoch_finished, timeout=60_000):
        qtbot.mouseClick(window.panel.train_button, Qt.MouseButton.LeftButton)
    window.close()
    again = MainWindow(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(again)
    view = runs_tab(again)
    view.select(1)
    run = view.selected_run()
    assert run.outcome == "stopped" and run.epochs_done >= 1 and view.resume_button.isEnabled()


def test_a_damaged_store_is_said_in_the_tab_and_training_still_works(qtbot, make_window, own_run_store):
    own_run_store.mkdir(parents=True)
    (own_run_store / "runs.sqlite3").write_bytes(b"not a database " * 100)
    window = make_window(epochs=1)
    window.panel.savepath_edit.clear()
    view = runs_tab(window)
    assert "Runs cannot be listed:" in view.status.text() and "damaged or not a run store" in view.status.text()
    assert train(qtbot, window).reason == "completed"
    assert any("This run is not being recorded" in line for line in window.log.lines())


def test_the_run_the_plots_show_is_never_overlaid_on_itself(qtbot, make_window):
    window = make_window(epochs=1)
    window.panel.savepath_edit.clear()
    train(qtbot, window)
    view = runs_tab(window)
    view.set_overlaid([1])
    assert window.plots.overlaid_runs() == []  # run 1 is the current run: drawn once
    legend = [label.text for _, label in window.plots.legend.items]
    assert window.runs.current_run == 1 and not legend
    train(qtbot, window)  # run 2 becomes the current one: run 1, ticked, is now drawn under it
    assert window.plots.overlaid_runs() == [1]
    legend = [label.text for _, label in window.plots.legend.items]
    assert len(legend) == 2 and legend[0] == "run 2 (this run)" and legend[1].startswith("run 1 (")


def test_runs_recorded_by_another_process_appear_without_reloading(qtbot, make_window, own_run_store):
    window = make_window()
    view = runs_tab(window)
    view.refresh()
    assert view.proxy.rowCount() == 0
    with RunStore(own_run_store) as elsewhere:  # as mnistconv-train would, in a process of its own
        run = elsewhere.create_run(config={"epochs": 2}, preset="seed", data_dir=None)
        elsewhere.record_end(run.id, "completed")
    qtbot.waitUntil(lambda: view.proxy.rowCount() == 1, timeout=10_000)
    assert view.proxy.index(0, 0).data() == str(run.id)


def moving_average(losses) -> list[float]:
    """The default smoothing of a loss series, step by step with core.history.LossSmoother."""
    from mnistconv.core.history import LossSmoother

    smoother = LossSmoother()
    return [smoother.update(loss) for loss in losses.tolist()]
