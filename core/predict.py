"""Reading digits with a trained network: a Predictor holds its own copy of the weights.

A Predictor never shares a model object with training: `from_model` copies the weights, and the
other constructors build a fresh model from a checkpoint file. So it can read drawings while the
original keeps training, and a half-finished optimiser step never shows up in a prediction.
"""

from __future__ import annotations

import copy
import math
import os

import numpy as np
import torch
from torch import nn

from .checkpoint import load_checkpoint
from .device import resolve_device
from .paths import bundled_model_path

BUNDLED_NAME = "bundled model"
IMAGE_SHAPE = (28, 28)
# Resampling (bicubic overshoots) and float16 rounding can step a little outside [0, 1]: that much is
# clipped. Anything further is not an image in [0, 1] at all (255-scale, -100, …) and is refused.
PIXEL_TOLERANCE = 0.01


class Predictor:
    """Class probabilities for 28×28 images, from a private eval-mode copy of a model on one device."""

    def __init__(self, model: nn.Module, device: torch.device, *, name: str, accuracy: float | None = None,
                 temperature: float = 1.0):
        # Callers hand over a model nobody else holds; the classmethods below make sure of that.
        self.device = torch.device(device)
        self.model = model.to(self.device).eval().requires_grad_(False)
        self.name = name
        self.accuracy = accuracy
        self.temperature = temperature  # the logits are divided by it: calibrated probabilities (core.calibration)

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike, device: str = "auto") -> "Predictor":
        """Load a saved checkpoint; a missing or unusable file raises CheckpointError."""
        target = resolve_device(device)
        saved = load_checkpoint(path)
        accuracy = None if math.isnan(saved.accuracy) else saved.accuracy
        return cls(saved.build_model(target), target, name=str(path), accuracy=accuracy, temperature=saved.temperature)

    @classmethod
    def bundled(cls, device: str = "auto") -> "Predictor":
        """The model shipped in mnistconv/resources; CheckpointError if this install lacks it."""
        with bundled_model_path() as path:
            predictor = cls.from_checkpoint(path, device)
        predictor.name = BUNDLED_NAME
        return predictor

    @classmethod
    def from_model(
        cls, model: nn.Module, device: torch.device | str | None = None, *,
        name: str = "current model", accuracy: float | None = None, temperature: float = 1.0,
    ) -> "Predictor":
        """A copy of `model`'s weights, on `device` (default: where the model is)."""
        if device is None:
            first = next(model.parameters(), None)
            target = first.device if first is not None else torch.device("cpu")
        elif isinstance(device, torch.device):
            target = device
        else:
            target = resolve_device(device)
        with torch.no_grad():
            twin = copy.deepcopy(model)
        for parameter in twin.parameters():
            parameter.grad = None  # deepcopy brings the gradients along; a reader needs none
        return cls(twin, target, name=name, accuracy=accuracy, temperature=temperature)

    def copy_to(self, device: torch.device) -> "Predictor":
        """The same reader (weights, name, accuracy, temperature) with weights of its own on `device`."""
        return Predictor.from_model(self.model, device, name=self.name, accuracy=self.accuracy,
                                    temperature=self.temperature)

    def predict(self, images: np.ndarray) -> np.ndarray:
        """(28, 28) or (N, 28, 28) floats in [0, 1] → (N, 10) float32 softmax probabilities.

        Pixels must be finite and in [0, 1] give or take PIXEL_TOLERANCE: values in [-0.01, 1.01]
        are clipped to [0, 1] (in a copy); NaN, ±inf or anything further out is a ValueError.
        """
        batch = torch.from_numpy(self._as_batch(images, "predict"))
        with torch.inference_mode():
            logits = self.model(batch.to(self.device))
            return torch.softmax(logits.float() / self.temperature, dim=1).cpu().numpy()

    @staticmethod
    def _as_batch(images: np.ndarray, caller: str) -> np.ndarray:
        """A checked float32 (N, 1, 28, 28) copy of a (28, 28) image or an (N, 28, 28) batch, clipped to [0, 1]."""
        array = np.asarray(images)
        single = array.ndim == 2
        if single:
            array = array[None]
        if array.ndim != 3 or array.shape[1:] != IMAGE_SHAPE:
            raise ValueError(
                f"{caller} needs a (28, 28) image or an (N, 28, 28) batch, not an array of shape {np.shape(images)}"
            )
        if not np.issubdtype(array.dtype, np.floating):
            # uint8 0–255 images would pass silently and read as nonsense; to_mnist makes the floats.
            raise ValueError(f"{caller} needs float images in [0, 1] (e.g. from to_mnist), not dtype {array.dtype}")
        _check_pixels(array, caller, "the image" if single else "the batch")
        batch = np.array(array, dtype=np.float32)  # a copy: the caller's array stays theirs
        return np.clip(batch, 0.0, 1.0, out=batch)[:, None]

    def seen(self, image: np.ndarray) -> np.ndarray:
        """A (28, 28) image as the network's first block sees it: deskewed, by a network that deskews;
        else a checked copy of the image itself."""
        batch = self._as_batch(image, "seen")
        if batch.shape[0] != 1:
            raise ValueError(f"seen needs one (28, 28) image, not shape {np.shape(image)}")
        with torch.inference_mode():
            return self._prepare(torch.from_numpy(batch).to(self.device))[0, 0].float().cpu().numpy()

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.prepare(x) if hasattr(self.model, "prepare") else x

    def _read(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.read(x) if hasattr(self.model, "read") else self.model(x)

    def saliency(self, image: np.ndarray, target: int | None = None) -> np.ndarray:
        """Which pixels drove the prediction: |input × gradient| of the target class's logit (the
        predicted class by default), scaled to [0, 1], as a (28, 28) float32 array.

        The image is checked as in `predict`; `target` is a class 0–9 as a Python or numpy int
        (not a bool, a float or a negative index), else a ValueError."""
        batch = self._as_batch(image, "saliency")
        if batch.shape[0] != 1:
            raise ValueError(f"saliency needs one (28, 28) image, not shape {np.shape(image)}")
        # Taken on the input as the first block sees it (deskewed, by a network that deskews), the
        # image the sketchpad shows under the tint.
        with torch.inference_mode():
            seen = self._prepare(torch.from_numpy(batch).to(self.device))
        x = seen.clone().requires_grad_(True)
        with torch.enable_grad():
            logits = self._read(x)
            chosen = int(logits.argmax()) if target is None else _class_index(target, logits.shape[1])
            (grad,) = torch.autograd.grad(logits[0, chosen], x)
        heat = (grad * x).abs()[0, 0].detach().cpu().numpy()
        peak = float(heat.max())
        return (heat / peak if peak > 0 else heat).astype(np.float32)

    def describe(self) -> str:
        """A one-line label: 'bundled model — 99.24 % test accuracy'."""
        if self.accuracy is None:
            return f"{self.name} — test accuracy unknown"
        return f"{self.name} — {100 * self.accuracy:.2f} % test accuracy"

    def __repr__(self) -> str:
        return f"Predictor({self.describe()!r}, device={self.device})"


def _check_pixels(batch: np.ndarray, caller: str, what: str) -> None:
    """Refuse NaN, ±inf and values beyond [0, 1] ± PIXEL_TOLERANCE, in the caller's own dtype (a
    float64 1e308 would be inf once cast to float32)."""
    if batch.size == 0:
        return
    finite = np.isfinite(batch).all(axis=(1, 2))
    if not finite.all():
        where = what if what == "the image" else f"image {int(np.argmin(finite))} of the batch"
        raise ValueError(f"{caller} needs finite pixel values: {where} holds NaN or infinite values")
    low, high = batch.min(), batch.max()
    if low < -PIXEL_TOLERANCE or high > 1 + PIXEL_TOLERANCE:
        raise ValueError(
            f"{caller} needs pixel values in [0, 1] (e.g. from to_mnist); {what} has values from {low:g} to {high:g}")


def _class_index(target, classes: int) -> int:
    """saliency's target as a class index: a Python or numpy int from 0 to classes - 1. A bool, a float
    or a negative number would otherwise be read silently as some class (-1 as the last)."""
    is_int = isinstance(target, (int, np.integer)) and not isinstance(target, (bool, np.bool_))
    if not is_int or not 0 <= target < classes:
        raise ValueError(f"saliency's target must be a class 0–{classes - 1} (an int), not {target!r}")
    return int(target)
