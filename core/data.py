"""MNIST on the training device: where the files live, checking them, loading them as ready tensors.

Files are the four standard IDX files, in torchvision's layout (`<data dir>/MNIST/raw/`) or directly
in the data folder; a `.gz` copy is unpacked on first use. Every file is checked (magic number,
dimensions, length, matching counts, labels 0–9) and read here with numpy, so a truncated or
foreign file gives a DataError naming it; torchvision is imported only to download (core.acquire).
"""

from __future__ import annotations

import errno
import gzip
import os
import stat
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .atomic import atomic_write, remove_abandoned_partials
from .errors import DataError

IMAGE_FILES = {"train": "train-images-idx3-ubyte", "test": "t10k-images-idx3-ubyte"}
LABEL_FILES = {"train": "train-labels-idx1-ubyte", "test": "t10k-labels-idx1-ubyte"}
ALL_FILES = (IMAGE_FILES["train"], LABEL_FILES["train"], IMAGE_FILES["test"], LABEL_FILES["test"])
FULL_COUNTS = {"train": 60_000, "test": 10_000}
# The largest MNIST file, the training images, is 47 MB unpacked.
MAX_UNPACKED_BYTES = 64 << 20

IMAGE_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
LABEL_MAGIC = 0x00000801  # unsigned bytes, 1 dimension
IMAGE_SIDE = 28
NUM_CLASSES = 10


@dataclass(frozen=True)
class MnistData:
    """Images as uint8 (N, 1, 28, 28), as the files hold them, and labels as int64, all on one device.

    Kept as bytes, MNIST takes 55 MB instead of 220 MB as floats; `pixels` makes a batch the
    network's float32 in [0, 1] when it is used (the same values, computed the same way)."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor

    @property
    def device(self) -> torch.device:
        return self.train_images.device


def pixels(images: torch.Tensor) -> torch.Tensor:
    """Images as the network takes them: float32 in [0, 1] (MNIST's bytes / 255; floats as they are)."""
    return images.float().div_(255.0) if images.dtype == torch.uint8 else images


def raw_dir(data_dir: Path) -> Path:
    """Where files are fetched to: torchvision's layout, so its own download lands in the same place."""
    return Path(data_dir) / "MNIST" / "raw"


def _candidate_dirs(data_dir: Path) -> list[Path]:
    return [raw_dir(data_dir), Path(data_dir)]


def _is_file(path: Path) -> bool:
    """True for a regular file or a link to one, False for nothing there (or a dangling link) or a folder.

    Anything else named like an MNIST file is a DataError naming it: reading a FIFO or a socket
    waits forever, and a device such as /dev/zero never ends. A folder that cannot be looked into
    is a DataError too, not a PermissionError."""
    try:
        mode = path.stat().st_mode  # follows links: a link is what it points to
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
            return False
        raise DataError(f"{path.parent}: cannot read the folder ({exc.strerror or exc})") from exc
    except ValueError:  # a NUL in the path: nothing can be there
        return False
    if stat.S_ISREG(mode):
        return True
    if stat.S_ISDIR(mode):
        return False
    kind = _special_kind(mode)
    if path.is_symlink():
        kind = f"a link to {os.readlink(path)}, {kind}"
    raise DataError(f"{path} is not a regular file ({kind})")


def _special_kind(mode: int) -> str:
    for test, kind in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return "not a file"


def find_file(data_dir: Path, name: str) -> Path | None:
    """The IDX file `name` in the data folder, unpacking `name.gz` beside it if only that exists."""
    for folder in _candidate_dirs(data_dir):
        if _is_file(folder / name):
            return folder / name
    for folder in _candidate_dirs(data_dir):
        if _is_file(folder / f"{name}.gz"):
            return _gunzip(folder / f"{name}.gz")
    return None


def missing_files(data_dir: Path) -> list[str]:
    return [name for name in ALL_FILES if not _present(data_dir, name)]


def _present(data_dir: Path, name: str) -> bool:
    return any(_is_file(d / name) or _is_file(d / f"{name}.gz") for d in _candidate_dirs(data_dir))


def _gunzip(gz_path: Path) -> Path:
    """Unpack NAME.gz to NAME beside it, whole or not at all, through a fresh temporary file
    (core.atomic: never a link or a FIFO someone left under a fixed name)."""
    target = gz_path.with_suffix("")
    try:
        remove_abandoned_partials(target)
        with gzip.open(gz_path, "rb") as source, atomic_write(target) as sink:
            written = 0
            while chunk := source.read(1 << 20):
                written += len(chunk)
                if written > MAX_UNPACKED_BYTES:  # a few KB of gzip can unpack to gigabytes
                    raise DataError(f"{gz_path}: unpacks to more than {MAX_UNPACKED_BYTES >> 20} MB, "
                                    "far more than any MNIST file: not an MNIST file")
                sink.write(chunk)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise DataError(f"{gz_path}: not a readable gzip file ({exc})") from exc
    except OSError as exc:  # reading it, or writing beside it (a full disk, a read-only folder)
        raise DataError(f"{gz_path}: cannot unpack it to {target.name} ({exc.strerror or exc})") from exc
    return target


def check_idx(path: Path, kind: str) -> int:
    """Check an IDX file's magic number, dimensions and length; return how many items it holds."""
    magic, header_size, item_size = (
        (IMAGE_MAGIC, 16, IMAGE_SIDE * IMAGE_SIDE) if kind == "images" else (LABEL_MAGIC, 8, 1)
    )
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            header = f.read(header_size)
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if len(header) < header_size:
        raise DataError(f"{path}: truncated: {size} bytes is shorter than an IDX {kind} header")
    found_magic, count = struct.unpack(">II", header[:8])
    if found_magic != magic:
        raise DataError(f"{path}: not an MNIST {kind} file (magic number {found_magic:#010x}, expected {magic:#010x})")
    if kind == "images":
        rows, cols = struct.unpack(">II", header[8:16])
        if (rows, cols) != (IMAGE_SIDE, IMAGE_SIDE):
            raise DataError(f"{path}: images are {rows}×{cols}, expected {IMAGE_SIDE}×{IMAGE_SIDE}")
    expected = header_size + count * item_size
    if size < expected:
        raise DataError(f"{path}: truncated: header promises {count} {kind} ({expected} bytes), file has {size} bytes")
    if size > expected:
        raise DataError(f"{path}: {size - expected} unexpected bytes after the {count} {kind} its header promises")
    return count


def check_split(data_dir: Path, split: str, require_full: bool = False) -> tuple[Path, Path, int]:
    """Find and check one split's image and label files; return their paths and the item count."""
    paths = []
    for name in (IMAGE_FILES[split], LABEL_FILES[split]):
        path = find_file(data_dir, name)
        if path is None:
            raise DataError(missing_message(data_dir, [name]))
        paths.append(path)
    images_path, labels_path = paths
    n_images = check_idx(images_path, "images")
    n_labels = check_idx(labels_path, "labels")
    if n_images != n_labels:
        raise DataError(f"{images_path}: {n_images} images but {labels_path.name} has {n_labels} labels")
    if n_images == 0:
        raise DataError(f"{images_path}: holds no images")
    if require_full and n_images != FULL_COUNTS[split]:
        raise DataError(f"{images_path}: {n_images} images, MNIST's {split} set has {FULL_COUNTS[split]}")
    return images_path, labels_path, n_images


def missing_message(data_dir: Path, names: list[str]) -> str:
    return (
        f"MNIST file(s) missing: {', '.join(names)}. Put the four IDX files "
        f"({', '.join(ALL_FILES)}, plain or .gz) in {raw_dir(data_dir)}"
    )


def check_files(data_dir: Path, require_full: bool = False) -> dict[str, int]:
    """Check all four files; return the item count of each split."""
    return {split: check_split(data_dir, split, require_full)[2] for split in ("train", "test")}


def read_idx(path: Path, kind: str, count: int) -> np.ndarray:
    """The `count` items of an IDX file check_idx has passed, as uint8: (count, 28, 28) images or (count,) labels."""
    header_size, shape = (16, (count, IMAGE_SIDE, IMAGE_SIDE)) if kind == "images" else (8, (count,))
    try:
        with open(path, "rb") as f:
            f.seek(header_size)
            items = np.fromfile(f, dtype=np.uint8)
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if items.size != int(np.prod(shape)):  # the file changed since it was checked
        raise DataError(f"{path}: {items.size} bytes of {kind} where its header promises {count} {kind}")
    return items.reshape(shape)


def _load_split(data_dir: Path, split: str, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    images_path, labels_path, count = check_split(data_dir, split)
    images = read_idx(images_path, "images", count)
    labels = read_idx(labels_path, "labels", count)
    if labels.size and int(labels.max()) >= NUM_CLASSES:
        raise DataError(f"{labels_path}: labels must be 0–9, found {int(labels.min())}…{int(labels.max())}")
    images = torch.from_numpy(images).to(device=device).unsqueeze(1)
    return images, torch.from_numpy(labels).to(device=device, dtype=torch.int64)


def load_mnist(data_dir: Path, device: torch.device | str = "cpu") -> MnistData:
    """Load the four checked files as tensors on `device` (images as uint8: `pixels` for floats)."""
    device = torch.device(device)
    if missing := missing_files(Path(data_dir)):
        raise DataError(missing_message(Path(data_dir), missing))
    train = _load_split(Path(data_dir), "train", device)
    test = _load_split(Path(data_dir), "test", device)
    return MnistData(*train, *test)
