"""Propagation from the source (1 m) to the hydrophone: spreading plus seawater absorption.

Transmission loss TL(f, r) [dB] = spreading(r, H) + alpha(f) * r / 1000, applied as a real, zero-phase
gain 10^(-TL/20) on the rfft bins of the source signal (physics.md §6).
"""

from __future__ import annotations

import numpy as np


def absorption_db_per_km(f_hz, *, temperature_c: float = 10.0, salinity_ppt: float = 35.0,
                         depth_m: float = 50.0, ph: float = 8.0) -> np.ndarray:
    """Francois–Garrison absorption coefficient alpha(f) [dB/km] (f in Hz, T in °C, S in ppt, depth in m).

    Boric acid, MgSO4 and pure-water relaxations, coded as in `arlpy.uwa.absorption`
    (Francois & Garrison 1982; physics.md §6, "Absorption").
    """
    f = np.asarray(f_hz, dtype=float) / 1000.0  # kHz
    t, s, z = float(temperature_c), float(salinity_ppt), float(depth_m)
    c = 1412.0 + 3.21 * t + 1.19 * s + 0.0167 * z  # FG's own sound-speed approximation [m/s] (arlpy.uwa.absorption)
    # boric acid (FG 1982 via arlpy.uwa.absorption, physics.md §6)
    a1 = 8.86 / c * 10.0 ** (0.78 * ph - 5.0)
    f1 = 2.8 * np.sqrt(s / 35.0) * 10.0 ** (4.0 - 1245.0 / (t + 273.0))
    # magnesium sulphate (same source)
    a2 = 21.44 * s / c * (1.0 + 0.025 * t)
    p2 = 1.0 - 1.37e-4 * z + 6.2e-9 * z * z
    f2 = 8.17 * 10.0 ** (8.0 - 1990.0 / (t + 273.0)) / (1.0 + 0.0018 * (s - 35.0))
    # pure water viscosity (same source)
    p3 = 1.0 - 3.83e-5 * z + 4.9e-10 * z * z
    if t < 20.0:
        a3 = 4.937e-4 - 2.59e-5 * t + 9.11e-7 * t**2 - 1.5e-8 * t**3
    else:
        a3 = 3.964e-4 - 1.146e-5 * t + 1.45e-7 * t**2 - 6.5e-10 * t**3
    ff = f * f
    return a1 * f1 * ff / (f1 * f1 + ff) + a2 * p2 * f2 * ff / (f2 * f2 + ff) + a3 * p3 * ff


def spreading_loss_db(range_m, water_depth_m: float) -> np.ndarray:
    """Geometric spreading [dB]: 20·log10 r up to r = H (water depth), then + 10·log10(r/H).

    Spherical to the depth, cylindrical beyond (physics.md §6, "Received SNR per Hz" convention). r >= 1 m.
    """
    r = np.maximum(np.asarray(range_m, dtype=float), 1.0)
    h = max(float(water_depth_m), 1.0)
    return np.where(r <= h, 20.0 * np.log10(r), 20.0 * np.log10(h) + 10.0 * np.log10(r / h))


def transmission_loss_db(f_hz, range_m: float, depth_m: float, *, temperature_c: float = 10.0,
                         salinity_ppt: float = 35.0, ph: float = 8.0) -> np.ndarray:
    """TL [dB] at frequencies f_hz [Hz] over range_m [m] in water depth_m [m] deep.

    Absorption is evaluated at mid-water (depth_m / 2).
    """
    alpha = absorption_db_per_km(f_hz, temperature_c=temperature_c, salinity_ppt=salinity_ppt,
                                 depth_m=0.5 * depth_m, ph=ph)
    return spreading_loss_db(range_m, depth_m) + alpha * float(range_m) / 1000.0


def loss_gain(tl_db) -> np.ndarray:
    """Linear amplitude gain 10^(-TL/20) of a zero-phase filter."""
    return 10.0 ** (-np.asarray(tl_db, dtype=float) / 20.0)


def propagate(signal: np.ndarray, sample_rate: int, range_m: float, depth_m: float, **water) -> np.ndarray:
    """Apply TL to a time signal [µPa @ 1 m] as a zero-phase FFT-domain filter; returns µPa at range_m."""
    n = len(signal)
    f = np.fft.rfftfreq(n, 1.0 / sample_rate)
    spec = np.fft.rfft(signal) * loss_gain(transmission_loss_db(f, range_m, depth_m, **water))
    return np.fft.irfft(spec, n)
