"""Named training presets: the seed recipe, and variants of it on the same architecture."""

from __future__ import annotations

from dataclasses import dataclass, replace

from .config import TrainConfig


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    summary: str  # what it changes, in a line
    config: TrainConfig


PRESETS: dict[str, Preset] = {
    "seed": Preset(
        "seed", "Seed recipe",
        "The Flux model-zoo recipe exactly: Adam 3e-3, batch 128, noise 0.1, 20 epochs, LR ÷10 on plateaus.",
        TrainConfig(),
    ),
    # One epoch to ≥ 99 %: more, smaller steps (batch 64) on a one-cycle schedule; the training noise
    # regularises over many epochs but only slows a single one.
    "fast": Preset(
        "fast", "Fast",
        "One epoch: one-cycle LR up to 1.5e-2, batch 64, label smoothing 0.1, no noise, shuffled batches: "
        "≥ 99 % after that one epoch.",
        TrainConfig(epochs=1, lr=1.5e-2, batch_size=64, noise_std=0.0, lr_schedule="onecycle", label_smoothing=0.1,
                    shuffle=True),
    ),
    # The bundled model's recipe: real people's digits beside MNIST's, each input deskewed.
    "robust": Preset(
        "robust", "Robust",
        "Learns real handwriting: 40 % of each batch pen-drawn digits of real writers (drawn on the canvas with random "
        "sizes, pens and mouse input) and 10 % synthesised styles beside MNIST's, every input deskewed, random "
        "distortions, one-cycle LR up to 1e-2 over 20 epochs, label smoothing 0.1: reads hand-drawn digits best.",
        TrainConfig(epochs=20, lr=1e-2, batch_size=128, lr_schedule="onecycle", label_smoothing=0.1, shuffle=True, augment=True,
                    synth_share=0.1, real_share=0.4, deskew=True),
    ),
}


def preset_config(name: str, **overrides) -> TrainConfig:
    """The preset's settings, with any field replaced by an explicit value."""
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    return replace(PRESETS[name].config, **overrides)
