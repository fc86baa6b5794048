"""ONNX export: onnxruntime reads the 10,000 test digits exactly as the PyTorch model does."""


from pathlib import Path

import numpy as np
import pytest
import torch

from mnistconv.core import cli_runs, onnx_export
from mnistconv.core.checkpoint import load_checkpoint
from mnistconv.core.paths import bundled_model_path, resolve_data_dir
from mnistconv.core.predict import Predictor


@pytest.mark.mnist
def test_onnx_runtime_agrees_with_pytorch_on_every_test_digit(tmp_path, capsys):
    ort = pytest.importorskip("onnxruntime", reason="the onnx extra: pip install '.[onnx]'")
    from mnistconv.core import data

    folder = resolve_data_dir()
    if data.missing_files(folder):
        pytest.skip(f"real MNIST not in {folder} (fetch it: mnistconv-fetch)")
    mnist = data.load_mnist(folder, "cpu")
    target = tmp_path / "model.onnx"
    assert cli_runs.export_main(["--onnx", str(target)]) == 0  # no runs yet: the bundled model
    assert "from the bundled model" in capsys.readouterr().out
    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    (given,), (returned,) = session.get_inputs(), session.get_outputs()
    assert (given.name, given.shape[1:], returned.name, returned.shape[1:]) == ("images", [1, 28, 28], "logits", [10])
    images = data.pixels(mnist.test_images).numpy()
    onnx_logits = np.concatenate([session.run(None, {"images": images[i : i + 2500]})[0] for i in range(0, 10_000, 2500)])
    with bundled_model_path() as path, torch.inference_mode():
        torch_logits = load_checkpoint(path).build_model("cpu")(data.pixels(mnist.test_images)).numpy()
    assert onnx_logits.shape == (10_000, 10)
    assert np.array_equal(onnx_logits.argmax(1), torch_logits.argmax(1))
    assert float(np.abs(onnx_logits - torch_logits).max()) <= 1e-4
    # The calibration travels with it: the sketchpad's probabilities from the file alone.
    temperature = float(session.get_modelmeta().custom_metadata_map["temperature"])
    assert temperature == Predictor.bundled("cpu").temperature < 1


def test_without_the_extra_the_command_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    real_find_spec = onnx_export.importlib.util.find_spec
    monkeypatch.setattr(onnx_export.importlib.util, "find_spec",
                        lambda name, *args: None if name == "onnxscript" else real_find_spec(name, *args))
    assert cli_runs.export_main(["--onnx", str(tmp_path / "m.onnx")]) == 1
    err = capsys.readouterr().err
    # The README's words: `pip install '.[onnx]'` in the project's folder.
    assert "ONNX export needs onnxscript" in err and "pip install '.[onnx]' in the mnistconv folder" in err
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert "pip install '.[onnx]'" in readme
    assert not (tmp_path / "m.onnx").exists()


def test_a_foreign_checkpoint_is_refused_before_exporting(tmp_path, capsys):
    pytest.importorskip("onnxscript")
    bad = tmp_path / "mnist_conv.pt"
    bad.write_bytes(b"not a checkpoint")
    assert cli_runs.export_main(["--onnx", str(tmp_path / "m.onnx"), "--checkpoint", str(bad)]) == 1
    assert "is not a loadable checkpoint" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [bad]
