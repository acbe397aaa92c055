"""Render a seeded synthetic dataset: WAV + params JSON per recording, a manifest and the strong labels.

Two modes. Single-contact clips (default): classes round-robin, one manifest row per recording (label = its
contact's class, or ambient). Scenes (``scenes=True``): each recording holds 0, 1 or 2 drawn contacts; its
manifest rows are its labelled spans, one row per contact span (frame SNR >= the threshold; spans of two
contacts may overlap), plus one ``ambient`` row per stretch where no contact is above the threshold.
Both modes write ``events.csv``: every contact span of every recording (recording_id, contact, label,
fine_label, start_s, end_s, threshold_db).
"""

from __future__ import annotations

import contextlib
import csv
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from uwac.acoustics.manifest import Row, write_manifest
from uwac.acoustics.synth import recorder
from uwac.acoustics.synth.events import composition
from uwac.acoustics.synth.scene import RENDERER_VERSION, SNR_THRESHOLD_DB, render_recording, render_scene
from uwac.acoustics.synth.vessels import MERCHANT_MODEL_NAMES, merchant_model_choices
from uwac.acoustics.taxonomy import CLASSES


def recording_seed(seed: int, index: int) -> int:
    """Per-recording seed from (seed, index): SeedSequence(seed).spawn child ``index`` (independent of count)."""
    child = np.random.SeedSequence(seed, spawn_key=(index,))
    return int(child.generate_state(2, dtype=np.uint32).astype(np.uint64) @ np.array([1, 2**32], dtype=np.uint64))


EVENT_COLUMNS = ("recording_id", "contact", "label", "fine_label", "start_s", "end_s", "threshold_db")


def single_threaded() -> None:
    """Limit BLAS to one thread in a render process: renders are parallel across processes, and an idle
    OpenBLAS thread spin-waits on the other core (it doubled the CPU time of a render, for no speed-up)."""
    threadpool_limits(1)


# (names, occurrence table) of each set whose per-render probabilities the override may set
OCCURRENCE_TABLES = ((composition.CONFUSER_NAMES, composition.CONFUSER_OCCURRENCE),
                     (composition.CETACEAN_NAMES, composition.CETACEAN_OCCURRENCE))


@contextlib.contextmanager
def occurrence_override(override: dict[str, float] | None):
    """Temporarily set the per-render probability of named confusers and cetaceans
    (``events.composition.CONFUSER_OCCURRENCE``, ``CETACEAN_OCCURRENCE``), e.g. 0 to hold a type out of a training
    set or 1 to build an open-set check set; restored afterwards."""
    saved = [dict(table) for _, table in OCCURRENCE_TABLES]
    known = [name for names, _ in OCCURRENCE_TABLES for name in names]
    unknown = sorted(set(override or {}) - set(known))
    if unknown:
        raise ValueError(f"unknown confuser(s) {', '.join(unknown)}; known: {', '.join(known)}")
    bad = {k: v for k, v in (override or {}).items() if not 0.0 <= float(v) <= 1.0}
    if bad:
        raise ValueError(f"confuser probabilities must lie in [0, 1], got {bad}")
    for names, table in OCCURRENCE_TABLES:
        table.update({k: float(v) for k, v in (override or {}).items() if k in names})
    try:
        yield
    finally:
        for (_, table), before in zip(OCCURRENCE_TABLES, saved, strict=True):
            table.clear()
            table.update(before)


def _render_one(job: dict) -> dict:
    """Render and write one recording; returns its manifest rows and events (run in a worker process)."""
    with occurrence_override(job.get("confuser_occurrence")):
        return _render_one_now(job)


def _render_one_now(job: dict) -> dict:
    """:func:`_render_one` under the job's confuser settings."""
    models = job.get("merchant_models")
    if job["scenes"]:
        audio, params = render_scene(seed=job["seed"], duration_s=job["duration_s"], sample_rate=job["sample_rate"],
                                     snr_threshold_db=job["threshold_db"], merchant_models=models)
    else:
        audio, params = render_recording(label=job["label"], seed=job["seed"], duration_s=job["duration_s"],
                                         sample_rate=job["sample_rate"], merchant_models=models)
    bits = params["bit_depth"]
    codes = np.rint(audio.astype(np.float64) * 2.0 ** (bits - 1)).astype(np.int32)  # exact: float32 holds codes
    wav = Path(job["audio_dir"]) / f"{job['recording_id']}.wav"
    sf.write(wav, recorder.pcm_for_soundfile(codes, bits), job["sample_rate"], subtype=f"PCM_{bits}", format="WAV")
    params = {"recording_id": job["recording_id"], "index": job["index"], **params}
    wav.with_suffix(".json").write_text(json.dumps(params, sort_keys=True, indent=2) + "\n")
    events = [{"recording_id": job["recording_id"], "contact": c["contact"], "label": c["label"],
               "fine_label": c["fine_label"], "start_s": a, "end_s": b, "threshold_db": params["snr_threshold_db"]}
              for c in params["contacts"] for a, b in c["spans"]]
    return {"rows": _rows(str(wav), params, job["scenes"]), "events": events}


def _row(path: str, params: dict, start: float, end: float, label: str, fine: str, contact: dict | None) -> Row:
    """One manifest row; snr_db / range_m (horizontal CPA distance, m) come from ``contact`` (empty if None)."""
    extra = {"snr_db": _fmt(contact["snr_db"] if contact else None),
             "range_m": _fmt(contact["range_m"] if contact else None), "sea_state": _fmt(params["sea_state"])}
    return Row(path=path, start_s=start, end_s=end, label=label, fine_label=fine,
               recording_id=params["recording_id"], split="", source="synth", extra=extra)


def _rows(path: str, params: dict, scenes: bool) -> list[Row]:
    """Manifest rows of one recording: the whole clip (single-contact mode) or its labelled spans (scenes)."""
    duration = params["duration_s"]
    if not scenes:
        contact = params["contacts"][0] if params["contacts"] else None
        return [_row(path, params, 0.0, duration, params["label"], params["fine_label"], contact)]
    rows = [_row(path, params, a, b, c["label"], c["fine_label"], c) for c in params["contacts"] for a, b in c["spans"]]
    edges = sorted({0.0, duration, *(t for c in params["contacts"] for span in c["spans"] for t in span)})
    gaps: list[list[float]] = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        if any(a <= lo and hi <= b for c in params["contacts"] for a, b in c["spans"]):
            continue
        if gaps and gaps[-1][1] == lo:
            gaps[-1][1] = hi
        else:
            gaps.append([lo, hi])
    rows += [_row(path, params, a, b, "ambient", "sea", None) for a, b in gaps]
    return sorted(rows, key=lambda r: (r.start_s, r.end_s, r.label))


def _fmt(x) -> str:
    return "" if x is None else (f"{x:.3f}" if isinstance(x, float) else str(x))


def _write_events(events: list[dict], path: Path) -> Path:
    """Write the strong labels of the whole dataset as CSV (EVENT_COLUMNS)."""
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=EVENT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for e in events:
            writer.writerow({**e, "start_s": f"{e['start_s']:.3f}", "end_s": f"{e['end_s']:.3f}",
                             "threshold_db": f"{e['threshold_db']:.3f}"})
    return path


def render_dataset(*, out_dir, minutes: float, seed: int, sample_rate: int = 16000, clip_seconds: float = 30.0,
                   workers: int = 2, classes=("ambient", "merchant", "warship", "drone"),
                   progress: bool = True, scenes: bool = False,
                   snr_threshold_db: float = SNR_THRESHOLD_DB, confuser_occurrence: dict[str, float] | None = None,
                   merchant_models=None) -> Path:
    """Render round(minutes·60/clip_seconds) recordings of clip_seconds [s] at sample_rate [Hz], each fixed by
    a seed derived from (seed, index); returns the path of ``manifest.csv``.

    scenes=False: single-contact clips, ``classes`` round-robin. scenes=True: multi-contact scenes (0–2 drawn
    contacts; ``classes`` unused), manifest rows per labelled span (see the module docstring).
    snr_threshold_db [dB]: frame SNR above which a contact is labelled (strong labels, ``events.csv``).
    confuser_occurrence: per-render probability of named confusers or cetaceans instead of
    ``events.composition.CONFUSER_OCCURRENCE`` / ``CETACEAN_OCCURRENCE`` (0 holds a type out of a training set, 1
    puts it in every render of an open-set check set). merchant_models: the merchant broadband models drawn (some
    of je, wh, randi; None: all three, as ``vessels.MERCHANT_MODELS`` weights them), e.g. ("je", "wh") for training
    and ("randi",) for a source-model shift test.
    Writes ``audio/<id>.wav`` (PCM_16/PCM_24 per drawn bit depth), ``audio/<id>.json`` (params, with each
    contact's SNR per frame and spans), ``manifest.csv`` (extra columns snr_db, range_m = horizontal CPA
    distance [m], sea_state), ``events.csv`` and ``synth_config.json`` under out_dir. Output does not depend on
    ``workers``.
    """
    classes = tuple(classes)
    unknown = [c for c in classes if c not in CLASSES]
    if unknown or not classes:
        raise ValueError(f"unknown or no classes {unknown or classes}; expected a subset of {', '.join(CLASSES)}")
    models = None if merchant_models is None else [m for m in MERCHANT_MODEL_NAMES if m in set(merchant_models)]
    merchant_model_choices(merchant_models)  # an unknown or empty set fails here, before any render
    count = int(round(minutes * 60.0 / clip_seconds))
    if count < 1:
        raise ValueError(f"minutes={minutes} with clip_seconds={clip_seconds} gives no recordings")
    out = Path(out_dir)
    audio_dir = out / "audio"
    audio_dir.mkdir(parents=True, exist_ok=True)
    jobs = [{"index": i, "label": classes[i % len(classes)], "seed": recording_seed(seed, i),
             "recording_id": f"syn-{seed}-{i:05d}", "duration_s": float(clip_seconds),
             "sample_rate": int(sample_rate), "audio_dir": str(audio_dir), "scenes": bool(scenes),
             "threshold_db": float(snr_threshold_db), "confuser_occurrence": dict(confuser_occurrence or {}),
             "merchant_models": models}
            for i in range(count)]
    with occurrence_override(confuser_occurrence):  # a bad name or probability fails here, before any render
        pass
    bar = tqdm(total=count, desc="synth", unit="rec", disable=not progress)
    results = []
    if workers <= 1:
        with threadpool_limits(1):
            for job in jobs:
                results.append(_render_one(job))
                bar.update()
    else:
        with ProcessPoolExecutor(max_workers=workers, initializer=single_threaded) as pool:
            for res in pool.map(_render_one, jobs, chunksize=max(1, min(8, count // (4 * workers)))):
                results.append(res)
                bar.update()
    bar.close()
    manifest = write_manifest([row for r in results for row in r["rows"]], out / "manifest.csv")
    _write_events([e for r in results for e in r["events"]], out / "events.csv")
    # Only what fixes the output (not the folder or the worker count), so the same seed gives the same bytes.
    config = {"minutes": minutes, "seed": seed, "sample_rate": sample_rate, "clip_seconds": clip_seconds,
              "classes": list(classes), "count": count, "renderer_version": RENDERER_VERSION,
              "scenes": bool(scenes), "snr_threshold_db": float(snr_threshold_db),
              "merchant_models": models or list(MERCHANT_MODEL_NAMES)}
    if confuser_occurrence:
        config["confuser_occurrence"] = dict(sorted(confuser_occurrence.items()))
    (out / "synth_config.json").write_text(json.dumps(config, sort_keys=True, indent=2) + "\n")
    return manifest
