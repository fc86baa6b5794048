"""Regenerate resources/digit_statistics.npz: MNIST's digits as the "not sure" check sees them.

    python scripts/make_digit_statistics.py [--data-dir DIR] [--styles 3] [--directions 15] [--seed 0]

Every MNIST training digit is put through `to_mnist`, as a drawing is; each digit's 6,000 are split
into `--styles` clusters (k-means, seeded), and each cluster is fitted with probabilistic PCA:
its mean, its `--directions` principal directions with their variances, and the mean variance left
over (Tipping & Bishop). core/plausibility.py scores a reading by its negative log-likelihood under
the best-fitting cluster. The threshold stored with them is the 98th percentile of that score on
the even-numbered items of benchmarks/check_set.npz; benchmarks/not_sure.py measures on the others.
Takes about a minute on one core (most of it `to_mnist` on 60,000 digits).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

import numpy as np

from mnistconv.core.data import load_mnist
from mnistconv.core.paths import resolve_data_dir
from mnistconv.core.plausibility import DigitStatistics
from mnistconv.core.preprocess import to_mnist

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="the MNIST folder (default: as mnistconv-train finds it)")
    parser.add_argument("--styles", type=int, default=3, help="clusters per digit")
    parser.add_argument("--directions", type=int, default=15, help="principal directions per cluster")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    data = load_mnist(resolve_data_dir(args.data_dir), "cpu")
    images, labels = data.train_images[:, 0].numpy(), data.train_labels.numpy()
    drawn = np.stack([to_mnist(image) for image in images]).reshape(len(images), -1).astype(np.float64)
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
    statistics = DigitStatistics(arrays)
    scores = np.array([statistics.unlikeness(image) for image in calibration])
    arrays["threshold"] = np.float32(np.percentile(scores, THRESHOLD_PERCENTILE))
    arrays["meta"] = np.array(json.dumps({
        "made_by": "scripts/make_digit_statistics.py", "date": str(dt.date.today()), "styles": args.styles,
        "directions": args.directions, "seed": args.seed, "training_digits": len(drawn),
        "threshold": f"{THRESHOLD_PERCENTILE:g}th percentile on the {len(calibration)} even-numbered check-set items",
    }))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(f"{args.out}: {len(means)} components of {args.directions} directions, threshold {float(arrays['threshold']):.1f} "
          f"({args.out.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
