"""``report.html`` of ``uwac evaluate``: one self-contained page (inline CSS, PNGs as base64 data URIs, tables).

The split protocol is in the ``<title>`` and the ``<h1>``; for a leaky split, every headline figure carries the
warning on its own line of the page (the same HTML element and the same source line), so it cannot be quoted
bare. Sections appear when their data exist: headline, per class, confusion, by SNR / range / sea state /
fine type, calibration, ROC/PR, event-level detection, real world, baseline, skipped spans.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:1.5em auto;padding:0 1em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.8em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}th,td{border:1px solid #ccc;padding:.25em .6em}
th{background:#f2f2f2}td.n{text-align:right;font-variant-numeric:tabular-nums}
.headline{font-size:1.1em;font-weight:600}.warn{color:#b00;font-weight:700}
.banner{background:#fde8e8;border:2px solid #b00;padding:.6em;margin:.8em 0}
.note{color:#555;font-size:.9em}img{max-width:100%;margin:.4em .4em .4em 0;border:1px solid #eee}"""


LEAKY_WARNING = "WARNING: LEAKY split, recordings the model may have trained on; not comparable"


def headline_warning(protocol: dict) -> str:
    """The suffix every headline figure carries on its line: the leaky warning, or nothing."""
    return f" — {LEAKY_WARNING}" if protocol.get("leaky") else ""


def _e(x) -> str:
    return html.escape(str(x))


def _f(x, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _table(header: list[str], rows: list[list], numeric_from: int = 1) -> str:
    """An HTML table; cells from column ``numeric_from`` on are right-aligned."""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td{' class=n' if j >= numeric_from else ''}>{_e(c)}</td>"
                                    for j, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _img(out: Path, name: str, alt: str) -> str:
    """The PNG ``out/name`` as an ``<img>`` with a base64 data URI ('' when the file is absent)."""
    path = out / name
    if not path.is_file():
        return ""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _headline(result: dict, warn: str) -> list[str]:
    """Headline lines: macro-F1 and accuracy, each with the leaky warning on the same line when there is one."""
    a = result["all"]
    w, r = a["window"], a["recording"]
    out = [f'<p class="headline">Macro-F1 {_f(w["macro_f1"])} per window, {_f(r["macro_f1"])} per recording; '
           f'accuracy {_f(w["accuracy"])} per window, {_f(r["accuracy"])} per recording '
           f'({result["recordings"]} recordings, {result["windows"]} windows){warn}</p>']
    hi = result.get("snr_ge_0db") or {}
    if hi.get("window") and hi.get("recording"):
        out.append(f'<p class="headline">Vessels at SNR ≥ 0 dB (with all ambient): macro-F1 '
                   f'{_f(hi["window"]["macro_f1"])} per window, {_f(hi["recording"]["macro_f1"])} per recording{warn}</p>')
    ev = result.get("events")
    if ev:
        out.append(f'<p class="headline">Event-level detection F1 {_f(ev["micro"]["f1"])} '
                   f'({ev["true_events"]} true events, {ev["predicted_events"]} predicted){warn}</p>')
    return out


def _per_class(result: dict) -> list[str]:
    out = ["<h2>Per class</h2>"]
    for level in ("window", "recording"):
        m = result["all"][level]
        if m:
            out.append(f"<h3>{level} level</h3>")
            out.append(_table(["class", "precision", "recall", "F1", "support"],
                              [[c, _f(v["precision"]), _f(v["recall"]), _f(v["f1"]), v["support"]]
                               for c, v in m["per_class"].items()]))
    return out


def _bands(result: dict, key: str, field: str, heading: str, note: str, out: Path, extra_img: str = "") -> list[str]:
    """A section of macro-F1/accuracy per band or value at both levels, with its PNG."""
    data = result.get(key)
    if not data:
        return []
    levels = [lvl for lvl in ("window", "recording") if data.get(lvl)]
    n_key = "vessel_items" if field == "band" else "items"
    rows = []
    for i, b in enumerate(data[levels[0]]):
        cells = [b[field]]
        for lvl in levels:
            x = data[lvl][i]
            cells += [x[n_key], _f(x["accuracy"]), _f(x["macro_f1"])]
        rows.append(cells)
    header = [field if field != "value" else key.replace("_", " ")]
    for lvl in levels:
        header += [f"{lvl}s" if field == "value" else f"vessel {lvl}s", f"{lvl} accuracy", f"{lvl} macro-F1"]
    return [f"<h2>{_e(heading)}</h2>", f'<p class="note">{_e(note)}</p>', _table(header, rows),
            _img(out, f"{key}.png", heading), extra_img]


def _fine_type(result: dict, classes: list[str], out: Path) -> list[str]:
    data = result.get("fine_type")
    if not data:
        return []
    sec = ["<h2>By fine type</h2>", '<p class="note">A fine type belongs to one class: recall is the share of its '
           "items given that class; the other columns say where the rest went.</p>"]
    for level in ("window", "recording"):
        if data.get(level):
            sec.append(f"<h3>{level} level</h3>")
            sec.append(_table(["fine type", "class", "items", "recall", *[f"called {c}" for c in classes]],
                              [[t["fine_label"], t["label"], t["items"], _f(t["recall"]),
                                *[t["predicted"][c] for c in classes]] for t in data[level]], numeric_from=2))
    sec.append(_img(out, "fine_type.png", "fine types"))
    return sec


def _calibration(result: dict, out: Path) -> list[str]:
    cal = result.get("calibration")
    if not cal:
        return []
    m = cal["model"]
    lines = [f"Expected calibration error on these {cal['windows']} windows: <b>{_f(cal['ece'])}</b> "
             f"({cal['n_bins']} equal-width confidence bins)"]
    if cal.get("ece_without_temperature") is not None:
        lines.append(f"Without the model's temperature (probabilities re-sharpened by T): {_f(cal['ece_without_temperature'])}")
    if m.get("temperature") is not None:
        lines.append(f"Model metadata: temperature {_f(m['temperature'])} fitted on {m.get('val_windows')} validation "
                     f"windows (inside the graph); validation ECE {_f(m.get('val_ece_before'))} before, "
                     f"{_f(m.get('val_ece_after'))} after")
    else:
        lines.append("Model metadata: no temperature scaling stored")
    if m.get("unknown_threshold") is not None:
        lines.append(f"Unknown threshold {_f(m['unknown_threshold'])}: {_e(m.get('unknown_rule') or '')}")
    return ["<h2>Calibration</h2>", "<ul>" + "".join(f"<li>{x}</li>" for x in lines) + "</ul>",
            _img(out, "reliability.png", "reliability diagram")]


def _roc(result: dict, out: Path) -> list[str]:
    roc = result.get("roc_pr")
    if not roc:
        return []
    rows = [[c, v["positives"], v["negatives"], _f(v["roc_auc"]), _f(v["average_precision"])]
            for c, v in roc["per_class"].items()]
    rows.append(["mean over classes", "", "", _f(roc["macro_roc_auc"]), _f(roc["macro_average_precision"])])
    return ["<h2>ROC and precision-recall (one-vs-rest, windows)</h2>",
            _table(["class", "positive windows", "negative windows", "ROC AUC", "average precision"], rows),
            _img(out, "roc.png", "ROC curves") + _img(out, "pr.png", "precision-recall curves")]


def _events(result: dict, warn: str) -> list[str]:
    ev = result.get("events")
    if not ev:
        return []
    rows = [[c, v["true_events"], v["predicted_events"], v["tp"], v["fp"], v["fn"], _f(v["precision"]),
             _f(v["recall"]), _f(v["f1"])] for c, v in ev["per_class"].items()]
    mi, on = ev["micro"], ev["onset_only"]["micro"]
    rows.append(["all (micro)", ev["true_events"], ev["predicted_events"], mi["tp"], mi["fp"], mi["fn"],
                 _f(mi["precision"]), _f(mi["recall"]), _f(mi["f1"])])
    rows.append(["all, onset only", ev["true_events"], ev["predicted_events"], on["tp"], on["fp"], on["fn"],
                 _f(on["precision"]), _f(on["recall"]), _f(on["f1"])])
    ct = ev.get("contacts")
    if ct:
        cm = ct["micro"]
        rows.append(["all, daemon contacts", ev["true_events"], ct["predicted_events"], cm["tp"], cm["fp"], cm["fn"],
                     _f(cm["precision"]), _f(cm["recall"]), _f(cm["f1"])])
    notes = "".join(f"<li>{_e(n)}</li>" for n in ev.get("notes", [])[:20])
    return ["<h2>Event-level detection (strong labels)</h2>",
            f'<p class="note">True events from {_e(ev["events_file"])}: {ev["true_spans"]} contact spans over '
            f'{ev["recordings"]} recordings, {ev["true_events"]} after merging same-class overlaps. Segments: '
            f'{_e(ev["segment_rule"])}. Match: {_e(ev["match_rule"])}; onset tolerance {ev["onset_tolerance_s"]:g} s, '
            f'offset tolerance max({ev["offset_tolerance_s"]:g} s, {100 * ev["offset_tolerance_fraction"]:.0f} % of the '
            "true duration). Predicted segments with their match flag: events_predicted.csv. The last row scores "
            "the contacts the streaming daemon would report (its tracker over the same windows).</p>",
            _table(["class", "true", "predicted", "TP", "FP", "FN", "precision", "recall", "F1"], rows),
            f"<p>Macro-F1 over classes with true events: {_f(ev['macro_f1'])}{warn}</p>",
            f"<ul>{notes}</ul>" if notes else ""]


def _open_set(result: dict) -> list[str]:
    """Held-out fine types: shares called unknown / ambient / their class / a wrong vessel class, and AUROC."""
    os_ = result.get("open_set")
    if not os_:
        return []
    win = os_["window"]
    out = ["<h2>Open set: fine types held out of training</h2>",
           f"<p class=\"note\">Held out of training, validation and calibration: {_e(', '.join(os_['held_out']))}; "
           f"<code>unknown</code> below a top probability of {_f(os_['unknown_threshold'])}.</p>"]
    if not win["n_held_out"]:
        return [*out, "<p>No windows of the held-out types in this data.</p>"]
    rows = []
    for key, name in (("held_out", "held-out types"), ("seen_same_class", "seen types, same classes"),
                      ("seen", "all seen types")):
        sh = win.get(key) or {}
        rows.append([name, sh.get("n"), *(_f(sh.get(k)) for k in ("unknown", "ambient", "true_class",
                                                                    "wrong_vessel"))])
    out.append(_table(["windows", "n", "unknown", "ambient", "their class", "wrong vessel class"], rows))
    out.append(f"<p>AUROC of 1 − max probability, held-out against seen windows: {_f(win.get('auroc'))} "
               f"(same classes only: {_f(win.get('auroc_same_class'))}); at the threshold "
               f"{_f(win.get('tpr_at_threshold'))} of held-out and {_f(win.get('fpr_at_threshold'))} of seen windows "
               "are <code>unknown</code>.</p>")
    return out


def _real_world(result: dict) -> list[str]:
    rw = result.get("real_world")
    if not rw:
        return []
    nv, m = rw["non_vessel"], rw["merchant"]

    def pct(x):
        return "n/a" if x is None else f"{100 * x:.1f} %"

    rows = [[c, v["clips"], v["called_vessel"], v.get("called_unknown", 0), pct(v["share_called_vessel"])]
            for c, v in rw["by_category"].items()]
    return ["<h2>Real-world check (real hydrophone clips)</h2>",
            _table(["category", "clips", "called vessel", "called unknown", "share called vessel"], rows),
            f"<ul><li>non-vessel clips called a vessel: {nv['called_vessel']} of {nv['clips']} = "
            f"<b>{pct(nv['share_called_vessel'])}</b> (goal ≤ {100 * nv['goal_max']:.0f} %)</li>"
            f"<li>real merchant clips called merchant: {m['predicted'].get('merchant', 0)} of {m['clips']} = "
            f"<b>{pct(m['share_called_merchant'])}</b> (goal ≥ {100 * m['goal_min']:.0f} %)</li></ul>",
            _table(["file", "category", "predicted", "top probability"],
                   [[Path(c["file"]).name, c["category"], c["predicted"], _f(c["top_probability"])]
                    for c in rw["clips"]], numeric_from=3)]


def _baseline(result: dict) -> list[str]:
    base = result.get("baseline") or {}
    if not base:
        return []
    rows = [[lvl, _f(base[lvl]["accuracy"]), _f(base[lvl]["macro_f1"]), _f(result["all"][lvl]["macro_f1"]),
             base[lvl]["n"]] for lvl in ("window", "recording") if base.get(lvl)]
    sec = ["<h2>Baseline (scikit-learn on hand-made features, same rows)</h2>",
           _table(["level", "baseline accuracy", "baseline macro-F1", "model macro-F1", "n"], rows)]
    bands = base.get("snr_bands")
    if bands and result.get("snr_bands"):
        sec.append(_table(["SNR band", "baseline recording macro-F1", "model recording macro-F1"],
                          [[b["band"], _f(b["macro_f1"]), _f(result["snr_bands"]["recording"][i]["macro_f1"])]
                           for i, b in enumerate(bands["recording"])]))
    return sec


def render_html(result: dict, out: str | Path) -> str:
    """The page for one ``metrics.json`` dict, embedding the PNGs found in folder ``out``."""
    out = Path(out)
    protocol = result.get("protocol") or {"code": "?", "title": "protocol not recorded", "reason": ""}
    warn = headline_warning(protocol)
    warn_html = f'<span class="warn">{_e(warn)}</span>' if warn else ""
    classes = result["classes"]
    title = f"uwac evaluation: {Path(result['model']).name} on {protocol['title']}"
    body = [f"<h1>{_e(title)}</h1>"]
    if protocol.get("leaky"):
        body.append(f'<div class="banner warn">{_e(protocol["title"])}: {_e(protocol["reason"])}. Every figure '
                    "below is optimistic and not comparable with held-out results.</div>")
    body += [f'<p class="note">Model {_e(result["model"])}; manifest {_e(result["manifest"])}, split '
             f'<code>{_e(result["split"])}</code>; protocol {_e(protocol["code"])}: {_e(protocol.get("reason", ""))}; '
             f'{len(result["skipped"])} span(s) skipped.</p>',
             "<h2>Headline</h2>", *_headline(result, warn_html)]
    body += _per_class(result)
    body += ["<h2>Confusion</h2>", _img(out, "confusion_window.png", "window confusion")
             + _img(out, "confusion_recording.png", "recording confusion")]
    snr_note = "Vessel items in the band plus every ambient item (ambient has no SNR)."
    body += _bands(result, "snr_bands", "band", "By SNR band", snr_note, out,
                   _img(out, "accuracy_vs_snr.png", "accuracy against SNR"))
    body += _bands(result, "range_bands", "band", "By range (horizontal CPA distance)",
                   "Vessel items in the band plus every ambient item (ambient has no range).", out)
    body += _bands(result, "sea_state", "value", "By sea state", "Each sea state on its own items, ambient included.", out)
    body += _fine_type(result, classes, out)
    body += _calibration(result, out)
    body += _roc(result, out)
    body += _open_set(result)
    body += _events(result, warn_html)
    body += _real_world(result)
    body += _baseline(result)
    if result["skipped"]:
        body += ["<h2>Skipped spans</h2>", "<ul>" + "".join(f"<li>{_e(s)}</li>" for s in result["skipped"][:50])
                 + (f"<li>… {len(result['skipped']) - 50} more</li>" if len(result["skipped"]) > 50 else "") + "</ul>"]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
            f"<title>{_e(title)}</title>\n<style>{CSS}</style></head><body>\n"
            + "\n".join(b for b in body if b) + "\n</body></html>\n")


def write_html(result: dict, out: str | Path) -> Path:
    """Write ``report.html`` into folder ``out`` (where the evaluation's PNGs are); returns its path."""
    path = Path(out) / "report.html"
    path.write_text(render_html(result, out), encoding="utf-8")
    return path
