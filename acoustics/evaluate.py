"""``uwac evaluate``: score an exported ONNX model on a manifest split, as it will run in the field.

Runs the ONNX file through onnxruntime (never the torch module), one window per hop from the
model's own metadata, and writes ``metrics.json`` (window and recording level, per class, and
the same for the subset with SNR ≥ 0 dB when the manifest has an ``snr_db`` column),
``scores.csv`` (every window's probabilities), ``report.md`` and confusion-matrix PNGs.
Audio at another sample rate than the model's is resampled (soxr VHQ, logged once per rate).
When the manifest has a ``category`` column (real clips, ``uwac adapt realclips``), ``metrics.json``
gets a ``real_world`` block and ``report.md`` a real-world section: per category, how many clips the
model calls a vessel, against the goals in :data:`REAL_WORLD_GOALS` (see :func:`real_world_table`).
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
from acoustics.metrics import (
    aggregate_by_recording,
    classification_metrics,
    snr_of_extras,
    snr_of_rows,
    split_metrics,
)
from acoustics.plots import accuracy_vs_snr_png, confusion_png

log = logging.getLogger(__name__)

VESSEL_CLASSES: tuple[str, ...] = ("merchant", "warship", "drone")
REAL_WORLD_CATEGORIES: tuple[str, ...] = ("ambient", "biological", "anthropogenic", "vessel")
NON_VESSEL_CATEGORIES: tuple[str, ...] = ("ambient", "biological", "anthropogenic")
# Issue 8's goals for the real-world check.
REAL_WORLD_GOALS: dict[str, float] = {"max_non_vessel_called_vessel": 0.05, "min_merchant_called_merchant": 0.90}


def window_starts(n_samples: int, info: ModelInfo) -> list[int]:
    """Sample offsets of every full window on the model's hop grid."""
    if n_samples < info.window_samples:
        return []
    return list(range(0, n_samples - info.window_samples + 1, info.hop_samples))


def score_rows(session, info: ModelInfo, rows, *, batch_size: int = 32, progress: bool = True,
               too_short: list | None = None):
    """Probabilities for every window of every row: (table of window records, skipped messages).

    Audio at another rate than the model's is resampled (logged once per rate). Rows shorter than one
    window are skipped and, when ``too_short`` is a list, appended to it as well.
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
        starts = window_starts(audio.shape[0], info)
        if not starts:
            skipped.append(f"{row.path}: span {row.start_s:.2f}-{row.end_s:.2f} s is shorter than one window "
                           f"({info.window_seconds:g} s); not scored")
            if too_short is not None:
                too_short.append(row)
        for s in starts:
            pending_x.append(audio[s: s + info.window_samples])
            pending_meta.append({"recording_id": row.recording_id, "path": row.path, "label": row.label,
                                 "start_s": row.start_s + s / info.sample_rate, "extra": row.extra,
                                 "span": (row.path, row.start_s, row.end_s)})
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
                     "meets_goal": None if share_m is None else share_m >= goals["min_merchant_called_merchant"]},
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
              "duration_s": round(row.duration_s, 3), "window_s": window_seconds}
             for row in too_short_rows if "category" in row.extra]
    return real_world_table(probs, [w["extra"]["category"] for w in first], [w["label"] for w in first], classes,
                            files=[w["path"] for w in first], too_short=short, unknown_threshold=unknown_threshold)


def snr_bands_for(records: list[dict], classes: list[str]) -> dict:
    """Window and recording macro-F1 per SNR band (< −10, −10…0, 0…10, ≥ 10 dB; ambient joins every band)."""
    probs = np.stack([r["probs"] for r in records])
    labels = np.asarray([classes.index(r["label"]) for r in records])
    snr = snr_of_extras([r["extra"] for r in records])
    return split_metrics(probs, labels, [r["recording_id"] for r in records], snr, classes).get("snr_bands", {})


def score_baseline(path: str | Path, rows, info: ModelInfo, *, progress: bool = True) -> dict:
    """A training run's scikit-learn baseline (``baseline.joblib``) on the same rows, windows and SNR bands."""
    import joblib

    from acoustics.handcrafted import baseline_probabilities, window_table

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"baseline {path} not found; `uwac train` writes RUN/baseline.joblib")
    saved = joblib.load(path)
    classes = list(saved["classes"])
    if classes != list(info.classes):
        raise ValueError(f"baseline {path} classes {classes} differ from the model's {list(info.classes)}")
    x, y, owners, _ = window_table(rows, sample_rate=info.sample_rate, window_samples=info.window_samples,
                                   hop_samples=info.hop_samples, classes=classes, desc="baseline", progress=progress)
    if not len(y):
        return {}
    probs = baseline_probabilities(saved["model"], x, len(classes))
    return split_metrics(probs, y, [r.recording_id for r in owners], snr_of_rows(owners), classes)


def evaluate(*, model: str | Path, manifest: str | Path, out: str | Path, split: str = "test",
             threads: int = 1, progress: bool = True, baseline: str | Path | None = None,
             allow_rejected: bool = False, providers: str | list[str] | None = None) -> dict:
    """Score ``model`` on ``split`` of ``manifest`` (``all`` for every row); write reports into ``out``.

    ``baseline``: also score a run's ``baseline.joblib`` on the same rows and report it beside the model.
    ``allow_rejected``: score a variant its quality gate rejected (refused otherwise, ``load_session``).
    ``providers``: onnxruntime execution providers (``cpu``, ``cuda``, ``tensorrt``, ``openvino``, ``auto``); CPU
    when the build lacks them, with a log line.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    session, info = load_session(model, threads=threads, allow_rejected=allow_rejected, providers=providers)
    rows = read_manifest(manifest)
    if split != "all":
        rows = [r for r in rows if r.split == split]
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
    result = {"model": str(model), "manifest": str(manifest), "split": split, "classes": classes,
              "windows": len(records), "recordings": len({r["recording_id"] for r in records}),
              "skipped": skipped, "all": metrics_for(records, classes)}
    if any("snr_db" in r["extra"] for r in records):
        result["snr_ge_0db"] = metrics_for([r for r in records if _snr_at_least(r, 0.0)], classes)
        result["accuracy_by_snr"] = accuracy_by_snr(records, classes)
        result["snr_bands"] = snr_bands_for(records, classes)
        if result["accuracy_by_snr"]:
            accuracy_vs_snr_png(result["accuracy_by_snr"], out / "accuracy_vs_snr.png",
                                title=f"{Path(str(model)).name} on {split}: vessel recordings by SNR")
    if baseline is not None:
        result["baseline"] = score_baseline(baseline, rows, info, progress=progress)
    if any("category" in r.extra for r in rows):
        result["real_world"] = real_world_from_records(records, too_short, classes, info.window_seconds,
                                                       unknown_threshold=info.unknown_threshold)
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
    lines += ["", "![window confusion](confusion_window.png) ![recording confusion](confusion_recording.png)"]
    if result.get("accuracy_by_snr"):
        lines.append("![accuracy vs SNR](accuracy_vs_snr.png)")
    if result.get("real_world"):
        lines += ["", *render_real_world(result["real_world"])]
    lines.append("")
    return "\n".join(lines)


def _pct(share: float | None) -> str:
    return "n/a" if share is None else f"{100 * share:.1f} %"


def _verdict(meets: bool | None) -> str:
    return "no clips" if meets is None else ("met" if meets else "NOT met")


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
              + ", ".join(f"{c} {n}" for c, n in m["predicted"].items()), "",
              "| file | category | predicted | top probability |", "|---|---|---|---:|"]
    lines += [f"| {Path(c['file']).name} | {c['category']} | {c['predicted']} | {c['top_probability']:.3f} |"
              for c in rw["clips"]]
    if rw["too_short"]:
        lines += ["", f"Too short for one model window ({rw['too_short'][0]['window_s']:g} s), not scored and "
                  "left out of the figures above:", ""]
        lines += [f"- {Path(c['file']).name} ({c['category']}, {c['duration_s']:.2f} s)" for c in rw["too_short"]]
    return lines
