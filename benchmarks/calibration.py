"""Whether the sketchpad's percentages mean what they say: expected calibration error, before and after
temperature scaling (core.calibration).

    python benchmarks/calibration.py [--model PATH] [--data-dir DIR] [--fit] [--no-write]

Readings of the MNIST test set (as the files hold it) and of the validation writers (resources/unipen,
never trained on; drawn with the sketchpad's pen and with four random hands each, then `to_mnist`, as
benchmarks/real_writers.py draws them). Each set is halved: MNIST's even-numbered digits and the
digits of every other validation writer (in name order) fit the temperature (with --fit, which then
writes it into the model file, its weights untouched); MNIST's odd-numbered digits and the other
writers, whole, are the held-out measure. Reports the ECE (15 bins) with no temperature and with
the model's, on the held-out halves and on the whole sets; the share of readings shown at 99 % or
more, and how often those are right. Writes the "calibration" section of benchmarks/RESULTS.md (not
with --no-write). The model is the bundled one unless --model names a checkpoint.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mnistconv.core import checkpoint  # noqa: E402
from mnistconv.core.calibration import expected_calibration_error, fit_temperature, softmax  # noqa: E402
from mnistconv.core.data import load_mnist, missing_files, pixels  # noqa: E402
from mnistconv.core.paths import bundled_model_path, resolve_data_dir  # noqa: E402

from real_writers import validation_set  # noqa: E402
from results_file import machine_description, write_section  # noqa: E402


def fitting_writers(writers: np.ndarray) -> np.ndarray:
    """True for the digits of the writers whose readings fit the temperature: every other validation
    writer in name order. The rest are held out writer by writer, as real people outside the project."""
    chosen = set(sorted(set(writers.tolist()))[0::2])
    return np.array([writer in chosen for writer in writers.tolist()])


def logits_of(model, images: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return np.concatenate([model(torch.from_numpy(images[i : i + 1000, None].astype(np.float32))).numpy()
                               for i in range(0, len(images), 1000)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a checkpoint (default: the bundled model)")
    parser.add_argument("--data-dir", help="the MNIST folder (default: $MNISTCONV_DATA, else the per-user cache)")
    parser.add_argument("--fit", action="store_true", help="fit the temperature on the even halves and write it into the model")
    parser.add_argument("--no-write", action="store_true", help="print the results without writing RESULTS.md")
    args = parser.parse_args()
    with bundled_model_path() as bundled:
        path = Path(args.model) if args.model else Path(bundled)
    saved = checkpoint.load_checkpoint(path)
    model = saved.build_model("cpu")
    folder = resolve_data_dir(args.data_dir)
    if missing_files(folder):
        sys.exit(f"MNIST is not in {folder}: fetch it with mnistconv-fetch, or give --data-dir")
    mnist = load_mnist(folder, "cpu")
    real = validation_set()
    writers_fit = fitting_writers(real["writers"])
    hands = len(real["hands"])
    sets = {  # images, labels, and which of them fit the temperature
        "MNIST test set": (pixels(mnist.test_images)[:, 0].numpy(), mnist.test_labels.numpy(),
                           np.arange(len(mnist.test_labels)) % 2 == 0),
        "validation writers, the sketchpad's pen": (real["pen"], real["labels"], writers_fit),
        "validation writers, four random hands each": (real["hands"].reshape(-1, 28, 28), np.tile(real["labels"], hands),
                                                        np.tile(writers_fit, hands)),
    }
    logits = {name: (logits_of(model, images), labels, fit) for name, (images, labels, fit) in sets.items()}
    temperature = saved.temperature
    if args.fit:
        fit_logits = np.concatenate([values[fit] for values, _, fit in logits.values()])
        fit_labels = np.concatenate([labels[fit] for _, labels, fit in logits.values()])
        temperature = fit_temperature(fit_logits, fit_labels)
        checkpoint.save_checkpoint(path, model, epoch=saved.epoch, accuracy=saved.accuracy, lr=saved.lr or 0.0,
                                   hyperparameters=saved.hyperparameters, temperature=temperature)
        assert checkpoint.load_checkpoint(path).temperature == temperature
    lines = [
        f"Model: {'the bundled model' if not args.model else path}, temperature **{temperature:.3f}** (fitted on "
        f"MNIST's even-numbered test digits and on {len(set(real['writers'][writers_fit].tolist()))} of the "
        f"{len(set(real['writers'].tolist()))} validation writers; held out: the odd-numbered test digits and the other "
        "writers, whole). "
        f"{machine_description()}.", "",
        "| readings | ECE, no temperature (held out) | **ECE, calibrated** (held out) | ECE, calibrated (whole set) "
        "| held out shown at ≥ 99 % | right when so shown | highest shown before → after |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, (values, labels, fit) in logits.items():
        held_values, held_labels = values[~fit], labels[~fit]
        raw = expected_calibration_error(softmax(held_values), held_labels)
        calibrated = expected_calibration_error(softmax(held_values, temperature), held_labels)
        whole = expected_calibration_error(softmax(values, temperature), labels)
        shown = softmax(held_values, temperature)
        sure = shown.max(axis=1) >= 0.99
        right = (shown.argmax(axis=1) == held_labels)[sure].mean() if sure.any() else float("nan")
        lines.append(f"| {name} ({len(held_labels):,} held out of {len(labels):,}) | {100 * raw:.2f} % | "
                     f"**{100 * calibrated:.2f} %** | "
                     f"{100 * whole:.2f} % | {100 * sure.mean():.1f} % | {100 * right:.2f} % | "
                     f"{100 * softmax(held_values).max():.1f} % → {100 * shown.max():.2f} % |")
    lines += ["", "ECE: the readings in 15 bins by their top probability; the gap between each bin's mean "
              "confidence and its accuracy, weighted by its share. Label smoothing (0.1) in training keeps the "
              "raw probabilities under about 97 %; the temperature sharpens them without changing any answer."]
    text = "\n".join(lines)
    if not args.no_write:
        write_section("calibration", text)
    print(text)


if __name__ == "__main__":
    main()
