"""Compact CNN over a normalised log-mel ``[batch, n_mels, n_frames]``.

Four stages of two 3×3 conv + BatchNorm + ReLU, each but the last followed by 2×2 pooling, then
mean+max pooling over time and frequency into an embedding, so any number of frames works. Two sizes
(``SIZES``): base, about 0.33 M parameters, and small, about a quarter of that for the weakest nodes.
"""

from __future__ import annotations

import torch
from torch import nn

# size name -> (stage widths, embedding width); base is the network shipped before sizes existed.
SIZES: dict[str, tuple[tuple[int, ...], int]] = {
    "small": ((8, 16, 32, 64), 64),
    "base": ((16, 32, 64, 128), 128),
}


def cnn_widths(size: str, channels: list[int] | None = None,
               embedding_dim: int | None = None) -> tuple[tuple[int, ...], int]:
    """(stage widths, embedding width) for ``size``; explicit ``channels`` / ``embedding_dim`` override it."""
    if size not in SIZES:
        raise ValueError(f"unknown CNN size {size!r}; choose one of: {', '.join(SIZES)}")
    default_channels, default_embedding = SIZES[size]
    widths = tuple(int(c) for c in channels) if channels else default_channels
    return widths, int(embedding_dim) if embedding_dim else default_embedding


def _stage(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
    )


class CompactCNN(nn.Module):
    """``forward(features) -> (logits [batch, n_classes], embedding [batch, embedding_dim])``."""

    def __init__(self, *, n_classes: int, channels: tuple[int, ...] = SIZES["base"][0],
                 embedding_dim: int = SIZES["base"][1], dropout: float = 0.2):
        super().__init__()
        stages, c_in = [], 1
        for i, c in enumerate(channels):
            stages.append(_stage(c_in, c))
            if i < len(channels) - 1:
                stages.append(nn.MaxPool2d(2))
            c_in = c
        self.body = nn.Sequential(*stages)
        self.embed = nn.Sequential(nn.Linear(2 * c_in, embedding_dim), nn.ReLU(inplace=True))
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(embedding_dim, n_classes)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(features.unsqueeze(1))
        pooled = torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)
        embedding = self.embed(pooled)
        return self.head(self.dropout(embedding)), embedding
