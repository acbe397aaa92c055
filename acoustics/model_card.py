"""``uwac card``: a markdown model card from a model's own metadata and its evaluations (no torch).

Every fact about the model comes from the ONNX file's ``uwac.*`` metadata, and every figure from
``uwac evaluate`` outputs (``metrics.json``), so the card cannot drift from what ships. Real-world
figures (real hydrophone clips) are printed next to the synthetic ones, with the goals beside them.
"""

from __future__ import annotations

import json
from pathlib import Path

from acoustics.contract import load_session

INTENDED_USE = (
    "Classify what a single hydrophone hears, per 3-s window and per recording, into ambient (the sea alone), "
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


def _f(x, pct: bool = False) -> str:
    if x is None:
        return "n/a"
    return f"{100 * x:.1f} %" if pct else f"{x:.3f}"


def card_markdown(model: str | Path, evaluations: list[dict]) -> str:
    """The card for ``model`` given the ``metrics.json`` dicts of its evaluations (synthetic and/or real)."""
    _, info = load_session(model)
    tr, mdl, cal = info.training, info.model, info.calibration
    cfg = tr.get("config") or {}
    lines = [f"# Model card: {Path(model).name}", "",
             f"uwac {info.version}, code {tr.get('code_version', 'unknown')}; model {mdl.get('name')} "
             f"({mdl.get('parameters', 0):,} parameters).", "",
             "## Intended use", "", INTENDED_USE, "",
             "## Classes and contract", "",
             f"- classes: {', '.join(info.classes)}; below a top probability of {info.unknown_threshold:.3f} the "
             "label is `unknown`",
             f"- input `audio` float32 [batch, samples], mono full scale at {info.sample_rate} Hz; one decision per "
             f"{info.window_seconds:g} s window every {info.hop_seconds:g} s; outputs logits, probabilities, embedding",
             f"- front-end inside the graph: {json.dumps(info.frontend)}", "",
             "## Training data", "",
             f"- config `{tr.get('config_name')}`, seed {tr.get('seed')}, best epoch {tr.get('epoch')}, split "
             f"protocol {tr.get('protocol') or 'unknown'}",
             f"- manifest SHA-256 `{tr.get('manifest_sha256')}`",
             f"- real ambient bank: {', '.join(cfg.get('data', {}).get('ambient_bank', [])) or 'none (synthetic ambient only)'}",
             f"- augmentation: {json.dumps(cfg.get('augment', {}))}",
             f"- validation macro-F1: {_f(tr.get('val_window_macro_f1'))} per window, "
             f"{_f(tr.get('val_recording_macro_f1'))} per recording", ""]
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
        nv, m = rw["non_vessel"], rw["merchant"]
        if nv.get("meets_goal") is False or m.get("meets_goal") is False:
            lines.append(f"- Real-world goals not met: {_f(nv['share_called_vessel'], True)} of real non-vessel clips "
                         f"called a vessel (goal ≤ {100 * nv['goal_max']:.0f} %), {_f(m['share_called_merchant'], True)} "
                         f"of real merchant clips called merchant (goal ≥ {100 * m['goal_min']:.0f} %).")
    if not real:
        lines.append("- No real-world check was run for this card.")
    return "\n".join(lines) + "\n"


def _evaluation_section(ev: dict) -> list[str]:
    """Card lines for one ``uwac evaluate`` result: synthetic scores by SNR band, or the real-world table."""
    protocol = ev.get("protocol") or {}
    where = f"; {protocol['title']}" if protocol.get("title") else ""
    warn = " — LEAKY split: figures are optimistic and not comparable" if protocol.get("leaky") else ""
    out = [f"## Evaluation: `{Path(ev['manifest']).name}`, split {ev['split']} ({ev['recordings']} recordings"
           f"{where}){warn}", ""]
    if ev.get("real_world"):
        rw = ev["real_world"]
        out += ["Real hydrophone clips never trained on. A clip is called a vessel when its mean probability's top "
                "class is merchant, warship or drone and above the unknown threshold.", "",
                "| category | clips | called vessel | called unknown |", "|---|---:|---:|---:|"]
        out += [f"| {c} | {v['clips']} | {_f(v['share_called_vessel'], True)} | {v.get('called_unknown', 0)} |"
                for c, v in rw["by_category"].items() if v["clips"]]
        nv, m = rw["non_vessel"], rw["merchant"]
        out += ["", f"- non-vessel clips called a vessel: **{_f(nv['share_called_vessel'], True)}** "
                f"(goal ≤ {100 * nv['goal_max']:.0f} %)",
                f"- real merchant clips called merchant: **{_f(m['share_called_merchant'], True)}** "
                f"(goal ≥ {100 * m['goal_min']:.0f} %); given: "
                + ", ".join(f"{k} {n}" for k, n in m["predicted"].items() if n), ""]
        return out
    all_, hi = ev["all"], ev.get("snr_ge_0db") or {}
    out += ["| subset | window macro-F1 | recording macro-F1 |", "|---|---:|---:|",
            f"| all | {_f(all_['window']['macro_f1'])} | {_f(all_['recording']['macro_f1'])} |"]
    if hi.get("window"):
        out.append(f"| SNR ≥ 0 dB | {_f(hi['window']['macro_f1'])} | {_f(hi['recording']['macro_f1'])} |")
    base = ev.get("baseline") or {}
    if base:
        out.append(f"| baseline (hand-made features), all | {_f(base['window']['macro_f1'])} | "
                   f"{_f(base['recording']['macro_f1'])} |")
    bands = (ev.get("snr_bands") or {}).get("recording", [])
    if bands:
        out += ["", "| SNR band | vessel recordings | recording macro-F1 |", "|---|---:|---:|"]
        out += [f"| {b['band']} | {b['vessel_items']} | {_f(b['macro_f1'])} |" for b in bands]
    return out + [""] + _conditions(ev)


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


def write_card(*, model: str | Path, evaluations: list[str | Path], out: str | Path) -> Path:
    """Write the card for ``model`` from evaluation folders (or their ``metrics.json``) to ``out``."""
    loaded = []
    for ev in evaluations:
        path = Path(ev)
        path = path / "metrics.json" if path.is_dir() else path
        if not path.is_file():
            raise FileNotFoundError(f"evaluation {path} not found; run `uwac evaluate MODEL --manifest M --out DIR` first")
        loaded.append(json.loads(path.read_text()))
    out = Path(out)
    out.write_text(card_markdown(model, loaded))
    return out
