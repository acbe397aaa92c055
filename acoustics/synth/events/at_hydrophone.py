"""Sounds that arise at the hydrophone itself and are not propagated: cable strum (vortex shedding off the
mooring line) with flow noise (pseudo-sound of the current over the hydrophone), and 50/60 Hz mains hum
(electrical pickup) (confusers, issue 8).

Same convention as man_made.py: ``draw_<name>(rng, sample_rate)`` and ``render_<name>(rng, params, n,
sample_rate, water)`` -> (pressure [µPa] referred to the input, n samples; record). Both are slow and are
synthesised at a low rate, then FFT-upsampled (common.py), band-limited below 0.45·fs.
"""

from __future__ import annotations

import numpy as np

from uwac.acoustics.synth import numerics as num
from uwac.acoustics.synth.events.common import _lin, _log, _low_grid, _low_rate, _r, _upsample, tone_top_hz

# --- Cable strum and flow noise (at the mooring; not propagated) ---
CABLE_FRACTION = 0.10  # design note
CURRENT_M_S = (0.1, 1.5)  # design note; DeepShip's site has 1–3 kn tidal currents (physics.md §7)
CABLE_DIAMETER_M = (0.003, 0.02)  # design note: mooring lines and hydrophone cables
STROUHAL = 0.2  # vortex shedding f = St·U/D, St ≈ 0.2 for 300 < Re < 2e5 (Blevins 1990, Flow-Induced Vibration)
STRUM_LEVEL_DB = (80.0, 115.0)  # design note: strum fundamental rms [dB re 1 µPa] at U = 1 m/s, + 20·log10 U
STRUM_HARMONIC_BELOW_DB = ((6.0, 12.0), (10.0, 20.0), (15.0, 25.0))  # design note: 2f (drag), 3f, 4f
STRUM_WANDER = (0.02, 0.10)  # design note: ± fractional wander of the shedding frequency with the current
STRUM_WANDER_PERIOD_S = (5.0, 30.0)  # design note
FLOW_LEVEL_DB = (90.0, 110.0)  # design note: flow-noise density [dB re 1 µPa²/Hz] at U = 1 m/s below the corner
FLOW_CURRENT_DB_PER_DECADE = 30.0  # level ∝ U³ at fixed f·D/U (design note after Strasberg 1979's similarity)
FLOW_HYDROPHONE_D_M = (0.02, 0.05)  # design note: corner f_c = U/D_h, −20 dB/decade above it
FLOW_TOP_HZ = 100.0  # pseudo-sound is confined below ~100 Hz: extra −40 dB/decade above (issue 8; design note)

# --- Mains hum (electrical pickup; not propagated) ---
HUM_FRACTION = 0.10  # design note
MAINS_HZ = (50.0, 60.0)  # grid frequencies, equally likely (design note)
MAINS_OFFSET_HZ = 0.1  # design note: ±0.1 Hz grid deviation (EN 50160 allows ±1 %)
HUM_LEVEL_DB = (60.0, 105.0)  # design note: fundamental rms referred to the input [dB re 1 µPa]
HUM_HARMONICS = 10  # design note
HUM_ODD_STEP_DB = (1.0, 4.0)  # design note: odd harmonic k sits (k − 1)·step dB below the fundamental
HUM_EVEN_BELOW_DB = (6.0, 20.0)  # design note: even harmonics further below their odd neighbours


# ------------------------------------------------------------------------------- cable strum, flow noise

def draw_cable_strum_flow(rng: np.random.Generator, sample_rate: int) -> dict:
    """Current [m/s], cable diameter [m] (so the shedding frequency St·U/D [Hz]), strum level [dB re 1 µPa] and
    harmonics [dB below it], frequency wander, flow-noise level [dB re 1 µPa²/Hz] and hydrophone size [m]."""
    u = rng.random(10)
    current, diameter = _r(_lin(u[0], *CURRENT_M_S)), _r(_log(u[1], *CABLE_DIAMETER_M), 5)
    return {"current_m_s": current, "cable_diameter_m": diameter,
            "shedding_hz": _r(STROUHAL * current / diameter, 3),
            "strum_db": _r(_lin(u[2], *STRUM_LEVEL_DB) + 20 * np.log10(current)),
            "harmonic_below_db": [_r(_lin(x, *b)) for x, b in zip(u[3:6], STRUM_HARMONIC_BELOW_DB, strict=True)],
            "wander": _r(_lin(u[6], *STRUM_WANDER)), "wander_period_s": _r(_lin(u[7], *STRUM_WANDER_PERIOD_S)),
            "flow_db": _r(_lin(u[8], *FLOW_LEVEL_DB) + FLOW_CURRENT_DB_PER_DECADE * np.log10(current)),
            "hydrophone_d_m": _r(_lin(u[9], *FLOW_HYDROPHONE_D_M), 4)}


def flow_psd_db(f_hz, p: dict) -> np.ndarray:
    """Flow-noise (pseudo-sound) density [dB re 1 µPa²/Hz]: ``flow_db`` below the corner U/D_h, −20 dB/decade
    above it, and a further −40 dB/decade above FLOW_TOP_HZ."""
    f = np.asarray(f_hz, dtype=float)
    fc = p["current_m_s"] / p["hydrophone_d_m"]
    return p["flow_db"] - 10 * np.log10(1 + (f / fc) ** 2) - 10 * np.log10(1 + (f / FLOW_TOP_HZ) ** 4)


def render_cable_strum_flow(rng: np.random.Generator, p: dict, n: int, sample_rate: int, water: dict | None = None
                            ) -> tuple[np.ndarray, dict]:
    """Strum (shedding tone St·U/D and harmonics under a slow frequency wander, fundamental rms ``strum_db``)
    plus Gaussian flow noise of :func:`flow_psd_db` [µPa], at the hydrophone. Rendered at a low rate."""
    fs = sample_rate
    f_s = p["shedding_hz"]
    harmonics = [k for k in range(1, 5) if k * f_s * (1 + p["wander"]) < tone_top_hz(fs)]
    d = _low_rate(fs, max(8 * FLOW_TOP_HZ, (max(harmonics) if harmonics else 1) * f_s * (1 + p["wander"])))
    n_low, pad_low, t = _low_grid(n, fs, d)
    fs_l = fs / d
    ph = rng.uniform(0, 2 * np.pi, 3)
    wander = 0.6 * np.sin(2 * np.pi * t / p["wander_period_s"] + ph[0]) \
        + 0.4 * np.sin(2 * np.pi * t / (0.37 * p["wander_period_s"]) + ph[1])
    phase = 2 * np.pi * np.cumsum(f_s * (1 + p["wander"] * wander)) / fs_l + ph[2]
    rel = [0.0, *p["harmonic_below_db"]]
    strum = np.zeros(n_low)
    for k in harmonics:
        strum += np.sqrt(2) * 10 ** ((p["strum_db"] - rel[k - 1]) / 20) * np.cos(k * phase)
    f_low = np.fft.rfftfreq(n_low, 1.0 / fs_l)
    psd = 10 ** (flow_psd_db(f_low, p) / 10)
    psd[0] = 0.0
    spec = num.rfft(strum) + num.gaussian_spectrum(rng, psd, n_low, fs_l)
    x = _upsample(spec, n_low, d, n, pad_low, fs)
    return x, {"harmonics": harmonics, "flow_db_at_10hz": _r(float(flow_psd_db(10.0, p)))}


# ---------------------------------------------------------------------------------------------- mains hum

def draw_mains_hum(rng: np.random.Generator, sample_rate: int) -> dict:
    """Grid frequency [Hz] (50 or 60 ± 0.1), fundamental level [dB re 1 µPa] and harmonic levels [dB below it]
    (odd strong, even weak)."""
    u = rng.random(4)
    base = MAINS_HZ[int(u[0] < 0.5)]
    step = _lin(u[2], *HUM_ODD_STEP_DB)
    even = rng.uniform(*HUM_EVEN_BELOW_DB, HUM_HARMONICS)
    rel = [_r((k - 1) * step + (even[k - 1] if k % 2 == 0 else 0.0)) for k in range(1, HUM_HARMONICS + 1)]
    return {"mains_hz": base, "f_hz": _r(base + MAINS_OFFSET_HZ * (2 * u[1] - 1), 4),
            "level_db": _r(_lin(u[3], *HUM_LEVEL_DB)), "harmonic_below_db": rel}


def render_mains_hum(rng: np.random.Generator, p: dict, n: int, sample_rate: int, water: dict | None = None
                     ) -> tuple[np.ndarray, dict]:
    """Hum [µPa referred to the input]: harmonics k·f of rms level_db − harmonic_below_db[k−1] with random
    phases, those above the recorded band dropped. Electrical pickup: no propagation. Rendered at a low rate."""
    fs, f = sample_rate, p["f_hz"]
    ks = [k for k in range(1, HUM_HARMONICS + 1) if k * f < tone_top_hz(fs)]
    if not ks:
        return np.zeros(n, dtype=np.float32), {"harmonics": []}
    d = _low_rate(fs, max(ks) * f)
    n_low, pad_low, t = _low_grid(n, fs, d)
    ph = rng.uniform(0, 2 * np.pi, HUM_HARMONICS)
    z1 = np.exp(2j * np.pi * f * t)
    z, acc = np.ones(n_low, dtype=complex), np.zeros(n_low, dtype=complex)
    for k in range(1, max(ks) + 1):  # e^{ikx} by repeated products: one complex exp in all
        z *= z1
        if k in ks:
            acc += np.sqrt(2) * 10 ** ((p["level_db"] - p["harmonic_below_db"][k - 1]) / 20) * np.exp(1j * ph[k - 1]) * z
    x = acc.real
    return _upsample(num.rfft(x), n_low, d, n, pad_low, fs), {"harmonics": ks}

