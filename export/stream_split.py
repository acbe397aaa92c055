"""The streaming pair of an exported physics ear: ``M.frames.onnx`` and ``M.head.onnx`` beside ``M.onnx``.

A stream scored every *step* samples, where the step is a whole number of every branch's frame hop (log-mel
256 samples; LOFAR and DEMON 0.768 s at 16 kHz), shares all but the newest frames with the window before; the
node computes only those (``acoustics/split_model.py``). The step is the smallest such multiple at least the
model's hop (2.0 s → 2.304 s for the shipped model). Both graphs are plain ops like the whole file, carry the
``uwac.split`` plan and the whole file's SHA-256, and are checked on the spot: stepping the pair over a signal
must give the whole file's probabilities (≤ 1e-4), so a wrong pair is never written silently.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import torch

from uwac.acoustics import __version__
from uwac.acoustics.contract import OPSET, OUTPUTS, file_sha256, load_session, run_batch
from uwac.acoustics.frontend.config import FrontendConfig
from uwac.acoustics.frontend.demon_gram import demon_min_samples
from uwac.acoustics.frontend.lofar_gram import lofar_min_samples
from uwac.acoustics.split_model import (
    SPLIT_KEY,
    FrameCache,
    SplitBranch,
    SplitPlan,
    load_split,
    pair_paths,
)
from uwac.export.onnx_file import save_with_metadata
from uwac.training.checkpoint import load_checkpoint
from uwac.training.models import Classifier
from uwac.training.models.split import FRAME_AXIS, FrameFeatures, WindowHead, frame_input, frame_output

STITCH_STEPS = 4  # steps of the export-time check (a primed window, then this many steps)


def frame_hops(fe: FrontendConfig) -> dict[str, int]:
    """Samples at the model's rate between consecutive frames of each branch ``fe`` computes."""
    every = {"mel": fe.hop_length, "lofar": fe.lofar.hop * fe.lofar.decimation,
             "demon": fe.demon.hop * fe.demon.carrier_stride * fe.demon.envelope_decimation}
    return {b: every[b] for b in fe.branches}


def branch_min_samples(fe: FrontendConfig, branch: str) -> int:
    """Fewest samples one frame of ``branch`` needs."""
    return {"mel": fe.n_fft, "lofar": lofar_min_samples(fe), "demon": demon_min_samples(fe)}[branch]


def choose_step(hops: dict[str, int], hop_samples: int) -> int:
    """The smallest common multiple of every branch's frame hop that is at least ``hop_samples``."""
    common = math.lcm(*hops.values())
    return common * max(1, -(-hop_samples // common))


def split_plan(model: Classifier, fe: FrontendConfig, *, window: int, hop: int, reference_sha256: str) -> SplitPlan:
    """The plan of a model's pair: the step, and per branch its frames per window (counted by running the
    frames half on one window), the frames new per step and where their audio starts. ``ValueError`` when a
    window is too short to share frames across one step."""
    hops = frame_hops(fe)
    step = choose_step(hops, hop)
    with torch.no_grad():
        zeros = torch.zeros(1, window)
        outs = FrameFeatures(model)(*[zeros] * len(hops))
    branches = []
    for (name, frame_hop), out in zip(hops.items(), outs, strict=True):
        frames, new = out.shape[FRAME_AXIS[name]], step // frame_hop
        if new >= frames:
            raise ValueError(f"a {window}-sample window holds {frames} {name} frame(s): none would be shared with a "
                             f"window {step} samples later; score this model whole")
        branches.append(SplitBranch(name=name, input=frame_input(name), output=frame_output(name),
                                    axis=FRAME_AXIS[name], frames=frames, new=new,
                                    tail_start=(frames - new) * frame_hop))
    return SplitPlan(step=step, window=window, reference_sha256=reference_sha256, branches=tuple(branches))


def export_pair(model: Classifier, fe: FrontendConfig, plan: SplitPlan, paths: dict[str, Path], *,
                physics: bool) -> None:
    """Export the frames half (dynamic batch and samples per branch) and the head half (dynamic batch)."""
    model = model.eval()
    frames_mod, head_mod = FrameFeatures(model).eval(), WindowHead(model, physics=physics).eval()
    names = [b.name for b in plan.branches]
    batch = torch.export.Dim("batch", min=1, max=4096)
    # distinct example lengths per input, so the exporter never ties one input's length to another's
    examples = tuple(torch.randn(2, plan.window + 1000 + 97 * i) * 0.1 for i in range(len(names)))
    dims = tuple({0: batch, 1: torch.export.Dim(f"samples_{n}", min=branch_min_samples(fe, n),
                                                max=plan.window * 4096)} for n in names)
    props = {SPLIT_KEY: plan.to_json(), "uwac.version": __version__}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(frames_mod, examples, dynamo=True, opset_version=OPSET, verbose=False,
                                    input_names=[b.input for b in plan.branches],
                                    output_names=[b.output for b in plan.branches], dynamic_shapes=(dims,))
        save_with_metadata(program, paths["frames"], {**props, "uwac.split_role": "frames"})
        window_frames = frames_mod(*[torch.randn(2, plan.window) * 0.1] * len(names))
        program = torch.onnx.export(head_mod, window_frames, dynamo=True, opset_version=OPSET, verbose=False,
                                    input_names=[b.output for b in plan.branches],
                                    output_names=list(OUTPUTS) + (["physics"] if physics else []),
                                    dynamic_shapes=(tuple({0: batch} for _ in names),))
        save_with_metadata(program, paths["head"], {**props, "uwac.split_role": "head"})


def stitch_check(session, split, *, steps: int = STITCH_STEPS, seed: int = 0) -> float:
    """Max |Δprobability| between the whole file's ``session`` on windows one step apart and the pair stepping
    over them (two channels, a primed window then ``steps`` steps) on a seeded noise-plus-tones signal."""
    plan, info = split.plan, split.info
    rng = np.random.default_rng(seed)
    n = plan.window + steps * plan.step
    t = np.arange(n) / info.sample_rate
    audio = np.stack([0.02 * rng.standard_normal(n) + 0.1 * np.sin(2 * np.pi * f * t) * (1 + 0.5 * np.sin(t))
                      for f in (61.0, 433.0)]).astype(np.float32)
    cache = FrameCache(split, 2)
    worst = 0.0
    for i in range(steps + 1):
        windows = audio[:, i * plan.step: i * plan.step + plan.window]
        got = cache.score(windows, primed=i > 0)["probabilities"]
        worst = max(worst, float(np.abs(got - run_batch(session, windows)["probabilities"]).max()))
    return worst


def export_split_of_run(run: str | Path, reference: str | Path) -> dict:
    """Write the streaming pair of ``run``'s best checkpoint beside ``reference``, the whole file already
    exported from it (``uwac export RUN --out M.onnx --split-only``); the stitch check proves they match."""
    model, cfg, _ = load_checkpoint(run)
    if cfg.model.name != "ear":
        raise ValueError(f"{run}: a {cfg.model.name} model reads a single log-mel; only the physics ear splits")
    return export_split(model, cfg.frontend, reference, physics=model.physics is not None)


def export_split(model: Classifier, fe: FrontendConfig, reference: str | Path, *, physics: bool,
                 tolerance: float = 1e-4) -> dict:
    """Write the pair beside ``reference`` (the whole file exported from ``model``) and verify it; a report.

    A pair that disagrees with the whole file by more than ``tolerance`` in probability is renamed
    ``*.failed-parity.onnx`` and the call raises ``RuntimeError``.
    """
    reference = Path(reference)
    session, info = load_session(reference)
    plan = split_plan(model, fe, window=info.window_samples, hop=info.hop_samples,
                      reference_sha256=file_sha256(reference))
    paths = pair_paths(reference)
    export_pair(model, fe, plan, paths, physics=physics)
    split = load_split(reference, session, info)
    worst = stitch_check(session, split)
    if worst > tolerance:
        for path in paths.values():
            path.rename(path.with_suffix(".failed-parity.onnx"))
        raise RuntimeError(f"the streaming pair disagrees with {reference} by {worst:.2e} in probability "
                           f"(> {tolerance}); kept as *.failed-parity.onnx for inspection")
    return {"frames": str(paths["frames"]), "head": str(paths["head"]), "step_seconds": plan.step / fe.sample_rate,
            "bytes": {role: p.stat().st_size for role, p in paths.items()},
            "new_frames_per_step": {b.name: f"{b.new} of {b.frames}" for b in plan.branches},
            "max_abs_prob_diff_vs_whole": worst}

