"""`mnist_conv.pt`: the saved model, written atomically and read without running any code from it.

The file is an ordinary `torch.save` zip holding only plain values and tensors:
format, format_version, architecture, model_state, epoch, accuracy, lr, hyperparameters,
torch_version and saved_at. It is read with `torch.load(weights_only=True)`, after size checks
that refuse huge files and zip bombs. Then every field is checked: the metadata for its type and
range, the declared architecture against the networks this program builds (its shape within
core.shape's bounds, before any network is built), the weights for their names, layout, type and
finiteness and their shapes against the declared shape's (still before anything is built), and the
network's outputs on a few probe images. A file without a declared shape is of the seed's shape.
Whatever is wrong, the caller gets a CheckpointError saying what.
"""

from __future__ import annotations

import copy
import datetime as _dt
import errno
import math
import os
import re
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .atomic import atomic_write, remove_abandoned_partials
from .calibration import check_temperature
from .config import RULES
from .errors import CheckpointError, ConfigError, shown
from .model import ConvNet, build_model
from .paths import make_folder
from .shape import SEED_SHAPE, NetworkShape, shape_from_dict

FORMAT = "mnistconv-checkpoint"
FORMAT_VERSION = 1
MAX_BYTES = 64 * 1024 * 1024  # ours are about 70 kB
# What every network this program builds has; a checkpoint may declare these fields, but only with
# these values. Its "shape" (core.shape) may be any within bounds; "input" is one of INPUTS.
ARCHITECTURE = {"image_size": [28, 28], "in_channels": 1, "num_classes": 10}
VARYING = ("input", "shape")
# What the network does to its input before the first block (core.model): nothing, or deskew it.
INPUTS = ("raw", "deskewed")
FLOAT_TYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
PLAIN_TYPES = (int, float, str, bool, type(None))


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
    temperature: float = 1.0  # the logits are divided by it before the softmax (core.calibration)
    shape: NetworkShape = SEED_SHAPE

    @property
    def deskews(self) -> bool:
        return self.architecture.get("input") == "deskewed"

    def build_model(self, device: torch.device | str = "cpu") -> ConvNet:
        model = our_network(deskew=self.deskews, shape=self.shape)  # load_checkpoint has checked the weights against it
        model.load_state_dict(self.model_state)
        return model.to(device).eval()


def save_checkpoint(path: Path, model: ConvNet, *, epoch: int, accuracy: float, lr: float, hyperparameters: dict,
                    temperature: float = 1.0) -> Path:
    """Write the checkpoint to a new temporary file beside its final name, fsync it, then rename it
    over the old one (core.atomic); temporaries of saves killed mid-write are deleted first."""
    path = Path(path)
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "architecture": {
            "image_size": list(model.image_size),
            "in_channels": model.in_channels,
            "num_classes": model.num_classes,
            "input": "deskewed" if getattr(model, "deskew", False) else "raw",
            "shape": getattr(model, "shape", SEED_SHAPE).to_dict(),
        },
        "model_state": {k: v.detach().to("cpu").clone() for k, v in model.state_dict().items()},
        "epoch": int(epoch),
        "accuracy": float(accuracy),
        "lr": float(lr),
        "temperature": float(temperature),
        "hyperparameters": {k: v for k, v in hyperparameters.items() if type(v) in PLAIN_TYPES},
        "torch_version": str(torch.__version__),
        "saved_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    try:
        make_folder(path.parent)
        remove_abandoned_partials(path)
        with atomic_write(path) as sink:
            torch.save(payload, sink)
    except (OSError, RuntimeError) as exc:
        raise CheckpointError(f"Could not save {path}: {describe_os_error(exc)}") from exc
    return path


def describe_os_error(exc: BaseException) -> str:
    """An OSError in a person's words: 'the disk is full', 'the folder is not writable', …"""
    code = getattr(exc, "errno", None)
    if code == errno.ENOSPC or "No space left" in str(exc):
        return "the disk is full"
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "the folder is not writable"
    return getattr(exc, "strerror", None) or str(exc)


def safe_torch_load(path: Path) -> object:
    """What a `torch.save` file holds, read so that nothing in it can run: size checks first (no huge
    file, no zip bomb), then `torch.load(weights_only=True)`; a CheckpointError says what is wrong."""
    _check_file(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - foreign bytes can fail in many ways; all mean "not ours"
        raise CheckpointError(f"{path} is not a loadable checkpoint: {_load_failure_reason(exc)}") from exc


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read and check a checkpoint; any problem is a CheckpointError saying what is wrong."""
    path = Path(path)
    payload = safe_torch_load(path)
    try:
        return _checked(path, payload)
    except CheckpointError:
        raise
    except Exception as exc:  # noqa: BLE001 - a last net: whatever a file holds, callers get a CheckpointError
        detail = " ".join(str(exc).split())[:160]
        raise CheckpointError(f"{path} is not a usable mnistconv checkpoint ({type(exc).__name__}: {detail})") from exc


def _checked(path: Path, payload: object) -> Checkpoint:
    """The checkpoint in `payload`, every field checked, the architecture before anything is built."""
    if not isinstance(payload, dict) or not isinstance(payload.get("format"), str) or payload["format"] != FORMAT:
        raise CheckpointError(f"{path} is not an mnistconv checkpoint")
    _check_format_version(path, payload.get("format_version"))
    architecture = payload.get("architecture")
    state = payload.get("model_state")
    if not isinstance(architecture, dict) or not isinstance(state, dict):
        raise CheckpointError(f"{path} is missing its architecture or weights")
    metadata = dict(
        epoch=_epoch(path, payload.get("epoch")),
        accuracy=_accuracy(path, payload.get("accuracy")),
        lr=_lr(path, payload.get("lr")),
        hyperparameters=_hyperparameters(path, payload.get("hyperparameters")),
        saved_at=_saved_at(path, payload.get("saved_at")),
        temperature=_temperature(path, payload.get("temperature", 1.0)),  # absent in files from before calibration
    )
    shape = _check_architecture(path, architecture)
    state = check_model_state(path, state, shape)
    declared = {**copy.deepcopy(ARCHITECTURE), "input": architecture.get("input", "raw"), "shape": shape.to_dict()}
    return Checkpoint(path=path, model_state=state, architecture=declared, shape=shape, **metadata)


def _check_file(path: Path) -> None:
    try:
        _check_file_size(path)
    except OSError as exc:  # a folder on the way that cannot be looked into, and the like
        raise CheckpointError(f"{path} cannot be read ({exc.strerror or exc})") from exc


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


# -- the metadata: plain values of the right type and range ------------------------------------

def _finite(value: object) -> bool:
    """A plain int or float (not a bool, not a tensor) that a float can hold."""
    if type(value) is float:
        return math.isfinite(value)
    return type(value) is int and abs(value) <= sys.float_info.max


def _check_format_version(path: Path, version: object) -> None:
    if type(version) is int and version > FORMAT_VERSION:
        raise CheckpointError(f"{path} has checkpoint format {shown(version)}; "
                              f"this version of mnistconv reads up to {FORMAT_VERSION}")
    if type(version) is not int or version < 1:
        raise CheckpointError(f"{path}: format_version must be a whole number from 1 to {FORMAT_VERSION}, "
                              f"not {shown(version)}")


def _temperature(path: Path, value: object) -> float:
    try:
        return check_temperature(value)
    except ValueError as exc:
        raise CheckpointError(f"{path}: {exc}") from None


def _epoch(path: Path, value: object) -> int:
    if value is None:
        return 0
    most = int(RULES["epochs"].highest)  # no run trains longer
    if type(value) is not int or not 0 <= value <= most:
        raise CheckpointError(f"{path}: epoch must be a whole number from 0 to {most}, not {shown(value)}")
    return value


def _accuracy(path: Path, value: object) -> float:
    if value is None:
        return math.nan  # unknown
    if not _finite(value) or not 0 <= value <= 1:
        raise CheckpointError(f"{path}: accuracy must be a fraction from 0 to 1, not {shown(value)}")
    return float(value)


def _lr(path: Path, value: object) -> float | None:
    if value is None:
        return None
    if not _finite(value) or value <= 0:
        raise CheckpointError(f"{path}: lr must be a positive number, not {shown(value)}")
    return float(value)


def _hyperparameters(path: Path, value: object) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CheckpointError(f"{path}: hyperparameters must be a table of names and values, not {shown(value)}")
    for name, item in value.items():
        if type(name) is not str:
            raise CheckpointError(f"{path}: hyperparameter names must be text, not {shown(name)}")
        if type(item) not in PLAIN_TYPES:
            raise CheckpointError(
                f"{path}: hyperparameter {name!r} must be a number, text, True/False or None, not {shown(item)}")
    return dict(value)


def _saved_at(path: Path, value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise CheckpointError(f"{path}: saved_at must be text (a date), not {shown(value)}")
    return value


# -- the network: this program's architecture, its weights, and outputs that are numbers ----------

def _same_plain(value: object, expected: object) -> bool:
    """Equal, and of plain types: True is not 1, a tensor is not a list (a tuple may stand for one)."""
    if isinstance(expected, list):
        return (isinstance(value, (list, tuple)) and len(value) == len(expected)
                and all(_same_plain(v, e) for v, e in zip(value, expected)))
    return type(value) is type(expected) and value == expected


def _check_architecture(path: Path, architecture: dict) -> NetworkShape:
    """Each declared field must be what this program builds (a field may be absent), and the declared
    shape within bounds; the shape is returned. Checked before any network is built: a declared
    8000×8000 image or a hidden layer of a billion units would otherwise allocate gigabytes first."""
    unknown = sorted(_one_line(name) for name in architecture if name not in ARCHITECTURE and name not in VARYING)
    if unknown:
        raise CheckpointError(f"{path} describes a network with {', '.join(unknown)}, which mnistconv's does not have")
    if "input" in architecture and (type(architecture["input"]) is not str or architecture["input"] not in INPUTS):
        raise CheckpointError(f"{path} declares its network's input as {shown(architecture['input'])}; "
                              f"mnistconv's networks take theirs {' or '.join(INPUTS)}")
    for name, expected in ARCHITECTURE.items():
        if name in architecture and not _same_plain(architecture[name], expected):
            raise CheckpointError(f"{path} is a model of another architecture "
                                  f"({name} {shown(architecture[name])}; mnistconv's network has {expected})")
    return declared_shape(path, architecture.get("shape", SEED_SHAPE.to_dict()))


def declared_shape(path: Path, values: object) -> NetworkShape:
    """The network shape a file declares, checked against core.shape's bounds (CheckpointError)."""
    try:
        return shape_from_dict(values)
    except ConfigError as exc:
        raise CheckpointError(f"{path} declares a network mnistconv does not build: {exc}") from None


def our_network(deskew: bool = False, shape: NetworkShape = SEED_SHAPE) -> ConvNet:
    return build_model(image_size=tuple(ARCHITECTURE["image_size"]), in_channels=ARCHITECTURE["in_channels"],
                       num_classes=ARCHITECTURE["num_classes"], deskew=deskew, shape=shape)


def weight_shapes(shape: NetworkShape = SEED_SHAPE) -> dict[str, tuple[int, ...]]:
    """Name → shape of each weight of a network of `shape`, worked out without building one."""
    return shape.weight_shapes()


def _one_line(name: object) -> str:
    """A name from the file, escaped to one line of printable text for a message."""
    return str(name).encode("unicode_escape").decode("ascii")


def check_model_state(path: Path, state: dict, shape: NetworkShape = SEED_SHAPE) -> dict:
    """Weights of a network of `shape`, dense, finite, of the right shapes, whose outputs are numbers;
    returned as a plain dict (no `_metadata` of the file's own reaches load_state_dict). The network
    is built (to run it) only after every tensor's shape has been found to be the declared one's."""
    state = dict(state)
    _check_weights(path, state, shape)
    _check_outputs(path, state, shape)
    return state


def _check_weights(path: Path, state: dict, shape: NetworkShape) -> None:
    expected = weight_shapes(shape)
    missing = [name for name in expected if name not in state]
    unexpected = sorted(_one_line(str(name)) for name in state if name not in expected)
    if missing or unexpected:
        parts = ([f"no {', '.join(missing[:4])}"] if missing else []) + (
            [f"unexpected {', '.join(unexpected[:4])}"] if unexpected else [])
        raise CheckpointError(f"{path} holds weights of another architecture ({'; '.join(parts)})")
    for name, shape in expected.items():
        _check_tensor(path, name, state[name], shape)


def _check_tensor(path: Path, name: str, value: object, shape: tuple[int, ...]) -> None:
    """A dense floating-point CPU tensor of `shape` whose values a float32 network can hold."""
    if not isinstance(value, torch.Tensor):
        raise CheckpointError(f"{path}: {name} is a {type(value).__name__}, not a tensor of weights")
    kind = _unusual_layout(value)
    if kind:
        raise CheckpointError(f"{path} stores {name} as a {kind} tensor; mnistconv reads dense ones")
    if value.device.type != "cpu":
        raise CheckpointError(f"{path} has no data for {name} (a tensor on the {value.device.type} device)")
    if value.dtype not in FLOAT_TYPES:
        raise CheckpointError(f"{path} has {_number_kind(value.dtype)} as weights in {name} ({value.dtype}); "
                              "mnistconv reads float16, bfloat16, float32 or float64")
    if tuple(value.shape) != shape:
        raise CheckpointError(f"{path} holds weights of another architecture ({name}: {tuple(value.shape)}, expected {shape})")
    if not bool(torch.isfinite(value).all()):
        raise CheckpointError(f"{path} has NaN or infinite weights in {name}")
    if not bool(torch.isfinite(value.float()).all()):
        raise CheckpointError(f"{path} has weights in {name} too large for float32 (up to {float(value.abs().max()):.3g})")


def _unusual_layout(tensor: torch.Tensor) -> str:
    if tensor.is_nested:
        return "nested"
    if tensor.is_quantized:
        return "quantized"
    if tensor.layout != torch.strided:
        return "sparse" if "sparse" in str(tensor.layout) else str(tensor.layout)
    return ""


def _number_kind(dtype: torch.dtype) -> str:
    if dtype.is_complex:
        return "complex numbers"
    if dtype == torch.bool:
        return "true/false values"
    return "floats of an unusual type" if dtype.is_floating_point else "integers"


def _probe_images() -> tuple[tuple[str, torch.Tensor], ...]:
    noise = torch.rand((1, 1, 28, 28), generator=torch.Generator().manual_seed(0))
    return (("a blank image", torch.zeros(1, 1, 28, 28)), ("an all-ink image", torch.ones(1, 1, 28, 28)),
            ("a noise image", noise))


def _check_outputs(path: Path, state: dict, shape: NetworkShape) -> None:
    """Finite weights can still be so large (1e38) that the network overflows and reads every
    drawing as NaN: run it on a few probe images and refuse it if its outputs are not numbers."""
    model = our_network(shape=shape)
    model.load_state_dict(state)
    model.eval()
    with torch.inference_mode():
        for what, image in _probe_images():
            if not bool(torch.isfinite(model(image)).all()):
                name, largest = max(((n, float(t.abs().max())) for n, t in state.items()), key=lambda item: item[1])
                raise CheckpointError(f"{path} has weights so large that the network overflows (up to {largest:.3g} in {name}): "
                                      f"its outputs for {what} are not finite numbers")


def load_model(path: str | os.PathLike, device: torch.device | str = "cpu") -> tuple[ConvNet, Checkpoint]:
    checkpoint = load_checkpoint(path)
    return checkpoint.build_model(device), checkpoint


def accuracy_text(checkpoint: Checkpoint) -> str:
    return "unknown" if math.isnan(checkpoint.accuracy) else f"{checkpoint.accuracy:.2%}"
