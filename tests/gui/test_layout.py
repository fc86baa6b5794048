"""The window's size: it fits a 1280×720 screen with a taskbar, and uses a large screen's room."""

import pytest
from PySide6.QtCore import QRect, QSize

from mnistconv.gui.main_window import MAX_DEFAULT_SIZE
from mnistconv.gui.scripted_mouse import drag


def shown_at(qtbot, window, width, height):
    window.resize(width, height)
    qtbot.waitUntil(lambda: window.size() == QSize(width, height), timeout=5_000)
    qtbot.wait(50)
    return window


def test_the_smallest_window_fits_a_1280_by_720_screen_with_a_taskbar(make_window):
    hint = make_window().minimumSizeHint()
    assert hint.width() <= 1000 and hint.height() <= 640, hint


def test_at_1000_by_640_every_part_has_room(qtbot, make_window):
    window = shown_at(qtbot, make_window(), 1000, 640)
    log_lines = window.log.viewport().height() // window.log.fontMetrics().lineSpacing()
    assert log_lines >= 10
    characters = window.panel.savepath_edit.width() // window.panel.savepath_edit.fontMetrics().averageCharWidth()
    assert characters >= 20
    assert window.sketchpad.canvas.width() >= 224
    assert window.plots.width() >= 300
    # The sketchpad's column is used to its foot: the bars end near its bottom, no empty band below.
    pad = window.sketchpad
    bars_bottom = pad.bars.mapTo(pad, pad.bars.rect().bottomLeft()).y()
    assert pad.height() - bars_bottom < 40


def test_a_large_screen_gives_a_larger_canvas_and_wider_plots(qtbot, make_window):
    window = make_window()
    small = shown_at(qtbot, window, 1000, 640)
    canvas_small, plots_small = small.sketchpad.canvas.width(), small.plots.width()
    shown_at(qtbot, window, 1900, 1000)
    assert window.sketchpad.canvas.width() >= 1.5 * canvas_small
    assert window.plots.width() >= 2 * plots_small
    assert window.log.height() >= 500


def test_the_first_size_fits_the_screen(qtbot, make_window, monkeypatch):
    window = make_window()

    class Screen:
        def __init__(self, width, height):
            self.area = QRect(0, 0, width, height)

        def availableGeometry(self):
            return self.area

    monkeypatch.setattr(window, "screen", lambda: Screen(1280, 680))  # 720 less a 40-px taskbar
    size = window.default_size()
    assert size.width() <= 1280 - 40 and size.height() + 30 <= 680  # a title bar fits above it
    monkeypatch.setattr(window, "screen", lambda: Screen(1920, 1040))
    assert window.default_size() == QSize(1728, 936)  # most of a full-HD screen
    monkeypatch.setattr(window, "screen", lambda: Screen(3840, 2100))
    assert window.default_size() == MAX_DEFAULT_SIZE


def test_a_stroke_on_the_grown_canvas_lands_where_it_was_drawn(qtbot, make_window):
    window = shown_at(qtbot, make_window(), 1900, 1000)
    canvas = window.sketchpad.canvas
    scale = canvas.width() / 280
    drag(canvas, [(100 * scale, 50 * scale), (100 * scale, 230 * scale)])
    (stroke,) = canvas.strokes()
    assert abs(stroke[0][0] - 100) < 0.5 and abs(stroke[-1][1] - 230) < 0.5


@pytest.mark.parametrize("width, height", [(0, 0), (1000, 640), (1152, 648), (1280, 720)])
def test_the_keep_button_never_covers_the_bars_labels(qtbot, make_window, shrink_to_minimum, width, height):
    window = shown_at(qtbot, make_window(), width, height) if width else shrink_to_minimum(make_window())
    pad = window.sketchpad
    button = pad.keep_button
    button_right = button.mapTo(pad, button.rect().topRight()).x()
    bars_left = pad.bars.mapTo(pad, pad.bars.rect().topLeft()).x()
    assert bars_left - button_right >= 6, (button_right, bars_left)  # a clear gap, not the arrow against the 7


def test_a_long_status_message_is_cut_before_the_seed_and_device_labels_and_shown_whole_in_the_tooltip(
        qtbot, make_window, shrink_to_minimum):
    window = make_window()
    shrink_to_minimum(window)
    window.seed_label.setText("Seed 1234567890 (drawn at random)")
    qtbot.wait(50)
    bar = window.statusBar()
    message = "Training finished: best 99.24 % at epoch 20, saved in " + "/a/rather/long/folder/name" * 4
    bar.showMessage(message, 10_000)
    shown = bar.currentMessage()
    assert shown.endswith("…") and bar.toolTip() == message and bar.full_message() == message
    seed_left = window.seed_label.mapTo(bar, window.seed_label.rect().topLeft()).x()
    assert bar.fontMetrics().horizontalAdvance(shown) < seed_left
    bar.showMessage("Saved", 5000)
    assert bar.currentMessage() == "Saved" and bar.toolTip() == ""


@pytest.mark.parametrize("size", [None, (1235, 790), (1000, 640)], ids=["smallest", "first-size", "1000x640"])
@pytest.mark.parametrize("preset", ["seed", "robust"])
def test_the_preset_summary_is_shown_whole_and_the_device_field_reads(qtbot, make_window, shrink_to_minimum, size, preset):
    """The splitter over the log knows only minimum heights: the wrapped summary got two of its three
    lines before the panel asked for the height its width needs."""
    window = make_window()
    panel = window.panel
    panel.preset_combo.setCurrentIndex(panel.preset_combo.findData(preset))
    shrink_to_minimum(window) if size is None else shown_at(qtbot, window, *size)
    summary = panel.preset_summary
    qtbot.waitUntil(lambda: summary.height() >= summary.heightForWidth(summary.width()), timeout=2_000)
    combo = panel.device_combo
    combo.setCurrentIndex(combo.findData("auto"))  # "Auto (CPU)" or "Auto (CUDA)": the longest that is chosen
    assert combo.width() >= combo.fontMetrics().horizontalAdvance(combo.currentText()) + 20
