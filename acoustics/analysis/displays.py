"""Sonar displays as library functions: LOFARgram, DEMON lines, class timeline, model comparisons.

Every function draws on a :class:`matplotlib.figure.Figure` built without pyplot (no global backend switch,
nothing left open; a notebook shows the returned figure, a node or CI writes it with ``path=``), takes
keyword-only options with units in their names and returns the figure (the timeline functions also
return their per-hop predictions). Line detection lives in :mod:`acoustics.analysis.line_detect`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from uwac.acoustics.analysis.line_detect import demon_lines
from uwac.acoustics.analysis.lofar_demon import lofar

__all__ = ["CLASS_COLOURS", "Timeline", "class_timeline", "compare_metrics", "compare_models", "demon_display",
           "demon_lines", "lofargram", "score_timeline", "timeline_agreement"]

CLASS_COLOURS = {"ambient": "#9e9e9e", "merchant": "#1f77b4", "warship": "#d62728", "drone": "#ff7f0e",
                 "unknown": "#ffffff"}
SPECTROGRAM_COLUMNS = 1200  # at most this many spectrogram frames, however long the clip


def _mono(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Audio as float64 mono samples, with a clear error for anything else."""
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"audio must be mono 1-D samples, got shape {x.shape}")
    if x.size == 0:
        raise ValueError("audio is empty")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"audio holds {int(np.count_nonzero(~np.isfinite(x)))} NaN/Inf sample(s)")
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    return x


def _figure(figsize: tuple[float, float], **subplots):
    """A pyplot-free Figure and its axes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=100, layout="constrained")
    return fig, fig.subplots(**subplots)


def _finish(fig, path: str | Path | None):
    """Save ``fig`` as PNG when ``path`` is given; return the figure."""
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png")
    return fig


def _colour(label: str, classes: tuple[str, ...] = ()) -> str:
    """Display colour of a class label (fixed for the uwac classes, tab10 otherwise)."""
    if label in CLASS_COLOURS:
        return CLASS_COLOURS[label]
    from matplotlib import colormaps

    i = classes.index(label) if label in classes else sum(map(ord, label))
    return colormaps["tab10"](i % 10)


# ---------------------------------------------------------------------------------------------- LOFAR


def lofargram(audio: np.ndarray, sample_rate: int, *, fmax_hz: float = 1000.0, window_s: float = 1.0,
              overlap: float = 0.5, background_hz: float | None = 20.0, vmax_db: float = 15.0, ax=None,
              path: str | Path | None = None, title: str | None = None):
    """Normalised LOFARgram waterfall: frequency 0–``fmax_hz`` [Hz] on x, time [s] on y (newest at top).

    ``window_s`` [s] sets the bin width (1/window_s Hz), ``overlap`` the frame overlap (0–1). Each time
    slice has its running median over ``background_hz`` [Hz] of frequency subtracted, so the grey level is
    dB over the broadband background (0 to ``vmax_db``) and tonals stand out as dark vertical tracks
    (``background_hz=None``: raw dB re full scale²/Hz, scaled to its 5–99.5 percentiles). ``ax``: draw into this Axes instead of a new figure; ``path``: also write a PNG. Returns the Figure.
    """
    x = _mono(audio, sample_rate)
    lo = lofar(x, sample_rate, window_s=window_s, overlap=overlap, fmax_hz=fmax_hz, background_hz=background_hz)
    fig, ax = (ax.figure, ax) if ax is not None else _figure((8, 6))
    df = lo.freqs_hz[1] - lo.freqs_hz[0]
    dt = lo.times_s[1] - lo.times_s[0] if lo.times_s.size > 1 else window_s * (1 - overlap)
    extent = (lo.freqs_hz[0] - df / 2, lo.freqs_hz[-1] + df / 2, lo.times_s[0] - dt / 2, lo.times_s[-1] + dt / 2)
    if background_hz is None:
        vmin, vmax = np.percentile(lo.db, 5), np.percentile(lo.db, 99.5)
        label, what = "dB re full scale²/Hz", "not normalised"
    else:
        vmin, vmax = 0.0, vmax_db
        label, what = "dB over background", f"{background_hz:g} Hz running median removed"
    im = ax.imshow(lo.lines_db.T, origin="lower", aspect="auto", extent=extent, cmap="gray_r", vmin=vmin,
                   vmax=vmax, interpolation="nearest")
    fig.colorbar(im, ax=ax, label=label)
    ax.set(xlabel="frequency (Hz)", ylabel="time (s), newest at top",
           title=title or f"LOFARgram, {df:.2g} Hz bins, {what}")
    return _finish(fig, path)


# ---------------------------------------------------------------------------------------------- DEMON


def demon_display(audio: np.ndarray, sample_rate: int, *, band_hz: tuple[float, float] | None = None,
                  max_hz: float = 100.0, xmax_hz: float | None = None, lines: dict | None = None, ax=None,
                  path: str | Path | None = None, title: str | None = None):
    """DEMON spectrum (dB over background vs modulation frequency [Hz]) with the detected lines marked.

    Shaft harmonics are dashed blue and labelled 1×, 2×, …; blade-rate harmonics solid red (BR, 2BR, 3BR);
    masked impulsive combs (echosounder, clicks) dotted grey. ``lines``: a :func:`demon_lines` result to
    draw instead of computing one (``band_hz`` [Hz], ``max_hz`` [Hz] are passed to it otherwise).
    ``xmax_hz`` [Hz]: right edge of the plot (default: just past the last marked line, at least 20 Hz).
    Returns the Figure.
    """
    if lines is None:
        lines = demon_lines(_mono(audio, sample_rate), sample_rate, band_hz=band_hz, max_hz=max_hz)
    fig, ax = (ax.figure, ax) if ax is not None else _figure((10, 4))
    f, z = lines["freqs_hz"], lines["lines_db"]
    detected = bool(lines.get("shaft_hz"))
    if xmax_hz is None:
        last = max((h["hz"] for h in lines["harmonics"]), default=0.0) if detected else f[-1]
        xmax_hz = float(min(f[-1], max(20.0, 1.15 * last)))
    sel = f <= xmax_hz
    ax.plot(f[sel], z[sel], color="black", lw=0.8)
    top = float(max(np.max(z[sel]), 12.0)) + 4.0
    for fc in lines.get("combs_hz", []):
        for k in range(1, int(xmax_hz / fc) + 1):
            ax.axvline(k * fc, color="0.6", ls=":", lw=0.6, alpha=0.6,
                       label=f"comb {fc:.3g} Hz (masked)" if k == 1 else None)
    if detected:
        blades = lines["blades"]
        room = 0.025 * xmax_hz  # leave out labels that would overprint their neighbour
        for h in lines["harmonics"]:
            blade = h["kind"] == "blade"
            colour = "tab:red" if blade else "tab:blue"
            label = None
            if h["order"] == 1:
                label = f"shaft {lines['shaft_hz']:.3g} Hz ({60 * lines['shaft_hz']:.0f} rpm)"
            elif h["order"] == blades:
                label = f"blade rate {lines['blade_hz']:.3g} Hz ({blades} blades)"
            ax.axvline(h["hz"], color=colour, ls="-" if blade else "--", lw=1.2 if blade else 0.9, alpha=0.8,
                       label=label)
            if blade or h["order"] == 1 or lines["shaft_hz"] >= room:
                name = (f"{h['order'] // blades}BR" if h["order"] > blades else "BR") if blade else f"{h['order']}×"
                ax.text(h["hz"], top - 1.0, name, color=colour, ha="center", va="top", fontsize=8)
        verdict = (f"shaft {lines['shaft_hz']:.3g} Hz, blade rate {lines['blade_hz']:.3g} Hz, {blades} blades, "
                   f"confidence {lines['confidence']:.2f}")
    else:
        verdict = "no propeller lines detected"
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="upper right", bbox_to_anchor=(1.0, 0.9))
    lo, hi = lines["band_hz"]
    ax.set(xlim=(0, xmax_hz), ylim=(-10.0, top), xlabel="modulation frequency (Hz)",
           ylabel="dB over background", title=title or f"DEMON {lo:.0f}–{hi:.0f} Hz: {verdict}")
    return _finish(fig, path)


# ---------------------------------------------------------------------------------------------- timelines


@dataclass(frozen=True)
class Timeline:
    """One model's per-hop predictions over a clip (times [s], probabilities, labels with ``unknown``)."""

    model: str
    classes: tuple[str, ...]
    window_s: float
    hop_s: float
    unknown_threshold: float
    start_s: np.ndarray  # window starts [s]
    end_s: np.ndarray  # window ends [s]
    probabilities: np.ndarray  # [hops, classes]

    @property
    def times_s(self) -> np.ndarray:
        """Window centres [s]."""
        return (self.start_s + self.end_s) / 2

    @property
    def top_probability(self) -> np.ndarray:
        """Highest class probability per hop."""
        return self.probabilities.max(axis=1)

    @property
    def labels(self) -> list[str]:
        """Argmax class per hop, or ``unknown`` where its probability is under the model's threshold."""
        best = self.probabilities.argmax(axis=1)
        top = self.top_probability
        return [self.classes[i] if p >= self.unknown_threshold else "unknown" for i, p in zip(best, top, strict=True)]

    def rows(self) -> list[dict]:
        """One plain dict per hop (start_s, end_s, label, top probability, every class's probability)."""
        return [{"start_s": float(s), "end_s": float(e), "label": lab, "probability": float(p),
                 **{c: float(v) for c, v in zip(self.classes, probs, strict=True)}}
                for s, e, lab, p, probs in zip(self.start_s, self.end_s, self.labels, self.top_probability,
                                               self.probabilities, strict=True)]


def _session(model):
    """(onnxruntime session, ModelInfo, name) from a model path or a (session, info) pair."""
    if isinstance(model, (str, Path)):
        from uwac.acoustics.contract import load_session

        session, info = load_session(model)
        return session, info, Path(model).name
    try:
        session, info = model
    except (TypeError, ValueError):
        raise TypeError("model must be an .onnx path or a (session, ModelInfo) pair from "
                        "uwac.acoustics.contract.load_session") from None
    return session, info, Path(str(getattr(info, "path", "") or "model")).name


def score_timeline(audio: np.ndarray, sample_rate: int, *, model, hop_s: float | None = None,
                   batch: int = 32) -> Timeline:
    """Score ``audio`` (mono, ``sample_rate`` Hz) one model window per hop; returns a :class:`Timeline`.

    ``model``: an .onnx path or a (session, ModelInfo) pair; audio at another rate is resampled to the
    model's. ``hop_s`` [s]: hop between windows (the model's own hop by default); ``batch``: windows per
    onnxruntime call. Audio shorter than one window is scored as one window of itself repeated (as ``uwac
    evaluate`` does: :func:`~uwac.acoustics.contract.short_clip_window`), spanning the audio.
    """
    from uwac.acoustics.audio_io import resample
    from uwac.acoustics.windows import score_windows

    x = _mono(audio, sample_rate)
    session, info, name = _session(model)
    hop_s = info.hop_seconds if hop_s is None else float(hop_s)
    if hop_s <= 0:
        raise ValueError(f"hop_s must be positive, got {hop_s}")
    y = resample(x.astype(np.float32), sample_rate, info.sample_rate)
    hop = max(1, int(round(hop_s * info.sample_rate)))
    scored = list(score_windows(session, info, [y], hop_samples=hop, batch_size=max(1, int(batch))))
    start_s = np.asarray([w.start for w in scored]) / info.sample_rate
    span_s = scored[0].samples / info.sample_rate  # a window, or the whole audio when under one window
    return Timeline(model=name, classes=tuple(info.classes), window_s=span_s, hop_s=hop / info.sample_rate,
                    unknown_threshold=float(info.unknown_threshold), start_s=start_s, end_s=start_s + span_s,
                    probabilities=np.stack([w.probabilities for w in scored]).astype(np.float64))


def timeline_agreement(a: Timeline, b: Timeline) -> float:
    """Share of ``a``'s hops where ``b`` gives the same label at the same time (nearest hop within half a hop).

    NaN when no hop of ``a`` has a counterpart in ``b``.
    """
    if a.times_s.size == 0 or b.times_s.size == 0:
        return float("nan")
    idx = np.searchsorted(b.times_s, a.times_s)
    lo, hi = np.clip(idx - 1, 0, b.times_s.size - 1), np.clip(idx, 0, b.times_s.size - 1)
    j = np.where(np.abs(b.times_s[lo] - a.times_s) <= np.abs(b.times_s[hi] - a.times_s), lo, hi)
    near = np.abs(b.times_s[j] - a.times_s) <= b.hop_s / 2 + 1e-9
    if not np.any(near):
        return float("nan")
    la, lb = a.labels, b.labels
    same = [la[i] == lb[j[i]] for i in np.nonzero(near)[0]]
    return float(np.mean(same))


def _spectrogram(ax, x: np.ndarray, sample_rate: int, *, fmax_hz: float | None):
    """Draw a dB spectrogram (time [s] on x, frequency [Hz] on y) with at most SPECTROGRAM_COLUMNS frames."""
    nper = int(2 ** np.round(np.log2(max(64, 0.064 * sample_rate))))
    nper = min(nper, x.size)
    step = max(nper // 2, int(np.ceil((x.size - nper) / SPECTROGRAM_COLUMNS)) or 1)
    starts = np.arange(0, x.size - nper + 1, step)
    window = np.hanning(nper)
    power = np.empty((nper // 2 + 1, starts.size))
    for i in range(0, starts.size, 256):
        frames = np.stack([x[s: s + nper] for s in starts[i: i + 256]]) * window
        power[:, i: i + 256] = (np.abs(np.fft.rfft(frames, axis=1)) ** 2).T
    freqs = np.fft.rfftfreq(nper, 1.0 / sample_rate)
    top = sample_rate / 2 if fmax_hz is None else min(fmax_hz, sample_rate / 2)
    keep = freqs <= top
    db = 10.0 * np.log10(power[keep] + 1e-20)
    t = (starts + nper / 2) / sample_rate
    dt = step / sample_rate
    ax.imshow(db, origin="lower", aspect="auto", cmap="viridis", interpolation="nearest",
              extent=(t[0] - dt / 2, t[-1] + dt / 2, 0.0, freqs[keep][-1]),
              vmin=np.percentile(db, 5), vmax=np.percentile(db, 99.5))
    ax.set(ylabel="frequency (Hz)", xlim=(0.0, x.size / sample_rate))


def _band(ax, tl: Timeline, name: str) -> None:
    """One timeline as a coloured band (a tile of one hop per prediction) with the top probability over it."""
    half = tl.hop_s / 2
    for c, lab in zip(tl.times_s, tl.labels, strict=True):
        ax.axvspan(c - half, c + half, color=_colour(lab, tl.classes), alpha=0.75, lw=0,
                   hatch="//" if lab == "unknown" else None)
    edges = np.concatenate([tl.times_s - half, [tl.times_s[-1] + half]])
    ax.stairs(tl.top_probability, edges, color="black", lw=1.0)
    ax.axhline(tl.unknown_threshold, color="black", ls=":", lw=0.8)
    ax.set(ylim=(0, 1.02), yticks=[0, 0.5, 1])
    ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)


def _truth_band(ax, truth: list, classes: tuple[str, ...]) -> None:
    """Truth spans [(start_s, end_s, label)] as a labelled band."""
    for start, end, label in truth:
        ax.axvspan(float(start), float(end), color=_colour(str(label), classes), alpha=0.75, lw=0)
        ax.text((float(start) + float(end)) / 2, 0.5, str(label), ha="center", va="center", fontsize=7)
    ax.set(ylim=(0, 1), yticks=[])
    ax.set_ylabel("truth", rotation=0, ha="right", va="center", fontsize=8)


def _legend(fig, labels: set[str], classes: tuple[str, ...]) -> None:
    """Class colour legend for the labels shown."""
    from matplotlib.patches import Patch

    order = [c for c in (*classes, "unknown") if c in labels] + sorted(labels - {*classes, "unknown"})
    handles = [Patch(facecolor=_colour(c, classes), edgecolor="black", lw=0.5, hatch="//" if c == "unknown" else None,
                     label=c) for c in order]
    fig.legend(handles=handles, loc="outside lower center", ncol=max(1, len(handles)), fontsize=8)


def _timeline_figure(x: np.ndarray, sample_rate: int, timelines: dict[str, Timeline], truth, fmax_hz, title, ax):
    """Spectrogram over one band per timeline (and a truth band), all sharing the time axis."""
    rows = 1 + len(timelines) + (1 if truth else 0)
    if ax is None:
        fig, axes = _figure((11, 3.2 + 0.7 * (rows - 1)), nrows=rows, sharex=True,
                            gridspec_kw={"height_ratios": [5] + [1] * (rows - 1)})
        axes = np.atleast_1d(axes)
    else:
        axes = list(ax) if isinstance(ax, (list, tuple, np.ndarray)) else [ax]
        if len(axes) != rows:
            raise ValueError(f"ax must hold {rows} Axes (spectrogram, one per model{', truth' if truth else ''}), "
                             f"got {len(axes)}")
        fig = axes[0].figure
    _spectrogram(axes[0], x, sample_rate, fmax_hz=fmax_hz)
    shown: set[str] = set()
    classes: tuple[str, ...] = ()
    for ax, (name, tl) in zip(axes[1:], timelines.items(), strict=False):
        _band(ax, tl, name)
        shown.update(tl.labels)
        classes = classes or tl.classes
    if truth:
        _truth_band(axes[-1], truth, classes)
        shown.update(str(t[2]) for t in truth)
    axes[-1].set_xlabel("time (s)")
    axes[0].set_title(title, fontsize=10)
    _legend(fig, shown, classes)
    return fig


def class_timeline(audio: np.ndarray, sample_rate: int, *, model, hop_s: float | None = None,
                   truth: list | None = None, fmax_hz: float | None = None, batch: int = 32, ax=None,
                   path: str | Path | None = None, title: str | None = None):
    """Spectrogram (time [s] on x, 0–``fmax_hz`` Hz) with the predicted class per hop beneath it.

    The band under the spectrogram tiles one hop per prediction in the class colour (hatched white for
    ``unknown``: top probability under the model's threshold, the dotted line), with the top probability
    drawn over it. ``model``: .onnx path or (session, ModelInfo); ``hop_s`` [s] (model's hop by default);
    ``truth``: optional [(start_s, end_s, label)] spans drawn as a second band. ``ax``: a sequence of Axes
    (spectrogram, band[, truth]) to draw into instead of a new figure. Returns (Figure, :class:`Timeline`).
    """
    x = _mono(audio, sample_rate)
    tl = score_timeline(x, sample_rate, model=model, hop_s=hop_s, batch=batch)
    counts = {c: tl.labels.count(c) for c in sorted(set(tl.labels))}
    summary = ", ".join(f"{c} {n}" for c, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    fig = _timeline_figure(x, sample_rate, {tl.model: tl}, truth, fmax_hz,
                           title or f"{tl.model}: {len(tl.labels)} hops of {tl.hop_s:g} s ({summary})", ax)
    return _finish(fig, path), tl


def compare_models(audio: np.ndarray, sample_rate: int, *, models: dict, truth: list | None = None,
                   hop_s: float | None = None, fmax_hz: float | None = None, batch: int = 32, ax=None,
                   path: str | Path | None = None, title: str | None = None):
    """Two or more models' class timelines stacked under one spectrogram, with their agreement.

    ``models``: {name: .onnx path or (session, ModelInfo)}; ``truth``: optional [(start_s, end_s, label)].
    Agreement is the share of hops where two models give the same label (:func:`timeline_agreement`,
    ``unknown`` included). ``ax``: a sequence of Axes (spectrogram, one per model[, truth]) to draw into.
    Returns (Figure, {"timelines": {name: Timeline}, "agreement": {(a, b): share}}).
    """
    if len(models) < 2:
        raise ValueError(f"compare_models needs at least two models, got {len(models)}")
    x = _mono(audio, sample_rate)
    timelines = {name: score_timeline(x, sample_rate, model=m, hop_s=hop_s, batch=batch) for name, m in models.items()}
    names = list(timelines)
    agreement = {(a, b): timeline_agreement(timelines[a], timelines[b])
                 for i, a in enumerate(names) for b in names[i + 1:]}
    text = "; ".join(f"{a} vs {b}: {v:.0%} agree" for (a, b), v in agreement.items())
    fig = _timeline_figure(x, sample_rate, timelines, truth, fmax_hz, title or text, ax)
    return _finish(fig, path), {"timelines": timelines, "agreement": agreement}


# ---------------------------------------------------------------------------------------------- metrics


def _per_class(metrics, subset: str, level: str) -> dict:
    """The ``classification_metrics`` block (per_class, macro_f1) of a metrics.json dict or path."""
    if isinstance(metrics, (str, Path)):
        metrics = json.loads(Path(metrics).read_text())
    if "per_class" in metrics:
        return metrics
    block = (metrics.get(subset) or {}).get(level)
    if not block or "per_class" not in block:
        raise ValueError(f"no per-class metrics at [{subset!r}][{level!r}]; pass a `uwac evaluate` metrics.json "
                         "(or its result[subset][level] block)")
    return block


def compare_metrics(metrics_a, metrics_b, *, names: tuple[str, str] = ("A", "B"), subset: str = "all",
                    level: str = "window", path: str | Path | None = None, title: str | None = None):
    """Side-by-side bars of per-class F1 and macro-F1 from two ``uwac evaluate`` metrics.json results.

    ``metrics_a``/``metrics_b``: the parsed dicts or their paths; ``subset`` (all, snr_ge_0db) and ``level``
    (window, recording) pick result[subset][level]. A class one result lacks is left out of its bars.
    Returns the Figure.
    """
    blocks = [_per_class(metrics_a, subset, level), _per_class(metrics_b, subset, level)]
    classes = list(dict.fromkeys([*blocks[0]["per_class"], *blocks[1]["per_class"]]))
    groups = [*classes, "macro-F1"]
    fig, ax = _figure((1.3 * len(groups) + 3, 4))
    width = 0.38
    pos = np.arange(len(groups))
    for i, (block, name) in enumerate(zip(blocks, names, strict=True)):
        vals = [block["per_class"].get(c, {}).get("f1", np.nan) for c in classes] + [block.get("macro_f1", np.nan)]
        vals = np.asarray([np.nan if v is None else v for v in vals], dtype=float)
        bars = ax.bar(pos + (i - 0.5) * width, np.nan_to_num(vals), width, label=name, color=f"C{i}")
        for b, v in zip(bars, vals, strict=True):
            ax.text(b.get_x() + b.get_width() / 2, (0 if np.isnan(v) else v) + 0.01,
                    "–" if np.isnan(v) else f"{v:.2f}", ha="center", va="bottom", fontsize=7)
    ax.axvline(len(classes) - 0.5, color="0.7", lw=0.8)
    ax.set_xticks(pos, groups)
    ax.set(ylim=(0, 1.1), ylabel="F1", title=title or f"F1 by class, {subset} / {level} level")
    ax.legend(fontsize=8, loc="upper left")
    return _finish(fig, path)
