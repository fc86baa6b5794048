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
# What a person draws, beyond MNIST's own recipe:
SPECK_FRACTION = 0.03  # a separate blob with less than this share of the ink is a stray dot, not the digit
# On a small drawing one pen dot is a large share of the ink: a separate blob under DOT_SHARE of the
# largest one that lies clear of the digit's strokes by DOT_DISTANCE of their box's longer side is
# a stray dot too.
DOT_SHARE = 0.35
DOT_DISTANCE = 0.3
STROKE_RANGE = (1.5, 4.0)  # MNIST strokes are about 2–3 px wide in the 28×28 field; outside this, normalise
STROKE_TARGET = 2.5
WORK_BOX = 4 * BOX


def to_mnist(image: np.ndarray, *, threshold: float = INK_THRESHOLD) -> np.ndarray:
    """A 2-D image, ink bright on dark (uint8 0–255 or float 0–1), as a float32 (28, 28) array in [0, 1].

    Crop to the ink's bounding box, scale its longer side to 20 px (aspect ratio kept, anti-aliased)
    and place it so its centre of mass is at (14, 14), rounding the shift; ink pushed past an edge
    is cut off. An image without ink gives all zeros. Stray specks are dropped, but never all the
    ink: any finite 2-D image of any size and numeric dtype gives a result; NaN or ±inf is a ValueError.
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
    ink, mask = _drop_specks(ink, mask)
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    digit = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    # Stroke width is judged and adjusted at 4× the final size, whatever size the drawing was;
    # a drawing whose strokes are already MNIST-like is scaled once, straight from the original.
    work = _fit_box(digit, WORK_BOX)
    adjusted = _normalise_stroke(work)
    digit = _fit_box(digit if adjusted is work else adjusted)
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
    # Clipped before the cast: float64 beyond float32's range would become ±inf on the way.
    return np.clip(image, 0.0, 1.0).astype(np.float32)


def _drop_specks(ink: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Remove separate blobs holding under SPECK_FRACTION of the ink (a stray dot far from the digit),
    except the largest: something always stays.

    Blobs are found on a coarse grid (8×8 cells), which joins strokes that nearly touch and keeps
    the labelling cheap; a digit drawn in several strokes keeps every stroke of any size.
    """
    cell = 8  # a cell's row of 8 booleans is one uint64: non-zero where it holds ink
    height, width = mask.shape
    padded = np.zeros((-(-height // cell) * cell, -(-width // cell) * cell), dtype=bool)
    padded[:height, :width] = mask
    coarse = (padded.view(np.uint64) != 0).reshape(padded.shape[0] // cell, cell, -1).any(axis=1)
    labels = _label(coarse)
    count = int(labels.max())
    if count <= 1:
        return ink, mask
    fine = np.kron(labels, np.ones((cell, cell), dtype=labels.dtype))[:height, :width]
    fine = np.where(mask, fine, 0)
    mass = np.bincount(fine.ravel(), weights=ink.ravel(), minlength=count + 1)[1:]
    # The largest blob(s) always stay: with 34 or more of about equal size, each is under 3 % of
    # the ink, and a drawing of many dots is not a drawing of nothing.
    main = mass >= DOT_SHARE * mass.max()
    others = (mass >= SPECK_FRACTION * mass.sum()) & ~main  # kept unless they lie clear of the digit
    keep = main | (others & ~_far_from(labels, count, main)) if others.any() else main
    kept = np.concatenate([[False], keep])[fine]
    return np.where(kept, ink, 0.0).astype(np.float32), kept


def _far_from(labels: np.ndarray, count: int, main: np.ndarray) -> np.ndarray:
    """For each blob (1…count on the coarse grid), whether it lies clear of the box around the
    `main` blobs by at least DOT_DISTANCE of that box's longer side."""
    rows, cols = np.nonzero(labels)
    which = labels[rows, cols] - 1
    top, left = np.full(count, labels.shape[0]), np.full(count, labels.shape[1])
    bottom, right = np.full(count, -1), np.full(count, -1)
    np.minimum.at(top, which, rows)
    np.maximum.at(bottom, which, rows)
    np.minimum.at(left, which, cols)
    np.maximum.at(right, which, cols)
    box_top, box_bottom = top[main].min(), bottom[main].max()
    box_left, box_right = left[main].min(), right[main].max()
    gap = np.maximum.reduce([top - box_bottom, box_top - bottom, left - box_right, box_left - right]) - 1
    side = max(box_bottom - box_top, box_right - box_left) + 1
    return gap >= DOT_DISTANCE * side


def _label(grid: np.ndarray) -> np.ndarray:
    """4-connected component labels (1, 2, …) of a boolean grid, numbered in row-major order of
    each component's first cell.

    Works on runs of set cells along each row: two runs on neighbouring rows that overlap belong
    together (union-find), so the Python loop visits each run, not each cell and its neighbours.
    """
    labels = np.zeros(grid.shape, dtype=np.int32)
    edges = np.diff(np.pad(grid.astype(np.int8), ((0, 0), (1, 1))), axis=1)
    # nonzero() goes in row-major order, so the k-th start and the k-th end bound the same run.
    run_rows, starts = np.nonzero(edges == 1)
    ends = np.nonzero(edges == -1)[1]  # one past the run's last cell
    if len(starts) == 0:
        return labels
    first_run_of_row = np.searchsorted(run_rows, np.arange(grid.shape[0] + 1)).tolist()
    starts_list, ends_list = starts.tolist(), ends.tolist()
    parent = list(range(len(starts_list)))

    def root(run: int) -> int:
        while parent[run] != run:
            parent[run] = parent[parent[run]]
            run = parent[run]
        return run

    for row in range(grid.shape[0] - 1):
        # Sweep this row's runs and the next row's together, both sorted by column.
        above, above_end = first_run_of_row[row], first_run_of_row[row + 1]
        below, below_end = above_end, first_run_of_row[row + 2]
        while above < above_end and below < below_end:
            if starts_list[above] < ends_list[below] and starts_list[below] < ends_list[above]:
                parent[root(below)] = root(above)
            if ends_list[above] <= ends_list[below]:
                above += 1
            else:
                below += 1
    numbers: dict[int, int] = {}
    run_labels = [numbers.setdefault(root(run), len(numbers) + 1) for run in range(len(parent))]
    # The set cells in row-major order are the runs' cells, run after run.
    labels.flat[np.flatnonzero(grid)] = np.repeat(np.asarray(run_labels, dtype=np.int32), ends - starts)
    return labels


def stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width in pixels of a binary drawing: area over half the boundary length."""
    area = int(mask.sum())
    if area == 0:
        return 0.0
    padded = np.pad(mask, 1)
    interior = padded[1:-1, 1:-1] & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    boundary = area - int(interior.sum())
    return 2.0 * area / max(boundary, 1)


def _normalise_stroke(digit: np.ndarray) -> np.ndarray:
    """Thicken hair-thin strokes and thin very thick ones so that, once scaled to the 20 px box,
    they are about as wide as MNIST's pen (dilation / erosion with a max-pool before scaling)."""
    scale = BOX / max(digit.shape)
    width = stroke_width(digit >= 0.5) * scale  # as it would be in the 28×28 field
    low, high = STROKE_RANGE
    if low <= width <= high or width == 0:
        return digit
    radius = int(round(abs(STROKE_TARGET - width) / scale / 2))
    if radius < 1:
        return digit
    tensor = torch.from_numpy(np.ascontiguousarray(digit))[None, None]
    kernel = 2 * radius + 1
    if width < low:
        tensor = F.max_pool2d(tensor, kernel, stride=1, padding=radius)
    else:
        tensor = -F.max_pool2d(-tensor, kernel, stride=1, padding=radius)
    return tensor[0, 0].numpy()


def _fit_box(digit: np.ndarray, box: int = BOX) -> np.ndarray:
    """Scale so the longer side is `box` px, keeping the aspect ratio; bilinear with anti-aliasing."""
    height, width = digit.shape
    scale = box / max(height, width)
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
