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
from tqdm import tqdm

from acoustics.audio_io import AudioError
from acoustics.handcrafted import feature_names, window_features
from acoustics.manifest import Row
from acoustics.metrics import snr_of_rows, split_metrics
from acoustics.span_cache import span_audio
from training.config import TrainConfig

log = logging.getLogger(__name__)


def window_table(rows: list[Row], cfg: TrainConfig, *, desc: str = "") -> tuple[np.ndarray, np.ndarray, list[Row]]:
    """Features of every grid window of ``rows``: (X [n, features], class index [n], the manifest row per window)."""
    sr, win, hop = cfg.frontend.sample_rate, cfg.window_samples(), cfg.hop_samples()
    feats, labels, ids = [], [], []
    for r in tqdm(rows, desc=f"baseline features {desc}".strip(), unit="span", leave=False):
        if r.label not in cfg.classes:
            continue
        try:
            audio = span_audio(r.path, start_s=r.start_s, end_s=r.end_s, sample_rate=sr, cache_dir=cfg.data.cache_dir)
        except AudioError as exc:
            log.warning("baseline skipped: %s", exc)
            continue
        for start in range(0, audio.shape[0] - win + 1, hop):
            feats.append(window_features(audio[start: start + win], sr))
            labels.append(cfg.classes.index(r.label))
            ids.append(r)
    x = np.stack(feats) if feats else np.zeros((0, len(feature_names(sr))))
    return x, np.asarray(labels, dtype=np.int64), ids


def _score(model, x: np.ndarray, y: np.ndarray, rows: list[Row], classes: list[str]) -> dict | None:
    """The same metrics as the network's (window, recording, SNR bands) from the trees' probabilities."""
    if not len(y):
        return None
    probs = np.zeros((len(y), len(classes)))
    probs[:, model.classes_] = model.predict_proba(x)
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
