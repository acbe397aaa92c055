"""Figures of ``uwac evaluate`` (matplotlib, Agg, PNG): reliability diagram, ROC and PR curves per class, scores by
band (range, SNR, sea state), where each fine type's windows go, and :func:`write_plots`, which draws them all
beside the confusion matrices and accuracy by SNR (``acoustics.analysis.plots``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from uwac.acoustics.analysis.plots import _save, accuracy_vs_snr_png, confusion_png, subplots
from uwac.acoustics.evaluation.breakdowns import roc_pr_curves


def reliability_png(bins: list[dict], path: str | Path, *, ece: float, title: str, n_bins: int = 15) -> Path:
    """Reliability diagram: accuracy against mean top-class confidence per confidence bin, with the diagonal of
    perfect calibration, the share of windows per bin underneath, and the ECE in the title."""
    fig, (ax, ax_n) = subplots(2, 1, figsize=(5, 5.5), dpi=120, sharex=True,
                                   gridspec_kw={"height_ratios": [3, 1]})
    width = 1.0 / n_bins
    lo = [b["lo"] for b in bins]
    ax.bar(lo, [b["accuracy"] for b in bins], width=width, align="edge", color="tab:blue", edgecolor="white",
           label="accuracy")
    ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], "o", color="tab:red", ms=4,
            label="(mean confidence, accuracy)")
    ax.plot([0, 1], [0, 1], "--", color="gray", lw=1, label="perfect calibration")
    ax.set(ylabel="accuracy", xlim=(0, 1), ylim=(0, 1))
    ax.legend(fontsize=7, loc="upper left", framealpha=0.6)
    ax.set_title(f"{title}\nECE {ece:.3f}", fontsize=10)
    total = sum(b["n"] for b in bins) or 1
    ax_n.bar(lo, [b["n"] / total for b in bins], width=width, align="edge", color="gray")
    ax_n.set(xlabel="top-class confidence", ylabel="share of windows")
    return _save(fig, path)


def roc_png(curves: dict[str, dict], aucs: dict[str, dict], path: str | Path, *, title: str) -> Path:
    """One-vs-rest ROC curve per class (false against true positive rate), AUC in the legend."""
    fig, ax = subplots(figsize=(5, 4.5), dpi=120)
    for i, (c, cv) in enumerate(curves.items()):
        ax.plot(cv["fpr"], cv["tpr"], color=f"C{i}", lw=1.5, label=f"{c} (AUC {aucs[c]['roc_auc']:.3f})")
    ax.plot([0, 1], [0, 1], "--", color="gray", lw=1)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", xlim=(0, 1), ylim=(0, 1.01))
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(title, fontsize=10)
    return _save(fig, path)


def pr_png(curves: dict[str, dict], aucs: dict[str, dict], path: str | Path, *, title: str) -> Path:
    """One-vs-rest precision-recall curve per class, average precision in the legend, prevalence dotted."""
    fig, ax = subplots(figsize=(5, 4.5), dpi=120)
    for i, (c, cv) in enumerate(curves.items()):
        ax.step(cv["recall"], cv["precision"], where="post", color=f"C{i}", lw=1.5,
                label=f"{c} (AP {aucs[c]['average_precision']:.3f})")
        ax.axhline(cv["prevalence"], color=f"C{i}", ls=":", lw=0.8)
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.01))
    ax.legend(fontsize=8, loc="lower left")
    ax.set_title(title, fontsize=10)
    return _save(fig, path)


def bands_png(rows: dict[str, list[dict]], path: str | Path, *, key: str, xlabel: str, title: str) -> Path:
    """Accuracy and macro-F1 per band or value at window and recording level (``rows`` by level; ``key``
    names the band field, e.g. ``band`` or ``value``); bands without items are left empty."""
    levels = [lvl for lvl in ("window", "recording") if rows.get(lvl)]
    names = [str(r[key]) for r in rows[levels[0]]] if levels else []
    fig, ax = subplots(figsize=(max(5.0, 1.1 * len(names) + 2), 3.8), dpi=120)
    x = np.arange(len(names))
    width = 0.8 / max(1, 2 * len(levels))
    k = 0
    for lvl in levels:
        for metric, hatch in (("accuracy", ""), ("macro_f1", "//")):
            vals = [np.nan if r[metric] is None else r[metric] for r in rows[lvl]]
            ax.bar(x - 0.4 + width * (k + 0.5), vals, width=width, hatch=hatch, color="tab:blue" if lvl == "window"
                   else "tab:orange", edgecolor="white", label=f"{lvl} {'macro-F1' if metric == 'macro_f1' else metric}")
            k += 1
    ax.set_xticks(x, names, rotation=20, ha="right")
    ax.set(xlabel=xlabel, ylabel="score", ylim=(0, 1.05))
    ax.legend(fontsize=7, ncol=4, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    ax.set_title(title, fontsize=10, pad=22)
    return _save(fig, path)


def fine_type_png(table: list[dict], classes: list[str], path: str | Path, *, title: str) -> Path:
    """Per fine type, the share of its items given each class (stacked bars), recall and count on the right."""
    fig, ax = subplots(figsize=(7, 0.35 * len(table) + 1.9), dpi=120)
    y = np.arange(len(table))
    left = np.zeros(len(table))
    for i, c in enumerate(classes):
        share = np.asarray([t["predicted"][c] / t["items"] for t in table])
        ax.barh(y, share, left=left, color=f"C{i}", label=f"called {c}")
        left += share
    for j, t in enumerate(table):
        ax.text(1.01, j, f"recall {t['recall']:.2f} (n={t['items']})", va="center", fontsize=7)
    ax.set_yticks(y, [f"{t['fine_label']} ({t['label']})" for t in table], fontsize=8)
    ax.invert_yaxis()
    ax.set(xlim=(0, 1.35), xlabel="share of items")
    ax.legend(fontsize=7, ncol=len(classes), loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    ax.set_title(title, fontsize=10, pad=18)
    return _save(fig, path)


def write_plots(result: dict, records: list[dict], classes: list[str], out: Path, name: str) -> None:
    """The PNGs of an evaluation into ``out`` (confusion, SNR, range, sea state, fine type, reliability, ROC, PR)."""
    split = result["split"]
    for level in ("window", "recording"):
        m = result["all"][level]
        if m is not None:
            confusion_png(m["confusion"], classes, out / f"confusion_{level}.png",
                          title=f"{name} on {split}: {level} level, macro-F1 {m['macro_f1']:.3f}")
    if result.get("accuracy_by_snr"):
        accuracy_vs_snr_png(result["accuracy_by_snr"], out / "accuracy_vs_snr.png",
                            title=f"{name} on {split}: vessel recordings by SNR")
    for key, field, xlabel in (("snr_bands", "band", "SNR band (vessel items; ambient joins every band)"),
                               ("range_bands", "band", "horizontal CPA range (vessel items; ambient joins every band)"),
                               ("sea_state", "value", "sea state")):
        if result.get(key):
            bands_png(result[key], out / f"{key}.png", key=field, xlabel=xlabel, title=f"{name} on {split}: by {key.replace('_bands', ' band').replace('_', ' ')}")
    if result.get("fine_type", {}).get("window"):
        fine_type_png(result["fine_type"]["window"], classes, out / "fine_type.png",
                      title=f"{name} on {split}: windows of each fine type, by predicted class")
    cal = result["calibration"]
    reliability_png(cal["bins"], out / "reliability.png", ece=cal["ece"], n_bins=cal["n_bins"],
                    title=f"{name} on {split}: {cal['windows']} windows")
    probs = np.stack([r["probs"] for r in records]).astype(np.float64)
    labels = np.asarray([classes.index(r["label"]) for r in records])
    curves = roc_pr_curves(probs, labels, classes)
    if curves:
        per = result["roc_pr"]["per_class"]
        roc_png(curves, per, out / "roc.png", title=f"{name} on {split}: one-vs-rest ROC, windows")
        pr_png(curves, per, out / "pr.png", title=f"{name} on {split}: one-vs-rest precision-recall, windows")
