"""Non-mammal biological sounds: snapping-shrimp choruses (a distractor, physics.md §5) and fish choruses
(a confuser, issue 8). Whales and dolphins are in cetaceans.py.

The shrimp chorus is rendered as a spectrum (rfft, length n//2+1) by :func:`render_shrimp`; the fish chorus as a
time signal [µPa] by ``render_fish_chorus(rng, params, n, sample_rate, water)`` with the confuser convention of
composition.py. Levels: SL in dB re 1 µPa @ 1 m, RL = SL − TL (common.py); the shrimp level is a spectral density
stated at 20 kHz.
"""

from __future__ import annotations

import numpy as np

from uwac.acoustics.synth import numerics as num
from uwac.acoustics.synth.events.common import (
    _lin,
    _log,
    _low_grid,
    _low_rate,
    _poisson_starts,
    _r,
    _upsample,
    _water,
    received_db,
    tone_top_hz,
)

# --- Snapping shrimp (physics.md §5 distractor table) ---
SHRIMP_BED_FRACTION = 0.5  # design note: half the renders draw a bed; it sounds only in shallow water
SHRIMP_MAX_DEPTH_M = 55.0  # beds at depths < 55–60 m (Everest 1948; Cato & Bell 1992)
SHRIMP_BAND_LO_HZ = 2000.0  # snaps span 2 kHz to > 200 kHz, chorus flat 2–24 kHz (Chitre 2012; Everest 1948)
SHRIMP_TAPER_LO_HZ = 1000.0  # design note: raised-cosine onset from 1 kHz up to the 2 kHz band edge
SHRIMP_REF_HZ = 20000.0  # chorus level stated at 20 kHz (Everest 1948; Cato & Bell 1992)
SHRIMP_OVER_SS2_DB = 25.0  # bed chorus +25 dB over sea state 2 at 20 kHz (Everest 1948; Cato & Bell 1992)
SHRIMP_SPREAD_DB = 6.0  # design note: ±6 dB around +25, from "3–6 dB louder at night" (Cato & Bell 1992)
SHRIMP_RATE_PER_S = (200.0, 2000.0)  # design note: snaps/s within the amplitude range (beds: ~20/s > 140 dB)
# Amplitude tail index: exceedance rate N(>a) ∝ a^-β. Everest's > 140 dB at ~20/s and > 150 dB at 3–4/s give
# β = log10(20/3.5)/0.5 = 1.5 (computed here); Chitre 2012 fits α-stable α up to ~1.9 (design note: 1.5–1.9).
SHRIMP_TAIL_INDEX = (1.5, 1.9)
SHRIMP_DYNAMIC_RANGE_DB = 40.0  # design note: snap peaks truncated 40 dB above the weakest counted snap

# --- Fish chorus (drumming pulse trains) ---
FISH_FRACTION = 0.12  # design note
FISH_PEAK_HZ = (100.0, 1000.0)  # pulse peak frequency (issue 8 figure)
FISH_CYCLES = (2.0, 6.0)  # design note: cycles per Hann-windowed pulse
FISH_PULSE_RATE_HZ = (10.0, 60.0)  # design note: pulses per second within a call
FISH_PULSES_PER_CALL = (3, 20)  # design note
FISH_CALL_INTERVAL_S = (1.0, 10.0)  # design note: mean time between one fish's calls (Poisson)
FISH_COUNT = (5, 30)  # design note
FISH_SL_DB = (115.0, 145.0)  # rms over a pulse @ 1 m (design note)
FISH_RANGE_M = (20.0, 2000.0)  # design note: log-uniform per fish


# ----------------------------------------------------------------------------------------- snapping shrimp

def draw_shrimp(rng: np.random.Generator) -> dict:
    """A shrimp bed's chorus level over sea state 2 at 20 kHz [dB], snap rate [1/s] and amplitude tail index."""
    return {"level_20khz_db": _r(SHRIMP_OVER_SS2_DB + rng.uniform(-SHRIMP_SPREAD_DB, SHRIMP_SPREAD_DB)),
            "rate_per_s": _r(_log(rng.random(), *SHRIMP_RATE_PER_S)),
            "tail_index": _r(rng.uniform(*SHRIMP_TAIL_INDEX))}


def shrimp_gain(f_hz: np.ndarray) -> np.ndarray:
    """Amplitude response of the chorus band at f_hz [Hz]: 0 below 1 kHz, raised-cosine to 1 at 2 kHz, flat above."""
    x = np.clip((np.asarray(f_hz, dtype=float) - SHRIMP_TAPER_LO_HZ) / (SHRIMP_BAND_LO_HZ - SHRIMP_TAPER_LO_HZ),
                0.0, 1.0)
    return np.sin(0.5 * np.pi * x)


def _pareto_mean_square(beta: float, a_max: float) -> float:
    """E[a²] of a Pareto amplitude (index beta, a >= 1) truncated at a_max (computed here)."""
    return beta / (1.0 - a_max**-beta) * (a_max ** (2.0 - beta) - 1.0) / (2.0 - beta)


def render_shrimp(rng: np.random.Generator, p: dict, n: int, fs: int, sea_state_2_db_20khz: float
                  ) -> tuple[np.ndarray, dict]:
    """rfft (length n//2+1) of a snapping-shrimp chorus [µPa]: a Poisson train of single-sample snaps
    (3–8 µs snaps are shorter than a sample at fs <= 192 kHz) with truncated-Pareto amplitudes of random
    sign, band-limited by :func:`shrimp_gain`. Scaled so the expected density in band is the sea-state-2
    level at 20 kHz plus ``level_20khz_db`` [dB re 1 µPa²/Hz]."""
    n_snaps = int(rng.poisson(p["rate_per_s"] * n / fs))
    a_max = 10 ** (SHRIMP_DYNAMIC_RANGE_DB / 20)
    u = rng.random(n_snaps)
    beta = p["tail_index"]
    amp = (1.0 - u * (1.0 - a_max**-beta)) ** (-1.0 / beta)  # inverse CDF of the truncated Pareto
    sign = np.where(rng.random(n_snaps) < 0.5, -1.0, 1.0)
    x = np.bincount(rng.integers(0, n, n_snaps), weights=amp * sign, minlength=n)
    density_db = sea_state_2_db_20khz + p["level_20khz_db"]
    mean_square = p["rate_per_s"] / fs * _pareto_mean_square(beta, a_max)  # per sample, white to fs/2
    scale = np.sqrt(10 ** (density_db / 10) * 0.5 * fs / mean_square)
    spec = num.rfft(x) * scale
    k_band = min(int(np.ceil(SHRIMP_BAND_LO_HZ * n / fs)), spec.size)  # bins above are flat (gain 1)
    spec[:k_band] *= shrimp_gain(np.arange(k_band) * fs / n)
    return spec, {"active": True, "n_snaps": n_snaps, "density_db": _r(density_db)}


# ------------------------------------------------------------------------------------------- fish chorus

def draw_fish_chorus(rng: np.random.Generator, sample_rate: int) -> dict:
    """Pulse peak frequency [Hz] and length [cycles], pulse rate [Hz], pulses per call, call interval [s],
    fish count, SL [dB re 1 µPa @ 1 m]."""
    u = rng.random(7)
    top = min(FISH_PEAK_HZ[1], tone_top_hz(sample_rate))
    return {"f_peak_hz": _r(_log(u[0], FISH_PEAK_HZ[0], max(top, FISH_PEAK_HZ[0])), 1),
            "cycles": _r(_lin(u[1], *FISH_CYCLES)), "pulse_rate_hz": _r(_lin(u[2], *FISH_PULSE_RATE_HZ)),
            "pulses_per_call": int(FISH_PULSES_PER_CALL[0] + u[3] * (FISH_PULSES_PER_CALL[1] - FISH_PULSES_PER_CALL[0] + 1)),
            "call_interval_s": _r(_lin(u[4], *FISH_CALL_INTERVAL_S)),
            "count": int(FISH_COUNT[0] + u[5] * (FISH_COUNT[1] - FISH_COUNT[0] + 1)),
            "sl_db": _r(_lin(u[6], *FISH_SL_DB))}


def fish_pulse(f_peak_hz: float, cycles: float, fs: float) -> np.ndarray:
    """One drumming pulse: ``cycles`` cycles of f_peak_hz [Hz] under a Hann window at fs [Hz], rms 1 over its
    length."""
    m = max(int(round(cycles / f_peak_hz * fs)), 3)
    t = np.arange(m) / fs
    x = np.sin(np.pi * (np.arange(m) + 0.5) / m) ** 2 * np.sin(2 * np.pi * f_peak_hz * t)
    return x / np.sqrt(np.mean(x * x))


def render_fish_chorus(rng: np.random.Generator, p: dict, n: int, sample_rate: int, water: dict | None = None
                       ) -> tuple[np.ndarray, dict]:
    """Chorus [µPa] of ``count`` fish at log-uniform ranges, each calling (a train of ``pulses_per_call``
    pulses at ``pulse_rate_hz`` [Hz]) at Poisson times; pulse rms SL − TL [dB re 1 µPa] at the peak frequency.
    Rendered at a low rate and FFT-upsampled (the content is below 1 kHz)."""
    fs, w = sample_rate, _water(water)
    d = _low_rate(fs, p["f_peak_hz"] * (1 + 4 / p["cycles"]))  # past the Hann pulse's main lobe
    n_low, pad_low, _ = _low_grid(n, fs, d)
    fs_l = fs / d
    pulse = fish_pulse(p["f_peak_hz"], p["cycles"], fs_l)
    ranges = np.exp(rng.uniform(*np.log(FISH_RANGE_M), p["count"]))
    rl = received_db(p["sl_db"], p["f_peak_hz"], ranges, w)
    dur = n / fs
    call_len = p["pulses_per_call"] / p["pulse_rate_hz"]
    offsets = np.arange(p["pulses_per_call"]) / p["pulse_rate_hz"]
    times, amps = [], []
    for j in range(p["count"]):
        calls = _poisson_starts(rng, p["call_interval_s"], dur + call_len) - call_len
        tt = (calls[:, None] + offsets[None, :]).ravel()
        times.append(tt)
        amps.append(np.full(tt.size, 10 ** (rl[j] / 20)))
    t_all, a_all = np.concatenate(times), np.concatenate(amps)
    idx = np.round(t_all * fs_l).astype(np.int64) + pad_low
    keep = (idx >= 0) & (idx < n_low - pulse.size)
    train = np.bincount(idx[keep], weights=a_all[keep], minlength=n_low)
    spec = num.rfft(train) * num.rfft(pulse, n_low)
    x = _upsample(spec, n_low, d, n, pad_low, fs)
    return x, {"n_pulses": int(keep.sum()), "received_db_max": _r(float(rl.max())),
               "received_db_median": _r(float(np.median(rl)))}

