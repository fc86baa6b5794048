"""How well a model reads digits from outside MNIST: fonts and sketchpad strokes (benchmarks/check_set.npz).

    python benchmarks/check_set.py [--model PATH] [--baseline PATH] [--data-dir DIR] [--check-set PATH] [--no-write]

The check set is made by scripts/make_check_set.py: digits rendered from 43 fonts and digits drawn
through the sketchpad's own canvas with scripted mouse strokes, each at varied size, position, slant
and stroke width, all put through `to_mnist`; and a second part, strokes in styles MNIST barely has
(1s with a flag and a base, hooked and crossed 7s, slashed 0s, open 4s, small 8s). This reports the
model's accuracy on it overall, per kind (font / stroke / added style), per digit, per style, per
size, stroke width, slant and stray dot, per source, and the confusion matrix, next to the same
model's accuracy on the MNIST test set where the data folder
(--data-dir, else $MNISTCONV_DATA, else the app's cache) has it. Writes the "check-set" section of
benchmarks/RESULTS.md (not with --no-write) and prints it. The model is the bundled one unless
--model names a checkpoint (mnist_conv.pt). Takes a few seconds on a CPU.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mnistconv.core.data import load_mnist, missing_files, pixels  # noqa: E402
from mnistconv.core.errors import DataError  # noqa: E402
from mnistconv.core.paths import resolve_data_dir  # noqa: E402
from mnistconv.core.predict import Predictor  # noqa: E402

from results_file import machine_description, write_section  # noqa: E402

CHECK_SET = Path(__file__).with_name("check_set.npz")
SIZES = ("tiny", "small", "medium", "large")
SLANTED = 7  # degrees of slant or rotation beyond which an item counts as slanted (as in the generator)
# Stroke width in the 20-px box before to_mnist adjusts it; to_mnist leaves 1.5–4.0 alone (MNIST: ~2–3).
WIDTH_BINS = [(0.0, 1.5, "< 1.5 (thin, thickened)"), (1.5, 2.5, "1.5–2.5"), (2.5, 4.0, "2.5–4"),
              (4.0, np.inf, "≥ 4 (thick, thinned)")]


def load_check_set(path: Path = CHECK_SET) -> dict[str, np.ndarray]:
    with np.load(path) as stored:
        data = {key: stored[key] for key in stored.files}
    data["source"] = data["source"].astype(str)
    data["kind"] = np.char.partition(data["source"], ":")[:, 0]
    if "style" in data:
        data["style"] = data["style"].astype(str)
    else:  # a check set from before the styles were recorded
        data["style"] = data["kind"].copy()
    return data


def predict(predictor: Predictor, images: np.ndarray, batch: int = 2000) -> np.ndarray:
    """Predicted classes for uint8 (N, 28, 28) images or float ones in [0, 1]."""
    images = images.astype(np.float32) / 255 if images.dtype == np.uint8 else images.astype(np.float32)
    return np.concatenate([predictor.predict(images[i : i + batch]).argmax(axis=1) for i in range(0, len(images), batch)])


def _cell(correct: np.ndarray) -> str:
    """'97.3 % (181/186)', or '–' for no items."""
    if correct.size == 0:
        return "–"
    return f"{100 * correct.mean():.1f} % ({int(correct.sum())}/{correct.size})"


def _table(header: list[str], rows: list[list[str]], align: str | None = None) -> list[str]:
    align = align or "l" + "r" * (len(header) - 1)
    marks = ["---" if a == "l" else "---:" for a in align]
    return ["| " + " | ".join(header) + " |", "|" + "|".join(marks) + "|"] + ["| " + " | ".join(r) + " |" for r in rows]


def report(predictor: Predictor, check: dict[str, np.ndarray], mnist: tuple[np.ndarray, np.ndarray] | None,
           mnist_note: str, command: str, baseline: Predictor | None = None) -> str:
    """The check-set section; with `baseline`, another model's figures beside the main tables'."""
    labels = check["labels"].astype(np.int64)
    predicted = predict(predictor, check["images"])
    right = predicted == labels
    before = predict(baseline, check["images"]) == labels if baseline is not None else None

    def cells(selection: np.ndarray) -> list[str]:
        """The model's cell, and the baseline's after it when there is one."""
        return [_cell(right[selection])] + ([_cell(before[selection])] if before is not None else [])

    was = [f"{baseline.describe()}"] if baseline is not None else []
    font, stroke, added = check["kind"] == "font", check["kind"] == "stroke", check["kind"] == "style"
    meta = json.loads(str(check["meta"])) if "meta" in check else {}
    if mnist is not None:
        mnist_labels = mnist[1]
        mnist_right = predict(predictor, mnist[0]) == mnist_labels
    seeds = (f" (seed {meta['seed']}" + (f", second part seed {meta['extra_seed']}" if "extra_seed" in meta else "")
             + f", Qt {meta['qt']})") if meta else ""
    lines = [
        "## Check set: digits from outside MNIST",
        "",
        f"`{command}` on {dt.date.today()}; machine: {machine_description()}.",
        "",
        f"Model: {predictor.describe()}. Check set: `benchmarks/check_set.npz`, {len(labels)} items "
        f"({int(font.sum())} rendered from {len(set(check['source'][font]))} fonts, {int(stroke.sum())} drawn with "
        f"scripted mouse strokes on the sketchpad's canvas, and a second part of {int(added.sum())} strokes drawn the same "
        f"way in {len(set(check['style'][added]))} styles MNIST barely has), made by `scripts/make_check_set.py`"
        + seeds + "; every item went through `to_mnist`."
        + (f" Beside it, as \"before\": {was[0]} (`--baseline`)." if was else ""),
        "",
    ]
    everything = np.ones_like(right)
    overall = [["check set, all", *cells(everything)], ["first part: fonts and strokes", *cells(font | stroke)],
               ["fonts", *cells(font)], ["strokes (sketchpad canvas)", *cells(stroke)],
               ["second part: strokes in styles MNIST barely has", *cells(added)]]
    if mnist is not None:
        mnist_before = [_cell(predict(baseline, mnist[0]) == mnist_labels)] if baseline is not None else []
        overall.insert(0, ["MNIST test set", _cell(mnist_right), *mnist_before])
    lines += _table(["set", "accuracy"] + (["before"] if was else []), overall)
    if mnist is None:
        lines += ["", mnist_note]
    lines += ["", "### Per digit", ""]
    header = (["digit"] + (["MNIST test"] if mnist is not None else []) + ["check set", "fonts", "strokes", "added styles"])
    if was:
        header += ["strokes before", "added styles before"]
    rows = []
    for digit in range(10):
        here = labels == digit
        row = [str(digit)] + ([_cell(mnist_right[mnist_labels == digit])] if mnist is not None else [])
        row += [_cell(right[here]), _cell(right[here & font]), _cell(right[here & stroke]), _cell(right[here & added])]
        if was:
            row += [_cell(before[here & stroke]), _cell(before[here & added])]
        rows.append(row)
    lines += _table(header, rows)

    lines += ["", "### By style (strokes drawn through the canvas)", "",
              "The first part's strokes come from two to four templates per digit; the second part's from templates "
              "of their own, in styles MNIST barely has (small 8s: tiny and small sizes only; slashed 0s: not tiny).", ""]
    rows = []
    for part, kind in (("first", stroke), ("second", added)):
        for style in sorted(set(check["style"][kind]), key=lambda s: (s[0], s)):
            here = kind & (check["style"] == style)
            wrong = np.bincount(predicted[here & ~right], minlength=10)
            misread = ", ".join(f"{p} ×{wrong[p]}" for p in np.argsort(-wrong, kind="stable")[:3] if wrong[p])
            rows.append([style, part, _cell(right[here]), misread or "–"] + ([_cell(before[here])] if was else []))
    lines += _table(["style", "part", "accuracy", "misread as"] + (["before"] if was else []), rows,
                    "llrl" + ("r" if was else ""))

    lines += ["", "### By size on the canvas", "",
              "Fonts: glyph height 20–45 px (tiny), 45–100, 100–180, 180–260 (large). Strokes: digit height 45–70, "
              "70–120, 120–190, 190–265 px with the canvas's fixed 18-px pen, so tiny strokes are thick and large ones "
              "thin (median stroke width in the 20-px box in brackets).", ""]
    rows = []
    for size in SIZES:
        here = check["size"] == size
        width = {k: float(np.median(check["stroke_px"][here & sel].astype(np.float32)))
                 for k, sel in (("f", font), ("s", stroke))}
        rows.append([size, f"{_cell(right[here & font])} [{width['f']:.1f} px]",
                     f"{_cell(right[here & stroke])} [{width['s']:.1f} px]", _cell(right[here & added])])
    lines += _table(["size", "fonts", "strokes", "added styles"], rows)

    lines += ["", "### By stroke width before `to_mnist` adjusts it (px, digit's longer side at 20 px)", ""]
    width = check["stroke_px"].astype(np.float32)
    rows = [[name, _cell(right[(width >= lo) & (width < hi) & font]), _cell(right[(width >= lo) & (width < hi) & stroke])]
            for lo, hi, name in WIDTH_BINS]
    lines += _table(["stroke width", "fonts", "strokes"], rows)

    slanted = np.maximum(np.abs(check["slant"].astype(int)), np.abs(check["rotation"].astype(int))) > SLANTED
    speck = check["speck"].astype(bool)
    lines += ["", "### Slant and stray dots", ""]
    rows = [
        ["upright: slant and rotation ≤ 7° (strokes: without a stray dot)", _cell(right[~slanted & font]),
         _cell(right[~slanted & stroke & ~speck])],
        ["slanted: slant or rotation > 7°, up to 15° / 10° (the same)", _cell(right[slanted & font]),
         _cell(right[slanted & stroke & ~speck])],
        ["with a stray click (one pen dot) away from the digit", "–", _cell(right[speck])],
    ]
    for size in SIZES:
        rows.append([f"… of them {size}", "–", _cell(right[speck & (check["size"] == size)])])
    lines += _table(["items", "fonts", "strokes"], rows)

    lines += ["", "### Stroke sources", ""]
    sources = sorted(set(check["source"][stroke]), key=lambda s: (SIZES.index(s.split(":")[1].split("-")[0]), s))
    lines += _table(["source", "accuracy"], [[f"`{s}`", _cell(right[check["source"] == s])] for s in sources])
    fonts = sorted(set(check["source"][font]), key=lambda s: (right[check["source"] == s].mean(), s))
    imperfect = [s for s in fonts if right[check["source"] == s].mean() < 1.0]
    worst = imperfect[:12]
    shown = f", the {len(worst)} worst shown" if len(worst) < len(imperfect) else ", worst first"
    lines += ["", f"### Fonts with a misreading: {len(imperfect)} of {len(fonts)}{shown}", ""]
    rows = []
    for s in worst:
        here = check["source"] == s
        misses = ", ".join(f"{t}→{p}" for t, p in zip(labels[here & ~right], predicted[here & ~right]))
        rows.append([f"`{s}`", _cell(right[here]), misses])
    lines += _table(["font", "accuracy", "misread (true→predicted)"], rows, "lrl")

    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    lines += ["", "### Confusion matrix (check set; rows: true digit, columns: predicted)", ""]
    lines += _table(["true \\ predicted"] + [str(d) for d in range(10)],
                    [[str(t)] + [str(confusion[t, p]) if confusion[t, p] else "·" for p in range(10)] for t in range(10)])
    off = [(int(confusion[t, p]), t, p) for t in range(10) for p in range(10) if t != p and confusion[t, p]]
    off.sort(key=lambda c: (-c[0], c[1], c[2]))
    def count(t: int, p: int, kind: np.ndarray) -> int:
        return int(((labels == t) & (predicted == p) & kind).sum())

    lines += ["", "Most frequent misreadings: " + "; ".join(
        f"{t}→{p}: {n} ({count(t, p, font)} font, {count(t, p, stroke)} stroke, {count(t, p, added)} added style)"
        for n, t, p in off[:8]) + "."]
    return "\n".join(lines)


def load_mnist_test(data_dir: Path) -> tuple[tuple[np.ndarray, np.ndarray] | None, str]:
    """The MNIST test images (float (N, 28, 28)) and labels, or None and why not."""
    try:
        if missing := missing_files(data_dir):
            return None, f"MNIST not found in {data_dir} ({', '.join(missing)} missing): no MNIST column; pass --data-dir."
        data = load_mnist(data_dir, "cpu")
    except DataError as exc:
        return None, f"MNIST unusable in {data_dir}: {exc}"
    return (pixels(data.test_images)[:, 0].numpy(), data.test_labels.numpy()), ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a checkpoint (mnist_conv.pt); default: the bundled model")
    parser.add_argument("--data-dir", help="folder with the MNIST files, for the MNIST test-set columns")
    parser.add_argument("--check-set", type=Path, default=CHECK_SET)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--baseline", type=Path, help="another checkpoint, whose figures are shown beside as \"before\"")
    parser.add_argument("--no-write", action="store_true", help="print only; leave benchmarks/RESULTS.md alone")
    args = parser.parse_args()
    predictor = Predictor.from_checkpoint(args.model, args.device) if args.model else Predictor.bundled(args.device)
    check = load_check_set(args.check_set)
    mnist, note = load_mnist_test(resolve_data_dir(args.data_dir))
    baseline = Predictor.from_checkpoint(args.baseline, args.device) if args.baseline else None
    command = ("python benchmarks/check_set.py" + (f" --model {args.model}" if args.model else "")
               + (f" --baseline {args.baseline}" if args.baseline else ""))
    text = report(predictor, check, mnist, note, command, baseline)
    if not args.no_write:
        write_section("check-set", text)
    print(text)


if __name__ == "__main__":
    main()
