"""`mnist_conv.pt`: the saved model, written atomically and read without running any code from it.

The file is an ordinary `torch.save` zip holding only plain values and tensors:
format, format_version, architecture, model_state, epoch, accuracy, lr, hyperparameters,
torch_version and saved_at. It is read with `torch.load(weights_only=True)`, after size checks
that refuse huge files and zip bombs, and its tensors are checked against the architecture.
"""

from __future__ import annotations

import datetime as _dt
import errno
import math
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .errors import CheckpointError
from .model import ConvNet, build_model

FORMAT = "mnistconv-checkpoint"
FORMAT_VERSION = 1
MAX_BYTES = 64 * 1024 * 1024  # ours are about 70 kB


@dataclass(frozen=True)
class Checkpoint:
    path: Path
    model_state: dict = field(repr=False)
    architecture: dict
    epoch: int
    accuracy: float
    lr: float | None
    hyperparameters: dict = field(repr=False)
    saved_at: str = ""

    def build_model(self, device: torch.device | str = "cpu") -> ConvNet:
        model = build_model(**_model_kwargs(self.architecture))
        model.load_state_dict(self.model_state)
        return model.to(device).eval()


def _model_kwargs(architecture: dict) -> dict:
    return {
        "image_size": tuple(architecture.get("image_size", (28, 28))),
        "in_channels": int(architecture.get("in_channels", 1)),
        "num_classes": int(architecture.get("num_classes", 10)),
    }


def save_checkpoint(path: Path, model: ConvNet, *, epoch: int, accuracy: float, lr: float, hyperparameters: dict) -> Path:
    """Write the checkpoint beside its final name, fsync it, then rename it over the old one."""
    path = Path(path)
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "architecture": {
            "image_size": list(model.image_size),
            "in_channels": model.in_channels,
            "num_classes": model.num_classes,
        },
        "model_state": {k: v.detach().to("cpu").clone() for k, v in model.state_dict().items()},
        "epoch": int(epoch),
        "accuracy": float(accuracy),
        "lr": float(lr),
        "hyperparameters": {k: v for k, v in hyperparameters.items() if isinstance(v, (int, float, str, bool, type(None)))},
        "torch_version": str(torch.__version__),
        "saved_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    temporary = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_abandoned_partials(path)
        with open(temporary, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
        _fsync_folder(path.parent)
    except (OSError, RuntimeError) as exc:
        try:
            temporary.unlink(missing_ok=True)
        except OSError:
            pass
        raise CheckpointError(f"Could not save {path}: {_describe_os_error(exc)}") from exc
    return path


def _remove_abandoned_partials(path: Path) -> None:
    """Delete the temporary files of saves whose process was killed mid-write (POSIX: a pid that
    no longer runs). A live process's file, or one whose pid was reused, is left alone."""
    if os.name != "posix":
        return  # os.kill(pid, 0) would be a Ctrl-C event on Windows
    prefix, suffix = f".{path.name}.", ".partial"
    for partial in path.parent.glob(f"{prefix}*{suffix}"):
        pid = partial.name[len(prefix) : -len(suffix)]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            partial.unlink(missing_ok=True)
        except OSError:
            pass  # alive, under another user


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX only; Windows cannot open folders)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _describe_os_error(exc: BaseException) -> str:
    code = getattr(exc, "errno", None)
    if code == errno.ENOSPC or "No space left" in str(exc):
        return "the disk is full"
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "the folder is not writable"
    return getattr(exc, "strerror", None) or str(exc)


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read and check a checkpoint; any problem is a CheckpointError saying what is wrong."""
    path = Path(path)
    _check_file_size(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - foreign bytes can fail in many ways; all mean "not ours"
        raise CheckpointError(f"{path} is not a loadable checkpoint: {_load_failure_reason(exc)}") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an mnistconv checkpoint")
    version = payload.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(f"{path} has checkpoint format {version!r}; this version of mnistconv reads up to {FORMAT_VERSION}")
    architecture = payload.get("architecture")
    state = payload.get("model_state")
    if not isinstance(architecture, dict) or not isinstance(state, dict):
        raise CheckpointError(f"{path} is missing its architecture or weights")
    _check_weights(path, architecture, state)
    accuracy = payload.get("accuracy")
    return Checkpoint(
        path=path,
        model_state=state,
        architecture=architecture,
        epoch=int(payload.get("epoch") or 0),
        accuracy=float(accuracy) if isinstance(accuracy, (int, float)) else float("nan"),
        lr=payload.get("lr") if isinstance(payload.get("lr"), (int, float)) else None,
        hyperparameters=payload.get("hyperparameters") if isinstance(payload.get("hyperparameters"), dict) else {},
        saved_at=str(payload.get("saved_at", "")),
    )


def _check_file_size(path: Path) -> None:
    if not path.exists():
        raise CheckpointError(f"{path} does not exist")
    if not path.is_file():
        raise CheckpointError(f"{path} is not a file")
    size = path.stat().st_size
    if size == 0:
        raise CheckpointError(f"{path} is empty")
    if size > MAX_BYTES:
        raise CheckpointError(f"{path} is {size / 2**20:.0f} MB; an mnistconv checkpoint is well under 1 MB")
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                unpacked = sum(info.file_size for info in archive.infolist())
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise CheckpointError(f"{path} is a damaged archive ({exc})") from exc
        if unpacked > MAX_BYTES:
            raise CheckpointError(f"{path} would unpack to {unpacked / 2**20:.0f} MB; refusing to read it")


def _load_failure_reason(exc: Exception) -> str:
    text = str(exc)
    found = re.search(r"GLOBAL (\S+?)(?: was not an allowed global| whose module)", text)
    if found:
        return f"it holds Python objects ({found.group(1)}) that could run code; nothing was run"
    lines = [line for line in text.strip().splitlines() if line.strip() and "weights_only" not in line.lower()]
    # torch's own words ("Unsupported operand 149", "[Errno 22] Invalid argument", "…failed finding
    # central directory. This is an internal miniz error…") mean little alone: say what they mean.
    detail = (lines[0] if lines else type(exc).__name__).split(". ")[0].strip()[:160]
    return f"it is damaged, cut short or not a PyTorch file ({detail})"


def _check_weights(path: Path, architecture: dict, state: dict) -> None:
    try:
        expected = build_model(**_model_kwargs(architecture)).state_dict()
    except (TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{path} describes an architecture mnistconv cannot build ({exc})") from exc
    if set(state) != set(expected):
        raise CheckpointError(f"{path} holds weights of another architecture (layers {sorted(state)[:6]}…)")
    for name, tensor in expected.items():
        value = state[name]
        if not isinstance(value, torch.Tensor) or value.shape != tensor.shape:
            shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise CheckpointError(
                f"{path} holds weights of another architecture ({name}: {shape}, expected {tuple(tensor.shape)})"
            )
        if not value.is_floating_point() or not bool(torch.isfinite(value).all()):
            raise CheckpointError(f"{path} has NaN or infinite weights in {name}")


def load_model(path: str | os.PathLike, device: torch.device | str = "cpu") -> tuple[ConvNet, Checkpoint]:
    checkpoint = load_checkpoint(path)
    return checkpoint.build_model(device), checkpoint


def accuracy_text(checkpoint: Checkpoint) -> str:
    return "unknown" if math.isnan(checkpoint.accuracy) else f"{checkpoint.accuracy:.2%}"
