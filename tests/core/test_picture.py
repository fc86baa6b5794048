"""A picture of a digit as ink: either polarity, the background lifted to zero."""

import numpy as np
import pytest

from mnistconv.core.picture import ink_box, picture_ink


def digit_on(background: float, ink: float) -> np.ndarray:
    picture = np.full((60, 40), background, dtype=np.float32)
    picture[10:50, 18:24] = ink  # a "1"
    return picture


@pytest.mark.parametrize("background, ink", [(0.92, 0.1), (1.0, 0.0), (0.05, 0.85), (0.0, 1.0)])
def test_dark_on_light_and_light_on_dark_give_the_same_ink(background, ink):
    result = picture_ink(digit_on(background, ink))
    assert result.dtype == np.float32
    assert result[30, 20] == pytest.approx(1.0) and result[5, 5] == 0.0
    assert ink_box(result) == (10, 18, 50, 24)


def test_paper_texture_and_shading_are_background():
    rng = np.random.default_rng(0)
    picture = digit_on(0.85, 0.15) + rng.normal(0, 0.03, (60, 40)).astype(np.float32)
    picture += np.linspace(0, 0.08, 40, dtype=np.float32)[None, :]  # light falling off across the page
    result = picture_ink(np.clip(picture, 0, 1))
    assert ink_box(result) == (10, 18, 50, 24)


def test_uint8_pictures_and_blank_ones():
    assert picture_ink((digit_on(1.0, 0.0) * 255).astype(np.uint8))[30, 20] == pytest.approx(1.0)
    assert not picture_ink(np.full((30, 30), 0.7, dtype=np.float32)).any()
    assert ink_box(np.zeros((5, 5))) is None
    with pytest.raises(ValueError, match="2-D"):
        picture_ink(np.zeros((3, 4, 4)))
