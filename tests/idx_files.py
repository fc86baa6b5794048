"""Small MNIST-format files for tests, read by the product's own loader."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

TRAIN_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
TEST_NAMES = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def synthetic_digits(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Easy 28×28 'digits': class k is a bright 8×8 block at one of ten places, on faint noise."""
    rng = np.random.default_rng(seed)
    labels = (np.arange(count) % 10).astype(np.uint8)
    rng.shuffle(labels)
    images = rng.integers(0, 40, size=(count, 28, 28), dtype=np.uint8)
    for image, label in zip(images, labels):
        row, col = 2 + 12 * (label // 5), 1 + 5 * (label % 5)
        image[row : row + 8, col : col + 6] = rng.integers(180, 256, size=(8, 6), dtype=np.uint8)
    return images, labels


def idx_bytes(array: np.ndarray) -> bytes:
    magic = 0x0800 | array.ndim
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape) + array.astype(np.uint8).tobytes()


def write_split(folder: Path, names: tuple[str, str], images: np.ndarray, labels: np.ndarray, gz: bool = False) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in zip(names, (images, labels)):
        payload = idx_bytes(array)
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(payload))
        else:
            (folder / name).write_bytes(payload)


def write_tiny_mnist(folder: Path, train_count: int = 512, test_count: int = 200, gz: bool = False,
                     wrong_test_labels: int = 0) -> Path:
    """Tiny MNIST-format files; `wrong_test_labels` mislabels that many test digits so accuracy stays below 100 %."""
    write_split(folder / "MNIST" / "raw", TRAIN_NAMES, *synthetic_digits(train_count, seed=1), gz=gz)
    test_images, test_labels = synthetic_digits(test_count, seed=2)
    test_labels[:wrong_test_labels] = (test_labels[:wrong_test_labels] + 1) % 10
    write_split(folder / "MNIST" / "raw", TEST_NAMES, test_images, test_labels, gz=gz)
    return folder
