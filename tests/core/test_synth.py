"""Synthesised digits (core.synth): every style draws a digit, banks repeat with their seed, and the
training fonts stay apart from the check set's."""

import re
from pathlib import Path

import numpy as np
import pytest

from mnistconv.core import synth
from mnistconv.core.preprocess import to_mnist


@pytest.mark.parametrize("style", sorted(synth.STYLES))
def test_every_style_draws_one_digit_inside_the_canvas(style):
    r = np.random.default_rng(0)
    for _ in range(3):
        canvas = synth.stroke_digit(r, style)
        assert canvas.shape == (280, 280) and canvas.dtype == np.float32
        ink = canvas > 0.5
        assert 200 < ink.sum() < 0.6 * ink.size
        # Placed clear of the edges, as a person draws on the sketchpad.
        assert not (ink[0].any() or ink[-1].any() or ink[:, 0].any() or ink[:, -1].any())
        digit = to_mnist(canvas)
        assert digit.max() > 0.5


def test_every_digit_has_styles_and_the_ones_mnist_lacks():
    assert all(synth.STYLES_OF_DIGIT[d] for d in range(10))
    assert {"1 flag and base", "1 long flag", "0 slashed", "7 crossed", "7 hook", "4 open"} <= set(synth.STYLES)


def test_a_bank_repeats_with_its_seed_and_differs_with_another():
    images, labels = synth.synth_bank(30, seed=5, fonts=[])
    assert images.shape == (30, 28, 28) and images.dtype == np.uint8
    assert labels.tolist() == [i % 10 for i in range(30)]
    assert (images.reshape(30, -1).max(axis=1) > 200).all()
    again, _ = synth.synth_bank(30, seed=5, fonts=[])
    assert np.array_equal(images, again)
    other, _ = synth.synth_bank(30, seed=6, fonts=[])
    assert not np.array_equal(images, other)


def test_font_digits_come_from_the_fonts_given():
    fonts = synth.available_fonts()
    if not fonts:
        pytest.skip("none of core.synth.TRAINING_FONTS is installed")
    images, labels = synth.synth_bank(40, seed=1, fonts=fonts[:1])
    strokes_only, _ = synth.synth_bank(40, seed=1, fonts=[])
    assert not np.array_equal(images, strokes_only)
    canvas = synth.font_digit(np.random.default_rng(0), fonts[0], 7)
    assert to_mnist(canvas).max() > 0.9


def test_bank_size_and_share_of_a_batch():
    assert synth.per_batch(128, 0.2) == 32  # 32 of 160: a fifth
    assert synth.per_batch(128, 0.0) == 0
    assert synth.bank_size(60_000, 0.2) == 15_000
    assert synth.bank_size(512, 0.2) == 128
    assert synth.bank_size(100, 0.01) == synth.BANK_MIN


def test_training_fonts_share_no_family_with_the_check_set():
    """The check set measures fonts the model never saw: no folder (a font package's family) in common."""
    script = (Path(__file__).resolve().parents[2] / "scripts" / "make_check_set.py").read_text(encoding="utf-8")
    check_folders = {Path(p).parent for p in re.findall(r'"(/usr/share/fonts/[^"]+)"', script)}
    assert len(check_folders) > 10
    training_folders = {Path(p).parent for _, p in synth.TRAINING_FONTS}
    assert not check_folders & training_folders
