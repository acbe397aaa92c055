"""Ambient continuum and distractors reproduce physics.md §5: Hodges levels, rain, shrimp, whales; seeded; fast."""

import json

import numpy as np
import pytest
from scipy.signal import hilbert, welch
from scipy.stats import kurtosis

from uwac.acoustics.synth import ambient
from uwac.acoustics.synth.events import biological, cetaceans, composition
from uwac.acoustics.synth.propagation import absorption_db_per_km, spreading_loss_db

FS = 48000  # 10 kHz < 0.45·fs
QUIET = {"shipping_level": 1, "self_noise_db": 0.0, "rain_mm_h": 0.0,
         "distractors": dict.fromkeys(composition.DISTRACTOR_NAMES)}
WIND_M_S = {0: 0.0, 2: 4.4, 4: 9.35, 6: 17.3}  # physics.md §5, wind speed per sea state


def render(env, seed=0, duration_s=4.0, fs=FS, **kw):
    n = int(duration_s * fs)
    return np.fft.irfft(ambient.ambient_spectrum(np.random.default_rng(seed), env, n, fs, **kw), n)


def third_octave_db(x, fc, fs=FS):
    """Mean density [dB re 1 µPa²/Hz] in the third-octave band around fc."""
    f, psd = welch(x, fs, nperseg=fs // 4)
    band = (f >= fc * 2 ** (-1 / 6)) & (f <= fc * 2 ** (1 / 6))
    return 10 * np.log10(np.mean(psd[band]))


def knudsen_db(f_hz, w):
    """Knudsen closed form (passiveacoustics.org, physics.md §5), f in kHz, w in m/s."""
    f = f_hz / 1000
    w34 = w**0.75
    return 44 + 28 * np.log10(1 + w34) + 19 * np.log10(f) - 18 * np.log10(f * f + (2.78 + 0.14 * w34) ** -2)


@pytest.mark.parametrize("sea_state", [0, 2, 4, 6])
@pytest.mark.parametrize("col, fc", [(4, 1000.0), (5, 10000.0)])
def test_rendered_sea_state_matches_hodges(sea_state, col, fc):
    x = render({"sea_state": sea_state, **QUIET}, seed=sea_state)
    assert third_octave_db(x, fc) == pytest.approx(ambient.HODGES_SEA_STATE_DB[sea_state][col], abs=3.0)


@pytest.mark.parametrize("sea_state", [0, 2, 4, 6])
@pytest.mark.parametrize("f_hz", [1000.0, 10000.0])
def test_hodges_table_agrees_with_knudsen(sea_state, f_hz):
    model = float(ambient.sea_state_psd_db(f_hz, sea_state))
    assert model == pytest.approx(knudsen_db(f_hz, WIND_M_S[sea_state]), abs=3.0)


def test_rain_10_mm_h_matches_hodges_at_1khz():
    x = render({"sea_state": 0, **QUIET, "rain_mm_h": 10.0})
    assert third_octave_db(x, 1000.0) == pytest.approx(66.0, abs=3.0)  # Hodges rain 10 mm/h, 1 kHz


def test_rain_table_interpolation():
    f = ambient.HODGES_RAIN_F_HZ
    for rate, row in zip(ambient.HODGES_RAIN_RATES_MM_H, ambient.HODGES_RAIN_DB, strict=True):
        np.testing.assert_allclose(ambient.rain_psd_db(f, rate), row, atol=1e-9)
    mid = ambient.rain_psd_db(f, 30.0)
    assert np.all(mid > ambient.HODGES_RAIN_DB[2]) and np.all(mid < ambient.HODGES_RAIN_DB[3])
    # between table columns: linear in log f (3162 Hz is halfway from 1 to 10 kHz in log f)
    assert float(ambient.rain_psd_db(np.sqrt(1e7), 10.0)) == pytest.approx((66.0 + 59.7) / 2)


def shrimp_env(level=25.0):
    d = dict.fromkeys(composition.DISTRACTOR_NAMES)
    d["shrimp"] = {"level_20khz_db": level, "rate_per_s": 500.0, "tail_index": 1.6}
    # no breaking-wave bursts (surface_noise.py): the kurtosis checks below are about the snaps alone
    return {"sea_state": 2, **QUIET, "distractors": d, "sea_surface": {"near_share": 0.0}}


def high_pass(x, fs=FS, lo=3000.0):
    spec = np.fft.rfft(x)
    spec[np.fft.rfftfreq(x.size, 1 / fs) < lo] = 0
    return np.fft.irfft(spec, x.size)


def test_shrimp_is_heavy_tailed_at_its_level_in_shallow_water():
    env = shrimp_env()
    x = render(env, water_depth_m=20.0)
    assert env["distractor_events"]["shrimp"]["active"]
    assert kurtosis(high_pass(x), fisher=False) > 30  # Gaussian: 3
    expected = float(ambient.sea_state_psd_db(20000.0, 2)) + 25.0  # +25 dB over sea state 2 at 20 kHz
    assert third_octave_db(x, 20000.0) == pytest.approx(expected, abs=3.0)


def test_shrimp_absent_in_deep_water():
    env = shrimp_env()
    x = render(env, water_depth_m=200.0)
    assert not env["distractor_events"]["shrimp"]["active"]
    assert kurtosis(high_pass(x), fisher=False) == pytest.approx(3.0, abs=0.2)
    assert third_octave_db(x, 20000.0) < float(ambient.sea_state_psd_db(20000.0, 2)) + 3.0


def fin_params(**kw):
    return {"range_m": 10000.0, "sl_db": 189.0, "interval_s": 20.0, "pulse_s": 1.5, "f_hi_hz": 30.0,
            "f_lo_hz": 18.0, **kw}


def test_fin_whale_pulse_sweeps_down_within_15_to_40_hz():
    fs, n = 1000, 40000
    x, rec = cetaceans.render_fin_whale(np.random.default_rng(3), fin_params(), n, fs, 100.0)
    t0 = rec["t_s"][0]
    i0, i1 = int(t0 * fs), int((t0 + 1.5) * fs)
    core = slice(i0 + (i1 - i0) // 5, i1 - (i1 - i0) // 5)  # away from the Hann ends
    inst_f = np.diff(np.unwrap(np.angle(hilbert(x)[core]))) * fs / (2 * np.pi)
    assert np.all((inst_f > 15) & (inst_f < 40))
    q = inst_f.size // 4
    assert inst_f[:q].mean() > inst_f[-q:].mean() + 3  # downsweep
    # rms over the pulse is the received level SL − TL
    rms_db = 10 * np.log10(np.mean(x[i0:i1] ** 2))
    assert rms_db == pytest.approx(rec["received_db"], abs=0.3)
    tl = float(spreading_loss_db(10000.0, 100.0) + absorption_db_per_km(24.0, depth_m=50.0) * 10.0)
    assert rec["received_db"] == pytest.approx(189.0 - tl, abs=0.01)
    assert np.all(np.diff(rec["t_s"]) > 17 * 0.95)


def test_drawn_distractor_parameters_stay_in_their_published_ranges():
    for seed in range(300):
        d = composition.draw_distractors(np.random.default_rng(seed))
        if d["fin_whale"]:
            p = d["fin_whale"]
            assert 15 <= p["f_lo_hz"] < p["f_hi_hz"] <= 40 and 1 <= p["pulse_s"] <= 2
            assert 17 <= p["interval_s"] <= 40 and abs(p["sl_db"] - 189) <= 2 * 5.8 + 1e-9
        if d["blue_whale"]:
            p = d["blue_whale"]
            assert 10 <= p["f_end_hz"] <= p["f_start_hz"] <= 40 and 10 <= p["call_s"] <= 30
        if d["humpback"]:
            assert 151 <= d["humpback"]["sl_max_db"] <= 173


def test_humpback_units_within_peak_range_and_below_0_45_fs():
    fs, n = 8000, 8000 * 30
    x, rec = cetaceans.render_humpback(np.random.default_rng(1), {"range_m": 2000.0, "sl_max_db": 165.0},
                                         n, fs, 100.0)
    assert rec["units"]
    for u in rec["units"]:
        assert 52 <= u["f_start_hz"] <= 3877 and max(u["f_start_hz"], u["f_end_hz"]) < 0.45 * fs
        assert 138 <= u["sl_db"] <= 173
        assert 0.15 <= u["dur_s"] <= 8.0 and 1 <= u["harmonics"] <= 12  # K. Payne 2000; design note
    f, psd = welch(x, fs, nperseg=2048)
    assert psd[f > 0.45 * fs].max() < 1e-6 * psd.max()


def test_draw_fractions_match_design_notes():
    envs = [ambient.draw_ambient(np.random.default_rng(s)) for s in range(3000)]
    assert np.mean([e["rain_mm_h"] > 0 for e in envs]) == pytest.approx(ambient.RAIN_FRACTION, abs=0.03)
    for name, frac in [("shrimp", biological.SHRIMP_BED_FRACTION), ("fin_whale", cetaceans.FIN_FRACTION),
                       ("blue_whale", cetaceans.BLUE_FRACTION), ("humpback", cetaceans.HUMPBACK_FRACTION)]:
        assert np.mean([e["distractors"][name] is not None for e in envs]) == pytest.approx(frac, abs=0.03)


def all_present_env(seed=0):
    env = ambient.draw_ambient(np.random.default_rng(seed))
    for s in range(1000):
        d = composition.draw_distractors(np.random.default_rng(s))
        if all(d.values()):
            env["distractors"], env["rain_mm_h"] = d, 10.0
            return env
    raise AssertionError("no seed draws every distractor")


def test_same_seed_same_output_and_record_is_json():
    outs = []
    for _ in range(2):
        env = all_present_env()
        spec = ambient.ambient_spectrum(np.random.default_rng(7), env, 16000 * 5, 16000, water_depth_m=30.0)
        outs.append((spec, json.dumps(env, sort_keys=True)))
    assert np.array_equal(outs[0][0], outs[1][0]) and outs[0][1] == outs[1][1]
    events = json.loads(outs[0][1])["distractor_events"]
    assert set(events) == set(composition.DISTRACTOR_NAMES) and events["shrimp"]["active"]
    other = ambient.ambient_spectrum(np.random.default_rng(8), all_present_env(), 16000 * 5, 16000)
    assert not np.array_equal(other, outs[0][0])


def test_record_goes_to_the_given_dict_and_old_env_still_renders():
    env = {"sea_state": 3, "shipping_level": 2, "self_noise_db": 30.0}  # no rain/distractor keys
    record = {}
    spec = ambient.ambient_spectrum(np.random.default_rng(0), env, 1000, 16000, record=record)
    assert spec.shape == (501,) and spec[0] == 0 and record["distractor_events"] == {}
    assert set(record) == {"distractor_events", "sea_surface"} and not {"distractor_events", "sea_surface"} & set(env)
