"""The window follows the system's light or dark colour scheme, plots and matrix included."""

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from mnistconv.gui.colour_scheme import follow_colour_scheme, is_dark


def background(window, plot):
    return window.plots.plot_widget(plot).backgroundBrush().color()


def test_the_window_turns_dark_and_light_with_the_system(qtbot, qapp, make_window):
    follower = follow_colour_scheme(qapp)
    try:
        window = make_window()
        labels = np.arange(50) % 10
        window.confusion.set_results(1, np.diag(np.bincount(labels, minlength=10)), labels)
        assert not is_dark(window.palette()) and background(window, "loss").lightness() > 200
        light_cell = QColor(window.confusion.table.model().index(0, 0).data(Qt.ItemDataRole.BackgroundRole))

        qapp.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)  # as the system says when it changes
        assert is_dark(qapp.palette())
        qtbot.waitUntil(lambda: is_dark(window.palette()) and is_dark(window.plots.palette()), timeout=2_000)
        assert background(window, "loss").lightness() < 60 and background(window, "accuracy").lightness() < 60
        axis_text = window.plots.plot_widget("lr").getPlotItem().getAxis("left").textPen().color()
        assert axis_text.lightness() > 180  # light text on the dark plot
        dark_cell = QColor(window.confusion.table.model().index(0, 0).data(Qt.ItemDataRole.BackgroundRole))
        assert dark_cell.lightness() < light_cell.lightness()

        qapp.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Light)
        qtbot.waitUntil(lambda: not is_dark(window.plots.palette()), timeout=2_000)
        assert background(window, "loss").lightness() > 200
    finally:
        follower.stop()
    assert not is_dark(qapp.palette())


def test_a_platform_that_is_already_dark_keeps_its_own_palette(qapp):
    from mnistconv.gui.colour_scheme import dark_palette

    platform_dark = dark_palette()
    platform_dark.setColor(platform_dark.ColorRole.Window, QColor("#102030"))
    original = qapp.palette()
    qapp.setPalette(platform_dark)
    follower = follow_colour_scheme(qapp)
    try:
        qapp.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)
        assert qapp.palette().color(platform_dark.ColorRole.Window).name() == "#102030"
    finally:
        follower.stop()
        qapp.setPalette(original)
