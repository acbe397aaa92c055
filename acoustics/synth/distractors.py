"""Transient distractors in the ambient: snapping shrimp, fin, blue and humpback whales (physics.md §5).

Each is present in a drawn fraction of renders, ambient and vessel clips alike (design note: so that no
distractor marks a class). :func:`draw_distractors` draws the per-render parameters (JSON); the render
functions place the events from their own generator and return the received pressure [µPa] plus a
JSON record of what they placed (times, levels, ranges).

Levels: source levels SL in dB re 1 µPa @ 1 m (rms over the call), received level RL = SL − TL with
TL = spreading(r, H) + Francois–Garrison absorption (propagation.py, physics.md §6). Killer, minke and right whales
are in cetaceans.py; figures beyond physics.md (humpback unit lengths) are in docs/physics_additions.md.
"""

from __future__ import annotations

import numpy as np

from uwac.acoustics.synth import numerics as num
from uwac.acoustics.synth.propagation import absorption_db_per_km, spreading_loss_db

DEFAULT_WATER_DEPTH_M = 100.0  # H when the caller gives none (physics.md §6 "Received SNR per Hz" uses H = 100 m)
HANN_RMS_TO_PEAK = np.sqrt(16.0 / 3.0)  # tone under a Hann envelope: mean square = 3/16·A² (computed here)

# Snapping shrimp (physics.md §5 distractor table)
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

# Fin whale 20 Hz pulse (Weirathmueller et al. 2013; Cornell BRP; physics.md §5)
FIN_FRACTION = 0.15  # design note
FIN_BAND_HZ = (15.0, 40.0)  # FM downsweep within 15–40 Hz
FIN_MIN_SWEEP_HZ = 4.0  # design note: each pulse sweeps down at least 4 Hz
FIN_PULSE_S = (1.0, 2.0)  # pulse length 1–2 s
FIN_INTERVAL_S = (17.0, 40.0)  # pulses every 17–40 s
FIN_INTERVAL_JITTER = 0.05  # design note: ±5 % jitter on each inter-pulse interval
FIN_SL_DB = (189.0, 5.8)  # SL mean, sd [dB re 1 µPa @ 1 m]
FIN_RANGE_M = (1000.0, 50000.0)  # design note: log-uniform

# Blue whale call (Širović et al. 2007; Cummings & Thompson 1971; physics.md §5)
BLUE_FRACTION = 0.10  # design note
BLUE_START_HZ = (25.0, 29.0)  # tonal near 25–29 Hz (measured), inside the 10–40 Hz band
BLUE_DROP_HZ = (0.0, 8.0)  # design note: downsweep of up to 8 Hz, staying within 10–40 Hz
BLUE_CALL_S = (10.0, 30.0)  # call 10–30 s long
BLUE_SL_DB = (189.0, 3.0)  # SL mean, sd [dB re 1 µPa @ 1 m]
BLUE_INTERVAL_S = (40.0, 120.0)  # design note: one call per 40–120 s
BLUE_RANGE_M = (5000.0, 100000.0)  # design note: log-uniform

# Humpback song units (Girola et al. 2019; Au et al. 2006; physics.md §5)
HUMPBACK_FRACTION = 0.15  # design note
HUMPBACK_PEAK_HZ = (52.0, 3877.0)  # unit peak frequency 52–3877 Hz
HUMPBACK_SL_MAX_DB = (151.0, 173.0)  # max SL per unit 151–173 dB rms
HUMPBACK_UNIT_BELOW_MAX_DB = (0.0, 13.0)  # design note: units down to 138 dB (the song's 138–187 dB span)
HUMPBACK_SLOPE_DB_PER_OCTAVE = -2.3  # SL falls 2.3 dB/octave (Au 2006; design note: applied across harmonics)
HUMPBACK_HARMONICS = (1, 12)  # design note: harmonics per unit; units range "from pure tones to tone bursts"
# (K. Payne 2000) and Au et al. 2006 measured their higher-frequency harmonics across a 24 kHz band
HUMPBACK_FM_RATIO = (0.7, 1.4)  # design note: end/start frequency of a unit's linear FM
HUMPBACK_UNIT_S = (0.15, 8.0)  # units last 0.15–8 s (K. Payne 2000, "The progressively changing songs of
# humpback whales", in The Origins of Music); drawn log-uniform (design note). Renderer 0.4: 0.4–3 s design note
HUMPBACK_GAP_S = (0.3, 3.0)  # design note: silence between units
HUMPBACK_RANGE_M = (500.0, 20000.0)  # design note: log-uniform
BAND_TOP_FRACTION = 0.45  # tones kept below the 0.45·fs anti-alias corner (physics.md §7 design note)

NAMES = ("shrimp", "fin_whale", "blue_whale", "humpback")  # keys of env["distractors"] (physics.md §5 table)


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _normal_clipped(rng: np.random.Generator, mean: float, sd: float) -> float:
    """Normal draw clipped to ±2 sd (design note)."""
    return float(np.clip(rng.normal(mean, sd), mean - 2 * sd, mean + 2 * sd))


def _r(x: float, nd: int = 3) -> float:
    return round(float(x), nd)


def draw_distractors(rng: np.random.Generator) -> dict:
    """Per-render distractor parameters (None where absent). Every draw is made whether or not the
    distractor is present, so presence does not shift later draws."""
    shrimp = {"level_20khz_db": _r(SHRIMP_OVER_SS2_DB + rng.uniform(-SHRIMP_SPREAD_DB, SHRIMP_SPREAD_DB)),
              "rate_per_s": _r(_log_uniform(rng, *SHRIMP_RATE_PER_S)),
              "tail_index": _r(rng.uniform(*SHRIMP_TAIL_INDEX))}
    f_hi = rng.uniform(FIN_BAND_HZ[0] + FIN_MIN_SWEEP_HZ, FIN_BAND_HZ[1])
    fin = {"range_m": _r(_log_uniform(rng, *FIN_RANGE_M), 1), "sl_db": _r(_normal_clipped(rng, *FIN_SL_DB)),
           "interval_s": _r(rng.uniform(*FIN_INTERVAL_S)), "pulse_s": _r(rng.uniform(*FIN_PULSE_S)),
           "f_hi_hz": _r(f_hi), "f_lo_hz": _r(rng.uniform(FIN_BAND_HZ[0], f_hi - FIN_MIN_SWEEP_HZ))}
    f0 = rng.uniform(*BLUE_START_HZ)
    blue = {"range_m": _r(_log_uniform(rng, *BLUE_RANGE_M), 1), "sl_db": _r(_normal_clipped(rng, *BLUE_SL_DB)),
            "interval_s": _r(rng.uniform(*BLUE_INTERVAL_S)), "call_s": _r(rng.uniform(*BLUE_CALL_S)),
            "f_start_hz": _r(f0), "f_end_hz": _r(f0 - rng.uniform(*BLUE_DROP_HZ))}
    hump = {"range_m": _r(_log_uniform(rng, *HUMPBACK_RANGE_M), 1),
            "sl_max_db": _r(rng.uniform(*HUMPBACK_SL_MAX_DB))}
    present = rng.random(4) < (SHRIMP_BED_FRACTION, FIN_FRACTION, BLUE_FRACTION, HUMPBACK_FRACTION)
    return {k: (v if p else None) for k, v, p in zip(NAMES, (shrimp, fin, blue, hump), present, strict=True)}


def received_db(sl_db: float, f_hz, range_m: float, water_depth_m: float) -> np.ndarray:
    """Received level [dB re 1 µPa] of a source of level sl_db at f_hz [Hz] and range_m [m] (physics.md §6)."""
    alpha = absorption_db_per_km(f_hz, depth_m=0.5 * water_depth_m)
    return sl_db - spreading_loss_db(range_m, water_depth_m) - alpha * range_m / 1000.0


def _event_starts(rng: np.random.Generator, interval_s: float, duration_s: float, jitter: float = 0.0) -> np.ndarray:
    """Start times [s] of a periodic call train: the first uniform in [0, min(interval, duration)), so every
    present caller starts at least one call inside the clip."""
    t0 = rng.uniform(0.0, min(interval_s, duration_s))
    k = int(np.ceil((duration_s - t0) / interval_s)) + 1
    steps = interval_s * (1.0 + jitter * rng.uniform(-1.0, 1.0, k - 1))
    t = t0 + np.concatenate([[0.0], np.cumsum(steps)])
    return t[t < duration_s]


def _add_sweep(out: np.ndarray, fs: int, t0: float, dur: float, f_start: float, f_end: float,
               rms_upa: float, harmonics: np.ndarray | None = None) -> None:
    """Add a Hann-windowed linear FM sweep f_start → f_end [Hz] of rms_upa [µPa] over its length, starting
    at t0 [s], into out (cut at the clip edges). ``harmonics``: rms per harmonic k = 1.. (overrides rms_upa)."""
    i0, i1 = int(round(t0 * fs)), int(round((t0 + dur) * fs))
    lo, hi = max(i0, 0), min(i1, out.size)
    if hi <= lo:
        return
    t = (np.arange(lo, hi) - i0) / fs
    phase = 2 * np.pi * (f_start * t + 0.5 * (f_end - f_start) / dur * t * t)
    w = np.sin(np.pi * t / dur) ** 2  # Hann
    amps = np.array([rms_upa]) if harmonics is None else harmonics
    c1 = np.cos(phase)
    sig, prev, cur = amps[0] * c1, np.ones_like(c1), c1
    for a in amps[1:]:  # cos((k+1)x) = 2·cos x·cos kx − cos((k−1)x)
        prev, cur = cur, 2.0 * c1 * cur - prev
        sig += a * cur
    out[lo:hi] += HANN_RMS_TO_PEAK * w * sig


def render_fin_whale(rng: np.random.Generator, p: dict, n: int, fs: int, water_depth_m: float
                     ) -> tuple[np.ndarray, dict]:
    """Fin-whale 20 Hz pulse train [µPa], and its record (start times [s], received level [dB re 1 µPa])."""
    out = np.zeros(n)
    rl = float(received_db(p["sl_db"], 0.5 * (p["f_hi_hz"] + p["f_lo_hz"]), p["range_m"], water_depth_m))
    starts = _event_starts(rng, p["interval_s"], n / fs, FIN_INTERVAL_JITTER)
    for t0 in starts:
        _add_sweep(out, fs, t0, p["pulse_s"], p["f_hi_hz"], p["f_lo_hz"], 10 ** (rl / 20))
    return out, {"t_s": [_r(t) for t in starts], "received_db": _r(rl)}


def render_blue_whale(rng: np.random.Generator, p: dict, n: int, fs: int, water_depth_m: float
                      ) -> tuple[np.ndarray, dict]:
    """Blue-whale tonal calls [µPa], and their record (start times [s], received level [dB re 1 µPa])."""
    out = np.zeros(n)
    rl = float(received_db(p["sl_db"], 0.5 * (p["f_start_hz"] + p["f_end_hz"]), p["range_m"], water_depth_m))
    starts = _event_starts(rng, p["interval_s"], n / fs)
    for t0 in starts:
        _add_sweep(out, fs, t0, p["call_s"], p["f_start_hz"], p["f_end_hz"], 10 ** (rl / 20))
    return out, {"t_s": [_r(t) for t in starts], "received_db": _r(rl)}


def _humpback_units(rng: np.random.Generator, duration_s: float, f_top: float) -> list[tuple[float, ...]]:
    """(start [s], length [s], start and end frequency [Hz], dB below the whale's max SL, harmonics) per unit."""
    units, t = [], rng.uniform(0.0, HUMPBACK_GAP_S[1])
    while t < duration_s:
        dur = _log_uniform(rng, *HUMPBACK_UNIT_S)
        f0 = _log_uniform(rng, HUMPBACK_PEAK_HZ[0], min(HUMPBACK_PEAK_HZ[1], f_top / HUMPBACK_FM_RATIO[1]))
        units.append((t, dur, f0, f0 * rng.uniform(*HUMPBACK_FM_RATIO), rng.uniform(*HUMPBACK_UNIT_BELOW_MAX_DB),
                      int(rng.integers(HUMPBACK_HARMONICS[0], HUMPBACK_HARMONICS[1] + 1))))
        t += dur + rng.uniform(*HUMPBACK_GAP_S)
    return units


def render_humpback(rng: np.random.Generator, p: dict, n: int, fs: int, water_depth_m: float
                    ) -> tuple[np.ndarray, dict]:
    """Humpback song units [µPa]: harmonic FM tones (1–12 harmonics per unit), harmonic k at −2.3·log2(k) dB, the
    unit's harmonics sharing its SL in power, each attenuated at its own frequency; and the record of every unit."""
    out = np.zeros(n)
    f_top = BAND_TOP_FRACTION * fs
    record = []
    for t0, dur, f0, f1, below, harmonics in _humpback_units(rng, n / fs, f_top):
        k = np.arange(1, harmonics + 1)
        rel_db = HUMPBACK_SLOPE_DB_PER_OCTAVE * np.log2(k)
        rel_db -= 10 * np.log10(np.sum(10 ** (rel_db / 10)))  # harmonics share the unit's SL in power
        sl = p["sl_max_db"] - below
        keep = k * max(f0, f1) < f_top
        rl = received_db(sl + rel_db[keep], k[keep] * 0.5 * (f0 + f1), p["range_m"], water_depth_m)
        _add_sweep(out, fs, t0, dur, f0, f1, 0.0, harmonics=10 ** (rl / 20))
        record.append({"t_s": _r(t0), "dur_s": _r(dur), "f_start_hz": _r(f0, 1), "f_end_hz": _r(f1, 1),
                       "harmonics": int(harmonics), "sl_db": _r(sl),
                       "received_db": _r(10 * np.log10(np.sum(10 ** (rl / 10))))})
    return out, {"units": record}


def shrimp_gain(f_hz: np.ndarray) -> np.ndarray:
    """Amplitude response of the chorus band: 0 below 1 kHz, raised-cosine to 1 at 2 kHz, flat above."""
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


def distractor_spectrum(rng: np.random.Generator, params: dict, n: int, fs: int, *, water_depth_m: float,
                        sea_state_2_db_20khz: float) -> tuple[np.ndarray, dict]:
    """rfft (length n//2+1) of all present distractors [µPa] and the record of the events placed.

    The shrimp sounds only where a bed was drawn and the water is shallower than 55 m.
    """
    spec = np.zeros(n // 2 + 1, dtype=complex)
    record: dict = {}
    tonal = np.zeros(n)
    renders = {"fin_whale": render_fin_whale, "blue_whale": render_blue_whale, "humpback": render_humpback}
    for name, render in renders.items():
        if params.get(name):
            sig, record[name] = render(rng, params[name], n, fs, water_depth_m)
            tonal += sig
    if record:
        spec += num.rfft(tonal)
    if params.get("shrimp"):
        if water_depth_m < SHRIMP_MAX_DEPTH_M:
            s, record["shrimp"] = render_shrimp(rng, params["shrimp"], n, fs, sea_state_2_db_20khz)
            spec += s
        else:
            record["shrimp"] = {"active": False, "reason": f"water {water_depth_m:g} m >= {SHRIMP_MAX_DEPTH_M:g} m"}
    return spec, record
