"""The MNIST loader on small IDX files written here, good and bad."""

import gzip
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from mnistconv.core import data
from mnistconv.core.errors import DataError

from idx_files import TEST_NAMES, TRAIN_NAMES, idx_bytes, synthetic_digits, write_split, write_tiny_mnist


def test_loads_tensors_in_unit_range(tiny_mnist_dir):
    loaded = data.load_mnist(tiny_mnist_dir, "cpu")
    assert loaded.train_images.shape == (512, 1, 28, 28)
    assert loaded.test_images.shape == (200, 1, 28, 28)
    assert loaded.train_images.dtype == torch.float32
    assert 0.0 <= float(loaded.train_images.min()) and float(loaded.train_images.max()) <= 1.0
    assert loaded.train_labels.dtype == torch.int64
    images, labels = synthetic_digits(512, seed=1)
    assert torch.equal(loaded.train_labels, torch.from_numpy(labels.astype(np.int64)))
    assert torch.allclose(loaded.train_images[:, 0], torch.from_numpy(images).float() / 255)


def test_gz_files_are_unpacked_and_read(tmp_path):
    folder = write_tiny_mnist(tmp_path, gz=True)
    loaded = data.load_mnist(folder)
    assert len(loaded.train_labels) == 512
    assert (folder / "MNIST" / "raw" / TRAIN_NAMES[0]).is_file()


def test_files_directly_in_the_data_folder_are_found(tmp_path):
    write_split(tmp_path, TRAIN_NAMES, *synthetic_digits(20, 1))
    write_split(tmp_path, TEST_NAMES, *synthetic_digits(10, 2))
    assert len(data.load_mnist(tmp_path).test_labels) == 10


def corrupt(folder: Path, name: str, payload: bytes) -> Path:
    path = folder / "MNIST" / "raw" / name
    path.write_bytes(payload)
    return path


def test_bad_magic_names_the_file(tiny_mnist_dir):
    images, _ = synthetic_digits(512, 1)
    path = corrupt(tiny_mnist_dir, TRAIN_NAMES[0], b"\x00\x00\x09\x03" + idx_bytes(images)[4:])
    with pytest.raises(DataError, match="magic number") as info:
        data.load_mnist(tiny_mnist_dir)
    assert str(path) in str(info.value)


def test_truncated_file_names_the_file(tiny_mnist_dir):
    path = tiny_mnist_dir / "MNIST" / "raw" / TEST_NAMES[0]
    path.write_bytes(path.read_bytes()[:-1000])
    with pytest.raises(DataError, match="truncated") as info:
        data.load_mnist(tiny_mnist_dir)
    assert TEST_NAMES[0] in str(info.value)


def test_header_shorter_than_header(tiny_mnist_dir):
    corrupt(tiny_mnist_dir, TEST_NAMES[1], b"\x00\x00")
    with pytest.raises(DataError, match="truncated"):
        data.load_mnist(tiny_mnist_dir)


def test_trailing_bytes_are_refused(tiny_mnist_dir):
    path = tiny_mnist_dir / "MNIST" / "raw" / TRAIN_NAMES[1]
    path.write_bytes(path.read_bytes() + b"\x01\x02")
    with pytest.raises(DataError, match="unexpected bytes"):
        data.load_mnist(tiny_mnist_dir)


def test_wrong_image_size(tiny_mnist_dir):
    corrupt(tiny_mnist_dir, TRAIN_NAMES[0], idx_bytes(np.zeros((512, 32, 32), np.uint8)))
    with pytest.raises(DataError, match="32×32"):
        data.load_mnist(tiny_mnist_dir)


def test_fewer_images_than_labels(tiny_mnist_dir):
    corrupt(tiny_mnist_dir, TRAIN_NAMES[0], idx_bytes(np.zeros((500, 28, 28), np.uint8)))
    with pytest.raises(DataError, match="500 images but .* 512 labels"):
        data.load_mnist(tiny_mnist_dir)


def test_labels_outside_0_to_9(tiny_mnist_dir):
    labels = np.zeros(200, np.uint8)
    labels[7] = 12
    corrupt(tiny_mnist_dir, TEST_NAMES[1], idx_bytes(labels))
    with pytest.raises(DataError, match="labels must be 0–9"):
        data.load_mnist(tiny_mnist_dir)


def test_gzip_that_is_not_gzip(tmp_path):
    folder = write_tiny_mnist(tmp_path, gz=True)
    (folder / "MNIST" / "raw" / f"{TEST_NAMES[0]}.gz").write_bytes(b"this is not gzip at all")
    with pytest.raises(DataError, match="not a readable gzip file"):
        data.load_mnist(folder)
    assert not (folder / "MNIST" / "raw" / f"{TEST_NAMES[0]}.partial").exists()


def test_truncated_gzip(tmp_path):
    folder = write_tiny_mnist(tmp_path, gz=True)
    path = folder / "MNIST" / "raw" / f"{TRAIN_NAMES[0]}.gz"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DataError, match="gzip"):
        data.load_mnist(folder)


def test_missing_files_say_where_to_put_them(tmp_path):
    with pytest.raises(DataError) as info:
        data.load_mnist(tmp_path)
    message = str(info.value)
    assert all(name in message for name in TRAIN_NAMES + TEST_NAMES)
    assert str(tmp_path / "MNIST" / "raw") in message


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tiny_mnist_dir):
    path = tiny_mnist_dir / "MNIST" / "raw" / TRAIN_NAMES[0]
    path.chmod(0)
    with pytest.raises(DataError, match="cannot read"):
        data.load_mnist(tiny_mnist_dir)


def test_full_counts_are_required_after_acquisition(tiny_mnist_dir):
    with pytest.raises(DataError, match="MNIST's train set has 60000"):
        data.check_files(tiny_mnist_dir, require_full=True)
    assert data.check_files(tiny_mnist_dir) == {"train": 512, "test": 200}


def test_gzip_that_unpacks_far_beyond_any_mnist_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "MAX_UNPACKED_BYTES", 1 << 20)  # the real limit is 64 MB
    folder = write_tiny_mnist(tmp_path, gz=True)
    bomb = folder / "MNIST" / "raw" / f"{TRAIN_NAMES[0]}.gz"
    bomb.write_bytes(gzip.compress(bytes(3 << 20)))  # 3 MB of zeros in about 3 KB
    assert bomb.stat().st_size < 10_000
    with pytest.raises(DataError, match="unpacks to more than 1 MB"):
        data.load_mnist(folder)
    assert not list(bomb.parent.glob("*.partial")) and not bomb.with_suffix("").exists()
