"""Digits a run adds to its batches (synthesised, or real handwriting drawn on the canvas), made once
and kept in the user's cache.

Making a bank takes a minute or more: thousands of drawings rendered and put through `to_mnist`. A
bank is fully determined by what it is made from (its kind, count, seed, and the fonts or the
handwriting file it draws), so `cached_bank` keeps it under a name digesting all of that, and a
second run with the same settings, or a resumed one, starts at once. A cached file is read as
untrusted input (plain arrays, their shapes and ranges checked); anything wrong with it and the bank
is made again. A cache that cannot be written costs only the time.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np

from .atomic import atomic_write
from .paths import make_folder, user_cache_dir

BANK_VERSION = 1  # raised whenever a bank's digits are made differently for the same key
HEADER = 256  # room for an .npy header
Bank = tuple[np.ndarray, np.ndarray]  # uint8 (N, 28, 28) images after to_mnist, uint8 (N,) labels


def banks_dir() -> Path:
    """$MNISTCONV_BANKS, else `banks` in the per-user cache folder."""
    return Path(os.environ["MNISTCONV_BANKS"]).expanduser() if os.environ.get("MNISTCONV_BANKS") else user_cache_dir() / "banks"


def cached_bank(kind: str, key: dict, make: Callable[[], Bank], folder: Path | None = None) -> Bank:
    """The bank `make()` makes for `key` (which must hold its "count"), from the cache when it is there."""
    folder = Path(folder) if folder is not None else banks_dir()
    digest = hashlib.sha256(json.dumps({"version": BANK_VERSION, **key}, sort_keys=True).encode()).hexdigest()[:20]
    path = folder / f"{kind}-{digest}.npz"
    bank = _read(path, key["count"])
    if bank is not None:
        return bank
    images, labels = make()
    try:
        make_folder(folder)
        with atomic_write(path, durable=False) as sink:
            np.savez(sink, images=images, labels=labels)
    except OSError:
        pass  # made again next time
    return images, labels


def _read(path: Path, count: int) -> Bank | None:
    """The bank in `path` when it is a whole one of `count` digits; None otherwise (absent, damaged,
    or declaring more than a bank of that count holds: checked before numpy allocates anything)."""
    limits = {"images.npy": count * 28 * 28 + HEADER, "labels.npy": count + HEADER}
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
        if sorted(m.filename for m in members) != sorted(limits) or any(m.file_size > limits[m.filename] for m in members):
            return None
        with np.load(path, allow_pickle=False) as stored:
            images, labels = stored["images"], stored["labels"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    if (images.dtype != np.uint8 or images.shape != (count, 28, 28) or labels.dtype != np.uint8
            or labels.shape != (count,) or (count and labels.max() > 9)):
        return None
    return images, labels
