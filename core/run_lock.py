"""A lock that says "this process is training into here", released by the system when the process dies.

A run holds the lock of its folder for as long as it trains, and of an explicit save file while it
writes there. `flock` locks end with their process, even one killed with SIGKILL, so a lock that can
be taken means nobody is training there: that is how a run whose process died is told apart from a
running one. The holder's pid is written into the file, to name it in messages.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no flock; locks then always succeed
    fcntl = None


ATTEMPTS = 5


class LockHeld(Exception):
    """Another process holds the lock; `pid` is its process id when known."""

    def __init__(self, path: Path, pid: int | None):
        super().__init__(f"{path} is locked by process {pid}")
        self.path = path
        self.pid = pid


class LockUnusable(Exception):
    """The lock's path is not a plain file (a link, a FIFO, a folder) or cannot be opened; it is left
    as it is."""


class RunLock:
    def __init__(self, path: Path, fd: int):
        self.path = path
        self._fd: int | None = fd

    def release(self) -> None:
        """Remove the lock file and let the lock go (a killed process's file stays, unlocked)."""
        if self._fd is not None:
            try:
                self.path.unlink()  # while still held: a process waiting on it will find a new file
            except OSError:
                pass
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    def __enter__(self) -> "RunLock":
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()


def _holder(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def acquire(path: str | os.PathLike) -> RunLock:
    """Take the lock at `path` (creating the file) or raise LockHeld naming the holder."""
    path = Path(path)
    while True:
        fd = _lock(path)
        try:
            same_file = os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same_file = False
        if same_file:
            break
        os.close(fd)  # its holder removed the file as we took the lock: take the new one
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
    return RunLock(path, fd)


def _lock(path: Path) -> int:
    # O_NONBLOCK: a FIFO put where the lock belongs must not hang the open; fstat then refuses it.
    flags = os.O_RDWR | os.O_CREAT | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        kind = "a link" if path.is_symlink() else "a folder" if path.is_dir() else None
        raise LockUnusable(f"{path} is {kind}, not a plain file; it is left as it is (remove it to go on)" if kind
                           else f"Cannot open the lock {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise LockUnusable(f"{path} is not a plain file (a FIFO or a device); it is left as it is (remove it to go on)")
    if fcntl is not None:
        for attempt in range(ATTEMPTS):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if attempt + 1 < ATTEMPTS:
                    time.sleep(0.02)  # a reader's probe (is_held) holds it for a moment only
        else:
            holder = _holder(fd)
            os.close(fd)
            raise LockHeld(path, holder)
    return fd


def is_held(path: str | os.PathLike) -> bool:
    """Whether a live process holds the lock at `path` (False where there is no such file)."""
    path = Path(path)
    if fcntl is None or not path.is_file():
        return False
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
