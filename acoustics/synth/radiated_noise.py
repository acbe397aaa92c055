"""Vessel radiated noise (the scene's contacts): draw a vessel (``draw_vessel``) and render its pressure at 1 m
(``render_source``). Non-vessel sounds are in ``events/``; the daemon's audio inputs are ``stream/sources/``.

The source signal at 1 m [µPa] is s(t) = r(t)·([1 + m·a(t)]·b(t) + Σ_k A_k(t) cos ψ_k(t)) (physics.md §0):
b is Gaussian noise coloured to the SL density [dB re 1 µPa²/Hz @ 1 m] (``source_spectra``), a(t) a zero-mean
function at shaft and blade rates (peak 1), m the modulation index (0 below the cavitation-inception speed,
CIS), r(t) a slow roll/pitch modulation. Each tonal's phase ψ_k = 2π·h_k·f0·τ(t) + φ_k is integrated from
its drive's warped time τ(t) = ∫ g dt, where g = 1 + CPP sine FM + a random walk (``vessels``), so lines
of one shaft or engine move together. Fine types and their figures live in ``vessels``.
"""

from __future__ import annotations

import numpy as np

from uwac.acoustics.synth import numerics as num
from uwac.acoustics.synth.numerics import gaussian_spectrum, next_fast_len
from uwac.acoustics.synth.source_spectra import (  # noqa: F401  (re-exported)
    JE_VC_KN,
    broadband_psd_db,
    bv_advanced_db,
    je_sl_density_db,
    randi_sl_density_db,
    wh_sl_density_db,
)
from uwac.acoustics.synth.vessels import (
    ANTI_ALIAS,
    MAX_DEVIATION,
    draw_aerial,
    draw_merchant,
    draw_usv,
    draw_uuv,
    draw_warship,
)
from uwac.acoustics.taxonomy import FINE_TYPES

PSD_GRID_POINTS = 4096  # design note: broadband density evaluated on 4096 log-spaced points
CONTROL_RATE_HZ = 20.0  # design note: drive tracks sampled at 20 Hz (FM ≤ 0.2 Hz, walks ≥ 5 s, roll ≤ 0.5 Hz)
OVERSAMPLE = 2.2  # design note: low-rate tone synthesis at 2.2 × the group's top frequency
AM_OVERSAMPLE = 8.0  # design note: AM synthesised at 8 × its top rate, then linearly interpolated
CHUNK_LINES = 16  # lines per vectorised cos block (bounds memory at n × 16 float32)
COINCIDENT_HZ = 1e-3  # design note: lines of one drive closer than 1 mHz are one line (drift < 0.2 rad in 30 s)


def draw_vessel(rng: np.random.Generator, label: str, fine_label: str | None, sample_rate: int,
                source_model: str | None = None, merchant_models=None) -> dict:
    """Draw a vessel of class ``label`` (merchant, warship, drone); fine type drawn when None.

    ``source_model`` (je, wh, randi) fixes a merchant's broadband model; otherwise it is drawn, from
    ``merchant_models`` only when given (e.g. ("je", "wh") to hold RANDI out). Every tone stays below 0.45·fs [Hz]
    even at its peak FM deviation. Returns a JSON-serialisable dict of all parameters.
    """
    if label not in FINE_TYPES or label == "ambient":
        raise ValueError(f"no vessel for label {label!r}; expected merchant, warship or drone")
    fines = FINE_TYPES[label]
    drawn = str(fines[int(rng.integers(0, len(fines)))])  # drawn always: a given fine_label leaves later draws
    fine = fine_label if fine_label is not None else drawn
    if fine not in fines:
        raise ValueError(f"fine type {fine!r} is not a {label}; expected one of {', '.join(fines)}")
    if source_model is not None and label != "merchant":
        raise ValueError("source_model applies to merchant vessels only")
    f_max = ANTI_ALIAS * sample_rate
    if label == "merchant":
        v = draw_merchant(rng, fine, f_max, source_model, merchant_models)
    elif label == "warship":
        v = draw_warship(rng, fine, f_max)
    else:
        v = {"uuv": draw_uuv, "usv": draw_usv, "aerial": draw_aerial}[fine](rng, f_max)
    return {"label": label, "fine_label": fine, **v}


def _ou(rng: np.random.Generator, m: int, dt: float, sigma: float, tau_s: float) -> np.ndarray:
    """Stationary Ornstein–Uhlenbeck track, m points spaced dt [s], rms sigma, correlation time tau_s [s]."""
    a = np.exp(-dt / tau_s)
    e = rng.standard_normal(m) * sigma
    e[1:] *= np.sqrt(1.0 - a * a)
    x = np.empty(m)
    x[0] = e[0]
    for i in range(1, m):  # m ≈ 20 Hz × duration: a short loop
        x[i] = a * x[i - 1] + e[i]
    return x


def drive_tracks(rng: np.random.Generator, vessel: dict, duration_s: float) -> dict:
    """Per drive: control times t [s], warped time τ(t) = ∫ g dt [s] and line-level wander [dB].

    g(t) = 1 + depth·sin(2π·rate·t + phase) (CPP FM) + OU walk (relative rate drift)."""
    m = int(np.ceil(duration_s * CONTROL_RATE_HZ)) + 2
    t = np.arange(m) / CONTROL_RATE_HZ
    out = {}
    for name, d in vessel.get("drives", {}).items():
        w = d["walk"]
        g = 1.0 + _ou(rng, m, 1.0 / CONTROL_RATE_HZ, w["sigma"], w["tau_s"])
        level = _ou(rng, m, 1.0 / CONTROL_RATE_HZ, w["level_db"], w["tau_s"])
        if d["fm"]:
            g += d["fm"]["depth"] * np.sin(2 * np.pi * d["fm"]["rate_hz"] * t + d["fm"]["phase"])
        g = np.clip(g, 1.0 - MAX_DEVIATION, 1.0 + MAX_DEVIATION)
        tau = np.concatenate(([0.0], np.cumsum(0.5 * (g[1:] + g[:-1])) / CONTROL_RATE_HZ))
        out[name] = {"t": t, "tau": tau, "level_db": level}
    return out


def _group_signal(tj: np.ndarray, f0: float, track: dict | None, harmonics, amp, phase,
                  level_wander: bool) -> np.ndarray:
    """Σ amp·cos(2π·h·f0·τ(t) + phase) at times tj [s] (float32), τ from the drive ``track`` (τ = t if None)."""
    tau = tj if track is None else np.interp(tj, track["t"], track["tau"])
    psi = (2 * np.pi * np.mod(f0 * tau, 1.0)).astype(np.float32)
    h = np.asarray(harmonics, dtype=np.float32)
    amp, phase = np.asarray(amp, np.float32), np.asarray(phase, np.float32)
    x = np.zeros(tj.size, dtype=np.float32)
    for i in range(0, h.size, CHUNK_LINES):
        sl = slice(i, i + CHUNK_LINES)
        x += amp[sl] @ np.cos(np.outer(h[sl], psi) + phase[sl, None])
    if track is not None and level_wander:
        x *= (10.0 ** (np.interp(tj, track["t"], track["level_db"]) / 20.0)).astype(np.float32)
    return x


def _low_rate_n(n: int, duration_s: float, top_hz: float, oversample: float) -> int:
    """Samples over duration_s for a signal below top_hz [Hz] (FFT-friendly size, at most n)."""
    return min(n, next_fast_len(int(np.ceil(oversample * top_hz * duration_s)) + 16, real=True))


def _upsample_linear(x: np.ndarray, n: int) -> np.ndarray:
    """Linear interpolation of x (uniform over a period) onto n uniform samples of the same period (float32)."""
    pos = np.arange(n, dtype=np.float64) * (x.size / n)
    i0 = pos.astype(np.int64)
    frac = (pos - i0).astype(np.float32)
    x = np.append(x, x[0]).astype(np.float32)
    return x[i0] + frac * (x[i0 + 1] - x[i0])


def _place_lines(spec: np.ndarray, n: int, sample_rate: int, f_hz, amp, phase) -> None:
    """Add Σ amp·cos(2π f t + phase) to the rfft ``spec``, each fixed tone rounded to its nearest bin."""
    f_hz = np.asarray(f_hz, dtype=float)
    if f_hz.size:
        k = np.rint(f_hz * n / sample_rate).astype(int)
        ok = (k > 0) & (k < (n + 1) // 2)
        np.add.at(spec, k[ok], (np.asarray(amp)[ok] * (n / 2.0)) * np.exp(1j * np.asarray(phase)[ok]))


def _by_group(items) -> dict:
    """Collect (group, harmonic, amplitude, phase) items into {group: (harmonics, amps, phases)}."""
    out: dict = {}
    for g, h, a, p in items:
        hs, as_, ps = out.setdefault(g, ([], [], []))
        hs.append(h)
        as_.append(a)
        ps.append(p)
    return out


def _add_groups(spec, n, sample_rate, vessel, tracks, grouped: dict) -> None:
    """Add each group's lines to the rfft ``spec``: synthesised at a low rate over the same duration (so the
    rfft bins coincide) and copied in (band-limited interpolation)."""
    duration = n / sample_rate
    for g, (hs, amps, phases) in grouped.items():
        grp = vessel["groups"][g]
        top = max(hs) * grp["f0_hz"] * (1.0 + MAX_DEVIATION)
        n_g = _low_rate_n(n, duration, top, OVERSAMPLE)
        x = _group_signal(np.arange(n_g) * (duration / n_g), grp["f0_hz"], tracks.get(grp["drive"]), hs, amps,
                          phases, level_wander=True)
        k = n_g // 2 if n_g < n else spec.size
        spec[:k] += num.rfft(x.astype(np.float64))[:k] * (n / n_g)


def am_waveform(rng: np.random.Generator, vessel: dict, n: int, sample_rate: int,
                tracks: dict | None = None) -> np.ndarray:
    """Zero-mean a(t), peak |a| = 1, at shaft harmonics 1..Z, blade harmonics 1..3 (and the firing rate)
    of each shaft, phase-locked to the shafts' drive (so it follows CPP FM). Synthesised at AM_OVERSAMPLE ×
    its top frequency and linearly interpolated to sample_rate [Hz]."""
    w = vessel["am"]
    tracks = tracks if tracks is not None else drive_tracks(rng, vessel, n / sample_rate)
    items = []
    for i in range(len(vessel["shaft_hz"])):
        g = f"shaft{i + 1}"
        items += [(g, k + 1, wk) for k, wk in enumerate(w["shaft"])]
        items += [(g, (j + 1) * vessel["blades"], wj) for j, wj in enumerate(w["blade"])]
    if w.get("firing") and "engine" in vessel["groups"]:
        items.append(("engine", vessel["engine"]["cylinders"], w["firing"]))
    grouped = _by_group([(g, h, a, p) for (g, h, a), p in zip(items, rng.uniform(0, 2 * np.pi, len(items)), strict=True)])
    duration = n / sample_rate
    top = max(max(hs) * vessel["groups"][g]["f0_hz"] for g, (hs, _, _) in grouped.items()) * (1 + MAX_DEVIATION)
    n_a = _low_rate_n(n, duration, top, AM_OVERSAMPLE)
    ta = np.arange(n_a) * (duration / n_a)
    a = sum(_group_signal(ta, vessel["groups"][g]["f0_hz"], tracks.get(vessel["groups"][g]["drive"]), hs, amps,
                          phases, level_wander=False) for g, (hs, amps, phases) in grouped.items())
    a = a.astype(np.float64) - np.mean(a)
    if n_a < n:
        a = _upsample_linear(a, n)
    peak = np.max(np.abs(a))
    return a / peak if peak > 0 else a


def merge_coincident(vessel: dict, items: list) -> list:
    """(group, harmonic, amplitude, phase) items with lines of one drive at one frequency (within COINCIDENT_HZ)
    merged into the first, amplitude √ΣA²: one spectral line carrying the sum of their powers (e.g. the firing
    rate of a direct-drive 2-stroke with as many cylinders as blades, at the blade rate). Their relative phase
    is not known; design note: add them in power rather than let a random phase cancel the blade line."""
    groups = vessel["groups"]
    key = [(groups[g]["drive"], groups[g]["f0_hz"] * h) for g, h, _, _ in items]
    order = sorted(range(len(items)), key=lambda i: key[i])
    out, head = [], None
    for i in order:
        if head is not None and key[i][0] == key[head][0] and key[i][1] - key[head][1] < COINCIDENT_HZ:
            g, h, a, ph = out[-1]
            out[-1] = (g, h, float(np.hypot(a, items[i][2])), ph)
            continue
        head = i
        out.append(items[i])
    return out


def tonal_spectrum(rng: np.random.Generator, vessel: dict, n: int, sample_rate: int, tracks: dict) -> np.ndarray:
    """rfft (length n//2+1) of all tonals: grouped lines with integrated phase (coincident lines of one drive
    merged in power, :func:`merge_coincident`), fixed lines on bins."""
    tones = vessel["tonals"]
    amp = np.sqrt(2.0) * 10.0 ** (np.array([t["level_db"] for t in tones]) / 20.0)  # rms level -> amplitude
    phase = rng.uniform(0, 2 * np.pi, len(tones))
    spec = np.zeros(n // 2 + 1, dtype=complex)
    fixed = [i for i, t in enumerate(tones) if t.get("group") is None]
    _place_lines(spec, n, sample_rate, [tones[i]["f_hz"] for i in fixed], amp[fixed], phase[fixed])
    grouped = _by_group(merge_coincident(vessel, [(t["group"], t["harmonic"], amp[i], phase[i])
                                                  for i, t in enumerate(tones) if t.get("group") is not None]))
    _add_groups(spec, n, sample_rate, vessel, tracks, grouped)
    return spec


def roll_gain(vessel: dict, n: int, sample_rate: int) -> np.ndarray:
    """Slow roll/pitch AM r(t) with unit mean power (physics.md §3), float32."""
    roll = vessel["roll"]
    arg = (2 * np.pi * roll["f_hz"] / sample_rate) * np.arange(n) + roll["phase"]
    r = 1.0 + roll["depth"] * np.sin(arg.astype(np.float32))
    return r * np.float32(1.0 / np.sqrt(1.0 + 0.5 * roll["depth"] ** 2))


def broadband_psd(spectrum: dict, n: int, sample_rate: int) -> np.ndarray:
    """SL density [µPa²/Hz @ 1 m] on the rfft bins of n samples (0 at DC), evaluated on PSD_GRID_POINTS
    log-spaced frequencies and interpolated in log f (the models are smooth)."""
    f = np.arange(n // 2 + 1) * (sample_rate / n)
    if f.size <= PSD_GRID_POINTS:
        db = broadband_psd_db(f, spectrum)
    else:
        grid = np.geomspace(f[1], f[-1], PSD_GRID_POINTS)
        db = np.interp(np.log(np.maximum(f, f[1])), np.log(grid), broadband_psd_db(grid, spectrum))
    psd = 10.0 ** (db / 10.0)
    psd[0] = 0.0
    return psd


def render_source(rng: np.random.Generator, vessel: dict, n: int, sample_rate: int) -> np.ndarray:
    """Source pressure s(t) at 1 m [µPa], n samples at sample_rate [Hz]: cavitation-modulated broadband
    plus tonals, times roll AM. The AM factors keep unit mean power, so the broadband keeps its SL density."""
    psd = broadband_psd(vessel["spectrum"], n, sample_rate)
    bspec = gaussian_spectrum(rng, psd, n, sample_rate)
    tracks = drive_tracks(rng, vessel, n / sample_rate)
    tspec = tonal_spectrum(rng, vessel, n, sample_rate, tracks)
    m = vessel["mod_index"]
    if m > 0:
        a = am_waveform(rng, vessel, n, sample_rate, tracks)
        s = num.irfft(bspec.astype(np.complex64), n) * ((1.0 + m * a) / np.sqrt(1.0 + m * m * np.mean(a * a)))
        s += num.irfft(tspec.astype(np.complex64), n)
    else:  # complex64 inverse FFTs: twice as fast, errors far below the 24-bit quantisation step
        s = num.irfft((bspec + tspec).astype(np.complex64), n)
    return s * roll_gain(vessel, n, sample_rate)
