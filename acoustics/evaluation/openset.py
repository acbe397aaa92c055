"""Open-set behaviour: what a model does with a fine type it never trained on.

A run trained with ``data.exclude_fine_labels`` (``uwac train --exclude-fine uuv``) saw no train or
val recording of those types, so neither its weights nor its temperature nor its ``unknown``
threshold were shaped by them; its test split still holds them. Here their windows are scored
against the windows of the types it did see: how often each comes out ``unknown`` (top probability
under the model's threshold), ``ambient``, its true coarse class, or a wrong vessel class, and how
well "1 − max probability" separates held-out from seen windows (AUROC).

Typical use in an evaluator (``probs`` from the exported model, one manifest row per window)::

    held = held_out_fine_labels(info)
    if held:
        result = open_set_metrics(probs, [r.fine_label for r in rows], [r.label for r in rows], info.classes,
                                  held_out=held, unknown_threshold=info.unknown_threshold,
                                  recording_ids=[r.recording_id for r in rows])
        lines += render_open_set(result)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from uwac.acoustics.taxonomy import class_index

OUTCOMES: tuple[str, ...] = ("unknown", "ambient", "true_class", "wrong_vessel")


def held_out_fine_labels(info: Any) -> list[str]:
    """Fine types the model was trained without: ``data.exclude_fine_labels`` of the training config in its metadata.

    ``info`` is an ``acoustics.contract.ModelInfo`` (anything with a ``training`` dict); ``[]`` for a model
    trained on every type or exported before the setting existed.
    """
    config = (getattr(info, "training", None) or {}).get("config") or {}
    return [str(f) for f in (config.get("data") or {}).get("exclude_fine_labels") or []]


def outcome_shares(probs: np.ndarray, labels: np.ndarray, classes: Sequence[str], *, unknown_threshold: float,
                   ambient: str = "ambient") -> dict:
    """Share of rows called ``unknown``, ``ambient``, their true class, or a wrong vessel class (they sum to 1).

    A row is ``unknown`` when its top probability is under ``unknown_threshold`` (the node's rule);
    otherwise its argmax decides. A row whose true class is ambient and is called ambient counts as
    ``true_class``. ``predicted``: the share called each class or unknown. Shares are None for no rows.
    """
    probs, labels = np.asarray(probs, dtype=np.float64).reshape(-1, len(classes)), np.asarray(labels, dtype=np.int64)
    n = len(labels)
    if not n:
        return {"n": 0, **dict.fromkeys(OUTCOMES), "predicted": {}}
    unknown = probs.max(1) < unknown_threshold
    pred = probs.argmax(1)
    true = ~unknown & (pred == labels)
    amb = ~unknown & ~true & (pred == classes.index(ambient)) if ambient in classes else np.zeros(n, dtype=bool)
    wrong = ~unknown & ~true & ~amb
    predicted = {c: float(np.mean(~unknown & (pred == i))) for i, c in enumerate(classes)}
    predicted["unknown"] = float(unknown.mean())
    return {"n": int(n), "unknown": float(unknown.mean()), "ambient": float(amb.mean()), "true_class": float(true.mean()),
            "wrong_vessel": float(wrong.mean()), "predicted": predicted}


def _auroc(scores: np.ndarray, positive: np.ndarray, negative: np.ndarray) -> float | None:
    """AUROC of ``scores`` with ``positive`` rows as positives and ``negative`` rows as negatives (None if one is empty)."""
    if not positive.any() or not negative.any():
        return None
    keep = positive | negative
    return float(roc_auc_score(positive[keep].astype(int), scores[keep]))


def _level(probs: np.ndarray, fine: np.ndarray, labels: np.ndarray, classes: Sequence[str], *, held_out: list[str],
           unknown_threshold: float, ambient: str) -> dict:
    """Open-set figures for one level (windows, or recordings as mean probabilities)."""
    shares = dict(unknown_threshold=unknown_threshold, ambient=ambient)
    score = 1.0 - probs.max(1) if len(probs) else np.zeros(0)
    is_held = np.isin(fine, held_out)
    seen = ~is_held
    held_classes = sorted(set(labels[is_held].tolist()))
    seen_same = seen & np.isin(labels, held_classes)
    unknown = probs.max(1) < unknown_threshold if len(probs) else np.zeros(0, dtype=bool)
    by_fine = {}
    for f in held_out:
        mine = fine == f
        cls = sorted(set(labels[mine].tolist()))
        same = seen & np.isin(labels, cls)
        by_fine[f] = {"classes": [classes[c] for c in cls],
                      "held_out": outcome_shares(probs[mine], labels[mine], classes, **shares),
                      "seen_same_class": outcome_shares(probs[same], labels[same], classes, **shares),
                      "seen_fine_labels": sorted(set(fine[same].tolist())),
                      "auroc": _auroc(score, mine, seen), "auroc_same_class": _auroc(score, mine, same)}
    return {
        "n_held_out": int(is_held.sum()), "n_seen": int(seen.sum()),
        "held_out": outcome_shares(probs[is_held], labels[is_held], classes, **shares),
        "seen_same_class": outcome_shares(probs[seen_same], labels[seen_same], classes, **shares),
        "seen": outcome_shares(probs[seen], labels[seen], classes, **shares),
        "auroc": _auroc(score, is_held, seen),
        "auroc_same_class": _auroc(score, is_held, seen_same),
        "tpr_at_threshold": float(unknown[is_held].mean()) if is_held.any() else None,
        "fpr_at_threshold": float(unknown[seen].mean()) if seen.any() else None,
        "fpr_same_class_at_threshold": float(unknown[seen_same].mean()) if seen_same.any() else None,
        "by_fine": by_fine,
    }


def open_set_metrics(probs: np.ndarray, fine_labels: Sequence[str], labels: Sequence[int] | Sequence[str],
                     classes: Sequence[str], *, held_out: Sequence[str], unknown_threshold: float,
                     ambient: str = "ambient", recording_ids: Sequence[str] | None = None) -> dict:
    """Open-set figures of held-out fine types against the types the model saw.

    ``probs`` ``[n, len(classes)]``: calibrated class probabilities of n windows (the model's
    ``probabilities`` output); ``fine_labels`` / ``labels`` ``[n]``: each window's manifest ``fine_label``
    and true coarse class (index into ``classes`` or class name); ``held_out``: the fine types kept out
    of training (``held_out_fine_labels(info)``, must be non-empty); ``unknown_threshold``: the model's
    (``info.unknown_threshold``); ``recording_ids`` ``[n]``: adds a recording level, where the windows
    of one (recording, fine type) are averaged into one probability vector, as a node's clip decision is.

    Returns ``{"held_out", "unknown_threshold", "classes", "window", "recording"}`` (``recording`` None
    without ids). Each level has: ``held_out`` and ``seen_same_class`` (seen fine types of the held-out
    types' coarse classes) and ``seen`` outcome shares (``outcome_shares``: unknown / ambient /
    true_class / wrong_vessel, plus ``predicted``); ``auroc`` of the score 1 − max probability with
    held-out rows positive and every seen row negative, ``auroc_same_class`` against seen rows of the
    same classes only (None when a side is empty); ``tpr_at_threshold`` / ``fpr_at_threshold``
    (``fpr_same_class_at_threshold``): the share of held-out / seen rows called ``unknown`` at the stored
    threshold; ``by_fine``: the same per held-out type; ``n_held_out`` / ``n_seen``.
    """
    held_out = [str(f) for f in held_out]
    if not held_out:
        raise ValueError("open_set_metrics needs at least one held-out fine type; held_out_fine_labels(info) is empty "
                         "for a model trained on every type (train with --exclude-fine FINE)")
    classes = tuple(classes)
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[1] != len(classes):
        raise ValueError(f"probs must be [n, {len(classes)}] (one column per class {list(classes)}), got {probs.shape}")
    fine = np.asarray([str(f) for f in fine_labels], dtype=object)
    labels = np.asarray([lab if isinstance(lab, (int, np.integer)) else class_index(str(lab), classes)
                         for lab in labels], dtype=np.int64)
    if not len(fine) == len(labels) == len(probs):
        raise ValueError(f"probs ({len(probs)}), fine_labels ({len(fine)}) and labels ({len(labels)}) must have one "
                         "entry per window")
    if len(labels) and (labels.min() < 0 or labels.max() >= len(classes)):
        raise ValueError(f"labels must index classes {list(classes)}")
    args = dict(held_out=held_out, unknown_threshold=float(unknown_threshold), ambient=ambient)
    result = {"held_out": held_out, "unknown_threshold": float(unknown_threshold), "classes": list(classes),
              "window": _level(probs, fine, labels, classes, **args), "recording": None}
    if recording_ids is not None:
        if len(recording_ids) != len(probs):
            raise ValueError(f"recording_ids ({len(recording_ids)}) must have one entry per window ({len(probs)})")
        groups: dict[tuple[str, str], list[int]] = {}
        for i, (rec, f) in enumerate(zip(recording_ids, fine, strict=True)):
            groups.setdefault((str(rec), f), []).append(i)
        idx = list(groups.values())
        mean = np.stack([probs[g].mean(0) for g in idx]) if idx else np.zeros((0, len(classes)))
        result["recording"] = _level(mean, np.asarray([fine[g[0]] for g in idx], dtype=object),
                                     np.asarray([labels[g[0]] for g in idx], dtype=np.int64), classes, **args)
    return result


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f} %"


def _num(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


def _table(level: dict, unit: str) -> list[str]:
    """Markdown table of outcome shares: each held-out type, its seen siblings, and the pooled rows."""
    lines = [f"| {unit} | n | unknown | ambient | true class | wrong vessel class | AUROC (vs all seen / same class) |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]

    def row(name: str, s: dict, auroc: str = "") -> str:
        return (f"| {name} | {s['n']} | {_pct(s['unknown'])} | {_pct(s['ambient'])} | {_pct(s['true_class'])} | "
                f"{_pct(s['wrong_vessel'])} | {auroc} |")

    for f, d in level["by_fine"].items():
        cls = "/".join(d["classes"]) or "not in this data"
        lines.append(row(f"held out: **{f}** ({cls})", d["held_out"], f"{_num(d['auroc'])} / {_num(d['auroc_same_class'])}"))
        seen = ", ".join(d["seen_fine_labels"]) or "none"
        lines.append(row(f"seen {cls} types ({seen})", d["seen_same_class"]))
    if len(level["by_fine"]) > 1:
        lines.append(row("all held-out types", level["held_out"],
                         f"{_num(level['auroc'])} / {_num(level['auroc_same_class'])}"))
        lines.append(row("seen types of the same classes", level["seen_same_class"]))
    lines.append(row("all seen types", level["seen"]))
    return lines


def render_open_set(result: dict) -> list[str]:
    """Markdown lines (a section for a report) describing an ``open_set_metrics`` result."""
    held, thr, win = result["held_out"], result["unknown_threshold"], result["window"]
    lines = ["## Open-set check: fine types held out of training", "",
             f"Held out of training, validation and calibration: {', '.join(f'**{f}**' for f in held)}. A window is "
             f"`unknown` when its top probability is under {thr:.3f} (the model's threshold, fitted on validation "
             "without these types); otherwise its argmax decides. AUROC: how well 1 − max probability ranks "
             "held-out windows above seen ones (0.5 = no better than chance).", ""]
    if not win["n_held_out"]:
        return [*lines, "No windows of the held-out types in this data: nothing to measure.", ""]
    lines += _table(win, "windows")
    lines += ["", f"At the threshold: {_pct(win['tpr_at_threshold'])} of held-out windows are called `unknown` (TPR), "
                  f"{_pct(win['fpr_at_threshold'])} of seen windows (FPR; "
                  f"{_pct(win['fpr_same_class_at_threshold'])} of seen windows of the same classes).", ""]
    rec = result.get("recording")
    if rec and rec["n_held_out"]:
        lines += ["Recording level (mean probability over a recording's windows of one fine type):", ""]
        lines += _table(rec, "recordings")
        lines += ["", f"At the threshold: {_pct(rec['tpr_at_threshold'])} of held-out recordings `unknown` (TPR), "
                      f"{_pct(rec['fpr_at_threshold'])} of seen ones (FPR).", ""]
    return lines
