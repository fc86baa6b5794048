"""A saved model as ONNX, for use outside mnistconv (onnxruntime, other languages, the web).

The graph takes `images`, float32 of shape (N, 1, 28, 28) with values in [0, 1] as `to_mnist` makes
them (N free), and gives `logits`, shape (N, 10): softmax(logits / temperature) are the calibrated
probabilities the sketchpad shows, the temperature being the model's (core.calibration), kept in the
file's metadata under "temperature", and the network's shape (core.shape) as JSON under "network". It needs the
optional extra: `pip install '.[onnx]'` in the project's folder (onnx and onnxscript to write, onnxruntime to run).
"""

from __future__ import annotations

import importlib.util
import json
import os
import tempfile
from pathlib import Path

import torch

from .atomic import check_write_target
from .checkpoint import load_checkpoint
from .errors import MnistConvError
from .paths import make_folder

INPUT_NAME = "images"
OUTPUT_NAME = "logits"
INSTALL_HINT = "pip install '.[onnx]' in the mnistconv folder (as the README's ONNX section says)"


class ExportError(MnistConvError):
    """The model could not be exported; the message says why."""


def missing_packages() -> list[str]:
    """The packages writing ONNX needs that are not installed."""
    return [name for name in ("onnx", "onnxscript") if importlib.util.find_spec(name) is None]


def export_onnx(checkpoint_path: str | os.PathLike, out_path: str | os.PathLike) -> Path:
    """Write the checkpoint's network as ONNX to `out_path` (whole or not at all)."""
    missing = missing_packages()
    if missing:
        raise ExportError(f"ONNX export needs {' and '.join(missing)}, which this installation lacks: {INSTALL_HINT}")
    saved = load_checkpoint(checkpoint_path)
    model = saved.build_model("cpu")
    out_path = Path(out_path)
    example = torch.zeros(2, 1, 28, 28)
    batch = torch.export.Dim("batch", min=1)
    try:
        check_write_target(out_path)
        make_folder(out_path.parent)
        with tempfile.TemporaryDirectory(dir=out_path.parent, prefix=f".{out_path.name}.") as folder:
            temporary = Path(folder) / out_path.name
            program = torch.onnx.export(model, (example,), dynamo=True, input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                                        dynamic_shapes=({0: batch},), verbose=False)
            program.model.metadata_props["temperature"] = repr(saved.temperature)
            program.model.metadata_props["network"] = json.dumps(saved.shape.to_dict())
            program.save(str(temporary))
            os.replace(temporary, out_path)
    except OSError as exc:
        raise ExportError(f"Could not write {out_path}: {exc.strerror or exc}") from exc
    except Exception as exc:  # noqa: BLE001 - the exporter fails in its own ways; say which
        raise ExportError(f"Could not export {checkpoint_path} to ONNX ({type(exc).__name__}: {exc})") from exc
    return out_path
