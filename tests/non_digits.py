"""Things that are not digits, drawn through the sketchpad's canvas: scribbles, letters and shapes.

Each kind is a few pen paths in a unit square (x right, y down); `non_digit_drawings` places them on
the canvas as a person might (size, position, slant, a wobbling hand) from a seeded generator, and
`draw` sends them to a real DrawingCanvas as raw mouse strokes. The "not sure" test and
benchmarks/not_sure.py measure on these.
"""

from __future__ import annotations

import math

import numpy as np

from mnistconv.gui.scripted_mouse import drag

Path = list[tuple[float, float]]


def _circle(cx: float, cy: float, r: float, start: float = 0.0, turn: float = 1.0, n: int = 24) -> Path:
    return [(cx + r * math.cos(start + 2 * math.pi * turn * t), cy + r * math.sin(start + 2 * math.pi * turn * t))
            for t in np.linspace(0, 1, n)]


def _zigzag(rng: np.random.Generator) -> list[Path]:
    teeth = int(rng.integers(4, 9))
    return [[(i / teeth, 0.0 if i % 2 else 1.0) for i in range(teeth + 1)]]


def _scribble(rng: np.random.Generator) -> list[Path]:
    """A random walk that keeps turning back on itself: a crossed-out blot."""
    points = [(0.5, 0.5)]
    heading = rng.uniform(0, 2 * math.pi)
    for _ in range(int(rng.integers(12, 30))):
        heading += rng.normal(0, 1.6)
        x, y = points[-1]
        step = rng.uniform(0.15, 0.4)
        points.append((min(1, max(0, x + step * math.cos(heading))), min(1, max(0, y + step * math.sin(heading)))))
    return [points]


def _loops(rng: np.random.Generator) -> list[Path]:
    """A coil of overlapping loops drawn left to right."""
    loops = int(rng.integers(3, 6))
    return [[(0.1 + 0.8 * t + 0.15 * math.cos(2 * math.pi * loops * t), 0.5 + 0.35 * math.sin(2 * math.pi * loops * t))
             for t in np.linspace(0, 1, 24 * loops)]]


def _wave(rng: np.random.Generator) -> list[Path]:
    waves = rng.uniform(1.5, 3.5)
    return [[(t, 0.5 + 0.3 * math.sin(2 * math.pi * waves * t)) for t in np.linspace(0, 1, 40)]]


def _spiral(rng: np.random.Generator) -> list[Path]:
    turns = rng.uniform(2.0, 3.5)
    return [[(0.5 + 0.5 * t * math.cos(2 * math.pi * turns * t), 0.5 + 0.5 * t * math.sin(2 * math.pi * turns * t))
             for t in np.linspace(0.05, 1, 60)]]


FIXED: dict[str, list[Path]] = {
    # Letters (capitals and a few small ones) that no digit resembles.
    "letter A": [[(0, 1), (0.5, 0), (1, 1)], [(0.22, 0.6), (0.78, 0.6)]],
    "letter E": [[(1, 0), (0, 0), (0, 1), (1, 1)], [(0, 0.5), (0.8, 0.5)]],
    "letter F": [[(1, 0), (0, 0), (0, 1)], [(0, 0.48), (0.75, 0.48)]],
    "letter H": [[(0, 0), (0, 1)], [(1, 0), (1, 1)], [(0, 0.5), (1, 0.5)]],
    "letter K": [[(0, 0), (0, 1)], [(0.9, 0), (0, 0.55), (1, 1)]],
    "letter M": [[(0, 1), (0, 0), (0.5, 0.65), (1, 0), (1, 1)]],
    "letter N": [[(0, 1), (0, 0), (1, 1), (1, 0)]],
    "letter R": [[(0, 1), (0, 0), (0.75, 0), (0.95, 0.25), (0.75, 0.5), (0, 0.5)], [(0.35, 0.5), (1, 1)]],
    "letter W": [[(0, 0), (0.25, 1), (0.5, 0.35), (0.75, 1), (1, 0)]],
    "letter X": [[(0, 0), (1, 1)], [(1, 0), (0, 1)]],
    "letter Y": [[(0, 0), (0.5, 0.5), (1, 0)], [(0.5, 0.5), (0.5, 1)]],
    "letter m": [[(0, 1), (0, 0.25), (0.1, 0.12), (0.25, 0.12), (0.38, 0.3), (0.4, 1), (0.42, 0.3), (0.55, 0.12),
                  (0.75, 0.12), (0.88, 0.3), (0.9, 1)]],
    "letter w": [[(0, 0.2), (0.2, 1), (0.45, 0.35), (0.55, 0.35), (0.8, 1), (1, 0.2)]],
    "letter k": [[(0.1, 0), (0.1, 1)], [(0.8, 0.35), (0.12, 0.7), (0.85, 1)]],
    # Shapes and marks.
    "square": [[(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)]],
    "triangle": [[(0.5, 0), (1, 1), (0, 1), (0.5, 0)]],
    "star": [[(0.5 + 0.5 * math.sin(4 * math.pi * i / 5), 0.5 - 0.5 * math.cos(4 * math.pi * i / 5)) for i in range(6)]],
    "plus": [[(0.5, 0), (0.5, 1)], [(0, 0.5), (1, 0.5)]],
    "hash": [[(0.35, 0), (0.3, 1)], [(0.7, 0), (0.65, 1)], [(0, 0.35), (1, 0.35)], [(0, 0.68), (1, 0.68)]],
    "arrow": [[(0, 0.5), (1, 0.5)], [(0.7, 0.2), (1, 0.5), (0.7, 0.8)]],
    "heart": [[(0.5, 1), (0.05, 0.45), (0.05, 0.2), (0.25, 0.02), (0.5, 0.25), (0.75, 0.02), (0.95, 0.2), (0.95, 0.45),
               (0.5, 1)]],
    "smiley": [_circle(0.5, 0.5, 0.5, n=36), [(0.33, 0.35)], [(0.67, 0.35)],
               [(0.28, 0.62), (0.4, 0.74), (0.5, 0.77), (0.6, 0.74), (0.72, 0.62)]],
    "crossed box": [[(0, 0), (1, 0), (1, 1), (0, 1), (0, 0), (1, 1)], [(1, 0), (0, 1)]],
    "dot": [[(0.5, 0.5)]],
    "two dots": [[(0.3, 0.5)], [(0.7, 0.5)]],
    "dash": [[(0, 0.5), (1, 0.5)]],
}

RANDOM = {"zigzag": _zigzag, "scribble": _scribble, "loops": _loops, "wave": _wave, "spiral": _spiral}


def kinds() -> list[str]:
    return [*RANDOM, *FIXED]


def non_digit_drawings(per_kind: int = 6, seed: int = 0, side: float = 280.0) -> list[tuple[str, list[Path]]]:
    """(kind, strokes in canvas coordinates) for `per_kind` drawings of each kind, placed at random."""
    rng = np.random.default_rng(seed)
    drawings = []
    for kind in kinds():
        for _ in range(per_kind):
            paths = RANDOM[kind](rng) if kind in RANDOM else FIXED[kind]
            size = rng.uniform(0.3, 0.85) * side
            aspect = rng.uniform(0.7, 1.3)
            width, height = size * min(1.0, aspect), size * min(1.0, 1 / aspect)
            left = rng.uniform(0.05 * side, 0.95 * side - width)
            top = rng.uniform(0.05 * side, 0.95 * side - height)
            angle = math.radians(rng.uniform(-10, 10))
            tremor = rng.uniform(0.0, 1.5)
            cos, sin = math.cos(angle), math.sin(angle)
            cx, cy = left + width / 2, top + height / 2
            strokes = []
            for path in paths:
                points = _densify(path, steps_per_unit=40)
                placed = []
                for x, y in points:
                    px, py = left + x * width - cx, top + y * height - cy
                    wobble = rng.normal(0, tremor, 2)
                    placed.append((cx + cos * px - sin * py + wobble[0], cy + sin * px + cos * py + wobble[1]))
                strokes.append([(min(side - 1, max(0.0, x)), min(side - 1, max(0.0, y))) for x, y in placed])
            drawings.append((kind, strokes))
    return drawings


def _densify(path: Path, steps_per_unit: int) -> Path:
    """Points along the path at about 1/steps_per_unit apart, as a mouse samples a stroke."""
    if len(path) == 1:
        return list(path)
    dense = [path[0]]
    for (x0, y0), (x1, y1) in zip(path, path[1:]):
        steps = max(1, int(math.hypot(x1 - x0, y1 - y0) * steps_per_unit))
        dense += [(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t) for t in np.linspace(0, 1, steps + 1)[1:]]
    return dense


def draw(canvas, strokes: list[Path]) -> None:
    """Draw the strokes on a DrawingCanvas (at its logical 280-px size) as a person's mouse would."""
    canvas.clear()
    for stroke in strokes:
        drag(canvas, stroke)
