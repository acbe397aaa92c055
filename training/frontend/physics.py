"""The physics front-end: every enabled branch of ``cfg.branches`` (log-mel, LOFAR, DEMON) from one audio batch.

``forward`` is what is exported (plain Conv/MatMul/Pad/Slice/Reshape/Log ops); ``fast`` gives the same numbers
through ``torch.fft`` / ``torch.stft`` for training on CPU. Both return ``{branch: tensor}``.
"""

from __future__ import annotations

import torch
from torch import nn

from uwac.acoustics.frontend.config import FrontendConfig
from uwac.training.frontend.demon import DemonBranch
from uwac.training.frontend.lofar import LofarBranch
from uwac.training.frontend.mel import LogMelFrontend


class PhysicsFrontend(nn.Module):
    """Audio ``[batch, samples]`` (full scale) → ``{"mel": [b, mels, frames], "lofar": [b, frames, bins],
    "demon": [b, bands, frames, bins]}`` for the branches ``cfg.branches`` names."""

    def __init__(self, cfg: FrontendConfig):
        super().__init__()
        self.cfg = cfg.validate()
        self.branches = tuple(cfg.branches)
        self.mel = LogMelFrontend(cfg) if "mel" in self.branches else None
        self.lofar = LofarBranch(cfg) if "lofar" in self.branches else None
        self.demon = DemonBranch(cfg) if "demon" in self.branches else None

    def forward(self, audio: torch.Tensor) -> dict[str, torch.Tensor]:
        return {name: getattr(self, name)(audio) for name in self.branches}

    def fast(self, audio: torch.Tensor) -> dict[str, torch.Tensor]:
        """:meth:`forward` through the FFT paths (training)."""
        return {name: getattr(self, name).fast(audio) for name in self.branches}
