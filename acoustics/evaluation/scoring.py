"""Scoring a manifest's rows window by window, the figures of a set of scored windows, the baseline and events.

A *record* is one scored window: a dict with ``recording_id``, ``path``, ``label``, ``fine_label``, ``extra`` (the
manifest row's other columns), ``span`` (path, start_s, end_s of its row), ``start_s`` [s, recording time] and
``probs`` (class probabilities), plus ``short`` when its row was under one window. Every figure of ``uwac
evaluate`` (``acoustics.evaluation.evaluate``) is computed from these records.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

from uwac.acoustics.audio_io import AudioError, read_span, resample
from uwac.acoustics.contract import ModelInfo
from uwac.acoustics.evaluation.event_scores import (
    BACKGROUND,
    MATCH_RULE,
    OFFSET_TOL_FRAC,
    OFFSET_TOL_S,
    ONSET_TOL_S,
    SEGMENT_RULE,
    Event,
    event_scores,
    match_events,
    merge_events,
    read_events,
    segments_from_windows,
)
from uwac.acoustics.evaluation.metrics import (
    aggregate_by_recording,
    classification_metrics,
    snr_of_extras,
    snr_of_rows,
    split_metrics,
)
from uwac.acoustics.manifest import Row
from uwac.acoustics.physics_targets import AUDIBLE_FRACTION, row_audible_spans, window_audible
from uwac.acoustics.windows import score_windows

log = logging.getLogger(__name__)


def score_rows(session, info: ModelInfo, rows, *, batch_size: int = 32, progress: bool = True,
               too_short: list | None = None):
    """Probabilities for every window of every row: (table of window records, skipped messages).

    Audio at another rate than the model's is resampled (logged once per rate). A row shorter than one window
    is scored once, repeated up to one window (:func:`~uwac.acoustics.contract.short_clip_window`; its record
    has ``short``), never dropped; when ``too_short`` is a list such rows are appended to it as well. Windows are
    cut and batched by :func:`uwac.acoustics.windows.score_windows`.
    """
    skipped: list[str] = []
    rates_seen: set[int] = set()

    def read(row) -> np.ndarray | None:
        if row.label not in info.classes:
            skipped.append(f"{row.path}: label {row.label!r} is not a class of this model {list(info.classes)}")
            return None
        try:
            audio, sr = read_span(row.path, start_s=row.start_s, end_s=row.end_s)
        except AudioError as exc:
            skipped.append(str(exc))
            return None
        if sr != info.sample_rate:
            if sr not in rates_seen:
                rates_seen.add(sr)
                log.info("resampling %d Hz audio to the model's %d Hz (soxr VHQ)", sr, info.sample_rate)
            audio = resample(audio, sr, info.sample_rate)
        if audio.shape[0] < info.window_samples:
            if too_short is not None:
                too_short.append(row)
            if audio.shape[0] == 0:
                skipped.append(f"{row.path}: span {row.start_s:.2f}-{row.end_s:.2f} s holds no audio; not scored")
                return None
        return audio

    records = []
    for w in score_windows(session, info, rows, read=read, batch_size=batch_size, progress=progress, desc="evaluate"):
        row = w.span
        records.append({"recording_id": row.recording_id, "path": row.path, "label": row.label,
                        "fine_label": row.fine_label, "extra": row.extra, "span": (row.path, row.start_s, row.end_s),
                        "start_s": row.start_s + w.start / info.sample_rate, **({"short": True} if w.short else {}),
                        "probs": w.probabilities})
    return records, skipped


def mark_audible(records: list[dict], rows, events_path: Path | None, window_s: float) -> int:
    """Set each window record's ``audible``: the share of the window in which its contact is audible according
    to the strong labels (``events_path``, else the render's JSON beside the audio), None when unknown (real
    recordings) or for ambient. Returns how many vessel windows have a known share."""
    events: dict | None = None
    if events_path is not None:
        events = {}
        for e in read_events(events_path):
            events.setdefault(e.recording_id, []).append((e.label, e.start_s, e.end_s))
    spans = {(r.path, r.start_s, r.end_s): row_audible_spans(r, events) for r in rows}
    known = 0
    for rec in records:
        if rec["label"] == "ambient":
            rec["audible"] = None
            continue
        rec["audible"] = window_audible(spans.get(rec["span"]), rec["start_s"], window_s)
        known += rec["audible"] is not None
    return known


def audible_subset(records: list[dict]) -> list[dict]:
    """The windows of the audible-window figure: every ambient window, and vessel windows whose contact is audible
    (strong labels cover at least ``AUDIBLE_FRACTION`` of the window) or whose audibility is unknown."""
    return [r for r in records if r.get("audible") is None or r["audible"] >= AUDIBLE_FRACTION]


def metrics_for(records: list[dict], classes: list[str]) -> dict:
    """Window- and recording-level metrics of a set of scored windows."""
    if not records:
        return {"window": None, "recording": None}
    probs = np.stack([r["probs"] for r in records])
    labels = np.asarray([classes.index(r["label"]) for r in records])
    ids, rec_probs, rec_labels = aggregate_by_recording(probs, [r["recording_id"] for r in records], labels)
    return {"window": classification_metrics(labels, probs.argmax(1), classes),
            "recording": classification_metrics(rec_labels, rec_probs.argmax(1), classes)}


def accuracy_by_snr(records: list[dict], classes: list[str], *, width_db: float = 5.0) -> list[dict]:
    """Recording-level accuracy of vessel recordings per SNR bin of ``width_db`` (ambient has no SNR)."""
    vessels = [r for r in records if r["extra"].get("snr_db", "") != ""]
    if not vessels:
        return []
    probs = np.stack([r["probs"] for r in vessels])
    labels = np.asarray([classes.index(r["label"]) for r in vessels])
    ids, rec_probs, rec_labels = aggregate_by_recording(probs, [r["recording_id"] for r in vessels], labels)
    snr = {r["recording_id"]: float(r["extra"]["snr_db"]) for r in vessels}
    edges = np.floor(np.asarray([snr[i] for i in ids]) / width_db) * width_db
    correct = rec_probs.argmax(1) == rec_labels
    return [{"lo_db": float(lo), "hi_db": float(lo + width_db), "n": int((edges == lo).sum()),
             "accuracy": float(correct[edges == lo].mean())} for lo in np.unique(edges)]


def snr_at_least(record: dict, threshold_db: float) -> bool:
    """Whether a window counts in the SNR ≥ ``threshold_db`` [dB] figures: ambient windows (no SNR) always do,
    vessel windows when their recording's SNR reaches the threshold."""
    value = record["extra"].get("snr_db", "")
    return value == "" or float(value) >= threshold_db


def snr_bands_for(records: list[dict], classes: list[str]) -> dict:
    """Window and recording macro-F1 per SNR band (< −10, −10…0, 0…10, ≥ 10 dB; ambient joins every band)."""
    probs = np.stack([r["probs"] for r in records])
    labels = np.asarray([classes.index(r["label"]) for r in records])
    snr = snr_of_extras([r["extra"] for r in records])
    return split_metrics(probs, labels, [r["recording_id"] for r in records], snr, classes).get("snr_bands", {})


def score_baseline(path: str | Path, rows, info: ModelInfo, *, events_path: Path | None = None,
                   progress: bool = True) -> dict:
    """A training run's scikit-learn baseline (``baseline.skops``) on the same rows, windows and SNR bands, with
    the same whole-recording and audible-window figures as the model."""
    from uwac.acoustics.baseline_file import load_baseline
    from uwac.acoustics.handcrafted import baseline_probabilities, window_table

    path = Path(path)
    saved = load_baseline(path)
    classes = list(saved["classes"])
    if classes != list(info.classes):
        raise ValueError(f"baseline {path} classes {classes} differ from the model's {list(info.classes)}")
    x, y, owners, _, starts = window_table(rows, sample_rate=info.sample_rate, window_samples=info.window_samples,
                                           hop_samples=info.hop_samples, classes=classes, desc="baseline",
                                           progress=progress)
    if not len(y):
        return {}
    probs = baseline_probabilities(saved["model"], x, len(classes))
    out = split_metrics(probs, y, [r.recording_id for r in owners], snr_of_rows(owners), classes)
    records = [{"recording_id": r.recording_id, "label": r.label, "extra": r.extra, "span": (r.path, r.start_s, r.end_s),
                "start_s": float(t), "probs": p} for r, t, p in zip(owners, starts, probs, strict=True)]
    out["snr_ge_0db"] = metrics_for([r for r in records if snr_at_least(r, 0.0)], classes)
    if mark_audible(records, rows, events_path, info.window_seconds):
        audible = audible_subset(records)
        out["audible"] = metrics_for(audible, classes)
        out["audible_snr_ge_0db"] = metrics_for([r for r in audible if snr_at_least(r, 0.0)], classes)
    return out


def score_events(session, info: ModelInfo, rows, records: list[dict], events_path: Path, classes: list[str], *,
                 onset_tol_s: float = ONSET_TOL_S, offset_tol_s: float = OFFSET_TOL_S,
                 offset_tol_frac: float = OFFSET_TOL_FRAC, progress: bool = True) -> tuple[dict, list[tuple[Event, bool]]]:
    """Event-level scores of the evaluated recordings against the strong labels in ``events_path``.

    Each recording is scored on one continuous window grid over its evaluated span (earliest start to latest
    end, s): a recording with a single manifest row reuses that row's windows; one with several rows (a scene's
    contact and ambient spans) is scored again as a whole, as the streaming daemon would hear it. True spans
    are clipped to that extent. Returns (the ``events`` block of ``metrics.json``, the predicted segments with a matched flag).
    Tolerances in seconds (``offset_tol_frac``: fraction of the true span's duration); see ``acoustics.evaluation.event_scores``.
    """
    by_rec: dict[str, list] = {}
    for r in rows:
        by_rec.setdefault(r.recording_id, []).append(r)
    scored: dict[str, list[dict]] = {}
    for r in records:
        scored.setdefault(r["recording_id"], []).append(r)
    notes, whole, windows = [], [], {}
    for rid, rs in by_rec.items():
        if rid not in scored:
            continue
        if len({r.path for r in rs}) > 1:
            notes.append(f"{rid}: rows in more than one file; left out of event scoring")
            continue
        if len(rs) == 1:
            windows[rid] = scored[rid]
        else:
            whole.append(Row(rs[0].path, min(r.start_s for r in rs), max(r.end_s for r in rs), classes[0], "", rid))
    if whole:
        timeline, skipped = score_rows(session, info, whole, progress=progress)
        notes += skipped
        for r in timeline:
            windows.setdefault(r["recording_id"], []).append(r)
    extents = {rid: (min(r.start_s for r in by_rec[rid]), max(r.end_s for r in by_rec[rid])) for rid in windows}
    truth_all = read_events(events_path)
    truth = []
    for e in truth_all:
        if e.recording_id in extents:
            lo, hi = extents[e.recording_id]
            if min(e.end_s, hi) > max(e.start_s, lo):
                truth.append(Event(e.recording_id, e.label, max(e.start_s, lo), min(e.end_s, hi)))
    n_spans = len(truth)
    vessel_rows = sum(r.label != BACKGROUND for rid in windows for r in by_rec[rid])
    if vessel_rows and not truth:
        notes.append(f"{events_path} has no span in the {len(windows)} evaluated recording(s), though {vessel_rows} of "
                     "their rows are labelled vessels: is it this manifest's events file?")
        log.warning("event scoring: %s", notes[-1])
    truth = merge_events(truth)
    predicted: list[Event] = []
    for rid, ws in windows.items():
        predicted += segments_from_windows([w["start_s"] for w in ws], [classes[int(np.argmax(w["probs"]))] for w in ws],
                                           window_s=info.window_seconds, hop_s=info.hop_seconds, extent=extents[rid],
                                           recording_id=rid)
    foreground = [c for c in classes if c != BACKGROUND]
    tol = {"onset_tol_s": onset_tol_s, "offset_tol_s": offset_tol_s, "offset_tol_frac": offset_tol_frac}
    block = {"events_file": str(events_path), "segment_rule": SEGMENT_RULE, "match_rule": MATCH_RULE,
             "onset_tolerance_s": onset_tol_s, "offset_tolerance_s": offset_tol_s,
             "offset_tolerance_fraction": offset_tol_frac, "recordings": len(windows),
             "true_spans": n_spans, "true_events": len(truth), "predicted_events": len(predicted), "notes": notes,
             **event_scores(truth, predicted, foreground, **tol),
             "onset_only": event_scores(truth, predicted, foreground, **{**tol, "offset_tol_s": math.inf})}
    block["onset_only"].pop("per_class")
    contacts = [c for rid, ws in windows.items() for c in tracker_contacts(ws, info, classes, rid)]
    block["contacts"] = {"rule": "contacts of the streaming daemon's tracker (acoustics.stream.tracker: smoothing "
                                 "and hysteresis, its defaults) over the same windows",
                         "predicted_events": len(contacts), **event_scores(truth, contacts, foreground, **tol)}
    matched = {j for _, j in match_events(truth, predicted, **tol)}
    return block, [(p, j in matched) for j, p in enumerate(predicted)]


def tracker_contacts(windows: list[dict], info: ModelInfo, classes: list[str], recording_id: str) -> list[Event]:
    """The contacts ``uwac stream`` would report for one recording's windows (in time order), as events: the
    daemon's tracker fed each window's probabilities, open contacts ended at the last window."""
    from uwac.acoustics.stream.tracker import Tracker

    tracker = Tracker(classes, hop_s=info.hop_seconds, unknown_threshold=info.unknown_threshold)
    ended = []
    for w in sorted(windows, key=lambda w: w["start_s"]):
        probs = np.asarray(w["probs"], dtype=np.float32)
        ended += tracker.update(0, probs, w["start_s"], w["start_s"] + info.window_seconds)
    ended += tracker.close_all("end of recording")
    return [Event(recording_id, e["class"], e["start_s"], e["end_s"]) for e in ended
            if e["type"] == "contact_end" and e.get("end_s") is not None]
