"""Batch augmentation aimed at hand-drawn input, run on the training device.

Each image gets its own small random rotation, scale, shear and shift (one affine_grid +
grid_sample for the whole batch), and a random stroke thickness change (dilate or erode with a
3×3 max-pool). Elastic distortion adds a smooth random displacement to the sampling grid.
Everything is a handful of batched tensor ops, so it costs little next to the training step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.nn import functional as F


@dataclass(frozen=True)
class AugmentSettings:
    p: float = 1.0  # the share of images distorted; the rest pass unchanged
    rotation_deg: float = 12.0
    scale: tuple[float, float] = (0.75, 1.1)
    shear: float = 0.25
    shift: float = 0.12  # fraction of the image side, each way
    dilate_p: float = 0.25  # chance of thicker strokes (3×3 dilation)
    erode_p: float = 0.1  # chance of thinner strokes (a half-strength 3×3 erosion: thin MNIST strokes vanish otherwise)
    elastic_p: float = 0.3
    elastic_alpha: float = 0.08  # displacement in grid units (the image spans 2)
    elastic_grain: int = 7  # coarse displacement grid, upsampled smoothly to the image


def augment_batch(x: torch.Tensor, generator: torch.Generator, settings: AugmentSettings = AugmentSettings()) -> torch.Tensor:
    """A randomly distorted copy of a (N, 1, H, W) batch of ink-on-black images in [0, 1]."""
    n = x.shape[0]
    device, dtype = x.device, x.dtype

    def uniform(low: float, high: float, size: tuple[int, ...] = (n,)) -> torch.Tensor:
        return torch.rand(size, generator=generator, device=device, dtype=dtype) * (high - low) + low

    angle = uniform(-settings.rotation_deg, settings.rotation_deg) * (math.pi / 180)
    scale = uniform(*settings.scale)
    shear = uniform(-settings.shear, settings.shear)
    cos, sin = torch.cos(angle), torch.sin(angle)
    # The grid maps output to input coordinates, so the inverse of "scale up" is dividing.
    theta = torch.zeros(n, 2, 3, device=device, dtype=dtype)
    theta[:, 0, 0] = cos / scale
    theta[:, 0, 1] = (-sin + shear * cos) / scale
    theta[:, 1, 0] = sin / scale
    theta[:, 1, 1] = (cos + shear * sin) / scale
    theta[:, :, 2] = uniform(-2 * settings.shift, 2 * settings.shift, (n, 2))
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)

    if settings.elastic_p > 0:
        g = settings.elastic_grain
        field = torch.randn((n, 2, g, g), generator=generator, device=device, dtype=dtype) * settings.elastic_alpha
        field = F.interpolate(field, size=x.shape[-2:], mode="bicubic", align_corners=False)
        field = field * (torch.rand((n, 1, 1, 1), generator=generator, device=device, dtype=dtype) < settings.elastic_p)
        grid = grid + field.permute(0, 2, 3, 1)

    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    if settings.dilate_p + settings.erode_p > 0:
        pick = torch.rand((n, 1, 1, 1), generator=generator, device=device, dtype=dtype)
        thicker = F.max_pool2d(out, 3, stride=1, padding=1)
        thinner = 0.5 * (out - F.max_pool2d(-out, 3, stride=1, padding=1))
        out = torch.where(pick < settings.dilate_p, thicker,
                          torch.where(pick < settings.dilate_p + settings.erode_p, thinner, out))
    if settings.p < 1:
        keep = torch.rand((n, 1, 1, 1), generator=generator, device=device, dtype=dtype) >= settings.p
        out = torch.where(keep, x, out)
    return out.clamp_(0, 1)
