"""Where a model fails: accuracy and macro-F1 by range band and sea state, recall by fine type, ROC/PR per class,
calibration on the evaluated split (numpy + scikit-learn, no torch).

Inputs are the scored windows of ``acoustics.evaluation.scoring.score_rows`` (dicts with ``probs``, ``label``,
``recording_id``, ``fine_label`` and the manifest's extra columns in ``extra``). Two levels: ``window`` (every
window) and ``recording`` (mean probabilities per recording; its label is the most frequent window label, and
its range, sea state and fine type those of its first window with that label).

Range bands follow the SNR-band convention of :func:`acoustics.evaluation.metrics.metrics_by_snr_band`: items without a
range (ambient: there is no contact) join every band, so each band's macro-F1 asks whether vessels at that
range are told apart from each other and from the sea. Sea state is known for every item (ambient too), so
each sea state is scored on its own items.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from uwac.acoustics.evaluation.metrics import (
    aggregate_by_recording,
    classification_metrics,
    metrics_by_band,
    reliability,
)

RANGE_BANDS_M: tuple[tuple[float, float], ...] = ((0.0, 300.0), (300.0, 1000.0), (1000.0, 3000.0),
                                                   (3000.0, 10000.0), (10000.0, np.inf))


@dataclass
class View:
    """Scored items at one level: probabilities ``[n, classes]``, integer labels, extra columns, fine types."""

    probs: np.ndarray
    labels: np.ndarray
    extras: list[dict]
    fine: list[str]

    @property
    def predicted(self) -> np.ndarray:
        """Argmax class index per item."""
        return self.probs.argmax(axis=1)


def views(records: list[dict], classes: list[str]) -> dict[str, View]:
    """Window- and recording-level :class:`View` of scored windows (see the module docstring)."""
    probs = np.stack([r["probs"] for r in records]).astype(np.float64)
    labels = np.asarray([classes.index(r["label"]) for r in records])
    window = View(probs, labels, [r["extra"] for r in records], [r.get("fine_label", "") for r in records])
    ids, rec_probs, rec_labels = aggregate_by_recording(probs, [r["recording_id"] for r in records], labels)
    first: dict[str, dict] = {}
    for r in records:
        first.setdefault((r["recording_id"], r["label"]), r)
    reps = [first[(rid, classes[lab])] for rid, lab in zip(ids, rec_labels, strict=True)]
    recording = View(rec_probs, rec_labels, [r["extra"] for r in reps], [r.get("fine_label", "") for r in reps])
    return {"window": window, "recording": recording}


def numeric_column(extras: list[dict], key: str) -> np.ndarray:
    """Column ``key`` of manifest extra-column dicts as floats; NaN where empty, absent or unreadable."""
    out = []
    for extra in extras:
        try:
            out.append(float(extra.get(key, "")))
        except ValueError:
            out.append(np.nan)
    return np.asarray(out, dtype=np.float64)


def range_band_name(lo_m: float, hi_m: float) -> str:
    """``'< 300 m'``, ``'0.3-1 km'``, ``'>= 10 km'`` for a band [lo_m, hi_m) in metres."""
    def km(x: float) -> str:
        return f"{x / 1000:g}"

    if lo_m <= 0:
        return f"< {hi_m:g} m"
    if np.isinf(hi_m):
        return f">= {km(lo_m)} km"
    return f"{km(lo_m)}-{km(hi_m)} km"




def metrics_by_value(y_true: np.ndarray, y_pred: np.ndarray, values: list[str], classes: list[str]) -> list[dict]:
    """Accuracy and macro-F1 per distinct non-empty value (e.g. sea state), each over its own items only;
    numeric values sorted as numbers."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    keys = sorted({v for v in values if v != ""}, key=lambda v: (_as_float(v), v))
    out = []
    for key in keys:
        sel = np.asarray([v == key for v in values])
        m = classification_metrics(y_true[sel], y_pred[sel], classes)
        out.append({"value": key, "items": m["n"], "accuracy": m["accuracy"], "macro_f1": m["macro_f1"],
                    "classes_scored": m["classes_scored"]})
    return out


def _as_float(v: str) -> float:
    try:
        return float(v)
    except ValueError:
        return np.inf


def fine_type_table(y_true: np.ndarray, y_pred: np.ndarray, fine: list[str], classes: list[str]) -> list[dict]:
    """Per fine type: its class, items, recall (share predicted as its class) and the count per predicted class,
    so one sees where its errors go. A fine type whose items carry two classes takes the most frequent."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    out = []
    for f in sorted({x for x in fine if x}):
        sel = np.asarray([x == f for x in fine])
        label = int(np.bincount(y_true[sel]).argmax())
        correct = int((y_pred[sel] == y_true[sel]).sum())
        counts = np.bincount(y_pred[sel], minlength=len(classes))
        out.append({"fine_label": f, "label": classes[label], "items": int(sel.sum()), "correct": correct,
                    "recall": correct / int(sel.sum()), "predicted": {c: int(counts[i]) for i, c in enumerate(classes)}})
    return sorted(out, key=lambda d: (classes.index(d["label"]), d["fine_label"]))


def breakdowns(records: list[dict], classes: list[str]) -> dict:
    """``range_bands``, ``sea_state`` and ``fine_type``, each ``{"window": [...], "recording": [...]}``, for the
    columns that the records carry (``range_m`` [m], ``sea_state``, ``fine_label``); absent ones are left out."""
    out: dict[str, dict] = {}
    for level, v in views(records, classes).items():
        rng = numeric_column(v.extras, "range_m")
        if np.isfinite(rng).any():
            out.setdefault("range_bands", {})[level] = metrics_by_band(v.labels, v.predicted, rng, classes, RANGE_BANDS_M,
                                                                       name=range_band_name)
        sea = [str(e.get("sea_state", "")).strip() for e in v.extras]
        if any(sea):
            out.setdefault("sea_state", {})[level] = metrics_by_value(v.labels, v.predicted, sea, classes)
        if any(v.fine):
            out.setdefault("fine_type", {})[level] = fine_type_table(v.labels, v.predicted, v.fine, classes)
    return out


def roc_pr(probs: np.ndarray, labels: np.ndarray, classes: list[str]) -> dict:
    """One-vs-rest ROC AUC and average precision (area under the PR curve) per class, and their means over the
    classes that have both positives and negatives (None where a class lacks either)."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    probs, labels = np.asarray(probs, dtype=np.float64), np.asarray(labels)
    per_class = {}
    for k, c in enumerate(classes):
        y = labels == k
        ok = bool(y.any() and (~y).any())
        per_class[c] = {"positives": int(y.sum()), "negatives": int((~y).sum()),
                        "roc_auc": float(roc_auc_score(y, probs[:, k])) if ok else None,
                        "average_precision": float(average_precision_score(y, probs[:, k])) if ok else None}
    aucs = [v["roc_auc"] for v in per_class.values() if v["roc_auc"] is not None]
    aps = [v["average_precision"] for v in per_class.values() if v["average_precision"] is not None]
    return {"per_class": per_class, "macro_roc_auc": float(np.mean(aucs)) if aucs else None,
            "macro_average_precision": float(np.mean(aps)) if aps else None}


def roc_pr_curves(probs: np.ndarray, labels: np.ndarray, classes: list[str]) -> dict[str, dict]:
    """Per class with positives and negatives: ``fpr``/``tpr`` (ROC) and ``precision``/``recall`` (PR) arrays."""
    from sklearn.metrics import precision_recall_curve, roc_curve

    out = {}
    for k, c in enumerate(classes):
        y = np.asarray(labels) == k
        if y.any() and (~y).any():
            fpr, tpr, _ = roc_curve(y, probs[:, k])
            precision, recall, _ = precision_recall_curve(y, probs[:, k])
            out[c] = {"fpr": fpr, "tpr": tpr, "precision": precision, "recall": recall, "prevalence": float(y.mean())}
    return out


def calibration(probs: np.ndarray, labels: np.ndarray, model_calibration: dict, *, n_bins: int = 15) -> dict:
    """ECE and reliability bins (:func:`acoustics.evaluation.metrics.reliability`) of the evaluated windows, the ECE the same
    windows would have without the model's temperature T (probabilities ``softmax(T · log p)``, from the
    exported, already scaled ones), and the model's stored calibration (temperature, validation ECE before/after)."""
    probs = np.asarray(probs, dtype=np.float64)
    rel = reliability(probs, labels, n_bins=n_bins)
    stored = {k: model_calibration.get(k) for k in ("temperature", "val_ece_before", "val_ece_after", "val_windows",
                                                    "unknown_threshold", "unknown_rule")}
    temperature = model_calibration.get("temperature")
    unscaled = None
    if temperature and len(labels):
        z = float(temperature) * np.log(np.clip(probs, 1e-30, None))
        z -= z.max(axis=1, keepdims=True)
        raw = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        unscaled = reliability(raw, labels, n_bins=n_bins)["ece"]
    return {"n_bins": n_bins, "windows": int(len(labels)), "ece": rel["ece"], "bins": rel["bins"],
            "ece_without_temperature": unscaled, "model": stored}
