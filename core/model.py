"""The seed's ConvNet: three conv3x3 → relu → maxpool2 blocks (1→16→32→32), then dense → 10 logits.

A network may deskew its input first (`deskew=True`): each 28×28 image is sheared so that its ink
stands upright, as measured by its second moments, before the first block. The stage has no
weights (the network keeps its 16,938 parameters) and runs inside `forward`, so every path that
reads with the model (training, the test set, the sketchpad, fitting, ONNX) deskews alike. The seed
recipe's network does not.
"""

import torch
from torch import nn
from torch.nn import functional as F

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
    def __init__(self, image_size: tuple[int, int] = (28, 28), in_channels: int = 1, num_classes: int = 10,
                 deskew: bool = False):
        super().__init__()
        self.image_size = tuple(image_size)
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.deskew = deskew
        self.conv1 = nn.Conv2d(in_channels, 16, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, kernel_size=3, padding=1)
        self.conv3 = nn.Conv2d(32, 32, kernel_size=3, padding=1)
        # Three 2×2 pools with floor: 28 → 14 → 7 → 3, so 3·3·32 = 288 features.
        height, width = self.image_size
        self.fc = nn.Linear((height // 8) * (width // 8) * 32, num_classes)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # Flux's defaults, as the seed used them: Glorot-uniform weights, zero biases.
        for layer in (self.conv1, self.conv2, self.conv3, self.fc):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """The input as the first block sees it: deskewed, for a network that deskews."""
        return deskew(x) if self.deskew else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.read(self.prepare(x))

    def read(self, x: torch.Tensor) -> torch.Tensor:
        """The logits of prepared input: the three blocks and the dense layer."""
        # The seed is conv → relu → maxpool. ReLU is monotone, so max-pooling first gives the
        # same values and the same gradients, on a quarter of the elements.
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2(x), 2))
        x = F.relu(F.max_pool2d(self.conv3(x), 2))
        return self.fc(torch.flatten(x, 1))


def build_model(image_size: tuple[int, int] = (28, 28), num_classes: int = 10, in_channels: int = 1,
                deskew: bool = False) -> ConvNet:
    return ConvNet(image_size=image_size, in_channels=in_channels, num_classes=num_classes, deskew=deskew)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
