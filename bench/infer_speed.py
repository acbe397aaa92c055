"""``uwac bench infer``: inference speed of the exported model, PyTorch eager and the usual librosa + torch pipeline.

One run, one machine, one audio signal (a seeded merchant render cut into windows at the model's hop),
three pipelines, each at batch 1 and batched:

- (a) the exported ONNX file in onnxruntime, fp32 and its variants fp16 (network in fp16, front-end fp32; for
  GPU execution providers) and int8 (front-end inside the graph), through ``acoustics.contract.load_session`` /
  ``run_batch``: what a sonar node runs; each row records the execution providers its session ran on;
- (b) the same checkpoint in PyTorch eager (``Classifier.frontend`` then ``classify_features``, inference mode);
- (c) what most peers ship: ``librosa.feature.melspectrogram`` on the host (same FFT size, hop, mel filters,
  ``center=False``), the same log-normalisation in numpy (``acoustics.features.log_mel_normalised``), then the
  torch network on those features.

This module resolves the files, writes the test audio and runs every row in a fresh Python process
(``python -m bench.infer_child SPEC OUT``, ``bench/infer_child.py``) so that its cold start (process launch →
first window scored: interpreter, imports, model load, first call) and its peak RSS (``VmHWM`` of the child;
``ru_maxrss`` where /proc is missing) are its own. Torch, onnxruntime and BLAS are held to ``threads`` intra-op
threads. Where the time goes, per front-end branch (log-mel; LOFAR and DEMON for the physics ear) and the
network: torch rows time each branch and the network separately inside the timed loop; onnxruntime rows come
from a separate profiled session (``export/ort_profile.py``). Rates, ratios and goals:
``bench/infer_summary.py``; the reports: ``bench/infer_report.py``.

Units: latency ms per window, throughput windows/s, real-time factor = windows/s × hop_seconds / threads
(× real time per core, each window advances one hop of audio), ``hour_s`` = wall seconds to score one hour of
audio at that rate, cold start s, peak RSS MiB, model size bytes.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from uwac.bench.infer_child import cut_windows
from uwac.bench.infer_report import write_report
from uwac.bench.infer_summary import PIPELINES, REFERENCE, VARIANTS, summarise
from uwac.training.checkpoint import checkpoint_path


def bench_infer(*, run: str | Path | None = None, fp32: str | Path | None = None, fp16: str | Path | None = None,
                int8: str | Path | None = None, out: str | Path, seconds: float = 60.0, batch: int = 16,
                threads: int = 1, repeats: int = 3, providers: str | list[str] | None = None, seed: int = 0,
                progress: bool = True) -> dict:
    """Measure every pipeline on the same audio; write ``bench_infer.{json,md,png}`` into ``out``; return the result.

    run: training run folder (or checkpoint .pt) for the torch pipelines (None: only the onnxruntime rows run,
    e.g. on a node or for the shipped model, whose checkpoint is not shipped). fp32: exported ONNX file (None:
    export ``run`` to ``out/model.onnx``; one of the two is needed). fp16, int8: the variants (None: ``<fp32 stem>.fp16.onnx`` /
    ``.int8.onnx`` beside the fp32 file if it exists, else its rows say "not given"). seconds: test audio
    length, s. batch: windows per call of the batched rows. threads: intra-op threads of every runtime.
    repeats: timed passes over the windows. providers: onnxruntime execution providers (``load_session``).
    """
    if batch < 1 or threads < 1 or repeats < 1:
        raise ValueError(f"batch ({batch}), threads ({threads}) and repeats ({repeats}) must be at least 1")
    if run is None and fp32 is None:
        raise ValueError("bench infer needs a training run folder (run) or an exported ONNX file (fp32)")
    if run is not None:
        checkpoint_path(run)  # fail before any work when the run is missing
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    fp32 = resolve_fp32(run, fp32, out)
    found = {v: resolve_variant(fp32, given, v) for v, given in (("fp16", fp16), ("int8", int8))}
    info, variant_infos = _infos(fp32, {v: path for v, (path, _) in found.items()})
    audio = test_audio(seconds, info.sample_rate, seed)
    n_windows = len(cut_windows(audio, info.window_samples, info.hop_samples))
    params = {"run": None if run is None else str(run), "fp32": str(fp32),
              "torch_note": None if run is not None else "not run: no training run given (--run RUN, the checkpoint "
                                                         "the fp32 file was exported from)"}
    for v, (path, note) in found.items():
        params[v], params[f"{v}_note"] = (str(path) if path else None), note
        params[f"{v}_gate"] = (variant_infos[v].variant.get("status") or "no gate recorded") if path else None
    params |= stream_params(fp32, info, len(audio))
    params |= {"seconds": float(seconds), "batch": int(batch), "threads": int(threads), "repeats": int(repeats),
               "providers": providers, "seed": int(seed), "audio": f"merchant render, seed {seed}",
               "sample_rate": info.sample_rate, "window_seconds": info.window_seconds,
               "hop_seconds": info.hop_seconds, "windows": n_windows, "model": model_label(info.model, info.frontend),
               "model_name": info.model.get("name"), "branches": list(info.frontend.get("branches") or ["mel"]),
               **machine(), **runtime()}
    work = (out / "bench_infer_work").resolve()  # the children run from the repository root
    work.mkdir(exist_ok=True)
    try:
        np.save(work / "audio.npy", audio)
        rows, profiles = _measure_all(params, work, progress=progress)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = summarise(params, rows, profiles)
    write_report(result, out)
    return result


def model_label(model: dict, frontend: dict | None = None) -> str:
    """``cnn/base, 327,124 parameters`` (``ear/mel+lofar+demon, ...``) from a model file's ``uwac.model`` (and
    ``uwac.frontend``) metadata."""
    cfg, name = model.get("config") or {}, model.get("name")
    detail = cfg.get("size") if name == "cnn" else None
    if name == "ear" and (frontend or {}).get("branches"):
        detail = "+".join(frontend["branches"])
    family = "/".join(str(x) for x in (name, detail) if x)
    return f"{family or 'unknown'}, {model.get('parameters', 0):,} parameters"


def resolve_fp32(run: str | Path, fp32: str | Path | None, out: Path) -> Path:
    """The fp32 ONNX file: ``fp32`` when given (it must exist), else ``run`` exported to ``out/model.onnx``."""
    if fp32 is not None:
        fp32 = Path(fp32)
        if not fp32.is_file():
            raise FileNotFoundError(f"model {fp32} not found; export one with `uwac export RUN --out {fp32}`")
        return fp32
    from uwac.export.onnx_export import export_run

    path = out / "model.onnx"
    export_run(run, path, split=True)  # with the ear's streaming pair: the node's path is measured too
    return path


def resolve_variant(fp32: Path, given: str | Path | None, variant: str) -> tuple[Path | None, str]:
    """(variant file or None, how it was found): given, found as ``<stem>.<variant>.onnx`` beside fp32, or not given.

    The name beside fp32 is the one ``uwac export RUN --out M.onnx --variants ...`` writes
    (``export.variants.variant_path``).
    """
    if given is not None:
        given = Path(given)
        if not given.is_file():
            raise FileNotFoundError(f"{variant} model {given} not found")
        return given, "given"
    beside = fp32.with_name(f"{fp32.stem}.{variant}.onnx")
    if beside.is_file():
        return beside, f"found beside the fp32 file ({beside.name})"
    return None, (f"not given (pass --{variant} FILE, or put {beside.name} beside the fp32 file: "
                  f"`uwac export RUN --out {fp32.name} --variants {variant}`)")


def resolve_int8(fp32: Path, int8: str | Path | None) -> tuple[Path | None, str]:
    """(int8 file or None, how it was found): :func:`resolve_variant` for ``int8``."""
    return resolve_variant(fp32, int8, "int8")


def resolve_fp16(fp32: Path, fp16: str | Path | None) -> tuple[Path | None, str]:
    """(fp16 file or None, how it was found): :func:`resolve_variant` for ``fp16``."""
    return resolve_variant(fp32, fp16, "fp16")


def _infos(fp32: Path, variants: dict[str, Path | None]):
    """ModelInfo of the fp32 file and of each variant file (None when absent); rejected variants are still benchmarked."""
    from uwac.acoustics.contract import load_session

    _, info = load_session(fp32)
    infos = {v: load_session(path, allow_rejected=True)[1] if path else None for v, path in variants.items()}
    for v, other in infos.items():
        if other and (other.window_samples, other.hop_samples) != (info.window_samples, info.hop_samples):
            raise ValueError(f"{variants[v]} has other windows than {fp32}; benchmark variants of one model")
    return info, infos


def test_audio(seconds: float, sample_rate: int, seed: int = 0) -> np.ndarray:
    """Seeded test signal: a single merchant contact in ambient noise, float32 full scale, ``seconds`` s long."""
    from uwac.acoustics.synth import render_recording

    audio, _ = render_recording(label="merchant", seed=seed, duration_s=float(seconds), sample_rate=sample_rate)
    return np.ascontiguousarray(audio, dtype=np.float32)


def machine() -> dict:
    """CPU model, logical cores and the 1-minute load average when the benchmark starts (a busy machine is slower)."""
    cpu = ""
    try:
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), "")
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"cpu": cpu or "unknown", "logical_cores": os.cpu_count(), "load_average_1min": load}


def runtime() -> dict:
    """onnxruntime's version and the execution providers this build offers."""
    import onnxruntime as ort

    return {"onnxruntime": ort.__version__, "available_providers": list(ort.get_available_providers())}


def _specs(params: dict, work: Path) -> list[dict]:
    """One child spec per row: every pipeline at batch 1 and batched; variant rows only when a file is given.

    Paths are absolute: the children run from the repository root, not from the caller's directory.
    """
    base = {k: params[k] for k in ("threads", "repeats", "providers")}
    base["run"] = str(Path(params["run"]).resolve()) if params["run"] else None
    base["audio"] = str(work / "audio.npy")
    base["window_samples"] = int(round(params["window_seconds"] * params["sample_rate"]))
    base["hop_samples"] = int(round(params["hop_seconds"] * params["sample_rate"]))
    files = {REFERENCE: params["fp32"], **{f"ort-{v}": params[v] for v in VARIANTS}, "ort-stream": params["stream"]}
    files = {k: str(Path(f).resolve()) if f else None for k, f in files.items()}
    specs = []
    for key in PIPELINES:
        model = files.get(key, base["run"])
        hop = {"hop_samples": params["stream_step_samples"]} if key == "ort-stream" else {}
        for b in dict.fromkeys((1, params["batch"])):
            specs.append({**base, "pipeline": key, "model": model, "batch": b, **hop})
    return specs


def stream_params(fp32: Path, info, n_samples: int) -> dict:
    """``stream`` (the fp32 file when its streaming pair is beside it and the audio holds two windows one step
    apart, else None), ``stream_note`` (how it was found, or why not) and ``stream_step_samples``."""
    from uwac.acoustics.split_model import pair_paths, read_plan

    frames = pair_paths(fp32)["frames"]
    if not frames.is_file():
        return {"stream": None, "stream_step_samples": None,
                "stream_note": f"no streaming pair beside the fp32 file ({frames.name}; `uwac export RUN --out "
                               f"{fp32.name}` writes one for the physics ear)"}
    plan = read_plan(frames)
    if n_samples < plan.window + plan.step:
        return {"stream": None, "stream_step_samples": plan.step,
                "stream_note": f"not run: the audio holds no two windows {plan.step / info.sample_rate:g} s apart; "
                               "raise --seconds"}
    return {"stream": str(fp32), "stream_step_samples": plan.step,
            "stream_note": f"found beside the fp32 file ({frames.name}, step {plan.step / info.sample_rate:g} s)"}


def _measure_all(params: dict, work: Path, *, progress: bool) -> tuple[list[dict], dict]:
    """Run every row and the onnxruntime profiles, one fresh child process each, one after another."""
    from tqdm import tqdm

    specs = _specs(params, work)
    model = {s["pipeline"]: s["model"] for s in specs}
    profile_specs = [{**specs[0], "pipeline": "ort-profile", "model": model[f"ort-{p}"], "label": f"ort-{p}",
                      "batches": sorted({1, params["batch"]})} for p in ("fp32", *VARIANTS) if params[p]]
    rows, profiles = [], {}
    for spec in tqdm(specs + profile_specs, desc="bench infer", unit="process", disable=not progress):
        if spec["pipeline"] == "ort-profile":
            profiles[spec["label"]] = run_child(spec, work)
        elif spec["model"] is None:
            variant = spec["pipeline"].removeprefix("ort-")
            note = params[f"{variant}_note"] if variant in (*VARIANTS, "stream") else params["torch_note"]
            rows.append({"pipeline": spec["pipeline"], "batch": spec["batch"], "status": note})
        elif missing := _missing_package(spec["pipeline"]):
            rows.append({"pipeline": spec["pipeline"], "batch": spec["batch"],
                         "status": f"not run: {missing} is not installed"})
        else:
            rows.append({"pipeline": spec["pipeline"], "batch": spec["batch"], "status": "ok",
                         **run_child(spec, work)})
    return rows, profiles


def _missing_package(pipeline: str) -> str | None:
    """The package a pipeline needs beyond the parent's own when this environment lacks it (librosa for (c))."""
    import importlib.util

    if pipeline == "librosa-torch" and importlib.util.find_spec("librosa") is None:
        return "librosa"
    return None


def run_child(spec: dict, work: Path) -> dict:
    """Run one measurement in a fresh ``python -m bench.infer_child`` process; its result dict (cold start added).

    ``cold_start_s`` is wall time from launching the process to its first window scored, s.
    """
    import subprocess

    tag = f"{spec['pipeline']}_b{spec.get('batch', 0)}_{spec.get('label', '')}"
    spec_path, out_path = work / f"{tag}.spec.json", work / f"{tag}.result.json"
    spec_path.write_text(json.dumps(spec))
    env = {**os.environ, **_thread_env(spec["threads"])}
    launched = time.time()
    proc = subprocess.run([sys.executable, "-m", "uwac.bench.infer_child", str(spec_path), str(out_path)], env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"bench infer: the {spec['pipeline']} process failed:\n{proc.stderr[-3000:]}")
    result = json.loads(out_path.read_text())
    if "first_window_wall" in result:
        result["cold_start_s"] = result.pop("first_window_wall") - launched
    probs = out_path.with_suffix(".npy")
    if probs.is_file():
        result["probabilities"] = np.load(probs)
    return result


def _thread_env(threads: int) -> dict[str, str]:
    """Environment that holds OpenMP / BLAS pools of a child to ``threads`` threads."""
    n = str(int(threads))
    return {k: n for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")}
