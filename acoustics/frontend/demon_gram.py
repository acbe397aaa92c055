"""DEMON branch (numpy reference): cavitation's modulation spectrum per carrier band, in dB over background.

Per band: analytic band-pass (complex FIR) taken every ``carrier_stride`` samples → |·|² (square-law envelope) →
Kaiser low-pass and decimate to the envelope rate (250 Hz) → Hann frames (mean removed) → |DFT|² of the bins
around ``fmin``–``fmax`` → two-pass split-window background → dB excess (clipped, / 10). Shaft rate, its
harmonics up to the blade count and the blade-rate harmonics appear as lines (physics.md §3).
"""

from __future__ import annotations

import numpy as np

from uwac.acoustics.frontend import filters
from uwac.acoustics.frontend.bins import carrier_rate, demon_bins
from uwac.acoustics.frontend.config import FrontendConfig


def carrier_taps(cfg: FrontendConfig) -> np.ndarray:
    """Complex band-pass taps, complex128 ``[bands, carrier_taps]``."""
    dm = cfg.demon
    return np.stack([filters.analytic_bandpass_taps(dm.carrier_taps, band, cfg.sample_rate, dm.carrier_beta)
                     for band in dm.bands_hz])


def envelope_taps(cfg: FrontendConfig) -> np.ndarray:
    """The envelope's low-pass at the carrier rate, float64 ``[envelope_taps]``."""
    dm = cfg.demon
    return filters.lowpass_taps(dm.envelope_taps, dm.envelope_cutoff_hz, carrier_rate(cfg), dm.envelope_beta)


def demon_min_samples(cfg: FrontendConfig) -> int:
    """Fewest model-rate samples that give one DEMON frame."""
    dm = cfg.demon
    return ((dm.n_fft - 1) * dm.envelope_decimation + dm.envelope_taps - 1) * dm.carrier_stride + dm.carrier_taps


def envelopes(audio: np.ndarray, cfg: FrontendConfig) -> np.ndarray:
    """Decimated square-law envelope of every band, ``[..., bands, samples]`` (full scale²)."""
    dm = cfg.demon
    x = np.asarray(audio, dtype=np.float64)
    low = envelope_taps(cfg)
    out = []
    for taps in carrier_taps(cfg):
        z = filters.strided_fir(x, taps, dm.carrier_stride)
        out.append(filters.strided_fir(z.real ** 2 + z.imag ** 2, low, dm.envelope_decimation))
    return np.stack(out, axis=-2)


def demon_power(audio: np.ndarray, cfg: FrontendConfig) -> np.ndarray:
    """|DFT|² of the computed envelope bins, ``[..., bands, frames, bins]``; each frame's mean is removed first."""
    dm = cfg.demon
    frames = filters.framed(envelopes(audio, cfg), dm.n_fft, dm.hop)
    frames = frames - frames.mean(axis=-1, keepdims=True)
    return filters.band_power(frames * filters.hann_window(dm.n_fft), demon_bins(cfg))


def demon_gram(audio: np.ndarray, cfg: FrontendConfig) -> np.ndarray:
    """DEMON gram ``[..., bands, frames, kept bins]``: dB over the TPSW background, clipped, / 10."""
    return filters.gram_over_background(demon_power(audio, cfg), cfg.demon, demon_bins(cfg))
