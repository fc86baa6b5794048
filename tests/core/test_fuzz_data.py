"""Fuzzing the MNIST loader: thousands of mutated headers and bodies of tiny IDX files.

The promise: `load_mnist` and `check_files` either return data that is really usable (matching
counts, 28×28 images in [0, 1], labels 0–9) or raise DataError; never another exception, never a
hang. hypothesis is not a dependency, so this is a seeded random loop: the same cases every run,
and a failure prints the case number and mutation to replay it.
"""

from __future__ import annotations

import gzip
import random
import shutil
import signal
import struct
import time
from pathlib import Path

import pytest
import torch

from mnistconv.core import data
from mnistconv.core.errors import DataError

from idx_files import TEST_NAMES, TRAIN_NAMES, idx_bytes, synthetic_digits

CASES = 2_500
SEED = 20_240_607
PER_CASE_LIMIT_S = 5  # a case that takes longer counts as a hang
ALL_NAMES = TRAIN_NAMES + TEST_NAMES


class Hang(Exception):
    pass


def base_files(rng: random.Random) -> dict[str, bytes]:
    """Four valid tiny IDX files (a few images each, so thousands of cases run in seconds)."""
    train_images, train_labels = synthetic_digits(rng.randint(1, 6), seed=rng.randrange(1000))
    test_images, test_labels = synthetic_digits(rng.randint(1, 4), seed=rng.randrange(1000))
    return {
        TRAIN_NAMES[0]: idx_bytes(train_images), TRAIN_NAMES[1]: idx_bytes(train_labels),
        TEST_NAMES[0]: idx_bytes(test_images), TEST_NAMES[1]: idx_bytes(test_labels),
    }


INTERESTING_U32 = [0, 1, 2, 3, 9, 10, 27, 28, 29, 255, 256, 0x801, 0x803, 0x802, 0x804, 0x0C03, 0x0803_0000,
                   2**31 - 1, 2**31, 2**32 - 1, 784, 60_000, 10_000]


def mutate(payload: bytes, rng: random.Random) -> tuple[bytes, str]:
    """One random mutation of an IDX payload, and a short description of it."""
    b = bytearray(payload)
    kind = rng.choice(["flip_header", "flip_any", "header_field", "truncate", "append", "random", "insert",
                       "delete", "labels", "swap_header", "empty", "zero_header"])
    if kind == "flip_header" and b:
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(min(16, len(b)))
            b[i] ^= 1 << rng.randrange(8)
    elif kind == "flip_any" and b:
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] = rng.randrange(256)
    elif kind == "header_field":
        field = rng.randrange(4)
        value = rng.choice(INTERESTING_U32) if rng.random() < 0.7 else rng.randrange(2**32)
        if len(b) < 4 * field + 4:
            b.extend(bytes(4 * field + 4 - len(b)))
        b[4 * field : 4 * field + 4] = struct.pack(">I", value)
        kind += f"[{field}]={value:#x}"
    elif kind == "truncate":
        cut = rng.randrange(len(b) + 1)
        b = b[:cut]
        kind += f"@{cut}"
    elif kind == "append":
        b.extend(rng.randbytes(rng.choice([1, 2, 7, 784, rng.randrange(1, 3000)])))
    elif kind == "random":
        b = bytearray(rng.randbytes(rng.randrange(0, 2000)))
    elif kind == "insert":
        i = rng.randrange(len(b) + 1)
        b[i:i] = rng.randbytes(rng.randint(1, 40))
    elif kind == "delete" and b:
        i = rng.randrange(len(b))
        del b[i : i + rng.randint(1, 40)]
    elif kind == "labels" and len(b) > 8:
        # Body bytes of any value: in a label file these are labels, possibly outside 0–9.
        for _ in range(rng.randint(1, 5)):
            b[rng.randrange(8, len(b))] = rng.randrange(256)
    elif kind == "swap_header" and len(b) >= 8:
        other = rng.choice([0x801, 0x803, 0x802, 0x0D03, 0x0803])
        b[0:4] = struct.pack(">I", other)
        kind += f"={other:#x}"
    elif kind == "empty":
        b = bytearray()
    elif kind == "zero_header":
        b[: min(len(b), rng.choice([4, 8, 16]))] = bytes(min(len(b), 16))
    return bytes(b), kind


def write_case(folder: Path, rng: random.Random) -> list[str]:
    """Write the four files into `folder` with 1–3 of them damaged; return what was done."""
    files = base_files(rng)
    log = []
    for name in rng.sample(ALL_NAMES, rng.randint(1, 3)):
        files[name], how = mutate(files[name], rng)
        if rng.random() < 0.3:  # twice, now and then
            files[name], again = mutate(files[name], rng)
            how += "+" + again
        log.append(f"{name}:{how}")
    if rng.random() < 0.1:  # images where labels belong, or the reverse
        a, b = rng.choice([(TRAIN_NAMES[0], TRAIN_NAMES[1]), (TEST_NAMES[0], TEST_NAMES[1]), (TRAIN_NAMES[0], TEST_NAMES[0])])
        files[a], files[b] = files[b], files[a]
        log.append(f"swap {a}<->{b}")
    raw = folder / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name, payload in files.items():
        container = rng.choices(["plain", "gz", "bad-gz", "dir", "missing", "flat"], weights=[70, 12, 8, 3, 3, 4])[0]
        if container == "plain":
            (raw / name).write_bytes(payload)
        elif container == "flat":  # directly in the data folder rather than MNIST/raw
            (folder / name).write_bytes(payload)
        elif container == "gz":
            (raw / f"{name}.gz").write_bytes(gzip.compress(payload, compresslevel=1))
        elif container == "bad-gz":
            packed = bytearray(gzip.compress(payload, compresslevel=1))
            damage = rng.choice(["cut", "flip", "not-gzip", "empty"])
            if damage == "cut":
                packed = packed[: rng.randrange(len(packed))]
            elif damage == "flip":
                for _ in range(rng.randint(1, 6)):
                    packed[rng.randrange(len(packed))] ^= 1 << rng.randrange(8)
            elif damage == "not-gzip":
                packed = bytearray(payload or b"plain bytes")
            else:
                packed = bytearray()
            (raw / f"{name}.gz").write_bytes(bytes(packed))
            container += f"({damage})"
        elif container == "dir":  # a folder where the file should be
            (raw / name).mkdir()
        if container != "plain":
            log.append(f"{name} as {container}")
    return log


def check_usable(loaded: data.MnistData) -> None:
    """What a normal return promises to the training loop."""
    for images, labels in ((loaded.train_images, loaded.train_labels), (loaded.test_images, loaded.test_labels)):
        assert images.dtype == torch.uint8 and images.shape[1:] == (1, 28, 28)
        assert len(images) == len(labels) > 0
        assert labels.dtype == torch.int64 and int(labels.min()) >= 0 and int(labels.max()) <= 9


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs POSIX interval timers to catch a hang")
def test_loader_raises_only_data_error_and_never_hangs(tmp_path, capsys):
    def hang(signum, frame):
        raise Hang(f"a case ran longer than {PER_CASE_LIMIT_S} s")

    previous = signal.signal(signal.SIGALRM, hang)
    rng = random.Random(SEED)
    outcomes = {"DataError": 0, "loaded": 0}
    wrong = []
    slowest = 0.0
    started = time.perf_counter()
    try:
        for case in range(CASES):
            folder = tmp_path / "case"
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir()
            log = write_case(folder, rng)
            case_start = time.perf_counter()
            signal.setitimer(signal.ITIMER_REAL, PER_CASE_LIMIT_S)
            try:
                for call in ("check_files", "load_mnist"):
                    try:
                        if call == "check_files":
                            data.check_files(folder)
                        else:
                            check_usable(data.load_mnist(folder, "cpu"))
                            outcomes["loaded"] += 1
                    except DataError as exc:
                        assert str(exc), "a DataError must say what is wrong"
                        if call == "load_mnist":
                            outcomes["DataError"] += 1
            except (Exception, Hang) as exc:  # noqa: BLE001 - anything else is the finding
                wrong.append(f"case {case}: {type(exc).__name__}: {exc} <- {'; '.join(log)}")
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            slowest = max(slowest, time.perf_counter() - case_start)
    finally:
        signal.signal(signal.SIGALRM, previous)
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(f"\n[fuzz] {CASES} cases in {elapsed:.1f} s (slowest case {slowest * 1000:.0f} ms): "
              f"{outcomes['DataError']} DataError, {outcomes['loaded']} loaded, {len(wrong)} wrong")
    assert not wrong, f"{len(wrong)} case(s) raised something other than DataError:\n" + "\n".join(wrong[:20])
    # Most mutations must be caught, and some cases must still load (the oracle is not vacuous).
    assert outcomes["DataError"] > CASES // 2 and outcomes["loaded"] > 0
    assert elapsed < 60
