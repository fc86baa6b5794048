"""Seed groups' figures, Qt-free: one setting trained with several seeds, summed up.

`spread` is what a table shows of the members' best accuracies (mean ± σ, min, max);
`epoch_band` is what the plots draw: a per-epoch column's mean over the members, with a band
(min–max, or mean ± 1 σ) around it. σ is the sample standard deviation (n − 1), 0 for one member.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from .history import RunHistory

BANDS = ("minmax", "sigma")


@dataclass(frozen=True)
class Spread:
    count: int
    mean: float
    sigma: float
    low: float
    high: float

    def percent_text(self) -> str:
        """'99.12 ± 0.05 % (n = 5)', as tables and RESULTS show it."""
        return f"{100 * self.mean:.2f} ± {100 * self.sigma:.2f} % (n = {self.count})"

    def range_text(self) -> str:
        """'99.05–99.33 %': the lowest and the highest, as tables show them."""
        return f"{100 * self.low:.2f}–{100 * self.high:.2f} %"


def spread(values: Iterable[float | None]) -> Spread | None:
    """The spread of the finite values given (None and NaN left out); None when there are none."""
    kept = np.array([v for v in values if v is not None and math.isfinite(v)], dtype=np.float64)
    if not len(kept):
        return None
    sigma = float(kept.std(ddof=1)) if len(kept) > 1 else 0.0
    return Spread(len(kept), float(kept.mean()), sigma, float(kept.min()), float(kept.max()))


@dataclass(frozen=True)
class Band:
    epochs: np.ndarray  # the epochs at least one member reached
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    counts: np.ndarray  # how many members each epoch's figures stand on


def epoch_band(histories: Sequence[RunHistory], column: str, band: str = "minmax") -> Band:
    """A per-epoch column's mean over the histories at each epoch any of them reached, with the band
    around it: the members' min and max, or mean ± 1 σ. A member that ended early (converged,
    stopped) counts only for the epochs it has; unmeasured (NaN) values are left out."""
    if band not in BANDS:
        raise ValueError(f"band must be one of {BANDS}, not {band!r}")
    by_epoch: dict[int, list[float]] = {}
    for history in histories:
        latest = {int(epoch): float(value) for epoch, value in zip(history.epochs.values, history.column(column))}
        for epoch, value in latest.items():  # an epoch recorded twice counts once, at its latest value
            if math.isfinite(value):
                by_epoch.setdefault(epoch, []).append(value)
    epochs = np.array(sorted(by_epoch), dtype=np.float64)
    figures = [spread(by_epoch[int(epoch)]) for epoch in epochs]
    mean = np.array([f.mean for f in figures])
    if band == "minmax":
        low, high = np.array([f.low for f in figures]), np.array([f.high for f in figures])
    else:
        sigma = np.array([f.sigma for f in figures])
        low, high = mean - sigma, mean + sigma
    return Band(epochs, mean, low, high, np.array([f.count for f in figures], dtype=np.int64))
