"""``report.md`` of ``uwac evaluate``: a short markdown summary of ``metrics.json`` (``report.html``,
``acoustics.evaluation.report_html``, has every section and figure)."""

from __future__ import annotations

from pathlib import Path

from uwac.acoustics.evaluation.openset import render_open_set
from uwac.acoustics.evaluation.real_world import render_real_world
from uwac.acoustics.evaluation.report_html import headline_warning


def render_report(result: dict) -> str:
    """A short markdown summary of ``metrics.json`` (``report.html`` has every section and figure)."""
    protocol = result.get("protocol") or {"title": "protocol not recorded"}
    warn = headline_warning(protocol)
    a = result["all"]
    lines = [f"# uwac evaluation: {Path(result['model']).name} on {protocol['title']}", ""]
    if a["window"] and a["recording"]:
        lines += [f"**Macro-F1 {a['window']['macro_f1']:.3f} per window, {a['recording']['macro_f1']:.3f} per "
                  f"recording{warn}.**", ""]
    lines += [f"split `{result['split']}`: {result['recordings']} recordings, {result['windows']} windows; "
              f"{len(result['skipped'])} span(s) skipped" + (f"; protocol: {protocol['reason']}" if protocol.get("reason") else ""), "",
              *headline_table(result),
              "| subset | level | accuracy | macro-F1 | n |", "|---|---|---:|---:|---:|"]
    for subset in ("all", "snr_ge_0db", "audible", "audible_snr_ge_0db"):
        for level in ("window", "recording"):
            m = (result.get(subset) or {}).get(level)
            if m:
                lines.append(f"| {SUBSET_NAMES[subset]} | {level} | {m['accuracy']:.3f} | {m['macro_f1']:.3f} | {m['n']} |")
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
    lines += ["", *_summary_lines(result), "",
              "![window confusion](confusion_window.png) ![recording confusion](confusion_recording.png)"]
    if result.get("accuracy_by_snr"):
        lines.append("![accuracy vs SNR](accuracy_vs_snr.png)")
    lines += ["", "Every breakdown, the reliability diagram, ROC/PR curves and event-level scores: `report.html`."]
    if result.get("open_set"):
        lines += ["", *render_open_set(result["open_set"])]
    if result.get("real_world"):
        lines += ["", *render_real_world(result["real_world"])]
    lines.append("")
    return "\n".join(lines)


SUBSET_NAMES = {  # what each figure counts, as the reports name it
    "all": "whole recording, all SNRs",
    "snr_ge_0db": "whole recording, SNR ≥ 0 dB",
    "audible": "audible windows, all SNRs",
    "audible_snr_ge_0db": "audible windows, SNR ≥ 0 dB",
}


def headline_table(result: dict) -> list[str]:
    """Markdown: window macro-F1 of the model (and baseline) for the audible-window and whole-recording figures,
    side by side and named, so no one compares one with the other."""
    if "audible" not in result:
        return []
    base = result.get("baseline") or {}
    fmt = lambda m: "–" if not m or not m.get("window") else f"{m['window']['macro_f1']:.3f}"  # noqa: E731
    lines = ["Window macro-F1. *Audible windows*: " + result.get("audible_rule", "") + ". *Whole recording*: every "
             "window labelled with its recording's class, audible or not. SNR is the recording's (manifest `snr_db`).",
             "", "| figure | model | baseline |", "|---|---:|---:|"]
    for key in ("audible_snr_ge_0db", "audible", "snr_ge_0db", "all"):
        lines.append(f"| {SUBSET_NAMES[key]} | {fmt(result.get(key))} | {fmt(base.get(key) if key != 'all' else base)} |")
    return [*lines, ""]


def _summary_lines(result: dict) -> list[str]:
    """Markdown bullets: calibration, ROC/PR and event-level scores, where present."""
    out = []
    cal = result.get("calibration")
    if cal:
        stored = cal["model"]
        t = stored.get("temperature")
        out.append(f"- calibration: ECE {cal['ece']:.3f} on these {cal['windows']} windows"
                   + (f" ({cal['ece_without_temperature']:.3f} without the temperature)" if cal.get("ece_without_temperature") is not None else "")
                   + (f"; model temperature {t:.3f}, validation ECE {stored['val_ece_before']:.3f} before, "
                      f"{stored['val_ece_after']:.3f} after" if t is not None and stored.get("val_ece_after") is not None
                      else "; the model stores no temperature scaling"))
    roc = result.get("roc_pr")
    if roc and roc["macro_roc_auc"] is not None:
        out.append(f"- one-vs-rest ROC AUC (windows), mean over classes {roc['macro_roc_auc']:.3f}: "
                   + ", ".join(f"{c} {v['roc_auc']:.3f}" for c, v in roc["per_class"].items() if v["roc_auc"] is not None))
    ev = result.get("events")
    if ev:
        f1 = ev["micro"]["f1"]
        out.append(f"- event-level detection ({ev['true_events']} true events, {ev['predicted_events']} predicted, onset "
                   f"±{ev['onset_tolerance_s']:g} s, offset ±max({ev['offset_tolerance_s']:g} s, "
                   f"{100 * ev['offset_tolerance_fraction']:.0f} %)): F1 " + ("n/a" if f1 is None else f"{f1:.3f}")
                   + f" (TP {ev['micro']['tp']}, FP {ev['micro']['fp']}, FN {ev['micro']['fn']})")
        ct = ev.get("contacts")
        if ct:
            cf1 = ct["micro"]["f1"]
            out.append(f"- the daemon's contacts (tracker with smoothing and hysteresis over the same windows): "
                       f"{ct['predicted_events']} predicted, F1 " + ("n/a" if cf1 is None else f"{cf1:.3f}")
                       + f" (TP {ct['micro']['tp']}, FP {ct['micro']['fp']}, FN {ct['micro']['fn']})")
    return out
