"""Two-pass split-window (TPSW) background and the dB excess over it, as torch ops (Conv/Min/Div/Log/Clip).

The same numbers as ``acoustics.frontend.filters.tpsw_background`` and ``excess_db``: the split window is a
fixed conv1d kernel (ones with a zero centre gap) over zero-padded bins, divided by a precomputed count of
the bins inside, so the graph holds no data-dependent shapes. A direct kernel rather than a difference of
average pools: a line 40 dB above its neighbours would otherwise cancel away float32 precision.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from uwac.acoustics.frontend.config import SILENCE_POWER
from uwac.acoustics.frontend.filters import split_window_kernel


class ExcessOverBackground(nn.Module):
    """Power ``[..., bins]`` → dB over its TPSW background on the kept bins, clipped, / 10.

    ``bins``: the computed bins (fixed); ``kept``: the slice of them returned; ``half``, ``gap``, ``clip``: the
    split window (bins) and pass-2 clipping factor; ``floor_rel``: ε relative to each frame's mean kept power.
    """

    def __init__(self, *, bins: int, kept: slice, half: int, gap: int, clip: float, floor_rel: float,
                 clip_db: tuple[float, float]):
        super().__init__()
        self.half, self.kept, self.clip, self.floor_rel = half, kept, float(clip), float(floor_rel)
        self.clip_db = (float(clip_db[0]), float(clip_db[1]))
        kernel = split_window_kernel(half, gap)
        counts = np.convolve(np.ones(bins), kernel, mode="same")
        self.register_buffer("kernel", torch.from_numpy(kernel).float().view(1, 1, -1), persistent=False)
        self.register_buffer("inv_counts", torch.from_numpy(1.0 / counts).float(), persistent=False)

    def split_mean(self, power: torch.Tensor) -> torch.Tensor:
        """Split-window mean of ``power [..., bins]`` over the bins inside the padded window."""
        flat = power.reshape(-1, 1, power.shape[-1])
        sums = nn.functional.conv1d(flat, self.kernel, padding=self.half)
        return sums.reshape(power.shape) * self.inv_counts

    def forward(self, power: torch.Tensor) -> torch.Tensor:
        first = self.split_mean(power)
        background = self.split_mean(torch.minimum(power, self.clip * first))
        p, b = power[..., self.kept], background[..., self.kept]
        eps = torch.clamp_min(self.floor_rel * p.mean(dim=-1, keepdim=True), SILENCE_POWER)
        db = (10.0 / math.log(10.0)) * torch.log((p + eps) / (b + eps))
        return db.clamp(*self.clip_db) / 10.0
