"""TrainingPlots, a view over a RunHistory: curves created once and given the history's data as it
grows, event markers, guides, overlays. Asserts on data, not pixels."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QColor, QPalette

from mnistconv.core.history import EMA_DECAY, EventKind, Marker, RunHistory, epoch_position
from mnistconv.gui.plots import Overlay, TrainingPlots


@pytest.fixture
def plots(qtbot):
    widget = TrainingPlots()
    qtbot.addWidget(widget)
    return widget


@pytest.fixture
def history(plots):
    """The history the plots draw: the tests add to it, and look at the plots."""
    shown = RunHistory()
    plots.show_history(shown)
    return shown


def report(history, epoch, batch, batches, loss, lr):
    history.add_batch(epoch_position(epoch, batch, batches), loss, lr)


def mark(history, kind, x, detail=None):
    history.add_marker(Marker(x, EventKind(kind), detail))


def data_items(plots, name):
    return plots.plot_widget(name).getPlotItem().listDataItems()


def test_add_epoch_extends_the_same_accuracy_curve(plots, history):
    accuracy_curve = plots.accuracy_curve
    for epoch, accuracy in ((1, 0.977), (2, 0.985), (3, 0.991)):
        history.add_epoch(epoch, test_accuracy=accuracy)

    assert plots.accuracy_curve is accuracy_curve
    assert data_items(plots, "accuracy") == [accuracy_curve]  # no second curve was added
    np.testing.assert_array_equal(accuracy_curve.xData, [1, 2, 3])
    np.testing.assert_allclose(accuracy_curve.yData, [97.7, 98.5, 99.1])  # percent


def test_the_learning_rate_is_plotted_at_the_losss_points(plots, history):
    """A one-cycle schedule changes the rate every batch: one point per report shows its curve."""
    lr_curve = plots.lr_curve
    reports = [(1, 10, 40, 1.0, 4e-4), (1, 20, 40, 0.8, 2e-3), (1, 40, 40, 0.6, 8e-3), (2, 20, 40, 0.4, 5e-3),
               (2, 40, 40, 0.3, 1e-4)]
    for row in reports:
        report(history, *row)
    assert plots.lr_curve is lr_curve and data_items(plots, "lr") == [lr_curve]
    np.testing.assert_allclose(lr_curve.xData, plots.loss_curve.xData)
    np.testing.assert_allclose(lr_curve.xData, [0.25, 0.5, 1.0, 1.5, 2.0])
    np.testing.assert_allclose(lr_curve.yData, [r[4] for r in reports])


def test_empty_plots_say_what_they_will_show_instead_of_bare_ticks(plots, history):
    def shows_values(name):
        plot = plots.plot_widget(name).getPlotItem()
        return [plot.getAxis(axis).style["showValues"] for axis in ("left", "bottom")]

    for name in ("accuracy", "loss", "lr"):
        assert plots.is_empty(name) and shows_values(name) == [False, False]
    report(history, 1, 10, 40, 1.0, 1e-3)
    assert not plots.is_empty("loss") and shows_values("loss") == [True, True]
    assert not plots.is_empty("lr") and shows_values("lr") == [True, True]
    assert plots.is_empty("accuracy")
    history.add_epoch(1, test_accuracy=0.97)
    assert not plots.is_empty("accuracy") and shows_values("accuracy") == [True, True]
    plots.reset()
    assert all(plots.is_empty(name) and shows_values(name) == [False, False] for name in ("accuracy", "loss", "lr"))


def test_add_batch_extends_raw_and_smoothed_loss(plots, history):
    raw, smooth = plots.loss_curve, plots.loss_smooth_curve
    report(history, 1, 25, 100, 2.0, 1e-3)
    report(history, 1, 50, 100, 1.0, 1e-3)
    report(history, 2, 50, 100, 0.5, 1e-3)

    assert plots.loss_curve is raw and plots.loss_smooth_curve is smooth
    assert data_items(plots, "loss") == [raw, smooth, plots.test_loss_curve]
    np.testing.assert_allclose(raw.xData, [0.25, 0.5, 1.5])  # epoch - 1 + batch / batches
    np.testing.assert_allclose(raw.yData, [2.0, 1.0, 0.5])
    np.testing.assert_allclose(smooth.xData, raw.xData)
    # Bias-corrected EMA: starts at the first loss, then lags behind the raw values.
    expected = (EMA_DECAY * (1 - EMA_DECAY) * 2.0 + (1 - EMA_DECAY) * 1.0) / (1 - EMA_DECAY**2)
    assert smooth.yData[0] == pytest.approx(2.0)
    assert smooth.yData[1] == pytest.approx(expected)
    assert 0.5 < smooth.yData[2] < smooth.yData[1]


def test_a_nan_loss_leaves_a_gap_and_the_average_unchanged(plots, history):
    report(history, 1, 1, 10, 1.0, 1e-3)
    report(history, 1, 2, 10, math.nan, 1e-3)

    assert math.isnan(plots.loss_curve.yData[1])
    assert plots.loss_smooth_curve.yData[1] == pytest.approx(1.0)


def test_accuracy_guides_at_the_seed_marks(plots, history):
    assert set(plots.guides) == {0.99, 0.999}
    accuracy_items = plots.plot_widget("accuracy").getPlotItem().items
    for fraction, label in ((0.99, "99 %"), (0.999, "99.9 %")):
        guide = plots.guides[fraction]
        assert isinstance(guide, pg.InfiniteLine) and guide.angle == 0
        assert guide.value() == pytest.approx(100 * fraction)
        assert guide.label.toPlainText() == label
        assert guide in accuracy_items


def test_lr_drop_marks_the_lr_and_accuracy_plots_once(plots, history):
    mark(history, "lr_drop", 2)

    (marker,) = plots.markers("lr_drop")
    assert marker.epoch == 2
    views = {item.getViewBox() for item in marker.items}
    assert views == {plots.plot_widget(name).getPlotItem().getViewBox() for name in ("lr", "accuracy")}
    assert all(isinstance(item, pg.InfiniteLine) and item.angle == 90 and item.value() == 2 for item in marker.items)
    assert plots.markers("new_best") == []


@pytest.mark.parametrize("kind", ["early_exit", "converged", "nan_abort", "stopped"])
def test_run_ending_events_mark_all_three_plots(plots, history, kind):
    mark(history, kind, 7)

    (marker,) = plots.markers(kind)
    assert len(marker.items) == 3 and marker.text == {"early_exit": "early exit", "converged": "converged",
                                                      "nan_abort": "NaN abort", "stopped": "stopped"}[kind]
    assert {item.getViewBox() for item in marker.items} == {
        plots.plot_widget(name).getPlotItem().getViewBox() for name in ("accuracy", "loss", "lr")
    }


def test_new_best_is_a_star_at_that_epochs_accuracy(plots, history):
    history.add_epoch(1, test_accuracy=0.98)
    history.add_epoch(2, test_accuracy=0.985)
    mark(history, "new_best", 2)

    (marker,) = plots.markers("new_best")
    (star,) = marker.items
    assert isinstance(star, pg.ScatterPlotItem)
    x, y = star.getData()
    np.testing.assert_allclose([x[0], y[0]], [2, 98.5])


def test_new_best_before_its_epoch_arrives_is_placed_when_it_does(plots, history):
    mark(history, "new_best", 1)
    history.add_epoch(1, test_accuracy=0.97)

    (star,) = plots.markers("new_best")[0].items
    x, y = star.getData()
    np.testing.assert_allclose([x[0], y[0]], [1, 97.0])


def test_unknown_event_kind_is_an_error(plots, history):
    with pytest.raises(ValueError, match="not a valid EventKind"):
        mark(history, "exploded", 1)


def test_a_kind_without_a_style_is_kept_in_the_history_and_not_drawn(plots, history):
    mark(history, "save_failed", 1, "the disk is full")
    assert history.markers[-1].kind is EventKind.SAVE_FAILED
    assert all(plots.markers(kind) == [] for kind in EventKind)


def test_an_lr_drop_is_labelled_with_its_new_rate(plots, history):
    mark(history, "lr_drop", 3, "0.0003")
    (marker,) = plots.markers("lr_drop")
    assert marker.text == "lr 0.0003" and marker.items[0].label.toPlainText() == "lr 0.0003"


def test_reset_empties_curves_and_markers_but_keeps_the_guides(plots, history):
    curves = (plots.accuracy_curve, plots.loss_curve, plots.loss_smooth_curve, plots.lr_curve)
    report(history, 1, 1, 1, 0.3, 1e-3)
    history.add_epoch(1, test_accuracy=0.98)
    mark(history, "new_best", 1)
    mark(history, "lr_drop", 1)
    mark(history, "converged", 1)
    items = [item for kind in ("new_best", "lr_drop", "converged") for m in plots.markers(kind) for item in m.items]
    assert len(items) == 1 + 2 + 3  # a star, a line on two plots, a line on all three
    assert all(item.scene() is not None for item in items)
    assert all(len(curve.xData) for curve in curves)  # each curve has something for reset to empty

    plots.reset()

    assert (plots.accuracy_curve, plots.loss_curve, plots.loss_smooth_curve, plots.lr_curve) == curves
    for curve in curves:
        assert curve.xData is None or len(curve.xData) == 0
    for kind in ("new_best", "lr_drop", "converged"):
        assert plots.markers(kind) == []
    assert all(item.scene() is None for item in items)  # taken off the plots, not just forgotten
    assert not any(item in plots.plot_widget(n).getPlotItem().items for n in ("accuracy", "loss", "lr") for item in items)
    assert all(guide.scene() is not None for guide in plots.guides.values())

    history.add_epoch(2, test_accuracy=0.99)  # the history it left is no longer drawn
    assert plots.accuracy_curve.xData is None or len(plots.accuracy_curve.xData) == 0
    plots.history.add_epoch(1, test_accuracy=0.99)  # a new run starts from scratch
    np.testing.assert_array_equal(plots.accuracy_curve.xData, [1])


def test_a_history_that_holds_a_run_already_is_drawn_whole(plots):
    """A resumed run: its recorded history shown at once, markers included, then extended."""
    recorded = RunHistory()
    for epoch, accuracy in ((1, 0.97), (2, 0.98)):
        recorded.add_batch(epoch - 0.5, 1 / epoch, 3e-3)
        recorded.add_batch(epoch, 0.8 / epoch, 3e-3)
        recorded.add_epoch(epoch, test_accuracy=accuracy)
    recorded.add_marker(Marker(2, EventKind.NEW_BEST, "0.9800"))
    recorded.add_marker(Marker(1.5, EventKind.STOPPED))
    plots.show_history(recorded)
    np.testing.assert_allclose(plots.accuracy_curve.yData, [97.0, 98.0])
    np.testing.assert_allclose(plots.loss_curve.xData, [0.5, 1, 1.5, 2])
    np.testing.assert_allclose(plots.loss_smooth_curve.yData, recorded.loss_smooth.values)
    (star,) = plots.markers("new_best")[0].items
    assert list(star.getData()[1]) == [98.0]
    assert [m.epoch for m in plots.markers("stopped")] == [1.5]
    recorded.add_epoch(3, test_accuracy=0.99)
    np.testing.assert_allclose(plots.accuracy_curve.xData, [1, 2, 3])


def test_overlays_draw_their_histories_under_the_current_run(plots, history):
    recorded = RunHistory()
    recorded.add_batch(0.5, 2.0, 1e-3)
    recorded.add_batch(1.0, 1.0, 1e-3)
    recorded.add_epoch(1, test_accuracy=0.9)
    recorded.add_epoch(4, test_accuracy=0.95)
    plots.set_epoch_span(2)
    plots.set_overlays([Overlay(7, "run 7 (seed)", recorded)])
    items = plots.overlay_items(7)
    np.testing.assert_allclose(items["accuracy"].yData, [90.0, 95.0])
    np.testing.assert_allclose(items["loss"].yData, recorded.loss_smooth.values)  # the moving average, as the live curve's
    assert items["lr"].zValue() < plots.lr_curve.zValue()
    assert plots.plot_widget("loss").getPlotItem().getViewBox().viewRange()[0][1] >= 4  # the longer run widens the axis
    assert not plots.is_empty("accuracy")
    plots.set_overlays([])
    assert plots.overlaid_runs() == [] and plots.is_empty("accuracy")


def test_background_and_text_follow_the_palette(plots, history):
    palette = QPalette(QColor("#202020"))
    palette.setColor(QPalette.ColorRole.Base, QColor("#101010"))
    palette.setColor(QPalette.ColorRole.WindowText, QColor("#eeeeee"))
    plots.setPalette(palette)

    view = plots.plot_widget("accuracy")
    assert view.backgroundBrush().color() == QColor("#101010")
    assert view.getPlotItem().getAxis("left").textPen().color() == QColor("#eeeeee")


def test_the_test_loss_is_a_point_per_epoch_on_the_loss_plot(plots, history):
    report(history, 1, 4, 4, 0.5, 1e-3)
    history.add_epoch(1, test_accuracy=0.9, test_loss=0.31)
    history.add_epoch(2, test_accuracy=0.95, test_loss=0.12)
    np.testing.assert_allclose(plots.test_loss_curve.xData, [1, 2])
    np.testing.assert_allclose(plots.test_loss_curve.yData, [0.31, 0.12])
    assert plots.test_loss_curve.getViewBox() is plots.plot_widget("loss").getPlotItem().getViewBox()


def overlay_pen_colour(plots, run_id):
    return plots.overlay_items(run_id)["accuracy"].opts["pen"].color().name()


def test_each_overlaid_run_keeps_its_colour_and_none_is_the_current_runs(plots, history):
    runs = {run_id: RunHistory() for run_id in (1, 2, 3)}
    for recorded in runs.values():
        recorded.add_epoch(1, test_accuracy=0.9)
    plots.set_overlays([Overlay(2, "run 2", runs[2])])  # ticked first
    second = overlay_pen_colour(plots, 2)
    plots.set_overlays([Overlay(1, "run 1", runs[1]), Overlay(2, "run 2", runs[2])])  # then run 1, listed before it
    first = overlay_pen_colour(plots, 1)
    assert overlay_pen_colour(plots, 2) == second and first != second  # two runs, two colours, run 2's kept
    plots.set_overlays([Overlay(3, "run 3", runs[3])])
    plots.set_overlays([Overlay(1, "run 1", runs[1]), Overlay(2, "run 2", runs[2]), Overlay(3, "run 3", runs[3])])
    colours = [overlay_pen_colour(plots, run_id) for run_id in (1, 2, 3)]
    assert colours[:2] == [first, second] and len(set(colours)) == 3
    current = {plots.accuracy_curve.opts["pen"].color().name(), plots.loss_smooth_curve.opts["pen"].color().name(),
               plots.lr_curve.opts["pen"].color().name(), plots.test_loss_curve.opts["pen"].color().name()}
    assert not current & set(colours)


def test_labels_of_markers_at_one_place_are_stacked_not_drawn_over_each_other(plots, history):
    plots.set_epoch_span(10)
    history.add_marker(Marker(2.5, EventKind.STOPPED))
    history.add_marker(Marker(2.5, EventKind.STOPPED))  # stopped again where it was resumed
    history.add_marker(Marker(8.0, EventKind.STOPPED))
    positions = [marker.items[0].label.orthoPos for marker in plots.markers(EventKind.STOPPED)]
    assert positions[0] != positions[1] and positions[2] == positions[0]


def test_an_svg_export_draws_the_same_in_renderers_without_non_scaling_strokes(plots, history, tmp_path):
    """rsvg and ImageMagick ignore vector-effect: every stroke must be as thin as it shows, as written."""
    import re
    import xml.etree.ElementTree as ElementTree

    for i in range(1, 100):
        history.add_batch(i / 25, 2.0 / i, 3e-3)
    for epoch in (1, 2, 3):
        history.add_epoch(epoch, test_accuracy=0.9 + epoch / 100, test_loss=0.3 / epoch)
    plots.resize(700, 600)
    plots.export(str(tmp_path / "plots.svg"))
    root = ElementTree.parse(tmp_path / "plots.svg").getroot()
    widest = []

    def walk(element, scale, width):
        matrix = re.search(r"matrix\(([^)]*)\)", element.get("transform", ""))
        if matrix:
            a, b, c, d = (float(v) for v in re.split(r"[ ,]+", matrix.group(1).strip())[:4])
            scale *= math.sqrt(abs(a * d - b * c)) or 1.0
        width = float(element.get("stroke-width", width))
        assert element.get("vector-effect") is None and element.get("font-family") != "Sans Serif"
        if element.tag.endswith(("polyline", "path")):  # the curves, guides and frames
            widest.append(width * scale)
        for child in element:
            walk(child, scale, width)

    walk(root, 1.0, 1.0)
    assert len(widest) >= 8 and max(widest) <= 4  # as drawn on screen: pens of 1–2 px (50× and more before)
