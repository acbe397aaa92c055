"""Event-level detection scores: window predictions turned into contact segments, matched to strong labels.

Times are in seconds from the start of the recording's file, as in manifests and ``events.csv``.

Predicted segments (:func:`segments_from_windows`): each window *owns* the hop around its centre,
``[start + W/2 − H/2, start + W/2 + H/2)`` for window length W and hop H (the first window's cell is stretched
back to the start of the scored extent, the last one's on to its end), so a run of windows tiles the timeline
without overlap. Consecutive windows (starts one hop apart) with the same predicted class, other than the
background class (``ambient``), form one segment; segments of one class separated by at most ``merge_gap_s``
are merged.

True spans: ``events.csv`` rows (one per contact span above the SNR threshold). Overlapping or touching spans of
the same class in one recording are merged first (:func:`merge_events`): a classifier that gives one class per
window cannot report two merchants at once, so their union is the span it should find.

Matching (:func:`match_events`, DCASE event-based style, as sed_eval's): a predicted segment and a true span
match when they have the same class and recording, their onsets differ by at most ``onset_tol_s`` and their
offsets by at most ``max(offset_tol_s, offset_tol_frac × true duration)``. Each span and each segment is used
at most once; the matching maximises the number of pairs (ties go to the closest onsets). TP = matched pairs,
FP = unmatched segments, FN = unmatched true spans; precision, recall and F1 per class, micro over all classes
and macro over the classes with true spans. ``onset_only`` scores ignore offsets.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ONSET_TOL_S = 5.0  # > one 3-s window plus a 1-s hop: where a detector can first see a contact that crosses the threshold
OFFSET_TOL_S = 5.0
OFFSET_TOL_FRAC = 0.2  # DCASE's percentage_of_length: long passes fade out slowly, so their ends are vaguer
BACKGROUND = "ambient"
SEGMENT_RULE = ("each window owns the hop around its centre (first and last stretched to the scored extent); "
                "consecutive windows with the same predicted non-ambient class form one segment; same-class "
                "segments at most merge_gap_s apart are merged")
MATCH_RULE = ("same class, |onset difference| <= onset tolerance, |offset difference| <= max(offset tolerance, "
              "offset fraction x true duration); one-to-one, maximum number of pairs")


@dataclass(frozen=True)
class Event:
    """One labelled or predicted span: ``label`` from ``start_s`` to ``end_s`` [s] in recording ``recording_id``."""

    recording_id: str
    label: str
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        """Length [s]."""
        return self.end_s - self.start_s


def read_events(path: str | Path) -> list[Event]:
    """The strong labels of ``events.csv`` (recording_id, label, start_s, end_s [s]; other columns ignored)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"events file {path} not found; `uwac synth --out DIR` writes DIR/events.csv")
    out = []
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in ("recording_id", "label", "start_s", "end_s") if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"events file {path} lacks column(s) {', '.join(missing)}")
        for line, rec in enumerate(reader, start=2):
            try:
                start, end = float(rec["start_s"]), float(rec["end_s"])
            except ValueError:
                raise ValueError(f"{path}:{line}: start_s/end_s must be numbers, got {rec['start_s']!r}, "
                                 f"{rec['end_s']!r}") from None
            if end > start:
                out.append(Event(rec["recording_id"], rec["label"], start, end))
    return out


def merge_events(events: list[Event], *, gap_s: float = 0.0) -> list[Event]:
    """Union of the spans of each (recording, class) that overlap or lie at most ``gap_s`` [s] apart, sorted."""
    out: list[Event] = []
    for e in sorted(events, key=lambda e: (e.recording_id, e.label, e.start_s, e.end_s)):
        last = out[-1] if out else None
        if last and (last.recording_id, last.label) == (e.recording_id, e.label) and e.start_s <= last.end_s + gap_s:
            out[-1] = Event(last.recording_id, last.label, last.start_s, max(last.end_s, e.end_s))
        else:
            out.append(e)
    return sorted(out, key=lambda e: (e.recording_id, e.start_s, e.label))


def segments_from_windows(starts_s, predicted: list[str], *, window_s: float, hop_s: float,
                          extent: tuple[float, float] | None = None, recording_id: str = "",
                          background: str = BACKGROUND, merge_gap_s: float = 0.0) -> list[Event]:
    """Predicted segments of one recording from its windows' start times [s] and predicted classes.

    ``window_s`` W and ``hop_s`` H [s]; ``extent`` (start, end) [s] of the scored audio (default: the first
    window's start to the last window's end). Windows whose starts differ by more than 1.5 H are not
    consecutive (a gap in the scoring). See the module docstring for the rule.
    """
    starts = np.asarray(starts_s, dtype=np.float64)
    if starts.size != len(predicted):
        raise ValueError(f"segments_from_windows: {starts.size} window starts but {len(predicted)} predictions")
    if not starts.size:
        return []
    order = np.argsort(starts, kind="stable")
    starts, predicted = starts[order], [predicted[i] for i in order]
    lo, hi = extent if extent is not None else (starts[0], starts[-1] + window_s)
    centres = starts + window_s / 2
    cell_lo = np.maximum(centres - hop_s / 2, lo)
    cell_hi = np.minimum(centres + hop_s / 2, hi)
    cell_lo[0], cell_hi[-1] = lo, hi
    segments: list[Event] = []
    run_start = None
    for i, label in enumerate(predicted):
        joined = run_start is not None and label == predicted[i - 1] and starts[i] - starts[i - 1] <= 1.5 * hop_s
        if run_start is not None and not joined:
            segments.append(Event(recording_id, predicted[run_start], float(cell_lo[run_start]), float(cell_hi[i - 1])))
            run_start = None
        if run_start is None and label != background:
            run_start = i
    if run_start is not None:
        segments.append(Event(recording_id, predicted[run_start], float(cell_lo[run_start]), float(cell_hi[-1])))
    return merge_events(segments, gap_s=merge_gap_s) if merge_gap_s > 0 else segments


def _offset_tolerance(true: Event, offset_tol_s: float, offset_tol_frac: float) -> float:
    return max(offset_tol_s, offset_tol_frac * true.duration_s)


def match_events(truth: list[Event], predicted: list[Event], *, onset_tol_s: float = ONSET_TOL_S,
                 offset_tol_s: float = OFFSET_TOL_S, offset_tol_frac: float = OFFSET_TOL_FRAC) -> list[tuple[int, int]]:
    """Matched pairs (index into ``truth``, index into ``predicted``), one-to-one, as many as the tolerances allow.

    Tolerances in seconds (``offset_tol_frac`` a fraction of the true span's duration); ``math.inf`` as
    ``offset_tol_s`` ignores offsets (onset-only matching).
    """
    from scipy.optimize import linear_sum_assignment

    pairs: list[tuple[int, int]] = []
    groups: dict[tuple[str, str], tuple[list[int], list[int]]] = {}
    for i, t in enumerate(truth):
        groups.setdefault((t.recording_id, t.label), ([], []))[0].append(i)
    for j, p in enumerate(predicted):
        if (p.recording_id, p.label) in groups:
            groups[(p.recording_id, p.label)][1].append(j)
    for t_idx, p_idx in groups.values():
        if not p_idx:
            continue
        ok = np.zeros((len(t_idx), len(p_idx)), dtype=bool)
        onset = np.zeros_like(ok, dtype=np.float64)
        for a, i in enumerate(t_idx):
            t = truth[i]
            tol = _offset_tolerance(t, offset_tol_s, offset_tol_frac)
            for b, j in enumerate(p_idx):
                p = predicted[j]
                onset[a, b] = abs(p.start_s - t.start_s)
                ok[a, b] = onset[a, b] <= onset_tol_s and abs(p.end_s - t.end_s) <= tol
        if not ok.any():
            continue
        # each valid pair is worth 1, less a tie-break (< 1 in total) for onset distance: the number of
        # pairs is maximised first, then the summed onset distance minimised
        tie = onset / (onset_tol_s if math.isfinite(onset_tol_s) and onset_tol_s > 0 else max(onset.max(), 1.0))
        cost = np.where(ok, -1.0 + tie / (min(ok.shape) + 1), 0.0)
        rows, cols = linear_sum_assignment(cost)
        pairs += [(t_idx[a], p_idx[b]) for a, b in zip(rows, cols, strict=True) if ok[a, b]]
    return sorted(pairs)


def _prf(tp: int, fp: int, fn: int) -> dict:
    p = tp / (tp + fp) if tp + fp else None
    r = tp / (tp + fn) if tp + fn else None
    f = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None
    return {"tp": tp, "fp": fp, "fn": fn, "precision": p, "recall": r, "f1": f}


def event_scores(truth: list[Event], predicted: list[Event], classes: list[str], *, onset_tol_s: float = ONSET_TOL_S,
                 offset_tol_s: float = OFFSET_TOL_S, offset_tol_frac: float = OFFSET_TOL_FRAC) -> dict:
    """TP/FP/FN, precision, recall and F1 per class (``classes``, background excluded by the caller), micro over
    them and macro-F1 over the classes with true spans. Tolerances as :func:`match_events` (s, fraction)."""
    pairs = match_events(truth, predicted, onset_tol_s=onset_tol_s, offset_tol_s=offset_tol_s,
                         offset_tol_frac=offset_tol_frac)
    matched_t = {i for i, _ in pairs}
    per_class = {}
    for c in classes:
        n_t = sum(t.label == c for t in truth)
        n_p = sum(p.label == c for p in predicted)
        tp = sum(truth[i].label == c for i in matched_t)
        per_class[c] = {**_prf(tp, n_p - tp, n_t - tp), "true_events": n_t, "predicted_events": n_p}
    tp, fp, fn = (sum(v[k] for v in per_class.values()) for k in ("tp", "fp", "fn"))
    scored = [v["f1"] for v in per_class.values() if v["true_events"] and v["f1"] is not None]
    return {"per_class": per_class, "micro": _prf(tp, fp, fn),
            "macro_f1": float(np.mean(scored)) if scored else None, "matches": len(pairs)}
