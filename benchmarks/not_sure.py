"""How well the sketchpad's "not sure" flag tells non-digits from digits (core/plausibility.py).

    QT_QPA_PLATFORM=offscreen python benchmarks/not_sure.py [--per-kind 20] [--seed 2] [--data-dir DIR] [--no-write]

Non-digits: scribbles, letters and shapes (tests/non_digits.py) drawn through a real DrawingCanvas
with raw mouse strokes, then `to_mnist`, as the sketchpad reads them. Digits: the project's check
set (benchmarks/check_set.npz; its even-numbered items set the threshold, so the odd-numbered ones
are the held-out measure) and, where the MNIST files are found, the MNIST test set put through
`to_mnist` as a drawing is. Each is flagged by the new rule and, for comparison, by the old one (a
top probability under 60 %). Also the cost of one judgement and of a whole reading. The model is
the bundled one unless --model names a checkpoint. Writes the "not-sure" section of
benchmarks/RESULTS.md (not with --no-write) and prints it. Takes about a minute.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

import numpy as np  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from mnistconv.core.data import load_mnist, missing_files, pixels  # noqa: E402
from mnistconv.core.errors import DataError  # noqa: E402
from mnistconv.core.paths import resolve_data_dir  # noqa: E402
from mnistconv.core.plausibility import Doubt, bundled_statistics, judge  # noqa: E402
from mnistconv.core.predict import Predictor  # noqa: E402
from mnistconv.core.preprocess import to_mnist  # noqa: E402
from mnistconv.gui.drawing_canvas import DrawingCanvas  # noqa: E402

from non_digits import draw, kinds, non_digit_drawings  # noqa: E402
from real_writers import validation_set  # noqa: E402
from results_file import machine_description, write_section  # noqa: E402

CHECK_SET = HERE / "check_set.npz"
OLD_RULE = 0.6


def judged(predictor: Predictor, images: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[Doubt]]:
    """(flagged, flagged by the old rule, doubts) for float (N, 28, 28) images."""
    probabilities = np.concatenate([predictor.predict(images[i : i + 2000]) for i in range(0, len(images), 2000)])
    verdicts = [judge(image, p) for image, p in zip(images, probabilities)]
    return (np.array([v.not_a_digit for v in verdicts]), probabilities.max(axis=1) < OLD_RULE, [v.doubt for v in verdicts])


def share(flags: np.ndarray) -> str:
    return f"{100 * flags.mean():.1f} % ({int(flags.sum())}/{flags.size})"


def median_ms(work, repeats: int = 300) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=20)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--model", type=Path, help="a checkpoint (mnist_conv.pt); default: the bundled model")
    parser.add_argument("--data-dir", help="the MNIST folder, for the MNIST test-set row")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])  # noqa: F841 - the canvas needs one
    predictor = Predictor.from_checkpoint(args.model, "cpu") if args.model else Predictor.bundled("cpu")

    canvas = DrawingCanvas()
    drawings = non_digit_drawings(per_kind=args.per_kind, seed=args.seed)
    images = []
    for _, strokes in drawings:
        draw(canvas, strokes)
        images.append(to_mnist(canvas.ink()))
    images = np.array(images)
    names = np.array([kind for kind, _ in drawings])
    flagged, old, doubts = judged(predictor, images)

    with np.load(CHECK_SET) as stored:
        check, sources = stored["images"].astype(np.float32) / 255, stored["source"].astype(str)
    check_flagged, check_old, _ = judged(predictor, check)
    font = np.char.startswith(sources, "font:")
    held_out = np.arange(len(check)) % 2 == 1

    mnist_row, mnist_note = None, ""
    data_dir = resolve_data_dir(args.data_dir)
    try:
        if missing := missing_files(data_dir):
            mnist_note = f"MNIST not found in {data_dir} ({', '.join(missing)} missing): no MNIST row."
        else:
            test = pixels(load_mnist(data_dir, "cpu").test_images)[:, 0].numpy()
            drawn = np.stack([to_mnist(image) for image in test])
            mnist_flagged, mnist_old, _ = judged(predictor, drawn)
            mnist_row = ["MNIST test set, through `to_mnist`", share(mnist_flagged), share(mnist_old)]
    except DataError as exc:
        mnist_note = f"MNIST unusable in {data_dir}: {exc}"

    # Real people's digits: the validation writers of core.handwriting, never trained on nor calibrated on.
    real = validation_set()
    readable = real["readable"]
    real_flagged, real_old, _ = judged(predictor, real["pen"][readable])
    hands = real["hands"][:, readable].reshape(-1, 28, 28)
    hands_flagged, hands_old, _ = judged(predictor, hands)

    # Cost: a judgement alone, and a whole reading (ink → to_mnist → predict → judge) with and without it.
    bundled_statistics()
    draw(canvas, drawings[0][1])
    ink = canvas.ink()
    sample = to_mnist(ink)
    p = predictor.predict(sample)[0]
    judge_ms = median_ms(lambda: judge(sample, p))
    reading_ms = median_ms(lambda: predictor.predict(to_mnist(ink)))
    def reading_judged() -> None:
        image = to_mnist(ink)
        judge(image, predictor.predict(image)[0])

    judged_ms = median_ms(reading_judged)

    command = "python benchmarks/not_sure.py" + (f" --model {args.model}" if args.model else "")
    statistics = bundled_statistics()
    lines = [
        "## Not sure: is it a digit at all?",
        "",
        f"`{command}` on {dt.date.today()}; machine: {machine_description()}.",
        "",
        f"Model: {predictor.describe()}. The flag (core/plausibility.py): unlike every MNIST style ({statistics.components} "
        f"PPCA components, threshold {statistics.threshold:.1f}), a blob, or a flat line. The old flag: a top probability "
        f"under {100 * OLD_RULE:.0f} %. Non-digits: {len(drawings)} drawings ({args.per_kind} of each of {len(kinds())} kinds, "
        f"seed {args.seed}) of `tests/non_digits.py`, drawn through the canvas with raw mouse strokes.",
        "",
        "| set | flagged now | flagged by the old rule |",
        "|---|---:|---:|",
        f"| **non-digits: scribbles, letters, shapes** | **{share(flagged)}** | {share(old)} |",
        f"| **check-set digits, all** | **{share(check_flagged)}** | {share(check_old)} |",
        f"| check-set digits, odd-numbered (held out from the threshold) | {share(check_flagged[held_out])} | "
        f"{share(check_old[held_out])} |",
        "| check-set digits, even-numbered (their 98th percentile is one bound of the threshold) | "
        f"{share(check_flagged[~held_out])} | "
        f"{share(check_old[~held_out])} |",
        f"| check-set digits from fonts | {share(check_flagged[font])} | {share(check_old[font])} |",
        f"| check-set digits drawn on the canvas | {share(check_flagged[~font])} | {share(check_old[~font])} |",
        f"| **real writers' digits (validation writers, readable; the sketchpad's pen)** | **{share(real_flagged)}** | "
        f"{share(real_old)} |",
        f"| the same with four random hands each (sizes, pens, mouse, jitter) | {share(hands_flagged)} | {share(hands_old)} |",
    ]
    if mnist_row is not None:
        lines.append("| " + " | ".join(mnist_row) + " |")
    if mnist_note:
        lines += ["", mnist_note]
    lines += ["", f"Cost: a judgement {judge_ms:.3f} ms (median); a reading's `to_mnist` and prediction {reading_ms:.2f} ms, "
              f"with the judgement {judged_ms:.2f} ms. The sketchpad judges a reading once the pen is up, not mid-stroke.",
              "", "### Non-digits by kind", "", "| kind | flagged now | old rule | why, mostly |", "|---|---:|---:|---|"]
    for kind in kinds():
        here = names == kind
        reasons = [d.value for d, h in zip(doubts, here) if h and d is not Doubt.NONE]
        usual = max(set(reasons), key=reasons.count) if reasons else "–"
        lines.append(f"| {kind} | {share(flagged[here])} | {share(old[here])} | {usual} |")
    text = "\n".join(lines)
    if not args.no_write:
        write_section("not-sure", text)
    print(text)


if __name__ == "__main__":
    main()
