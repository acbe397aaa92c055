"""``uwac evaluate``: score an exported ONNX model on a manifest split, as it will run in the field.

Runs the ONNX file through onnxruntime (never the torch module), one window per hop from the
model's own metadata, and writes into the output folder:

- ``metrics.json``: window and recording level, per class (and the same for the subset with SNR ≥ 0 dB when
  the manifest has an ``snr_db`` column); the split protocol (``acoustics.evaluation.protocol``); breakdowns by SNR
  band, range band, sea state and fine type (``acoustics.evaluation.breakdowns``); calibration on the evaluated windows
  (ECE, reliability bins) beside the model's stored temperature and validation ECE; one-vs-rest ROC AUC and
  average precision per class; event-level detection scores when strong labels exist (``events.csv`` beside
  the manifest, or ``events=``; ``acoustics.evaluation.event_scores``);
- ``scores.csv`` (every window's probabilities), ``events_predicted.csv`` (predicted segments, with events);
- ``report.md`` and ``report.html`` (one self-contained page, ``acoustics.evaluation.report_html``), and the PNGs.

``manifest`` may be a folder holding ``manifest.csv`` (a rendered dataset or scene set), whose ``events.csv``
is then used. Audio at another sample rate than the model's is resampled (soxr VHQ, logged once per rate).
When the manifest has a ``category`` column (real clips, ``uwac adapt realclips``), ``metrics.json``
gets a ``real_world`` block and ``report.md`` a real-world section: per category, how many clips the
model calls a vessel, against the goals in ``acoustics.evaluation.real_world``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from uwac.acoustics.contract import load_session
from uwac.acoustics.evaluation.breakdowns import breakdowns, calibration, roc_pr
from uwac.acoustics.evaluation.event_scores import OFFSET_TOL_FRAC, OFFSET_TOL_S, ONSET_TOL_S
from uwac.acoustics.evaluation.figures import write_plots
from uwac.acoustics.evaluation.openset import held_out_fine_labels, open_set_metrics
from uwac.acoustics.evaluation.physics_floor import demon_floor
from uwac.acoustics.evaluation.protocol import evaluation_protocol
from uwac.acoustics.evaluation.real_world import real_world_from_records
from uwac.acoustics.evaluation.report import render_report
from uwac.acoustics.evaluation.report_html import write_html
from uwac.acoustics.evaluation.scoring import (
    accuracy_by_snr,
    audible_subset,
    mark_audible,
    metrics_for,
    score_baseline,
    score_events,
    score_rows,
    snr_at_least,
    snr_bands_for,
)
from uwac.acoustics.manifest import read_manifest
from uwac.acoustics.physics_targets import AUDIBLE_FRACTION

log = logging.getLogger(__name__)


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
            result["audible_snr_ge_0db"] = metrics_for([r for r in audible if snr_at_least(r, 0.0)], classes)
    if any("snr_db" in r["extra"] for r in records):
        result["snr_ge_0db"] = metrics_for([r for r in records if snr_at_least(r, 0.0)], classes)
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
