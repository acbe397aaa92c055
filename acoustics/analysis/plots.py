"""Figures people look at: confusion matrices, training curves, accuracy by SNR (matplotlib without pyplot, PNG)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def subplots(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float], dpi: int = 120, **kw):
    """``(figure, axes)`` like ``pyplot.subplots``, built without pyplot: no backend switch and no global figure
    registry, so a notebook's inline backend, a server thread and a node without a display are left alone."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi)
    return fig, fig.subplots(nrows, ncols, **kw)


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    fig.tight_layout()
    fig.savefig(path)
    return path


def confusion_png(confusion: list[list[int]], classes: list[str], path: str | Path, *, title: str) -> Path:
    """Row-normalised confusion matrix with counts, true class on rows."""
    cm = np.asarray(confusion, dtype=float)
    rows = cm.sum(axis=1, keepdims=True)
    frac = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    fig, ax = subplots(figsize=(1.4 * len(classes) + 2, 1.2 * len(classes) + 1.5), dpi=120)
    ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(classes)):
        for j in range(len(classes)):
            ax.text(j, i, f"{int(cm[i, j])}\n{frac[i, j]:.0%}", ha="center", va="center",
                    color="white" if frac[i, j] > 0.5 else "black", fontsize=9)
    ax.set_xticks(range(len(classes)), classes, rotation=30, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=10)
    return _save(fig, path)


def training_curves_png(history: list[dict], path: str | Path, *, title: str) -> Path:
    """Training loss and validation macro-F1 per epoch (from a run's history)."""
    epochs = [h["epoch"] for h in history]
    fig, ax = subplots(figsize=(6, 3.5), dpi=120)
    ax.plot(epochs, [h["train_loss"] for h in history], "o-", color="tab:blue", label="train loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("train loss", color="tab:blue")
    ax2 = ax.twinx()
    ax2.plot(epochs, [h["val_macro_f1"] for h in history], "s-", color="tab:red", label="val macro-F1")
    ax2.set_ylabel("validation macro-F1", color="tab:red")
    ax2.set_ylim(0, 1)
    ax.set_title(title, fontsize=10)
    return _save(fig, path)


def accuracy_vs_snr_png(bins: list[dict], path: str | Path, *, title: str) -> Path:
    """Recording-level accuracy per SNR bin (dB), with the number of recordings on each bar."""
    fig, ax = subplots(figsize=(6, 3.5), dpi=120)
    centres = [(b["lo_db"] + b["hi_db"]) / 2 for b in bins]
    width = bins[0]["hi_db"] - bins[0]["lo_db"] if bins else 5.0
    ax.bar(centres, [b["accuracy"] for b in bins], width=0.9 * width, color="tab:blue")
    for c, b in zip(centres, bins, strict=True):
        ax.text(c, b["accuracy"] + 0.02, f"n={b['n']}", ha="center", fontsize=8)
    ax.set_xlabel("SNR (dB, vessel over ambient, 10 Hz–0.45 fs)")
    ax.set_ylabel("recording accuracy")
    ax.set_ylim(0, 1.1)
    ax.set_title(title, fontsize=10)
    return _save(fig, path)


def lofar_demon_png(audio: np.ndarray, sample_rate: int, path: str | Path, *, title: str,
                    marks_hz: dict[str, float] | None = None, lofar_fmax_hz: float = 1000.0) -> Path:
    """A render as a person checks it: spectrogram to Nyquist, LOFARgram of the lines, DEMON spectrum.

    ``marks_hz`` (e.g. shaft and blade rates from the render's parameters) are drawn on the DEMON panel,
    so one sees whether the modulation sits where the physics put it.
    """
    from uwac.acoustics.analysis.lofar_demon import demon, lofar

    fig, axes = subplots(1, 3, figsize=(15, 4), dpi=100)
    x = np.asarray(audio, dtype=np.float64)
    broad = lofar(x, sample_rate, window_s=min(0.128, x.size / sample_rate), fmax_hz=None, background_hz=None)
    axes[0].pcolormesh(broad.times_s, broad.freqs_hz, broad.db, shading="auto", cmap="viridis",
                       vmin=np.percentile(broad.db, 5), vmax=np.percentile(broad.db, 99.5))
    axes[0].set(title="spectrogram", xlabel="time (s)", ylabel="frequency (Hz)")
    window_s = min(1.0, x.size / sample_rate)
    lo = lofar(x, sample_rate, window_s=window_s, fmax_hz=lofar_fmax_hz)
    if lo.times_s.size >= 20:  # long enough for lines to show as tracks
        axes[1].pcolormesh(lo.freqs_hz, lo.times_s, lo.lines_db.T, shading="auto", cmap="gray_r", vmin=0, vmax=15)
        axes[1].set(title=f"LOFARgram (lines over background, {1 / window_s:.0f} Hz bins)", xlabel="frequency (Hz)",
                    ylabel="time (s)")
    else:  # a short clip: the time-averaged LOFAR spectrum shows the lines better than a few noisy frames
        axes[1].plot(lo.freqs_hz, lo.lines_db.mean(axis=1), color="black", lw=0.8)
        axes[1].set(title=f"LOFAR, {lo.times_s.size} frames averaged ({1 / window_s:.0f} Hz bins)",
                    xlabel="frequency (Hz)", ylabel="dB over background")
    dm = demon(x, sample_rate)
    axes[2].plot(dm.freqs_hz, dm.db, color="black", lw=1)
    for i, (name, f) in enumerate((marks_hz or {}).items()):
        axes[2].axvline(f, color=f"C{i}", ls="--", lw=1, label=f"{name} {f:.2f} Hz")
    if marks_hz:
        axes[2].legend(fontsize=8)
    axes[2].set(title=f"DEMON {dm.band_hz[0]:.0f}-{dm.band_hz[1]:.0f} Hz", xlabel="modulation frequency (Hz)",
                ylabel="dB (peak 0)")
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)
