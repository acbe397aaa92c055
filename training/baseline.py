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

from uwac.acoustics.baseline_file import FILE_NAME as BASELINE_FILE
from uwac.acoustics.baseline_file import save_baseline
from uwac.acoustics.evaluation.metrics import snr_of_rows, split_metrics
from uwac.acoustics.handcrafted import baseline_probabilities, feature_names
from uwac.acoustics.handcrafted import window_table as hand_table
from uwac.acoustics.manifest import Row
from uwac.acoustics.physics_targets import row_audible_spans, window_audible, window_label
from uwac.training.config import TrainConfig

log = logging.getLogger(__name__)


def window_table(rows: list[Row], cfg: TrainConfig, *, desc: str = "") -> tuple[np.ndarray, np.ndarray, list[Row]]:
    """Features of every grid window of ``rows`` with the window labels the network trains on
    (``data.window_labels``): (X [n, features], class index [n], the manifest row per window); windows left out
    of the class loss are left out here too."""
    x, y, owners, skipped, starts = hand_table(rows, sample_rate=cfg.frontend.sample_rate,
                                               window_samples=cfg.window_samples(), hop_samples=cfg.hop_samples(),
                                               classes=list(cfg.classes), cache_dir=cfg.data.cache_dir, desc=desc)
    for msg in skipped:
        log.warning("baseline skipped: %s", msg)
    spans = {id(r): row_audible_spans(r) for r in owners}
    labels = [window_label(r.label, window_audible(spans[id(r)], t, cfg.data.window_seconds), cfg.data.window_labels)
              for r, t in zip(owners, starts, strict=True)]
    keep = np.asarray([lab is not None for lab in labels], dtype=bool)
    y = np.asarray([cfg.classes.index(lab) if lab is not None else -1 for lab in labels], dtype=np.int64)
    return x[keep], y[keep], [r for r, k in zip(owners, keep, strict=True) if k]


def _score(model, x: np.ndarray, y: np.ndarray, rows: list[Row], classes: list[str]) -> dict | None:
    """The same metrics as the network's (window, recording, SNR bands) from the trees' probabilities."""
    if not len(y):
        return None
    probs = baseline_probabilities(model, x, len(classes))
    return split_metrics(probs, y, [r.recording_id for r in rows], snr_of_rows(rows), classes)


def train_baseline(*, rows: list[Row], cfg: TrainConfig, out: str | Path) -> dict:
    """Fit on the train split, score val and test; writes ``baseline.skops`` (this run's reporting only; skops,
    not pickle: :mod:`acoustics.baseline_file`)."""
    tables = {s: window_table([r for r in rows if r.split == s], cfg, desc=s) for s in ("train", "val", "test")}
    x, y, _ = tables["train"]
    if len(set(y.tolist())) < 2:
        raise ValueError("the baseline needs at least two classes in the train split")
    model = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.1, early_stopping=False,
                                           class_weight="balanced", random_state=cfg.seed)
    model.fit(x, y)
    save_baseline(Path(out) / BASELINE_FILE, model=model, features=feature_names(cfg.frontend.sample_rate),
                  classes=list(cfg.classes))
    return {"model": "HistGradientBoostingClassifier on hand-made features (acoustics.handcrafted)",
            "features": feature_names(cfg.frontend.sample_rate), "train_windows": int(len(y)),
            "val": _score(model, *tables["val"], cfg.classes), "test": _score(model, *tables["test"], cfg.classes)}
