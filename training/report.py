"""A training run's ``report.md``: the protocol in the title, per-class tables, SNR bands, the baseline beside the network.

A leaky run's headline carries the warning on the same line, so a leaky figure is never quoted bare.
"""

from __future__ import annotations

from pathlib import Path

from uwac.acoustics.analysis.plots import confusion_png
from uwac.acoustics.manifest import PROTOCOL_TITLES
from uwac.training.config import TrainConfig


def _f(value) -> str:
    return "–" if value is None else f"{value:.3f}"


def per_class_table(m: dict, classes: list[str]) -> list[str]:
    """Markdown rows of precision / recall / F1 / support per class for one metrics block."""
    lines = ["| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for c in classes:
        pc = m["per_class"][c]
        lines.append(f"| {c} | {pc['precision']:.3f} | {pc['recall']:.3f} | {pc['f1']:.3f} | {pc['support']} |")
    return lines


def snr_table(net: dict, base: dict | None) -> list[str]:
    """Recording and window macro-F1 by SNR band, network beside baseline (ambient recordings join every band)."""
    lines = ["| SNR band | vessel recordings | network rec. macro-F1 | baseline rec. macro-F1 | network win. macro-F1 | baseline win. macro-F1 |",
             "|---|---|---|---|---|---|"]
    b_rec = (base or {}).get("snr_bands", {}).get("recording", [])
    b_win = (base or {}).get("snr_bands", {}).get("window", [])
    for i, band in enumerate(net["snr_bands"]["recording"]):
        win = net["snr_bands"]["window"][i]
        lines.append(f"| {band['band']} | {band['vessel_items']} | {_f(band['macro_f1'])} | "
                     f"{_f(b_rec[i]['macro_f1'] if i < len(b_rec) else None)} | {_f(win['macro_f1'])} | "
                     f"{_f(b_win[i]['macro_f1'] if i < len(b_win) else None)} |")
    return lines


def write_training_report(metrics: dict, cfg: TrainConfig, out: str | Path) -> Path:
    """Write ``report.md`` (and test confusion PNGs) into the run folder; returns the report's path."""
    out = Path(out)
    protocol = "LEAKY" if metrics["leaky_splits"] else metrics["protocol"]
    title = PROTOCOL_TITLES[protocol]
    test = metrics.get("test")
    base = (metrics.get("baseline") or {}).get("test")
    lines = [f"# {cfg.name}: {metrics['model']} on {title}", ""]
    warn = " — WARNING: LEAKY SPLITS, recordings shared between train and test; not comparable" if protocol == "LEAKY" else ""
    if test:
        lines.append(f"**Test macro-F1: {test['window']['macro_f1']:.3f} per window, {test['recording']['macro_f1']:.3f} "
                     f"per recording{warn}.**")
    if base:
        lines.append(f"Baseline (scikit-learn on hand-made features, same splits): {base['window']['macro_f1']:.3f} per "
                     f"window, {base['recording']['macro_f1']:.3f} per recording{warn}.")
    macs = metrics["macs_per_window"]
    lines += ["", f"- model: {metrics['model']} ({cfg.model.size if cfg.model.name == 'cnn' else 'transformer'}), "
              f"{metrics['parameters']:,} parameters, {macs['total_macs'] / 1e6:.1f} M MACs per window "
              f"(front-end {macs['frontend_macs'] / 1e6:.1f} M, network {macs['network_macs'] / 1e6:.1f} M)",
              f"- best epoch {metrics['best_epoch']} of {metrics['epochs_run']} run"
              f"{' (early stop)' if metrics['early_stopped'] else ''}; {metrics['train_windows_per_s']} training windows/s "
              f"on {metrics['device']} × {metrics['distributed']['world_size']} process(es), amp {metrics['amp']}",
              f"- manifest SHA-256 {metrics['manifest_sha256'][:16]}…, code {metrics['code_version']}, seed {cfg.seed}",
              f"- spans: {metrics['spans']}; skipped: {len(metrics['skipped'])}; ambient bank: {metrics['ambient_bank_spans']} span(s)",
              "", "![training curves](training_curves.png)", ""]
    for split in ("val", "test"):
        m = metrics.get(split)
        if not m:
            continue
        for level in ("window", "recording"):
            lines += [f"## {split} split, {level} level: macro-F1 {m[level]['macro_f1']:.3f}, accuracy "
                      f"{m[level]['accuracy']:.3f} (n={m[level]['n']}){warn}", ""]
            lines += per_class_table(m[level], cfg.classes) + [""]
            if split == "test":
                png = confusion_png(m[level]["confusion"], cfg.classes, out / f"confusion_test_{level}.png",
                                    title=f"test, {level} level ({protocol})")
                lines += [f"![test confusion, {level}]({png.name})", ""]
    if test and "snr_bands" in test:
        lines += ["## Test macro-F1 by SNR band", "",
                  "Vessel recordings in each band plus every ambient recording (ambient has no SNR).", ""]
        lines += snr_table(test, base) + [""]
    if test and test.get("whole_recording"):
        whole = test["whole_recording"]
        lines += ["## Window labels", "",
                  f"The figures above count the windows with a class under `data.window_labels: {test['window_labels']}` "
                  "(with `ignore`: ambient windows and the vessel windows whose contact the strong labels call audible). "
                  f"Every window against its recording's label instead (whole recording): macro-F1 "
                  f"{whole['window']['macro_f1']:.3f} per window, {whole['recording']['macro_f1']:.3f} per recording.", ""]
    physics = metrics.get("physics_test")
    if physics:
        lines += ["## Physics heads on the test split", "",
                  "Accuracy where the head's target is known (the contact audible in the window), beside always "
                  "guessing the most common target.", "", "| head | accuracy | most common | windows |",
                  "|---|---:|---:|---:|"]
        lines += [f"| {name} | {v['accuracy']:.3f} | {v['majority']:.3f} | {v['windows']} |" for name, v in physics.items()]
        lines.append("")
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path
