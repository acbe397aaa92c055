"""``uwac bench stream``: how many 16 kHz channels one core scores in real time, and how soon a contact is reported.

Capacity: the daemon's own scorer (ring buffers, one batched onnxruntime call per hop, one thread) fed N
channels of rendered sea noise in 1 s blocks; for each N the processing time per second of audio gives the
real-time factor, and the largest N still faster than real time is the capacity (goal ≥ 200 channels, issue 6).
Latency: a rendered warship pass (ambient, then the pass) through scorer and tracker; the detection latency is
the stream time from the first audible sample (the render's first frame at SNR ≥ 0 dB) to the decision that
opens the contact (its ``time_s``), plus the processing time per hop, which is small beside it.
"""

from __future__ import annotations

import json
import os
import platform
import time
from importlib.util import find_spec
from pathlib import Path

import numpy as np

from uwac.acoustics.contract import load_session
from uwac.acoustics.split_model import load_split
from uwac.acoustics.stream.blocks import Block
from uwac.acoustics.stream.footprint import cold_start, core_install_mb
from uwac.acoustics.stream.scorer import Scorer
from uwac.acoustics.stream.tracker import Tracker
from uwac.bench.console_load import measure_console_load
from uwac.bench.console_load import render_line as render_console_line

CAPACITY_GOAL = 200  # channels per core in real time (issue 6)
CHANNEL_STEPS = (1, 16, 64, 128, 192, 256, 384)
MANY_CHANNELS = 64  # rows from this many channels up give the capacity estimate


def hop_s(model: str | Path) -> float:
    """The daemon's hop for the model (s; its streaming pair's step when one is beside it): each channel needs one
    window per hop to keep up."""
    session, info = load_session(model)
    split = load_split(model, session, info)
    return split.step_seconds if split is not None else info.hop_seconds


def sea_noise(seconds: float, rate: int, seed: int = 0) -> np.ndarray:
    """Rendered ambient (sea state, shipping, confusers as drawn) as float32 [n]: what a node hears most of the time."""
    from uwac.acoustics.synth.scene import render_scene

    audio, _ = render_scene(seed=seed, duration_s=seconds, sample_rate=rate, contacts=[])
    return audio.astype(np.float32)


def measure_capacity(model: str | Path, *, channels: tuple[int, ...] = CHANNEL_STEPS, seconds: float = 20.0,
                     threads: int = 1, seed: int = 0, progress: bool = True) -> list[dict]:
    """Per channel count: processing s per audio s, × real time, hops/s, and whether it keeps up (one core)."""
    from tqdm import tqdm

    session, info = load_session(model, threads=threads)
    split = load_split(model, session, info, threads=threads)  # the daemon's default path when the pair is there
    rate = info.sample_rate
    base = sea_noise(seconds + info.window_seconds, rate, seed)
    rows = []
    for n in tqdm(channels, desc="bench stream", unit="config", disable=not progress):
        shift = (np.arange(n) * 7919) % len(base)  # each channel a different stretch of the same sea
        audio = np.stack([np.roll(base, int(s)) for s in shift], axis=1)
        scorer = Scorer(session, info, split=split)
        warm = int(info.window_seconds * rate)
        scorer.push(Block(samples=audio[:warm], sample_rate=rate, position=0), lambda h: None)
        hops = 0
        t0 = time.perf_counter()
        for start in range(warm, audio.shape[0] - rate + 1, rate):
            hops += scorer.push(Block(samples=audio[start:start + rate], sample_rate=rate, position=start),
                                lambda h: None)
        busy = time.perf_counter() - t0
        audio_s = (audio.shape[0] - warm) // rate
        rows.append({"channels": n, "audio_s": audio_s, "busy_s": round(busy, 6),
                     "x_real_time": round(audio_s / busy, 2), "hops_per_s": round(hops / busy, 2),
                     "channel_windows_per_s": round(hops * n / busy, 1), "keeps_up": bool(busy < audio_s)})
    return rows


def measure_latency(model: str | Path, *, seed: int = 103, snr_db: float = 10.0, threads: int = 1) -> dict:
    """Stream-time latency from the first audible sample of a warship pass to the contact's start decision."""
    from uwac.acoustics.synth.scene import render_scene

    session, info = load_session(model, threads=threads)
    split = load_split(model, session, info, threads=threads)
    rate = info.sample_rate
    lead, _ = render_scene(seed=seed, duration_s=60.0, sample_rate=rate, contacts=[])
    vessel, params = render_scene(seed=seed + 1000, duration_s=90.0, sample_rate=rate,
                                  contacts=[{"label": "warship", "snr_db": snr_db, "t_cpa_s": 45.0}])
    spans = params["contacts"][0]["spans"]
    onset = len(lead) / rate + (spans[0][0] if spans else 0.0)
    audio = np.concatenate([lead, vessel])[:, None].astype(np.float32)
    scorer = Scorer(session, info, split=split)
    tracker = Tracker(info.classes, hop_s=scorer.hop / rate, unknown_threshold=info.unknown_threshold)
    starts, events, per_hop = [], [], []

    def on_hop(hop):
        t = time.perf_counter()
        new = tracker.update_many(hop.channels, hop.probabilities, hop.start_s, hop.end_s)
        starts.extend(e for e in new if e["type"] == "contact_start")
        events.extend(new)
        per_hop.append(hop.compute_s + time.perf_counter() - t)

    for start in range(0, len(audio), rate):
        scorer.push(Block(samples=audio[start:start + rate], sample_rate=rate, position=start), on_hop)
    events.extend(tracker.close_all("end of the bench"))
    first = next((e for e in starts if e["start_s"] >= onset - 30), None)
    false_before = [e for e in starts if e["start_s"] < onset - 30]
    settled = None if first is None else \
        next((e["class"] for e in reversed(events) if e.get("contact") == first["contact"]), None)
    return {"seed": seed, "snr_db": snr_db, "audible_onset_s": round(onset, 3),
            "decision_s": None if first is None else first["time_s"],
            "reported_start_s": None if first is None else first["start_s"],
            "class": None if first is None else first["class"],  # at the start decision (may be unknown)
            "settled_class": settled,  # at the contact's last event
            "detection_latency_s": None if first is None else round(first["time_s"] - onset, 3),
            "hop_processing_ms_p50": round(1e3 * float(np.percentile(per_hop, 50)), 3),
            "hop_processing_ms_p99": round(1e3 * float(np.percentile(per_hop, 99)), 3),
            "false_contacts_before_onset": len(false_before)}


def bench_stream(*, model: str | Path, out: str | Path, channels: tuple[int, ...] = CHANNEL_STEPS,
                 seconds: float = 20.0, seed: int = 0, progress: bool = True, console_seconds: float = 300.0) -> dict:
    """Capacity, latency and the console's load on one core; writes ``bench_stream.{json,md,png}`` into ``out``.
    ``console_seconds``: audio per run of the console-load measurement (0: not measured)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = measure_capacity(model, channels=channels, seconds=seconds, seed=seed, progress=progress)
    keeping = [r["channels"] for r in rows if r["keeps_up"]]
    many = [r["channel_windows_per_s"] for r in rows if r["channels"] >= MANY_CHANNELS] or \
        [rows[-1]["channel_windows_per_s"]]
    result = {"model": str(model), "threads": 1, "seconds": seconds, "seed": seed, "cpu": platform.processor() or
              platform.machine(), "logical_cores": os.cpu_count(),
              "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
              "capacity": rows, "max_channels_measured_in_real_time": max(keeping) if keeping else 0,
              # one window per channel per hop: channel-windows/s × hop (s) channels keep up; the median over the
              # many-channel rows, where per-call overheads are amortised as they are on a loaded node
              "channels_per_core_estimate": int(float(np.median(many)) * hop_s(model)),
              "goal_channels": CAPACITY_GOAL, "latency": measure_latency(model),
              "install": core_install_mb(), "cold_start": cold_start(model)}
    result["goal_met"] = result["channels_per_core_estimate"] >= CAPACITY_GOAL
    result["console"] = measure_console_load(model, seconds=console_seconds) if console_seconds > 0 else None
    (out / "bench_stream.json").write_text(json.dumps(result, indent=2))
    (out / "bench_stream.md").write_text(render_markdown(result))
    if find_spec("matplotlib") is not None:  # a lean node install measures too, without the picture
        _plot(result, out / "bench_stream.png")
    return result


def render_markdown(result: dict) -> str:
    """The capacity table, the estimate against the goal, and the detection latency."""
    lines = [f"# uwac bench stream: {Path(result['model']).name}, one core", "",
             f"{result['cpu']}, {result['logical_cores']} logical cores, load {result['load_average_1min']}; "
             f"{result['seconds']:g} s of rendered sea per channel, 1 s blocks, the daemon's scorer.", "",
             "| channels | × real time | channel-windows/s | keeps up |", "|---:|---:|---:|---|"]
    lines += [f"| {r['channels']} | {r['x_real_time']:.2f} | {r['channel_windows_per_s']:.0f} | "
              f"{'yes' if r['keeps_up'] else 'no'} |" for r in result["capacity"]]
    lat = result["latency"]
    lines += ["", f"- channels scored in real time on one core: **{result['channels_per_core_estimate']}** "
              f"(median channel-windows/s over the rows with ≥ {MANY_CHANNELS} channels × the hop; largest measured count "
              f"that kept up: "
              f"{result['max_channels_measured_in_real_time']}); goal ≥ {result['goal_channels']}: "
              f"{'met' if result['goal_met'] else 'NOT met'}",
              f"- detection latency, warship pass at {lat['snr_db']:g} dB (seed {lat['seed']}): first audible sample "
              f"at {lat['audible_onset_s']} s, contact opened by the decision at {lat['decision_s']} s "
              f"(reported start {lat['reported_start_s']} s, class {lat['class']} at the start, "
              f"{lat.get('settled_class')} at the end): **{lat['detection_latency_s']} s** "
              f"of stream time; processing per hop p50 {lat['hop_processing_ms_p50']} ms, "
              f"p99 {lat['hop_processing_ms_p99']} ms; false contacts before the pass: "
              f"{lat['false_contacts_before_onset']}"]
    if result.get("console"):
        lines.append(render_console_line(result["console"]))
    inst, cold = result.get("install"), result.get("cold_start")
    if inst:
        parts = ", ".join(f"{p['name']} {p['mb']:.0f}" for p in inst["largest"])
        lines.append(f"- core install (uwac and what its requirements pull in without extras, from this "
                     f"environment's metadata): **{inst['total_mb']:.0f} MB** ({parts}); goal ≤ {inst['goal_mb']:.0f} MB: "
                     f"{'met' if inst['goal_met'] else 'NOT met'}")
    if cold:
        lines.append(f"- cold start of `uwac stream` (launch to /healthz answering, model loaded and probed): "
                     f"**{cold['ready_s']} s**, to the first hop scored {cold['first_hop_s']} s; goal ≤ "
                     f"{cold['goal_s']:g} s: {'met' if cold['goal_met'] else 'NOT met'}")
    lines.append("")
    return "\n".join(lines)


def _plot(result: dict, path: Path) -> None:
    from uwac.acoustics.analysis.plots import subplots

    rows = result["capacity"]
    fig, ax = subplots(figsize=(6, 3.5))
    ax.plot([r["channels"] for r in rows], [r["x_real_time"] for r in rows], "o-")
    ax.axhline(1.0, color="k", lw=0.8, ls="--", label="real time")
    ax.axvline(result["goal_channels"], color="r", lw=0.8, ls=":", label=f"goal {result['goal_channels']} channels")
    ax.set_xlabel("16 kHz channels on one core")
    ax.set_ylabel("× real time")
    ax.set_yscale("log")
    ax.legend()
    ax.set_title("uwac stream capacity")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
