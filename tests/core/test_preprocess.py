"""to_mnist: crop, fit the longer side to 20 px, centre the mass at (14, 14), as MNIST was made."""

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mnistconv.core.preprocess import INK_THRESHOLD, to_mnist

from idx_files import synthetic_digits


def centre_of_mass(image):
    rows, cols = np.indices(image.shape)
    total = image.sum()
    return (rows * image).sum() / total, (cols * image).sum() / total


def extent(image, level=0.05):
    """(height, width) of the box holding every pixel brighter than level."""
    rows = np.flatnonzero((image > level).any(axis=1))
    cols = np.flatnonzero((image > level).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def seven(canvas_shape=(280, 280), top=40, left=60, size=160, width=18):
    """A crude '7' drawn in uint8 on a black canvas: a bar and a slanted stroke."""
    image = np.zeros(canvas_shape, dtype=np.uint8)
    image[top : top + width, left : left + size] = 255
    for row in range(top, top + size):
        col = left + size - (row - top) // 2
        image[row, max(col - width, 0) : col] = 255
    return image


@pytest.mark.parametrize("image", [
    seven(),
    seven().astype(np.float64) / 255,
    np.random.default_rng(0).integers(0, 256, size=(50, 70), dtype=np.uint8),
    np.random.default_rng(1).random((300, 17), dtype=np.float32),
], ids=["uint8", "float64", "noise-uint8", "noise-float32"])
def test_output_is_28x28_float32_in_unit_range(image):
    out = to_mnist(image)
    assert out.shape == (28, 28)
    assert out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    assert out.max() > 0.5


def test_uint8_and_float_inputs_agree():
    image = seven()
    expected = to_mnist(image)
    np.testing.assert_allclose(to_mnist(image.astype(np.float32) / 255), expected, atol=1e-6)
    np.testing.assert_allclose(to_mnist(image.astype(np.float64) / 255), expected, atol=1e-6)


@pytest.mark.parametrize("image", [
    np.zeros((280, 280), dtype=np.uint8),
    np.zeros((28, 28), dtype=np.float32),
    np.full((100, 100), 0.02),  # below the ink threshold everywhere
    np.zeros((0, 0)),
], ids=["zeros-uint8", "zeros-float", "faint", "zero-size"])
def test_no_ink_gives_zeros(image):
    out = to_mnist(image)
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert not out.any()


@pytest.mark.parametrize("top, left", [(0, 0), (500 - 120, 400 - 90), (10, 300)])
def test_digit_in_a_corner_comes_out_centred_and_20_px(top, left):
    image = seven(canvas_shape=(500, 400), top=top, left=left, size=90, width=12)
    out = to_mnist(image)
    com_row, com_col = centre_of_mass(out)
    assert abs(com_row - 14) <= 1 and abs(com_col - 14) <= 1
    assert max(extent(out)) == 20


def test_where_the_digit_sits_does_not_matter():
    outputs = [to_mnist(seven(canvas_shape=(400, 400), top=t, left=l)) for t, l in [(0, 0), (37, 101), (200, 220)]]
    for out in outputs[1:]:
        np.testing.assert_array_equal(out, outputs[0])


def test_tall_thin_one_keeps_its_aspect_ratio():
    image = np.zeros((280, 280), dtype=np.uint8)
    image[40:240, 130:150] = 255  # 200 × 20: a '1'
    out = to_mnist(image)
    assert extent(out) == (20, 2)
    com_row, com_col = centre_of_mass(out)
    assert abs(com_row - 14) <= 0.5 and abs(com_col - 14) <= 0.5


def test_small_scribble_is_enlarged_to_20_px():
    image = np.zeros((280, 280), dtype=np.float32)
    image[100:106, 200:204] = 1.0  # 6 × 4
    out = to_mnist(image)
    height, width = extent(out)
    assert height == 20 and width in (13, 14)


def test_synthetic_digit_blobs_are_placed_like_mnist():
    images, labels = synthetic_digits(20, seed=3)
    seen = set()
    for image, label in zip(images, labels):
        clean = np.where(image >= 180, image, 0).astype(np.uint8)  # the 8×6 blob without its noise
        out = to_mnist(clean)
        com_row, com_col = centre_of_mass(out)
        assert abs(com_row - 14) <= 0.5 and abs(com_col - 14) <= 0.5
        assert extent(out) == (20, 15)
        # With the noise left in, a higher threshold finds the same blob: same place, same size.
        noisy = to_mnist(image, threshold=0.3)
        assert extent(noisy, level=0.4) == (20, 15)
        np.testing.assert_allclose(centre_of_mass(noisy), centre_of_mass(out), atol=1.0)
        seen.add(int(label))
    assert len(seen) > 5  # blobs from many places in the field all end up in the middle


def test_a_digit_scaled_up_reads_the_same():
    images, _ = synthetic_digits(5, seed=4)
    clean = np.where(images[0] >= 180, images[0], 0).astype(np.uint8)
    big = np.kron(clean, np.ones((10, 10), dtype=np.uint8))  # 280 × 280, as if drawn on the canvas
    np.testing.assert_allclose(to_mnist(big), to_mnist(clean), atol=0.15)


def test_mass_far_off_centre_is_clipped_at_the_edge_not_an_error():
    image = np.zeros((200, 400), dtype=np.uint8)
    image[:, :100] = 255  # a heavy block on the left ...
    image[90:110, 100:] = 255  # ... with a long thin tail to the right
    out = to_mnist(image)
    assert out.shape == (28, 28)
    assert out[:, -1].max() > 0.3  # the tail runs off the right edge
    assert abs(centre_of_mass(out)[1] - 14) <= 1


@pytest.mark.parametrize("bad", [
    np.zeros(784),
    np.zeros((28, 28, 3)),
    np.zeros((1, 28, 28)),
    np.float32(1.0),
], ids=["1-D", "RGB", "batch", "scalar"])
def test_non_2d_input_is_refused(bad):
    with pytest.raises(ValueError, match="2-D grayscale image"):
        to_mnist(bad)


def test_nan_and_non_numeric_input_are_refused():
    image = np.zeros((28, 28))
    image[3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        to_mnist(image)
    with pytest.raises(ValueError, match="numeric"):
        to_mnist(np.full((4, 4), "x"))


# What people draw on the canvas, beyond MNIST's own recipe.

def _stroke_width_in_field(out):
    from mnistconv.core.preprocess import stroke_width

    return stroke_width(out >= 0.5)


def _ring(thickness: int, radius: int = 90, size: int = 280) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    distance = np.hypot(yy - size / 2, xx - size / 2)
    return (np.abs(distance - radius) <= thickness / 2).astype(np.float32)


@pytest.mark.parametrize("thickness", [2, 60])
def test_hair_thin_and_very_thick_strokes_come_out_mnist_wide(thickness):
    out = to_mnist(_ring(thickness))
    assert 1.2 <= _stroke_width_in_field(out) <= 4.5
    assert out[14, 14] < 0.5  # the 0 keeps its hole


def test_a_normal_stroke_is_left_alone():
    out = to_mnist(_ring(20))
    assert 1.5 <= _stroke_width_in_field(out) <= 4.0
    assert extent(out) == (20, 20)


def test_a_stray_dot_far_from_the_digit_is_ignored():
    image = np.zeros((280, 280), dtype=np.float32)
    image[40:240, 130:150] = 1.0  # a '1'
    clean = to_mnist(image)
    image[10:16, 260:266] = 1.0  # a speck in the corner
    np.testing.assert_allclose(to_mnist(image), clean, atol=1e-6)


def test_a_pen_dot_beside_a_small_digit_is_ignored_though_it_is_much_of_the_ink():
    """A tiny 1 drawn with the sketchpad's 18-px pen holds little more ink than one stray click."""
    image = np.zeros((280, 280), dtype=np.float32)
    image[100:155, 120:138] = 1.0  # a 1, 55 px tall
    clean = to_mnist(image)
    image[60:78, 200:218] = 1.0  # one pen dot, 45 px clear of it: 25 % of the ink
    np.testing.assert_allclose(to_mnist(image), clean, atol=1e-6)


def test_a_small_separate_stroke_within_the_digit_stays():
    image = np.zeros((280, 280), dtype=np.float32)
    image[60:80, 60:200] = 1.0  # a 7's bar ...
    image[80:220, 170:190] = 1.0  # ... its stem ...
    image[135:150, 120:150] = 1.0  # ... and a short crossbar drawn apart from it
    out = to_mnist(image)
    without = image.copy()
    without[135:150, 120:150] = 0.0
    assert not np.allclose(out, to_mnist(without))


def test_a_digit_in_two_separate_strokes_keeps_both():
    image = np.zeros((280, 280), dtype=np.float32)
    image[60:220, 100:116] = 1.0  # the stem of a 4 ...
    image[60:150, 170:186] = 1.0  # ... and its separate right arm
    out = to_mnist(image)
    assert extent(out)[1] > 10  # both strokes are in the box


def test_ink_touching_the_border_is_fine():
    image = np.zeros((100, 100), dtype=np.float32)
    image[0:100, 0:12] = 1.0  # a 1 along the left edge, top to bottom
    out = to_mnist(image)
    assert extent(out)[0] == 20 and abs(centre_of_mass(out)[1] - 14) <= 1


def _flood_fill_labels(grid):
    """Reference 4-connected labelling, one cell at a time, numbered by each component's first cell."""
    labels = np.zeros(grid.shape, dtype=np.int32)
    current = 0
    for start in zip(*np.nonzero(grid)):
        if labels[start]:
            continue
        current += 1
        labels[start] = current
        stack = [start]
        while stack:
            y, x = stack.pop()
            for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= ny < grid.shape[0] and 0 <= nx < grid.shape[1] and grid[ny, nx] and not labels[ny, nx]:
                    labels[ny, nx] = current
                    stack.append((ny, nx))
    return labels


def _spiral(side):
    """A one-cell-wide square spiral: a single component whose runs join only far apart."""
    grid = np.zeros((side, side), dtype=bool)
    top, left, bottom, right = 0, 0, side - 1, side - 1
    while top <= bottom and left <= right:
        grid[top, left : right + 1] = True
        grid[top : bottom + 1, right] = True
        if top + 2 <= bottom:
            grid[bottom, left : right + 1] = True
        if left + 2 <= right and top + 2 <= bottom:
            grid[top + 2 : bottom + 1, left] = True
        top, left, bottom, right = top + 2, left + 2, bottom - 2, right - 2
    return grid


@pytest.mark.parametrize("grid", [
    *(np.random.default_rng(seed).random((35, 35)) < density
      for seed, density in enumerate((0.05, 0.3, 0.45, 0.55, 0.7, 0.95))),
    np.random.default_rng(9).random((1, 40)) < 0.5,
    np.random.default_rng(10).random((40, 1)) < 0.5,
    np.zeros((5, 5), dtype=bool),
    np.ones((4, 6), dtype=bool),
    np.array([[1, 0, 1], [1, 0, 1], [1, 1, 1]], dtype=bool),  # a U: two runs joined from below
    np.array([[1, 1, 1], [0, 0, 1], [1, 0, 1], [1, 1, 1]], dtype=bool),
    np.eye(6, dtype=bool),  # diagonal neighbours are not 4-connected
    _spiral(21),
], ids=lambda grid: f"{grid.shape[0]}x{grid.shape[1]}-{int(grid.sum())}")
def test_component_labels_match_a_cell_by_cell_flood_fill(grid):
    from mnistconv.core.preprocess import _label

    np.testing.assert_array_equal(_label(grid), _flood_fill_labels(grid))


# Any finite image, whatever its dtype, shape or values, gives a (28, 28) float32 image in [0, 1].

DTYPES = [np.bool_, np.uint8, np.uint16, np.int32, np.int64, np.float16, np.float32, np.float64,
          np.dtype(">f8"), np.dtype(">i4")]  # and byte orders other than the machine's


def _dots(count: int, side: int = 3, pitch: int = 20) -> np.ndarray:
    """`count` equal square dots on a grid, far enough apart to be separate blobs: each is a small
    share of the ink, so each alone looks like a stray speck."""
    per_row = int(np.ceil(np.sqrt(count)))
    image = np.zeros((-(-count // per_row) * pitch, per_row * pitch), dtype=np.uint8)
    for k in range(count):
        top, left = (k // per_row) * pitch, (k % per_row) * pitch
        image[top : top + side, left : left + side] = 255
    return image


def _checkerboard(size: int, square: int) -> np.ndarray:
    yy, xx = np.indices((size, size)) // square
    return ((yy + xx) % 2 * 255).astype(np.uint8)


_shapes = st.one_of(
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=0, max_side=40),
    st.tuples(st.integers(0, 3), st.integers(0, 2000)),  # thin strips, lying and standing
    st.tuples(st.integers(0, 2000), st.integers(0, 3)),
)
finite_images = st.sampled_from(DTYPES).flatmap(
    lambda dtype: hnp.arrays(dtype, _shapes, elements={"allow_nan": False, "allow_infinity": False}))


@st.composite
def blob_grids(draw) -> np.ndarray:
    """Up to 144 separate square blobs of random sizes on a grid (16+ px gaps: never in touching 8-px cells)."""
    rows, cols = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    sides = draw(st.lists(st.integers(1, 6), min_size=rows * cols, max_size=rows * cols))
    pitch = 6 + draw(st.integers(16, 24))
    image = np.zeros((rows * pitch, cols * pitch), dtype=np.uint8)
    for k, side in enumerate(sides):
        top, left = (k // cols) * pitch, (k % cols) * pitch
        image[top : top + side, left : left + side] = 255
    return image


def _has_ink(image: np.ndarray) -> bool:
    """Any pixel at the ink threshold or above: integers count as 0–255, floats and booleans as 0–1."""
    scale = 255.0 if np.issubdtype(image.dtype, np.integer) else 1.0
    return bool((image.astype(np.float64) >= INK_THRESHOLD * scale).any())


def _assert_an_mnist_image(out: np.ndarray) -> None:
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert np.isfinite(out).all() and out.min() >= 0.0 and out.max() <= 1.0


@pytest.mark.filterwarnings("error")  # no overflow on the way either
@settings(max_examples=150, deadline=None)
@given(finite_images)
@example(_dots(40))
@example(_checkerboard(2000, 8))  # 31,250 separate equal squares in the 8-px cells the speck filter sees
@example(_checkerboard(2000, 1))  # one blob to the speck filter
@example(np.full((1, 1), 255, np.uint8))
@example(np.ones((1, 1), np.float16))
@example(np.ones((1, 1), bool))
@example(np.zeros((0, 7)))
@example(np.zeros((7, 0), np.int64))
@example(np.full((3, 5), 1e308))
@example(np.array([[-1e308, 1e308], [0.5, -0.0]]))
@example(np.full((4, 4), np.finfo(np.float16).max, np.float16))
@example(np.full((3, 3), np.iinfo(np.int64).max, np.int64))
@example(np.full((3, 3), -7, np.int32))
def test_any_finite_image_gives_a_28x28_image_in_unit_range(image):
    out = to_mnist(image)
    _assert_an_mnist_image(out)
    if _has_ink(image):
        assert out.max() > 0.0  # ink in, ink out: nothing drawn is filtered away whole


@settings(max_examples=60, deadline=None)
@given(blob_grids())
@example(_dots(34))  # the fewest equal dots of which each holds under 3 % of the ink
@example(_dots(34).T)
def test_a_drawing_of_many_small_blobs_keeps_its_ink(image):
    out = to_mnist(image)
    _assert_an_mnist_image(out)
    assert out.max() > 0.0  # the speck filter never removes everything


def test_many_equal_dots_are_all_kept():
    out = to_mnist(_dots(36, side=4))
    assert (out > 0.5).sum() >= 36  # the 6×6 grid of dots, not a single one of them
