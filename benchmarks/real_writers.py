"""How well a model reads real people's digits: the validation writers of the UNIPEN set, never trained on.

    python benchmarks/real_writers.py [--model PATH] [--baseline PATH] [--data-dir DIR] [--no-write]

The writers in resources/unipen are split by writer (core.handwriting.writer_split): a model trained
for the project learns from one side only, and this measures it on the other. Each validation digit
is drawn on the 280×280 canvas and put through `to_mnist`, then read with `Predictor.predict`, as the
sketchpad reads a drawing:

- as a pen on a tablet draws it (the digit 170 px high in the middle of the canvas, the sketchpad's
  18-px pen): the headline;
- with four random hands each (core.handwriting.random_hand: sizes 60–250 px, off centre, pens
  10–26 px, half of them a fast mouse with sparse points, some with jitter or a canvas that dots
  each mouse position), fixed by seed, so every model meets the same drawings.

Figures are given on the readable digits (a fragment, or the pri writers' single points and lone
strokes, cannot be read by anyone: core.handwriting.readable) and on all of them; per digit, per
style (how many strokes the writer drew it in), for the ten worst-read writers, and the most
frequent confusions; next to the MNIST test set and the project's check set. Writes the
"real-writers" section of benchmarks/RESULTS.md (not with --no-write). The model is the bundled one
unless --model names a checkpoint; --baseline adds a second model's column.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mnistconv.core.data import load_mnist, missing_files, pixels  # noqa: E402
from mnistconv.core.handwriting import Hand, load_unipen, random_hand, readable, render, writer_split  # noqa: E402
from mnistconv.core.paths import resolve_data_dir  # noqa: E402
from mnistconv.core.predict import Predictor  # noqa: E402
from mnistconv.core.preprocess import to_mnist  # noqa: E402

from call_times import call_times_ms  # noqa: E402
from check_set import load_check_set  # noqa: E402
from results_file import machine_description, write_section  # noqa: E402

RANDOM_HANDS = 4  # renderings of each validation digit with random hands
HANDS_SEED = 2026


def validation_set(digits=None) -> dict[str, np.ndarray]:
    """The validation writers' digits, drawn: 'pen' (N, 28, 28), 'hands' (RANDOM_HANDS, N, 28, 28),
    with their labels, writers, stroke counts and readability."""
    digits = digits if digits is not None else load_unipen()
    _, rows = writer_split(digits)
    rng = np.random.default_rng(HANDS_SEED)
    strokes = [digits.strokes(int(row)) for row in rows]
    pen = np.stack([to_mnist(render(s, Hand())) for s in strokes])
    hands = np.stack([np.stack([to_mnist(render(s, random_hand(rng))) for s in strokes]) for _ in range(RANDOM_HANDS)])
    return {
        "pen": pen, "hands": hands, "labels": digits.labels[rows].astype(np.int64), "rows": rows,
        "writers": np.array([digits.writer_of(int(row)) for row in rows]),
        "strokes": np.array([len(s) for s in strokes]),
        "readable": np.array([readable(digits, int(row)) for row in rows]),
    }


def predict(predictor: Predictor, images: np.ndarray, batch: int = 2000) -> np.ndarray:
    return np.concatenate([predictor.predict(images[i : i + batch]).argmax(axis=1) for i in range(0, len(images), batch)])


def measure(predictor: Predictor, data: dict[str, np.ndarray], mnist=None, check=None) -> dict:
    labels, keep = data["labels"], data["readable"]
    pen = predict(predictor, data["pen"])
    hands = np.stack([predict(predictor, images) for images in data["hands"]])
    right_pen, right_hands = pen == labels, hands == labels
    result = {
        "pen_readable": float(right_pen[keep].mean()), "pen_all": float(right_pen.mean()),
        "hands_readable": float(right_hands[:, keep].mean()), "hands_all": float(right_hands.mean()),
        "readable": int(keep.sum()), "all": len(labels), "writers": len(set(data["writers"])),
        "per_digit": {d: float(right_pen[keep & (labels == d)].mean()) for d in range(10)},
        "per_digit_hands": {d: float(right_hands[:, keep & (labels == d)].mean()) for d in range(10)},
    }
    styles = {}
    for digit in range(10):
        for count, name in ((1, "one stroke"), (2, "two strokes"), (3, "three or more")):
            chosen = keep & (labels == digit) & (np.minimum(data["strokes"], 3) == count)
            if chosen.sum() >= 5:
                styles[f"{digit}, {name}"] = (float(right_pen[chosen].mean()), float(right_hands[:, chosen].mean()),
                                              int(chosen.sum()))
    result["styles"] = styles
    writers = []
    for writer in sorted(set(data["writers"][keep])):
        chosen = keep & (data["writers"] == writer)
        writers.append((writer, int(chosen.sum()), float(right_pen[chosen].mean()), float(right_hands[:, chosen].mean())))
    result["worst_writers"] = sorted(writers, key=lambda w: (w[3] + w[2], -w[1]))[:10]
    confusions = Counter((int(t), int(p)) for t, p in zip(np.tile(labels[keep], len(hands)), hands[:, keep].reshape(-1))
                         if t != p)
    confusions.update((int(t), int(p)) for t, p in zip(labels[keep], pen[keep]) if t != p)
    result["confusions"] = confusions.most_common(8)
    if mnist is not None:
        result["mnist"] = float((predict(predictor, mnist[0]) == mnist[1]).mean())
    # What a sketchpad reading costs with this model: one drawing's prediction (deskewing included).
    one = data["pen"][:1]
    result["predict_ms"] = float(np.median(call_times_ms(lambda: predictor.predict(one), repeats=500, warmup=50)))
    if check is not None:
        result["check_set"] = float((predict(predictor, check["images"].astype(np.float32) / 255) == check["labels"]).mean())
    return result


def report(result: dict, name: str, baseline: dict | None = None, baseline_name: str = "") -> str:
    def pct(value: float | None) -> str:
        return "—" if value is None else f"{100 * value:.2f} %"

    def row(label: str, key: str) -> str:
        cells = [pct(result.get(key))] + ([pct(baseline.get(key))] if baseline else [])
        return f"| {label} | " + " | ".join(cells) + " |"

    columns = f"| | {name} |" + (f" {baseline_name} |" if baseline else "")
    rule = "|---|---:|" + ("---:|" if baseline else "")
    lines = [
        f"Validation: {result['readable']:,} readable digits of {result['writers']} writers never trained on "
        f"({result['all']:,} with the unreadable ones).", "",
        columns, rule,
        row("**real pen-drawn digits, readable** (the headline)", "pen_readable"),
        row("the same with four random hands each (sizes, pens, mouse, jitter)", "hands_readable"),
        row("all validation digits, fragments included (pen)", "pen_all"),
        row("MNIST test set", "mnist"),
        row("the project's check set (fonts and scripted strokes)", "check_set"),
        f"| one drawing's prediction, median of 500 | {result['predict_ms']:.3f} ms |"
        + (f" {baseline['predict_ms']:.3f} ms |" if baseline else ""),
        "",
        "Per digit (readable; pen / random hands): " + ", ".join(
            f"{d}: {100 * result['per_digit'][d]:.1f} / {100 * result['per_digit_hands'][d]:.1f} %" for d in range(10)) + ".",
        "",
        "| style (strokes the writer drew it in) | digits | pen | random hands |", "|---|---:|---:|---:|",
    ]
    lines += [f"| {style} | {n} | {100 * pen:.1f} % | {100 * hands:.1f} % |"
              for style, (pen, hands, n) in sorted(result["styles"].items())]
    lines += ["", "Worst-read writers: " + "; ".join(
        f"{w} ({n} digits: pen {100 * p:.0f} %, random hands {100 * h:.0f} %)" for w, n, p, h in result["worst_writers"]) + ".",
        "", "Most frequent confusions (true → read, over the pen and random-hand readings): " + ", ".join(
            f"{t} → {p} ({n})" for (t, p), n in result["confusions"]) + "."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--baseline", type=Path, default=None)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    data = validation_set()
    folder = resolve_data_dir(args.data_dir)
    mnist = None
    if not missing_files(folder):
        loaded = load_mnist(folder, "cpu")
        mnist = (pixels(loaded.test_images)[:, 0].numpy(), loaded.test_labels.numpy())
    check = load_check_set()
    predictor = Predictor.from_checkpoint(args.model, "cpu") if args.model else Predictor.bundled("cpu")
    result = measure(predictor, data, mnist, check)
    baseline = None
    if args.baseline:
        baseline = measure(Predictor.from_checkpoint(args.baseline, "cpu"), data, mnist, check)
    name = str(args.model) if args.model else "bundled model"
    body = (f"## Real handwriting: writers never trained on (benchmarks/real_writers.py)\n\n"
            f"{dt.date.today():%Y-%m-%d}, {machine_description()}.\n\n"
            + report(result, name, baseline, str(args.baseline) if args.baseline else ""))
    print(body)
    print(json.dumps({k: v for k, v in result.items() if k not in ("styles", "worst_writers", "confusions")}))
    if not args.no_write:
        write_section("real-writers", body)


if __name__ == "__main__":
    main()
