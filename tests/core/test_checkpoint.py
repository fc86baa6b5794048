"""Checkpoints: round trip, atomic writes, and foreign files that must be refused without running code."""

import math
import os
import pickle
import re
import zipfile

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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

    # A process that dies in the middle of writing mnist_conv.pt leaves its temporary file behind.
    died_mid_write = (
        "import os, sys\n"
        "from mnistconv.core.atomic import atomic_write\n"
        "with atomic_write(sys.argv[1]) as sink:\n"
        "    sink.write(b'half a checkpoint')\n"
        "    sink.flush()\n"
        "    os._exit(9)\n"
    )
    gone = subprocess.run([sys.executable, "-c", died_mid_write, str(tmp_path / "mnist_conv.pt")], check=False)
    assert gone.returncode == 9
    (abandoned,) = tmp_path.glob(".mnist_conv.pt.*.partial")
    in_progress = tmp_path / f".mnist_conv.pt.{os.getppid()}.a1b2c3.partial"  # a process that is running
    unrelated = tmp_path / f".other.pt.{abandoned.name.split('.')[3]}.x1y2z3.partial"  # the dead pid, another file's
    for file in (in_progress, unrelated):
        file.write_bytes(b"half a checkpoint")
    save(tmp_path / "mnist_conv.pt")
    assert not abandoned.exists()
    assert in_progress.exists() and unrelated.exists()
    assert sorted(os.listdir(tmp_path)) == sorted(["mnist_conv.pt", in_progress.name, unrelated.name])


# -- crafted checkpoints: whatever the file holds, a CheckpointError with the reason -------------

@pytest.fixture(scope="module")
def good_file(tmp_path_factory):
    torch.manual_seed(0)
    return save(tmp_path_factory.mktemp("good") / "mnist_conv.pt")


def _set(key, value):
    def change(payload):
        payload[key] = value
    return change


def _drop(key):
    return lambda payload: payload.pop(key)


def _architecture(**fields):
    """Declare another architecture, with weights shaped to fit it where `weights` say so."""
    weights = fields.pop("weights", {})

    def change(payload):
        payload["architecture"].update(fields)
        for name, shape in weights.items():
            payload["model_state"][name] = torch.zeros(shape)
    return change


def _weight(name, make):
    def change(payload):
        payload["model_state"][name] = make(payload["model_state"][name])
    return change


def _filled(value, dtype=torch.float32):
    return lambda weight: torch.full(weight.shape, value, dtype=dtype)


def _every_weight(value):
    def change(payload):
        payload["model_state"] = {name: torch.full_like(weight, value) for name, weight in payload["model_state"].items()}
    return change


def _nested(weight):
    return torch.nested.nested_tensor([weight[:5].clone(), weight[5:].clone()])


CRAFTED = [
    # The whole thing
    ("payload-list", lambda p: "a list", r"is not an mnistconv checkpoint$"),
    ("format-tensor", _set("format", torch.tensor([1, 2])), r"is not an mnistconv checkpoint$"),
    ("state-list", _set("model_state", [1, 2]), r"is missing its architecture or weights$"),
    # Metadata
    ("epoch-text", _set("epoch", "abc"), r": epoch must be a whole number from 0 to 100000, not 'abc'$"),
    ("epoch-nan", _set("epoch", float("nan")), r": epoch must be a whole number from 0 to 100000, not nan$"),
    ("epoch-inf", _set("epoch", float("inf")), r": epoch must be a whole number from 0 to 100000, not inf$"),
    ("epoch-list", _set("epoch", [1, 2]), r": epoch must be a whole number from 0 to 100000, not \[1, 2\]$"),
    ("epoch-tensor", _set("epoch", torch.tensor(3)), r": epoch must be a whole number from 0 to 100000, not tensor\(3\)$"),
    ("epoch-bool", _set("epoch", True), r": epoch must be a whole number from 0 to 100000, not True$"),
    ("epoch-beyond-any-run", _set("epoch", 100_001), r": epoch must be a whole number from 0 to 100000, not 100001$"),
    ("epoch-negative", _set("epoch", -1), r": epoch must be a whole number from 0 to 100000, not -1$"),
    ("epoch-fraction", _set("epoch", 2.5), r": epoch must be a whole number from 0 to 100000, not 2.5$"),
    ("epoch-long-text", _set("epoch", "x" * 10_000), r": epoch must be a whole number from 0 to 100000, not 'x{30,40}…$"),
    # An int beyond any float (a pickle holds up to about 600 digits) is described by its size
    ("epoch-int-of-601-digits", _set("epoch", 10**600),
     r": epoch must be a whole number from 0 to 100000, not a number of about 601 digits$"),
    ("temperature-int-of-601-digits", _set("temperature", -10**600),
     r": a temperature is a number from 0.05 to 20.0, not a negative number of about 601 digits$"),
    ("shape-int-of-601-digits", _architecture(shape={"channels": [16, 10**600], "kernel": 3, "hidden": 0}),
     r" declares a network mnistconv does not build: block 2's channels must be a whole number from 4 to 64, "
     r"not a number of about 601 digits$"),
    ("accuracy-huge", _set("accuracy", 1e308), r": accuracy must be a fraction from 0 to 1, not 1e\+308$"),
    ("accuracy-negative", _set("accuracy", -5.0), r": accuracy must be a fraction from 0 to 1, not -5.0$"),
    ("accuracy-above-1", _set("accuracy", 1.5), r": accuracy must be a fraction from 0 to 1, not 1.5$"),
    ("accuracy-nan", _set("accuracy", float("nan")), r": accuracy must be a fraction from 0 to 1, not nan$"),
    ("accuracy-text", _set("accuracy", "high"), r": accuracy must be a fraction from 0 to 1, not 'high'$"),
    ("accuracy-bool", _set("accuracy", True), r": accuracy must be a fraction from 0 to 1, not True$"),
    ("accuracy-tensor", _set("accuracy", torch.tensor(0.5)), r": accuracy must be a fraction from 0 to 1, not tensor\(0.5000\)$"),
    ("lr-zero", _set("lr", 0.0), r": lr must be a positive number, not 0.0$"),
    ("lr-negative", _set("lr", -3e-3), r": lr must be a positive number, not -0.003$"),
    ("lr-nan", _set("lr", float("nan")), r": lr must be a positive number, not nan$"),
    ("lr-inf", _set("lr", float("inf")), r": lr must be a positive number, not inf$"),
    ("lr-text", _set("lr", "fast"), r": lr must be a positive number, not 'fast'$"),
    ("lr-bool", _set("lr", True), r": lr must be a positive number, not True$"),
    ("lr-int-beyond-float", _set("lr", 10**400), r": lr must be a positive number, not a number of about 401 digits$"),
    ("format_version-bool", _set("format_version", True), r": format_version must be a whole number from 1 to 1, not True$"),
    ("format_version-negative", _set("format_version", -7), r": format_version must be a whole number from 1 to 1, not -7$"),
    ("format_version-zero", _set("format_version", 0), r": format_version must be a whole number from 1 to 1, not 0$"),
    ("format_version-text", _set("format_version", "1"), r": format_version must be a whole number from 1 to 1, not '1'$"),
    ("format_version-float", _set("format_version", 1.0), r": format_version must be a whole number from 1 to 1, not 1.0$"),
    ("format_version-missing", _drop("format_version"), r": format_version must be a whole number from 1 to 1, not None$"),
    ("format_version-newer", _set("format_version", 2), r" has checkpoint format 2; this version of mnistconv reads up to 1$"),
    ("format_version-int-of-601-digits", _set("format_version", 10**600),
     r" has checkpoint format a number of about 601 digits; this version of mnistconv reads up to 1$"),
    ("hyperparameters-list", _set("hyperparameters", [1]), r": hyperparameters must be a table of names and values, not \[1\]$"),
    ("hyperparameters-tensor", _set("hyperparameters", {"lr": torch.zeros(2)}),
     r": hyperparameter 'lr' must be a number, text, True/False or None, not tensor\(\[0\., 0\.\]\)$"),
    ("hyperparameters-list-value", _set("hyperparameters", {"lrs": [1e-3]}),
     r": hyperparameter 'lrs' must be a number, text, True/False or None, not \[0.001\]$"),
    ("hyperparameters-number-name", _set("hyperparameters", {1: 2}), r": hyperparameter names must be text, not 1$"),
    ("saved_at-number", _set("saved_at", 5), r": saved_at must be text \(a date\), not 5$"),
    # Another architecture declared, with weights shaped to fit it
    ("in_channels-3", _architecture(in_channels=3, weights={"conv1.weight": (16, 3, 3, 3)}),
     r" is a model of another architecture \(in_channels 3; mnistconv's network has 1\)$"),
    ("in_channels-True", _architecture(in_channels=True),
     r" is a model of another architecture \(in_channels True; mnistconv's network has 1\)$"),
    ("image_size-32", _architecture(image_size=[32, 32], weights={"fc.weight": (10, 512)}),
     r" is a model of another architecture \(image_size \[32, 32\]; mnistconv's network has \[28, 28\]\)$"),
    ("image_size-4", _architecture(image_size=[4, 4], weights={"fc.weight": (10, 0)}),
     r" is a model of another architecture \(image_size \[4, 4\]; mnistconv's network has \[28, 28\]\)$"),
    ("image_size-8000", _architecture(image_size=[8000, 8000]),
     r" is a model of another architecture \(image_size \[8000, 8000\]; mnistconv's network has \[28, 28\]\)$"),
    ("image_size-tensor", _architecture(image_size=torch.tensor([28, 28])),
     r" is a model of another architecture \(image_size tensor\(\[28, 28\]\); mnistconv's network has \[28, 28\]\)$"),
    ("num_classes-5", _architecture(num_classes=5, weights={"fc.weight": (5, 288), "fc.bias": (5,)}),
     r" is a model of another architecture \(num_classes 5; mnistconv's network has 10\)$"),
    ("architecture-unknown-field", _architecture(dropout=0.5),
     r" describes a network with dropout, which mnistconv's does not have$"),
    ("input-unknown", _architecture(input="whitened"),
     r" declares its network's input as 'whitened'; mnistconv's networks take theirs raw or deskewed$"),
    ("input-not-text", _architecture(input=True), r" declares its network's input as True; "),
    # Weights
    ("weights-missing-layer", lambda p: p["model_state"].pop("conv3.bias"),
     r" holds weights of another architecture \(no conv3.bias\)$"),
    ("weights-extra-layer", lambda p: p["model_state"].update({"fc2.weight": torch.zeros(3)}),
     r" holds weights of another architecture \(unexpected fc2.weight\)$"),
    ("weights-number-name", lambda p: p["model_state"].update({5: torch.zeros(3)}),
     r" holds weights of another architecture \(unexpected 5\)$"),
    ("weights-list", _weight("fc.bias", lambda w: w.tolist()), r": fc.bias is a list, not a tensor of weights$"),
    ("weights-shape", _weight("fc.weight", lambda w: torch.zeros(10, 512)),
     r" holds weights of another architecture \(fc.weight: \(10, 512\), expected \(10, 288\)\)$"),
    ("weights-sparse-coo", _weight("fc.weight", lambda w: w.to_sparse()),
     r" stores fc.weight as a sparse tensor; mnistconv reads dense ones$"),
    ("weights-sparse-csr", _weight("fc.weight", lambda w: w.to_sparse_csr()),
     r" stores fc.weight as a sparse tensor; mnistconv reads dense ones$"),
    ("weights-quantized", _weight("fc.weight", lambda w: torch.quantize_per_tensor(w, 0.01, 0, torch.qint8)),
     r" stores fc.weight as a quantized tensor; mnistconv reads dense ones$"),
    ("weights-nested", _weight("fc.weight", _nested), r" stores fc.weight as a nested tensor; mnistconv reads dense ones$"),
    ("weights-meta", _weight("fc.weight", lambda w: torch.empty(w.shape, device="meta")),
     r" has no data for fc.weight \(a tensor on the meta device\)$"),
    ("weights-int", _weight("conv1.weight", lambda w: w.to(torch.int64)),
     r" has integers as weights in conv1.weight \(torch.int64\); mnistconv reads float16, bfloat16, float32 or float64$"),
    ("weights-bool", _weight("conv1.weight", lambda w: w > 0),
     r" has true/false values as weights in conv1.weight \(torch.bool\);"),
    ("weights-complex", _weight("conv1.weight", lambda w: w.to(torch.complex64)),
     r" has complex numbers as weights in conv1.weight \(torch.complex64\);"),
    ("weights-float8", _weight("conv1.weight", lambda w: w.to(torch.float8_e4m3fn)),
     r" has floats of an unusual type as weights in conv1.weight \(torch.float8_e4m3fn\);"),
    ("weights-nan", _weight("fc.weight", _filled(float("nan"))), r" has NaN or infinite weights in fc.weight$"),
    ("weights-inf", _weight("conv2.bias", _filled(float("-inf"))), r" has NaN or infinite weights in conv2.bias$"),
    ("weights-beyond-float32", _weight("conv2.weight", _filled(1e300, torch.float64)),
     r" has weights in conv2.weight too large for float32 \(up to 1e\+300\)$"),
    ("weights-1e38", _weight("conv1.weight", _filled(1e38)),
     r" has weights so large that the network overflows \(up to 1e\+38 in conv1.weight\): "
     r"its outputs for an all-ink image are not finite numbers$"),
    ("weights-1e30-everywhere", _every_weight(1e30),
     r" has weights so large that the network overflows \(up to 1e\+30 in conv1.weight\): "
     r"its outputs for a blank image are not finite numbers$"),
]


@pytest.mark.filterwarnings("ignore::UserWarning")  # torch's notes on making sparse, quantized and nested tensors
@pytest.mark.parametrize("change, reason", [case[1:] for case in CRAFTED], ids=[case[0] for case in CRAFTED])
def test_a_crafted_checkpoint_is_refused_with_its_reason(tmp_path, good_file, change, reason):
    payload = torch.load(good_file, weights_only=True)
    replaced = change(payload)
    path = tmp_path / "mnist_conv.pt"
    torch.save(replaced if isinstance(replaced, str) else payload, path)
    with pytest.raises(CheckpointError) as info:
        checkpoint.load_checkpoint(path)
    message = str(info.value)
    assert message.startswith(str(path)) and "\n" not in message
    assert re.search(reason, message), message


def test_a_declared_architecture_is_refused_before_anything_is_built(tmp_path, good_file, monkeypatch):
    """image_size [8000, 8000] would make a 1.3 GB network: it must be refused before any is built."""
    from mnistconv.core import model as model_module

    built = []
    real_init = model_module.ConvNet.__init__

    def recording_init(self, image_size=(28, 28), *args, **kwargs):
        built.append(tuple(image_size))
        real_init(self, image_size, *args, **kwargs)

    monkeypatch.setattr(model_module.ConvNet, "__init__", recording_init)
    payload = torch.load(good_file, weights_only=True)
    payload["architecture"]["image_size"] = [8000, 8000]
    torch.save(payload, tmp_path / "mnist_conv.pt")
    with pytest.raises(CheckpointError, match=r"image_size \[8000, 8000\]"):
        checkpoint.load_checkpoint(tmp_path / "mnist_conv.pt")
    assert set(built) <= {(28, 28)}


def test_what_may_be_absent_or_of_another_float_type_loads(tmp_path, good_file):
    payload = torch.load(good_file, weights_only=True)
    payload["architecture"] = {}  # every field absent: this program's network
    for key in ("epoch", "accuracy", "lr", "hyperparameters", "saved_at", "torch_version"):
        payload.pop(key)
    for name, dtype in zip(payload["model_state"], (torch.float16, torch.bfloat16, torch.float64)):
        payload["model_state"][name] = payload["model_state"][name].to(dtype)
    path = tmp_path / "mnist_conv.pt"
    torch.save(payload, path)
    saved = checkpoint.load_checkpoint(path)
    assert (saved.epoch, saved.lr, saved.hyperparameters, saved.saved_at) == (0, None, {}, "")
    assert checkpoint.accuracy_text(saved) == "unknown"
    assert saved.build_model()(torch.zeros(1, 1, 28, 28)).shape == (1, 10)


@pytest.mark.parametrize("accuracy, text", [(0, "0.00%"), (1, "100.00%"), (0.9924, "99.24%")])
def test_accuracy_at_the_ends_of_its_range_loads(tmp_path, good_file, accuracy, text):
    payload = torch.load(good_file, weights_only=True)
    payload["accuracy"] = accuracy
    torch.save(payload, tmp_path / "mnist_conv.pt")
    assert checkpoint.accuracy_text(checkpoint.load_checkpoint(tmp_path / "mnist_conv.pt")) == text


def test_an_unexpected_failure_inside_the_checks_is_still_a_checkpoint_error(tmp_path, good_file, monkeypatch):
    """A last net: whatever slips past the checks reaches callers as a CheckpointError, with its reason."""
    def surprise(*args, **kwargs):
        raise TypeError("unhashable type: 'Surprise'")

    monkeypatch.setattr(checkpoint, "_check_weights", surprise)
    reason = r"mnist_conv.pt is not a usable mnistconv checkpoint \(TypeError: unhashable type: 'Surprise'\)$"
    with pytest.raises(CheckpointError, match=reason):
        checkpoint.load_checkpoint(good_file)


def test_a_checkpoint_path_that_cannot_be_looked_at_is_a_checkpoint_error(tmp_path, good_file, monkeypatch):
    import errno
    from pathlib import Path

    real_stat = Path.stat

    def stat(self, *args, **kwargs):
        if self == good_file:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_stat(self, *args, **kwargs)

    monkeypatch.setattr(Path, "stat", stat)
    with pytest.raises(CheckpointError, match=rf"^{re.escape(str(good_file))} cannot be read \(Permission denied\)$"):
        checkpoint.load_checkpoint(good_file)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_save_never_writes_through_a_link_or_into_a_fifo_left_under_a_temporary_name(tmp_path):
    """Temporary names are new each time (mkstemp): a link or a FIFO someone left under a name a
    save might use is neither followed (overwriting the file it points to) nor opened (hanging)."""
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep me")
    path = tmp_path / "mnist_conv.pt"
    os.symlink(victim, tmp_path / f".mnist_conv.pt.{os.getpid()}.partial")
    os.mkfifo(tmp_path / "mnist_conv.pt.partial")
    save(path)
    assert victim.read_bytes() == b"keep me"
    assert not path.is_symlink() and checkpoint.load_checkpoint(path).epoch == 3


_plain_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)
_tensors = st.builds(
    lambda shape, dtype, fill: torch.full(shape, fill).to(dtype),
    st.lists(st.integers(0, 4), max_size=3).map(tuple),
    st.sampled_from([torch.float32, torch.float16, torch.float64, torch.int64, torch.bool, torch.complex64]),
    st.floats(width=16) | st.sampled_from([0.0, 1.0, 1e38]),
)
_slots = st.sampled_from(["format", "format_version", "epoch", "accuracy", "lr", "hyperparameters", "saved_at",
                          "architecture", "model_state", "architecture.image_size", "architecture.in_channels",
                          "architecture.num_classes", "model_state.fc.bias", "model_state.conv1.weight"])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(slot=_slots, value=_plain_values | _tensors)
def test_any_value_in_any_field_loads_or_is_a_checkpoint_error(tmp_path, good_file, slot, value):
    """Property-based: whatever plain value or tensor stands in a field, loading either succeeds or
    raises CheckpointError; no other exception type reaches the caller."""
    payload = torch.load(good_file, weights_only=True)
    parent, _, key = slot.partition(".")
    if key:
        payload[parent][key] = value
    else:
        payload[parent] = value
    path = tmp_path / "mnist_conv.pt"
    torch.save(payload, path)
    try:
        saved = checkpoint.load_checkpoint(path)
    except CheckpointError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc)
    else:
        assert 0 <= saved.epoch and (math.isnan(saved.accuracy) or 0 <= saved.accuracy <= 1)
        assert saved.build_model()(torch.ones(1, 1, 28, 28)).isfinite().all()


def test_a_save_syncs_the_file_before_the_rename_and_the_folder_after(tmp_path, sync_calls):
    """The new bytes are synced before the rename makes them the checkpoint, and the rename is synced."""
    calls = sync_calls
    path = save(tmp_path / "mnist_conv.pt")
    assert calls == [("fsync", path.stat().st_ino), ("rename onto", "mnist_conv.pt"), ("fsync", tmp_path.stat().st_ino)]


def test_a_deskewing_network_comes_back_deskewing(tmp_path):
    model = build_model(deskew=True)
    path = checkpoint.save_checkpoint(tmp_path / "m.pt", model, epoch=1, accuracy=0.9, lr=1e-3, hyperparameters={})
    saved = checkpoint.load_checkpoint(path)
    assert saved.architecture["input"] == "deskewed" and saved.deskews
    rebuilt = saved.build_model()
    assert rebuilt.deskew
    image = torch.zeros(1, 1, 28, 28)
    for y in range(4, 24):
        image[0, 0, y, 8 + y // 2] = 1.0  # a slanted stroke
    torch.testing.assert_close(rebuilt(image), model.eval()(image))
    plain = checkpoint.load_checkpoint(checkpoint.save_checkpoint(tmp_path / "p.pt", build_model(), epoch=1, accuracy=0.9,
                                                                  lr=1e-3, hyperparameters={}))
    assert plain.architecture["input"] == "raw" and not plain.build_model().deskew
