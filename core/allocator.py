"""Keep freed tensor memory mapped while training on the CPU, on Linux with glibc.

Every training step allocates and frees the same few multi-megabyte activation buffers. With
glibc's default settings those blocks go back to the kernel when freed (munmap, or a trim of the
heap's top), so the next step page-faults them in again: about 3,500 faults and 6–8 ms of kernel
time per batch of 128 here, a third of the step. Raising the mmap and trim thresholds keeps the
pages in the heap for reuse; `release_freed_memory()` hands them back once training is over.

The thresholds are process-wide, so the entry points set them (the commands in core/cli.py, the
window in gui/app.py), never a library function.

Elsewhere (macOS, Windows, musl) both functions do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import platform
import sys

# mallopt() parameters, from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

# Blocks up to this size come from the heap instead of their own mmap; the largest per-step
# buffer of the seed recipe is 6.4 MB, and evaluation chunks of 250 images about 13 MB each.
MMAP_THRESHOLD_BYTES = 64 << 20
# Free memory at the top of the heap is given back only beyond this much.
TRIM_THRESHOLD_BYTES = 256 << 20


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


@functools.cache
def keep_freed_memory() -> bool:
    """Raise glibc's thresholds, once per process. True where they were set."""
    libc = _glibc()
    if libc is None:
        return False
    # Setting either threshold also turns off glibc's own adjustment of them, so set both.
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    )


def release_freed_memory() -> None:
    """Give the heap's free pages back to the system (glibc's malloc_trim)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
