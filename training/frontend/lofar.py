"""LOFAR branch in torch: block-matmul decimation, Pad/Slice/Reshape frames, band-limited factored DFT, TPSW.

Numerically the numpy reference ``acoustics.frontend.lofar_gram`` (parity ≤ 1e-4); its filter and tables are
built from the same designs. Output ``[batch, frames, kept bins]``, dB over background / 10.
"""

from __future__ import annotations

import torch
from torch import nn

from uwac.acoustics.frontend.bins import lofar_bins
from uwac.acoustics.frontend.config import FrontendConfig
from uwac.acoustics.frontend.filters import hann_window
from uwac.acoustics.frontend.lofar_gram import decimation_taps
from uwac.training.frontend.background import ExcessOverBackground
from uwac.training.frontend.dft import BandPowerDFT, StridedFIR, frame_rows


class LofarBranch(nn.Module):
    """Audio ``[batch, samples]`` at the model rate → LOFARgram ``[batch, frames, bins]``."""

    def __init__(self, cfg: FrontendConfig):
        super().__init__()
        lo = cfg.lofar
        self.decimation, self.n_fft, self.hop = lo.decimation, lo.n_fft, lo.hop
        first, last, start, stop = lofar_bins(cfg)
        self.decimate = StridedFIR(decimation_taps(cfg), stride=lo.decimation, squeeze=True)
        self.register_buffer("window", torch.from_numpy(hann_window(lo.n_fft)).float(), persistent=False)
        self.dft = BandPowerDFT(lo.n_fft, start, stop)
        self.excess = ExcessOverBackground(bins=stop - start, kept=slice(first - start, last - start + 1),
                                           half=lo.tpsw_half_bins, gap=lo.tpsw_gap_bins, clip=lo.tpsw_clip,
                                           floor_rel=lo.floor_rel, clip_db=lo.clip_db)

    def signal(self, audio: torch.Tensor) -> torch.Tensor:
        """The decimated signal ``[batch, samples / decimation]`` the frames are cut from (what a stream keeps)."""
        return self.decimate(audio)

    def frames_of(self, signal: torch.Tensor) -> torch.Tensor:
        """Hann-windowed frames ``[batch, frames, n_fft]`` of a decimated signal."""
        return frame_rows(signal, self.n_fft, self.hop) * self.window

    def frames(self, audio: torch.Tensor) -> torch.Tensor:
        """Decimated, Hann-windowed frames ``[batch, frames, n_fft]``."""
        return self.frames_of(self.signal(audio))

    def from_signal(self, signal: torch.Tensor) -> torch.Tensor:
        """The LOFARgram of a decimated signal (:meth:`signal`): ``forward`` = ``from_signal ∘ signal``."""
        return self.excess(self.dft(self.frames_of(signal)))

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.from_signal(self.signal(audio))

    def fast(self, audio: torch.Tensor) -> torch.Tensor:
        """The same through ``torch.fft`` (training on CPU)."""
        return self.excess(self.dft.power_fft(self.frames(audio)))
