"""The physics floor of the real-world check: ``demon_lines`` confidence alone as a vessel detector.

Cavitation modulated at shaft and blade rates is what a propeller makes and the sea does not; the DEMON line
template (``acoustics.analysis.line_detect``) scores it without any training. A model that separates real vessel clips
from real non-vessel clips no better than this floor has learned nothing the physics did not already give.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

from uwac.acoustics.analysis.line_detect import SHAFT_RANGE_HZ, demon_lines
from uwac.acoustics.audio_io import AudioError, read_span

MIN_SECONDS = 3.0 / SHAFT_RANGE_HZ[0]  # demon_lines needs 3 periods of the slowest shaft rate (6 s)


def clip_confidence(audio: np.ndarray, sample_rate: int) -> float:
    """``demon_lines`` confidence of one clip; a clip shorter than :data:`MIN_SECONDS` is repeated up to it."""
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim > 1:
        x = x.mean(axis=1)
    need = int(np.ceil(MIN_SECONDS * sample_rate)) + 1
    if x.size < need:
        x = np.resize(x, need)
    return float(demon_lines(x, sample_rate)["confidence"])


def vessel_auc(scores, is_vessel) -> float | None:
    """ROC AUC of ``scores`` for vessel (True) against non-vessel clips; None without both kinds."""
    y = np.asarray(is_vessel, dtype=bool)
    if y.all() or not y.any():
        return None
    return float(roc_auc_score(y, np.asarray(scores, dtype=np.float64)))


def demon_floor(rows, vessel_categories=("vessel",), non_vessel_categories=("ambient", "biological",
                                                                            "anthropogenic")) -> dict:
    """The floor on the real clips among ``rows`` (manifest rows with a ``category``): per-clip confidence and the
    vessel-vs-not AUC. Clips that cannot be read are listed under ``skipped``."""
    clips, skipped = [], []
    for r in rows:
        category = r.extra.get("category", "")
        if category not in (*vessel_categories, *non_vessel_categories):
            continue
        try:
            audio, sr = read_span(r.path, start_s=r.start_s, end_s=r.end_s)
            clips.append({"file": r.path, "category": category, "confidence": clip_confidence(audio, sr)})
        except (AudioError, ValueError) as exc:
            skipped.append(f"{r.path}: {exc}")
    auc = vessel_auc([c["confidence"] for c in clips], [c["category"] in vessel_categories for c in clips])
    return {"method": "uwac.acoustics.analysis.line_detect.demon_lines confidence (clips under 6 s repeated to 6 s)",
            "auc": auc, "clips": clips, "skipped": skipped}
