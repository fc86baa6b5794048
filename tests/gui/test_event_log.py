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
