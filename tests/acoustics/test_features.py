"""The numpy reference front-end against librosa, and its gain invariance."""

import librosa
import numpy as np
import pytest

from uwac.acoustics.features import FrontendConfig, features, frames, mel_filterbank, mel_power

CFG = FrontendConfig()


def librosa_mel(x, cfg):
    return librosa.feature.melspectrogram(y=x, sr=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length,
                                          window="hann", center=False, power=2.0, n_mels=cfg.n_mels,
                                          fmin=cfg.fmin, fmax=cfg.f_max, htk=False, norm="slaney")


def test_mel_filterbank_matches_librosa():
    ref = librosa.filters.mel(sr=CFG.sample_rate, n_fft=CFG.n_fft, n_mels=CFG.n_mels, fmin=CFG.fmin, fmax=CFG.f_max,
                              htk=False, norm="slaney", dtype=np.float64)
    np.testing.assert_allclose(mel_filterbank(CFG), ref, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("cfg", [CFG, FrontendConfig(sample_rate=32000, n_fft=2048, hop_length=800, n_mels=96, fmin=20.0)])
def test_mel_power_matches_librosa(cfg):
    rng = np.random.default_rng(1)
    t = np.arange(3 * cfg.sample_rate) / cfg.sample_rate
    x = 0.1 * rng.standard_normal(t.size) + 0.3 * np.sin(2 * np.pi * 117.0 * t) + 0.05 * np.sin(2 * np.pi * 3100.0 * t)
    ours, ref = mel_power(x, cfg), librosa_mel(x, cfg)
    assert ours.shape == ref.shape == (cfg.n_mels, cfg.n_frames(x.size))
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-4 * ref.max())
    x32 = x.astype(np.float32)
    np.testing.assert_allclose(mel_power(x32, cfg), librosa_mel(x32, cfg), rtol=1e-4, atol=1e-4 * ref.max())


def test_batch_equals_single():
    x = np.random.default_rng(2).standard_normal((3, 20000))
    batched = mel_power(x, CFG)
    for i in range(3):
        np.testing.assert_allclose(batched[i], mel_power(x[i], CFG), rtol=1e-12)


def test_features_gain_invariant():
    x = np.random.default_rng(3).standard_normal(48000) * 1e-3
    ref = features(x, CFG)
    for gain in (0.01, 100.0):
        np.testing.assert_allclose(features(x * gain, CFG), ref, atol=1e-9)
    assert np.abs(ref).max() > 0.05  # not a constant output


def test_silence_is_finite():
    assert np.all(np.isfinite(features(np.zeros(48000), CFG)))


def test_too_short_is_a_clear_error():
    with pytest.raises(ValueError, match="shorter than one frame"):
        frames(np.zeros(100), CFG)
