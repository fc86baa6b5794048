"""The network's shape: the seed's family of ConvNets, within bounds, and what a shape costs.

A shape is 1–4 blocks of `conv k×k (same padding) → relu → maxpool 2`, each of 4–64 channels, all
with the same kernel (3×3 or 5×5), then an optional hidden dense layer of 1–256 units with relu (0:
none), then the 10 logits. The seed's network is `SEED_SHAPE`: blocks of 16, 32 and 32 channels,
3×3, no hidden layer: 16,938 parameters.

Everything here is arithmetic on the shape: a shape's weights, parameter count and FLOPs are known
before any network is built, which is how a checkpoint's declared shape and its tensors are checked
against each other before anything is allocated (core.checkpoint).

The weights keep the seed's names: `conv1` … `conv4`, `hidden` (the hidden layer) and `fc` (the
layer that gives the logits), so every model saved before shapes could change is a model of the seed
shape, as it always was.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import ConfigError
from .errors import shown as _shown

IMAGE_SIDE = 28
CLASSES = 10
MAX_BLOCKS = 4  # 28 → 14 → 7 → 3 → 1: a fifth pool would leave nothing
CHANNELS = (4, 64)  # each block's channels, lowest and highest
KERNELS = (3, 5)
MAX_HIDDEN = 256
SHAPE_FIELDS = ("channels", "kernel", "hidden")  # as TrainConfig and `NetworkShape.to_dict` name them


@dataclass(frozen=True)
class NetworkShape:
    channels: tuple[int, ...] = (16, 32, 32)
    kernel: int = 3
    hidden: int = 0  # units of the hidden dense layer; 0: the last maps go straight to the logits

    @property
    def blocks(self) -> int:
        return len(self.channels)

    def map_sides(self) -> tuple[int, ...]:
        """Each block's maps' side after pooling: 14, 7, 3, 1 (pooling floors)."""
        sides, side = [], IMAGE_SIDE
        for _ in self.channels:
            side //= 2
            sides.append(side)
        return tuple(sides)

    def map_shapes(self) -> tuple[tuple[int, int, int], ...]:
        """Each block's maps after pooling, (channels, height, width)."""
        return tuple((count, side, side) for count, side in zip(self.channels, self.map_sides()))

    @property
    def features(self) -> int:
        """The values of the last block's maps, flattened: what the dense layers read."""
        count, height, width = self.map_shapes()[-1]
        return count * height * width

    def weight_shapes(self) -> dict[str, tuple[int, ...]]:
        """Name → shape of each weight, in the network's own order (as `state_dict` lists them)."""
        shapes: dict[str, tuple[int, ...]] = {}
        before = 1
        for block, count in enumerate(self.channels, start=1):
            shapes[f"conv{block}.weight"] = (count, before, self.kernel, self.kernel)
            shapes[f"conv{block}.bias"] = (count,)
            before = count
        reads = self.features
        if self.hidden:
            shapes["hidden.weight"] = (self.hidden, reads)
            shapes["hidden.bias"] = (self.hidden,)
            reads = self.hidden
        shapes["fc.weight"] = (CLASSES, reads)
        shapes["fc.bias"] = (CLASSES,)
        return shapes

    @property
    def parameters(self) -> int:
        return sum(math.prod(shape) for shape in self.weight_shapes().values())

    @property
    def flops(self) -> int:
        """FLOPs to read one image (2 per multiply-add) in the convolutions and dense layers."""
        macs, side, before = 0, IMAGE_SIDE, 1
        for count in self.channels:
            macs += side * side * count * before * self.kernel * self.kernel  # same padding: every pixel
            side, before = side // 2, count
        reads = self.features
        if self.hidden:
            macs += reads * self.hidden
            reads = self.hidden
        return 2 * (macs + reads * CLASSES)

    def to_dict(self) -> dict:
        """Plain values, as checkpoints, run records and ONNX metadata keep them."""
        return {"channels": list(self.channels), "kernel": self.kernel, "hidden": self.hidden}

    def text(self) -> str:
        """'16·32·32, 3×3' or '8·16, 5×5, hidden 64': the shape in a few characters."""
        hidden = f", hidden {self.hidden}" if self.hidden else ""
        return f"{'·'.join(map(str, self.channels))}, {self.kernel}×{self.kernel}{hidden}"

    def channels_text(self) -> str:
        """'16,32,32', as --channels takes it."""
        return ",".join(map(str, self.channels))


SEED_SHAPE = NetworkShape()


def _whole(value: object) -> bool:
    return type(value) is int


def check_shape(channels: object, kernel: object, hidden: object) -> NetworkShape:
    """The shape these values make, or ConfigError saying which bound one breaks. The values may come
    from anywhere (a file, a field, the command line): nothing is assumed of their types."""
    if not isinstance(channels, (tuple, list)) or not 1 <= len(channels) <= MAX_BLOCKS:
        shown = _shown(channels)
        raise ConfigError(f"a network has 1 to {MAX_BLOCKS} blocks, each a number of channels, not {shown}")
    low, high = CHANNELS
    for block, count in enumerate(channels, start=1):
        if not _whole(count) or not low <= count <= high:
            raise ConfigError(f"block {block}'s channels must be a whole number from {low} to {high}, not {_shown(count)}")
    if not _whole(kernel) or kernel not in KERNELS:
        raise ConfigError(f"the kernel must be {' or '.join(f'{k} (for {k}×{k})' for k in KERNELS)}, not {_shown(kernel)}")
    if not _whole(hidden) or not 0 <= hidden <= MAX_HIDDEN:
        raise ConfigError(f"the hidden layer's units must be a whole number from 0 to {MAX_HIDDEN} (0: none), "
                          f"not {_shown(hidden)}")
    return NetworkShape(tuple(channels), kernel, hidden)


def shape_from_dict(values: object) -> NetworkShape:
    """A shape as `to_dict` wrote it, checked (ConfigError); a missing field is the seed's."""
    if not isinstance(values, dict):
        raise ConfigError(f"a network's shape is a table of channels, kernel and hidden, not {_shown(values)}")
    unknown = sorted(str(name)[:40] for name in values if name not in SHAPE_FIELDS)
    if unknown:
        raise ConfigError(f"a network's shape has channels, kernel and hidden, not {', '.join(unknown)}")
    return check_shape(values.get("channels", list(SEED_SHAPE.channels)), values.get("kernel", SEED_SHAPE.kernel),
                       values.get("hidden", SEED_SHAPE.hidden))


def parse_channels(text: str) -> tuple[int, ...]:
    """'8,16,16' (as --channels and the panel's field take it) as (8, 16, 16), each checked."""
    parts = [part.strip() for part in str(text).replace(";", ",").replace(" ", ",").split(",") if part.strip()]
    # Short ASCII digits only: int() of a pasted 5,000-digit number raises instead of answering.
    if not parts or not all(part.isascii() and part.isdigit() and len(part) <= 6 for part in parts):
        raise ConfigError(f"channels are 1 to {MAX_BLOCKS} whole numbers, one per block, like 16,32,32, "
                          f"not {_shown(str(text))}")
    channels = tuple(int(part) for part in parts)
    check_shape(channels, SEED_SHAPE.kernel, 0)
    return channels


def count_text(number: int) -> str:
    """16938 → '16,938'; 2218000 → '2.2 M'."""
    return f"{number / 1e6:.1f} M" if number >= 1_000_000 else f"{number:,}"
