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


SNR_BANDS_DB: tuple[tuple[float, float], ...] = ((-np.inf, -10.0), (-10.0, 0.0), (0.0, 10.0), (10.0, np.inf))


def band_name(lo: float, hi: float) -> str:
    """``'< -10 dB'``, ``'-10..0 dB'``, ``'> 10 dB'`` for a band [lo, hi) in dB."""
    if np.isinf(lo):
        return f"< {hi:+.0f} dB"
    if np.isinf(hi):
        return f">= {lo:+.0f} dB"
    return f"{lo:+.0f}..{hi:+.0f} dB"


def metrics_by_band(y_true: np.ndarray, y_pred: np.ndarray, values: np.ndarray, classes: list[str],
                    bands: tuple[tuple[float, float], ...], *, name=None) -> list[dict]:
    """Accuracy and macro-F1 per band [lo, hi) of ``values`` (units of ``bands``); NaN items join every band.

    A band with no item of its own has ``accuracy`` and ``macro_f1`` None. ``name(lo, hi)`` labels a band
    (default :func:`band_name`).
    """
    name = name or band_name
    y_true, y_pred, values = np.asarray(y_true), np.asarray(y_pred), np.asarray(values, dtype=np.float64)
    missing = np.isnan(values)
    out = []
    for lo, hi in bands:
        own = ~missing & (values >= lo) & (values < hi)
        sel = own | missing
        m = classification_metrics(y_true[sel], y_pred[sel], classes) if own.any() else None
        out.append({"band": name(lo, hi), "lo": float(lo), "hi": float(hi), "vessel_items": int(own.sum()),
                    "items": int(sel.sum()) if m else 0, "accuracy": m["accuracy"] if m else None,
                    "macro_f1": m["macro_f1"] if m else None})
    return out


def metrics_by_snr_band(y_true: np.ndarray, y_pred: np.ndarray, snr_db: np.ndarray, classes: list[str],
                        *, bands: tuple[tuple[float, float], ...] = SNR_BANDS_DB) -> list[dict]:
    """Accuracy and macro-F1 per SNR band [lo, hi) dB of the vessel items (windows or recordings).

    Items without an SNR (NaN: ambient, which has no contact) join every band, so each band's macro-F1
    asks the real question: at this SNR, are vessels told apart from each other and from the sea?
    """
    return [{"band": b["band"], "lo_db": b["lo"], "hi_db": b["hi"],
             **{k: v for k, v in b.items() if k not in ("band", "lo", "hi")}}
            for b in metrics_by_band(y_true, y_pred, snr_db, classes, bands)]


def snr_of_extras(extras: list[dict]) -> np.ndarray:
    """The ``snr_db`` of each manifest extra-column dict (dB) as floats; NaN where empty, absent or unreadable
    (ambient, real data)."""
    out = []
    for extra in extras:
        value = extra.get("snr_db", "")
        try:
            out.append(float(value) if value != "" else np.nan)
        except ValueError:
            out.append(np.nan)
    return np.asarray(out, dtype=np.float64)


def snr_of_rows(rows) -> np.ndarray:
    """:func:`snr_of_extras` of manifest rows."""
    return snr_of_extras([r.extra for r in rows])


def split_metrics(probs: np.ndarray, labels: np.ndarray, recording_ids: list[str], snr_db: np.ndarray,
                  classes: list[str]) -> dict:
    """Window and recording metrics of one split from window probabilities, plus SNR bands when any SNR is known.

    ``snr_db`` per window (NaN where unknown); a recording's SNR is its first window's.
    """
    ids, rec_probs, rec_labels = aggregate_by_recording(probs, recording_ids, labels)
    out = {"window": classification_metrics(labels, probs.argmax(1), classes),
           "recording": classification_metrics(rec_labels, rec_probs.argmax(1), classes)}
    snr_db = np.asarray(snr_db, dtype=np.float64)
    if np.isfinite(snr_db).any():
        first: dict[str, float] = {}
        for rid, s in zip(recording_ids, snr_db, strict=True):
            first.setdefault(rid, s)
        out["snr_bands"] = {
            "window": metrics_by_snr_band(labels, probs.argmax(1), snr_db, classes),
            "recording": metrics_by_snr_band(rec_labels, rec_probs.argmax(1), np.asarray([first[i] for i in ids]), classes),
        }
    return out


def reliability(probs: np.ndarray, labels: np.ndarray, *, n_bins: int = 15) -> dict:
    """Expected calibration error and the reliability diagram's bins (top-class confidence vs accuracy).

    ECE = Σ_b (n_b / n) · |accuracy_b − confidence_b| over ``n_bins`` equal-width confidence bins.
    """
    probs, labels = np.asarray(probs, dtype=np.float64), np.asarray(labels)
    if not len(labels):
        return {"ece": float("nan"), "bins": []}
    conf, pred = probs.max(axis=1), probs.argmax(axis=1)
    correct = (pred == labels).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, n_bins - 1)
    bins, ece = [], 0.0
    for b in range(n_bins):
        sel = which == b
        if sel.any():
            acc, c = float(correct[sel].mean()), float(conf[sel].mean())
            ece += sel.mean() * abs(acc - c)
            bins.append({"lo": float(edges[b]), "hi": float(edges[b + 1]), "n": int(sel.sum()), "accuracy": acc,
                         "confidence": c})
    return {"ece": float(ece), "bins": bins}
