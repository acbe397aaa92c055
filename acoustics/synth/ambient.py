"""Ambient noise at the hydrophone: sea state, distant shipping, thermal noise, recorder self-noise.

All levels are spectral densities in dB re 1 µPa²/Hz, combined in power (physics.md preamble), and rendered
as Gaussian noise shaped in the frequency domain.
"""

from __future__ import annotations

import numpy as np

# Hodges 2010 ch. 7 tables as digitised in labsonar sea_state.csv / shipping_noise.csv (physics.md §5,
# "Tabulated levels"); frequencies in Hz, levels in dB re 1 µPa²/Hz.
HODGES_F_HZ = np.array([20.0, 50.0, 100.0, 500.0, 1000.0, 10000.0, 50000.0])
HODGES_SEA_STATE_DB = {  # sea state -> level at HODGES_F_HZ (flat below 100 Hz)
    0: np.array([50.9, 50.9, 50.9, 48.2, 44.8, 27.1, 14.4]),
    2: np.array([62.2, 62.2, 62.2, 61.1, 58.8, 42.8, 30.1]),
    4: np.array([66.7, 66.7, 66.7, 66.4, 64.7, 48.9, 36.3]),
    6: np.array([70.9, 70.9, 70.9, 70.8, 69.4, 53.5, 40.8]),
}
HODGES_SHIP_F_HZ = HODGES_F_HZ[:5]
HODGES_SHIPPING_DB = {  # shipping level -> level at HODGES_SHIP_F_HZ (physics.md §5)
    1: np.array([61.0, 61.3, 54.9, 37.9, 29.7]),
    4: np.array([74.6, 77.3, 71.0, 52.6, 44.3]),
    7: np.array([86.2, 89.7, 85.6, 63.9, 55.6]),
}
WIND_SLOPE_DB_PER_DECADE = -17.0  # "noise falls about 17 dB/decade above 1 kHz" (physics.md §5, Slopes)
SEA_STATES = tuple(range(7))  # 0..6 (physics.md §5 wind speeds per sea state 0-6)
SHIPPING_LEVELS = tuple(range(1, 8))  # 1..7 (physics.md §5 table)
SELF_NOISE_DB = (25.0, 45.0)  # recorder self-noise floor [dB re 1 µPa²/Hz] (physics.md §7, design note)


def _interp_log_f(f_hz, f_tab, l_tab, slope_lo: float, slope_hi: float) -> np.ndarray:
    """Levels linear in log10 f between table points; straight lines of the given dB/decade outside."""
    lf = np.log10(np.maximum(np.asarray(f_hz, dtype=float), 1e-3))
    lt = np.log10(f_tab)
    out = np.interp(lf, lt, l_tab)
    out = np.where(lf < lt[0], l_tab[0] + slope_lo * (lf - lt[0]), out)
    return np.where(lf > lt[-1], l_tab[-1] + slope_hi * (lf - lt[-1]), out)


def _between_rows(table: dict[int, np.ndarray], key: float) -> np.ndarray:
    """Row for an integer key, interpolated in dB between the tabulated keys (design note: odd sea states)."""
    keys = sorted(table)
    k = float(np.clip(key, keys[0], keys[-1]))
    hi = next(x for x in keys if x >= k)
    lo = max(x for x in keys if x <= k)
    if hi == lo:
        return table[lo]
    w = (k - lo) / (hi - lo)
    return (1 - w) * table[lo] + w * table[hi]


def sea_state_psd_db(f_hz, sea_state: float) -> np.ndarray:
    """Wind/wave noise density [dB re 1 µPa²/Hz] for sea state 0–6 (Hodges table; flat below 20 Hz,
    -17 dB/decade above 50 kHz)."""
    row = _between_rows(HODGES_SEA_STATE_DB, sea_state)
    return _interp_log_f(f_hz, HODGES_F_HZ, row, 0.0, WIND_SLOPE_DB_PER_DECADE)


def shipping_psd_db(f_hz, level: float) -> np.ndarray:
    """Distant-shipping density [dB re 1 µPa²/Hz] for shipping level 1–7 (Hodges table).

    Flat below 20 Hz; above 1 kHz the table's own 500 Hz–1 kHz slope continues (computed from the table).
    """
    row = _between_rows(HODGES_SHIPPING_DB, level)
    slope_hi = (row[-1] - row[-2]) / np.log10(HODGES_SHIP_F_HZ[-1] / HODGES_SHIP_F_HZ[-2])
    return _interp_log_f(f_hz, HODGES_SHIP_F_HZ, row, 0.0, float(slope_hi))


def thermal_psd_db(f_hz) -> np.ndarray:
    """Thermal noise density -15 + 20·log10(f/kHz) [dB re 1 µPa²/Hz] (MARS AmbientNoiseHelper, physics.md §5)."""
    f_khz = np.maximum(np.asarray(f_hz, dtype=float), 1e-3) / 1000.0
    return -15.0 + 20.0 * np.log10(f_khz)


def ambient_psd_db(f_hz, *, sea_state: float, shipping_level: float, self_noise_db: float) -> np.ndarray:
    """Total ambient density [dB re 1 µPa²/Hz]: sea state + shipping + thermal + flat self-noise, in power."""
    parts = (sea_state_psd_db(f_hz, sea_state), shipping_psd_db(f_hz, shipping_level),
             thermal_psd_db(f_hz), np.full(np.shape(f_hz), float(self_noise_db)))
    return 10.0 * np.log10(sum(10.0 ** (p / 10.0) for p in parts))


def draw_ambient(rng: np.random.Generator) -> dict:
    """Draw sea state (0–6), shipping level (1–7) and self-noise floor [dB re 1 µPa²/Hz]."""
    return {
        "sea_state": int(rng.integers(SEA_STATES[0], SEA_STATES[-1] + 1)),
        "shipping_level": int(rng.integers(SHIPPING_LEVELS[0], SHIPPING_LEVELS[-1] + 1)),
        "self_noise_db": round(float(rng.uniform(*SELF_NOISE_DB)), 3),
    }


def gaussian_spectrum(rng: np.random.Generator, psd: np.ndarray, n: int, sample_rate: int) -> np.ndarray:
    """rfft of n samples of Gaussian noise whose one-sided PSD is ``psd`` [unit²/Hz] on rfftfreq(n) bins.

    White unit-variance noise has E|X_k|² = n; scaling by sqrt(psd·fs/2) gives variance sum(psd)·fs/n.
    """
    white = np.fft.rfft(rng.standard_normal(n))
    return white * np.sqrt(np.asarray(psd, dtype=float) * (0.5 * sample_rate))


def ambient_spectrum(rng: np.random.Generator, env: dict, n: int, sample_rate: int) -> np.ndarray:
    """rfft of the ambient pressure [µPa] for the drawn ``env`` (keys of :func:`draw_ambient`); DC removed."""
    f = np.fft.rfftfreq(n, 1.0 / sample_rate)
    psd = 10.0 ** (ambient_psd_db(f, sea_state=env["sea_state"], shipping_level=env["shipping_level"],
                                  self_noise_db=env["self_noise_db"]) / 10.0)
    psd[0] = 0.0
    return gaussian_spectrum(rng, psd, n, sample_rate)
