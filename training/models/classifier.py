"""Front-end + network as one module: audio in, (logits, probabilities, embedding) out.

This is the module that is trained and exported; its outputs are the model contract's outputs.
"""

from __future__ import annotations

import torch
from torch import nn

from acoustics.features import FrontendConfig
from training.config import ModelConfig
from training.frontend import LogMelFrontend
from training.models.cnn import CompactCNN


def build_net(cfg: ModelConfig, *, n_classes: int) -> nn.Module:
    """The network named by ``cfg.name``; a clear error for a family this version does not have."""
    if cfg.name == "cnn":
        return CompactCNN(n_classes=n_classes, channels=tuple(cfg.channels),
                          embedding_dim=cfg.embedding_dim, dropout=cfg.dropout)
    raise ValueError(f"unknown model family {cfg.name!r}; this version has: cnn")


class Classifier(nn.Module):
    """``forward(audio [batch, samples]) -> (logits, probabilities, embedding)``."""

    def __init__(self, frontend: LogMelFrontend, net: nn.Module):
        super().__init__()
        self.frontend = frontend
        self.net = net

    def classify_features(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        logits, embedding = self.net(features)
        return logits, torch.softmax(logits, dim=-1), embedding

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.classify_features(self.frontend(audio))


def build_classifier(frontend_cfg: FrontendConfig, model_cfg: ModelConfig, *, n_classes: int) -> Classifier:
    """Front-end and network for ``n_classes`` outputs, freshly initialised."""
    return Classifier(LogMelFrontend(frontend_cfg), build_net(model_cfg, n_classes=n_classes))
