"""Confidences that mean what they say: temperature scaling and the expected calibration error.

A network trained with label smoothing never puts much more than 90–97 % on its answer, however
clean the digit; one trained without it is often surer than it is right. Dividing the logits by one
number, the temperature T, before the softmax fixes that without changing any answer (Guo et al.,
"On Calibration of Modern Neural Networks", 2017): T < 1 makes the probabilities sharper, T > 1
softer. `fit_temperature` picks the T that gives held-out digits the highest likelihood; a
checkpoint keeps it (core.checkpoint), and the Predictor applies it.

The expected calibration error (ECE) measures what "90 %" means: the readings are put in bins by
their top probability, and ECE is the gap between each bin's mean confidence and its accuracy,
weighted by the bin's share. An ECE of 2 % means the shown percentage is within about two points of
how often such readings are right.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import shown

BINS = 15
#: The temperatures a checkpoint may hold: anything outside is a damaged or crafted file.
LOWEST, HIGHEST = 0.05, 20.0


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    exponentials = np.exp(scaled)
    return exponentials / exponentials.sum(axis=1, keepdims=True)


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    probabilities = softmax(logits, temperature)
    return float(-np.mean(np.log(np.maximum(probabilities[np.arange(len(labels)), labels], 1e-300))))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature in [LOWEST, HIGHEST] that minimises the held-out digits' negative log
    likelihood (golden-section search on log T: the likelihood is unimodal in it)."""
    if len(labels) == 0:
        raise ValueError("fitting a temperature needs at least one labelled digit")
    labels = np.asarray(labels, dtype=np.int64)
    low, high = math.log(LOWEST), math.log(HIGHEST)
    ratio = (math.sqrt(5) - 1) / 2
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    fa, fb = (negative_log_likelihood(logits, labels, math.exp(x)) for x in (a, b))
    for _ in range(60):  # the bracket shrinks to 0.618**60 of its width: far below any useful precision
        if fa < fb:
            high, b, fb = b, a, fa
            a = high - ratio * (high - low)
            fa = negative_log_likelihood(logits, labels, math.exp(a))
        else:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = negative_log_likelihood(logits, labels, math.exp(b))
    return math.exp((low + high) / 2)


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = BINS) -> float:
    """The bins' |accuracy − mean confidence|, weighted by their share of the readings (0 to 1)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if len(probabilities) == 0:
        raise ValueError("the calibration error of no readings is undefined")
    confidence = probabilities.max(axis=1)
    right = probabilities.argmax(axis=1) == np.asarray(labels)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        here = which == b
        if here.any():
            error += here.mean() * abs(right[here].mean() - confidence[here].mean())
    return float(error)


def check_temperature(value: object) -> float:
    """A stored temperature as a float, or ValueError saying why it is not one."""
    # The range is checked before any float(): an int from a file may be beyond what a float holds.
    if type(value) not in (int, float) or not LOWEST <= value <= HIGHEST:
        raise ValueError(f"a temperature is a number from {LOWEST} to {HIGHEST}, not {shown(value)}")
    return float(value)
