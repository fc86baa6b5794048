"""Whole-or-nothing writes: a unique temporary beside the target, renamed over it."""

import os
import subprocess
import sys

import pytest

from mnistconv.core.atomic import NotARegularFile, atomic_write, remove_abandoned_partials


def test_a_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "file.bin"
    target.write_bytes(b"old")
    with atomic_write(target) as sink:
        sink.write(b"new")
        assert target.read_bytes() == b"old"  # nothing shows until the rename
    assert target.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["file.bin"]


def test_a_failed_write_keeps_the_old_file_and_removes_its_temporary(tmp_path):
    target = tmp_path / "file.bin"
    target.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(target) as sink:
            sink.write(b"half")
            raise KeyboardInterrupt  # a cancel mid-write
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["file.bin"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_traps_under_the_old_fixed_temporary_names_are_neither_followed_nor_opened(tmp_path):
    target = tmp_path / "file.bin"
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep me")
    # What a writer with fixed temporary names would have opened: a link to another file, a FIFO.
    os.symlink(victim, tmp_path / "file.bin.partial")
    os.symlink(victim, tmp_path / f".file.bin.{os.getpid()}.partial")
    os.mkfifo(tmp_path / ".file.bin.partial")
    with atomic_write(target) as sink:  # would hang on the FIFO or write through the links
        sink.write(b"data")
    assert target.read_bytes() == b"data"
    assert victim.read_bytes() == b"keep me"


def test_a_link_at_the_target_is_refused_not_written_through_nor_replaced(tmp_path):
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep me")
    target = tmp_path / "file.bin"
    os.symlink(victim, target)
    with pytest.raises(NotARegularFile, match="is a link, not a regular file"):
        with atomic_write(target) as sink:
            sink.write(b"data")
    assert target.is_symlink() and victim.read_bytes() == b"keep me"


def test_two_writers_of_one_target_get_different_temporaries(tmp_path):
    target = tmp_path / "file.bin"
    with atomic_write(target) as first, atomic_write(target) as second:
        assert first.name != second.name
        first.write(b"first")
        second.write(b"second")
    assert target.read_bytes() == b"first"  # the last to finish wins, whole


@pytest.mark.skipif(os.name != "posix", reason="pids of dead processes are a POSIX notion here")
def test_temporaries_of_dead_writers_are_removed_and_live_ones_kept(tmp_path):
    target = tmp_path / "file.bin"
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    abandoned = tmp_path / f".file.bin.{gone.pid}.x1y2z3.partial"
    live = tmp_path / f".file.bin.{os.getppid()}.a1b2c3.partial"
    other = tmp_path / f".other.bin.{gone.pid}.a1b2c3.partial"
    for path in (abandoned, live, other):
        path.write_bytes(b"")
    remove_abandoned_partials(target)
    assert not abandoned.exists()
    assert live.exists() and other.exists()


@pytest.mark.parametrize("durable", [True, False])
def test_a_durable_write_syncs_the_file_before_the_rename_and_the_folder_after(tmp_path, sync_calls, durable):
    calls = sync_calls
    target = tmp_path / "file.bin"
    with atomic_write(target, durable=durable) as sink:
        sink.write(b"data")
    if durable:
        assert calls == [("fsync", target.stat().st_ino), ("rename onto", "file.bin"), ("fsync", tmp_path.stat().st_ino)]
    else:  # fetched MNIST files: a crash leaves no torn file either, and they can be fetched again
        assert calls == [("rename onto", "file.bin")]


@pytest.mark.skipif(not hasattr(os, "fchmod"), reason="POSIX permissions")
def test_the_finished_file_has_the_permissions_a_plain_write_gives(tmp_path):
    plain = tmp_path / "plain"
    plain.write_bytes(b"x")
    with atomic_write(tmp_path / "atomic") as sink:
        sink.write(b"x")
    assert (tmp_path / "atomic").stat().st_mode & 0o777 == plain.stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
