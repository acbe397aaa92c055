"""A model's streaming graphs: signal, frames and head, loaded, checked, and stepped with a cache.

Two windows one *step* apart (a whole number of every front-end branch's frame hop) share all but their newest
LOFAR, DEMON and log-mel frames, and LOFAR and DEMON frames are cut from slower signals (the decimated audio,
the carrier bands' envelopes) whose samples are shared as well. ``uwac export`` writes, beside ``M.onnx``,
``M.signal.onnx`` (audio spans → the LOFAR and DEMON signals), ``M.frames.onnx`` (signals, and audio for the
log-mel → each branch's frames) and ``M.head.onnx`` (one window's frames → the contract's outputs); the
metadata key ``uwac.split`` says how they fit: the step, and per branch its frames per window, how many are new
per step, where in the window the audio for the new ones starts and, for a signal branch, the signal's rate and
where the new frames' signal span starts. A node that keeps the previous window's signals and frames
(:class:`FrameCache`) filters only its new audio and computes only the new frames; the whole file stays the
contract for everything else (evaluation, batch scoring). The graphs are refused unless they name the whole
file's SHA-256 and score two probe windows as the whole file does. (A pair exported before the signal stage,
frames and head only, still loads: its branches read audio spans.)
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from uwac.acoustics.contract import ModelError, ModelInfo, file_sha256, run_batch

log = logging.getLogger(__name__)
SPLIT_KEY = "uwac.split"
ROLES = ("signal", "frames", "head")
PROBE_TOLERANCE = 1e-4  # max |Δprobability| between the pair and the whole file on the load-time probe
PROBE_SEED = 1


@dataclass(frozen=True)
class SplitBranch:
    """One front-end branch of the streaming graphs: graph names, its frame axis (batch first), frames per window,
    frames new per step, and the first window sample the new part needs (the span [tail_start, window) yields
    the new frames, or for a signal branch the new signal samples).

    A signal branch (``signal_rate`` > 0) reads ``input`` (its signal) in the frames graph: ``signal_rate`` audio
    samples per signal sample, ``signal_length`` signal samples per window, and the new frames come from its
    span [signal_start, signal_length); the signal graph's input is ``audio_input``. ``signal_rate`` 0: the
    branch's frames graph input is the audio span itself."""

    name: str
    input: str
    output: str
    axis: int
    frames: int
    new: int
    tail_start: int
    audio_input: str = ""
    signal_rate: int = 0
    signal_length: int = 0
    signal_start: int = 0

    def kept(self) -> int:
        """Signal samples a stream keeps: the new frames' span."""
        return self.signal_length - self.signal_start


@dataclass(frozen=True)
class SplitPlan:
    """How the streaming graphs fit the whole model: ``step`` samples between windows, ``window`` per window."""

    step: int
    window: int
    reference_sha256: str
    branches: tuple[SplitBranch, ...]

    @property
    def signal_branches(self) -> tuple[SplitBranch, ...]:
        """The branches with a signal stage (``M.signal.onnx`` is needed when there is any)."""
        return tuple(b for b in self.branches if b.signal_rate > 0)

    def signal_new(self, branch: SplitBranch) -> int:
        """Signal samples new per step of a signal branch."""
        return self.step // branch.signal_rate

    def roles(self) -> tuple[str, ...]:
        """The graph files this plan needs."""
        return ROLES if self.signal_branches else ROLES[1:]

    def to_json(self) -> str:
        """The ``uwac.split`` metadata value."""
        return json.dumps({"step_samples": self.step, "window_samples": self.window,
                           "reference_sha256": self.reference_sha256,
                           "branches": [vars(b) for b in self.branches]})

    @classmethod
    def from_json(cls, text: str, where: str) -> SplitPlan:
        """Parse and check ``uwac.split``; :class:`ModelError` naming ``where`` when it is malformed."""
        try:
            d = json.loads(text)
            plan = cls(step=int(d["step_samples"]), window=int(d["window_samples"]),
                       reference_sha256=str(d["reference_sha256"]),
                       branches=tuple(SplitBranch(**b) for b in d["branches"]))
        except (ValueError, TypeError, KeyError) as exc:
            raise ModelError(f"{where}: malformed {SPLIT_KEY} metadata ({exc}); re-export the streaming graphs "
                             "with `uwac export RUN --out MODEL.onnx`") from exc
        if not plan.branches or not 0 < plan.step <= plan.window:
            raise ModelError(f"{where}: {SPLIT_KEY} step {plan.step} samples must lie in 1..window ({plan.window})")
        for b in plan.branches:
            if not (0 < b.new <= b.frames and 0 <= b.tail_start < plan.window and b.axis >= 1):
                raise ModelError(f"{where}: {SPLIT_KEY} branch {b.name!r} is inconsistent ({vars(b)}); re-export it")
            if b.signal_rate and not (plan.step % b.signal_rate == 0 and b.audio_input
                                      and 0 <= b.signal_start < b.signal_length
                                      and b.kept() >= plan.signal_new(b)):
                raise ModelError(f"{where}: {SPLIT_KEY} signal branch {b.name!r} is inconsistent ({vars(b)}); "
                                 "re-export it")
        return plan


def pair_paths(model: str | Path) -> dict[str, Path]:
    """``{"signal": M.signal.onnx, "frames": M.frames.onnx, "head": M.head.onnx}`` beside the whole model file
    ``M.onnx`` (a plan without signal branches needs only the last two)."""
    model = Path(model)
    return {role: model.with_name(f"{model.stem}.{role}.onnx") for role in ROLES}


class SplitModel:
    """The sessions of the streaming graphs (``signal`` None when the plan has no signal branch) and their
    :class:`SplitPlan`. Use :func:`load_split` to get one."""

    def __init__(self, frames, head, plan: SplitPlan, info: ModelInfo, paths: dict[str, Path], signal=None):
        self.signal, self.frames, self.head, self.plan, self.info, self.paths = signal, frames, head, plan, info, paths
        self.head_outputs = [o.name for o in head.get_outputs()]

    @property
    def step_seconds(self) -> float:
        """Seconds between the windows the graphs step over."""
        return self.plan.step / self.info.sample_rate

    def window_signals(self, audio: np.ndarray) -> dict[str, np.ndarray]:
        """The signal branches' signals of whole windows ``audio [batch, window]`` (float32, C order)."""
        branches = self.plan.signal_branches
        if not branches:
            return {}
        out = self.signal.run([b.input for b in branches], {b.audio_input: audio for b in branches})
        return dict(zip((b.input for b in branches), out, strict=True))

    def window_frames(self, audio: np.ndarray, signals: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        """Every branch's frames of whole windows ``audio [batch, window]`` (priming a cache); ``signals`` are
        the windows' :meth:`window_signals` when already computed."""
        audio = np.ascontiguousarray(audio, dtype=np.float32)
        signals = self.window_signals(audio) if signals is None else signals
        out = self.frames.run([b.output for b in self.plan.branches],
                              {b.input: signals.get(b.input, audio) for b in self.plan.branches})
        return dict(zip((b.output for b in self.plan.branches), out, strict=True))

    def score_frames(self, frames: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The head's outputs (the contract's names) for one window's frames per branch."""
        return dict(zip(self.head_outputs, self.head.run(self.head_outputs, frames), strict=True))


def _session(path: Path, *, threads: int, providers):
    """An onnxruntime session of one half of the pair, or :class:`ModelError` saying what is wrong."""
    import onnxruntime as ort

    from uwac.acoustics.providers import resolve as resolve_providers

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, int(threads))
    opts.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(path), sess_options=opts, providers=resolve_providers(providers))
    except Exception as exc:  # onnxruntime's own Fail/InvalidGraph types
        raise ModelError(f"{path}: onnxruntime cannot load it ({str(exc).splitlines()[0]}); re-export the pair "
                         "with `uwac export`") from exc


def _plan_of(session, path: Path) -> SplitPlan:
    """The :class:`SplitPlan` in a frames graph's metadata; :class:`ModelError` when it has none."""
    props = session.get_modelmeta().custom_metadata_map
    if SPLIT_KEY not in props:
        raise ModelError(f"{path}: no {SPLIT_KEY} metadata: not a uwac frames graph")
    return SplitPlan.from_json(props[SPLIT_KEY], str(path))


def read_plan(frames: str | Path) -> SplitPlan:
    """The plan of the frames graph ``frames`` (``M.frames.onnx``), without checking it against its model."""
    return _plan_of(_session(Path(frames), threads=1, providers=None), Path(frames))


def load_split(model: str | Path, session, info: ModelInfo, *, threads: int = 1,
               providers: str | list[str] | None = None) -> SplitModel | None:
    """The streaming graphs beside ``model`` (whose session and info are given), or None when there are none.

    Raises :class:`ModelError` when they are there but cannot serve this file: unreadable, incomplete, cut from
    another file (SHA-256), other windows, or scoring the probe windows differently (> :data:`PROBE_TOLERANCE`).
    """
    paths = pair_paths(model)
    if not any(p.exists() for p in paths.values()):
        return None
    missing = [str(paths[r]) for r in ("frames", "head") if not paths[r].is_file()]
    if not missing:
        frames = _session(paths["frames"], threads=threads, providers=providers)
        plan = _plan_of(frames, paths["frames"])
        missing = [str(paths[r]) for r in plan.roles() if not paths[r].is_file()]
    if missing:
        raise ModelError(f"{model}: streaming graphs incomplete, {', '.join(missing)} missing; re-export with "
                         "`uwac export RUN --out MODEL.onnx` or remove the others")
    sessions = {role: _session(paths[role], threads=threads, providers=providers) for role in plan.roles()
                if role != "frames"}
    for role, other in sessions.items():
        if _plan_of(other, paths[role]) != plan:
            raise ModelError(f"{paths[role]}: not exported with {paths['frames']} (their {SPLIT_KEY} plans differ); "
                             "re-export the streaming graphs with the model")
    if plan.reference_sha256 != file_sha256(model):
        raise ModelError(f"{paths['frames']}: cut from another model file than {model} (SHA-256 differs); "
                         "re-export the streaming graphs with the model")
    if plan.window != info.window_samples:
        raise ModelError(f"{paths['frames']}: windows of {plan.window} samples, the model's are "
                         f"{info.window_samples}; re-export the streaming graphs with the model")
    split = SplitModel(frames, sessions["head"], plan, info, {r: paths[r] for r in plan.roles()},
                       signal=sessions.get("signal"))
    probe_split(split, session)
    return split


def probe_split(split: SplitModel, session) -> float:
    """Score two probe windows one step apart whole and through a :class:`FrameCache` (primed, then stepped);
    returns max |Δprobability|, :class:`ModelError` above :data:`PROBE_TOLERANCE`."""
    plan = split.plan
    rng = np.random.default_rng(PROBE_SEED)
    n = plan.window + plan.step
    t = np.arange(n) / split.info.sample_rate
    audio = (1e-2 * rng.standard_normal(n) + 0.05 * np.sin(2 * np.pi * 97.0 * t)).astype(np.float32)
    windows = np.stack([audio[:plan.window], audio[plan.step:]])
    whole = run_batch(session, windows)["probabilities"]
    cache = FrameCache(split, 1)
    got = [cache.score(windows[i:i + 1], primed=i > 0)["probabilities"].copy() for i in range(2)]
    worst = float(np.abs(np.concatenate(got) - whole).max())
    if not worst <= PROBE_TOLERANCE:
        raise ModelError(f"{split.paths['frames']}: the streaming pair scores probe windows {worst:.2e} away from "
                         f"the whole model (> {PROBE_TOLERANCE}); re-export the pair with the model")
    return worst


class FrameCache:
    """Per-stream signals and frames of the last window for ``channels`` rows, and the IO bindings that step them.

    :meth:`score` takes the latest window of every channel ``[channels, window]`` (any strides): primed (the
    previous call scored the window exactly one step earlier) it filters only each signal branch's new audio
    into new signal samples, shifts them into the kept signal, computes the new frames from it (the log-mel's
    from its audio tail) and shifts those into the kept frames; otherwise it computes the whole window's signals
    and frames. Then the head runs on the kept frames into ``outputs`` (preallocated ``{name: [channels, ...]}``,
    the scorer's buffers) or into buffers of its own. A primed step allocates no arrays beyond onnxruntime's own.
    """

    def __init__(self, split: SplitModel, channels: int, outputs: dict[str, np.ndarray] | None = None):
        self.split, self.channels = split, int(channels)
        self.state: dict[str, np.ndarray] = {}
        self.signals: dict[str, np.ndarray] = {}  # kept signal span per signal branch, [channels, (bands,) kept]
        self.outputs = outputs
        self._tails: dict[int, np.ndarray] = {}  # one buffer per tail start, shared by branches that start there
        self._signal_binding = self._frames_binding = self._head_binding = None

    def _tail(self, start: int) -> np.ndarray:
        return self._tails.setdefault(start, np.zeros((self.channels, self.split.plan.window - start), np.float32))

    def _bind(self, signals: dict[str, np.ndarray], frames: dict[str, np.ndarray]) -> None:
        """Allocate the kept signals and frames, tails and new-sample buffers from a primed window, and bind the
        graphs."""
        plan = self.split.plan
        self.state = {b.output: np.ascontiguousarray(frames[b.output]) for b in plan.branches}
        self.signals = {b.input: np.ascontiguousarray(signals[b.input][..., b.signal_start:])
                        for b in plan.signal_branches}
        self._new_signal = {}
        if plan.signal_branches:
            binding = self.split.signal.io_binding()
            for b in plan.signal_branches:
                binding.bind_cpu_input(b.audio_input, self._tail(b.tail_start))
                shape = list(self.signals[b.input].shape)
                shape[-1] = plan.signal_new(b)
                self._new_signal[b.input] = new = np.zeros(shape, np.float32)
                binding.bind_output(b.input, "cpu", 0, np.float32, shape, new.ctypes.data)
            self._signal_binding = binding
        self._new, binding = {}, self.split.frames.io_binding()
        for b in plan.branches:
            binding.bind_cpu_input(b.input, self.signals[b.input] if b.signal_rate else self._tail(b.tail_start))
            shape = list(self.state[b.output].shape)
            shape[b.axis] = b.new
            self._new[b.output] = new = np.zeros(shape, np.float32)
            binding.bind_output(b.output, "cpu", 0, np.float32, shape, new.ctypes.data)
        self._frames_binding = binding
        if self.outputs is None:
            self.outputs = self._own_outputs()
        head = self.split.head.io_binding()
        for name, buf in self.state.items():
            head.bind_cpu_input(name, buf)
        for name in self.split.head_outputs:
            buf = self.outputs[name]
            head.bind_output(name, "cpu", 0, np.float32, list(buf.shape), buf.ctypes.data)
        self._head_binding = head

    def _own_outputs(self) -> dict[str, np.ndarray]:
        """Output buffers sized by one run of the head on the primed state."""
        return {k: np.zeros_like(v) for k, v in self.split.score_frames(self.state).items()}

    def score(self, windows: np.ndarray, *, primed: bool) -> dict[str, np.ndarray]:
        """Score the latest window of every channel; returns the output buffers (overwritten by the next call)."""
        if windows.shape != (self.channels, self.split.plan.window):
            raise ValueError(f"windows of shape {windows.shape}, the cache holds {self.channels} channel(s) of "
                             f"{self.split.plan.window} samples")
        if primed and self._frames_binding is not None:
            self._step(windows)
        else:
            audio = np.ascontiguousarray(windows, dtype=np.float32)
            signals = self.split.window_signals(audio)
            frames = self.split.window_frames(audio, signals)
            if self._frames_binding is None:
                self._bind(signals, frames)
            else:
                for name, buf in self.state.items():
                    np.copyto(buf, frames[name])
                for b in self.split.plan.signal_branches:
                    np.copyto(self.signals[b.input], signals[b.input][..., b.signal_start:])
        self.split.head.run_with_iobinding(self._head_binding)
        return self.outputs

    def _step(self, windows: np.ndarray) -> None:
        """New signal samples from each signal branch's new audio and new frames from the kept signals (the
        log-mel's from its audio tail), each shifted in."""
        for start, tail in self._tails.items():
            np.copyto(tail, windows[:, start:])
        if self._signal_binding is not None:
            self.split.signal.run_with_iobinding(self._signal_binding)
            for name, kept in self.signals.items():
                n = self._new_signal[name].shape[-1]
                np.copyto(kept[..., :-n], kept[..., n:])
                np.copyto(kept[..., -n:], self._new_signal[name])
        self.split.frames.run_with_iobinding(self._frames_binding)
        for b in self.split.plan.branches:
            state, ndim = self.state[b.output], self.state[b.output].ndim
            keep = [slice(None)] * ndim
            dst, src, last = list(keep), list(keep), list(keep)
            dst[b.axis], src[b.axis], last[b.axis] = slice(0, b.frames - b.new), slice(b.new, None), slice(-b.new, None)
            np.copyto(state[tuple(dst)], state[tuple(src)])
            np.copyto(state[tuple(last)], self._new[b.output])
