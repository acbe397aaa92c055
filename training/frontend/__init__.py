"""Torch front-ends, numerically the numpy references in ``acoustics`` and exportable as plain ONNX ops.

:class:`LogMelFrontend` (the log-mel alone, as the first models heard) and :class:`PhysicsFrontend` (log-mel,
LOFAR and DEMON branches: what a sonar analyst reads). :func:`build_frontend` picks the one a network needs.
"""

from __future__ import annotations

from torch import nn

from uwac.acoustics.frontend.config import FrontendConfig
from uwac.training.frontend.dft import BandPowerDFT, dft_split, frame_rows
from uwac.training.frontend.mel import LogMelFrontend, dft_kernels, factored_tables
from uwac.training.frontend.physics import PhysicsFrontend

__all__ = ["BandPowerDFT", "LogMelFrontend", "PhysicsFrontend", "build_frontend", "dft_kernels", "dft_split",
           "factored_tables", "frame_rows"]


def build_frontend(cfg: FrontendConfig, *, multi_branch: bool) -> nn.Module:
    """:class:`PhysicsFrontend` for a network that reads several branches (``multi_branch``), else the log-mel."""
    return PhysicsFrontend(cfg) if multi_branch else LogMelFrontend(cfg)
