"""The physics front-end in torch equals its numpy reference; the ear exports as plain ops and is gain-invariant."""

import numpy as np
import pytest
import torch

from uwac.acoustics.frontend import FrontendConfig, physics_features
from uwac.acoustics.frontend.bins import lofar_freqs
from uwac.training.config import ModelConfig, TrainConfig, min_window_samples
from uwac.training.frontend import PhysicsFrontend
from uwac.training.frontend.dft import BandPowerDFT, StridedFIR
from uwac.training.models import build_classifier
from uwac.training.models.ear import HarmonicStem, f0_grid

CFG = FrontendConfig(branches=("mel", "lofar", "demon"), mel_norm="band", n_fft=256, hop_length=256, n_mels=32,
                     fmin=150.0, fmax=8000.0).validate()
FS = CFG.sample_rate
WINDOW = 6 * FS
EAR = ModelConfig(name="ear", physics_weight=0.3)


def signal(batch, n, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / FS
    tones = 0.02 * np.sin(2 * np.pi * np.outer(rng.uniform(20, 900, batch), t))
    am = 1.0 + 0.4 * np.sin(2 * np.pi * np.outer(rng.uniform(1, 30, batch), t))
    return ((0.05 * rng.standard_normal((batch, n))) * am + tones).astype(np.float32)


@pytest.mark.parametrize("n", [WINDOW, WINDOW + 1234, min_window_samples(CFG)])
def test_torch_branches_match_the_numpy_reference(n):
    x = signal(2, n)
    ref = physics_features(x.astype(np.float64), CFG)
    fe = PhysicsFrontend(CFG)
    with torch.no_grad():
        exported, fast = fe(torch.from_numpy(x)), fe.fast(torch.from_numpy(x))
    for name, want in ref.items():
        scale = max(1.0, float(np.abs(want).max()))
        assert exported[name].shape == want.shape, name
        assert np.abs(exported[name].numpy() - want).max() <= 1e-4 * scale, name
        assert np.abs(fast[name].numpy() - want).max() <= 1e-4 * scale, name


def test_exported_path_uses_no_fft_or_complex_numbers(monkeypatch):
    def forbidden(*a, **k):
        raise AssertionError("the exported front-end must not call an FFT or STFT")

    monkeypatch.setattr(torch, "stft", forbidden)
    monkeypatch.setattr(torch.fft, "rfft", forbidden)
    fe = PhysicsFrontend(CFG)
    with torch.no_grad():
        out = fe(torch.from_numpy(signal(1, WINDOW)))
    assert all(not v.is_complex() for v in out.values()) and all(not b.is_complex() for b in fe.buffers())


def test_block_fir_and_band_dft_equal_their_definitions():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 5001))
    taps = rng.standard_normal((3, 41))
    fir = StridedFIR(taps, stride=5, block=8)
    got = fir(torch.from_numpy(x).float()).numpy()
    want = np.stack([[np.correlate(row, t, mode="valid")[::5] for t in taps] for row in x])
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-4 * np.abs(want).max())
    frames = rng.standard_normal((4, 768))
    dft = BandPowerDFT(768, 3, 300)
    want = np.abs(np.fft.rfft(frames, axis=-1)[:, 3:300]) ** 2
    np.testing.assert_allclose(dft(torch.from_numpy(frames).float()).numpy(), want, rtol=1e-4, atol=1e-3 * want.max())


def test_harmonic_matrix_peaks_at_the_fundamental_of_a_comb():
    freqs = lofar_freqs(CFG)
    stem = HarmonicStem(freqs, 2.0, 200.0, 10, out_dim=8, channels=1)
    f0 = f0_grid(2.0, 200.0)
    assert stem.table.shape[0] < freqs.size  # coarse pooling for high harmonics keeps the table small
    for fundamental in (13.7, 61.3):  # a blade-rate family, a firing-rate family
        evidence = torch.zeros(1, freqs.size)
        for k in range(1, 11):
            evidence[0, np.argmin(np.abs(freqs - fundamental * k))] = 1.0
        salience = stem.salience(evidence[None])[0, 0].numpy()
        assert abs(f0[salience.argmax()] / fundamental - 1) < 0.01
        assert salience.max() == pytest.approx(1.0, abs=1e-6)  # every harmonic found at full height


@pytest.mark.parametrize("gain_db", [-40.0, 40.0])
def test_ear_classifier_is_gain_invariant(gain_db):
    torch.manual_seed(0)
    model = build_classifier(CFG, EAR, n_classes=4).eval()
    x = torch.from_numpy(signal(4, WINDOW, seed=2))
    with torch.no_grad():
        ref, got = model(x)[1], model(x * 10 ** (gain_db / 20))[1]
    assert (ref - got).abs().max() <= 1e-4


def test_ear_takes_any_length_of_at_least_one_frame_and_carries_physics_heads():
    torch.manual_seed(0)
    model = build_classifier(CFG, EAR, n_classes=4).eval()
    assert model.physics is not None and set(model.physics.heads) >= {"audible", "blades", "shafts", "pwm"}
    for n in (min_window_samples(CFG), WINDOW, 2 * WINDOW + 77):
        with torch.no_grad():
            logits, probs, emb = model(torch.from_numpy(signal(2, n)))
        assert logits.shape == (2, 4) and torch.allclose(probs.sum(1), torch.ones(2)) and torch.isfinite(emb).all()


def test_ear_exports_as_plain_ops_with_parity(tmp_path):
    import onnx

    from uwac.acoustics.contract import load_session, run_batch
    from uwac.export.onnx_export import export_onnx, metadata_props

    torch.manual_seed(0)
    cfg = TrainConfig(frontend=CFG, model=EAR)
    cfg.data.window_seconds = 6.0
    cfg.data.hop_seconds = 2.0
    cfg.validate()
    model = build_classifier(CFG, EAR, n_classes=4).eval()
    props = metadata_props(cfg, {"metrics": {}, "epoch": 0}, 1, 0.5)
    path = export_onnx(model, tmp_path / "ear.onnx", window_samples=cfg.window_samples(), props=props)
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert not ops & {"STFT", "DFT", "Gather", "GatherND", "GatherElements", "Loop", "Scan"}, ops
    session, info = load_session(path)
    assert info.frontend["branches"] == ["mel", "lofar", "demon"]
    for batch, n in ((1, WINDOW), (3, WINDOW + 4321)):
        x = signal(batch, n, seed=batch)
        with torch.no_grad():
            probs = model(torch.from_numpy(x))[1].numpy()
        assert np.abs(run_batch(session, x)["probabilities"] - probs).max() <= 1e-4
    # digital silence (a muted channel) and near-silence give finite scores in the exported graph, as in torch
    for level in (0.0, 1e-12):
        quiet = np.full((2, WINDOW), level, dtype=np.float32)
        got = run_batch(session, quiet)["probabilities"]
        with torch.no_grad():
            ref = model(torch.from_numpy(quiet))[1].numpy()
        assert np.isfinite(got).all() and np.abs(got - ref).max() <= 1e-4, (level, got)


def test_export_run_writes_the_physics_output_with_its_fields(tmp_path):
    from uwac.acoustics.contract import load_session, physics_estimates, run_batch
    from uwac.export.onnx_export import export_run
    from uwac.training.config import config_to_dict
    from uwac.training.models.classifier import PHYSICS_FIELDS

    torch.manual_seed(0)
    cfg = TrainConfig(frontend=CFG, model=EAR)
    cfg.data.window_seconds, cfg.data.hop_seconds = 6.0, 2.0
    model = build_classifier(CFG, EAR, n_classes=4).eval()
    torch.save({"format": 2, "state_dict": model.state_dict(), "config": config_to_dict(cfg), "epoch": 1,
                "metrics": {}}, tmp_path / "checkpoint_best.pt")
    report = export_run(tmp_path, tmp_path / "ear.onnx")
    assert report["max_abs_prob_diff_vs_torch"] <= 1e-4
    import onnx

    ops = {node.op_type for node in onnx.load(str(tmp_path / "ear.onnx")).graph.node}
    assert not ops & {"STFT", "DFT", "Gather", "GatherND", "GatherElements"}, ops
    session, info = load_session(tmp_path / "ear.onnx")
    assert info.physics["fields"] == list(PHYSICS_FIELDS) and info.min_samples == min_window_samples(CFG)
    out = run_batch(session, signal(2, min_window_samples(CFG)))  # the shortest input the model takes
    est = physics_estimates(info, out["physics"])
    assert len(est) == 2 and 0.5 <= est[0]["shaft_hz"] <= 64 and 3 <= est[0]["blades"] <= 7
    assert all(0 <= e[f] <= 1 for e in est for f in ("audible", "two_shafts", "firing", "cavitating", "pwm"))
