"""Digits this project makes itself, in styles MNIST barely has, to mix into training.

MNIST's writers were American census staff and students: its 1s are mostly bare strokes, its 7s
uncrossed, its 0s unslashed. People drawing on the sketchpad also write a 1 with a flag and a base,
a crossed or hooked 7, a slashed 0, an open 4, and draw small digits whose loops fill in under the
pen. Distorting MNIST's own digits (core.augment) does not make these styles; drawing them does.

Two kinds of synthesised digit, each made the way the sketchpad makes its input and put through
`to_mnist` as the sketchpad does:

* scripted strokes: every digit in several handwriting styles (`STYLES`), each built from lines,
  arcs and Bézier curves with randomly jittered proportions, then given a random height on a
  280×280 canvas (so the 18-px round pen is thick on small digits and thin on large ones), width,
  slant, rotation, place, a slow wobble and a hand tremor, and rasterised with a round pen by Pillow;
* font digits: the ten digits of the font files in `TRAINING_FONTS` that this machine has (none
  of them a family of the check set's fonts), at a random size, weight, slant and rotation.

`synth_bank(count, seed)` makes `count` such digits (labels 0–9 in turn) from a numpy generator
seeded with `seed`: the same count, seed and fonts give the same digits. Training draws from the
bank with the run's own torch generator (core.train), so a run stays repeatable and resumable.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .preprocess import to_mnist

CANVAS = 280  # the sketchpad's logical side
PEN = 18.0  # the sketchpad's pen, px
HEIGHTS = (45.0, 265.0)  # a drawn digit's height on the canvas, px (log-uniform)
FONT_SHARE = 0.3  # of the bank rendered from fonts, where the machine has any of TRAINING_FONTS
MAX_SLANT = 20.0  # degrees either way
MAX_ROTATION = 12.0
BANK_MIN, BANK_MAX = 100, 15_000

# (Debian package, file). Families disjoint from the check set's fonts (scripts/make_check_set.py),
# with digits in the styles sketchpad users write: 1s with flags and bases (monospace and humanist
# sans), slashed and dotted 0s (monospace), handwriting. Missing files are skipped.
TRAINING_FONTS = [
    ("fonts-bwht", "/usr/share/fonts/opentype/bwht/BecauseWeBuild-Regular.otf"),
    ("fonts-bwht", "/usr/share/fonts/opentype/bwht/BecauseWeConnect-Regular.otf"),
    ("fonts-bwht", "/usr/share/fonts/opentype/bwht/BecauseWeCreate-Regular.otf"),
    ("fonts-bwht", "/usr/share/fonts/opentype/bwht/BecauseWeLearn-Regular.otf"),
    ("fonts-bwht", "/usr/share/fonts/opentype/bwht/BecauseWeMentor-Regular.otf"),
    ("fonts-bwht", "/usr/share/fonts/opentype/bwht/BecauseWeOrganize-Regular.otf"),
    ("fonts-isabella", "/usr/share/fonts/truetype/isabella/Isabella.ttf"),
    ("fonts-cabin", "/usr/share/fonts/opentype/cabin/Cabin-Regular.otf"),
    ("fonts-cabin", "/usr/share/fonts/opentype/cabin/Cabin-Bold.otf"),
    ("fonts-cabin", "/usr/share/fonts/opentype/cabin/Cabin-Italic.otf"),
    ("fonts-comfortaa", "/usr/share/fonts/truetype/comfortaa/Comfortaa-Regular.ttf"),
    ("fonts-comfortaa", "/usr/share/fonts/truetype/comfortaa/Comfortaa-Bold.ttf"),
    ("fonts-comfortaa", "/usr/share/fonts/truetype/comfortaa/Comfortaa-Light.ttf"),
    ("fonts-crosextra-carlito", "/usr/share/fonts/truetype/crosextra/Carlito-Regular.ttf"),
    ("fonts-crosextra-carlito", "/usr/share/fonts/truetype/crosextra/Carlito-Bold.ttf"),
    ("fonts-crosextra-carlito", "/usr/share/fonts/truetype/crosextra/Carlito-Italic.ttf"),
    ("fonts-crosextra-caladea", "/usr/share/fonts/truetype/crosextra/Caladea-Regular.ttf"),
    ("fonts-crosextra-caladea", "/usr/share/fonts/truetype/crosextra/Caladea-Bold.ttf"),
    ("fonts-firacode", "/usr/share/fonts/truetype/firacode/FiraCode-Regular.ttf"),
    ("fonts-firacode", "/usr/share/fonts/truetype/firacode/FiraCode-Light.ttf"),
    ("fonts-firacode", "/usr/share/fonts/truetype/firacode/FiraCode-Bold.ttf"),
    ("fonts-go", "/usr/share/fonts/fonts-go/Go-Regular.ttf"),
    ("fonts-go", "/usr/share/fonts/fonts-go/Go-Bold.ttf"),
    ("fonts-go", "/usr/share/fonts/fonts-go/Go-Italic.ttf"),
    ("fonts-go", "/usr/share/fonts/fonts-go/Go-Mono.ttf"),
    ("fonts-go", "/usr/share/fonts/fonts-go/Go-Mono-Bold.ttf"),
    ("fonts-hack", "/usr/share/fonts/truetype/hack/Hack-Regular.ttf"),
    ("fonts-hack", "/usr/share/fonts/truetype/hack/Hack-Bold.ttf"),
    ("fonts-hack", "/usr/share/fonts/truetype/hack/Hack-Italic.ttf"),
    ("fonts-inconsolata", "/usr/share/fonts/truetype/inconsolata/Inconsolata.otf"),
    ("fonts-jetbrains-mono", "/usr/share/fonts/truetype/jetbrains-mono/JetBrainsMono-Regular.ttf"),
    ("fonts-jetbrains-mono", "/usr/share/fonts/truetype/jetbrains-mono/JetBrainsMono-Thin.ttf"),
    ("fonts-jetbrains-mono", "/usr/share/fonts/truetype/jetbrains-mono/JetBrainsMono-ExtraBold.ttf"),
    ("fonts-jetbrains-mono", "/usr/share/fonts/truetype/jetbrains-mono/JetBrainsMono-Italic.ttf"),
    ("fonts-mononoki", "/usr/share/fonts/truetype/mononoki/mononoki-Regular.ttf"),
    ("fonts-mononoki", "/usr/share/fonts/truetype/mononoki/mononoki-Bold.ttf"),
    ("fonts-anonymous-pro", "/usr/share/fonts/truetype/anonymous-pro/Anonymous Pro.ttf"),
    ("fonts-anonymous-pro", "/usr/share/fonts/truetype/anonymous-pro/Anonymous Pro B.ttf"),
    ("fonts-averia-gwf", "/usr/share/fonts/truetype/averia-gwf/AveriaGWF-Regular.ttf"),
    ("fonts-averia-gwf", "/usr/share/fonts/truetype/averia-gwf/AveriaGWF-Bold.ttf"),
    ("fonts-averia-gwf", "/usr/share/fonts/truetype/averia-gwf/AveriaGWF-LightItalic.ttf"),
    ("fonts-beteckna", "/usr/share/fonts/truetype/beteckna/BetecknaGS.ttf"),
    ("fonts-beteckna", "/usr/share/fonts/truetype/beteckna/BetecknaGS-Bold.ttf"),
    ("fonts-goudybookletter", "/usr/share/fonts/opentype/sortsmill/GoudyBookletter1911.otf"),
    ("fonts-prociono", "/usr/share/fonts/opentype/fonts-prociono/Prociono.otf"),
]


def available_fonts() -> list[str]:
    """The files of TRAINING_FONTS this machine has, in the list's order."""
    return [path for _, path in TRAINING_FONTS if Path(path).is_file()]


# -- shapes -----------------------------------------------------------------------------------------
# A style makes one digit's strokes from a generator: a list of (n, 2) float arrays of points, x to
# the right, y down, in a frame about 1 tall. Every proportion is jittered, so no two are the same.

Strokes = list[np.ndarray]


def _line(a, b, n: int = 12) -> np.ndarray:
    return np.linspace(np.asarray(a, float), np.asarray(b, float), n)


def _arc(cx, cy, rx, ry, a0, a1, n: int = 40) -> np.ndarray:
    """An elliptical arc from angle a0 to a1 (degrees; y is down, so growing angles turn clockwise)."""
    t = np.radians(np.linspace(a0, a1, n))
    return np.column_stack([cx + rx * np.cos(t), cy + ry * np.sin(t)])


def _bezier(*points, n: int = 24) -> np.ndarray:
    """A Bézier curve through its end points, pulled by the ones between."""
    p = np.asarray(points, float)
    t = np.linspace(0.0, 1.0, n)[:, None]
    degree = len(p) - 1
    return sum(math.comb(degree, k) * t**k * (1 - t) ** (degree - k) * p[k] for k in range(degree + 1))


def _join(*pieces: np.ndarray) -> np.ndarray:
    return np.vstack(pieces)


def _zero(r: np.random.Generator, slash: bool = False, open_top: bool = False) -> Strokes:
    rx, ry = r.uniform(0.22, 0.4), 0.5
    start = r.uniform(-130, -50)
    sweep = r.uniform(330, 345) if open_top else r.uniform(355, 395)
    loop = _arc(0.4, 0.5, rx, ry, start, start + sweep * r.choice([-1, 1]), 56)
    if not slash:
        return [loop]
    # A slash through it, lower left to upper right, inside the oval or beyond it.
    reach = r.uniform(0.55, 1.25)
    a = (0.4 - rx * reach, 0.5 + ry * reach * r.uniform(0.7, 1.0))
    b = (0.4 + rx * reach, 0.5 - ry * reach * r.uniform(0.7, 1.0))
    return [loop, _line(a, b) if r.uniform() < 0.8 else _line(b, a)]


def _one(r: np.random.Generator, flag: str = "none", base: bool = False) -> Strokes:
    x, lean = r.uniform(0.3, 0.4), r.uniform(-0.06, 0.06)
    top, bottom = (x + lean, 0.0), (x - lean, 1.0)
    stem = _line(top, bottom, 16)
    if flag == "short":
        stem = _join(_line((top[0] - r.uniform(0.1, 0.22), r.uniform(0.12, 0.3)), top, 8), stem)
    elif flag == "long":  # a long flag, flat or steep: close to a 7's bar
        stem = _join(_line((top[0] - r.uniform(0.25, 0.45), r.uniform(0.08, 0.4)), top, 10), stem)
    elif flag == "curved":
        start = (top[0] - r.uniform(0.15, 0.35), r.uniform(0.1, 0.3))
        stem = _join(_bezier(start, (top[0] - r.uniform(0.0, 0.1), start[1] - r.uniform(0.05, 0.15)), top, n=10), stem)
    strokes = [stem]
    if base:
        half = r.uniform(0.15, 0.32)
        y = 1.0 + r.uniform(-0.02, 0.02)
        strokes.append(_line((bottom[0] - half * r.uniform(0.7, 1.3), y), (bottom[0] + half, y + r.uniform(-0.03, 0.03))))
    return strokes


def _two(r: np.random.Generator, kind: str) -> Strokes:
    w = r.uniform(0.5, 0.75)
    top = _arc(w / 2, r.uniform(0.22, 0.3), w / 2, r.uniform(0.2, 0.3), r.uniform(190, 215), r.uniform(345, 375), 24)
    corner = (r.uniform(-0.03, 0.08), 1.0)
    if kind == "z":  # a straight diagonal from the right end of the top
        down = _line(top[-1], corner, 10)
    elif kind == "loop":  # a small loop at the bottom left before the base
        down = _join(_bezier(top[-1], (w * 0.4, 0.7), (0.05, 0.95), n=14),
                     _arc(0.12, 0.9, 0.09, 0.08, 150, 150 - 330, 18))
        corner = tuple(down[-1])
    else:
        down = _bezier(top[-1], (w * 0.75, 0.6), (w * 0.2, 0.8), corner, n=16)
    base = _line(corner, (w + r.uniform(-0.05, 0.15), 1.0 + r.uniform(-0.05, 0.03)), 10)
    if r.uniform() < 0.7:
        return [_join(top, down, base)]
    return [_join(top, down), base]


def _three(r: np.random.Generator, kind: str) -> Strokes:
    w = r.uniform(0.45, 0.65)
    mid = r.uniform(0.42, 0.52)
    if kind == "flat":  # a flat top, a diagonal, one bowl
        a, b = (0.02, 0.0), (w, r.uniform(-0.02, 0.04))
        c = (w * r.uniform(0.3, 0.5), mid)
        bowl = _arc(w * 0.45, (mid + 1) / 2, w * 0.55, (1 - mid) / 2, -110, 150, 30)
        return [_join(_line(a, b, 8), _line(b, c, 8), _bezier(c, bowl[0], n=4), bowl)]
    upper = _arc(w * 0.45, mid / 2, w * 0.5, mid / 2, r.uniform(195, 215), 90 + 360, 26)
    lower = _arc(w * 0.45, (mid + 1) / 2, w * 0.55, (1 - mid) / 2, -90, r.uniform(140, 160), 30)
    return [_join(upper, lower)]


def _four(r: np.random.Generator, kind: str) -> Strokes:
    bar = r.uniform(0.55, 0.72)
    xv = r.uniform(0.4, 0.58)
    right = xv + r.uniform(0.08, 0.25)
    vertical = _line((xv + r.uniform(-0.05, 0.05), r.uniform(-0.05, 0.25) if kind != "closed" else 0.0), (xv, 1.0), 14)
    if kind == "closed":
        return [_join(_line((xv, 0.0), (0.0, bar), 12), _line((0.0, bar), (right, bar), 10)), vertical]
    # Open: a separate down stroke at the left, then the bar; the top stays open.
    left = r.uniform(0.0, 0.15)
    tilt = r.uniform(-0.05, 0.15)
    corner = (left, bar)
    down = _line((left + tilt, r.uniform(0.0, 0.15)), corner, 10)
    return [_join(down, _line(corner, (right, bar + r.uniform(-0.04, 0.04)), 10)), vertical]


def _five(r: np.random.Generator, kind: str) -> Strokes:
    w = r.uniform(0.5, 0.7)
    corner = (r.uniform(0.02, 0.1), r.uniform(0.38, 0.48))
    bowl = _arc(w * 0.45, (corner[1] + 1) / 2 + 0.02, w * 0.55, (1 - corner[1]) / 2, -150, 145, 30)
    stem = _line((corner[0] + r.uniform(0.0, 0.06), 0.0), corner, 8)
    flag = _line((corner[0] + 0.02, 0.0), (w + r.uniform(-0.05, 0.1), r.uniform(-0.04, 0.04)), 8)
    if kind == "one":
        return [_join(flag[::-1], stem, bowl)]
    return [_join(stem, bowl), flag]


def _six(r: np.random.Generator, kind: str) -> Strokes:
    w = r.uniform(0.45, 0.65)
    ry = r.uniform(0.2, 0.28)
    cy = 1.0 - ry
    loop = _arc(w / 2, cy, w / 2, ry, 180, 180 + 360 * r.uniform(0.95, 1.05), 36)
    start = (w * r.uniform(0.6, 1.0), 0.0)
    if kind == "straight":
        down = _line(start, loop[0], 10)
    else:
        down = _bezier(start, (w * 0.1, r.uniform(0.1, 0.3)), loop[0], n=16)
    return [_join(down, loop)]


def _seven(r: np.random.Generator, hook: bool = False, cross: bool = False, curved: bool = False) -> Strokes:
    w = r.uniform(0.5, 0.75)
    left, right = (0.0, r.uniform(-0.03, 0.05)), (w, 0.0)
    foot = (w * r.uniform(0.2, 0.5), 1.0)
    bar = _line(left, right, 12)
    if hook:  # a short tick down at the bar's start
        bar = _join(_line((left[0] + r.uniform(-0.03, 0.03), left[1] + r.uniform(0.1, 0.25)), left, 6), bar)
    if curved:
        stem = _bezier(right, (w * r.uniform(0.5, 0.8), 0.45), foot, n=18)
    else:
        stem = _line(right, foot, 16)
    strokes = [_join(bar, stem)]
    if cross:
        y = r.uniform(0.42, 0.58)
        x = right[0] + (foot[0] - right[0]) * y
        half = r.uniform(0.12, 0.25)
        strokes.append(_line((x - half, y + r.uniform(-0.03, 0.03)), (x + half * r.uniform(0.6, 1.1), y)))
    return strokes


def _eight(r: np.random.Generator, kind: str) -> Strokes:
    w = r.uniform(0.45, 0.65)
    waist = r.uniform(0.4, 0.5)
    if kind == "two loops":
        upper = _arc(w / 2, waist / 2, w * r.uniform(0.35, 0.45), waist / 2, 90, 90 + 365, 36)
        lower = _arc(w / 2, (waist + 1) / 2, w / 2, (1 - waist) / 2, -90, -90 + 365, 40)
        return [upper, lower] if r.uniform() < 0.5 else [_join(upper, lower)]
    # One stroke: from the top right, an S down to the bottom, and back up crossing the waist.
    points = [(w * 0.85, 0.1), (w * 0.5, 0.0), (w * 0.1, 0.12), (w * 0.2, waist * 0.8), (w * 0.5, waist),
              (w * 0.9, waist + 0.15), (w * 0.95, 0.85), (w * 0.5, 1.0), (w * 0.05, 0.85), (w * 0.1, waist + 0.15),
              (w * 0.5, waist), (w * 0.8, waist * 0.8), (w * 0.9, 0.2), (w * 0.6, 0.02)]
    jitter = r.uniform(-0.04, 0.04, (len(points), 2))
    return [_smooth(np.asarray(points) + jitter)]


def _nine(r: np.random.Generator, kind: str) -> Strokes:
    w = r.uniform(0.45, 0.65)
    ry = r.uniform(0.2, 0.28)
    loop = _arc(w / 2, ry, w / 2, ry, 0, -360 * r.uniform(0.95, 1.05), 36)
    top_right = (w + r.uniform(-0.03, 0.02), ry)
    if kind == "curved":
        stem = _bezier(top_right, (w * 0.95, 0.8), (w * 0.4, 1.0), (w * 0.1, 0.9), n=16)
    else:
        stem = _line(top_right, (w * r.uniform(0.7, 1.0), 1.0), 12)
    if r.uniform() < 0.6:
        return [_join(loop, stem)]
    return [loop, stem]


def _smooth(points: np.ndarray, per_segment: int = 8) -> np.ndarray:
    """A Chaikin-smoothed curve through a polygon (three rounds)."""
    p = points
    for _ in range(3):
        q = 0.75 * p[:-1] + 0.25 * p[1:]
        s = 0.25 * p[:-1] + 0.75 * p[1:]
        p = np.vstack([p[:1], np.column_stack([q, s]).reshape(-1, 2), p[-1:]])
    return p


# name: (digit, style)
STYLES: dict[str, tuple[int, Callable[[np.random.Generator], Strokes]]] = {
    "0 oval": (0, lambda r: _zero(r)),
    "0 slashed": (0, lambda r: _zero(r, slash=True)),
    "0 open top": (0, lambda r: _zero(r, open_top=True)),
    "1 bare": (1, lambda r: _one(r)),
    "1 flag": (1, lambda r: _one(r, "short")),
    "1 long flag": (1, lambda r: _one(r, "long")),
    "1 curved flag": (1, lambda r: _one(r, "curved")),
    "1 flag and base": (1, lambda r: _one(r, str(r.choice(["short", "long", "curved"])), base=True)),
    "1 base": (1, lambda r: _one(r, base=True)),
    "2 curved": (2, lambda r: _two(r, "curved")),
    "2 z": (2, lambda r: _two(r, "z")),
    "2 loop": (2, lambda r: _two(r, "loop")),
    "3 round": (3, lambda r: _three(r, "round")),
    "3 flat top": (3, lambda r: _three(r, "flat")),
    "4 open": (4, lambda r: _four(r, "open")),
    "4 closed": (4, lambda r: _four(r, "closed")),
    "5 two strokes": (5, lambda r: _five(r, "two")),
    "5 one stroke": (5, lambda r: _five(r, "one")),
    "6 curved": (6, lambda r: _six(r, "curved")),
    "6 straight": (6, lambda r: _six(r, "straight")),
    "7 plain": (7, lambda r: _seven(r)),
    "7 crossed": (7, lambda r: _seven(r, cross=True)),
    "7 hook": (7, lambda r: _seven(r, hook=True)),
    "7 hook crossed": (7, lambda r: _seven(r, hook=True, cross=True)),
    "7 curved": (7, lambda r: _seven(r, curved=True, cross=bool(r.uniform() < 0.4))),
    "8 one stroke": (8, lambda r: _eight(r, "one stroke")),
    "8 two loops": (8, lambda r: _eight(r, "two loops")),
    "9 straight": (9, lambda r: _nine(r, "straight")),
    "9 curved": (9, lambda r: _nine(r, "curved")),
}
STYLES_OF_DIGIT = {d: [name for name, (digit, _) in STYLES.items() if digit == d] for d in range(10)}


# -- drawing ----------------------------------------------------------------------------------------

def _resample(line: np.ndarray, step: float) -> np.ndarray:
    lengths = np.r_[0.0, np.cumsum(np.hypot(*np.diff(line, axis=0).T))]
    count = max(2, int(math.ceil(lengths[-1] / step)) + 1)
    at = np.linspace(0.0, lengths[-1], count)
    return np.column_stack([np.interp(at, lengths, line[:, 0]), np.interp(at, lengths, line[:, 1])])


def _shape(r: np.random.Generator, strokes: Strokes, height: float) -> Strokes:
    """Scale to `height` px with a random width, slant and rotation; add wobble and tremor; place on the canvas."""
    slant = math.radians(r.uniform(-MAX_SLANT, MAX_SLANT))
    rotation = math.radians(r.uniform(-MAX_ROTATION, MAX_ROTATION))
    c, s = math.cos(rotation), math.sin(rotation)
    matrix = np.array([[c, -s], [s, c]]) @ np.array([[1.0, -math.tan(slant)], [0.0, 1.0]]) @ np.diag(
        [height * r.uniform(0.75, 1.3), height])
    wobble, tremor = r.uniform(0.0, 0.035) * height, r.uniform(0.0, 1.0)
    out = []
    for line in strokes:
        line = _resample(line @ matrix.T, r.uniform(2.0, 6.0))
        along = np.linspace(0.0, 1.0, len(line))
        tangent = np.gradient(line, axis=0) if len(line) > 1 else np.zeros_like(line)
        norm = np.hypot(*tangent.T)[:, None]
        normal = np.column_stack([-tangent[:, 1], tangent[:, 0]]) / np.where(norm > 0, norm, 1.0)
        wave = wobble * np.sin(2 * math.pi * r.uniform(0.3, 1.5) * along + r.uniform(0, 2 * math.pi))
        out.append(line + normal * wave[:, None] + r.normal(0.0, tremor, line.shape))
    every = np.vstack(out)
    low, high = every.min(axis=0), every.max(axis=0)
    pad = PEN / 2 + 2
    room = (CANVAS - 2 * pad) / max(float((high - low).max()), 1e-9)
    if room < 1:  # too big for the canvas with its pen: shrink it to fit
        out = [low + (line - low) * room for line in out]
        high = low + (high - low) * room
    lo, hi = pad - low, CANVAS - pad - high
    shift = r.uniform(lo, np.maximum(hi, lo))
    return [line + shift for line in out]


def draw_strokes(strokes: Strokes, pen: float = PEN) -> np.ndarray:
    """Strokes (canvas px) drawn with a round pen on a black 280×280 canvas: float32 in [0, 1]."""
    image = Image.new("L", (CANVAS, CANVAS), 0)
    draw = ImageDraw.Draw(image)
    radius = pen / 2
    for line in strokes:
        points = [(float(x), float(y)) for x, y in line]
        if len(points) > 1:
            draw.line(points, fill=255, width=int(round(pen)), joint="curve")
        for x, y in (points[0], points[-1]):  # round caps
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    return np.asarray(image, dtype=np.float32) / np.float32(255)


def stroke_digit(r: np.random.Generator, style: str) -> np.ndarray:
    """One digit in `style` (a key of STYLES), drawn as the sketchpad would: a (280, 280) canvas."""
    _, make = STYLES[style]
    # Log-uniform: as many digits from 40 to 70 px (thick under the pen) as from 150 to 265 (thin).
    height = math.exp(r.uniform(*np.log(HEIGHTS)))
    return draw_strokes(_shape(r, make(r), height))


@lru_cache(maxsize=None)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def font_digit(r: np.random.Generator, path: str, digit: int) -> np.ndarray:
    """A digit from a font file at a random size, weight, slant and rotation, white on black."""
    size = int(r.choice([24, 36, 56, 80, 120]))
    side = 3 * size
    image = Image.new("L", (side, side), 0)
    bold = int(round(size * r.choice([0.0, 0.0, r.uniform(0.01, 0.04), r.uniform(0.04, 0.08)])))
    ImageDraw.Draw(image).text((side / 2, side / 2), str(digit), fill=255, font=_font(path, size), anchor="mm",
                               stroke_width=bold, stroke_fill=255)
    slant = math.tan(math.radians(r.uniform(-MAX_SLANT, MAX_SLANT)))
    rotation = math.radians(r.uniform(-MAX_ROTATION, MAX_ROTATION))
    c, s = math.cos(rotation), math.sin(rotation)
    # Output → input pixel map about the centre: the inverse of (rotate · shear).
    forward = np.array([[c, -s], [s, c]]) @ np.array([[1.0, -slant], [0.0, 1.0]])
    inverse = np.linalg.inv(forward)
    centre = np.array([side / 2, side / 2])
    offset = centre - inverse @ centre
    data = (inverse[0, 0], inverse[0, 1], offset[0], inverse[1, 0], inverse[1, 1], offset[1])
    image = image.transform((side, side), Image.Transform.AFFINE, data, resample=Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.float32) / np.float32(255)


def bank_size(train_images: int, share: float) -> int:
    """How many digits a run's bank holds: as many as it draws in an epoch, within 100–15,000."""
    return min(BANK_MAX, max(BANK_MIN, round(train_images * share / (1 - share))))


def per_batch(batch: int, share: float, others: float = 0.0) -> int:
    """Digits added to a batch of `batch` MNIST digits so that they are `share` of it, beside another
    `others` share of added digits (real handwriting beside synthesised ones)."""
    return round(batch * share / (1 - share - others))


def synth_bank(count: int, seed: int, fonts: list[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """`count` synthesised digits as (uint8 (count, 28, 28) after `to_mnist`, uint8 labels), labels
    0–9 in turn; the same count, seed and fonts give the same digits."""
    fonts = available_fonts() if fonts is None else fonts
    r = np.random.default_rng(seed)
    images = np.zeros((count, 28, 28), dtype=np.uint8)
    labels = (np.arange(count) % 10).astype(np.uint8)
    for i, digit in enumerate(labels.tolist()):
        if fonts and r.uniform() < FONT_SHARE:
            canvas = font_digit(r, fonts[int(r.integers(len(fonts)))], digit)
        else:
            styles = STYLES_OF_DIGIT[digit]
            canvas = stroke_digit(r, styles[int(r.integers(len(styles)))])
        images[i] = np.round(to_mnist(canvas) * 255)
    return images, labels
