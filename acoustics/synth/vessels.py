"""Fine vessel types: drawn speed, size, propulsion, tonal lines and modulation (physics.md §2–§4).

A vessel dict is JSON-serialisable. Tonal lines are ``{"kind", "f_hz", "order", "level_db", "group",
"harmonic"}``: a line with a group is the ``harmonic``-th (integer) multiple of that rotating group's
fundamental ``groups[g]["f0_hz"]`` and shares its phase, so it follows the group's ``drive`` — a slow
controllable-pitch FM (``fm``) and a random walk of rate and level (``walk``, Wales 1997). A line with group
None is a fixed tone (UUV PWM carrier). Line levels are tone powers [dB re 1 µPa @ 1 m], drawn as an excess
(``LINE_EXCESS_DB``) over the SL density of the broadband model that renders the vessel (its ``spectrum`` dict,
``source_spectra.broadband_psd_db``) at the line's frequency, so a line's level over its own continuum does not
depend on which model (JE, W–H, RANDI, ...) renders the ship. "Design note" marks a choice no source states;
figures beyond physics.md are in docs/physics_additions.md.
"""

from __future__ import annotations

import numpy as np

from uwac.acoustics.synth.source_spectra import AERIAL_BAND_HZ, WH_OFFSET_DB, broadband_psd_db

ANTI_ALIAS = 0.45  # tones only below 0.45·fs (physics.md §7 design note)
ROLL_F_HZ = (0.03, 0.5)  # rolling/pitching AM 0.03–0.5 Hz (Konson & Volkova; physics.md §3)
ROLL_DEPTH = (0.05, 1.0 / 3.0)  # up to 6 dB peak-to-peak fluctuation, (1+d)/(1-d) = 2 (Wales 1997; physics.md §3)
MOD_INDEX = (0.1, 0.6)  # cavitation AM index m (physics.md §3 design note)
CPP_FM_RATE_HZ = (0.02, 0.2)  # design note: pitch/shaft-governor loop; CPP tonals can be FM'd (Zhu 2022, §2)
CPP_FM_DEPTH = (0.01, 0.04)  # design note: relative peak deviation of the shaft rate
CPP_RPM_FRACTION = (2.0 / 3.0, 1.0)  # CPP shaft speed runs down to 2/3 of full (IMO §7.2.2; physics.md §2)
WALK_SIGMA = (0.0005, 0.003)  # design note: rms relative drift of machinery rates (Wales 1997, physics.md §2)
WALK_TAU_S = (5.0, 30.0)  # design note: drift correlation time, cf. 10–20 s motion periods (Wales 1997, §3)
WALK_LEVEL_DB = (0.5, 2.0)  # design note: rms line-level wander (Wales 1997, physics.md §2)
ROTOR_WALK_SIGMA = (0.003, 0.01)  # design note: multirotor speed control hunts more than a ship's governor
MAX_DEVIATION = 0.06  # design note: CPP depth ≤ 0.04 plus 4σ walk ≤ 0.012; modulated lines < 0.45·fs/1.06

# --- fine types (physics.md §4 unless marked design note) ---------------------------------------------------
MERCHANT = {  # speed kn, shaft rpm options, blades, shafts, length options m, JE class, engine, P(CPP), draft m
    "bulker": dict(speed=(10, 12), rpm=((50, 70), (120, 125)), blades=(4, 6), shafts=(1,),
                   length=((175, 300),), je="bulker", engine="direct_2s", cpp=0.0, draft=(10, 17)),
    "container": dict(speed=(12, 16), rpm=((50, 60), (100, 110)), blades=(6,), shafts=(1,),
                      length=((120, 200), (280, 320)), je="container", engine="direct_2s", cpp=0.0, draft=(9, 15)),
    "tanker": dict(speed=(7.5, 11.5), rpm=((135, 150),), blades=(4, 5), shafts=(1,),
                   length=((120, 140), (275, 285)), je="tanker", engine="direct_2s", cpp=0.0, draft=(8, 16)),
    "vehicle_carrier": dict(speed=(16, 20), rpm=((50, 60),), blades=(6,), shafts=(1,),
                            length=((170, 185),), je="vehicle_carrier", engine="direct_2s", cpp=0.0, draft=(8, 10)),
    "passenger": dict(speed=(15, 22), rpm=((60, 100),), blades=(4, 5, 6), shafts=(1, 2),
                      length=((100, 200),), je="passenger", engine="medium_4s", cpp=0.7, draft=(4, 7)),
    "fishing": dict(speed=(5, 12), rpm=((140, 200),), blades=(3, 4, 5), shafts=(1,),
                    length=((20, 30),), je="fishing", engine="high_4s", cpp=0.5, draft=(3, 6)),
    "tug": dict(speed=(7, 10), rpm=((220, 260),), blades=(4, 6), shafts=(1,),
                length=((30, 35),), je="tug", engine="high_4s", cpp=0.5, draft=(4, 6)),
}
# design note: P(CPP) and drafts per type (CPP on ferries, some tugs/fishing; cargo direct-drive FPP)
ENGINES = {  # design note: engine speed [rpm] and cylinder counts (direct drive per Overseas Harriette, §2)
    "direct_2s": dict(stroke=2, rpm=None, cylinders=(5, 9)),
    "medium_4s": dict(stroke=4, rpm=(500, 750), cylinders=(6, 12)),
    "high_4s": dict(stroke=4, rpm=(900, 1800), cylinders=(6, 12)),
}
MERCHANT_MODELS = ("je", "je", "wh", "randi")  # design note: JE half the time, W–H and RANDI a quarter each
MERCHANT_MODEL_NAMES = ("je", "wh", "randi")  # the merchant broadband models (physics.md §1)
MERCHANT_CIS_FRACTION = (0.55, 1.1)  # design note: CIS = fraction × the type's top speed (no public CIS, §1)
SOURCE_DEPTH_PER_DRAFT = 0.7  # design note: merchant source depth ≈ 0.7 × draft (JE assumes 6 m, §1)
GRID_HZ = (50.0, 60.0)  # generator lines 50 or 60 Hz × k (physics.md §2 design note)
SHAFT_SPLIT = (0.002, 0.02)  # design note: second shaft runs 0.2–2 % faster
WARSHIP_CIS_KN = (16.0, 22.0)  # design note: warships' CIS kept high (physics.md §1 cavitation)
WARSHIP_RPM_MAX = (160.0, 180.0)  # frigate shaft rpm 100–180 heuristic (labsonar; physics.md §4), at top speed
WARSHIP_V_MAX_KN = (28.0, 30.0)  # Type 23 > 28 kn; 25–30 max heuristic (physics.md §4)
WARSHIP_DEPTH_M = (4.0, 6.0)  # design note: warship source depth
WARSHIP_CPP = {"frigate_quiet": 0.5, "frigate_sprint": 1.0, "patrol": 1.0}  # design note; Type 23 is FPP (§4)
UUV_PWM_HZ = (5000.0, 6100.0)  # design note: ±10 % around the A18D 5.56 kHz group (physics.md §4)
UUV_PWM_GROUPS = (1, 2, 4)  # A18D groups at 5.56, 11.1, 22.2 kHz = ×1, ×2, ×4 (physics.md §4)
UUV_PWM_MAX_HARMONIC = 19  # harmonics to 105 kHz ≈ 19 × 5.56 kHz (physics.md §4)
UUV_TONAL_DB = (77.0, 120.0)  # A18D tonal PSD 77–120 dB re 1 µPa²/Hz @ 1 m, as tone power in 1 Hz (§4)
UUV_DEPTH_M = (2.0, 100.0)  # design note: UUV operating depth
USV_RPM = (2700.0, 5800.0)  # small-craft engine rpm (정영철 presets, physics.md §2)
USV_GEAR = (1.92, 2.08)  # gear ratio ≈ 2 (presets 1.92, 2.07, 2.08; physics.md §2)
USV_DEPTH_M = (0.3, 1.0)  # design note: outboard propeller depth
AERIAL_ROTOR_HZ = (60.0, 150.0)  # rotor fundamentals (Christiansen 2016; physics.md §4)
AERIAL_ROTOR_SPREAD = 0.05  # design note: ±5 % around 60 and 150 Hz across airframes and loads
AERIAL_ALTITUDE_M = (5.0, 10.0)  # altitudes with 95–101 dB re 1 µPa rms at 1 m depth (Christiansen 2016)
AERIAL_LEVEL_DB = (95.0, 101.0)  # received rms level at 1 m depth (Christiansen 2016; physics.md §4)
AERIAL_DEPTH_M = (0.5, 1.0)  # design note: near-surface equivalent source
AERIAL_LINE_FRACTION = (0.2, 0.85)  # design note: share of the power in rotor lines (rest broadband); renderer
#   0.5 widened it down from 0.6 so that weak rotor lines occur (Laute 2023 gives only the 141–17,783 Hz band level)
AERIAL_HARMONICS = 12  # design note: harmonics per rotor family
AERIAL_HARMONIC_DECAY_DB = 1.0  # design note: level decay per rotor harmonic

# --- tonal line levels (renderer 0.5) --------------------------------------------------------------------------
# Excess [dB] of an order-1 line's tone power over the vessel's own broadband SL density at the line (the density
# of the model that renders it, in 1 Hz); harmonic k then drops decay·(k − 1) dB. Ranges reach down to weak lines
# in every class, so that no class is told by strong lines alone. Figures "computed here" use physics.md §1–§2.
LINE_EXCESS_DB = {
    "merchant": {
        # Overseas Harriette (physics.md §2): blade rate 174 dB at 9.3 Hz, 14 dB over the JE bulker density (173 m,
        # 16 kn) there; Wright & Cybulski (§1): 2nd blade harmonic ~175 dB against a 167 dB continuum at 50 Hz,
        # 8 dB, with 6–8 dB model variance (computed here). Design note: 2–18 dB spans both, down to ~1σ below W&C.
        "blade": (2.0, 18.0),
        "shaft": (-4.0, 8.0),  # design note: shaft-rate harmonics weaker than blade lines, at worst under the continuum
        # Harriette places FR, 3FR, 5FR among lines of 163–185 dB; 163 dB at 10·BR = 93 Hz is 3 dB over the JE
        # density there (computed here). Design note: 0–15 dB.
        "firing": (0.0, 15.0),
        "generator": (-4.0, 8.0),  # design note: service diesel generator and grid lines (Harriette has one, §2)
    },
    "frigate_quiet": {  # design note: sound-decoupled generators, electric drive (Type 23, physics.md §4): weak lines
        "blade": (-3.0, 6.0), "shaft": (-6.0, 3.0), "generator": (-4.0, 6.0),
    },
    "warship": {  # design note: frigate_sprint and patrol (no public warship lines, physics.md Gaps)
        "blade": (0.0, 15.0), "shaft": (-4.0, 6.0), "generator": (-2.0, 10.0), "gas_turbine": (-2.0, 10.0),
        "firing": (0.0, 12.0),
    },
    "uuv": {"blade": (0.0, 15.0), "shaft": (-4.0, 6.0)},  # design note: no public UUV propeller lines (§4)
    "usv": {  # "engine tonals dominate at low speed, propeller tonals plus broadband at high speed" (physics.md §4);
        # design note: the ranges that make it so on average
        "firing": (4.0, 20.0), "firing_planing": (0.0, 12.0), "crankshaft": (-4.0, 8.0),
        "blade": (0.0, 10.0), "blade_planing": (3.0, 16.0), "shaft": (-4.0, 6.0),
    },
}
SNELL_CONE_DEG = 13.2  # air→water cone half-angle, Snell 343/1500 m/s (physics.md §4)


def _u(rng: np.random.Generator, lo: float, hi: float, nd: int = 3) -> float:
    return round(float(rng.uniform(lo, hi)), nd)


def _pick(rng: np.random.Generator, options):
    return options[int(rng.integers(0, len(options)))]


def _series(rng, lines: list, kind: str, group: str, f0: float, base: int, orders, psd_fn, excess,
            decay_db: float, f_max: float) -> None:
    """Lines at harmonic base·k of group fundamental f0 [Hz] (k in orders, below f_max [Hz]);
    level = density(f) + U(excess) − decay·(k−1) [dB]."""
    for k in orders:
        f = base * k * f0
        if f >= f_max:
            break
        level = float(psd_fn(f)) + float(rng.uniform(*excess)) - decay_db * (k - 1)
        lines.append({"kind": kind, "f_hz": round(f, 4), "order": int(k), "level_db": round(level, 2),
                      "group": group, "harmonic": int(base * k)})


def _drive(rng, *, cpp: bool, sigma=WALK_SIGMA) -> dict:
    """Shaft/engine drive modulation: CPP sine FM (rate Hz, relative depth) or None, plus a random walk."""
    fm = ({"rate_hz": _u(rng, *CPP_FM_RATE_HZ, nd=4), "depth": _u(rng, *CPP_FM_DEPTH, nd=4),
           "phase": _u(rng, 0.0, 2 * np.pi)} if cpp else None)
    walk = {"sigma": _u(rng, *sigma, nd=5), "tau_s": _u(rng, *WALK_TAU_S, nd=2),
            "level_db": _u(rng, *WALK_LEVEL_DB, nd=2)}
    return {"fm": fm, "walk": walk}


def _shafts(rng, groups: dict, rpm: float, shafts: int) -> list[float]:
    """Shaft rates f_s = rpm/60 [Hz] (physics.md §2), registered as groups shaft1.. on drive main."""
    rates = [rpm / 60.0]
    for _ in range(1, shafts):
        rates.append(rates[0] * (1.0 + float(rng.uniform(*SHAFT_SPLIT))))
    rates = [round(r, 5) for r in rates]
    for i, r in enumerate(rates):
        groups[f"shaft{i + 1}"] = {"f0_hz": r, "drive": "main"}
    return rates


def _propeller_lines(rng, lines, shaft_hz, blades, psd_fn, f_max, *, blade_excess, shaft_excess,
                     blade_orders=10) -> None:
    """Shaft-rate harmonics up to Z and blade-rate Z·f_s harmonics (physics.md §2) for every shaft; the Z-th shaft
    harmonic is the blade-rate line itself, so the shaft series stops at Z − 1 (renderer 0.4 drew it twice, with
    independent phases that could cancel the blade line)."""
    for i, fs_ in enumerate(shaft_hz):
        g = f"shaft{i + 1}"
        _series(rng, lines, f"{g}_rate", g, fs_, 1, range(1, blades), psd_fn, shaft_excess, 0.5, f_max)
        _series(rng, lines, f"{g}_blade", g, fs_, blades, range(1, blade_orders + 1), psd_fn, blade_excess,
                1.0, f_max)


def _engine(groups, *, stroke: int, rpm: float, cylinders: int, drive: str = "main", **extra) -> dict:
    """Engine dict; registers group 'engine' at the cycle rate (CSR for 2-stroke, CSR/2 for 4-stroke, §2)."""
    csr = rpm / 60.0  # crankshaft rate (physics.md §2)
    cycle = csr if stroke == 2 else csr / 2.0
    groups["engine"] = {"f0_hz": round(cycle, 6), "drive": drive}
    return {"stroke": stroke, "rpm": rpm, "cylinders": cylinders, "firing_hz": round(cycle * cylinders, 4),
            **extra}


def _generator(rng, lines, groups, psd_fn, f_max, *, excess, count: int = 1) -> dict:
    """Diesel generator(s): 4-stroke at 60·grid/pole-pairs rpm, firing lines, plus grid lines grid·k."""
    grid = float(_pick(rng, GRID_HZ))
    pole_pairs = int(rng.integers(2, 5))  # design note: 2–4 pole pairs (1500/1000/750 rpm at 50 Hz)
    cylinders = int(_pick(rng, (6, 8, 12, 16)))  # design note
    rpm = 60.0 * grid / pole_pairs
    cycle = rpm / 60.0 / 2.0  # 4-stroke cycle rate; firing = cycle × cylinders (physics.md §2)
    groups["generator"] = {"f0_hz": round(cycle, 6), "drive": "generator"}
    _series(rng, lines, "generator_firing", "generator", cycle, cylinders, (1, 2, 3), psd_fn, excess, 1.0, f_max)
    _series(rng, lines, "grid", "generator", cycle, 2 * pole_pairs, (1, 2, 3, 4), psd_fn, excess, 1.0, f_max)
    return {"count": count, "grid_hz": grid, "rpm": round(rpm, 3), "stroke": 4, "cylinders": cylinders,
            "firing_hz": round(cycle * cylinders, 4)}


def _am_weights(rng, blades: int, firing: bool) -> dict:
    """Weights of a(t): shaft harmonics 1..Z, blade harmonics 1..3, optional exhaust (firing) term (§3)."""
    return {"shaft": [round(float(w), 3) for w in rng.uniform(0.1, 0.5, blades)],
            "blade": [1.0, _u(rng, 0.3, 0.7), _u(rng, 0.1, 0.4)],
            "firing": _u(rng, 0.3, 0.8) if firing else 0.0}


def _finish(rng, v: dict, *, mod_index=MOD_INDEX, roll_depth=ROLL_DEPTH, firing_am: bool = False) -> dict:
    """Cavitation flag and index, AM weights and roll; shared by every vessel type."""
    v["cavitating"] = bool(v["cis_kn"] is not None and v["speed_kn"] > v["cis_kn"])
    v["mod_index"] = _u(rng, *mod_index) if v["cavitating"] else 0.0
    v["am"] = _am_weights(rng, v["blades"], firing_am)
    v["roll"] = {"f_hz": _u(rng, *ROLL_F_HZ, nd=4), "depth": _u(rng, *roll_depth),
                 "phase": _u(rng, 0.0, 2 * np.pi)}
    v["tonals"].sort(key=lambda t: (t["f_hz"], t["kind"]))
    return v


def _psd(spectrum: dict):
    return lambda f: broadband_psd_db(f, spectrum)


def merchant_model_choices(models=None) -> tuple[str, ...]:
    """MERCHANT_MODELS (with its weights) restricted to ``models`` (None: all); raises on unknown or no models."""
    if models is None:
        return MERCHANT_MODELS
    unknown = sorted(set(models) - set(MERCHANT_MODEL_NAMES))
    if unknown or not models:
        raise ValueError(f"unknown or no merchant models {unknown or list(models)}; expected some of "
                         f"{', '.join(MERCHANT_MODEL_NAMES)}")
    return tuple(m for m in MERCHANT_MODELS if m in set(models))


def draw_merchant(rng, fine: str, f_max: float, source_model: str | None = None, models=None) -> dict:
    """Merchant of fine type ``fine``; broadband model je / wh / randi drawn (from ``models`` only, with the
    MERCHANT_MODELS weights, when given) unless ``source_model`` fixes it."""
    choices = merchant_model_choices(models)
    p = MERCHANT[fine]
    speed = _u(rng, *p["speed"])
    length = _u(rng, *_pick(rng, p["length"]), nd=1)
    rpm = _u(rng, *_pick(rng, p["rpm"]))
    blades = int(_pick(rng, p["blades"]))
    shafts = int(_pick(rng, p["shafts"]))
    drawn_model, wh_offset = str(_pick(rng, choices)), _u(rng, *WH_OFFSET_DB, nd=2)
    model = source_model or drawn_model
    if model == "je":
        spectrum = {"model": "je", "je_class": p["je"], "je_speed_kn": speed, "length_m": length, "offset_db": 0.0}
    elif model == "wh":  # design note: W–H used as drawn (no speed/length terms, §1), per-ship offset
        spectrum = {"model": "wh", "offset_db": wh_offset, "length_m": length}
    elif model == "randi":
        spectrum = {"model": "randi", "speed_kn": speed, "length_m": length, "offset_db": 0.0}
    else:
        raise ValueError(f"unknown merchant source model {model!r}; expected je, wh or randi")
    psd_fn = _psd(spectrum)  # lines over the model that renders the ship (renderer 0.4 used JE for all three)
    ex = LINE_EXCESS_DB["merchant"]
    cpp = bool(rng.uniform() < p["cpp"])
    draft = _u(rng, *p["draft"], nd=2)
    e = ENGINES[p["engine"]]
    engine_rpm = rpm if e["rpm"] is None else _u(rng, *e["rpm"])
    cylinders = int(rng.integers(e["cylinders"][0], e["cylinders"][1] + 1))
    groups: dict = {}
    shaft_hz = _shafts(rng, groups, rpm, shafts)
    f_mod = f_max / (1 + MAX_DEVIATION)
    lines: list = []
    _propeller_lines(rng, lines, shaft_hz, blades, psd_fn, f_mod, blade_excess=ex["blade"], shaft_excess=ex["shaft"])
    engine = _engine(groups, stroke=e["stroke"], rpm=engine_rpm, cylinders=cylinders, kind=p["engine"],
                     gear_ratio=round(engine_rpm / rpm, 4))
    _series(rng, lines, "engine_firing", "engine", groups["engine"]["f0_hz"], cylinders, (1, 3, 5), psd_fn,
            ex["firing"], 0.0, f_mod)  # FR, 3FR, 5FR (physics.md §2)
    gen = _generator(rng, lines, groups, psd_fn, f_mod, excess=ex["generator"])
    cis = round(float(rng.uniform(*MERCHANT_CIS_FRACTION)) * p["speed"][1], 3)
    v = {"speed_kn": speed, "length_m": length, "draft_m": draft,
         "source_depth_m": round(SOURCE_DEPTH_PER_DRAFT * draft, 3), "source_model": model,
         "propeller": "cpp" if cpp else "fpp", "shaft_rpm": rpm, "shaft_hz": shaft_hz, "blades": blades,
         "shafts": shafts, "engine": engine, "generator": gen, "cis_kn": cis, "spectrum": spectrum,
         "groups": groups, "drives": {"main": _drive(rng, cpp=cpp), "generator": _drive(rng, cpp=False)},
         "tonals": lines}
    return _finish(rng, v)


def draw_warship(rng, fine: str, f_max: float) -> dict:
    """Frigate (quiet electric / gas-turbine sprint) or patrol craft: 5–7 blades × 2 shafts, mostly CPP."""
    shafts = 2  # 5–7 blades × 2 shafts heuristic (labsonar; physics.md §4)
    blades = int(rng.integers(5, 8))
    v_max, rpm_max = _u(rng, *WARSHIP_V_MAX_KN), _u(rng, *WARSHIP_RPM_MAX)
    if fine == "patrol":  # design note: patrol craft 40–90 m, 10–25 kn, 3–5 blades, geared high-speed diesels
        speed, length, blades = _u(rng, 10, 25), _u(rng, 40, 90, nd=1), int(rng.integers(3, 6))
        rpm_max, v_max = _u(rng, 500, 900), 25.0
        cis = _u(rng, 12, 20)
    elif fine == "frigate_quiet":  # electric drive on towed-array patrol (Type 23; physics.md §4), up to 15 kn
        speed, length, cis = _u(rng, 5, 15), _u(rng, 110, 160, nd=1), _u(rng, *WARSHIP_CIS_KN)
    else:  # frigate_sprint: gas turbines, 24–30 kn (Type 23 > 28 kn; physics.md §4), above CIS
        speed, length, cis = _u(rng, 24, v_max), _u(rng, 110, 160, nd=1), _u(rng, *WARSHIP_CIS_KN)
    cpp = bool(rng.uniform() < WARSHIP_CPP[fine])
    run_down = _u(rng, *CPP_RPM_FRACTION)
    # design note: FPP rpm ∝ speed; CPP rpm = full × max(run-down fraction, V/V_max) (2/3 of full, §2)
    rpm = round(rpm_max * (max(run_down, speed / v_max) if cpp else speed / v_max), 3)
    if fine == "frigate_quiet":  # BV advanced as the quiet-hull envelope (physics.md §1), 0–8 dB under it
        spectrum = {"model": "bv_advanced", "offset_db": _u(rng, -8, 0), "length_m": length}
    else:
        spectrum = {"model": "je", "je_class": "naval", "je_speed_kn": speed, "length_m": length, "offset_db": 0.0}
    psd_fn = _psd(spectrum)
    groups: dict = {}
    shaft_hz = _shafts(rng, groups, rpm, shafts)
    ex = LINE_EXCESS_DB["frigate_quiet" if fine == "frigate_quiet" else "warship"]
    f_mod = f_max / (1 + MAX_DEVIATION)
    lines: list = []
    _propeller_lines(rng, lines, shaft_hz, blades, psd_fn, f_mod, blade_excess=ex["blade"], shaft_excess=ex["shaft"])
    # sound-decoupled diesel generators (Type 23, physics.md §4): weak lines when quiet
    gen = _generator(rng, lines, groups, psd_fn, f_mod, excess=ex["generator"], count=4)
    if fine == "frigate_quiet":
        engine = {"kind": "electric", "rpm": rpm}
    elif fine == "frigate_sprint":  # design note: gas-turbine output-shaft rate 45–60 Hz (no public lines, §2)
        gt_hz = _u(rng, 45, 60)
        groups["gas_turbine"] = {"f0_hz": gt_hz, "drive": "main"}
        _series(rng, lines, "gas_turbine", "gas_turbine", gt_hz, 1, (1, 2, 3), psd_fn, ex["gas_turbine"], 1.0, f_mod)
        engine = {"kind": "gas_turbine", "rpm": round(gt_hz * 60, 2), "gear_ratio": round(gt_hz * 60 / rpm, 3)}
    else:
        engine_rpm = round(min(2100.0, max(600.0, 2100.0 * speed / 25.0)), 2)  # design note: 4-stroke HSD
        cylinders = int(_pick(rng, (12, 16, 20)))
        engine = _engine(groups, stroke=4, rpm=engine_rpm, cylinders=cylinders, kind="high_4s",
                         gear_ratio=round(engine_rpm / rpm, 4))
        _series(rng, lines, "engine_firing", "engine", groups["engine"]["f0_hz"], cylinders, (1, 2, 3), psd_fn,
                ex["firing"], 1.0, f_mod)
    v = {"speed_kn": speed, "length_m": length, "source_depth_m": _u(rng, *WARSHIP_DEPTH_M, nd=2),
         "source_model": spectrum["model"], "propeller": "cpp" if cpp else "fpp", "shaft_rpm": rpm,
         "shaft_hz": shaft_hz, "blades": blades, "shafts": shafts, "engine": engine, "generator": gen,
         "cis_kn": cis, "spectrum": spectrum, "groups": groups,
         "drives": {"main": _drive(rng, cpp=cpp), "generator": _drive(rng, cpp=False)}, "tonals": lines}
    return _finish(rng, v, mod_index=(0.35, 0.6) if fine == "frigate_sprint" else MOD_INDEX)


def draw_uuv(rng, f_max: float) -> dict:
    """BLDC-driven UUV: PWM tonal groups with sidebands at prop rotation × motor poles (JASA 148(6):3942)."""
    speed, length = _u(rng, 2, 6), _u(rng, 1.5, 6, nd=2)  # design note: no public UUV figures
    rpm, blades = _u(rng, 400, 1500), int(rng.integers(3, 8))  # design note
    poles = int(_pick(rng, (4, 6, 8, 10, 12, 14)))  # design note
    spectrum = {"model": "uuv", "detect_range_m": _u(rng, 2, 10), "length_m": length, "offset_db": 0.0}
    psd_fn = _psd(spectrum)
    groups: dict = {}
    shaft_hz = _shafts(rng, groups, rpm, 1)
    spacing = shaft_hz[0] * poles  # sideband spacing = prop rotation × motor poles (physics.md §2)
    f_mod = f_max / (1 + MAX_DEVIATION)
    lines: list = []
    ex = LINE_EXCESS_DB["uuv"]
    _propeller_lines(rng, lines, shaft_hz, blades, psd_fn, f_mod, blade_excess=ex["blade"], shaft_excess=ex["shaft"],
                     blade_orders=3)
    for k in (1, 2, 3):  # design note: motor commutation lines
        if k * spacing < f_mod:
            lines.append({"kind": "motor", "f_hz": round(k * spacing, 4), "order": k, "level_db": _u(rng, 70, 95, 2),
                          "group": "shaft1", "harmonic": k * poles})
    pwm = _u(rng, *UUV_PWM_HZ, nd=2)
    main = {h: _u(rng, *UUV_TONAL_DB, 2) for h in UUV_PWM_GROUPS}
    for h in range(1, UUV_PWM_MAX_HARMONIC + 1):  # design note: PWM carrier crystal-timed, a fixed tone
        centre = main[h] if h in main else min(main.values()) - _u(rng, 6, 12, 2)  # design note
        for side in (-2, -1, 0, 1, 2):
            f = h * pwm + side * spacing
            if 0 < f < f_max:
                level = centre - abs(side) * _u(rng, 3, 9, 2)  # design note: sidebands 3–9 dB per order
                lines.append({"kind": "pwm", "f_hz": round(f, 4), "order": h, "sideband": side,
                              "level_db": round(level, 2), "group": None, "harmonic": None})
    v = {"speed_kn": speed, "length_m": length, "source_depth_m": _u(rng, *UUV_DEPTH_M, nd=2),
         "source_model": "uuv", "propeller": "fpp", "shaft_rpm": rpm, "shaft_hz": shaft_hz, "blades": blades,
         "shafts": 1, "engine": {"kind": "bldc", "rpm": rpm, "motor_poles": poles, "pwm_hz": pwm},
         "generator": None, "cis_kn": _u(rng, 4, 8), "spectrum": spectrum, "groups": groups,
         "drives": {"main": _drive(rng, cpp=False)}, "tonals": lines}
    return _finish(rng, v, roll_depth=(0.0, 0.1))  # design note: submerged, little roll AM; CIS 4–8 kn


def draw_usv(rng, f_max: float) -> dict:
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
    psd_fn = _psd(spectrum)
    groups: dict = {}
    shaft_hz = _shafts(rng, groups, engine_rpm / gear, shafts)  # shaft = CSR / gear (physics.md §2)
    engine = _engine(groups, stroke=stroke, rpm=engine_rpm, cylinders=cylinders, kind="outboard", gear_ratio=gear)
    cycle = groups["engine"]["f0_hz"]
    planing = speed > planing_kn
    f_mod = f_max / (1 + MAX_DEVIATION)
    lines: list = []
    # engine tonals dominate at low speed, propeller tonals + broadband at high speed (physics.md §4)
    ex = LINE_EXCESS_DB["usv"]
    _series(rng, lines, "engine_firing", "engine", cycle, cylinders, range(1, 7), psd_fn,
            ex["firing_planing" if planing else "firing"], 1.0, f_mod)
    _series(rng, lines, "crankshaft", "engine", cycle, 1 if stroke == 2 else 2, (1, 2, 3), psd_fn, ex["crankshaft"],
            1.0, f_mod)
    _propeller_lines(rng, lines, shaft_hz, blades, psd_fn, f_mod, blade_excess=ex["blade_planing" if planing else "blade"],
                     shaft_excess=ex["shaft"], blade_orders=4)
    v = {"speed_kn": speed, "length_m": length, "source_depth_m": _u(rng, *USV_DEPTH_M, nd=2),
         "source_model": "je", "propeller": "fpp", "shaft_rpm": round(engine_rpm / gear, 3), "shaft_hz": shaft_hz,
         "blades": blades, "shafts": shafts, "engine": engine, "generator": None, "cis_kn": _u(rng, 8, 14),
         "spectrum": spectrum, "groups": groups, "drives": {"main": _drive(rng, cpp=False)}, "tonals": lines}
    return _finish(rng, v, firing_am=True)  # exhaust adds modulation peaks on small boats (physics.md §3)


def draw_aerial(rng, f_max: float) -> dict:
    """Multirotor hovering or creeping 5–10 m over the water, as a weak near-surface rotor-line source.

    Its level is already the underwater level at 1 m depth (Christiansen 2016): rotor lines at harmonics
    of ~60 and ~150 Hz plus broadband over 141–17,783 Hz (Laute 2023); heard only below the 13.2° Snell
    cone (physics.md §4), so ``footprint_radius_m`` = altitude·tan 13.2°. No underwater propeller: no CIS.
    """
    altitude = _u(rng, *AERIAL_ALTITUDE_M, nd=2)
    lo, hi = AERIAL_LEVEL_DB  # design note: level falls linearly from 101 dB at 5 m to 95 dB at 10 m
    level = round(hi - (hi - lo) * (altitude - AERIAL_ALTITUDE_M[0]) / np.ptp(AERIAL_ALTITUDE_M), 2)
    line_share = _u(rng, *AERIAL_LINE_FRACTION)
    spectrum = {"model": "aerial", "band_level_db": round(level + 10 * np.log10(1 - line_share), 3),
                "band_hz": list(AERIAL_BAND_HZ), "offset_db": 0.0}
    groups = {}
    lines: list = []
    f_mod = f_max / (1 + MAX_DEVIATION)
    for name, f0 in zip(("rotor_a", "rotor_b"), AERIAL_ROTOR_HZ, strict=True):
        groups[name] = {"f0_hz": _u(rng, f0 * (1 - AERIAL_ROTOR_SPREAD), f0 * (1 + AERIAL_ROTOR_SPREAD), 3),
                        "drive": "rotors"}
        for k in range(1, AERIAL_HARMONICS + 1):
            if k * groups[name]["f0_hz"] >= f_mod:
                break
            lines.append({"kind": name, "f_hz": round(k * groups[name]["f0_hz"], 4), "order": k,
                          "level_db": -AERIAL_HARMONIC_DECAY_DB * (k - 1), "group": name, "harmonic": k})
    rel = 10 * np.log10(sum(10 ** (t["level_db"] / 10) for t in lines))  # scale lines to their share
    for t in lines:
        t["level_db"] = round(t["level_db"] - rel + level + 10 * np.log10(line_share), 2)
    v = {"speed_kn": _u(rng, 0.0, 3.0), "length_m": _u(rng, 0.3, 1.0, 2), "altitude_m": altitude,
         "received_level_db": level, "line_share": line_share,
         "snell_cone_deg": SNELL_CONE_DEG,
         "footprint_radius_m": round(altitude * np.tan(np.radians(SNELL_CONE_DEG)), 3),
         "source_depth_m": _u(rng, *AERIAL_DEPTH_M, nd=2), "source_model": "aerial", "propeller": "rotor",
         "shaft_rpm": round(groups["rotor_a"]["f0_hz"] * 60, 2), "shaft_hz": [], "blades": 2, "shafts": 0,
         "engine": {"kind": "bldc_rotors", "rotor_hz": [g["f0_hz"] for g in groups.values()]},
         "generator": None, "cis_kn": None, "spectrum": spectrum, "groups": groups,
         "drives": {"rotors": _drive(rng, cpp=False, sigma=ROTOR_WALK_SIGMA)}, "tonals": lines}
    # design note: speed 0–3 kn (hover/creep), airframe 0.3–1 m; weak sway of the downwash, little roll AM
    return _finish(rng, v, roll_depth=(0.0, 0.1))
