"""Build benchmarks/check_set.npz: digits from outside MNIST, to see how a model reads sketchpad-like input.

    QT_QPA_PLATFORM=offscreen python scripts/make_check_set.py [--out PATH] [--grid PNG] [--check]

Three kinds of item, every one put through `to_mnist` exactly as the sketchpad does. The first
part, 1,860 items of the first two kinds, is the set as it was first made; the second part was
added later from a generator of its own (EXTRA_SEED), so the first part's items stay the same:

* ``font:<file stem>``: a digit 0–9 from a font file, as a filled glyph outline (on some items
  widened by an outline pen, for a bolder stroke), drawn white on a 280×280 black canvas with
  QPainter at a varied size (20 to 260 px tall), position (corners included), rotation (±10°)
  and slant (shear ±15°).
* ``stroke:<size>-<upright|slanted>[+speck]``: handwriting-like pen paths (two to four templates
  per digit) drawn THROUGH a real `DrawingCanvas` with raw mouse press/move/release events, at a
  varied height, width, position (corners included), slant (±15°), rotation (±10°), wobble, hand
  tremor and mouse sampling step, then `canvas.ink()`. The canvas's pen is fixed (18 px), so the
  stroke thickness relative to the digit varies with the size instead: tiny (45–70 px tall: thick
  strokes), small (70–120), medium (120–190), large (190–265: thin strokes). "slanted": slant or
  rotation beyond 7°. "+speck": a stray click (one pen dot) away from the digit, on 10 % of them.
* ``style:<size>-<upright|slanted>`` (the second part): strokes drawn the same way in styles MNIST
  barely has (EXTRA_STYLES: 1s with a flag and a base or a long flag, hooked and crossed 7s,
  slashed 0s, open 4s, small 8s whose loops close under the pen), 40 of each, without stray dots.

The file (np.savez_compressed) holds, per item: ``images`` (N, 28, 28) uint8, round(to_mnist(canvas)
* 255); ``labels`` (N,) uint8; ``source`` (N,) str as above; ``size`` (N,) str, tiny/small/medium/
large; ``height`` (N,) uint16, the digit's height on the canvas before rotation, px; ``slant`` and
``rotation`` (N,) int8, degrees; ``speck`` (N,) bool; ``style`` (N,) str, the stroke's style (e.g.
"1 flag and foot", "7 hook"; "font" for the font items); ``stroke_px`` (N,) float16, the stroke width
the drawing has when its longer side is 20 px, before `to_mnist` thickens or thins it (MNIST's pen
is about 2–3 px). And ``meta``: a JSON string with the seed, the generator version, the Qt version
and the font files. The 280×280 canvases are not stored: everything is drawn from two seeded numpy
Generators, so a rerun with the same seeds, fonts and Qt gives the same images; ``--check`` builds
the set again and compares it with the stored file.

The fonts come from Debian packages (the script stops and names any that are missing):

    apt-get install fonts-dejavu-core fonts-liberation fonts-freefont-ttf fonts-urw-base35 \\
        fonts-noto-mono fonts-comic-neue fonts-humor-sans fonts-dkg-handwriting fonts-breip \\
        fonts-kristi fonts-dancingscript fonts-kaushanscript fonts-rufscript fonts-cantarell \\
        fonts-open-sans fonts-lato fonts-quicksand fonts-roboto-unhinted

Glyph outlines are read straight from each file with QRawFont rather than through a QFont from
QFontDatabase.addApplicationFont: that registers a family, and picking a style within a family by
name can silently use another file of it. Building takes about 15 s on one core.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PySide6 import __version__ as PYSIDE_VERSION  # noqa: E402
from PySide6.QtCore import Qt, qVersion  # noqa: E402
from PySide6.QtGui import (  # noqa: E402
    QColor,
    QFont,
    QImage,
    QPainter,
    QPainterPath,
    QPen,
    QRawFont,
    QTransform,
)
from PySide6.QtWidgets import QApplication  # noqa: E402

from mnistconv.core.preprocess import BOX, stroke_width, to_mnist  # noqa: E402
from mnistconv.gui.drawing_canvas import LOGICAL_SIDE, PEN_WIDTH, DrawingCanvas  # noqa: E402
from mnistconv.gui.scripted_mouse import drag  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / "check_set.npz"
SEED = 20261128
VERSION = 2  # 2: a second part, strokes in styles MNIST barely has, and every item's style
SIDE = LOGICAL_SIDE  # 280

# (Debian package, font file); every file must have the ten digits.
FONTS = [
    ("fonts-dejavu-core", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    ("fonts-dejavu-core", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    ("fonts-dejavu-core", "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"),
    ("fonts-dejavu-core", "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"),
    ("fonts-liberation", "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"),
    ("fonts-liberation", "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf"),
    ("fonts-liberation", "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf"),
    ("fonts-liberation", "/usr/share/fonts/truetype/liberation/LiberationSerif-Italic.ttf"),
    ("fonts-liberation", "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf"),
    ("fonts-liberation", "/usr/share/fonts/truetype/liberation/LiberationSansNarrow-Regular.ttf"),
    ("fonts-freefont-ttf", "/usr/share/fonts/truetype/freefont/FreeSans.ttf"),
    ("fonts-freefont-ttf", "/usr/share/fonts/truetype/freefont/FreeSerif.ttf"),
    ("fonts-freefont-ttf", "/usr/share/fonts/truetype/freefont/FreeMono.ttf"),
    ("fonts-freefont-ttf", "/usr/share/fonts/truetype/freefont/FreeSansBoldOblique.ttf"),
    ("fonts-urw-base35", "/usr/share/fonts/opentype/urw-base35/NimbusSans-Regular.otf"),
    ("fonts-urw-base35", "/usr/share/fonts/opentype/urw-base35/NimbusRoman-Regular.otf"),
    ("fonts-urw-base35", "/usr/share/fonts/opentype/urw-base35/NimbusMonoPS-Regular.otf"),
    ("fonts-urw-base35", "/usr/share/fonts/opentype/urw-base35/URWGothic-Book.otf"),
    ("fonts-urw-base35", "/usr/share/fonts/opentype/urw-base35/URWBookman-Light.otf"),
    ("fonts-urw-base35", "/usr/share/fonts/opentype/urw-base35/C059-Roman.otf"),
    ("fonts-urw-base35", "/usr/share/fonts/opentype/urw-base35/P052-Italic.otf"),
    ("fonts-urw-base35", "/usr/share/fonts/opentype/urw-base35/Z003-MediumItalic.otf"),
    ("fonts-noto-mono", "/usr/share/fonts/truetype/noto/NotoSansMono-Regular.ttf"),
    ("fonts-comic-neue", "/usr/share/fonts/opentype/comic-neue/ComicNeue-Regular.otf"),
    ("fonts-comic-neue", "/usr/share/fonts/opentype/comic-neue/ComicNeue-Bold.otf"),
    ("fonts-humor-sans", "/usr/share/fonts/truetype/humor-sans/Humor-Sans.ttf"),
    ("fonts-dkg-handwriting", "/usr/share/fonts/truetype/fifthhorseman/dkg.ttf"),
    ("fonts-dkg-handwriting", "/usr/share/fonts/truetype/fifthhorseman/dkgBd.ttf"),
    ("fonts-breip", "/usr/share/fonts/truetype/breip/Breip.ttf"),
    ("fonts-kristi", "/usr/share/fonts/truetype/kristi/Kristi.ttf"),
    ("fonts-dancingscript", "/usr/share/fonts/opentype/dancingscript/DancingScript-Regular.otf"),
    ("fonts-kaushanscript", "/usr/share/fonts/opentype/kaushanscript/KaushanScript-Regular.otf"),
    ("fonts-rufscript", "/usr/share/fonts/truetype/rufscript/Rufscript010.ttf"),
    ("fonts-cantarell", "/usr/share/fonts/opentype/cantarell/Cantarell-Regular.otf"),
    ("fonts-open-sans", "/usr/share/fonts/truetype/open-sans/OpenSans-Regular.ttf"),
    ("fonts-open-sans", "/usr/share/fonts/truetype/open-sans/OpenSans-Light.ttf"),
    ("fonts-lato", "/usr/share/fonts/truetype/lato/Lato-Regular.ttf"),
    ("fonts-lato", "/usr/share/fonts/truetype/lato/Lato-Black.ttf"),
    ("fonts-lato", "/usr/share/fonts/truetype/lato/Lato-Hairline.ttf"),
    ("fonts-quicksand", "/usr/share/fonts/truetype/quicksand/Quicksand-Regular.ttf"),
    ("fonts-roboto-unhinted", "/usr/share/fonts/truetype/roboto/unhinted/RobotoTTF/Roboto-Regular.ttf"),
    ("fonts-roboto-unhinted", "/usr/share/fonts/truetype/roboto/unhinted/RobotoTTF/Roboto-Thin.ttf"),
    ("fonts-roboto-unhinted", "/usr/share/fonts/truetype/roboto/unhinted/RobotoCondensed-Bold.ttf"),
]
FONT_ITEMS_PER_DIGIT = 2  # per font: 43 fonts × 10 digits × 2 = 860 items
STROKE_ITEMS_PER_DIGIT = 100  # 10 × 100 = 1,000 items
SPECK_SHARE = 0.1  # of the stroke items get a stray dot

# Digit height on the canvas, px. Fonts: the pen is the glyph's own, so tiny means small type.
FONT_SIZES = {"tiny": (20, 45), "small": (45, 100), "medium": (100, 180), "large": (180, 260)}
# Strokes: the canvas pen is PEN_WIDTH (18 px) wide, so below ~45 px tall a digit is a blob.
STROKE_SIZES = {"tiny": (45, 70), "small": (70, 120), "medium": (120, 190), "large": (190, 265)}
MAX_ROTATION = 10.0  # degrees either way
MAX_SLANT = 15.0  # shear angle, degrees either way; positive leans the top to the right
SLANTED = 7.0  # |slant| or |rotation| beyond this names a stroke item "slanted"
MARGIN = 3.0  # px kept clear at the canvas edge, beyond the pen


# -- handwriting templates --------------------------------------------------------------------------
# A template is a list of strokes; a stroke is a list of pieces joined at sharp corners; a piece is
# a list of (x, y) points (y down, height about 1) that a Catmull-Rom spline passes through.

def _arc(cx, cy, rx, ry, a0, a1, n=28):
    """Points on an ellipse from angle a0 to a1 (degrees; y is down, so growing angles run clockwise)."""
    return [(cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a))) for a in np.linspace(a0, a1, n)]


_BOWL5 = [(0.08, 0.42), (0.3, 0.36), (0.52, 0.42), (0.65, 0.62), (0.6, 0.85), (0.4, 0.99), (0.2, 0.98), (0.02, 0.88)]
_EIGHT = [(0.6, 0.12), (0.35, 0.0), (0.1, 0.12), (0.15, 0.35), (0.35, 0.48), (0.6, 0.62), (0.65, 0.85),
          (0.35, 1.0), (0.05, 0.85), (0.1, 0.62), (0.35, 0.48), (0.58, 0.35), (0.62, 0.15), (0.5, 0.03)]

TEMPLATES: dict[int, list[list[list[list[tuple[float, float]]]]]] = {
    0: [
        [[_arc(0.35, 0.5, 0.32, 0.5, -95, 272, 48)]],
        [[_arc(0.33, 0.5, 0.3, 0.5, -70, -445, 48)]],
    ],
    1: [
        [[[(0.32, 0.0), (0.3, 0.5), (0.3, 1.0)]]],
        [[[(0.14, 0.26), (0.35, 0.0)], [(0.35, 0.0), (0.35, 1.0)]]],  # the continental 1, with a flag
        [[[(0.14, 0.24), (0.35, 0.0)], [(0.35, 0.0), (0.35, 1.0)]], [[(0.08, 1.0), (0.62, 1.0)]]],  # and a foot
        [[[(0.06, 0.2), (0.35, 0.0)], [(0.35, 0.0), (0.35, 1.0)]]],  # a long, flat flag: close to a 7
    ],
    2: [
        [[[(0.03, 0.22), (0.15, 0.05), (0.35, 0.0), (0.55, 0.07), (0.62, 0.25), (0.5, 0.48), (0.25, 0.75), (0.02, 1.0)],
          [(0.02, 1.0), (0.68, 0.98)]]],
        [[[(0.05, 0.2), (0.25, 0.0), (0.5, 0.02), (0.62, 0.2), (0.55, 0.42), (0.3, 0.7), (0.08, 0.92), (0.1, 1.0),
           (0.2, 0.93), (0.35, 0.9), (0.55, 0.97), (0.7, 1.0)]]],
    ],
    3: [
        [[[(0.05, 0.12), (0.3, 0.0), (0.55, 0.05), (0.6, 0.22), (0.45, 0.42), (0.25, 0.47)],
          [(0.25, 0.47), (0.5, 0.52), (0.65, 0.7), (0.58, 0.9), (0.35, 1.0), (0.05, 0.92)]]],
        [[[(0.05, 0.0), (0.65, 0.0)], [(0.65, 0.0), (0.3, 0.4)],
          [(0.3, 0.4), (0.55, 0.48), (0.67, 0.7), (0.55, 0.92), (0.3, 1.0), (0.05, 0.9)]]],
    ],
    4: [
        [[[(0.1, 0.0), (0.02, 0.62)], [(0.02, 0.62), (0.7, 0.62)]], [[(0.52, 0.2), (0.52, 1.0)]]],
        [[[(0.5, 0.0), (0.0, 0.66)], [(0.0, 0.66), (0.7, 0.66)]], [[(0.5, 0.0), (0.5, 1.0)]]],
    ],
    5: [
        [[[(0.12, 0.0), (0.08, 0.42)], _BOWL5], [[(0.12, 0.0), (0.62, 0.0)]]],
        [[[(0.65, 0.0), (0.12, 0.0)], [(0.12, 0.0), (0.08, 0.42)], _BOWL5]],
    ],
    6: [
        [[[(0.58, 0.0), (0.35, 0.1), (0.15, 0.35), (0.05, 0.65), (0.15, 0.92), (0.35, 1.0), (0.55, 0.92),
           (0.62, 0.72), (0.5, 0.57), (0.3, 0.55), (0.1, 0.68)]]],
        [[[(0.5, 0.0), (0.25, 0.3), (0.1, 0.6), (0.1, 0.85), (0.3, 1.0), (0.52, 0.95), (0.6, 0.75), (0.45, 0.6),
           (0.25, 0.62), (0.1, 0.75)]]],
    ],
    7: [
        [[[(0.0, 0.02), (0.68, 0.0)], [(0.68, 0.0), (0.45, 0.45), (0.28, 1.0)]]],
        [[[(0.0, 0.02), (0.68, 0.0)], [(0.68, 0.0), (0.45, 0.45), (0.28, 1.0)]], [[(0.22, 0.52), (0.65, 0.5)]]],
    ],
    8: [
        [[_EIGHT]],
        [[_arc(0.35, 0.24, 0.24, 0.24, 0, -365, 40)], [_arc(0.35, 0.73, 0.3, 0.27, -90, 272, 44)]],
    ],
    9: [
        [[_arc(0.35, 0.27, 0.3, 0.27, 0, -360, 44), [(0.65, 0.27), (0.62, 1.0)]]],
        [[_arc(0.35, 0.27, 0.3, 0.27, 10, -350, 44), [(0.65, 0.3), (0.63, 0.65), (0.5, 0.92), (0.3, 1.0), (0.12, 0.92)]]],
    ],
}


# The style of each template above, as the check set's per-style figures name it.
STYLE_NAMES = {
    0: ["0 clockwise", "0 anticlockwise"],
    1: ["1 bare", "1 flag", "1 flag and foot", "1 long flat flag"],
    2: ["2 curved", "2 with a loop"],
    3: ["3 round", "3 flat top"],
    4: ["4 open", "4 closed"],
    5: ["5 bar last", "5 one stroke"],
    6: ["6 curved top", "6 straight top"],
    7: ["7 plain", "7 crossed"],
    8: ["8 one stroke", "8 two circles"],
    9: ["9 straight tail", "9 curved tail"],
}

# Styles MNIST barely has, drawn for the check set's second part (its own seed, EXTRA_SEED):
# (style, digit, template, stroke sizes). "small 8s" are drawn tiny and small only, where the
# canvas's 18-px pen closes their loops; slashed 0s are not drawn tiny, where the pen fills them whole.
_NOT_TINY = ("small", "medium", "large")
_SLASH0 = _arc(0.35, 0.5, 0.32, 0.5, -100, 268, 48)
EXTRA_STYLES: list[tuple[str, int, list, tuple[str, ...]]] = [
    ("1 flag and base", 1, [[[(0.12, 0.22), (0.36, 0.0)], [(0.36, 0.0), (0.36, 1.0)]], [[(0.1, 1.0), (0.62, 1.0)]]],
     tuple(STROKE_SIZES)),
    ("1 long flag and base", 1, [[[(0.0, 0.3), (0.38, 0.0)], [(0.38, 0.0), (0.37, 1.0)]], [[(0.1, 1.0), (0.66, 0.99)]]],
     tuple(STROKE_SIZES)),
    ("1 long flag", 1, [[[(0.0, 0.34), (0.22, 0.14), (0.4, 0.0)], [(0.4, 0.0), (0.38, 0.55), (0.36, 1.0)]]],
     tuple(STROKE_SIZES)),
    ("1 base only", 1, [[[(0.36, 0.0), (0.36, 1.0)]], [[(0.12, 1.0), (0.6, 1.0)]]], tuple(STROKE_SIZES)),
    ("7 hook", 7, [[[(0.02, 0.2), (0.0, 0.02)], [(0.0, 0.02), (0.66, 0.0)], [(0.66, 0.0), (0.42, 0.5), (0.3, 1.0)]]],
     tuple(STROKE_SIZES)),
    ("7 hook and crossbar", 7, [[[(0.02, 0.18), (0.0, 0.02)], [(0.0, 0.02), (0.68, 0.0)], [(0.68, 0.0), (0.45, 0.5), (0.3, 1.0)]],
                                [[(0.26, 0.5), (0.68, 0.48)]]], tuple(STROKE_SIZES)),
    ("7 curved stem and crossbar", 7, [[[(0.0, 0.04), (0.35, 0.0), (0.66, 0.02)], [(0.66, 0.02), (0.52, 0.3), (0.42, 0.65),
                                                                                  (0.4, 1.0)]],
                                       [[(0.22, 0.5), (0.7, 0.5)]]], tuple(STROKE_SIZES)),
    ("0 slashed", 0, [[_SLASH0], [[(0.05, 0.95), (0.65, 0.05)]]], _NOT_TINY),
    ("0 slashed beyond", 0, [[_SLASH0], [[(-0.08, 1.05), (0.78, -0.05)]]], _NOT_TINY),
    ("4 open, stem above", 4, [[[(0.12, 0.1), (0.02, 0.62)], [(0.02, 0.62), (0.75, 0.6)]], [[(0.52, 0.0), (0.5, 1.0)]]],
     tuple(STROKE_SIZES)),
    ("4 open, wide", 4, [[[(0.02, 0.0), (0.0, 0.55)], [(0.0, 0.55), (0.55, 0.58)], [(0.55, 0.58), (0.78, 0.56)]],
                         [[(0.58, 0.05), (0.56, 1.0)]]], tuple(STROKE_SIZES)),
    ("8 small, one stroke", 8, [[_EIGHT]], ("tiny", "small")),
    ("8 small, two circles", 8, [[_arc(0.35, 0.24, 0.24, 0.24, 0, -365, 40)], [_arc(0.35, 0.73, 0.3, 0.27, -90, 272, 44)]],
     ("tiny", "small")),
]
EXTRA_SEED = 20261130
EXTRA_ITEMS_PER_STYLE = 40


def _catmull_rom(points: list[tuple[float, float]], per_segment: int = 12) -> np.ndarray:
    p = np.asarray(points, dtype=np.float64)
    if len(p) < 3:
        return np.linspace(p[0], p[-1], per_segment + 1)
    ext = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    t = np.linspace(0.0, 1.0, per_segment, endpoint=False)[:, None]
    out = []
    for i in range(1, len(ext) - 2):
        p0, p1, p2, p3 = ext[i - 1], ext[i], ext[i + 1], ext[i + 2]
        out.append(0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                          + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3))
    out.append(p[-1:])
    return np.vstack(out)


def _template_strokes(template: list) -> list[np.ndarray]:
    """The template's strokes as dense polylines, normalised to height 1 with the box centred on 0."""
    strokes = [np.vstack([_catmull_rom(piece) for piece in stroke]) for stroke in template]
    every = np.vstack(strokes)
    low, high = every.min(axis=0), every.max(axis=0)
    centre, height = (low + high) / 2, high[1] - low[1]
    return [(s - centre) / height for s in strokes]


def _resample(line: np.ndarray, step: float) -> np.ndarray:
    """Points every `step` along a polyline (the mouse's samples), ends kept."""
    lengths = np.r_[0.0, np.cumsum(np.hypot(*np.diff(line, axis=0).T))]
    count = max(2, int(math.ceil(lengths[-1] / step)) + 1)
    at = np.linspace(0.0, lengths[-1], count)
    return np.column_stack([np.interp(at, lengths, line[:, 0]), np.interp(at, lengths, line[:, 1])])


def _shape_matrix(height: float, aspect: float, slant: float, rotation: float) -> np.ndarray:
    """2×2: scale (width by aspect), shear (top to the right for positive slant), then rotate."""
    shear = np.array([[1.0, -math.tan(math.radians(slant))], [0.0, 1.0]])  # y is down: the top (y < 0) moves right
    c, s = math.cos(math.radians(rotation)), math.sin(math.radians(rotation))
    rotate = np.array([[c, -s], [s, c]])
    return rotate @ shear @ np.diag([height * aspect, height])


def _place(rng: np.random.Generator, low: np.ndarray, high: np.ndarray, pad: float) -> tuple[float, float, str]:
    """A translation putting the box [low, high] inside the canvas: a corner, the centre or anywhere."""
    lo = -low + pad
    hi = SIDE - high - pad
    hi = np.maximum(hi, lo)
    where = ["top-left", "top-right", "bottom-left", "bottom-right", "centre", "anywhere", "anywhere", "anywhere"][
        int(rng.integers(8))
    ]
    if where == "centre":
        t = (lo + hi) / 2
    elif where == "anywhere":
        t = rng.uniform(lo, hi)
    else:
        t = np.array([lo[0] if "left" in where else hi[0], lo[1] if "top" in where else hi[1]])
    return float(t[0]), float(t[1]), where


# -- the two kinds of item --------------------------------------------------------------------------

def stroke_params(rng: np.random.Generator, digit: int, index: int, extra: tuple | None = None) -> dict:
    """An item of the first part (a template of TEMPLATES), or with `extra` one of EXTRA_STYLES
    (style, digit, template, sizes: no stray dots, sources named "style:…")."""
    variants = len(TEMPLATES[digit])
    sizes = extra[3] if extra else tuple(STROKE_SIZES)
    size = sizes[index % len(sizes)]
    height = float(rng.uniform(*STROKE_SIZES[size]))
    aspect = float(rng.uniform(0.7, 1.25))
    slant = float(rng.uniform(-MAX_SLANT, MAX_SLANT))
    rotation = float(rng.uniform(-MAX_ROTATION, MAX_ROTATION))
    params = {
        "kind": "stroke", "digit": digit, "variant": int((index // len(STROKE_SIZES)) % variants), "size": size,
        "height": height, "aspect": aspect, "slant": slant, "rotation": rotation,
        # Wobble: a slow sideways wave along each stroke (fraction of the height); tremor: px per sample.
        "wobble": float(rng.uniform(0.0, 0.04)), "wobble_freq": float(rng.uniform(0.5, 2.0)),
        "wobble_phase": [float(v) for v in rng.uniform(0, 2 * math.pi, 2)],
        "tremor": float(rng.uniform(0.0, 1.2)), "step": float(rng.uniform(2.0, 8.0)),
        "noise_seed": int(rng.integers(2**31)),
    }
    if extra:
        params["template"], params["style"] = extra[2], extra[0]
    else:
        params["template"] = TEMPLATES[digit][params["variant"]]
        params["style"] = STYLE_NAMES[digit][params["variant"]]
    strokes = _stroke_points(params, offset=(0.0, 0.0))
    every = np.vstack(strokes)
    pad = PEN_WIDTH / 2 + MARGIN
    params["dx"], params["dy"], params["where"] = _place(rng, every.min(axis=0), every.max(axis=0), pad)
    params["speck"] = None
    if not extra and rng.uniform() < SPECK_SHARE:
        # A stray click somewhere on the canvas, two pen widths or more clear of the digit's box.
        low, high = every.min(axis=0) + [params["dx"], params["dy"]], every.max(axis=0) + [params["dx"], params["dy"]]
        for _ in range(100):
            x, y = rng.uniform(pad, SIDE - pad, 2)
            reach = 2 * PEN_WIDTH
            if x < low[0] - reach or x > high[0] + reach or y < low[1] - reach or y > high[1] + reach:
                params["speck"] = [round(float(x)), round(float(y))]
                break
    slanted = max(abs(round(slant)), abs(round(rotation))) > SLANTED  # as the stored whole degrees say
    params["source"] = (f"{'style' if extra else 'stroke'}:{size}-{'slanted' if slanted else 'upright'}"
                        + ("+speck" if params["speck"] else ""))
    return params


def _stroke_points(params: dict, offset: tuple[float, float] | None = None) -> list[np.ndarray]:
    """The mouse positions (canvas px) of each stroke, before rounding to whole pixels."""
    matrix = _shape_matrix(params["height"], params["aspect"], params["slant"], params["rotation"])
    noise = np.random.default_rng(params["noise_seed"])
    dx, dy = offset if offset is not None else (params["dx"], params["dy"])
    out = []
    for line in _template_strokes(params["template"]):
        line = line @ matrix.T
        line = _resample(line, params["step"])
        # The wobble: a smooth displacement along the stroke's normal.
        along = np.linspace(0.0, 1.0, len(line))
        tangent = np.gradient(line, axis=0)
        norm = np.hypot(*tangent.T)[:, None]
        normal = np.column_stack([-tangent[:, 1], tangent[:, 0]]) / np.where(norm > 0, norm, 1.0)
        phase = params["wobble_phase"][len(out) % 2]
        wave = params["wobble"] * params["height"] * np.sin(2 * math.pi * params["wobble_freq"] * along + phase)
        line = line + normal * wave[:, None] + noise.normal(0.0, params["tremor"], line.shape)
        out.append(line + [dx, dy])
    return out


def font_params(rng: np.random.Generator, font_index: int, digit: int, index: int) -> dict:
    font = Path(FONTS[font_index][1]).name
    size = list(FONT_SIZES)[(font_index + digit + index) % len(FONT_SIZES)]
    height = float(rng.uniform(*FONT_SIZES[size]))
    params = {
        "kind": "font", "digit": digit, "font": font, "size": size, "height": height, "aspect": 1.0,
        "slant": float(rng.uniform(-MAX_SLANT, MAX_SLANT)), "rotation": float(rng.uniform(-MAX_ROTATION, MAX_ROTATION)),
        # Outline pen as a share of the height: 0 is the font's own weight; up to 0.08 is very bold.
        "widen": float([0.0, 0.0, rng.uniform(0.01, 0.04), rng.uniform(0.04, 0.08)][int(rng.integers(4))]),
        "speck": None, "source": "font:" + Path(font).stem, "style": "font",
    }
    rect = _font_transform({**params, "dx": 0.0, "dy": 0.0}).map(_glyph(font, digit)).boundingRect()
    low, high = np.array([rect.left(), rect.top()]), np.array([rect.right(), rect.bottom()])
    params["dx"], params["dy"], params["where"] = _place(rng, low, high, params["widen"] * height / 2 + MARGIN)
    return params


_GLYPHS: dict[tuple[str, int], QPainterPath] = {}
_FONT_PATHS = {Path(path).name: path for _, path in FONTS}


def _glyph(font: str, digit: int) -> QPainterPath:
    """The digit's outline in the font file, at 200 px (cached)."""
    key = (font, digit)
    if key not in _GLYPHS:
        raw = QRawFont(_FONT_PATHS[font], 200.0, QFont.HintingPreference.PreferNoHinting)
        if not raw.isValid():
            raise SystemExit(f"make_check_set: Qt cannot read the font {_FONT_PATHS[font]}")
        glyphs = raw.glyphIndexesForString(str(digit))
        if len(glyphs) != 1 or glyphs[0] == 0:
            raise SystemExit(f"make_check_set: {_FONT_PATHS[font]} has no glyph for {digit}")
        path = raw.pathForGlyph(glyphs[0])
        if path.isEmpty():
            raise SystemExit(f"make_check_set: {_FONT_PATHS[font]}: the glyph for {digit} is empty")
        # Font outlines are filled by the non-zero rule; overlapping contours (sketchy or bold
        # fonts) would leave holes under Qt's default odd-even rule.
        path.setFillRule(Qt.FillRule.WindingFill)
        _GLYPHS[key] = path
    return _GLYPHS[key]


def _font_transform(params: dict) -> QTransform:
    """Glyph coordinates → canvas: the glyph's box centred on (dx, dy), scaled to the height, shaped."""
    box = _glyph(params["font"], params["digit"]).boundingRect()
    m = _shape_matrix(params["height"] / box.height(), params["aspect"], params["slant"], params["rotation"])
    cx, cy = box.center().x(), box.center().y()
    # QTransform maps (x, y) to (m11 x + m21 y + dx, m12 x + m22 y + dy).
    dx = params["dx"] - (m[0, 0] * cx + m[0, 1] * cy)
    dy = params["dy"] - (m[1, 0] * cx + m[1, 1] * cy)
    return QTransform(m[0, 0], m[1, 0], m[0, 1], m[1, 1], dx, dy)


def render_font(params: dict) -> np.ndarray:
    path = _font_transform(params).map(_glyph(params["font"], params["digit"]))
    image = QImage(SIDE, SIDE, QImage.Format.Format_Grayscale8)
    image.fill(0)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.fillPath(path, QColor(Qt.GlobalColor.white))
    if params["widen"] > 0:
        pen = QPen(QColor(Qt.GlobalColor.white), params["widen"] * params["height"])
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.strokePath(path, pen)
    painter.end()
    rows = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.sizeInBytes())
    return rows.reshape(SIDE, image.bytesPerLine())[:, :SIDE].astype(np.float32) / np.float32(255)


def _drag(canvas, points: np.ndarray) -> None:
    """One stroke with the left button, at whole-pixel positions as a mouse gives them."""
    drag(canvas, np.clip(np.round(points), 0, SIDE - 1))


def render_strokes(canvas, params: dict, with_speck: bool = True) -> np.ndarray:
    canvas.clear()
    for line in _stroke_points(params):
        _drag(canvas, line)
    if with_speck and params["speck"]:
        _drag(canvas, np.array([params["speck"]], dtype=np.float64))
    return canvas.ink()


def render(canvas, params: dict, with_speck: bool = True) -> np.ndarray:
    return render_font(params) if params["kind"] == "font" else render_strokes(canvas, params, with_speck)


def drawn_stroke_px(ink: np.ndarray) -> float:
    """Stroke width the drawing would have in MNIST's 20-px box, before to_mnist adjusts it."""
    mask = ink >= 0.5
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return 0.0
    longer = max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)
    return stroke_width(mask) * BOX / longer


def as_uint8(image: np.ndarray) -> np.ndarray:
    return np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


def build(seed: int = SEED, extra_seed: int = EXTRA_SEED) -> dict[str, np.ndarray]:
    missing = sorted({package for package, path in FONTS if not Path(path).is_file()})
    if missing:
        raise SystemExit("make_check_set: font files missing; install them with\n    apt-get install " + " ".join(missing))
    rng = np.random.default_rng(seed)
    items = [
        font_params(rng, font_index, digit, index)
        for font_index in range(len(FONTS)) for digit in range(10) for index in range(FONT_ITEMS_PER_DIGIT)
    ]
    items += [stroke_params(rng, digit, index) for digit in range(10) for index in range(STROKE_ITEMS_PER_DIGIT)]
    # The second part, styles MNIST barely has, from a generator of its own: the first part's items
    # stay exactly what they were.
    extra_rng = np.random.default_rng(extra_seed)
    items += [stroke_params(extra_rng, style[1], index, extra=style)
              for style in EXTRA_STYLES for index in range(EXTRA_ITEMS_PER_STYLE)]
    canvas = DrawingCanvas()
    images, stroke_px = [], []
    for params in items:
        ink = render(canvas, params)
        digit_only = render(canvas, params, with_speck=False) if params["speck"] else ink
        stroke_px.append(drawn_stroke_px(digit_only))
        images.append(as_uint8(to_mnist(ink)))
    meta = {
        "version": VERSION, "seed": seed, "extra_seed": extra_seed, "qt": qVersion(), "pyside6": PYSIDE_VERSION,
        "pen_width": PEN_WIDTH,
        "generator": "scripts/make_check_set.py", "fonts": [{"package": package, "file": path} for package, path in FONTS],
    }
    return {
        "images": np.stack(images),
        "labels": np.array([p["digit"] for p in items], dtype=np.uint8),
        "source": np.array([p["source"] for p in items]),
        "style": np.array([p["style"] for p in items]),
        "size": np.array([p["size"] for p in items]),
        "height": np.array([round(p["height"]) for p in items], dtype=np.uint16),
        "slant": np.array([round(p["slant"]) for p in items], dtype=np.int8),
        "rotation": np.array([round(p["rotation"]) for p in items], dtype=np.int8),
        "speck": np.array([p["speck"] is not None for p in items]),
        "stroke_px": np.array(stroke_px, dtype=np.float16),
        "meta": np.array(json.dumps(meta)),
    }


def save_grid(images: np.ndarray, labels: np.ndarray, path: Path, per_digit: int = 10, seed: int = 0,
              pick: np.ndarray | None = None) -> None:
    """A 10×10 sheet (one row per digit, 2× scale, 2-px grey gaps) of random items, as a PNG."""
    rng = np.random.default_rng(seed)
    rows = []
    for digit in range(10):
        candidates = np.flatnonzero(labels == digit) if pick is None else np.flatnonzero((labels == digit) & pick)
        chosen = rng.choice(candidates, size=min(per_digit, len(candidates)), replace=False)
        cells = [np.kron(images[i], np.ones((2, 2), dtype=np.uint8)) for i in chosen]
        cells += [np.zeros((56, 56), dtype=np.uint8)] * (per_digit - len(cells))
        rows.append(np.hstack([np.pad(c, 2, constant_values=100) for c in cells]))
    sheet = np.ascontiguousarray(np.vstack(rows))
    image = QImage(sheet.data, sheet.shape[1], sheet.shape[0], sheet.shape[1], QImage.Format.Format_Grayscale8)
    if not image.save(str(path)):
        raise SystemExit(f"make_check_set: could not write {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--grid", type=Path, help="also save a PNG of 100 random items (a row of 10 per digit)")
    parser.add_argument("--check", action="store_true",
                        help="build the set again and compare it with the file at --out; write nothing")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv[:1])  # noqa: F841 (the canvas needs one)
    start = time.perf_counter()
    data = build(args.seed)
    seconds = time.perf_counter() - start
    if args.check:
        with np.load(args.out) as stored:
            stored = {key: stored[key] for key in stored.files}
        differ = [key for key in data if key != "meta" and not np.array_equal(data[key], stored.get(key))]
        same_shape = data["images"].shape == stored["images"].shape
        pixels = int(np.abs(data["images"].astype(int) - stored["images"].astype(int)).max()) if same_shape else None
        print(f"Built again in {seconds:.1f} s: " + (f"differs from {args.out} in {', '.join(differ)} "
              f"(largest pixel difference {pixels})" if differ else f"identical to {args.out}"))
        raise SystemExit(1 if differ else 0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **data)
    kinds = np.char.partition(data["source"].astype(str), ":")[:, 0]
    counts = ", ".join(f"{k} {int((kinds == k).sum())}" for k in ("font", "stroke", "style"))
    print(f"Wrote {args.out}: {len(data['labels'])} items ({counts}), {args.out.stat().st_size / 1024:.0f} KiB, "
          f"built in {seconds:.1f} s")
    if args.grid:
        save_grid(data["images"], data["labels"], args.grid)
        print(f"Wrote {args.grid}")


if __name__ == "__main__":
    main()
