"""The sketchpad: draw a digit with mouse, pen or finger and watch the network read it as you draw.

`Sketchpad` wires a `DrawingCanvas` (gui/drawing_canvas.py) to core: `to_mnist` then
`Predictor.predict`, at most once per interval (about a frame): the first change is read at once,
later ones at the interval's end.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPixmap
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QMenu, QSizePolicy, QStyle, QToolButton, QVBoxLayout, QWidget

from mnistconv.core.plausibility import Verdict, judge
from mnistconv.core.preprocess import to_mnist

from .drawing_canvas import LOGICAL_SIDE, DrawingCanvas
from .probability_bars import ProbabilityBars, with_article
from .steady_label import SteadyLabel

PREDICT_INTERVAL_MS = 12  # a reading takes about 2 ms: the bars keep within a 60 Hz frame of the pen
SALIENCY_RED = "#ff0000"  # the legend's swatch: the tint at its strongest
PREVIEW_SIDE = 112  # the 28×28 network input, shown 4× with nearest-neighbour scaling
MIN_CANVAS_SIDE = 224  # the canvas grows from here with the space the window gives it
UNSURE_COLOUR = QColor("#c77c02")  # amber, legible on light and dark backgrounds


KEEP_GAP = 10  # px between the buttons under the preview and the probability bars


def visible_heat(saliency: np.ndarray) -> np.ndarray:
    """The saliency as tint strengths in [0, 1]: the top tenth of the pixels that drove the answer at
    full strength, the rest by the square root of their share. Scaled to the single strongest pixel,
    most of them showed as faint specks."""
    driving = saliency[saliency > 0]
    if driving.size == 0:
        return saliency
    return np.sqrt(np.clip(saliency / np.percentile(driving, 90), 0.0, 1.0))


class PredictorLike(Protocol):
    def predict(self, images: np.ndarray) -> np.ndarray: ...
    def describe(self) -> str: ...


class _SquareHolder(QWidget):
    """Keeps the canvas square and as large as the space it is given, centred in it."""

    def __init__(self, canvas: DrawingCanvas, parent: QWidget | None = None):
        super().__init__(parent)
        self.canvas = canvas
        canvas.setParent(self)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return QSize(LOGICAL_SIDE, LOGICAL_SIDE)

    def minimumSizeHint(self) -> QSize:
        return QSize(MIN_CANVAS_SIDE, MIN_CANVAS_SIDE)

    def resizeEvent(self, event) -> None:
        side = max(1, min(self.width(), self.height()))
        self.canvas.set_side(side)
        self.canvas.move((self.width() - side) // 2, 0)


class Sketchpad(QWidget):
    """The canvas, the digit the network reads with its confidence, ten probability bars and the 28×28 input."""

    prediction_updated = Signal(object)  # (10,) float32 probabilities; not emitted for an empty canvas
    reading_failed = Signal(str)  # why a drawing could not be prepared for the network
    reading_changed = Signal()  # after every reading: a prediction, an empty canvas, no model or a failing one
    predictor_changed = Signal(object)  # the model it reads with now (None: none)
    keep_requested = Signal(int)  # keep the drawing as an example of this digit (a bar clicked, "Keep as")

    def __init__(self, predictor: PredictorLike | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self._predictor = predictor
        self._probabilities: np.ndarray | None = None
        self._verdict: Verdict | None = None
        self._network_input: np.ndarray | None = None

        self.canvas = DrawingCanvas()
        # The canvas's actions (window-wide shortcuts) belong to the sketchpad too: its buttons show them.
        self.addActions([self.canvas.clear_action, self.canvas.undo_action])
        clear_button = QToolButton()
        clear_button.setDefaultAction(self.canvas.clear_action)
        undo_button = QToolButton()
        # "Undo" on the button (the menu and its tooltip say "Undo stroke"): the row under the
        # preview stays clear of the bars' digit labels at the smallest window.
        self.canvas.undo_action.setIconText("Undo")
        undo_button.setDefaultAction(self.canvas.undo_action)

        self.digit_label = SteadyLabel()
        self.digit_label.setMinimumWidth(PREVIEW_SIDE)  # hints and errors wrap in it
        self._digit_font = QFont(self.font())
        self._digit_font.setPointSize(48)
        self._digit_font.setBold(True)
        self._hint_font = QFont(self.font())
        # As tall as the big digit: hints and errors wrap inside that box.
        self.digit_label.setFixedHeight(QFontMetrics(self._digit_font).height())
        self.confidence_label = SteadyLabel(alignment=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.confidence_label.setMinimumWidth(PREVIEW_SIDE)
        self.confidence_label.setFixedHeight(self.digit_label.height())
        self._unsure_font = QFont(self.font())
        self._unsure_font.setBold(True)
        self.preview_label = QLabel()
        self.preview_label.setFixedSize(PREVIEW_SIDE, PREVIEW_SIDE)
        self.preview_label.setStyleSheet("background: black")
        self.preview_label.setToolTip("What the network sees: the drawing cropped, scaled to 20 px and centred in 28×28")
        self.saliency_check = QCheckBox("Show what drove it")
        self.saliency_check.setToolTip("Tint the pixels that pushed the network towards its answer (input × gradient)")
        self.saliency_check.toggled.connect(self._on_saliency_toggled)
        self._saliency: np.ndarray | None = None
        self.saliency_legend = QLabel()  # what the red means, shown with the tint
        self.saliency_legend.setWordWrap(True)
        self.saliency_legend.setMaximumWidth(PREVIEW_SIDE)
        self.saliency_legend.hide()

        self.bars = ProbabilityBars()
        self.bars.row_clicked.connect(self.keep_requested)

        # The canvas on top, as large as the space allows; under it the answer (the digit and how
        # sure), and the network's input beside the ten bars.
        self.canvas_holder = _SquareHolder(self.canvas)
        answer = QHBoxLayout()
        answer.addWidget(self.digit_label, 1)
        answer.addWidget(self.confidence_label, 1)
        tools = QHBoxLayout()
        tools.addWidget(clear_button)
        tools.addWidget(undo_button)
        self.keep_button = QToolButton()
        self.keep_button.setText("Keep as…")
        self.keep_button.setToolTip("Keep this drawing in your digits as the digit you meant (or press its key, or "
                                    "click its bar)")
        keep_menu = QMenu(self.keep_button)
        for digit in range(10):
            keep_menu.addAction(str(digit), lambda digit=digit: self.keep_requested.emit(digit))
        self.keep_button.setMenu(keep_menu)
        self.keep_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        # Its size hint leaves out the menu arrow drawn over the text; make room for it.
        arrow = self.keep_button.style().pixelMetric(QStyle.PixelMetric.PM_MenuButtonIndicator, None, self.keep_button)
        self.keep_button.setMinimumWidth(self.keep_button.sizeHint().width() + arrow)
        tools.addWidget(self.keep_button)
        tools.addStretch(1)
        beside_bars = QVBoxLayout()
        beside_bars.addWidget(self.preview_label)
        beside_bars.addWidget(self.saliency_check)
        beside_bars.addWidget(self.saliency_legend)
        beside_bars.addLayout(tools)
        beside_bars.addStretch(1)
        results = QHBoxLayout()
        results.addLayout(beside_bars)
        results.addSpacing(KEEP_GAP)  # Keep as…'s menu arrow must not touch the bars' digit labels
        results.addWidget(self.bars, 1, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas_holder, 1)
        layout.addLayout(answer)
        layout.addLayout(results)
        layout.addStretch(0)  # what a square canvas cannot use (resizeEvent) goes below, not between

        # Throttle, not debounce: the first change is read at once and starts the timer; changes
        # while it runs are read together when it ends, so a long stroke is read every interval.
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(PREDICT_INTERVAL_MS)
        self._timer.timeout.connect(self._on_interval_over)
        self._changed_meanwhile = False
        self.canvas.ink_changed.connect(self._on_ink_changed)
        self._show_nothing("Draw a digit")

    def resizeEvent(self, event) -> None:
        # The canvas is square: its holder gets no more height than the width allows, so the digit,
        # preview and bars sit right under it and spare height collects at the foot.
        layout = self.layout()
        below = sum(layout.itemAt(i).sizeHint().height() for i in (1, 2)) + 2 * layout.spacing()
        self.canvas_holder.setMaximumHeight(max(MIN_CANVAS_SIDE, min(self.width(), self.height() - below)))
        super().resizeEvent(event)

    # -- public ---------------------------------------------------------------------------------
    @property
    def predictor(self) -> PredictorLike | None:
        return self._predictor

    def set_predictor(self, predictor: PredictorLike | None) -> None:
        """Read the drawing with another model (None: no model); what is drawn is read again."""
        self._predictor = predictor
        self.predictor_changed.emit(predictor)
        self._on_ink_changed()

    def probabilities(self) -> np.ndarray | None:
        """The probabilities the bars show, or None when there is no prediction."""
        return None if self._probabilities is None else self._probabilities.copy()

    def is_unsure(self) -> bool:
        """True while the shown reading is flagged: what is drawn does not look like a digit
        (core.plausibility), whatever digit the network names."""
        return self._verdict is not None and self._verdict.not_a_digit

    def verdict(self) -> Verdict | None:
        """core.plausibility's verdict on the shown reading, or None without one."""
        return self._verdict

    def saliency(self) -> np.ndarray | None:
        """The (28, 28) saliency tinting the preview, or None when the overlay is off or empty."""
        return None if self._saliency is None else self._saliency.copy()

    def network_input(self) -> np.ndarray | None:
        """The 28×28 image of the last prediction (shown in the preview), or None."""
        return None if self._network_input is None else self._network_input.copy()

    # -- slots ----------------------------------------------------------------------------------
    def _on_ink_changed(self) -> None:
        if self._timer.isActive():
            self._changed_meanwhile = True
            return
        self._timer.start()
        self.read_drawing()

    def _on_interval_over(self) -> None:
        if self._changed_meanwhile:
            self._changed_meanwhile = False
            self._timer.start()
            self.read_drawing()

    def read_drawing(self) -> None:
        """Preprocess what is drawn, predict it and show the result (or why there is none)."""
        self._read()
        self.reading_changed.emit()

    def _read(self) -> None:
        if self.canvas.is_empty():
            self._show_nothing("Draw a digit")
            return
        digit = self.canvas.picture_digit()  # a test digit is read as it is, not redrawn
        try:
            image = digit if digit is not None else to_mnist(self.canvas.ink())
        except Exception as exc:  # noqa: BLE001 - whatever the drawing is, the window goes on (and says so)
            self._show_nothing("Can't read this drawing")
            self.reading_failed.emit(f"{type(exc).__name__}: {exc}")
            return
        self._show_preview(image)
        if self._predictor is None:
            self._show_nothing("No model to read it yet", keep_preview=True)
            return
        try:
            probabilities = np.asarray(self._predictor.predict(image), dtype=np.float32)
            if probabilities.shape != (1, 10):
                raise ValueError(f"the model returned shape {probabilities.shape}, expected (1, 10)")
            if not np.isfinite(probabilities).all():
                raise ValueError("the model's answer is not a number (its weights are not finite)")
        except Exception as exc:  # noqa: BLE001 - a failing model must not take the window down
            self._show_nothing(f"Could not read the digit: {exc}", keep_preview=True)
            return
        # Judged once the pen is up: half an 8 is no digit yet, and a flag flashing mid-stroke is noise.
        verdict = None
        if not self.canvas.is_drawing():
            try:
                verdict = judge(image, probabilities[0])
            except Exception:  # noqa: BLE001 - no statistics (a broken install): the reading stands unjudged
                verdict = None
        self._show_prediction(probabilities[0], verdict)
        self._update_saliency()
        self.prediction_updated.emit(self.probabilities())

    def _on_saliency_toggled(self) -> None:
        self._update_saliency()

    def _update_saliency(self) -> None:
        shown_before = self._saliency is not None
        self._saliency = None
        wanted = self.saliency_check.isChecked() and self._probabilities is not None
        if wanted and hasattr(self._predictor, "saliency"):
            try:
                self._saliency = self._predictor.saliency(self._network_input, int(self._probabilities.argmax()))
            except Exception:  # noqa: BLE001 - the overlay is a nicety; the reading stands without it
                self._saliency = None
        # Without an overlay before or now, the preview read_drawing just showed is already right.
        if self._network_input is not None and (shown_before or self._saliency is not None):
            self._show_preview(self._network_input)
        self._show_saliency_legend()

    def _show_saliency_legend(self) -> None:
        if self._saliency is None:
            self.saliency_legend.hide()
            return
        digit = int(self._probabilities.argmax())
        self.saliency_legend.setText(f'<span style="color:{SALIENCY_RED}">■</span> pushed it towards {digit}; '
                                     "the brighter, the more")
        self.saliency_legend.show()

    def _seen(self, image: np.ndarray) -> np.ndarray:
        """The input as the model's first block sees it (deskewed, by a model that deskews)."""
        if self._predictor is None or not hasattr(self._predictor, "seen"):
            return image
        try:
            return self._predictor.seen(image)
        except Exception:  # noqa: BLE001 - the preview falls back to the input itself
            return image

    # -- display --------------------------------------------------------------------------------
    def _show_prediction(self, probabilities: np.ndarray, verdict: Verdict | None) -> None:
        self._probabilities = probabilities
        self._verdict = verdict
        digit = int(probabilities.argmax())
        self.digit_label.set_text(str(digit), self._digit_font)
        confidence = float(probabilities[digit])
        if verdict is not None and verdict.not_a_digit:
            self.confidence_label.set_text(f"Not sure — is this a digit? ({100 * confidence:.0f} % {with_article(str(digit))})",
                                           self._unsure_font, UNSURE_COLOUR)
        elif verdict is not None and verdict.torn:
            runner_up = f"{with_article(str(verdict.runner_up))} ({100 * verdict.runner_up_confidence:.0f} %)"
            self.confidence_label.set_text(f"{100 * confidence:.0f} % {with_article(str(digit))}, or {runner_up}?")
        else:
            self.confidence_label.set_text(f"{100 * confidence:.1f} % confident")
        self.bars.set_probabilities(probabilities)

    def _show_nothing(self, message: str, keep_preview: bool = False) -> None:
        self._probabilities = None
        self._verdict = None
        self._saliency = None
        self.saliency_legend.hide()
        self.digit_label.set_text(message, self._hint_font)
        self.confidence_label.clear()
        self.bars.set_probabilities(None)
        if not keep_preview:
            self._network_input = None
            self.preview_label.clear()

    def _show_preview(self, image: np.ndarray) -> None:
        self._network_input = image
        pixels = np.ascontiguousarray(np.clip(self._seen(image) * 255 + 0.5, 0, 255).astype(np.uint8))
        if self._saliency is not None:
            heat = np.clip(visible_heat(self._saliency) * 255 + 0.5, 0, 255).astype(np.uint8)
            grey = pixels // 3
            rgb = np.stack([np.maximum(grey, heat), grey, grey], axis=-1)
            rgb = np.ascontiguousarray(rgb)
            preview = QImage(rgb.data, 28, 28, 28 * 3, QImage.Format.Format_RGB888).copy()
        else:
            preview = QImage(pixels.data, 28, 28, 28, QImage.Format.Format_Grayscale8).copy()  # own the bytes
        ratio = self.devicePixelRatioF()
        side = round(PREVIEW_SIDE * ratio)  # device pixels, so HiDPI screens get crisp blocks too
        pixmap = QPixmap.fromImage(preview.scaled(side, side, Qt.AspectRatioMode.IgnoreAspectRatio,
                                                  Qt.TransformationMode.FastTransformation))
        pixmap.setDevicePixelRatio(ratio)
        self.preview_label.setPixmap(pixmap)
