"""One recording: vessel source -> propagation -> + ambient -> recorder (physics.md §0 signal chain)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

from acoustics.synth import ambient, propagation, recorder, sources
from acoustics.taxonomy import CLASSES, FINE_TYPES

RENDERER_VERSION = "uwac-synth 0.1.0"
SNR_DRAW_DB = (-10.0, 25.0)  # target SNR drawn when none is given [dB]
# Ranges the solver may place a contact at [m]. physics.md §6 suggests 50 m–30 km; with the JE levels a
# merchant is still ~25 dB above sea-state-2 ambient at 30 km, so low target SNRs put it further out, where
# low-frequency shipping noise is known to carry (design note: 100 km). UUVs are "detectable only within a
# few metres" (Griffiths 2001, physics.md §4), so they may come as close as 2 m.
RANGE_LIMITS_M = (50.0, 100000.0)
RANGE_LIMITS_BY_FINE_M = {"uuv": (2.0, 100000.0)}
SNR_BAND_LO_HZ = 10.0  # SNR band 10 Hz–0.45·fs
WATER = {  # design note: shelf-sea water column (physics.md §6 uses H = 100 m, FG at 10 °C, 35 ppt, pH 8)
    "water_depth_m": (20.0, 300.0), "temperature_c": (2.0, 25.0), "salinity_ppt": (30.0, 36.0), "ph": (7.8, 8.2),
}


def draw_water(rng: np.random.Generator) -> dict:
    """Draw water depth [m], temperature [°C], salinity [ppt] and pH."""
    return {k: round(float(rng.uniform(lo, hi)), 3) for k, (lo, hi) in WATER.items()}


def band_power(spec: np.ndarray, n: int, sample_rate: int, lo_hz: float, hi_hz: float) -> float:
    """Mean-square [unit²] of the part of a signal (given as its rfft, length n) in lo_hz <= f < hi_hz.

    By Parseval this equals the power of the band-passed time signal; DC and Nyquist bins are excluded.
    """
    f = np.fft.rfftfreq(n, 1.0 / sample_rate)
    band = (f >= lo_hz) & (f < hi_hz) & (f > 0) & (np.arange(f.size) < n / 2)
    return float(2.0 * np.sum(np.abs(spec[band]) ** 2) / (n * n))


def _solve_range(src: np.ndarray, n: int, amb_power: float, f: np.ndarray, band: np.ndarray, water: dict,
                 target_db: float, limits_m: tuple[float, float] = RANGE_LIMITS_M) -> tuple[float, float]:
    """Range [m] in ``limits_m`` where the received band SNR equals target_db, and the level adjustment
    [dB] still needed when the target lies outside those ranges (0 otherwise). TL is monotone in range."""
    p_src = 2.0 * np.abs(src[band]) ** 2 / (n * n)  # band power per bin, as band_power
    alpha = propagation.absorption_db_per_km(f[band], temperature_c=water["temperature_c"],
                                             salinity_ppt=water["salinity_ppt"],
                                             depth_m=0.5 * water["water_depth_m"], ph=water["ph"])
    def snr_db(log_r: float) -> float:
        r = 10.0 ** log_r
        tl_spread = float(propagation.spreading_loss_db(r, water["water_depth_m"]))
        p = np.sum(p_src * 10.0 ** (-(alpha * r / 1000.0) / 10.0)) * 10.0 ** (-tl_spread / 10.0)
        return 10.0 * np.log10(max(p, 1e-300) / amb_power)

    lo, hi = np.log10(limits_m[0]), np.log10(limits_m[1])
    s_lo, s_hi = snr_db(lo) - target_db, snr_db(hi) - target_db
    if s_lo <= 0:  # too quiet even at the nearest range
        return limits_m[0], -s_lo
    if s_hi >= 0:  # too loud even at the farthest range
        return limits_m[1], -s_hi
    log_r = brentq(lambda x: snr_db(x) - target_db, lo, hi, xtol=1e-10)
    return float(10.0 ** log_r), 0.0


def render_components(*, label: str, seed: int, duration_s: float, sample_rate: int = 16000,
                      snr_db: float | None = None, fine_label: str | None = None
                      ) -> tuple[np.ndarray | None, np.ndarray, dict]:
    """Received vessel and ambient pressure [µPa] as rfft spectra (length n//2+1, already band-limited
    below 0.45·fs), plus the params dict. The vessel spectrum is None for ``ambient``.

    See :func:`render_recording` for the arguments and the SNR definition.
    """
    if label not in CLASSES:
        raise ValueError(f"unknown class label {label!r}; expected one of {', '.join(CLASSES)}")
    if label == "ambient" and fine_label not in (None, *FINE_TYPES["ambient"]):
        raise ValueError(f"ambient fine type must be one of {FINE_TYPES['ambient']}, got {fine_label!r}")
    n = int(round(duration_s * sample_rate))
    if n < 16:
        raise ValueError(f"duration_s={duration_s} at {sample_rate} Hz gives {n} samples; need at least 16")
    # independent streams: parameters, ambient noise, vessel signal (the seed fixes the scene; the label adds
    # a vessel, so one seed rendered as two labels shares its environment and ambient noise)
    rng, amb_rng, src_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    env = ambient.draw_ambient(rng)
    water = draw_water(rng)
    rec = recorder.draw_recorder(rng)
    drawn_snr = round(float(rng.uniform(*SNR_DRAW_DB)), 3)  # drawn always, so later draws do not depend on snr_db
    vessel = None if label == "ambient" else sources.draw_vessel(rng, label, fine_label, sample_rate)
    aa = recorder.anti_alias_gain(n, sample_rate)
    amb = ambient.ambient_spectrum(amb_rng, env, n, sample_rate) * aa
    hi_hz = recorder.ANTI_ALIAS_FRACTION * sample_rate
    amb_power = band_power(amb, n, sample_rate, SNR_BAND_LO_HZ, hi_hz)
    params: dict = {
        "renderer_version": RENDERER_VERSION, "seed": int(seed), "sample_rate": int(sample_rate),
        "duration_s": n / sample_rate, "n_samples": n, "label": label,
        "fine_label": vessel["fine_label"] if vessel else (fine_label or "sea"),
        **env, **water, **rec, "snr_band_hz": [SNR_BAND_LO_HZ, hi_hz],
        "ambient_band_level_db": round(10.0 * np.log10(amb_power), 4),
    }
    if vessel is None:
        params.update({"snr_db": None, "snr_achieved_db": None, "range_m": None, "level_adjust_db": None,
                       "vessel": None})
        return None, amb, params
    target = float(snr_db) if snr_db is not None else drawn_snr
    src = np.fft.rfft(sources.render_source(src_rng, vessel, n, sample_rate)) * aa
    f = np.fft.rfftfreq(n, 1.0 / sample_rate)
    band = (f >= SNR_BAND_LO_HZ) & (f < hi_hz) & (np.arange(f.size) < n / 2)
    limits = RANGE_LIMITS_BY_FINE_M.get(vessel["fine_label"], RANGE_LIMITS_M)
    range_m, adjust_db = _solve_range(src, n, amb_power, f, band, water, target, limits)
    tl = propagation.transmission_loss_db(f, range_m, water["water_depth_m"], temperature_c=water["temperature_c"],
                                          salinity_ppt=water["salinity_ppt"], ph=water["ph"])
    received = src * propagation.loss_gain(tl) * 10.0 ** (adjust_db / 20.0)
    # measure on the rendered components (Parseval: same as their band-passed time signals), then correct
    measured = 10.0 * np.log10(band_power(received, n, sample_rate, SNR_BAND_LO_HZ, hi_hz) / amb_power)
    correction = target - measured
    received *= 10.0 ** (correction / 20.0)
    vessel_power = band_power(received, n, sample_rate, SNR_BAND_LO_HZ, hi_hz)
    achieved = 10.0 * np.log10(vessel_power / amb_power)
    src_power = band_power(src, n, sample_rate, SNR_BAND_LO_HZ, hi_hz)
    params.update({
        "snr_db": target, "snr_drawn": snr_db is None, "snr_before_correction_db": float(measured),
        "snr_correction_db": float(correction), "snr_achieved_db": float(achieved),
        "range_m": round(range_m, 3), "range_limited": bool(adjust_db != 0.0), "level_adjust_db": float(adjust_db),
        "source_band_level_db": round(10.0 * np.log10(src_power), 4),
        "received_band_level_db": round(10.0 * np.log10(vessel_power), 4),
        "vessel": vessel,
    })
    return received, amb, params


def render_recording(*, label: str, seed: int, duration_s: float, sample_rate: int = 16000,
                     snr_db: float | None = None, fine_label: str | None = None) -> tuple[np.ndarray, dict]:
    """Render what a hydrophone records: float32 full-scale audio (clipped, quantised) and its params.

    label: ambient, merchant, warship or drone; fine_label: a fine type of that class (drawn when None).
    duration_s [s], sample_rate [Hz]. All randomness derives from ``seed`` (np.random.SeedSequence(seed)
    spawns the generators for parameters, ambient noise and vessel signal): same seed, same float output.

    SNR (``snr_db``, dB): 10·log10 of the received vessel power over the ambient power (sea, shipping,
    thermal, recorder self-noise), both mean-square pressure in 10 Hz <= f < 0.45·fs, measured before the two
    are summed and before the recorder. Drawn from [-10, 25] dB when None; ignored (null) for ambient.
    The range is solved from TL within RANGE_LIMITS_M (2 m for UUVs); a target out of reach keeps the range at the limit and
    scales the vessel by ``level_adjust_db``; a final correction (``snr_correction_db``) makes the measured
    SNR equal the target.
    """
    received, amb, params = render_components(label=label, seed=seed, duration_s=duration_s,
                                              sample_rate=sample_rate, snr_db=snr_db, fine_label=fine_label)
    n = params["n_samples"]
    total = amb if received is None else amb + received
    p = np.fft.irfft(total * recorder.anti_alias_gain(n, sample_rate), n)
    codes, stats = recorder.digitise(p, clip_level_db=params["clip_level_db"], bit_depth=params["bit_depth"])
    params.update(stats)
    return recorder.codes_to_float(codes, params["bit_depth"]), params
