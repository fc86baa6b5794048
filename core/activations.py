"""What the network computes on the way to a reading: its feature maps, the dense layer's sums, its filters.

The network (core/model.py) is three blocks, conv 3×3 (padding 1) → ReLU → max-pool 2×2, turning the
28×28 image into 16 maps of 14×14, 32 of 7×7 and 32 of 3×3; the last 32·3·3 = 288 values are the
features a dense layer weighs into ten logits. Everything here is computed from the model's own
modules and handed back as numpy arrays:

- `read_network(model, image)`: a `Reading` with the input, each block's maps (after pooling and
  ReLU), the 288 features, the logits and probabilities, and the dense layer's weights and biases,
  so that the contribution of each feature to each class (weight × feature) can be asked for. The
  288 contributions to a class plus its bias are its logit.
- `unit_inputs(model, reading, block, channel)`: what feeds one map: the block's input maps, the
  3×3 filter for each, each input convolved with its filter, their sum plus the bias (the map
  before pooling) and the map itself.
- `network_filters(model)`: the first block's 16 filters, and for the deeper blocks how strongly
  each filter draws on each map it reads (the L2 norm of each 3×3 kernel).

Features are numbered as the dense layer sees them: map m, row r, column c is feature m·9 + r·3 + c.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .predict import Predictor

BLOCKS = 3
MAP_SHAPES = ((16, 14, 14), (32, 7, 7), (32, 3, 3))  # each block's maps, after pooling
FEATURES = 288


class NotShowable(ValueError):
    """The model cannot be shown: not this network, or it computes non-finite values on this image."""


def _network(model):
    """The network itself, from a ConvNet or a Predictor (the sketchpad's reader holds it as `.model`)."""
    return model if isinstance(model, nn.Module) else getattr(model, "model", model)


def _modules(model) -> tuple[nn.Conv2d, nn.Conv2d, nn.Conv2d, nn.Linear]:
    """The network's three convolutions and its dense layer, from a ConvNet or a Predictor."""
    net = _network(model)
    try:
        layers = (net.conv1, net.conv2, net.conv3, net.fc)
    except AttributeError:
        raise NotShowable(f"{type(net).__name__} is not the network this program builds") from None
    shapes = [tuple(layer.weight.shape) for layer in layers]
    if shapes != [(16, 1, 3, 3), (32, 16, 3, 3), (32, 32, 3, 3), (10, FEATURES)]:
        raise NotShowable(f"the model's layers have shapes {shapes}, not those of this program's network")
    return layers


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().to("cpu", torch.float32).contiguous().numpy()


@dataclass(frozen=True, eq=False)
class Reading:
    """One image through the network. Arrays are float32; `maps[b]` is block b+1's (C, H, W) maps."""

    image: np.ndarray  # (28, 28), the network's input, as given
    seen: np.ndarray  # (28, 28), that input as the first block sees it (deskewed, by a network that deskews)
    maps: tuple[np.ndarray, np.ndarray, np.ndarray]  # (16, 14, 14), (32, 7, 7), (32, 3, 3), after pooling and ReLU
    features: np.ndarray  # (288,): the last maps, flattened as the dense layer reads them
    weight: np.ndarray = field(repr=False)  # (10, 288): the dense layer's weights
    bias: np.ndarray = field(repr=False)  # (10,)
    logits: np.ndarray = field(repr=False)  # (10,)
    probabilities: np.ndarray = field(repr=False)  # (10,)

    @property
    def winner(self) -> int:
        """The class read: the largest logit (the first of equals)."""
        return int(np.argmax(self.logits))

    @property
    def runner_up(self) -> int:
        """The class with the second largest logit."""
        order = np.argsort(-self.logits, kind="stable")
        return int(order[1])

    def contributions(self, digit: int) -> np.ndarray:
        """(288,) what each feature adds to `digit`'s logit: its weight times its value.
        Their sum plus `bias[digit]` is `logits[digit]`."""
        return self.weight[digit] * self.features

    def contributions_by_map(self, digit: int) -> np.ndarray:
        """(32,) the contributions to `digit` summed over each last-block map's 3×3 features."""
        return self.contributions(digit).reshape(MAP_SHAPES[2][0], -1).sum(axis=1)


def read_network(model, image: np.ndarray) -> Reading:
    """The network's maps, features, logits and probabilities for one (28, 28) image in [0, 1].

    `model` is a ConvNet or a Predictor (its model). The image is checked as `Predictor.predict`
    checks it (ValueError). NotShowable when the model is not this network or gives non-finite values."""
    conv1, conv2, conv3, fc = _modules(model)
    batch = Predictor._as_batch(image, "read_network")
    if batch.shape[0] != 1:
        raise ValueError(f"read_network needs one (28, 28) image, not shape {np.shape(image)}")
    device, dtype = fc.weight.device, fc.weight.dtype
    with torch.inference_mode():
        x = _network(model).prepare(torch.from_numpy(batch).to(device, dtype))
        # As the model computes them: max-pooling before the ReLU gives the same values.
        first = F.relu(F.max_pool2d(conv1(x), 2))
        second = F.relu(F.max_pool2d(conv2(first), 2))
        third = F.relu(F.max_pool2d(conv3(second), 2))
        features = torch.flatten(third.contiguous(), 1)
        logits = fc(features)
        # A Predictor's calibrated probabilities (its temperature), as the sketchpad shows them.
        probabilities = torch.softmax(logits.float() / getattr(model, "temperature", 1.0), dim=1)
        maps = tuple(_numpy(block[0]) for block in (first, second, third))
        reading = Reading(image=batch[0, 0], seen=_numpy(x[0, 0]), maps=maps, features=_numpy(features[0]),
                          weight=_numpy(fc.weight),
                          bias=_numpy(fc.bias), logits=_numpy(logits[0]), probabilities=_numpy(probabilities[0]))
    if not (np.isfinite(reading.logits).all() and np.isfinite(reading.probabilities).all()):
        raise NotShowable("the model computes values that are not finite (NaN or infinite) for this image")
    return reading


@dataclass(frozen=True, eq=False)
class UnitInputs:
    """What feeds one map of one block: out = ReLU(max-pool 2×2(sum of partials + bias))."""

    block: int  # 1, 2 or 3
    channel: int
    inputs: np.ndarray  # (C_in, H, W): the block's input, the image (block 1) or the previous block's maps
    kernels: np.ndarray  # (C_in, 3, 3): the filter applied to each input map
    bias: float
    partials: np.ndarray  # (C_in, H, W): each input map convolved with its 3×3 filter (padding 1)
    pre_pool: np.ndarray  # (H, W): the partials summed, plus the bias
    output: np.ndarray  # (H // 2, W // 2): the map itself

    def strengths(self) -> np.ndarray:
        """(C_in,) how much each input adds where the map is read: the mean of its partial over the
        pixels that max-pooling keeps (the largest of each 2×2), so the strongest feeders rank first."""
        height, width = self.output.shape
        window = self.pre_pool[: 2 * height, : 2 * width].reshape(height, 2, width, 2).transpose(0, 2, 1, 3)
        window = window.reshape(height, width, 4)
        chosen = window.argmax(axis=2)
        rows = 2 * np.arange(height)[:, None] + chosen // 2
        cols = 2 * np.arange(width)[None, :] + chosen % 2
        return self.partials[:, rows, cols].reshape(len(self.partials), -1).mean(axis=1)


def unit_inputs(model, reading: Reading, block: int, channel: int) -> UnitInputs:
    """What feeds map `channel` of `block` (1–3) in `reading` (made with the same model)."""
    convs = _modules(model)[:3]
    if block not in (1, 2, 3):
        raise ValueError(f"block must be 1, 2 or 3, not {block!r}")
    conv = convs[block - 1]
    if not 0 <= channel < conv.weight.shape[0]:
        raise ValueError(f"block {block} has maps 0–{conv.weight.shape[0] - 1}, not {channel!r}")
    inputs = reading.seen[None] if block == 1 else reading.maps[block - 2]
    weight = conv.weight[channel]  # (C_in, 3, 3)
    with torch.inference_mode():
        x = torch.from_numpy(np.ascontiguousarray(inputs)).to(weight.device, weight.dtype)
        # Grouped convolution: input map i with its own kernel i, no sum and no bias.
        partials = F.conv2d(x[None], weight[:, None], padding=1, groups=len(inputs))[0]
        bias = conv.bias[channel]
        pre_pool = partials.sum(dim=0) + bias
        output = F.relu(F.max_pool2d(pre_pool[None, None], 2))[0, 0]
        return UnitInputs(block=block, channel=channel, inputs=np.array(inputs, dtype=np.float32), kernels=_numpy(weight),
                          bias=float(bias), partials=_numpy(partials), pre_pool=_numpy(pre_pool), output=_numpy(output))


@dataclass(frozen=True, eq=False)
class Filters:
    """The learned filters: block 1's whole, the deeper blocks' summed up."""

    first: np.ndarray  # (16, 3, 3): block 1's filters, one per map
    first_bias: np.ndarray  # (16,)
    strengths: tuple[np.ndarray, np.ndarray]  # (32, 16) and (32, 32): L2 norm of each 3×3 kernel, [out, in]


def first_filters_flat(model) -> tuple[float, ...]:
    """Block 1's filters as 144 plain floats (16 filters of 3×3, row by row), for an event and the
    run store; () for a network this program does not show."""
    try:
        conv1 = _modules(model)[0]
    except NotShowable:
        return ()
    return tuple(_numpy(conv1.weight[:, 0]).reshape(-1).tolist())


def network_filters(model) -> Filters:
    conv1, conv2, conv3, _ = _modules(model)
    first = _numpy(conv1.weight[:, 0])
    strengths = tuple(_numpy(torch.linalg.vector_norm(conv.weight.float(), dim=(2, 3))) for conv in (conv2, conv3))
    return Filters(first=first, first_bias=_numpy(conv1.bias), strengths=strengths)
