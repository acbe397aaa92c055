"""Whales and dolphins: fin, blue and humpback whales (distractors, physics.md §5), killer, minke and North Atlantic
right whales (renderer 0.5), and dolphin whistles and clicks (a confuser, issue 8).

Tonal biological sounds at published levels and rates in every class, so that "tonal" never means "ship";
composition.py decides which are present in a render and from which random stream. Fin, blue and humpback are
drawn by ``draw_<name>(rng)`` and rendered by ``render_<name>(rng, params, n, fs, water_depth_m)``; the others by
``draw_<name>(rng, sample_rate)`` and ``render_<name>(rng, params, n, sample_rate, water)``. Each render returns
the received pressure [µPa] (n samples) and a JSON record of what it placed (times, levels, ranges).

Levels: SL [dB re 1 µPa @ 1 m, rms over the call] minus TL(f, r) = spreading + Francois–Garrison absorption
(common.py, physics.md §6), at the call's frequency or applied per frequency bin; ranges are drawn log-uniform
(design note). Tones stay below 0.405·fs and every propagated signal passes the raised-cosine roll-off that reaches
zero at 0.45·fs (``common.band_top_gain``). Slow species are synthesised at a low rate and FFT-upsampled. The
published figures behind the constants are tabulated, with their sources, in docs/physics_additions.md; "design
note" marks a choice no source states.
"""

from __future__ import annotations

import numpy as np

from uwac.acoustics.synth.events.common import (
    EDGE_S,
    SEGMENT_PAD,
    _add,
    _contour,
    _edge_window,
    _fm_harmonics,
    _gate,
    _lin,
    _log,
    _low_grid,
    _low_rate,
    _low_render,
    _normal_clipped,
    _periodic_starts,
    _phase,
    _place,
    _poisson_starts,
    _propagate,
    _r,
    _water,
    emitted_ms,
    harmonic_series,
    received_db,
    tone_top_hz,
)
from uwac.acoustics.synth.recorder import ANTI_ALIAS_FRACTION

HANN_RMS_TO_PEAK = np.sqrt(16.0 / 3.0)  # tone under a Hann envelope: mean square = 3/16·A² (computed here)
LOW_TOP_FRACTION = 0.4  # design note: low-rate tones stay below 0.4 × the low rate, under _upsample's roll-off

# --- Fin whale 20 Hz pulse (Weirathmueller et al. 2013; Cornell BRP; physics.md §5) ---
FIN_FRACTION = 0.15  # design note
FIN_BAND_HZ = (15.0, 40.0)  # FM downsweep within 15–40 Hz
FIN_MIN_SWEEP_HZ = 4.0  # design note: each pulse sweeps down at least 4 Hz
FIN_PULSE_S = (1.0, 2.0)  # pulse length 1–2 s
FIN_INTERVAL_S = (17.0, 40.0)  # pulses every 17–40 s
FIN_INTERVAL_JITTER = 0.05  # design note: ±5 % jitter on each inter-pulse interval
FIN_SL_DB = (189.0, 5.8)  # SL mean, sd [dB re 1 µPa @ 1 m]
FIN_RANGE_M = (1000.0, 50000.0)  # design note: log-uniform

# --- Blue whale call (Širović et al. 2007; Cummings & Thompson 1971; physics.md §5) ---
BLUE_FRACTION = 0.10  # design note
BLUE_START_HZ = (25.0, 29.0)  # tonal near 25–29 Hz (measured), inside the 10–40 Hz band
BLUE_DROP_HZ = (0.0, 8.0)  # design note: downsweep of up to 8 Hz, staying within 10–40 Hz
BLUE_CALL_S = (10.0, 30.0)  # call 10–30 s long
BLUE_SL_DB = (189.0, 3.0)  # SL mean, sd [dB re 1 µPa @ 1 m]
BLUE_INTERVAL_S = (40.0, 120.0)  # design note: one call per 40–120 s
BLUE_RANGE_M = (5000.0, 100000.0)  # design note: log-uniform

# --- Humpback song units (Girola et al. 2019; Au et al. 2006; physics.md §5) ---
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

# --- Killer whale (Orcinus orca): pulsed calls and whistles ---
ORCA_FRACTION = 0.10  # design note
ORCA_PRR_HZ = (250.0, 2000.0)  # pulsed calls: pulses at 250–2000 /s (Ford 1987, as summarised in the Orcasound
# bioacoustic nomenclature); the pulse rate is the call's "fundamental", its harmonics the sidebands
ORCA_PRR_STEP = (0.7, 1.4)  # design note: PRR ratio between successive contour points (calls are FM'd)
ORCA_CALL_S = (0.5, 1.5)  # "most ~0.5–1.5 s" (Ford 1987, same summary; range 5 ms–10 s)
ORCA_PEAK_HZ = (1000.0, 6000.0)  # "primary energy 1–6 kHz" (Ford 1987, same summary)
ORCA_ENVELOPE_OCT = (0.5, 1.5)  # design note: spectral envelope of the pulses, Gaussian in log2 f, sd in octaves
ORCA_HFC_FRACTION = 0.5  # design note: calls with an overlapping, independently modulated high-frequency component
# (all "long-range" stereotyped calls have one; Miller 2006)
ORCA_HFC_HZ = (5000.0, 12000.0)  # design note: HFC contour (call energy reaches 30 kHz, Ford 1987)
ORCA_HFC_BELOW_DB = (6.0, 15.0)  # design note: HFC rms below the low-frequency component
ORCA_CALL_SL_DB = (152.6, 5.9)  # stereotyped calls 152.6 ± 5.9 dB re 1 µPa @ 1 m, 1–20 kHz (Miller 2006)
ORCA_WHISTLE_SL_DB = (140.2, 4.1)  # whistles 140.2 ± 4.1 dB (Miller 2006)
ORCA_SL_LIMITS_DB = (131.0, 168.0)  # all calls and whistles 131–168 dB (Miller 2006)
ORCA_BAND_TOP_HZ = 20000.0  # the SLs are over 1–20 kHz (Miller 2006): the emitted call is normalised to 20 kHz
ORCA_WHISTLE_HZ = (1000.0, 18000.0)  # whistles 1–18 kHz (Thomsen et al. 2001; Ford 1989; cited by Simonis 2012)
ORCA_WHISTLE_S = (0.5, 10.0)  # design note, log-uniform: "~1–10 s" (Orcasound nomenclature); Bremer Canyon calls
# and whistles 0.05–11.3 s (Wellard et al. 2015)
ORCA_WHISTLE_SHARE = 0.25  # design note: share of whistles among a pod's vocalisations
ORCA_CONTOUR_POINTS = 3  # design note: contour control points, cosine-interpolated
ORCA_INTERVAL_S = (2.0, 20.0)  # design note: mean gap between a vocal pod's calls (Poisson)
ORCA_RANGE_M = (200.0, 10000.0)  # design note, log-uniform; active space 5–16 km in sea state 0 (Miller 2006)

# --- Minke whale (Balaenoptera acutorostrata): North Pacific boing and North Atlantic pulse trains ---
MINKE_FRACTION = 0.10  # design note
MINKE_BOING_SHARE = 0.5  # design note: boing or pulse trains, equally likely
BOING_TYPES = {"central": (115.0, 2.6), "eastern": (92.0, 3.6)}  # pulse repetition rate [/s], duration [s]
# (Rankin & Barlow 2005)
BOING_SPREAD = 0.05  # design note: ±5 % call to call (an individual varies as much as the population; R&B 2005)
BOING_BAND_HZ = (1350.0, 1440.0)  # most energy in 1,350–1,440 Hz, in bands at the pulse rate (central boing;
# Wikipedia "The Boing", after Rankin & Barlow 2005): the pulses' carrier
BOING_ENVELOPE_HZ = (40.0, 80.0)  # design note: sd of the pulses' Gaussian spectral envelope
BOING_ENVELOPE_TOP_HZ = 3000.0  # design note: the envelope is negligible above 3 kHz (> 19 sd over the carrier)
BOING_FM = (0.97, 1.03)  # design note: end/start ratio of the pulse rate and carrier ("FM and AM", same sources)
BOING_AM_DEPTH = (0.1, 0.5)  # design note
BOING_AM_RATE_HZ = (1.0, 4.0)  # design note
BOING_ONSET_S = (0.05, 0.15)  # design note: the onset transient, a tone burst at the carrier
BOING_SL_DB = (150.0, 168.0)  # design note: no boing SL found; spans the dwarf minke "star-wars" call, 150–165 dB
# (Gedamke et al. 2001), and North Atlantic pulse trains, 164–168 dB (Risch et al. 2014)
BOING_INTERVAL_S = (10.0, 60.0)  # design note: mean gap between boings (Poisson)
PULSE_TRAINS = {  # Mellinger, Carson & Clark 2000 (Puerto Rico): band [Hz], start and end rate [/s], length mean/sd [s]
    "speed_up": ((200.0, 400.0), 1.5, 2.8, (43.7, 6.0)),
    "slow_down": ((250.0, 350.0), 4.5, 2.9, (60.9, 5.8)),
}
SLOW_DOWN_SHARE = 0.25  # slow-down trains are "less common" (Mellinger 2000); design note: 25 %
MINKE_PULSE_S = (0.04, 0.06)  # pulses 40–60 ms (Mellinger 2000)
MINKE_PULSE_JITTER = 0.03  # design note: ±3 % pulse-to-pulse frequency jitter around the train's frequency
MINKE_TRAIN_SL_DB = (164.0, 168.0)  # average SLrms of pulse trains 164–168 dB re 1 µPa (Risch et al. 2014)
MINKE_ICI_S = 60.3  # median inter-call interval 60.3 s (Risch et al. 2014), start to start
MINKE_ICI_SIGMA = 0.3  # design note: log-normal spread of that interval
MINKE_RANGE_M = (500.0, 20000.0)  # design note, log-uniform; detection ranges 0.4–10.2 km in a noisy coastal site
# (Risch et al. 2014)

# --- North Atlantic right whale (Eubalaena glacialis): up-calls ---
RIGHT_FRACTION = 0.10  # design note
UPCALL_START_HZ = (90.0, 110.0)  # ~90 Hz (McDonald & Moore 2002, right whale up-call; "similar to South Atlantic")
# to ~100 Hz (NOAA NEFSC, as reported by Fondriest Environmental)
UPCALL_END_HZ = (150.0, 300.0)  # 150 Hz (McDonald & Moore 2002) to 300 Hz (NOAA NEFSC)
UPCALL_S = (0.7, 2.0)  # 0.7 s (McDonald & Moore 2002), "about a second" (listenforwhales.org), ~2 s (NOAA NEFSC)
UPCALL_SHAPE = (1.0, 2.5)  # design note: f(t) = f0 + (f1 − f0)·(t/T)^p, a convex ("J") up-sweep
UPCALL_HARMONIC_FRACTION = 0.18  # harmonics in 18 % of right whale sounds (Vanderlaan et al. 2003)
UPCALL_HARMONIC_BELOW_DB = (6.0, 20.0)  # design note: 2nd harmonic below the fundamental
RIGHT_SL_DB = (137.0, 162.0)  # tonal calls 137–162 dB rms re 1 µPa @ 1 m (Parks & Tyack 2005)
RIGHT_CLUSTER = (2, 5)  # sounds come in clusters of 2–5 (Vanderlaan et al. 2003)
RIGHT_RATE_PER_MIN = (0.3, 0.7)  # 0.3–0.7 sounds per minute (Vanderlaan et al. 2003)
RIGHT_GAP_S = (2.0, 20.0)  # design note: gaps within a cluster (intervals 2–700 s, Vanderlaan et al. 2003)
RIGHT_RANGE_M = (1000.0, 20000.0)  # design note, log-uniform; up-calls detected to ~20 km (McDonald & Moore 2002)

# --- Dolphins: whistles and echolocation clicks ---
DOLPHIN_FRACTION = 0.12  # design note
WHISTLE_BAND_HZ = (5000.0, 20000.0)  # whistle fundamental contour (issue 8 figure)
WHISTLE_S = (0.2, 1.5)  # design note
WHISTLE_INTERVAL_S = (3.0, 30.0)  # design note: mean gap between whistles (2–20 per minute)
WHISTLE_SL_DB = (134.0, 169.0)  # rms @ 1 m, bottlenose 158 ± 6.4, 134–169 dB (Janik 2000)
WHISTLE_HARMONIC_BELOW_DB = ((6.0, 12.0), (12.0, 20.0))  # design note: 2nd and 3rd harmonics
WHISTLE_POINTS = 4  # design note: contour control points, cosine-interpolated
CLICK_SL_PP_DB = (190.0, 225.0)  # peak-to-peak @ 1 m, bottlenose (Au 1993, The Sonar of Dolphins)
CLICK_INBAND_BELOW_DB = (25.0, 45.0)  # design note: clicks peak at 30–130 kHz (Au 1993); the part below 0.45·fs is
# taken as flat and this much below the full-band peak-to-peak level
CLICK_ICI_S = (0.02, 0.15)  # design note: inter-click interval
CLICK_TRAIN_S = (0.5, 3.0)  # design note
CLICK_TRAIN_INTERVAL_S = (4.0, 30.0)  # design note: mean gap between click trains
CLICK_HALF = 2048  # design note: samples either side of a click for its band-limiting kernel
CLICK_TRIM = 1e-7  # design note: click template cut where its kernel falls below −140 dB of the peak
CLICK_LEVEL_SPREAD_DB = 3.0  # design note: ±3 dB click to click (beam aspect)
DOLPHIN_RANGE_M = (50.0, 3000.0)  # design note: log-uniform


# ----------------------------------------------------------------------------- fin, blue, humpback whales

def _add_sweep(out: np.ndarray, fs: int, t0: float, dur: float, f_start: float, f_end: float,
               rms_upa: float, harmonics: np.ndarray | None = None) -> None:
    """Add a Hann-windowed linear FM sweep f_start → f_end [Hz] of rms_upa [µPa] over its length, starting
    at t0 [s], into out (cut at the clip edges). ``harmonics``: rms per harmonic k = 1.. (overrides rms_upa)."""
    i0, i1 = int(round(t0 * fs)), int(round((t0 + dur) * fs))
    lo, hi = max(i0, 0), min(i1, out.size)
    if hi <= lo:
        return
    t = (np.arange(lo, hi) - i0) / fs
    w = np.sin(np.pi * t / dur) ** 2  # Hann
    amps = np.array([rms_upa]) if harmonics is None else harmonics
    out[lo:hi] += HANN_RMS_TO_PEAK * w * _fm_harmonics(t, dur, f_start, f_end, amps)


def draw_fin_whale(rng: np.random.Generator) -> dict:
    """Range [m], SL [dB re 1 µPa @ 1 m], pulse interval and length [s], and the downsweep [Hz] of a fin whale."""
    f_hi = rng.uniform(FIN_BAND_HZ[0] + FIN_MIN_SWEEP_HZ, FIN_BAND_HZ[1])
    return {"range_m": _r(_log(rng.random(), *FIN_RANGE_M), 1),
            "sl_db": _r(_normal_clipped(rng.standard_normal(), *FIN_SL_DB)),
            "interval_s": _r(rng.uniform(*FIN_INTERVAL_S)), "pulse_s": _r(rng.uniform(*FIN_PULSE_S)),
            "f_hi_hz": _r(f_hi), "f_lo_hz": _r(rng.uniform(FIN_BAND_HZ[0], f_hi - FIN_MIN_SWEEP_HZ))}


def draw_blue_whale(rng: np.random.Generator) -> dict:
    """Range [m], SL [dB re 1 µPa @ 1 m], call interval and length [s], and start/end frequency [Hz] of a blue
    whale."""
    f0 = rng.uniform(*BLUE_START_HZ)
    return {"range_m": _r(_log(rng.random(), *BLUE_RANGE_M), 1),
            "sl_db": _r(_normal_clipped(rng.standard_normal(), *BLUE_SL_DB)),
            "interval_s": _r(rng.uniform(*BLUE_INTERVAL_S)), "call_s": _r(rng.uniform(*BLUE_CALL_S)),
            "f_start_hz": _r(f0), "f_end_hz": _r(f0 - rng.uniform(*BLUE_DROP_HZ))}


def draw_humpback(rng: np.random.Generator) -> dict:
    """Range [m] and maximum unit SL [dB re 1 µPa @ 1 m] of a singing humpback."""
    return {"range_m": _r(_log(rng.random(), *HUMPBACK_RANGE_M), 1),
            "sl_max_db": _r(rng.uniform(*HUMPBACK_SL_MAX_DB))}


def _sweep_train(rng: np.random.Generator, p: dict, n: int, fs: int, water_depth_m: float, dur_s: float,
                 f_start: float, f_end: float, jitter: float = 0.0) -> tuple[np.ndarray, dict]:
    """Periodic train (every ``interval_s`` ± jitter) of Hann-windowed sweeps f_start → f_end [Hz] of dur_s [s] at
    SL − TL at the mid frequency [µPa], and its record (start times [s], received level [dB re 1 µPa])."""
    out = np.zeros(n)
    rl = float(received_db(p["sl_db"], 0.5 * (f_start + f_end), p["range_m"], {"water_depth_m": water_depth_m}))
    starts = _periodic_starts(rng, p["interval_s"], n / fs, jitter)
    for t0 in starts:
        _add_sweep(out, fs, t0, dur_s, f_start, f_end, 10 ** (rl / 20))
    return out, {"t_s": [_r(t) for t in starts], "received_db": _r(rl)}


def render_fin_whale(rng: np.random.Generator, p: dict, n: int, fs: int, water_depth_m: float
                     ) -> tuple[np.ndarray, dict]:
    """Fin-whale 20 Hz pulse train [µPa], and its record (start times [s], received level [dB re 1 µPa])."""
    return _sweep_train(rng, p, n, fs, water_depth_m, p["pulse_s"], p["f_hi_hz"], p["f_lo_hz"], FIN_INTERVAL_JITTER)


def render_blue_whale(rng: np.random.Generator, p: dict, n: int, fs: int, water_depth_m: float
                      ) -> tuple[np.ndarray, dict]:
    """Blue-whale tonal calls [µPa], and their record (start times [s], received level [dB re 1 µPa])."""
    return _sweep_train(rng, p, n, fs, water_depth_m, p["call_s"], p["f_start_hz"], p["f_end_hz"])


def _humpback_units(rng: np.random.Generator, duration_s: float, f_top: float) -> list[tuple[float, ...]]:
    """(start [s], length [s], start and end frequency [Hz], dB below the whale's max SL, harmonics) per unit."""
    units, t = [], rng.uniform(0.0, HUMPBACK_GAP_S[1])
    while t < duration_s:
        dur = _log(rng.random(), *HUMPBACK_UNIT_S)
        f0 = _log(rng.random(), HUMPBACK_PEAK_HZ[0], min(HUMPBACK_PEAK_HZ[1], f_top / HUMPBACK_FM_RATIO[1]))
        units.append((t, dur, f0, f0 * rng.uniform(*HUMPBACK_FM_RATIO), rng.uniform(*HUMPBACK_UNIT_BELOW_MAX_DB),
                      int(rng.integers(HUMPBACK_HARMONICS[0], HUMPBACK_HARMONICS[1] + 1))))
        t += dur + rng.uniform(*HUMPBACK_GAP_S)
    return units


def render_humpback(rng: np.random.Generator, p: dict, n: int, fs: int, water_depth_m: float
                    ) -> tuple[np.ndarray, dict]:
    """Humpback song units [µPa]: harmonic FM tones (1–12 harmonics per unit), harmonic k at −2.3·log2(k) dB, the
    unit's harmonics sharing its SL in power, each attenuated at its own frequency; and the record of every unit."""
    out = np.zeros(n)
    f_top = ANTI_ALIAS_FRACTION * fs  # tones kept below the 0.45·fs anti-alias corner
    record = []
    for t0, dur, f0, f1, below, harmonics in _humpback_units(rng, n / fs, f_top):
        k = np.arange(1, harmonics + 1)
        rel_db = HUMPBACK_SLOPE_DB_PER_OCTAVE * np.log2(k)
        rel_db -= 10 * np.log10(np.sum(10 ** (rel_db / 10)))  # harmonics share the unit's SL in power
        sl = p["sl_max_db"] - below
        keep = k * max(f0, f1) < f_top
        rl = received_db(sl + rel_db[keep], k[keep] * 0.5 * (f0 + f1), p["range_m"], {"water_depth_m": water_depth_m})
        _add_sweep(out, fs, t0, dur, f0, f1, 0.0, harmonics=10 ** (rl / 20))
        record.append({"t_s": _r(t0), "dur_s": _r(dur), "f_start_hz": _r(f0, 1), "f_end_hz": _r(f1, 1),
                       "harmonics": int(harmonics), "sl_db": _r(sl),
                       "received_db": _r(10 * np.log10(np.sum(10 ** (rl / 10))))})
    return out, {"units": record}


# ------------------------------------------------------------------------------------------- killer whale

def draw_killer_whale(rng: np.random.Generator, sample_rate: int) -> dict:
    """Pod range [m], mean gap between vocalisations [s] and whistle share (the SLs are drawn per call)."""
    u = rng.random(2)
    return {"range_m": _r(_log(u[0], *ORCA_RANGE_M), 1), "interval_s": _r(_log(u[1], *ORCA_INTERVAL_S)),
            "whistle_share": ORCA_WHISTLE_SHARE}


def orca_pulsed_call(rng: np.random.Generator, fs: int) -> tuple[np.ndarray, dict]:
    """One pulsed call at 1 m with rms 1 over the whole emitted call (to 20 kHz): harmonics of an FM pulse-rate
    contour under a log-Gaussian spectral envelope peaking in 1–6 kHz, plus, in some calls, an independently
    modulated high-frequency component; only what lies below the tone top is synthesised."""
    dur = rng.uniform(*ORCA_CALL_S)
    m = int(round(dur * fs))
    pts = [_log(rng.random(), *ORCA_PRR_HZ)]
    for _ in range(ORCA_CONTOUR_POINTS - 1):
        pts.append(float(np.clip(pts[-1] * rng.uniform(*ORCA_PRR_STEP), *ORCA_PRR_HZ)))
    rate = _contour(np.array(pts), m)
    peak, width = _log(rng.random(), *ORCA_PEAK_HZ), rng.uniform(*ORCA_ENVELOPE_OCT)

    def amp(k, f):
        return np.exp(-0.5 * (np.log2(f / peak) / width) ** 2)

    win = _edge_window(m, min(int(EDGE_S * fs), m // 4))
    top = tone_top_hz(fs)
    sig = harmonic_series(_phase(rate, fs), rate, amp, top) * win
    ms = emitted_ms(rate, amp, win, ORCA_BAND_TOP_HZ)
    hfc = None
    if rng.random() < ORCA_HFC_FRACTION:
        hf = _contour(np.exp(rng.uniform(*np.log(ORCA_HFC_HZ), ORCA_CONTOUR_POINTS)), m)
        a = np.sqrt(2 * ms / np.mean(win**2)) * 10 ** (-rng.uniform(*ORCA_HFC_BELOW_DB) / 20)  # HFC amplitude
        sig += a * _gate(hf, top) * np.cos(_phase(hf, fs) + rng.uniform(0, 2 * np.pi)) * win
        ms += 0.5 * a * a * np.mean(win**2)
        hfc = [_r(hf.min(), 1), _r(hf.max(), 1)]
    return sig / np.sqrt(ms), {"type": "call", "dur_s": _r(dur), "prr_hz": [_r(x, 1) for x in pts],
                               "peak_hz": _r(peak, 1), "hfc_hz": hfc}


def orca_whistle(rng: np.random.Generator, fs: int) -> tuple[np.ndarray, dict]:
    """One whistle at 1 m (rms 1 over the whole emitted whistle): a single narrowband tone with little or no
    harmonic structure (Ford 1987) along a smooth FM contour in 1–18 kHz; the part above the tone top fades out."""
    dur = _log(rng.random(), *ORCA_WHISTLE_S)
    m = int(round(dur * fs))
    f = _contour(np.exp(rng.uniform(*np.log(ORCA_WHISTLE_HZ), ORCA_CONTOUR_POINTS)), m)
    win = _edge_window(m, min(int(EDGE_S * fs), m // 4))
    sig = np.sqrt(2) * _gate(f, tone_top_hz(fs)) * np.cos(_phase(f, fs)) * win / np.sqrt(np.mean(win**2))
    return sig, {"type": "whistle", "dur_s": _r(dur), "f_min_hz": _r(f.min(), 1), "f_max_hz": _r(f.max(), 1)}


def render_killer_whale(rng: np.random.Generator, p: dict, n: int, sample_rate: int, water: dict | None = None
                        ) -> tuple[np.ndarray, dict]:
    """A vocal pod [µPa]: pulsed calls and whistles at Poisson times, each at its own SL (Miller 2006) through
    TL(f, r); the record lists every call (time, type, contour, SL, received level at its centre)."""
    fs, w, out = sample_rate, _water(water), np.zeros(n)
    calls = []
    for t0 in _poisson_starts(rng, p["interval_s"], n / fs):
        whistle = rng.random() < p["whistle_share"]
        sig, rec = orca_whistle(rng, fs) if whistle else orca_pulsed_call(rng, fs)
        sl = _normal_clipped(rng.standard_normal(), *(ORCA_WHISTLE_SL_DB if whistle else ORCA_CALL_SL_DB),
                        ORCA_SL_LIMITS_DB)
        centre = 0.5 * (rec["f_min_hz"] + rec["f_max_hz"]) if whistle else rec["peak_hz"]
        if np.any(sig):
            _add(out, _propagate(sig, fs, p["range_m"], w) * 10 ** (sl / 20), int(round(t0 * fs)) - SEGMENT_PAD)
        calls.append({"t_s": _r(t0), **rec, "sl_db": _r(sl),
                      "received_db": _r(float(received_db(sl, centre, p["range_m"], w)))})
    return out, {"calls": calls}


# -------------------------------------------------------------------------------------------- minke whale

def draw_minke_whale(rng: np.random.Generator, sample_rate: int) -> dict:
    """Call type (boing: central or eastern; pulse train: speed-up or slow-down), its frequency [Hz], SL [dB re
    1 µPa @ 1 m] and range [m]."""
    u = rng.random(8)
    kind = "boing" if u[0] < MINKE_BOING_SHARE else "pulse_train"
    p = {"kind": kind, "range_m": _r(_log(u[1], *MINKE_RANGE_M), 1)}
    if kind == "boing":
        variant = "central" if u[2] < 0.5 else "eastern"
        p.update(variant=variant, carrier_hz=_r(BOING_BAND_HZ[0] + u[3] * np.ptp(BOING_BAND_HZ), 1),
                 sl_db=_r(BOING_SL_DB[0] + u[4] * np.ptp(BOING_SL_DB)),
                 interval_s=_r(_log(u[5], *BOING_INTERVAL_S)))
    else:
        train = "slow_down" if u[2] < SLOW_DOWN_SHARE else "speed_up"
        band, _, _, _ = PULSE_TRAINS[train]
        p.update(train=train, f_hz=_r(_log(u[3], *band), 1),
                 sl_db=_r(MINKE_TRAIN_SL_DB[0] + u[4] * np.ptp(MINKE_TRAIN_SL_DB)))
    return p


def boing(rng: np.random.Generator, p: dict, fs_l: float, top_hz: float) -> tuple[np.ndarray, dict]:
    """One boing at 1 m (rms 1 over the call), sampled at fs_l [Hz]: an onset tone burst at the carrier, then a
    pulse train at the variant's repetition rate (bands at multiples of the pulse rate under a Gaussian envelope
    at the carrier, Rankin & Barlow 2005) with a slow common FM and a sinusoidal AM."""
    prr0, dur0 = BOING_TYPES[p["variant"]]
    prr0 *= rng.uniform(1 - BOING_SPREAD, 1 + BOING_SPREAD)
    dur = dur0 * rng.uniform(1 - BOING_SPREAD, 1 + BOING_SPREAD)
    m, m_on = int(round(dur * fs_l)), int(round(rng.uniform(*BOING_ONSET_S) * fs_l))
    fm = np.linspace(1.0, rng.uniform(*BOING_FM), m)  # pulse rate and carrier move together
    sd = rng.uniform(*BOING_ENVELOPE_HZ)

    def amp(k, f):  # harmonic k keeps its place under the envelope as the FM scales both
        return np.exp(-0.5 * ((k * prr0 - p["carrier_hz"]) / sd) ** 2)

    am = 1.0 + rng.uniform(*BOING_AM_DEPTH) * np.sin(2 * np.pi * rng.uniform(*BOING_AM_RATE_HZ) * np.arange(m) / fs_l)
    win = np.zeros(m)  # the train follows the onset transient
    win[m_on:] = _edge_window(m - m_on, min(int(EDGE_S * fs_l), (m - m_on) // 4)) * am[m_on:]
    sig = harmonic_series(_phase(prr0 * fm, fs_l), prr0 * fm, amp, top_hz) * win
    carrier = p["carrier_hz"] * fm[:m_on]
    burst = np.sqrt(2) * _edge_window(m_on, max(m_on // 4, 1)) * np.cos(_phase(carrier, fs_l))
    sig[:m_on] += burst * _gate(carrier, top_hz)
    ms = emitted_ms(prr0 * fm, amp, win, BOING_ENVELOPE_TOP_HZ) + float(np.sum(burst**2)) / m
    return sig / np.sqrt(ms), {"dur_s": _r(dur), "prr_hz": _r(prr0, 2), "onset_s": _r(m_on / fs_l)}


def pulse_train(rng: np.random.Generator, p: dict, fs_l: float) -> tuple[np.ndarray, dict]:
    """One speed-up or slow-down pulse train at 1 m, sampled at fs_l [Hz]: Hann-windowed 40–60 ms tone pulses near
    ``f_hz`` whose rate ramps linearly from the start to the end rate (Mellinger et al. 2000); each pulse has rms 1
    over its length (the SL is the pulses' rms, Risch et al. 2014)."""
    _, r0, r1, (mean, sd) = PULSE_TRAINS[p["train"]]
    dur = _normal_clipped(rng.standard_normal(), mean, sd)
    times = [0.0]
    while True:  # pulse times from the linearly ramping rate
        rate = r0 + (r1 - r0) * times[-1] / dur
        if times[-1] + 1.0 / rate >= dur:
            break
        times.append(times[-1] + 1.0 / rate)
    m = int(np.ceil(dur * fs_l)) + int(np.ceil(MINKE_PULSE_S[1] * fs_l)) + 2
    out = np.zeros(m)
    for t0 in times:
        k = max(int(round(rng.uniform(*MINKE_PULSE_S) * fs_l)), 3)
        f = p["f_hz"] * (1.0 + MINKE_PULSE_JITTER * rng.uniform(-1.0, 1.0))
        pulse = np.sin(np.pi * (np.arange(k) + 0.5) / k) ** 2 * np.cos(2 * np.pi * f * np.arange(k) / fs_l)
        i0 = int(round(t0 * fs_l))
        out[i0: i0 + k] += pulse / np.sqrt(np.mean(pulse * pulse))
    return out, {"dur_s": _r(dur), "n_pulses": len(times), "rate_start_hz": r0, "rate_end_hz": r1}


def _minke_starts(rng: np.random.Generator, p: dict, duration_s: float, call_s: float) -> np.ndarray:
    """Call start times [s]: boings at Poisson times; pulse trains every MINKE_ICI_S (log-normal), the first placed
    so that it overlaps the clip by at least a second (a present whale is heard)."""
    if p["kind"] == "boing":
        return _poisson_starts(rng, p["interval_s"], duration_s)
    t = [rng.uniform(min(1.0 - call_s, 0.0), max(duration_s - 1.0, 0.0))]
    while True:
        t.append(t[-1] + max(call_s + 1.0, MINKE_ICI_S * float(np.exp(MINKE_ICI_SIGMA * rng.standard_normal()))))
        if t[-1] >= duration_s:
            return np.array(t[:-1])


def render_minke_whale(rng: np.random.Generator, p: dict, n: int, sample_rate: int, water: dict | None = None
                       ) -> tuple[np.ndarray, dict]:
    """Boings or pulse trains [µPa] at SL − TL(f, r), synthesised at a low rate and FFT-upsampled; the record has
    every call's start, structure and received level at its carrier."""
    fs, w = sample_rate, _water(water)
    f_top = 2 * BOING_BAND_HZ[1] if p["kind"] == "boing" else 1.1 * PULSE_TRAINS[p["train"]][0][1]
    d = _low_rate(fs, f_top)
    n_low, pad_low, _ = _low_grid(n, fs, d)
    fs_l = fs / d
    top = min(tone_top_hz(fs), LOW_TOP_FRACTION * fs_l, BOING_ENVELOPE_TOP_HZ)
    x = np.zeros(n_low)
    centre = p["carrier_hz"] if p["kind"] == "boing" else p["f_hz"]
    calls, call_s = [], BOING_TYPES[p["variant"]][1] if p["kind"] == "boing" else PULSE_TRAINS[p["train"]][3][0]
    for t0 in _minke_starts(rng, p, n / fs, call_s):
        sig, rec = boing(rng, p, fs_l, top) if p["kind"] == "boing" else pulse_train(rng, p, fs_l)
        _add(x, sig * 10 ** (p["sl_db"] / 20), int(round(t0 * fs_l)) + pad_low)
        calls.append({"t_s": _r(t0), **rec})
    rl = _r(float(received_db(p["sl_db"], centre, p["range_m"], w)))
    return _low_render(x, d, n, pad_low, fs, p["range_m"], w), {"calls": calls, "received_db": rl}


# -------------------------------------------------------------------------------------------- right whale

def draw_right_whale(rng: np.random.Generator, sample_rate: int) -> dict:
    """SL [dB re 1 µPa @ 1 m], range [m], call rate [1/min] and harmonic or not, of a calling right whale."""
    u = rng.random(4)
    return {"sl_db": _r(RIGHT_SL_DB[0] + u[0] * np.ptp(RIGHT_SL_DB)), "range_m": _r(_log(u[1], *RIGHT_RANGE_M), 1),
            "rate_per_min": _r(RIGHT_RATE_PER_MIN[0] + u[2] * np.ptp(RIGHT_RATE_PER_MIN)),
            "harmonic": bool(u[3] < UPCALL_HARMONIC_FRACTION)}


def upcall(rng: np.random.Generator, p: dict, fs_l: float, top_hz: float) -> tuple[np.ndarray, dict]:
    """One up-call at 1 m (rms 1 over the call, harmonic included), sampled at fs_l [Hz]: a convex up-sweep
    f0 -> f1 (f0 + (f1 − f0)(t/T)^p) with, in some calls, a weaker 2nd harmonic."""
    dur, f0, f1 = rng.uniform(*UPCALL_S), rng.uniform(*UPCALL_START_HZ), rng.uniform(*UPCALL_END_HZ)
    shape, below = rng.uniform(*UPCALL_SHAPE), rng.uniform(*UPCALL_HARMONIC_BELOW_DB)
    m = int(round(dur * fs_l))
    f = f0 + (f1 - f0) * (np.arange(m) / m) ** shape
    win = _edge_window(m, min(int(EDGE_S * fs_l), m // 4))
    ph = _phase(f, fs_l)
    a2 = 10 ** (-below / 20) if p["harmonic"] else 0.0
    sig = (np.cos(ph) * _gate(f, top_hz) + a2 * np.cos(2 * ph) * _gate(2 * f, top_hz)) * win
    sig *= np.sqrt(2.0 / ((1.0 + a2 * a2) * np.mean(win**2)))
    return sig, {"dur_s": _r(dur), "f_start_hz": _r(f0, 1), "f_end_hz": _r(f1, 1),
                 "harmonic_below_db": _r(below) if p["harmonic"] else None}


def _cluster_starts(rng: np.random.Generator, p: dict, duration_s: float) -> np.ndarray:
    """Up-call times [s]: clusters of 2–5 calls (gaps RIGHT_GAP_S) whose onsets are Poisson with the mean interval
    that gives ``rate_per_min``; the first cluster starts inside the clip."""
    mean_size = 0.5 * (RIGHT_CLUSTER[0] + RIGHT_CLUSTER[1])
    out = []
    for c0 in _poisson_starts(rng, 60.0 * mean_size / p["rate_per_min"], duration_s):
        size = int(rng.integers(RIGHT_CLUSTER[0], RIGHT_CLUSTER[1] + 1))
        out += list(c0 + np.concatenate([[0.0], np.cumsum(rng.uniform(*RIGHT_GAP_S, size - 1))]))
    return np.array([t for t in out if t < duration_s])


def render_right_whale(rng: np.random.Generator, p: dict, n: int, sample_rate: int, water: dict | None = None
                       ) -> tuple[np.ndarray, dict]:
    """Clustered up-calls [µPa] at SL − TL(f, r), synthesised at a low rate and FFT-upsampled; the record has every
    call's start, sweep and received level at its mid frequency."""
    fs, w = sample_rate, _water(water)
    d = _low_rate(fs, 2 * UPCALL_END_HZ[1])
    n_low, pad_low, _ = _low_grid(n, fs, d)
    fs_l = fs / d
    x = np.zeros(n_low)
    calls = []
    top = min(tone_top_hz(fs), LOW_TOP_FRACTION * fs_l)
    for t0 in _cluster_starts(rng, p, n / fs):
        sig, rec = upcall(rng, p, fs_l, top)
        _add(x, sig * 10 ** (p["sl_db"] / 20), int(round(t0 * fs_l)) + pad_low)
        mid = 0.5 * (rec["f_start_hz"] + rec["f_end_hz"])
        calls.append({"t_s": _r(t0), **rec, "received_db": _r(float(received_db(p["sl_db"], mid, p["range_m"], w)))})
    return _low_render(x, d, n, pad_low, fs, p["range_m"], w), {"calls": calls}



# ------------------------------------------------------------------------------------------------ dolphin

def draw_dolphin(rng: np.random.Generator, sample_rate: int) -> dict:
    """Mean gap between whistles [s] and their SL [dB re 1 µPa @ 1 m]; click trains' mean gap, ICI and length [s],
    peak-to-peak SL and in-band deficit [dB]; pod range [m]."""
    u = rng.random(8)
    return {"whistle_interval_s": _r(_lin(u[0], *WHISTLE_INTERVAL_S)),
            "whistle_sl_db": _r(_lin(u[1], *WHISTLE_SL_DB)),
            "click_train_interval_s": _r(_lin(u[2], *CLICK_TRAIN_INTERVAL_S)),
            "click_ici_s": _r(_lin(u[3], *CLICK_ICI_S), 4), "click_train_s": _r(_lin(u[4], *CLICK_TRAIN_S)),
            "click_sl_pp_db": _r(_lin(u[5], *CLICK_SL_PP_DB)),
            "click_inband_below_db": _r(_lin(u[6], *CLICK_INBAND_BELOW_DB)),
            "range_m": _r(_log(u[7], *DOLPHIN_RANGE_M), 1)}


def _dolphin_whistle(rng: np.random.Generator, fs: int) -> tuple[np.ndarray, dict]:
    """One whistle at 1 m (rms 1 over the whole emitted whistle, harmonics included): a smooth FM contour
    in 5–20 kHz; each harmonic is faded out where it would pass tone_top_hz."""
    dur = rng.uniform(*WHISTLE_S)
    m = int(round(dur * fs))
    f = _contour(np.exp(rng.uniform(*np.log(WHISTLE_BAND_HZ), WHISTLE_POINTS)), m)
    phase = _phase(f, fs)
    rel = [0.0] + [rng.uniform(*b) for b in WHISTLE_HARMONIC_BELOW_DB]
    amps = 10 ** (-np.asarray(rel) / 20)
    win = _edge_window(m, min(int(EDGE_S * fs), m // 4))
    top = tone_top_hz(fs)
    sig = np.zeros(m)
    for k, a in enumerate(amps, start=1):
        gate = _gate(k * f, top)  # fades over the last 5 % below the top
        if gate.any():
            sig += a * gate * np.cos(k * phase)
    sig *= win / np.sqrt(0.5 * np.sum(amps**2) * np.mean(win**2))
    return sig, {"dur_s": _r(dur), "f_min_hz": _r(f.min(), 1), "f_max_hz": _r(f.max(), 1)}


def render_dolphin(rng: np.random.Generator, p: dict, n: int, sample_rate: int, water: dict | None = None
                   ) -> tuple[np.ndarray, dict]:
    """Whistles (rms SL over the emitted whistle; only the part below the band top is rendered) and click
    trains (band-limited clicks, peak-to-peak SL − in-band deficit − TL), at Poisson times [µPa]."""
    fs, w, out = sample_rate, _water(water), np.zeros(n)
    r, dur = p["range_m"], n / fs
    whistles = []
    for t0 in _poisson_starts(rng, p["whistle_interval_s"], dur):
        sig, rec = _dolphin_whistle(rng, fs)
        if np.any(sig):
            _add(out, _propagate(sig, fs, r, w) * 10 ** (p["whistle_sl_db"] / 20), int(round(t0 * fs)) - SEGMENT_PAD)
        whistles.append({"t_s": _r(t0), **rec})
    delta = np.zeros(2 * CLICK_HALF + 1)
    delta[CLICK_HALF] = 1.0  # room for the band-limiting kernel to decay before the buffer wraps
    click = _propagate(delta, fs, r, w)
    ref = _propagate(delta, fs, None, w)  # the band-limited click at 1 m
    click *= 10 ** ((p["click_sl_pp_db"] - p["click_inband_below_db"]) / 20) / np.ptp(ref)
    big = np.flatnonzero(np.abs(click) > CLICK_TRIM * np.abs(click).max())
    click, first = click[big[0]: big[-1] + 1], int(big[0])  # design note: the kernel's tails below −120 dB dropped
    trains, idx, amps = [], [], []
    for t0 in _poisson_starts(rng, p["click_train_interval_s"], dur):
        tc = t0 + np.arange(0.0, p["click_train_s"], p["click_ici_s"])
        tc = tc[tc < dur]
        idx.append(np.round(tc * fs).astype(np.int64) - SEGMENT_PAD - CLICK_HALF + first)
        amps.append(10 ** (rng.uniform(-1.0, 1.0, tc.size) * CLICK_LEVEL_SPREAD_DB / 20))
        trains.append({"t_s": _r(t0), "n_clicks": int(tc.size)})
    _place(out, click, np.concatenate(idx), np.concatenate(amps))
    return out, {"whistles": whistles, "click_trains": trains,
                 "click_received_pp_db": _r(20 * np.log10(np.ptp(click)))}

