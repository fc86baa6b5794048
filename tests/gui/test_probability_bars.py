"""The sketchpad's ten probability bars: what they hold, what they paint, and when they repaint."""

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QObject, QPoint
from PySide6.QtGui import QColor, QPalette

from mnistconv.gui.probability_bars import STEPS, ProbabilityBars

HIGHLIGHT = QColor(200, 30, 30)


@pytest.fixture
def bars(qtbot):
    widget = ProbabilityBars()
    palette = widget.palette()
    palette.setColor(QPalette.ColorRole.Highlight, HIGHLIGHT)  # a fill colour nothing else uses
    widget.setPalette(palette)
    widget.resize(300, widget.sizeHint().height())
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


class PaintCounter(QObject):
    def __init__(self):
        super().__init__()
        self.paints = 0

    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint:
            self.paints += 1
        return False


def filled_width(widget, row):
    """How many pixels of a row's middle line are painted in the fill colour."""
    image = widget.grab().toImage()
    y = round((row + 0.5) * image.height() / 10)  # grab() is in device pixels
    return sum(image.pixelColor(x, y) == HIGHLIGHT for x in range(image.width()))


def test_values_follow_the_probabilities_and_none_empties_them(bars):
    probabilities = np.array([0.0, 0.0005, 0.9, 0.0004, 0.05, 0.0, 0.0, 0.0491, 0.0, 0.0], dtype=np.float32)
    bars.set_probabilities(probabilities)
    assert bars.values() == [round(STEPS * float(p)) for p in probabilities]
    assert bars.text(2) == "90 %" and bars.text(0) == "0 %"
    assert "2: 90 %" in bars.accessibleDescription()
    # Near the ends a tenth is shown: a calibrated 99.5 % is not 100 %, nor 0.4 % nothing.
    bars.set_probabilities(np.array([0.995, 0.004, 0.001] + [0.0] * 7, dtype=np.float32))
    assert [bars.text(row) for row in range(4)] == ["99.5 %", "0.4 %", "0.1 %", "0 %"]
    bars.set_probabilities(np.array([1.0] + [0.0] * 9, dtype=np.float32))
    assert bars.text(0) == "100 %"
    bars.set_probabilities(None)
    assert bars.values() == [0] * 10


def test_a_wrong_number_of_probabilities_is_refused(bars):
    with pytest.raises(ValueError, match="expected 10"):
        bars.set_probabilities([0.5, 0.5])


def test_each_bar_is_filled_in_proportion(bars):
    bars.set_probabilities([0, 0, 0, 0.5, 0, 0, 0, 0, 0, 1.0])
    full, half = filled_width(bars, 9), filled_width(bars, 3)
    assert full > 100
    assert abs(half - full / 2) <= 3  # the percentage written on top covers a few pixels either way
    assert filled_width(bars, 0) == 0


def test_an_unchanged_reading_is_not_repainted(bars, qtbot):
    counter = PaintCounter()
    bars.installEventFilter(counter)
    reading = [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.6, 0.08, 0.04]
    bars.set_probabilities(reading)
    qtbot.waitUntil(lambda: counter.paints > 0, timeout=1000)
    painted = counter.paints
    bars.set_probabilities(list(reading))
    bars.set_probabilities(np.array(reading) + 1e-5)  # below the bars' resolution
    qtbot.wait(50)
    assert counter.paints == painted


def test_hovering_a_row_tells_its_probability(bars, qtbot):
    from PySide6.QtGui import QHelpEvent
    from PySide6.QtWidgets import QApplication, QToolTip

    bars.set_probabilities([0, 0, 0, 0, 0, 0, 0, 0.973, 0.027, 0])
    row_7 = QPoint(150, round(7.5 * bars.height() / 10))
    QApplication.sendEvent(bars, QHelpEvent(QEvent.Type.ToolTip, row_7, bars.mapToGlobal(row_7)))
    qtbot.waitUntil(QToolTip.isVisible, timeout=1000)
    assert QToolTip.text() == "Probability that the drawing is a 7: 97.3 %\nClick to keep the drawing in your digits as a 7"


def test_the_answer_in_bold_is_the_largest_probability_even_where_the_bars_round_equal(bars):
    bars.set_probabilities([0, 0, 0, 0.49961, 0.49969, 0, 0, 0, 0, 0.0007])
    assert bars.values()[3] == bars.values()[4] == 500
    assert bars.bold_row() == 4
    bars.set_probabilities(None)
    assert bars.bold_row() is None


def test_an_eight_is_an_eight():
    from mnistconv.gui.probability_bars import with_article

    assert [with_article(d) for d in "038"] == ["a 0", "a 3", "an 8"]
