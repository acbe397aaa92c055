"""Post-hoc calibration on the validation split: temperature scaling and the ``unknown`` threshold.

Both are fitted on validation windows only (never test), stored in the best checkpoint and in the
exported model's metadata, so a node's confidence means what it says and its ``unknown`` label has
a stated rule behind it.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax

from uwac.acoustics.evaluation.metrics import reliability

UNKNOWN_KEEP_FRACTION = 0.95  # the threshold keeps this share of correctly classified validation windows


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature T in [0.05, 20] minimising the validation negative log-likelihood of softmax(logits / T)."""
    logits, labels = np.asarray(logits, dtype=np.float64), np.asarray(labels)
    if not len(labels):
        return 1.0

    def nll(log_t: float) -> float:
        return float(-log_softmax(logits / np.exp(log_t), axis=1)[np.arange(len(labels)), labels].mean())

    best = minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded", options={"xatol": 1e-4})
    return float(np.exp(best.x))


def unknown_threshold(probs: np.ndarray, labels: np.ndarray, *, keep: float = UNKNOWN_KEEP_FRACTION) -> float:
    """Top-probability threshold under which a window is ``unknown``: the (1 − keep) quantile of the top
    probability of correctly classified validation windows, so ``keep`` of them stay labelled."""
    probs, labels = np.asarray(probs), np.asarray(labels)
    correct = probs.argmax(1) == labels
    if not correct.any():
        return 1.0 / probs.shape[1]
    return float(np.quantile(probs.max(1)[correct], 1.0 - keep))


def calibrate(logits: np.ndarray, labels: np.ndarray) -> dict:
    """Temperature, threshold and validation ECE before/after, as stored in checkpoints and metadata."""
    temperature = fit_temperature(logits, labels)
    before = reliability(softmax(np.asarray(logits, dtype=np.float64), axis=1), labels)
    calibrated = softmax(np.asarray(logits, dtype=np.float64) / temperature, axis=1)
    after = reliability(calibrated, labels)
    return {"temperature": temperature, "unknown_threshold": unknown_threshold(calibrated, labels),
            "unknown_rule": f"{UNKNOWN_KEEP_FRACTION:.0%} of correctly classified validation windows keep their label",
            "val_ece_before": before["ece"], "val_ece_after": after["ece"], "val_windows": int(len(labels)),
            "reliability_after": after["bins"]}
