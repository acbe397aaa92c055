"""Does the operator console slow scoring? The daemon's hop latency with ``pages`` console pages open against none.

One daemon per run (console on, HTTP on an ephemeral loopback port), fed the same rendered audio block by block
in this thread as fast as it scores (a warship pass in ambient, repeated: hops, contacts, events and LOFAR rows
all reach the pages); the pages are client threads of another process (as browsers are), each reading the
console's Server-Sent Events to the end. The hop
latency is what the daemon itself reports to ``uwac_hop_latency_seconds`` (model call, tracker, events, the
console's hook). Runs alternate between the page counts, ``repeats`` times each; the goal (issue 16): p99 with
five pages within 10 % of none.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from uwac.acoustics.stream.blocks import Block

GOAL_RATIO = 1.10


# The pages are a separate process, as browsers are: one client thread per page reads its event stream to the end
# and the process prints the bytes received when its stdin closes.
PAGES_SCRIPT = """
import http.client, sys, threading
port, n = int(sys.argv[1]), int(sys.argv[2])
got = [0] * n
def page(i):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", "/console/events")
        r = conn.getresponse()
        for line in r:
            got[i] += len(line)
    except OSError:
        pass
for i in range(n):
    threading.Thread(target=page, args=(i,), daemon=True).start()
sys.stdin.read()
print(sum(got), flush=True)
"""


def _open_pages(port: int, pages: int) -> subprocess.Popen | None:
    """``pages`` console pages in another process (None for none)."""
    if not pages:
        return None
    return subprocess.Popen([sys.executable, "-c", PAGES_SCRIPT, str(port), str(pages)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)


def _run(model: Path, audio: np.ndarray, rate: int, pages: int) -> dict:
    from uwac.acoustics.stream.daemon import Daemon, StreamConfig

    with tempfile.TemporaryDirectory() as tmp:
        daemon = Daemon(StreamConfig(model=model, source="tcp-listen:127.0.0.1:0", out=Path(tmp),
                                     http=("127.0.0.1", 0), console=True, console_token="bench"))
        latencies: list[float] = []
        daemon.metrics.hop_latency.observe = latencies.append  # what the daemon reports per hop
        browsers = _open_pages(daemon.service.port, pages)
        deadline = time.monotonic() + 20.0
        while daemon.console.feed.pages < pages and time.monotonic() < deadline:
            time.sleep(0.01)
        received = 0
        try:
            for start in range(0, len(audio) - rate + 1, rate):
                daemon._handle(Block(samples=audio[start:start + rate], sample_rate=rate, position=start))
            time.sleep(0.5)  # the pages read what is queued
        finally:
            daemon.shutdown()
            if browsers is not None:
                received = int(browsers.communicate(timeout=30)[0].strip() or 0)
    ms = 1e3 * np.asarray(latencies)
    return {"pages": pages, "hops": len(ms), "p50_ms": float(np.percentile(ms, 50)),
            "p99_ms": float(np.percentile(ms, 99)), "page_bytes": received}


def measure_console_load(model: str | Path, *, pages: int = 5, seconds: float = 300.0, repeats: int = 2,
                         seed: int = 103) -> dict:
    """Hop latency p50/p99 [ms] with no page and with ``pages`` pages open (mean over ``repeats`` alternating runs
    each), their ratio and the goal's verdict."""
    from uwac.acoustics.contract import load_session
    from uwac.acoustics.synth.scene import render_scene

    info = load_session(model)[1]
    rate = info.sample_rate
    lead, _ = render_scene(seed=seed, duration_s=60.0, sample_rate=rate, contacts=[])
    vessel, _ = render_scene(seed=seed + 1000, duration_s=90.0, sample_rate=rate,
                             contacts=[{"label": "warship", "snr_db": 10.0, "t_cpa_s": 45.0}])
    scene = np.concatenate([lead, vessel]).astype(np.float32)
    audio = np.tile(scene, int(np.ceil(seconds * rate / len(scene))))[: int(seconds * rate), None]
    runs = [_run(Path(model), audio, rate, n) for _ in range(repeats) for n in (0, pages)]
    summary = {n: {k: float(np.mean([r[k] for r in runs if r["pages"] == n])) for k in ("p50_ms", "p99_ms")}
               for n in (0, pages)}
    ratio = summary[pages]["p99_ms"] / summary[0]["p99_ms"]
    return {"pages": pages, "seconds": seconds, "repeats": repeats, "runs": runs, "none": summary[0],
            "open": summary[pages], "p99_ratio": round(ratio, 3), "goal_ratio": GOAL_RATIO,
            "goal_met": bool(ratio <= GOAL_RATIO)}


def render_line(result: dict) -> str:
    """The markdown line of the measurement."""
    none, opened = result["none"], result["open"]
    return (f"- console load: hop latency with {result['pages']} console pages open p50 {opened['p50_ms']:.2f} ms, "
            f"p99 {opened['p99_ms']:.2f} ms, against none p50 {none['p50_ms']:.2f} ms, p99 {none['p99_ms']:.2f} ms "
            f"(mean of {result['repeats']} alternating runs of {result['seconds']:g} s each): p99 ratio "
            f"**{result['p99_ratio']:.2f}**; goal ≤ {result['goal_ratio']:.2f}: "
            f"{'met' if result['goal_met'] else 'NOT met'}")
