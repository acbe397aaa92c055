"""Classification metrics at window and recording level (numpy + scikit-learn, no torch)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes: list[str]) -> dict:
    """Accuracy, macro-F1 over the classes present in ``y_true``, per-class P/R/F1/support, confusion.

    Macro-F1 averages over the classes that occur in the truth, so a split without (say) drones
    is not scored as if the model had failed on them; ``classes_scored`` says which were averaged.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    labels = list(range(len(classes)))
    present = sorted(set(y_true.tolist()))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    return {
        "n": int(y_true.size),
        "accuracy": float(accuracy_score(y_true, y_pred)) if y_true.size else float("nan"),
        "macro_f1": float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)) if present else float("nan"),
        "classes_scored": [classes[i] for i in present],
        "per_class": {c: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
                      for i, c in enumerate(classes)},
        "confusion": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def aggregate_by_recording(probs: np.ndarray, recording_ids: list[str], labels: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Mean class probability over each recording's windows.

    Returns (recording ids, mean probabilities ``[n_rec, n_classes]``, the recording's label: the
    most frequent window label).
    """
    order: dict[str, list[int]] = {}
    for i, rid in enumerate(recording_ids):
        order.setdefault(rid, []).append(i)
    ids = list(order)
    mean = np.stack([probs[idx].mean(axis=0) for idx in order.values()]) if ids else np.zeros((0, probs.shape[1]))
    rec_labels = np.asarray([np.bincount(labels[idx]).argmax() for idx in order.values()], dtype=np.int64)
    return ids, mean, rec_labels
