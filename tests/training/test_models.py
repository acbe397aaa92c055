"""Model families: shapes at any length, sizes, ONNX export under the contract, gain invariance, MACs."""

import numpy as np
import pytest
import torch
from torch import nn

from uwac.acoustics.features import FrontendConfig
from uwac.training.complexity import count_macs, count_parameters, describe
from uwac.training.config import ModelConfig, TrainConfig
from uwac.training.models import Classifier, build_classifier, build_net

CFG = FrontendConfig()
WINDOW = 48_000            # 3 s at 16 kHz
LONG = 116_800             # 7.3 s
FAMILIES = {
    "cnn-small": (ModelConfig(name="cnn", size="small"), 64),
    "cnn-base": (ModelConfig(name="cnn", size="base"), 128),
    "transformer": (ModelConfig(name="transformer"), 96),
}


def model(key: str, seed: int = 0) -> Classifier:
    torch.manual_seed(seed)
    return build_classifier(CFG, FAMILIES[key][0], n_classes=4).eval()


def signal(batch: int, n: int, seed: int = 0) -> np.ndarray:
    """Noise plus a random tone per row, full scale about ±0.3."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / CFG.sample_rate
    tones = 0.2 * np.sin(2 * np.pi * np.outer(rng.uniform(20, 6000, batch), t))
    return (0.05 * rng.standard_normal((batch, n)) + tones).astype(np.float32)


@pytest.mark.parametrize("key", FAMILIES)
def test_shapes_at_window_and_longer(key):
    m, emb_dim = model(key), FAMILIES[key][1]
    for n in (WINDOW, LONG):
        with torch.no_grad():
            logits, probs, emb = m(torch.from_numpy(signal(2, n)))
        assert logits.shape == probs.shape == (2, 4) and emb.shape == (2, emb_dim)
        assert torch.isfinite(logits).all() and torch.allclose(probs.sum(1), torch.ones(2))


def test_sizes_and_parameter_counts():
    counts = {key: count_parameters(model(key)) for key in FAMILIES}
    assert counts["cnn-base"] == 327_124  # the network shipped before sizes existed, unchanged
    assert counts["cnn-small"] < counts["cnn-base"]
    assert 200_000 <= counts["transformer"] <= 800_000


def test_explicit_widths_override_size_and_unknown_family_is_refused():
    net = build_net(ModelConfig(size="small", channels=[4, 8], embedding_dim=16), n_classes=3, frontend=CFG)
    assert net.head.in_features == 16 and net.embed[0].in_features == 2 * 8
    with pytest.raises(ValueError, match="unknown model family 'rnn'"):
        build_net(ModelConfig(name="rnn"), n_classes=4, frontend=CFG)


@pytest.mark.parametrize("key", ["transformer", "cnn-small"])
def test_exports_under_the_contract_with_parity(key, tmp_path):
    from uwac.acoustics.contract import load_session, run_batch
    from uwac.export.onnx_export import export_onnx, metadata_props

    cfg = TrainConfig()
    cfg.model = FAMILIES[key][0]
    m = model(key)
    props = metadata_props(cfg, {"metrics": {}, "epoch": 0}, count_parameters(m), 0.5)
    path = export_onnx(m, tmp_path / f"{key}.onnx", window_samples=cfg.window_samples(), props=props)
    session, info = load_session(path)  # parses and checks the uwac.* metadata
    assert info.model["name"] == cfg.model.name and info.classes == tuple(cfg.classes)
    for batch in (1, 3):
        for n in (WINDOW, LONG):
            x = signal(batch, n, seed=batch + n)
            out = run_batch(session, x)
            with torch.no_grad():
                _, probs, emb = m(torch.from_numpy(x))
            assert np.abs(out["probabilities"] - probs.numpy()).max() <= 1e-4
            np.testing.assert_allclose(out["embedding"], emb.numpy(), atol=1e-4 * float(emb.abs().max()))


@pytest.mark.parametrize("gain", [0.01, 100.0])
def test_transformer_scores_are_gain_invariant(gain):
    m = model("transformer", seed=3)
    x = torch.from_numpy(signal(6, WINDOW, seed=1))
    with torch.no_grad():
        ref = m(x)[1]
        got = m(x * gain)[1]
    assert torch.equal(ref.argmax(1), got.argmax(1))
    assert (ref - got).abs().max() <= 1e-3


def test_transformer_is_deterministic_on_cpu():
    x = torch.from_numpy(signal(2, WINDOW))
    grads = []
    previous = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        for _ in range(2):
            m = model("transformer").train()
            torch.manual_seed(1)  # same dropout masks
            m(x)[0].logsumexp(1).sum().backward()
            grads.append(torch.cat([p.grad.flatten() for p in m.parameters()]))
    finally:
        torch.use_deterministic_algorithms(previous)
    assert torch.equal(grads[0], grads[1])


class _TinyFrontend(nn.Module):
    """8 filters of 16 taps at stride 16: ``[batch, samples] -> [batch, 8, samples // 16]``."""

    def __init__(self):
        super().__init__()
        self.cfg = CFG
        self.conv = nn.Conv1d(1, 8, 16, stride=16, bias=False)

    def forward(self, audio):
        return self.conv(audio.unsqueeze(1))


class _TinyNet(nn.Module):
    """Time average then one Linear 8 -> 4."""

    def __init__(self):
        super().__init__()
        self.head = nn.Linear(8, 4)

    def forward(self, features):
        emb = features.mean(-1)
        return self.head(emb), emb


def test_count_macs_matches_the_hand_formula():
    tiny = Classifier(_TinyFrontend(), _TinyNet())
    macs = count_macs(tiny, 1600)
    assert macs == {"frontend_macs": 8 * 16 * 100, "network_macs": 8 * 4, "total_macs": 8 * 16 * 100 + 8 * 4}
    assert count_parameters(tiny) == 8 * 16 + 8 * 4 + 4


def test_count_macs_of_the_base_cnn():
    m = model("cnn-base").train()
    macs = count_macs(m, WINDOW)
    assert m.training  # mode restored
    assert macs["frontend_macs"] > 0 and macs["network_macs"] > 0
    assert macs["frontend_macs"] + macs["network_macs"] == macs["total_macs"]
    line = describe(m, WINDOW)
    assert line.startswith("cnn/base: 327,124 parameters;") and "per 3.0 s window" in line
