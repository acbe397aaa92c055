"""The measuring side of ``uwac bench infer``: one row (or one onnxruntime profile) in a fresh process.

``python -m bench.infer_child SPEC OUT`` reads the JSON spec the parent wrote (``bench.infer_speed.run_child``),
cuts the shared test audio into windows, loads one pipeline, scores the windows and writes the result JSON to
``OUT`` (probabilities of the last pass beside it as ``.npy``). Pipelines: ``ort-*`` (an ONNX file through
``acoustics.contract.load_session`` / ``run_batch``, recording the execution providers the session actually
got), ``torch`` (checkpoint in PyTorch eager) and ``librosa-torch`` (librosa log-mel on the host, torch network);
``ort-profile`` hands over to ``export.ort_profile``.

This module imports only numpy at the top, so a row's cold start counts what its own runtime costs.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

WARMUP_CALLS = 3


def cut_windows(audio: np.ndarray, window_samples: int, hop_samples: int) -> np.ndarray:
    """Windows ``[n, window_samples]`` every ``hop_samples`` (``acoustics.windows``: a strided view, no copy), the
    same grid ``uwac evaluate`` scores; ``ValueError`` if too short (a benchmark needs at least one window)."""
    from uwac.acoustics.windows import cut_windows as cut  # numpy only, like this module's top

    windows = cut(audio, window_samples, hop_samples)
    if not len(windows):
        raise ValueError(f"test audio of {len(audio)} samples is shorter than one window ({window_samples}); "
                         "raise --seconds")
    return windows


def _child_main(spec_path: str, out_path: str) -> None:
    """Entry of a measurement process: read the spec, measure, write the result JSON (+ probabilities .npy)."""
    spec = json.loads(Path(spec_path).read_text())
    audio = np.load(spec["audio"])
    windows = cut_windows(audio, spec["window_samples"], spec["hop_samples"])
    if spec["pipeline"] == "ort-profile":
        from uwac.export.ort_profile import profile_onnx

        result = profile_onnx(spec["model"], windows, Path(out_path).parent, batches=spec["batches"],
                              threads=spec["threads"], providers=spec["providers"], label=spec["label"],
                              warmup_calls=WARMUP_CALLS)
    else:
        result, probs = (measure_stream if spec["pipeline"] == "ort-stream" else measure)(spec, windows)
        np.save(Path(out_path).with_suffix(".npy"), probs)
    Path(out_path).write_text(json.dumps(result))


def _peak_rss_mib() -> float:
    """Peak resident set of this process, MiB (``VmHWM``; ``ru_maxrss`` where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024.0


def measure(spec: dict, windows: np.ndarray) -> tuple[dict, np.ndarray]:
    """Cold start, then ``repeats`` timed passes over ``windows`` in calls of ``batch``; (result, probabilities).

    Latency per window = call time / windows in the call. The probabilities are those of the last pass.
    ``providers``: the onnxruntime execution providers the session runs on (None for the torch rows).
    ``frontend_s``, ``branch_s`` (per front-end branch; one for a log-mel model or a host front-end) and
    ``network_s``: s per window of the torch rows' timed stages (None for onnxruntime rows).
    """
    t0 = time.perf_counter()
    score, loaded_info = _scorer(spec)
    loaded = time.perf_counter()
    score(windows[:1])
    first_wall, first = time.time(), time.perf_counter()
    b = spec["batch"]
    chunks = [windows[i: i + b] for i in range(0, len(windows), b)]
    for _ in range(WARMUP_CALLS):
        score(chunks[0])
    per_window, fe_s, net_s, total = [], 0.0, 0.0, 0.0
    branch_s: dict[str, float] = {}
    for _ in range(spec["repeats"]):
        probs = []
        for chunk in chunks:
            t = time.perf_counter()
            p, fe, net = score(chunk)
            dt = time.perf_counter() - t
            total += dt
            per_window.append(dt / len(chunk))
            probs.append(p)
            if fe is not None:
                for branch, s in fe.items():
                    branch_s[branch] = branch_s.get(branch, 0.0) + s
                fe_s, net_s = fe_s + sum(fe.values()), net_s + net
    ms = np.asarray(per_window) * 1e3
    n = len(windows) * spec["repeats"]
    timed_stages = fe_s + net_s > 0
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
            "mean_ms": 1e3 * total / n, "windows_per_s": n / total, "calls": len(per_window),
            "import_s": loaded_info["import_s"], "load_s": loaded - t0 - loaded_info["import_s"],
            "first_window_s": first - loaded, "first_window_wall": first_wall, "peak_rss_mib": _peak_rss_mib(),
            "model_bytes": loaded_info["model_bytes"], "providers": loaded_info["providers"],
            "frontend_s": fe_s / n if timed_stages else None, "network_s": net_s / n if timed_stages else None,
            "branch_s": {b: s / n for b, s in branch_s.items()} if timed_stages else None}, np.concatenate(probs)


def measure_stream(spec: dict, windows: np.ndarray) -> tuple[dict, np.ndarray]:
    """The streaming graphs as a node runs them: ``batch`` channels (the same audio on each), every call one step
    of every channel from the signals and frames kept since the window before (``windows`` one step apart). Per
    pass the first window primes the cache untimed; latency per window = call time / channels. The result has
    ``measure``'s keys, ``frontend_s`` the signal and frames stages, ``network_s`` the head, ``stage_s`` each
    stage alone, ``hop_seconds`` the step and ``max_abs_prob_diff_vs_whole`` against the whole file on the same
    windows."""
    t0 = time.perf_counter()
    from uwac.acoustics.contract import load_session, run_batch
    from uwac.acoustics.split_model import FrameCache, load_split

    import_s = time.perf_counter() - t0
    session, info = load_session(spec["model"], threads=spec["threads"], providers=spec["providers"])
    split = load_split(spec["model"], session, info, threads=spec["threads"], providers=spec["providers"])
    loaded, b = time.perf_counter(), spec["batch"]
    cache = FrameCache(split, b)
    timed = _TimedHalves(split)

    def step(k: int, primed: bool) -> np.ndarray:
        return cache.score(np.broadcast_to(windows[k], (b, windows.shape[1])), primed=primed)["probabilities"]

    step(0, False)
    first_wall, first = time.time(), time.perf_counter()
    for k in range(1, 1 + min(WARMUP_CALLS, len(windows) - 1)):
        step(k, True)
    per_window, probs, total = [], [], 0.0
    for _ in range(spec["repeats"]):
        step(0, False)
        probs = []
        for k in range(1, len(windows)):
            timed.active = True
            t = time.perf_counter()
            p = step(k, True)
            dt = time.perf_counter() - t
            timed.active = False
            total += dt
            per_window.append(dt / b)
            probs.append(p[0].copy())
    ms, n = np.asarray(per_window) * 1e3, len(per_window) * b
    probs = np.stack(probs)
    whole = run_batch(session, np.ascontiguousarray(windows[1:]))["probabilities"]
    sizes = sum(Path(p).stat().st_size for p in split.paths.values())
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)), "mean_ms": 1e3 * total / n,
            "windows_per_s": n / total, "calls": len(per_window), "import_s": import_s,
            "load_s": loaded - t0 - import_s, "first_window_s": first - loaded, "first_window_wall": first_wall,
            "peak_rss_mib": _peak_rss_mib(), "model_bytes": sizes, "providers": list(split.frames.get_providers()),
            **timed.split(n), "branch_s": None, "hop_seconds": split.step_seconds,
            "max_abs_prob_diff_vs_whole": float(np.abs(probs - whole).max())}, probs


class _TimedHalves:
    """Wraps the streaming graphs' sessions (signal, when there is one, frames, head) so their calls in timed
    steps (while ``active``) are timed apart (s, summed)."""

    def __init__(self, split):
        self.seconds = {role: 0.0 for role in ("signal", "frames", "head") if getattr(split, role) is not None}
        self.active = False
        for role in self.seconds:
            setattr(split, role, _Timed(getattr(split, role), self, role))

    def split(self, n: int) -> dict:
        """``frontend_s`` (signal and frames stages) / ``network_s`` (head) per window over ``n`` windows, and
        ``stage_s`` per stage."""
        front = sum(s for role, s in self.seconds.items() if role != "head")
        return {"frontend_s": front / n, "network_s": self.seconds["head"] / n,
                "stage_s": {role: s / n for role, s in self.seconds.items()}}


class _Timed:
    """An onnxruntime session whose ``run_with_iobinding`` calls add their wall time to the clock's
    ``seconds[role]`` while the clock is active."""

    def __init__(self, session, clock: _TimedHalves, role: str):
        self._session, self._clock, self._role = session, clock, role

    def run_with_iobinding(self, binding) -> None:
        """Run one bound call, timed when the clock is active."""
        t = time.perf_counter()
        self._session.run_with_iobinding(binding)
        if self._clock.active:
            self._clock.seconds[self._role] += time.perf_counter() - t

    def __getattr__(self, name):
        return getattr(self._session, name)


def _scorer(spec: dict):
    """(score(x [b, samples]) -> (probabilities, {branch: front-end s} | None, network s | None),
    {model_bytes, import_s, providers})."""
    if spec["pipeline"].startswith("ort-"):
        return _ort_scorer(spec)
    return _torch_scorer(spec, host_frontend=spec["pipeline"] == "librosa-torch")


def _ort_scorer(spec: dict):
    t = time.perf_counter()
    from uwac.acoustics.contract import load_session, run_batch

    import_s = time.perf_counter() - t
    session, _ = load_session(spec["model"], threads=spec["threads"], providers=spec["providers"], allow_rejected=True)

    def score(x):
        return run_batch(session, x)["probabilities"], None, None

    return score, {"model_bytes": Path(spec["model"]).stat().st_size, "import_s": import_s,
                   "providers": list(session.get_providers())}


def load_torch_model(run: str | Path):
    """(Classifier in eval mode, FrontendConfig) from a run folder or checkpoint (``training.checkpoint``: torch,
    the model code, the weights, not the training loop), so the torch cold start counts what a torch deployment pays."""
    from uwac.training.checkpoint import load_checkpoint

    model, cfg, _ = load_checkpoint(run)
    return model, cfg.frontend


def _torch_scorer(spec: dict, *, host_frontend: bool):
    t = time.perf_counter()
    import torch

    torch.set_num_threads(spec["threads"])
    torch.set_num_interop_threads(1)
    if host_frontend:
        import librosa  # noqa: F401  (lazy package: its submodules load on first use, inside the first window)

        import uwac.acoustics.features  # noqa: F401
    import_s = time.perf_counter() - t
    model, fe_cfg = load_torch_model(spec["run"])
    kept = {k: v for k, v in model.state_dict().items() if not (host_frontend and k.startswith("frontend."))}
    model_bytes = int(sum(v.numel() * v.element_size() for v in kept.values()))
    single = not getattr(model.frontend, "branches", ())  # a log-mel network takes a tensor, the ear a dict
    if host_frontend:
        host = host_branches(fe_cfg)
        stages = {name: (lambda x, f=f: torch.from_numpy(f(x).astype(np.float32))) for name, f in host.items()}
    else:
        stages = {"mel": model.frontend} if single else {b: getattr(model.frontend, b) for b in model.frontend.branches}

    def score(x):
        with torch.inference_mode():
            x = x if host_frontend else torch.from_numpy(np.ascontiguousarray(x))
            feats, branch_s = _timed_stages(stages, x)
            feats = feats["mel"] if single else feats
            t1 = time.perf_counter()
            probs = model.classify_features(feats)[1].numpy()
        return probs, branch_s, time.perf_counter() - t1

    return score, {"model_bytes": model_bytes, "import_s": import_s, "providers": None}


def host_branches(fe_cfg) -> dict:
    """{branch: f(x [b, samples]) -> numpy features}: librosa log-mel for a log-mel model, the numpy/scipy
    reference of each branch (``acoustics.frontend``) for the physics ear."""
    if tuple(fe_cfg.branches) != ("mel",):
        from uwac.acoustics.features import features
        from uwac.acoustics.frontend.demon_gram import demon_gram
        from uwac.acoustics.frontend.lofar_gram import lofar_gram

        every = {"mel": features, "lofar": lofar_gram, "demon": demon_gram}
        return {name: (lambda x, f=every[name]: f(np.asarray(x, dtype=np.float64), fe_cfg)) for name in fe_cfg.branches}
    import librosa

    from uwac.acoustics.features import log_mel_normalised

    def log_mel(x):
        mel = librosa.feature.melspectrogram(
            y=np.ascontiguousarray(x), sr=fe_cfg.sample_rate, n_fft=fe_cfg.n_fft, hop_length=fe_cfg.hop_length,
            window="hann", center=False, power=2.0, n_mels=fe_cfg.n_mels, fmin=fe_cfg.fmin, fmax=fe_cfg.f_max,
            htk=False, norm="slaney")
        return log_mel_normalised(mel, fe_cfg)

    return {"mel": log_mel}


def _timed_stages(stages: dict, x) -> tuple[dict, dict[str, float]]:
    """({branch: features}, {branch: s}): each front-end branch computed and timed on its own."""
    feats, seconds = {}, {}
    for name, stage in stages.items():
        t0 = time.perf_counter()
        feats[name] = stage(x)
        seconds[name] = time.perf_counter() - t0
    return feats, seconds


if __name__ == "__main__":
    _child_main(*sys.argv[1:3])
