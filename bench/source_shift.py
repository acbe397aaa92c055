"""Source-model shift check (issue 9 §5): does the ear recognise merchants rendered by a broadband model it never saw?

Trains a model on renders whose merchants come from two of the three published merchant broadband models
(JOMOPANS-ECHO ``je``, Wales–Heitmeyer ``wh``, RANDI ``randi``; physics.md §3), then scores two test sets rendered
from the same scene seed: one whose merchants use the training models (in-family) and one whose merchants all use
the held-out model (shifted). Every other class is drawn identically in both, so the drop in macro-F1 is the cost
of the unseen source model. Writes ``OUT/source_shift.json``, ``OUT/source_shift.md`` and ``OUT/source_shift.png``.

Usage, from the repository root with the README's venv (about an hour on 2 cores with the defaults)::

    python bench/source_shift.py --held-out randi --out runs/shift_randi
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

MODELS = ("je", "wh", "randi")
FIGURES = ("audible_snr_ge_0db", "audible", "all")  # metrics.json subsets reported, as evaluate names them
GOAL_DROP = 0.05  # largest macro-F1 drop accepted (issue 9)


def _run(*args: str) -> None:
    """Run one uwac step, streaming its progress; stop with its exit status when it fails."""
    print("+ uwac", " ".join(args), flush=True)
    done = subprocess.run([sys.executable, "-m", "uwac.acoustics.cli", *args], check=False)
    if done.returncode:
        raise SystemExit(f"uwac {args[0]} failed with exit status {done.returncode}")


def _render(out: Path, *, minutes: float, seed: int, models: list[str]) -> Path:
    if not (out / "manifest.csv").exists():
        _run("synth", "--out", str(out), "--minutes", str(minutes), "--clip-seconds", "12", "--sample-rate", "16000",
             "--seed", str(seed), "--workers", "2", "--merchant-models", *models)
    return out


def _figures(metrics: dict) -> dict:
    """Window macro-F1 per subset and the merchant class's window F1 (all SNRs, audible windows)."""
    out = {k: ((metrics.get(k) or {}).get("window") or {}).get("macro_f1") for k in FIGURES}
    aud = (metrics.get("audible") or {}).get("window") or {}
    out["merchant_f1_audible"] = aud.get("per_class", {}).get("merchant", {}).get("f1")
    return out


def shift_table(in_family: dict, shifted: dict, *, held_out: str, trained_on: list[str]) -> tuple[dict, list[str]]:
    """The comparison as a JSON-ready dict and markdown lines; drop = in-family − shifted (positive = worse)."""
    rows = {k: {"in_family": in_family[k], "shifted": shifted[k],
                "drop": None if in_family[k] is None or shifted[k] is None else in_family[k] - shifted[k]}
            for k in in_family}
    head = rows["audible_snr_ge_0db"]["drop"]
    result = {"held_out": held_out, "trained_on": trained_on, "goal_max_drop": GOAL_DROP, "figures": rows,
              "meets_goal": None if head is None else head <= GOAL_DROP}
    names = {"audible_snr_ge_0db": "audible windows, SNR ≥ 0 dB (macro-F1)", "audible": "audible windows, all SNRs "
             "(macro-F1)", "all": "whole recording, all SNRs (macro-F1)", "merchant_f1_audible": "merchant F1, "
             "audible windows"}
    lines = [f"# Source-model shift: merchants trained on {' + '.join(trained_on)}, tested on {held_out}", "",
             "Both test sets are rendered from the same scene seed; only the merchants' broadband model differs.", "",
             "| figure | in-family | shifted | drop |", "|---|---:|---:|---:|"]
    fmt = lambda v: "–" if v is None else f"{v:.3f}"  # noqa: E731
    for k, r in rows.items():
        lines.append(f"| {names[k]} | {fmt(r['in_family'])} | {fmt(r['shifted'])} | {fmt(r['drop'])} |")
    verdict = "not measured" if head is None else ("met" if head <= GOAL_DROP else "missed")
    lines += ["", f"Goal: drop ≤ {GOAL_DROP} on audible windows at SNR ≥ 0 dB: **{verdict}**.", ""]
    return result, lines


def _plot(result: dict, path: Path) -> None:
    from uwac.acoustics.analysis.plots import subplots

    keys = list(result["figures"])
    fig, ax = subplots(figsize=(7, 3.2))
    x = range(len(keys))
    for off, which in ((-0.2, "in_family"), (0.2, "shifted")):
        ax.bar([i + off for i in x], [result["figures"][k][which] or 0 for k in keys], width=0.4, label=which)
    ax.set_xticks(list(x), [k.replace("_", " ") for k in keys], fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("F1")
    ax.set_title(f"merchants of {result['held_out']} unseen in training")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> None:
    """Command line: render, train, export and score (each step skipped when its output exists), then the table."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--held-out", choices=MODELS, required=True, help="merchant model kept out of training")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--config", type=Path, default=Path("training/configs/ear.yaml"))
    p.add_argument("--minutes", type=float, default=900.0, help="training renders, minutes")
    p.add_argument("--test-minutes", type=float, default=240.0, help="each test set, minutes")
    p.add_argument("--seed", type=int, default=71, help="training render seed; the test sets use seed + 1")
    p.add_argument("--threads", type=int, default=None, help="torch threads for training (default: the config's)")
    a = p.parse_args(argv)
    trained_on = [m for m in MODELS if m != a.held_out]
    a.out.mkdir(parents=True, exist_ok=True)
    if a.threads is not None:  # the recipe with only its thread count changed, kept beside the outputs
        from uwac.training.config import load_config, save_config

        cfg = load_config(a.config)
        cfg.threads = a.threads
        a.config = save_config(cfg, a.out / "config.yaml")
    train_data = _render(a.out / "train_data", minutes=a.minutes, seed=a.seed, models=trained_on)
    run = a.out / "run"
    if not (run / "checkpoint_best.pt").exists():
        _run("train", "--config", str(a.config), "--manifest", str(train_data / "manifest.csv"), "--out", str(run))
    model = a.out / "model.onnx"
    if not model.exists():
        _run("export", str(run), "--out", str(model))
    figures = {}
    for name, models in (("in_family", trained_on), ("shifted", [a.held_out])):
        data = _render(a.out / f"test_{name}", minutes=a.test_minutes, seed=a.seed + 1, models=models)
        _run("evaluate", str(model), "--manifest", str(data), "--out", str(a.out / f"eval_{name}"), "--split", "all")
        figures[name] = _figures(json.loads((a.out / f"eval_{name}" / "metrics.json").read_text()))
    result, lines = shift_table(figures["in_family"], figures["shifted"], held_out=a.held_out, trained_on=trained_on)
    result["command"] = "python bench/source_shift.py " + " ".join(argv if argv is not None else sys.argv[1:])
    (a.out / "source_shift.json").write_text(json.dumps(result, indent=2))
    (a.out / "source_shift.md").write_text("\n".join([*lines, "![in-family vs shifted](source_shift.png)", ""]))
    _plot(result, a.out / "source_shift.png")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
