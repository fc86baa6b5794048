"""The window reading back what it cannot trust: a tampered run store in the Runs tab, and a picture
file that is not a file."""

import dataclasses
import os
import sqlite3
import threading

from PySide6.QtCore import Qt

from mnistconv.core.runstore import DB_NAME, RunStore
from mnistconv.gui.runs_view import COLUMNS, RunsView


def every_cell(view):
    return [[view.proxy.index(row, column).data() for column in range(len(COLUMNS))]
            for row in range(view.proxy.rowCount())]


def test_the_runs_tab_shows_a_tampered_store_and_sorts_it_without_failing(qtbot, tmp_path):
    with RunStore(tmp_path) as store:
        for _ in range(3):
            run = store.create_run(config={"epochs": 4}, preset="seed", data_dir=None)
            store.record_end(run.id, "completed")
    with sqlite3.connect(tmp_path / DB_NAME) as db:
        db.execute("UPDATE runs SET ended = 'x', best_accuracy = 'high' WHERE id = 2")
        db.execute("UPDATE runs SET epochs_done = 'many', started = 'yesterday' WHERE id = 3")
    view = RunsView(tmp_path)
    qtbot.addWidget(view)
    view.refresh()
    for column in range(len(COLUMNS)):
        for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
            view.table.sortByColumn(column, order)
    cells = every_cell(view)
    assert sorted(row[0] for row in cells) == ["1", "2", "3"]
    second = next(row for row in cells if row[0] == "2")
    assert second[3] == "" and second[5] == ""  # unknown best and duration: empty, not an error


def test_a_cell_that_cannot_be_shown_stays_empty(qtbot, tmp_path):
    """Behind the store's checks, the item model itself never lets an exception out of data()."""
    with RunStore(tmp_path) as store:
        run = store.create_run(config={"epochs": 4}, preset="seed", data_dir=None)
    view = RunsView(tmp_path)
    qtbot.addWidget(view)
    view.model.set_runs([run, dataclasses.replace(run, id=run.id + 1, best_accuracy="high", started=None)])
    view.table.sortByColumn(3, Qt.SortOrder.AscendingOrder)
    view.table.sortByColumn(1, Qt.SortOrder.AscendingOrder)
    cells = every_cell(view)
    assert len(cells) == 2 and next(row for row in cells if row[0] == "2")[3] is None


def test_both_item_models_keep_a_failing_cell_empty_and_report_it_once(qtbot, make_window, monkeypatch, capsys):
    from odd_hand import drawings

    window = make_window()
    for picture, label in zip(*drawings(1, seed=3), strict=True):
        window.personal.add(picture, label)
    window.personal_view.refresh()
    model = window.personal_view.model
    assert model.index(0).data() is not None
    monkeypatch.setattr(model, "reading", lambda digit: 1 / 0)  # a fault behind one role
    assert model.index(0).data() is None and model.index(1).data() is None
    assert model.index(0).data(Qt.ItemDataRole.ToolTipRole) is None
    assert model.data(model.createIndex(99, 0)) is None  # past the rows: empty, not IndexError
    report = capsys.readouterr().err
    assert report.count("a cell of PersonalModel could not be shown") == 1 and "ZeroDivisionError" in report


def test_opening_a_fifo_named_like_a_picture_says_so_at_once(qtbot, make_window, tmp_path):
    window = make_window()
    fifo = tmp_path / "x.png"
    os.mkfifo(fifo)
    result = []
    # In a thread of its own (daemon), so that a regression hangs that thread, not the suite.
    reader = threading.Thread(target=lambda: result.append(_read_error(fifo)), daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert result and "not a regular file" in result[0]
    assert window.sketchpad_model.open_image_file(fifo) is False
    assert any("not a regular file" in box.text() for box in window.messages.dialogs)


def _read_error(path) -> str:
    from mnistconv.gui.picture_file import PictureError, read_grey

    try:
        read_grey(str(path))
    except PictureError as exc:
        return str(exc)
    return "read"


def damaged_past_its_first_page(root):
    with RunStore(root) as store:
        for _ in range(60):
            store.create_run(config={"note": "x" * 400}, preset="seed", data_dir=None)
    path = root / DB_NAME
    content = bytearray(path.read_bytes())
    assert len(content) > 6 * 4096
    content[4096:] = os.urandom(len(content) - 4096)  # every page but the first, the schema
    path.write_bytes(bytes(content))


def test_a_store_damaged_past_its_first_page_is_named_in_the_runs_tab_and_on_the_command_line(qtbot, tmp_path, capsys):
    from mnistconv.core import cli_runs

    damaged_past_its_first_page(tmp_path)
    view = RunsView(tmp_path)
    qtbot.addWidget(view)
    view.refresh()
    assert "Runs cannot be listed" in view.status.text() and "damaged" in view.status.text()
    assert cli_runs.runs_main(["--runs-dir", str(tmp_path), "list"]) == 1
    assert "damaged or not a run store" in capsys.readouterr().err


def test_a_tampered_history_is_overlaid_with_its_readable_rows(qtbot, make_window, own_run_store):
    with RunStore(own_run_store) as store:
        run = store.create_run(config={"epochs": 4}, preset="seed", data_dir=None)
        for epoch in (1, 2, 3):
            store.record_epoch(run.id, {"epoch": epoch, "test_accuracy": 0.9, "train_loss": 0.3},
                               [(epoch - 0.5, 0.4, 3e-3)])
        store.record_end(run.id, "completed")
    with sqlite3.connect(own_run_store / DB_NAME) as db:
        db.execute("UPDATE epochs SET epoch = 'two' WHERE epoch = 2")
        db.execute("UPDATE epochs SET test_accuracy = 'high' WHERE epoch = 3")
        db.execute("UPDATE batches SET x = 'far', loss = x'00' WHERE rowid = 1")
    window = make_window()
    window.runs_view.refresh()
    window.runs_view.set_overlaid([run.id])
    assert window.plots.overlaid_runs() == [run.id]
    accuracy = window.plots.overlay_items(run.id)["accuracy"]
    assert list(accuracy.xData) == [1, 3]
