"""The "not sure" flag, measured: scribbles, letters and shapes drawn through the canvas are flagged,
the check set's real-style digits are not (core.plausibility; benchmarks/not_sure.py has the figures)."""

from pathlib import Path

import numpy as np
import pytest

from mnistconv.core.plausibility import judge
from mnistconv.core.predict import Predictor
from mnistconv.core.preprocess import to_mnist
from mnistconv.gui.drawing_canvas import DrawingCanvas

from non_digits import draw, kinds, non_digit_drawings

OLD_RULE = 0.6  # the flag before: a top probability under 60 %
CHECK_SET = Path(__file__).resolve().parents[2] / "benchmarks" / "check_set.npz"


def check_set_images() -> np.ndarray:
    with np.load(CHECK_SET) as stored:
        return stored["images"].astype(np.float32) / 255


@pytest.fixture(scope="module")
def predictor():
    return Predictor.bundled("cpu")


def flags(predictor, images):
    """Each image's flag, and its top probability as the old rule saw it: before calibration (the
    old rule's 60 % was set on those; calibrated ones are sharper, core.calibration)."""
    probabilities = predictor.predict(np.asarray(images, dtype=np.float32))
    uncalibrated = Predictor(predictor.model, predictor.device, name="uncalibrated").predict(np.asarray(images, np.float32))
    return np.array([judge(image, p).not_a_digit for image, p in zip(images, probabilities)]), uncalibrated.max(axis=1)


def test_non_digits_drawn_on_the_canvas_are_flagged(qtbot, predictor):
    canvas = DrawingCanvas()
    qtbot.addWidget(canvas)
    drawings = non_digit_drawings(per_kind=6, seed=7)
    assert len(drawings) == 6 * len(kinds()) >= 180
    images = []
    for _, strokes in drawings:
        draw(canvas, strokes)
        images.append(to_mnist(canvas.ink()))
    flagged, confidence = flags(predictor, images)
    # 78 % of these with the statistics of MNIST's and real writers' digits (83 % with MNIST's alone,
    # which flagged 3.9 % of real writers' digits against 2.3 %: benchmarks/not_sure.py).
    assert flagged.mean() >= 0.75, f"{flagged.mean():.1%} of the non-digits flagged"
    # Far better than the old rule.
    assert flagged.mean() > (confidence < OLD_RULE).mean() + 0.2
    zigzags = [i for i, (kind, _) in enumerate(drawings) if kind in ("zigzag", "dot")]
    assert flagged[zigzags].all()  # the two the issue met


def test_check_set_digits_are_rarely_flagged(predictor):
    images = check_set_images()
    flagged, confidence = flags(predictor, images)
    # The threshold was set on the even-numbered items; the odd-numbered ones were never looked at.
    assert flagged[1::2].mean() <= 0.03 and flagged.mean() <= 0.03, f"{flagged.mean():.1%} of the digits flagged"
    assert flagged.mean() < (confidence < OLD_RULE).mean()  # fewer false alarms than the old rule
