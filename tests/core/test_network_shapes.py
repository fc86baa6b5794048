"""Reshaping the network: the family's bounds, what a shape costs, and a non-seed shape through every
path that reads a model (train, save, reload, test, read drawings, fit, ONNX, the command line)."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from mnistconv.core import checkpoint, cli, cli_runs, events
from mnistconv.core.config import TrainConfig, validate_config
from mnistconv.core.errors import CheckpointError, ConfigError
from mnistconv.core.model import build_model, parameter_count
from mnistconv.core.predict import Predictor
from mnistconv.core.runstore import RunStore
from mnistconv.core.session import RUN_FOLDER, training_session
from mnistconv.core.shape import SEED_SHAPE, NetworkShape, check_shape, parse_channels, shape_from_dict

from tiny_training import tiny_config

RESHAPED = NetworkShape((8, 16, 16, 24), kernel=5, hidden=32)
EDGES = [NetworkShape((4,), 3, 0), NetworkShape((64,), 5, 256), NetworkShape((64, 64, 64, 64), 5, 256),
         NetworkShape((4, 4, 4, 4), 3, 1), SEED_SHAPE, RESHAPED]


def shape_config(shape: NetworkShape) -> dict:
    return {"channels": shape.channels, "kernel": shape.kernel, "hidden": shape.hidden}


# -- the family and its arithmetic -------------------------------------------------------------------

@pytest.mark.parametrize("shape", EDGES, ids=lambda shape: shape.text())
def test_a_shapes_weights_and_counts_are_known_before_building_and_are_the_networks(shape):
    model = build_model(shape=shape)
    assert {name: tuple(t.shape) for name, t in model.state_dict().items()} == shape.weight_shapes()
    assert list(model.state_dict()) == list(shape.weight_shapes())  # in the network's own order
    assert parameter_count(model) == shape.parameters
    assert model(torch.rand(3, 1, 28, 28)).shape == (3, 10)


def test_the_seed_shape_is_the_seeds_network_bit_for_bit():
    """The same weights, drawn in the same order from the same seed, as the seed's literal layers,
    and the same outputs: the seed recipe computes what it computed before shapes could change."""
    torch.manual_seed(0)
    ours = build_model()
    torch.manual_seed(0)
    layers = [nn.Conv2d(1, 16, 3, padding=1), nn.Conv2d(16, 32, 3, padding=1), nn.Conv2d(32, 32, 3, padding=1),
              nn.Linear(288, 10)]
    for layer in layers:
        nn.init.xavier_uniform_(layer.weight)
        nn.init.zeros_(layer.bias)
    seed_names = ("conv1", "conv2", "conv3", "fc")
    for name, layer in zip(seed_names, layers):
        assert torch.equal(getattr(ours, name).weight, layer.weight) and torch.equal(getattr(ours, name).bias, layer.bias)
    images = torch.rand(4, 1, 28, 28)
    x = images
    for conv in layers[:3]:
        x = F.max_pool2d(F.relu(conv(x)), 2)
    assert torch.allclose(ours(images), layers[3](x.flatten(1)), atol=1e-6)
    assert SEED_SHAPE.parameters == 16_938 and SEED_SHAPE.features == 288


def test_flops_count_every_multiply_add_of_the_layers():
    # Seed: 28²·16·9 + 14²·32·16·9 + 7²·32·32·9 + 288·10 multiply-adds, two FLOPs each.
    assert SEED_SHAPE.flops == 2 * (28 * 28 * 16 * 9 + 14 * 14 * 32 * 16 * 9 + 7 * 7 * 32 * 32 * 9 + 288 * 10)
    one_block = NetworkShape((4,), 5, 8)
    assert one_block.flops == 2 * (28 * 28 * 4 * 25 + 4 * 14 * 14 * 8 + 8 * 10)


@pytest.mark.parametrize("channels, kernel, hidden, words", [
    ((), 3, 0, "1 to 4 blocks"),
    ((8, 8, 8, 8, 8), 3, 0, "1 to 4 blocks"),
    ((16, 3), 3, 0, "block 2's channels must be a whole number from 4 to 64, not 3"),
    ((65,), 3, 0, "block 1's channels .* not 65"),
    ((16, 32.0), 3, 0, "block 2's channels"),
    ((True, 16), 3, 0, "block 1's channels"),
    ((16,), 4, 0, r"kernel must be 3 \(for 3×3\) or 5 \(for 5×5\), not 4"),
    ((16,), 3, 257, "the hidden layer's units must be a whole number from 0 to 256.* not 257"),
    ((16,), 3, -1, "hidden layer"),
    ("16,32", 3, 0, "1 to 4 blocks"),
])
def test_a_shape_out_of_bounds_is_refused_in_words(channels, kernel, hidden, words):
    with pytest.raises(ConfigError, match=words):
        check_shape(channels, kernel, hidden)
    with pytest.raises(ConfigError, match=words):
        validate_config(TrainConfig(channels=channels, kernel=kernel, hidden=hidden))


def test_channels_are_typed_as_a_list_and_checked():
    assert parse_channels("8,16, 16") == (8, 16, 16) and parse_channels("32") == (32,)
    for text, words in (("", "1 to 4 whole numbers"), ("8,x", "whole numbers"), ("8,2", "block 2's channels"),
                        ("9" * 5000, "whole numbers"), ("8,-4", "whole numbers")):
        with pytest.raises(ConfigError, match=words):
            parse_channels(text)


def test_a_declared_shape_with_unknown_fields_is_refused():
    with pytest.raises(ConfigError, match="not depth"):
        shape_from_dict({"channels": [16], "depth": 9})
    assert shape_from_dict({}) == SEED_SHAPE  # nothing declared: the seed's


# -- checkpoints: the shape travels, and is checked before anything is built -------------------------

def saved_model(tmp_path, shape, name="mnist_conv.pt"):
    torch.manual_seed(1)
    model = build_model(shape=shape)
    path = checkpoint.save_checkpoint(tmp_path / name, model, epoch=3, accuracy=0.9, lr=1e-3, hyperparameters={})
    return model, path


def test_a_reshaped_model_saves_and_reloads_with_its_shape_and_weights(tmp_path):
    model, path = saved_model(tmp_path, RESHAPED)
    saved = checkpoint.load_checkpoint(path)
    assert saved.shape == RESHAPED and saved.architecture["shape"] == RESHAPED.to_dict()
    reloaded = saved.build_model()
    images = torch.rand(5, 1, 28, 28)
    with torch.inference_mode():
        assert torch.equal(reloaded(images), model.eval()(images))


def test_a_checkpoint_from_before_shapes_is_the_seeds_shape(tmp_path):
    _, path = saved_model(tmp_path, SEED_SHAPE)
    payload = torch.load(path, weights_only=True)
    del payload["architecture"]["shape"]
    torch.save(payload, path)
    assert checkpoint.load_checkpoint(path).shape == SEED_SHAPE


def recording_builds(monkeypatch) -> list:
    """Every network built from here on, by its shape."""
    from mnistconv.core import model as model_module

    built = []
    real_init = model_module.ConvNet.__init__

    def recording_init(self, *args, shape=SEED_SHAPE, **kwargs):
        built.append(shape)
        real_init(self, *args, shape=shape, **kwargs)

    monkeypatch.setattr(model_module.ConvNet, "__init__", recording_init)
    return built


@pytest.mark.parametrize("declared, words", [
    ({"channels": [16, 32, 32], "kernel": 3, "hidden": 300_000}, "hidden layer's units .* not 300000"),
    ({"channels": [100_000], "kernel": 3, "hidden": 0}, "block 1's channels .* not 100000"),
    ({"channels": [16, 32, 32, 32, 32], "kernel": 3, "hidden": 0}, "1 to 4 blocks"),
    ({"channels": [16, 32, 32], "kernel": 31, "hidden": 0}, "kernel must be"),
    ({"channels": "16,32,32"}, "1 to 4 blocks"),
    ("16,32,32", "table of channels"),
])
def test_a_declared_shape_out_of_bounds_is_refused_before_anything_is_built(tmp_path, monkeypatch, declared, words):
    _, path = saved_model(tmp_path, SEED_SHAPE)
    payload = torch.load(path, weights_only=True)
    payload["architecture"]["shape"] = declared
    torch.save(payload, path)
    built = recording_builds(monkeypatch)
    with pytest.raises(CheckpointError, match=f"declares a network mnistconv does not build: .*{words}"):
        checkpoint.load_checkpoint(path)
    assert built == []


@pytest.mark.parametrize("change, words", [
    (lambda state: state.update({"conv4.weight": torch.zeros(64, 32, 3, 3)}), "unexpected conv4.weight"),
    (lambda state: state.update({"fc.weight": torch.zeros(10, 16)}), r"fc.weight: \(10, 16\), expected \(10, 288\)"),
    (lambda state: state.update({"conv1.weight": torch.zeros(16, 1, 5, 5)}), r"conv1.weight: \(16, 1, 5, 5\), expected"),
    (lambda state: state.pop("conv3.bias"), "no conv3.bias"),
])
def test_tensors_that_disagree_with_the_declared_shape_are_refused_before_anything_is_built(tmp_path, monkeypatch,
                                                                                          change, words):
    _, path = saved_model(tmp_path, SEED_SHAPE)
    payload = torch.load(path, weights_only=True)
    change(payload["model_state"])
    torch.save(payload, path)
    built = recording_builds(monkeypatch)
    with pytest.raises(CheckpointError, match=words):
        checkpoint.load_checkpoint(path)
    assert built == []


PEAK_SCRIPT = textwrap.dedent("""
    import sys, torch
    from mnistconv.core import checkpoint
    from mnistconv.core.errors import CheckpointError

    def peak_kb():  # this process's own peak resident memory (ru_maxrss would count the forked parent's)
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))

    checkpoint.load_checkpoint(sys.argv[1])  # a good file first: every lazy import and allocation made
    before = peak_kb()
    try:
        checkpoint.load_checkpoint(sys.argv[2])
        print("loaded")
    except CheckpointError as exc:
        print("refused", peak_kb() - before)
""")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="peak memory is read from Linux's /proc")
def test_refusing_a_huge_declared_network_costs_no_memory(tmp_path):
    """A hidden layer of 300,000 units after the seed's 288 features is 86 M weights, 345 MB: loading
    such a declaration must not even begin to allocate it. The peak is measured in a process of its own."""
    _, good = saved_model(tmp_path, SEED_SHAPE, "good.pt")
    payload = torch.load(good, weights_only=True)
    payload["architecture"]["shape"] = {"channels": [16, 32, 32], "kernel": 3, "hidden": 300_000}
    huge = tmp_path / "huge.pt"
    torch.save(payload, huge)
    result = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, str(good), str(huge)], capture_output=True, text=True,
                            timeout=120, check=True)
    verdict, rise_kb = result.stdout.split()
    assert verdict == "refused" and int(rise_kb) < 20_000  # kB: well under the 345 MB a built network needs


def test_a_run_state_declaring_another_shape_than_its_tensors_is_refused(tiny_mnist_dir, tmp_path):
    from mnistconv.core.paths import state_file
    from mnistconv.core.resume import load_resume_state

    list(training_session(tiny_config(RUN_FOLDER, epochs=1, **shape_config(RESHAPED)), tiny_mnist_dir, runs_dir=tmp_path))
    with RunStore(tmp_path) as store:
        (run,) = store.runs()
    path = state_file(run.folder)
    assert load_resume_state(path).config["channels"] == RESHAPED.channels
    payload = torch.load(path, weights_only=True)
    payload["config"]["channels"] = (16, 32, 32)
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="another architecture"):
        load_resume_state(path)
    payload["config"]["hidden"] = 10**9
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="does not build: the hidden layer"):
        load_resume_state(path)


# -- a non-seed shape through every path ---------------------------------------------------------------

@pytest.fixture
def reshaped_run(tiny_mnist_dir, own_run_store, capsys):
    """A recorded run of RESHAPED, trained from the command line on the tiny data."""
    code = cli.train_main(["--channels", "8,16,16,24", "--kernel", "5", "--hidden", "32", "--epochs", "2", "--seed", "3",
                           "--batch-size", "64", "--data-dir", str(tiny_mnist_dir), "--device", "cpu"])
    out = capsys.readouterr().out
    assert code == 0, out
    with RunStore(own_run_store) as store:
        (run,) = store.runs()
    return run, out


def test_the_command_line_trains_a_reshaped_network_and_every_reader_follows_its_shape(reshaped_run, tiny_mnist_dir,
                                                                                      capsys):
    run, out = reshaped_run
    assert f"Building model... (8·16·16·24, 5×5, hidden 32: {RESHAPED.parameters:,} parameters" in out
    saved = checkpoint.load_checkpoint(run.checkpoint)
    assert saved.shape == RESHAPED and run.network == RESHAPED and run.parameters == RESHAPED.parameters

    # mnistconv-test reloads it and says which network it read with.
    assert cli.test_main(["--data-dir", str(tiny_mnist_dir), "--device", "cpu"]) == 0
    assert "network 8·16·16·24, 5×5, hidden 32)" in capsys.readouterr().out
    # mnistconv-runs shows the shape in its list, in show, and in --json.
    assert cli_runs.runs_main([]) == 0
    assert "8·16·16·24, 5×5, hidden 32" in capsys.readouterr().out
    assert cli_runs.runs_main(["show", str(run.id)]) == 0
    assert "network:     8·16·16·24, 5×5, hidden 32" in capsys.readouterr().out
    assert cli_runs.runs_main(["--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["network"] == {"channels": [8, 16, 16, 24], "kernel": 5, "hidden": 32}

    # The sketchpad's reader reads drawings with it, as the network itself computes them.
    reader = Predictor.from_checkpoint(run.checkpoint, "cpu")
    drawing = np.zeros((28, 28), np.float32)
    drawing[6:22, 13:15] = 1.0  # a "1"
    probabilities = reader.predict(drawing)
    with torch.inference_mode():
        logits = saved.build_model()(torch.from_numpy(drawing)[None, None])
    assert probabilities.shape == (1, 10) and np.isclose(probabilities.sum(), 1)
    assert np.allclose(probabilities, torch.softmax(logits / saved.temperature, 1).numpy(), atol=1e-6)

    # The Filters page's history: block 1's 8 filters of 5×5 at each saved model.
    with RunStore(run.folder.parent) as store:
        rows = store.first_filters(run.id)
    assert rows and all(filters.shape == (8, 5, 5) for _, filters in rows)
    assert np.array_equal(rows[-1][1], saved.model_state["conv1.weight"][:, 0].numpy())


def test_the_command_line_refuses_a_shape_out_of_bounds_as_a_usage_error(tiny_mnist_dir, capsys):
    for argv, words in ((["--channels", "8,2"], "block 2's channels must be a whole number from 4 to 64, not 2"),
                        (["--hidden", "999"], "the hidden layer's units must be a whole number from 0 to 256, not 999"),
                        (["--kernel", "7"], "invalid choice: 7")):
        with pytest.raises(SystemExit) as stopped:
            cli.train_main([*argv, "--data-dir", str(tiny_mnist_dir)])
        assert stopped.value.code == 2 and words in capsys.readouterr().err


def test_a_reshaped_model_fits_to_a_hand_and_keeps_its_shape(reshaped_run, tiny_mnist_dir, tmp_path, own_run_store,
                                                            monkeypatch):
    from odd_hand import drawings

    from mnistconv.core import finetune
    from mnistconv.core.finetune import FinetuneSettings, finetune_session
    from mnistconv.core.personal import PersonalDigits

    run, _ = reshaped_run
    monkeypatch.setattr(finetune, "NOISE_DIGITS", 20)
    mine = PersonalDigits(tmp_path / "mine")
    for picture, label in zip(*drawings(2, 1)):
        mine.add(picture, label)
    fit = list(finetune_session(tmp_path / "mine", tiny_mnist_dir, base=run.checkpoint,
                                settings=FinetuneSettings(steps=10, device="cpu"), runs_dir=own_run_store, reload_device="cpu"))
    result = next(e for e in fit if isinstance(e, events.FinetuneFinished))
    fitted = checkpoint.load_checkpoint(result.checkpoint)
    assert fitted.shape == RESHAPED
    assert not torch.equal(fitted.model_state["fc.weight"], checkpoint.load_checkpoint(run.checkpoint).model_state["fc.weight"])
    with RunStore(own_run_store) as store:
        assert store.run(result.run_id).network == RESHAPED  # the fit's record names the network it fitted


def test_a_reshaped_model_exports_to_onnx_and_onnxruntime_agrees(tmp_path):
    ort = pytest.importorskip("onnxruntime", reason="the onnx extra: pip install '.[onnx]'")
    model, path = saved_model(tmp_path, RESHAPED)
    target = tmp_path / "reshaped.onnx"
    assert cli_runs.export_main(["--onnx", str(target), "--checkpoint", str(path)]) == 0
    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    images = torch.rand(7, 1, 28, 28)
    (onnx_logits,) = session.run(None, {"images": images.numpy()})
    with torch.inference_mode():
        expected = model.eval()(images).numpy()
    assert onnx_logits.shape == (7, 10) and float(np.abs(onnx_logits - expected).max()) <= 1e-4
    declared = json.loads(session.get_modelmeta().custom_metadata_map["network"])
    assert shape_from_dict(declared) == RESHAPED


def test_a_session_of_the_seed_shape_records_the_seed_shape(tiny_mnist_dir, tmp_path):
    run = list(training_session(tiny_config(RUN_FOLDER, epochs=1), tiny_mnist_dir, runs_dir=tmp_path / "runs"))
    started = next(e for e in run if isinstance(e, events.TrainingStarted))
    assert started.network == "16·32·32, 3×3" and started.parameters == 16_938
    with RunStore(tmp_path / "runs") as store:
        (recorded,) = store.runs()
    assert recorded.network == SEED_SHAPE
