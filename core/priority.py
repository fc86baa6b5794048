"""Give the window's thread first call on the CPU while training runs beside it.

Training keeps every core busy: torch's worker threads compute flat out. With all threads at the
same priority the GUI thread waits its turn for a core, and a 5 ms repaint can take 30 ms. A
training thread that raises its own nice value (and so the nice value of the worker threads it
starts afterwards, which inherit it) still gets every cycle the window does not need.
"""

from __future__ import annotations

import os
import sys
import threading

TRAINING_NICENESS = 10


def lower_this_threads_priority(by: int = TRAINING_NICENESS) -> bool:
    """Raise the calling thread's nice value by `by` (Linux only: elsewhere nice is per process).

    Returns whether it took effect. Must run before the thread starts torch's worker threads.
    """
    if not sys.platform.startswith("linux"):
        return False
    thread_id = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, thread_id)
        os.setpriority(os.PRIO_PROCESS, thread_id, min(19, current + by))
    except OSError:
        return False
    return True
