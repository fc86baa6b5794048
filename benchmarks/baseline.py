"""A straight PyTorch port of the seed, kept as the speed baseline.

What a first port would write: NCHW tensors, conv → relu → maxpool in the seed's order, the
default Adam, fresh noise drawn for each batch, and the whole 10,000-image test set evaluated as
one batch. Same architecture, initialisation, loss and minibatches as the project, so the two
train to the same accuracies within seed noise; only the speed differs.
"""

from __future__ import annotations

import time
from typing import Iterator

import torch
from torch import nn
from torch.nn import functional as F


class SeedNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.conv3 = nn.Conv2d(32, 32, 3, padding=1)
        self.fc = nn.Linear(288, 10)
        for layer in (self.conv1, self.conv2, self.conv3, self.fc):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.max_pool2d(F.relu(self.conv3(x)), 2)
        return self.fc(x.flatten(1))


def accuracy(model, images, labels) -> float:
    with torch.no_grad():
        return float((model(images).argmax(1) == labels).float().mean())


def train_epochs(data, epochs: int, seed: int, lr: float = 3e-3, batch_size: int = 128, noise_std: float = 0.1) -> Iterator[dict]:
    """Yield one dict per epoch: accuracy, training seconds, evaluation seconds, per-batch seconds."""
    torch.manual_seed(seed)
    model = SeedNet()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    images, labels = data.train_images, data.train_labels
    for epoch in range(1, epochs + 1):
        batch_seconds = []
        start = time.perf_counter()
        for i in range(0, len(labels), batch_size):
            t = time.perf_counter()
            x = images[i : i + batch_size]
            x = x + noise_std * torch.randn_like(x)
            loss = F.cross_entropy(model(x), labels[i : i + batch_size])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            batch_seconds.append(time.perf_counter() - t)
        train_seconds = time.perf_counter() - start
        t = time.perf_counter()
        acc = accuracy(model, data.test_images, data.test_labels)
        yield {"epoch": epoch, "accuracy": acc, "train_seconds": train_seconds,
               "eval_seconds": time.perf_counter() - t, "batch_seconds": batch_seconds}
