"""Values under the pointer: a hairline across the three plots and, on each, a small readout of
every curve's nearest point at the pointer's x (the text comes from TrainingPlots.readout_at).

It hears the plots' scenes' mouse moves through pg.SignalProxy, at most READOUT_RATE a second, and
nothing else: while the pointer is elsewhere a batch report costs it nothing.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor

from .plot_log_x import from_view

READOUT_RATE = 30  # readouts a second at most, however fast the pointer moves
SEPARATOR = " · "
HAIRLINE_Z = 30  # above every curve
GAP = 6  # pixels between the hairline and its readout
WIDEST = 380  # pixels: a longer readout wraps between values


def nearest(xs: np.ndarray | None, ys: np.ndarray | None, x: float, reach: float) -> float | None:
    """The y of the finite point nearest `x`, when one lies within `reach` of it; else None (for a
    curve without data too)."""
    if xs is None or ys is None or not len(xs) or not len(ys):
        return None
    n = min(len(xs), len(ys))  # a live curve's arrays are read between two of its reports
    distance = np.abs(xs[:n] - x)
    distance[~np.isfinite(ys[:n])] = np.inf  # a NaN loss is a gap, not a value
    i = int(np.argmin(distance))
    return float(ys[i]) if distance[i] <= reach else None


class PointerReadout:
    """The hairlines and readouts over `views` (name → PlotWidget); `text_at(name, x)` says what a
    plot reads at epoch `x` ("" for nothing), `log_x()` whether the axis is logarithmic."""

    def __init__(self, views: dict[str, pg.PlotWidget], text_at: Callable[[str, float], str], log_x: Callable[[], bool]):
        self._views, self._text_at, self._log_x = views, text_at, log_x
        self.hairlines: dict[str, pg.InfiniteLine] = {}
        self.texts: dict[str, pg.TextItem] = {}
        self._proxies = []
        for name, view in views.items():
            line = pg.InfiniteLine(angle=90, movable=False)
            line.setZValue(HAIRLINE_Z)
            line.hide()
            view.addItem(line, ignoreBounds=True)  # it follows the pointer, not the data: no say in the range
            text = pg.TextItem(anchor=(0, 0))
            text.setParentItem(view.getPlotItem().getViewBox())  # in pixels, beside the hairline
            text.setZValue(HAIRLINE_Z)
            text.hide()
            self.hairlines[name], self.texts[name] = line, text
            self._proxies.append(pg.SignalProxy(view.scene().sigMouseMoved, rateLimit=READOUT_RATE,
                                                slot=lambda args, name=name: self._on_moved(name, args[0])))

    def show_at(self, view_x: float) -> None:
        """The hairline at `view_x` (view coordinates) on every plot, and each plot's readout there."""
        x = from_view(view_x, self._log_x())
        for name, view in self._views.items():
            self.hairlines[name].setValue(view_x)
            self.hairlines[name].show()
            self._place(self.texts[name], self._text_at(name, x), view.getPlotItem().getViewBox(), view_x)

    @staticmethod
    def _place(text: pg.TextItem, content: str, view_box: pg.ViewBox, view_x: float) -> None:
        """At the top of the plot, on the roomier side of the hairline (as a tooltip), wrapped to that room."""
        text.setVisible(bool(content))
        if not content:
            return
        line = view_box.mapFromView(QPointF(view_x, 0)).x()
        right = line < view_box.width() / 2
        room = min((view_box.width() - line if right else line) - 2 * GAP, WIDEST)
        text.setTextWidth(-1)  # its own width first: a short readout keeps a small box
        text.setText(content)
        if text.textItem.boundingRect().width() > room:
            text.setTextWidth(max(room, 100.0))
        text.setAnchor((0, 0) if right else (1, 0))
        text.setPos(line + GAP if right else line - GAP, 2)

    def hide(self) -> None:
        for item in (*self.hairlines.values(), *self.texts.values()):
            item.hide()

    def set_colours(self, foreground: QColor, fill: QColor) -> None:
        line = QColor(foreground)
        line.setAlpha(140)
        for hairline in self.hairlines.values():
            hairline.setPen(pg.mkPen(line, width=1, style=Qt.PenStyle.DotLine))
        for text in self.texts.values():
            text.setColor(foreground)
            text.fill = pg.mkBrush(fill)
            text.update()

    def _on_moved(self, name: str, scene_pos: QPointF) -> None:
        view_box = self._views[name].getPlotItem().getViewBox()
        if not view_box.sceneBoundingRect().contains(scene_pos):
            self.hide()  # over an axis or the title: nothing to read
            return
        self.show_at(view_box.mapSceneToView(scene_pos).x())
