"""TrainingPlots, a view over a RunHistory: curves created once and given the history's data as it
grows, event markers, guides, overlays; the loss's smoothing, a log epoch axis, values under the
pointer, seed groups as mean and band, and the controls above the plots. Asserts on data, not pixels."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPointF
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
    np.testing.assert_allclose(plots.loss_smooth_curve.yData, loss_smoother_output(recorded.batch_loss.values, EMA_DECAY))
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
    np.testing.assert_allclose(items["loss"].yData, loss_smoother_output(recorded.batch_loss.values, EMA_DECAY))
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


# -- a learning rate set by a person or the run's plan ------------------------------------------------

def test_an_lr_set_is_marked_on_the_lr_and_accuracy_plots_with_its_rate(plots, history):
    from mnistconv.core import events

    history.observe(events.TrainingStarted(**started_fields(batches_per_epoch=100)))
    history.observe(events.LrChanged(epoch=1, batch=0, batches=100, old_lr=3e-3, new_lr=1e-3, planned=True))
    mark(history, "lr_drop", 2, "0.0003")

    (marker,) = plots.markers(EventKind.LR_SET)
    assert marker.epoch == 0.0 and marker.text == "lr 0.001 set"
    assert {item.getViewBox() for item in marker.items} == {
        plots.plot_widget(name).getPlotItem().getViewBox() for name in ("lr", "accuracy")}
    assert marker.items[0].label.toPlainText() == "lr 0.001 set"
    assert all(isinstance(item, pg.InfiniteLine) and item.value() == 0.0 for item in marker.items)
    drop = plots.markers(EventKind.LR_DROP)[0].items[0].pen.color()
    assert marker.items[0].pen.color() != drop  # a person's change is told apart from the schedule's drop


def started_fields(**given):
    """TrainingStarted's fields, any value where the test does not care."""
    from dataclasses import fields

    from mnistconv.core import events

    values = {field.name: None for field in fields(events.TrainingStarted)}
    values.update(given)
    return values


# -- the loss's smoothing -------------------------------------------------------------------------------

LOSSES = [2.0, 1.5, math.nan, 1.2, 0.9, 1.1, 0.7, 0.8, 0.5, 0.6]


def loss_smoother_output(losses, weight):
    from mnistconv.core.history import LossSmoother

    smoother = LossSmoother(weight)
    return [smoother.update(loss) for loss in losses]


def recorded_run(losses=LOSSES, epochs=((1, 0.97), (2, 0.98))):
    run = RunHistory()
    for i, loss in enumerate(losses, start=1):
        run.add_batch(i / len(losses) * len(epochs), loss, 1e-3 / i)
    for epoch, accuracy in epochs:
        run.add_epoch(epoch, test_accuracy=accuracy, train_loss=1 / epoch)
    return run


def test_smoothing_0_draws_the_raw_losses_and_0_9_loss_smoothers_average_as_before(plots, history):
    for i, loss in enumerate(LOSSES, start=1):
        report(history, 1, i, len(LOSSES), loss, 1e-3)
    assert plots.smoothing() == pytest.approx(EMA_DECAY)  # today's look by default
    np.testing.assert_allclose(plots.loss_smooth_curve.yData, loss_smoother_output(LOSSES, 0.9))

    plots.set_smoothing(0.0)
    assert plots.smoothing() == 0.0
    finite = np.isfinite(LOSSES)
    np.testing.assert_allclose(plots.loss_smooth_curve.yData[finite], np.array(LOSSES)[finite])
    assert plots.loss_smooth_curve.yData[2] == pytest.approx(1.5)  # a NaN loss leaves the average where it was

    plots.set_smoothing(0.6)
    np.testing.assert_allclose(plots.loss_smooth_curve.yData, loss_smoother_output(LOSSES, 0.6))
    plots.set_smoothing(0.9)
    np.testing.assert_allclose(plots.loss_smooth_curve.yData, loss_smoother_output(LOSSES, 0.9))
    plots.set_smoothing(1.0)
    assert plots.smoothing() == 0.99  # TensorBoard's highest


def test_overlaid_runs_are_smoothed_alike(plots, history):
    plots.set_overlays([Overlay(3, "run 3", recorded_run())])
    loss_item = plots.overlay_items(3)["loss"]
    np.testing.assert_allclose(loss_item.yData, loss_smoother_output(LOSSES, 0.9))
    plots.set_smoothing(0.3)
    np.testing.assert_allclose(plots.overlay_items(3)["loss"].yData, loss_smoother_output(LOSSES, 0.3))
    plots.set_overlays([Overlay(3, "run 3", recorded_run()), Overlay(4, "run 4", recorded_run())])
    np.testing.assert_allclose(plots.overlay_items(4)["loss"].yData, loss_smoother_output(LOSSES, 0.3))  # a new one too


def test_a_batch_report_smooths_only_its_own_loss_not_the_whole_run(plots, history, monkeypatch):
    import mnistconv.gui.plot_smoothing as plot_smoothing

    steps = []

    class CountingSmoother(plot_smoothing.LossSmoother):
        def update(self, loss):
            steps.append(loss)
            return super().update(loss)

    monkeypatch.setattr(plot_smoothing, "LossSmoother", CountingSmoother)
    plots.set_smoothing(0.5)
    losses = [1 / i for i in range(1, 201)]
    for i, loss in enumerate(losses, start=1):
        report(history, 1, i, 200, loss, 1e-3)
    assert len(steps) == 200  # one step a report (recomputing the series each time would take 20 100)
    np.testing.assert_allclose(plots.loss_smooth_curve.yData, loss_smoother_output(losses, 0.5))
    steps.clear()
    plots.set_smoothing(0.7)  # a new weight: the whole series once
    assert len(steps) == 200
    np.testing.assert_allclose(plots.loss_smooth_curve.yData, loss_smoother_output(losses, 0.7))


def test_the_smoothing_slider_sets_the_weight_and_shows_it(plots, history):
    for i, loss in enumerate(LOSSES, start=1):
        report(history, 1, i, len(LOSSES), loss, 1e-3)
    controls = plots.controls
    assert controls.smoothing_slider.value() == 90 and controls.smoothing_value.text() == "0.90"
    controls.smoothing_slider.setValue(0)
    assert plots.smoothing() == 0.0 and controls.smoothing_value.text() == "0.00"
    np.testing.assert_allclose(plots.loss_smooth_curve.yData[0], LOSSES[0])
    assert plots.loss_smooth_curve.yData[1] == pytest.approx(LOSSES[1])
    plots.set_smoothing(0.75)  # set in code: the slider follows
    assert controls.smoothing_slider.value() == 75 and controls.smoothing_value.text() == "0.75"
    assert controls.smoothing_slider.toolTip() and controls.log_x_check.toolTip() and controls.band_combo.toolTip()


# -- log epoch axis -------------------------------------------------------------------------------------

def x_log_modes(plots):
    return [plots.plot_widget(name).getPlotItem().getAxis("bottom").logMode for name in ("accuracy", "loss", "lr")]


def test_log_x_puts_all_three_plots_on_a_log_axis_and_markers_at_0_at_its_left_end(plots, history):
    history.batches_per_epoch = 50  # the first batch at 1/50 of an epoch
    plots.set_epoch_span(10)
    mark(history, "lr_set", 0.0, "0.001")  # as epoch 1 starts
    for i in range(1, 101):
        report(history, 1 + (i - 1) // 50, (i - 1) % 50 + 1, 50, 1 / i, 1e-3)
    history.add_epoch(1, test_accuracy=0.9, test_loss=0.3)
    history.add_epoch(2, test_accuracy=0.95, test_loss=0.2)
    mark(history, "new_best", 2)
    mark(history, "converged", 2)

    plots.set_log_x(True)
    mark(history, "stopped", 0.0)  # marked while the axis is logarithmic: placed there too

    assert plots.log_x() and x_log_modes(plots) == [True, True, True]
    assert plots.controls.log_x_check.isChecked()
    floor = math.log10(1 / 50)
    for kind in (EventKind.LR_SET, EventKind.STOPPED):
        assert all(item.value() == pytest.approx(floor) for item in plots.markers(kind)[0].items)
    assert all(item.value() == pytest.approx(math.log10(2)) for item in plots.markers("converged")[0].items)
    (star,) = plots.markers("new_best")[0].items
    np.testing.assert_allclose([star.getData()[0][0], star.getData()[1][0]], [math.log10(2), 95.0])
    (left, right), _ = plots.plot_widget("loss").getPlotItem().getViewBox().viewRange()
    assert left < floor < math.log10(10) < right and right - left < 3  # log10 units: from the first batch to epoch 10
    assert plots.plot_widget("accuracy").getPlotItem().getViewBox().viewRange()[0] == pytest.approx([left, right])
    np.testing.assert_allclose(plots.loss_curve.xData, history.batch_x.values)  # pyqtgraph maps the data itself

    plots.set_log_x(False)
    assert x_log_modes(plots) == [False, False, False]
    assert [item.value() for item in plots.markers(EventKind.LR_SET)[0].items] == [0.0, 0.0]
    assert star.getData()[0][0] == 2
    assert plots.plot_widget("loss").getPlotItem().getViewBox().viewRange()[0][1] == pytest.approx(10.2)


def test_log_x_before_any_batch_then_the_first_batch_sets_the_left_end(plots, history):
    plots.set_epoch_span(3)
    plots.set_log_x(True)
    mark(history, "lr_set", 0.0, "0.003")  # no batch yet, no batch count known: a default left end
    (line, _) = plots.markers(EventKind.LR_SET)[0].items
    assert math.isfinite(line.value())
    report(history, 1, 1, 20, 1.0, 3e-3)  # the first report, a twentieth into epoch 1
    assert line.value() == pytest.approx(math.log10(0.05))
    assert plots.plot_widget("loss").getPlotItem().getViewBox().viewRange()[0][0] < math.log10(0.05)
    plots.reset()  # a new run on a log axis: nothing raises
    mark(plots.history, "stopped", 0.0)
    assert math.isfinite(plots.markers(EventKind.STOPPED)[0].items[0].value())


# -- values under the pointer ---------------------------------------------------------------------------

def two_runs(plots, history):
    """The current run and run 3, each with accuracies and losses near epoch 7."""
    plots.set_smoothing(0.0)
    for x, loss, lr in ((6.5, 0.1, 1e-3), (7.0, 0.08, 5e-4)):
        history.add_batch(x, loss, lr)
    history.add_epoch(6, test_accuracy=0.9870, test_loss=0.05)
    history.add_epoch(7, test_accuracy=0.9891, test_loss=0.04)
    run_3 = RunHistory()
    for x, loss, lr in ((6.5, 0.2, 2e-3), (7.0, 0.12, 1e-3)):
        run_3.add_batch(x, loss, lr)
    run_3.add_epoch(7, test_accuracy=0.9870)
    plots.set_overlays([Overlay(3, "run 3", run_3)])


def test_the_readout_gives_each_curves_nearest_value(plots, history):
    two_runs(plots, history)
    assert plots.readout_at("accuracy", 7.2) == "epoch 7 · this run 98.91 % · run 3 98.70 %"
    assert plots.readout_at("accuracy", 6.1) == "epoch 6 · this run 98.70 %"  # run 3 has no epoch 6
    assert plots.readout_at("loss", 6.9) == "epoch 6.9 · this run 0.08 · this run test 0.04 · run 3 0.12"
    assert plots.readout_at("lr", 6.6) == "epoch 6.6 · this run 0.001 · run 3 0.002"
    plots.set_current_label("run 9 (this run)")
    assert plots.readout_at("lr", 6.6) == "epoch 6.6 · run 9 (this run) 0.001 · run 3 0.002"
    assert plots.readout_at("accuracy", 2.0) == ""  # no curve has a point near: nothing to show
    plots.set_smoothing(0.5)
    smooth = loss_smoother_output([0.1, 0.08], 0.5)[1]
    assert plots.readout_at("loss", 7.0).startswith(f"epoch 7 · run 9 (this run) {smooth:.4g} (raw 0.08)")


def test_moving_the_pointer_over_a_plot_shows_a_readout_and_a_hairline_on_all_three(plots, history, qtbot):
    two_runs(plots, history)
    plots.set_epoch_span(8)
    plots.resize(700, 600)
    plots.show()
    qtbot.waitExposed(plots)
    view = plots.plot_widget("accuracy")
    view_box = view.getPlotItem().getViewBox()
    assert not any(line.isVisible() for line in plots.readout.hairlines.values())
    # The view fits its data when it is first drawn: only then does (7.1, 98.8) map into the plot.
    qtbot.waitUntil(lambda: view_box.sceneBoundingRect().contains(view_box.mapViewToScene(pg.Point(7.1, 98.8))))

    inside = view_box.mapViewToScene(pg.Point(7.1, 98.8))
    qtbot.mouseMove(view.viewport(), view.mapFromScene(inside))
    qtbot.waitUntil(lambda: plots.readout.texts["accuracy"].isVisible(), timeout=3000)
    assert plots.readout.texts["accuracy"].toPlainText() == "epoch 7 · this run 98.91 % · run 3 98.70 %"
    for name in ("accuracy", "loss", "lr"):
        line = plots.readout.hairlines[name]
        assert line.isVisible() and line.value() == pytest.approx(7.1, abs=0.05)
    assert plots.readout.texts["lr"].toPlainText().startswith("epoch 7.1 · this run 0.0005")

    area = view_box.sceneBoundingRect()
    outside = QPointF(area.left() - 20, area.center().y())  # over the axis's tick labels: nothing to read
    qtbot.mouseMove(view.viewport(), view.mapFromScene(outside))
    qtbot.waitUntil(lambda: not plots.readout.texts["accuracy"].isVisible(), timeout=3000)
    assert not any(line.isVisible() for line in plots.readout.hairlines.values())


def test_the_readout_reads_a_log_axis_in_epochs(plots, history, qtbot):
    two_runs(plots, history)
    plots.set_epoch_span(8)
    plots.set_log_x(True)
    plots.readout.show_at(math.log10(7.0))  # the pointer's place in view units
    assert plots.readout.texts["accuracy"].toPlainText() == plots.readout_at("accuracy", 7.0)
    assert plots.readout.hairlines["lr"].value() == pytest.approx(math.log10(7.0))


# -- seed groups ----------------------------------------------------------------------------------------

def seed_group():
    from mnistconv.gui.plots import GroupOverlay

    members = [recorded_run(epochs=((1, 0.97), (2, 0.98), (3, 0.985))),
               recorded_run(epochs=((1, 0.96), (2, 0.982), (3, 0.99))),
               recorded_run(epochs=((1, 0.975), (2, 0.979)))]  # converged early: counts for its epochs only
    return GroupOverlay(5, "seed×3", members)


def items_of_type(plots, name, kind):
    return [item for item in plots.plot_widget(name).getPlotItem().items if isinstance(item, kind)]


def test_a_seed_group_is_one_mean_curve_and_one_band_as_epoch_band_computes(plots, history):
    from mnistconv.core.groups import epoch_band

    group = seed_group()
    accuracy_items = set(plots.plot_widget("accuracy").getPlotItem().items)
    plots.set_groups([group])
    items = plots.group_items(5)
    added = [item for item in plots.plot_widget("accuracy").getPlotItem().items if item not in accuracy_items]
    assert [item for item in added if isinstance(item, pg.FillBetweenItem)] == [items["band"]]
    assert set(added) == {items["mean"], items["band"], items["low"], items["high"]}  # the band's edges, no member's curve
    figures = epoch_band(group.histories, "test_accuracy", "minmax")
    np.testing.assert_allclose(items["mean"].xData, figures.epochs)
    np.testing.assert_allclose(items["mean"].yData, 100 * figures.mean)
    np.testing.assert_allclose(items["low"].yData, 100 * figures.low)
    np.testing.assert_allclose(items["high"].yData, 100 * figures.high)
    assert set(items["band"].curves) == {items["low"], items["high"]}
    assert not items["band"].path().isEmpty()
    loss = epoch_band(group.histories, "train_loss", "minmax")
    np.testing.assert_allclose(items["loss_mean"].yData, loss.mean)
    assert items_of_type(plots, "loss", pg.FillBetweenItem) == [items["loss_band"]]
    assert not plots.is_empty("accuracy")
    legend = [label.text for _, label in plots.legend.items]
    assert legend == ["this run", "seed×3 (mean, min–max)"]

    plots.set_band("sigma")
    sigma = epoch_band(group.histories, "test_accuracy", "sigma")
    np.testing.assert_allclose(plots.group_items(5)["low"].yData, 100 * sigma.low)
    np.testing.assert_allclose(plots.group_items(5)["high"].yData, 100 * sigma.high)
    assert [label.text for _, label in plots.legend.items][-1] == "seed×3 (mean, ±1 σ)"
    assert plots.controls.band_combo.currentData() == "sigma"
    assert plots.readout_at("accuracy", 3).endswith(f"seed×3 {100 * sigma.mean[2]:.2f} % "
                                                    f"({100 * sigma.low[2]:.2f}–{100 * sigma.high[2]:.2f})")

    plots.set_groups([])
    assert all(item.scene() is None for item in items.values())
    assert plots.shown_groups() == [] and plots.is_empty("accuracy") and not plots.legend.isVisible()


def test_each_group_has_a_colour_no_overlay_nor_the_current_run_has(plots, history):
    from mnistconv.gui.plot_groups import GroupOverlay

    members = seed_group().histories
    plots.set_overlays([Overlay(run_id, f"run {run_id}", recorded_run()) for run_id in range(1, 8)])
    plots.set_groups([GroupOverlay(1, "seed×3", members), GroupOverlay(2, "lr×3", members)])
    groups = {plots.group_items(group_id)["mean"].opts["pen"].color().name() for group_id in (1, 2)}
    overlays = {overlay_pen_colour(plots, run_id) for run_id in range(1, 8)}
    current = {curve.opts["pen"].color().name() for curve in (plots.accuracy_curve, plots.loss_smooth_curve)}
    assert len(groups) == 2 and not groups & (overlays | current)


def test_a_groups_band_follows_the_log_axis(plots, history):
    plots.set_groups([seed_group()])
    band = plots.group_items(5)["band"]
    assert band.path().boundingRect().right() == pytest.approx(3)
    plots.set_log_x(True)
    assert band.path().boundingRect().right() == pytest.approx(math.log10(3))
    assert band.path().boundingRect().left() == pytest.approx(0)  # epoch 1


def test_the_controls_set_log_x_and_the_band(plots, history):
    plots.set_groups([seed_group()])
    plots.controls.log_x_check.setChecked(True)
    assert plots.log_x() and x_log_modes(plots) == [True, True, True]
    combo = plots.controls.band_combo
    combo.setCurrentIndex(combo.findData("sigma"))
    assert plots.band() == "sigma"
    assert [combo.itemText(i) for i in range(combo.count())] == ["min–max band", "±1 σ band"]


def test_the_choices_are_kept_in_the_settings(plots, tmp_path, qtbot):
    from PySide6.QtCore import QSettings

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    plots.set_smoothing(0.6)
    plots.set_log_x(True)
    plots.set_band("sigma")
    plots.save_settings(settings)
    settings.sync()

    again = TrainingPlots()
    qtbot.addWidget(again)
    assert again.load_settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)) == []
    assert (again.smoothing(), again.log_x(), again.band()) == (pytest.approx(0.6), True, "sigma")
    assert again.controls.smoothing_slider.value() == 60 and again.controls.log_x_check.isChecked()

    for key, value in (("plots/smoothing", "nan"), ("plots/log_x", "maybe"), ("plots/band", "quartiles")):
        settings.setValue(key, value)
    settings.sync()
    fresh = TrainingPlots()
    qtbot.addWidget(fresh)
    problems = fresh.load_settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    assert len(problems) == 3 and all("plots/" in line for line in problems)
    assert (fresh.smoothing(), fresh.log_x(), fresh.band()) == (pytest.approx(0.9), False, "minmax")


def test_every_band_kind_has_a_name():
    from mnistconv.core.groups import BANDS
    from mnistconv.gui.plot_groups import BAND_NAMES

    assert set(BAND_NAMES) == set(BANDS)



def test_the_smoothed_loss_starts_afresh_when_the_history_is_cleared(qtbot):
    plots = TrainingPlots()
    qtbot.addWidget(plots)
    history = RunHistory()
    plots.show_history(history)
    for x, loss in ((0.5, 2.0), (1.0, 1.0)):
        history.add_batch(x, loss, 1e-3)
    history.clear()
    history.add_batch(0.5, 3.0, 1e-3)
    assert list(plots.loss_smooth_curve.yData) == [pytest.approx(3.0)]  # not pulled towards the cleared 2.0 and 1.0
