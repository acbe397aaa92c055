"""The shipped default model (data/models/): it keeps the contract, scores audio, and its card matches its metadata."""

from pathlib import Path

import numpy as np
import pytest

from uwac.acoustics.contract import OPTIONAL_OUTPUTS, OUTPUTS, load_session, run_batch

MODELS = Path(__file__).resolve().parents[1] / "data" / "models"
MODEL, CARD = MODELS / "uwac-default.onnx", MODELS / "uwac-default.card.md"
INT8 = MODELS / "uwac-default.int8.onnx"


def test_shipped_model_keeps_the_contract_and_scores_audio():
    session, info = load_session(MODEL)
    assert info.classes == ("ambient", "merchant", "warship", "drone") and info.sample_rate == 16000
    assert 0 < info.unknown_threshold < 1 and info.calibration["temperature"] > 0
    assert len(info.training["manifest_sha256"]) == 64 and info.training["config_name"] == "default"
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((2, info.window_samples + 3 * info.hop_samples)) * 0.01).astype(np.float32)
    out = run_batch(session, x)
    assert set(OUTPUTS) <= set(out) <= set(OUTPUTS) | set(OPTIONAL_OUTPUTS)
    assert out["probabilities"].shape == (2, len(info.classes))
    if "physics" in out:  # the ear's estimates, in the order its metadata names
        assert out["physics"].shape == (2, len(info.physics["fields"])) and np.isfinite(out["physics"]).all()
    np.testing.assert_allclose(out["probabilities"].sum(1), 1.0, atol=1e-5)
    np.testing.assert_allclose(run_batch(session, x * 30.0)["probabilities"], out["probabilities"], atol=1e-3)


def test_shipped_card_matches_the_metadata():
    from uwac.acoustics.evaluation.model_card import card_markdown

    _, info = load_session(MODEL)
    card = CARD.read_text()
    assert f"classes: {', '.join(info.classes)}" in card and f"{info.sample_rate} Hz" in card
    assert f"{info.unknown_threshold:.3f}" in card and info.training["manifest_sha256"] in card
    assert f"temperature {info.calibration['temperature']:.3f}" in card
    # everything the card says about the model itself is what the file's metadata says today
    header = card_markdown(MODEL, []).split("## Known limits")[0]
    assert card.startswith(header)
    assert "## Evaluation" in card and "Real hydrophone clips" in card
    assert "recording-disjoint" in card  # the split protocol beside every evaluation
    assert "| range (CPA) |" in card and "| sea state |" in card and "| fine type |" in card and "ROC AUC" in card


def test_shipped_int8_passed_its_gate_against_this_fp32_file():
    """The int8 file ships only when its gate passed, and the gate was run against the fp32 file beside it."""
    from uwac.export.quality_gate import file_sha256

    ref_session, ref = load_session(MODEL)
    session, info = load_session(INT8)
    assert ref.variant["status"] == "reference" and info.variant["precision"] == "int8"
    assert info.variant["status"] == "passed" and info.variant["reference_sha256"] == file_sha256(MODEL)
    gate = info.variant["gate"]
    assert gate["macro_f1_delta"] >= -0.01 and gate["worst_recall_delta"] >= -0.05 and gate["agreement"] > 0.95
    # int8 network weights; the front-end's DFT and filter tables stay float (the size goal is in the bench)
    assert INT8.stat().st_size < 0.6 * MODEL.stat().st_size
    assert {k: v for k, v in vars(info).items() if k not in ("path", "variant")} == \
        {k: v for k, v in vars(ref).items() if k not in ("path", "variant")}
    x = (np.random.default_rng(1).standard_normal((3, info.window_samples)) * 0.05).astype(np.float32)
    agree = run_batch(session, x)["probabilities"].argmax(1) == run_batch(ref_session, x)["probabilities"].argmax(1)
    assert agree.mean() >= 2 / 3


@pytest.mark.parametrize("path", [MODEL, CARD, INT8])
def test_shipped_files_are_small(path):
    assert path.stat().st_size < 10 * 2**20
