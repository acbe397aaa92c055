"""``uwac demo``: the whole path on built-in defaults, under one output folder.

render scenarios → train the physics ear (training/configs/demo.yaml; split by recording) → export ONNX →
evaluate the ONNX file on held-out recordings → ``summary.json``. Needs the ``train`` extra (torch); imports it only here.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

# 1200 recordings of 12 s (four 6-s windows each at the ear's 2-s hop), balanced over the four classes: many
# independent scenes (ships, ranges, sea states) teach more than a few long ones for the same training cost, and
# the held-out test split holds ~180 recordings.
DEMO_MINUTES = 240.0
DEMO_CLIP_SECONDS = 12.0


def demo_config_path() -> Path:
    """The shipped ``training/configs/demo.yaml``."""
    import uwac.training

    return Path(uwac.training.__file__).resolve().parent / "configs" / "demo.yaml"


def run_demo(*, out: str | Path = "runs/demo", minutes: float | None = None, seed: int = 0,
             epochs: int | None = None, workers: int = 2) -> dict:
    """Run the demo; returns (and writes) the summary."""
    from uwac.acoustics.evaluation.evaluate import evaluate
    from uwac.acoustics.evaluation.report import SUBSET_NAMES
    from uwac.acoustics.synth import render_dataset
    from uwac.export.onnx_export import export_run
    from uwac.training.config import load_config
    from uwac.training.train import train

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    minutes = DEMO_MINUTES if minutes is None else minutes
    timings = {}

    t = time.time()
    print(f"[1/4] rendering {minutes:g} min of scenarios (seed {seed}) into {out / 'data'}")
    manifest = render_dataset(out_dir=out / "data", minutes=minutes, seed=seed, clip_seconds=DEMO_CLIP_SECONDS,
                              workers=workers)
    timings["synth_s"] = round(time.time() - t, 1)

    t = time.time()
    cfg = load_config(demo_config_path())
    cfg.seed = seed
    if cfg.data.cache_dir is None:  # keep the demo's resampled-span cache beside its data
        cfg.data.cache_dir = str(out / "cache")
    if epochs is not None:
        cfg.optim.epochs = epochs
    print(f"[2/4] training {cfg.model.name} for {cfg.optim.epochs} epochs into {out / 'run'}")
    train_metrics = train(cfg=cfg, manifest=manifest, out=out / "run")
    timings["train_s"] = round(time.time() - t, 1)

    t = time.time()
    model_path = out / "model.onnx"
    print(f"[3/4] exporting ONNX to {model_path}")
    export_report = export_run(out / "run", model_path)
    timings["export_s"] = round(time.time() - t, 1)

    t = time.time()
    print(f"[4/4] evaluating {model_path.name} with onnxruntime on held-out test recordings")
    result = evaluate(model=model_path, manifest=out / "run" / "manifest.csv", out=out / "eval", split="test")
    timings["evaluate_s"] = round(time.time() - t, 1)

    def pick(m):
        return None if m is None else {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"], "n": m["n"]}

    summary = {
        "model": str(model_path.resolve()),
        "model_bytes": export_report["bytes"],
        "parameters": export_report["parameters"],
        "onnx_vs_torch_max_abs_prob_diff": export_report["max_abs_prob_diff_vs_torch"],
        "data": str(manifest),
        "run": str((out / "run").resolve()),
        "evaluation": str((out / "eval").resolve()),
        "protocol": train_metrics["protocol"],
        "best_epoch": train_metrics["best_epoch"],
        "val_window_macro_f1": train_metrics["val"]["window"]["macro_f1"],
        "held_out": {
            "recordings": result["recordings"],
            "all": {lvl: pick(result["all"][lvl]) for lvl in ("window", "recording")},
            "snr_ge_0db": {lvl: pick(result.get("snr_ge_0db", {}).get(lvl)) for lvl in ("window", "recording")},
            # windows where the strong labels say the contact is audible (evaluate's SUBSET_NAMES)
            "audible": {"window": pick((result.get("audible") or {}).get("window"))},
            "audible_snr_ge_0db": {"window": pick((result.get("audible_snr_ge_0db") or {}).get("window"))},
        },
        "baseline_held_out": {lvl: pick(((train_metrics.get("baseline") or {}).get("test") or {}).get(lvl))
                              for lvl in ("window", "recording")},
        "timings_s": timings,
        "seed": seed,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    held = summary["held_out"]
    print(f"\nheld-out test ({held['recordings']} recordings never seen in training):")
    for subset in ("audible_snr_ge_0db", "audible", "snr_ge_0db", "all"):
        for lvl, m in held[subset].items():
            if m:
                print(f"  {SUBSET_NAMES[subset] + ', ' + lvl:>40}: macro-F1 {m['macro_f1']:.3f}, accuracy "
                      f"{m['accuracy']:.3f} (n={m['n']})")
    for lvl, m in summary["baseline_held_out"].items():
        if m:
            print(f"  {'baseline (training report), ' + lvl:>40}: macro-F1 {m['macro_f1']:.3f}, accuracy "
                  f"{m['accuracy']:.3f} (scikit-learn on hand-made features, test split)")
    print(f"\nmodel:   {summary['model']}\nreport:  {(out / 'eval' / 'report.md').resolve()}\n"
          f"summary: {(out / 'summary.json').resolve()}\ntimings: {timings}")
    return summary
