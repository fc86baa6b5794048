"""The "not sure" decision on plain arrays: a blob, a flat line, a digit, a reading torn in two."""

import numpy as np
import pytest

from mnistconv.core.plausibility import Doubt, bundled_statistics, flatness, judge, thickness
from mnistconv.core.preprocess import to_mnist

ONE_HOT_7 = np.eye(10, dtype=np.float32)[7]


def stroke_image(*segments, width=18):
    """A 280×280 drawing of pen strokes along ((row, column), (row, column)) segments, through to_mnist."""
    canvas = np.zeros((280, 280), dtype=np.float32)
    yy, xx = np.mgrid[0:280, 0:280]
    for (r0, c0), (r1, c1) in segments:
        for t in np.linspace(0, 1, 200):
            r, c = r0 + (r1 - r0) * t, c0 + (c1 - c0) * t
            canvas[(yy - r) ** 2 + (xx - c) ** 2 <= (width / 2) ** 2] = 1.0
    return to_mnist(canvas)


def test_a_seven_is_a_digit():
    seven = stroke_image(((60, 60), (60, 220)), ((60, 220), (240, 120)))
    verdict = judge(seven, ONE_HOT_7)
    assert verdict.doubt is Doubt.NONE and verdict.digit == 7 and not verdict.torn
    assert verdict.unlikeness < verdict.threshold == bundled_statistics().threshold


def test_a_dot_is_a_blob_and_a_dash_a_flat_line():
    dot = stroke_image(((140, 140), (140, 141)))
    assert thickness(dot) > 5 and judge(dot, ONE_HOT_7).doubt is Doubt.BLOB
    dash = stroke_image(((140, 40), (140, 240)))
    assert flatness(dash) < 0.3 and judge(dash, ONE_HOT_7).doubt is Doubt.FLAT


def test_a_reading_split_between_two_digits_names_the_runner_up():
    one = stroke_image(((40, 140), (240, 140)))
    split = np.full(10, 0.02, dtype=np.float32)
    split[1], split[7] = 0.5, 0.34
    verdict = judge(one, split)
    assert verdict.torn and (verdict.digit, verdict.runner_up) == (1, 7)
    assert verdict.runner_up_confidence == pytest.approx(0.34)


def test_no_ink_measures_as_nothing():
    empty = np.zeros((28, 28), dtype=np.float32)
    assert thickness(empty) == 0.0 and flatness(empty) == 1.0


def test_real_writers_digits_are_rarely_taken_for_non_digits():
    """Validation writers of the real handwriting (never used to make the statistics nor to set the
    threshold), drawn with the sketchpad's pen: the flag must leave nearly all of them alone."""
    from mnistconv.core.handwriting import load_unipen, readable_rows, render, writer_split

    digits = load_unipen()
    rows = readable_rows(digits, writer_split(digits)[1])
    flagged = [judge(to_mnist(render(digits.strokes(int(row)))), ONE_HOT_7).not_a_digit for row in rows]
    assert len(flagged) == 899
    assert np.mean(flagged) <= 0.03  # 2.3 % (statistics of MNIST alone, before: 3.9 %)
    # 1.8 % since the pen styles are modelled and the threshold is set per kind of digit


def test_slashed_zeros_are_digits():
    """The check set's slashed 0s (drawn through the canvas by their own generator, not core.synth's),
    odd-numbered: held out from the threshold. MNIST's writers hardly slash a 0; before the pen
    styles were modelled, 15 of these 40 were flagged "not sure"."""
    from pathlib import Path

    with np.load(Path(__file__).resolve().parents[2] / "benchmarks" / "check_set.npz") as check:
        images, labels, sources = check["images"], check["labels"], check["source"]
    held_out = [i for i in range(1, len(labels), 2) if labels[i] == 0 and str(sources[i]).startswith("style:")]
    assert len(held_out) == 40
    one_hot_0 = np.eye(10, dtype=np.float32)[0]
    flagged = [judge(images[i].astype(np.float32) / 255, one_hot_0).not_a_digit for i in held_out]
    assert sum(flagged) <= 4, sum(flagged)  # 3 of 40
