"""The scenario generator reproduces physics.md's figures, is seeded, meets its SNR and is not just noise."""

import csv
import json

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import welch

from uwac.acoustics.analysis.lofar_demon import demon
from uwac.acoustics.synth import render_dataset, render_recording
from uwac.acoustics.synth.ambient import ambient_psd_db
from uwac.acoustics.synth.propagation import absorption_db_per_km, spreading_loss_db, transmission_loss_db
from uwac.acoustics.synth.radiated_noise import bv_advanced_db, je_sl_density_db
from uwac.acoustics.synth.scene import RANGE_LIMITS_BY_FINE_M, RANGE_LIMITS_M, render_components

FS = 16000


def band_level_db(psd_db, f_lo=20.0, f_hi=1000.0, df=0.1):
    f = np.arange(f_lo, f_hi + df / 2, df)
    return 10 * np.log10(np.sum(10 ** (psd_db(f) / 10)) * df)


def first_seed(label, pred, fine_label=None, duration_s=2.0, **kw):
    for seed in range(200):
        _, _, p = render_components(label=label, seed=seed, duration_s=duration_s, fine_label=fine_label, **kw)
        if pred(p):
            return seed
    raise AssertionError("no seed satisfied the predicate")


def quiet_ambient(p):
    """No rain and no distractor drawn (ambient.draw_ambient), so only sea state and shipping sound (and, unless
    :func:`no_confusers` holds too, the confusers of events/composition.py)."""
    return not p.get("rain_mm_h") and not any((p.get("distractors") or {}).values())


def no_confusers(p):
    """No confuser (sonar, pinger, hum, ...; events/composition.py) in the render."""
    return not p.get("confusers")


def calm(p):
    """Only sea state and shipping sound: :func:`quiet_ambient` and :func:`no_confusers`."""
    return quiet_ambient(p) and no_confusers(p)


@pytest.mark.parametrize("f_hz, table", [(1000, 0.06), (5000, 0.32), (10000, 0.96), (20000, 3.3), (50000, 15.3)])
def test_francois_garrison_matches_physics_table(f_hz, table):
    got = float(absorption_db_per_km(f_hz, temperature_c=10, salinity_ppt=35, depth_m=50, ph=8))
    assert got == pytest.approx(table, rel=0.05)


def test_francois_garrison_low_frequency_and_arlpy_oracle():
    assert float(absorption_db_per_km(100, temperature_c=10, salinity_ppt=35, depth_m=50, ph=8)) == pytest.approx(
        0.001, abs=2e-4)
    loss = -float(absorption_db_per_km(50000, temperature_c=27, salinity_ppt=35, depth_m=10, ph=8.1)) * 1.0
    assert loss == pytest.approx(-10.71, abs=0.005)


def test_spreading_is_spherical_then_cylindrical():
    assert float(spreading_loss_db(100, 100)) == pytest.approx(40.0)
    assert float(spreading_loss_db(1000, 100)) == pytest.approx(50.0)
    tl = transmission_loss_db(np.array([100.0, 10000.0]), 10000, 100)
    assert tl[0] < tl[1] and np.all(np.diff([float(transmission_loss_db(1000, r, 50)) for r in (50, 500, 5e3, 3e4)]) > 0)


@pytest.mark.parametrize("je_class, speed, length, table", [
    ("container", 18, 300, 190), ("container", 12, 300, 179), ("bulker", 13.9, 200, 184),
    ("tanker", 12.4, 180, 182), ("passenger", 15, 120, 185), ("tug", 8, 30, 177), ("fishing", 8, 25, 164),
    ("recreational", 20, 10, 169), ("naval", 10, 130, 172), ("naval", 18, 130, 188),
])
def test_je_broadband_level_matches_physics_table(je_class, speed, length, table):
    got = band_level_db(lambda f: je_sl_density_db(f, je_class, speed, length))
    assert got == pytest.approx(table, abs=1.0)


def test_bv_advanced_breakpoints():
    np.testing.assert_allclose(bv_advanced_db(np.array([50.0, 1000.0])), [155.3, 131.9], atol=1e-9)


def test_same_seed_same_audio_and_params_different_seed_differs():
    a1, p1 = render_recording(label="warship", seed=7, duration_s=2.0)
    a2, p2 = render_recording(label="warship", seed=7, duration_s=2.0)
    a3, _ = render_recording(label="warship", seed=8, duration_s=2.0)
    assert a1.dtype == np.float32 and np.array_equal(a1, a2)
    assert json.dumps(p1, sort_keys=True) == json.dumps(p2, sort_keys=True)
    assert not np.array_equal(a1, a3)
    assert np.max(np.abs(a1)) <= 1.0


def _tree_bytes(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_render_dataset_is_byte_deterministic_and_independent_of_workers(tmp_path):
    kw = dict(minutes=8 * 1.5 / 60, seed=3, clip_seconds=1.5, progress=False)
    m1 = render_dataset(out_dir=tmp_path / "a", workers=1, **kw)
    render_dataset(out_dir=tmp_path / "b", workers=2, **kw)
    render_dataset(out_dir=tmp_path / "c", workers=1, **{**kw, "seed": 4})
    a, b, c = (_tree_bytes(tmp_path / d / "audio") for d in "abc")
    assert a == b and len(a) == 16
    assert (tmp_path / "a" / "manifest.csv").read_bytes() == (tmp_path / "b" / "manifest.csv").read_bytes()
    assert set(a.values()).isdisjoint(c.values())
    rows = list(csv.DictReader(m1.open()))
    assert [r["label"] for r in rows[:4]] == ["ambient", "merchant", "warship", "drone"]
    assert rows[0]["snr_db"] == "" and rows[1]["snr_db"] != "" and {r["source"] for r in rows} == {"synth"}
    assert rows[1]["recording_id"] == "syn-3-00001"
    # the WAV holds exactly what render_recording returns
    params = json.loads((tmp_path / "a" / "audio" / "syn-3-00002.json").read_text())
    audio, _ = render_recording(label="warship", seed=params["seed"], duration_s=1.5)
    wav, sr = sf.read(tmp_path / "a" / "audio" / "syn-3-00002.wav", dtype="float32")
    assert sr == FS and np.array_equal(wav, audio)
    assert sf.info(tmp_path / "a" / "audio" / "syn-3-00002.wav").subtype == f"PCM_{params['bit_depth']}"


@pytest.mark.parametrize("label, snr", [("merchant", -5.0), ("warship", 12.0), ("drone", 20.0), ("drone", 0.0)])
def test_requested_snr_is_met_when_measured(label, snr):
    # SNR is over the ambient continuum; a render without transient distractors lets the whole ambient stand in
    seed = next(s for s in range(11, 200)
                if calm(render_components(label=label, seed=s, duration_s=0.5, snr_db=snr)[2]))
    vessel, amb, p = render_components(label=label, seed=seed, duration_s=4.0, snr_db=snr)
    n = p["n_samples"]
    lo, hi = p["snr_band_hz"]

    def power(spec):
        f, psd = welch(np.fft.irfft(spec, n), FS, nperseg=4096)
        band = (f >= lo) & (f < hi)
        return np.sum(psd[band]) * (f[1] - f[0])

    assert 10 * np.log10(power(vessel) / power(amb)) == pytest.approx(snr, abs=1.0)
    assert p["snr_achieved_db"] == pytest.approx(snr, abs=0.1)
    lo_m, hi_m = RANGE_LIMITS_BY_FINE_M.get(p["fine_label"], RANGE_LIMITS_M)
    assert lo_m <= p["range_m"] <= hi_m


def test_ambient_sea_state_2_matches_hodges_at_1khz():
    seed = first_seed("ambient", lambda p: p["sea_state"] == 2 and p["shipping_level"] <= 4 and calm(p)
                      and p["recorder"]["clean"])  # a near-clean recorder chain: no resonance, codec, low rate
    audio, p = render_recording(label="ambient", seed=seed, duration_s=10.0)
    pressure = audio.astype(np.float64) * 10 ** (p["clip_level_db"] / 20)  # remove the recorder gain
    f, psd = welch(pressure, FS, nperseg=FS)
    third_octave = (f >= 891) & (f <= 1122)
    assert 10 * np.log10(np.mean(psd[third_octave])) == pytest.approx(58.8, abs=3.0)  # Hodges sea state 2, 1 kHz
    assert p["snr_db"] is None and p["vessel"] is None


def test_cavitating_merchant_demon_recovers_shaft_and_blade_rates():
    """DEMON (acoustics.analysis.lofar_demon, the estimator the previews use) finds the rendered rates. In a calm sea: since
    renderer 0.6 breaking waves modulate the sea noise at wave-group rates (surface_noise.py), which a rough sea puts
    into the DEMON carrier band above the ship, as at sea."""
    seed = first_seed("merchant", lambda p: p["vessel"]["cavitating"] and p["vessel"]["mod_index"] >= 0.3
                      and quiet_ambient(p) and p["sea_surface"]["bursty_share"] < 0.1, snr_db=15.0)
    audio, p = render_recording(label="merchant", seed=seed, duration_s=20.0, snr_db=15.0)
    v = p["vessel"]
    dm = demon(audio, FS, fmax_hz=40.0)
    shaft, blade = v["shaft_hz"][0], v["blades"] * v["shaft_hz"][0]
    power = 10 ** (dm.db / 10)
    floor = np.median(power[dm.freqs_hz > 0.7])

    def line(f_hz):  # strongest bin within ±0.15 Hz of f_hz (rates wander slightly, Wales 1997)
        return power[np.abs(dm.freqs_hz - f_hz) <= 0.15].max()

    order = dm.peak_hz(0.7) / shaft
    assert abs(order - round(order)) * shaft < 0.15, (dm.peak_hz(0.7), shaft)  # the top line is a shaft harmonic
    assert line(blade) > 20 * floor
    assert max(line(k * shaft) for k in range(1, v["blades"])) > 4 * floor  # shaft harmonics below the blade rate


def test_no_modulation_below_cavitation_inception():
    for seed in range(12):
        for label in ("merchant", "warship", "drone"):
            _, _, p = render_components(label=label, seed=seed, duration_s=0.5)
            v = p["vessel"]
            assert (v["mod_index"] > 0) == (v["cis_kn"] is not None and v["speed_kn"] > v["cis_kn"])  # aerial: no CIS
            if v["fine_label"] == "frigate_quiet":
                assert not v["cavitating"]
            if v["fine_label"] == "frigate_sprint":
                assert v["cavitating"] and v["mod_index"] >= 0.35


@pytest.mark.parametrize("fs", [8000, 16000, 48000])
def test_uuv_tones_stay_below_0_45_fs(fs):
    audio, p = render_recording(label="drone", fine_label="uuv", seed=5, duration_s=2.0, sample_rate=fs)
    freqs = [t["f_hz"] for t in p["vessel"]["tonals"]]
    assert freqs and max(freqs) < 0.45 * fs
    pwm = [t for t in p["vessel"]["tonals"] if t["kind"] == "pwm"]
    assert (len(pwm) > 0) == (fs >= 16000)  # the A18D-like 5–6 kHz group fits only above 12 kHz sampling
    if pwm:
        levels = [t["level_db"] for t in pwm if t["sideband"] == 0 and t["order"] in (1, 2, 4)]
        assert all(77 <= x <= 120 for x in levels)
    spec = np.abs(np.fft.rfft(audio.astype(np.float64))) ** 2
    f = np.fft.rfftfreq(len(audio), 1 / fs)
    if p["clipped_fraction"] == 0:
        assert spec[f >= 0.45 * fs].sum() < 1e-4 * spec.sum()


def test_uuv_pwm_group_stands_out_of_the_spectrum():
    vessel, amb, p = render_components(label="drone", fine_label="uuv", seed=2, duration_s=4.0, snr_db=10.0)
    centre = [t for t in p["vessel"]["tonals"] if t["kind"] == "pwm" and t["sideband"] == 0][0]["f_hz"]
    n = p["n_samples"]
    f, psd = welch(np.fft.irfft(vessel + amb, n), FS, nperseg=FS // 2)
    k = np.argmin(np.abs(f - centre))
    assert 10 * np.log10(psd[k] / np.median(psd[(f > 4000) & (f < 7000)])) > 10


def test_classes_differ_as_physics_says():
    """Cargo ships put their energy below 100 Hz (McKenna 2012); drones' spectra are flatter (tonals at kHz,
    broadband above a few hundred Hz); a sprinting frigate is far louder at source than a quiet one."""

    def lf_over_hf(label, seeds, fine=None):
        out = []
        for s in seeds:
            vessel, _, p = render_components(label=label, fine_label=fine, seed=s, duration_s=2.0, snr_db=20.0)
            n = p["n_samples"]
            f = np.fft.rfftfreq(n, 1 / FS)
            pw = np.abs(vessel) ** 2
            out.append(10 * np.log10(pw[(f >= 10) & (f < 100)].sum() / pw[(f >= 1000) & (f < 7000)].sum()))
        return np.mean(out)

    cargo = np.mean([lf_over_hf("merchant", range(3), fine) for fine in ("bulker", "container", "tanker")])
    drones = np.mean([lf_over_hf("drone", range(3), fine) for fine in ("uuv", "usv")])
    assert cargo > drones + 6.0
    quiet = [render_components(label="warship", fine_label="frigate_quiet", seed=s, duration_s=1.0)[2]
             for s in range(3)]
    sprint = [render_components(label="warship", fine_label="frigate_sprint", seed=s, duration_s=1.0)[2]
              for s in range(3)]
    assert min(p["source_band_level_db"] for p in sprint) > max(p["source_band_level_db"] for p in quiet) + 10


def test_ambient_model_combines_in_power():
    f = np.array([1000.0])
    both = ambient_psd_db(f, sea_state=2, shipping_level=1, self_noise_db=25)
    assert 58.8 < float(both[0]) < 58.8 + 0.2  # sea state dominates; the others add a little in power


# --- renderer 0.5: blade lines over the ship's own continuum; source-model shift ----------------------------
LINE_FS, LINE_S = 2000, 30.0


def blade_line_over_continuum_db(vessel_spec, p):
    """Power of the first blade-rate line over the local continuum density [dB re 1 Hz], measured in a 0.1 Hz
    Welch spectrum of the received vessel component: the line's bins (±7 %, FM and drift) minus the continuum under
    them. The continuum is a power law fitted (in dB against log f) to the bins within ±4 Hz away from every tonal
    of the vessel, so the steep low-frequency slopes (surface image, source models) do not bias it."""
    v = p["vessel"]
    f, psd = welch(np.fft.irfft(vessel_spec, p["n_samples"]), LINE_FS, nperseg=int(10 * LINE_FS))
    df = f[1] - f[0]
    f0 = min((t for t in v["tonals"] if t["kind"] == "shaft1_blade"), key=lambda t: t["order"])["f_hz"]
    tones = np.array([t["f_hz"] for t in v["tonals"]])
    near_a_line = np.any(np.abs(f[:, None] - tones[None, :]) <= np.maximum(0.3, 0.07 * tones)[None, :], axis=1)
    ring = (np.abs(f - f0) <= 4.0) & ~near_a_line & (f > 0.5)
    slope, offset = np.polyfit(np.log10(f[ring]), 10 * np.log10(psd[ring]), 1)

    def continuum(x):
        return 10 ** ((offset + slope * np.log10(x)) / 10) * np.mean(psd[ring] / 10 ** ((offset + slope
                                                                                           * np.log10(f[ring])) / 10))

    window = np.abs(f - f0) <= max(0.3, 0.07 * f0)
    line = np.sum(psd[window] - continuum(f[window])) * df
    return 10 * np.log10(max(line, 1e-30) / continuum(f0))


@pytest.mark.parametrize("model", ["je", "wh", "randi"])
def test_first_blade_line_stands_above_the_ships_own_continuum(model):
    """At SNR >= 10 dB every merchant type, whatever broadband model renders it, shows its blade-rate line above its
    own continuum (renderer 0.4 drew W–H / RANDI lines over JE, leaving most W–H blade lines under the continuum)."""
    from uwac.acoustics.synth.vessels import MERCHANT

    for fine in MERCHANT:
        for seed in range(3):
            vessel, _, p = render_components(label="merchant", fine_label=fine, seed=seed, duration_s=LINE_S,
                                             sample_rate=LINE_FS, snr_db=12.0, source_model=model)
            assert p["vessel"]["source_model"] == model
            assert blade_line_over_continuum_db(vessel, p) > 0.0, (fine, seed)


def test_render_dataset_merchant_models_for_a_source_model_shift(tmp_path):
    kw = dict(minutes=6 * 1.0 / 60, seed=5, clip_seconds=1.0, progress=False, workers=1, classes=("merchant",))
    render_dataset(out_dir=tmp_path / "a", merchant_models=("wh", "je"), **kw)
    render_dataset(out_dir=tmp_path / "b", merchant_models=("je", "wh"), **kw)
    render_dataset(out_dir=tmp_path / "c", merchant_models=("randi",), **kw)
    render_dataset(out_dir=tmp_path / "d", **kw)
    assert _tree_bytes(tmp_path / "a") == _tree_bytes(tmp_path / "b")  # same settings, same bytes

    def models(d):
        return {json.loads(p.read_text())["vessel"]["source_model"] for p in (tmp_path / d / "audio").glob("*.json")}

    def config(d):
        return json.loads((tmp_path / d / "synth_config.json").read_text())

    assert models("a") <= {"je", "wh"} and models("c") == {"randi"}
    assert config("a")["merchant_models"] == ["je", "wh"] and config("c")["merchant_models"] == ["randi"]
    assert config("d")["merchant_models"] == ["je", "wh", "randi"]
    with pytest.raises(ValueError, match="merchant models"):
        render_dataset(out_dir=tmp_path / "e", merchant_models=("ross",), **kw)


def test_cli_synth_merchant_models(tmp_path):
    from uwac.acoustics.cli import build_parser

    args = build_parser().parse_args(["synth", "--out", str(tmp_path / "s"), "--minutes", str(2 / 60),
                                      "--clip-seconds", "1", "--workers", "1", "--merchant-models", "je", "wh"])
    args.func(args)
    assert json.loads((tmp_path / "s" / "synth_config.json").read_text())["merchant_models"] == ["je", "wh"]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["synth", "--out", "x", "--merchant-models", "ross"])
