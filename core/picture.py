"""A picture of a digit (a photo, a scan, a drawing saved by another program) as ink for `to_mnist`.

MNIST's digits are bright ink on a dark background. A picture may be either way round: dark ink on
light paper (most scans and photos) or light on dark. `picture_ink` decides from the picture's
border, which is background in any picture of one digit, turns it the MNIST way, and lifts the
background (paper grey, shadows, noise) to zero so that only the digit counts as ink.
"""

from __future__ import annotations

import numpy as np

BORDER = 0.05  # the outer 5 % of each side is taken as background
NOISE = 0.2  # after stretching, ink fainter than this is background (paper texture, shading, noise)


def picture_ink(grey: np.ndarray) -> np.ndarray:
    """A grey picture (2-D, 0 black .. 1 white, or uint8) as float32 ink in [0, 1], bright on dark."""
    grey = np.asarray(grey)
    if grey.ndim != 2 or grey.size == 0:
        raise ValueError(f"picture_ink needs a 2-D grey picture, not an array of shape {grey.shape}")
    values = grey.astype(np.float32) / 255 if grey.dtype == np.uint8 else np.clip(grey.astype(np.float32), 0, 1)
    height, width = values.shape
    band_y, band_x = max(1, round(BORDER * height)), max(1, round(BORDER * width))
    border = np.concatenate([values[:band_y].ravel(), values[-band_y:].ravel(),
                             values[:, :band_x].ravel(), values[:, -band_x:].ravel()])
    ink = 1.0 - values if float(np.median(border)) > 0.5 else values  # light paper: dark ink, so invert
    background = float(np.median(np.concatenate([ink[:band_y].ravel(), ink[-band_y:].ravel(),
                                                 ink[:, :band_x].ravel(), ink[:, -band_x:].ravel()])))
    peak = float(ink.max())
    if peak - background < 0.1:
        return np.zeros_like(ink)  # nothing stands out from the background: no digit
    stretched = np.clip((ink - background) / (peak - background), 0.0, 1.0)
    stretched[stretched < NOISE] = 0.0
    return stretched.astype(np.float32)


def ink_box(ink: np.ndarray, threshold: float = 0.1) -> tuple[int, int, int, int] | None:
    """(top, left, bottom, right), exclusive, of the ink at or above `threshold`; None without ink."""
    mask = np.asarray(ink) >= threshold
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1
