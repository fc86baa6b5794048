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
    dtype, device = images.dtype, images.device
    mass = images.sum(dim=(1, 2, 3)).clamp_min(1e-6)
    rows = torch.arange(height, dtype=dtype, device=device).view(1, 1, height, 1)
    columns = torch.arange(width, dtype=dtype, device=device).view(1, 1, 1, width)
    centre_row = (images * rows).sum(dim=(1, 2, 3)) / mass
    centre_column = (images * columns).sum(dim=(1, 2, 3)) / mass
    dy = rows - centre_row.view(n, 1, 1, 1)
    dx = columns - centre_column.view(n, 1, 1, 1)
    mu11 = (images * dy * dx).sum(dim=(1, 2, 3)) / mass
    mu02 = (images * dy * dy).sum(dim=(1, 2, 3)) / mass
    slant = (mu11 / mu02.clamp_min(1e-6)).clamp(-MAX_SLANT, MAX_SLANT)
    # The sampling grid maps each output pixel to where it reads the input, in [-1, 1] coordinates
    # (align_corners=False): x_in = x_out + α (y_out - ȳ), with both axes scaled alike on a square image.
    centre_y = (2 * centre_row + 1) / height - 1
    theta = torch.zeros(n, 2, 3, dtype=dtype, device=device)
    theta[:, 0, 0] = 1
    theta[:, 0, 1] = slant * height / width
    theta[:, 0, 2] = -slant * centre_y * height / width
    theta[:, 1, 1] = 1
    grid = F.affine_grid(theta, [n, 1, height, width], align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


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
