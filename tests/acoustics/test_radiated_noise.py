"""Vessel source models: the broadband formulas of physics.md §1, fine types of §4, tonals and modulation."""

import copy
import json

import numpy as np
import pytest
from scipy.signal import hilbert

from uwac.acoustics.synth import radiated_noise
from uwac.acoustics.synth.source_spectra import (
    broadband_psd_db,
    randi_df_db,
    randi_sl_density_db,
    wh_sl_density_db,
)
from uwac.acoustics.synth.vessels import LINE_EXCESS_DB, MAX_DEVIATION, MERCHANT, SNELL_CONE_DEG
from uwac.acoustics.taxonomy import FINE_TYPES

VESSEL_TYPES = [(label, fine) for label, fines in FINE_TYPES.items() if label != "ambient" for fine in fines]


def draw(label, fine, seed=0, fs=16000, **kw):
    return radiated_noise.draw_vessel(np.random.default_rng(seed), label, fine, fs, **kw)


# --- broadband models ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("f, want", [(50, 169.024), (100, 158.450), (1000, 131.208)])
def test_wales_heitmeyer_matches_hand_values(f, want):
    # 230 − 35.94·log f + 9.17·log(1 + (f/340)²): e.g. 100 Hz: 230 − 71.88 + 9.17·0.03604 = 158.450
    assert float(wh_sl_density_db(f)) == pytest.approx(want, abs=0.01)


@pytest.mark.parametrize("f, want", [(20, 176.489), (100, 164.687), (300, 147.621), (1000, 134.812)])
def test_randi_matches_hand_values(f, want):
    # V = 15 kn, L = 200 m = 656.2 ft: 60·log(15/12) = 5.815, 20·log(656.2/300) = 6.799, dl = 656.2^1.15/3643
    # = 0.4765; at 100 Hz Ls0 = 147.759, df = 22.3 − 19.54 = 2.760 -> 147.759 + 5.815 + 6.799 + 1.315 + 3
    assert float(randi_sl_density_db(f, 15.0, 200.0)) == pytest.approx(want, abs=0.01)


def test_randi_df_term_is_the_m_file_version():
    assert float(randi_df_db(10)) == pytest.approx(8.1)
    assert float(randi_df_db(28.4)) == pytest.approx(8.1, abs=0.01)  # continuous at 28.4 Hz
    assert float(randi_df_db(191.6)) == pytest.approx(0.0, abs=0.01)  # and at 191.6 Hz
    assert float(randi_df_db(500)) == 0.0


def test_model_slopes():
    randi = randi_sl_density_db(np.array([1000.0, 10000.0]), 12.0, 91.44)
    assert randi[1] - randi[0] == pytest.approx(-18.0, abs=1e-9)  # −18 dB/decade above 500 Hz
    wh = wh_sl_density_db(np.array([3400.0, 34000.0]))
    assert wh[1] - wh[0] == pytest.approx(-17.6, abs=0.1)  # about −17.6 dB/decade above ~340 Hz
    low = wh_sl_density_db(np.array([3.4, 34.0]))
    assert low[1] - low[0] == pytest.approx(-36.0, abs=0.2)  # about −36 dB/decade below


@pytest.mark.parametrize("model", ["je", "wh", "randi"])
def test_merchant_source_model_is_told_or_drawn_and_recorded(model):
    v = draw("merchant", "container", source_model=model)
    assert v["source_model"] == v["spectrum"]["model"] == model
    f = np.array([100.0])
    if model == "wh":
        assert float(broadband_psd_db(f, v["spectrum"])[0]) == pytest.approx(
            158.450 + v["spectrum"]["offset_db"], abs=0.01)
    told = {draw("merchant", "bulker", seed=s)["source_model"] for s in range(40)}
    assert told == {"je", "wh", "randi"}
    with pytest.raises(ValueError):
        draw("merchant", "bulker", source_model="ross")


# --- fine types, serialisation, anti-aliasing ---------------------------------------------------------------
@pytest.mark.parametrize("label, fine", VESSEL_TYPES)
def test_every_fine_type_renders_finite_and_serialises(label, fine):
    v = draw(label, fine, seed=3)
    json.dumps(v, allow_nan=False)
    s = radiated_noise.render_source(np.random.default_rng(1), v, 16000, 16000)
    assert s.shape == (16000,) and np.all(np.isfinite(s)) and np.std(s) > 0
    depth = v["source_depth_m"]
    ranges = {"warship": (4, 6), "uuv": (2, 100), "usv": (0.3, 1), "aerial": (0.5, 1)}
    lo, hi = ranges.get(fine, ranges.get(label, (0.7 * 3, 0.7 * 17)))
    assert lo <= depth <= hi


def test_aerial_is_a_drone_fine_type():
    assert "aerial" in FINE_TYPES["drone"]


@pytest.mark.parametrize("fs", [8000, 16000, 48000])
def test_all_tones_stay_below_0_45_fs(fs):
    for label, fine in VESSEL_TYPES:
        for seed in range(4):
            v = draw(label, fine, seed=seed, fs=fs)
            for t in v["tonals"]:
                peak = t["f_hz"] * (1 + MAX_DEVIATION) if t["group"] else t["f_hz"]
                assert 0 < peak < 0.45 * fs, (fine, t)
                if t["group"]:
                    assert t["f_hz"] == pytest.approx(t["harmonic"] * v["groups"][t["group"]]["f0_hz"], abs=1e-3)


def test_same_seed_same_output():
    v = draw("warship", "frigate_sprint", seed=7)
    a = radiated_noise.render_source(np.random.default_rng(5), v, 32000, 16000)
    b = radiated_noise.render_source(np.random.default_rng(5), copy.deepcopy(v), 32000, 16000)
    assert np.array_equal(a, b) and v == draw("warship", "frigate_sprint", seed=7)


# --- controllable-pitch FM ----------------------------------------------------------------------------------
def one_line(v, kind="shaft1_blade", fs=4000):
    """Keep one order-1 line of ``kind``, silence broadband, AM, roll and level wander."""
    v = copy.deepcopy(v)
    v["tonals"] = [t for t in v["tonals"] if t["kind"] == kind and t["order"] == 1]
    v["spectrum"]["offset_db"] = -400.0
    v["mod_index"], v["roll"]["depth"] = 0.0, 0.0
    for d in v["drives"].values():
        d["walk"]["level_db"] = 0.0
    return v


def inst_freq_swing(v, seconds=12.0, fs=4000):
    """Peak-to-peak instantaneous frequency [Hz] of the rendered signal, 1 s trimmed at each end."""
    s = radiated_noise.render_source(np.random.default_rng(0), v, int(seconds * fs), fs)
    phase = np.unwrap(np.angle(hilbert(s)))
    f = np.diff(phase) * fs / (2 * np.pi)
    f = np.convolve(f, np.ones(fs // 2) / (fs // 2), mode="same")[fs:-fs]  # 0.5 s mean: −1.6 % at 0.2 Hz
    return f.max() - f.min(), f.mean()


@pytest.mark.parametrize("depth", [0.01, 0.03])
def test_cpp_propeller_line_is_frequency_modulated_with_the_drawn_depth(depth):
    v = draw("warship", "frigate_sprint", seed=1)
    assert v["propeller"] == "cpp" and v["drives"]["main"]["fm"] is not None
    v = one_line(v)
    v["drives"]["main"]["fm"].update(rate_hz=0.2, depth=depth, phase=0.0)
    v["drives"]["main"]["walk"]["sigma"] = 0.0
    f0 = v["tonals"][0]["f_hz"]
    swing, mean = inst_freq_swing(v)
    assert mean == pytest.approx(f0, rel=0.01)
    assert swing == pytest.approx(2 * depth * f0, rel=0.15)


def test_fixed_pitch_lines_only_wander():
    for seed in range(20):
        v = draw("merchant", "bulker", seed=seed)
        assert v["propeller"] == "fpp" and v["drives"]["main"]["fm"] is None
    sigma = v["drives"]["main"]["walk"]["sigma"]
    swing, _ = inst_freq_swing(one_line(v))
    f0 = one_line(v)["tonals"][0]["f_hz"]
    assert swing < 8 * sigma * f0 + 0.02  # slow walk only (Wales 1997), no CPP FM
    assert any(draw("merchant", "passenger", seed=s)["propeller"] == "cpp" for s in range(10))


# --- cavitation AM (DEMON) ----------------------------------------------------------------------------------
def demon_peak_ratio(v, fs=16000, seconds=8.0):
    """Envelope spectrum of the 2–6 kHz band: its value at the blade rate over its median in 0.5–40 Hz."""
    n = int(seconds * fs)
    s = radiated_noise.render_source(np.random.default_rng(3), v, n, fs)
    spec = np.fft.rfft(s)
    f = np.fft.rfftfreq(n, 1 / fs)
    spec[(f < 2000) | (f > 6000)] = 0
    env = np.abs(hilbert(np.fft.irfft(spec, n))) ** 2
    env = env.reshape(-1, 40).mean(axis=1)  # 400 Hz envelope rate
    e = np.abs(np.fft.rfft((env - env.mean()) * np.hanning(env.size))) ** 2
    fe = np.fft.rfftfreq(env.size, 40 / fs)
    blade = v["blades"] * v["shaft_hz"][0]
    band = (fe > 0.5) & (fe < 40)
    at = e[np.abs(fe - blade) < 0.3].max()
    return at / np.median(e[band])


def test_cavitation_am_only_above_inception_speed():
    below = next(v for s in range(50) if not (v := draw("merchant", "bulker", seed=s))["cavitating"])
    above = next(v for s in range(50) if (v := draw("merchant", "bulker", seed=s))["cavitating"]
                 and v["mod_index"] > 0.3)
    assert below["mod_index"] == 0.0 and below["speed_kn"] <= below["cis_kn"]
    assert above["speed_kn"] > above["cis_kn"]
    assert demon_peak_ratio(below) < 10  # flat DEMON
    assert demon_peak_ratio(above) > 30  # blade-rate line


# --- aerial drone -------------------------------------------------------------------------------------------
def test_aerial_drone_rotor_lines_and_level():
    fs = 48000
    for seed in range(5):
        v = draw("drone", "aerial", seed=seed, fs=fs)
        assert v["cis_kn"] is None and v["mod_index"] == 0.0
        assert 5 <= v["altitude_m"] <= 10 and 95 <= v["received_level_db"] <= 101
        assert v["footprint_radius_m"] == pytest.approx(v["altitude_m"] * np.tan(np.radians(SNELL_CONE_DEG)), abs=1e-3)
        f0 = sorted(g["f0_hz"] for g in v["groups"].values())
        assert f0[0] == pytest.approx(60, rel=0.05) and f0[1] == pytest.approx(150, rel=0.05)
    n = 4 * fs
    s = radiated_noise.render_source(np.random.default_rng(0), v, n, fs)
    level = 10 * np.log10(np.mean(s**2))
    assert v["received_level_db"] - 1.0 < level < v["received_level_db"] + 1.5
    p = np.abs(np.fft.rfft(s)) ** 2
    f = np.fft.rfftfreq(n, 1 / fs)
    for g in v["groups"].values():
        for k in (1, 2, 3):
            # rotor speed wanders (Wales 1997 line variability), so a harmonic spreads over ±k·wander
            width = max(2.0, 0.01 * k * g["f0_hz"])
            near = np.abs(f - k * g["f0_hz"]) < width
            ring = (np.abs(f - k * g["f0_hz"]) > width + 5) & (np.abs(f - k * g["f0_hz"]) < width + 20)
            assert p[near].mean() > 10 * np.median(p[ring])


# --- line levels over the rendering model (renderer 0.5) ----------------------------------------------------
MERCHANT_FAMILY = {"shaft1_rate": "shaft", "shaft2_rate": "shaft", "shaft1_blade": "blade", "shaft2_blade": "blade",
                   "engine_firing": "firing", "generator_firing": "generator", "grid": "generator"}


def line_excess(v):
    """(family, order, level over the vessel's own broadband SL density at the line [dB]) per tonal."""
    return [(MERCHANT_FAMILY[t["kind"]], t["order"], t["level_db"] - float(broadband_psd_db(t["f_hz"], v["spectrum"])))
            for t in v["tonals"]]


@pytest.mark.parametrize("model", ["je", "wh", "randi"])
def test_merchant_line_levels_are_drawn_over_the_model_that_renders_the_ship(model):
    for fine in MERCHANT:
        for seed in range(4):
            v = draw("merchant", fine, seed=seed, source_model=model)
            assert v["spectrum"]["model"] == model
            rows = line_excess(v)
            assert rows
            for family, order, excess in rows:
                lo, hi = LINE_EXCESS_DB["merchant"][family]
                assert excess <= hi + 0.01, (fine, family, order, excess)
                if order == 1:
                    assert excess >= lo - 0.01, (fine, family, excess)
            # the same seed draws the same excesses whatever model renders the ship
            other = draw("merchant", fine, seed=seed, source_model="je")
            np.testing.assert_allclose([r[2] for r in rows], [r[2] for r in line_excess(other)], atol=0.02)


def test_weak_lines_occur_in_every_class():
    """Order-1 lines within 3 dB of their own continuum come up in every vessel class (none is told by strong lines)."""
    for label, fines in FINE_TYPES.items():
        if label == "ambient":
            continue
        weak = 0
        for fine in fines:
            if fine == "aerial":
                continue
            for seed in range(20):
                v = draw(label, fine, seed=seed)
                weak += sum(1 for t in v["tonals"] if t.get("group") and t["order"] == 1 and t["kind"] != "motor"
                            and t["level_db"] - float(broadband_psd_db(t["f_hz"], v["spectrum"])) < 3.0)
        assert weak >= 5, label
    for table in LINE_EXCESS_DB.values():
        assert all(lo <= 4.0 and lo < hi for lo, hi in table.values())


def test_blade_line_is_not_doubled_by_the_zth_shaft_harmonic():
    for seed in range(20):
        v = draw("merchant", "bulker", seed=seed)
        orders = [t["order"] for t in v["tonals"] if t["kind"] == "shaft1_rate"]
        assert orders == list(range(1, v["blades"]))


def test_coincident_lines_of_one_drive_add_in_power():
    """A firing line at the blade rate (direct drive, as many cylinders as blades) adds its power to the blade line,
    whatever the phases."""
    fs, n = 2000, 2000 * 20
    v = one_line(draw("merchant", "bulker", seed=3), fs=fs)
    blade = v["tonals"][0]
    v["groups"]["engine"] = {"f0_hz": v["groups"]["shaft1"]["f0_hz"], "drive": "main"}
    v["tonals"].append({**blade, "kind": "engine_firing", "group": "engine", "level_db": blade["level_db"] - 3.0})
    v["roll"]["depth"] = 0.0
    want = 10 * np.log10(10 ** (blade["level_db"] / 10) + 10 ** ((blade["level_db"] - 3.0) / 10))
    for seed in range(4):
        s = radiated_noise.render_source(np.random.default_rng(seed), v, n, fs)
        assert 10 * np.log10(np.mean(s**2)) == pytest.approx(want, abs=0.3)


def test_merchant_models_restrict_the_drawn_model_and_keep_the_other_draws():
    both = {draw("merchant", "bulker", seed=s, merchant_models=("je", "wh"))["source_model"] for s in range(40)}
    assert both == {"je", "wh"}
    assert {draw("merchant", "tanker", seed=s, merchant_models=["randi"])["source_model"] for s in range(10)} == {"randi"}
    for s in range(10):
        assert draw("merchant", "container", seed=s, merchant_models=("randi", "wh", "je")) == draw("merchant",
                                                                                                 "container", seed=s)
    with pytest.raises(ValueError):
        draw("merchant", "bulker", merchant_models=("ross",))
    with pytest.raises(ValueError):
        draw("merchant", "bulker", merchant_models=())
    assert draw("warship", "patrol", merchant_models=("je",)) == draw("warship", "patrol")
