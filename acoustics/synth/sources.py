"""Vessel sources: broadband SL density, fine types, tonal lines and cavitation modulation.

The source signal at 1 m [µPa] is s(t) = r(t)·([1 + m·a(t)]·b(t) + Σ_k A_k cos(2π f_k t + φ_k)) (physics.md §0):
b is Gaussian noise coloured to the SL density [dB re 1 µPa²/Hz @ 1 m], a(t) a zero-mean periodic function
at shaft and blade rates (peak 1), m the modulation index (0 below the cavitation-inception speed, CIS), and
r(t) a slow roll/pitch modulation. Line levels are tone powers [dB re 1 µPa @ 1 m], drawn as an excess
over the broadband density at the line's frequency (level in a 1-Hz band above the continuum).
"Design note" marks an engineering choice no source states (physics.md convention).
"""

from __future__ import annotations

import numpy as np

from acoustics.synth.ambient import gaussian_spectrum, sea_state_psd_db
from acoustics.taxonomy import FINE_TYPES

# --- JOMOPANS-ECHO (MacGillivray & de Jong, JMSE 9(4):369, 2021; physics.md §1) -----------------------------
JE_K_DB = 191.0  # JE K
JE_K_LF_DB = 208.0  # JE cargo low-frequency K (below 100 Hz)
JE_D = 3.0  # JE D (all classes but cruise)
JE_D_CRUISE = 4.0  # JE D for cruise ships
JE_LENGTH_REF_M = 91.44  # JE reference length 300 ft
JE_LF_BELOW_HZ = 100.0  # cargo classes use the LF form below 100 Hz
JE_VC_KN = {  # JE class reference speed Vc [kn] (physics.md §1 table)
    "fishing": 6.4, "tug": 3.7, "naval": 11.1, "recreational": 10.6, "government": 8.0, "cruise": 17.1,
    "passenger": 9.7, "bulker": 13.9, "container": 18.0, "vehicle_carrier": 15.8, "tanker": 12.4,
    "dredger": 9.5, "other": 7.4,
}
JE_D_LF = {"bulker": 0.8, "container": 0.8, "tanker": 1.0, "vehicle_carrier": 1.0}  # JE D' (physics.md §1)

ANTI_ALIAS = 0.45  # tones only below 0.45·fs (physics.md §7 design note)
ROLL_F_HZ = (0.03, 0.5)  # rolling/pitching AM 0.03–0.5 Hz (Konson & Volkova; physics.md §3)
ROLL_DEPTH = (0.05, 1.0 / 3.0)  # up to 6 dB peak-to-peak fluctuation, (1+d)/(1-d) = 2 (Wales 1997; physics.md §3)
MOD_INDEX = (0.1, 0.6)  # cavitation AM index m (physics.md §3 design note)


def je_sl_density_db(f_hz, je_class: str, speed_kn: float, length_m: float) -> np.ndarray:
    """JOMOPANS-ECHO SL density [dB re 1 µPa²/Hz @ 1 m] at f_hz [Hz] for a JE class, speed [kn], length [m].

    K − 20·log f1 − 10·log((1 − f/f1)² + D²) + 60·log(V/Vc) + 20·log(L/91.44 m), f1 = 480/Vc; cargo classes
    below 100 Hz: 208 − 40·log f1′ + 10·log f − 10·log((1 − (f/f1′)²)² + D′²), f1′ = 600/Vc (physics.md §1).
    """
    if je_class not in JE_VC_KN:
        raise ValueError(f"unknown JE class {je_class!r}; expected one of {', '.join(JE_VC_KN)}")
    f = np.maximum(np.asarray(f_hz, dtype=float), 0.1)
    vc = JE_VC_KN[je_class]
    d = JE_D_CRUISE if je_class == "cruise" else JE_D
    f1 = 480.0 / vc  # JE f1 [Hz] (physics.md §1)
    base = JE_K_DB - 20 * np.log10(f1) - 10 * np.log10((1 - f / f1) ** 2 + d**2)
    if je_class in JE_D_LF:
        f1_lf = 600.0 / vc  # JE f1' [Hz] (physics.md §1)
        lf = (JE_K_LF_DB - 40 * np.log10(f1_lf) + 10 * np.log10(f)
              - 10 * np.log10((1 - (f / f1_lf) ** 2) ** 2 + JE_D_LF[je_class] ** 2))
        base = np.where(f < JE_LF_BELOW_HZ, lf, base)
    return base + 60 * np.log10(speed_kn / vc) + 20 * np.log10(length_m / JE_LENGTH_REF_M)


def bv_advanced_db(f_hz) -> np.ndarray:
    """Bureau Veritas 'advanced' radiated-noise limit [dB re 1 µPa²/Hz @ 1 m] (uwacan; physics.md §1)."""
    f = np.maximum(np.asarray(f_hz, dtype=float), 0.1)
    return np.select([f < 50, f < 1000],
                     [174 - 11 * np.log10(f), 155.3 - 18 * np.log10(f / 50)],
                     131.9 - 22 * np.log10(f / 1000))


def uuv_broadband_db(f_hz, detect_range_m: float) -> np.ndarray:
    """UUV broadband SL density [dB re 1 µPa²/Hz @ 1 m]: equal to sea-state-2 ambient at ``detect_range_m``.

    Design note from "Autosub was detectable only within a few metres" (Griffiths 2001; physics.md §4):
    SL = Hodges sea state 2 + 20·log10(r_det).
    """
    return sea_state_psd_db(f_hz, 2) + 20 * np.log10(detect_range_m)


def broadband_psd_db(f_hz, spectrum: dict) -> np.ndarray:
    """SL density [dB re 1 µPa²/Hz @ 1 m] of a drawn ``spectrum`` dict (model je / bv_advanced / uuv)."""
    model = spectrum["model"]
    if model == "je":
        out = je_sl_density_db(f_hz, spectrum["je_class"], spectrum["je_speed_kn"], spectrum["length_m"])
    elif model == "bv_advanced":
        out = bv_advanced_db(f_hz)
    elif model == "uuv":
        out = uuv_broadband_db(f_hz, spectrum["detect_range_m"])
    else:
        raise ValueError(f"unknown source spectrum model {model!r}")
    return out + spectrum.get("offset_db", 0.0)


# --- fine types (physics.md §4 unless marked design note) ---------------------------------------------------
MERCHANT = {  # speed kn, shaft rpm options, blades, shafts, length options m, JE class, engine kind
    "bulker": dict(speed=(10, 12), rpm=((50, 70), (120, 125)), blades=(4, 6), shafts=(1,),
                   length=((175, 300),), je="bulker", engine="direct_2s"),
    "container": dict(speed=(12, 16), rpm=((50, 60), (100, 110)), blades=(6,), shafts=(1,),
                      length=((120, 200), (280, 320)), je="container", engine="direct_2s"),
    "tanker": dict(speed=(7.5, 11.5), rpm=((135, 150),), blades=(4, 5), shafts=(1,),
                   length=((120, 140), (275, 285)), je="tanker", engine="direct_2s"),
    "vehicle_carrier": dict(speed=(16, 20), rpm=((50, 60),), blades=(6,), shafts=(1,),
                            length=((170, 185),), je="vehicle_carrier", engine="direct_2s"),
    "passenger": dict(speed=(15, 22), rpm=((60, 100),), blades=(4, 5, 6), shafts=(1, 2),
                      length=((100, 200),), je="passenger", engine="medium_4s"),
    "fishing": dict(speed=(5, 12), rpm=((140, 200),), blades=(3, 4, 5), shafts=(1,),
                    length=((20, 30),), je="fishing", engine="high_4s"),
    "tug": dict(speed=(7, 10), rpm=((220, 260),), blades=(4, 6), shafts=(1,),
                length=((30, 35),), je="tug", engine="high_4s"),
}
ENGINES = {  # design note: engine speed [rpm] and cylinder counts (direct drive per Overseas Harriette, §2)
    "direct_2s": dict(stroke=2, rpm=None, cylinders=(5, 9)),
    "medium_4s": dict(stroke=4, rpm=(500, 750), cylinders=(6, 12)),
    "high_4s": dict(stroke=4, rpm=(900, 1800), cylinders=(6, 12)),
}
MERCHANT_CIS_FRACTION = (0.55, 1.1)  # design note: CIS = fraction × the type's top speed (no public CIS, §1)
GRID_HZ = (50.0, 60.0)  # generator lines 50 or 60 Hz × k (physics.md §2 design note)
SHAFT_SPLIT = (0.002, 0.02)  # design note: second shaft runs 0.2–2 % faster
WARSHIP_CIS_KN = (16.0, 22.0)  # design note: warships' CIS kept high (physics.md §1 cavitation)
WARSHIP_RPM_MAX = (160.0, 180.0)  # frigate shaft rpm 100–180 heuristic (labsonar; physics.md §4), at top speed
WARSHIP_V_MAX_KN = (28.0, 30.0)  # Type 23 > 28 kn; 25–30 max heuristic (physics.md §4)
UUV_PWM_HZ = (5000.0, 6100.0)  # design note: ±10 % around the A18D 5.56 kHz group (physics.md §4)
UUV_PWM_GROUPS = (1, 2, 4)  # A18D groups at 5.56, 11.1, 22.2 kHz = ×1, ×2, ×4 (physics.md §4)
UUV_PWM_MAX_HARMONIC = 19  # harmonics to 105 kHz ≈ 19 × 5.56 kHz (physics.md §4)
UUV_TONAL_DB = (77.0, 120.0)  # A18D tonal PSD 77–120 dB re 1 µPa²/Hz @ 1 m, as tone power in 1 Hz (§4)
USV_RPM = (2700.0, 5800.0)  # small-craft engine rpm (정영철 presets, physics.md §2)
USV_GEAR = (1.92, 2.08)  # gear ratio ≈ 2 (presets 1.92, 2.07, 2.08; physics.md §2)


def _u(rng: np.random.Generator, lo: float, hi: float, nd: int = 3) -> float:
    return round(float(rng.uniform(lo, hi)), nd)


def _pick(rng: np.random.Generator, options):
    return options[int(rng.integers(0, len(options)))]


def _harmonics(rng, lines: list, kind: str, f0: float, orders, psd_fn, excess, decay_db: float,
               f_max: float) -> None:
    """Append lines at k·f0 (k in orders, below f_max) with level = density(f) + U(excess) − decay·(k−1)."""
    for k in orders:
        f = k * f0
        if f >= f_max:
            break
        level = float(psd_fn(f)) + float(rng.uniform(*excess)) - decay_db * (k - 1)
        lines.append({"kind": kind, "f_hz": round(f, 4), "order": int(k), "level_db": round(level, 2)})


def _shaft_rates(rng, rpm: float, shafts: int) -> list[float]:
    rates = [rpm / 60.0]  # shaft rate f_s = rpm/60 [Hz] (physics.md §2)
    for _ in range(1, shafts):
        rates.append(rates[0] * (1.0 + float(rng.uniform(*SHAFT_SPLIT))))
    return [round(r, 5) for r in rates]


def _propeller_lines(rng, lines, shaft_hz, blades, psd_fn, f_max, *, blade_excess, shaft_excess,
                     blade_orders=10) -> None:
    """Shaft-rate harmonics up to Z and blade-rate Z·f_s harmonics (physics.md §2) for every shaft."""
    for i, fs_ in enumerate(shaft_hz):
        tag = f"shaft{i + 1}"
        _harmonics(rng, lines, f"{tag}_rate", fs_, range(1, blades + 1), psd_fn, shaft_excess, 0.5, f_max)
        _harmonics(rng, lines, f"{tag}_blade", blades * fs_, range(1, blade_orders + 1), psd_fn, blade_excess,
                   1.0, f_max)


def _generator(rng, lines, psd_fn, f_max, *, excess, count: int = 1) -> dict:
    """Diesel generator(s): 4-stroke at 60·grid/pole-pairs rpm, firing lines, plus grid lines grid·k."""
    grid = float(_pick(rng, GRID_HZ))
    pole_pairs = int(rng.integers(2, 5))  # design note: 2–4 pole pairs (1500/1000/750 rpm at 50 Hz)
    cylinders = int(_pick(rng, (6, 8, 12, 16)))  # design note
    rpm = 60.0 * grid / pole_pairs
    firing = rpm / 60.0 / 2.0 * cylinders  # 4-stroke: CSR/2 × cylinders (physics.md §2)
    _harmonics(rng, lines, "generator_firing", firing, (1, 2, 3), psd_fn, excess, 1.0, f_max)
    _harmonics(rng, lines, "grid", grid, (1, 2, 3, 4), psd_fn, excess, 1.0, f_max)
    return {"count": count, "grid_hz": grid, "rpm": round(rpm, 3), "stroke": 4, "cylinders": cylinders,
            "firing_hz": round(firing, 4)}


def _am_weights(rng, blades: int, firing: bool) -> dict:
    """Weights of a(t): shaft harmonics 1..Z, blade harmonics 1..3, optional exhaust (firing) term (§3)."""
    return {"shaft": [round(float(w), 3) for w in rng.uniform(0.1, 0.5, blades)],
            "blade": [1.0, _u(rng, 0.3, 0.7), _u(rng, 0.1, 0.4)],
            "firing": _u(rng, 0.3, 0.8) if firing else 0.0}


def _finish(rng, v: dict, *, mod_index=MOD_INDEX, roll_depth=ROLL_DEPTH, firing_am: bool = False) -> dict:
    """Cavitation flag and index, AM weights and roll; shared by every vessel type."""
    v["cavitating"] = bool(v["speed_kn"] > v["cis_kn"])
    v["mod_index"] = _u(rng, *mod_index) if v["cavitating"] else 0.0
    v["am"] = _am_weights(rng, v["blades"], firing_am)
    v["roll"] = {"f_hz": _u(rng, *ROLL_F_HZ, nd=4), "depth": _u(rng, *roll_depth),
                 "phase": _u(rng, 0.0, 2 * np.pi)}
    v["tonals"].sort(key=lambda t: (t["f_hz"], t["kind"]))
    return v


def _draw_merchant(rng, fine: str, f_max: float) -> dict:
    p = MERCHANT[fine]
    speed = _u(rng, *p["speed"])
    length = _u(rng, *_pick(rng, p["length"]), nd=1)
    rpm = _u(rng, *_pick(rng, p["rpm"]))
    blades = int(_pick(rng, p["blades"]))
    shafts = int(_pick(rng, p["shafts"]))
    spectrum = {"model": "je", "je_class": p["je"], "je_speed_kn": speed, "length_m": length, "offset_db": 0.0}
    psd_fn = lambda f: broadband_psd_db(f, spectrum)  # noqa: E731
    e = ENGINES[p["engine"]]
    engine_rpm = rpm if e["rpm"] is None else _u(rng, *e["rpm"])
    cylinders = int(rng.integers(e["cylinders"][0], e["cylinders"][1] + 1))
    csr = engine_rpm / 60.0  # crankshaft rate (physics.md §2)
    firing = (csr if e["stroke"] == 2 else csr / 2.0) * cylinders  # engine firing rate (physics.md §2)
    shaft_hz = _shaft_rates(rng, rpm, shafts)
    lines: list = []
    _propeller_lines(rng, lines, shaft_hz, blades, psd_fn, f_max, blade_excess=(8, 18), shaft_excess=(0, 8))
    _harmonics(rng, lines, "engine_firing", firing, (1, 3, 5), psd_fn, (5, 15), 0.0, f_max)  # FR, 3FR, 5FR (§2)
    gen = _generator(rng, lines, psd_fn, f_max, excess=(0, 8))
    engine = {"kind": p["engine"], "stroke": e["stroke"], "rpm": engine_rpm, "cylinders": cylinders,
              "gear_ratio": round(engine_rpm / rpm, 4), "firing_hz": round(firing, 4)}
    cis = round(float(rng.uniform(*MERCHANT_CIS_FRACTION)) * p["speed"][1], 3)
    v = {"speed_kn": speed, "length_m": length, "shaft_rpm": rpm, "shaft_hz": shaft_hz, "blades": blades,
         "shafts": shafts, "engine": engine, "generator": gen, "cis_kn": cis, "spectrum": spectrum, "tonals": lines}
    return _finish(rng, v)


def _draw_warship(rng, fine: str, f_max: float) -> dict:
    shafts = 2  # 5–7 blades × 2 shafts heuristic (labsonar; physics.md §4)
    blades = int(rng.integers(5, 8))
    v_max, rpm_max = _u(rng, *WARSHIP_V_MAX_KN), _u(rng, *WARSHIP_RPM_MAX)
    lines: list = []
    if fine == "patrol":  # design note: patrol craft 40–90 m, 10–25 kn, 3–5 blades, geared high-speed diesels
        speed, length, blades = _u(rng, 10, 25), _u(rng, 40, 90, nd=1), int(rng.integers(3, 6))
        rpm_max = _u(rng, 500, 900)
        cis = _u(rng, 12, 20)
    elif fine == "frigate_quiet":  # electric drive on towed-array patrol (Type 23; physics.md §4), up to 15 kn
        speed, length, cis = _u(rng, 5, 15), _u(rng, 110, 160, nd=1), _u(rng, *WARSHIP_CIS_KN)
    else:  # frigate_sprint: gas turbines, 24–30 kn (Type 23 > 28 kn; physics.md §4), above CIS
        speed, length, cis = _u(rng, 24, v_max), _u(rng, 110, 160, nd=1), _u(rng, *WARSHIP_CIS_KN)
    rpm = round(rpm_max * speed / v_max, 3)  # design note: fixed-pitch propeller, shaft rpm ∝ speed
    if fine == "frigate_quiet":  # BV advanced as the quiet-hull envelope (physics.md §1), 0–8 dB under it
        spectrum = {"model": "bv_advanced", "offset_db": _u(rng, -8, 0), "length_m": length}
    else:
        spectrum = {"model": "je", "je_class": "naval", "je_speed_kn": speed, "length_m": length, "offset_db": 0.0}
    psd_fn = lambda f: broadband_psd_db(f, spectrum)  # noqa: E731
    shaft_hz = _shaft_rates(rng, rpm, shafts)
    quiet = fine == "frigate_quiet"
    _propeller_lines(rng, lines, shaft_hz, blades, psd_fn, f_max,
                     blade_excess=(0, 6) if quiet else (5, 15), shaft_excess=(-3, 3) if quiet else (0, 6))
    # sound-decoupled diesel generators (Type 23, physics.md §4): weak lines when quiet
    gen = _generator(rng, lines, psd_fn, f_max, excess=(0, 6) if quiet else (3, 10), count=4)
    if fine == "frigate_quiet":
        engine = {"kind": "electric", "rpm": rpm}
    elif fine == "frigate_sprint":  # design note: gas-turbine output-shaft rate 45–60 Hz (no public lines, §2)
        gt_hz = _u(rng, 45, 60)
        _harmonics(rng, lines, "gas_turbine", gt_hz, (1, 2, 3), psd_fn, (3, 10), 1.0, f_max)
        engine = {"kind": "gas_turbine", "rpm": round(gt_hz * 60, 2), "gear_ratio": round(gt_hz * 60 / rpm, 3)}
    else:
        engine_rpm = round(min(2100.0, max(600.0, 2100.0 * speed / 25.0)), 2)  # design note: 4-stroke HSD
        cylinders = int(_pick(rng, (12, 16, 20)))
        firing = engine_rpm / 60.0 / 2.0 * cylinders  # 4-stroke firing rate (physics.md §2)
        _harmonics(rng, lines, "engine_firing", firing, (1, 2, 3), psd_fn, (5, 12), 1.0, f_max)
        engine = {"kind": "high_4s", "stroke": 4, "rpm": engine_rpm, "cylinders": cylinders,
                  "gear_ratio": round(engine_rpm / rpm, 4), "firing_hz": round(firing, 4)}
    v = {"speed_kn": speed, "length_m": length, "shaft_rpm": rpm, "shaft_hz": shaft_hz, "blades": blades,
         "shafts": shafts, "engine": engine, "generator": gen, "cis_kn": cis, "spectrum": spectrum, "tonals": lines}
    return _finish(rng, v, mod_index=(0.35, 0.6) if fine == "frigate_sprint" else MOD_INDEX)


def _draw_uuv(rng, f_max: float) -> dict:
    """BLDC-driven UUV: PWM tonal groups with sidebands at prop rotation × motor poles (JASA 148(6):3942)."""
    speed, length = _u(rng, 2, 6), _u(rng, 1.5, 6, nd=2)  # design note: no public UUV figures
    rpm, blades = _u(rng, 400, 1500), int(rng.integers(3, 8))  # design note
    poles = int(_pick(rng, (4, 6, 8, 10, 12, 14)))  # design note
    spectrum = {"model": "uuv", "detect_range_m": _u(rng, 2, 10), "length_m": length, "offset_db": 0.0}
    psd_fn = lambda f: broadband_psd_db(f, spectrum)  # noqa: E731
    shaft_hz = _shaft_rates(rng, rpm, 1)
    spacing = shaft_hz[0] * poles  # sideband spacing = prop rotation × motor poles (physics.md §2)
    lines: list = []
    _propeller_lines(rng, lines, shaft_hz, blades, psd_fn, f_max, blade_excess=(5, 15), shaft_excess=(0, 6),
                     blade_orders=3)
    for k in (1, 2, 3):  # design note: motor commutation lines
        if k * spacing < f_max:
            lines.append({"kind": "motor", "f_hz": round(k * spacing, 4), "order": k, "level_db": _u(rng, 70, 95, 2)})
    pwm = _u(rng, *UUV_PWM_HZ, nd=2)
    main = {h: _u(rng, *UUV_TONAL_DB, 2) for h in UUV_PWM_GROUPS}
    for h in range(1, UUV_PWM_MAX_HARMONIC + 1):
        centre = main[h] if h in main else min(main.values()) - _u(rng, 6, 12, 2)  # design note
        for side in (-2, -1, 0, 1, 2):
            f = h * pwm + side * spacing
            if 0 < f < f_max:
                level = centre - abs(side) * _u(rng, 3, 9, 2)  # design note: sidebands 3–9 dB per order
                lines.append({"kind": "pwm", "f_hz": round(f, 4), "order": h, "sideband": side,
                              "level_db": round(level, 2)})
    v = {"speed_kn": speed, "length_m": length, "shaft_rpm": rpm, "shaft_hz": shaft_hz, "blades": blades,
         "shafts": 1, "engine": {"kind": "bldc", "rpm": rpm, "motor_poles": poles, "pwm_hz": pwm},
         "generator": None, "cis_kn": _u(rng, 4, 8), "spectrum": spectrum, "tonals": lines}
    return _finish(rng, v, roll_depth=(0.0, 0.1))  # design note: submerged, little roll AM; CIS 4–8 kn


def _draw_usv(rng, f_max: float) -> dict:
    """Small fast craft with outboard engine(s), JE recreational (physics.md §1, §2, §4)."""
    speed, length = _u(rng, 5, 20), _u(rng, 4, 12, nd=2)  # 5–20 kn (labsonar recreational), < 25 m (§4)
    planing_kn = _u(rng, 12, 16)  # design note: planing speed
    # design note: above planing SL rises only weakly (§4): 60·log V becomes 20·log V, i.e. V_eff ∝ V^(1/3)
    je_speed = speed if speed <= planing_kn else round(planing_kn * (speed / planing_kn) ** (1 / 3), 4)
    stroke = int(_pick(rng, (2, 4)))
    cylinders = int(_pick(rng, (2, 3) if stroke == 2 else (3, 4)))  # presets 2, 3 (2-stroke), 4 (4-stroke)
    frac = (speed - 5.0) / 15.0  # design note: engine rpm rises with speed across 2700–5800
    engine_rpm = round(float(np.clip(USV_RPM[0] + frac * (USV_RPM[1] - USV_RPM[0]) + rng.normal(0, 200),
                                     *USV_RPM)), 2)
    gear = _u(rng, *USV_GEAR, nd=3)
    blades, shafts = int(_pick(rng, (3, 4))), int(_pick(rng, (1, 2)))
    spectrum = {"model": "je", "je_class": "recreational", "je_speed_kn": je_speed, "length_m": length,
                "offset_db": 0.0, "planing_kn": planing_kn}
    psd_fn = lambda f: broadband_psd_db(f, spectrum)  # noqa: E731
    csr = engine_rpm / 60.0  # crankshaft rate (physics.md §2)
    firing = (csr if stroke == 2 else csr / 2.0) * cylinders  # engine firing rate (physics.md §2)
    shaft_hz = _shaft_rates(rng, engine_rpm / gear, shafts)  # shaft = CSR / gear (physics.md §2)
    planing = speed > planing_kn
    lines: list = []
    # engine tonals dominate at low speed, propeller tonals + broadband at high speed (physics.md §4)
    _harmonics(rng, lines, "engine_firing", firing, range(1, 7), psd_fn, (3, 12) if planing else (10, 20),
               1.0, f_max)
    _harmonics(rng, lines, "crankshaft", csr, (1, 2, 3), psd_fn, (0, 8), 1.0, f_max)
    _propeller_lines(rng, lines, shaft_hz, blades, psd_fn, f_max, blade_excess=(8, 16) if planing else (3, 10),
                     shaft_excess=(0, 6), blade_orders=4)
    engine = {"kind": "outboard", "stroke": stroke, "rpm": engine_rpm, "cylinders": cylinders, "gear_ratio": gear,
              "firing_hz": round(firing, 4)}
    v = {"speed_kn": speed, "length_m": length, "shaft_rpm": round(engine_rpm / gear, 3), "shaft_hz": shaft_hz,
         "blades": blades, "shafts": shafts, "engine": engine, "generator": None, "cis_kn": _u(rng, 8, 14),
         "spectrum": spectrum, "tonals": lines}
    return _finish(rng, v, firing_am=True)  # exhaust adds modulation peaks on small boats (physics.md §3)


def draw_vessel(rng: np.random.Generator, label: str, fine_label: str | None, sample_rate: int) -> dict:
    """Draw a vessel of class ``label`` (merchant, warship, drone); fine type drawn when None.

    Every tone is kept below 0.45·fs. Returns a JSON-serialisable dict of all drawn parameters.
    """
    if label not in FINE_TYPES or label == "ambient":
        raise ValueError(f"no vessel for label {label!r}; expected merchant, warship or drone")
    fines = FINE_TYPES[label]
    drawn = str(_pick(rng, fines))  # always drawn, so a given fine_label leaves later draws unchanged
    fine = fine_label if fine_label is not None else drawn
    if fine not in fines:
        raise ValueError(f"fine type {fine!r} is not a {label}; expected one of {', '.join(fines)}")
    f_max = ANTI_ALIAS * sample_rate
    if label == "merchant":
        v = _draw_merchant(rng, fine, f_max)
    elif label == "warship":
        v = _draw_warship(rng, fine, f_max)
    else:
        v = _draw_uuv(rng, f_max) if fine == "uuv" else _draw_usv(rng, f_max)
    return {"label": label, "fine_label": fine, **v}


def _place_lines(n: int, sample_rate: int, f_hz, amp, phase) -> np.ndarray:
    """rfft spectrum of Σ amp·cos(2π f t + phase), each f rounded to the nearest bin (fs/n)."""
    spec = np.zeros(n // 2 + 1, dtype=complex)
    f_hz = np.asarray(f_hz, dtype=float)
    if f_hz.size:
        k = np.rint(f_hz * n / sample_rate).astype(int)
        ok = (k > 0) & (k < (n + 1) // 2)
        np.add.at(spec, k[ok], (np.asarray(amp)[ok] * (n / 2.0)) * np.exp(1j * np.asarray(phase)[ok]))
    return spec


def am_waveform(rng: np.random.Generator, vessel: dict, n: int, sample_rate: int) -> np.ndarray:
    """Zero-mean periodic a(t), peak |a| = 1, at shaft harmonics, blade harmonics (and firing rate) of each shaft."""
    w = vessel["am"]
    f, amp = [], []
    for fs_ in vessel["shaft_hz"]:
        f += [k * fs_ for k in range(1, len(w["shaft"]) + 1)] + [j * vessel["blades"] * fs_ for j in (1, 2, 3)]
        amp += list(w["shaft"]) + list(w["blade"])
    if w.get("firing"):
        f.append(vessel["engine"]["firing_hz"])
        amp.append(w["firing"])
    a = np.fft.irfft(_place_lines(n, sample_rate, f, amp, rng.uniform(0, 2 * np.pi, len(f))), n)
    peak = np.max(np.abs(a))
    return a / peak if peak > 0 else a


def render_source(rng: np.random.Generator, vessel: dict, n: int, sample_rate: int) -> np.ndarray:
    """Source pressure s(t) at 1 m [µPa], n samples: cavitation-modulated broadband + tonals, times roll AM.

    The AM factors are normalised to unit mean power so the broadband keeps its SL density.
    """
    f = np.fft.rfftfreq(n, 1.0 / sample_rate)
    psd = 10.0 ** (broadband_psd_db(f, vessel["spectrum"]) / 10.0)
    psd[0] = 0.0
    b = np.fft.irfft(gaussian_spectrum(rng, psd, n, sample_rate), n)
    m = vessel["mod_index"]
    if m > 0:
        a = am_waveform(rng, vessel, n, sample_rate)
        b *= (1.0 + m * a) / np.sqrt(1.0 + m * m * np.mean(a * a))
    tones = vessel["tonals"]
    amp = np.sqrt(2.0) * 10.0 ** (np.array([t["level_db"] for t in tones]) / 20.0)  # rms level -> amplitude
    s = b + np.fft.irfft(_place_lines(n, sample_rate, [t["f_hz"] for t in tones], amp,
                                      rng.uniform(0, 2 * np.pi, len(tones))), n)
    roll = vessel["roll"]
    t = np.arange(n) / sample_rate
    s *= (1.0 + roll["depth"] * np.sin(2 * np.pi * roll["f_hz"] * t + roll["phase"])) / np.sqrt(
        1.0 + 0.5 * roll["depth"] ** 2)
    return s
