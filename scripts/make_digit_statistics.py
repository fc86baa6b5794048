"""Regenerate resources/digit_statistics.npz: what digits look like, as the "not sure" check sees them.

    python scripts/make_digit_statistics.py [--data-dir DIR] [--styles 8] [--directions 15] [--real 20000]
                                            [--sketched 400] [--seed 0]

Every MNIST training digit is put through `to_mnist`, as a drawing is, and so are `--real` renderings
of the real training writers' digits (core.handwriting.handwriting_bank: random hands, as the robust
preset trains on; the validation writers are left out, for benchmarks/not_sure.py to measure on),
and `--sketched` digits of each of core.synth's pen styles (a slashed 0, an open 4, a crossed 7, …:
styles people draw on the sketchpad that MNIST's writers barely used, so that they are not
flagged as unlike any digit).
Each digit's are split into `--styles` clusters (k-means, seeded), and each cluster is fitted with
probabilistic PCA: its mean, its `--directions` principal directions with their variances, and the
mean variance left over (Tipping & Bishop). core/plausibility.py scores a reading by its negative
log-likelihood under the best-fitting cluster. The threshold stored with them is the higher of two
98th percentiles of that score: on the even-numbered items of benchmarks/check_set.npz, and on the
training writers' readable digits drawn with the sketchpad's pen; benchmarks/not_sure.py measures
on the others.
Takes a few minutes on one core (most of it `to_mnist` on 60,000 digits and the renderings).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

import numpy as np

from mnistconv.core.data import load_mnist, pixels
from mnistconv.core.handwriting import handwriting_bank, load_unipen, readable_rows, render, writer_split
from mnistconv.core.paths import resolve_data_dir
from mnistconv.core.plausibility import DigitStatistics
from mnistconv.core.preprocess import to_mnist
from mnistconv.core.synth import STYLES, stroke_digit

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "resources" / "digit_statistics.npz"
CHECK_SET = ROOT / "benchmarks" / "check_set.npz"
THRESHOLD_PERCENTILE = 98.0


def styles_of(digits: np.ndarray, count: int, rng: np.random.Generator, rounds: int = 25) -> np.ndarray:
    """k-means cluster of each row (count clusters, seeded start among the rows)."""
    centres = digits[rng.choice(len(digits), count, replace=False)]
    for _ in range(rounds):
        assigned = (-2.0 * digits @ centres.T + (centres**2).sum(axis=1)).argmin(axis=1)
        centres = np.stack([digits[assigned == j].mean(axis=0) for j in range(count)])
    return assigned


def threshold_of(statistics: DigitStatistics, *digit_sets: np.ndarray) -> float:
    """The score above which a reading is unlike any digit: the highest of each set's
    THRESHOLD_PERCENTILE, so that no kind of real digit is flagged more often than that allows
    (one percentile over the sets together let the best-modelled set pull it down for the others)."""
    return max(float(np.percentile([statistics.unlikeness(image) for image in digits], THRESHOLD_PERCENTILE))
               for digits in digit_sets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="the MNIST folder (default: as mnistconv-train finds it)")
    parser.add_argument("--styles", type=int, default=8, help="clusters per digit")
    parser.add_argument("--directions", type=int, default=15, help="principal directions per cluster")
    parser.add_argument("--real", type=int, default=20_000, help="renderings of the real training writers' digits")
    parser.add_argument("--sketched", type=int, default=400, help="digits of each core.synth pen style")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    data = load_mnist(resolve_data_dir(args.data_dir), "cpu")
    images, labels = pixels(data.train_images)[:, 0].numpy(), data.train_labels.numpy()
    drawn = np.stack([to_mnist(image) for image in images]).reshape(len(images), -1).astype(np.float64)
    if args.real > 0:
        real_images, real_labels = handwriting_bank(args.real, args.seed)  # already through to_mnist
        drawn = np.concatenate([drawn, real_images.reshape(len(real_images), -1).astype(np.float64) / 255])
        labels = np.concatenate([labels, real_labels])
    if args.sketched > 0:
        sketch_rng = np.random.default_rng([args.seed, 1])
        sketched = [(to_mnist(stroke_digit(sketch_rng, style)), digit) for style, (digit, _) in STYLES.items()
                    for _ in range(args.sketched)]
        drawn = np.concatenate([drawn, np.stack([image for image, _ in sketched]).reshape(len(sketched), -1)])
        labels = np.concatenate([labels, np.array([digit for _, digit in sketched], dtype=labels.dtype)])
    rng = np.random.default_rng(args.seed)
    means, bases, variances, noise, log_priors = [], [], [], [], []
    for digit in range(10):
        ours = drawn[labels == digit]
        styles = styles_of(ours, args.styles, rng)
        for style in range(args.styles):
            members = ours[styles == style]
            mean = members.mean(axis=0)
            values, vectors = np.linalg.eigh(np.cov((members - mean).T))
            values, vectors = values[::-1], vectors[:, ::-1]
            means.append(mean)
            bases.append(vectors[:, : args.directions])
            variances.append(values[: args.directions])
            noise.append(values[args.directions :].mean())
            log_priors.append(np.log(len(members) / len(drawn)))
    arrays = {
        "means": np.array(means, dtype=np.float16),
        "bases": np.array(bases, dtype=np.float16),
        "variances": np.array(variances, dtype=np.float32),
        "noise": np.array(noise, dtype=np.float32),
        "log_priors": np.array(log_priors, dtype=np.float32),
        "threshold": np.float32(np.inf),
    }
    # The threshold from the statistics as stored (float16), as the app will use them.
    with np.load(CHECK_SET) as check:
        calibration = check["images"][::2].astype(np.float32) / 255
    digits = load_unipen()
    writers_rows = readable_rows(digits, writer_split(digits)[0])
    split = len(calibration)  # check-set items before it, training writers' digits after
    calibration = np.concatenate([calibration, np.stack([to_mnist(render(digits.strokes(int(row)))) for row in writers_rows])])
    arrays["threshold"] = np.float32(threshold_of(DigitStatistics(arrays), calibration[:split], calibration[split:]))
    arrays["meta"] = np.array(json.dumps({
        "made_by": "scripts/make_digit_statistics.py", "date": str(dt.date.today()), "styles": args.styles,
        "directions": args.directions, "seed": args.seed, "training_digits": len(drawn),
        "real_renderings": args.real, "sketched_per_style": args.sketched,
        "threshold": f"the higher of the {THRESHOLD_PERCENTILE:g}th percentiles on the {split} even-numbered check-set "
                     f"items and on the {len(writers_rows)} training writers' readable digits",
    }))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(f"{args.out}: {len(means)} components of {args.directions} directions, threshold {float(arrays['threshold']):.1f} "
          f"({args.out.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
