"""A straight PyTorch port of the seed, kept as the speed baseline.

    python benchmarks/baseline.py [--epochs 20] [--seed 0] [--data-dir DIR] [--savepath DIR]

As a command it is what a first port's script would be, whole process: torchvision reads the four
IDX files (torchvision.datasets.MNIST, from the same folder as mnistconv), then the loop below
trains, printing the seed's log lines and saving the model whenever accuracy ≥ the best so far.

What a first port would write: NCHW tensors, conv → relu → maxpool in the seed's order, the
default Adam, fresh noise drawn for each batch, and the whole 10,000-image test set evaluated as
one batch. Same architecture, initialisation, loss and minibatches as the project, so the two
train to the same accuracies within seed noise; only the speed differs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Iterator, NamedTuple

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
               "eval_seconds": time.perf_counter() - t, "batch_seconds": batch_seconds, "model": model}


class PortData(NamedTuple):
    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor


def load_with_torchvision(data_dir: str) -> PortData:
    """MNIST as a first port reads it: torchvision's dataset class over the files in DIR/MNIST/raw."""
    from torchvision.datasets import MNIST

    train, test = MNIST(data_dir, train=True), MNIST(data_dir, train=False)
    return PortData(train.data.unsqueeze(1).float() / 255, train.targets, test.data.unsqueeze(1).float() / 255, test.targets)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The straight port of the seed, as a command.")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=os.environ.get("MNISTCONV_DATA", os.path.expanduser("~/.cache/mnistconv")))
    parser.add_argument("--savepath", default=".")
    args = parser.parse_args(argv)
    print(f"Loading data set from {args.data_dir}", flush=True)
    data = load_with_torchvision(args.data_dir)
    print("Building model...", flush=True)
    print("Beginning training loop...", flush=True)  # train_epochs builds the model and starts at once
    best = 0.0
    for result in train_epochs(data, args.epochs, args.seed):
        print(f"[{result['epoch']}]: Test accuracy: {result['accuracy']:.4f}", flush=True)
        if result["accuracy"] >= best:
            best = result["accuracy"]
            path = os.path.join(args.savepath, "mnist_conv.pt")
            print(f" -> New best accuracy! Saving model out to {path}", flush=True)
            torch.save({"model": result["model"].state_dict(), "epoch": result["epoch"], "accuracy": best}, path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
