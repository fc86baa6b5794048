"""A network of another shape, trained in the window: the sketchpad, the network view, the confusion
matrix and the Runs tab all follow its shape."""

from PySide6.QtCore import Qt

from mnistconv.core.runstore import RunStore
from mnistconv.core.shape import NetworkShape
from mnistconv.gui.runs_table import COLUMNS
from mnistconv.gui.scripted_mouse import drag

RESHAPED = NetworkShape((8, 16, 16, 24), kernel=5, hidden=32)


def test_a_reshaped_network_trains_in_the_window_and_everything_that_reads_it_follows(qtbot, make_window):
    window = make_window(epochs=2)
    panel = window.panel
    panel.channels_edit.setText("8,16,16,24")
    panel.kernel_combo.setCurrentIndex(panel.kernel_combo.findData(5))
    panel.hidden_spin.setValue(32)
    assert panel.shape_summary.text().startswith(f"{RESHAPED.parameters:,} parameters")
    with qtbot.waitSignal(window.trainer.finished, timeout=120_000) as finished:
        qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    assert finished.args[0].reason == "completed"
    assert any(f"8·16·16·24, 5×5, hidden 32: {RESHAPED.parameters:,} parameters" in line for line in window.log.lines())

    # The sketchpad reads with the saved model of that shape, and the network view shows it.
    qtbot.waitUntil(lambda: getattr(window.sketchpad.predictor, "model", None) is not None
                    and window.sketchpad.predictor.model.shape == RESHAPED, timeout=10_000)
    window.tabs.setCurrentWidget(window.network)
    drag(window.sketchpad.canvas, [(40, 30), (60, 30), (60, 90), (40, 120)])
    qtbot.waitUntil(lambda: window.network.reading() is not None and window.network.reading().shape == RESHAPED,
                    timeout=10_000)
    reading = window.network.reading()
    assert [m.shape for m in reading.maps] == [(8, 14, 14), (16, 7, 7), (16, 3, 3), (24, 1, 1)]
    assert reading.hidden is not None and reading.hidden.shape == (32,)
    assert window.network.block_combo.count() == 4

    # The confusion matrix of its last epoch counts every test digit once.
    counts = [window.confusion.count(true, predicted) for true in range(10) for predicted in range(10)]
    assert sum(counts) == 200

    # The Runs tab names its network.
    window.tabs.setCurrentWidget(window.runs_view)
    window.runs_view.refresh()
    with RunStore(window.runs_dir) as store:
        (run,) = store.runs()
    assert run.network == RESHAPED and run.parameters == RESHAPED.parameters
    model = window.runs_view.model
    column = COLUMNS.index("Network")
    assert model.data(model.index(0, column)) == "8·16·16·24, 5×5, hidden 32"
    assert not window.runs_view.table.isColumnHidden(column)  # shown without asking
