"""Confusers (issue 8): each renders what its figures say, inside the band, at its stated level; they occur at
the same rates whatever the label, and are fixed by the seed."""

import json

import numpy as np
import pytest
from scipy.signal import hilbert, periodogram, welch

from uwac.acoustics.synth.events import at_hydrophone, cetaceans, common, man_made
from uwac.acoustics.synth.events import composition as C
from uwac.acoustics.synth.propagation import absorption_db_per_km, spreading_loss_db
from uwac.acoustics.synth.scene import render_components, render_recording

FS = 16000
WATER = {"water_depth_m": 100.0, "receiver_depth_m": 50.0}  # mid-water absorption as in physics.md §6


def drawn(name, fs=FS, seed=0, **over):
    return {**C.CONFUSER_DRAWS[name](np.random.default_rng(seed), fs), **over}


def render(name, p, seconds, fs=FS, seed=1, water=WATER):
    return C.CONFUSER_RENDERS[name](np.random.default_rng(seed), p, int(seconds * fs), fs, water)


def tl_db(f_hz, r_m, h_m=100.0):
    """TL as physics.md §6 states it (spreading + Francois–Garrison at 10 °C, 35 ppt, mid-water, pH 8)."""
    return float(spreading_loss_db(r_m, h_m) + absorption_db_per_km(f_hz, depth_m=h_m / 2) * r_m / 1000)


def rms_db(x):
    return 10 * np.log10(np.mean(np.asarray(x, dtype=float) ** 2))


def band_db(x, fs, lo, hi):
    """Power [dB] of x in lo <= f < hi (Parseval)."""
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(x.size, 1 / fs)
    return 10 * np.log10(2 * np.sum(np.abs(spec[(f >= lo) & (f < hi)]) ** 2) / x.size**2 + 1e-300)


def test_cw_ping_has_its_level_in_band_and_a_decaying_reverberation_tail():
    p = drawn("active_sonar", kind="cw", f_start_hz=3000.0, f_end_hz=3000.0, pulse_s=1.0, interval_s=30.0,
              sl_db=225.0, t60_s=2.0, reverb_below_db=10.0, range_m=20000.0)
    x, rec = render("active_sonar", p, 40.0)
    t0 = rec["t_s"][0]  # < 30 s: the pulse and 2.2 s of tail lie in the clip
    i0 = int(t0 * FS)
    pulse = x[i0 + FS // 10: i0 + 9 * FS // 10]
    assert rec["received_db"] == pytest.approx(225.0 - tl_db(3000.0, 20000.0), abs=0.01)
    assert rms_db(pulse) == pytest.approx(rec["received_db"], abs=0.6)  # the pulse, + the reverb 10 dB under
    assert band_db(pulse, FS, 2900, 3100) > band_db(pulse, FS, 500, 2500) + 40  # energy in its band
    end = i0 + FS
    tail = [rms_db(x[end + int(a * FS): end + int((a + 0.2) * FS)]) for a in (0.05, 0.5, 1.0)]
    assert tail[0] == pytest.approx(rec["received_db"] - 10.0 - 60 / 2.0 * 0.15, abs=2.0)
    assert tail[0] - tail[2] == pytest.approx(60 / 2.0 * 0.95, abs=3.0)  # T60 = 2 s: 30 dB per second
    assert tail[0] > tail[1] > tail[2]
    if i0 > 1000:
        assert np.abs(x[: i0 - 600]).max() < 1e-6 * np.abs(x).max()  # silent before the ping


def test_lfm_ping_sweeps_linearly():
    p = drawn("active_sonar", kind="lfm", f_start_hz=2000.0, f_end_hz=2800.0, pulse_s=1.0, interval_s=30.0,
              reverb_below_db=60.0, range_m=20000.0)
    x, rec = render("active_sonar", p, 32.0)
    i0 = int(rec["t_s"][0] * FS)
    core = slice(i0 + FS // 10, i0 + 9 * FS // 10)
    inst = np.diff(np.unwrap(np.angle(hilbert(x)[core]))) * FS / (2 * np.pi)
    slope, mid = np.polyfit(np.arange(inst.size) / FS - 0.4, inst, 1)
    assert slope == pytest.approx(800.0, rel=0.03) and mid == pytest.approx(2400.0, abs=10.0)


@pytest.mark.parametrize("mains", [50.0, 60.0])
def test_mains_hum_is_at_the_grid_frequency_and_its_harmonics(mains):
    p = drawn("mains_hum", f_hz=mains + 0.05, mains_hz=mains, level_db=90.0)
    x, rec = render("mains_hum", p, 4.0)
    t = np.arange(x.size) / FS
    assert rec["harmonics"] == list(range(1, 11))

    def tone_db(f):  # rms level of the component at f (least-squares projection)
        a = 2 * np.abs(np.mean(x * np.exp(-2j * np.pi * f * t)))
        return 20 * np.log10(a / np.sqrt(2) + 1e-300)

    f = p["f_hz"]
    for k in (1, 2, 3, 5):
        assert tone_db(k * f) == pytest.approx(90.0 - p["harmonic_below_db"][k - 1], abs=0.3)
    assert tone_db(1.5 * f) < tone_db(f) - 40
    assert rms_db(x) == pytest.approx(10 * np.log10(sum(10 ** ((90 - d) / 10) for d in p["harmonic_below_db"])),
                                      abs=0.3)


def autocorr(e):
    """Autocorrelation of e minus its mean at lags 0, 1, ... (FFT)."""
    e = e - e.mean()
    spec = np.fft.rfft(e, 2 * e.size)
    return np.fft.irfft(np.abs(spec) ** 2)[: e.size]


def onsets(x, fs, rel_db=-20.0):
    """Times [s] where the Hilbert envelope first rises above rel_db of its maximum."""
    env = np.abs(hilbert(x))
    above = env > env.max() * 10 ** (rel_db / 20)
    return np.flatnonzero(np.diff(above.astype(int)) == 1) / fs


def test_pinger_tones_come_every_interval_at_their_level():
    p = drawn("fishing_pinger", family="2.5-3khz", f_hz=2700.0, pulse_s=0.3, interval_s=4.0, sl_db=140.0,
              count=1, ranges_m=[500.0])
    x, rec = render("fishing_pinger", p, 30.0)
    (unit,) = rec["pingers"]
    t = onsets(x, FS)
    assert len(t) == unit["n_pulses"] >= 7
    np.testing.assert_allclose(np.diff(t), 4.0, atol=0.002)
    ac = autocorr(np.abs(hilbert(x))[::40])
    lag = (np.argmax(ac[int(2 * FS / 40):]) + int(2 * FS / 40)) * 40 / FS  # autocorrelation after 2 s
    assert lag == pytest.approx(4.0, abs=0.01)
    i0 = int(round(t[0] * FS))
    assert rms_db(x[i0: i0 + int(0.3 * FS)]) == pytest.approx(140.0 - tl_db(2700.0, 500.0), abs=0.5)
    assert unit["received_db"] == pytest.approx(140.0 - tl_db(2700.0, 500.0), abs=0.01)


def test_10_khz_pinger_only_where_the_band_holds_it():
    assert all(drawn("fishing_pinger", 16000, s)["family"] == "2.5-3khz" for s in range(50))
    fams = {drawn("fishing_pinger", 48000, s)["family"] for s in range(50)}
    assert fams == {"10khz", "2.5-3khz"}


def test_echosounder_pulse_train_in_the_3_5_to_12_khz_band():
    for fs in (16000, 32000, 48000):
        for s in range(100):
            p = drawn("echosounder", fs, s)
            assert 3500 <= p["f_start_hz"] <= p["f_end_hz"] <= min(12000, 0.405 * fs) + 1e-6
    assert drawn("echosounder", 8000)["f_start_hz"] is None  # 3.5 kHz is above 0.405·8 kHz: nothing to hear
    assert render("echosounder", drawn("echosounder", 8000), 1.0, fs=8000)[1] == {"audible": False}
    p = drawn("echosounder", kind="cw", f_start_hz=4000.0, f_end_hz=4000.0, pulse_s=0.01, interval_s=0.5,
              range_m=1000.0, bottom_below_db=30.0)
    x, rec = render("echosounder", p, 6.0)
    t = onsets(x, FS)
    assert len(t) == rec["n_pings"] and np.allclose(np.diff(t), 0.5, atol=0.001)
    assert band_db(x, FS, 3800, 4200) > band_db(x, FS, 100, 3500) + 30


def test_explosion_has_its_peak_level_and_a_bubble_pulse_at_the_willis_period():
    assert man_made.bubble_period_s(0.0023, 1.0) == pytest.approx(2.11 * 0.0023 ** (1 / 3) / 11.1 ** (5 / 6))
    assert 0.03 < man_made.bubble_period_s(0.0023, 1.0) < 0.05  # a seal bomb: ~40 ms
    p = drawn("explosion", charge_kg=0.5, depth_m=50.0, sl_peak_db=210.0, count=1, range_m=100.0)
    x, rec = render("explosion", p, 3.0)
    i_shock = int(np.argmax(np.abs(x)))
    assert abs(i_shock / FS - rec["t_s"][0]) < 0.002
    assert 20 * np.log10(np.abs(x).max()) == pytest.approx(210.0 - 40.0, abs=1.0)  # 100 m: 40 dB spreading
    tb = rec["bubble_period_s"]
    win = slice(i_shock + int(0.5 * tb * FS), i_shock + int(1.5 * tb * FS))
    i_bub = win.start + int(np.argmax(x[win]))
    assert i_bub / FS - i_shock / FS == pytest.approx(tb, abs=0.002)
    assert 0.05 < x[i_bub] / x[i_shock] < 0.3
    far, rec_far = render("explosion", {**p, "depth_m": 2.0, "range_m": 10000.0}, 3.0)
    assert rec_far["received_peak_db"] < rec_far["free_field_peak_db"]  # the surface image cancels low frequencies


def test_scuba_breathes_every_four_to_six_seconds_at_its_level():
    p = drawn("scuba", breath_s=5.0, inhale_s=1.0, exhale_s=1.5, sl_db=150.0, range_m=10.0)
    x, rec = render("scuba", p, 20.0)
    assert np.all(np.abs(np.diff(rec["t_s"]) - 5.0) <= 0.5 + 1e-9)
    i0 = int(round(rec["t_s"][1] * FS))
    hiss = x[i0: i0 + FS]
    assert rms_db(hiss) == pytest.approx(150.0 - 20.0, abs=0.5)  # 10 m: 20 dB, absorption negligible
    assert band_db(hiss, FS, 300, 7200) > band_db(hiss, FS, 10, 250) + 20  # the regulator band


def test_fish_chorus_pulses_in_100_to_1000_hz_at_the_pulse_rate():
    p = drawn("fish_chorus", f_peak_hz=300.0, cycles=4.0, pulse_rate_hz=25.0, pulses_per_call=12,
              call_interval_s=3.0, count=1)
    x, rec = render("fish_chorus", p, 20.0)
    assert rec["n_pulses"] > 0 and np.isfinite(x).all()
    assert band_db(x, FS, 100, 1000) > band_db(x, FS, 1000, 7200) + 30
    ac = autocorr(np.abs(hilbert(x))[::8])
    lo, hi = int(0.02 * FS / 8), int(0.08 * FS / 8)
    assert (lo + np.argmax(ac[lo:hi])) * 8 / FS == pytest.approx(1 / 25.0, abs=0.002)
    for s in range(100):
        q = drawn("fish_chorus", FS, s)
        assert 100 <= q["f_peak_hz"] <= 1000 and 115 <= q["sl_db"] <= 145


def test_dolphin_whistles_keep_only_what_lies_below_the_band_top():
    rng = np.random.default_rng(4)
    for fs in (16000, 48000):
        for _ in range(20):
            sig, rec = cetaceans._dolphin_whistle(rng, fs)
            assert 5000 <= rec["f_min_hz"] <= rec["f_max_hz"] <= 20000
            if np.sqrt(np.mean(sig**2)) > 1e-3:  # some of it lies in the band
                sig = common._propagate(sig, fs, 500.0, common.DEFAULT_WATER)  # as render_dolphin sends it
                f, psd = periodogram(sig, fs, window="blackmanharris")
                assert psd[f >= 0.45 * fs].max() < 1e-8 * psd.max()
                assert f[np.argmax(psd)] >= 4500
    p = drawn("dolphin", fs=48000, click_train_interval_s=2.0, click_ici_s=0.05, click_train_s=1.0, range_m=200.0)
    x, rec = render("dolphin", p, 10.0, fs=48000)
    assert rec["click_trains"] and rec["click_received_pp_db"] == pytest.approx(  # 200 m in 100 m water: 43 dB
        p["click_sl_pp_db"] - p["click_inband_below_db"] - float(spreading_loss_db(200.0, 100.0)), abs=1.0)
    i = int(rec["click_trains"][0]["t_s"] * 48000)
    assert 20 * np.log10(np.ptp(x[i - 100: i + 100])) == pytest.approx(rec["click_received_pp_db"], abs=3.5)


def test_cable_strum_at_the_shedding_frequency_and_flow_noise_rising_with_current():
    p = drawn("cable_strum_flow", current_m_s=1.0, cable_diameter_m=0.005, shedding_hz=40.0, wander=0.03,
              strum_db=100.0, flow_db=60.0)
    x, rec = render("cable_strum_flow", p, 20.0)
    assert at_hydrophone.STROUHAL * 1.0 / 0.005 == 40.0
    f, psd = welch(x, FS, nperseg=FS * 2)
    near = (f > 20) & (f < 60)
    assert f[near][np.argmax(psd[near])] == pytest.approx(40.0, abs=40 * 0.04)
    assert psd[(f > 76) & (f < 84)].max() > 100 * np.median(psd[(f > 100) & (f < 200)])  # 2nd harmonic
    slow = drawn("cable_strum_flow", current_m_s=0.3, strum_db=0.0, hydrophone_d_m=0.03)
    fast = drawn("cable_strum_flow", current_m_s=1.2, strum_db=0.0, hydrophone_d_m=0.03)
    fast["flow_db"] = slow["flow_db"] + at_hydrophone.FLOW_CURRENT_DB_PER_DECADE * np.log10(1.2 / 0.3)
    lvl = {}
    for name, q in (("slow", slow), ("fast", fast)):
        y, _ = render("cable_strum_flow", q, 10.0)
        lvl[name] = band_db(y, FS, 15, 80)
        assert band_db(y, FS, 15, 80) - 10 * np.log10(65) > band_db(y, FS, 1000, 2000) - 10 * np.log10(1000) + 30
    assert lvl["fast"] > lvl["slow"] + 15


@pytest.mark.parametrize("fs", [8000, 16000])
def test_every_confuser_renders_finite_audio_below_0_45_fs(fs):
    for name in C.CONFUSER_NAMES:
        for seed in range(2):
            p = drawn(name, fs, seed)
            x, rec = render(name, p, 6.0, fs=fs, seed=seed)
            json.dumps(rec)
            assert x.shape == (6 * fs,) and np.isfinite(x).all(), name
            if rec.get("audible") is False:
                assert not np.any(x)
                continue
            assert np.any(x), name
            f, psd = welch(x, fs, nperseg=8192)  # long segments: Hann leakage stays far below the check
            assert psd[f >= 0.45 * fs].max() < 1e-8 * psd.max(), (name, seed)


def test_drawn_levels_stay_within_their_published_bounds():
    for s in range(200):
        d = {k: drawn(k, FS, s) for k in C.CONFUSER_NAMES}
        assert 200 <= d["active_sonar"]["sl_db"] <= 235 and 0.5 <= d["active_sonar"]["pulse_s"] <= 2
        assert 1000 <= min(d["active_sonar"]["f_start_hz"], d["active_sonar"]["f_end_hz"])
        assert max(d["active_sonar"]["f_start_hz"], d["active_sonar"]["f_end_hz"]) <= 0.405 * FS + 1e-6
        assert 20 <= d["active_sonar"]["interval_s"] <= 60 and 0.5 <= d["active_sonar"]["t60_s"] <= 5
        assert 130 <= d["fishing_pinger"]["sl_db"] <= 145 and 2500 <= d["fishing_pinger"]["f_hz"] <= 3000
        assert 190 <= d["explosion"]["sl_peak_db"] <= 215 and 1 <= d["explosion"]["count"] <= 4
        assert 130 <= d["scuba"]["sl_db"] <= 160 and 4 <= d["scuba"]["breath_s"] <= 6
        assert 134 <= d["dolphin"]["whistle_sl_db"] <= 169 and 190 <= d["dolphin"]["click_sl_pp_db"] <= 225
        assert d["mains_hum"]["mains_hz"] in (50.0, 60.0)
        assert abs(d["mains_hum"]["f_hz"] - d["mains_hum"]["mains_hz"]) <= 0.1 + 1e-9
        q = d["cable_strum_flow"]
        assert q["shedding_hz"] == pytest.approx(0.2 * q["current_m_s"] / q["cable_diameter_m"], rel=2e-3)


def test_occurrence_rates_match_the_design_notes():
    seen = np.array([[p is not None for p in C.draw_confusers(C.confuser_rng(s), FS)[0].values()]
                     for s in range(4000)])
    for name, rate in zip(C.CONFUSER_NAMES, seen.mean(axis=0), strict=True):
        assert rate == pytest.approx(C.CONFUSER_OCCURRENCE[name], abs=0.02), name
        assert 0.05 <= C.CONFUSER_OCCURRENCE[name] <= 0.2


def test_confusers_are_the_same_whatever_the_label():
    """Same seed, same confusers (and shrimp, rain) in an ambient clip and in a vessel clip; so the rates over
    many seeds are the same for every class."""
    counts = {"ambient": {}, "merchant": {}}
    for seed in range(40):
        lists = {}
        for label in counts:
            _, _, p = render_components(label=label, seed=seed, duration_s=1.0, sample_rate=8000)
            lists[label] = json.dumps(p["confusers"], sort_keys=True)
            for c in p["confusers"]:
                counts[label][c["name"]] = counts[label].get(c["name"], 0) + 1
        assert lists["ambient"] == lists["merchant"], seed
    assert counts["ambient"] == counts["merchant"]
    assert len(counts["ambient"]) >= 6  # most confusers (and shrimp, rain) came up in 40 seeds


def test_same_seed_same_confusers_and_other_streams_untouched(monkeypatch):
    x1, r1 = C.render_confusers(C.confuser_rng(11), 3 * FS, FS, water=WATER)
    x2, r2 = C.render_confusers(C.confuser_rng(11), 3 * FS, FS, water=WATER)
    assert (x1 is None and x2 is None) or np.array_equal(x1, x2)
    assert json.dumps(r1) == json.dumps(r2)
    seed = next(s for s in range(100) if any(C.draw_confusers(C.confuser_rng(s), FS)[0].values()))
    _, amb_on, p_on = render_components(label="drone", seed=seed, duration_s=2.0)
    audio_on, _ = render_recording(label="drone", seed=seed, duration_s=2.0)
    render_confusers = C.render_confusers
    monkeypatch.setattr(C, "render_confusers", lambda *a, **k: (None, []))
    _, amb_off, p_off = render_components(label="drone", seed=seed, duration_s=2.0)
    audio_off, _ = render_recording(label="drone", seed=seed, duration_s=2.0)
    assert p_on["confusers"] and not p_off["confusers"]
    strip = ("confusers", "clipped_fraction", "peak_dbfs")
    assert {k: v for k, v in p_on.items() if k not in strip} == {k: v for k, v in p_off.items() if k not in strip}
    x, _ = render_confusers(C.confuser_rng(seed), p_on["n_samples"], FS, water=p_on)
    f = np.fft.rfftfreq(p_on["n_samples"], 1 / FS)
    np.testing.assert_allclose(amb_on - amb_off, np.fft.rfft(x) * (f < 0.45 * FS), atol=1e-3 * np.abs(amb_on).max())
    assert not np.array_equal(audio_on, audio_off)


def test_dataset_confuser_override_holds_out_or_forces_types(tmp_path):
    """Open-set data: a type forced into every render (or held out of all), the defaults restored after."""
    import json as _json

    import pytest as _pytest

    from uwac.acoustics.synth import render_dataset
    from uwac.acoustics.synth.events import composition as cf

    before = dict(cf.CONFUSER_OCCURRENCE)
    only_dolphin = {name: 0.0 for name in cf.CONFUSER_NAMES} | {"dolphin": 1.0}
    manifest = render_dataset(out_dir=tmp_path / "d", minutes=0.4, seed=3, clip_seconds=6.0, workers=1,
                              progress=False, classes=("ambient",), confuser_occurrence=only_dolphin)
    for params in (manifest.parent / "audio").glob("*.json"):
        names = {c["name"] for c in _json.loads(params.read_text())["confusers"]} & set(cf.CONFUSER_NAMES)
        assert names == {"dolphin"}
    assert cf.CONFUSER_OCCURRENCE == before
    assert _json.loads((manifest.parent / "synth_config.json").read_text())["confuser_occurrence"]["dolphin"] == 1.0
    with _pytest.raises(ValueError, match="unknown confuser"):
        render_dataset(out_dir=tmp_path / "e", minutes=0.1, seed=3, clip_seconds=6.0, workers=1, progress=False,
                       confuser_occurrence={"kraken": 1.0})
