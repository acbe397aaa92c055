"""What a node pays before scoring: the size of the core install and the daemon's cold start.

- :func:`core_install_mb`: the files of ``uwac`` and of every distribution its core requirements pull in
  (extras left out), summed from the installed metadata (``RECORD``) of this environment: what ``pip install
  uwac`` without extras puts on a node, measured offline (tests/test_packaging.py also measures it on a wheel
  in a fresh venv).
- :func:`cold_start`: wall time from launching ``uwac stream`` to its HTTP side answering (model loaded and
  checked by the load-time probe, source open: ready for the first hop) and to the first hop scored.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from importlib import metadata
from pathlib import Path

import numpy as np

INSTALL_GOAL_MB = 300.0  # issue 10: a node install without extras
COLD_START_GOAL_S = 1.0  # issue 10: launch to the first hop's readiness


def _requirement_name(spec: str) -> str | None:
    """The distribution a ``Requires-Dist`` line names when it applies without extras, else None."""
    if ";" in spec and "extra" in spec.split(";", 1)[1]:
        return None
    m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", spec)
    return m.group(1) if m else None


def core_closure(root: str = "uwac") -> list[metadata.Distribution]:
    """``root`` and every installed distribution its requirements (without extras) reach, each once."""
    seen: dict[str, metadata.Distribution] = {}
    todo = [root]
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # an environment marker excluded it here (e.g. another platform's dependency)
        seen[key] = dist
        todo += [n for n in map(_requirement_name, dist.requires or []) if n]
    return list(seen.values())


def _dist_bytes(dist: metadata.Distribution) -> int:
    total = 0
    for f in dist.files or []:
        try:
            p = Path(dist.locate_file(f))
            if p.is_file():
                total += p.stat().st_size
        except OSError:
            pass
    return total


def core_install_mb() -> dict:
    """MB of the core install closure and its largest parts (an editable install counts uwac's files as 0:
    they live in the checkout, where the wheel test measures them)."""
    parts = sorted(((_dist_bytes(d) / 2**20, d.metadata["Name"]) for d in core_closure()), reverse=True)
    total = sum(mb for mb, _ in parts)
    return {"total_mb": round(total, 1), "goal_mb": INSTALL_GOAL_MB, "goal_met": total <= INSTALL_GOAL_MB,
            "largest": [{"name": n, "mb": round(mb, 1)} for mb, n in parts[:6]]}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cold_start(model: str | Path, *, audio_s: float = 12.0, timeout_s: float = 120.0) -> dict:
    """Launch ``uwac stream`` on stdin with HTTP on a free loopback port; seconds from launch to /healthz
    answering (ready) and to ``uwac_hops_total`` ≥ 1 (first hop scored, after one window of audio)."""
    from uwac.acoustics.contract import load_session

    info = load_session(model)[1]
    port = _free_port()
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "uwac.acoustics", "stream", str(model), "--source", "stdin",
                                 "--format", "f32le", "--rate", str(info.sample_rate), "--out", out, "--http",
                                 f"127.0.0.1:{port}"], stdin=subprocess.PIPE, stderr=subprocess.DEVNULL)
        ready = first_hop = None
        try:
            while time.perf_counter() - t0 < timeout_s and proc.poll() is None:
                try:
                    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1).read().decode()
                except OSError:
                    time.sleep(0.005)
                    continue
                if ready is None:
                    ready = time.perf_counter() - t0
                    proc.stdin.write(np.zeros(int(audio_s * info.sample_rate), np.float32).tobytes())
                    proc.stdin.flush()
                if re.search(r"^uwac_hops_total [1-9]", body, re.M):
                    first_hop = time.perf_counter() - t0
                    break
                time.sleep(0.005)
        finally:
            proc.kill()
            proc.wait(timeout=10)
    return {"ready_s": None if ready is None else round(ready, 3),
            "first_hop_s": None if first_hop is None else round(first_hop, 3), "goal_s": COLD_START_GOAL_S,
            "goal_met": ready is not None and ready <= COLD_START_GOAL_S}
