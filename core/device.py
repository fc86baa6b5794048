"""Choosing the torch device: "auto" (CUDA when present), "cpu" or "cuda"."""

import torch

from .errors import ConfigError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def cuda_available() -> bool:
    return torch.cuda.is_available()


def resolve_device(name: str = "auto") -> torch.device:
    if name not in DEVICE_CHOICES:
        raise ConfigError(f"device must be one of {', '.join(DEVICE_CHOICES)}, not {name!r}")
    if name == "auto":
        return torch.device("cuda" if cuda_available() else "cpu")
    if name == "cuda" and not cuda_available():
        raise ConfigError("CUDA was asked for, but torch finds no CUDA device here")
    return torch.device(name)


def describe_device(device: torch.device) -> str:
    """A short human name: 'CPU (2 threads)' or the GPU's name."""
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    return f"CPU ({torch.get_num_threads()} threads)"
