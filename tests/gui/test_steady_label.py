"""SteadyLabel: text that changes without asking the layouts above it to recompute."""

import pytest
from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from mnistconv.gui.steady_label import SteadyLabel


class EventCounter(QObject):
    def __init__(self, kind):
        super().__init__()
        self.kind = kind
        self.count = 0

    def eventFilter(self, watched, event):
        if event.type() == self.kind:
            self.count += 1
        return False


@pytest.fixture
def in_a_layout(qtbot):
    """A shown parent laying out a label of the given class, and a counter of its layout requests."""

    made = []  # qtbot holds widgets weakly: keep the parents alive for the test

    def make(label):
        parent = QWidget()
        made.append(parent)
        qtbot.addWidget(parent)
        QVBoxLayout(parent).addWidget(label)
        label.setFixedHeight(40)
        parent.resize(200, 100)
        parent.show()
        qtbot.waitExposed(parent)
        qtbot.wait(20)  # the first layout pass
        counter = EventCounter(QEvent.Type.LayoutRequest)
        parent.installEventFilter(counter)
        return counter

    return make


@pytest.mark.parametrize("cls, relayouts", [(QLabel, True), (SteadyLabel, False)])
def test_new_text_relays_out_a_qlabel_but_not_a_steady_label(qtbot, in_a_layout, cls, relayouts):
    label = cls()
    counter = in_a_layout(label)
    for text in ("7", "Not sure — is this a digit?", "99.5 % confident"):
        label.setText(text) if cls is QLabel else label.set_text(text)
        qtbot.wait(10)
    assert label.text() == "99.5 % confident"
    assert (counter.count > 0) is relayouts


def test_the_same_text_is_not_repainted(qtbot, in_a_layout):
    label = SteadyLabel()
    in_a_layout(label)
    paints = EventCounter(QEvent.Type.Paint)
    label.installEventFilter(paints)
    label.set_text("3")
    qtbot.waitUntil(lambda: paints.count > 0, timeout=1000)
    painted = paints.count
    label.set_text("3")
    qtbot.wait(30)
    assert paints.count == painted
    bold = QFont(label.font())
    bold.setBold(True)
    label.set_text("3", bold, QColor("#c77c02"))  # same text, new look: repainted
    qtbot.waitUntil(lambda: paints.count > painted, timeout=1000)
    assert label.font_shown().bold() and label.colour_shown() == QColor("#c77c02")


def hover_tooltip(qtbot, label):
    """The tooltip text hovering the label shows, or "" where it shows none."""
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QHelpEvent
    from PySide6.QtWidgets import QApplication, QToolTip

    QToolTip.hideText()
    qtbot.waitUntil(lambda: not QToolTip.isVisible(), timeout=1000)
    middle = QPoint(label.width() // 2, label.height() // 2)
    QApplication.sendEvent(label, QHelpEvent(QEvent.Type.ToolTip, middle, label.mapToGlobal(middle)))
    qtbot.wait(20)
    return QToolTip.text() if QToolTip.isVisible() else ""


def test_text_too_long_for_the_box_is_offered_whole_in_the_tooltip(qtbot, in_a_layout):
    label = SteadyLabel()
    in_a_layout(label)
    long = "Could not read the digit: " + "the model answered something unexpected " * 4
    label.set_text(long)
    assert label.is_cut_off() and hover_tooltip(qtbot, label) == long
    label.set_text("Draw a digit")
    assert not label.is_cut_off() and hover_tooltip(qtbot, label) == ""
