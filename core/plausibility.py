"""Is it a digit at all? The "not sure" decision for a reading, from the image and MNIST's statistics.

A network trained on MNIST answers some digit for anything: a zig-zag reads as a 3 at 92 %, a dot
as a 9. Its confidence says little about that (a scribble can score higher than a sloppy real
digit), so the decision here looks at the 28×28 input itself:

* **Unlike any digit.** MNIST's training digits and real writers' pen-drawn ones (core.handwriting's
  training side), put through `to_mnist` as a drawing is, are modelled per class as a mixture of
  probabilistic PCA components (eight styles of each digit, 15 directions each, plus isotropic
  noise: Tipping & Bishop's PPCA). A reading whose negative log-likelihood under the best-fitting
  component exceeds a threshold looks like no digit people write. The statistics and the threshold
  are in `resources/digit_statistics.npz`, made by `scripts/make_digit_statistics.py` (the threshold:
  the higher of the 98th percentiles on half of the project's check set of drawn and font digits and on the
  training writers' digits; benchmarks/not_sure.py measures on the other half and on the
  validation writers, whom neither saw).
* **A blob.** A dot, blown up to the 20-px box, is a disc; digit strokes stay thin after `to_mnist`
  normalises them. Ink that is on average thicker than THICK_BLOB pixels is not a digit.
* **A flat line.** Every digit is taller than it is wide, or nearly: ink whose height is under
  FLAT × its width (a dash, a wave drawn sideways) is not a digit.

The network's probabilities add the runner-up to the verdict, for a reading torn between two
digits. Nothing here imports Qt; one judgement costs about 0.3 ms (one 784 × 1,280 product).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from importlib import resources
from typing import Any

import numpy as np
import torch

from .paths import resource

STATISTICS_NAME = "digit_statistics.npz"
THICK_BLOB = 5.0  # mean stroke thickness (px, 28×28) above which the ink is a blob: MNIST's 99th percentile is 4.4
INK_LEVEL = 0.35  # pixels at least this bright count as ink for the shape checks
FLAT = 0.45  # ink lower than this share of its width is a line, not a digit (MNIST's 1st percentile: 0.8)
TORN = 0.6  # below this top probability the runner-up is named with the reading


class Doubt(str, Enum):
    NONE = "none"
    UNLIKE_ANY_DIGIT = "unlike any digit"  # far from every MNIST style
    BLOB = "a blob"  # a dot or a filled patch, not strokes
    FLAT = "a flat line"  # much wider than tall


@dataclass(frozen=True)
class Verdict:
    digit: int
    confidence: float  # the network's probability of `digit`
    runner_up: int
    runner_up_confidence: float
    doubt: Doubt
    unlikeness: float  # the likelihood score; above `threshold` means unlike any digit
    threshold: float

    @property
    def not_a_digit(self) -> bool:
        return self.doubt is not Doubt.NONE

    @property
    def torn(self) -> bool:
        """A digit-like reading the network splits between two answers."""
        return not self.not_a_digit and self.confidence < TORN


class DigitStatistics:
    """MNIST's digits as a mixture of PPCA components (scripts/make_digit_statistics.py writes them)."""

    def __init__(self, arrays: dict[str, Any]):
        means = np.asarray(arrays["means"], dtype=np.float32)  # (C, 784)
        bases = np.asarray(arrays["bases"], dtype=np.float32)  # (C, 784, K), orthonormal columns
        variances = np.asarray(arrays["variances"], dtype=np.float64)  # (C, K): variance along each direction
        noise = np.asarray(arrays["noise"], dtype=np.float64)  # (C,): variance off the K directions
        log_priors = np.asarray(arrays["log_priors"], dtype=np.float64)  # (C,)
        self.threshold = float(arrays["threshold"])
        self.components, pixels, self.directions = bases.shape
        # One product gives every component's coordinates: (x - m)·V = x·V - m·V, and the squared
        # distance |x - m|² = |x|² - 2 x·m + |m|²; so x is multiplied once by [V_1 … V_C | M].
        # Multiplied by torch, not numpy: right after a prediction torch's threads are still spinning,
        # and numpy's BLAS threads fighting them made one judgement cost 8 ms instead of 0.3.
        self._matrix = torch.from_numpy(np.ascontiguousarray(
            np.concatenate([bases.transpose(1, 0, 2).reshape(pixels, -1), means.T], axis=1)))
        self._mean_projections = np.einsum("cp,cpk->ck", means, bases).astype(np.float64)
        self._mean_norms = (means.astype(np.float64) ** 2).sum(axis=1)
        self._inverse_variances = 1.0 / variances
        self._inverse_noise = 1.0 / noise
        self._constants = 0.5 * (np.log(variances).sum(axis=1) + (pixels - self.directions) * np.log(noise)) - log_priors

    @classmethod
    def bundled(cls) -> "DigitStatistics":
        reference = resource(STATISTICS_NAME)
        with resources.as_file(reference) as path, np.load(path) as stored:
            return cls({key: stored[key] for key in stored.files})

    def unlikeness(self, image: np.ndarray) -> float:
        """The negative log-likelihood of a (28, 28) image under its best-fitting component."""
        x = np.asarray(image, dtype=np.float32).reshape(-1)
        with torch.inference_mode():
            product = (torch.from_numpy(np.ascontiguousarray(x)) @ self._matrix).numpy()
        c, k = self.components, self.directions
        coordinates = product[: c * k].reshape(c, k).astype(np.float64) - self._mean_projections
        distances = float(x.astype(np.float64) @ x) - 2.0 * product[c * k :] + self._mean_norms
        off = distances - (coordinates**2).sum(axis=1)
        scores = 0.5 * ((coordinates**2 * self._inverse_variances).sum(axis=1) + off * self._inverse_noise) + self._constants
        return float(scores.min())


def flatness(image: np.ndarray, level: float = 0.1) -> float:
    """The ink's height over its width (1 for no ink)."""
    ink = np.asarray(image) >= level
    rows, columns = int(ink.any(axis=1).sum()), int(ink.any(axis=0).sum())
    return rows / columns if columns else 1.0


def thickness(image: np.ndarray, level: float = INK_LEVEL) -> float:
    """Mean thickness of the ink in pixels: twice its area over its outline (a stroke of width w
    gives about w; a filled disc of radius r gives r)."""
    ink = np.asarray(image) >= level
    area = int(ink.sum())
    if area == 0:
        return 0.0
    padded = np.pad(ink, 1)
    inside = padded[1:-1, 1:-1] & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    outline = int(area - inside.sum())
    return 2.0 * area / max(outline, 1)


_statistics: DigitStatistics | None = None


def bundled_statistics() -> DigitStatistics:
    global _statistics
    if _statistics is None:
        _statistics = DigitStatistics.bundled()
    return _statistics


def judge(image: np.ndarray, probabilities: np.ndarray, statistics: DigitStatistics | None = None) -> Verdict:
    """The verdict on one reading: `image` the (28, 28) network input, `probabilities` its (10,)."""
    statistics = statistics or bundled_statistics()
    p = np.asarray(probabilities, dtype=np.float64).reshape(-1)
    order = np.argsort(p)
    first, second = int(order[-1]), int(order[-2])
    unlikeness = statistics.unlikeness(image)
    if thickness(image) > THICK_BLOB:
        doubt = Doubt.BLOB
    elif flatness(image) < FLAT:
        doubt = Doubt.FLAT
    elif unlikeness > statistics.threshold:
        doubt = Doubt.UNLIKE_ANY_DIGIT
    else:
        doubt = Doubt.NONE
    return Verdict(digit=first, confidence=float(p[first]), runner_up=second, runner_up_confidence=float(p[second]),
                   doubt=doubt, unlikeness=unlikeness, threshold=statistics.threshold)
