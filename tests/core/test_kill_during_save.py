"""SIGKILL at any moment of training, many times, most of them in the middle of writing a checkpoint.

tests/core/kill_target.py trains the real loop in forked workers and announces each checkpoint's
bytes (WRITING hash) before they reach the disk, and SAVED once save_checkpoint has returned. This
test kills workers at varied moments, mostly a random few milliseconds after a WRITING marker (the
write is slowed down so the kill lands in the write, the fsync or the rename), the rest at a random
moment of training. After every kill, mnist_conv.pt must load, and its bytes must be exactly those
of the last checkpoint reported SAVED, or of the one being written if the kill came after its rename:
a complete file, never a mix, never lost.
"""

from __future__ import annotations

import hashlib
import os
import queue
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mnistconv.core import checkpoint

from idx_files import write_tiny_mnist

KILL_TARGET = Path(__file__).with_name("kill_target.py")
KILLS = 24
SEED = 7
CHUNK_DELAY_S = 0.002  # the child writes a checkpoint in ~18 pieces: about 40 ms per save


class Child:
    """The zygote process and the marker lines it and its workers print."""

    def __init__(self, data_dir: Path, save_dir: Path, stderr_path: Path):
        self.stderr = open(stderr_path, "w+")
        self.process = subprocess.Popen(
            [sys.executable, str(KILL_TARGET), str(data_dir), str(save_dir), str(CHUNK_DELAY_S)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, text=True, bufsize=1,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)

    def send(self, text: str) -> None:
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()

    def next_line(self, deadline: float) -> str:
        try:
            line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"no marker from the child in time; its stderr:\n{self.stderr_text()}") from None
        if line is None:
            raise AssertionError(f"the child ended early; its stderr:\n{self.stderr_text()}")
        return line

    def stderr_text(self) -> str:
        self.stderr.flush()
        self.stderr.seek(0)
        return self.stderr.read()[-3000:]

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.close()
                self.process.wait(timeout=20)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        self.stderr.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.skipif(sys.platform != "linux", reason="forks workers and kills them with SIGKILL")
def test_sigkill_at_any_moment_keeps_a_complete_checkpoint(tmp_path, capsys):
    data_dir = write_tiny_mnist(tmp_path / "data")
    save_dir = tmp_path / "models"
    save_dir.mkdir()
    target = save_dir / "mnist_conv.pt"
    rng = random.Random(SEED)
    child = Child(data_dir, save_dir, tmp_path / "child-stderr.txt")
    last_saved: str | None = None  # the file's bytes as last reported SAVED (or found after a kill)
    tally = {"between saves": 0, "mid-save, previous kept": 0, "mid-save, new one complete": 0}
    started = time.monotonic()
    try:
        deadline = time.monotonic() + 120
        assert child.next_line(deadline).endswith(" READY")
        for kill in range(KILLS):
            child.send(f"fork {kill}")
            in_flight: str | None = None
            writes = saves = 0
            pid = None
            # Most kills go in the middle of a save (the 1st to 3rd of this worker); the others at a
            # random moment. The first worker first lets one save complete: something to protect.
            mid_save = kill % 3 != 2
            wanted_write = rng.randint(2 if kill == 0 else 1, 3)
            delay = rng.uniform(0.0, 0.03) if mid_save else rng.uniform(0.0, 0.5)
            deadline = time.monotonic() + 60
            while True:
                line = child.next_line(deadline)
                sender, kind, *rest = line.split()
                if kind == "FORKED":
                    pid = int(rest[0])
                elif kind == "WRITING":
                    in_flight, writes = rest[0], writes + 1
                elif kind == "SAVED":
                    assert rest[0] == in_flight, "the file on disk differs from the bytes written"
                    last_saved, in_flight, saves = rest[0], None, saves + 1
                armed = (writes == wanted_write and kind == "WRITING") if mid_save else (
                    kind in ("TRAINING", "SAVED") and last_saved is not None and pid is not None)
                if armed:
                    break
            time.sleep(delay)
            os.kill(pid, signal.SIGKILL)
            while True:  # the worker's last markers, then the zygote's REAPED line (always after them)
                line = child.next_line(deadline)
                sender, kind, *rest = line.split()
                if kind == "WRITING":
                    in_flight = rest[0]
                elif kind == "SAVED":
                    assert rest[0] == in_flight
                    last_saved, in_flight = rest[0], None
                elif kind == "REAPED":
                    assert int(rest[0]) == pid
                    status = int(rest[1])
                    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
                    break
            found = digest(target)
            allowed = {last_saved} | ({in_flight} if in_flight else set())
            assert found in allowed, f"kill {kill}: mnist_conv.pt is not a checkpoint that was completely written"
            checkpoint.load_checkpoint(target)  # and it loads, weights checked
            if in_flight is None:
                tally["between saves"] += 1
            elif found == in_flight:
                tally["mid-save, new one complete"] += 1
            else:
                tally["mid-save, previous kept"] += 1
            last_saved = found
    finally:
        child.close()
    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(f"\n[kill] {KILLS} SIGKILLs in {elapsed:.1f} s: " + ", ".join(f"{v} {k}" for k, v in tally.items()))
    mid = tally["mid-save, previous kept"] + tally["mid-save, new one complete"]
    assert mid >= KILLS // 3 and tally["mid-save, previous kept"] >= 3
    # A killed save leaves only its hidden temporary file (.mnist_conv.pt.PID.RANDOM.partial), and the
    # next save deletes it: at most the last kill's is still there.
    others = sorted(set(os.listdir(save_dir)) - {"mnist_conv.pt"})
    assert len(others) <= 1 and all(re.fullmatch(r"\.mnist_conv\.pt\.\d+\.\w+\.partial", name) for name in others), others
