"""Checkpoints: round trip, atomic writes, and foreign files that must be refused without running code."""

import os
import pickle
import zipfile

import pytest
import torch

from mnistconv.core import checkpoint
from mnistconv.core.errors import CheckpointError
from mnistconv.core.model import build_model


def save(path, model=None, **extra):
    return checkpoint.save_checkpoint(
        path, model or build_model(), epoch=3, accuracy=0.9876, lr=3e-4,
        hyperparameters={"lr": 3e-3, "batch_size": 128, "seed": None, "ignored": [1, 2]}, **extra,
    )


def test_round_trip_keeps_weights_and_metadata(tmp_path):
    model = build_model()
    path = save(tmp_path / "mnist_conv.pt", model)
    loaded, saved = checkpoint.load_model(path)
    for name, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], value)
    assert (saved.epoch, saved.accuracy, saved.lr) == (3, 0.9876, 3e-4)
    assert saved.hyperparameters == {"lr": 3e-3, "batch_size": 128, "seed": None}
    assert not loaded.training


def test_save_replaces_the_previous_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "mnist_conv.pt"
    save(path)
    first = path.read_bytes()
    save(path)
    assert path.read_bytes() != first
    assert os.listdir(tmp_path) == ["mnist_conv.pt"]


def test_failed_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = save(tmp_path / "mnist_conv.pt")
    before = path.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoint.torch, "save", disk_full)
    with pytest.raises(CheckpointError, match="the disk is full"):
        save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["mnist_conv.pt"]


def test_other_architecture_is_refused(tmp_path):
    path = tmp_path / "other.pt"
    payload = torch.load(save(tmp_path / "mnist_conv.pt"), weights_only=True)
    payload["model_state"]["fc.weight"] = torch.zeros(10, 512)
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="another architecture"):
        checkpoint.load_checkpoint(path)


def test_plain_state_dict_of_another_model_is_refused(tmp_path):
    path = tmp_path / "mnist_conv.pt"
    torch.save(torch.nn.Linear(784, 10).state_dict(), path)
    with pytest.raises(CheckpointError, match="not an mnistconv checkpoint"):
        checkpoint.load_checkpoint(path)


def test_truncated_file_is_refused(tmp_path):
    path = save(tmp_path / "mnist_conv.pt")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError):
        checkpoint.load_checkpoint(path)


def test_random_bytes_are_refused(tmp_path):
    path = tmp_path / "mnist_conv.pt"
    path.write_bytes(os.urandom(4096))
    with pytest.raises(CheckpointError, match="not a loadable checkpoint"):
        checkpoint.load_checkpoint(path)


class RunsCode:
    """Unpickling this calls os.system: a checkpoint that would run a command."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("container", ["torch-zip", "raw-pickle"])
def test_pickle_carrying_code_runs_nothing(tmp_path, container):
    marker = tmp_path / "code-ran"
    path = tmp_path / "mnist_conv.pt"
    if container == "torch-zip":
        torch.save({"format": checkpoint.FORMAT, "model_state": RunsCode(marker)}, path)
    else:
        path.write_bytes(pickle.dumps(RunsCode(marker)))
    with pytest.raises(CheckpointError, match="could run code|not a loadable") as info:
        checkpoint.load_checkpoint(path)
    assert not marker.exists()
    if container == "torch-zip":
        assert "os.system" in str(info.value) or "posix.system" in str(info.value)


def test_empty_file_and_folder_and_missing(tmp_path):
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(CheckpointError, match="is empty"):
        checkpoint.load_checkpoint(tmp_path / "empty.pt")
    (tmp_path / "folder.pt").mkdir()
    with pytest.raises(CheckpointError, match="not a file"):
        checkpoint.load_checkpoint(tmp_path / "folder.pt")
    with pytest.raises(CheckpointError, match="does not exist"):
        checkpoint.load_checkpoint(tmp_path / "absent.pt")


def test_nan_weights_are_refused(tmp_path):
    model = build_model()
    with torch.no_grad():
        model.conv1.weight[0, 0, 0, 0] = float("nan")
    path = save(tmp_path / "mnist_conv.pt", model)
    with pytest.raises(CheckpointError, match="NaN"):
        checkpoint.load_checkpoint(path)


def test_zip_bomb_is_refused_before_unpacking(tmp_path):
    path = tmp_path / "mnist_conv.pt"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("archive/data.pkl", "w", force_zip64=True) as member:
            chunk = bytes(1 << 20)
            for _ in range(100):
                member.write(chunk)
    assert path.stat().st_size < 1 << 20
    with pytest.raises(CheckpointError, match="unpack to"):
        checkpoint.load_checkpoint(path)


def test_huge_file_is_refused(tmp_path):
    path = tmp_path / "mnist_conv.pt"
    with open(path, "wb") as f:
        f.truncate(checkpoint.MAX_BYTES + 1)
    with pytest.raises(CheckpointError, match="MB"):
        checkpoint.load_checkpoint(path)


def test_newer_format_version_is_refused(tmp_path):
    path = save(tmp_path / "mnist_conv.pt")
    payload = torch.load(path, weights_only=True)
    payload["format_version"] = checkpoint.FORMAT_VERSION + 1
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="format"):
        checkpoint.load_checkpoint(path)


@pytest.mark.skipif(os.name != "posix", reason="pids are checked with os.kill(pid, 0)")
def test_a_save_deletes_partial_files_of_dead_processes_only(tmp_path):
    import subprocess
    import sys

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    abandoned = tmp_path / f".mnist_conv.pt.{gone.pid}.partial"
    in_progress = tmp_path / f".mnist_conv.pt.{os.getppid()}.partial"  # a process that is running
    unrelated = tmp_path / ".other.pt.123.partial"
    for file in (abandoned, in_progress, unrelated):
        file.write_bytes(b"half a checkpoint")
    save(tmp_path / "mnist_conv.pt")
    assert not abandoned.exists()
    assert in_progress.exists() and unrelated.exists()


def test_a_save_syncs_the_file_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    """What a power cut leaves cannot be tried in a test; the calls that make the save survive one can:
    the new bytes are synced before the rename makes them the checkpoint, and the rename is synced."""
    calls = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        calls.append(("fsync", os.fstat(fd).st_ino))
        real_fsync(fd)

    def replace(source, target):
        calls.append(("rename onto", os.path.basename(target)))
        real_replace(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    path = save(tmp_path / "mnist_conv.pt")
    assert calls == [("fsync", path.stat().st_ino), ("rename onto", "mnist_conv.pt"), ("fsync", tmp_path.stat().st_ino)]
