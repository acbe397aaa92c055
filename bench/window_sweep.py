"""Window length against recognition and cost for the physics ear (issue 9 §1: choose the window by measurement).

One rendered dataset, one recipe (``training/configs/ear.yaml``), one seed; only ``data.window_seconds`` changes
(the hop stays 2 s). For each length: train, export, score the test split with onnxruntime (audible-window and
whole-recording macro-F1) and time the exported file at batch 1 on one thread (p50/p99 ms per window, × real time
per core at the 2-s hop). With ear.yaml's front-end a 3.3-s window holds one LOFAR frame (0.3125 Hz bins) and every
1 s more adds a frame (default.yaml's pinned geometry: 3.07 s, then one every 0.77 s), so longer windows show more
of a line's persistence and integrate weak lines better, at more latency and cost. ``--clip-seconds`` renders
clips long enough for the longest window, so every length is scored on the same recordings. Writes
``OUT/window_sweep.json``, ``.md`` and ``.png``.

Usage, from the repository root with the README's venv (about 10 minutes per length on 2 cores with the defaults)::

    python bench/window_sweep.py --out runs/window_sweep --windows 3.3 4.6 6 9
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

FIGURES = ("audible_snr_ge_0db", "audible", "all")


def time_model(path: Path, *, repeats: int = 200, seed: int = 0) -> dict:
    """p50/p99 latency [ms] of one window at batch 1 on one onnxruntime thread, and × real time at the hop."""
    from uwac.acoustics.contract import load_session

    session, info = load_session(path, threads=1)
    x = (0.1 * np.random.default_rng(seed).standard_normal((1, info.window_samples))).astype(np.float32)
    feed = {session.get_inputs()[0].name: x}
    for _ in range(10):
        session.run(None, feed)
    ms = []
    for _ in range(repeats):
        t = time.perf_counter()
        session.run(None, feed)
        ms.append(1e3 * (time.perf_counter() - t))
    p50 = float(np.percentile(ms, 50))
    return {"p50_ms": p50, "p99_ms": float(np.percentile(ms, 99)), "x_real_time_at_hop": info.hop_seconds * 1e3 / p50}


def sweep_one(window_s: float, *, manifest: Path, out: Path, config: Path, epochs: int, threads: int | None,
              window_labels: str | None = None, frame_scale: int = 1) -> dict:
    """Train, export, score and time one window length (and window-label policy, None = the config's; LOFAR and
    DEMON frames ``frame_scale`` × the config's length, so bins ``frame_scale`` × finer)."""
    import dataclasses

    from uwac.acoustics.evaluation.evaluate import evaluate
    from uwac.export.onnx_export import export_run
    from uwac.training.config import load_config
    from uwac.training.train import train

    cfg = load_config(config)
    policy = window_labels or cfg.data.window_labels
    run = out / (f"w{window_s:g}" + ("" if window_labels is None else f"_{policy}")
                 + ("" if frame_scale == 1 else f"_frames{frame_scale}x"))
    if frame_scale != 1:
        fe = cfg.frontend
        cfg.frontend = dataclasses.replace(fe, lofar=dataclasses.replace(fe.lofar, n_fft=fe.lofar.n_fft * frame_scale),
                                           demon=dataclasses.replace(fe.demon, n_fft=fe.demon.n_fft * frame_scale))
    cfg.data.window_labels = policy
    cfg.data.window_seconds = float(window_s)
    cfg.optim.epochs = epochs
    cfg.baseline = False
    if threads is not None:
        cfg.threads = threads
    if not (run / "checkpoint_best.pt").exists():
        train(cfg=cfg, manifest=manifest, out=run)
    model = run / "model.onnx"
    if not model.exists():
        export_run(run, model)
    scored = run / "eval" / "metrics.json"  # a rerun (e.g. to time on a quiet machine) reuses the scores
    result = json.loads(scored.read_text()) if scored.is_file() else \
        evaluate(model=model, manifest=run / "manifest.csv", out=run / "eval", split="test", progress=False)
    lofar = cfg.frontend.lofar
    row = {"window_s": float(window_s), "window_labels": policy,
           "frame_s": lofar.n_fft * lofar.decimation / cfg.frontend.sample_rate,
           **{k: ((result.get(k) or {}).get("window") or {}).get("macro_f1") for k in FIGURES}}
    return {**row, **time_model(model)}


def table(rows: list[dict]) -> list[str]:
    """The sweep as markdown table lines, one row per window length (macro-F1, latency, × real time)."""
    fmt = lambda v: "–" if v is None else f"{v:.3f}"  # noqa: E731
    lines = ["| window [s] | LOFAR/DEMON frame [s] | window labels | audible, SNR ≥ 0 dB | audible, all SNRs | whole recording | p50 ms | p99 ms | × real time |",
             "|---:|---:|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['window_s']:g} | {r['frame_s']:.2f} | {r['window_labels']} | {fmt(r['audible_snr_ge_0db'])} | {fmt(r['audible'])} | {fmt(r['all'])} | "
                     f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['x_real_time_at_hop']:.0f} |")
    return lines


def _plot(rows: list[dict], path: Path) -> None:
    from uwac.acoustics.analysis.plots import subplots

    base = (rows[0]["window_labels"], rows[0]["frame_s"])
    rows = [r for r in rows if (r["window_labels"], r["frame_s"]) == base]  # the window curve; the rest: table
    w = [r["window_s"] for r in rows]
    fig, ax = subplots(figsize=(6.5, 3.4))
    for k, name in (("audible_snr_ge_0db", "audible, SNR ≥ 0 dB"), ("audible", "audible, all SNRs"),
                    ("all", "whole recording")):
        ax.plot(w, [r[k] or np.nan for r in rows], "o-", label=name)
    ax.set_xlabel("window [s]")
    ax.set_ylabel("test macro-F1")
    ax.set_ylim(0, 1)
    ax2 = ax.twinx()
    ax2.plot(w, [r["p50_ms"] for r in rows], "k--", label="p50 ms per window")
    ax2.set_ylabel("ms per window (batch 1, 1 thread)")
    ax.legend(loc="lower left", fontsize=8)
    ax2.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> None:
    """Command line: one train-export-time-evaluate run per window length, then the table and the plot."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--windows", type=float, nargs="+", default=[3.3, 4.6, 6.0, 9.0],
                   help="window lengths, s (at least one LOFAR frame: 3.21 s with ear.yaml)")
    p.add_argument("--manifest", type=Path, default=None,
                   help="default: render --minutes of --clip-seconds clips into OUT/data")
    p.add_argument("--clip-seconds", type=float, default=12.0,
                   help="length of the rendered clips, s (at least the longest window)")
    p.add_argument("--minutes", type=float, default=600.0)
    p.add_argument("--seed", type=int, default=81)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--config", type=Path, default=Path("training/configs/ear.yaml"))
    p.add_argument("--threads", type=int, default=None, help="torch threads for training (default: the config's)")
    p.add_argument("--other-labels", nargs="*", default=[], choices=["ignore", "ambient", "recording"],
                   help="also train one run per window-label policy named here, at --labels-window seconds")
    p.add_argument("--labels-window", type=float, default=6.0)
    p.add_argument("--long-frames", type=float, nargs="*", default=[],
                   help="also train at these window lengths with LOFAR/DEMON frames twice as long (bins half as wide)")
    a = p.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    manifest = a.manifest
    if manifest is None:
        manifest = a.out / "data" / "manifest.csv"
        if not manifest.exists():
            from uwac.acoustics.synth import render_dataset

            manifest = render_dataset(out_dir=a.out / "data", minutes=a.minutes, seed=a.seed,
                                      clip_seconds=a.clip_seconds)
    common = {"manifest": manifest, "out": a.out, "config": a.config, "epochs": a.epochs, "threads": a.threads}
    rows = [sweep_one(w, **common) for w in a.windows]
    rows += [sweep_one(a.labels_window, window_labels=policy, **common) for policy in a.other_labels]
    rows += [sweep_one(w, frame_scale=2, **common) for w in a.long_frames]
    command = "python bench/window_sweep.py " + " ".join(argv if argv is not None else sys.argv[1:])
    (a.out / "window_sweep.json").write_text(json.dumps({"command": command, "rows": rows}, indent=2))
    lines = ["# Window length (and window-label policy) against test macro-F1 and cost (physics ear, hop 2 s)", "", f"`{command}`", "",
             *table(rows), "", "![window sweep](window_sweep.png)", ""]
    (a.out / "window_sweep.md").write_text("\n".join(lines))
    _plot(rows, a.out / "window_sweep.png")
    print("\n".join(table(rows)))


if __name__ == "__main__":
    main()
