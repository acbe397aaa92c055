"""Front-end + network as one module: audio in, (logits, probabilities, embedding) out.

This is the module that is trained and exported; its outputs are the model contract's outputs.
"""

from __future__ import annotations

import torch
from torch import nn

from acoustics.features import FrontendConfig
from training.config import ModelConfig
from training.frontend import LogMelFrontend
from training.models.cnn import CompactCNN, cnn_widths
from training.models.transformer import PatchTransformer

FAMILIES = ("cnn", "transformer")


def build_net(cfg: ModelConfig, *, n_classes: int, n_mels: int) -> nn.Module:
    """The network named by ``cfg.name`` over ``[batch, n_mels, n_frames]`` features; ``ValueError`` if unknown.

    The returned module carries ``family``, a short label such as ``cnn/base`` for logs and summaries.
    """
    if cfg.name == "cnn":
        channels, embedding_dim = cnn_widths(cfg.size, cfg.channels, cfg.embedding_dim)
        net = CompactCNN(n_classes=n_classes, channels=channels, embedding_dim=embedding_dim, dropout=cfg.dropout)
        custom = cfg.channels or cfg.embedding_dim
        net.family = f"cnn/{cfg.size}" if not custom else f"cnn/{'-'.join(map(str, channels))}/{embedding_dim}"
        return net
    if cfg.name == "transformer":
        net = PatchTransformer(n_classes=n_classes, n_mels=n_mels, patch=tuple(cfg.patch),
                               patch_stride=tuple(cfg.patch_stride), dim=cfg.dim, depth=cfg.depth,
                               heads=cfg.heads, mlp_ratio=cfg.mlp_ratio, dropout=cfg.dropout)
        net.family = f"transformer/d{cfg.dim}x{cfg.depth}"
        return net
    raise ValueError(f"unknown model family {cfg.name!r} (model.name); this version has: {', '.join(FAMILIES)}")


class Classifier(nn.Module):
    """``forward(audio [batch, samples]) -> (logits, probabilities, embedding)``.

    ``probabilities = softmax(logits / temperature)``: the temperature (1 until calibrated) is fitted on the
    validation split after training (``training/calibration.py``) and travels inside the exported graph, so
    every consumer of the file gets calibrated probabilities. ``logits`` stay raw.
    """

    def __init__(self, frontend: LogMelFrontend, net: nn.Module):
        super().__init__()
        self.frontend = frontend
        self.net = net
        self.register_buffer("temperature", torch.ones(()))

    def classify_features(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        logits, embedding = self.net(features)
        return logits, torch.softmax(logits / self.temperature, dim=-1), embedding

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.classify_features(self.frontend(audio))


def build_classifier(frontend_cfg: FrontendConfig, model_cfg: ModelConfig, *, n_classes: int) -> Classifier:
    """Front-end and network for ``n_classes`` outputs, freshly initialised."""
    return Classifier(LogMelFrontend(frontend_cfg),
                      build_net(model_cfg, n_classes=n_classes, n_mels=frontend_cfg.n_mels))
