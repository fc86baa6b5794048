"""Real handwriting: the UNIPEN digits installed with the program, read and checked, split by writer,
and drawn as the sketchpad would receive them."""

import numpy as np
import pytest

from mnistconv.core.handwriting import Hand, HandwritingError, is_fragment, load_unipen, random_hand, render, writer_split
from mnistconv.core.preprocess import to_mnist


@pytest.fixture(scope="module")
def digits():
    return load_unipen()


def test_the_installed_set_holds_4956_digits_of_259_writers(digits):
    assert len(digits) == 4956 and len(digits.writer_names) == 259
    assert np.bincount(digits.labels, minlength=10).min() > 400
    strokes = digits.strokes(0)
    assert strokes and all(stroke.ndim == 2 and stroke.shape[1] == 2 for stroke in strokes)


def test_no_writer_is_on_both_sides_of_the_split_and_it_never_moves(digits):
    train, validation = writer_split(digits)
    assert len(train) + len(validation) == len(digits)
    assert set(digits.writer[train]).isdisjoint(digits.writer[validation])
    assert 0.1 < len(validation) / len(digits) < 0.3
    again_train, again_validation = writer_split(digits)
    assert np.array_equal(validation, again_validation) and np.array_equal(train, again_train)
    _, other = writer_split(digits, salt="another split")
    assert not np.array_equal(validation, other)


def test_a_rendering_is_a_drawing_on_the_canvas_that_to_mnist_reads(digits):
    index = int(np.flatnonzero(digits.labels == 7)[0])
    canvas = render(digits.strokes(index), Hand(height=170))
    assert canvas.shape == (280, 280) and canvas.dtype == np.float32 and 0 <= canvas.min() and canvas.max() == 1.0
    rows = np.flatnonzero(canvas.max(axis=1) > 0.5)
    assert 165 <= rows[-1] - rows[0] + 1 <= 170 + 18 + 2  # the digit's height plus the pen
    assert np.array_equal(canvas, render(digits.strokes(index), Hand(height=170)))  # the same drawing twice
    small = render(digits.strokes(index), Hand(height=60, shift=(300, 300)))  # pushed off: kept on the canvas
    assert small[:, -1].max() == 0 and small[-1].max() == 0 and small.sum() > 0
    assert to_mnist(canvas).shape == (28, 28)


def test_y_grows_downward_as_on_a_screen(digits):
    """A 7's bar is at the top of the canvas: the file's y grows upward, the canvas's downward."""
    sevens = np.flatnonzero(digits.labels == 7)[:20]
    tops = []
    for index in sevens:
        image = render(digits.strokes(int(index)))
        ink_rows = image.sum(axis=1)
        rows = np.flatnonzero(ink_rows > 0)
        top, bottom = rows[0], rows[-1]
        tops.append(ink_rows[top : top + (bottom - top) // 4].sum() > ink_rows[bottom - (bottom - top) // 4 : bottom].sum())
    assert np.mean(tops) > 0.8


def test_mouse_input_draws_sparse_points_and_dots(digits):
    strokes = digits.strokes(int(np.flatnonzero(digits.labels == 3)[0]))
    pen = render(strokes, Hand())
    mouse = render(strokes, Hand(step=25.0, dots=True))
    assert not np.array_equal(pen, mouse)
    assert mouse.sum() >= 0.9 * pen.sum()


def test_random_hands_vary_size_pen_and_input(digits):
    rng = np.random.default_rng(0)
    hands = [random_hand(rng) for _ in range(200)]
    heights = [hand.height for hand in hands]
    assert min(heights) < 80 and max(heights) > 220
    assert {hand.step > 0 for hand in hands} == {True, False} and any(hand.dots for hand in hands)


def test_fragments_are_found(digits):
    fragments = [i for i in range(len(digits)) if is_fragment(digits, i)]
    assert 20 < len(fragments) < 100
    assert all(len(np.concatenate(digits.strokes(i))) < 4 or np.ptp(np.concatenate(digits.strokes(i)), axis=0).max() == 0
               for i in fragments)


def test_a_damaged_file_is_refused_with_its_reason(tmp_path, digits):
    bad = tmp_path / "digits.npz"
    np.savez(bad, points=digits.points, stroke_ends=digits.stroke_ends[::-1], digit_ends=digits.digit_ends,
             labels=digits.labels, writer=digits.writer, writer_names=digits.writer_names)
    with pytest.raises(HandwritingError, match="stroke ends must rise"):
        load_unipen(bad)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(HandwritingError, match="cannot read"):
        load_unipen(tmp_path / "junk.npz")
