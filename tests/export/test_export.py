"""ONNX export: the model contract, parity with torch, and evaluation of the exported file."""

import json

import numpy as np
import onnx
import pytest
import torch

from uwac.acoustics.contract import METADATA_KEYS, ModelError, load_session, run_batch
from uwac.acoustics.evaluation.evaluate import evaluate
from uwac.training.checkpoint import load_checkpoint


def test_contract_and_metadata(exported_model):
    session, info = load_session(exported_model)
    assert [i.name for i in session.get_inputs()] == ["audio"]
    assert [o.name for o in session.get_outputs()] == ["logits", "probabilities", "embedding"]
    assert info.classes == ("ambient", "merchant", "warship", "drone")
    assert info.sample_rate == 16000 and info.window_seconds == 3.0 and info.hop_seconds == 1.0
    props = {p.key: p.value for p in onnx.load(str(exported_model)).metadata_props}
    assert set(METADATA_KEYS) <= set(props)
    assert len(json.loads(props["uwac.training"])["manifest_sha256"]) == 64


def test_graph_has_no_stft_and_is_opset_18(exported_model):
    proto = onnx.load(str(exported_model))
    ops = {n.op_type for n in proto.graph.node}
    assert not ops & {"STFT", "DFT", "MelWeightMatrix"}
    assert "Conv" in ops and "MatMul" in ops
    assert {o.domain: o.version for o in proto.opset_import}[""] == 18


def test_onnx_matches_torch_on_three_lengths_and_batches(exported_model, trained_run):
    model, cfg, _ = load_checkpoint(trained_run)
    session, info = load_session(exported_model)
    rng = np.random.default_rng(5)
    w = info.window_samples
    for batch, n in ((1, w), (4, w + 1777), (7, 2 * w + 5)):
        x = (rng.standard_normal((batch, n)) * rng.uniform(0.001, 0.5)).astype(np.float32)
        out = run_batch(session, x)
        with torch.no_grad():
            logits, probs, emb = model(torch.from_numpy(x))
        assert out["probabilities"].shape == (batch, 4) and out["embedding"].shape == (batch, emb.shape[1])
        assert np.abs(out["probabilities"] - probs.numpy()).max() <= 1e-4
        np.testing.assert_allclose(out["probabilities"].sum(1), 1.0, atol=1e-5)


def test_onnx_scores_are_gain_invariant(exported_model, synth_manifest):
    from uwac.acoustics.audio_io import read_span
    from uwac.acoustics.manifest import read_manifest

    session, info = load_session(exported_model)
    rows = read_manifest(synth_manifest)[:4]
    x = np.stack([read_span(r.path, start_s=0, end_s=info.window_seconds)[0] for r in rows])
    ref = run_batch(session, x)["probabilities"]
    for gain in (0.01, 100.0):
        got = run_batch(session, x * gain)["probabilities"]
        assert (got.argmax(1) == ref.argmax(1)).all() and np.abs(got - ref).max() <= 1e-3


def test_evaluate_writes_reports(exported_model, trained_run, tmp_path):
    result = evaluate(model=exported_model, manifest=trained_run / "manifest.csv", out=tmp_path, split="test",
                      progress=False, baseline=trained_run / "baseline.skops")
    for name in ("metrics.json", "scores.csv", "report.md", "confusion_window.png", "confusion_recording.png",
                 "accuracy_vs_snr.png"):
        assert (tmp_path / name).is_file(), name
    assert result["windows"] > 0 and result["all"]["recording"]["n"] == result["recordings"]
    assert "snr_ge_0db" in result
    cm = np.asarray(result["all"]["window"]["confusion"])
    assert cm.sum() == result["windows"]
    from uwac.acoustics.manifest import read_manifest

    vessels = {r.recording_id for r in read_manifest(trained_run / "manifest.csv") if r.split == "test" and r.label != "ambient"}
    assert sum(b["n"] for b in result["accuracy_by_snr"]) == len(vessels) > 0
    bands = result["snr_bands"]["recording"]
    assert len(bands) == 4 and sum(b["vessel_items"] for b in bands) == len(vessels)
    # the baseline scored on the same rows agrees with what training measured on the same test split
    trained = json.loads((trained_run / "metrics.json").read_text())["baseline"]["test"]
    assert result["baseline"]["window"]["n"] == trained["window"]["n"]
    assert abs(result["baseline"]["window"]["macro_f1"] - trained["window"]["macro_f1"]) < 1e-9
    assert "baseline, recording" in (tmp_path / "report.md").read_text()


def test_evaluate_refuses_when_nothing_can_be_scored(exported_model, tmp_path):
    from uwac.acoustics.manifest import Row, write_manifest

    manifest = write_manifest([Row(str(tmp_path / "gone.wav"), 0, 6, "merchant", "tug", "r1", "test")], tmp_path / "m.csv")
    with pytest.raises(ValueError, match="none of 1 span"):
        evaluate(model=exported_model, manifest=manifest, out=tmp_path / "e", progress=False)


def test_missing_or_corrupt_model_is_a_clear_error(tmp_path, exported_model):
    with pytest.raises(ModelError, match="not found"):
        load_session(tmp_path / "none.onnx")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(exported_model.read_bytes()[:5000])
    with pytest.raises(ModelError, match="corrupt"):
        load_session(broken)


def test_model_card_states_what_the_metadata_says(exported_model, trained_run, tmp_path):
    from uwac.acoustics.evaluation.model_card import write_card

    ev = tmp_path / "ev"
    evaluate(model=exported_model, manifest=trained_run / "manifest.csv", out=ev, split="test", progress=False)
    card = write_card(model=exported_model, evaluations=[ev], out=tmp_path / "card.md").read_text()
    _, info = load_session(exported_model)
    assert f"classes: {', '.join(info.classes)}" in card
    assert f"{info.sample_rate} Hz" in card and f"{info.unknown_threshold:.3f}" in card
    assert info.training["manifest_sha256"] in card and "Known limits" in card
    assert "No real-world check was run" in card and "SNR band" in card
    with pytest.raises(FileNotFoundError, match="uwac evaluate"):
        write_card(model=exported_model, evaluations=[tmp_path / "missing"], out=tmp_path / "x.md")
