"""The streaming graphs of an exported physics ear: ``M.signal.onnx``, ``M.frames.onnx`` and ``M.head.onnx``.

A stream scored every *step* samples, where the step is a whole number of every branch's frame hop (log-mel
256 samples; LOFAR and DEMON one frame hop, 1 s with ear.yaml's front-end), shares all but the newest frames with
the window before, and all but the newest samples of the LOFAR and DEMON signals (decimated audio, envelopes);
the node filters only the new audio and computes only the new frames (``acoustics/split_model.py``). The step is
the smallest such multiple at least the model's hop (2.0 s with ear.yaml's front-end; 2.304 s for the shipped
model, whose 0.768-s frame hops do not divide 2 s). The graphs are plain ops like
the whole file, carry the ``uwac.split`` plan and the whole file's SHA-256, and are checked on the spot:
stepping them over a signal must give the whole file's probabilities (≤ 1e-4), so wrong graphs are never
written silently.
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
from uwac.training.models.split import (
    FRAME_AXIS,
    FrameFeatures,
    SignalFeatures,
    WindowHead,
    frame_input,
    frame_output,
    signal_output,
)

STITCH_STEPS = 4  # steps of the export-time check (a primed window, then this many steps)


def frame_hops(fe: FrontendConfig) -> dict[str, int]:
    """Samples at the model's rate between consecutive frames of each branch ``fe`` computes."""
    every = {"mel": fe.hop_length, "lofar": fe.lofar.hop * fe.lofar.decimation,
             "demon": fe.demon.hop * signal_rates(fe)["demon"]}
    return {b: every[b] for b in fe.branches}


def signal_rates(fe: FrontendConfig) -> dict[str, int]:
    """Model-rate samples per signal sample of each signal branch (LOFAR's decimation, DEMON's carrier stride ×
    envelope decimation)."""
    return {"lofar": fe.lofar.decimation, "demon": fe.demon.carrier_stride * fe.demon.envelope_decimation}


def branch_min_samples(fe: FrontendConfig, branch: str) -> int:
    """Fewest samples one frame of ``branch`` needs."""
    return {"mel": fe.n_fft, "lofar": lofar_min_samples(fe), "demon": demon_min_samples(fe)}[branch]


def choose_step(hops: dict[str, int], hop_samples: int) -> int:
    """The smallest common multiple of every branch's frame hop that is at least ``hop_samples``."""
    common = math.lcm(*hops.values())
    return common * max(1, -(-hop_samples // common))


def _signal_branch(name: str, fe: FrontendConfig, *, step: int, frames: int, new: int, length: int,
                   frame_hop: int) -> SplitBranch:
    """A signal branch's plan entry: the audio span that yields its ``step / rate`` new signal samples, and the
    signal span (from ``(frames − new)`` frame hops) that yields its ``new`` frames."""
    rate = signal_rates(fe)[name]
    fresh = step // rate
    if fresh > length:
        raise ValueError(f"a step of {step} samples brings {fresh} new {name} signal samples, more than a window's "
                         f"{length}; score this model whole")
    return SplitBranch(name=name, input=signal_output(name), output=frame_output(name), axis=FRAME_AXIS[name],
                       frames=frames, new=new, tail_start=(length - fresh) * rate, audio_input=frame_input(name),
                       signal_rate=rate, signal_length=length, signal_start=(frames - new) * (frame_hop // rate))


def split_plan(model: Classifier, fe: FrontendConfig, *, window: int, hop: int, reference_sha256: str) -> SplitPlan:
    """The plan of a model's streaming graphs: the step, and per branch its frames per window (counted by running
    the signal and frames stages on one window), the frames new per step and where their audio starts (and for
    LOFAR and DEMON, their signal's rate and spans). ``ValueError`` when a window is too short to share frames
    across one step."""
    hops = frame_hops(fe)
    step = choose_step(hops, hop)
    with torch.no_grad():
        zeros = torch.zeros(1, window)
        sig = SignalFeatures(model)
        signals = dict(zip(sig.branches, sig(*[zeros] * len(sig.branches)), strict=True))
        outs = FrameFeatures(model)(*[signals.get(b, zeros) for b in hops])
    branches = []
    for (name, frame_hop), out in zip(hops.items(), outs, strict=True):
        frames, new = out.shape[FRAME_AXIS[name]], step // frame_hop
        if new >= frames:
            raise ValueError(f"a {window}-sample window holds {frames} {name} frame(s): none would be shared with a "
                             f"window {step} samples later; score this model whole")
        if name in signals:
            branches.append(_signal_branch(name, fe, step=step, frames=frames, new=new, frame_hop=frame_hop,
                                           length=signals[name].shape[-1]))
        else:
            branches.append(SplitBranch(name=name, input=frame_input(name), output=frame_output(name),
                                        axis=FRAME_AXIS[name], frames=frames, new=new,
                                        tail_start=(frames - new) * frame_hop))
    plan = SplitPlan(step=step, window=window, reference_sha256=reference_sha256, branches=tuple(branches))
    with torch.no_grad():
        fresh = sig(*[torch.zeros(1, window - b.tail_start) for b in plan.signal_branches])
    for b, x in zip(plan.signal_branches, fresh, strict=True):
        if x.shape[-1] != plan.signal_new(b):  # the span must yield exactly the new samples, on the window's grid
            raise ValueError(f"the {b.name} signal of the last {window - b.tail_start} samples has {x.shape[-1]} "
                             f"samples, not the {plan.signal_new(b)} a step brings; score this model whole")
    return plan


def _export(module, examples, dims, path: Path, props: dict, *, inputs: list[str], outputs: list[str]) -> None:
    """One graph of the set, dynamo-exported with ``dims`` and saved with ``props``."""
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(module, examples, dynamo=True, opset_version=OPSET, verbose=False,
                                    input_names=inputs, output_names=outputs, dynamic_shapes=(dims,))
        save_with_metadata(program, path, props)


def export_pair(model: Classifier, fe: FrontendConfig, plan: SplitPlan, paths: dict[str, Path], *,
                physics: bool) -> None:
    """Export the signal stage (when the plan has signal branches) and the frames stage (dynamic batch and
    lengths per input) and the head (dynamic batch)."""
    model = model.eval()
    sig_mod, frames_mod = SignalFeatures(model).eval(), FrameFeatures(model).eval()
    head_mod = WindowHead(model, physics=physics).eval()
    batch = torch.export.Dim("batch", min=1, max=4096)
    props = {SPLIT_KEY: plan.to_json(), "uwac.version": __version__}
    signal_branches = plan.signal_branches
    with torch.no_grad():
        window_signals = sig_mod(*[torch.randn(2, plan.window) * 0.1] * len(signal_branches))
    if signal_branches:
        # distinct example lengths per input, so the exporter never ties one input's length to another's
        examples = tuple(torch.randn(2, plan.window - b.tail_start + 97 * i) * 0.1
                         for i, b in enumerate(signal_branches))
        dims = tuple({0: batch, 1: torch.export.Dim(f"samples_{b.name}", min=plan.window - b.tail_start,
                                                    max=plan.window * 4096)} for b in signal_branches)
        _export(sig_mod, examples, dims, paths["signal"], {**props, "uwac.split_role": "signal"},
                inputs=[b.audio_input for b in signal_branches], outputs=[b.input for b in signal_branches])
    signals = dict(zip((b.input for b in signal_branches), window_signals, strict=True))
    examples, dims = [], []
    for i, b in enumerate(plan.branches):
        if b.signal_rate:
            x = signals[b.input]
            examples.append(torch.cat([x, x[..., :13 * (i + 1)]], dim=-1))
            dims.append({0: batch, x.dim() - 1: torch.export.Dim(f"{b.name}_signal_samples", min=b.kept(),
                                                                  max=b.signal_length * 4096)})
        else:
            examples.append(torch.randn(2, plan.window + 1000 + 97 * i) * 0.1)
            dims.append({0: batch, 1: torch.export.Dim(f"samples_{b.name}", min=branch_min_samples(fe, b.name),
                                                       max=plan.window * 4096)})
    _export(frames_mod, tuple(examples), tuple(dims), paths["frames"], {**props, "uwac.split_role": "frames"},
            inputs=[b.input for b in plan.branches], outputs=[b.output for b in plan.branches])
    with torch.no_grad():
        window_frames = frames_mod(*[signals.get(b.input, torch.randn(2, plan.window) * 0.1) for b in plan.branches])
    _export(head_mod, window_frames, tuple({0: batch} for _ in plan.branches), paths["head"],
            {**props, "uwac.split_role": "head"}, inputs=[b.output for b in plan.branches],
            outputs=list(OUTPUTS) + (["physics"] if physics else []))


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
    paths = {role: path for role, path in pair_paths(reference).items() if role in plan.roles()}
    stale = pair_paths(reference)["signal"]
    if "signal" not in paths and stale.exists():
        stale.unlink()  # an older export's signal stage would not match these graphs
    export_pair(model, fe, plan, paths, physics=physics)
    split = load_split(reference, session, info)
    worst = stitch_check(session, split)
    if worst > tolerance:
        for path in paths.values():
            path.rename(path.with_suffix(".failed-parity.onnx"))
        raise RuntimeError(f"the streaming pair disagrees with {reference} by {worst:.2e} in probability "
                           f"(> {tolerance}); kept as *.failed-parity.onnx for inspection")
    return {**{role: str(path) for role, path in paths.items()}, "step_seconds": plan.step / fe.sample_rate,
            "bytes": {role: p.stat().st_size for role, p in paths.items()},
            "new_frames_per_step": {b.name: f"{b.new} of {b.frames}" for b in plan.branches},
            "max_abs_prob_diff_vs_whole": worst}

