"""The training loss's smoothing as the plots draw it, TensorBoard style: a weight from 0 (the raw
losses) to SMOOTHING_MAX, used as the decay of core.history.LossSmoother (a bias-corrected moving
average that steps over NaN losses). The default is EMA_DECAY, 0.9.

A live run's curve is smoothed a report at a time (`GrowingSmoothing`), so a batch report costs one
step; the whole series is smoothed again only when the weight changes (`smoothed`).
"""

from __future__ import annotations

import math

import numpy as np

from mnistconv.core.history import EMA_DECAY, LossSmoother, Series

SMOOTHING_MAX = 0.99  # TensorBoard's too: at 1 the average would never move
DEFAULT_SMOOTHING = EMA_DECAY


def clamp_smoothing(weight: float) -> float:
    """`weight` within 0..SMOOTHING_MAX; a NaN or infinite weight is an error."""
    if not math.isfinite(weight):
        raise ValueError(f"smoothing must be a number from 0 to {SMOOTHING_MAX}, not {weight!r}")
    return min(max(float(weight), 0.0), SMOOTHING_MAX)


class GrowingSmoothing:
    """The smoothed values of a growing loss series: each `extend` smooths only the losses added
    since the last call."""

    def __init__(self, weight: float):
        self.weight = clamp_smoothing(weight)
        self._smoother = LossSmoother(self.weight)
        self._done = Series()

    def extend(self, losses: np.ndarray) -> np.ndarray:
        """The smoothed values of all of `losses`, the series as it is now (it only ever grows; a
        shorter one, a cleared history, starts afresh)."""
        if len(losses) < len(self._done):
            self._smoother, self._done = LossSmoother(self.weight), Series()
        for loss in losses[len(self._done):].tolist():
            self._done.append(self._smoother.update(loss))
        return self._done.values


def smoothed(losses: np.ndarray, weight: float) -> np.ndarray:
    """A whole loss series smoothed with `weight` (a recorded run's, or a live one's anew)."""
    return GrowingSmoothing(weight).extend(losses).copy()
