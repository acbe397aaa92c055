"""Where the LOFAR and DEMON branches' bins lie: sample rates [Hz], computed and kept bin ranges, bin frequencies.

Plain arithmetic on :class:`FrontendConfig` (numpy and the config only, no scipy), so the daemon and the operator
console can label the model's frames without the numpy reference branches.
"""

from __future__ import annotations

import math

import numpy as np

from uwac.acoustics.frontend.config import FrontendConfig


def band_bins(rate_hz: float, branch) -> tuple[int, int, int, int]:
    """(first kept, last kept, first computed, one past the last computed) DFT bin of a LOFAR or DEMON branch
    (``branch``: its config, with ``n_fft``, ``fmin``, ``fmax`` [Hz] and ``tpsw_half_bins``) at ``rate_hz``.

    The computed range reaches ``tpsw_half_bins`` beyond the kept band on both sides (never bin 0, the DC offset),
    so the background of an edge bin is measured on real spectrum.
    """
    df = rate_hz / branch.n_fft
    first, last = math.ceil(branch.fmin / df - 1e-9), math.floor(branch.fmax / df + 1e-9)
    return first, last, max(1, first - branch.tpsw_half_bins), min(branch.n_fft // 2, last + branch.tpsw_half_bins) + 1


def lofar_rate(cfg: FrontendConfig) -> float:
    """Sample rate of the decimated signal [Hz]."""
    return cfg.sample_rate / cfg.lofar.decimation


def lofar_bins(cfg: FrontendConfig) -> tuple[int, int, int, int]:
    """(first kept, last kept, first computed, one past the last computed) DFT bin of the LOFAR branch.

    The computed range reaches ``tpsw_half_bins`` beyond the kept band on both sides (never bin 0, the DC
    offset) so the background of an edge bin is measured on real spectrum.
    """
    return band_bins(lofar_rate(cfg), cfg.lofar)


def lofar_freqs(cfg: FrontendConfig) -> np.ndarray:
    """Centre frequency [Hz] of every kept LOFAR bin."""
    first, last, _, _ = lofar_bins(cfg)
    return np.arange(first, last + 1) * (lofar_rate(cfg) / cfg.lofar.n_fft)


def carrier_rate(cfg: FrontendConfig) -> float:
    """Rate [Hz] at which each band's squared envelope is taken."""
    return cfg.sample_rate / cfg.demon.carrier_stride


def envelope_rate(cfg: FrontendConfig) -> float:
    """Rate [Hz] of the decimated envelope the DEMON spectrum is taken of."""
    return carrier_rate(cfg) / cfg.demon.envelope_decimation


def demon_bins(cfg: FrontendConfig) -> tuple[int, int, int, int]:
    """(first kept, last kept, first computed, one past the last computed) bin of the envelope DFT (never DC)."""
    return band_bins(envelope_rate(cfg), cfg.demon)


def demon_freqs(cfg: FrontendConfig) -> np.ndarray:
    """Modulation frequency [Hz] of every kept DEMON bin."""
    first, last, _, _ = demon_bins(cfg)
    return np.arange(first, last + 1) * (envelope_rate(cfg) / cfg.demon.n_fft)
