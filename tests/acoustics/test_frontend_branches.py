"""The numpy physics branches: lines land where they are, modulation shows at its rate, gain does not matter."""

import numpy as np
import pytest
from scipy import signal

from uwac.acoustics.features import FrontendConfig, features, mel_power
from uwac.acoustics.frontend import physics_features
from uwac.acoustics.frontend.bins import demon_freqs, envelope_rate, lofar_bins, lofar_freqs, lofar_rate
from uwac.acoustics.frontend.demon_gram import demon_gram, demon_min_samples
from uwac.acoustics.frontend.filters import split_window_mean, strided_fir, tpsw_background
from uwac.acoustics.frontend.lofar_gram import lofar_frames, lofar_gram, lofar_min_samples

CFG = FrontendConfig(branches=("mel", "lofar", "demon"), mel_norm="band", n_fft=256, hop_length=256, n_mels=32,
                     fmin=150.0, fmax=8000.0).validate()
FS = CFG.sample_rate


def noise(seconds=6.0, seed=0, level=0.05):
    return level * np.random.default_rng(seed).standard_normal(int(seconds * FS))


def test_lofar_bins_are_finer_than_a_third_of_a_hertz_over_10_hz_to_1_khz():
    f = lofar_freqs(CFG)
    assert f[0] <= 10.0 + 1e-9 or f[0] - 10.0 < np.diff(f)[0]
    assert f[-1] >= 1000.0 - np.diff(f)[0]
    assert np.diff(f).max() <= 1.0 / 3.0
    assert lofar_rate(CFG) / 2 > 1000.0
    d = demon_freqs(CFG)
    assert np.diff(d).max() <= 1.0 / 3.0 and d[0] <= 0.7 and d[-1] >= 100.0 - np.diff(d)[0]


@pytest.mark.parametrize("f_hz", [12.3, 57.0, 123.4, 410.2, 987.6])
def test_a_tone_lands_within_one_lofar_bin_of_its_frequency(f_hz):
    t = np.arange(6 * FS) / FS
    x = noise() + 0.005 * np.sin(2 * np.pi * f_hz * t + 0.3)
    gram = lofar_gram(x, CFG)
    freqs = lofar_freqs(CFG)
    peak = freqs[gram.mean(axis=0).argmax()]
    assert abs(peak - f_hz) <= np.diff(freqs)[0]
    assert gram.mean(axis=0).max() * 10 > 15.0  # dB over background
    assert np.median(gram) * 10 == pytest.approx(0.0, abs=2.5)  # noise bins sit near their background


def test_lofar_decimation_keeps_tones_above_the_band_out():
    """A tone 600 Hz below the decimated rate (2.6 kHz at 3.2 kHz) would alias to 600 Hz without the low-pass;
    it must not appear."""
    t = np.arange(6 * FS) / FS
    tone = lofar_rate(CFG) - 600.0
    x = noise() + 0.2 * np.sin(2 * np.pi * tone * t)  # 50 dB over the noise in a LOFAR bin
    alias = abs(lofar_rate(CFG) - tone)
    near = np.abs(lofar_freqs(CFG) - alias) < 1.0
    assert lofar_gram(x, CFG).mean(axis=0)[near].max() * 10 < 6.0


@pytest.mark.parametrize("rate_hz", [1.7, 7.3, 33.0, 91.0])
def test_am_at_rate_r_shows_a_demon_peak_at_r_in_every_band(rate_hz):
    t = np.arange(6 * FS) / FS
    rng = np.random.default_rng(3)
    carrier = signal.sosfilt(signal.butter(4, [800, 7500], btype="band", fs=FS, output="sos"), rng.standard_normal(t.size))
    x = 0.01 * rng.standard_normal(t.size) + carrier * (1.0 + 0.5 * np.sin(2 * np.pi * rate_hz * t))
    gram = demon_gram(x, CFG)  # [bands, frames, bins]
    freqs = demon_freqs(CFG)
    for band in gram:
        assert abs(freqs[band.mean(axis=0).argmax()] - rate_hz) <= np.diff(freqs)[0]
        assert band.mean(axis=0).max() * 10 > 12.0


@pytest.mark.parametrize("gain_db", [-40.0, 40.0])
def test_every_branch_is_gain_invariant(gain_db):
    t = np.arange(6 * FS) / FS
    x = noise() + 0.01 * np.sin(2 * np.pi * 77.0 * t) * (1 + 0.3 * np.sin(2 * np.pi * 4.0 * t))
    ref = physics_features(x, CFG)
    got = physics_features(x * 10 ** (gain_db / 20), CFG)
    for name in ref:
        np.testing.assert_allclose(got[name], ref[name], atol=1e-6, err_msg=name)


def test_band_normalised_mel_removes_each_bands_mean_and_ignores_colour():
    x = noise()
    z = features(x, CFG)
    np.testing.assert_allclose(z.mean(axis=-1), 0.0, atol=1e-9)
    coloured = signal.lfilter([1.0, -0.95], [1.0], x)  # a strong spectral tilt (a recorder's colour)
    # colour changes the window-normalised log-mel a lot, the band-normalised one barely
    window = FrontendConfig(**{**CFG.to_dict(), "mel_norm": "window", "lofar": CFG.lofar, "demon": CFG.demon})
    assert np.abs(features(coloured, CFG) - z).mean() < 0.2 * np.abs(features(coloured, window) - features(x, window)).mean()
    assert mel_power(x, CFG).shape == z.shape


def test_strided_fir_is_a_strided_correlation():
    rng = np.random.default_rng(0)
    x, h = rng.standard_normal(1000), rng.standard_normal(17)
    y = strided_fir(x, h, 3)
    want = np.correlate(x, h, mode="valid")[::3]
    np.testing.assert_allclose(y, want, rtol=1e-12, atol=1e-12)


def test_tpsw_background_ignores_the_line_it_measures():
    power = np.ones(200)
    power[100] = 1000.0  # a line
    first = split_window_mean(power, 10, 2)
    assert first[100] == pytest.approx(1.0)  # its own bin is in the gap
    assert first[95] > 1.5  # pass 1: a neighbour's window holds the line
    assert tpsw_background(power, half=10, gap=2, clip=2.0)[95] < 1.1  # pass 2 clips it away
    assert split_window_mean(np.ones(50), 10, 2) == pytest.approx(np.ones(50))  # edges are not biased low


def test_frame_counts_and_minimum_lengths():
    assert lofar_frames(6 * FS, CFG) == 3  # 3.2-s frames 1 s apart
    assert lofar_frames(lofar_min_samples(CFG), CFG) == 1 and lofar_frames(lofar_min_samples(CFG) - 1, CFG) == 0
    assert lofar_gram(noise(lofar_min_samples(CFG) / FS + 1e-6), CFG).shape[0] == 1
    assert demon_gram(noise(demon_min_samples(CFG) / FS + 1e-6), CFG).shape[1] == 1
    first, last, start, stop = lofar_bins(CFG)
    assert start >= 1 and start <= first < last < stop
    assert envelope_rate(CFG) == pytest.approx(250.0)


def test_config_refuses_a_band_that_would_alias():
    bad = FrontendConfig(branches=("lofar",), lofar=FrontendConfig().lofar.__class__(fir_cutoff_hz=2300.0))  # > 3200 − 1000
    with pytest.raises(ValueError, match="alias"):
        bad.validate()
    with pytest.raises(ValueError, match="branches"):
        FrontendConfig(branches=("mel", "sonar")).validate()
