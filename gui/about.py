"""The About dialog: what this is, the versions it runs on, and the device."""

from __future__ import annotations

import html
import platform

import numpy
import pyqtgraph
import PySide6
import torch
from PySide6.QtWidgets import QMessageBox, QWidget

from mnistconv.core.handwriting import ATTRIBUTION

from .startup import app_version


def about_text(device: str) -> str:
    rows = [
        ("mnistconv", app_version()), ("Python", platform.python_version()), ("PyTorch", torch.__version__),
        ("PySide6 (Qt)", PySide6.__version__), ("pyqtgraph", pyqtgraph.__version__), ("NumPy", numpy.__version__),
        ("Device", device),
    ]
    table = "".join(f"<tr><td>{name}</td><td>&nbsp;{value}</td></tr>" for name, value in rows)
    return (
        "<h3>mnistconv</h3><p>Trains the classic small MNIST ConvNet live (the Flux model-zoo "
        "“Simple ConvNets” recipe) and reads the digits you draw.</p>"
        f"<table>{table}</table>"
        f"<p><small>The bundled model learned from MNIST and from real handwriting. {html.escape(ATTRIBUTION)}.</small></p>"
    )


def show_about(parent: QWidget, device: str) -> None:
    QMessageBox.about(parent, "About mnistconv", about_text(device))
