"""Scenes: ambient plus 0–2 vessel contacts, each on its own CPA pass (physics.md §0 signal chain, §6).

Per contact: source s(τ) rendered in emission time -> Doppler (y(t) = s(τ(t)), τ = t − r(τ)/c) -> time-varying
propagation (spreading, rough-surface Lloyd's mirror, seabed critical-angle cylindrical term, FG absorption;
Hann blocks at 50 % overlap) -> + ambient -> recorder. Per contact the params carry the SNR per frame and the
spans above a threshold (strong labels).
"""

from __future__ import annotations

import numpy as np

from uwac.acoustics.synth import ambient, geometry, propagation, radiated_noise, recorder
from uwac.acoustics.synth import numerics as num
from uwac.acoustics.synth.events import composition
from uwac.acoustics.taxonomy import CLASSES, FINE_TYPES

RENDERER_VERSION = "uwac-synth 0.6.1"  # 0.3: confusers, recorder chain, SNR −20..+30 dB; 0.4: CPA ≤ 30 km;
# 0.5: tonal line levels drawn over the broadband model that renders the ship (0.4 used JE for W–H and RANDI
# merchants too, so their blade lines sat under their own continuum) with excess ranges widened down to weak lines
# in every class; the Z-th shaft harmonic no longer doubles the blade line, and coincident lines of one drive add
# in power; killer, minke and right whale calls (events/cetaceans.py) in every class; humpback units 0.15–8 s with 1–12
# harmonics; merchant_models restricts the merchant broadband models drawn (source-model shift tests); 0.6: the
# sea-surface noise is intermittent (surface_noise.py: breaking-wave bursts, rain gusts) at the same mean density;
# 0.6.1: scipy optional (numerics.py: scipy's FFTs when installed, else numpy's; own AR(1) and root finder): the same
# draws, round-off differences
SNR_DRAW_DB = (-20.0, 30.0)  # target SNR drawn when none is given [dB]; physics.md §6 design note: about −20 to +40 dB
# CPA distances the solver may place a contact at [m]: physics.md §6, "scenario ranges should span 50 m–30 km
# so that SNR covers about −20 to +40 dB". Renderer 0.3 allowed 100 km: half the merchants were solved to
# > 80 km, where absorption strips everything above ~1 kHz, so rendered merchants were low-frequency only while
# real ones heard within a few km are broadband. A target SNR out of reach at 30 km keeps 30 km and scales the
# vessel down (a quieter ship or a noisier sea; ``level_adjust_db``). UUVs are "detectable only within a few
# metres" (Griffiths 2001, physics.md §4), so they may come as close as 2 m.
RANGE_LIMITS_M = (50.0, 30000.0)
RANGE_LIMITS_BY_FINE_M = {"uuv": (2.0, 30000.0)}
SNR_BAND_LO_HZ = 10.0  # SNR band 10 Hz–0.45·fs (design note)
WATER = {  # design note: shelf-sea water column (physics.md §6 uses H = 100 m, FG at 10 °C, 35 ppt, pH 8)
    "water_depth_m": (20.0, 300.0), "temperature_c": (2.0, 25.0), "salinity_ppt": (30.0, 36.0), "ph": (7.8, 8.2),
    "bottom_sound_speed_m_s": (1550.0, 1850.0),  # silt to sand, sets the critical angle ψ (design note)
}
RECEIVER_DEPTH_FRACTION = (0.1, 0.95)  # hydrophone depth as a fraction of water depth (design note)
CONTACT_CLASSES = ("merchant", "warship", "drone")  # classes a drawn scene contact takes (taxonomy)
CONTACT_COUNTS = (0, 1, 2)  # contacts in a drawn scene, equally likely (design note)
SNR_FRAME_S = 1.0  # strong-label SNR frame [s] (design note)
SNR_THRESHOLD_DB = 0.0  # a contact is labelled where its frame SNR >= this [dB] (design note)
SNR_FLOOR_DB = -120.0  # frame SNR of a silent frame, so the JSON stays finite (design note)
MODEL_BANDS = 96  # log-spaced bands of the SNR solver's power model (design note)
MODEL_TIMES = 24  # time points of the SNR solver's power model across the recording (design note)
EMISSION_GRID = 64  # τ(t) computed every 64 samples, linear in between: error < 1e-8 s (design note)
SOURCE_PAD = 8  # source samples before τ(0) and after τ(end) for the interpolator (design note)
TRACK_KEYS = ("d_cpa_m", "t_cpa_s", "heading_deg", "side", "source_depth_m", "speed_kn")
# The recorder draws from its own stream, SeedSequence(seed, spawn_key=(0, 1)) (a key no _streams child uses), so
# its chain depends on the seed alone (not on the label, the contacts or any other draw) and shifts nothing else.
RECORDER_STREAM = (0, 1)


def draw_water(rng: np.random.Generator) -> dict:
    """Draw water depth [m], temperature [°C], salinity [ppt], pH, bottom sound speed [m/s] and hydrophone
    depth [m]."""
    w = {k: round(float(rng.uniform(lo, hi)), 3) for k, (lo, hi) in WATER.items()}
    w["receiver_depth_m"] = round(float(rng.uniform(*RECEIVER_DEPTH_FRACTION)) * w["water_depth_m"], 3)
    return w


def band_power(spec: np.ndarray, n: int, sample_rate: int, lo_hz: float, hi_hz: float) -> float:
    """Mean-square [unit²] of the part of a signal (given as its rfft, length n) in lo_hz <= f < hi_hz.

    By Parseval this equals the power of the band-passed time signal; DC and Nyquist bins are excluded.
    """
    f = np.fft.rfftfreq(n, 1.0 / sample_rate)
    band = (f >= lo_hz) & (f < hi_hz) & (f > 0) & (np.arange(f.size) < n / 2)
    return float(2.0 * np.sum(np.abs(spec[band]) ** 2) / (n * n))


def frame_band_power(x: np.ndarray, sample_rate: int, frame_s: float, lo_hz: float, hi_hz: float) -> np.ndarray:
    """Mean-square [unit²] in lo_hz <= f < hi_hz of each frame_s-long frame of x (last frame may be short)."""
    m = int(round(frame_s * sample_rate))
    k = -(-x.size // m)
    frames = np.zeros((k, m), dtype=np.float32)  # float32: powers to ~1e-7, twice as fast
    frames.reshape(-1)[: x.size] = x
    lengths = np.full(k, float(m))
    lengths[-1] = x.size - (k - 1) * m
    f = np.fft.rfftfreq(m, 1.0 / sample_rate)
    band = (f >= lo_hz) & (f < hi_hz) & (f > 0) & (np.arange(f.size) < m / 2)
    spec = num.rfft(frames, axis=1)[:, band]
    return 2.0 * np.sum(spec.real.astype(np.float64) ** 2 + spec.imag.astype(np.float64) ** 2, axis=1) / (m * lengths)


def spans_above(snr_db: np.ndarray, threshold_db: float, frame_s: float, duration_s: float) -> list[list[float]]:
    """[start_s, end_s] of each run of frames with SNR >= threshold_db [dB]."""
    above = np.concatenate([[False], np.asarray(snr_db) >= threshold_db, [False]])
    edges = np.flatnonzero(np.diff(above.astype(np.int8)))
    return [[round(float(a) * frame_s, 6), round(min(float(b) * frame_s, duration_s), 6)]
            for a, b in zip(edges[::2], edges[1::2], strict=True)]


def range_limits(vessel: dict) -> tuple[float, float]:
    """CPA-distance limits [m] for a vessel's fine type."""
    return RANGE_LIMITS_BY_FINE_M.get(vessel["fine_label"], RANGE_LIMITS_M)


def _streams(seed: int, index: int) -> np.random.Generator:
    """Generator of child ``index`` of SeedSequence(seed): 0 scene, 1 ambient, 2+2i / 3+2i contact i's
    parameters / signal (children do not depend on how many are spawned)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))


def _draw_contact(rng: np.random.Generator, spec: dict, duration_s: float, sample_rate: int,
                  merchant_models=None) -> dict:
    """Draw one contact (class, vessel, track, target SNR); keys given in ``spec`` override the draws (a merchant's
    ``source_model`` too). A drawn merchant's broadband model comes from ``merchant_models`` (None: all)."""
    drawn_snr = round(float(rng.uniform(*SNR_DRAW_DB)), 3)  # drawn always, so later draws stay put
    drawn_label = CONTACT_CLASSES[int(rng.integers(0, len(CONTACT_CLASSES)))]
    label = spec.get("label") or drawn_label
    if label not in CONTACT_CLASSES:
        raise ValueError(f"a contact's label must be one of {', '.join(CONTACT_CLASSES)}, got {label!r}")
    vessel = radiated_noise.draw_vessel(rng, label, spec.get("fine_label"), sample_rate, spec.get("source_model"),
                                        merchant_models)
    track = geometry.draw_track(rng, vessel, duration_s, range_limits(vessel))
    track.update({k: spec[k] for k in TRACK_KEYS if spec.get(k) is not None})
    track["speed_m_s"] = float(track["speed_kn"]) * geometry.KNOT_M_S
    snr = spec.get("snr_db")
    return {"label": label, "fine_label": vessel["fine_label"], "vessel": vessel, "track": track,
            "solve_range": spec.get("d_cpa_m") is None, "snr_db": float(snr) if snr is not None else drawn_snr,
            "snr_drawn": snr is None}


def _model_snr_db(track: dict, d_cpa_m: float, p_band: np.ndarray, f_band: np.ndarray, alpha: np.ndarray,
                  t_model: np.ndarray, ctx: dict) -> float:
    """Predicted whole-recording band SNR [dB] for the contact at CPA distance d_cpa_m [m]."""
    tr = {**track, "d_cpa_m": d_cpa_m}
    zr, c = ctx["water"]["receiver_depth_m"], ctx["c"]
    tau = geometry.emission_time(tr, t_model, zr, c)
    r1, r2 = geometry.path_lengths(tr, tau, zr)
    g = propagation.track_power_gain(f_band, r1, r2, geometry.horizontal_range(tr, tau),
                                     source_depth_m=tr["source_depth_m"], receiver_depth_m=zr, water=ctx["water"],
                                     c=c, alpha_db_km=alpha)
    return 10.0 * np.log10(max(float(np.mean(g @ p_band)), 1e-300) / ctx["amb_power"])


def _band_model(spec: np.ndarray, n: int, ctx: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source band power per log band [µPa²], band centres [Hz] and their FG absorption [dB/km]."""
    fs, hi = ctx["sample_rate"], ctx["hi_hz"]
    edges = np.geomspace(SNR_BAND_LO_HZ, hi, MODEL_BANDS + 1)
    # rfft bins are sorted in f: each band is a contiguous bin range [k_b, k_{b+1}) (Nyquist excluded)
    k = np.minimum(np.ceil(edges * n / fs).astype(np.int64), (n - 1) // 2 + 1)
    power = np.zeros(k[-1] + 1)
    power[k[0]: k[-1]] = 2.0 * np.abs(spec[k[0]: k[-1]]) ** 2 / (float(n) * n)
    p_band = np.add.reduceat(power, k[:-1])[: MODEL_BANDS] * (np.diff(k) > 0)
    f_band = np.sqrt(edges[:-1] * edges[1:])
    return p_band, f_band, _absorption(f_band, ctx["water"])


def _absorption(f_hz: np.ndarray, water: dict) -> np.ndarray:
    """FG absorption [dB/km] at mid-water."""
    return propagation.absorption_db_per_km(f_hz, temperature_c=water["temperature_c"],
                                            salinity_ppt=water["salinity_ppt"],
                                            depth_m=0.5 * water["water_depth_m"], ph=water["ph"])


def _solve_cpa(contact: dict, spec: np.ndarray, n_src: int, ctx: dict) -> tuple[float, float]:
    """CPA distance [m] within the class limits where the predicted SNR equals the target, and the level
    adjustment [dB] still needed when the target is out of reach (0 otherwise). SNR falls with d_cpa."""
    p_band, f_band, alpha = _band_model(spec, n_src, ctx)
    t_model = np.linspace(0.0, ctx["duration_s"], MODEL_TIMES)
    track, target = contact["track"], contact["snr_db"]

    def excess(log_d: float) -> float:
        return _model_snr_db(track, 10.0 ** log_d, p_band, f_band, alpha, t_model, ctx) - target

    limits = range_limits(contact["vessel"])
    lo, hi = np.log10(limits[0]), np.log10(limits[1])
    e_lo, e_hi = excess(lo), excess(hi)
    if e_lo <= 0:  # too quiet even at the nearest pass
        return limits[0], -e_lo
    if e_hi >= 0:  # too loud even at the farthest pass
        return limits[1], -e_hi
    return float(10.0 ** num.find_root(excess, lo, hi, xtol=1e-6)), 0.0


def _emission_positions(track: dict, n: int, ctx: dict) -> np.ndarray:
    """Source-sample position of the sound heard at each of n output samples (τ(0) at SOURCE_PAD)."""
    fs = ctx["sample_rate"]
    grid = np.arange(0, n + EMISSION_GRID, EMISSION_GRID)
    tau = geometry.emission_time(track, grid / fs, ctx["water"]["receiver_depth_m"], ctx["c"])
    p = (tau - tau[0]) * fs + SOURCE_PAD
    step = np.arange(EMISSION_GRID) / EMISSION_GRID  # linear between grid points, as np.interp but cheaper
    return (p[:-1, None] + np.diff(p)[:, None] * step[None, :]).reshape(-1)[:n]


def propagate_track(spec: np.ndarray, n_src: int, track: dict, n: int, ctx: dict) -> np.ndarray:
    """Received pressure [µPa], n samples (float32), of a source whose emission-time rfft (length n_src) is
    ``spec``: Doppler by 2×-oversampled 6-point Lagrange reads at τ(t), then the time-varying propagation
    gain per Hann block (zero at and above 0.45·fs)."""
    fs, zr = ctx["sample_rate"], ctx["water"]["receiver_depth_m"]
    pos = _emission_positions(track, n, ctx)
    y = propagation.fractional_read(propagation.oversample(spec, n_src), pos * propagation.OVERSAMPLE)
    block = propagation.block_length(fs)
    tau = geometry.emission_time(track, propagation.block_centres(n, block) / fs, zr, ctx["c"])
    r1, r2 = geometry.path_lengths(track, tau, zr)
    fb = np.fft.rfftfreq(block, 1.0 / fs)
    g = propagation.track_power_gain(fb.astype(np.float32), r1, r2, geometry.horizontal_range(track, tau),
                                     source_depth_m=track["source_depth_m"], receiver_depth_m=zr, water=ctx["water"],
                                     c=ctx["c"], alpha_db_km=_absorption(fb, ctx["water"]).astype(np.float32))
    gain = np.sqrt(g) * recorder.anti_alias_gain(block, fs).astype(np.float32)
    return propagation.time_varying_filter(y, gain, block)


def _track_summary(track: dict, ctx: dict) -> dict:
    """Range [m], radial speed [m/s] and bearing [deg] summaries of a track over the recording."""
    zr, c = ctx["water"]["receiver_depth_m"], ctx["c"]
    tau = geometry.emission_time(track, np.linspace(0.0, ctx["duration_s"], 64), zr, c)
    r1 = geometry.path_lengths(track, tau, zr)[0]
    vr = geometry.radial_speed(track, tau, zr)
    return {"range_min_m": round(float(r1.min()), 3), "range_mean_m": round(float(r1.mean()), 3),
            "range_max_m": round(float(r1.max()), 3), "radial_speed_start_m_s": round(float(vr[0]), 4),
            "radial_speed_end_m_s": round(float(vr[-1]), 4),
            "bearing_start_deg": round(float(geometry.bearing_deg(track, tau[0])), 3),
            "bearing_end_deg": round(float(geometry.bearing_deg(track, tau[-1])), 3)}


def _snr_series_db(frames: np.ndarray, ctx: dict) -> np.ndarray:
    """Per-frame SNR [dB] of a contact's frame band powers over the (stationary) ambient continuum's,
    floored at SNR_FLOOR_DB."""
    return np.maximum(10.0 * np.log10(np.maximum(frames, 1e-300) / ctx["amb_power"]), SNR_FLOOR_DB)


def _render_contact(contact: dict, rng: np.random.Generator, n: int, ctx: dict) -> tuple[np.ndarray, dict]:
    """Received pressure [µPa] (time signal, SNR-corrected) of one contact, and its params with the SNR per
    frame. Powers are measured per frame (band 10 Hz–0.45·fs, rectangular frames, Parseval)."""
    fs, track = ctx["sample_rate"], contact["track"]
    margin = int(np.ceil(n * track["speed_m_s"] / ctx["c"])) + 2 * SOURCE_PAD
    n_src = num.next_fast_len(n + margin, real=True)
    src = num.rfft(radiated_noise.render_source(rng, contact["vessel"], n_src, fs).astype(np.float32))
    src *= recorder.anti_alias_gain(n_src, fs).astype(np.float32)
    adjust = 0.0
    if contact["solve_range"]:
        d_cpa, adjust = _solve_cpa(contact, src, n_src, ctx)
        track["d_cpa_m"] = round(d_cpa, 3)
    x = propagate_track(src, n_src, track, n, ctx) * np.float32(10.0 ** (adjust / 20.0))
    frames = frame_band_power(x, fs, ctx["frame_s"], SNR_BAND_LO_HZ, ctx["hi_hz"])
    measured = 10.0 * np.log10(max(float(frames @ ctx["frame_weights"]), 1e-300) / ctx["amb_power"])
    correction = contact["snr_db"] - measured if contact["solve_range"] else 0.0
    gain = 10.0 ** (correction / 20.0)
    x *= np.float32(gain)
    frames *= gain * gain
    vessel_power = float(frames @ ctx["frame_weights"])
    snr_series = _snr_series_db(frames, ctx)
    lo, hi = SNR_BAND_LO_HZ, ctx["hi_hz"]
    params = {
        "label": contact["label"], "fine_label": contact["fine_label"],
        "snr_db": contact["snr_db"] if contact["solve_range"] else None, "snr_drawn": contact["snr_drawn"],
        "snr_before_correction_db": float(measured), "snr_correction_db": float(correction),
        "snr_achieved_db": float(10.0 * np.log10(max(vessel_power, 1e-300) / ctx["amb_power"])),
        "range_m": round(float(track["d_cpa_m"]), 3), "range_limited": bool(adjust != 0.0),
        "level_adjust_db": float(adjust),
        "source_band_level_db": round(10.0 * np.log10(band_power(src, n_src, fs, lo, hi)), 4),
        "received_band_level_db": round(10.0 * np.log10(max(vessel_power, 1e-300)), 4),
        "track": {**track, **_track_summary(track, ctx)}, "vessel": contact["vessel"],
        "snr_series_db": [round(float(v), 3) for v in snr_series],
        "spans": spans_above(snr_series, ctx["threshold_db"], ctx["frame_s"], ctx["duration_s"]),
    }
    return x, params


PRIMARY_KEYS = ("snr_db", "snr_drawn", "snr_before_correction_db", "snr_correction_db", "snr_achieved_db",
                "range_m", "range_limited", "level_adjust_db", "source_band_level_db", "received_band_level_db",
                "vessel")


def scene_components(*, seed: int, duration_s: float, sample_rate: int = 16000, contacts: list[dict] | None = None,
                     snr_threshold_db: float = SNR_THRESHOLD_DB, frame_s: float = SNR_FRAME_S,
                     water: dict | None = None, merchant_models=None
                     ) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, dict]:
    """Per-contact received pressure [µPa] as float32 time signals (before the recorder's anti-alias filter), the
    ambient rfft and time signal (band-limited below 0.45·fs), and the params. See :func:`render_scene`."""
    n = int(round(duration_s * sample_rate))
    if n < 16:
        raise ValueError(f"duration_s={duration_s} at {sample_rate} Hz gives {n} samples; need at least 16")
    rng = _streams(seed, 0)
    env = ambient.draw_ambient(rng)
    drawn_water = draw_water(rng)
    unknown = set(water or {}) - set(drawn_water)
    if unknown:
        raise ValueError(f"unknown water keys {sorted(unknown)}; expected some of {sorted(drawn_water)}")
    water = {**drawn_water, **(water or {})}
    rec = recorder.draw_recorder(np.random.default_rng(np.random.SeedSequence(seed, spawn_key=RECORDER_STREAM)),
                                 sample_rate)
    drawn_count = int(CONTACT_COUNTS[int(rng.integers(0, len(CONTACT_COUNTS)))])  # drawn always
    specs = [{} for _ in range(drawn_count)] if contacts is None else list(contacts)
    water["wave_rms_m"] = propagation.SEA_STATE_WAVE_RMS_M[int(np.clip(env.get("sea_state", 2), 0, 6))]
    c = round(geometry.soundspeed_mackenzie(water["temperature_c"], water["salinity_ppt"],
                                            0.5 * water["water_depth_m"]), 3)
    hi_hz = recorder.ANTI_ALIAS_FRACTION * sample_rate
    aa = recorder.anti_alias_gain(n, sample_rate)
    continuum, transients, env["distractor_events"] = ambient.ambient_parts(
        _streams(seed, 1), env, n, sample_rate, water_depth_m=water["water_depth_m"])
    # Confusers (sonar, pingers, explosions, hum, ...; events/composition.py) from their own label-free stream,
    # added to the transients: in every class at the same rates, and outside the SNR reference like the distractors.
    confuser_t, env["confusers"] = composition.render_confusers(composition.confuser_rng(seed), n, sample_rate,
                                                                water=water, env=env)
    # Cetacean calls (killer, minke, right whales; events/cetaceans.py): likewise label-free, from their own stream.
    cetacean_t, env["cetaceans"] = composition.render_cetaceans(composition.cetacean_rng(seed), n, sample_rate,
                                                                water=water)
    extra = [x for x in (confuser_t, cetacean_t) if x is not None]
    if extra:
        transients = transients + num.rfft(sum(extra))
    amb = (continuum + transients) * aa
    amb_t = num.irfft(amb.astype(np.complex64), n)
    # SNR reference: the stationary continuum (sea, shipping, rain, thermal, self-noise), not the transient
    # distractors, so a passing whale does not make a vessel louder. Stationary: one power serves every frame.
    amb_power = band_power(continuum * aa, n, sample_rate, SNR_BAND_LO_HZ, hi_hz)
    frame_len = int(round(frame_s * sample_rate))
    n_frames = -(-n // frame_len)
    weights = np.minimum(frame_len, n - frame_len * np.arange(n_frames)) / n  # each frame's share
    ctx = {"sample_rate": sample_rate, "duration_s": n / sample_rate, "water": water, "c": c, "hi_hz": hi_hz,
           "amb_power": amb_power, "frame_weights": weights,
           "frame_s": float(frame_s), "threshold_db": float(snr_threshold_db)}
    received_t, contact_params = [], []
    for i, spec in enumerate(specs):
        contact = _draw_contact(_streams(seed, 2 + 2 * i), spec, n / sample_rate, sample_rate, merchant_models)
        x, cp = _render_contact(contact, _streams(seed, 3 + 2 * i), n, ctx)
        received_t.append(x)
        contact_params.append({"contact": i, **cp})
    params: dict = {
        "renderer_version": RENDERER_VERSION, "seed": int(seed), "sample_rate": int(sample_rate),
        "duration_s": n / sample_rate, "n_samples": n, **env, **water, **rec, "sound_speed_m_s": c,
        "snr_band_hz": [SNR_BAND_LO_HZ, hi_hz], "ambient_band_level_db": round(10.0 * np.log10(ctx["amb_power"]), 4),
        "snr_frame_s": float(frame_s), "snr_threshold_db": float(snr_threshold_db),
        "n_contacts": len(contact_params), "contacts": contact_params,
    }
    recorder.set_hot_gain(params)  # a hot gain is set for the background: its clip level follows the ambient
    primary = max(contact_params, key=lambda p: p["snr_achieved_db"]) if contact_params else None
    params.update({"label": primary["label"] if primary else "ambient",
                   "fine_label": primary["fine_label"] if primary else "sea"})
    params.update({k: primary[k] if primary else None for k in PRIMARY_KEYS})
    return received_t, amb, amb_t, params


def _digitise(received_t: list[np.ndarray], amb_t: np.ndarray, params: dict) -> np.ndarray:
    """Sum the components and run them through the drawn recorder chain (:func:`recorder.record`: front-end
    filters incl. the anti-alias filter, ADC at the native rate, codec, resampling to the model rate); float32
    full scale on the bit-depth grid. Updates params with its stats (clipped_fraction, peak_dbfs).

    The contact SNRs in params were measured before this, on the pressure: they label what reached the
    hydrophone, not what the recorder kept of it."""
    total = amb_t + sum(received_t) if received_t else amb_t
    audio, stats = recorder.record(total, params, params["sample_rate"])
    params.update(stats)
    return audio


def render_scene(*, seed: int, duration_s: float, sample_rate: int = 16000, contacts: list[dict] | None = None,
                 snr_threshold_db: float = SNR_THRESHOLD_DB, frame_s: float = SNR_FRAME_S,
                 water: dict | None = None, merchant_models=None) -> tuple[np.ndarray, dict]:
    """Render ambient plus vessel contacts as a hydrophone records them: float32 full-scale audio and params.

    contacts: one dict per contact, any of label (merchant/warship/drone), fine_label, snr_db (target whole-
    recording SNR, dB; drawn from SNR_DRAW_DB when None), and track keys d_cpa_m [m] (fixes the pass: no SNR
    solve, no correction), t_cpa_s [s], heading_deg, side (±1), source_depth_m [m], speed_kn (track speed only;
    the source level keeps the vessel's drawn speed), source_model (je, wh or randi; merchants only). None draws
    0, 1 or 2 contacts. [] is ambient only. merchant_models: the broadband models a drawn merchant comes from
    (None: all three). Each contact's SNR is over the ambient continuum alone (not over the other contact, nor over transient
    distractors such as whale calls and shrimp snaps). params["contacts"][i] carries
    its track, ``snr_series_db`` (per frame_s [s] frame) and ``spans`` ([start_s, end_s] with frame SNR >=
    snr_threshold_db); the top-level label / snr_db / range_m / vessel are the loudest contact's (ambient when
    there is none). range_m is the horizontal CPA distance [m]. water: overrides of the drawn water column
    (keys of :func:`draw_water`, e.g. receiver_depth_m [m], water_depth_m [m]).
    """
    received_t, _, amb_t, params = scene_components(seed=seed, duration_s=duration_s, sample_rate=sample_rate,
                                                    contacts=contacts, snr_threshold_db=snr_threshold_db,
                                                    frame_s=frame_s, water=water, merchant_models=merchant_models)
    return _digitise(received_t, amb_t, params), params


def _single_contact(label: str, fine_label: str | None, snr_db: float | None,
                    source_model: str | None = None) -> list[dict]:
    """Contact list of a single-contact training clip (empty for ambient), validating the labels."""
    if label not in CLASSES:
        raise ValueError(f"unknown class label {label!r}; expected one of {', '.join(CLASSES)}")
    if label == "ambient":
        if fine_label not in (None, *FINE_TYPES["ambient"]):
            raise ValueError(f"ambient fine type must be one of {FINE_TYPES['ambient']}, got {fine_label!r}")
        return []
    return [{"label": label, "fine_label": fine_label, "snr_db": snr_db, "source_model": source_model}]


def render_components(*, label: str, seed: int, duration_s: float, sample_rate: int = 16000,
                      snr_db: float | None = None, fine_label: str | None = None, source_model: str | None = None,
                      merchant_models=None) -> tuple[np.ndarray | None, np.ndarray, dict]:
    """Received vessel and ambient pressure [µPa] as rfft spectra (length n//2+1, already band-limited
    below 0.45·fs), plus the params dict. The vessel spectrum is None for ``ambient``.

    ``source_model`` (je, wh, randi) fixes a merchant's broadband model. See :func:`render_recording` for the
    other arguments and the SNR definition.
    """
    received_t, amb, _, params = scene_components(seed=seed, duration_s=duration_s, sample_rate=sample_rate,
                                                  contacts=_single_contact(label, fine_label, snr_db, source_model),
                                                  merchant_models=merchant_models)
    params["fine_label"] = params["fine_label"] if received_t else (fine_label or "sea")
    vessel = num.rfft(received_t[0]) * recorder.anti_alias_gain(params["n_samples"], sample_rate) \
        if received_t else None
    return vessel, amb, params


def render_recording(*, label: str, seed: int, duration_s: float, sample_rate: int = 16000,
                     snr_db: float | None = None, fine_label: str | None = None,
                     merchant_models=None) -> tuple[np.ndarray, dict]:
    """Render a single-contact training clip: float32 full-scale audio (clipped, quantised) and its params.

    label: ambient, merchant, warship or drone; fine_label: a fine type of that class (drawn when None).
    duration_s [s], sample_rate [Hz]. All randomness derives from ``seed`` (children of
    np.random.SeedSequence(seed): scene, ambient noise, contact parameters, contact signal): same seed, same
    output; one seed rendered as two labels shares its environment and ambient noise.

    SNR (``snr_db``, dB): 10·log10 of the received vessel power over the ambient continuum power (sea,
    shipping, rain, thermal, recorder self-noise; transient distractors excluded), both mean-square pressure
    in 10 Hz <= f < 0.45·fs over the whole recording, measured before the two are summed and before the recorder. Drawn from SNR_DRAW_DB (−20 to +30 dB) when
    None; ignored (null) for ambient. The CPA distance (``range_m``) is solved for the drawn t_cpa within
    RANGE_LIMITS_M (2 m for UUVs); a target out of reach keeps the limit and scales the vessel by
    ``level_adjust_db``; a final correction (``snr_correction_db``) makes the measured SNR equal the target.
    merchant_models: the broadband models a merchant is drawn from (je, wh, randi; None: all three, with the
    MERCHANT_MODELS weights), e.g. ("je", "wh") to train without RANDI.
    """
    received_t, _, amb_t, params = scene_components(seed=seed, duration_s=duration_s, sample_rate=sample_rate,
                                                    contacts=_single_contact(label, fine_label, snr_db),
                                                    merchant_models=merchant_models)
    if not received_t:
        params["fine_label"] = fine_label or "sea"
    return _digitise(received_t, amb_t, params), params
