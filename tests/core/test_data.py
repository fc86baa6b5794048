"""The MNIST loader on small IDX files written here, good and bad."""

import gzip
import os
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from mnistconv.core import data
from mnistconv.core.errors import DataError

from idx_files import TEST_NAMES, TRAIN_NAMES, idx_bytes, synthetic_digits, write_split, write_tiny_mnist


def test_loads_the_bytes_and_gives_pixels_in_unit_range(tiny_mnist_dir):
    loaded = data.load_mnist(tiny_mnist_dir, "cpu")
    assert loaded.train_images.shape == (512, 1, 28, 28)
    assert loaded.test_images.shape == (200, 1, 28, 28)
    assert loaded.train_images.dtype == torch.uint8  # a quarter of the memory of floats
    assert loaded.train_labels.dtype == torch.int64
    images, labels = synthetic_digits(512, seed=1)
    assert torch.equal(loaded.train_labels, torch.from_numpy(labels.astype(np.int64)))
    assert torch.equal(loaded.train_images[:, 0], torch.from_numpy(images))
    floats = data.pixels(loaded.train_images[:64])
    assert floats.dtype == torch.float32 and 0.0 <= float(floats.min()) and float(floats.max()) <= 1.0
    assert torch.equal(floats[:, 0], torch.from_numpy(images[:64]).float().div_(255.0))  # bit for bit as before


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


# -- only regular files are data; unpacking writes through a fresh temporary ------------------

class Hung(Exception):
    pass


@pytest.fixture
def time_limit():
    """Fail, rather than hang, a test whose call does not return within `seconds` (SIGALRM)."""
    import signal

    def hung(signum, frame):
        raise Hung("still waiting after the time limit: something blocked (a FIFO opened?)")

    previous = signal.signal(signal.SIGALRM, hung)
    yield lambda seconds: signal.alarm(seconds)
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs and SIGALRM")
def test_a_fifo_under_the_old_temporary_name_does_not_hang_the_unpacking(tmp_path, time_limit):
    folder = write_tiny_mnist(tmp_path, gz=True)
    raw = folder / "MNIST" / "raw"
    os.mkfifo(raw / f"{TRAIN_NAMES[0]}.partial")
    time_limit(10)
    loaded = data.load_mnist(folder)
    assert len(loaded.train_labels) == 512
    assert (raw / TRAIN_NAMES[0]).is_file() and not (raw / TRAIN_NAMES[0]).is_symlink()


def test_a_link_under_the_old_temporary_name_is_not_written_through(tmp_path):
    folder = write_tiny_mnist(tmp_path, gz=True)
    raw = folder / "MNIST" / "raw"
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"keep me")
    os.symlink(victim, raw / f"{TEST_NAMES[1]}.partial")
    loaded = data.load_mnist(folder)
    assert victim.read_bytes() == b"keep me"
    assert len(loaded.test_labels) == 200
    assert not (raw / TEST_NAMES[1]).is_symlink()
    assert sorted(p.name for p in raw.iterdir() if p.name.endswith(".partial")) == [f"{TEST_NAMES[1]}.partial"]  # only the trap


def _make_fifo(path: Path, tmp_path: Path) -> str:
    os.mkfifo(path)
    return "a FIFO"


def _link_to_dev_zero(path: Path, tmp_path: Path) -> str:
    os.symlink("/dev/zero", path)
    return "a link to /dev/zero, a character device"


def _link_to_a_fifo(path: Path, tmp_path: Path) -> str:
    os.mkfifo(tmp_path / "elsewhere")
    os.symlink(tmp_path / "elsewhere", path)
    return f"a link to {tmp_path / 'elsewhere'}, a FIFO"


def _make_socket(path: Path, tmp_path: Path) -> str:
    import socket

    listener = socket.socket(socket.AF_UNIX)
    cwd = os.getcwd()
    os.chdir(path.parent)  # a socket's path may be at most ~100 bytes: bind it by its bare name
    try:
        listener.bind(path.name)
    finally:
        os.chdir(cwd)
        listener.close()
    return "a socket"


@pytest.mark.skipif(not hasattr(os, "mkfifo") or not Path("/dev/zero").exists(), reason="needs FIFOs and /dev/zero")
@pytest.mark.parametrize("name", [TRAIN_NAMES[0], f"{TEST_NAMES[1]}.gz"])
@pytest.mark.parametrize("make", [_make_fifo, _link_to_dev_zero, _link_to_a_fifo, _make_socket],
                         ids=["fifo", "link-to-dev-zero", "link-to-fifo", "socket"])
def test_a_special_file_named_like_an_mnist_file_is_refused_by_name(tmp_path, name, make, time_limit, no_network_acquisition):
    from mnistconv.core.acquire import ensure_mnist

    folder = write_tiny_mnist(tmp_path / "data", gz=name.endswith(".gz"))
    path = folder / "MNIST" / "raw" / name
    path.unlink()
    kind = make(path, tmp_path)
    expected = rf"^{re.escape(str(path))} is not a regular file \({re.escape(kind)}\)$"
    time_limit(10)
    for call in (data.load_mnist, data.check_files, data.missing_files, ensure_mnist):
        with pytest.raises(DataError, match=expected):  # not "missing", so not fetched again either
            call(folder)


def test_a_link_to_a_regular_file_is_data_like_any_file(tmp_path):
    folder = write_tiny_mnist(tmp_path / "data")
    raw = folder / "MNIST" / "raw"
    elsewhere = tmp_path / "kept-elsewhere"
    elsewhere.mkdir()
    for name in (TRAIN_NAMES[0], TEST_NAMES[1]):
        (raw / name).rename(elsewhere / name)
        os.symlink(elsewhere / name, raw / name)
    assert data.missing_files(folder) == []
    assert len(data.load_mnist(folder).train_labels) == 512


def test_a_folder_that_cannot_take_the_unpacked_file_is_named(tmp_path, monkeypatch):
    import errno

    from mnistconv.core import atomic

    folder = write_tiny_mnist(tmp_path, gz=True)

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(kwargs.get("dir")))

    monkeypatch.setattr(atomic.tempfile, "mkstemp", read_only)
    with pytest.raises(DataError, match=rf"^{re.escape(str(folder / 'MNIST' / 'raw' / TRAIN_NAMES[0]))}\.gz: "
                                        rf"cannot unpack it to {TRAIN_NAMES[0]} \(Read-only file system\)$"):
        data.load_mnist(folder)


def test_the_loader_reads_what_torchvision_reads(tiny_mnist_dir):
    from torchvision.datasets.mnist import read_image_file, read_label_file

    loaded = data.load_mnist(tiny_mnist_dir, "cpu")
    raw = tiny_mnist_dir / "MNIST" / "raw"
    for split, images, labels in (("train", loaded.train_images, loaded.train_labels),
                                  ("test", loaded.test_images, loaded.test_labels)):
        names = TRAIN_NAMES if split == "train" else TEST_NAMES
        assert torch.equal(data.pixels(images), read_image_file(str(raw / names[0])).unsqueeze(1).float().div_(255.0))
        assert torch.equal(labels, read_label_file(str(raw / names[1])).long())


def test_a_file_that_changes_after_its_check_is_a_data_error(tiny_mnist_dir, monkeypatch):
    path = tiny_mnist_dir / "MNIST" / "raw" / TRAIN_NAMES[0]
    real_check = data.check_idx

    def check_then_truncate(file, kind):
        count = real_check(file, kind)
        if file == path:
            path.write_bytes(path.read_bytes()[:-784])
        return count

    monkeypatch.setattr(data, "check_idx", check_then_truncate)
    with pytest.raises(DataError, match="header promises 512 images") as info:
        data.load_mnist(tiny_mnist_dir)
    assert str(path) in str(info.value)
