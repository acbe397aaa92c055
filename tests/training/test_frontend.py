"""The torch front-end equals the numpy reference; the classifier is gain-invariant and compact."""

import numpy as np
import pytest
import torch

from uwac.acoustics.features import FrontendConfig, features, mel_power
from uwac.training.config import ModelConfig
from uwac.training.frontend import LogMelFrontend
from uwac.training.models import build_classifier

CFG = FrontendConfig()


def signal(batch=3, n=48000, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / CFG.sample_rate
    tones = 0.2 * np.sin(2 * np.pi * np.outer(rng.uniform(20, 6000, batch), t))
    return (0.05 * rng.standard_normal((batch, n)) + tones).astype(np.float32)


def test_torch_frontend_matches_numpy():
    x = signal()
    fe = LogMelFrontend(CFG)
    with torch.no_grad():
        mel_t = fe.mel_power(torch.from_numpy(x)).numpy()
        feat_t = fe(torch.from_numpy(x)).numpy()
    mel_n = mel_power(x.astype(np.float64), CFG)
    np.testing.assert_allclose(mel_t, mel_n, rtol=1e-4, atol=1e-4 * mel_n.max())
    np.testing.assert_allclose(feat_t, features(x.astype(np.float64), CFG), atol=1e-4)


@pytest.mark.parametrize(("n_fft", "hop", "n"), [(1024, 400, 48000), (1024, 400, 1024), (2048, 512, 20000),
                                                 (512, 512, 9000), (1000, 160, 8000), (1021, 400, 9000)])
def test_factored_dft_matches_numpy_for_any_length(n_fft, hop, n):
    """The two-stage DFT (or the conv fallback for n_fft = 1021, a prime) equals the numpy/librosa reference."""
    cfg = FrontendConfig(n_fft=n_fft, hop_length=hop)
    fe = LogMelFrontend(cfg)
    assert (fe.split is None) == (n_fft == 1021)
    x = signal(2, n)
    with torch.no_grad():
        got = fe.mel_power(torch.from_numpy(x)).numpy()
    want = mel_power(x.astype(np.float64), cfg)
    assert got.shape == want.shape == (2, cfg.n_mels, cfg.n_frames(n))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * want.max())


def test_factored_dft_needs_far_fewer_multiply_adds_and_no_big_table():
    fe = LogMelFrontend(CFG)
    n1, n2 = fe.split
    k2 = fe.stage2.shape[1] // 2
    factored = 2 * n1 * n1 * n2 + 4 * n1 * n2 + n1 * 2 * n2 * 2 * k2 + n1 * k2 * CFG.n_mels
    direct = fe.dft.shape[0] * CFG.n_fft + (CFG.n_fft // 2 + 1) * CFG.n_mels
    assert factored * 5 < direct  # 6.2× fewer at n_fft 1024
    derived = {"stage1", "twiddle_cos", "twiddle_sin", "stage2", "mel_factored"}
    assert derived.isdisjoint(fe.state_dict())  # old checkpoints load; the tables follow the config


def test_frontend_uses_no_stft_or_complex(monkeypatch):
    def forbidden(*a, **k):
        raise AssertionError("front-end must not call an STFT")

    monkeypatch.setattr(torch, "stft", forbidden)
    monkeypatch.setattr(torch.fft, "rfft", forbidden)
    fe = LogMelFrontend(CFG)
    out = fe(torch.from_numpy(signal(1)))
    assert not out.is_complex() and all(not b.is_complex() for b in fe.buffers())


@pytest.mark.parametrize("gain", [0.01, 100.0])
def test_classifier_scores_are_gain_invariant(gain, trained_run, synth_manifest):
    from uwac.acoustics.audio_io import read_span
    from uwac.acoustics.manifest import read_manifest
    from uwac.training.checkpoint import load_checkpoint

    model, cfg, _ = load_checkpoint(trained_run)
    x = torch.from_numpy(np.stack([read_span(r.path, start_s=1.0, end_s=1.0 + cfg.data.window_seconds)[0]
                                   for r in read_manifest(synth_manifest)[:8]]))
    with torch.no_grad():
        ref = model(x)[1]
        got = model(x * gain)[1]
    assert torch.equal(ref.argmax(1), got.argmax(1))
    assert (ref - got).abs().max() <= 1e-3
    assert ref.std(0).max() > 1e-3  # a trained network whose scores differ between recordings


def test_default_cnn_is_compact():
    model = build_classifier(CFG, ModelConfig(), n_classes=4)
    n = sum(p.numel() for p in model.parameters())
    assert 100_000 < n <= 500_000
