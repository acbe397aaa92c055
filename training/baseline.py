"""The scikit-learn baseline: gradient-boosted trees on hand-made sonar features, same splits as the network.

Trained by ``uwac train`` beside the network (``baseline: true`` in the config), on the same windows
of the same train split, and scored the same way, so every report shows how far the network is above
what band energies, LOFAR lines and DEMON peaks alone achieve.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

from acoustics.handcrafted import baseline_probabilities, feature_names
from acoustics.handcrafted import window_table as hand_table
from acoustics.manifest import Row
from acoustics.metrics import snr_of_rows, split_metrics
from training.config import TrainConfig

log = logging.getLogger(__name__)


def window_table(rows: list[Row], cfg: TrainConfig, *, desc: str = "") -> tuple[np.ndarray, np.ndarray, list[Row]]:
    """Features of every grid window of ``rows``: (X [n, features], class index [n], the manifest row per window)."""
    x, y, owners, skipped = hand_table(rows, sample_rate=cfg.frontend.sample_rate, window_samples=cfg.window_samples(),
                                       hop_samples=cfg.hop_samples(), classes=list(cfg.classes),
                                       cache_dir=cfg.data.cache_dir, desc=desc)
    for msg in skipped:
        log.warning("baseline skipped: %s", msg)
    return x, y, owners


def _score(model, x: np.ndarray, y: np.ndarray, rows: list[Row], classes: list[str]) -> dict | None:
    """The same metrics as the network's (window, recording, SNR bands) from the trees' probabilities."""
    if not len(y):
        return None
    probs = baseline_probabilities(model, x, len(classes))
    return split_metrics(probs, y, [r.recording_id for r in rows], snr_of_rows(rows), classes)


def train_baseline(*, rows: list[Row], cfg: TrainConfig, out: str | Path) -> dict:
    """Fit on the train split, score val and test; writes ``baseline.joblib`` (this run's reporting only)."""
    import joblib

    tables = {s: window_table([r for r in rows if r.split == s], cfg, desc=s) for s in ("train", "val", "test")}
    x, y, _ = tables["train"]
    if len(set(y.tolist())) < 2:
        raise ValueError("the baseline needs at least two classes in the train split")
    model = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.1, early_stopping=False,
                                           class_weight="balanced", random_state=cfg.seed)
    model.fit(x, y)
    joblib.dump({"model": model, "features": feature_names(cfg.frontend.sample_rate), "classes": cfg.classes},
                Path(out) / "baseline.joblib")
    return {"model": "HistGradientBoostingClassifier on hand-made features (acoustics.handcrafted)",
            "features": feature_names(cfg.frontend.sample_rate), "train_windows": int(len(y)),
            "val": _score(model, *tables["val"], cfg.classes), "test": _score(model, *tables["test"], cfg.classes)}
