"""The randomised recorder chain does what a real one does: filters, DC, clipping, quantisation, codec, native rate."""

import json

import numpy as np
import pytest
from scipy import signal
from scipy.signal import welch

from uwac.acoustics.synth import recorder
from uwac.acoustics.synth.scene import RECORDER_STREAM, render_components, render_recording

FS = 16000
CLIP_DB = 120.0  # full scale = 1e6 µPa, so a pressure of 1e5 µPa rms is -20 dBFS
FULL = 10 ** (CLIP_DB / 20)


def noise(seconds=4.0, dbfs=-20.0, seed=0):
    """White Gaussian pressure [µPa] at dbfs rms."""
    return np.random.default_rng(seed).standard_normal(int(seconds * FS)) * FULL * 10 ** (dbfs / 20)


def rec(bit_depth=24, **chain):
    """A recorder dict: the near-clean chain with some keys overridden."""
    return {"clip_level_db": CLIP_DB, "bit_depth": bit_depth, "recorder": {**recorder.clean_chain(FS), **chain}}


def psd_db(x, lo, hi, nperseg=FS):
    """Mean PSD [dB re 1 FS²/Hz] in lo <= f < hi."""
    f, p = welch(np.asarray(x, dtype=np.float64), FS, nperseg=nperseg)
    return 10 * np.log10(np.mean(p[(f >= lo) & (f < hi)]))


@pytest.mark.parametrize("corner, order", [(8.0, 1), (40.0, 2), (25.0, 4)])
def test_highpass_removes_energy_below_its_corner(corner, order):
    x = noise(8.0)
    y, _ = recorder.record(x, rec(highpass_hz=corner, highpass_order=order), FS)

    def gain_db(f_hz):  # output over input PSD (one noise realisation: its randomness cancels)
        return psd_db(y, 0.8 * f_hz, 1.25 * f_hz, 8 * FS) - psd_db(x / FULL, 0.8 * f_hz, 1.25 * f_hz, 8 * FS)

    def butterworth_db(f_hz):
        r = (f_hz / corner) ** (2 * order)
        return 10 * np.log10(r / (1 + r))

    assert gain_db(corner / 4) - gain_db(4 * corner) == pytest.approx(
        butterworth_db(corner / 4) - butterworth_db(4 * corner), abs=1.5)  # about -12 dB per order
    assert gain_db(corner) == pytest.approx(-3.0, abs=0.5) and gain_db(4 * corner) > -0.5


def test_front_end_matches_scipy_analogue_filters():
    chain = {**recorder.clean_chain(FS), "highpass_hz": 37.0, "highpass_order": 3, "anti_alias_fraction": 0.8,
             "anti_alias_order": 8, "resonances": [{"f_hz": 300.0, "q": 5.0, "gain_db": 9.0},
                                                   {"f_hz": 2000.0, "q": 15.0, "gain_db": -6.0}]}
    n = 20000
    g = recorder.front_end_response(n, FS, chain, scale=0.5)
    f = np.fft.rfftfreq(n, 1 / FS)[1:]
    _, h = signal.freqs(*signal.butter(3, 2 * np.pi * 37.0, "high", analog=True), 2 * np.pi * f)
    for r in chain["resonances"]:
        a, w0, q = 10 ** (r["gain_db"] / 40), 2 * np.pi * r["f_hz"], r["q"]
        h = h * signal.freqs([1, a * w0 / q, w0 * w0], [1, w0 / (a * q), w0 * w0], 2 * np.pi * f)[1]
    h *= 0.5 / np.sqrt(1 + (f / (0.8 * FS / 2)) ** 16) * (f < 0.45 * FS)
    assert g[0] == 0 and np.max(np.abs(g[1:] - h)) < 1e-5


@pytest.mark.parametrize("gain_db", [9.0, -6.0])
def test_resonance_changes_the_level_at_its_peak_by_its_gain(gain_db):
    x = noise()
    res = [{"f_hz": 1000.0, "q": 10.0, "gain_db": gain_db}]
    y, _ = recorder.record(x, rec(resonances=res), FS)
    y0, _ = recorder.record(x, rec(), FS)
    assert psd_db(y, 995, 1006) - psd_db(y0, 995, 1006) == pytest.approx(gain_db, abs=0.5)
    assert psd_db(y, 3000, 4000) - psd_db(y0, 3000, 4000) == pytest.approx(0.0, abs=0.5)  # far away: unchanged


@pytest.mark.parametrize("native", [FS, 8000])
def test_dc_offset_appears_as_the_mean(native):
    y, _ = recorder.record(noise(2.0), rec(dc_offset=5e-3, native_rate_hz=native), FS)
    assert float(np.mean(y)) == pytest.approx(5e-3, abs=2e-4)


def test_native_rate_8000_leaves_nothing_above_3_6_khz():
    x = noise()
    y, stats = recorder.record(x, rec(native_rate_hz=8000, bit_depth=16), FS)
    assert y.size == x.size and y.dtype == np.float32 and np.all(np.isfinite(y))
    passband = psd_db(y, 500, 3000)
    assert passband == pytest.approx(psd_db(x / FULL, 500, 3000), abs=0.5)
    assert psd_db(y, 4000, 8000) < passband - 70  # only the 16-bit noise of the 16 kHz file is left there
    assert psd_db(y, 3800, 4000) < passband - 20  # the anti-alias skirt (-3 dB at 0.9 · 4 kHz) and soxr's band edge
    assert psd_db(y, 0.45 * 8000, 8000) < passband - 15


def test_codec_band_limit_removes_energy_above_its_cutoff_and_quantises_bands():
    x = noise()
    spec = {"cutoff_hz": 5000.0, "skirt_hz": 100.0, "quant_from_hz": 2000.0, "band_snr_db": 8.0}
    y, _ = recorder.record(x, rec(codec=spec), FS)
    y0, _ = recorder.record(x, rec(), FS)
    assert psd_db(y, 5050, 7000) < psd_db(y0, 5050, 7000) - 50
    err_band = psd_db(y - y0, 2300, 4700) - psd_db(y0, 2300, 4700)
    assert -14 < err_band < -5  # band-shaped quantisation noise near the drawn SNR (8 dB)
    assert psd_db(y - y0, 200, 1500) < psd_db(y0, 200, 1500) - 50  # transparent below quant_from_hz


def test_quantisation_at_16_bit_gives_the_expected_noise_floor():
    x = noise()
    y16, _ = recorder.record(x, rec(bit_depth=16), FS)
    y24, _ = recorder.record(x, rec(bit_depth=24), FS)
    step = 2.0 ** -15
    assert np.var(y16.astype(np.float64) - y24) == pytest.approx(step * step / 12, rel=0.05)
    assert np.array_equal(np.rint(y16 * 2.0**15), y16 * 2.0**15)  # on the 16-bit grid
    y12, _ = recorder.record(x, rec(bit_depth=16, effective_bits=12), FS)
    assert np.var(y12.astype(np.float64) - y24) == pytest.approx(2.0 ** -22 / 12, rel=0.05)  # 12-bit steps


def test_clipping_is_flagged_and_hard():
    x = noise(1.0, dbfs=-3.0)
    y, stats = recorder.record(x, rec(bit_depth=16), FS)
    assert 0.01 < stats["clipped_fraction"] < 0.2 and stats["peak_dbfs"] > 0
    assert y.max() == np.float32(1 - 2.0**-15) and y.min() == -1.0
    _, quiet = recorder.record(noise(1.0, dbfs=-40.0), rec(), FS)
    assert quiet["clipped_fraction"] == 0 and quiet["peak_dbfs"] < -20


def test_hot_gain_sets_the_clip_level_over_the_ambient():
    seed = next(s for s in range(400) if recorder.draw_recorder(np.random.default_rng(
        np.random.SeedSequence(s, spawn_key=RECORDER_STREAM)))["recorder"]["hot_gain"])
    _, _, p = render_components(label="ambient", seed=seed, duration_s=0.5)
    assert p["clip_level_db"] == pytest.approx(p["ambient_band_level_db"] + p["recorder"]["hot_headroom_db"], abs=1e-3)


def test_draws_are_seeded_label_free_and_in_range():
    for seed in range(4):
        ps = [render_components(label=label, seed=seed, duration_s=0.25)[2] for label in ("ambient", "merchant")]
        keys = ("clip_level_db", "bit_depth", "recorder")
        assert [json.dumps({k: p[k] for k in keys}) for p in ps] == [json.dumps({k: ps[0][k] for k in keys})] * 2
    draws = [recorder.draw_recorder(np.random.default_rng(s), FS) for s in range(2000)]
    assert draws[7] == recorder.draw_recorder(np.random.default_rng(7), FS)
    chains = [d["recorder"] for d in draws]
    clean = [c for c in chains if c["clean"]]
    assert len(clean) / len(chains) == pytest.approx(recorder.CLEAN_PROBABILITY, abs=0.03)
    assert all(c["native_rate_hz"] >= FS and not c["resonances"] and c["codec"] is None and c["dc_offset"] == 0
               for c in clean)
    dirty = [c for c in chains if not c["clean"]]
    assert {c["native_rate_hz"] for c in dirty} == set(recorder.NATIVE_RATES_HZ)
    assert all(2 <= c["highpass_hz"] <= 60 and c["highpass_order"] in (1, 2, 3, 4) for c in chains)
    assert all(0.75 <= c["anti_alias_fraction"] <= 0.95 for c in dirty)
    res = [r for c in dirty for r in c["resonances"]]
    assert all(2 <= r["q"] <= 20 and 3 <= abs(r["gain_db"]) <= 12 and r["f_hz"] <= 0.45 * FS for r in res)
    assert all(-1e-3 <= c["dc_offset"] <= 1e-2 for c in chains)
    assert np.mean([c["codec"] is not None for c in dirty]) == pytest.approx(recorder.CODEC_PROBABILITY, abs=0.04)
    assert np.mean([c["hot_gain"] for c in dirty]) == pytest.approx(recorder.HOT_GAIN_PROBABILITY, abs=0.04)
    assert np.mean([c["effective_bits"] == 12 for c in dirty]) == pytest.approx(
        recorder.LOW_RESOLUTION_PROBABILITY, abs=0.04)
    assert all(4000 <= c["codec"]["cutoff_hz"] <= 7000 for c in dirty if c["codec"])
    assert {d["bit_depth"] for d in draws} == {16, 24}


def test_every_drawn_chain_keeps_finite_output_on_the_grid():
    x = noise(1.0, dbfs=-30.0)
    x[4000:4400] *= 300.0  # a loud event
    for s in range(24):
        r = recorder.draw_recorder(np.random.default_rng(100 + s), FS)
        r["clip_level_db"] = CLIP_DB if not r["recorder"]["hot_gain"] else CLIP_DB - 20
        y, stats = recorder.record(x, r, FS)
        full = 2.0 ** (r["bit_depth"] - 1)
        assert y.size == x.size and y.dtype == np.float32 and np.all(np.isfinite(y))
        assert np.abs(y).max() <= 1.0 and np.array_equal(np.rint(y * full), y * full)
        assert 0.0 <= stats["clipped_fraction"] <= 1.0 and np.isfinite(stats["peak_dbfs"])


def test_render_is_deterministic_and_the_recorder_is_in_the_params():
    a1, p1 = render_recording(label="drone", seed=21, duration_s=1.0)
    a2, p2 = render_recording(label="drone", seed=21, duration_s=1.0)
    assert np.array_equal(a1, a2) and json.dumps(p1, sort_keys=True) == json.dumps(p2, sort_keys=True)
    assert set(p1["recorder"]) == set(recorder.clean_chain(FS))
