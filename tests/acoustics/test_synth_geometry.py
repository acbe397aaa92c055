"""CPA tracks, Doppler, Lloyd's mirror, time-varying propagation, multi-contact scenes and strong labels."""

import csv
import json

import numpy as np
import pytest

from uwac.acoustics.synth import geometry, propagation, render_dataset, render_scene
from uwac.acoustics.synth.scene import propagate_track, scene_components

FS = 16000
WATER = {"water_depth_m": 1000.0, "temperature_c": 10.0, "salinity_ppt": 35.0, "ph": 8.0,
         "bottom_sound_speed_m_s": 1700.0, "receiver_depth_m": 30.0, "wave_rms_m": 0.0}


def ctx(water=WATER, c=1500.0):
    return {"sample_rate": FS, "water": water, "c": c}


def tone_spectrum(f_hz, n):
    """rfft of a cosine on the nearest bin of an n-sample grid, and that bin's frequency [Hz]."""
    f = round(f_hz * n / FS) * FS / n
    return np.fft.rfft(np.cos(2 * np.pi * f * np.arange(n) / FS)), f


def peak(x, pad=16):
    """Frequency [Hz] and amplitude of the strongest line: Hann, zero-padded FFT, parabolic interpolation."""
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size), pad * x.size))
    k = int(np.argmax(spec))
    a, b, c = np.log(spec[k - 1: k + 2])
    d = 0.5 * (a - c) / (a - 2 * b + c)
    return (k + d) * FS / (pad * x.size), np.exp(b - 0.25 * (a - c) * d) * 2 / np.hanning(x.size).sum()


def test_mackenzie_sound_speed_matches_arlpy_oracle():
    assert geometry.soundspeed_mackenzie(27, 35, 10) == pytest.approx(1539.1, abs=0.1)


def test_radial_speed_is_the_physics_md_formula():
    track = {"speed_m_s": 5.0, "d_cpa_m": 100.0, "t_cpa_s": 0.0, "source_depth_m": 0.0}
    t = np.linspace(-60, 60, 7)
    vr = geometry.radial_speed(track, t, 0.0)
    np.testing.assert_allclose(vr, -25.0 * t / np.sqrt(100.0**2 + 25.0 * t * t), atol=1e-12)
    assert vr[0] > 0 > vr[-1]  # approaching, then receding
    r = geometry.path_lengths(track, t, 0.0)[0]
    assert r[3] == pytest.approx(100.0) and r[0] == pytest.approx(np.hypot(100, 300))


@pytest.mark.parametrize("d, theta_deg, fx", [(6, 10, 162), (6, 5, 323), (1, 5, 1900)])
def test_lloyd_crossover_matches_physics_md(d, theta_deg, fx):
    got = propagation.lloyd_crossover_hz(d, np.sin(np.radians(theta_deg)), 1500.0)
    assert got == pytest.approx(fx, rel=0.025)  # physics.md rounds 1937 Hz to 1.9 kHz
    assert float(propagation.lloyd_mirror_smooth(got, d, np.sin(np.radians(theta_deg)))) == pytest.approx(1.0)


def test_lloyd_mirror_falls_6_db_per_octave_below_fx():
    sin_t = np.sin(np.radians(10))
    fx = propagation.lloyd_crossover_hz(6, sin_t)
    f = fx / np.array([16.0, 32.0, 64.0])
    per_octave = -np.diff(10 * np.log10(propagation.lloyd_mirror_smooth(f, 6, sin_t)))
    np.testing.assert_allclose(per_octave, 6.02, atol=0.1)
    assert float(propagation.lloyd_mirror_smooth(100 * fx, 6, sin_t)) == pytest.approx(2.0, rel=0.01)
    # the coherent image (calm sea) has the same low-frequency limit (kΔr)² ≈ (2kd·sinθ)², and a rough sea
    # turns it into the incoherent 2 at high frequency
    track = {"speed_m_s": 0.0, "d_cpa_m": 1000.0, "t_cpa_s": 0.0, "source_depth_m": 6.0}
    r1, r2 = geometry.path_lengths(track, 0.0, 30.0)
    low = propagation.lloyd_mirror_coherent(10.0, r2 - r1, 36.0 / r2, 0.0)
    assert float(low) == pytest.approx(float(propagation.lloyd_mirror_smooth(10.0, 6, 30.0 / 1000.0)), rel=0.02)
    rough = propagation.lloyd_mirror_coherent(np.array([5000.0, 5100.0]), r2 - r1, 36.0 / r2, 5.0)
    np.testing.assert_allclose(rough, 2.0, rtol=1e-3)


@pytest.mark.parametrize("f0", [1000.0, 5600.0])
def test_doppler_shift_matches_formula_and_keeps_the_level(f0):
    """Well past CPA v_r ≈ const: the line sits at f(1 + v_r/c) within 1 % of the shift, at its level."""
    n = 4 * FS
    n_src = n + 400
    track = {"speed_m_s": 5.0, "d_cpa_m": 200.0, "t_cpa_s": -300.0, "source_depth_m": -1.0}  # no surface image
    spec, f = tone_spectrum(f0, n_src)
    y = propagate_track(spec, n_src, track, n, ctx())
    f_meas, amp = peak(y)
    tau = geometry.emission_time(track, 0.5 * n / FS, 30.0, 1500.0)
    vr = float(geometry.radial_speed(track, tau, 30.0))
    expected = f * (1 + vr / 1500.0)
    assert vr < -4.9
    assert abs(f_meas - expected) < 0.01 * abs(expected - f)
    r1, r2 = geometry.path_lengths(track, tau, 30.0)
    gain = propagation.track_power_gain(np.array([f]), r1, r2, geometry.horizontal_range(track, tau),
                                        source_depth_m=-1.0, receiver_depth_m=30.0, water=WATER, c=1500.0,
                                        alpha_db_km=propagation.absorption_db_per_km(np.array([f])))
    assert 20 * np.log10(amp / np.sqrt(gain[0, 0])) == pytest.approx(0.0, abs=0.2)  # linear interp: −2…−7 dB


def test_received_level_follows_range_along_a_pass():
    """White noise on a pass (CPA at 5 s, 100 m): louder at CPA than at the ends by the spreading law."""
    n, n_src = 10 * FS, 10 * FS + 400
    rng = np.random.default_rng(0)
    spec = np.fft.rfft(rng.standard_normal(n_src)) * (np.fft.rfftfreq(n_src, 1 / FS) < 4000)
    water = {**WATER, "wave_rms_m": 5.0}  # rough sea: the image adds in power (factor 2)
    track = {"speed_m_s": 40.0, "d_cpa_m": 100.0, "t_cpa_s": 5.0, "source_depth_m": 30.0}
    y = propagate_track(spec, n_src, track, n, ctx(water))
    level = 10 * np.log10(np.mean(y.reshape(20, -1) ** 2, axis=1))  # 0.5 s frames
    tau = geometry.emission_time(track, (np.arange(20) + 0.5) * 0.5, 30.0, 1500.0)
    r1 = geometry.path_lengths(track, tau, 30.0)[0]
    assert np.argmax(level) in (9, 10) and level[9] > level[0] + 6 and level[10] > level[19] + 6
    np.testing.assert_allclose(level - level[9], -20 * np.log10(r1 / r1[9]), atol=0.7)


@pytest.mark.parametrize("label, t_cpa", [("merchant", -20.0), ("warship", 5.0), ("drone", 40.0)])
def test_requested_snr_is_met_wherever_the_cpa_lies(label, t_cpa):
    _, _, amb_t, p = scene_components(seed=3, duration_s=10.0,
                                      contacts=[{"label": label, "snr_db": 5.0, "t_cpa_s": t_cpa}])
    c = p["contacts"][0]
    assert c["snr_achieved_db"] == pytest.approx(5.0, abs=0.05)
    assert abs(c["snr_correction_db"]) < 1.0  # the solver's model already lands within 1 dB
    assert c["track"]["t_cpa_s"] == t_cpa


def test_one_contact_passing_cpa_gives_a_span_around_cpa():
    audio, p = render_scene(seed=1, duration_s=20.0, water={"receiver_depth_m": 20.0, "water_depth_m": 100.0},
                            contacts=[{"label": "drone", "fine_label": "uuv", "snr_db": 0.0, "t_cpa_s": 10.0,
                                       "speed_kn": 8.0, "source_depth_m": 20.0}])
    (c,) = p["contacts"]
    assert p["snr_threshold_db"] == 0.0 and len(c["snr_series_db"]) == 20
    assert len(c["spans"]) == 1
    start, end = c["spans"][0]
    assert 0.0 < start <= 9.0 and 11.0 <= end < 20.0
    series = np.array(c["snr_series_db"])
    assert series[9:11].max() > series[[0, -1]].max() + 10
    assert audio.dtype == np.float32 and audio.size == 20 * FS


def test_scene_with_no_contact_has_no_spans_and_two_contacts_have_spans_each():
    _, p0 = render_scene(seed=2, duration_s=4.0, contacts=[])
    assert p0["contacts"] == [] and p0["label"] == "ambient" and p0["snr_db"] is None
    _, p2 = render_scene(seed=2, duration_s=4.0, contacts=[{"label": "merchant", "snr_db": 10.0},
                                                            {"label": "drone", "snr_db": 12.0}])
    assert [c["label"] for c in p2["contacts"]] == ["merchant", "drone"]
    assert all(c["spans"] for c in p2["contacts"])
    assert p2["label"] == "drone" and p2["snr_db"] == 12.0  # the top level describes the loudest contact
    assert p0["sea_state"] == p2["sea_state"] and p0["water_depth_m"] == p2["water_depth_m"]


def test_scenes_are_deterministic_and_draw_zero_to_two_contacts():
    a1, p1 = render_scene(seed=5, duration_s=2.0)
    a2, p2 = render_scene(seed=5, duration_s=2.0)
    assert np.array_equal(a1, a2) and json.dumps(p1, sort_keys=True) == json.dumps(p2, sort_keys=True)
    counts = {scene_components(seed=s, duration_s=0.5)[3]["n_contacts"] for s in range(12)}
    assert counts == {0, 1, 2}


def _bytes(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_scene_dataset_writes_strong_labels_independent_of_workers(tmp_path):
    kw = dict(minutes=6 * 2.0 / 60, seed=7, clip_seconds=2.0, progress=False, scenes=True)
    m = render_dataset(out_dir=tmp_path / "a", workers=1, **kw)
    render_dataset(out_dir=tmp_path / "b", workers=2, **kw)
    assert _bytes(tmp_path / "a") == _bytes(tmp_path / "b")
    rows = list(csv.DictReader(m.open()))
    events = list(csv.DictReader((tmp_path / "a" / "events.csv").open()))
    header = (tmp_path / "a" / "events.csv").read_text().splitlines()[0]
    assert header == "recording_id,contact,label,fine_label,start_s,end_s,threshold_db" and events
    for i in range(6):
        rid = f"syn-7-{i:05d}"
        params = json.loads((tmp_path / "a" / "audio" / f"{rid}.json").read_text())
        spans = [(c["label"], *s) for c in params["contacts"] for s in c["spans"]]
        assert len([e for e in events if e["recording_id"] == rid]) == len(spans)
        mine = [r for r in rows if r["recording_id"] == rid]
        assert {r["label"] for r in mine if r["label"] != "ambient"} == {s[0] for s in spans}
        # the rows cover the recording: contact spans plus ambient where no contact is above the threshold
        edges = sorted({float(r["start_s"]) for r in mine} | {float(r["end_s"]) for r in mine})
        assert edges[0] == 0.0 and edges[-1] == pytest.approx(2.0)
        if not params["contacts"]:
            assert [(r["label"], float(r["start_s"]), float(r["end_s"])) for r in mine] == [("ambient", 0.0, 2.0)]
