"""``uwac evaluate``: score an exported ONNX model on a manifest split, as it will run in the field.

Runs the ONNX file through onnxruntime (never the torch module), one window per hop from the
model's own metadata, and writes into the output folder:

- ``metrics.json``: window and recording level, per class (and the same for the subset with SNR ≥ 0 dB when
  the manifest has an ``snr_db`` column); the split protocol (:func:`evaluation_protocol`); breakdowns by SNR
  band, range band, sea state and fine type (``acoustics.breakdowns``); calibration on the evaluated windows
  (ECE, reliability bins) beside the model's stored temperature and validation ECE; one-vs-rest ROC AUC and
  average precision per class; event-level detection scores when strong labels exist (``events.csv`` beside
  the manifest, or ``events=``; ``acoustics.event_scores``);
- ``scores.csv`` (every window's probabilities), ``events_predicted.csv`` (predicted segments, with events);
- ``report.md`` and ``report.html`` (one self-contained page, ``acoustics.report_html``), and the PNGs.

``manifest`` may be a folder holding ``manifest.csv`` (a rendered dataset or scene set), whose ``events.csv``
is then used. Audio at another sample rate than the model's is resampled (soxr VHQ, logged once per rate).
When the manifest has a ``category`` column (real clips, ``uwac adapt realclips``), ``metrics.json``
gets a ``real_world`` block and ``report.md`` a real-world section: per category, how many clips the
model calls a vessel, against the goals in :data:`REAL_WORLD_GOALS` (see :func:`real_world_table`).
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np
from tqdm import tqdm

from uwac.acoustics.audio_io import AudioError, read_span, resample
from uwac.acoustics.breakdowns import breakdowns, calibration, roc_pr, roc_pr_curves
from uwac.acoustics.contract import (
    ModelInfo,
    load_session,
    run_batch,
    short_clip_window,
)
from uwac.acoustics.eval_plots import bands_png, fine_type_png, pr_png, reliability_png, roc_png
from uwac.acoustics.event_scores import (
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
from uwac.acoustics.manifest import PROTOCOL_TITLES, Row, manifest_fingerprint, read_manifest, split_protocol
from uwac.acoustics.metrics import (
    aggregate_by_recording,
    classification_metrics,
    snr_of_extras,
    snr_of_rows,
    split_metrics,
)
from uwac.acoustics.openset import held_out_fine_labels, open_set_metrics, render_open_set
from uwac.acoustics.physics_floor import demon_floor, vessel_auc
from uwac.acoustics.physics_targets import AUDIBLE_FRACTION, row_audible_spans, window_audible
from uwac.acoustics.plots import accuracy_vs_snr_png, confusion_png
from uwac.acoustics.report_html import headline_warning, write_html

log = logging.getLogger(__name__)

VESSEL_CLASSES: tuple[str, ...] = ("merchant", "warship", "drone")
REAL_WORLD_CATEGORIES: tuple[str, ...] = ("ambient", "biological", "anthropogenic", "vessel")
NON_VESSEL_CATEGORIES: tuple[str, ...] = ("ambient", "biological", "anthropogenic")
# Issue 9's goals for the real-world check (real merchants: at least 5 of the 7 DeepShip cuts).
REAL_WORLD_GOALS: dict[str, float] = {"max_non_vessel_called_vessel": 0.10, "min_merchant_called_merchant": 5 / 7,
                                      "min_vessel_auc": 0.90}


def window_starts(n_samples: int, info: ModelInfo) -> list[int]:
    """Sample offsets of every full window on the model's hop grid."""
    if n_samples < info.window_samples:
        return []
    return list(range(0, n_samples - info.window_samples + 1, info.hop_samples))


def score_rows(session, info: ModelInfo, rows, *, batch_size: int = 32, progress: bool = True,
               too_short: list | None = None):
    """Probabilities for every window of every row: (table of window records, skipped messages).

    Audio at another rate than the model's is resampled (logged once per rate). A row shorter than one window
    is scored once, repeated up to one window (:func:`short_clip_window`; its record
    has ``short``), never dropped; when ``too_short`` is a list such rows are appended to it as well.
    """
    records, skipped = [], []
    pending_x, pending_meta = [], []
    rates_seen: set[int] = set()

    def flush():
        if pending_x:
            probs = run_batch(session, np.stack(pending_x))["probabilities"]
            records.extend({**m, "probs": p} for m, p in zip(pending_meta, probs, strict=True))
            pending_x.clear()
            pending_meta.clear()

    for row in tqdm(rows, desc="evaluate", unit="span", disable=not progress):
        if row.label not in info.classes:
            skipped.append(f"{row.path}: label {row.label!r} is not a class of this model {list(info.classes)}")
            continue
        try:
            audio, sr = read_span(row.path, start_s=row.start_s, end_s=row.end_s)
        except AudioError as exc:
            skipped.append(str(exc))
            continue
        if sr != info.sample_rate:
            if sr not in rates_seen:
                rates_seen.add(sr)
                log.info("resampling %d Hz audio to the model's %d Hz (soxr VHQ)", sr, info.sample_rate)
            audio = resample(audio, sr, info.sample_rate)
        meta = {"recording_id": row.recording_id, "path": row.path, "label": row.label, "fine_label": row.fine_label,
                "extra": row.extra, "span": (row.path, row.start_s, row.end_s)}
        starts = window_starts(audio.shape[0], info)
        if not starts:
            window = short_clip_window(audio, info)
            if too_short is not None:
                too_short.append(row)
            if window is None:
                skipped.append(f"{row.path}: span {row.start_s:.2f}-{row.end_s:.2f} s holds no audio; not scored")
                continue
            flush()  # a window of its own length: a batch of its own
            records.extend({**meta, "start_s": row.start_s, "short": True, "probs": p}
                           for p in run_batch(session, window[None, :])["probabilities"])
        for s in starts:
            pending_x.append(audio[s: s + info.window_samples])
            pending_meta.append({**meta, "start_s": row.start_s + s / info.sample_rate})
            if len(pending_x) == batch_size:
                flush()
    flush()
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


def _snr_at_least(record: dict, threshold_db: float) -> bool:
    """Ambient windows (no SNR) always count; vessel windows when their SNR ≥ threshold."""
    value = record["extra"].get("snr_db", "")
    return value == "" or float(value) >= threshold_db


def _share(k: int, n: int) -> float | None:
    return k / n if n else None


def real_world_table(probs, categories: list[str], labels: list[str], classes: list[str], *,
                     files: list[str] | None = None, too_short: list[dict] | None = None,
                     goals: dict[str, float] | None = None, unknown_threshold: float = 0.0) -> dict:
    """The real-world check from per-clip class probabilities (one clip per row of ``probs``).

    A clip's decision is the argmax of its probabilities (the mean over its windows), or ``unknown`` when
    the top probability is under ``unknown_threshold`` (the model's, chosen on validation, as the node
    applies it); it is *called a vessel* when the decision is merchant, warship or drone. Returns, as plain JSON-able values:
    ``by_category`` (clips, called_vessel, share_called_vessel for ambient, biological, anthropogenic,
    vessel and any other category present), ``non_vessel`` (ambient + biological + anthropogenic
    pooled, against the goal ``max_non_vessel_called_vessel``), ``merchant`` (clips labelled merchant:
    counts per predicted class and the share called merchant, against ``min_merchant_called_merchant``),
    ``goals``, ``clips`` (file, category, label, predicted, top_probability) and ``too_short`` (as given).
    A share over no clips is None, and so is ``meets_goal``.
    """
    probs = np.asarray(probs, dtype=np.float64).reshape(len(categories), len(classes))
    if len(labels) != len(categories) or (files is not None and len(files) != len(categories)):
        raise ValueError("real_world_table: probs, categories, labels (and files) need one entry per clip")
    goals = {**REAL_WORLD_GOALS, **(goals or {})}
    predicted = [classes[i] if probs[j, i] >= unknown_threshold else "unknown"
                 for j, i in enumerate(probs.argmax(1))] if len(categories) else []
    vessel = [p in VESSEL_CLASSES for p in predicted]
    by_category = {}
    for cat in [*REAL_WORLD_CATEGORIES, *sorted(set(categories) - set(REAL_WORLD_CATEGORIES))]:
        idx = [i for i, c in enumerate(categories) if c == cat]
        k = sum(vessel[i] for i in idx)
        by_category[cat] = {"clips": len(idx), "called_vessel": k, "share_called_vessel": _share(k, len(idx)),
                            "called_unknown": sum(predicted[i] == "unknown" for i in idx)}
    non = [i for i, c in enumerate(categories) if c in NON_VESSEL_CATEGORIES]
    k_non = sum(vessel[i] for i in non)
    judged = [i for i, c in enumerate(categories) if c in (*NON_VESSEL_CATEGORIES, "vessel")]
    ambient_col = classes.index("ambient") if "ambient" in classes else None
    auc = None if ambient_col is None else vessel_auc(1.0 - probs[judged, ambient_col],
                                                      [categories[i] == "vessel" for i in judged])
    share_non = _share(k_non, len(non))
    merchant = [i for i, lab in enumerate(labels) if lab == "merchant"]
    counts = {c: sum(predicted[i] == c for i in merchant) for c in [*classes, "unknown"]}
    share_m = _share(counts.get("merchant", 0), len(merchant))
    clips = [{"file": files[i] if files is not None else str(i), "category": categories[i], "label": labels[i],
              "predicted": predicted[i], "top_probability": float(probs[i].max())} for i in range(len(categories))]
    return {
        "goals": goals,
        "unknown_threshold": float(unknown_threshold),
        "by_category": by_category,
        "non_vessel": {"categories": list(NON_VESSEL_CATEGORIES), "clips": len(non), "called_vessel": k_non,
                       "share_called_vessel": share_non, "goal_max": goals["max_non_vessel_called_vessel"],
                       "meets_goal": None if share_non is None else share_non <= goals["max_non_vessel_called_vessel"]},
        "merchant": {"clips": len(merchant), "predicted": counts, "share_called_merchant": share_m,
                     "goal_min": goals["min_merchant_called_merchant"],
                     "meets_goal": None if share_m is None else share_m >= goals["min_merchant_called_merchant"] - 1e-9},
        "vessel_vs_not": {"score": "1 − p(ambient), the clip's mean over its windows", "clips": len(judged),
                          "auc": auc, "goal_min": goals["min_vessel_auc"],
                          "meets_goal": None if auc is None else auc >= goals["min_vessel_auc"]},
        "clips": clips,
        "too_short": list(too_short or []),
    }


def real_world_from_records(records: list[dict], too_short_rows: list, classes: list[str],
                            window_seconds: float, unknown_threshold: float = 0.0) -> dict:
    """:func:`real_world_table` of scored windows: mean probability per clip (manifest row), with too-short rows."""
    spans: dict[tuple, list[dict]] = {}
    for r in records:
        if "category" in r["extra"]:
            spans.setdefault(r["span"], []).append(r)
    probs = np.stack([np.mean([w["probs"] for w in ws], axis=0) for ws in spans.values()]) if spans \
        else np.zeros((0, len(classes)))
    first = [ws[0] for ws in spans.values()]
    short = [{"file": row.path, "category": row.extra.get("category", ""), "label": row.label,
              "duration_s": round(row.duration_s, 3), "window_s": window_seconds, "scored": True}
             for row in too_short_rows if "category" in row.extra]
    return real_world_table(probs, [w["extra"]["category"] for w in first], [w["label"] for w in first], classes,
                            files=[w["path"] for w in first], too_short=short, unknown_threshold=unknown_threshold)


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
    out["snr_ge_0db"] = metrics_for([r for r in records if _snr_at_least(r, 0.0)], classes)
    if mark_audible(records, rows, events_path, info.window_seconds):
        audible = audible_subset(records)
        out["audible"] = metrics_for(audible, classes)
        out["audible_snr_ge_0db"] = metrics_for([r for r in audible if _snr_at_least(r, 0.0)], classes)
    return out


IND_TITLE = "an independent set (no split assignments; not checked against the training data)"
TRAINED_ON_TITLE = "LEAKY: the model's own training recordings are included; figures are not comparable"


def evaluation_protocol(rows: list[Row], split: str, info: ModelInfo) -> dict:
    """The held-out protocol of an evaluation: ``code`` (``VES``, ``REC``, ``LEAKY`` or ``IND``), ``title``, ``reason``,
    ``leaky`` and ``training_manifest`` (whether ``rows`` are the model's own training manifest).

    ``rows`` are the whole manifest's (every split). ``LEAKY`` when a recording is in two splits, or when the
    manifest is the model's own training manifest (same fingerprint as ``uwac.training``) and the evaluated
    rows include its train split (``split`` ``train`` or ``all``). ``IND`` when the manifest has no split
    assignments at all (a fresh render, real clips): held out only if made apart from the training data.
    Otherwise :func:`acoustics.manifest.split_protocol` of the rows (``VES`` vessel-, ``REC`` recording-disjoint).
    """
    sha = info.training.get("manifest_sha256")
    own = bool(sha) and sha == manifest_fingerprint(rows)
    if not any(r.split for r in rows):
        return {"code": "IND", "title": IND_TITLE, "leaky": False, "training_manifest": own,
                "reason": "the manifest has no split assignments"}
    code = split_protocol(rows)
    title = PROTOCOL_TITLES[code]
    if code == "LEAKY":
        reason = "a recording_id appears in more than one split"
    elif own and split in ("train", "all"):
        code, title = "LEAKY", TRAINED_ON_TITLE
        reason = f"split {split!r} of the model's own training manifest includes the recordings it trained on"
    elif own:
        reason = (f"split {split!r} of the model's own training manifest, held out by {code}"
                  + (" (validation: used for model selection and calibration, so optimistic)" if split == "val" else ""))
    else:
        why = "the fingerprint differs" if sha else "the model records no training-manifest fingerprint"
        reason = (f"split {split!r} of a manifest not known to be the model's training manifest ({why}): its splits "
                  f"are {code}, but whether the model trained on these recordings is not checked")
    return {"code": code, "title": title, "leaky": code == "LEAKY", "training_manifest": own, "reason": reason}


def resolve_inputs(manifest: str | Path, events: str | Path | None) -> tuple[Path, Path | None]:
    """(manifest CSV, events CSV or None): a folder means ``DIR/manifest.csv``; events default to the
    ``events.csv`` beside the manifest when it exists. An ``events`` path given but missing is an error."""
    manifest = Path(manifest)
    if manifest.is_dir():
        if not (manifest / "manifest.csv").is_file():
            raise FileNotFoundError(f"{manifest} is a folder without manifest.csv; pass a manifest CSV or a folder "
                                    "rendered by `uwac synth --out DIR`")
        manifest = manifest / "manifest.csv"
    if events is not None:
        events = Path(events)
        if not events.is_file():
            raise FileNotFoundError(f"events file {events} not found; `uwac synth --out DIR` writes DIR/events.csv")
        return manifest, events
    beside = manifest.parent / "events.csv"
    return manifest, beside if beside.is_file() else None


def score_events(session, info: ModelInfo, rows, records: list[dict], events_path: Path, classes: list[str], *,
                 onset_tol_s: float = ONSET_TOL_S, offset_tol_s: float = OFFSET_TOL_S,
                 offset_tol_frac: float = OFFSET_TOL_FRAC, progress: bool = True) -> tuple[dict, list[tuple[Event, bool]]]:
    """Event-level scores of the evaluated recordings against the strong labels in ``events_path``.

    Each recording is scored on one continuous window grid over its evaluated span (earliest start to latest
    end, s): a recording with a single manifest row reuses that row's windows; one with several rows (a scene's
    contact and ambient spans) is scored again as a whole, as the streaming daemon would hear it. True spans
    are clipped to that extent. Returns (the ``events`` block of ``metrics.json``, the predicted segments with a matched flag).
    Tolerances in seconds (``offset_tol_frac``: fraction of the true span's duration); see ``acoustics.event_scores``.
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


def write_plots(result: dict, records: list[dict], classes: list[str], out: Path, name: str) -> None:
    """The PNGs of an evaluation into ``out`` (confusion, SNR, range, sea state, fine type, reliability, ROC, PR)."""
    split = result["split"]
    for level in ("window", "recording"):
        m = result["all"][level]
        if m is not None:
            confusion_png(m["confusion"], classes, out / f"confusion_{level}.png",
                          title=f"{name} on {split}: {level} level, macro-F1 {m['macro_f1']:.3f}")
    if result.get("accuracy_by_snr"):
        accuracy_vs_snr_png(result["accuracy_by_snr"], out / "accuracy_vs_snr.png",
                            title=f"{name} on {split}: vessel recordings by SNR")
    for key, field, xlabel in (("snr_bands", "band", "SNR band (vessel items; ambient joins every band)"),
                               ("range_bands", "band", "horizontal CPA range (vessel items; ambient joins every band)"),
                               ("sea_state", "value", "sea state")):
        if result.get(key):
            bands_png(result[key], out / f"{key}.png", key=field, xlabel=xlabel, title=f"{name} on {split}: by {key.replace('_bands', ' band').replace('_', ' ')}")
    if result.get("fine_type", {}).get("window"):
        fine_type_png(result["fine_type"]["window"], classes, out / "fine_type.png",
                      title=f"{name} on {split}: windows of each fine type, by predicted class")
    cal = result["calibration"]
    reliability_png(cal["bins"], out / "reliability.png", ece=cal["ece"], n_bins=cal["n_bins"],
                    title=f"{name} on {split}: {cal['windows']} windows")
    probs = np.stack([r["probs"] for r in records]).astype(np.float64)
    labels = np.asarray([classes.index(r["label"]) for r in records])
    curves = roc_pr_curves(probs, labels, classes)
    if curves:
        per = result["roc_pr"]["per_class"]
        roc_png(curves, per, out / "roc.png", title=f"{name} on {split}: one-vs-rest ROC, windows")
        pr_png(curves, per, out / "pr.png", title=f"{name} on {split}: one-vs-rest precision-recall, windows")


def evaluate(*, model: str | Path, manifest: str | Path, out: str | Path, split: str | None = None,
             threads: int = 1, progress: bool = True, baseline: str | Path | None = None,
             allow_rejected: bool = False, providers: str | list[str] | None = None,
             events: str | Path | None = None, onset_tol_s: float = ONSET_TOL_S, offset_tol_s: float = OFFSET_TOL_S,
             offset_tol_frac: float = OFFSET_TOL_FRAC) -> dict:
    """Score ``model`` on ``split`` of ``manifest`` (``all`` for every row); write reports into ``out``.

    ``manifest``: a CSV, or a folder holding ``manifest.csv``. ``split`` None: ``test`` when the manifest has
    split assignments, else ``all``. ``baseline``: also score a run's ``baseline.skops`` on the same rows and
    report it beside the model. ``allow_rejected``: score a variant its quality gate rejected (refused otherwise,
    ``load_session``). ``providers``: onnxruntime execution providers (``cpu``, ``cuda``, ``tensorrt``,
    ``openvino``, ``auto``); CPU when the build lacks them, with a log line. ``events``: strong labels (default:
    ``events.csv`` beside the manifest, when there); ``onset_tol_s`` / ``offset_tol_s`` [s] and
    ``offset_tol_frac`` (of the true duration) are the event-matching tolerances.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    manifest, events_path = resolve_inputs(manifest, events)
    session, info = load_session(model, threads=threads, allow_rejected=allow_rejected, providers=providers)
    all_rows = read_manifest(manifest)
    if split is None:
        split = "test" if any(r.split for r in all_rows) else "all"
        log.info("evaluating split %r of %s", split, manifest)
    rows = all_rows
    if split != "all":
        rows = [r for r in all_rows if r.split == split]
        if not rows:
            raise ValueError(f"{manifest}: no rows in split {split!r}; use --split all or split the manifest first")
    classes = list(info.classes)
    too_short: list = []
    records, skipped = score_rows(session, info, rows, progress=progress, too_short=too_short)
    for msg in skipped:
        log.warning("skipped: %s", msg)
    if not records:
        shown = "; ".join(skipped[:3]) + (" ..." if len(skipped) > 3 else "")
        raise ValueError(f"{manifest}: none of {len(rows)} span(s) in split {split!r} could be scored ({shown})")
    protocol = evaluation_protocol(all_rows, split, info)
    result = {"model": str(model), "manifest": str(manifest), "split": split, "protocol": protocol, "classes": classes,
              "windows": len(records), "recordings": len({r["recording_id"] for r in records}),
              "skipped": skipped, "all": metrics_for(records, classes)}
    if mark_audible(records, rows, events_path, info.window_seconds):
        audible = audible_subset(records)
        result["audible"] = metrics_for(audible, classes)
        result["audible_rule"] = (f"vessel windows whose contact the strong labels call audible (frame SNR ≥ the "
                                  f"render's threshold) over at least {AUDIBLE_FRACTION:.0%} of the window, and every "
                                  f"ambient window; {len(records) - len(audible)} vessel windows left out")
        if any("snr_db" in r["extra"] for r in records):
            result["audible_snr_ge_0db"] = metrics_for([r for r in audible if _snr_at_least(r, 0.0)], classes)
    if any("snr_db" in r["extra"] for r in records):
        result["snr_ge_0db"] = metrics_for([r for r in records if _snr_at_least(r, 0.0)], classes)
        result["accuracy_by_snr"] = accuracy_by_snr(records, classes)
        result["snr_bands"] = snr_bands_for(records, classes)
    result.update(breakdowns(records, classes))
    probs = np.stack([r["probs"] for r in records]).astype(np.float64)
    labels = np.asarray([classes.index(r["label"]) for r in records])
    result["calibration"] = calibration(probs, labels, info.calibration)
    result["roc_pr"] = roc_pr(probs, labels, classes)
    held = held_out_fine_labels(info)
    if held:  # fine types the model never saw in training: do they come out unknown or ambient?
        result["open_set"] = open_set_metrics(probs, [r["fine_label"] for r in records], labels, classes,
                                              held_out=held, unknown_threshold=info.unknown_threshold,
                                              recording_ids=[r["recording_id"] for r in records])
    segments = []
    if events_path is not None:
        result["events"], segments = score_events(session, info, rows, records, events_path, classes,
                                                  onset_tol_s=onset_tol_s, offset_tol_s=offset_tol_s,
                                                  offset_tol_frac=offset_tol_frac, progress=progress)
    if baseline is not None:
        result["baseline"] = score_baseline(baseline, rows, info, events_path=events_path, progress=progress)
    if any("category" in r.extra for r in rows):
        rw = real_world_from_records(records, too_short, classes, info.window_seconds,
                                     unknown_threshold=info.unknown_threshold)
        rw["physics_floor"] = demon_floor(rows)
        floor, auc = rw["physics_floor"]["auc"], rw["vessel_vs_not"]["auc"]
        rw["vessel_vs_not"]["physics_floor_auc"] = floor
        rw["vessel_vs_not"]["at_least_floor"] = None if floor is None or auc is None else auc >= floor
        result["real_world"] = rw
    (out / "metrics.json").write_text(json.dumps(result, indent=2))
    with (out / "scores.csv").open("w") as fh:
        fh.write("recording_id,start_s,label,predicted," + ",".join(f"p_{c}" for c in classes) + "\n")
        for r in records:
            fh.write(f"{r['recording_id']},{r['start_s']:.3f},{r['label']},{classes[int(np.argmax(r['probs']))]},"
                     + ",".join(f"{p:.6f}" for p in r["probs"]) + "\n")
    if events_path is not None:
        with (out / "events_predicted.csv").open("w") as fh:
            fh.write("recording_id,label,start_s,end_s,matched\n")
            fh.writelines(f"{p.recording_id},{p.label},{p.start_s:.3f},{p.end_s:.3f},{int(ok)}\n" for p, ok in segments)
    write_plots(result, records, classes, out, Path(str(model)).name)
    (out / "report.md").write_text(render_report(result))
    write_html(result, out)
    return result


def render_report(result: dict) -> str:
    """A short markdown summary of ``metrics.json`` (``report.html`` has every section and figure)."""
    protocol = result.get("protocol") or {"title": "protocol not recorded"}
    warn = headline_warning(protocol)
    a = result["all"]
    lines = [f"# uwac evaluation: {Path(result['model']).name} on {protocol['title']}", ""]
    if a["window"] and a["recording"]:
        lines += [f"**Macro-F1 {a['window']['macro_f1']:.3f} per window, {a['recording']['macro_f1']:.3f} per "
                  f"recording{warn}.**", ""]
    lines += [f"split `{result['split']}`: {result['recordings']} recordings, {result['windows']} windows; "
              f"{len(result['skipped'])} span(s) skipped" + (f"; protocol: {protocol['reason']}" if protocol.get("reason") else ""), "",
              *headline_table(result),
              "| subset | level | accuracy | macro-F1 | n |", "|---|---|---:|---:|---:|"]
    for subset in ("all", "snr_ge_0db", "audible", "audible_snr_ge_0db"):
        for level in ("window", "recording"):
            m = (result.get(subset) or {}).get(level)
            if m:
                lines.append(f"| {SUBSET_NAMES[subset]} | {level} | {m['accuracy']:.3f} | {m['macro_f1']:.3f} | {m['n']} |")
    m = result["all"]["window"]
    if m:
        lines += ["", "| class | precision | recall | F1 | windows |", "|---|---:|---:|---:|---:|"]
        for c, v in m["per_class"].items():
            lines.append(f"| {c} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |")
    if result.get("accuracy_by_snr"):
        lines += ["", "| SNR bin (dB) | vessel recordings | accuracy |", "|---|---:|---:|"]
        lines += [f"| {b['lo_db']:+.0f} to {b['hi_db']:+.0f} | {b['n']} | {b['accuracy']:.3f} |" for b in result["accuracy_by_snr"]]
    base = result.get("baseline") or {}
    if base:
        lines += ["", "| baseline (hand-made features) | accuracy | macro-F1 | n |", "|---|---:|---:|---:|"]
        lines += [f"| {lvl} | {base[lvl]['accuracy']:.3f} | {base[lvl]['macro_f1']:.3f} | {base[lvl]['n']} |"
                  for lvl in ("window", "recording")]
    if result.get("snr_bands"):
        lines += ["", "Macro-F1 by SNR band (vessel recordings in the band plus every ambient recording):", "",
                  "| SNR band | vessel recordings | model, recording | model, window | baseline, recording | baseline, window |",
                  "|---|---:|---:|---:|---:|---:|"]
        b_bands = base.get("snr_bands", {})
        for i, band in enumerate(result["snr_bands"]["recording"]):
            cells = [band, result["snr_bands"]["window"][i]]
            cells += [b_bands[lvl][i] for lvl in ("recording", "window")] if b_bands else [{}, {}]
            lines.append(f"| {band['band']} | {band['vessel_items']} | "
                         + " | ".join("–" if c.get("macro_f1") is None else f"{c['macro_f1']:.3f}" for c in cells) + " |")
    lines += ["", *_summary_lines(result), "",
              "![window confusion](confusion_window.png) ![recording confusion](confusion_recording.png)"]
    if result.get("accuracy_by_snr"):
        lines.append("![accuracy vs SNR](accuracy_vs_snr.png)")
    lines += ["", "Every breakdown, the reliability diagram, ROC/PR curves and event-level scores: `report.html`."]
    if result.get("open_set"):
        lines += ["", *render_open_set(result["open_set"])]
    if result.get("real_world"):
        lines += ["", *render_real_world(result["real_world"])]
    lines.append("")
    return "\n".join(lines)


SUBSET_NAMES = {  # what each figure counts, as the reports name it
    "all": "whole recording, all SNRs",
    "snr_ge_0db": "whole recording, SNR ≥ 0 dB",
    "audible": "audible windows, all SNRs",
    "audible_snr_ge_0db": "audible windows, SNR ≥ 0 dB",
}


def headline_table(result: dict) -> list[str]:
    """Markdown: window macro-F1 of the model (and baseline) for the audible-window and whole-recording figures,
    side by side and named, so no one compares one with the other."""
    if "audible" not in result:
        return []
    base = result.get("baseline") or {}
    fmt = lambda m: "–" if not m or not m.get("window") else f"{m['window']['macro_f1']:.3f}"  # noqa: E731
    lines = ["Window macro-F1. *Audible windows*: " + result.get("audible_rule", "") + ". *Whole recording*: every "
             "window labelled with its recording's class, audible or not. SNR is the recording's (manifest `snr_db`).",
             "", "| figure | model | baseline |", "|---|---:|---:|"]
    for key in ("audible_snr_ge_0db", "audible", "snr_ge_0db", "all"):
        lines.append(f"| {SUBSET_NAMES[key]} | {fmt(result.get(key))} | {fmt(base.get(key) if key != 'all' else base)} |")
    return [*lines, ""]


def _summary_lines(result: dict) -> list[str]:
    """Markdown bullets: calibration, ROC/PR and event-level scores, where present."""
    out = []
    cal = result.get("calibration")
    if cal:
        stored = cal["model"]
        t = stored.get("temperature")
        out.append(f"- calibration: ECE {cal['ece']:.3f} on these {cal['windows']} windows"
                   + (f" ({cal['ece_without_temperature']:.3f} without the temperature)" if cal.get("ece_without_temperature") is not None else "")
                   + (f"; model temperature {t:.3f}, validation ECE {stored['val_ece_before']:.3f} before, "
                      f"{stored['val_ece_after']:.3f} after" if t is not None and stored.get("val_ece_after") is not None
                      else "; the model stores no temperature scaling"))
    roc = result.get("roc_pr")
    if roc and roc["macro_roc_auc"] is not None:
        out.append(f"- one-vs-rest ROC AUC (windows), mean over classes {roc['macro_roc_auc']:.3f}: "
                   + ", ".join(f"{c} {v['roc_auc']:.3f}" for c, v in roc["per_class"].items() if v["roc_auc"] is not None))
    ev = result.get("events")
    if ev:
        f1 = ev["micro"]["f1"]
        out.append(f"- event-level detection ({ev['true_events']} true events, {ev['predicted_events']} predicted, onset "
                   f"±{ev['onset_tolerance_s']:g} s, offset ±max({ev['offset_tolerance_s']:g} s, "
                   f"{100 * ev['offset_tolerance_fraction']:.0f} %)): F1 " + ("n/a" if f1 is None else f"{f1:.3f}")
                   + f" (TP {ev['micro']['tp']}, FP {ev['micro']['fp']}, FN {ev['micro']['fn']})")
        ct = ev.get("contacts")
        if ct:
            cf1 = ct["micro"]["f1"]
            out.append(f"- the daemon's contacts (tracker with smoothing and hysteresis over the same windows): "
                       f"{ct['predicted_events']} predicted, F1 " + ("n/a" if cf1 is None else f"{cf1:.3f}")
                       + f" (TP {ct['micro']['tp']}, FP {ct['micro']['fp']}, FN {ct['micro']['fn']})")
    return out


def _pct(share: float | None) -> str:
    return "n/a" if share is None else f"{100 * share:.1f} %"


def _verdict(meets: bool | None) -> str:
    return "no clips" if meets is None else ("met" if meets else "NOT met")


def _auc_lines(rw: dict) -> list[str]:
    """The vessel-vs-not AUC of the model beside the physics floor (``demon_lines`` alone)."""
    v = rw.get("vessel_vs_not")
    if not v:
        return []
    fmt = lambda x: "n/a" if x is None else f"{x:.3f}"  # noqa: E731
    floor = rw.get("physics_floor", {}).get("auc")
    return [f"- vessel vs not, ROC AUC over {v['clips']} clips (score {v['score']}): **{fmt(v['auc'])}**; goal >= "
            f"{v['goal_min']:.2f}: {_verdict(v['meets_goal'])}; the physics floor (demon_lines confidence alone) "
            f"{fmt(floor)}: " + ("n/a" if v.get("at_least_floor") is None else
                                 "not below it" if v["at_least_floor"] else "BELOW it")]


def render_real_world(rw: dict) -> list[str]:
    """Markdown lines of the real-world section of ``report.md`` (see :func:`real_world_table`)."""
    g, nv, m = rw["goals"], rw["non_vessel"], rw["merchant"]
    lines = ["## Real-world check (real hydrophone clips)", "",
             "Recording-level decision per clip: the argmax of the mean probability over its windows, or unknown "
             f"when the top probability is under the model's threshold ({rw.get('unknown_threshold', 0.0):.3f}); a clip "
             f"is called a vessel when the decision is {', '.join(VESSEL_CLASSES)}.", "",
             "| category | clips | called vessel | called unknown | share called vessel | goal |",
             "|---|---:|---:|---:|---:|---|"]
    for cat, v in rw["by_category"].items():
        if cat == "vessel":
            goal = "(see merchant below)"
        elif cat in nv["categories"]:
            goal = f"pooled below: <= {100 * g['max_non_vessel_called_vessel']:.0f} %"
        else:
            goal = "outside the non-vessel figure"
        lines.append(f"| {cat} | {v['clips']} | {v['called_vessel']} | {v.get('called_unknown', 0)} | "
                     f"{_pct(v['share_called_vessel'])} | {goal} |")
    lines += ["",
              f"- non-vessel clips ({' + '.join(nv['categories'])}) called a vessel: {nv['called_vessel']} of "
              f"{nv['clips']} = **{_pct(nv['share_called_vessel'])}**; goal <= "
              f"{100 * nv['goal_max']:.0f} %: {_verdict(nv['meets_goal'])}",
              f"- real merchant clips called merchant: {m['predicted'].get('merchant', 0)} of {m['clips']} = "
              f"**{_pct(m['share_called_merchant'])}**; goal >= {100 * m['goal_min']:.0f} %: "
              f"{_verdict(m['meets_goal'])}",
              "- class given to the real merchant clips: "
              + ", ".join(f"{c} {n}" for c, n in m["predicted"].items()), *_auc_lines(rw), "",
              "| file | category | predicted | top probability |", "|---|---|---|---:|"]
    lines += [f"| {Path(c['file']).name} | {c['category']} | {c['predicted']} | {c['top_probability']:.3f} |"
              for c in rw["clips"]]
    if rw["too_short"]:
        lines += ["", f"Shorter than one model window ({rw['too_short'][0]['window_s']:g} s): scored as one window of "
                  "their own length (repeated up to the model's shortest input when shorter still) and counted in the "
                  "figures above:", ""]
        lines += [f"- {Path(c['file']).name} ({c['category']}, {c['duration_s']:.2f} s)" for c in rw["too_short"]]
    return lines
