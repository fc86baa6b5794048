"""TrainingPlots: curves created once and extended, event markers, guides. Asserts on data, not pixels."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QColor, QPalette

from mnistconv.gui.plots import EMA_DECAY, TrainingPlots


@pytest.fixture
def plots(qtbot):
    widget = TrainingPlots()
    qtbot.addWidget(widget)
    return widget


def data_items(plots, name):
    return plots.plot_widget(name).getPlotItem().listDataItems()


def test_add_epoch_extends_the_same_accuracy_curve(plots):
    accuracy_curve = plots.accuracy_curve
    for epoch, accuracy in ((1, 0.977), (2, 0.985), (3, 0.991)):
        plots.add_epoch(epoch, accuracy)

    assert plots.accuracy_curve is accuracy_curve
    assert data_items(plots, "accuracy") == [accuracy_curve]  # no second curve was added
    np.testing.assert_array_equal(accuracy_curve.xData, [1, 2, 3])
    np.testing.assert_allclose(accuracy_curve.yData, [97.7, 98.5, 99.1])  # percent


def test_the_learning_rate_is_plotted_at_the_losss_points(plots):
    """A one-cycle schedule changes the rate every batch: one point per report shows its curve."""
    lr_curve = plots.lr_curve
    reports = [(1, 10, 40, 1.0, 4e-4), (1, 20, 40, 0.8, 2e-3), (1, 40, 40, 0.6, 8e-3), (2, 20, 40, 0.4, 5e-3),
               (2, 40, 40, 0.3, 1e-4)]
    for report in reports:
        plots.add_batch(*report)
    assert plots.lr_curve is lr_curve and data_items(plots, "lr") == [lr_curve]
    np.testing.assert_allclose(lr_curve.xData, plots.loss_curve.xData)
    np.testing.assert_allclose(lr_curve.xData, [0.25, 0.5, 1.0, 1.5, 2.0])
    np.testing.assert_allclose(lr_curve.yData, [r[4] for r in reports])


def test_empty_plots_say_what_they_will_show_instead_of_bare_ticks(plots):
    def shows_values(name):
        plot = plots.plot_widget(name).getPlotItem()
        return [plot.getAxis(axis).style["showValues"] for axis in ("left", "bottom")]

    for name in ("accuracy", "loss", "lr"):
        assert plots.is_empty(name) and shows_values(name) == [False, False]
    plots.add_batch(1, 10, 40, 1.0, 1e-3)
    assert not plots.is_empty("loss") and shows_values("loss") == [True, True]
    assert not plots.is_empty("lr") and shows_values("lr") == [True, True]
    assert plots.is_empty("accuracy")
    plots.add_epoch(1, 0.97)
    assert not plots.is_empty("accuracy") and shows_values("accuracy") == [True, True]
    plots.reset()
    assert all(plots.is_empty(name) and shows_values(name) == [False, False] for name in ("accuracy", "loss", "lr"))


def test_add_batch_extends_raw_and_smoothed_loss(plots):
    raw, smooth = plots.loss_curve, plots.loss_smooth_curve
    plots.add_batch(1, 25, 100, 2.0, 1e-3)
    plots.add_batch(1, 50, 100, 1.0, 1e-3)
    plots.add_batch(2, 50, 100, 0.5, 1e-3)

    assert plots.loss_curve is raw and plots.loss_smooth_curve is smooth
    assert data_items(plots, "loss") == [raw, smooth]
    np.testing.assert_allclose(raw.xData, [0.25, 0.5, 1.5])  # epoch - 1 + batch / batches
    np.testing.assert_allclose(raw.yData, [2.0, 1.0, 0.5])
    np.testing.assert_allclose(smooth.xData, raw.xData)
    # Bias-corrected EMA: starts at the first loss, then lags behind the raw values.
    expected = (EMA_DECAY * (1 - EMA_DECAY) * 2.0 + (1 - EMA_DECAY) * 1.0) / (1 - EMA_DECAY**2)
    assert smooth.yData[0] == pytest.approx(2.0)
    assert smooth.yData[1] == pytest.approx(expected)
    assert 0.5 < smooth.yData[2] < smooth.yData[1]


def test_a_nan_loss_leaves_a_gap_and_the_average_unchanged(plots):
    plots.add_batch(1, 1, 10, 1.0, 1e-3)
    plots.add_batch(1, 2, 10, math.nan, 1e-3)

    assert math.isnan(plots.loss_curve.yData[1])
    assert plots.loss_smooth_curve.yData[1] == pytest.approx(1.0)


def test_accuracy_guides_at_the_seed_marks(plots):
    assert set(plots.guides) == {0.99, 0.999}
    accuracy_items = plots.plot_widget("accuracy").getPlotItem().items
    for fraction, label in ((0.99, "99 %"), (0.999, "99.9 %")):
        guide = plots.guides[fraction]
        assert isinstance(guide, pg.InfiniteLine) and guide.angle == 0
        assert guide.value() == pytest.approx(100 * fraction)
        assert guide.label.toPlainText() == label
        assert guide in accuracy_items


def test_lr_drop_marks_the_lr_and_accuracy_plots_once(plots):
    plots.mark_event("lr_drop", 2)

    (marker,) = plots.markers("lr_drop")
    assert marker.epoch == 2
    views = {item.getViewBox() for item in marker.items}
    assert views == {plots.plot_widget(name).getPlotItem().getViewBox() for name in ("lr", "accuracy")}
    assert all(isinstance(item, pg.InfiniteLine) and item.angle == 90 and item.value() == 2 for item in marker.items)
    assert plots.markers("new_best") == []


@pytest.mark.parametrize("kind", ["early_exit", "converged", "nan_abort", "stopped"])
def test_run_ending_events_mark_all_three_plots(plots, kind):
    plots.mark_event(kind, 7, text="a label")

    (marker,) = plots.markers(kind)
    assert len(marker.items) == 3 and marker.text == "a label"
    assert {item.getViewBox() for item in marker.items} == {
        plots.plot_widget(name).getPlotItem().getViewBox() for name in ("accuracy", "loss", "lr")
    }


def test_new_best_is_a_star_at_that_epochs_accuracy(plots):
    plots.add_epoch(1, 0.98)
    plots.add_epoch(2, 0.985)
    plots.mark_event("new_best", 2)

    (marker,) = plots.markers("new_best")
    (star,) = marker.items
    assert isinstance(star, pg.ScatterPlotItem)
    x, y = star.getData()
    np.testing.assert_allclose([x[0], y[0]], [2, 98.5])


def test_new_best_before_its_epoch_arrives_is_placed_when_it_does(plots):
    plots.mark_event("new_best", 1)
    plots.add_epoch(1, 0.97)

    (star,) = plots.markers("new_best")[0].items
    x, y = star.getData()
    np.testing.assert_allclose([x[0], y[0]], [1, 97.0])


def test_unknown_event_kind_is_an_error(plots):
    with pytest.raises(ValueError, match="not a valid MarkerKind"):
        plots.mark_event("exploded", 1)


def test_reset_empties_curves_and_markers_but_keeps_the_guides(plots):
    curves = (plots.accuracy_curve, plots.loss_curve, plots.loss_smooth_curve, plots.lr_curve)
    plots.add_batch(1, 1, 1, 0.3, 1e-3)
    plots.add_epoch(1, 0.98)
    plots.mark_event("new_best", 1)
    plots.mark_event("lr_drop", 1)
    plots.mark_event("converged", 1)
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

    plots.add_epoch(1, 0.99)  # a new run starts from scratch
    np.testing.assert_array_equal(plots.accuracy_curve.xData, [1])


def test_background_and_text_follow_the_palette(plots):
    palette = QPalette(QColor("#202020"))
    palette.setColor(QPalette.ColorRole.Base, QColor("#101010"))
    palette.setColor(QPalette.ColorRole.WindowText, QColor("#eeeeee"))
    plots.setPalette(palette)

    view = plots.plot_widget("accuracy")
    assert view.backgroundBrush().color() == QColor("#101010")
    assert view.getPlotItem().getAxis("left").textPen().color() == QColor("#eeeeee")
