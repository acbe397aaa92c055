"""Intermittent sea-surface noise (surface_noise.py, renderer 0.6): breaking-wave bursts and rain gusts keep the
long-term density of the tables, scale with the sea, show as slow envelope modulation, and are seeded."""

import numpy as np
import pytest
from scipy.signal import butter, sosfiltfilt, welch

from uwac.acoustics.synth import ambient, surface_noise
from uwac.acoustics.synth.events import composition

FS = 16000
QUIET = {"shipping_level": 1, "self_noise_db": 0.0, "rain_mm_h": 0.0,
         "distractors": dict.fromkeys(composition.DISTRACTOR_NAMES)}


def render(env, seed=0, duration_s=10.0):
    n = int(duration_s * FS)
    return np.fft.irfft(ambient.ambient_spectrum(np.random.default_rng(seed), env, n, FS), n)


def band_envelope(x, lo=1000.0, hi=3000.0):
    """Square-law envelope of the lo–hi Hz band [µPa²]."""
    return sosfiltfilt(butter(4, [lo, hi], "band", fs=FS, output="sos"), x) ** 2


def slow_modulation_db(x):
    """Envelope spectrum 0.5–4 Hz over 10–40 Hz [dB]: 0 for stationary noise, positive for slow bursts."""
    f, p = welch(band_envelope(x), FS, nperseg=2 * FS)
    return 10 * np.log10(p[(f >= 0.5) & (f <= 4)].mean() / p[(f >= 10) & (f <= 40)].mean())


def test_whitecap_coverage_is_monahan():
    assert surface_noise.whitecap_fraction(10.0) == pytest.approx(3.84e-6 * 10 ** 3.41)
    assert surface_noise.whitecap_fraction(0.0) == 0.0
    assert surface_noise.wind_speed_m_s(4) == 9.35 and surface_noise.wind_speed_m_s(4.5) == pytest.approx(10.825)


def test_burst_ramp_spans_100_to_500_hz():
    r = surface_noise.burst_ramp([50.0, 100.0, np.sqrt(100 * 500), 500.0, 5000.0])
    np.testing.assert_allclose(r, [0.0, 0.0, 0.5, 1.0, 1.0], atol=1e-12)


@pytest.mark.parametrize("sea_state", [2, 4, 6])
def test_breaking_gain_has_unit_mean_power(sea_state):
    """E[gain²] = 1, so the bursts redistribute the table's power in time and never add or remove it."""
    p = surface_noise.draw_surface(np.random.default_rng(sea_state), {"sea_state": sea_state})
    n = 600 * FS  # 10 minutes: many events, long-wave cycles and fast fluctuations
    g, rec = surface_noise.breaking_gain(np.random.default_rng(1), p, n, FS)
    assert g.shape == (n,) and np.all(g >= 0)
    assert float(np.mean(g.astype(np.float64) ** 2)) == pytest.approx(1.0, abs=0.15)
    assert rec["events"] > 0 and rec["gain_db_p10_p90"][1] > rec["gain_db_p10_p90"][0]


def test_rain_gain_has_unit_mean_power():
    p = surface_noise.draw_surface(np.random.default_rng(0), {"sea_state": 1})
    p["rain_gust_time_s"], p["rain_gust_sigma"] = 2.0, 1.0
    fs = 200  # the gust envelope lives on a 20 Hz grid: a low rate gives hours of gusts in little memory
    g = surface_noise.rain_gain(np.random.default_rng(2), p, 6 * 3600 * fs, fs)
    assert float(np.mean(g.astype(np.float64) ** 2)) == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize("sea_state", [2, 6])
def test_long_term_density_stays_the_tables(sea_state):
    """Over many renders the 1 kHz third-octave density keeps Hodges' sea-state level (±1.5 dB in the mean)."""
    lv = []
    for seed in range(8):
        x = render({"sea_state": sea_state, **QUIET}, seed=seed)
        f, psd = welch(x, FS, nperseg=FS // 4)
        band = (f >= 1000 * 2 ** (-1 / 6)) & (f <= 1000 * 2 ** (1 / 6))
        lv.append(np.mean(psd[band]))
    assert 10 * np.log10(np.mean(lv)) == pytest.approx(ambient.HODGES_SEA_STATE_DB[sea_state][4], abs=1.5)


def test_bursts_modulate_the_envelope_slowly_and_grow_with_the_sea():
    """Stationary noise has a flat envelope spectrum; breaking waves put power at wave-group rates (0.5–4 Hz),
    as real wind noise does (SanctSound wind/wave clips: 2–7 dB). Calm seas have almost no whitecaps."""
    def median_mod(ss, **surface):
        return np.median([slow_modulation_db(render({"sea_state": ss, **QUIET, "sea_surface": surface}, seed=s))
                          for s in range(5)])
    flat = median_mod(4, near_share=0.0)
    assert abs(flat) < 1.0
    assert median_mod(4) > flat + 3.0
    calm = surface_noise.draw_surface(np.random.default_rng(0), {"sea_state": 0})
    rough = surface_noise.draw_surface(np.random.default_rng(0), {"sea_state": 5})
    assert calm["bursty_share"] < surface_noise.MIN_BURSTY_SHARE < rough["bursty_share"]
    assert rough["concurrent_events"] > surface_noise.draw_surface(np.random.default_rng(0),
                                                                    {"sea_state": 2})["concurrent_events"]


def test_rain_comes_in_gusts():
    env = {"sea_state": 0, **QUIET, "rain_mm_h": 20.0, "sea_surface": {"rain_gust_sigma": 1.0,
                                                                       "rain_gust_time_s": 2.0}}
    e = band_envelope(render(env, duration_s=30.0))
    per_s = e[: 30 * FS].reshape(30, FS).mean(axis=1)
    steady = dict(env, sea_surface={"rain_gust_sigma": 0.0})
    per_s0 = band_envelope(render(steady, duration_s=30.0))[: 30 * FS].reshape(30, FS).mean(axis=1)
    assert per_s.std() / per_s.mean() > 3 * per_s0.std() / per_s0.mean()


def test_seeded_and_recorded():
    env = {"sea_state": 4, **QUIET}
    a, b = render(dict(env), seed=3), render(dict(env), seed=3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, render(dict(env), seed=4))
    rec = dict(env)
    render(rec, seed=3)
    s = rec["sea_surface"]
    assert s["breaking"]["events"] >= 0 and 0 < s["bursty_share"] < 1
    # the recorded parameters render the same again (a render's JSON is its recipe)
    again = {**env, "sea_surface": {k: v for k, v in s.items() if k != "breaking"}}
    np.testing.assert_allclose(render(again, seed=3), a, rtol=1e-6, atol=1e-9 * np.abs(a).max())
