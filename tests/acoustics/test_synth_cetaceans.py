"""Cetacean calls (renderer 0.5): killer whale pulsed calls and whistles, minke boings and pulse trains, right whale
up-calls render their published structure, band, timing and level, fixed by the seed and equally in every class."""

import json

import numpy as np
import pytest
from scipy.signal import hilbert, welch

from uwac.acoustics.synth.events import cetaceans as K
from uwac.acoustics.synth.events import composition
from uwac.acoustics.synth.propagation import absorption_db_per_km, spreading_loss_db
from uwac.acoustics.synth.scene import render_components

FS = 16000
WATER = {"water_depth_m": 100.0, "receiver_depth_m": 50.0}


def drawn(name, fs=FS, seed=0, **over):
    return {**composition.CETACEAN_DRAWS[name](np.random.default_rng(seed), fs), **over}


def render(name, p, seconds, fs=FS, seed=1, water=WATER):
    return composition.CETACEAN_RENDERS[name](np.random.default_rng(seed), p, int(seconds * fs), fs, water)


def tl_db(f_hz, r_m, h_m=100.0):
    """TL as physics.md §6 states it (spreading + Francois–Garrison at 10 °C, 35 ppt, mid-water, pH 8)."""
    return float(spreading_loss_db(r_m, h_m) + absorption_db_per_km(f_hz, depth_m=h_m / 2) * r_m / 1000)


def rms_db(x):
    return 10 * np.log10(np.mean(np.asarray(x, dtype=float) ** 2))


def inst_freq(x, fs):
    return np.diff(np.unwrap(np.angle(hilbert(x)))) * fs / (2 * np.pi)


def spectrum_peaks(x, fs, lo, hi, rel_db=-20.0):
    """Frequencies [Hz] of local maxima of the power spectrum in lo..hi within rel_db of its maximum there."""
    f = np.fft.rfftfreq(x.size, 1 / fs)
    p = np.abs(np.fft.rfft(x * np.hanning(x.size))) ** 2
    band = (f >= lo) & (f <= hi)
    top = p[band].max()
    is_peak = (p[1:-1] > p[:-2]) & (p[1:-1] >= p[2:]) & (p[1:-1] > top * 10 ** (rel_db / 10)) & band[1:-1]
    return f[1:-1][is_peak]


# --- killer whale ---------------------------------------------------------------------------------------------
def test_pulsed_call_is_a_pulse_train_with_harmonics_at_the_pulse_rate(monkeypatch):
    monkeypatch.setattr(K, "ORCA_PRR_STEP", (1.0, 1.0))  # a constant pulse rate, to read the harmonic spacing
    monkeypatch.setattr(K, "ORCA_HFC_FRACTION", 0.0)
    fs = 48000
    for seed in range(3):
        sig, rec = K.orca_pulsed_call(np.random.default_rng(seed), fs)
        prr = rec["prr_hz"][0]
        assert 250 <= prr <= 2000 and 0.5 <= rec["dur_s"] <= 1.5 and 1000 <= rec["peak_hz"] <= 6000
        assert abs(sig.size - rec["dur_s"] * fs) <= 0.001 * fs
        assert rms_db(sig) == pytest.approx(0.0, abs=1.0)  # rms 1 over the call emitted to 20 kHz (19.4 kHz kept)
        peaks = spectrum_peaks(sig, fs, 200, 19000, rel_db=-15)
        assert len(peaks) >= 2
        harmonic = peaks / prr
        np.testing.assert_allclose(harmonic, np.round(harmonic), atol=0.02)  # bands at multiples of the pulse rate
        f = np.fft.rfftfreq(sig.size, 1 / fs)
        p = np.abs(np.fft.rfft(sig)) ** 2
        assert abs(np.log2(f[np.argmax(p)] / rec["peak_hz"])) < 1.0  # strongest band near the envelope peak


def test_killer_whale_whistle_contour_in_1_to_18_khz():
    fs = 48000
    for seed in range(6):
        sig, rec = K.orca_whistle(np.random.default_rng(seed), fs)
        assert 1000 <= rec["f_min_hz"] <= rec["f_max_hz"] <= 18000 and 0.5 <= rec["dur_s"] <= 10
        core = slice(int(0.05 * sig.size), int(0.95 * sig.size))
        f = inst_freq(sig, fs)[core]
        assert np.median(f) == pytest.approx(np.median(np.clip(f, rec["f_min_hz"], rec["f_max_hz"])), rel=0.02)
        assert rms_db(sig) == pytest.approx(0.0, abs=0.5)


def test_killer_whale_calls_at_their_source_level_less_tl():
    fs = 48000
    p = drawn("killer_whale", fs, range_m=500.0, interval_s=4.0, whistle_share=0.0)
    x, rec = render("killer_whale", p, 12.0, fs=fs)
    assert rec["calls"]
    json.dumps(rec)
    for c in rec["calls"]:
        assert c["type"] == "call" and 131 <= c["sl_db"] <= 168
        assert c["received_db"] == pytest.approx(c["sl_db"] - tl_db(c["peak_hz"], 500.0), abs=0.01)
    lone = {**p, "interval_s": 100.0}  # one call in a 4 s clip (the first falls in the clip, the next ~100 s on)
    for seed in range(20):
        x, rec = render("killer_whale", lone, 4.0, fs=fs, seed=seed)
        (c,) = rec["calls"]
        if c["t_s"] + c["dur_s"] < 4.0:
            break
    seg = x[int(c["t_s"] * fs): int((c["t_s"] + c["dur_s"]) * fs)]
    # 500 m in 100 m water: 54 dB of spreading; absorption < 0.5 dB below 8 kHz
    assert rms_db(seg) == pytest.approx(c["sl_db"] - float(spreading_loss_db(500.0, 100.0)), abs=1.5)


# --- minke whale ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("variant, prr, dur", [("central", 115.0, 2.6), ("eastern", 92.0, 3.6)])
def test_boing_has_bands_at_its_pulse_rate_around_1_4_khz(variant, prr, dur):
    p = drawn("minke_whale", kind="boing", variant=variant, carrier_hz=1400.0, sl_db=160.0, range_m=1000.0,
              interval_s=100.0)
    x, rec = render("minke_whale", p, 12.0)
    (call,) = rec["calls"]
    assert call["prr_hz"] == pytest.approx(prr, rel=0.05) and call["dur_s"] == pytest.approx(dur, rel=0.05)
    i0 = int(call["t_s"] * FS)
    seg = x[i0 + int(0.3 * FS): i0 + int((call["dur_s"] - 0.3) * FS)]
    peaks = spectrum_peaks(seg, FS, 900, 2000, rel_db=-12)
    assert all(1100 < f < 1700 for f in peaks) and len(peaks) >= 2
    spacing = np.diff(np.sort(peaks))
    np.testing.assert_allclose(spacing / call["prr_hz"], np.round(spacing / call["prr_hz"]), atol=0.1)
    assert rec["received_db"] == pytest.approx(160.0 - tl_db(1400.0, 1000.0), abs=0.01)
    whole = x[i0: i0 + int(call["dur_s"] * FS)]
    assert rms_db(whole) == pytest.approx(rec["received_db"], abs=1.0)


@pytest.mark.parametrize("train, r0, r1", [("speed_up", 1.5, 2.8), ("slow_down", 4.5, 2.9)])
def test_minke_pulse_train_rate_ramps_as_published(train, r0, r1):
    lo, hi = K.PULSE_TRAINS[train][0]
    p = drawn("minke_whale", kind="pulse_train", train=train, f_hz=0.5 * (lo + hi), sl_db=166.0, range_m=2000.0)
    x, rec = render("minke_whale", p, 70.0)
    c = rec["calls"][0]
    assert c["rate_start_hz"] == r0 and c["rate_end_hz"] == r1
    env = np.abs(hilbert(x))
    above = env > 0.3 * env.max()
    onsets = np.flatnonzero(np.diff(above.astype(int)) == 1) / FS
    assert c["t_s"] >= 0 and c["t_s"] + c["dur_s"] < 70.0  # the whole train lies in the clip
    gaps = np.diff(onsets)
    assert gaps[:3].mean() == pytest.approx(1 / r0, rel=0.1) and gaps[-3:].mean() == pytest.approx(1 / r1, rel=0.1)
    widths = np.flatnonzero(np.diff(above.astype(int)) == -1)[: onsets.size] / FS - onsets[: onsets.size]
    assert np.all(widths[widths > 0] < 0.06)  # 40–60 ms Hann pulses (above 30 % of peak: shorter)
    f, psd = welch(x, FS, nperseg=8192)
    assert lo <= f[np.argmax(psd)] <= hi
    assert rec["received_db"] == pytest.approx(166.0 - tl_db(p["f_hz"], 2000.0), abs=0.01)


# --- right whale ----------------------------------------------------------------------------------------------
def test_right_whale_up_calls_sweep_up_in_clusters_at_their_level():
    p = drawn("right_whale", sl_db=150.0, range_m=2000.0, rate_per_min=0.7, harmonic=False)
    x, rec = render("right_whale", p, 60.0)
    calls = rec["calls"]
    assert 1 <= len(calls)
    json.dumps(rec)
    for c in calls:
        assert 90 <= c["f_start_hz"] <= 110 and 150 <= c["f_end_hz"] <= 300 and 0.7 <= c["dur_s"] <= 2.0
        assert c["received_db"] == pytest.approx(150.0 - tl_db(0.5 * (c["f_start_hz"] + c["f_end_hz"]), 2000.0),
                                                 abs=0.01)
    first = calls[0]
    i0, m = int(first["t_s"] * FS), int(first["dur_s"] * FS)
    assert all(o["t_s"] > first["t_s"] + first["dur_s"] for o in calls[1:]) and first["t_s"] + first["dur_s"] < 60
    seg = x[i0: i0 + m]
    f = inst_freq(seg, FS)[int(0.15 * m): int(0.85 * m)]
    f = np.convolve(f, np.ones(401) / 401, mode="valid")
    assert f[-1] > f[0] + 20 and first["f_start_hz"] - 5 < f.min() and f.max() < first["f_end_hz"] + 5
    assert rms_db(seg) == pytest.approx(first["received_db"], abs=1.0)
    starts = np.array([c["t_s"] for c in calls])
    assert np.all(np.diff(starts) >= K.RIGHT_GAP_S[0] - 1e-9)


def test_up_call_harmonic_when_drawn():
    """The same call with and without its 2nd harmonic: the difference is a tone at twice the sweep, the drawn
    number of dB below the fundamental; both calls have rms 1."""
    with_h, rec = K.upcall(np.random.default_rng(0), {"harmonic": True}, 1600.0, 640.0)
    plain, rec0 = K.upcall(np.random.default_rng(0), {"harmonic": False}, 1600.0, 640.0)
    assert 6 <= rec["harmonic_below_db"] <= 20 and rec0["harmonic_below_db"] is None
    a2 = 10 ** (-rec["harmonic_below_db"] / 20)
    fundamental = plain / np.sqrt(1 + a2 * a2)
    second = with_h - fundamental
    assert rms_db(fundamental) - rms_db(second) == pytest.approx(rec["harmonic_below_db"], abs=0.2)
    f = np.fft.rfftfreq(second.size, 1 / 1600.0)
    p = np.abs(np.fft.rfft(second)) ** 2
    assert p[(f >= 2 * 85) & (f <= 2 * 310)].sum() > 0.99 * p.sum()
    assert rms_db(with_h) == pytest.approx(0.0, abs=0.3) and rms_db(plain) == pytest.approx(0.0, abs=0.3)


# --- all species ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fs", [8000, 16000])
def test_every_species_renders_finite_audio_below_0_45_fs(fs):
    for name in composition.CETACEAN_NAMES:
        for seed in range(3):
            p = drawn(name, fs, seed)
            x, rec = render(name, p, 8.0, fs=fs, seed=seed)
            json.dumps(rec)
            assert x.shape == (8 * fs,) and np.isfinite(x).all(), name
            if not np.any(x):
                continue
            f, psd = welch(x, fs, nperseg=8192)
            assert psd[f >= 0.45 * fs].max() < 1e-8 * psd.max(), (name, seed)


def test_drawn_parameters_within_published_bounds():
    for s in range(300):
        k, m, r = (drawn(n, FS, s) for n in composition.CETACEAN_NAMES)
        assert 200 <= k["range_m"] <= 10000 and 2 <= k["interval_s"] <= 20
        if m["kind"] == "boing":
            assert m["variant"] in ("central", "eastern") and 1350 <= m["carrier_hz"] <= 1440
            assert 150 <= m["sl_db"] <= 168
        else:
            assert 200 <= m["f_hz"] <= 400 and 164 <= m["sl_db"] <= 168
        assert 137 <= r["sl_db"] <= 162 and 0.3 <= r["rate_per_min"] <= 0.7


def test_same_seed_same_calls():
    a, ra = composition.render_cetaceans(composition.cetacean_rng(7), 4 * FS, FS, water=WATER)
    b, rb = composition.render_cetaceans(composition.cetacean_rng(7), 4 * FS, FS, water=WATER)
    assert json.dumps(ra) == json.dumps(rb)
    assert (a is None and b is None) or np.array_equal(a, b)
    seed = next(s for s in range(200) if any(composition.draw_cetaceans(composition.cetacean_rng(s), FS)[0].values()))
    x, rec = composition.render_cetaceans(composition.cetacean_rng(seed), 4 * FS, FS, water=WATER)
    assert x is not None and x.dtype == np.float32 and rec and all("events" in r for r in rec)


def test_occurrence_rates_match_the_design_notes():
    seen = np.array([[p is not None for p in composition.draw_cetaceans(composition.cetacean_rng(s), FS)[0].values()]
                     for s in range(4000)])
    for name, rate in zip(composition.CETACEAN_NAMES, seen.mean(axis=0), strict=True):
        assert rate == pytest.approx(composition.CETACEAN_OCCURRENCE[name], abs=0.02), name
        assert 0.08 <= composition.CETACEAN_OCCURRENCE[name] <= 0.15


def test_cetaceans_are_the_same_in_ambient_and_vessel_renders():
    """Same seed, same calls in an ambient and in a vessel clip; so every class gets them at the same rates."""
    counts = {"ambient": {}, "drone": {}}
    for seed in range(60):
        lists = {}
        for label in counts:
            _, _, p = render_components(label=label, seed=seed, duration_s=0.5, sample_rate=8000)
            lists[label] = json.dumps(p["cetaceans"], sort_keys=True)
            for c in p["cetaceans"]:
                counts[label][c["name"]] = counts[label].get(c["name"], 0) + 1
        assert lists["ambient"] == lists["drone"], seed
    assert counts["ambient"] == counts["drone"]
    assert set(counts["ambient"]) == set(composition.CETACEAN_NAMES)


def test_dataset_override_forces_or_holds_out_a_species(tmp_path):
    from uwac.acoustics.synth import render_dataset

    before = dict(composition.CETACEAN_OCCURRENCE)
    only_right = {name: 0.0 for name in composition.CETACEAN_NAMES} | {"right_whale": 1.0}
    manifest = render_dataset(out_dir=tmp_path / "d", minutes=0.1, seed=3, clip_seconds=2.0, workers=1,
                              progress=False, classes=("ambient", "warship"), confuser_occurrence=only_right)
    for params in (manifest.parent / "audio").glob("*.json"):
        got = json.loads(params.read_text())["cetaceans"]
        assert [c["name"] for c in got] == ["right_whale"] and got[0]["events"]["calls"]
    assert composition.CETACEAN_OCCURRENCE == before
