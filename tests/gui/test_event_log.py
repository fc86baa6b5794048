"""The event log: timestamped lines, and a bounded history however long the session."""

import re

from mnistconv.gui.event_log import MAX_LINES, EventLog


def test_lines_are_timestamped_and_shown(qtbot):
    log = EventLog()
    qtbot.addWidget(log)
    log.add("[1]: Test accuracy: 0.9783")
    log.add(" -> Could not save the model: the disk is full", "error")
    assert [re.sub(r"^\d\d:\d\d:\d\d  ", "", line) for line in log.lines()] == [
        "[1]: Test accuracy: 0.9783", " -> Could not save the model: the disk is full"]
    assert "0.9783" in log.toPlainText() and "the disk is full" in log.toPlainText()


def test_only_the_newest_lines_are_kept(qtbot):
    log = EventLog()
    qtbot.addWidget(log)
    for i in range(MAX_LINES + 25):
        log.add(f"line {i}")
    lines = log.lines()
    assert len(lines) == MAX_LINES and lines[0].endswith("line 25") and lines[-1].endswith(f"line {MAX_LINES + 24}")
    assert log.blockCount() == MAX_LINES


def test_the_log_follows_new_lines_unless_the_reader_scrolled_back(qtbot):
    log = EventLog()
    qtbot.addWidget(log)
    log.resize(300, 120)
    log.show()
    bar = log.verticalScrollBar()
    for i in range(60):
        log.add(f"[{i}]: Test accuracy: 0.9884   (test loss 0.0381, train loss 0.0457, lr 0.003, 5.1 s, 11,800 images/s)")
        qtbot.wait(1)
        assert bar.value() == bar.maximum(), i
    assert bar.maximum() > 20
    log.resize(300, 60)  # the panel above grows: the log is made shorter while training
    qtbot.wait(1)
    log.add("[61]: Test accuracy: 0.9901")
    qtbot.wait(1)
    assert bar.value() == bar.maximum()
    bar.setValue(bar.maximum() // 2)  # the reader goes back to an earlier line
    log.add("Stopped in epoch 61 after 3 batches.")
    assert bar.value() < bar.maximum() - 1  # left where the reader is
