"""Compact CNN over a normalised log-mel ``[batch, n_mels, n_frames]``.

Four stages of two 3×3 conv + BatchNorm + ReLU, each followed by 2×2 pooling, then mean+max
pooling over time and frequency into an embedding. About 0.33 M parameters at the default widths:
small enough for a node's CPU, wide enough to separate tonal structure from broadband texture.
"""

from __future__ import annotations

import torch
from torch import nn


def _stage(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
    )


class CompactCNN(nn.Module):
    """``forward(features) -> (logits [batch, n_classes], embedding [batch, embedding_dim])``."""

    def __init__(self, *, n_classes: int, channels: tuple[int, ...] = (16, 32, 64, 128),
                 embedding_dim: int = 128, dropout: float = 0.2):
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
