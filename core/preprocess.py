"""Any grayscale drawing to a 28×28 input, normalised the way the MNIST digits were.

MNIST's recipe (LeCun et al.): fit the digit into a 20×20 box keeping its aspect ratio, with
anti-aliasing, then put it in a 28×28 field so that its centre of mass is at the centre. A network
trained on MNIST reads a drawing well only after the same treatment.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

SIDE = 28  # the field
BOX = 20  # the longer side of the digit in it
CENTRE = 14.0  # where the centre of mass goes, in pixel-index coordinates (as MNIST's own digits sit)
INK_THRESHOLD = 0.1  # fainter than this (on 0..1) is background when finding the digit's bounding box


def to_mnist(image: np.ndarray, *, threshold: float = INK_THRESHOLD) -> np.ndarray:
    """A 2-D image, ink bright on dark (uint8 0–255 or float 0–1), as a float32 (28, 28) array in [0, 1].

    Crop to the ink's bounding box, scale its longer side to 20 px (aspect ratio kept, anti-aliased)
    and place it so its centre of mass is at (14, 14), rounding the shift; ink pushed past an edge
    is cut off. An image without ink gives all zeros.
    """
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"to_mnist needs a 2-D grayscale image (height, width), not an array of shape {image.shape}")
    out = np.zeros((SIDE, SIDE), dtype=np.float32)
    if image.size == 0:
        return out
    ink = _as_unit_float(image)
    # Bounding box of the ink: any() along each axis is much cheaper than argwhere on the whole image.
    mask = ink >= threshold
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return out
    cols = np.flatnonzero(mask.any(axis=0))
    digit = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]

    digit = _fit_box(digit)
    total = float(digit.sum())
    if total <= 0.0:
        return out
    # Centre of mass of the scaled digit, then the whole-pixel shift that puts it at the centre.
    height, width = digit.shape
    com_y = float(digit.sum(axis=1) @ np.arange(height)) / total
    com_x = float(digit.sum(axis=0) @ np.arange(width)) / total
    top = int(np.floor(CENTRE - com_y + 0.5))
    left = int(np.floor(CENTRE - com_x + 0.5))
    _paste(out, digit, top, left)
    return out


def _as_unit_float(image: np.ndarray) -> np.ndarray:
    """Integers are read as 0–255, floats as 0–1; either way clipped to [0, 1] as float32."""
    if image.dtype == np.bool_:
        return image.astype(np.float32)
    if np.issubdtype(image.dtype, np.integer):
        return np.clip(image, 0, 255).astype(np.float32) * np.float32(1 / 255)
    if not np.issubdtype(image.dtype, np.floating):
        raise ValueError(f"to_mnist needs a numeric image, not dtype {image.dtype}")
    peak = image.max()  # NaN and +inf both show up in the maximum
    if not np.isfinite(peak):
        raise ValueError("to_mnist got an image with NaN or infinite values")
    return np.clip(image.astype(np.float32, copy=False), 0.0, 1.0)


def _fit_box(digit: np.ndarray) -> np.ndarray:
    """Scale so the longer side is BOX px, keeping the aspect ratio; bilinear with anti-aliasing."""
    height, width = digit.shape
    scale = BOX / max(height, width)
    size = (max(1, int(height * scale + 0.5)), max(1, int(width * scale + 0.5)))
    if size == (height, width):
        return digit
    tensor = torch.from_numpy(np.ascontiguousarray(digit))[None, None]
    # antialias=True widens the filter when shrinking (no aliasing from thin strokes) and is plain
    # bilinear when enlarging a small scribble.
    scaled = F.interpolate(tensor, size=size, mode="bilinear", align_corners=False, antialias=True)
    return scaled[0, 0].numpy().clip(0.0, 1.0)


def _paste(out: np.ndarray, patch: np.ndarray, top: int, left: int) -> None:
    """Copy patch into out with its corner at (top, left), dropping whatever falls outside."""
    height, width = patch.shape
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + height, out.shape[0]), min(left + width, out.shape[1])
    if y0 < y1 and x0 < x1:
        out[y0:y1, x0:x1] = patch[y0 - top : y1 - top, x0 - left : x1 - left]
