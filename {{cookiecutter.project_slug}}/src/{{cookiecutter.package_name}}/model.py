"""The network: a small convolutional classifier for 8×8 single-channel images."""

from __future__ import annotations

import torch
from torch import nn


class ConvNet(nn.Module):
    """Two 3×3 convolutions, one 2×2 pooling, then a two-layer classifier head."""

    def __init__(self, num_classes: int = 10, channels: int = 32, hidden: int = 128) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, channels, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(channels, 2 * channels, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(2 * channels * 4 * 4, hidden),
            nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Map a batch of images (N, 1, 8, 8) to class logits (N, num_classes)."""
        logits: torch.Tensor = self.head(self.features(images))
        return logits
