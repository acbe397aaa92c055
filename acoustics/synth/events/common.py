"""Helpers shared by the event modules: parameter draws, the water column and received levels, band limits,
per-event propagation, event trains and their placement, waveforms, and low-rate synthesis.

Levels: SL in dB re 1 µPa @ 1 m (rms over the pulse, or peak where said), received RL = SL − TL with
TL = spreading(r, H) + Francois–Garrison absorption (propagation.py, physics.md §6), applied per frequency bin to
each event by :func:`_propagate`. Everything is band-limited below the 0.45·fs anti-alias corner (physics.md §7):
tones and sweeps stay below 0.405·fs (:func:`tone_top_hz`) and each event passes a raised-cosine roll-off
(:func:`band_top_gain`) that reaches zero at 0.45·fs, so a source above the recorder's band (a 38 kHz echosounder,
the top of a dolphin whistle, a 10 kHz pinger at 16 kHz sampling) is dropped, never folded. Slow sources are
synthesised at a low rate (:func:`_low_rate`, :func:`_low_grid`) and FFT-upsampled (:func:`_upsample`).
"""

from __future__ import annotations

import numpy as np

from uwac.acoustics.synth import numerics as num
from uwac.acoustics.synth.propagation import absorption_db_per_km, loss_gain, spreading_loss_db
from uwac.acoustics.synth.recorder import ANTI_ALIAS_FRACTION

DEFAULT_WATER_DEPTH_M = 100.0  # H when the caller gives none (physics.md §6 "Received SNR per Hz" uses H = 100 m)
DEFAULT_WATER = {"water_depth_m": DEFAULT_WATER_DEPTH_M, "receiver_depth_m": 50.0, "temperature_c": 10.0,
                 "salinity_ppt": 35.0, "ph": 8.0}  # physics.md §6: H = 100 m; FG at 10 °C, 35 ppt, pH 8 (receiver
# mid-water, design note)
TAPER_START_FRACTION = 0.42  # design note: raised-cosine roll-off from 0.42·fs to zero at 0.45·fs (physics.md §7)
TONE_TOP_FRACTION = 0.9  # design note: tones/sweeps kept below 0.9 × 0.45·fs = 0.405·fs, under the roll-off
SEGMENT_PAD = 1024  # samples either side of an event for its zero-phase propagation filter (design note)
LOW_RATE_OVERSAMPLE = 2.5  # design note: slow sources render at >= 2.5× their top frequency, then FFT-upsample
LOW_RATE_PAD_S = 0.25  # design note: low-rate renders run 0.25 s past both clip edges (no wrap-around)
EDGE_S = 0.02  # design note: raised-cosine rise/fall of tone pulses, at most a quarter of the pulse
FADE_FRACTION = 0.05  # design note: a harmonic fades out over the last 5 % below the tone top
NORM_DECIMATION = 16  # design note: the emitted call's mean square is evaluated on every 16th sample
SL_CLIP_SD = 2.0  # design note: normal draws (SLs, call lengths) clipped to ±2 sd


# ------------------------------------------------------------------------------------------------- draws

def _r(x: float, nd: int = 3) -> float:
    return round(float(x), nd)


def _lin(u: float, lo: float, hi: float) -> float:
    return lo + float(u) * (hi - lo)


def _log(u: float, lo: float, hi: float) -> float:
    return float(np.exp(np.log(lo) + float(u) * (np.log(hi) - np.log(lo))))


def _normal_clipped(u: float, mean: float, sd: float, limits: tuple[float, float] = (-np.inf, np.inf)) -> float:
    """Normal draw (mean, sd in the caller's unit) from a standard-normal draw u, clipped to ±SL_CLIP_SD sd and
    to ``limits``."""
    return float(np.clip(mean + sd * np.clip(u, -SL_CLIP_SD, SL_CLIP_SD), *limits))


# ----------------------------------------------------------------------------- water, levels, band limits

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


def tone_top_hz(sample_rate: int) -> float:
    """Highest tone or sweep frequency [Hz] an event renders: 0.9 × 0.45·fs."""
    return TONE_TOP_FRACTION * ANTI_ALIAS_FRACTION * sample_rate


def _fit_band(u: float, band: tuple[float, float], width: float, sample_rate: int) -> tuple[float, float] | None:
    """[f_lo, f_hi] of the given width inside band ∩ [0, tone_top_hz], placed by u; None when none fits."""
    top = min(band[1], tone_top_hz(sample_rate))
    if top <= band[0]:
        return None
    width = min(width, top - band[0])
    lo = band[0] + float(u) * (top - band[0] - width)
    return lo, lo + width


def band_top_gain(f_hz, sample_rate: int) -> np.ndarray:
    """Amplitude roll-off before the anti-alias corner: 1 below 0.42·fs, raised cosine to 0 at 0.45·fs."""
    lo, hi = TAPER_START_FRACTION * sample_rate, ANTI_ALIAS_FRACTION * sample_rate
    return np.sin(0.5 * np.pi * np.clip((hi - np.asarray(f_hz, dtype=float)) / (hi - lo), 0.0, 1.0)) ** 2


# ------------------------------------------------------------------------------------ per-event propagation

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


def _low_render(x_low: np.ndarray, d: int, n: int, pad_low: int, fs: int, range_m: float, w: dict) -> np.ndarray:
    """n samples at fs of a 1 m signal x_low (at fs/d, starting pad_low samples before t = 0) received at
    range_m [m]: TL(f) applied per bin at the low rate, then FFT-upsampled (band-limited below 0.45·fs)."""
    f_low = np.fft.rfftfreq(x_low.size, d / fs)
    spec = num.rfft(x_low) * loss_gain(transmission_loss(f_low, range_m, w))
    return _upsample(spec, x_low.size, d, n, pad_low, fs)


# ------------------------------------------------------------------------------- event trains, placement

def _periodic_starts(rng: np.random.Generator, interval_s: float, duration_s: float, jitter: float = 0.0
                     ) -> np.ndarray:
    """Start times [s] of a periodic train (each interval ±``jitter`` of itself); the first uniform in
    [0, min(interval, duration)), so a present source starts at least one event in the clip."""
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


# -------------------------------------------------------------------------------------------- waveforms

def _edge_window(m: int, edge: int) -> np.ndarray:
    """1 with raised-cosine rise and fall of ``edge`` samples each."""
    w = np.ones(m)
    if edge > 0:
        ramp = np.sin(0.5 * np.pi * (np.arange(edge) + 0.5) / edge) ** 2
        w[:edge] = ramp
        w[m - edge:] = ramp[::-1]
    return w


def _fm_harmonics(t: np.ndarray, dur_s: float, f_start: float, f_end: float, amps, top_hz: float = np.inf
                  ) -> np.ndarray:
    """Σ_k amps[k−1]·cos(k·φ(t)) of a linear FM f_start → f_end [Hz] over dur_s [s] (t [s] from its start), by
    the Chebyshev recursion cos((k+1)x) = 2·cos x·cos kx − cos((k−1)x); harmonics k >= 2 whose top frequency
    k·max(f_start, f_end) reaches top_hz [Hz] are left out."""
    c1 = np.cos(2 * np.pi * (f_start * t + 0.5 * (f_end - f_start) / dur_s * t * t))
    sig, prev, cur = amps[0] * c1, np.ones_like(c1), c1
    for k, a in enumerate(amps[1:], start=2):
        prev, cur = cur, 2.0 * c1 * cur - prev
        if k * max(f_start, f_end) < top_hz:
            sig += a * cur
    return sig


def _tone(fs: int, dur_s: float, f_start: float, f_end: float, rel_db=(), top_hz: float | None = None
          ) -> np.ndarray:
    """Linear FM pulse f_start → f_end [Hz] with harmonics k = 2.. at rel_db [dB] (those above top_hz
    dropped), raised-cosine edges; scaled so the whole emitted pulse (all harmonics) has rms 1."""
    m = max(int(round(dur_s * fs)), 2)
    t = np.arange(m) / fs
    win = _edge_window(m, min(int(EDGE_S * fs), m // 4))
    amps = np.concatenate([[1.0], 10 ** (-np.asarray(rel_db, dtype=float) / 20)])
    sig = _fm_harmonics(t, dur_s, f_start, f_end, amps, np.inf if top_hz is None else top_hz)
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


# ---------------------------------------------------------------------------------- low-rate synthesis

def _low_rate(fs: int, f_max_hz: float) -> int:
    """Decimation factor d >= 1 so that fs/d >= LOW_RATE_OVERSAMPLE · f_max_hz."""
    return max(1, int(fs // (LOW_RATE_OVERSAMPLE * f_max_hz)))


def _low_grid(n: int, fs: int, d: int) -> tuple[int, int, np.ndarray]:
    """(n_low, pad_low, t_low [s]) of a low-rate render covering the clip plus LOW_RATE_PAD_S either side."""
    pad_low = int(np.ceil(LOW_RATE_PAD_S * fs / d))
    n_low = num.next_fast_len(int(np.ceil(n / d)) + 2 * pad_low, real=True)
    return n_low, pad_low, (np.arange(n_low) - pad_low) * d / fs


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
