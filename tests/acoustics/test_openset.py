"""Open-set figures on hand-built probabilities: exact outcome shares, AUROC, threshold rates, metadata, report."""

import numpy as np
import pytest

from uwac.acoustics.contract import ModelInfo
from uwac.acoustics.evaluation.openset import (
    held_out_fine_labels,
    open_set_metrics,
    outcome_shares,
    render_open_set,
)

CLASSES = ("ambient", "merchant", "warship", "drone")


def one_hot(cls: int, top: float) -> list[float]:
    """A probability row with ``top`` on ``cls`` and the rest spread evenly."""
    row = [(1.0 - top) / 3] * 4
    row[cls] = top
    return row


def test_outcome_shares_are_exact():
    # four held-out drone windows: unknown, called ambient, called drone, called merchant
    probs = [one_hot(3, 0.4), one_hot(0, 0.9), one_hot(3, 0.9), one_hot(1, 0.9)]
    s = outcome_shares(np.array(probs), np.array([3, 3, 3, 3]), CLASSES, unknown_threshold=0.5)
    assert (s["n"], s["unknown"], s["ambient"], s["true_class"], s["wrong_vessel"]) == (4, 0.25, 0.25, 0.25, 0.25)
    assert s["predicted"] == {"ambient": 0.25, "merchant": 0.25, "warship": 0.0, "drone": 0.25, "unknown": 0.25}
    amb = outcome_shares(np.array([one_hot(0, 0.9), one_hot(2, 0.9)]), np.array([0, 0]), CLASSES, unknown_threshold=0.5)
    assert (amb["true_class"], amb["ambient"], amb["wrong_vessel"]) == (0.5, 0.0, 0.5)  # ambient truth: ambient is right
    assert outcome_shares(np.zeros((0, 4)), np.zeros(0), CLASSES, unknown_threshold=0.5)["unknown"] is None


def test_shares_auroc_and_threshold_rates_on_separable_windows():
    held = [one_hot(3, 0.40), one_hot(0, 0.60), one_hot(3, 0.70), one_hot(1, 0.45)]  # uuv: max <= 0.70
    seen_drone = [one_hot(3, 0.90), one_hot(3, 0.95)]                                 # usv
    seen_merchant = [one_hot(1, 0.80), one_hot(2, 0.85)]                              # tanker (one wrong)
    probs = np.array(held + seen_drone + seen_merchant)
    fine = ["uuv"] * 4 + ["usv"] * 2 + ["tanker"] * 2
    labels = ["drone"] * 6 + ["merchant"] * 2
    r = open_set_metrics(probs, fine, labels, CLASSES, held_out=["uuv"], unknown_threshold=0.5)
    w = r["window"]
    assert (w["n_held_out"], w["n_seen"]) == (4, 4)
    assert w["held_out"] == {"n": 4, "unknown": 0.5, "ambient": 0.25, "true_class": 0.25, "wrong_vessel": 0.0,
                             "predicted": {"ambient": 0.25, "merchant": 0.0, "warship": 0.0, "drone": 0.25,
                                           "unknown": 0.5}}
    assert w["seen_same_class"]["n"] == 2 and w["seen_same_class"]["true_class"] == 1.0
    assert w["seen"]["true_class"] == 0.75 and w["seen"]["wrong_vessel"] == 0.25
    assert w["auroc"] == 1.0 and w["auroc_same_class"] == 1.0
    assert (w["tpr_at_threshold"], w["fpr_at_threshold"], w["fpr_same_class_at_threshold"]) == (0.5, 0.0, 0.0)
    by = w["by_fine"]["uuv"]
    assert by["classes"] == ["drone"] and by["seen_fine_labels"] == ["usv"] and by["auroc"] == 1.0
    assert r["recording"] is None and r["held_out"] == ["uuv"] and r["unknown_threshold"] == 0.5


def test_identical_distributions_give_auroc_one_half_and_reversed_gives_zero():
    rows = [one_hot(3, p) for p in (0.3, 0.6, 0.9)]
    probs = np.array(rows + rows)
    r = open_set_metrics(probs, ["uuv"] * 3 + ["usv"] * 3, [3] * 6, CLASSES, held_out=["uuv"], unknown_threshold=0.5)
    assert r["window"]["auroc"] == 0.5
    assert r["window"]["tpr_at_threshold"] == r["window"]["fpr_at_threshold"] == pytest.approx(1 / 3)
    confident = np.array([one_hot(3, 0.99)] * 2 + [one_hot(3, 0.6)] * 2)  # held-out more confident than seen
    r = open_set_metrics(confident, ["uuv", "uuv", "usv", "usv"], [3] * 4, CLASSES, held_out=["uuv"],
                         unknown_threshold=0.5)
    assert r["window"]["auroc"] == 0.0


def test_recording_level_averages_each_recording():
    # recording A (uuv): a 0.9 drone and a 0.9 ambient window average to a top of 0.467 < 0.5: unknown
    probs = np.array([one_hot(3, 0.9), one_hot(0, 0.9), one_hot(3, 0.9), one_hot(3, 0.8), one_hot(3, 0.7)])
    fine = ["uuv", "uuv", "uuv", "usv", "usv"]
    recs = ["A", "A", "B", "C", "C"]
    r = open_set_metrics(probs, fine, [3] * 5, CLASSES, held_out=["uuv"], unknown_threshold=0.5, recording_ids=recs)
    rec = r["recording"]
    assert (rec["n_held_out"], rec["n_seen"]) == (2, 1)
    assert (rec["held_out"]["unknown"], rec["held_out"]["true_class"]) == (0.5, 0.5)
    assert rec["seen"]["true_class"] == 1.0 and rec["auroc"] == 0.5  # B (0.9) above C (0.75), A (0.467) below
    assert r["window"]["held_out"]["n"] == 3


def test_no_held_out_windows_and_errors():
    probs = np.array([one_hot(3, 0.9)])
    r = open_set_metrics(probs, ["usv"], [3], CLASSES, held_out=["uuv"], unknown_threshold=0.5)
    assert r["window"]["n_held_out"] == 0 and r["window"]["auroc"] is None
    assert any("nothing to measure" in line for line in render_open_set(r))
    with pytest.raises(ValueError, match="held-out fine type"):
        open_set_metrics(probs, ["usv"], [3], CLASSES, held_out=[], unknown_threshold=0.5)
    with pytest.raises(ValueError, match=r"\[n, 4\]"):
        open_set_metrics(probs[:, :3], ["usv"], [3], CLASSES, held_out=["uuv"], unknown_threshold=0.5)
    with pytest.raises(ValueError, match="one entry per window"):
        open_set_metrics(probs, ["usv", "uuv"], [3], CLASSES, held_out=["uuv"], unknown_threshold=0.5)
    with pytest.raises(ValueError, match="unknown class label 'submarine'"):
        open_set_metrics(probs, ["usv"], ["submarine"], CLASSES, held_out=["uuv"], unknown_threshold=0.5)


def test_render_names_the_held_out_type_and_its_shares():
    probs = np.array([one_hot(3, 0.4), one_hot(1, 0.9), one_hot(3, 0.95), one_hot(3, 0.97)])
    r = open_set_metrics(probs, ["uuv", "uuv", "usv", "usv"], [3] * 4, CLASSES, held_out=["uuv"],
                         unknown_threshold=0.5, recording_ids=["a", "a", "b", "c"])
    text = "\n".join(render_open_set(r))
    assert "**uuv** (drone)" in text and "seen drone types (usv)" in text and "0.500" in text
    assert "| 2 | 50.0 % | 0.0 % | 0.0 % | 50.0 % | 1.000 / 1.000 |" in text
    assert "Recording level" in text


def info_with(training: dict) -> ModelInfo:
    return ModelInfo(path="m.onnx", classes=CLASSES, sample_rate=16000, window_seconds=3.0, hop_seconds=1.0,
                     unknown_threshold=0.5, frontend={}, model={}, training=training, version="0")


def test_held_out_fine_labels_from_model_metadata():
    assert held_out_fine_labels(info_with({"config": {"data": {"exclude_fine_labels": ["uuv", "patrol"]}}})) == \
        ["uuv", "patrol"]
    assert held_out_fine_labels(info_with({"config": {"data": {}}})) == []
    assert held_out_fine_labels(info_with({})) == []
