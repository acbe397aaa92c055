"""Hand-made sonar features of one window, for the scikit-learn baseline (numpy/scipy, no torch).

What an analyst reads off a window, as numbers: octave band energies (spectral shape), spectral
statistics, LOFAR line strengths (tonals), DEMON peaks (cavitation modulation) and impulsiveness
(snapping shrimp, transients). Every feature is a level ratio or a frequency, so all are gain-invariant.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from uwac.acoustics.analysis.lofar_demon import demon

OCTAVE_EDGES_HZ = (10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 640.0, 1280.0, 2560.0, 5120.0)
LINE_BANDS_HZ = ((10.0, 100.0), (100.0, 300.0), (300.0, 1000.0))


def feature_names(sample_rate: int) -> list[str]:
    """Names of :func:`window_features`' columns, in order."""
    edges = [*OCTAVE_EDGES_HZ, 0.45 * sample_rate]
    names = [f"band_{lo:.0f}_{hi:.0f}_db" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    names += ["centroid_hz", "bandwidth_hz", "flatness_db", "slope_db_per_decade", "rolloff85_hz"]
    names += [f"lines_{lo:.0f}_{hi:.0f}_{k}" for lo, hi in LINE_BANDS_HZ for k in ("max_db", "count")]
    names += ["demon_peak_hz", "demon_peak_db", "demon_second_db", "kurtosis_hp", "frame_level_std_db"]
    return names


def window_features(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Feature vector (float64, ``feature_names`` order) of one window in full scale."""
    x = np.asarray(audio, dtype=np.float64)
    x = x - x.mean()
    f, p = signal.welch(x, fs=sample_rate, nperseg=min(x.size, sample_rate // 2))  # 2 Hz bins
    p = p + 1e-30
    top = 0.45 * sample_rate
    total = p[(f >= OCTAVE_EDGES_HZ[0]) & (f < top)].sum()
    edges = [*OCTAVE_EDGES_HZ, top]
    out = [10 * np.log10(p[(f >= lo) & (f < hi)].sum() / total) for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    band = (f >= OCTAVE_EDGES_HZ[0]) & (f < top)
    fb, pb = f[band], p[band]
    w = pb / pb.sum()
    centroid = float(fb @ w)
    out += [centroid, float(np.sqrt(((fb - centroid) ** 2) @ w)),
            float(10 * np.log10(np.exp(np.mean(np.log(pb))) / np.mean(pb))),
            float(np.polyfit(np.log10(fb), 10 * np.log10(pb), 1)[0]),
            float(fb[np.searchsorted(np.cumsum(w), 0.85)])]
    db = 10 * np.log10(p)
    excess = db - signal.medfilt(db, 11)  # lines over a ~20 Hz running median
    for lo, hi in LINE_BANDS_HZ:
        sel = excess[(f >= lo) & (f < hi)]
        out += [float(sel.max()), float(np.count_nonzero(sel > 6.0))]
    dm = demon(x, sample_rate, fmax_hz=40.0)
    keep = dm.freqs_hz >= 0.7
    fd, dd = dm.freqs_hz[keep], dm.db[keep] - np.median(dm.db[keep])
    order = np.argsort(dd)[::-1]
    out += [float(fd[order[0]]), float(dd[order[0]]), float(dd[order[1]])]
    sos = signal.butter(4, min(2000.0, 0.2 * sample_rate), btype="highpass", fs=sample_rate, output="sos")
    hp = signal.sosfilt(sos, x)
    out.append(float(np.mean(hp**4) / max(np.mean(hp**2) ** 2, 1e-300)))
    frames = x[: x.size // (sample_rate // 10) * (sample_rate // 10)].reshape(-1, sample_rate // 10)
    out.append(float(np.std(10 * np.log10(np.mean(frames**2, axis=1) + 1e-30))))
    return np.asarray(out, dtype=np.float64)


def window_table(rows, *, sample_rate: int, window_samples: int, hop_samples: int, classes: list[str],
                 cache_dir: str | None = None, desc: str = "", progress: bool = True
                 ) -> tuple[np.ndarray, np.ndarray, list, list[str], np.ndarray]:
    """Features of every hop-grid window of ``rows`` (spans resampled to ``sample_rate`` Hz through the span cache),
    cut by :func:`uwac.acoustics.windows.cut_windows` as the model's windows are (rows under one window give none).

    Returns (X [n, features], class index [n], the manifest row of each window, skipped messages, each window's
    start [s, recording time]). Rows whose label is not in ``classes`` or whose audio cannot be read are skipped
    and listed, never fatal.
    """
    from tqdm import tqdm

    from uwac.acoustics.audio_io import AudioError
    from uwac.acoustics.span_cache import span_audio
    from uwac.acoustics.windows import cut_windows, window_starts

    feats, labels, owners, skipped, starts = [], [], [], [], []
    for r in tqdm(rows, desc=f"hand-made features {desc}".strip(), unit="span", leave=False, disable=not progress):
        if r.label not in classes:
            skipped.append(f"{r.path}: label {r.label!r} is not one of {classes}")
            continue
        try:
            audio = span_audio(r.path, start_s=r.start_s, end_s=r.end_s, sample_rate=sample_rate, cache_dir=cache_dir)
        except AudioError as exc:
            skipped.append(str(exc))
            continue
        audio = np.asarray(audio)
        grid = window_starts(audio.shape[0], window_samples, hop_samples)
        for start, window in zip(grid, cut_windows(audio, window_samples, hop_samples), strict=True):
            feats.append(window_features(window, sample_rate))
            labels.append(classes.index(r.label))
            owners.append(r)
            starts.append(r.start_s + start / sample_rate)
    x = np.stack(feats) if feats else np.zeros((0, len(feature_names(sample_rate))))
    return x, np.asarray(labels, dtype=np.int64), owners, skipped, np.asarray(starts, dtype=np.float64)


def baseline_probabilities(model, x: np.ndarray, n_classes: int) -> np.ndarray:
    """Class probabilities ``[n, n_classes]`` of a fitted scikit-learn baseline (classes it never saw get 0)."""
    probs = np.zeros((len(x), n_classes))
    if len(x):
        probs[:, model.classes_] = model.predict_proba(x)
    return probs
