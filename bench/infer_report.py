"""``uwac bench infer`` reports: ``bench_infer.md`` (tables), ``bench_infer.png`` (three panels), ``bench_infer.json``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from uwac.bench.infer_summary import VARIANTS, goal_set, pipeline_label, ran_on

PARITY_WARN = 1e-3  # max |Δprobability| of torch vs onnxruntime fp32 above which the report warns of a mismatch
VARIANT_NOTES = {  # what each variant is for, after its "found beside / not given" line
    "fp16": "Its network runs in fp16, its front-end in fp32. It is meant for GPU execution providers (CUDA, "
            "TensorRT) and has no CPU goal: the CPU provider wraps the fp16 kernels it lacks in casts",
    "int8": "",
}


def write_report(result: dict, out: Path) -> None:
    """``bench_infer.json``, ``bench_infer.md`` and ``bench_infer.png`` into ``out``."""
    (out / "bench_infer.json").write_text(json.dumps(result, indent=2, default=float))
    (out / "bench_infer.md").write_text(render_markdown(result))
    plot(result, out / "bench_infer.png")


def _fmt(value, spec: str = ".2f", missing: str = "–") -> str:
    return missing if value is None else format(value, spec)


def _size(n: int | None) -> str:
    return "–" if n is None else f"{n / 2**20:.2f} MiB"


def render_markdown(result: dict) -> str:
    """The benchmark as markdown: rows, ratios, where the time goes, goals and the parameters."""
    p = result["params"]
    requested = p.get("providers") or "cpu"
    lines = [f"# Inference speed: {p['model']}, {p['seconds']:g} s of {p['sample_rate']} Hz audio "
             f"({p['windows']} windows of {p['window_seconds']:g} s every {p['hop_seconds']:g} s), "
             f"{p['threads']} thread(s)", "",
             f"{p['cpu']}, {p['logical_cores']} logical cores, load average {_fmt(p['load_average_1min'])} at start; "
             f"{p['repeats']} timed pass(es); each row in a fresh process. onnxruntime "
             f"{p.get('onnxruntime', '?')}, providers asked for: {requested} (this build offers "
             f"{', '.join(p.get('available_providers') or ['?'])}).", "",
             *([f"The streaming row scores windows {p['stream_step_samples'] / p['sample_rate']:g} s apart, each "
                "from the signals and frames kept since the window before (batch = channels stepped together; its "
                "probability difference is against the whole file on the same windows).", ""]
               if p.get("stream") else []),
             "| pipeline | batch | ran on | p50 ms/window | p99 ms/window | windows/s | × real time per core "
             "| 1 h audio, s | cold start, s | peak RSS, MiB | model size | max \\|Δp\\| vs (a) fp32 |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in result["rows"]:
        if r["status"] != "ok":
            lines.append(f"| {pipeline_label(r['pipeline'])} | {r['batch']} | {r['status']} |" + "  |" * 9)
            continue
        lines.append(f"| {r['label']} | {r['batch']} | {ran_on(r)} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
                     f"{r['windows_per_s']:.0f} | {r['x_real_time_per_core']:.0f}× | {r['hour_s']:.2f} | "
                     f"{r['cold_start_s']:.2f} | {r['peak_rss_mib']:.0f} | {_size(r['model_bytes'])} | "
                     f"{r['max_abs_prob_diff_vs_ort_fp32']:.1e} |")
    lines += ["", "Ran on: the first execution provider of the onnxruntime session (`session.get_providers()`; "
              "CPU where the one asked for is missing from this build).", "",
              "Ratios of throughput at the same batch size (time per window of the other pipeline over "
              "onnxruntime fp32; **> 1 means ONNX is faster**):", "",
              "| ratio | " + " | ".join(f"batch {b}" for b in result["ratios"]) + " |",
              "|---|" + "---:|" * len(result["ratios"])]
    names = {"onnx_vs_torch": "(b) torch eager / (a) onnxruntime fp32",
             "onnx_vs_librosa_torch": "(c) librosa + torch / (a) onnxruntime fp32"}
    for variant in VARIANTS:
        names[f"{variant}_vs_fp32"] = f"{variant} throughput / fp32 throughput (> 1: {variant} faster)"
        names[f"{variant}_size_over_fp32"] = f"{variant} file size / fp32 file size"
    for key, name in names.items():
        lines.append(f"| {name} | " + " | ".join(_fmt(v.get(key), ".2f") + ("" if v.get(key) is None else "×")
                                               for v in result["ratios"].values()) + " |")
    worst = max((r["max_abs_prob_diff_vs_ort_fp32"] for r in result["rows"]
                 if r["status"] == "ok" and r["pipeline"] in ("torch", "librosa-torch")), default=0.0)
    if worst > PARITY_WARN:
        lines += ["", f"**Warning**: torch and onnxruntime fp32 probabilities differ by up to {worst:.3f} on the same "
                  "windows: was the ONNX file exported from this run?"]
    lines += ["", *_split_lines(result), "", *_goal_lines(result), "", *_variant_lines(p), ""]
    return "\n".join(lines)


def _variant_lines(params: dict) -> list[str]:
    """One line per variant: how its file was found, its quality gate, what it is for."""
    lines = []
    for variant in VARIANTS:
        note = params.get(f"{variant}_note")
        if note is None:  # a result written before this variant was benchmarked
            continue
        line = f"{variant}: {note}" + (f"; gate: {params[f'{variant}_gate']}" if params.get(variant) else "")
        lines += [line + (f". {VARIANT_NOTES[variant]}." if VARIANT_NOTES.get(variant) else ""), ""]
    return lines[:-1]


BRANCH_NAMES = {"mel": "log-mel", "lofar": "LOFAR", "demon": "DEMON", "shared": "front-end shared"}
BRANCH_COLOURS = {"mel": "tab:orange", "lofar": "tab:purple", "demon": "tab:red", "shared": "tab:gray"}


def branch_order(result: dict) -> list[str]:
    """The front-end parts the rows split into: the model's branches in their order, then ``shared`` if measured."""
    found = [b for r in result["rows"] for b in (r.get("branch_ms") or {})]
    order = [*result["params"].get("branches", ["mel"]), *dict.fromkeys(found)]
    return [b for b in dict.fromkeys(order) if b in found]


def _split_lines(result: dict) -> list[str]:
    """Markdown: ms per window of each front-end branch and of the network, per row; notes on the profiles."""
    parts = branch_order(result)
    heads = [f"{BRANCH_NAMES.get(b, b)} ms/window" for b in parts]
    lines = ["## Where the time goes (front-end branches: audio → features; network: features → outputs)", "",
             "| pipeline | batch | " + " | ".join(heads) + (" | " if heads else "") +
             "front-end ms/window | network ms/window | front-end share | from |",
             "|---|---:|" + "---:|" * (len(parts) + 3) + "---|"]
    for r in result["rows"]:
        if r.get("frontend_share") is not None:
            ms = r.get("branch_ms") or {}
            cells = "".join(f"{_fmt(ms.get(b))} | " for b in parts)
            lines.append(f"| {r['label']} | {r['batch']} | {cells}{r['frontend_ms']:.2f} | {r['network_ms']:.2f} | "
                         f"{100 * r['frontend_share']:.0f} % | {r['split_source']} |")
    for r in result["rows"]:
        if r.get("stage_s"):  # the streaming graphs, timed stage by stage
            stages = ", ".join(f"{role} {1e3 * sec:.2f} ms" for role, sec in r["stage_s"].items())
            lines += ["", f"{r['label']}, batch {r['batch']}, per window and stage: {stages} (signal: the new audio "
                      "filtered into LOFAR's decimated signal and DEMON's envelopes; frames: the new frames from the "
                      "kept signals and the log-mel's new audio; head: the network on the window's kept frames)."]
    lines += _profile_notes(result)
    lines += ["", "Onnxruntime rows: shares of node kernel time from a separate profiled session, applied to the "
              "timed mean (on a GPU provider a node's time is its host-side launch, so the split is indicative); a "
              "node counts to the branch whose tables it or its ancestors read, or whose nodes alone it feeds "
              "(front-end shared: nodes several branches use); the network includes the ear's stems. Torch rows: "
              "each branch and the network timed inside the timed loop."]
    return lines


def _profile_notes(result: dict) -> list[str]:
    """Notes on the profiles: kernel time in nodes neither graph names, and time by execution provider."""
    lines = []
    for name, per_batch in result["profiles"].items():
        for b, prof in per_batch.items():
            total = prof["frontend_us"] + prof["network_us"] + prof["other_us"]
            if total and prof["other_us"] / total > 0.01:
                lines.append(f"\n{name} batch {b}: {100 * prof['other_us'] / total:.0f} % of kernel time in nodes "
                             "neither graph names, e.g. casts onnxruntime adds around kernels a provider lacks "
                             "(left out of the shares)")
            by_provider = prof.get("provider_us") or {}
            if len(by_provider) > 1 and total:
                shares = ", ".join(f"{k.removesuffix('ExecutionProvider')} {100 * v / total:.0f} %"
                                   for k, v in sorted(by_provider.items(), key=lambda kv: -kv[1]))
                lines.append(f"\n{name} batch {b}: kernel time by execution provider: {shares}")
    return lines


def _goal_lines(result: dict) -> list[str]:
    gs = result.get("goal_set") or goal_set(None)
    lines = [f"## Goals ({gs['source']}" + (f", for {gs['model']} models" if gs["source"] != "issue 5" else "")
             + "; a benchmark, not a test)", "", "| goal | target | reached | met |", "|---|---|---|---|"]
    for g in result["goals"]:
        met = {True: "met", False: "**not met**", None: "not measured"}[g["met"]]
        if g["value"] is None:
            reached = "–"
        elif isinstance(g["value"], str):
            reached = g["value"] + g["note"]
        else:
            reached = f"{g['value']:.2f}{g['note']}"
        lines.append(f"| {g['goal']} | {g['target']} | {reached} | {met} |")
    return lines


def plot(result: dict, path: Path) -> Path:
    """Three panels: × real time per core, p50/p99 ms per window, ms per window of each front-end branch and the
    network."""
    from uwac.acoustics.analysis.plots import subplots

    rows = [r for r in result["rows"] if r["status"] == "ok"]
    names = [f"{r['label']}, b{r['batch']}" + ("" if ran_on(r) in ("CPU", "torch CPU") else f" [{ran_on(r)}]")
             for r in rows]
    y = np.arange(len(rows))
    fig, axes = subplots(1, 3, figsize=(16, 0.45 * len(rows) + 2.0), sharey=True)
    axes[0].barh(y, [r["x_real_time_per_core"] for r in rows], color="tab:blue")
    target = (result.get("goal_set") or goal_set(None))["targets"]
    at = f", batch {target['throughput_batch']}" if target.get("throughput_batch") else ""
    axes[0].axvline(target["x_real_time_per_core"], color="k", ls="--", lw=1, label=f"goal (fp32, one core{at})")
    axes[0].set(xlabel="× real time per core", title="throughput")
    axes[0].legend(loc="lower right")
    axes[1].barh(y - 0.2, [r["p50_ms"] for r in rows], height=0.4, label="p50")
    axes[1].barh(y + 0.2, [r["p99_ms"] for r in rows], height=0.4, label="p99")
    axes[1].set(xlabel="ms per window", title="latency")
    axes[1].legend(loc="lower right")
    _stacked_split(axes[2], y, rows, branch_order(result))
    axes[2].set(xlabel="ms per window (mean)", title="where the time goes")
    axes[2].legend(loc="best", fontsize="small", framealpha=0.9)
    axes[0].set_yticks(y, names)
    axes[0].invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def _stacked_split(ax, y, rows: list[dict], parts: list[str]) -> None:
    """Stacked bars of ms per window: each front-end branch, then the network."""
    left = np.zeros(len(rows))
    for b in parts:
        ms = np.array([(r.get("branch_ms") or {}).get(b) or 0.0 for r in rows])
        ax.barh(y, ms, left=left, label=BRANCH_NAMES.get(b, b), color=BRANCH_COLOURS.get(b))
        left += ms
    ax.barh(y, [r.get("network_ms") or 0.0 for r in rows], left=left, label="network", color="tab:green")
