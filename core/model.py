"""The seed's ConvNet: three conv3x3 → relu → maxpool2 blocks (1→16→32→32), then dense → 10 logits."""

import torch
from torch import nn
from torch.nn import functional as F


class ConvNet(nn.Module):
    def __init__(self, image_size: tuple[int, int] = (28, 28), in_channels: int = 1, num_classes: int = 10):
        super().__init__()
        self.image_size = tuple(image_size)
        self.in_channels = in_channels
        self.num_classes = num_classes
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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The seed is conv → relu → maxpool. ReLU is monotone, so max-pooling first gives the
        # same values and the same gradients, on a quarter of the elements.
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2(x), 2))
        x = F.relu(F.max_pool2d(self.conv3(x), 2))
        return self.fc(torch.flatten(x, 1))


def build_model(image_size: tuple[int, int] = (28, 28), num_classes: int = 10, in_channels: int = 1) -> ConvNet:
    return ConvNet(image_size=image_size, in_channels=in_channels, num_classes=num_classes)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
