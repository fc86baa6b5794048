"""Real handwriting: digits people wrote with a pen (UNIPEN), split by writer, drawn as the sketchpad
would receive them.

`resources/unipen/digits.npz` holds 4,956 digits by 259 writers as pen trajectories (points, stroke
and digit boundaries, labels, writer ids; its README gives the format, source and licence: CC BY
4.0, UNIPEN train_r01_v07, category 1a). `load_unipen()` reads it as plain arrays and checks them,
`writer_split()` puts each writer wholly on one side (a model is judged on hands it never saw), and
`render()` draws a digit's strokes on the 280×280 canvas with the sketchpad's round pen: at a given
size and place, with the pen width, the sampling of a fast mouse, hand jitter and the dots a
canvas leaves at mouse positions when asked, so training sees what the sketchpad will be shown.

Nothing here imports Qt.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from .paths import resource
from .preprocess import to_mnist
from .synth import CANVAS, PEN, draw_strokes

UNIPEN_FILE = "unipen/digits.npz"

ATTRIBUTION = ("Real pen-drawn digits: UNIPEN train_r01_v07, category 1a (Consortium 1999, Unipen data set of on-line "
               "handwriting, doi:10.5281/zenodo.1195803; Guyon et al., ICPR 1994), CC BY 4.0")
MIN_POINTS = 4  # a digit drawn with fewer pen points is a fragment (a tap), not a digit
MIN_EXTENT = 1e-6
# Writers (by institution) whose "digits" are not digits: the pri writers' are single pen points and
# single strokes of longer digits ("|" labelled 0, "(" labelled 5), kept alone by their segmentation.
UNREADABLE_SOURCES = ("pri",)


class HandwritingError(ValueError):
    """The handwriting file is not in the format this module reads."""


@dataclass(frozen=True)
class PenDigits:
    """Digits as pen trajectories: digit i's strokes are points[stroke_ends[...]] slices (y grows upward)."""

    points: np.ndarray  # float32 (P, 2)
    stroke_ends: np.ndarray  # int64 (S,), exclusive ends in points
    digit_ends: np.ndarray  # int64 (N,), exclusive ends in stroke_ends
    labels: np.ndarray  # uint8 (N,)
    writer: np.ndarray  # int32 (N,), index into writer_names
    writer_names: np.ndarray  # str (W,)

    def __len__(self) -> int:
        return len(self.labels)

    def strokes(self, index: int) -> list[np.ndarray]:
        """Digit `index`'s strokes as (n, 2) float64 arrays, y growing downward as on a screen."""
        first = self.digit_ends[index - 1] if index else 0
        ends = self.stroke_ends[first : self.digit_ends[index]]
        starts = np.r_[self.stroke_ends[first - 1] if first else 0, ends[:-1]]
        return [self.points[a:b].astype(np.float64) * (1.0, -1.0) for a, b in zip(starts, ends)]

    def writer_of(self, index: int) -> str:
        return str(self.writer_names[self.writer[index]])


def load_unipen(path: str | Path | None = None) -> PenDigits:
    """The digits in a `digits.npz` of resources/unipen's format (default: the one installed with the
    program), checked for shape, type and consistent boundaries; HandwritingError says what is wrong."""
    if path is None:
        with resources.as_file(resource(UNIPEN_FILE)) as installed:
            return load_unipen(installed)
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in ("points", "stroke_ends", "digit_ends", "labels", "writer", "writer_names")}
    except (OSError, ValueError, KeyError) as exc:
        raise HandwritingError(f"cannot read the handwriting file {path}: {exc}") from exc
    digits = PenDigits(**arrays)
    points, stroke_ends, digit_ends = digits.points, digits.stroke_ends, digits.digit_ends
    checks = [
        (points.ndim == 2 and points.shape[1:] == (2,) and np.isfinite(points).all(), "points must be finite (P, 2)"),
        (np.all(np.diff(stroke_ends) > 0) and stroke_ends[0] > 0 and stroke_ends[-1] == len(points),
         "stroke ends must rise to the number of points"),
        (np.all(np.diff(digit_ends) > 0) and digit_ends[0] > 0 and digit_ends[-1] == len(stroke_ends),
         "digit ends must rise to the number of strokes"),
        (len(digits.labels) == len(digit_ends) == len(digits.writer) and digits.labels.max() <= 9,
         "one label 0–9 and one writer per digit"),
        (digits.writer.min() >= 0 and digits.writer.max() < len(digits.writer_names), "writer ids index writer_names"),
    ]
    for passed, rule in checks:
        if not passed:
            raise HandwritingError(f"{path} is not a handwriting file this version reads: {rule}")
    return digits


def is_fragment(digits: PenDigits, index: int) -> bool:
    """A digit too small to be one: fewer than MIN_POINTS pen points, or no extent at all."""
    strokes = digits.strokes(index)
    every = np.concatenate(strokes)
    return len(every) < MIN_POINTS or float(np.ptp(every, axis=0).max()) < MIN_EXTENT


def readable(digits: PenDigits, index: int) -> bool:
    """Whether a digit can be read at all: not a fragment, nor from a source of fragments."""
    return not is_fragment(digits, index) and not digits.writer_of(index).split("-")[0] in UNREADABLE_SOURCES


def readable_rows(digits: PenDigits, rows: np.ndarray) -> np.ndarray:
    return np.array([row for row in rows if readable(digits, int(row))], dtype=np.int64)


def writer_split(digits: PenDigits, validation_share: float = 0.2, salt: str = "mnistconv") -> tuple[np.ndarray, np.ndarray]:
    """(train rows, validation rows): each writer wholly on one side, chosen by a hash of the writer's
    name (stable whatever else changes), about `validation_share` of the writers validating."""
    def validates(name: str) -> bool:
        digest = hashlib.sha256(f"{salt}:{name}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 < validation_share

    chosen = np.array([validates(str(name)) for name in digits.writer_names])
    held = chosen[digits.writer]
    return np.flatnonzero(~held), np.flatnonzero(held)


@dataclass(frozen=True)
class Hand:
    """How one rendering draws a digit: its height on the canvas, its place, the pen, and the input's
    artefacts. Defaults: a pen on a tablet, the digit about 60 % of the canvas, in the middle."""

    height: float = 170.0  # px on the 280-px canvas
    aspect: float = 1.0  # width scale
    rotation_deg: float = 0.0
    shift: tuple[float, float] = (0.0, 0.0)  # from the centre, px
    pen: float = PEN
    step: float = 0.0  # resample each stroke to points this far apart (px; 0: as recorded)
    jitter: float = 0.0  # px of hand tremor added to each point
    dots: bool = False  # a canvas that draws a dot at each input point, joined by lines


def render(strokes: list[np.ndarray], hand: Hand = Hand()) -> np.ndarray:
    """The strokes drawn on a black 280×280 canvas with the sketchpad's round pen: float32 in [0, 1]."""
    every = np.concatenate(strokes)
    low, high = every.min(axis=0), every.max(axis=0)
    size = np.maximum(high - low, MIN_EXTENT)
    scale = hand.height / float(size[1]) if size[1] > size[0] * 0.25 else hand.height / float(size.max())
    angle = math.radians(hand.rotation_deg)
    cos, sin = math.cos(angle), math.sin(angle)
    matrix = np.array([[cos, -sin], [sin, cos]]) @ np.diag([scale * hand.aspect, scale])
    centre = (low + high) / 2
    placed = [(stroke - centre) @ matrix.T for stroke in strokes]
    every = np.concatenate(placed)
    extent = float(np.ptp(every, axis=0).max()) + hand.pen + 4
    if extent > CANVAS:  # too large for the canvas with its pen: shrink it to fit
        placed = [stroke * (CANVAS / extent) for stroke in placed]
    middle = np.array([CANVAS / 2, CANVAS / 2]) + np.asarray(hand.shift, float)
    every = np.concatenate(placed)
    low, high = every.min(axis=0) + middle, every.max(axis=0) + middle
    margin = hand.pen / 2 + 2
    middle += np.maximum(margin - low, 0) - np.maximum(high - (CANVAS - margin), 0)  # keep it on the canvas
    rng = np.random.default_rng(_seed_of(every, hand))
    drawn = []
    for stroke in placed:
        stroke = stroke + middle
        if hand.step > 0 and len(stroke) > 1:
            stroke = _resample(stroke, hand.step)
        if hand.jitter > 0:
            stroke = stroke + rng.normal(0.0, hand.jitter, stroke.shape)
        drawn.append(stroke)
    image = draw_strokes(drawn, hand.pen)
    if hand.dots:
        image = np.maximum(image, draw_strokes([point[None] for stroke in drawn for point in stroke], hand.pen * 1.15))
    return image


def _seed_of(points: np.ndarray, hand: Hand) -> int:
    """A seed for the jitter from the digit and the hand: the same rendering twice is the same image."""
    return int.from_bytes(hashlib.sha256(points.tobytes() + repr(hand).encode()).digest()[:8], "big")


def _resample(line: np.ndarray, step: float) -> np.ndarray:
    """The line's points every `step` px along it (a fast mouse: far-apart samples joined straight)."""
    lengths = np.r_[0.0, np.cumsum(np.hypot(*np.diff(line, axis=0).T))]
    count = max(2, int(math.ceil(lengths[-1] / step)) + 1)
    at = np.linspace(0.0, lengths[-1], count)
    return np.column_stack([np.interp(at, lengths, line[:, 0]), np.interp(at, lengths, line[:, 1])])


def random_hand(rng: np.random.Generator) -> Hand:
    """A rendering as people draw on the sketchpad: small to large, off centre, a pen from thin to
    thick, slow pen strokes or fast mouse ones with sparse points, a steady hand or a shaky one, and
    now and then a canvas that dots each mouse position."""
    height = float(np.exp(rng.uniform(math.log(60.0), math.log(250.0))))
    mouse = rng.random() < 0.5
    return Hand(
        height=height,
        aspect=float(np.exp(rng.normal(0.0, 0.12))),
        rotation_deg=float(rng.normal(0.0, 6.0)),
        shift=tuple(rng.uniform(-50, 50, 2)),
        pen=float(rng.uniform(10.0, 26.0)),
        step=float(rng.uniform(8.0, 28.0)) if mouse else 0.0,
        jitter=float(rng.uniform(0.0, 2.0)) if rng.random() < 0.5 else 0.0,
        dots=bool(mouse and rng.random() < 0.2),
    )


def handwriting_bank(count: int, seed: int, digits: PenDigits | None = None) -> tuple[np.ndarray, np.ndarray]:
    """`count` renderings of the training writers' readable digits (the writer split's training side),
    each with a random hand, through `to_mnist` as the sketchpad does: (uint8 (count, 28, 28), uint8
    labels). The digits are taken in turn, so each is drawn count / their number times; the same
    count and seed give the same images."""
    digits = digits if digits is not None else load_unipen()
    train, _ = writer_split(digits)
    rows = readable_rows(digits, train)
    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(rows) for _ in range(-(-count // len(rows)))])[:count]
    images = np.zeros((count, 28, 28), dtype=np.uint8)
    for i, row in enumerate(order.tolist()):
        images[i] = np.round(to_mnist(render(digits.strokes(row), random_hand(rng))) * 255)
    return images, digits.labels[order].astype(np.uint8)


def handwriting_digest() -> str:
    """A digest of the installed handwriting file: a bank made from it is made again when it changes."""
    with resources.as_file(resource(UNIPEN_FILE)) as path:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:20]
