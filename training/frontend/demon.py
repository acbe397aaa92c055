"""DEMON branch in torch: complex band-pass as one block matmul (real and imaginary taps per band), square-law
envelope, block-matmul low-pass, frames, band-limited factored DFT, TPSW.

Numerically the numpy reference ``acoustics.frontend.demon_gram`` (parity ≤ 1e-4). Output
``[batch, bands, frames, kept bins]``, dB over background / 10.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from uwac.acoustics.frontend.bins import demon_bins
from uwac.acoustics.frontend.config import FrontendConfig
from uwac.acoustics.frontend.demon_gram import carrier_taps, envelope_taps
from uwac.acoustics.frontend.filters import hann_window
from uwac.training.frontend.background import ExcessOverBackground
from uwac.training.frontend.dft import BandPowerDFT, StridedFIR, frame_rows


class DemonBranch(nn.Module):
    """Audio ``[batch, samples]`` at the model rate → DEMON gram ``[batch, bands, frames, bins]``."""

    def __init__(self, cfg: FrontendConfig):
        super().__init__()
        dm = cfg.demon
        self.bands, self.stride, self.decimation = len(dm.bands_hz), dm.carrier_stride, dm.envelope_decimation
        self.n_fft, self.hop = dm.n_fft, dm.hop
        taps = carrier_taps(cfg)  # complex [bands, taps]: rows re0, im0, re1, im1, ...
        self.carrier = StridedFIR(np.stack([taps.real, taps.imag], axis=1).reshape(2 * self.bands, -1),
                                  stride=dm.carrier_stride, block=8)
        self.envelope_fir = StridedFIR(envelope_taps(cfg), stride=dm.envelope_decimation, block=8, squeeze=True)
        self.register_buffer("window", torch.from_numpy(hann_window(dm.n_fft)).float(), persistent=False)
        first, last, start, stop = demon_bins(cfg)
        self.dft = BandPowerDFT(dm.n_fft, start, stop)
        self.excess = ExcessOverBackground(bins=stop - start, kept=slice(first - start, last - start + 1),
                                           half=dm.tpsw_half_bins, gap=dm.tpsw_gap_bins, clip=dm.tpsw_clip,
                                           floor_rel=dm.floor_rel, clip_db=dm.clip_db)

    def envelopes(self, audio: torch.Tensor) -> torch.Tensor:
        """Decimated square-law envelope of each band ``[batch, bands, samples]``."""
        z = self.carrier(audio)                                       # [b, 2·bands, n]: re, im per band
        power = z.square().unflatten(1, (self.bands, 2)).sum(dim=2)  # re² + im²
        return self.envelope_fir(power)                               # the same low-pass on every band

    def signal(self, audio: torch.Tensor) -> torch.Tensor:
        """The envelopes the frames are cut from (:meth:`envelopes`; what a stream keeps)."""
        return self.envelopes(audio)

    def frames_of(self, envelopes: torch.Tensor) -> torch.Tensor:
        """Mean-removed, Hann-windowed frames ``[batch, bands, frames, n_fft]`` of envelopes."""
        frames = frame_rows(envelopes, self.n_fft, self.hop)
        return (frames - frames.mean(dim=-1, keepdim=True)) * self.window

    def frames(self, audio: torch.Tensor) -> torch.Tensor:
        """Mean-removed, Hann-windowed envelope frames ``[batch, bands, frames, n_fft]``."""
        return self.frames_of(self.envelopes(audio))

    def from_signal(self, envelopes: torch.Tensor) -> torch.Tensor:
        """The DEMON gram of envelopes (:meth:`signal`): ``forward`` = ``from_signal ∘ signal``."""
        return self.excess(self.dft(self.frames_of(envelopes)))

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.from_signal(self.signal(audio))

    def fast(self, audio: torch.Tensor) -> torch.Tensor:
        """The same through ``torch.fft`` (training on CPU)."""
        return self.excess(self.dft.power_fft(self.frames(audio)))
