"""Hand-made baseline features: gain-invariant, and each responds to the physics it names."""

import numpy as np

from uwac.acoustics.handcrafted import feature_names, window_features

FS = 16000


def noise(seconds=3.0, seed=0):
    return np.random.default_rng(seed).standard_normal(int(seconds * FS)) * 0.01


def feats(x):
    return dict(zip(feature_names(FS), window_features(x, FS), strict=True))


def test_names_match_and_gain_invariant():
    x = noise()
    f = window_features(x, FS)
    assert f.shape == (len(feature_names(FS)),) and np.all(np.isfinite(f))
    for gain in (0.01, 100.0):
        np.testing.assert_allclose(window_features(x * gain, FS), f, rtol=1e-6, atol=1e-6)


def test_a_line_shows_in_lofar_features():
    t = np.arange(3 * FS) / FS
    plain, toned = feats(noise()), feats(noise() + 0.01 * np.sin(2 * np.pi * 50.0 * t))
    assert toned["lines_10_100_max_db"] > plain["lines_10_100_max_db"] + 10
    assert toned["lines_10_100_count"] >= 1


def test_cavitation_modulation_shows_in_demon_features():
    t = np.arange(3 * FS) / FS
    x = noise(seed=1) * (1 + 0.6 * np.sin(2 * np.pi * 8.0 * t))
    f = feats(x)
    assert abs(f["demon_peak_hz"] - 8.0) < 0.5 and f["demon_peak_db"] > 10


def test_impulses_raise_kurtosis():
    x = noise(seed=2)
    x[::4000] += 0.5
    assert feats(x)["kurtosis_hp"] > 10 * feats(noise(seed=2))["kurtosis_hp"]
