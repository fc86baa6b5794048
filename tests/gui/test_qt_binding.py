"""Guards the Qt binding itself: some releases (PySide6 6.12.0 on Python < 3.12) drop a reference to
None on every void call and to True on every signal emit, which aborts a long training session."""

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    ping = Signal()


def test_void_calls_and_emits_keep_reference_counts():
    obj = _Emitter()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(1000):
        obj.setObjectName("x")
        obj.ping.emit()
    # Allow a little jitter from the interpreter; the faulty binding loses 1000 of each.
    assert abs(sys.getrefcount(None) - none_before) < 50
    assert abs(sys.getrefcount(True) - true_before) < 50
