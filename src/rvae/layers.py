"""Building blocks shared by the encoders and decoders."""

from __future__ import annotations

import torch
from torch import nn


class ResidualBlock(nn.Module):
    """ReLU, 3x3 conv, ReLU, 1x1 conv, plus the skip (paper Appendix C).

    Each instance owns its weights: stacks are built with fresh blocks, never ``[block] * n``
    (the prototype's bug, which silently tied every layer of a stack together).
    """

    def __init__(self, channels: int, hidden: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(channels, hidden, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(hidden, channels, kernel_size=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def down(in_channels: int, out_channels: int) -> nn.Conv2d:
    """Stride-2 convolution that halves height and width exactly."""
    return nn.Conv2d(in_channels, out_channels, kernel_size=4, stride=2, padding=1)


def up(in_channels: int, out_channels: int) -> nn.ConvTranspose2d:
    """Stride-2 transposed convolution that doubles height and width exactly (mirror of ``down``)."""
    return nn.ConvTranspose2d(in_channels, out_channels, kernel_size=4, stride=2, padding=1)


def mlp(sizes: list[int], final_activation: bool) -> nn.Sequential:
    """Fully connected stack with ReLU between layers."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if final_activation or i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)
