"""The training thread steps back for the window's thread; nothing else changes priority."""

import os
import sys
import threading

import pytest

from mnistconv.core.priority import TRAINING_NICENESS, lower_this_threads_priority


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's")
def test_only_the_calling_thread_is_lowered():
    main_before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen = {}

    def training_thread():
        tid = threading.get_native_id()
        seen["before"] = os.getpriority(os.PRIO_PROCESS, tid)
        seen["applied"] = lower_this_threads_priority()
        seen["after"] = os.getpriority(os.PRIO_PROCESS, tid)
        child = threading.Thread(target=lambda: seen.update(child=os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))
        child.start()
        child.join()

    thread = threading.Thread(target=training_thread)
    thread.start()
    thread.join()
    assert seen["applied"] is True
    assert seen["after"] == min(19, seen["before"] + TRAINING_NICENESS)
    assert seen["child"] == seen["after"]  # worker threads started afterwards inherit it
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == main_before


def test_elsewhere_it_reports_that_it_did_nothing(monkeypatch):
    monkeypatch.setattr(sys, "platform", "win32")
    assert lower_this_threads_priority() is False
