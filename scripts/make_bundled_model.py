"""Regenerate resources/mnist_conv.pt: a preset, trained by the project's own code on real MNIST.

    python scripts/make_bundled_model.py [--preset robust] [--data-dir DIR] [--seed 0] [--device auto] [--out PATH]

The best checkpoint of the run (saved by the recipe's own rule) becomes the bundled model, after it
is reloaded and re-measured on the test set.

The robust preset learns from the training writers of resources/unipen (real pen-drawn digits, CC BY
4.0: the model keeps their attribution in its checkpoint) and mixes digits the project synthesises
(core/synth.py) into every batch, some of them rendered from font files; the bundled model was made
with all of core.synth.TRAINING_FONTS installed. The script names the Debian packages of any that
are missing (the run goes on without them, so its model differs):

    apt-get install fonts-bwht fonts-isabella fonts-cabin fonts-comfortaa fonts-crosextra-carlito \
        fonts-crosextra-caladea fonts-firacode fonts-go fonts-hack fonts-inconsolata fonts-jetbrains-mono \
        fonts-mononoki fonts-anonymous-pro fonts-averia-gwf fonts-beteckna fonts-goudybookletter fonts-prociono
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from mnistconv.core import allocator, events
from mnistconv.core.acquire import ensure_mnist
from mnistconv.core.data import load_mnist
from mnistconv.core.device import resolve_device
from mnistconv.core.evaluate import evaluate_saved_model
from mnistconv.core.handwriting import ATTRIBUTION
from mnistconv.core.paths import resolve_data_dir
from mnistconv.core.presets import PRESETS, preset_config
from mnistconv.core.synth import TRAINING_FONTS, available_fonts
from mnistconv.core.train import train

BUNDLED = Path(__file__).resolve().parent.parent / "resources" / "mnist_conv.pt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--preset", default="robust", choices=list(PRESETS))
    parser.add_argument("--out", type=Path, default=BUNDLED)
    args = parser.parse_args()
    allocator.keep_freed_memory()  # as mnistconv-train does
    data = load_mnist(ensure_mnist(resolve_data_dir(args.data_dir)), resolve_device(args.device))
    with tempfile.TemporaryDirectory() as savepath:
        config = preset_config(args.preset, seed=args.seed, device=args.device, savepath=savepath)
        if config.synth_share > 0:
            found = set(available_fonts())
            missing = sorted({package for package, path in TRAINING_FONTS if path not in found})
            print(f"Synthesised digits: {config.synth_share:.0%} of each batch; {len(found)} of {len(TRAINING_FONTS)} "
                  f"training fonts found" + (f" (missing: apt-get install {' '.join(missing)})" if missing else ""), flush=True)
        if config.real_share > 0:
            print(f"{config.real_share:.0%} of each batch from the training writers. {ATTRIBUTION}", flush=True)
        for event in train(config, data):
            if isinstance(event, events.EpochFinished):
                print(f"[{event.epoch}]: Test accuracy: {event.test_accuracy:.4f}", flush=True)
            elif isinstance(event, events.Finished):
                if event.checkpoint is None:
                    raise SystemExit(f"training ended ({event.reason}) without a saved model")
                accuracy, saved = evaluate_saved_model(event.checkpoint, data)
                shutil.copyfile(event.checkpoint, args.out)
                print(f"Wrote {args.out} ({args.preset} preset, seed {args.seed}): epoch {saved.epoch}, "
                      f"test accuracy {accuracy:.4f}")


if __name__ == "__main__":
    main()
