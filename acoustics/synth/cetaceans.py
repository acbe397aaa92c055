"""Cetacean calls in every render (renderer 0.5): killer whale pulsed calls and whistles, minke whale boings and
pulse trains, North Atlantic right whale up-calls.

Tonal biological sounds at published levels and rates in every class, so that "tonal" never means "ship". Like the
confusers (confusers.py), each species is present in a render with its own probability (``OCCURRENCE``, design
note: 10 %, so a few thousand renders hold hundreds of each in every class), drawn from a stream of its own
(:func:`cetacean_rng`, a child of the render seed that no label touches): the same seed gives the same calls in an
ambient and in a vessel clip. Fin, blue and humpback whales are the distractors of distractors.py.

Per species, ``draw_<name>(rng, sample_rate)`` draws its parameters (JSON-ready) and
``render_<name>(rng, params, n, sample_rate, water)`` returns its received pressure [µPa] (n samples) and a JSON
record of what it placed. Levels: SL [dB re 1 µPa @ 1 m, rms over the call] minus TL(f, r) = spreading +
Francois–Garrison absorption (``confusers.transmission_loss``, physics.md §6), applied per frequency; ranges are
drawn log-uniform (design note). Tones stay below 0.405·fs and every signal passes the raised-cosine roll-off that
reaches zero at 0.45·fs (``confusers.band_top_gain``). Slow species are synthesised at a low rate and FFT-upsampled
(``confusers._low_rate``). The published figures behind the constants are tabulated, with their sources, in
docs/physics_additions.md; "design note" marks a choice no source states.
"""

from __future__ import annotations

import numpy as np

from uwac.acoustics.synth import numerics as num
from uwac.acoustics.synth.confusers import (
    EDGE_S,
    SEGMENT_PAD,
    _add,
    _edge_window,
    _log,
    _low_grid,
    _low_rate,
    _poisson_starts,
    _propagate,
    _r,
    _upsample,
    _water,
    received_db,
    tone_top_hz,
    transmission_loss,
)
from uwac.acoustics.synth.propagation import loss_gain

CETACEAN_SPAWN_KEY = (1, 1)  # child 1 of the ambient stream's SeedSequence (confusers use child 0): a stream of its
# own, so scene, ambient, confuser and contact draws are those of a render without cetaceans (design note)
FADE_FRACTION = 0.05  # design note: a harmonic fades out over the last 5 % below the tone top
NORM_DECIMATION = 16  # design note: the emitted call's mean square is evaluated on every 16th sample
LOW_TOP_FRACTION = 0.4  # design note: low-rate tones stay below 0.4 × the low rate, under _upsample's roll-off
SL_CLIP_SD = 2.0  # design note: normal SL draws clipped to ±2 sd

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

NAMES = ("killer_whale", "minke_whale", "right_whale")
OCCURRENCE = dict(zip(NAMES, (ORCA_FRACTION, MINKE_FRACTION, RIGHT_FRACTION), strict=True))


def cetacean_rng(seed: int) -> np.random.Generator:
    """The cetacean stream of a render seed: child CETACEAN_SPAWN_KEY of SeedSequence(seed), untouched by labels,
    contacts, confusers and the other streams."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=CETACEAN_SPAWN_KEY))


def _normal_sl(u: float, mean: float, sd: float, limits: tuple[float, float]) -> float:
    """Normal SL [dB] from a standard-normal draw u, clipped to ±SL_CLIP_SD sd and to ``limits``."""
    return float(np.clip(mean + sd * np.clip(u, -SL_CLIP_SD, SL_CLIP_SD), *limits))


def _contour(points: np.ndarray, m: int) -> np.ndarray:
    """m samples through ``points`` (evenly spaced in time), cosine-interpolated between them."""
    x = np.linspace(0.0, points.size - 1, m)
    i = np.minimum(x.astype(int), points.size - 2)
    s = 0.5 - 0.5 * np.cos(np.pi * (x - i))
    return points[i] * (1 - s) + points[i + 1] * s


def _phase(f_hz: np.ndarray, fs: float) -> np.ndarray:
    """Phase [rad] of an instantaneous frequency track f_hz [Hz] sampled at fs [Hz]."""
    return 2 * np.pi * np.cumsum(f_hz) / fs


def _gate(f_hz, top_hz: float) -> np.ndarray:
    """1 below the tone top, fading linearly to 0 over its last FADE_FRACTION."""
    return np.clip((top_hz - np.asarray(f_hz)) / (FADE_FRACTION * top_hz), 0.0, 1.0)


def harmonic_series(phase: np.ndarray, rate_hz: np.ndarray, amp, top_hz: float) -> np.ndarray:
    """Σ_k amp(k, k·rate)·cos(k·phase) over the harmonics k·rate(t) [Hz] below top_hz (faded near it), by the
    Chebyshev recursion cos((k+1)x) = 2 cos x cos kx − cos((k−1)x): a pulse train of repetition rate ``rate``
    whose pulses have the amplitude spectrum ``amp`` (harmonic number, frequency [Hz] -> amplitude)."""
    c1 = np.cos(phase)
    prev, cur = np.ones_like(c1), c1
    out = np.zeros_like(c1)
    for k in range(1, int(top_hz / max(float(rate_hz.min()), 1e-9)) + 1):
        if k > 1:
            prev, cur = cur, 2.0 * c1 * cur - prev
        f = k * rate_hz
        out += amp(k, f) * _gate(f, top_hz) * cur
    return out


def emitted_ms(rate_hz: np.ndarray, amp, window: np.ndarray, band_top_hz: float) -> float:
    """Mean square of the whole emitted harmonic series (every harmonic below band_top_hz [Hz], whatever the
    recorder keeps) under the amplitude ``window``: ½·mean_t Σ_k amp(k, k·rate)²·window², evaluated on every
    NORM_DECIMATION-th sample (the harmonics are orthogonal over a call)."""
    r, w = rate_hz[::NORM_DECIMATION], window[::NORM_DECIMATION]
    k = np.arange(1, int(band_top_hz / max(float(r.min()), 1e-9)) + 1)[:, None]
    f = k * r[None, :]
    a = np.where(f < band_top_hz, np.broadcast_to(amp(k, f), f.shape), 0.0)
    return float(np.mean(0.5 * np.sum(a * a, axis=0) * w * w))


def _low_render(x_low: np.ndarray, d: int, n: int, pad_low: int, fs: int, range_m: float, w: dict) -> np.ndarray:
    """n samples at fs of a 1 m signal x_low (at fs/d, starting pad_low samples before t = 0) received at
    range_m [m]: TL(f) applied per bin at the low rate, then FFT-upsampled (band-limited below 0.45·fs)."""
    f_low = np.fft.rfftfreq(x_low.size, d / fs)
    spec = num.rfft(x_low) * loss_gain(transmission_loss(f_low, range_m, w))
    return _upsample(spec, x_low.size, d, n, pad_low, fs)


# ------------------------------------------------------------------------------------------- killer whale

def draw_killer_whale(rng: np.random.Generator, sample_rate: int) -> dict:
    """Pod range, mean gap between vocalisations, whistle share, and SL distributions (drawn per call)."""
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
        sl = _normal_sl(rng.standard_normal(), *(ORCA_WHISTLE_SL_DB if whistle else ORCA_CALL_SL_DB),
                        ORCA_SL_LIMITS_DB)
        centre = 0.5 * (rec["f_min_hz"] + rec["f_max_hz"]) if whistle else rec["peak_hz"]
        if np.any(sig):
            _add(out, _propagate(sig, fs, p["range_m"], w) * 10 ** (sl / 20), int(round(t0 * fs)) - SEGMENT_PAD)
        calls.append({"t_s": _r(t0), **rec, "sl_db": _r(sl),
                      "received_db": _r(float(received_db(sl, centre, p["range_m"], w)))})
    return out, {"calls": calls}


# -------------------------------------------------------------------------------------------- minke whale

def draw_minke_whale(rng: np.random.Generator, sample_rate: int) -> dict:
    """Call type (boing: central or eastern; pulse train: speed-up or slow-down), its frequencies, SL and range."""
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
    dur = mean + sd * float(np.clip(rng.standard_normal(), -SL_CLIP_SD, SL_CLIP_SD))
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
    """SL, range, call rate and the cluster structure of a calling right whale."""
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


# ------------------------------------------------------------------------------------------ composition

DRAWS = {"killer_whale": draw_killer_whale, "minke_whale": draw_minke_whale, "right_whale": draw_right_whale}
RENDERS = {"killer_whale": render_killer_whale, "minke_whale": render_minke_whale, "right_whale": render_right_whale}


def draw_cetaceans(rng: np.random.Generator, sample_rate: int) -> tuple[dict, list[int]]:
    """Per-render parameters ({name: params or None where absent}) and one render seed per species. Presence,
    parameters and seeds are drawn whatever is present, in a fixed order, so nothing shifts when one comes or goes."""
    present = rng.random(len(NAMES)) < np.array([OCCURRENCE[k] for k in NAMES])
    params = {name: DRAWS[name](rng, sample_rate) for name in NAMES}
    seeds = [int(s) for s in rng.integers(0, 2**63 - 1, len(NAMES))]
    return {k: (params[k] if on else None) for k, on in zip(NAMES, present, strict=True)}, seeds


def render_cetaceans(rng: np.random.Generator, n: int, sample_rate: int, *, water: dict | None = None
                     ) -> tuple[np.ndarray | None, list[dict]]:
    """Received pressure [µPa] of every present species (float32, n samples, band-limited below 0.45·fs; None when
    none is present) and their records ({name, drawn parameters, events}). ``rng``: the render's
    :func:`cetacean_rng`; ``water``: the scene's water column (confusers.DEFAULT_WATER where missing)."""
    drawn, seeds = draw_cetaceans(rng, sample_rate)
    total, records = None, []
    for name, seed in zip(NAMES, seeds, strict=True):
        if drawn[name] is None:
            continue
        x, events = RENDERS[name](np.random.default_rng(seed), drawn[name], n, sample_rate, _water(water))
        total = x.astype(np.float32) if total is None else total + x.astype(np.float32)
        records.append({"name": name, **drawn[name], "events": events})
    return total, records
