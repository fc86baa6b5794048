"""The fixture that fails tests leaving a QThread running does see such a thread, and where it began."""

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
