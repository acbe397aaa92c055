"""``uwac card``: a markdown model card from a model's own metadata and its evaluations (no torch).

Every fact about the model comes from the ONNX file's ``uwac.*`` metadata, and every figure from
``uwac evaluate`` outputs (``metrics.json``), so the card cannot drift from what ships; the physics heads'
test accuracy comes from the metadata when it carries it, else from the training run's ``metrics.json``
(``uwac card --run RUN``). Synthetic figures are named by what they count: audible windows (the strong
labels say the contact is heard) beside whole recordings (every window labelled with its recording's class),
at SNR ≥ 0 dB and over all SNRs, for the model and the baseline. Real-world figures (real hydrophone clips)
come with each goal's verdict, and the vessel-vs-not AUC beside the ``demon_lines`` physics floor.
"""

from __future__ import annotations

import json
from pathlib import Path

from uwac.acoustics.contract import load_session

INTENDED_USE = (
    "Classify what a single hydrophone hears, per {window}-s window and per recording, into ambient (the sea alone), "
    "merchant, warship or drone (unmanned surface or underwater vehicle, small fast craft), as a cue for a "
    "sonar analyst or a node's contact report. Not for targeting, not for identifying individual vessels, and "
    "not a detector of anything outside these four classes: other sounds should come out ambient or unknown."
)
KNOWN_LIMITS = (
    "Trained on physics-based renders (and, where listed, real ambient for mixing), not on labelled real vessel "
    "recordings: synthetic figures overstate real performance; read the real-world table.",
    "One hydrophone, no bearing: two contacts at once are scored as their mixture.",
    "Below about 0 dB broadband SNR, scores fall towards chance; see the SNR bands.",
    "Scores are gain-invariant by construction (per-window normalisation), so level alone carries no information.",
)
AUDIBLE = {"≥ 0 dB": "audible_snr_ge_0db", "all": "audible"}  # SNR → metrics.json block, audible windows
WHOLE = {"≥ 0 dB": "snr_ge_0db", "all": "all"}  # SNR → metrics.json block, whole recordings
VERDICTS = {True: "met", False: "**NOT met**", None: "not measured"}


def _f(x, pct: bool = False) -> str:
    if x is None:
        return "n/a"
    return f"{100 * x:.1f} %" if pct else f"{x:.3f}"


def _has_physics_output(session) -> bool:
    """True when the model file has the optional ``physics`` output."""
    return "physics" in [o.name for o in session.get_outputs()]


def card_markdown(model: str | Path, evaluations: list[dict], run_metrics: dict | None = None) -> str:
    """The card for ``model`` given the ``metrics.json`` dicts of its evaluations (synthetic and/or real) and,
    optionally, its training run's ``metrics.json`` (for the physics heads' test accuracy)."""
    session, info = load_session(model)
    tr, mdl, cal = info.training, info.model, info.calibration
    cfg = tr.get("config") or {}
    physics = _has_physics_output(session)
    lines = [f"# Model card: {Path(model).name}", "",
             f"uwac {info.version}, code {tr.get('code_version', 'unknown')}; model {mdl.get('name')} "
             f"({mdl.get('parameters', 0):,} parameters).", "",
             "## Intended use", "", INTENDED_USE.format(window=f"{info.window_seconds:g}"), "",
             "## Classes and contract", "",
             f"- classes: {', '.join(info.classes)}; below a top probability of {info.unknown_threshold:.3f} the "
             "label is `unknown`",
             f"- input `audio` float32 [batch, samples], mono full scale at {info.sample_rate} Hz; one decision per "
             f"{info.window_seconds:g} s window every {info.hop_seconds:g} s; outputs logits, probabilities, embedding"
             + (", physics (below)" if physics else ""),
             f"- front-end inside the graph: {json.dumps(info.frontend)}", ""]
    if physics:
        lines += physics_output_lines(info.physics)
    lines += ["## Training data", "",
              f"- config `{tr.get('config_name')}`, seed {tr.get('seed')}, best epoch {tr.get('epoch')}, split "
              f"protocol {tr.get('protocol') or 'unknown'}",
              f"- manifest SHA-256 `{tr.get('manifest_sha256')}`",
              f"- real ambient bank: {', '.join(cfg.get('data', {}).get('ambient_bank', [])) or 'none (synthetic ambient only)'}",
              f"- augmentation: {json.dumps(cfg.get('augment', {}))}",
              f"- validation macro-F1: {_f(tr.get('val_window_macro_f1'))} per window, "
              f"{_f(tr.get('val_recording_macro_f1'))} per recording", ""]
    lines += physics_heads_lines(*physics_test(info.training, run_metrics))
    if cal:
        lines += ["## Calibration", "",
                  f"- temperature {cal.get('temperature', 1.0):.3f} (inside the graph), fitted on "
                  f"{cal.get('val_windows')} validation windows; expected calibration error "
                  f"{_f(cal.get('val_ece_before'))} before, {_f(cal.get('val_ece_after'))} after",
                  f"- unknown threshold {info.unknown_threshold:.3f}: {cal.get('unknown_rule', '')}", ""]
    for ev in evaluations:
        lines += _evaluation_section(ev)
    lines += ["## Known limits", "", *[f"- {x}" for x in KNOWN_LIMITS]]
    real = [ev["real_world"] for ev in evaluations if ev.get("real_world")]
    for rw in real:
        missed = [g for g in real_world_goals(rw) if g["met"] is False]
        if missed:
            lines.append("- Real-world goals not met: " + "; ".join(
                f"{g['goal']} {g['reached']} (goal {g['target']})" for g in missed) + ".")
    if not real:
        lines.append("- No real-world check was run for this card.")
    return "\n".join(lines) + "\n"


def physics_output_lines(physics: dict) -> list[str]:
    """Card lines for the optional ``physics`` output: its fields in column order, with their meaning."""
    fields = physics.get("fields", [])
    out = ["## Physics output", "",
           f"`physics` float32 [batch, {len(fields)}]: per window, the physics heads' estimates in this column order "
           "(`uwac.physics`).", "", "| column | field | meaning |", "|---:|---|---|"]
    out += [f"| {i} | `{f}` | {physics.get(f, '')} |" for i, f in enumerate(fields)]
    note = physics.get("note")
    return out + (["", f"Note: {note}."] if note else []) + [""]


def physics_test(training: dict, run_metrics: dict | None) -> tuple[dict | None, str]:
    """(the physics heads' test figures, where they come from): the model's metadata first, else the run's
    ``metrics.json``; (None, "") when neither has them."""
    if training.get("physics_test"):
        return training["physics_test"], "the model's metadata (`uwac.training`)"
    if run_metrics and run_metrics.get("physics_test"):
        return run_metrics["physics_test"], "the training run's metrics.json"
    return None, ""


def physics_heads_lines(figures: dict | None, source: str) -> list[str]:
    """Card lines: each physics head's accuracy on the test split beside always guessing its most common target."""
    if not figures:
        return []
    out = ["## Physics heads on the test split", "",
           f"Accuracy on the test windows where the head's target is known (the contact audible), beside always "
           f"guessing the most common target; from {source}.", "",
           "| head | accuracy | most common target | windows |", "|---|---:|---:|---:|"]
    out += [f"| {name} | {_f(v.get('accuracy'))} | {_f(v.get('majority'))} | {v.get('windows', 'n/a')} |"
            for name, v in figures.items()]
    return out + [""]


def real_world_goals(rw: dict) -> list[dict]:
    """The real-world check's goals (``goal``, ``target``, ``reached``, ``met``: True, False or None when not
    measured): non-vessel clips called a vessel, merchant clips called merchant, and, where measured, the
    vessel-vs-not AUC against its goal and against the physics floor (``demon_lines`` alone)."""
    nv, m = rw["non_vessel"], rw["merchant"]
    goals = [{"goal": "real non-vessel clips called a vessel", "target": f"≤ {100 * nv['goal_max']:.0f} %",
              "reached": f"{_f(nv['share_called_vessel'], True)} ({nv.get('called_vessel', 0)} of {nv['clips']})",
              "met": nv.get("meets_goal")},
             {"goal": "real merchant clips called merchant", "target": f"≥ {100 * m['goal_min']:.0f} %",
              "reached": f"{_f(m['share_called_merchant'], True)} ({m['predicted'].get('merchant', 0)} of "
                         f"{m['clips']})", "met": m.get("meets_goal")}]
    v = rw.get("vessel_vs_not")
    if v:
        goals.append({"goal": "vessel vs not, ROC AUC over the clips", "target": f"≥ {v['goal_min']:.2f}",
                      "reached": f"{_f(v['auc'])} ({v['clips']} clips)", "met": v.get("meets_goal")})
        floor = v.get("physics_floor_auc", (rw.get("physics_floor") or {}).get("auc"))
        goals.append({"goal": "vessel vs not AUC at least the physics floor (demon_lines confidence alone)",
                      "target": f"≥ {_f(floor)}", "reached": _f(v["auc"]), "met": v.get("at_least_floor")})
    return goals


def _evaluation_section(ev: dict) -> list[str]:
    """Card lines for one ``uwac evaluate`` result: synthetic figures (audible windows and whole recordings, SNR
    bands and other conditions), or the real-world table with its goals."""
    protocol = ev.get("protocol") or {}
    where = f"; {protocol['title']}" if protocol.get("title") else ""
    warn = " — LEAKY split: figures are optimistic and not comparable" if protocol.get("leaky") else ""
    out = [f"## Evaluation: `{Path(ev['manifest']).name}`, split {ev['split']} ({ev['recordings']} recordings"
           f"{where}){warn}", ""]
    if ev.get("real_world"):
        return out + _real_world_lines(ev["real_world"])
    out += figures_table(ev)
    bands = (ev.get("snr_bands") or {}).get("recording", [])
    if bands:
        out += ["", "| SNR band | vessel recordings | recording macro-F1 |", "|---|---:|---:|"]
        out += [f"| {b['band']} | {b['vessel_items']} | {_f(b['macro_f1'])} |" for b in bands]
    return out + [""] + _conditions(ev)


def figures_table(ev: dict) -> list[str]:
    """Macro-F1 per window and per recording, audible windows beside whole recordings, at SNR ≥ 0 dB and over all
    SNRs, for the model and (when scored) the baseline; audible columns only when the evaluation had strong labels."""
    subsets = {"whole recording": WHOLE} if "audible" not in ev else {"audible windows": AUDIBLE,
                                                                    "whole recording": WHOLE}
    owners = ("model", "baseline") if ev.get("baseline") else ("model",)
    columns = [(f"{name}: {who}", keys, who == "baseline") for name, keys in subsets.items() for who in owners]
    out = [f"| level | SNR | {' | '.join(c[0] for c in columns)} |", "|---|---|" + "---:|" * len(columns)]
    for level in ("window", "recording"):
        out += [f"| {level} macro-F1 | {snr} | " + " | ".join(_macro_f1(_block(ev, keys[snr], base), level)
                                                             for _, keys, base in columns) + " |"
                for snr in ("≥ 0 dB", "all")]
    whole = "*Whole recording*: every window labelled with its recording's class, audible or not."
    if "audible" in ev:
        rule = ev.get("audible_rule") or "vessel windows whose contact the strong labels call audible"
        return [f"Macro-F1 on this split. *Audible windows*: {rule}. {whole}", "", *out]
    return [f"Macro-F1 on this split. {whole} Audible-window figures: not measured (no strong labels, "
            "`events.csv`, beside the manifest).", "", *out]


def _block(ev: dict, key: str, baseline: bool) -> dict | None:
    """The model's figure block ``key`` of an evaluation, or the baseline's (whose whole-recording, all-SNR figures
    are its top level)."""
    if not baseline:
        return ev.get(key)
    base = ev.get("baseline") or {}
    return base if key == "all" else base.get(key)


def _macro_f1(block: dict | None, level: str) -> str:
    """A figure block's macro-F1 at ``level`` (window or recording), ``–`` when it was not measured."""
    if not block or not block.get(level):
        return "–"
    return _f(block[level]["macro_f1"])


def _real_world_lines(rw: dict) -> list[str]:
    """Card lines for the real-world check: clips called a vessel per category, then each goal and its verdict."""
    out = ["Real hydrophone clips never trained on. A clip is called a vessel when its mean probability's top "
           "class is merchant, warship or drone and above the unknown threshold.", "",
           "| category | clips | called vessel | called unknown |", "|---|---:|---:|---:|"]
    out += [f"| {c} | {v['clips']} | {_f(v['share_called_vessel'], True)} | {v.get('called_unknown', 0)} |"
            for c, v in rw["by_category"].items() if v["clips"]]
    m = rw["merchant"]
    out += ["", "| goal | target | reached | verdict |", "|---|---|---|---|"]
    out += [f"| {g['goal']} | {g['target']} | {g['reached']} | {VERDICTS[g['met']]} |" for g in real_world_goals(rw)]
    out += ["", "- given to the real merchant clips: "
            + (", ".join(f"{k} {n}" for k, n in m["predicted"].items() if n) or "none")]
    if rw.get("vessel_vs_not"):
        out.append(f"- vessel-vs-not score: {rw['vessel_vs_not'].get('score', '1 − p(ambient)')}; the physics floor "
                   "scores the same clips by `demon_lines` confidence alone, with no training: a model below it has "
                   "learnt nothing the physics did not already give")
    return out + [""]


def _conditions(ev: dict) -> list[str]:
    """Card lines for the other conditions ``uwac evaluate`` measured: range, sea state, fine type, calibration on
    the evaluated split, ROC/PR, open-set behaviour (each only when present)."""
    out = []
    rng = (ev.get("range_bands") or {}).get("recording", [])
    if rng:
        out += ["| range (CPA) | vessel recordings | recording macro-F1 |", "|---|---:|---:|"]
        out += [f"| {b['band']} | {b['vessel_items']} | {_f(b['macro_f1'])} |" for b in rng if b.get("vessel_items")]
        out.append("")
    sea = (ev.get("sea_state") or {}).get("recording", [])
    if sea:
        out += ["| sea state | recordings | accuracy | macro-F1 |", "|---|---:|---:|---:|"]
        out += [f"| {b['value']} | {b['items']} | {_f(b['accuracy'])} | {_f(b['macro_f1'])} |" for b in sea]
        out.append("")
    fine = (ev.get("fine_type") or {}).get("recording", [])
    if fine:
        out += ["| fine type | class | recordings | recall |", "|---|---|---:|---:|"]
        out += [f"| {b['fine_label']} | {b['label']} | {b['items']} | {_f(b['recall'])} |" for b in fine]
        out.append("")
    cal, roc = ev.get("calibration") or {}, ev.get("roc_pr") or {}
    facts = []
    if cal.get("ece") is not None:
        facts.append(f"expected calibration error {_f(cal['ece'])} over {cal.get('windows')} windows")
    if roc.get("macro_roc_auc") is not None:
        facts.append(f"one-vs-rest ROC AUC {_f(roc['macro_roc_auc'])} and average precision "
                     f"{_f(roc.get('macro_average_precision'))} (means over classes)")
    if facts:
        out += ["- " + "; ".join(facts), ""]
    open_set = ev.get("open_set")
    if open_set and open_set["window"]["n_held_out"]:
        held = open_set["window"]["held_out"]
        out += [f"- open set ({', '.join(open_set['held_out'])} held out of training): held-out windows called "
                f"unknown {_f(held['unknown'], True)}, ambient {_f(held['ambient'], True)}, their class "
                f"{_f(held['true_class'], True)}, a wrong vessel class {_f(held['wrong_vessel'], True)}; AUROC "
                f"{_f(open_set['window']['auroc'])}", ""]
    return out


def write_card(*, model: str | Path, evaluations: list[str | Path], out: str | Path,
               run: str | Path | None = None) -> Path:
    """Write the card for ``model`` from evaluation folders (or their ``metrics.json``) to ``out``; ``run``: the
    training run folder (or its ``metrics.json``) the model was exported from, for the physics heads' figures."""
    loaded = []
    for ev in evaluations:
        path = Path(ev)
        path = path / "metrics.json" if path.is_dir() else path
        if not path.is_file():
            raise FileNotFoundError(f"evaluation {path} not found; run `uwac evaluate MODEL --manifest M --out DIR` first")
        loaded.append(json.loads(path.read_text()))
    run_metrics = read_run_metrics(run, model) if run is not None else None
    out = Path(out)
    out.write_text(card_markdown(model, loaded, run_metrics))
    return out


def read_run_metrics(run: str | Path, model: str | Path) -> dict:
    """A training run's ``metrics.json`` (``run`` is the folder or the file), refused when the run trained on
    another manifest than ``model``'s metadata names (its figures would describe another model)."""
    path = Path(run)
    path = path / "metrics.json" if path.is_dir() else path
    if not path.is_file():
        raise FileNotFoundError(f"run metrics {path} not found; `uwac train` writes RUN/metrics.json")
    metrics = json.loads(path.read_text())
    _, info = load_session(model)
    mine, theirs = info.training.get("manifest_sha256"), metrics.get("manifest_sha256")
    if mine and theirs and mine != theirs:
        raise ValueError(f"run {path.parent} trained on another manifest (SHA-256 {theirs[:12]}…) than {model} "
                         f"({mine[:12]}…); pass the run the model was exported from")
    return metrics
