"""Live training plots, a view over run histories: test accuracy per epoch, and the training loss
and learning rate per report.

`TrainingPlots` draws the current run's RunHistory (core.history; `show_history`) and hears each
addition from it: every curve is created once and given the history's arrays with `setData`
(pyqtgraph's scrollingPlots pattern). All three plots share the history's axis in epochs. The
learning rate is plotted at the loss's points, so a schedule that changes it every batch
(one-cycle) shows as the curve it is. Accuracy is plotted in percent, loss and learning rate on log
axes. A plot with no data yet says what it will show instead of bare tick labels.

Recorded runs' histories can be overlaid (`set_overlays`): each in a colour of its own, under the
current run, named in a legend; seed groups are drawn as their members' mean and a band around it
(`set_groups`, gui.plot_groups). A row of controls above the plots (gui.plot_controls) sets the
loss's smoothing (gui.plot_smoothing), a log epoch axis (gui.plot_log_x) and the groups' band kind;
the pointer over a plot reads the curves' values there (gui.plot_hover). `export` writes the three
plots as one PNG or SVG.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QSettings, Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QGraphicsItem, QVBoxLayout, QWidget

from mnistconv.core.history import Change, EventKind, Marker, RunHistory

from .plot_controls import PlotControls, read_choices, write_choices
from .plot_export import export_plots
from .plot_groups import GroupLayer, GroupOverlay, least_used
from .plot_hover import SEPARATOR, PointerReadout, nearest
from .plot_log_x import log_floor, to_view
from .plot_smoothing import DEFAULT_SMOOTHING, GrowingSmoothing, clamp_smoothing, smoothed

__all__ = ["GroupOverlay", "Overlay", "TrainingPlots", "marker_text"]

PLOTS = ("accuracy", "loss", "lr")

#: Accuracy guide lines: the seed's marks (fraction → label).
GUIDES = {0.99: "99 %", 0.999: "99.9 %"}

#: What each plot says before it has data.
EMPTY_HINTS = {
    "accuracy": "The test accuracy after each epoch",
    "loss": "The training loss as it trains: press Train",
    "lr": "The learning rate, batch by batch",
}


@dataclass(frozen=True)
class MarkerStyle:
    plots: tuple[str, ...]  # the plots that show it; the first carries its label
    label: str
    colours: tuple[str, str]  # light, dark palette


#: The kinds of marker the plots draw (a failed save is in the log, not on the plots).
MARKER_STYLES = {
    EventKind.LR_DROP: MarkerStyle(("lr", "accuracy"), "LR drop", ("#d9480f", "#ff922b")),
    EventKind.LR_SET: MarkerStyle(("lr", "accuracy"), "lr set", ("#d6336c", "#faa2c1")),  # pink: not the drop's orange
    EventKind.NEW_BEST: MarkerStyle(("accuracy",), "new best", ("#e8a200", "#ffd43b")),
    EventKind.EARLY_EXIT: MarkerStyle(PLOTS, "early exit", ("#2b8a3e", "#69db7c")),
    EventKind.CONVERGED: MarkerStyle(PLOTS, "converged", ("#1864ab", "#74c0fc")),
    EventKind.NAN_ABORT: MarkerStyle(PLOTS, "NaN abort", ("#c92a2a", "#ff6b6b")),
    EventKind.STOPPED: MarkerStyle(PLOTS, "stopped", ("#5f3dc4", "#b197fc")),
}

#: Curve colours (light, dark palette).
_CURVE_COLOURS = {
    "accuracy": ("#1c7ed6", "#4dabf7"),
    "loss": ("#c2255c", "#f783ac"),
    "test_loss": ("#862e9c", "#e599f7"),
    "lr": ("#0b7285", "#3bc9db"),
}

#: Overlaid runs' colours (light, dark palette): hues none of the current run's curves use (its
#: blue, crimson, purple and teal). A run keeps the colour it first got for the whole session.
OVERLAY_COLOURS = (
    ("#e8590c", "#ffa94d"), ("#2f9e44", "#8ce99a"), ("#495057", "#ced4da"), ("#8d5524", "#e0a872"),
    ("#5c940d", "#c0eb75"), ("#b08900", "#ffd43b"), ("#212529", "#f8f9fa"),
)
#: Labels of markers closer than this share of the epoch axis are stacked, not drawn over each other.
LABEL_NEAR = 0.06
LABEL_STEP = 0.12  # how far apart stacked labels sit along their line (a share of the plot's height)
CURRENT_Z = 20  # the current run's curves stay above every overlay
READ_REACH = 0.5  # the pointer reads a curve's point up to half an epoch away, not a run that ended long before


@dataclass(frozen=True)
class Overlay:
    """A recorded run to draw under the current one."""

    run_id: int
    label: str
    history: RunHistory


def marker_text(marker: Marker) -> str:
    """A marker's label: the new rate for an LR drop ("lr 0.0003") or an LR set ("lr 0.001 set"),
    else its kind's name."""
    if marker.kind is EventKind.LR_DROP and marker.detail:
        return f"lr {marker.detail}"
    if marker.kind is EventKind.LR_SET and marker.detail:
        return f"lr {marker.detail} set"
    return MARKER_STYLES[marker.kind].label


@dataclass(eq=False)
class EventMarker:
    """One marked event as drawn: its kind, epoch, label and graphics items (one per plot)."""

    kind: EventKind
    epoch: float
    text: str
    items: tuple


class _LogAxis(pg.AxisItem):
    """A log-scale axis that labels only 1, 2 and 5 of each decade, so a one-decade range stays legible."""

    def __init__(self, orientation: str, number_format: str):
        super().__init__(orientation)
        self.enableAutoSIPrefix(False)
        self._format = number_format

    def logTickStrings(self, values, scale, spacing):
        strings = []
        for value in values:
            number = 10.0**value * scale
            mantissa = f"{number:.0e}".split("e")[0]
            text = format(number, self._format if number < 1 else "g")
            if "e" in text:  # 1e-03 → 1e-3
                significand, exponent = text.split("e")
                text = f"{significand}e{int(exponent)}"
            strings.append(text if mantissa in ("1", "2", "5") else "")
        return strings


class TrainingPlots(QWidget):
    """Three stacked plots sharing an epoch axis; the main window feeds them from its slots."""

    run_picked = Signal(int)  # an overlaid run's curve was clicked: which run it is

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(2)
        self.controls = PlotControls()
        outer.addWidget(self.controls)
        self._plot_area = QWidget()  # the three plots alone: what an export draws
        outer.addWidget(self._plot_area, stretch=1)
        layout = QVBoxLayout(self._plot_area)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)

        self._views: dict[str, pg.PlotWidget] = {}
        self._hints: dict[str, pg.TextItem] = {}
        for name, title, y_label, left_axis in (
            ("accuracy", "Test accuracy", "accuracy (%)", None),
            ("loss", "Training loss (and test loss ◆ after each epoch)", "loss", _LogAxis("left", "g")),
            ("lr", "Learning rate", "learning rate", _LogAxis("left", ".0e")),
        ):
            # 1, 2 and 5 of each decade on the epoch axis too, when it is logarithmic (set_log_x)
            axes = {"bottom": _LogAxis("bottom", "g"), **({"left": left_axis} if left_axis else {})}
            view = pg.PlotWidget(axisItems=axes)
            view.setAntialiasing(False)  # curves ask for it themselves; grid and axes are cheaper without
            view.setMenuEnabled(False)
            plot = view.getPlotItem()
            plot.setTitle(title)
            plot.setLabel("left", y_label)
            plot.showGrid(x=True, y=True, alpha=0.15)
            plot.getAxis("left").setWidth(56)  # equal axis widths keep the three epoch axes aligned
            for axis in ("left", "bottom"):
                # An axis with a grid covers the whole plot, so every new loss point repainted its
                # ticks, labels and grid (about 2 ms per axis); a cached axis is blitted instead.
                plot.getAxis(axis).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            plot.setAutoVisible(y=True)  # y fits the data in view when the time axis is zoomed
            layout.addWidget(view, stretch=3 if name != "lr" else 2)
            self._views[name] = view
        self._views["lr"].getPlotItem().setLabel("bottom", "epoch")
        # The loss plot leads the shared time axis: its data start at epoch 0 and reach the latest
        # batch. It alone takes the mouse (zoom and pan along x); the other two follow it.
        self._views["loss"].getPlotItem().setMouseEnabled(x=True, y=False)
        for name in ("accuracy", "lr"):
            plot = self._views[name].getPlotItem()
            plot.setXLink(self._views["loss"].getPlotItem())
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
        self._views["loss"].getPlotItem().setLogMode(y=True)
        self._views["lr"].getPlotItem().setLogMode(y=True)

        acc_plot = self._views["accuracy"].getPlotItem()
        self.accuracy_curve = acc_plot.plot(symbol="o", symbolSize=6, antialias=True, name="test accuracy")
        self.guides: dict[float, pg.InfiniteLine] = {}
        for fraction, label in GUIDES.items():
            guide = pg.InfiniteLine(
                pos=100 * fraction, angle=0, movable=False, label=label,
                # Text below the line in the upper half of the view, above it in the lower half.
                labelOpts={"position": 0.03, "anchors": [(0, 0), (0, 1)]},
            )
            acc_plot.addItem(guide)
            self.guides[fraction] = guide

        loss_plot = self._views["loss"].getPlotItem()
        # Long runs report thousands of losses: draw only what is visible, peak-downsampled.
        loss_plot.setDownsampling(auto=True, mode="peak")
        loss_plot.setClipToView(True)
        self.loss_curve = loss_plot.plot(antialias=False, name="loss per report")  # faint and busy: not worth antialiasing
        self.loss_smooth_curve = loss_plot.plot(antialias=True, name="moving average")
        # The test set's loss after each epoch, where the training loss of that epoch ends.
        self.test_loss_curve = loss_plot.plot(symbol="d", symbolSize=7, antialias=True, name="test loss")

        lr_plot = self._views["lr"].getPlotItem()
        lr_plot.setDownsampling(auto=True, mode="peak")
        lr_plot.setClipToView(True)
        self.lr_curve = lr_plot.plot(antialias=True, name="learning rate")

        for name, hint in EMPTY_HINTS.items():
            # A child of the view box itself, not of its data: centred in pixels whatever the range.
            view_box = self._views[name].getPlotItem().getViewBox()
            text = pg.TextItem(hint, anchor=(0.5, 0.5))
            text.setParentItem(view_box)
            view_box.sigResized.connect(lambda box, text=text: text.setPos(box.rect().center()))
            self._hints[name] = text

        self._empty: dict[str, bool] = {}  # whether each plot shows its hint
        self.history = RunHistory()  # the current run's, drawn above every overlay
        self.history.subscribe(self._on_history_changed)
        self._markers: list[EventMarker] = []
        self._pending_best: dict[int, EventMarker] = {}  # new_best marked before its epoch's accuracy
        self._span = 1.0  # the current run's planned epochs
        self._overlays: dict[int, tuple[Overlay, tuple]] = {}  # run id → the run and its items
        self._colour_of: dict[int, int] = {}  # run id → its index in OVERLAY_COLOURS, for the session
        self._current_label = "this run"
        self._groups = GroupLayer({name: self._views[name].getPlotItem() for name in ("accuracy", "loss")})
        self._smoothing = DEFAULT_SMOOTHING
        self._loss_smoothing = GrowingSmoothing(self._smoothing)  # the current run's, a report at a time
        self._log_x = False
        self._placed_floor = log_floor([self.history])  # the log axis's left end the markers were placed by
        for curve in (self.accuracy_curve, self.loss_curve, self.loss_smooth_curve, self.test_loss_curve, self.lr_curve):
            curve.setZValue(CURRENT_Z)
        # Bottom right: accuracy curves rise to the top, and the values under the pointer show there.
        self.legend = pg.LegendItem(offset=(-10, -10), labelTextSize="8pt")
        self.legend.setParentItem(acc_plot.getViewBox())
        self.legend.hide()  # shown while there are overlays
        self.readout = PointerReadout(self._views, self.readout_at, lambda: self._log_x)
        self.controls.show_choices(self._smoothing, self._log_x, self.band())
        self.controls.smoothing_changed.connect(self.set_smoothing)
        self.controls.log_x_changed.connect(self.set_log_x)
        self.controls.band_changed.connect(self.set_band)
        self._apply_palette()
        for name in self._views:
            self._show_empty(name, True)

    # Public API -------------------------------------------------------------------------------

    def show_history(self, history: RunHistory) -> None:
        """Draw `history` as the current run from now on (what it holds, then each addition)."""
        self.history.unsubscribe(self._on_history_changed)
        self.history = history
        history.subscribe(self._on_history_changed)
        self._redraw()

    def reset(self) -> None:
        """Start afresh: an empty history of its own, no curves and no event markers."""
        self.show_history(RunHistory())

    def set_epoch_span(self, epochs: int) -> None:
        """Fix the shared epoch axis to 0..epochs for a run: a batch report then repaints only the
        loss plot, where a growing axis would repaint all three (about 20 ms each time). Overlaid
        runs that went further widen it."""
        self._span = max(1.0, float(epochs))
        self._fit_span()

    def _fit_span(self) -> None:
        """The shared axis from its start to the furthest run shown; on a log axis from the first
        batch's place (in log10 units, as pyqtgraph's view range is then)."""
        recorded = [overlay.history for overlay, _ in self._overlays.values()]
        recorded += self._groups.members()
        longest = max([self._span] + [history.last_epoch() for history in recorded])
        plot = self._views["loss"].getPlotItem()
        plot.enableAutoRange(x=False)
        if self._log_x and log_floor(self._floor_runs()) != self._placed_floor:
            self._place_markers()  # an overlay or the first batch moved the axis's left end
        if self._log_x:
            plot.setXRange(to_view(self._placed_floor, True, self._placed_floor), to_view(longest, True, 0), padding=0.02)
        else:
            plot.setXRange(0, longest, padding=0.02)

    # -- recorded runs ---------------------------------------------------------------------------
    def set_overlays(self, runs: list[Overlay]) -> None:
        """Show these recorded runs under the current one (each in its own colour, in the legend);
        runs no longer listed go."""
        wanted = {overlay.run_id for overlay in runs}
        for run_id in list(self._overlays):
            if run_id not in wanted:
                self._remove_overlay(run_id)
        for index, overlay in enumerate(runs):
            if overlay.run_id not in self._overlays:
                self._add_overlay(overlay, index)
        self._refresh_legend()
        self._fit_span()

    def overlay_colour(self, run_id: int) -> QColor:
        """The colour run `run_id` is drawn in, the same all session: when it is first overlaid, the
        colour fewest runs of this session have had (no two alike until seven runs were shown)."""
        if run_id not in self._colour_of:
            self._colour_of[run_id] = least_used(list(self._colour_of.values()), len(OVERLAY_COLOURS))
        return QColor(OVERLAY_COLOURS[self._colour_of[run_id]][self._dark()])

    def set_current_label(self, label: str) -> None:
        """How the legend names the current run ("this run", "run 3 (this run)")."""
        self._current_label = label
        self._refresh_legend()

    def overlaid_runs(self) -> list[int]:
        return sorted(self._overlays)

    def overlay_items(self, run_id: int) -> dict[str, pg.PlotDataItem]:
        """The plot items of an overlaid run, by plot name (tests look at their data)."""
        return dict(zip(PLOTS, self._overlays[run_id][1]))

    def _add_overlay(self, overlay: Overlay, index: int) -> None:
        colour = self.overlay_colour(overlay.run_id)
        history = overlay.history
        accuracy = pg.PlotDataItem(history.epochs.values, 100 * history.column("test_accuracy"), symbol="o", symbolSize=4,
                                   antialias=True, pen=pg.mkPen(colour, width=1.5), symbolPen=colour, symbolBrush=colour,
                                   name=overlay.label)
        pen = pg.mkPen(colour, width=1.5)
        loss = pg.PlotDataItem(history.batch_x.values, smoothed(history.batch_loss.values, self._smoothing), antialias=True,
                               pen=pen)
        lr = pg.PlotDataItem(history.batch_x.values, history.batch_lr.values, antialias=True, pen=pen)
        items = (accuracy, loss, lr)
        for name, item in zip(PLOTS, items):
            item.setZValue(CURRENT_Z - 1 - index)
            # Pick a run from the chart: a click on its curve names it (the Runs tab selects it).
            item.setCurveClickable(True, width=6)
            item.sigClicked.connect(lambda *_, run_id=overlay.run_id: self.run_picked.emit(run_id))
            item.setToolTip(f"{overlay.label}: click to select it in the Runs tab")
            self._views[name].addItem(item)
            self._show_empty(name, False)
        self._overlays[overlay.run_id] = (overlay, items)

    def _remove_overlay(self, run_id: int) -> None:
        _, items = self._overlays.pop(run_id)
        for name, item in zip(PLOTS, items):
            self._views[name].getPlotItem().removeItem(item)
        self._update_empty()

    def _refresh_legend(self) -> None:
        self.legend.clear()
        if not self._overlays and not self._groups:
            self.legend.hide()
            return
        self.legend.addItem(self.accuracy_curve, self._current_label)
        for overlay, items in self._overlays.values():
            self.legend.addItem(items[0], overlay.label)
        for item, label in self._groups.legend_entries():
            self.legend.addItem(item, label)
        self.legend.show()

    # -- seed groups ---------------------------------------------------------------------------------
    def set_groups(self, groups: list[GroupOverlay]) -> None:
        """Show these seed groups, each as its members' mean test accuracy per epoch with a band around
        it (and the same of the training loss), in a colour of its own; groups no longer listed go."""
        self._groups.set_groups(groups, self._dark())
        self._refresh_legend()
        self._update_empty()
        self._fit_span()

    def set_band(self, kind: str) -> None:
        """What the groups' bands show: "minmax" (the members' lowest and highest) or "sigma" (mean ± 1 σ)."""
        self._groups.set_band(kind)
        self._refresh_legend()
        self.controls.show_choices(self._smoothing, self._log_x, self.band())

    def band(self) -> str:
        return self._groups.band

    def group_colour(self, group_id: int) -> QColor:
        """The colour group `group_id` is drawn in, the same all session."""
        return self._groups.colour(group_id, self._dark())

    def shown_groups(self) -> list[int]:
        return sorted(self._groups.shown)

    def group_items(self, group_id: int) -> dict[str, pg.GraphicsObject]:
        """A group's items (tests look at their data): on the accuracy plot its "mean" curve and its
        "band" (a FillBetweenItem between the "low" and "high" edges); "loss_mean" and "loss_band" on
        the loss plot."""
        return self._groups.items(group_id)

    # -- how the curves are drawn: smoothing, log axis ---------------------------------------------
    def set_smoothing(self, weight: float) -> None:
        """Smooth the training loss with `weight`, TensorBoard's slider: 0 draws the raw losses, up to
        0.99 (clamped there) an ever steadier moving average. Overlaid runs are smoothed alike."""
        self._smoothing = clamp_smoothing(weight)
        self._loss_smoothing = GrowingSmoothing(self._smoothing)
        self._refresh_loss()
        for overlay, items in self._overlays.values():
            items[1].setData(overlay.history.batch_x.values, smoothed(overlay.history.batch_loss.values, self._smoothing))
        self.controls.show_choices(self._smoothing, self._log_x, self.band())

    def smoothing(self) -> float:
        return self._smoothing

    def set_log_x(self, on: bool) -> None:
        """Show the shared epoch axis on a log scale (all three plots) or a linear one. On a log axis,
        events at or before 0 are drawn at its left end, the first batch's place."""
        self._log_x = bool(on)
        for view in self._views.values():
            view.getPlotItem().setLogMode(x=self._log_x)  # the curves map themselves; markers are placed below
        self._groups.redraw_bands()
        self.readout.hide()  # its hairline stands where the pointer was on the other scale
        self._place_markers()
        self._fit_span()
        self.controls.show_choices(self._smoothing, self._log_x, self.band())

    def log_x(self) -> bool:
        return self._log_x

    # -- choices kept between sessions -------------------------------------------------------------
    def load_settings(self, settings: QSettings) -> list[str]:
        """Take the smoothing, log axis and band kept in `settings` (each one stored and usable);
        returns a line for the log per unusable value."""
        problems: list[str] = []
        choices = read_choices(settings, problems)
        if "smoothing" in choices:
            self.set_smoothing(choices["smoothing"])
        if "log_x" in choices:
            self.set_log_x(choices["log_x"])
        if "band" in choices:
            self.set_band(choices["band"])
        return problems

    def save_settings(self, settings: QSettings) -> None:
        write_choices(settings, self._smoothing, self._log_x, self.band())

    # -- values under the pointer -----------------------------------------------------------------
    def readout_at(self, plot_name: str, x: float) -> str:
        """What plot `plot_name` reads at epoch `x`: each curve's nearest point (within half an
        epoch), named as in the legend, e.g. "epoch 7 · this run 98.91 % · run 3 98.70 %"; "" when
        no curve has a point there. The pointer's readout shows this text."""
        if plot_name not in PLOTS:
            raise ValueError(f"no plot named {plot_name!r}: one of {PLOTS}")
        current = self._current_label
        parts: list[str] = []

        def add(name: str, item: pg.PlotDataItem, number: str, suffix: str = "") -> None:
            value = nearest(item.xData, item.yData, x, READ_REACH)
            if value is not None:
                parts.append(f"{name} {value:{number}}{suffix}")

        if plot_name == "accuracy":
            head = f"epoch {max(round(x), 1)}"
            add(current, self.accuracy_curve, ".2f", " %")
            for overlay, items in self._overlays.values():
                add(overlay.label, items[0], ".2f", " %")
        elif plot_name == "loss":
            head = f"epoch {x:.3g}"
            raw = nearest(self.loss_curve.xData, self.loss_curve.yData, x, READ_REACH)
            add(current, self.loss_smooth_curve, ".4g", f" (raw {raw:.4g})" if raw is not None and self._smoothing else "")
            add(f"{current} test", self.test_loss_curve, ".4g")
            for overlay, items in self._overlays.values():
                add(overlay.label, items[1], ".4g")
        else:
            head = f"epoch {x:.3g}"
            add(current, self.lr_curve, ".3g")
            for overlay, items in self._overlays.values():
                add(overlay.label, items[2], ".3g")
        parts += self._groups.readings(plot_name, x, READ_REACH)
        return SEPARATOR.join([head, *parts]) if parts else ""

    def leaveEvent(self, event: QEvent) -> None:
        self.readout.hide()
        super().leaveEvent(event)

    # -- export ------------------------------------------------------------------------------------
    def export(self, path: str) -> None:
        """Write the three plots as one PNG or SVG image, by the file's suffix (gui.plot_export)."""
        export_plots(self._plot_area, [self._views[name].getPlotItem() for name in PLOTS], path)

    # -- the current run's history ------------------------------------------------------------------
    def _on_history_changed(self, change: Change, marker: Marker | None) -> None:
        if change is Change.BATCHES:
            self._refresh_loss()
            self._refresh_lr()
            if self._log_x and log_floor(self._floor_runs()) != self._placed_floor:
                self._fit_span()  # the first batch fixed the log axis's left end (once a run)
        elif change is Change.EPOCHS:
            self._refresh_accuracy()
            for epoch in [epoch for epoch in self._pending_best if self._accuracy_at(epoch) is not None]:
                self._pending_best.pop(epoch).items[0].setData([self._view_x(epoch)], [self._accuracy_at(epoch)])
        elif change is Change.MARKER:
            self._mark(marker)
        else:
            self._redraw()

    def _redraw(self) -> None:
        """Everything from the history anew: its curves and its markers."""
        for marker in self._markers:
            for item in marker.items:
                for view in self._views.values():  # through the PlotItem, which keeps its own item list
                    if item in view.getPlotItem().items:
                        view.getPlotItem().removeItem(item)
        self._markers.clear()
        self._pending_best.clear()
        self._loss_smoothing = GrowingSmoothing(self._smoothing)
        self._refresh_accuracy()
        self._refresh_loss()
        self._refresh_lr()
        floor = self._placed_floor
        self._placed_floor = log_floor(self._floor_runs())
        for marker in self.history.markers:
            self._mark(marker)
        if self._log_x and self._placed_floor != floor:
            self._fit_span()

    def _floor_runs(self) -> list[RunHistory]:
        """The runs whose first batches set the log axis's left end."""
        return [self.history, *(overlay.history for overlay, _ in self._overlays.values())]

    def _view_x(self, epoch: float) -> float:
        """Where `epoch` sits in the plots' view coordinates (log10 units on a log axis)."""
        return to_view(epoch, self._log_x, self._placed_floor)

    def _place_markers(self) -> None:
        """Put every drawn marker where its epoch is on the axis as it is now (linear or log)."""
        self._placed_floor = log_floor(self._floor_runs())
        for drawn in self._markers:
            for item in drawn.items:
                if isinstance(item, pg.InfiniteLine):
                    item.setValue(self._view_x(drawn.epoch))
                elif len(item.data):  # a new-best star, once its epoch's accuracy is known
                    item.setData([self._view_x(drawn.epoch)], [self._accuracy_at(drawn.epoch)])

    def _mark(self, marker: Marker) -> None:
        """Draw a marker where it happened (a fractional epoch places it mid-epoch): new_best as a star
        at that epoch's accuracy; the other kinds as a vertical line, labelled on the first plot that
        shows it. Kinds without a style are not drawn."""
        style = MARKER_STYLES.get(marker.kind)
        if style is None:
            return
        text, epoch = marker_text(marker), marker.x
        colour = self._event_colour(marker.kind)
        if marker.kind is EventKind.NEW_BEST:
            item = pg.ScatterPlotItem(
                size=16, symbol="star", pen=pg.mkPen(self._foreground(), width=1), brush=pg.mkBrush(colour)
            )
            item.setZValue(10)  # above the accuracy curve's own symbols
            item.setToolTip(f"{text}: epoch {epoch:g}")
            accuracy = self._accuracy_at(epoch)
            if accuracy is not None:
                item.setData([self._view_x(epoch)], [accuracy])
            self._views["accuracy"].addItem(item)
            drawn = EventMarker(marker.kind, epoch, text, (item,))
            if accuracy is None:
                self._pending_best[int(epoch)] = drawn
        else:
            items = []
            stacked = self._labels_near(epoch)
            for i, name in enumerate(style.plots):
                base = 0.5 if name == "lr" else 0.12
                line = pg.InfiniteLine(
                    pos=self._view_x(epoch), angle=90, movable=False,
                    pen=pg.mkPen(colour, width=1.5, style=Qt.PenStyle.DashDotLine),
                    label=text if i == 0 else None,
                    # Low on the accuracy plot, where the rising curve has usually left room; on an
                    # opaque patch so it stays legible where it crosses a curve.
                    labelOpts={"position": (base + LABEL_STEP * stacked) % 0.84, "color": colour, "fill": self._label_fill()},
                )
                line.setToolTip(f"{text}: epoch {epoch:g}")
                self._views[name].addItem(line)  # counts for the x range, so the event stays in view
                items.append(line)
            drawn = EventMarker(marker.kind, epoch, text, tuple(items))
        self._markers.append(drawn)

    def _labels_near(self, epoch: float) -> int:
        """How many labelled lines are already drawn near `epoch` (a stop and a resume at one batch,
        an LR drop and a convergence in one epoch): a new label goes above them."""
        near = LABEL_NEAR * max(self._span, self.history.last_epoch(), 1.0)
        return sum(1 for drawn in self._markers if drawn.kind is not EventKind.NEW_BEST and abs(drawn.epoch - epoch) < near)

    def markers(self, kind: EventKind | str) -> list[EventMarker]:
        """The markers of `kind` currently shown, one per marked event, oldest first."""
        return [marker for marker in self._markers if marker.kind == kind]

    def plot_widget(self, name: str) -> pg.PlotWidget:
        """The PlotWidget named "accuracy", "loss" or "lr"."""
        return self._views[name]

    def is_empty(self, name: str) -> bool:
        """Whether the plot shows its hint (no data yet) rather than tick labels."""
        return self._hints[name].isVisible()

    # Internals --------------------------------------------------------------------------------

    def _accuracy_at(self, epoch: float) -> float | None:
        accuracy = self.history.value_at("test_accuracy", epoch)
        return None if accuracy is None else 100 * accuracy

    def _refresh_accuracy(self) -> None:
        history = self.history
        self.accuracy_curve.setData(history.epochs.values, 100 * history.column("test_accuracy"))
        self.test_loss_curve.setData(history.epochs.values, history.column("test_loss"))
        self._show_empty("accuracy", len(history.epochs) == 0 and not self._overlays and not self._groups)

    def _refresh_loss(self) -> None:
        history = self.history
        self.loss_curve.setData(history.batch_x.values, history.batch_loss.values)
        # Smoothed from the losses added since the last report only; a new weight starts it afresh.
        self.loss_smooth_curve.setData(history.batch_x.values, self._loss_smoothing.extend(history.batch_loss.values))
        self._show_empty("loss", len(history.batch_x) == 0 and not self._overlays and not self._groups)

    def _refresh_lr(self) -> None:
        self.lr_curve.setData(self.history.batch_x.values, self.history.batch_lr.values)
        self._show_empty("lr", len(self.history.batch_x) == 0 and not self._overlays)

    def _update_empty(self) -> None:
        """Each plot's hint shown or not, after overlays or groups came or went."""
        batches, recorded = len(self.history.batch_x), bool(self._overlays or self._groups)
        self._show_empty("accuracy", len(self.history.epochs) == 0 and not recorded)
        self._show_empty("loss", batches == 0 and not recorded)
        self._show_empty("lr", batches == 0 and not self._overlays)

    def _show_empty(self, name: str, empty: bool) -> None:
        """An empty plot shows its hint and no tick values; one with data the reverse."""
        if self._empty.get(name) == empty:
            return  # the usual case, a report on a plot that has data: nothing to change
        self._empty[name] = empty
        plot = self._views[name].getPlotItem()
        self._hints[name].setVisible(empty)
        for axis in ("left", "bottom"):
            plot.getAxis(axis).setStyle(showValues=not empty)
        if not empty:
            plot.enableAutoRange(y=True)

    def _dark(self) -> bool:
        return self.palette().color(QPalette.ColorRole.Base).lightness() < 128

    def _foreground(self) -> QColor:
        return self.palette().color(QPalette.ColorRole.WindowText)

    def _label_fill(self) -> QColor:
        fill = QColor(self.palette().color(QPalette.ColorRole.Base))
        fill.setAlpha(210)
        return fill

    def _event_colour(self, kind: EventKind) -> QColor:
        return QColor(MARKER_STYLES[kind].colours[self._dark()])

    def _apply_palette(self) -> None:
        """Take background and text colours from the widget's palette, so light and dark themes both read."""
        dark = self._dark()
        background = self.palette().color(QPalette.ColorRole.Base)
        foreground = self._foreground()
        for view in self._views.values():
            view.setBackground(background)
            plot = view.getPlotItem()
            plot.titleLabel.setText(plot.titleLabel.text, color=foreground)
            for axis in ("left", "bottom"):
                plot.getAxis(axis).setPen(foreground)
                plot.getAxis(axis).setTextPen(foreground)
        accuracy = QColor(_CURVE_COLOURS["accuracy"][dark])
        self.accuracy_curve.setPen(pg.mkPen(accuracy, width=2))
        self.accuracy_curve.setSymbolPen(accuracy)
        self.accuracy_curve.setSymbolBrush(accuracy)
        loss = QColor(_CURVE_COLOURS["loss"][dark])
        faint = QColor(loss)
        faint.setAlpha(70)
        self.loss_curve.setPen(pg.mkPen(faint, width=1))
        self.loss_smooth_curve.setPen(pg.mkPen(loss, width=2))
        test_loss = QColor(_CURVE_COLOURS["test_loss"][dark])
        self.test_loss_curve.setPen(pg.mkPen(test_loss, width=1.5, style=Qt.PenStyle.DashLine))
        self.test_loss_curve.setSymbolPen(test_loss)
        self.test_loss_curve.setSymbolBrush(test_loss)
        lr = QColor(_CURVE_COLOURS["lr"][dark])
        self.lr_curve.setPen(pg.mkPen(lr, width=2))
        for hint in self._hints.values():
            hint.setColor(self.palette().color(QPalette.ColorRole.PlaceholderText))
        guide = QColor(foreground)
        guide.setAlpha(160)
        for line in self.guides.values():
            line.setPen(pg.mkPen(guide, width=1, style=Qt.PenStyle.DashLine))
            line.label.setColor(guide)
        for run_id, (_, items) in self._overlays.items():
            colour = self.overlay_colour(run_id)
            for item in items:
                item.setPen(pg.mkPen(colour, width=1.5))
            items[0].setSymbolPen(colour)
            items[0].setSymbolBrush(colour)
        self._groups.set_palette(dark)
        self.readout.set_colours(foreground, self._label_fill())
        self.legend.setLabelTextColor(foreground)
        for marker in self._markers:
            colour = self._event_colour(marker.kind)
            for item in marker.items:
                if isinstance(item, pg.InfiniteLine):
                    item.setPen(pg.mkPen(colour, width=1.5, style=Qt.PenStyle.DashDotLine))
                    if item.label is not None:
                        item.label.setColor(colour)
                        item.label.fill = pg.mkBrush(self._label_fill())
                else:
                    item.setBrush(pg.mkBrush(colour))
                    item.setPen(pg.mkPen(foreground, width=1))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_palette()
        super().changeEvent(event)
