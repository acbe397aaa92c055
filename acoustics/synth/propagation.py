"""Propagation from the source (1 m) to the hydrophone: spreading plus seawater absorption.

Transmission loss TL(f, r) [dB] = spreading(r, H) + alpha(f) * r / 1000, applied as a real, zero-phase
gain 10^(-TL/20) on the rfft bins of the source signal (physics.md §6).
"""

from __future__ import annotations

import numpy as np

from uwac.acoustics.synth import numerics as num


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


# --- Along-track propagation: Lloyd's mirror, mode-averaged cylindrical term, Doppler, time-varying filter ---

SEA_STATE_WAVE_RMS_M = (0.0, 0.0125, 0.075, 0.22, 0.47, 0.81, 1.25)  # rms surface elevation σ = Hs/4 per sea
# state 0–6 from the midpoints of the WMO sea-state code's significant wave heights (0, 0–0.1, 0.1–0.5,
# 0.5–1.25, 1.25–2.5, 2.5–4, 4–6 m) (design note: physics.md gives no wave heights)
OVERSAMPLE = 2  # the source is FFT-oversampled 2× before 6-point Lagrange interpolation (design note:
# worst-case loss −0.06 dB at 0.35·fs, so a 5.6 kHz line at 16 kHz keeps its level; 4-point cubic loses 0.3 dB)
LAGRANGE_TAPS = np.arange(-2, 4)  # 6-point Lagrange stencil around floor(position) (design note)
LAGRANGE_PHASES = 8192  # weights tabulated at 1/8192 sample: timing error ≤ 1/(4·8192·fs), spurs ≤ −83 dB at
# 0.35·fs (design note)
DB_KM_TO_NEPER_M = -float(np.log(10.0)) / 10000.0  # power gain exp(α·r·this) = 10^(−α[dB/km]·r[m]/10000) (unit
# conversion)
BLOCK_S = 0.5  # overlap-add block length ≈ 0.5 s (rounded to a power of two in samples), Hann, 50 % (design note)


def lloyd_crossover_hz(source_depth_m: float, sin_theta: float, c: float = 1500.0) -> float:
    """f_x = c/(2π·√2·d·sinθ) [Hz], where (2kd·sinθ)² = 2: below it the image dipole loses 6 dB/octave
    (physics.md §6; 162 Hz for d = 6 m at θ = 10°)."""
    return c / (2.0 * np.pi * np.sqrt(2.0) * source_depth_m * sin_theta)


def lloyd_mirror_smooth(f_hz, source_depth_m: float, sin_theta, c: float = 1500.0) -> np.ndarray:
    """Smooth Lloyd's-mirror power factor 1/(1/lf + 1/hf), lf = (2kd·sinθ)², hf = 2 (uwacan
    `SmoothLloydMirror`; physics.md §6): ∝ f² below f_x, 2 (direct + image in power) above."""
    k = 2.0 * np.pi * np.asarray(f_hz, dtype=float) / c
    lf = (2.0 * k * source_depth_m * np.asarray(sin_theta, dtype=float)) ** 2
    return 1.0 / (1.0 / np.maximum(lf, 1e-30) + 0.5)


def lloyd_mirror_coherent(f_hz, path_difference_m, sin_grazing, wave_rms_m: float, c: float = 1500.0) -> np.ndarray:
    """Lloyd's-mirror power factor with a rough surface: 2·(1 − μ·cos(kΔr)), μ = exp(−2(kσ·sinθ_g)²).

    The pressure-release image (reflection −1) interferes coherently with weight μ (Rayleigh roughness
    parameter, design note); the rest returns as incoherent scatter of equal energy, which "nearly
    compensates" (He et al. 2020, physics.md §6). μ = 1 gives |1 − e^{ikΔr}|² (notches; → (kΔr)² =
    (2kd·sinθ)² at low f), μ = 0 gives 2, the two limits of the smooth form. Δr = r_2 − r_1 [m].
    """
    k = 2.0 * np.pi * np.asarray(f_hz) / c  # keeps float32 inputs float32 (speed)
    mu = np.exp(-2.0 * (k * wave_rms_m * np.asarray(sin_grazing)) ** 2)
    return 2.0 * (1.0 - mu * np.cos(k * np.asarray(path_difference_m)))


def critical_angle_rad(c_water: float, c_bottom: float) -> float:
    """Seabed critical grazing angle ψ = arccos(c_w/c_b) [rad] (uwacan `SeabedCriticalAngle`; physics.md §6)."""
    return float(np.arccos(min(c_water / c_bottom, 1.0)))


def mode_averaged_factor(f_hz, source_depth_m: float, psi_rad: float, c: float = 1500.0) -> np.ndarray:
    """Cylindrical (trapped) term's source-depth factor 1/(1/lf + 1/hf), lf = 2(kd)²(ψ − sinψ·cosψ), hf = 2ψ
    (uwacan `SeabedCriticalAngle`, F = F_sph + (1/(r·H))·mix(...); physics.md §6)."""
    k = 2.0 * np.pi * np.asarray(f_hz) / c
    lf = 2.0 * (k * source_depth_m) ** 2 * float(psi_rad - np.sin(psi_rad) * np.cos(psi_rad))
    return 1.0 / (1.0 / np.maximum(lf, 1e-30) + 1.0 / (2.0 * psi_rad))


def track_power_gain(f_hz: np.ndarray, r1, r2, rh, *, source_depth_m: float, receiver_depth_m: float,
                     water: dict, c: float, alpha_db_km: np.ndarray) -> np.ndarray:
    """Power gain [linear] from 1 m to the hydrophone, shape (len(r1), len(f_hz)).

    Spherical direct + surface image over r_1 (coherent rough-surface Lloyd's mirror) plus the seabed
    critical-angle cylindrical term (1/(r_h·H))·mix (uwacan SCA, physics.md §6), times FG absorption over
    r_1. A source at or above the surface (depth ≤ 0) has no image: factor 1, cylindrical term without depth
    factor (design note).
    """
    r1, r2, rh = (np.atleast_1d(np.asarray(x, dtype=float)) for x in (r1, r2, rh))
    zs, zr = float(source_depth_m), float(receiver_depth_m)
    dtype = np.asarray(f_hz).dtype  # the (blocks, bins) grid follows f_hz (float32 when rendering)

    def col(v):
        return np.asarray(v, dtype=dtype)[:, None]

    psi = critical_angle_rad(c, water["bottom_sound_speed_m_s"])
    if zs > 0:
        # Δr = r_2 − r_1 = (r_2² − r_1²)/(r_1 + r_2) = 4·z_s·z_r/(r_1 + r_2): no cancellation at long range
        lloyd = lloyd_mirror_coherent(f_hz[None, :], col(4.0 * zs * zr / (r1 + r2)), col((zs + zr) / r2),
                                      water["wave_rms_m"], c)
        modes = mode_averaged_factor(f_hz, zs, psi, c)[None, :]
    else:
        lloyd, modes = 1.0, 2.0 * psi
    r1 = np.maximum(r1, 1.0)
    cyl = modes * col(1.0 / (np.maximum(rh, 1.0) * max(water["water_depth_m"], 1.0)))
    return (lloyd * col(1.0 / (r1 * r1)) + cyl) * np.exp(alpha_db_km[None, :] * col(r1 * DB_KM_TO_NEPER_M))


def oversample(spec: np.ndarray, n: int, factor: int = OVERSAMPLE) -> np.ndarray:
    """Band-limited (FFT zero-padding) upsampling, float32, of the signal whose rfft (length n//2+1) is
    ``spec``; the caller band-limits ``spec`` (its Nyquist bin is taken as zero)."""
    up = np.zeros(n * factor // 2 + 1, dtype=np.complex64)
    up[: spec.size] = spec * factor
    if n % 2 == 0:
        up[n // 2] = 0.0
    return num.irfft(up, n * factor)


def lagrange_table(phases: int = LAGRANGE_PHASES) -> np.ndarray:
    """6-point Lagrange weights on LAGRANGE_TAPS at mu = q/phases, q = 0..phases; shape (6, phases + 1), float32."""
    mu = np.arange(phases + 1) / phases
    out = np.empty((LAGRANGE_TAPS.size, phases + 1))
    for m, node in enumerate(LAGRANGE_TAPS):
        others = [j for j in LAGRANGE_TAPS if j != node]
        out[m] = np.prod([(mu - j) / (node - j) for j in others], axis=0)
    return out.astype(np.float32)


LAGRANGE_TABLE = lagrange_table()


def fractional_read(x: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """x at fractional sample positions ``pos`` by 6-point Lagrange interpolation (weights from a table at
    1/LAGRANGE_PHASES steps, float32); pos must lie in [2, len(x) − 4)."""
    i0 = np.floor(pos).astype(np.int64)
    phase = np.rint((pos - i0) * LAGRANGE_PHASES).astype(np.int64)
    out = np.zeros(pos.size, dtype=np.float32)
    for m, tap in enumerate(LAGRANGE_TAPS):
        out += np.take(LAGRANGE_TABLE[m], phase) * np.take(x, i0 + tap)
    return out


def block_length(sample_rate: int) -> int:
    """Overlap-add block length [samples]: the power of two nearest BLOCK_S·fs."""
    return int(2 ** round(np.log2(BLOCK_S * sample_rate)))


def block_centres(n: int, block: int) -> np.ndarray:
    """Sample indices of the centres of the 50 %-overlap blocks covering n samples."""
    hop = block // 2
    return np.arange(-(-n // hop) + 1) * hop


def time_varying_filter(x: np.ndarray, gains: np.ndarray, block: int) -> np.ndarray:
    """float32 zero-phase time-varying filter: periodic-Hann blocks at 50 % overlap (the windows sum to 1), each
    multiplied in the rfft domain by its row of ``gains`` (shape (blocks, block//2+1), amplitude), overlap-added.
    Block k is centred on sample k·block/2 (see :func:`block_centres`)."""
    n, hop = x.size, block // 2
    k = gains.shape[0]
    padded = np.zeros((k + 1) * hop, dtype=np.float32)
    padded[hop: hop + n] = x
    halves = padded.reshape(k + 1, hop)
    hann = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(block) / block)).astype(np.float32)
    frames = np.concatenate([halves[:-1], halves[1:]], axis=1) * hann
    y = num.irfft(num.rfft(frames, axis=1) * gains, block, axis=1)
    out = np.zeros((k + 1, hop), dtype=np.float32)
    out[:-1] += y[:, :hop]
    out[1:] += y[:, hop:]
    return out.reshape(-1)[hop: hop + n]
