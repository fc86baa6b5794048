"""Files written whole or not at all: a uniquely named temporary file beside the target, then a rename.

The temporary is made by `tempfile.mkstemp` in the target's folder: a fresh name each time, created
with O_CREAT | O_EXCL, so it never follows a link or opens a FIFO someone left under a guessable
name, and two processes writing the same target never share a temporary. Its name carries the
writer's pid (`.NAME.PID.RANDOM.partial`), so a later writer can delete those of killed processes.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterator

PARTIAL_SUFFIX = ".partial"


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# mkstemp makes its file private (0600); the finished file gets what open() would have given it
# (0644 under the usual umask), so models, digits and MNIST files can be shared like any other file.
# Read once, at import: setting the umask to read it is not safe while other threads create files.
NEW_FILE_MODE = 0o666 & ~_current_umask()


class NotARegularFile(OSError):
    """A write target that exists and is not a plain file: a link, a device, a FIFO or a folder."""


def check_write_target(path: str | os.PathLike) -> None:
    """Refuse (NotARegularFile) to write over anything but a regular file or a new name: a link
    would be replaced by a file (or, written through, overwrite what it points to), and /dev/null,
    /dev/stdout or a FIFO would be replaced by a regular file."""
    path = Path(path)
    if path.is_symlink():
        kind = "a link"
    elif not path.exists() or path.is_file():
        return
    else:
        kind = "a folder" if path.is_dir() else "a device, FIFO or socket"
    raise NotARegularFile(errno.EEXIST, f"{path} is {kind}, not a regular file; it is left as it is")


def partial_prefix(path: Path) -> str:
    return f".{Path(path).name}."


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, *, durable: bool = True) -> Iterator[BinaryIO]:
    """Open a new temporary file beside `path` for writing; on a clean exit rename it over `path`.

    A target that is a link or not a regular file is refused (NotARegularFile) before anything is
    written. On any exception (including a cancel raised by the caller mid-write) the temporary is
    removed and `path` is left as it was. `durable` fsyncs the file before the rename and the folder after
    it, so a crash or power cut leaves either the old file or the new one, never a torn one.
    """
    path = Path(path)
    check_write_target(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f"{partial_prefix(path)}{os.getpid()}.", suffix=PARTIAL_SUFFIX)
    temporary = Path(name)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, NEW_FILE_MODE)
        with os.fdopen(fd, "wb") as sink:
            yield sink
            sink.flush()
            if durable:
                os.fsync(sink.fileno())
        os.replace(temporary, path)  # a link put there meanwhile is replaced itself, never what it points to
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    if durable:
        fsync_folder(path.parent)


def fsync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable (POSIX only; Windows cannot open folders)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_abandoned_partials(path: str | os.PathLike) -> None:
    """Delete the temporaries of writes to `path` whose process was killed mid-write (POSIX: a pid
    that no longer runs). A live process's file, or one whose pid was reused, is left alone."""
    if os.name != "posix":
        return  # os.kill(pid, 0) would be a Ctrl-C event on Windows
    path = Path(path)
    prefix = partial_prefix(path)
    for partial in path.parent.glob(f"{prefix}*{PARTIAL_SUFFIX}"):
        pid = partial.name[len(prefix) : -len(PARTIAL_SUFFIX)].split(".")[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            partial.unlink(missing_ok=True)
        except OSError:
            pass  # alive, under another user
