"""Man-made sounds propagated through the water: active sonar pings (CW and LFM, 1–10 kHz, with reverberation
tails), echosounder / sub-bottom profiler pulse trains, fishing pingers, explosions and seal bombs, and scuba
breathing (confusers, issue 8).

Per source, ``draw_<name>(rng, sample_rate)`` draws its parameters (a JSON-ready dict) and
``render_<name>(rng, params, n, sample_rate, water)`` returns its received pressure [µPa] (n samples) and a JSON
record of what it placed; composition.py decides which are present in a render. Levels: SL in dB re 1 µPa @ 1 m
(rms over the pulse, or peak where said), RL = SL − TL applied per frequency bin to each event (common.py).
"""

from __future__ import annotations

import numpy as np

from uwac.acoustics.synth import numerics as num
from uwac.acoustics.synth.events.common import (
    DEFAULT_WATER,
    SEGMENT_PAD,
    _add,
    _band_noise,
    _edge_window,
    _fit_band,
    _lin,
    _log,
    _periodic_starts,
    _place,
    _propagate,
    _r,
    _tone,
    _water,
    received_db,
    tone_top_hz,
    transmission_loss,
)

SOUND_SPEED_M_S = 1500.0  # nominal c for path delays (physics.md §6 uses 1500 m/s for Lloyd's mirror)

# --- Active sonar (mid-frequency, naval and other) ---
SONAR_FRACTION = 0.05  # design note
SONAR_BAND_HZ = (1000.0, 10000.0)  # MF active sonar 1–10 kHz; AN/SQS-53C at 2.6 and 3.3 kHz (D'Spain et al. 2006,
# J. Cetacean Res. Manage. 7:223)
SONAR_SL_DB = (200.0, 235.0)  # rms @ 1 m; SQS-53C ~235 dB (Bahamas stranding joint interim report 2001; D'Spain
# et al. 2006); 200 dB for smaller hull, dipping and commercial sonars (design note)
SONAR_PULSE_S = (0.5, 2.0)  # pulse length (issue 8 figure; SQS-53C pings are 1–2 s, D'Spain et al. 2006)
SONAR_INTERVAL_S = (20.0, 60.0)  # one ping every 20–60 s (issue 8 figure; ~24 s for SQS-53C, D'Spain et al. 2006)
SONAR_LFM_FRACTION = 0.5  # design note: CW and LFM equally likely
SONAR_LFM_BANDWIDTH_HZ = (100.0, 1000.0)  # design note: LFM sweep width, up or down
SONAR_T60_S = (0.5, 5.0)  # reverberation decay time to −60 dB (issue 8 figure, design note)
SONAR_REVERB_BELOW_DB = (6.0, 20.0)  # design note: reverberation peak below the direct pulse (rms)
SONAR_REVERB_MARGIN_HZ = 50.0  # design note: reverberation band = ping band ± 50 Hz (Doppler spread of scatterers)
SONAR_RANGE_M = (20000.0, 200000.0)  # design note: log-uniform; naval exercises are heard from tens of km

# --- Echosounders and sub-bottom profilers (only the 3.5–12 kHz ones: 38–200 kHz sounders are above any
# 0.45·fs we record and would be dropped whole) ---
ECHO_FRACTION = 0.10  # design note
ECHO_BAND_HZ = (3500.0, 12000.0)  # 3.5 kHz sub-bottom profilers and 12 kHz deep-water sounders (issue 8;
# e.g. Crocker & Fratantonio 2016, BOEM 2016-044, measured such profilers; figures not checked here)
ECHO_CHIRP_FRACTION = 0.5  # design note: CW bursts and chirps equally likely
ECHO_CHIRP_BANDWIDTH_HZ = (1000.0, 4000.0)  # design note: chirp profiler sweep width
ECHO_PULSE_S = (0.001, 0.02)  # design note: 1–20 ms pulses
ECHO_INTERVAL_S = (0.25, 2.0)  # design note: ping period, set by the water depth being sounded
ECHO_SL_DB = (180.0, 215.0)  # rms @ 1 m on axis (design note, the span reported for profilers by Crocker &
# Fratantonio 2016; not checked here)
ECHO_OFF_AXIS_DB = (10.0, 30.0)  # design note: the beam points down, the hydrophone is off axis
ECHO_BOTTOM_BELOW_DB = (6.0, 20.0)  # design note: bottom-reflected copy below the direct arrival
ECHO_TRANSDUCER_DEPTH_M = 5.0  # design note: hull-mounted transducer depth
ECHO_RANGE_M = (200.0, 10000.0)  # design note: log-uniform

# --- Fishing pingers (acoustic deterrent devices on gillnets) ---
PINGER_FRACTION = 0.08  # design note
PINGER_10K_HZ = (9500.0, 10500.0)  # Airmar / Fumunda gillnet pingers: 10 kHz tone, 132 dB, every 4 s (German
# pinger test, Thünen/EC 812/2004 trials; Kraus et al. 1997, Nature 388:525); ±5 % spread across units (design note)
PINGER_LOW_HZ = (2500.0, 3000.0)  # 2.5–3 kHz tone pingers (issue 8 figure, design note)
PINGER_10K_FRACTION = 0.5  # design note: family mix where fs allows 10 kHz; otherwise only the low family
PINGER_PULSE_S = (0.25, 0.35)  # 300 ms tone (Kraus et al. 1997), ±50 ms across units (design note)
PINGER_INTERVAL_S = (3.6, 4.4)  # every 4 s (Airmar/Fumunda, Kraus et al. 1997), ±10 % across units (design note)
PINGER_SL_DB = (130.0, 145.0)  # rms @ 1 m: 132 dB (Airmar, Fumunda) to 145 dB (AquaMark 100) in the same tests
PINGER_MAX_COUNT = 3  # design note: 1–3 pingers of one net within earshot (nets carry one per 100–200 m)
PINGER_RANGE_M = (100.0, 3000.0)  # design note: log-uniform
PINGER_HARMONIC_BELOW_DB = (10.0, 25.0)  # design note: 2nd and 3rd harmonics of the driven transducer

# --- Explosions and seal bombs ---
EXPLOSION_FRACTION = 0.05  # design note
EXPLOSION_CHARGE_KG = (0.0023, 2.0)  # TNT-equivalent, log-uniform: 2.3 g flash powder seal bombs (Krumpel 2023,
# Univ. Tübingen thesis; Front. Mar. Sci. 2021) up to blast-fishing / demolition charges (design note)
EXPLOSION_DEPTH_M = (1.0, 4.0)  # seal bombs sink and go off up to ~4 m below the surface (Krumpel 2023)
EXPLOSION_SL_PEAK_DB = (190.0, 215.0)  # peak SL @ 1 m within the recorded band (issue 8 figure, design note),
# rising with log charge mass ±3 dB (design note)
EXPLOSION_SL_JITTER_DB = 3.0  # design note
EXPLOSION_MAX_COUNT = 4  # design note: 1–4 detonations per clip (seal bombs come in series: up to 2,800/day at
# nearshore sites, Krumpel et al. 2021)
EXPLOSION_RANGE_M = (500.0, 30000.0)  # design note: log-uniform
WILLIS_K = 2.11  # bubble period T = K·W^(1/3)/(z + 10.1)^(5/6) [s], W kg TNT, z m (Rayleigh–Willis; Cole 1948)
WILLIS_Z0_M = 10.1  # atmospheric pressure head [m] in the Willis formula (Cole 1948)
ARONS_THETA_S = 92.5e-6  # shock decay θ = 92.5·W^(1/3)·(W^(1/3)/R)^(−0.22) µs (Arons 1954, JASA 26:343)
ARONS_EXPONENT = -0.22  # same source
BUBBLE_REL = (0.15, 0.35)  # design note: 1st bubble pulse at 15 % of the shock peak (Cole 1948: 10–20 %), the 2nd
# at 35 % of the 1st
BUBBLE_SECOND_PERIOD = 0.75  # design note: the 2nd oscillation is ~0.75 of the first period
BUBBLE_WIDTH = 0.03  # design note: Gaussian bubble pulse, σ = 3 % of the bubble period

# --- Scuba (open-circuit) breathing ---
SCUBA_FRACTION = 0.05  # design note
SCUBA_BREATH_S = (4.0, 6.0)  # one breath every 4–6 s (issue 8 figure; 10–15 breaths/min)
SCUBA_BREATH_JITTER = 0.1  # design note: ±10 % per breath
SCUBA_INHALE_S = (0.6, 1.2)  # design note
SCUBA_EXHALE_S = (1.0, 2.0)  # design note
SCUBA_BAND_HZ = (300.0, 10000.0)  # regulator (inhale) hiss band (issue 8 figure); the flow noise reaches > 100 kHz
SCUBA_SL_DB = (130.0, 160.0)  # rms @ 1 m (issue 8 figure; Radford et al. 2005 measured 161 ± 1 dB for SCUBA)
SCUBA_EXHALE_REL_DB = (-6.0, 6.0)  # design note: exhaust bubbles relative to the inhale hiss
SCUBA_BUBBLE_RADIUS_M = (0.001, 0.01)  # design note: exhaust bubbles 1–10 mm
MINNAERT_F_TIMES_A = 3.26  # Minnaert resonance f·a = 3.26 m/s at 1 atm, ∝ √(1 + z/10 m) (Minnaert 1933); with
# 1–10 mm bubbles: 0.3–3.3 kHz, within the 30–1200 Hz respiratory band of Korenbaum et al. 2019 and above
SCUBA_BUBBLE_RATE_PER_S = (200.0, 800.0)  # design note
SCUBA_BUBBLE_Q = 10.0  # design note: bubble damping (decay time Q/(π f))
SCUBA_BUBBLE_CLASSES = 6  # design note: 6 bubble sizes per breath (one FFT convolution each)
SCUBA_DEPTH_M = (5.0, 30.0)  # design note
SCUBA_RANGE_M = (5.0, 300.0)  # design note: log-uniform; breathing is detectable to ~100–220 m (Korenbaum 2019)


# ------------------------------------------------------------------------------------------ active sonar

def draw_active_sonar(rng: np.random.Generator, sample_rate: int) -> dict:
    """CW or LFM ping in 1–10 kHz (within the recorded band), SL [dB re 1 µPa @ 1 m], pulse and interval [s],
    reverberation T60 [s] and level [dB below the ping], range [m]."""
    u = rng.random(9)
    kind = "lfm" if u[0] < SONAR_LFM_FRACTION else "cw"
    width = _lin(u[1], *SONAR_LFM_BANDWIDTH_HZ) if kind == "lfm" else 0.0
    band = _fit_band(u[2], SONAR_BAND_HZ, width, sample_rate)
    f0, f1 = (None, None) if band is None else (band[::-1] if u[3] < 0.5 else band)
    return {"kind": kind, "f_start_hz": None if f0 is None else _r(f0, 1), "f_end_hz": None if f1 is None else _r(f1, 1),
            "sl_db": _r(_lin(u[4], *SONAR_SL_DB)), "pulse_s": _r(_lin(u[5], *SONAR_PULSE_S)),
            "interval_s": _r(_lin(u[6], *SONAR_INTERVAL_S)), "t60_s": _r(_lin(u[7], *SONAR_T60_S)),
            "reverb_below_db": _r(_lin(u[8], *SONAR_REVERB_BELOW_DB)),
            "range_m": _r(_log(rng.random(), *SONAR_RANGE_M), 1)}


def render_active_sonar(rng: np.random.Generator, p: dict, n: int, sample_rate: int, water: dict | None = None
                        ) -> tuple[np.ndarray, dict]:
    """Pings [µPa]: the pulse (rms SL − TL) plus an exponentially decaying band-noise reverberation tail
    (T60 ``t60_s``, peak ``reverb_below_db`` under the pulse), every ``interval_s``."""
    fs, w, out = sample_rate, _water(water), np.zeros(n)
    if p["f_start_hz"] is None:
        return out, {"audible": False}
    f0, f1 = p["f_start_hz"], p["f_end_hz"]
    pulse = _tone(fs, p["pulse_s"], f0, f1)
    m_p, m_t = pulse.size, int(round(p["t60_s"] * fs))
    envelope = np.concatenate([np.linspace(0.0, 1.0, m_p), 10 ** (-3.0 * np.arange(m_t) / m_t)])
    lo, hi = min(f0, f1) - SONAR_REVERB_MARGIN_HZ, max(f0, f1) + SONAR_REVERB_MARGIN_HZ
    starts = _periodic_starts(rng, p["interval_s"], n / fs)
    scale = 10 ** (p["sl_db"] / 20)
    for t0 in starts:
        seg = _band_noise(rng, m_p + m_t, fs, lo, hi) * envelope * 10 ** (-p["reverb_below_db"] / 20)
        seg[:m_p] += pulse
        _add(out, _propagate(seg, fs, p["range_m"], w) * scale, int(round(t0 * fs)) - SEGMENT_PAD)
    rl = float(received_db(p["sl_db"], 0.5 * (f0 + f1), p["range_m"], w))
    return out, {"t_s": [_r(t) for t in starts], "received_db": _r(rl)}


# ------------------------------------------------------------------------------------------- echosounder

def draw_echosounder(rng: np.random.Generator, sample_rate: int) -> dict:
    """CW burst or chirp in 3.5–12 kHz (within the recorded band), pulse and ping period [s], SL [dB re 1 µPa @ 1 m],
    off-axis loss and bottom echo [dB], range [m]."""
    u = rng.random(9)
    kind = "chirp" if u[0] < ECHO_CHIRP_FRACTION else "cw"
    width = _lin(u[1], *ECHO_CHIRP_BANDWIDTH_HZ) if kind == "chirp" else 0.0
    band = _fit_band(u[2], ECHO_BAND_HZ, width, sample_rate)
    return {"kind": kind, "f_start_hz": None if band is None else _r(band[0], 1),
            "f_end_hz": None if band is None else _r(band[1], 1), "pulse_s": _r(_log(u[3], *ECHO_PULSE_S), 5),
            "interval_s": _r(_lin(u[4], *ECHO_INTERVAL_S), 4), "sl_db": _r(_lin(u[5], *ECHO_SL_DB)),
            "off_axis_db": _r(_lin(u[6], *ECHO_OFF_AXIS_DB)), "bottom_below_db": _r(_lin(u[7], *ECHO_BOTTOM_BELOW_DB)),
            "range_m": _r(_log(u[8], *ECHO_RANGE_M), 1)}


def render_echosounder(rng: np.random.Generator, p: dict, n: int, sample_rate: int, water: dict | None = None
                       ) -> tuple[np.ndarray, dict]:
    """Pulse train [µPa] of a survey echosounder: each ping the direct arrival (rms SL − off-axis − TL) and
    its bottom-reflected copy, every ``interval_s``."""
    fs, w, out = sample_rate, _water(water), np.zeros(n)
    if p["f_start_hz"] is None:
        return out, {"audible": False}
    r, zs, zr, h = p["range_m"], ECHO_TRANSDUCER_DEPTH_M, w["receiver_depth_m"], w["water_depth_m"]
    delay_s = (np.hypot(r, 2 * h - zs - zr) - np.hypot(r, zr - zs)) / SOUND_SPEED_M_S
    pulse = _tone(fs, p["pulse_s"], p["f_start_hz"], p["f_end_hz"])
    i_echo = int(round(delay_s * fs))
    seg = np.zeros(i_echo + pulse.size)
    seg[: pulse.size] += pulse
    seg[i_echo:] += pulse * 10 ** (-p["bottom_below_db"] / 20)
    sl = p["sl_db"] - p["off_axis_db"]
    template = _propagate(seg, fs, r, w) * 10 ** (sl / 20)
    starts = _periodic_starts(rng, p["interval_s"], n / fs)
    idx = np.round(starts * fs).astype(np.int64) - SEGMENT_PAD
    _place(out, template, idx, np.ones(idx.size))
    fc = 0.5 * (p["f_start_hz"] + p["f_end_hz"])
    return out, {"n_pings": int(starts.size), "t0_s": _r(starts[0]) if starts.size else None,
                 "bottom_delay_s": _r(delay_s, 5), "received_db": _r(float(received_db(sl, fc, r, w)))}


# ----------------------------------------------------------------------------------------- fishing pinger

def draw_fishing_pinger(rng: np.random.Generator, sample_rate: int) -> dict:
    """Pinger family (10 kHz where fs allows, else 2.5–3 kHz), tone [Hz], pulse and period [s], SL [dB re 1 µPa
    @ 1 m], harmonics [dB below], and the range [m] of each of 1–3 pingers."""
    u = rng.random(7)
    fits_10k = PINGER_10K_HZ[1] < tone_top_hz(sample_rate)
    family = "10khz" if fits_10k and u[0] < PINGER_10K_FRACTION else "2.5-3khz"
    f_hz = _lin(u[1], *(PINGER_10K_HZ if family == "10khz" else PINGER_LOW_HZ))
    count = 1 + int(u[2] * PINGER_MAX_COUNT)
    ranges = [_r(_log(x, *PINGER_RANGE_M), 1) for x in rng.random(PINGER_MAX_COUNT)][:count]
    return {"family": family, "f_hz": _r(f_hz, 1), "pulse_s": _r(_lin(u[3], *PINGER_PULSE_S)),
            "interval_s": _r(_lin(u[4], *PINGER_INTERVAL_S)), "sl_db": _r(_lin(u[5], *PINGER_SL_DB)),
            "harmonic_below_db": [_r(_lin(u[6], *PINGER_HARMONIC_BELOW_DB)),
                                  _r(_lin(u[6], *PINGER_HARMONIC_BELOW_DB) + 6.0)],
            "count": count, "ranges_m": ranges}


def render_fishing_pinger(rng: np.random.Generator, p: dict, n: int, sample_rate: int, water: dict | None = None
                          ) -> tuple[np.ndarray, dict]:
    """Tone pulses [µPa] of each pinger (rms SL − TL over the pulse), every ``interval_s`` from its own start;
    harmonics above the recorded band are dropped."""
    fs, w, out = sample_rate, _water(water), np.zeros(n)
    f = p["f_hz"]
    if f >= tone_top_hz(fs):
        return out, {"audible": False}
    pulse = _tone(fs, p["pulse_s"], f, f, rel_db=p["harmonic_below_db"], top_hz=tone_top_hz(fs))
    units = []
    for r in p["ranges_m"]:
        template = _propagate(pulse, fs, r, w) * 10 ** (p["sl_db"] / 20)
        starts = _periodic_starts(rng, p["interval_s"], n / fs)
        _place(out, template, np.round(starts * fs).astype(np.int64) - SEGMENT_PAD, np.ones(starts.size))
        units.append({"range_m": r, "t0_s": _r(starts[0]), "n_pulses": int(starts.size),
                      "received_db": _r(float(received_db(p["sl_db"], f, r, w)))})
    return out, {"pingers": units}


# -------------------------------------------------------------------------------- explosions, seal bombs

def bubble_period_s(charge_kg: float, depth_m: float) -> float:
    """First bubble-pulse period [s] of a charge_kg [kg TNT] charge at depth_m [m] (Rayleigh–Willis, Cole 1948)."""
    return WILLIS_K * charge_kg ** (1 / 3) / (depth_m + WILLIS_Z0_M) ** (5 / 6)


def shock_decay_s(charge_kg: float, range_m: float = 1.0) -> float:
    """Shock-wave exponential decay constant θ [s] at range_m [m] (Arons 1954)."""
    w3 = charge_kg ** (1 / 3)
    return ARONS_THETA_S * w3 * (w3 / range_m) ** ARONS_EXPONENT


def draw_explosion(rng: np.random.Generator, sample_rate: int) -> dict:
    """Charge [kg TNT], depth [m], peak SL within the band [dB re 1 µPa @ 1 m], detonation count, range [m]."""
    u = rng.random(5)
    lw = np.log(EXPLOSION_CHARGE_KG)
    charge = float(np.exp(lw[0] + u[0] * (lw[1] - lw[0])))
    sl = _lin(u[0], *EXPLOSION_SL_PEAK_DB) + EXPLOSION_SL_JITTER_DB * (2 * u[1] - 1)
    return {"charge_kg": _r(charge, 5), "depth_m": _r(_lin(u[2], *EXPLOSION_DEPTH_M)),
            "sl_peak_db": _r(np.clip(sl, *EXPLOSION_SL_PEAK_DB)), "count": 1 + int(u[3] * EXPLOSION_MAX_COUNT),
            "range_m": _r(_log(u[4], *EXPLOSION_RANGE_M), 1)}


def explosion_source(p: dict, sample_rate: int) -> np.ndarray:
    """1 m waveform [µPa] of one detonation: exponential shock (θ of Arons 1954) then two Gaussian bubble
    pulses at the Willis periods, band-limited below 0.45·fs and scaled to peak SL ``sl_peak_db``."""
    fs = sample_rate
    tb = bubble_period_s(p["charge_kg"], p["depth_m"])
    t2 = tb * (1.0 + BUBBLE_SECOND_PERIOD)
    sigma = BUBBLE_WIDTH * tb
    t = np.arange(int(np.ceil((t2 + 5 * sigma) * fs)) + 1) / fs
    x = np.exp(-t / shock_decay_s(p["charge_kg"]))
    for t_b, a in ((tb, BUBBLE_REL[0]), (t2, BUBBLE_REL[0] * BUBBLE_REL[1])):
        x += a * np.exp(-0.5 * ((t - t_b) / sigma) ** 2)
    y = _propagate(x, fs, None, DEFAULT_WATER)
    return y * (10 ** (p["sl_peak_db"] / 20) / np.max(np.abs(y)))


def render_explosion(rng: np.random.Generator, p: dict, n: int, sample_rate: int, water: dict | None = None
                     ) -> tuple[np.ndarray, dict]:
    """``count`` detonations [µPa] at uniform times: the 1 m waveform through TL(f, r) plus its pressure-
    release surface image (physics.md §6 Lloyd's mirror), which cancels the low frequencies at long range."""
    fs, w, out = sample_rate, _water(water), np.zeros(n)
    r, zs, zr = p["range_m"], p["depth_m"], w["receiver_depth_m"]
    r1, r2 = np.hypot(r, zr - zs), np.hypot(r, zr + zs)  # direct and surface-image path lengths [m]
    image_s = (r2 - r1) / SOUND_SPEED_M_S
    y = _propagate(explosion_source(p, fs), fs, r, w, image_delay_s=image_s, image_gain=r1 / r2)  # starts 2·SEGMENT_PAD before the shock
    times = np.sort(rng.uniform(0.0, n / fs, p["count"]))
    _place(out, y, np.round(times * fs).astype(np.int64) - 2 * SEGMENT_PAD, np.ones(times.size))
    return out, {"t_s": [_r(t) for t in times], "bubble_period_s": _r(bubble_period_s(p["charge_kg"], zs), 4),
                 "image_delay_s": _r(image_s, 7), "received_peak_db": _r(20 * np.log10(np.max(np.abs(y)))),
                 "free_field_peak_db": _r(p["sl_peak_db"] - float(transmission_loss(1000.0, r, w)))}


# ------------------------------------------------------------------------------------------------- scuba

def draw_scuba(rng: np.random.Generator, sample_rate: int) -> dict:
    """Breath period, inhale and exhale lengths [s], inhale SL [dB re 1 µPa @ 1 m], exhale level [dB], bubble radii
    [m] and rate [1/s], depth and range [m]."""
    u = rng.random(9)
    a_lo = _log(u[6], *SCUBA_BUBBLE_RADIUS_M)
    return {"breath_s": _r(_lin(u[0], *SCUBA_BREATH_S)), "inhale_s": _r(_lin(u[1], *SCUBA_INHALE_S)),
            "exhale_s": _r(_lin(u[2], *SCUBA_EXHALE_S)), "sl_db": _r(_lin(u[3], *SCUBA_SL_DB)),
            "exhale_rel_db": _r(_lin(u[4], *SCUBA_EXHALE_REL_DB)),
            "bubble_rate_per_s": _r(_lin(u[5], *SCUBA_BUBBLE_RATE_PER_S), 1),
            "bubble_radius_m": [_r(a_lo, 5), _r(min(a_lo * 3.0, SCUBA_BUBBLE_RADIUS_M[1]), 5)],
            "depth_m": _r(_lin(u[7], *SCUBA_DEPTH_M)), "range_m": _r(_log(u[8], *SCUBA_RANGE_M), 1)}


def _bubbles(rng: np.random.Generator, p: dict, m: int, fs: int) -> np.ndarray:
    """m samples of exhaust bubbles: Poisson onsets with log-normal amplitudes, each ringing (Q =
    SCUBA_BUBBLE_Q) at the Minnaert frequency of its radius. Radii come in SCUBA_BUBBLE_CLASSES sizes drawn
    afresh for every breath (one per log-spaced slice of the radius range); the rings are convolved in the
    frequency domain with their closed-form spectra r·sin ω0·z / (1 − 2r·cos ω0·z + r²z²), z = e^{−iω}."""
    count = int(rng.poisson(p["bubble_rate_per_s"] * m / fs))
    edges = np.log(np.geomspace(*p["bubble_radius_m"], SCUBA_BUBBLE_CLASSES + 1))
    a = np.exp(rng.uniform(edges[:-1], edges[1:]))
    f0 = np.minimum(MINNAERT_F_TIMES_A / a * np.sqrt(1.0 + p["depth_m"] / 10.0), tone_top_hz(fs))
    mf = num.next_fast_len(m + int(8 * SCUBA_BUBBLE_Q / (np.pi * f0.min()) * fs), real=True)  # rings decay e^−8
    cls = rng.integers(0, SCUBA_BUBBLE_CLASSES, count)
    pos = rng.integers(0, m, count)
    amp = np.exp(rng.normal(0.0, 0.5, count))  # design note: bubble-to-bubble amplitude spread
    trains = np.zeros((SCUBA_BUBBLE_CLASSES, mf))
    np.add.at(trains, (cls, pos), amp)
    z = np.exp(-2j * np.pi * np.arange(mf // 2 + 1) / mf)
    w0 = 2 * np.pi * f0[:, None] / fs
    r = np.exp(-np.pi * f0[:, None] / (SCUBA_BUBBLE_Q * fs))
    rings = r * np.sin(w0) * z / (1.0 - 2.0 * r * np.cos(w0) * z + r * r * z * z)
    return num.irfft(np.sum(num.rfft(trains, axis=1) * rings, axis=0), mf)[:m]


def render_scuba(rng: np.random.Generator, p: dict, n: int, sample_rate: int, water: dict | None = None
                 ) -> tuple[np.ndarray, dict]:
    """Breaths [µPa]: regulator hiss (band noise 0.3–10 kHz, rms SL − TL over the inhale), a pause, then
    exhaust bubbles (rms ``exhale_rel_db`` from the hiss), one breath every ``breath_s`` ±10 %."""
    fs, w, out = sample_rate, _water(water), np.zeros(n)
    m_in, m_ex = int(round(p["inhale_s"] * fs)), int(round(p["exhale_s"] * fs))
    gap = int(round(0.2 * fs))  # design note: 0.2 s between inhale and exhale
    hi = min(SCUBA_BAND_HZ[1], tone_top_hz(fs))
    win_in, win_ex = _edge_window(m_in, m_in // 4), _edge_window(m_ex, m_ex // 4)
    starts = _periodic_starts(rng, p["breath_s"], n / fs, SCUBA_BREATH_JITTER)
    scale = 10 ** (p["sl_db"] / 20)
    for t0 in starts:
        seg = np.zeros(m_in + gap + m_ex)
        hiss = _band_noise(rng, m_in, fs, SCUBA_BAND_HZ[0], hi) * win_in
        seg[:m_in] = hiss / np.sqrt(np.mean(hiss**2))
        bub = _bubbles(rng, p, m_ex, fs) * win_ex
        seg[m_in + gap:] = bub * (10 ** (p["exhale_rel_db"] / 20) / max(np.sqrt(np.mean(bub**2)), 1e-300))
        _add(out, _propagate(seg, fs, p["range_m"], w) * scale, int(round(t0 * fs)) - SEGMENT_PAD)
    fc = np.sqrt(SCUBA_BAND_HZ[0] * hi)
    return out, {"t_s": [_r(t) for t in starts], "received_db": _r(float(received_db(p["sl_db"], fc, p["range_m"], w)))}

