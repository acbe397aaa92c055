"""``uwac bench infer`` numbers from the measured rows: rates, ratios against onnxruntime fp32, the split, goals.

Pipelines (:data:`PIPELINES`): (a) the exported ONNX file in onnxruntime, fp32 and its reduced-precision
variants (:data:`VARIANTS`: fp16 with an fp32 front-end, int8), (b) the checkpoint in PyTorch eager, (c) librosa
log-mel on the host and the torch network. The goals are for the fp32 model on one CPU core, and for int8
against it; fp16 is meant for GPU execution providers and has none. Issue 5's (:data:`GOALS`) hold for log-mel
models; a model family may set its own speed targets (:data:`MODEL_GOALS`, :func:`goal_set`).
"""

from __future__ import annotations

import numpy as np

GOALS = {  # issue 5: what the default fp32 CNN should reach on one core
    "x_real_time_per_core": 1800.0,  # one hour of 16 kHz audio in <= 2 s
    "p99_ms_batch1": 5.0,
    "speedup_vs_librosa_torch": 3.0,
    "int8_throughput_over_fp32": 1.5,
    "int8_size_over_fp32": 1.0 / 3.0,
    "throughput_batch": None,  # the throughput goal holds for the best fp32 row (None) or at this batch size
}
MODEL_GOALS = {  # model family (``uwac.model`` name) -> (issue, targets replacing GOALS')
    # the node scores the ear through its streaming pair (the throughput goal's first choice) when it has one
    "ear": ("issue 9", {"x_real_time_per_core": 1000.0, "p99_ms_batch1": 10.0, "throughput_batch": 1,
                        "throughput_pipelines": ("ort-stream", "ort-fp32")}),
}
PIPELINES = {  # key -> (label, family letter)
    "ort-fp32": ("onnxruntime fp32", "a"),
    "ort-fp16": ("onnxruntime fp16 (fp32 front-end)", "a"),
    "ort-int8": ("onnxruntime int8", "a"),
    "ort-stream": ("onnxruntime fp32 streaming graphs (each step's new signal samples and frames, then the head)",
                   "a"),
    "torch": ("PyTorch eager", "b"),
    "librosa-torch": ("host front-end (librosa log-mel, or the numpy physics reference) + torch network", "c"),
}
VARIANTS = ("fp16", "int8")  # variant files benchmarked beside fp32, as pipelines ``ort-<variant>``
REFERENCE = "ort-fp32"  # ratios and probability differences are taken against it
CPU_PROVIDER = "CPUExecutionProvider"


def pipeline_label(pipeline: str) -> str:
    """``(a) onnxruntime fp32``: a pipeline's family letter and name."""
    label, family = PIPELINES[pipeline]
    return f"({family}) {label}"


def goal_set(model_name: str | None) -> dict:
    """``{"source": "issue 5", "model": name, "targets": {...}}``: :data:`GOALS` with the family's own targets."""
    source, targets = MODEL_GOALS.get(model_name or "", ("issue 5", {}))
    return {"source": source, "model": model_name, "targets": {**GOALS, **targets}}


def summarise(params: dict, rows: list[dict], profiles: dict) -> dict:
    """Rows with derived rates, ratios against onnxruntime fp32, the split by branch and network, and the goals."""
    hop, threads = params["hop_seconds"], params["threads"]
    reference = {r["batch"]: r["probabilities"] for r in rows if r["pipeline"] == REFERENCE}
    for r in rows:
        if r["status"] != "ok":
            continue
        r["label"] = pipeline_label(r["pipeline"])
        row_hop = r.get("hop_seconds", hop)  # the streaming pair steps at its own hop
        r["x_real_time_per_core"] = r["windows_per_s"] * row_hop / threads
        r["hour_s"] = 3600.0 / (r["windows_per_s"] * row_hop)
        probs = r.pop("probabilities")  # the stream row scores other windows: it compares with the whole file itself
        r["max_abs_prob_diff_vs_ort_fp32"] = r.pop("max_abs_prob_diff_vs_whole", None) if "hop_seconds" in r else \
            float(np.abs(probs - reference[r["batch"]]).max())
        _attach_split(r, profiles)
    result = {"params": params, "rows": rows, "ratios": ratios(rows, params["batch"]), "profiles": profiles,
              "goal_set": goal_set(params.get("model_name"))}
    result["goals"] = goals(result)
    return result


def _attach_split(row: dict, profiles: dict) -> None:
    """Front-end, per-branch and network ms per window of a row: timed stages (torch rows) or the profile's shares
    of node kernel time (onnxruntime rows), applied to the row's mean ms per window."""
    if row.get("frontend_s") is not None:
        total = row["frontend_s"] + row["network_s"]
        share = row["frontend_s"] / total if total > 0 else float("nan")
        branch_share = {b: s / total if total > 0 else float("nan") for b, s in (row.get("branch_s") or {}).items()}
        source = "timed stages"
    else:
        prof = profiles.get(row["pipeline"], {}).get(str(row["batch"]))
        if not prof:
            return
        share, source = prof["frontend_share"], "onnxruntime profile"
        branch_share = prof.get("branch_share") or {}
    row["frontend_share"] = share
    row["frontend_ms"] = share * row["mean_ms"]
    row["network_ms"] = (1.0 - share) * row["mean_ms"]
    row["branch_ms"] = {b: s * row["mean_ms"] for b, s in branch_share.items()}
    row["split_source"] = source


def find_row(rows: list[dict], pipeline: str, batch: int) -> dict | None:
    """The measured (status ok) row of ``pipeline`` at ``batch``, or None."""
    return next((r for r in rows if r["pipeline"] == pipeline and r["batch"] == batch and r["status"] == "ok"), None)


def ratios(rows: list[dict], batch: int) -> dict:
    """Throughput quotients per batch size; each reads "how many times faster the first-named pipeline is".

    ``onnx_vs_torch`` = windows/s of (a) fp32 over (b) = time per window (b)/(a); ``onnx_vs_librosa_torch`` the
    same against (c); > 1: onnxruntime is faster. ``<variant>_vs_fp32`` (fp16, int8): the variant's windows/s
    over fp32's (> 1: the variant is faster); ``<variant>_size_over_fp32``: file size quotient.
    """
    out = {}
    for b in dict.fromkeys((1, batch)):
        a, tb, c = (find_row(rows, p, b) for p in (REFERENCE, "torch", "librosa-torch"))
        out[str(b)] = {
            "onnx_vs_torch": a["windows_per_s"] / tb["windows_per_s"] if a and tb else None,
            "onnx_vs_librosa_torch": a["windows_per_s"] / c["windows_per_s"] if a and c else None,
        }
        for variant in VARIANTS:
            q = find_row(rows, f"ort-{variant}", b)
            out[str(b)][f"{variant}_vs_fp32"] = q["windows_per_s"] / a["windows_per_s"] if a and q else None
            out[str(b)][f"{variant}_size_over_fp32"] = q["model_bytes"] / a["model_bytes"] if a and q else None
    return out


def ran_on(row: dict) -> str:
    """Where a measured row ran: its session's first execution provider (``CUDA``, ``CPU``), or ``torch CPU``."""
    providers = row.get("providers")
    if not providers:
        return "torch CPU"
    return providers[0].removesuffix("ExecutionProvider")


def goals(result: dict) -> list[dict]:
    """The goals of the model's family (``result["goal_set"]``, issue 5's by default) with the value reached and
    met (True/False; None when not measured)."""
    rows, batch, params = result["rows"], result["params"]["batch"], result["params"]
    target = (result.get("goal_set") or goal_set(None))["targets"]
    b1 = find_row(rows, REFERENCE, 1)
    rb = result["ratios"][str(batch)]
    gate = params.get("int8_gate")
    items = [
        _throughput_goal(rows, target),
        ("fp32 p99 latency per window at batch 1", f"<= {target['p99_ms_batch1']:g} ms", b1["p99_ms"],
         b1["p99_ms"] <= target["p99_ms_batch1"], " ms"),
        ("onnxruntime fp32 throughput over librosa + torch", f">= {target['speedup_vs_librosa_torch']:g}×",
         rb["onnx_vs_librosa_torch"], _ge(rb["onnx_vs_librosa_torch"], target["speedup_vs_librosa_torch"]),
         f"× (batch {batch})"),
        ("int8 throughput over fp32", f">= {target['int8_throughput_over_fp32']:g}×", rb["int8_vs_fp32"],
         _ge(rb["int8_vs_fp32"], target["int8_throughput_over_fp32"]), f"× (batch {batch})"),
        ("int8 file size over fp32", "<= 1/3", rb["int8_size_over_fp32"],
         None if rb["int8_size_over_fp32"] is None else rb["int8_size_over_fp32"] <= target["int8_size_over_fp32"],
         ""),
        ("int8 passes its quality gate against fp32", "gate status passed", gate,
         None if gate is None else gate == "passed", ""),
    ]
    if params["threads"] != 1:
        items = [(*it[:4], f"{it[4]} (measured with {params['threads']} threads; goals are for one)")
                 for it in items]
    accelerators = sorted({r["providers"][0] for r in rows if r["status"] == "ok" and r.get("providers")
                           and r["providers"][0] != CPU_PROVIDER})
    if accelerators:  # the speed goals (the first four) are for a CPU core
        items[:4] = [(*it[:4], f"{it[4]} (onnxruntime ran on {', '.join(accelerators)}; goals are for a CPU core)")
                     for it in items[:4]]
    return [{"goal": g, "target": t, "value": v, "met": m, "note": n} for g, t, v, m, n in items]


def _throughput_goal(rows: list[dict], target: dict) -> tuple:
    """(goal, target, value, met, note) of fp32 × real time per core: at ``throughput_batch``, or the best row."""
    x, at = target["x_real_time_per_core"], target.get("throughput_batch")
    where = f" at batch {at}" if at is not None else ""
    goal = f"fp32 scores 1 h of audio in <= {3600 / x:g} s on one core{where}"
    for pipeline in target.get("throughput_pipelines", (REFERENCE,)):  # the first one measured counts
        fp32 = [r for r in rows if r["pipeline"] == pipeline and r["status"] == "ok" and at in (None, r["batch"])]
        if fp32:
            best = max(fp32, key=lambda r: r["x_real_time_per_core"])
            return (goal, f">= {x:.0f}× real time per core", best["x_real_time_per_core"],
                    best["x_real_time_per_core"] >= x, f"× ({pipeline_label(pipeline)}, batch {best['batch']}: "
                    f"{3600 / best['x_real_time_per_core']:.2f} core-s per hour)")
    return goal, f">= {x:.0f}× real time per core", None, None, ""


def _ge(value: float | None, target: float) -> bool | None:
    return None if value is None else value >= target
