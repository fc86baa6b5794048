"""Fitting to a real hand: does a fit on half of a writer's digits fix that writer's errors on the other half?

    python benchmarks/fit_writers.py [--model PATH] [--writers NAME ...] [--worst 3] [--data-dir DIR] [--no-write]

The writers are validation writers of resources/unipen (core.handwriting.writer_split): the bundled
model never trained on them. Unless --writers names some, the `--worst` writers with at least
MIN_DIGITS readable digits that the model reads worst are taken. Each writer's readable digits are
drawn on the canvas with the sketchpad's pen (core.handwriting.render) and split in two halves, each
digit class spread over both. Each half in turn is kept as personal digits and the model is fitted
to it exactly as `mnistconv-finetune` fits (core.finetune.finetune_session, the default settings,
folds and all); the fitted model then reads the other half, which it never saw. Errors before are the
model's errors on all the writer's digits; errors after are each fit's errors on the half it did not
see. A refused fit (MNIST test accuracy down by more than core.finetune.MAX_MNIST_DROP) counts as the
unfitted model. Writes the "fit-writers" section of benchmarks/RESULTS.md (not with --no-write).
Needs the MNIST files; a few minutes on two cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mnistconv.core import allocator, events  # noqa: E402
from mnistconv.core.finetune import FinetuneSettings, finetune_session  # noqa: E402
from mnistconv.core.handwriting import load_unipen, random_hand, readable_rows, render, writer_split  # noqa: E402
from mnistconv.core.paths import resolve_data_dir  # noqa: E402
from mnistconv.core.personal import PersonalDigits  # noqa: E402
from mnistconv.core.predict import Predictor  # noqa: E402
from mnistconv.core.preprocess import to_mnist  # noqa: E402
from mnistconv.core.session import DataCache  # noqa: E402

from results_file import machine_description, write_section  # noqa: E402

MIN_DIGITS = 20
RANDOM_HANDS = 4  # each digit drawn again with random hands, as benchmarks/real_writers.py does
HANDS_SEED = 2026


def halves(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two halves of the positions 0..len-1, each digit class alternating between them."""
    first = np.concatenate([np.flatnonzero(labels == digit)[0::2] for digit in range(10)])
    return np.sort(first), np.setdiff1d(np.arange(len(labels)), first)


def writer_rows(digits, rows: np.ndarray) -> dict[str, np.ndarray]:
    by_writer: dict[str, list[int]] = {}
    for row in rows.tolist():
        by_writer.setdefault(digits.writer_of(row), []).append(row)
    return {name: np.asarray(found) for name, found in by_writer.items()}


def errors(predictor: Predictor, images: np.ndarray, labels: np.ndarray) -> int:
    """Misread images: (N, 28, 28) with (N,) labels, or (K, N, 28, 28) renderings with the same labels."""
    read = np.asarray(predictor.predict(images.reshape(-1, 28, 28))).argmax(axis=1).reshape(images.shape[:-2])
    return int((read != labels).sum())


def fit_half(model: Path | None, canvases, labels, data_dir: Path, cache: DataCache, settings: FinetuneSettings):
    """Fit the model to these drawings as mnistconv-finetune does: the FinetuneFinished event, and the
    fitted predictor (None when the fit was refused)."""
    with tempfile.TemporaryDirectory() as folder:
        personal = PersonalDigits(Path(folder) / "digits")
        for canvas, label in zip(canvases, labels, strict=True):
            personal.add(canvas, int(label))
        finished = None
        for event in finetune_session(personal.root, data_dir, base=model, settings=settings, cache=cache,
                                      savepath=Path(folder) / "fitted"):
            if isinstance(event, events.FinetuneFinished):
                finished = event
        fitted = Predictor.from_checkpoint(finished.checkpoint, device="cpu") if finished.checkpoint else None
    return finished, fitted


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="a checkpoint (default: the bundled model)")
    parser.add_argument("--writers", nargs="+", default=None)
    parser.add_argument("--worst", type=int, default=3)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-write", action="store_true")
    defaults = FinetuneSettings()
    parser.add_argument("--steps", type=int, default=defaults.steps, help="to try other settings than the defaults")
    parser.add_argument("--personal-share", type=float, default=defaults.personal_share)
    parser.add_argument("--lr", type=float, default=defaults.lr)
    args = parser.parse_args(argv)

    allocator.keep_freed_memory()  # as the app's entry points do
    data_dir = resolve_data_dir(args.data_dir)
    settings = FinetuneSettings(device=args.device, steps=args.steps, personal_share=args.personal_share, lr=args.lr)
    base = Predictor.from_checkpoint(args.model, device="cpu") if args.model else Predictor.bundled(device="cpu")
    digits = load_unipen()
    _, validation = writer_split(digits)
    candidates = {name: rows for name, rows in writer_rows(digits, readable_rows(digits, validation)).items()
                  if len(rows) >= MIN_DIGITS or (args.writers and name in args.writers)}
    drawn = {name: np.stack([render(digits.strokes(int(row))) for row in rows]) for name, rows in candidates.items()}
    inputs = {name: np.stack([to_mnist(canvas) for canvas in canvases]) for name, canvases in drawn.items()}
    rng = np.random.default_rng(HANDS_SEED)
    hands = {name: np.stack([np.stack([to_mnist(render(digits.strokes(int(row)), random_hand(rng))) for row in rows])
                             for _ in range(RANDOM_HANDS)]) for name, rows in sorted(candidates.items())}
    labels = {name: digits.labels[rows].astype(np.int64) for name, rows in candidates.items()}
    read = {name: 1 - errors(base, inputs[name], labels[name]) / len(labels[name]) for name in candidates}
    read_hands = {name: 1 - errors(base, hands[name], labels[name]) / hands[name].shape[0] / len(labels[name])
                  for name in candidates}
    if args.writers:
        unknown = sorted(set(args.writers) - set(candidates))
        if unknown:
            raise SystemExit(f"not validation writers: {', '.join(unknown)}")
        chosen = args.writers
    else:
        chosen = sorted(candidates, key=lambda name: (read[name] + read_hands[name], -len(labels[name])))[: args.worst]

    cache = DataCache()
    rows, mnist_after = [], []
    totals = {"pen before": 0, "pen after": 0, "hands before": 0, "hands after": 0}
    for name in chosen:
        started = time.perf_counter()
        count = len(labels[name])
        before, before_hands = errors(base, inputs[name], labels[name]), errors(base, hands[name], labels[name])
        after = after_hands = 0
        kept = []
        first, second = halves(labels[name])
        for fitted_half, unseen in ((first, second), (second, first)):
            finished, fitted = fit_half(args.model, drawn[name][fitted_half], labels[name][fitted_half], data_dir, cache,
                                        settings)
            reader = fitted if fitted is not None else base
            after += errors(reader, inputs[name][unseen], labels[name][unseen])
            after_hands += errors(reader, hands[name][:, unseen], labels[name][unseen])
            kept.append(finished.accepted)
            mnist_after.append(finished.after_mnist)
            before_mnist = finished.before_mnist
        for key, value in (("pen before", before), ("pen after", after), ("hands before", before_hands),
                           ("hands after", after_hands)):
            totals[key] += value
        rows.append(f"| {name} | {count} | {before} → {after} | {before_hands} → {after_hands} (of {RANDOM_HANDS * count}) | "
                    f"{sum(kept)} of 2 | {', '.join(f'{100 * a:.2f} %' for a in mnist_after[-2:])} | "
                    f"{time.perf_counter() - started:.0f} s |")
        print(rows[-1], flush=True)

    def removed(kind: str) -> str:
        before, after = totals[f"{kind} before"], totals[f"{kind} after"]
        return f"{before} errors before, {after} after" + (f" ({100 * (1 - after / before):.0f} % removed)" if before else "")

    body = "\n".join([
        "## Fitting to a real writer (`benchmarks/fit_writers.py`)",
        "",
        f"{dt.date.today()}, {machine_description()}, device {args.device}, model "
        f"{args.model or 'the bundled model'} (MNIST test {100 * before_mnist:.2f} %). Validation writers of the real "
        "handwriting (never trained on), each fitted twice as `mnistconv-finetune` fits "
        f"({settings.steps} steps per stage, 1/{round(1 / settings.personal_share)} of each batch personal digits, "
        f"lr {settings.lr:g}{'' if settings == FinetuneSettings(device=args.device) else '; not the defaults'}): "
        "on one half of the writer's digits, read on the other half, and the other way round. "
        "Errors after: both fits' errors on the halves they did not see. Each digit is read as drawn with the "
        f"sketchpad's pen and again with {RANDOM_HANDS} random hands (sizes, pens, mouse, jitter); the fits learn from "
        "the pen drawings.",
        "",
        "| writer | digits | pen errors, before → after | random-hand errors, before → after | fits kept | "
        "MNIST test after each fit | time |",
        "|---|---:|---:|---:|---|---|---:|",
        *rows,
        "",
        f"All together: pen, {removed('pen')}; random hands, {removed('hands')}. MNIST test after the fits "
        f"{100 * min(mnist_after):.2f}–{100 * max(mnist_after):.2f} %.",
    ])
    print(body)
    if not args.no_write:
        write_section("fit-writers", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
