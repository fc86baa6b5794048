"""The shared epoch axis on a log scale: where things sit in the plots' view coordinates.

pyqtgraph maps curves' data itself in log mode (PlotDataItem.setLogMode), but items without a log
mode (InfiniteLine, ScatterPlotItem, the view's range) take view coordinates: log10 of the epoch.
Nothing is placed at or before 0 on a log axis, so an event there (a learning rate set as epoch 1
starts, at x = 0) is drawn at the axis's left end, the first batch's place.
"""

from __future__ import annotations

import math
from typing import Iterable

from mnistconv.core.history import RunHistory

DEFAULT_FLOOR = 0.01  # a hundredth of an epoch: the left end before any batch was reported
HIGHEST_FLOOR = 0.1  # a run reported once an epoch still gets a decade of room before its first point


def first_position(history: RunHistory) -> float | None:
    """Where a run's first batch sits (one batch into epoch 1 when its batch count is known), or None."""
    if history.batches_per_epoch:
        return 1.0 / history.batches_per_epoch
    xs = history.batch_x.values
    if len(xs) and xs[0] > 0:
        return float(xs[0])  # the usual case, and cheap: this is asked on each report in log mode
    positive = xs[xs > 0]
    return float(positive[0]) if len(positive) else None


def log_floor(histories: Iterable[RunHistory]) -> float:
    """The log axis's left end: the earliest first batch of these runs."""
    firsts = [x for x in (first_position(history) for history in histories) if x is not None]
    return min(min(firsts, default=DEFAULT_FLOOR), HIGHEST_FLOOR)


def to_view(x: float, log: bool, floor: float) -> float:
    """An epoch position in view coordinates; on a log axis, clipped to the floor."""
    return math.log10(max(x, floor)) if log else x


def from_view(x: float, log: bool) -> float:
    """A view coordinate (the pointer's) as an epoch position."""
    return 10.0**x if log else x
