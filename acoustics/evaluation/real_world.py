"""The real-world check of ``uwac evaluate``: real hydrophone clips (a manifest with a ``category`` column, ``uwac
adapt realclips``), per category how many the model calls a vessel, against the goals in :data:`REAL_WORLD_GOALS`.

``metrics.json`` gets a ``real_world`` block (:func:`real_world_table`), ``report.md`` its section
(:func:`render_real_world`), and the vessel-vs-not AUC stands beside the physics floor (``physics_floor``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from uwac.acoustics.evaluation.physics_floor import vessel_auc

VESSEL_CLASSES: tuple[str, ...] = ("merchant", "warship", "drone")
REAL_WORLD_CATEGORIES: tuple[str, ...] = ("ambient", "biological", "anthropogenic", "vessel")
NON_VESSEL_CATEGORIES: tuple[str, ...] = ("ambient", "biological", "anthropogenic")
# Issue 9's goals for the real-world check (real merchants: at least 5 of the 7 DeepShip cuts).
REAL_WORLD_GOALS: dict[str, float] = {"max_non_vessel_called_vessel": 0.10, "min_merchant_called_merchant": 5 / 7,
                                      "min_vessel_auc": 0.90}


def _share(k: int, n: int) -> float | None:
    """k of n as a share, None over no clips."""
    return k / n if n else None


def real_world_table(probs, categories: list[str], labels: list[str], classes: list[str], *,
                     files: list[str] | None = None, too_short: list[dict] | None = None,
                     goals: dict[str, float] | None = None, unknown_threshold: float = 0.0) -> dict:
    """The real-world check from per-clip class probabilities (one clip per row of ``probs``).

    A clip's decision is the argmax of its probabilities (the mean over its windows), or ``unknown`` when
    the top probability is under ``unknown_threshold`` (the model's, chosen on validation, as the node
    applies it); it is *called a vessel* when the decision is merchant, warship or drone. Returns, as plain JSON-able values:
    ``by_category`` (clips, called_vessel, share_called_vessel for ambient, biological, anthropogenic,
    vessel and any other category present), ``non_vessel`` (ambient + biological + anthropogenic
    pooled, against the goal ``max_non_vessel_called_vessel``), ``merchant`` (clips labelled merchant:
    counts per predicted class and the share called merchant, against ``min_merchant_called_merchant``),
    ``goals``, ``clips`` (file, category, label, predicted, top_probability) and ``too_short`` (as given).
    A share over no clips is None, and so is ``meets_goal``.
    """
    probs = np.asarray(probs, dtype=np.float64).reshape(len(categories), len(classes))
    if len(labels) != len(categories) or (files is not None and len(files) != len(categories)):
        raise ValueError("real_world_table: probs, categories, labels (and files) need one entry per clip")
    goals = {**REAL_WORLD_GOALS, **(goals or {})}
    predicted = [classes[i] if probs[j, i] >= unknown_threshold else "unknown"
                 for j, i in enumerate(probs.argmax(1))] if len(categories) else []
    vessel = [p in VESSEL_CLASSES for p in predicted]
    by_category = {}
    for cat in [*REAL_WORLD_CATEGORIES, *sorted(set(categories) - set(REAL_WORLD_CATEGORIES))]:
        idx = [i for i, c in enumerate(categories) if c == cat]
        k = sum(vessel[i] for i in idx)
        by_category[cat] = {"clips": len(idx), "called_vessel": k, "share_called_vessel": _share(k, len(idx)),
                            "called_unknown": sum(predicted[i] == "unknown" for i in idx)}
    non = [i for i, c in enumerate(categories) if c in NON_VESSEL_CATEGORIES]
    k_non = sum(vessel[i] for i in non)
    judged = [i for i, c in enumerate(categories) if c in (*NON_VESSEL_CATEGORIES, "vessel")]
    ambient_col = classes.index("ambient") if "ambient" in classes else None
    auc = None if ambient_col is None else vessel_auc(1.0 - probs[judged, ambient_col],
                                                      [categories[i] == "vessel" for i in judged])
    share_non = _share(k_non, len(non))
    merchant = [i for i, lab in enumerate(labels) if lab == "merchant"]
    counts = {c: sum(predicted[i] == c for i in merchant) for c in [*classes, "unknown"]}
    share_m = _share(counts.get("merchant", 0), len(merchant))
    clips = [{"file": files[i] if files is not None else str(i), "category": categories[i], "label": labels[i],
              "predicted": predicted[i], "top_probability": float(probs[i].max())} for i in range(len(categories))]
    return {
        "goals": goals,
        "unknown_threshold": float(unknown_threshold),
        "by_category": by_category,
        "non_vessel": {"categories": list(NON_VESSEL_CATEGORIES), "clips": len(non), "called_vessel": k_non,
                       "share_called_vessel": share_non, "goal_max": goals["max_non_vessel_called_vessel"],
                       "meets_goal": None if share_non is None else share_non <= goals["max_non_vessel_called_vessel"]},
        "merchant": {"clips": len(merchant), "predicted": counts, "share_called_merchant": share_m,
                     "goal_min": goals["min_merchant_called_merchant"],
                     "meets_goal": None if share_m is None else share_m >= goals["min_merchant_called_merchant"] - 1e-9},
        "vessel_vs_not": {"score": "1 − p(ambient), the clip's mean over its windows", "clips": len(judged),
                          "auc": auc, "goal_min": goals["min_vessel_auc"],
                          "meets_goal": None if auc is None else auc >= goals["min_vessel_auc"]},
        "clips": clips,
        "too_short": list(too_short or []),
    }


def real_world_from_records(records: list[dict], too_short_rows: list, classes: list[str],
                            window_seconds: float, unknown_threshold: float = 0.0) -> dict:
    """:func:`real_world_table` of scored windows: mean probability per clip (manifest row), with too-short rows."""
    spans: dict[tuple, list[dict]] = {}
    for r in records:
        if "category" in r["extra"]:
            spans.setdefault(r["span"], []).append(r)
    probs = np.stack([np.mean([w["probs"] for w in ws], axis=0) for ws in spans.values()]) if spans \
        else np.zeros((0, len(classes)))
    first = [ws[0] for ws in spans.values()]
    short = [{"file": row.path, "category": row.extra.get("category", ""), "label": row.label,
              "duration_s": round(row.duration_s, 3), "window_s": window_seconds, "scored": True}
             for row in too_short_rows if "category" in row.extra]
    return real_world_table(probs, [w["extra"]["category"] for w in first], [w["label"] for w in first], classes,
                            files=[w["path"] for w in first], too_short=short, unknown_threshold=unknown_threshold)


def _pct(share: float | None) -> str:
    return "n/a" if share is None else f"{100 * share:.1f} %"


def _verdict(meets: bool | None) -> str:
    return "no clips" if meets is None else ("met" if meets else "NOT met")


def _auc_lines(rw: dict) -> list[str]:
    """The vessel-vs-not AUC of the model beside the physics floor (``demon_lines`` alone)."""
    v = rw.get("vessel_vs_not")
    if not v:
        return []
    fmt = lambda x: "n/a" if x is None else f"{x:.3f}"  # noqa: E731
    floor = rw.get("physics_floor", {}).get("auc")
    return [f"- vessel vs not, ROC AUC over {v['clips']} clips (score {v['score']}): **{fmt(v['auc'])}**; goal >= "
            f"{v['goal_min']:.2f}: {_verdict(v['meets_goal'])}; the physics floor (demon_lines confidence alone) "
            f"{fmt(floor)}: " + ("n/a" if v.get("at_least_floor") is None else
                                 "not below it" if v["at_least_floor"] else "BELOW it")]


def render_real_world(rw: dict) -> list[str]:
    """Markdown lines of the real-world section of ``report.md`` (see :func:`real_world_table`)."""
    g, nv, m = rw["goals"], rw["non_vessel"], rw["merchant"]
    lines = ["## Real-world check (real hydrophone clips)", "",
             "Recording-level decision per clip: the argmax of the mean probability over its windows, or unknown "
             f"when the top probability is under the model's threshold ({rw.get('unknown_threshold', 0.0):.3f}); a clip "
             f"is called a vessel when the decision is {', '.join(VESSEL_CLASSES)}.", "",
             "| category | clips | called vessel | called unknown | share called vessel | goal |",
             "|---|---:|---:|---:|---:|---|"]
    for cat, v in rw["by_category"].items():
        if cat == "vessel":
            goal = "(see merchant below)"
        elif cat in nv["categories"]:
            goal = f"pooled below: <= {100 * g['max_non_vessel_called_vessel']:.0f} %"
        else:
            goal = "outside the non-vessel figure"
        lines.append(f"| {cat} | {v['clips']} | {v['called_vessel']} | {v.get('called_unknown', 0)} | "
                     f"{_pct(v['share_called_vessel'])} | {goal} |")
    lines += ["",
              f"- non-vessel clips ({' + '.join(nv['categories'])}) called a vessel: {nv['called_vessel']} of "
              f"{nv['clips']} = **{_pct(nv['share_called_vessel'])}**; goal <= "
              f"{100 * nv['goal_max']:.0f} %: {_verdict(nv['meets_goal'])}",
              f"- real merchant clips called merchant: {m['predicted'].get('merchant', 0)} of {m['clips']} = "
              f"**{_pct(m['share_called_merchant'])}**; goal >= {100 * m['goal_min']:.0f} %: "
              f"{_verdict(m['meets_goal'])}",
              "- class given to the real merchant clips: "
              + ", ".join(f"{c} {n}" for c, n in m["predicted"].items()), *_auc_lines(rw), "",
              "| file | category | predicted | top probability |", "|---|---|---|---:|"]
    lines += [f"| {Path(c['file']).name} | {c['category']} | {c['predicted']} | {c['top_probability']:.3f} |"
              for c in rw["clips"]]
    if rw["too_short"]:
        lines += ["", f"Shorter than one model window ({rw['too_short'][0]['window_s']:g} s): scored as one window, "
                  "the clip repeated up to the window's length, and counted in the figures above:", ""]
        lines += [f"- {Path(c['file']).name} ({c['category']}, {c['duration_s']:.2f} s)" for c in rw["too_short"]]
    return lines
