"""The seed's ConvNet: three conv3x3 → relu → maxpool2 blocks (1→16→32→32), then dense → 10 logits;
and the family of networks of its kind that core.shape bounds (1–4 blocks, 3×3 or 5×5, a hidden layer).

A network may deskew its input first (`deskew=True`): each 28×28 image is sheared so that its ink
stands upright, as measured by its second moments, before the first block. The stage has no
weights (the network keeps its 16,938 parameters) and runs inside `forward`, so every path that
reads with the model (training, the test set, the sketchpad, fitting, ONNX) deskews alike. The seed
recipe's network does not.
"""

import torch
from torch import nn
from torch.nn import functional as F

from .shape import SEED_SHAPE, NetworkShape

MAX_SLANT = 1.0  # the largest shear undone: x moves at most one pixel per pixel of height


def deskew(images: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) images with each one's slant removed: the shear x' = x + α(y - ȳ) that makes its
    ink's second moment μ₁₁ zero, keeping the centre row ȳ in place (α clamped to ±MAX_SLANT; an
    image without ink is unchanged)."""
    n, _, height, width = images.shape
    # Every moment at once: the ink against 1, y, x, y² and xy (a sketchpad reading is one image, so
    # the number of operations matters more than their size).
    # Coordinates from the image's middle keep E[y²] - ȳ² from cancelling away float32's digits.
    sums = images.reshape(n, height * width) @ _moment_basis(height, width, images.dtype, images.device)
    mass = sums[:, 0].clamp_min(1e-6)
    mean_row, mean_column = sums[:, 1] / mass, sums[:, 2] / mass
    mu02 = sums[:, 3] / mass - mean_row * mean_row
    mu11 = sums[:, 4] / mass - mean_row * mean_column
    centre_row = mean_row + (height - 1) / 2
    slant = (mu11 / mu02.clamp_min(1e-6)).clamp(-MAX_SLANT, MAX_SLANT)
    # The sampling grid maps each output pixel to where it reads the input, in [-1, 1] coordinates
    # (align_corners=False): x_in = x_out + α (y_out - ȳ), with both axes scaled alike on a square image.
    shear = slant * height / width
    centre_y = (2 * centre_row + 1) / height - 1
    one, zero = torch.ones_like(shear), torch.zeros_like(shear)
    theta = torch.stack([one, shear, -shear * centre_y, zero, one, zero], dim=1).view(n, 2, 3)
    grid = F.affine_grid(theta, [n, 1, height, width], align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


_BASES: dict = {}


def _moment_basis(height: int, width: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """(H·W, 5): each pixel's 1, y, x, y², xy (from the image's middle), made once per size, type and device."""
    key = (height, width, dtype, device)
    if key not in _BASES:
        rows = (torch.arange(height, dtype=torch.float64) - (height - 1) / 2).view(height, 1).expand(height, width)
        columns = (torch.arange(width, dtype=torch.float64) - (width - 1) / 2).view(1, width).expand(height, width)
        basis = torch.stack([torch.ones_like(rows), rows, columns, rows * rows, rows * columns], dim=-1)
        basis = basis.reshape(height * width, 5).to(dtype=dtype, device=device)
        if type(basis) is not torch.Tensor:
            return basis  # made while tracing (ONNX export): a stand-in tensor, not one to keep
        _BASES[key] = basis
    return _BASES[key]


class ConvNet(nn.Module):
    """A network of the seed's family (core.shape): its blocks, an optional hidden dense layer, the logits.

    The blocks are the attributes `conv1` … `convN` (the seed's names, so a seed-shaped model's weights
    are named as they always were); `convs` lists them in order."""

    def __init__(self, image_size: tuple[int, int] = (28, 28), in_channels: int = 1, num_classes: int = 10,
                 deskew: bool = False, shape: NetworkShape = SEED_SHAPE):
        super().__init__()
        self.image_size = tuple(image_size)
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.deskew = deskew
        self.shape = shape
        before = in_channels
        for block, count in enumerate(shape.channels, start=1):
            self.add_module(f"conv{block}", nn.Conv2d(before, count, kernel_size=shape.kernel, padding=shape.kernel // 2))
            before = count
        # Each 2×2 pool floors: 28 → 14 → 7 → 3 → 1, so the seed's three blocks leave 3·3·32 = 288 features.
        height, width = self.image_size
        for _ in shape.channels:
            height, width = height // 2, width // 2
        features = height * width * before
        self.hidden = nn.Linear(features, shape.hidden) if shape.hidden else None
        self.fc = nn.Linear(shape.hidden or features, num_classes)
        self.reset_parameters()

    @property
    def convs(self) -> tuple[nn.Conv2d, ...]:
        return tuple(getattr(self, f"conv{block}") for block in range(1, self.shape.blocks + 1))

    @property
    def dense_layers(self) -> tuple[nn.Linear, ...]:
        """The hidden layer (when there is one), then the one that gives the logits."""
        return (self.hidden, self.fc) if self.hidden is not None else (self.fc,)

    def reset_parameters(self) -> None:
        # Flux's defaults, as the seed used them: Glorot-uniform weights, zero biases.
        for layer in (*self.convs, *self.dense_layers):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """The input as the first block sees it: deskewed, for a network that deskews."""
        return deskew(x) if self.deskew else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.read(self.prepare(x))

    def blocks_of(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Each block's maps (after pooling and ReLU) for prepared input."""
        maps = []
        for conv in self.convs:
            # The seed is conv → relu → maxpool. ReLU is monotone, so max-pooling first gives the
            # same values and the same gradients, on a quarter of the elements.
            x = F.relu(F.max_pool2d(conv(x), 2))
            maps.append(x)
        return maps

    def read(self, x: torch.Tensor) -> torch.Tensor:
        """The logits of prepared input: the blocks and the dense layers."""
        for conv in self.convs:
            x = F.relu(F.max_pool2d(conv(x), 2))
        x = torch.flatten(x, 1)
        if self.hidden is not None:
            x = F.relu(self.hidden(x))
        return self.fc(x)


def build_model(image_size: tuple[int, int] = (28, 28), num_classes: int = 10, in_channels: int = 1,
                deskew: bool = False, shape: NetworkShape = SEED_SHAPE) -> ConvNet:
    return ConvNet(image_size=image_size, in_channels=in_channels, num_classes=num_classes, deskew=deskew, shape=shape)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
