"""SIGKILL at any moment of a recorded run, many times, many of them inside a run-store transaction.

tests/core/store_kill_target.py trains in forked workers that resume the latest recorded run, and
announces each run-store commit (held back a few ms) and each resume-state write. This test kills
workers a random few milliseconds after such a marker, or at a random moment, then checks the store
as a person's next start would find it: the database passes SQLite's integrity check, the run reads
as interrupted, and its recorded epochs are exactly the first epochs of an uninterrupted run. The
next worker resumes it; the last one is left to finish, and the whole run equals the reference.
"""

from __future__ import annotations

import json
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from mnistconv.core.runstore import RunStore

from idx_files import write_tiny_mnist

KILL_TARGET = Path(__file__).with_name("store_kill_target.py")
KILLS = 14
SEED = 11


class Zygote:
    def __init__(self, data_dir: Path, runs_dir: Path, stderr_path: Path):
        self.stderr = open(stderr_path, "w+")
        self.process = subprocess.Popen([sys.executable, str(KILL_TARGET), str(data_dir), str(runs_dir)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, text=True, bufsize=1)
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)

    def send(self, text: str) -> None:
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()

    def next_line(self, timeout: float = 60.0) -> str:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no marker from the child in time; its stderr:\n{self.stderr_text()}") from None
        if line is None:
            raise AssertionError(f"the child ended early; its stderr:\n{self.stderr_text()}")
        return line

    def wait_for(self, word: str, timeout: float = 60.0) -> list[str]:
        seen = []
        while True:
            line = self.next_line(timeout)
            seen.append(line)
            if line.split()[1] == word:
                return seen
            if line.split()[1] == "FAILED":
                raise AssertionError(f"a worker failed:\n{self.stderr_text()}")

    def stderr_text(self) -> str:
        self.stderr.flush()
        self.stderr.seek(0)
        return self.stderr.read()[-3000:]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.stderr.close()


def recorded(runs_dir: Path):
    with RunStore(runs_dir) as store:
        assert store.integrity() == "ok"
        run = store.latest()
        return run, [(e["epoch"], e["test_accuracy"], e["train_loss"]) for e in store.history(run.id).epoch_rows()] if run else []


def test_sigkill_at_any_moment_keeps_the_store_whole_and_the_run_resumable(tmp_path):
    data_dir = write_tiny_mnist(tmp_path / "data", wrong_test_labels=10)
    runs_dir = tmp_path / "runs"
    rng = random.Random(SEED)
    made = subprocess.run([sys.executable, str(KILL_TARGET), str(data_dir), str(tmp_path / "reference"), "--reference"],
                          capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    reference = [tuple(row) for row in json.loads(made.stdout.split(maxsplit=2)[2])]
    zygote = Zygote(data_dir, runs_dir, tmp_path / "stderr.txt")
    try:
        assert zygote.next_line(120).split()[1] == "READY"
        inside_a_write = 0
        finished = []
        for kill in range(KILLS):
            zygote.send("fork")
            lines = zygote.wait_for("FORKED")
            pid = int(lines[-1].split()[2])
            if f"{pid} TRAINING" not in lines:  # the worker may speak before the zygote says it forked
                zygote.wait_for("TRAINING")
            if kill % 3:  # two kills in three aim at a commit or a state write: the 1st to 6th from here
                aim = rng.randint(1, 6)
                while aim and not finished:
                    words = zygote.next_line().split()
                    aim -= words[1] in ("DBWRITE", "STATE")
                    finished += [words[2]] if words[1] == "DONE" else []
                time.sleep(rng.uniform(0, 0.012))
                inside_a_write += not finished
            else:
                time.sleep(rng.uniform(0.05, 0.4))
            os.kill(pid, signal.SIGKILL)
            lines = zygote.wait_for("REAPED")
            finished += [line.split()[2] for line in lines if line.split()[1] == "DONE"]
            if finished:
                break  # the run got to its end between two kills
            assert lines[-1].split()[2] == str(pid) and int(lines[-1].split()[3]) & 0x7F == signal.SIGKILL, lines
            run, epochs = recorded(runs_dir)
            if run is not None:
                assert run.outcome == "interrupted", run
                assert epochs == reference[: len(epochs)], (epochs, reference)
                assert run.epochs_done == len(epochs)
        if not finished:
            zygote.send("fork")
            finished = [line.split()[2] for line in zygote.wait_for("REAPED", timeout=120) if line.split()[1] == "DONE"]
        assert finished == ["completed"]
        run, epochs = recorded(runs_dir)
        assert run.outcome == "completed" and epochs == reference
        assert inside_a_write >= KILLS // 3
    finally:
        zygote.close()
