"""``uwac bench synth``: render speed as a multiple of real time per core.

Each class is rendered ``repeats`` times in this process on one core (FFTs are single-threaded, BLAS is
limited to one thread) and timed with ``time.process_time``. The reference, measured in the same run, is the cheapest
possible "render": one float32 Gaussian noise of the same length coloured by one FFT pair, so the report
also says what the physics costs over bare noise.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from uwac.acoustics.synth import numerics as num
from uwac.acoustics.synth.scene import render_recording
from uwac.acoustics.taxonomy import CLASSES


def _cpu_seconds(fn, repeats: int) -> float:
    """Median CPU seconds of ``fn()`` over ``repeats`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return float(np.median(times))


def bench_synth(*, duration_s: float = 30.0, sample_rate: int = 16000, repeats: int = 3, seed: int = 0,
                out: str | Path | None = None) -> dict:
    """Time renders per class; returns (and writes to ``out``) × real time per core and the noise reference.

    BLAS is held to one thread, as in ``render_dataset``'s workers, so CPU time is one core's.
    """
    with threadpool_limits(1):
        return _bench(duration_s=duration_s, sample_rate=sample_rate, repeats=repeats, seed=seed, out=out)


def _bench(*, duration_s: float, sample_rate: int, repeats: int, seed: int, out: str | Path | None) -> dict:
    n = int(duration_s * sample_rate)
    rng = np.random.default_rng(seed)

    def coloured_noise():
        spec = num.rfft(rng.standard_normal(n, dtype=np.float32)) / np.sqrt(1.0 + num.rfftfreq(n, 1 / sample_rate))
        return num.irfft(spec.astype(np.complex64), n)

    reference_s = _cpu_seconds(coloured_noise, repeats)
    rows = []
    for k, label in enumerate(CLASSES):
        seeds = iter(range(seed * 1000 + 100 * k, seed * 1000 + 100 * k + repeats + 1))
        cpu = _cpu_seconds(lambda label=label, seeds=seeds: render_recording(
            label=label, seed=next(seeds), duration_s=duration_s, sample_rate=sample_rate), repeats)
        rows.append({"class": label, "cpu_s_per_render": round(cpu, 4), "x_real_time_per_core": round(duration_s / cpu, 1),
                     "cost_over_bare_noise": round(cpu / reference_s, 1)})
    overall = duration_s * len(rows) / sum(r["cpu_s_per_render"] for r in rows)
    report = {"duration_s": duration_s, "sample_rate": sample_rate, "repeats": repeats,
              "reference_bare_noise_cpu_s": round(reference_s, 4),
              "reference_x_real_time_per_core": round(duration_s / reference_s, 1),
              "classes": rows, "x_real_time_per_core": round(overall, 1), "goal_x_real_time_per_core": 200.0}
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "bench_synth.json").write_text(json.dumps(report, indent=2))
        (out / "bench_synth.md").write_text(render_markdown(report))
    return report


def render_markdown(report: dict) -> str:
    """The benchmark as a markdown table."""
    lines = [f"# Render speed, {report['duration_s']:g} s clips at {report['sample_rate']} Hz (one core)", "",
             "| class | CPU s / render | × real time per core | cost over bare coloured noise |", "|---|---:|---:|---:|"]
    lines += [f"| {r['class']} | {r['cpu_s_per_render']:.3f} | {r['x_real_time_per_core']:.0f}× | {r['cost_over_bare_noise']:.1f}× |"
              for r in report["classes"]]
    lines += ["", f"All classes: **{report['x_real_time_per_core']:.0f}× real time per core** "
              f"(goal ≥ {report['goal_x_real_time_per_core']:.0f}×); reference, one FFT-coloured noise: "
              f"{report['reference_x_real_time_per_core']:.0f}×.", ""]
    return "\n".join(lines)
