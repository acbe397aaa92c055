"""``uwac evaluate``: score an exported ONNX model on a manifest split, as it will run in the field.

Runs the ONNX file through onnxruntime (never the torch module), one window per hop from the
model's own metadata, and writes ``metrics.json`` (window and recording level, per class, and
the same for the subset with SNR ≥ 0 dB when the manifest has an ``snr_db`` column),
``scores.csv`` (every window's probabilities), ``report.md`` and confusion-matrix PNGs.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
from tqdm import tqdm

from acoustics.audio_io import AudioError, read_span, resample
from acoustics.contract import ModelInfo, load_session, run_batch
from acoustics.manifest import read_manifest
from acoustics.metrics import aggregate_by_recording, classification_metrics
from acoustics.plots import accuracy_vs_snr_png, confusion_png

log = logging.getLogger(__name__)


def window_starts(n_samples: int, info: ModelInfo) -> list[int]:
    """Sample offsets of every full window on the model's hop grid."""
    if n_samples < info.window_samples:
        return []
    return list(range(0, n_samples - info.window_samples + 1, info.hop_samples))


def score_rows(session, info: ModelInfo, rows, *, batch_size: int = 32, progress: bool = True):
    """Probabilities for every window of every row: (table of window records, skipped messages)."""
    records, skipped = [], []
    pending_x, pending_meta = [], []

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
            audio = resample(audio, sr, info.sample_rate)
        starts = window_starts(audio.shape[0], info)
        if not starts:
            skipped.append(f"{row.path}: span {row.start_s:.2f}-{row.end_s:.2f} s is shorter than one window")
        for s in starts:
            pending_x.append(audio[s: s + info.window_samples])
            pending_meta.append({"recording_id": row.recording_id, "path": row.path, "label": row.label,
                                 "start_s": row.start_s + s / info.sample_rate, "extra": row.extra})
            if len(pending_x) == batch_size:
                flush()
    flush()
    return records, skipped


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


def evaluate(*, model: str | Path, manifest: str | Path, out: str | Path, split: str = "test",
             threads: int = 1, progress: bool = True) -> dict:
    """Score ``model`` on ``split`` of ``manifest`` (``all`` for every row); write reports into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    session, info = load_session(model, threads=threads)
    rows = read_manifest(manifest)
    if split != "all":
        rows = [r for r in rows if r.split == split]
        if not rows:
            raise ValueError(f"{manifest}: no rows in split {split!r}; use --split all or split the manifest first")
    classes = list(info.classes)
    records, skipped = score_rows(session, info, rows, progress=progress)
    for msg in skipped:
        log.warning("skipped: %s", msg)
    if not records:
        shown = "; ".join(skipped[:3]) + (" ..." if len(skipped) > 3 else "")
        raise ValueError(f"{manifest}: none of {len(rows)} span(s) in split {split!r} could be scored ({shown})")
    result = {"model": str(model), "manifest": str(manifest), "split": split, "classes": classes,
              "windows": len(records), "recordings": len({r["recording_id"] for r in records}),
              "skipped": skipped, "all": metrics_for(records, classes)}
    if any("snr_db" in r["extra"] for r in records):
        result["snr_ge_0db"] = metrics_for([r for r in records if _snr_at_least(r, 0.0)], classes)
        result["accuracy_by_snr"] = accuracy_by_snr(records, classes)
        if result["accuracy_by_snr"]:
            accuracy_vs_snr_png(result["accuracy_by_snr"], out / "accuracy_vs_snr.png",
                                title=f"{Path(str(model)).name} on {split}: vessel recordings by SNR")
    (out / "metrics.json").write_text(json.dumps(result, indent=2))
    with (out / "scores.csv").open("w") as fh:
        fh.write("recording_id,start_s,label,predicted," + ",".join(f"p_{c}" for c in classes) + "\n")
        for r in records:
            fh.write(f"{r['recording_id']},{r['start_s']:.3f},{r['label']},{classes[int(np.argmax(r['probs']))]},"
                     + ",".join(f"{p:.6f}" for p in r["probs"]) + "\n")
    for level in ("window", "recording"):
        m = result["all"][level]
        if m is not None:
            confusion_png(m["confusion"], classes, out / f"confusion_{level}.png",
                          title=f"{Path(str(model)).name} on {split}: {level} level, macro-F1 {m['macro_f1']:.3f}")
    (out / "report.md").write_text(render_report(result))
    return result


def render_report(result: dict) -> str:
    """A short markdown summary of ``metrics.json``."""
    lines = [f"# uwac evaluation: {Path(result['model']).name}", "",
             f"split `{result['split']}`: {result['recordings']} recordings, {result['windows']} windows; "
             f"{len(result['skipped'])} span(s) skipped", "",
             "| subset | level | accuracy | macro-F1 | n |", "|---|---|---:|---:|---:|"]
    for subset in ("all", "snr_ge_0db"):
        for level in ("window", "recording"):
            m = (result.get(subset) or {}).get(level)
            if m:
                lines.append(f"| {subset} | {level} | {m['accuracy']:.3f} | {m['macro_f1']:.3f} | {m['n']} |")
    m = result["all"]["window"]
    if m:
        lines += ["", "| class | precision | recall | F1 | windows |", "|---|---:|---:|---:|---:|"]
        for c, v in m["per_class"].items():
            lines.append(f"| {c} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |")
    if result.get("accuracy_by_snr"):
        lines += ["", "| SNR bin (dB) | vessel recordings | accuracy |", "|---|---:|---:|"]
        lines += [f"| {b['lo_db']:+.0f} to {b['hi_db']:+.0f} | {b['n']} | {b['accuracy']:.3f} |" for b in result["accuracy_by_snr"]]
    lines += ["", "![window confusion](confusion_window.png) ![recording confusion](confusion_recording.png)"]
    if result.get("accuracy_by_snr"):
        lines.append("![accuracy vs SNR](accuracy_vs_snr.png)")
    lines.append("")
    return "\n".join(lines)
