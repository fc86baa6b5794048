"""Fitting the model to one person's handwriting: how much it helps, what it costs MNIST, how long it takes.

    python benchmarks/finetune.py [--per-digit 5 10 20 30] [--data-dir DIR] [--device cpu] [--no-write]

The "person" is tests/odd_hand.py's scripted hand (outlined digits, a 1 with base and flag, a
crossed 7 and z-like 2 …), drawn on a 280×280 canvas with the app's pen at random size and place,
a style the bundled model reads poorly. For each personal-set size (N drawings of each digit) the
bundled model is fitted with the window's default settings (core.finetune.FinetuneSettings),
exactly as "Fit to my handwriting" does, folds and all, and measured: accuracy on the held-out
part of the personal digits (cross-validated) before and after, on 200 new drawings of that hand
(another seed, never fitted) before and after, MNIST test accuracy before and after, whether the
fit was kept, and the wall time of the whole fit. Writes the "finetune" section of
benchmarks/RESULTS.md (not with --no-write). Needs the MNIST files; a few minutes on two cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

import numpy as np  # noqa: E402
from odd_hand import drawings  # noqa: E402

from mnistconv.core import allocator, events  # noqa: E402
from mnistconv.core.finetune import FinetuneSettings, finetune_session  # noqa: E402
from mnistconv.core.paths import resolve_data_dir  # noqa: E402
from mnistconv.core.personal import PersonalDigits  # noqa: E402
from mnistconv.core.predict import Predictor  # noqa: E402
from mnistconv.core.preprocess import to_mnist  # noqa: E402
from mnistconv.core.session import DataCache  # noqa: E402

from results_file import machine_description, write_section  # noqa: E402

NEW_DRAWINGS_SEED = 1000


def reads(predictor: Predictor, images: np.ndarray, labels: np.ndarray) -> float:
    return float((np.asarray(predictor.predict(images)).argmax(axis=1) == labels).mean())


def fit(per_digit: int, data_dir: Path, settings: FinetuneSettings, cache: DataCache, new_images, new_labels) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        digits = PersonalDigits(Path(folder) / "digits")
        for picture, label in zip(*drawings(per_digit, seed=per_digit), strict=True):
            digits.add(picture, label)
        started = time.perf_counter()
        result = None
        for event in finetune_session(digits.root, data_dir, settings=settings, cache=cache,
                                      savepath=Path(folder) / "fitted"):
            if isinstance(event, events.FinetuneFinished):
                result = event
        seconds = time.perf_counter() - started
        fitted = reads(Predictor.from_checkpoint(result.checkpoint, device="cpu"), new_images, new_labels) \
            if result.checkpoint is not None else None
    return {"digits": result.digits, "seconds": seconds, "result": result, "new_after": fitted}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-digit", type=int, nargs="+", default=[5, 10, 20, 30])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)

    allocator.keep_freed_memory()  # as the app's entry points do
    data_dir = resolve_data_dir(args.data_dir)
    settings = FinetuneSettings(device=args.device)
    pictures, labels = drawings(20, seed=NEW_DRAWINGS_SEED)
    new_images = np.stack([to_mnist(picture) for picture in pictures]).astype(np.float32)
    new_labels = np.asarray(labels)
    bundled = Predictor.bundled(device="cpu")
    new_before = reads(bundled, new_images, new_labels)
    cache = DataCache()

    rows = []
    for per_digit in args.per_digit:
        row = fit(per_digit, data_dir, settings, cache, new_images, new_labels)
        r = row["result"]
        held = "–" if r.held_out_after is None else f"{100 * r.held_out_after:.1f} %"
        after = "not kept" if row["new_after"] is None else f"{100 * row['new_after']:.1f} %"
        rows.append(
            f"| {r.digits} ({per_digit} × 10) | {100 * r.before_personal:.1f} % | {held} ({r.held_out_digits}) | "
            f"{100 * new_before:.1f} % → {after} | {100 * r.before_mnist:.2f} % → {100 * r.after_mnist:.2f} % | "
            f"{'kept' if r.accepted else 'refused'} | {row['seconds']:.1f} s |")
        print(rows[-1], flush=True)

    body = "\n".join([
        "## Fitting to your handwriting (`benchmarks/finetune.py`)",
        "",
        f"{dt.date.today()}, {machine_description()}, device {args.device}. The bundled model fitted with the window's "
        f"defaults ({settings.steps} steps per stage, batch {settings.batch_size}, "
        f"1/{round(1 / settings.personal_share)} of each batch from the personal "
        f"digits with the robust preset's augmentation, lr {settings.lr:g}, label smoothing {settings.label_smoothing}) "
        "to a scripted hand it reads poorly (tests/odd_hand.py). *Held out*: the personal digits each fold did not see "
        "(5 folds under 100 digits, one fifth from 100). *New drawings*: 200 more of that hand, never fitted. The time "
        "is the whole fit, folds and both MNIST evaluations included.",
        "",
        "| personal digits | read before | held out, after (digits) | new drawings | MNIST test | model | time |",
        "|---|---|---|---|---|---|---|",
        *rows,
    ])
    print(body)
    if not args.no_write:
        write_section("finetune", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
