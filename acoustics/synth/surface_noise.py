"""Intermittency of the sea-surface noise: breaking-wave bursts in the wind/wave noise, and rain gusts.

Real wind/wave noise is not stationary: each breaking wave near the hydrophone gives a burst of bubble noise (fast
onset, decay over a fraction of the wave period), and rain comes in gusts. Both are rendered as Gaussian noise of
the drawn long-term density multiplied by a slowly varying gain whose square has mean 1, so the long-term mean
density (Hodges sea state, Hodges rain) and with it the ambient continuum power stay what ambient.py draws, in
expectation. Figures and their sources: docs/physics_additions.md §4 (S-rows cited below by number).

Wind/wave noise = smooth part (distant breaking, non-breaking mechanisms, everything below 100 Hz) + bursty part,
the share ``bursty_share`` × ramp(f) of the density: a sum of breaking-wave events near the hydrophone,
    B(t) = Σ_k a_k h_k(t − t_k),  gain(t) = sqrt(B(t) / E[B]),
with h_k a linear rise then an exponential decay, a_k heavy-tailed (dipole geometry × log-normal source strength),
t_k a Poisson process whose rate follows the dominant (long) wave's phase. Rain: gain(t) = exp(σ z(t)/2 − σ²/4),
z an Ornstein–Uhlenbeck process (unit variance, correlation time of seconds to tens of seconds).
"""

from __future__ import annotations

import functools

import numpy as np

from uwac.acoustics.synth.numerics import ar1

# --- wind, whitecaps, waves ---------------------------------------------------------------------------------------
WIND_SPEED_M_S = (0.0, 2.45, 4.4, 6.7, 9.35, 12.3, 17.3)  # per sea state 0–6 (physics.md §5, labsonar)
WHITECAP_COEF, WHITECAP_EXP = 3.84e-6, 3.41  # W = 3.84e-6·U^3.41 (fraction), Monahan & O'Muircheartaigh 1980 (S1)
# Pierson–Moskowitz peak period T_p = 2π·U / (0.877·g) = 0.730 s per m/s (computed here from the PM form
# exp(−0.74 (g/2πUf)^4), whose peak lies at 0.877 g/(2πU); S2)
PEAK_PERIOD_S_PER_M_S = 2.0 * np.pi / (0.877 * 9.81)
# Share of the wind-noise power that comes from whitecap events: W / (W + W_half). Design note: W_half = 1e-3
# (U ≈ 5 m/s, where whitecaps form and the noise/wind relation changes regime, S3); below it other mechanisms
# dominate, at high wind breaking does (S4).
BREAKING_HALF_COVERAGE = 1e-3
# Share of the breaking noise that comes from events near the hydrophone (rendered one by one); the rest, many
# overlapping distant events, is smooth. For dipole sources on the surface seen from depth d, the power from
# within horizontal radius r is r²/(r² + d²) of the total: 1/2 at r = d, 4/5 at r = 2d (computed here, S5); less
# where bottom reflection and the waveguide bring noise from afar. Design note: uniform 0.3–0.8.
NEAR_SHARE = (0.3, 0.8)
NEAR_RADIUS_DEPTHS = 2.0  # events are placed uniformly within r = 2d (design note, S5)
# Mean number of near events sounding at once (N = rate × mean decay time), ∝ whitecap coverage: a fixed
# footprint holds W·A/ā of whitecap (S1). Design note: N = 2 at sea state 4 (W = 0.78 %), times a footprint
# factor (hydrophone depth, whitecap size; neither is known to the ambient model), log-uniform over 1/4–4.
CONCURRENT_EVENTS_REF = 2.0
WHITECAP_AREA_EXP = 2.0  # mean area of a whitecap ∝ U^2 (design note; see S8a), so N ∝ W/U^2 ∝ U^1.41
CONCURRENT_REF_SEA_STATE = 4
FOOTPRINT_FACTOR = (0.25, 4.0)
# Breaking waves are shorter than the dominant wind wave (Ding & Farmer, S6); their period T_b = r·T_p with r
# log-uniform 0.3–1 (design note; whitecap area mostly from waves with c > 1.25 m/s, i.e. T > 0.8 s, S7).
BREAKING_PERIOD_RATIO = (0.3, 1.0)
LIFETIME_PER_PERIOD = 0.3  # whitecap lifetime / breaking-wave period, exponentially distributed (Korinenko, S8)
DECAY_PER_LIFETIME = 0.5  # acoustic decay constant = half the whitecap lifetime (design note; S9, S10)
DECAY_S = (0.05, 2.0)  # decay constants kept within [s] (design note; brief and S9–S10: ~0.1–2 s)
RISE_PER_DECAY, RISE_S = 0.2, (0.02, 0.1)  # onset [s]: 0.2 × decay within 20–100 ms (design note: "fast onset", S10)
EVENT_SIGMA_LN = 1.0  # log-normal scatter of an event's source power (design note; energy ∝ dissipation, S11)
# Breaking happens mainly on the crests of the dominant long waves (S12, S8): the event rate is multiplied by
# 1 + μ·cos(2πt/T_p + φ). μ uniform 0–1 (design note: full modulation on one crest, averaged over a footprint
# several wavelengths wide).
LONG_WAVE_DEPTH = (0.0, 1.0)
# Inside an event the sound is itself intermittent: individual bubbles ring for 2 ms to several ms (S9) and are
# created in bursts as the crest fragments the entrained air (S10). Design note: the event envelope is multiplied by
# exp(σ_f y − σ_f²/2), y an OU process of unit variance and correlation time 20–100 ms, σ_f uniform 0.4–0.9.
FAST_SIGMA = (0.4, 0.9)
FAST_TIME_S = (0.005, 0.03)
BURST_BAND_HZ = (100.0, 500.0)  # bursty share ramps (linear in log f) from 0 at 100 Hz to full at 500 Hz (S13)
MIN_BURSTY_SHARE = 0.02  # below this share of the wind noise no bursts are rendered (design note: negligible)
ENVELOPE_RATE_HZ = 400.0  # envelopes are built on a ~200 Hz grid, linear in between (design note)
PRE_ROLL_S = 4.0 * DECAY_S[1]  # events starting up to this long before the clip still sound in it
WINDOW_DECAYS = 6.0  # an event is summed over rise + 6 decay constants (e^−6 = 0.25 % left)
QUADRATURE = 48  # points per variable of the E[∫h] quadrature (design note)

# --- rain ---------------------------------------------------------------------------------------------------------
# Rain rate changes within seconds inside convective cells (S14): power gain exp(σz − σ²/2), z OU with unit variance.
RAIN_GUST_SIGMA = (0.2, 1.0)  # σ of ln(power), stratiform to convective [design note; S14]
RAIN_GUST_TIME_S = (2.0, 30.0)  # OU correlation time, log-uniform [s] (design note: "seconds to tens of seconds")
RAIN_ENVELOPE_RATE_HZ = 20.0


def wind_speed_m_s(sea_state: float) -> float:
    """Wind speed [m/s] for a sea state 0–6 (physics.md §5), linear between the integer states."""
    return float(np.interp(sea_state, np.arange(len(WIND_SPEED_M_S)), WIND_SPEED_M_S))


def whitecap_fraction(wind_m_s: float) -> float:
    """Whitecap coverage W (fraction of the surface), 3.84e-6·U^3.41 (Monahan & O'Muircheartaigh 1980)."""
    return float(WHITECAP_COEF * max(wind_m_s, 0.0) ** WHITECAP_EXP)


def _log_uniform(rng: np.random.Generator, lo_hi) -> float:
    return float(np.exp(rng.uniform(np.log(lo_hi[0]), np.log(lo_hi[1]))))


def draw_surface(rng: np.random.Generator, env: dict) -> dict:
    """Per-render parameters of the surface-noise intermittency (JSON-ready).

    Every value is drawn (so the stream advances the same for every env); keys given in ``env["sea_surface"]``
    override the draws. bursty_share = breaking_share × near_share is the share of the wind-noise density (above
    500 Hz) rendered as events; concurrent_events the mean number sounding at once.
    """
    u = wind_speed_m_s(env.get("sea_state", 0))
    w = whitecap_fraction(u)
    w_ref = whitecap_fraction(WIND_SPEED_M_S[CONCURRENT_REF_SEA_STATE])
    p = {
        "wind_m_s": u, "whitecap_fraction": w, "peak_period_s": PEAK_PERIOD_S_PER_M_S * u,
        "breaking_share": w / (w + BREAKING_HALF_COVERAGE),
        "near_share": float(rng.uniform(*NEAR_SHARE)),
        "footprint_factor": _log_uniform(rng, FOOTPRINT_FACTOR),
        "long_wave_depth": float(rng.uniform(*LONG_WAVE_DEPTH)),
        "long_wave_phase": float(rng.uniform(0.0, 2.0 * np.pi)),
        "fast_sigma": float(rng.uniform(*FAST_SIGMA)),
        "fast_time_s": _log_uniform(rng, FAST_TIME_S),
        "rain_gust_sigma": float(rng.uniform(*RAIN_GUST_SIGMA)),
        "rain_gust_time_s": _log_uniform(rng, RAIN_GUST_TIME_S),
    }
    u_ref = WIND_SPEED_M_S[CONCURRENT_REF_SEA_STATE]
    p["concurrent_events"] = CONCURRENT_EVENTS_REF * (w / w_ref) * (u_ref / max(u, 1e-3)) ** WHITECAP_AREA_EXP \
        * p["footprint_factor"]
    p.update(env.get("sea_surface") or {})
    p["bursty_share"] = p["breaking_share"] * p["near_share"]
    return p


def burst_ramp(f_hz) -> np.ndarray:
    """0–1 weight of the bursty share at f_hz: 0 below 100 Hz, 1 above 500 Hz, linear in log f between."""
    lo, hi = np.log10(BURST_BAND_HZ)
    return np.clip((np.log10(np.maximum(np.asarray(f_hz, dtype=float), 1e-3)) - lo) / (hi - lo), 0.0, 1.0)


@functools.lru_cache(maxsize=16)
def _event_quadrature(peak_period_s: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Decay constants [s] and rise times [s] on a (breaking-period ratio × lifetime) quantile grid, and E[∫h] [s]."""
    q = (np.arange(QUADRATURE) + 0.5) / QUADRATURE
    lo, hi = np.log(BREAKING_PERIOD_RATIO)
    ratio = np.exp(lo + q * (hi - lo))
    life = -np.log1p(-q)  # Exp(1) quantiles
    tau, rise = _decay_and_rise(peak_period_s * ratio[:, None] * life[None, :])
    return tau, rise, float(np.mean(_pulse_area(tau, rise)))


def _decay_and_rise(breaking_period_x_life: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    tau = np.clip(DECAY_PER_LIFETIME * LIFETIME_PER_PERIOD * breaking_period_x_life, *DECAY_S)
    return tau, np.clip(RISE_PER_DECAY * tau, *RISE_S)


def _pulse_area(tau: np.ndarray, rise: np.ndarray) -> np.ndarray:
    """∫h dt [s] of a pulse rising linearly over ``rise`` then decaying over WINDOW_DECAYS × tau."""
    return 0.5 * rise + tau * (1.0 - np.exp(-WINDOW_DECAYS))


def _upsample(coarse: np.ndarray, q: int, n: int) -> np.ndarray:
    """Linear interpolation of a grid sampled every q samples to n samples (float32)."""
    c = coarse.astype(np.float32)
    step = np.arange(q, dtype=np.float32) / np.float32(q)
    return (c[:-1, None] + np.diff(c)[:, None] * step[None, :]).reshape(-1)[:n]


def _grid(n: int, sample_rate: int, rate_hz: float) -> tuple[int, int]:
    """(samples per grid step, grid points covering n samples plus one)."""
    q = max(1, int(round(sample_rate / rate_hz)))
    return q, -(-n // q) + 2


def breaking_gain(rng: np.random.Generator, p: dict, n: int, sample_rate: int) -> tuple[np.ndarray, dict]:
    """Amplitude gain sqrt(B(t)/E[B]) (float32, n samples) of the bursty wind noise, and a record of the events.

    Events start in [−PRE_ROLL_S, n/fs) at rate λ·(1 + μ cos(2πt/T_p + φ)), λ = concurrent_events / E[τ];
    E[B] = λ·E[a]·E[∫h] with E[a] = 1, so E[gain²] = 1 and the bursty density is unchanged in expectation.
    """
    q, m = _grid(n, sample_rate, ENVELOPE_RATE_HZ)
    fe = sample_rate / q
    tp = max(p["peak_period_s"], 0.5)
    tau_q, _, area = _event_quadrature(round(tp, 6))
    rate = p["concurrent_events"] / float(np.mean(tau_q))  # events per second
    span = n / sample_rate + PRE_ROLL_S
    mu = float(np.clip(p["long_wave_depth"], 0.0, 1.0))
    count = int(rng.poisson(rate * (1.0 + mu) * span))
    t0 = rng.uniform(-PRE_ROLL_S, n / sample_rate, count)
    keep = rng.uniform(0.0, 1.0 + mu, count) < 1.0 + mu * np.cos(2.0 * np.pi * t0 / tp + p["long_wave_phase"])
    t0 = t0[keep]
    k = t0.size
    lo, hi = np.log(BREAKING_PERIOD_RATIO)
    tb = tp * np.exp(rng.uniform(lo, hi, k))
    tau, rise = _decay_and_rise(tb * rng.exponential(1.0, k))
    kd = NEAR_RADIUS_DEPTHS ** 2
    geom = (1.0 + rng.uniform(0.0, kd, k)) ** -2 / ((1.0 - 1.0 / (1.0 + kd)) / kd)  # dipole 1/(1+r²/d²)², mean 1
    amp = geom * np.exp(EVENT_SIGMA_LN * rng.standard_normal(k) - 0.5 * EVENT_SIGMA_LN ** 2)
    # sum the pulses on the grid: each over [t0, t0 + rise + WINDOW_DECAYS·tau] ∩ [0, grid end]
    j0 = np.maximum(np.ceil(t0 * fe), 0).astype(np.int64)
    j1 = np.minimum(np.floor((t0 + rise + WINDOW_DECAYS * tau) * fe), m - 1).astype(np.int64)
    lens = np.maximum(j1 - j0 + 1, 0)
    total = int(lens.sum())
    b = np.zeros(m)
    if total:
        ev = np.repeat(np.arange(k), lens)
        idx = np.arange(total) - np.repeat(np.cumsum(lens) - lens, lens) + j0[ev]
        dt = idx / fe - t0[ev]
        h = np.where(dt < rise[ev], dt / rise[ev], np.exp(-(dt - rise[ev]) / tau[ev]))
        b = np.bincount(idx, weights=amp[ev] * h, minlength=m)
    mean_b = rate * area
    # bubble-scale intermittency inside the events: log-normal factor with mean 1 on an OU process (S9, S10)
    phi = np.exp(-(q / sample_rate) / max(p["fast_time_s"], 1e-3))
    y = rng.standard_normal(m)
    y[1:] *= np.sqrt(1.0 - phi * phi)
    sf = p["fast_sigma"]
    b = b * np.exp(sf * ar1(y, phi) - 0.5 * sf * sf)
    gain = np.sqrt(b / mean_b) if mean_b > 0 else np.zeros(m)
    inside = (t0 >= 0.0) & (t0 < n / sample_rate)
    power_db = 10.0 * np.log10(np.maximum(b[: -(-n // q)] / mean_b, 1e-12)) if mean_b > 0 else np.zeros(1)
    record = {"events": int(inside.sum()), "rate_per_s": round(rate, 4),
              "mean_decay_s": round(float(tau[inside].mean()), 4) if inside.any() else None,
              "gain_db_p10_p90": [round(float(v), 2) for v in np.percentile(power_db, [10, 90])]}
    return _upsample(gain, q, n), record


def rain_gain(rng: np.random.Generator, p: dict, n: int, sample_rate: int) -> np.ndarray:
    """Amplitude gain exp(σz/2 − σ²/4) (float32, n samples) of the rain noise; z is an OU process with unit
    variance and correlation time rain_gust_time_s, so E[gain²] = 1."""
    q, m = _grid(n, sample_rate, RAIN_ENVELOPE_RATE_HZ)
    phi = np.exp(-(q / sample_rate) / max(p["rain_gust_time_s"], 1e-3))
    e = rng.standard_normal(m)
    e[1:] *= np.sqrt(1.0 - phi * phi)
    z = ar1(e, phi)  # z[0] ~ N(0, 1): stationary from the start
    s = p["rain_gust_sigma"]
    return _upsample(np.exp(0.5 * s * z - 0.25 * s * s), q, n)
