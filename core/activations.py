"""What the network computes on the way to a reading: its feature maps, the dense layers' sums, its filters.

The network (core/model.py) is any of core.shape's family: 1–4 blocks, each conv k×k (padding k//2)
→ ReLU → max-pool 2×2, turning the 28×28 image into C₁ maps of 14×14, C₂ of 7×7, C₃ of 3×3, C₄ of
1×1; the last block's maps, flattened, are the features. Without a hidden layer the logits layer
weighs the features into ten logits; with one, a hidden dense layer (ReLU) reads the features and
the logits layer weighs its units. The seed's network is 16 maps of 14×14, 32 of 7×7 and 32 of 3×3,
3×3 kernels: 32·3·3 = 288 features straight to the logits. Everything here is computed from the
model's own modules and handed back as numpy arrays:

- `read_network(model, image)`: a `Reading` with the input, each block's maps (after pooling and
  ReLU), the features, the hidden units (with a hidden layer), the logits and probabilities, and the
  logits layer's weights and biases, so that the contribution of each value that layer reads to each
  class (weight × value: a feature, or a hidden unit) can be asked for. Those contributions to a class
  plus its bias are its logit.
- `unit_inputs(model, reading, block, channel)`: what feeds one map: the block's input maps, the
  k×k filter for each, each input convolved with its filter, their sum plus the bias (the map
  before pooling) and the map itself.
- `network_filters(model)`: the first block's filters, and for each deeper block how strongly each
  filter draws on each map it reads (the L2 norm of each k×k kernel).

Features are numbered as the dense layer sees them: map m, row r, column c of the last block's
s×s maps is feature m·s² + r·s + c.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .model import ConvNet
from .predict import Predictor
from .shape import NetworkShape


class NotShowable(ValueError):
    """The model cannot be shown: not this network, or it computes non-finite values on this image."""


def _network(model):
    """The network itself, from a ConvNet or a Predictor (the sketchpad's reader holds it as `.model`)."""
    return model if isinstance(model, nn.Module) else getattr(model, "model", model)


def _checked(model) -> ConvNet:
    """The ConvNet of a ConvNet or a Predictor, its layers checked against the shape it declares."""
    net = _network(model)
    if not isinstance(net, ConvNet) or not isinstance(getattr(net, "shape", None), NetworkShape):
        raise NotShowable(f"{type(net).__name__} is not the network this program builds")
    shape = net.shape
    found = {}
    for name in shape.weight_shapes():  # "conv2.weight", "hidden.bias", …
        layer, tensor = name.split(".")
        found[name] = tuple(getattr(getattr(net, layer, None), tensor, torch.empty(0)).shape)
    # Layers swapped for others after the model was built would be read with the wrong sizes.
    if (found != shape.weight_shapes() or (net.hidden is not None) != bool(shape.hidden)
            or any(conv.padding != (shape.kernel // 2,) * 2 for conv in net.convs)):
        raise NotShowable(f"the model's layers have shapes {list(found.values())}, not those of its shape {shape.text()}")
    return net


def network_shape(model) -> NetworkShape:
    """The shape of a network this program shows (NotShowable for any other)."""
    return _checked(model).shape


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().to("cpu", torch.float32).contiguous().numpy()


@dataclass(frozen=True, eq=False)
class Reading:
    """One image through the network. Arrays are float32; `maps[b]` is block b+1's (C, H, W) maps."""

    shape: NetworkShape
    image: np.ndarray  # (28, 28), the network's input, as given
    seen: np.ndarray  # (28, 28), that input as the first block sees it (deskewed, by a network that deskews)
    maps: tuple[np.ndarray, ...]  # shape.map_shapes(), after pooling and ReLU
    features: np.ndarray  # (shape.features,): the last maps, flattened as the dense layers read them
    hidden: np.ndarray | None  # (shape.hidden,): the hidden units after ReLU; None without a hidden layer
    weight: np.ndarray = field(repr=False)  # (10, what it reads): the logits layer's weights
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

    @property
    def read_by_logits(self) -> np.ndarray:
        """What the logits layer weighs: the hidden units, or the features when there is no hidden layer."""
        return self.features if self.hidden is None else self.hidden

    def contributions(self, digit: int) -> np.ndarray:
        """What each value the logits layer reads adds to `digit`'s logit: its weight times the value.
        Without a hidden layer one per feature, with one one per hidden unit (the features reach the
        logits only through the hidden units' ReLU, so they have no contribution of their own).
        Their sum plus `bias[digit]` is `logits[digit]`."""
        return self.weight[digit] * self.read_by_logits

    def contributions_by_map(self, digit: int) -> np.ndarray:
        """(C,) the contributions to `digit` summed over each last-block map's features. Only without a
        hidden layer (ValueError otherwise): through the hidden units there is no such sum."""
        if self.hidden is not None:
            raise ValueError("with a hidden layer the logits weigh hidden units, not the last block's maps")
        return self.contributions(digit).reshape(len(self.maps[-1]), -1).sum(axis=1)


def read_network(model, image: np.ndarray) -> Reading:
    """The network's maps, features, logits and probabilities for one (28, 28) image in [0, 1].

    `model` is a ConvNet or a Predictor (its model). The image is checked as `Predictor.predict`
    checks it (ValueError). NotShowable when the model is not this network or gives non-finite values."""
    net = _checked(model)
    batch = Predictor._as_batch(image, "read_network")
    if batch.shape[0] != 1:
        raise ValueError(f"read_network needs one (28, 28) image, not shape {np.shape(image)}")
    device, dtype = net.fc.weight.device, net.fc.weight.dtype
    with torch.inference_mode():
        x = net.prepare(torch.from_numpy(batch).to(device, dtype))
        blocks = net.blocks_of(x)  # as the model computes them
        features = torch.flatten(blocks[-1].contiguous(), 1)
        hidden = F.relu(net.hidden(features)) if net.hidden is not None else None
        logits = net.fc(features if hidden is None else hidden)
        # A Predictor's calibrated probabilities (its temperature), as the sketchpad shows them.
        probabilities = torch.softmax(logits.float() / getattr(model, "temperature", 1.0), dim=1)
        reading = Reading(shape=net.shape, image=batch[0, 0], seen=_numpy(x[0, 0]),
                          maps=tuple(_numpy(block[0]) for block in blocks), features=_numpy(features[0]),
                          hidden=None if hidden is None else _numpy(hidden[0]), weight=_numpy(net.fc.weight),
                          bias=_numpy(net.fc.bias), logits=_numpy(logits[0]), probabilities=_numpy(probabilities[0]))
    if not (np.isfinite(reading.logits).all() and np.isfinite(reading.probabilities).all()):
        raise NotShowable("the model computes values that are not finite (NaN or infinite) for this image")
    return reading


@dataclass(frozen=True, eq=False)
class UnitInputs:
    """What feeds one map of one block: out = ReLU(max-pool 2×2(sum of partials + bias))."""

    block: int  # 1 … the number of blocks
    channel: int
    inputs: np.ndarray  # (C_in, H, W): the block's input, the image (block 1) or the previous block's maps
    kernels: np.ndarray  # (C_in, k, k): the filter applied to each input map
    bias: float
    partials: np.ndarray  # (C_in, H, W): each input map convolved with its k×k filter (padding k//2)
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
    """What feeds map `channel` of `block` (from 1) in `reading` (made with the same model)."""
    convs = _checked(model).convs
    if block not in range(1, len(convs) + 1):
        raise ValueError(f"block must be 1 to {len(convs)}, not {block!r}")
    conv = convs[block - 1]
    if not 0 <= channel < conv.weight.shape[0]:
        raise ValueError(f"block {block} has maps 0–{conv.weight.shape[0] - 1}, not {channel!r}")
    inputs = reading.seen[None] if block == 1 else reading.maps[block - 2]
    weight = conv.weight[channel]  # (C_in, k, k)
    with torch.inference_mode():
        x = torch.from_numpy(np.ascontiguousarray(inputs)).to(weight.device, weight.dtype)
        # Grouped convolution: input map i with its own kernel i, no sum and no bias.
        partials = F.conv2d(x[None], weight[:, None], padding=conv.padding, groups=len(inputs))[0]
        bias = conv.bias[channel]
        pre_pool = partials.sum(dim=0) + bias
        output = F.relu(F.max_pool2d(pre_pool[None, None], 2))[0, 0]
        return UnitInputs(block=block, channel=channel, inputs=np.array(inputs, dtype=np.float32), kernels=_numpy(weight),
                          bias=float(bias), partials=_numpy(partials), pre_pool=_numpy(pre_pool), output=_numpy(output))


@dataclass(frozen=True, eq=False)
class Filters:
    """The learned filters: block 1's whole, the deeper blocks' summed up."""

    first: np.ndarray  # (C₁, k, k): block 1's filters, one per map
    first_bias: np.ndarray  # (C₁,)
    strengths: tuple[np.ndarray, ...]  # blocks 2 … N: (C_b, C_b-1), the L2 norm of each k×k kernel, [out, in]


def first_filters_flat(model) -> tuple[float, ...]:
    """Block 1's filters as C₁·k·k plain floats (filter by filter, row by row), for an event and the
    run store; () for a network this program does not show. `first_filters_shape` says how they fold."""
    try:
        conv1 = _checked(model).convs[0]
    except NotShowable:
        return ()
    return tuple(_numpy(conv1.weight[:, 0]).reshape(-1).tolist())


def first_filters_shape(model) -> tuple[int, ...]:
    """(C₁, k, k): the shape of block 1's filters, as `first_filters_flat` flattens them; () for a
    network this program does not show."""
    try:
        shape = network_shape(model)
    except NotShowable:
        return ()
    return (shape.channels[0], shape.kernel, shape.kernel)


def network_filters(model) -> Filters:
    convs = _checked(model).convs
    strengths = tuple(_numpy(torch.linalg.vector_norm(conv.weight.float(), dim=(2, 3))) for conv in convs[1:])
    return Filters(first=_numpy(convs[0].weight[:, 0]), first_bias=_numpy(convs[0].bias), strengths=strengths)
