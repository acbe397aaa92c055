"""Render a balanced, seeded synthetic dataset: WAV + params JSON per recording, and a manifest."""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm.auto import tqdm

from acoustics.manifest import Row, write_manifest
from acoustics.synth import recorder
from acoustics.synth.scene import RENDERER_VERSION, render_recording
from acoustics.taxonomy import CLASSES


def recording_seed(seed: int, index: int) -> int:
    """Per-recording seed from (seed, index): SeedSequence(seed).spawn child ``index`` (independent of count)."""
    child = np.random.SeedSequence(seed, spawn_key=(index,))
    return int(child.generate_state(2, dtype=np.uint32).astype(np.uint64) @ np.array([1, 2**32], dtype=np.uint64))


def _render_one(job: dict) -> dict:
    """Render and write one recording; returns its manifest fields (run in a worker process)."""
    audio, params = render_recording(label=job["label"], seed=job["seed"], duration_s=job["duration_s"],
                                     sample_rate=job["sample_rate"])
    bits = params["bit_depth"]
    codes = np.rint(audio.astype(np.float64) * 2.0 ** (bits - 1)).astype(np.int32)  # exact: float32 holds codes
    wav = Path(job["audio_dir"]) / f"{job['recording_id']}.wav"
    sf.write(wav, recorder.pcm_for_soundfile(codes, bits), job["sample_rate"], subtype=f"PCM_{bits}", format="WAV")
    params = {"recording_id": job["recording_id"], "index": job["index"], **params}
    wav.with_suffix(".json").write_text(json.dumps(params, sort_keys=True, indent=2) + "\n")
    return {"path": str(wav), "duration_s": params["duration_s"], "label": params["label"],
            "fine_label": params["fine_label"], "recording_id": job["recording_id"], "snr_db": params["snr_db"],
            "range_m": params["range_m"], "sea_state": params["sea_state"]}


def _fmt(x) -> str:
    return "" if x is None else (f"{x:.3f}" if isinstance(x, float) else str(x))


def render_dataset(*, out_dir, minutes: float, seed: int, sample_rate: int = 16000, clip_seconds: float = 30.0,
                   workers: int = 2, classes=("ambient", "merchant", "warship", "drone"),
                   progress: bool = True) -> Path:
    """Render round(minutes·60/clip_seconds) recordings of clip_seconds [s] at sample_rate [Hz], classes
    round-robin, each fixed by a seed derived from (seed, index); returns the path of ``manifest.csv``.

    Writes ``audio/<id>.wav`` (PCM_16/PCM_24 per drawn bit depth), ``audio/<id>.json`` (params),
    ``manifest.csv`` and ``synth_config.json`` under out_dir. Output does not depend on ``workers``.
    """
    classes = tuple(classes)
    unknown = [c for c in classes if c not in CLASSES]
    if unknown or not classes:
        raise ValueError(f"unknown or no classes {unknown or classes}; expected a subset of {', '.join(CLASSES)}")
    count = int(round(minutes * 60.0 / clip_seconds))
    if count < 1:
        raise ValueError(f"minutes={minutes} with clip_seconds={clip_seconds} gives no recordings")
    out = Path(out_dir)
    audio_dir = out / "audio"
    audio_dir.mkdir(parents=True, exist_ok=True)
    jobs = [{"index": i, "label": classes[i % len(classes)], "seed": recording_seed(seed, i),
             "recording_id": f"syn-{seed}-{i:05d}", "duration_s": float(clip_seconds),
             "sample_rate": int(sample_rate), "audio_dir": str(audio_dir)} for i in range(count)]
    bar = tqdm(total=count, desc="synth", unit="rec", disable=not progress)
    results = []
    if workers <= 1:
        for job in jobs:
            results.append(_render_one(job))
            bar.update()
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for res in pool.map(_render_one, jobs, chunksize=max(1, min(8, count // (4 * workers)))):
                results.append(res)
                bar.update()
    bar.close()
    rows = [Row(path=r["path"], start_s=0.0, end_s=r["duration_s"], label=r["label"], fine_label=r["fine_label"],
                recording_id=r["recording_id"], split="", source="synth",
                extra={"snr_db": _fmt(r["snr_db"]), "range_m": _fmt(r["range_m"]), "sea_state": _fmt(r["sea_state"])})
            for r in results]
    manifest = write_manifest(rows, out / "manifest.csv")
    # Only what fixes the output (not the folder or the worker count), so the same seed gives the same bytes.
    config = {"minutes": minutes, "seed": seed, "sample_rate": sample_rate, "clip_seconds": clip_seconds,
              "classes": list(classes), "count": count, "renderer_version": RENDERER_VERSION}
    (out / "synth_config.json").write_text(json.dumps(config, sort_keys=True, indent=2) + "\n")
    return manifest
