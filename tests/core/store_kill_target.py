"""The process that tests/core/test_kill_store.py kills with SIGKILL, again and again.

    python store_kill_target.py DATA_DIR RUNS_DIR [--reference]

It imports torch and mnistconv once, loads the tiny data set, prints "READY", then acts as a
zygote: for each line "fork" on stdin it forks a worker that resumes the latest recorded run in
RUNS_DIR (or starts one) and trains until it is killed or done; the zygote prints "FORKED PID",
then "REAPED PID STATUS". The zygote itself trains nothing before it forks (a forked copy of a
process that has trained can hang in torch's thread pools). With --reference it instead trains the
same run once to the end, single-threaded like the workers, and prints "REFERENCE <json of its
epochs>".

Markers, one line each, written with a single os.write: "PID DBWRITE" as a run-store transaction is
about to commit (the commit is held back a few ms so a kill can land inside it), "PID STATE" as a
resume state starts going to disk, "PID DONE" when a worker's run finished.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tiny_training

EPOCHS = 30
COMMIT_DELAY_S = 0.01


def say(text: str) -> None:
    os.write(1, f"{os.getpid()} {text}\n".encode())


def main() -> int:
    data_dir, runs_dir = Path(sys.argv[1]), Path(sys.argv[2])
    import torch

    torch.set_num_threads(1)  # no thread pool in the zygote: forking it stays safe
    from mnistconv.core import paths, resume, runstore
    from mnistconv.core.data import load_mnist
    from mnistconv.core.events import EpochFinished, Finished
    from mnistconv.core.session import RUN_FOLDER, DataCache, resume_session, training_session

    from tiny_training import tiny_config

    config = tiny_config(RUN_FOLDER, epochs=EPOCHS)
    if "--reference" in sys.argv:
        reference = [(e.epoch, e.test_accuracy, e.train_loss)
                     for e in training_session(config, data_dir, runs_dir=runs_dir) if isinstance(e, EpochFinished)]
        say("REFERENCE " + json.dumps(reference))
        return 0
    cache = DataCache()
    cache.put(data_dir, torch.device("cpu"), load_mnist(data_dir, "cpu"))

    real_exit = runstore._Transaction.__exit__

    def slow_commit(self, kind, exc, traceback):
        if kind is None:
            say("DBWRITE")
            time.sleep(COMMIT_DELAY_S)
        return real_exit(self, kind, exc, traceback)

    runstore._Transaction.__exit__ = slow_commit
    real_save_state = resume.save_resume_state

    def announced_save_state(path, state):
        say("STATE")
        return real_save_state(path, state)

    resume.save_resume_state = announced_save_state
    import mnistconv.core.train as train_module

    train_module.save_resume_state = announced_save_state
    say("READY")
    while True:
        line = sys.stdin.readline().split()
        if not line or line[0] != "fork":
            return 0
        pid = os.fork()
        if pid == 0:
            import faulthandler

            faulthandler.dump_traceback_later(30, exit=True)  # a stuck worker says where, on stderr, and ends
            try:
                with runstore.RunStore(runs_dir) as store:
                    latest = store.latest()
                can_resume = latest is not None and paths.state_file(latest.folder).is_file()
                if can_resume:
                    session = resume_session(runs_dir, latest.id, cache=cache)
                else:
                    session = training_session(config, data_dir, cache=cache, runs_dir=runs_dir)
                say("TRAINING")
                for event in session:
                    if isinstance(event, Finished):
                        say(f"DONE {event.reason}")
            except BaseException:
                traceback.print_exc()
                say("FAILED")
                os._exit(1)
            finally:
                os._exit(0)
        say(f"FORKED {pid}")
        _, status = os.waitpid(pid, 0)
        say(f"REAPED {pid} {status}")


if __name__ == "__main__":
    sys.exit(main())
