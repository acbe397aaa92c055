"""Temperature scaling and the unknown threshold: fitted on validation, carried into the exported file."""

import json

import numpy as np
import torch
from scipy.special import softmax

from uwac.acoustics.contract import load_session, run_batch
from uwac.acoustics.evaluation.metrics import reliability
from uwac.training.calibration import calibrate, fit_temperature, unknown_threshold


def sampled(true_t: float, n=20000, seed=0):
    """Logits whose labels are drawn from softmax(logits / true_t): perfectly calibrated at true_t."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 3, (n, 4))
    p = softmax(logits / true_t, axis=1)
    labels = (p.cumsum(1) > rng.random((n, 1))).argmax(1)
    return logits, labels


def test_fit_temperature_recovers_the_true_one():
    for true_t in (0.5, 1.0, 2.5):
        logits, labels = sampled(true_t)
        assert abs(fit_temperature(logits, labels) / true_t - 1) < 0.08


def test_calibration_lowers_ece_of_an_overconfident_model():
    logits, labels = sampled(3.0)  # a model whose raw softmax is far too sure
    cal = calibrate(logits, labels)
    assert cal["val_ece_before"] > 0.1 and cal["val_ece_after"] < 0.02
    assert reliability(softmax(logits / cal["temperature"], axis=1), labels)["ece"] == cal["val_ece_after"]


def test_unknown_threshold_keeps_95_percent_of_correct_windows():
    logits, labels = sampled(1.0)
    probs = softmax(logits, axis=1)
    t = unknown_threshold(probs, labels)
    correct = probs.argmax(1) == labels
    assert abs((probs.max(1)[correct] >= t).mean() - 0.95) < 0.005


def test_exported_model_carries_the_calibration(trained_run, exported_model):
    state = torch.load(trained_run / "checkpoint_best.pt", weights_only=True)
    cal = state["calibration"]
    assert float(state["state_dict"]["temperature"]) == cal["temperature"] or \
        abs(float(state["state_dict"]["temperature"]) - cal["temperature"]) < 1e-6
    metrics = json.loads((trained_run / "metrics.json").read_text())
    assert metrics["calibration"]["temperature"] == cal["temperature"]
    session, info = load_session(exported_model)
    assert abs(info.calibration["temperature"] - cal["temperature"]) < 1e-9
    assert info.unknown_threshold == cal["unknown_threshold"]
    x = (np.random.default_rng(0).standard_normal((3, 48000)) * 0.05).astype(np.float32)
    out = run_batch(session, x)
    np.testing.assert_allclose(out["probabilities"], softmax(out["logits"] / cal["temperature"], axis=1), atol=1e-5)
