"""The fixtures that fail tests leaving a QThread or a QTimer running do see them, and where they began."""

import time

from PySide6.QtCore import QThread


class Sleeper(QThread):
    def run(self):
        time.sleep(0.3)


def test_the_fixture_records_every_started_thread_and_its_caller(dangling_qthreads):
    thread = Sleeper()
    thread.start()
    assert [ref() for ref, _ in dangling_qthreads] == [thread]
    assert "test_the_fixture_records_every_started_thread_and_its_caller" in dangling_qthreads[0][1]
    thread.wait()  # ends before the fixture's check, as every test's threads must


def test_the_timer_fixture_records_every_started_timer_and_its_caller(dangling_qtimers, qtbot):
    from PySide6.QtCore import QTimer

    ticking = QTimer()
    ticking.setInterval(5)
    ticking.start()
    assert [ref() for ref, _ in dangling_qtimers] == [ticking]
    assert "test_the_timer_fixture_records_every_started_timer_and_its_caller" in dangling_qtimers[0][1]
    qtbot.wait(30)
    assert ticking.isActive()
    ticking.stop()  # a repeating timer left running would fail this test
