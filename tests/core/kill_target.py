"""The process that tests/core/test_kill_during_save.py kills with SIGKILL, again and again.

    python kill_target.py DATA_DIR SAVE_DIR [CHUNK_DELAY_S]

It imports torch and mnistconv once (seconds), loads the tiny data set, prints "READY", then
acts as a zygote: for each line "fork SEED" on stdin it forks a worker that trains the real loop
(core.train.train) on that data into SAVE_DIR/mnist_conv.pt, saving after nearly every epoch, until
it is killed; the zygote prints "FORKED PID", waits for the worker to die and prints
"REAPED PID STATUS". Forking spares each of the many kills the import time of torch.

Markers, one line each, written with a single os.write so they never interleave:
  "PID WRITING SHA256" as a checkpoint's bytes start going to disk (the hash of the whole file),
  "PID SAVED SHA256"   once save_checkpoint has returned (renamed over the old file and synced).
torch.save is slowed down here (the serialized bytes go out in 4 kB pieces with a pause after
each) so that a kill timed after WRITING lands inside the write, the fsync or the rename.
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
import time
import traceback
from pathlib import Path

CHUNK = 4096
WORKER_LIFETIME_S = 60  # a worker nobody kills still ends


def say(text: str) -> None:
    os.write(1, f"{os.getpid()} {text}\n".encode())


def main() -> int:
    data_dir, save_dir = Path(sys.argv[1]), Path(sys.argv[2])
    chunk_delay = float(sys.argv[3]) if len(sys.argv) > 3 else 0.001

    import torch

    torch.set_num_threads(1)  # no thread pool in the zygote: forking it stays safe
    from mnistconv.core import checkpoint
    from mnistconv.core.config import TrainConfig
    from mnistconv.core.data import load_mnist
    from mnistconv.core.train import train

    data = load_mnist(data_dir, "cpu")
    real_torch_save = torch.save
    real_save_checkpoint = checkpoint.save_checkpoint

    def slow_torch_save(obj, f, *args, **kwargs):
        buffer = io.BytesIO()
        real_torch_save(obj, buffer, *args, **kwargs)
        payload = buffer.getvalue()
        say(f"WRITING {hashlib.sha256(payload).hexdigest()}")
        for start in range(0, len(payload), CHUNK):
            f.write(payload[start : start + CHUNK])
            f.flush()
            time.sleep(chunk_delay)

    def announced_save_checkpoint(path, *args, **kwargs):
        result = real_save_checkpoint(path, *args, **kwargs)
        say(f"SAVED {hashlib.sha256(Path(path).read_bytes()).hexdigest()}")
        return result

    torch.save = slow_torch_save
    checkpoint.save_checkpoint = announced_save_checkpoint  # core.train calls it through the module
    say("READY")
    while True:
        line = sys.stdin.readline().split()
        if not line or line[0] != "fork":
            return 0
        seed = int(line[1])
        pid = os.fork()
        if pid == 0:
            try:
                config = TrainConfig(
                    epochs=100_000, batch_size=64, seed=seed, device="cpu", savepath=str(save_dir),
                    progress_interval_s=3600.0, target_accuracy=1.01,  # never an early exit
                    converge_patience=10**6, lr_drop_patience=10**6,
                )
                deadline = time.monotonic() + WORKER_LIFETIME_S
                say("TRAINING")
                for _ in train(config, data):
                    if time.monotonic() > deadline:
                        break
            except BaseException:  # noqa: BLE001 - a worker that cannot train says why, on stderr
                traceback.print_exc()
            finally:
                os._exit(0)
        say(f"FORKED {pid}")
        _, status = os.waitpid(pid, 0)
        say(f"REAPED {pid} {status}")


if __name__ == "__main__":
    sys.exit(main())
