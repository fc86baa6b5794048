"""Banks of added digits: made once for their key, then read from the cache; a damaged cache is made again."""

import numpy as np

from mnistconv.core.banks import cached_bank


def maker(count, calls):
    def make():
        calls.append(count)
        rng = np.random.default_rng(count)
        return rng.integers(0, 256, (count, 28, 28), dtype=np.uint8), (np.arange(count) % 10).astype(np.uint8)
    return make


def test_a_bank_is_made_once_then_read_back_the_same(tmp_path):
    calls = []
    first = cached_bank("test", {"count": 30, "seed": 1}, maker(30, calls), tmp_path)
    second = cached_bank("test", {"count": 30, "seed": 1}, maker(30, calls), tmp_path)
    assert calls == [30]
    assert np.array_equal(first[0], second[0]) and np.array_equal(first[1], second[1])
    cached_bank("test", {"count": 30, "seed": 2}, maker(30, calls), tmp_path)  # another key: another bank
    assert calls == [30, 30] and len(list(tmp_path.glob("test-*.npz"))) == 2


def test_a_damaged_or_foreign_cache_file_is_made_again(tmp_path):
    calls = []
    cached_bank("test", {"count": 20}, maker(20, calls), tmp_path)
    (path,) = tmp_path.glob("test-*.npz")
    for damage in (b"not a zip", path.read_bytes()[: len(path.read_bytes()) // 2]):
        path.write_bytes(damage)
        images, labels = cached_bank("test", {"count": 20}, maker(20, calls), tmp_path)
        assert images.shape == (20, 28, 28) and labels.max() <= 9
    np.savez(path, images=np.zeros((20, 28, 28), np.float32), labels=np.zeros(20, np.uint8))  # floats, not bytes
    cached_bank("test", {"count": 20}, maker(20, calls), tmp_path)
    np.savez(path, images=np.zeros((10**5, 28, 28), np.uint8), labels=np.zeros(10**5, np.uint8))  # far more than 20
    cached_bank("test", {"count": 20}, maker(20, calls), tmp_path)
    assert calls == [20] * 5


def test_a_folder_that_cannot_be_written_costs_only_the_time(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    calls = []
    images, _ = cached_bank("test", {"count": 5}, maker(5, calls), blocker / "banks")
    assert images.shape == (5, 28, 28) and calls == [5]
