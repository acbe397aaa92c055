"""Confusers: non-vessel sounds rendered into the ambient of every render, vessel clips included (issue 8).

Active sonar pings (CW and LFM, 1–10 kHz, with reverberation tails), echosounder / sub-bottom profiler pulse
trains, fishing pingers, explosions and seal bombs, scuba breathing, fish choruses, dolphin whistles and
clicks, cable strum with flow noise, and 50/60 Hz mains hum. Shrimp choruses and rain are the existing
ones (distractors.py, ambient.py) and are only listed here.

Each confuser is present in a render with its own probability (``OCCURRENCE``, design note: 5–12 %), drawn
from the confuser stream (:func:`confuser_rng`, a child of the render seed that no label touches), so the
same seed gives the same confusers in ambient and vessel clips and none of them marks a class.

Per confuser, ``draw_<name>(rng, sample_rate)`` draws its parameters (a JSON-ready dict) and
``render_<name>(rng, params, n, sample_rate, water)`` returns its received pressure [µPa] (n samples, the
convention of distractors.py) and a JSON record of what it placed. Levels: SL in dB re 1 µPa @ 1 m (rms over
the pulse, or peak where said), received RL = SL − TL with TL = spreading(r, H) + Francois–Garrison absorption
(propagation.py, physics.md §6), applied per frequency bin to each event; electrical hum, cable strum and flow
noise arise at the hydrophone and are not propagated. Everything is band-limited below the 0.45·fs anti-alias
corner (physics.md §7): tones and sweeps stay below 0.405·fs and each event passes a raised-cosine roll-off
that reaches zero at 0.45·fs, so a source above the recorder's band (a 38 kHz echosounder, the top of a
dolphin whistle, a 10 kHz pinger at 16 kHz sampling) is dropped, never folded.
"""

from __future__ import annotations

import numpy as np

from uwac.acoustics.synth import ambient, distractors
from uwac.acoustics.synth import numerics as num
from uwac.acoustics.synth.propagation import absorption_db_per_km, loss_gain, spreading_loss_db
from uwac.acoustics.synth.recorder import ANTI_ALIAS_FRACTION

CONFUSER_SPAWN_KEY = (1, 0)  # child 0 of the ambient stream's SeedSequence (scene._streams index 1): a stream of
# its own, so scene, ambient and contact draws are exactly those of a render without confusers (design note)
TAPER_START_FRACTION = 0.42  # design note: raised-cosine roll-off from 0.42·fs to zero at 0.45·fs (physics.md §7)
TONE_TOP_FRACTION = 0.9  # design note: tones/sweeps kept below 0.9 × 0.45·fs = 0.405·fs, under the roll-off
SEGMENT_PAD = 1024  # samples either side of an event for its zero-phase propagation filter (design note)
SOUND_SPEED_M_S = 1500.0  # nominal c for path delays (physics.md §6 uses 1500 m/s for Lloyd's mirror)
DEFAULT_WATER = {"water_depth_m": 100.0, "receiver_depth_m": 50.0, "temperature_c": 10.0, "salinity_ppt": 35.0,
                 "ph": 8.0}  # physics.md §6: H = 100 m; FG at 10 °C, 35 ppt, pH 8 (receiver mid-water, design note)
LOW_RATE_OVERSAMPLE = 2.5  # design note: slow confusers render at >= 2.5× their top frequency, then FFT-upsample
LOW_RATE_PAD_S = 0.25  # design note: low-rate renders run 0.25 s past both clip edges (no wrap-around)
EDGE_S = 0.02  # design note: raised-cosine rise/fall of tone pulses, at most a quarter of the pulse

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

NAMES = ("active_sonar", "echosounder", "fishing_pinger", "explosion", "scuba", "fish_chorus", "dolphin",
         "cable_strum_flow", "mains_hum")
OCCURRENCE = dict(zip(NAMES, (SONAR_FRACTION, ECHO_FRACTION, PINGER_FRACTION, EXPLOSION_FRACTION, SCUBA_FRACTION,
                              FISH_FRACTION, DOLPHIN_FRACTION, CABLE_FRACTION, HUM_FRACTION), strict=True))
REUSED = ("shrimp_chorus", "rain")  # confusers of issue 8 that ambient.draw_ambient already draws (scene stream)


# ------------------------------------------------------------------------------------------------- helpers

def confuser_rng(seed: int) -> np.random.Generator:
    """The confuser stream of a render seed: child CONFUSER_SPAWN_KEY of SeedSequence(seed), untouched by
    labels, contacts and the other streams."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=CONFUSER_SPAWN_KEY))


def _r(x: float, nd: int = 3) -> float:
    return round(float(x), nd)


def _lin(u: float, lo: float, hi: float) -> float:
    return lo + float(u) * (hi - lo)


def _log(u: float, lo: float, hi: float) -> float:
    return float(np.exp(np.log(lo) + float(u) * (np.log(hi) - np.log(lo))))


def tone_top_hz(sample_rate: int) -> float:
    """Highest tone or sweep frequency [Hz] a confuser renders: 0.9 × 0.45·fs."""
    return TONE_TOP_FRACTION * ANTI_ALIAS_FRACTION * sample_rate


def _fit_band(u: float, band: tuple[float, float], width: float, sample_rate: int) -> tuple[float, float] | None:
    """[f_lo, f_hi] of the given width inside band ∩ [0, tone_top_hz], placed by u; None when none fits."""
    top = min(band[1], tone_top_hz(sample_rate))
    if top <= band[0]:
        return None
    width = min(width, top - band[0])
    lo = band[0] + float(u) * (top - band[0] - width)
    return lo, lo + width


def _water(water: dict | None) -> dict:
    w = {**DEFAULT_WATER, **(water or {})}
    if "receiver_depth_m" not in (water or {}):
        w["receiver_depth_m"] = 0.5 * w["water_depth_m"]
    return w


def transmission_loss(f_hz, range_m: float, water: dict | None = None) -> np.ndarray:
    """TL [dB] at f_hz [Hz] over range_m [m]: spreading (spherical to H, then cylindrical) plus FG absorption
    at mid-water, for the water column ``water`` (DEFAULT_WATER where keys are missing; physics.md §6)."""
    w = _water(water)
    alpha = absorption_db_per_km(f_hz, temperature_c=w["temperature_c"], salinity_ppt=w["salinity_ppt"],
                                 depth_m=0.5 * w["water_depth_m"], ph=w["ph"])
    return spreading_loss_db(range_m, w["water_depth_m"]) + alpha * np.asarray(range_m, dtype=float) / 1000.0


def received_db(sl_db: float, f_hz, range_m: float, water: dict | None = None) -> np.ndarray:
    """Received level SL − TL [dB re 1 µPa] of a source level sl_db at f_hz [Hz] and range_m [m]."""
    return sl_db - transmission_loss(f_hz, range_m, water)


def band_top_gain(f_hz, sample_rate: int) -> np.ndarray:
    """Amplitude roll-off before the anti-alias corner: 1 below 0.42·fs, raised cosine to 0 at 0.45·fs."""
    lo, hi = TAPER_START_FRACTION * sample_rate, ANTI_ALIAS_FRACTION * sample_rate
    return np.sin(0.5 * np.pi * np.clip((hi - np.asarray(f_hz, dtype=float)) / (hi - lo), 0.0, 1.0)) ** 2


def _propagate(seg: np.ndarray, fs: int, range_m: float | None, w: dict, image_delay_s: float | None = None,
               image_gain: float = 1.0) -> np.ndarray:
    """A 1 m event ``seg`` as received at range_m (None: at 1 m), band-limited by :func:`band_top_gain`, through
    one zero-phase FFT filter; returns seg.size + 2·SEGMENT_PAD samples starting SEGMENT_PAD before the event.
    image_delay_s adds a pressure-release surface image (reflection −1, amplitude image_gain relative to the
    direct path) that arrives this much later."""
    m = num.next_fast_len(seg.size + 2 * SEGMENT_PAD, real=True)
    buf = np.zeros(m)
    buf[SEGMENT_PAD: SEGMENT_PAD + seg.size] = seg
    f = np.fft.rfftfreq(m, 1.0 / fs)
    gain = band_top_gain(f, fs)
    if range_m is not None:
        gain = gain * loss_gain(transmission_loss(f, range_m, w))
    spec = num.rfft(buf) * gain
    if image_delay_s:
        spec *= 1.0 - image_gain * np.exp(-2j * np.pi * f * image_delay_s)
    return num.irfft(spec, m)[: seg.size + 2 * SEGMENT_PAD]


def _add(out: np.ndarray, x: np.ndarray, i0: int) -> None:
    """out[i0 : i0 + len(x)] += x, cut at the clip edges."""
    lo, hi = max(i0, 0), min(i0 + x.size, out.size)
    if hi > lo:
        out[lo:hi] += x[lo - i0: hi - i0]


def _place(out: np.ndarray, template: np.ndarray, starts: np.ndarray, amps: np.ndarray) -> None:
    """Add amps[j]·template at sample starts[j] for every j (cut at the clip edges), in one bincount."""
    if len(starts) == 0:
        return
    pos = np.asarray(starts, dtype=np.int64)[:, None] + np.arange(template.size)
    keep = (pos >= 0) & (pos < out.size)
    vals = np.asarray(amps, dtype=float)[:, None] * template[None, :]
    out += np.bincount(pos[keep], weights=vals[keep], minlength=out.size)


def _periodic_starts(rng: np.random.Generator, interval_s: float, duration_s: float, jitter: float = 0.0
                     ) -> np.ndarray:
    """Start times [s] of a periodic train; the first uniform in [0, min(interval, duration)), so a present
    confuser starts at least one event in the clip."""
    t0 = rng.uniform(0.0, min(interval_s, duration_s))
    k = int(np.ceil((duration_s - t0) / interval_s)) + 1
    steps = interval_s * (1.0 + jitter * rng.uniform(-1.0, 1.0, max(k - 1, 0)))
    t = t0 + np.concatenate([[0.0], np.cumsum(steps)])
    return t[t < duration_s]


def _poisson_starts(rng: np.random.Generator, mean_interval_s: float, duration_s: float) -> np.ndarray:
    """Start times [s] of a Poisson train (exponential gaps of the given mean), the first uniform in
    [0, min(mean, duration))."""
    t = [rng.uniform(0.0, min(mean_interval_s, duration_s))]
    while True:
        nxt = t[-1] + rng.exponential(mean_interval_s)
        if nxt >= duration_s:
            return np.array(t)
        t.append(nxt)


def _edge_window(m: int, edge: int) -> np.ndarray:
    """1 with raised-cosine rise and fall of ``edge`` samples each."""
    w = np.ones(m)
    if edge > 0:
        ramp = np.sin(0.5 * np.pi * (np.arange(edge) + 0.5) / edge) ** 2
        w[:edge] = ramp
        w[m - edge:] = ramp[::-1]
    return w


def _tone(fs: int, dur_s: float, f_start: float, f_end: float, rel_db=(), top_hz: float | None = None
          ) -> np.ndarray:
    """Linear FM pulse f_start → f_end [Hz] with harmonics k = 2.. at rel_db [dB] (those above top_hz
    dropped), raised-cosine edges; scaled so the whole emitted pulse (all harmonics) has rms 1."""
    m = max(int(round(dur_s * fs)), 2)
    t = np.arange(m) / fs
    win = _edge_window(m, min(int(EDGE_S * fs), m // 4))
    c1 = np.cos(2 * np.pi * (f_start * t + 0.5 * (f_end - f_start) / dur_s * t * t))
    amps = np.concatenate([[1.0], 10 ** (-np.asarray(rel_db, dtype=float) / 20)])
    top = np.inf if top_hz is None else top_hz
    sig, prev, cur = c1.copy(), np.ones(m), c1
    for k, a in enumerate(amps[1:], start=2):  # cos(kx) by Chebyshev recursion
        prev, cur = cur, 2.0 * c1 * cur - prev
        if k * max(f_start, f_end) < top:
            sig += a * cur
    norm = np.sqrt(0.5 * np.sum(amps**2) * np.mean(win**2))
    return sig * win / norm


def _band_noise(rng: np.random.Generator, m: int, fs: int, lo_hz: float, hi_hz: float) -> np.ndarray:
    """m samples of Gaussian noise flat in lo_hz <= f < hi_hz, unit rms."""
    mf = num.next_fast_len(m, real=True)  # drawn on a fast FFT length, then cut to m
    f = np.fft.rfftfreq(mf, 1.0 / fs)
    band = np.flatnonzero((f >= lo_hz) & (f < hi_hz))
    spec = np.zeros(f.size, dtype=complex)
    spec[band] = rng.standard_normal(band.size) + 1j * rng.standard_normal(band.size)
    x = num.irfft(spec, mf)[:m]
    return x / max(float(np.sqrt(np.mean(x * x))), 1e-300)


def _low_rate(fs: int, f_max_hz: float) -> int:
    """Decimation factor d >= 1 so that fs/d >= LOW_RATE_OVERSAMPLE · f_max_hz."""
    return max(1, int(fs // (LOW_RATE_OVERSAMPLE * f_max_hz)))


def _upsample(spec_low: np.ndarray, n_low: int, d: int, n: int, pad_low: int, fs: int) -> np.ndarray:
    """n samples at fs of a signal given as the rfft of n_low samples at fs/d that start pad_low low-rate
    samples before t = 0: the spectrum zero-padded (rolled off over the top 16 % of the low band and by
    :func:`band_top_gain`), one inverse FFT, float32."""
    n_up = n_low * d
    k = spec_low.size
    frac = np.arange(k) / n_low  # cycles per low-rate sample, 0..0.5
    gain = np.sin(0.5 * np.pi * np.clip((0.5 - frac) / 0.08, 0.0, 1.0)) ** 2
    gain *= band_top_gain(np.arange(k) * fs / n_up, fs) * d
    y = np.zeros(n_up // 2 + 1, dtype=np.complex64)
    y[:k] = spec_low * gain
    return num.irfft(y, n_up)[pad_low * d: pad_low * d + n]


def _low_grid(n: int, fs: int, d: int) -> tuple[int, int, np.ndarray]:
    """(n_low, pad_low, t_low [s]) of a low-rate render covering the clip plus LOW_RATE_PAD_S either side."""
    pad_low = int(np.ceil(LOW_RATE_PAD_S * fs / d))
    n_low = num.next_fast_len(int(np.ceil(n / d)) + 2 * pad_low, real=True)
    return n_low, pad_low, (np.arange(n_low) - pad_low) * d / fs


# ------------------------------------------------------------------------------------------ active sonar

def draw_active_sonar(rng: np.random.Generator, sample_rate: int) -> dict:
    """CW or LFM ping in 1–10 kHz (within the recorded band), SL, pulse, interval, reverberation, range."""
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
    """CW burst or chirp in 3.5–12 kHz (within the recorded band), pulse, ping period, SL, off-axis loss,
    bottom echo, range."""
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
    """Pinger family (10 kHz where fs allows, else 2.5–3 kHz), tone, pulse, period, SL, harmonics, and the
    range of each of 1–3 pingers."""
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
    """Charge [kg TNT], depth [m], peak SL within the band [dB re 1 µPa @ 1 m], detonation count, range."""
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
    """Breath period, inhale and exhale lengths, inhale SL, exhale level, bubble sizes and rate, depth, range."""
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


# ------------------------------------------------------------------------------------------- fish chorus

def draw_fish_chorus(rng: np.random.Generator, sample_rate: int) -> dict:
    """Pulse peak frequency and length, pulse rate, pulses per call, call interval, fish count, SL."""
    u = rng.random(7)
    top = min(FISH_PEAK_HZ[1], tone_top_hz(sample_rate))
    return {"f_peak_hz": _r(_log(u[0], FISH_PEAK_HZ[0], max(top, FISH_PEAK_HZ[0])), 1),
            "cycles": _r(_lin(u[1], *FISH_CYCLES)), "pulse_rate_hz": _r(_lin(u[2], *FISH_PULSE_RATE_HZ)),
            "pulses_per_call": int(FISH_PULSES_PER_CALL[0] + u[3] * (FISH_PULSES_PER_CALL[1] - FISH_PULSES_PER_CALL[0] + 1)),
            "call_interval_s": _r(_lin(u[4], *FISH_CALL_INTERVAL_S)),
            "count": int(FISH_COUNT[0] + u[5] * (FISH_COUNT[1] - FISH_COUNT[0] + 1)),
            "sl_db": _r(_lin(u[6], *FISH_SL_DB))}


def fish_pulse(f_peak_hz: float, cycles: float, fs: float) -> np.ndarray:
    """One drumming pulse: ``cycles`` cycles of f_peak_hz under a Hann window, rms 1 over its length."""
    m = max(int(round(cycles / f_peak_hz * fs)), 3)
    t = np.arange(m) / fs
    x = np.sin(np.pi * (np.arange(m) + 0.5) / m) ** 2 * np.sin(2 * np.pi * f_peak_hz * t)
    return x / np.sqrt(np.mean(x * x))


def render_fish_chorus(rng: np.random.Generator, p: dict, n: int, sample_rate: int, water: dict | None = None
                       ) -> tuple[np.ndarray, dict]:
    """Chorus [µPa] of ``count`` fish at log-uniform ranges, each calling (a train of ``pulses_per_call``
    pulses at ``pulse_rate_hz``) at Poisson times; pulse rms SL − TL at the peak frequency. Rendered at a low
    rate and FFT-upsampled (the content is below 1 kHz)."""
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


# ------------------------------------------------------------------------------------------------ dolphin

def draw_dolphin(rng: np.random.Generator, sample_rate: int) -> dict:
    """Whistle rate, length range and SL; click-train rate, ICI, in-band click level; pod range."""
    u = rng.random(8)
    return {"whistle_interval_s": _r(_lin(u[0], *WHISTLE_INTERVAL_S)),
            "whistle_sl_db": _r(_lin(u[1], *WHISTLE_SL_DB)),
            "click_train_interval_s": _r(_lin(u[2], *CLICK_TRAIN_INTERVAL_S)),
            "click_ici_s": _r(_lin(u[3], *CLICK_ICI_S), 4), "click_train_s": _r(_lin(u[4], *CLICK_TRAIN_S)),
            "click_sl_pp_db": _r(_lin(u[5], *CLICK_SL_PP_DB)),
            "click_inband_below_db": _r(_lin(u[6], *CLICK_INBAND_BELOW_DB)),
            "range_m": _r(_log(u[7], *DOLPHIN_RANGE_M), 1)}


def _whistle(rng: np.random.Generator, fs: int) -> tuple[np.ndarray, dict]:
    """One whistle at 1 m (rms 1 over the whole emitted whistle, harmonics included): a smooth FM contour
    in 5–20 kHz; each harmonic is faded out where it would pass tone_top_hz."""
    dur = rng.uniform(*WHISTLE_S)
    m = int(round(dur * fs))
    pts = np.exp(rng.uniform(*np.log(WHISTLE_BAND_HZ), WHISTLE_POINTS))
    x = np.linspace(0.0, WHISTLE_POINTS - 1, m)
    i = np.minimum(x.astype(int), WHISTLE_POINTS - 2)
    s = 0.5 - 0.5 * np.cos(np.pi * (x - i))  # cosine interpolation between control points
    f = pts[i] * (1 - s) + pts[i + 1] * s
    phase = 2 * np.pi * np.cumsum(f) / fs
    rel = [0.0] + [rng.uniform(*b) for b in WHISTLE_HARMONIC_BELOW_DB]
    amps = 10 ** (-np.asarray(rel) / 20)
    win = _edge_window(m, min(int(EDGE_S * fs), m // 4))
    top = tone_top_hz(fs)
    sig = np.zeros(m)
    for k, a in enumerate(amps, start=1):
        gate = np.clip((top - k * f) / (0.05 * top), 0.0, 1.0)  # fades over the last 5 % below the top
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
        sig, rec = _whistle(rng, fs)
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


# ------------------------------------------------------------------------------- cable strum, flow noise

def draw_cable_strum_flow(rng: np.random.Generator, sample_rate: int) -> dict:
    """Current [m/s], cable diameter [m] (so the shedding frequency St·U/D), strum level and harmonics,
    frequency wander, flow-noise level and hydrophone size."""
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
    spec = num.rfft(strum) + ambient.gaussian_spectrum(rng, psd, n_low, fs_l)
    x = _upsample(spec, n_low, d, n, pad_low, fs)
    return x, {"harmonics": harmonics, "flow_db_at_10hz": _r(float(flow_psd_db(10.0, p)))}


# ---------------------------------------------------------------------------------------------- mains hum

def draw_mains_hum(rng: np.random.Generator, sample_rate: int) -> dict:
    """Grid frequency (50 or 60 Hz ± 0.1 Hz), fundamental level and harmonic levels (odd strong, even weak)."""
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


# ------------------------------------------------------------------------------------------ composition

DRAWS = {"active_sonar": draw_active_sonar, "echosounder": draw_echosounder, "fishing_pinger": draw_fishing_pinger,
         "explosion": draw_explosion, "scuba": draw_scuba, "fish_chorus": draw_fish_chorus, "dolphin": draw_dolphin,
         "cable_strum_flow": draw_cable_strum_flow, "mains_hum": draw_mains_hum}
RENDERS = {"active_sonar": render_active_sonar, "echosounder": render_echosounder,
           "fishing_pinger": render_fishing_pinger, "explosion": render_explosion, "scuba": render_scuba,
           "fish_chorus": render_fish_chorus, "dolphin": render_dolphin, "cable_strum_flow": render_cable_strum_flow,
           "mains_hum": render_mains_hum}


def draw_confusers(rng: np.random.Generator, sample_rate: int) -> tuple[dict, list[int]]:
    """Per-render confuser parameters ({name: params or None where absent}) and one render seed per
    confuser. Presence, every confuser's parameters and the seeds are drawn whatever is present, in a fixed
    order, so nothing shifts when one confuser comes or goes."""
    present = rng.random(len(NAMES)) < np.array([OCCURRENCE[k] for k in NAMES])
    params = {name: DRAWS[name](rng, sample_rate) for name in NAMES}
    seeds = [int(s) for s in rng.integers(0, 2**63 - 1, len(NAMES))]
    return {k: (params[k] if p else None) for k, p in zip(NAMES, present, strict=True)}, seeds


def reused_confusers(env: dict, water_depth_m: float) -> list[dict]:
    """Entries for the confusers the ambient already renders: the shrimp bed (distractors.py; it sounds only
    in water shallower than 55 m) and rain (ambient.py), both drawn in ambient.draw_ambient from the scene
    stream before any label-dependent draw, so their rates are the same for every class."""
    out = []
    shrimp = (env.get("distractors") or {}).get("shrimp")
    if shrimp:
        out.append({"name": "shrimp_chorus", "source": "distractors.shrimp",
                    "sounding": bool(water_depth_m < distractors.SHRIMP_MAX_DEPTH_M), **shrimp})
    if env.get("rain_mm_h"):
        out.append({"name": "rain", "source": "ambient.rain", "rain_mm_h": env["rain_mm_h"]})
    return out


def render_confusers(rng: np.random.Generator, n: int, sample_rate: int, *, water: dict | None = None,
                     env: dict | None = None) -> tuple[np.ndarray | None, list[dict]]:
    """Received pressure [µPa] of all present confusers (float32, n samples, band-limited below 0.45·fs;
    None when none is present) and their records: a list of {name, drawn parameters, events}, plus the
    reused shrimp/rain entries of ``env`` (an ambient.draw_ambient dict) when given. ``rng``: the render's
    :func:`confuser_rng`; ``water``: the scene's water column (DEFAULT_WATER where missing)."""
    drawn, seeds = draw_confusers(rng, sample_rate)
    w = _water(water)
    total, records = None, []
    for name, seed in zip(NAMES, seeds, strict=True):
        p = drawn[name]
        if p is None:
            continue
        x, events = RENDERS[name](np.random.default_rng(seed), p, n, sample_rate, w)
        total = x.astype(np.float32) if total is None else total + x.astype(np.float32)
        records.append({"name": name, **p, "events": events})
    if env is not None:
        records += reused_confusers(env, w["water_depth_m"])
    return total, records
