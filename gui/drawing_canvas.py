"""The drawing canvas: a black square to draw white digits on with a mouse, a pen or a finger.

`DrawingCanvas` keeps the strokes as lists of points (so Undo can drop the last one), paints them as
vectors every paintEvent (sharp at any device pixel ratio) and renders them into a grayscale array
on request (`ink()`), which is what the sketchpad hands to `to_mnist`. It can also hold a picture
(an opened image file, as ink): drawn beneath the strokes and part of `ink()`, until Clear.
"""

from __future__ import annotations

from enum import Enum

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QColor, QImage, QKeySequence, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QWidget

LOGICAL_SIDE = 280  # strokes live in a 280×280 square whatever the widget's size
PEN_WIDTH = 18.0  # at 280 px: after to_mnist's 20-px box a stroke is about 2 px wide, like MNIST's
MIN_STEP = 1.0  # logical px; closer points add nothing but work


class InputSource(str, Enum):
    """What is drawing the stroke in progress; events of another source are ignored meanwhile."""

    MOUSE = "mouse"
    TABLET = "tablet"
    TOUCH = "touch"


def _shortcut_text(sequence: QKeySequence) -> str:
    return sequence.toString(QKeySequence.SequenceFormat.NativeText)


class _Stroke:
    """One stroke: its points and a smoothed path through them, built as points arrive."""

    def __init__(self, start: QPointF):
        self.points = [QPointF(start)]
        self.body = QPainterPath(start)  # ends at the midpoint before the last point

    def add(self, point: QPointF) -> None:
        previous = self.points[-1]
        middle = (previous + point) / 2
        # Quadratic curves through the midpoints, with the recorded points as control points,
        # turn the polyline of mouse samples into a smooth line.
        if len(self.points) == 1:
            self.body.lineTo(middle)
        else:
            self.body.quadTo(previous, middle)
        self.points.append(QPointF(point))

    def path(self) -> QPainterPath:
        path = QPainterPath(self.body)
        path.lineTo(self.points[-1])
        return path


class DrawingCanvas(QWidget):
    """A black square to draw white digits on, with mouse, tablet pen or touch."""

    ink_changed = Signal()

    def __init__(self, side: int = LOGICAL_SIDE, parent: QWidget | None = None):
        super().__init__(parent)
        self.set_side(side)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_AcceptTouchEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)  # paintEvent fills every pixel
        self.setCursor(Qt.CursorShape.CrossCursor)
        self._strokes: list[_Stroke] = []
        self._source: InputSource | None = None  # while a stroke is drawn
        self._picture: np.ndarray | None = None  # (280, 280) float32 ink from an image file
        self._picture_image: QImage | None = None  # the same, to paint

        self.clear_action = QAction("Clear", self)
        self.clear_action.setShortcuts([QKeySequence(Qt.Key.Key_Escape), QKeySequence(Qt.Key.Key_Delete)])
        self.clear_action.setToolTip(f"Clear the drawing ({_shortcut_text(self.clear_action.shortcut())} or Delete)")
        self.clear_action.triggered.connect(self.clear)
        self.undo_action = QAction("Undo stroke", self)
        self.undo_action.setShortcuts(QKeySequence.StandardKey.Undo)  # Ctrl+Z, or the platform's own
        self.undo_action.setToolTip(f"Remove the last stroke ({_shortcut_text(self.undo_action.shortcut())})")
        self.undo_action.triggered.connect(self.undo)
        for action in (self.clear_action, self.undo_action):
            # Wherever the focus is in the window: after a click on Pause, Esc still clears the drawing.
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            self.addAction(action)
        self._update_actions()

    def set_side(self, side: int) -> None:
        """Show the square at `side` widget pixels; the strokes keep their 280×280 logical place."""
        self.setFixedSize(side, side)

    # -- the strokes ----------------------------------------------------------------------------
    def strokes(self) -> list[list[tuple[float, float]]]:
        """The strokes as lists of (x, y) points in the 280×280 logical square."""
        return [[(p.x(), p.y()) for p in stroke.points] for stroke in self._strokes]

    def is_empty(self) -> bool:
        return not self._strokes and self._picture is None

    def is_drawing(self) -> bool:
        """Whether a stroke is in progress (the pen is down)."""
        return self._source is not None

    def has_picture(self) -> bool:
        return self._picture is not None

    def set_picture(self, ink: np.ndarray) -> None:
        """Replace the drawing with a picture: (280, 280) ink in [0, 1], bright on dark."""
        ink = np.asarray(ink, dtype=np.float32)
        if ink.shape != (LOGICAL_SIDE, LOGICAL_SIDE):
            raise ValueError(f"a canvas picture is ({LOGICAL_SIDE}, {LOGICAL_SIDE}), not {ink.shape}")
        self._source = None
        self._strokes.clear()
        self._picture = np.clip(ink, 0.0, 1.0)
        grey = np.ascontiguousarray(np.round(self._picture * 255).astype(np.uint8))
        self._picture_image = QImage(grey.data, LOGICAL_SIDE, LOGICAL_SIDE, LOGICAL_SIDE, QImage.Format.Format_Grayscale8).copy()
        self._changed()

    def clear(self) -> None:
        self._source = None
        if self._strokes or self._picture is not None:
            self._strokes.clear()
            self._picture = self._picture_image = None
            self._changed()

    def undo(self) -> None:
        """Drop the last stroke; with none left, the picture."""
        self._source = None
        if self._strokes:
            self._strokes.pop()
            self._changed()
        elif self._picture is not None:
            self._picture = self._picture_image = None
            self._changed()

    def ink(self) -> np.ndarray:
        """The drawing as float32 (280, 280) in [0, 1], white ink on black, rendered by QPainter."""
        # Qt paints antialiased paths into RGB32 about 3× faster than into Grayscale8, with the
        # same coverage values: white ink makes the three colour channels equal, so one will do.
        image = QImage(LOGICAL_SIDE, LOGICAL_SIDE, QImage.Format.Format_RGB32)
        image.fill(0)
        painter = QPainter(image)
        self._render(painter)
        painter.end()
        pixels = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.sizeInBytes())
        pixels = pixels.reshape(LOGICAL_SIDE, image.bytesPerLine() // 4, 4)[:, :LOGICAL_SIDE]
        # 0xffRRGGBB: byte 1 is a colour channel in either byte order (G, or R on big-endian).
        channel = pixels[:, :, 1]
        ink = channel.astype(np.float32) * np.float32(1 / 255)  # a copy: the QImage goes away
        if self._picture is not None:
            np.maximum(ink, self._picture, out=ink)
        return ink

    # -- painting -------------------------------------------------------------------------------
    def _scale(self) -> float:
        return self.width() / LOGICAL_SIDE

    def _render(self, painter: QPainter) -> None:
        """Draw the strokes in logical coordinates; the painter's transform does the scaling."""
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(QColor(Qt.GlobalColor.white), PEN_WIDTH)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for stroke in self._strokes:
            if len(stroke.points) == 1:
                painter.drawPoint(stroke.points[0])  # a dot: a round cap on its own
            else:
                painter.drawPath(stroke.path())

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(event.rect(), Qt.GlobalColor.black)
        painter.scale(self._scale(), self._scale())
        if self._picture_image is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(QRectF(0, 0, LOGICAL_SIDE, LOGICAL_SIDE), self._picture_image)
        self._render(painter)

    def _repaint_around(self, *points: QPointF) -> None:
        """Repaint only the box around these logical points, grown by the pen's width."""
        xs = [p.x() for p in points]
        ys = [p.y() for p in points]
        margin = PEN_WIDTH  # more than half the pen: antialiased edges included
        scale = self._scale()
        box = QRectF(min(xs) - margin, min(ys) - margin, max(xs) - min(xs) + 2 * margin, max(ys) - min(ys) + 2 * margin)
        self.update(QRectF(box.topLeft() * scale, box.bottomRight() * scale).toAlignedRect())

    # -- input ----------------------------------------------------------------------------------
    def _begin(self, position: QPointF, source: InputSource) -> None:
        self._source = source
        self._strokes.append(_Stroke(position / self._scale()))
        self._repaint_around(self._strokes[-1].points[0])
        self._changed(repaint=False)

    def _extend(self, position: QPointF, source: InputSource) -> None:
        if self._source != source:
            return
        point = position / self._scale()
        stroke = self._strokes[-1]
        last = stroke.points[-1]
        if (point - last).manhattanLength() < MIN_STEP:
            return
        # The curve is drawn up to the last point; its smoothed part bends within the last three.
        before = stroke.points[-2] if len(stroke.points) > 1 else last
        stroke.add(point)
        self._repaint_around(before, last, point)
        self._changed(repaint=False)

    def _end(self, position: QPointF, source: InputSource) -> None:
        if self._source != source:
            return
        self._extend(position, source)
        self._source = None
        self.ink_changed.emit()  # the stroke is complete

    def _cancel(self, source: InputSource) -> None:
        """A cancelled touch (the system took the gesture): the unfinished stroke goes."""
        if self._source == source:
            self._source = None
            self._strokes.pop()
            self._changed()

    def mousePressEvent(self, event) -> None:
        # A press while a mouse stroke seems open means its release was lost: start afresh.
        if event.button() == Qt.MouseButton.LeftButton and self._source in (None, InputSource.MOUSE):
            self._begin(event.position(), InputSource.MOUSE)
        event.accept()

    def mouseMoveEvent(self, event) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._extend(event.position(), InputSource.MOUSE)
        event.accept()

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._end(event.position(), InputSource.MOUSE)
        event.accept()

    def tabletEvent(self, event) -> None:
        # Accepting tablet events stops Qt from also synthesising mouse events for them.
        kind = event.type()
        if kind == QEvent.Type.TabletPress and self._source in (None, InputSource.TABLET):
            self._begin(event.position(), InputSource.TABLET)
        elif kind == QEvent.Type.TabletMove and event.buttons():
            self._extend(event.position(), InputSource.TABLET)
        elif kind == QEvent.Type.TabletRelease:
            self._end(event.position(), InputSource.TABLET)
        event.accept()

    def event(self, event) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.TouchBegin, QEvent.Type.TouchUpdate, QEvent.Type.TouchEnd, QEvent.Type.TouchCancel):
            # One finger draws; accepted touch events are not turned into mouse events.
            points = event.points()
            if kind == QEvent.Type.TouchCancel:
                self._cancel(InputSource.TOUCH)
            elif points:
                position = points[0].position()
                if kind == QEvent.Type.TouchBegin and self._source is None:
                    self._begin(position, InputSource.TOUCH)
                elif kind == QEvent.Type.TouchUpdate:
                    self._extend(position, InputSource.TOUCH)
                elif kind == QEvent.Type.TouchEnd:
                    self._end(position, InputSource.TOUCH)
            event.accept()
            return True
        return super().event(event)

    def _changed(self, repaint: bool = True) -> None:
        if repaint:
            self.update()
        self._update_actions()
        self.ink_changed.emit()

    def _update_actions(self) -> None:
        self.clear_action.setEnabled(not self.is_empty())
        self.undo_action.setEnabled(not self.is_empty())
