"""Seed groups on the plots: one setting trained with several seeds, drawn as its members' mean
per epoch with a shaded band around it (min–max, or ±1 σ: core.groups.epoch_band), instead of a
curve per member.

`GroupCurves` is one group on one plot: a mean curve, two faint edge curves and a FillBetweenItem
between them. The edges are plot items of their own so that pyqtgraph maps them in log mode; the
band follows their paths. `GroupLayer` is every group shown, on the accuracy and loss plots.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

from mnistconv.core.groups import BANDS, Band, epoch_band
from mnistconv.core.history import RunHistory

#: How each band kind is named in the legend, the readout and the controls.
BAND_NAMES = {"minmax": "min–max", "sigma": "±1 σ"}  # a key for each of core.groups.BANDS

#: Groups' colours (light, dark palette): hues neither the current run's curves (blue, crimson,
#: purple, teal) nor the overlaid runs' (orange, green, grey, brown, lime, gold, black) use.
GROUP_COLOURS = (("#3b5bdb", "#91a7ff"), ("#0ca678", "#63e6be"), ("#e03131", "#ffa8a8"), ("#ae3ec9", "#eebefa"))
BAND_ALPHA = 50  # of 255: the curves under a band stay visible
EDGE_ALPHA = 90
GROUP_Z = 5  # under every overlaid run and the current run


@dataclass(frozen=True)
class GroupOverlay:
    """A seed group to draw: its members' histories summed up as a mean and a band."""

    group_id: int
    label: str  # "seed×3"
    histories: list[RunHistory] = field(default_factory=list)


def legend_label(group: GroupOverlay, band: str) -> str:
    """'seed×3 (mean, min–max)'."""
    return f"{group.label} (mean, {BAND_NAMES[band]})"


def least_used(given: list[int], count: int) -> int:
    """The colour index fewest runs or groups have had so far (the lowest of those): no two alike
    until all were used."""
    return min(range(count), key=lambda i: (given.count(i), i))


class GroupCurves:
    """One group's mean and band of one per-epoch column on one plot (`scale` 100 for percent)."""

    def __init__(self, plot: pg.PlotItem, column: str, scale: float = 1.0):
        self.plot, self.column, self.scale = plot, column, scale
        self.figures: Band | None = None  # as drawn, unscaled (the readout's numbers)
        self.mean = pg.PlotDataItem(antialias=True)
        self.low, self.high = pg.PlotDataItem(antialias=True), pg.PlotDataItem(antialias=True)
        self.band = pg.FillBetweenItem(self.low, self.high)
        for item in (self.band, self.low, self.high, self.mean):
            plot.addItem(item)
        for edge in (self.mean, self.low, self.high):
            # The band is rebuilt from its edges' paths when their data change, not when the loss
            # plot's clipping or downsampling redraws them: a few points a member, so draw them whole.
            edge.setClipToView(False)
            edge.setDownsampling(auto=False, ds=1)
        self.mean.setZValue(GROUP_Z + 1)
        for item in (self.band, self.low, self.high):
            item.setZValue(GROUP_Z)

    def show(self, histories: list[RunHistory], band: str) -> None:
        figures = epoch_band(histories, self.column, band)
        low = figures.low
        if self.plot.getAxis("left").logMode:  # a loss band reaching 0 or below (mean - σ) ends at the mean's tenth
            low = np.where(low > 0, low, figures.mean / 10)
        self.figures = figures
        self.mean.setData(figures.epochs, self.scale * figures.mean)
        self.low.setData(figures.epochs, self.scale * low)
        self.high.setData(figures.epochs, self.scale * figures.high)  # each setData redraws the band

    def redraw_band(self) -> None:
        """Take the edges' paths again (after the plot's log mode changed them)."""
        self.band.curveChanged()

    def set_colour(self, colour: QColor) -> None:
        self.mean.setPen(pg.mkPen(colour, width=2.5))
        edge, fill = QColor(colour), QColor(colour)
        edge.setAlpha(EDGE_ALPHA)
        fill.setAlpha(BAND_ALPHA)
        for item in (self.low, self.high):
            item.setPen(pg.mkPen(edge, width=1))
        self.band.setBrush(fill)

    def remove(self) -> None:
        for item in (self.band, self.low, self.high, self.mean):
            self.plot.removeItem(item)

    def value_near(self, x: float, reach: float = 0.5) -> tuple[float, float, float] | None:
        """(mean, low, high) at the epoch nearest `x` when one lies within `reach`, else None."""
        if self.figures is None or not len(self.figures.epochs):
            return None
        i = int(np.argmin(np.abs(self.figures.epochs - x)))
        if abs(self.figures.epochs[i] - x) > reach:
            return None
        return float(self.figures.mean[i]), float(self.figures.low[i]), float(self.figures.high[i])


class GroupLayer:
    """The seed groups shown on the accuracy and loss plots (`plots`, by name): each as a GroupCurves
    on each, in a colour of its own for the whole session."""

    COLUMNS = {"accuracy": ("test_accuracy", 100.0), "loss": ("train_loss", 1.0)}  # plot → column, scale

    def __init__(self, plots: dict[str, pg.PlotItem]):
        self._plots = plots
        self.band = BANDS[0]  # min–max
        self.shown: dict[int, tuple[GroupOverlay, dict[str, GroupCurves]]] = {}  # group id → it, its curves by plot
        self._colour_of: dict[int, int] = {}  # group id → its index in GROUP_COLOURS

    def __bool__(self) -> bool:
        return bool(self.shown)

    def set_groups(self, groups: list[GroupOverlay], dark: bool) -> None:
        wanted = {group.group_id for group in groups}
        for group_id in [group_id for group_id in self.shown if group_id not in wanted]:
            for curves in self.shown.pop(group_id)[1].values():
                curves.remove()
        for group in groups:
            if group.group_id in self.shown:
                parts = self.shown[group.group_id][1]
            else:
                parts = {name: GroupCurves(self._plots[name], column, scale) for name, (column, scale) in self.COLUMNS.items()}
                for curves in parts.values():
                    curves.set_colour(self.colour(group.group_id, dark))
            self.shown[group.group_id] = (group, parts)  # its members may have changed: drawn anew
            for curves in parts.values():
                curves.show(group.histories, self.band)

    def set_band(self, kind: str) -> None:
        if kind not in BANDS:
            raise ValueError(f"band must be one of {BANDS}, not {kind!r}")
        self.band = kind
        for group, parts in self.shown.values():
            for curves in parts.values():
                curves.show(group.histories, kind)

    def colour(self, group_id: int, dark: bool) -> QColor:
        if group_id not in self._colour_of:
            self._colour_of[group_id] = least_used(list(self._colour_of.values()), len(GROUP_COLOURS))
        return QColor(GROUP_COLOURS[self._colour_of[group_id]][dark])

    def set_palette(self, dark: bool) -> None:
        for group_id, (_, parts) in self.shown.items():
            for curves in parts.values():
                curves.set_colour(self.colour(group_id, dark))

    def redraw_bands(self) -> None:
        for _, parts in self.shown.values():
            for curves in parts.values():
                curves.redraw_band()

    def members(self) -> list[RunHistory]:
        return [member for group, _ in self.shown.values() for member in group.histories]

    def legend_entries(self) -> list[tuple[pg.PlotDataItem, str]]:
        """Each group's mean accuracy curve and its legend label."""
        return [(parts["accuracy"].mean, legend_label(group, self.band)) for group, parts in self.shown.values()]

    def readings(self, plot_name: str, x: float, reach: float) -> list[str]:
        """Each group's mean and band at the epoch nearest `x` on `plot_name`: "seed×3 98.80 % (98.61–98.95)"."""
        number, unit = (".2f", " %") if plot_name == "accuracy" else (".4g", "")
        texts = []
        for group, parts in self.shown.values():
            curves = parts.get(plot_name)
            near = curves.value_near(x, reach) if curves is not None else None
            if near is not None:
                mean, low, high = (curves.scale * value for value in near)
                texts.append(f"{group.label} {mean:{number}}{unit} ({low:{number}}–{high:{number}})")
        return texts

    def items(self, group_id: int) -> dict[str, pg.GraphicsObject]:
        accuracy, loss = self.shown[group_id][1]["accuracy"], self.shown[group_id][1]["loss"]
        return {"mean": accuracy.mean, "band": accuracy.band, "low": accuracy.low, "high": accuracy.high,
                "loss_mean": loss.mean, "loss_band": loss.band}
