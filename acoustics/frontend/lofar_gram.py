"""LOFAR branch (numpy reference): tonals at ≤ 1/3 Hz over 10 Hz–1 kHz, in dB over their local background.

Audio at the model rate → Kaiser low-pass and decimate (a strided FIR) → Hann frames of ``n_fft`` decimated
samples every ``hop`` → |DFT|² of the bins around the kept band → two-pass split-window background → each kept
bin's excess in dB (clipped, / 10). Shaft, blade, firing and generator lines hold their frequency for minutes
(drift ≤ ~0.5 %, physics.md §2), so they stand out in every frame; a call sweeps out of a 3-s bin.
"""

from __future__ import annotations

import numpy as np

from uwac.acoustics.frontend import filters
from uwac.acoustics.frontend.bins import lofar_bins
from uwac.acoustics.frontend.config import FrontendConfig


def lofar_min_samples(cfg: FrontendConfig) -> int:
    """Fewest model-rate samples that give one LOFAR frame."""
    lo = cfg.lofar
    return (lo.n_fft - 1) * lo.decimation + lo.fir_taps


def lofar_frames(n_samples: int, cfg: FrontendConfig) -> int:
    """LOFAR frames in ``n_samples`` model-rate samples (0 when shorter than one)."""
    lo = cfg.lofar
    if n_samples < lofar_min_samples(cfg):
        return 0
    decimated = (n_samples - lo.fir_taps) // lo.decimation + 1
    return 1 + (decimated - lo.n_fft) // lo.hop


def decimation_taps(cfg: FrontendConfig) -> np.ndarray:
    """The anti-alias low-pass applied before decimating, at the model rate."""
    lo = cfg.lofar
    return filters.lowpass_taps(lo.fir_taps, lo.fir_cutoff_hz, cfg.sample_rate, lo.fir_beta)


def lofar_power(audio: np.ndarray, cfg: FrontendConfig) -> np.ndarray:
    """|DFT|² of the computed bins (:func:`lofar_bins`), ``[..., frames, bins]`` in full scale²."""
    lo = cfg.lofar
    x = filters.strided_fir(np.asarray(audio, dtype=np.float64), decimation_taps(cfg), lo.decimation)
    return filters.band_power(filters.framed(x, lo.n_fft, lo.hop) * filters.hann_window(lo.n_fft), lofar_bins(cfg))


def lofar_gram(audio: np.ndarray, cfg: FrontendConfig) -> np.ndarray:
    """LOFARgram ``[..., frames, kept bins]``: dB over the TPSW background, clipped to ``clip_db``, / 10."""
    return filters.gram_over_background(lofar_power(audio, cfg), cfg.lofar, lofar_bins(cfg))
