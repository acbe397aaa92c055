"""Two-pass split-window (TPSW) background and the dB excess over it, as torch ops (Pad/AveragePool/Min/Div/Log).

The same numbers as ``acoustics.frontend.filters.tpsw_background`` and ``excess_db``: the split window (ones
with a zero centre gap, over zero-padded bins) is the sum of two boxes, one each side of the gap, read from
one box average over the padded bins at two offsets, then divided by a precomputed count of the bins inside,
so the graph holds no data-dependent shapes. Two boxes that both leave the centre out, not a wide box minus a
narrow one: a line 40 dB above its neighbours would otherwise cancel away float32 precision. A box average is a
single pooling op; the 1-channel conv it replaces ran as a matrix-vector product, several times slower.
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
        if not 0 <= gap < half:
            raise ValueError(f"split window of ±{half} bins with a ±{gap}-bin gap: the gap must be narrower")
        self.half, self.kept, self.clip, self.floor_rel = half, kept, float(clip), float(floor_rel)
        self.box, self.right = half - gap, half + gap + 1  # each side's width; the right box's offset
        self.clip_db = (float(clip_db[0]), float(clip_db[1]))
        kernel = split_window_kernel(half, gap)
        counts = np.convolve(np.ones(bins), kernel, mode="same")
        self.register_buffer("inv_counts", torch.from_numpy(self.box / counts).float(), persistent=False)

    def split_mean(self, power: torch.Tensor) -> torch.Tensor:
        """Split-window mean of ``power [..., bins]`` over the bins inside the padded window."""
        n = power.shape[-1]
        flat = nn.functional.pad(power.reshape(-1, 1, n), (self.half, self.half))
        boxes = nn.functional.avg_pool1d(flat, self.box, stride=1)  # box j: mean of padded bins j..j+box−1
        means = boxes[..., :n] + boxes[..., self.right: self.right + n]  # left and right of each bin's gap
        return means.reshape(power.shape) * self.inv_counts

    def forward(self, power: torch.Tensor) -> torch.Tensor:
        first = self.split_mean(power)
        background = self.split_mean(torch.minimum(power, self.clip * first))
        p, b = power[..., self.kept], background[..., self.kept]
        eps = torch.clamp_min(self.floor_rel * p.mean(dim=-1, keepdim=True), SILENCE_POWER)
        db = (10.0 / math.log(10.0)) * torch.log((p + eps) / (b + eps))
        return db.clamp(*self.clip_db) / 10.0
