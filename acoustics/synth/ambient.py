"""Ambient noise at the hydrophone: sea state, distant shipping, rain, thermal noise, recorder self-noise,
plus transient distractors (snapping shrimp, fin, blue and humpback whales; see events/composition.py).

All levels are spectral densities in dB re 1 µPa²/Hz, combined in power (physics.md preamble). The
continuum is rendered as Gaussian noise shaped in the frequency domain; the distractors are added to it.
Since renderer 0.6 the sea-surface part of the continuum is intermittent (surface_noise.py): the wind/wave noise
carries breaking-wave bursts and rain comes in gusts, with the long-term mean density of the tables below.
"""

from __future__ import annotations

import functools

import numpy as np

from uwac.acoustics.synth import numerics as num
from uwac.acoustics.synth import surface_noise
from uwac.acoustics.synth.events import biological, composition
from uwac.acoustics.synth.events.common import DEFAULT_WATER_DEPTH_M

# Hodges 2010 ch. 7 tables as digitised in labsonar sea_state.csv / shipping_noise.csv (physics.md §5,
# "Tabulated levels"); frequencies in Hz, levels in dB re 1 µPa²/Hz.
HODGES_F_HZ = np.array([20.0, 50.0, 100.0, 500.0, 1000.0, 10000.0, 50000.0])
HODGES_SEA_STATE_DB = {  # sea state -> level at HODGES_F_HZ (flat below 100 Hz)
    0: np.array([50.9, 50.9, 50.9, 48.2, 44.8, 27.1, 14.4]),
    2: np.array([62.2, 62.2, 62.2, 61.1, 58.8, 42.8, 30.1]),
    4: np.array([66.7, 66.7, 66.7, 66.4, 64.7, 48.9, 36.3]),
    6: np.array([70.9, 70.9, 70.9, 70.8, 69.4, 53.5, 40.8]),
}
HODGES_SHIP_F_HZ = HODGES_F_HZ[:5]
HODGES_SHIPPING_DB = {  # shipping level -> level at HODGES_SHIP_F_HZ (physics.md §5)
    1: np.array([61.0, 61.3, 54.9, 37.9, 29.7]),
    4: np.array([74.6, 77.3, 71.0, 52.6, 44.3]),
    7: np.array([86.2, 89.7, 85.6, 63.9, 55.6]),
}
WIND_SLOPE_DB_PER_DECADE = -17.0  # "noise falls about 17 dB/decade above 1 kHz" (physics.md §5, Slopes)
SEA_STATES = tuple(range(7))  # 0..6 (physics.md §5 wind speeds per sea state 0-6)
SHIPPING_LEVELS = tuple(range(1, 8))  # 1..7 (physics.md §5 table)
SELF_NOISE_DB = (25.0, 45.0)  # recorder self-noise floor [dB re 1 µPa²/Hz] (physics.md §7, design note)
HODGES_RAIN_F_HZ = np.array([100.0, 1000.0, 10000.0, 50000.0])  # Hodges rain.csv columns (physics.md §5)
HODGES_RAIN_RATES_MM_H = np.array([1.0, 5.0, 10.0, 100.0])  # rain rates of the table rows (physics.md §5)
HODGES_RAIN_DB = np.array([  # rows: rate; columns: HODGES_RAIN_F_HZ [dB re 1 µPa²/Hz] (physics.md §5)
    [49.9, 52.9, 46.3, 38.0],
    [60.3, 62.6, 56.3, 48.4],
    [63.9, 66.0, 59.7, 51.6],
    [73.1, 75.4, 69.1, 61.2],
])
RAIN_FRACTION = 0.2  # design note: share of renders with rain
RAIN_RATE_MM_H = (1.0, 100.0)  # design note: log-uniform over the table's rates


def _interp_log_f(f_hz, f_tab, l_tab, slope_lo: float, slope_hi: float) -> np.ndarray:
    """Levels linear in log10 f between table points; straight lines of the given dB/decade outside."""
    lf = np.log10(np.maximum(np.asarray(f_hz, dtype=float), 1e-3))
    lt = np.log10(f_tab)
    out = np.interp(lf, lt, l_tab)
    out = np.where(lf < lt[0], l_tab[0] + slope_lo * (lf - lt[0]), out)
    return np.where(lf > lt[-1], l_tab[-1] + slope_hi * (lf - lt[-1]), out)


def _between_rows(table: dict[int, np.ndarray], key: float) -> np.ndarray:
    """Row for an integer key, interpolated in dB between the tabulated keys (design note: odd sea states)."""
    keys = sorted(table)
    k = float(np.clip(key, keys[0], keys[-1]))
    hi = next(x for x in keys if x >= k)
    lo = max(x for x in keys if x <= k)
    if hi == lo:
        return table[lo]
    w = (k - lo) / (hi - lo)
    return (1 - w) * table[lo] + w * table[hi]


def sea_state_psd_db(f_hz, sea_state: float) -> np.ndarray:
    """Wind/wave noise density [dB re 1 µPa²/Hz] for sea state 0–6 (Hodges table; flat below 20 Hz,
    -17 dB/decade above 50 kHz)."""
    row = _between_rows(HODGES_SEA_STATE_DB, sea_state)
    return _interp_log_f(f_hz, HODGES_F_HZ, row, 0.0, WIND_SLOPE_DB_PER_DECADE)


def shipping_psd_db(f_hz, level: float) -> np.ndarray:
    """Distant-shipping density [dB re 1 µPa²/Hz] for shipping level 1–7 (Hodges table).

    Flat below 20 Hz; above 1 kHz the table's own 500 Hz–1 kHz slope continues (computed from the table).
    """
    row = _between_rows(HODGES_SHIPPING_DB, level)
    slope_hi = (row[-1] - row[-2]) / np.log10(HODGES_SHIP_F_HZ[-1] / HODGES_SHIP_F_HZ[-2])
    return _interp_log_f(f_hz, HODGES_SHIP_F_HZ, row, 0.0, float(slope_hi))


def rain_psd_db(f_hz, rate_mm_h: float) -> np.ndarray:
    """Rain noise density [dB re 1 µPa²/Hz] at rate_mm_h [mm/h] (Hodges table, 1–100 mm/h), linear in
    log10(rate) between rows and in log10(f) between columns (design note); the table's end slopes continue
    outside 100 Hz–50 kHz and the rate is clipped to 1–100 mm/h."""
    lr = np.log10(np.clip(rate_mm_h, HODGES_RAIN_RATES_MM_H[0], HODGES_RAIN_RATES_MM_H[-1]))
    row = np.array([np.interp(lr, np.log10(HODGES_RAIN_RATES_MM_H), col) for col in HODGES_RAIN_DB.T])
    lf = np.log10(HODGES_RAIN_F_HZ)
    slope_lo = (row[1] - row[0]) / (lf[1] - lf[0])
    slope_hi = (row[-1] - row[-2]) / (lf[-1] - lf[-2])
    return _interp_log_f(f_hz, HODGES_RAIN_F_HZ, row, float(slope_lo), float(slope_hi))


def thermal_psd_db(f_hz) -> np.ndarray:
    """Thermal noise density -15 + 20·log10(f/kHz) [dB re 1 µPa²/Hz] (MARS AmbientNoiseHelper, physics.md §5)."""
    f_khz = np.maximum(np.asarray(f_hz, dtype=float), 1e-3) / 1000.0
    return -15.0 + 20.0 * np.log10(f_khz)


def ambient_psd_db(f_hz, *, sea_state: float, shipping_level: float, self_noise_db: float,
                   rain_mm_h: float = 0.0) -> np.ndarray:
    """Total continuum density [dB re 1 µPa²/Hz]: sea state + shipping + rain (if rain_mm_h > 0) + thermal
    + flat self-noise, in power."""
    parts = [sea_state_psd_db(f_hz, sea_state), shipping_psd_db(f_hz, shipping_level),
             thermal_psd_db(f_hz), np.full(np.shape(f_hz), float(self_noise_db))]
    if rain_mm_h > 0:
        parts.append(rain_psd_db(f_hz, rain_mm_h))
    return 10.0 * np.log10(sum(10.0 ** (p / 10.0) for p in parts))


def draw_ambient(rng: np.random.Generator) -> dict:
    """Draw sea state (0–6), shipping level (1–7), self-noise floor [dB re 1 µPa²/Hz], rain rate [mm/h]
    (0 when dry) and the distractors (``events.composition.draw_distractors``; None where absent). JSON-ready."""
    env = {
        "sea_state": int(rng.integers(SEA_STATES[0], SEA_STATES[-1] + 1)),
        "shipping_level": int(rng.integers(SHIPPING_LEVELS[0], SHIPPING_LEVELS[-1] + 1)),
        "self_noise_db": round(float(rng.uniform(*SELF_NOISE_DB)), 3),
    }
    rate = float(np.exp(rng.uniform(*np.log(RAIN_RATE_MM_H))))  # drawn always, so later draws do not shift
    env["rain_mm_h"] = round(rate, 3) if rng.random() < RAIN_FRACTION else 0.0
    env["distractors"] = composition.draw_distractors(rng)
    return env


PSD_GRID_POINTS = 2048  # design note: log-f grid for the continuum (interpolation error < 0.02 dB, computed here)


@functools.lru_cache(maxsize=8)
def _grid_lerp(n: int, sample_rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log-f grid (PSD_GRID_POINTS points over the rfft bins 1..n//2) and, per bin, the grid index below it and
    the weight of the one above (linear in log f), so a density evaluated on the grid is spread to the bins by
    one gather. Cached per (n, fs): the same clip length recurs."""
    f = np.fft.rfftfreq(n, 1.0 / sample_rate)[1:]
    grid = np.geomspace(f[0], f[-1], PSD_GRID_POINTS) if f.size > 1 else f
    lg, lf = np.log10(grid), np.log10(f)
    i = np.clip(np.searchsorted(lg, lf, side="right") - 1, 0, max(grid.size - 2, 0))
    w = (lf - lg[i]) / (lg[i + 1] - lg[i]) if grid.size > 1 else np.zeros(f.size)
    for a in (grid, i, w):
        a.flags.writeable = False
    return grid, i.astype(np.int32), np.clip(w, 0.0, 1.0).astype(np.float32)


def _on_bins(values: np.ndarray, n: int, sample_rate: int) -> np.ndarray:
    """Grid values spread to the n//2 + 1 rfft bins (float32, 0 at DC)."""
    _, i, w = _grid_lerp(n, sample_rate)
    v = values.astype(np.float32)
    out = np.zeros(n // 2 + 1, dtype=np.float32)
    if v.size == 1:
        out[1:] = v[0]
    else:
        lo = v[i]
        out[1:] = lo + (v[i + 1] - lo) * w
    return out


def continuum_spectrum(rng: np.random.Generator, env: dict, n: int, sample_rate: int, *,
                       record: dict | None = None) -> np.ndarray:
    """rfft of the continuum [µPa] (sea state, shipping, rain, thermal, self-noise); DC removed.

    Densities are evaluated on a log-frequency grid and spread to the bins linearly in log f (speed). Shipping,
    thermal, self-noise and the smooth share of the wind/wave noise are stationary Gaussian; the bursty share of the
    wind/wave noise and the rain are Gaussian noise of their density times the gains of
    :mod:`surface_noise` (E[gain²] = 1), so the expected density of every part is the table's. The drawn surface
    parameters and a summary of the events go to ``record["sea_surface"]`` (record defaults to env).
    """
    grid, _, _ = _grid_lerp(n, sample_rate)
    ss, rain = env["sea_state"], env.get("rain_mm_h", 0.0)
    other = sum(10.0 ** (p / 10.0) for p in (shipping_psd_db(grid, env["shipping_level"]), thermal_psd_db(grid),
                                              np.full(grid.shape, float(env["self_noise_db"]))))
    sea = 10.0 ** (sea_state_psd_db(grid, ss) / 10.0)
    half_fs = 0.5 * sample_rate
    white = num.white_spectrum(rng, n)  # the stationary part's draw comes first, as before 0.6
    surf = surface_noise.draw_surface(rng, env)
    burst = surf["bursty_share"] * surface_noise.burst_ramp(grid) if \
        surf["bursty_share"] >= surface_noise.MIN_BURSTY_SHARE else np.zeros(grid.shape)
    cont = white * _on_bins(np.sqrt((other + (1.0 - burst) * sea) * half_fs), n, sample_rate)
    modulated = None
    info = dict(surf)  # full precision: an env that carries it renders the same again
    if burst.any():
        x = num.irfft(num.white_spectrum(rng, n) * _on_bins(np.sqrt(burst * sea * half_fs), n, sample_rate), n)
        gain, info["breaking"] = surface_noise.breaking_gain(rng, surf, n, sample_rate)
        modulated = x * gain
    if rain > 0:
        x = num.irfft(num.white_spectrum(rng, n) * _on_bins(np.sqrt(10.0 ** (rain_psd_db(grid, rain) / 10.0) * half_fs),
                                                        n, sample_rate), n)
        x *= surface_noise.rain_gain(rng, surf, n, sample_rate)
        modulated = x if modulated is None else modulated + x
    if modulated is not None:
        cont += num.rfft(modulated)
        cont[0] = 0.0
    (env if record is None else record)["sea_surface"] = info
    return cont


def ambient_parts(rng: np.random.Generator, env: dict, n: int, sample_rate: int, *,
                  water_depth_m: float | None = None, record: dict | None = None
                  ) -> tuple[np.ndarray, np.ndarray, dict]:
    """rfft spectra [µPa] of the continuum and of the distractors, and the record of the events placed.

    water_depth_m [m] sets whale spreading and whether a drawn shrimp bed sounds (< 55 m); None means
    the 100 m of physics.md §6, i.e. no shrimp. The sea-surface parameters go to ``record["sea_surface"]``
    (record defaults to env; see :func:`continuum_spectrum`).
    """
    cont = continuum_spectrum(rng, env, n, sample_rate, record=record)
    depth = DEFAULT_WATER_DEPTH_M if water_depth_m is None else float(water_depth_m)
    ss2_20k = float(sea_state_psd_db(biological.SHRIMP_REF_HZ, 2))
    dist, events = composition.distractor_spectrum(rng, env.get("distractors") or {}, n, sample_rate,
                                                   water_depth_m=depth, sea_state_2_db_20khz=ss2_20k)
    dist[0] = 0.0
    return cont, dist, events


def ambient_spectrum(rng: np.random.Generator, env: dict, n: int, sample_rate: int, *,
                     water_depth_m: float | None = None, record: dict | None = None) -> np.ndarray:
    """rfft of the ambient pressure [µPa] (continuum + distractors) for the drawn ``env`` (keys of
    :func:`draw_ambient`); DC removed.

    The distractor events placed (times [s], received levels [dB re 1 µPa], ...) are written to
    ``record["distractor_events"]``; ``record`` defaults to ``env`` itself, so a caller that stores env
    after this call stores them too. See :func:`ambient_parts` for water_depth_m.
    """
    cont, dist, events = ambient_parts(rng, env, n, sample_rate, water_depth_m=water_depth_m, record=record)
    (env if record is None else record)["distractor_events"] = events
    return cont + dist
