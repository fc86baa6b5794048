"""The sketchpad, driven with raw mouse events (qtbot.mouseMove carries no button state)."""

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QInputDevice, QPointingDevice, QTabletEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from mnistconv.gui.drawing_canvas import DrawingCanvas
from mnistconv.gui.scripted_mouse import drag as draw
from mnistconv.gui.scripted_mouse import send_mouse
from mnistconv.gui.sketchpad import PREDICT_INTERVAL_MS, UNSURE_COLOUR, Sketchpad

FIXED = np.array([[0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.6, 0.08, 0.04]], dtype=np.float32)


class FakePredictor:
    """Records what it is asked to read and always answers FIXED."""

    def __init__(self, answer=FIXED, error=None):
        self.answer = answer
        self.error = error
        self.images = []

    def predict(self, images):
        self.images.append(np.array(images))
        if self.error is not None:
            raise self.error
        return self.answer

    def describe(self):
        return "fake model"


def line(start, end, steps=20):
    return [(start[0] + (end[0] - start[0]) * t, start[1] + (end[1] - start[1]) * t) for t in np.linspace(0, 1, steps)]


def centre_of_mass(image):
    rows, cols = np.indices(image.shape)
    return (rows * image).sum() / image.sum(), (cols * image).sum() / image.sum()


@pytest.fixture
def make_pad(qtbot):
    made = []  # qtbot holds widgets weakly; a test keeping only pad.canvas must not lose the pad

    def make(predictor=None):
        pad = Sketchpad(predictor)
        # The canvas at its logical size, so the tests' widget coordinates are its strokes' own
        # (in the window it grows with the space; test_the_canvas_scales_with_its_size checks that).
        pad.canvas_holder.setFixedSize(280, 280)
        qtbot.addWidget(pad)
        made.append(pad)
        pad.show()
        qtbot.waitExposed(pad)
        return pad

    return make


@pytest.fixture
def focused_canvas(qtbot, make_pad):
    """A shown, active sketchpad whose canvas has the keyboard focus (shortcuts need an active window)."""
    pad = make_pad()
    pad.activateWindow()
    qtbot.waitActive(pad)
    pad.canvas.setFocus()
    qtbot.waitUntil(pad.canvas.hasFocus, timeout=2000)
    return pad.canvas


def test_a_dragged_stroke_leaves_ink_only_where_it_went(qtbot, make_pad):
    canvas = make_pad().canvas
    assert canvas.ink().shape == (280, 280) and canvas.ink().dtype == np.float32
    assert not canvas.ink().any()
    with qtbot.waitSignal(canvas.ink_changed, timeout=1000):
        draw(canvas, line((50, 100), (200, 100)))
    ink = canvas.ink()
    assert ink[95:106, 60:190].min() > 0.5  # along the stroke, well inside the 18-px pen
    assert ink.max() <= 1.0
    assert not ink[:85].any() and not ink[116:].any()  # nothing beyond the pen's half-width
    assert not ink[:, :35].any() and not ink[:, 216:].any()
    assert len(canvas.strokes()) == 1


def test_ink_holds_the_antialiased_coverage_a_grayscale_image_gets(qtbot, make_pad):
    # ink() paints into a colour image for speed; the values must be those of a grayscale one.
    from PySide6.QtGui import QImage, QPainter

    canvas = make_pad().canvas
    draw(canvas, line((40, 220), (150, 60)) + line((150, 60), (240, 200)))
    draw(canvas, [(60, 60)])
    grey = QImage(280, 280, QImage.Format.Format_Grayscale8)
    grey.fill(0)
    painter = QPainter(grey)
    canvas._render(painter)
    painter.end()
    rows = np.frombuffer(grey.constBits(), dtype=np.uint8, count=grey.sizeInBytes()).reshape(280, grey.bytesPerLine())
    expected = rows[:, :280].astype(np.float32) / 255
    assert ((expected > 0) & (expected < 1)).sum() > 200  # antialiased edges are part of the check
    np.testing.assert_allclose(canvas.ink(), expected, atol=1e-6)


def test_moves_without_the_button_held_draw_nothing(qtbot, make_pad):
    canvas = make_pad().canvas
    for x, y in line((20, 20), (250, 250)):
        send_mouse(canvas, QEvent.Type.MouseMove, x, y, Qt.MouseButton.NoButton, Qt.MouseButton.NoButton)
    assert canvas.is_empty() and not canvas.ink().any()


def test_a_click_leaves_a_round_dot(qtbot, make_pad):
    canvas = make_pad().canvas
    draw(canvas, [(140, 140)])
    ink = canvas.ink()
    assert ink[140, 140] > 0.9
    rows, cols = np.nonzero(ink > 0.5)
    assert 14 <= rows.max() - rows.min() + 1 <= 20 and 14 <= cols.max() - cols.min() + 1 <= 20


def test_a_finger_draws_one_stroke(qtbot, make_pad):
    canvas = make_pad().canvas
    finger = QTest.createTouchDevice()
    # Points are in the coordinates of the widget passed to press/move/release (else the window's).
    QTest.touchEvent(canvas, finger).press(0, QPoint(50, 100), canvas).commit()
    for x in range(60, 210, 10):
        QTest.touchEvent(canvas, finger).move(0, QPoint(x, 100), canvas).commit()
    QTest.touchEvent(canvas, finger).release(0, QPoint(200, 100), canvas).commit()
    assert len(canvas.strokes()) == 1  # accepted touches are not drawn a second time as mouse events
    assert canvas.ink()[95:106, 60:190].min() > 0.5


def test_a_tablet_pen_draws_one_stroke(qtbot, make_pad):
    canvas = make_pad().canvas
    pen = QPointingDevice("test pen", 1, QInputDevice.DeviceType.Stylus, QPointingDevice.PointerType.Pen,
                          QInputDevice.Capability.Position | QInputDevice.Capability.Pressure, 1, 3)
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton

    def send(kind, y, button, buttons):
        position = QPointF(140, y)
        QApplication.sendEvent(canvas, QTabletEvent(
            kind, pen, position, canvas.mapToGlobal(position), 0.5, 0.0, 0.0, 0.0, 0.0, 0.0,
            Qt.KeyboardModifier.NoModifier, button, buttons))

    send(QEvent.Type.TabletPress, 40, left, left)
    for y in range(50, 240, 10):
        send(QEvent.Type.TabletMove, y, none, left)
    send(QEvent.Type.TabletRelease, 240, left, none)
    assert len(canvas.strokes()) == 1
    assert canvas.ink()[50:230, 135:146].min() > 0.5


def test_clear_empties_the_canvas(qtbot, make_pad):
    canvas = make_pad().canvas
    draw(canvas, line((50, 50), (200, 200)))
    with qtbot.waitSignal(canvas.ink_changed, timeout=1000):
        canvas.clear_action.trigger()
    assert canvas.is_empty() and not canvas.ink().any()


def test_undo_removes_only_the_last_stroke(qtbot, make_pad):
    canvas = make_pad().canvas
    draw(canvas, line((40, 60), (240, 60)))
    draw(canvas, line((40, 220), (240, 220)))
    assert canvas.ink()[220, 140] > 0.5
    with qtbot.waitSignal(canvas.ink_changed, timeout=1000):
        canvas.undo_action.trigger()
    ink = canvas.ink()
    assert ink[60, 140] > 0.5  # the first stroke stays
    assert not ink[150:].any()  # the second is gone
    assert len(canvas.strokes()) == 1


def test_escape_clears_and_ctrl_z_undoes(qtbot, focused_canvas):
    canvas = focused_canvas
    draw(canvas, line((40, 60), (240, 60)))
    draw(canvas, line((40, 220), (240, 220)))
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(canvas.strokes()) == 1 and not canvas.ink()[150:].any()
    qtbot.keyClick(canvas, Qt.Key.Key_Escape)
    assert canvas.is_empty() and not canvas.ink().any()
    draw(canvas, line((40, 60), (240, 60)))
    qtbot.keyClick(canvas, Qt.Key.Key_Delete)
    assert canvas.is_empty()


def test_actions_show_their_shortcuts_and_follow_the_drawing(qtbot, make_pad):
    canvas = make_pad().canvas
    assert "Esc" in canvas.clear_action.toolTip()
    assert "Z" in canvas.undo_action.toolTip()
    assert not canvas.clear_action.isEnabled() and not canvas.undo_action.isEnabled()
    draw(canvas, line((40, 60), (240, 60)))
    assert canvas.clear_action.isEnabled() and canvas.undo_action.isEnabled()


def test_ink_changed_arrives_while_drawing_not_only_at_the_end(qtbot, make_pad):
    canvas = make_pad().canvas
    changes = []
    canvas.ink_changed.connect(lambda: changes.append(len(canvas.strokes()[0][0]) if canvas.strokes() else 0))
    left = Qt.MouseButton.LeftButton
    send_mouse(canvas, QEvent.Type.MouseButtonPress, 50, 50, left, left)
    send_mouse(canvas, QEvent.Type.MouseMove, 100, 50, Qt.MouseButton.NoButton, left)
    assert len(changes) == 2  # press and move, before any release
    send_mouse(canvas, QEvent.Type.MouseButtonRelease, 100, 50, left, Qt.MouseButton.NoButton)
    assert len(changes) == 3


def test_a_larger_canvas_hands_out_the_same_280_px_ink(qtbot):
    small, large = DrawingCanvas(), DrawingCanvas(side=560)
    for canvas in (small, large):
        qtbot.addWidget(canvas)
    draw(small, line((50, 100), (200, 100)))
    draw(large, line((100, 200), (400, 200)))
    assert large.ink().shape == (280, 280)
    np.testing.assert_allclose(large.ink(), small.ink(), atol=0.02)


def test_fake_predictor_gets_a_centred_28x28_image_and_the_bars_show_its_answer(qtbot, make_pad):
    fake = FakePredictor()
    pad = make_pad(fake)
    assert pad.predictor is fake
    with qtbot.waitSignal(pad.prediction_updated, timeout=2000) as blocker:
        draw(pad.canvas, line((20, 20), (20, 120)))  # a '1' in the top-left corner
    np.testing.assert_array_equal(blocker.args[0], FIXED[0])
    image = fake.images[-1]
    assert image.shape == (28, 28) and image.dtype == np.float32
    com_row, com_col = centre_of_mass(image)
    assert abs(com_row - 14) <= 1 and abs(com_col - 14) <= 1
    np.testing.assert_array_equal(pad.probabilities(), FIXED[0])
    assert pad.bars.values() == [round(1000 * p) for p in FIXED[0]]
    assert pad.digit_label.text() == "7"
    assert "60.0 %" in pad.confidence_label.text()
    np.testing.assert_array_equal(pad.network_input(), image)
    assert pad.preview_label.pixmap().width() >= 112


def test_a_fast_stroke_is_read_at_its_start_and_once_more_not_once_per_point(qtbot, make_pad):
    fake = FakePredictor()
    pad = make_pad(fake)
    draw(pad.canvas, line((20, 20), (250, 250), steps=200))  # 200 moves with no event loop between
    assert len(fake.images) == 1  # the first change is read at once; the rest wait for the interval
    with qtbot.waitSignal(pad.prediction_updated, timeout=2000):
        pass
    qtbot.wait(100)  # no further prediction is due; let a stray one show itself
    assert len(fake.images) == 2
    np.testing.assert_array_equal(fake.images[-1], pad.network_input())  # the whole stroke was read


def test_moves_after_a_pause_are_read_at_once(qtbot, make_pad):
    fake = FakePredictor()
    pad = make_pad(fake)
    draw(pad.canvas, line((20, 20), (120, 120)))
    # The pause: the throttle's interval (restarted while the stroke's last moves were read) is over.
    # Waiting for it, not for a fixed time, keeps this true on a loaded machine.
    qtbot.waitUntil(lambda: not pad._timer.isActive(), timeout=5_000)
    before = len(fake.images)
    draw(pad.canvas, line((120, 120), (200, 60)))
    assert len(fake.images) == before + 1  # no waiting for a timer


def test_empty_canvas_asks_for_no_prediction(qtbot, make_pad):
    fake = FakePredictor()
    pad = make_pad(fake)
    assert pad.probabilities() is None
    assert "Draw a digit" in pad.digit_label.text()
    with qtbot.waitSignal(pad.prediction_updated, timeout=2000):
        draw(pad.canvas, line((50, 50), (50, 200)))
    calls = len(fake.images)
    with qtbot.assertNotEmitted(pad.prediction_updated, wait=100):
        pad.canvas.clear()
    assert len(fake.images) == calls
    assert pad.probabilities() is None
    assert pad.bars.values() == [0] * 10
    assert "Draw a digit" in pad.digit_label.text()
    assert pad.network_input() is None


def test_set_predictor_reads_what_is_already_drawn(qtbot, make_pad):
    pad = make_pad()
    draw(pad.canvas, line((50, 50), (50, 200)))
    qtbot.waitUntil(lambda: "No model" in pad.digit_label.text(), timeout=2000)
    assert pad.probabilities() is None
    fake = FakePredictor()
    with qtbot.waitSignal(pad.prediction_updated, timeout=2000):
        pad.set_predictor(fake)
    assert pad.predictor is fake and len(fake.images) == 1


def test_a_failing_predictor_shows_its_message(qtbot, make_pad):
    pad = make_pad(FakePredictor(error=RuntimeError("weights on fire")))
    draw(pad.canvas, line((50, 50), (50, 200)))
    qtbot.waitUntil(lambda: "weights on fire" in pad.digit_label.text(), timeout=2000)
    assert pad.probabilities() is None
    assert pad.bars.values() == [0] * 10


def test_a_scribble_is_flagged_whatever_the_network_says(qtbot, make_pad):
    """The issue's own example: a zig-zag the network reads as a 3 with high confidence."""
    confident_three = np.full((1, 10), 0.01, dtype=np.float32)
    confident_three[0, 3] = 0.91
    pad = make_pad(FakePredictor(answer=confident_three))
    draw(pad.canvas, line((60, 60), (220, 60)))
    assert pad.verdict() is None  # mid-stroke readings are not judged
    draw(pad.canvas, [(220, 60), (60, 110), (220, 110), (60, 160), (220, 160), (60, 210), (220, 210)])
    qtbot.waitUntil(lambda: pad.verdict() is not None and len(pad.canvas.strokes()) == 2, timeout=2000)
    qtbot.wait(3 * PREDICT_INTERVAL_MS)
    assert pad.is_unsure() and pad.verdict().not_a_digit
    assert pad.confidence_label.text() == "Not sure — is this a digit? (91 % a 3)"
    assert pad.confidence_label.colour_shown() == UNSURE_COLOUR and pad.confidence_label.font_shown().bold()
    pad.canvas.clear()
    draw(pad.canvas, [(150, 30)])  # a single click: a dot
    qtbot.waitUntil(lambda: pad.verdict() is not None, timeout=2000)
    assert pad.is_unsure() and pad.verdict().doubt.value == "a blob"


def test_a_digit_the_network_is_torn_over_names_the_runner_up_unflagged(qtbot, make_pad):
    torn = np.full((1, 10), 0.03, dtype=np.float32)
    torn[0, 3], torn[0, 7] = 0.55, 0.24
    pad = make_pad(FakePredictor(answer=torn))
    draw(pad.canvas, line((140, 40), (140, 240)))  # a plain stroke, as a 1 is drawn
    qtbot.waitUntil(lambda: pad.verdict() is not None, timeout=2000)
    assert not pad.is_unsure() and pad.verdict().torn
    assert pad.confidence_label.text() == "55 % a 3, or a 7 (24 %)?"
    assert pad.confidence_label.colour_shown() != UNSURE_COLOUR and not pad.confidence_label.font_shown().bold()
    pad.set_predictor(FakePredictor())  # FIXED: 60 % a 7
    qtbot.waitUntil(lambda: "confident" in pad.confidence_label.text(), timeout=2000)
    assert pad.confidence_label.text() == "60.0 % confident"


def test_saliency_overlay_tints_the_preview_where_the_ink_is(qtbot, make_pad):
    import torch

    from mnistconv.core.model import build_model
    from mnistconv.core.predict import Predictor

    torch.manual_seed(0)
    pad = make_pad(Predictor.from_model(build_model(), device="cpu"))
    with qtbot.waitSignal(pad.prediction_updated, timeout=2000):
        draw(pad.canvas, line((140, 40), (140, 240)))
    assert pad.saliency() is None  # off by default
    pad.saliency_check.setChecked(True)
    heat = pad.saliency()
    assert heat is not None and heat.shape == (28, 28)
    assert float(heat[pad.network_input() == 0].max()) == 0.0 and float(heat.max()) == pytest.approx(1.0)
    preview = pad.preview_label.pixmap().toImage()
    assert not preview.isGrayscale()  # red tint on grey
    # Visible, not a few faint pixels: most of the pixels that drove it show at least half red.
    step = preview.width() // 28
    red = np.array([[QColor(preview.pixel(col * step + step // 2, row * step + step // 2)).red() for col in range(28)]
                    for row in range(28)])
    driving = heat > 0.02
    assert driving.sum() >= 20 and np.mean(red[driving] >= 128) >= 0.5, np.mean(red[driving] >= 128)
    digit = int(pad.probabilities().argmax())
    assert pad.saliency_legend.isVisibleTo(pad) and f"towards {digit}" in pad.saliency_legend.text()
    pad.saliency_check.setChecked(False)
    assert pad.saliency() is None and not pad.saliency_legend.isVisibleTo(pad)


def test_readings_leave_the_window_layout_alone(qtbot, make_window):
    """A reading changes the sketchpad's texts and bars; the panes beside it must not move.

    The unsure message is much wider than "97.3 % confident": were the label to ask for its
    width, every switch between the two would resize the plots and repaint the whole window."""
    unsure = np.full((1, 10), 0.05, dtype=np.float32)
    unsure[0, 3] = 0.55
    window = make_window()
    qtbot.waitExposed(window)
    pad = window.sketchpad
    pad.set_predictor(FakePredictor())
    draw(pad.canvas, line((140, 40), (140, 240)))
    qtbot.waitUntil(lambda: pad.verdict() is not None, timeout=2000)
    qtbot.wait(50)  # let any layout request run
    sizes = window.splitter.sizes()
    for answer in (unsure, FIXED, unsure):
        with qtbot.waitSignal(pad.prediction_updated, timeout=2000):
            pad.set_predictor(FakePredictor(answer=answer))
        qtbot.wait(50)
        assert window.splitter.sizes() == sizes
    assert pad.verdict().torn and "55 % a 3, or" in pad.confidence_label.text()


@pytest.mark.parametrize("side", [224, 420])
def test_the_canvas_scales_with_its_size(qtbot, make_pad, side):
    """However large the window shows the canvas, a stroke lands at the same place in its ink."""
    pad = make_pad()
    reference = DrawingCanvas()
    qtbot.addWidget(reference)
    points = line((40, 60), (230, 200))
    draw(reference, points)
    pad.canvas_holder.setFixedSize(side, side + 40)  # a holder taller than wide: the canvas stays square
    qtbot.waitUntil(lambda: pad.canvas.width() == side, timeout=2000)
    assert pad.canvas.height() == side
    scale = side / 280
    draw(pad.canvas, [(x * scale, y * scale) for x, y in points])
    assert pad.canvas.strokes()[0][0] == pytest.approx(points[0], abs=0.01)
    assert np.abs(pad.canvas.ink() - reference.ink()).mean() < 0.01


def test_a_drawing_that_cannot_be_prepared_says_so_instead_of_keeping_the_old_answer(qtbot, make_window, monkeypatch):
    from mnistconv.gui import sketchpad as sketchpad_module

    window = make_window()
    pad = window.sketchpad
    draw(pad.canvas, line((100, 60), (110, 220)))
    qtbot.waitUntil(lambda: pad.probabilities() is not None, timeout=2_000)

    def broken(image):
        raise IndexError("index 0 is out of bounds")

    monkeypatch.setattr(sketchpad_module, "to_mnist", broken)
    draw(pad.canvas, line((60, 60), (200, 60)))
    qtbot.waitUntil(lambda: pad.probabilities() is None, timeout=2_000)  # the previous answer is gone
    assert pad.digit_label.text() == "Can't read this drawing" and pad.bars.bold_row() is None
    assert any("Could not read the drawing: IndexError: index 0 is out of bounds" in line for line in window.log.lines())
