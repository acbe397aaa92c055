"""The ONNX model contract (DESIGN.md): what every exported uwac model promises, and loading it.

Input ``audio`` float32 ``[batch, samples]`` mono full scale at ``uwac.sample_rate``; outputs
``logits``, ``probabilities``, ``embedding``; metadata keys below. Used by ``uwac evaluate``,
the streaming daemon and the tests, so what is measured is what ships.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from uwac.acoustics.providers import DEFAULT_THREADS
from uwac.acoustics.providers import resolve as resolve_providers

INPUT = "audio"
OUTPUTS = ("logits", "probabilities", "embedding")
OPTIONAL_OUTPUTS = ("physics",)  # the ear's physics estimates [batch, fields]; fields named in ``uwac.physics``
METADATA_KEYS = ("uwac.classes", "uwac.sample_rate", "uwac.window_seconds", "uwac.hop_seconds", "uwac.frontend",
                 "uwac.model", "uwac.version", "uwac.training", "uwac.unknown_threshold")
OPSET = 18
# Largest window a loaded model may ask for [samples]: 2**23 float32 samples = 32 MiB per channel and batch row
# (8.7 min at 16 kHz). A metadata window beyond it is a broken or hostile file, not a sonar model.
MAX_WINDOW_SAMPLES = 2**23
MAX_SAMPLE_RATE = 1_000_000  # Hz: above any hydrophone digitizer this project reads
PROBE_SEED = 0  # the load-time probe window: low-level Gaussian noise (std 1e-3 full scale), seeded


class ModelError(ValueError):
    """A model file that is missing, corrupt or breaks the contract; the message says which and what to do."""


@dataclass(frozen=True)
class ModelInfo:
    """The contract as read back from a model file's metadata."""

    path: str
    classes: tuple[str, ...]
    sample_rate: int
    window_seconds: float
    hop_seconds: float
    unknown_threshold: float
    frontend: dict
    model: dict
    training: dict
    version: str
    calibration: dict = field(default_factory=dict)  # temperature, unknown-threshold rule, validation ECE
    variant: dict = field(default_factory=dict)  # precision, shape, quality gate against fp32 (``uwac.variant``)
    min_seconds: float | None = None  # shortest input the model scores (``uwac.min_seconds``; default one window)
    physics: dict = field(default_factory=dict)  # the optional ``physics`` output's layout (``uwac.physics``)

    @property
    def rejected(self) -> bool:
        """True when the quality gate rejected this reduced-precision variant (``uwac.variant`` status)."""
        return self.variant.get("status") == "rejected"

    @property
    def window_samples(self) -> int:
        return int(round(self.window_seconds * self.sample_rate))

    @property
    def hop_samples(self) -> int:
        return int(round(self.hop_seconds * self.sample_rate))

    @property
    def min_samples(self) -> int:
        """Fewest samples one input may hold: ``uwac.min_seconds`` (one LOFAR frame for the physics ear) or a window."""
        if self.min_seconds is None:
            return self.window_samples
        return min(self.window_samples, int(math.ceil(self.min_seconds * self.sample_rate - 1e-6)))


def file_sha256(path: str | Path) -> str:
    """SHA-256 hex digest of a model file's bytes: variants and the streaming pair name by it the exact fp32 file
    they were gated against or cut from."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def parse_metadata(props: dict[str, str], path: str = "") -> ModelInfo:
    """Validate and decode ``uwac.*`` metadata props."""
    missing = [k for k in METADATA_KEYS if k not in props]
    if missing and "uwac.split" in props:
        raise ModelError(f"{path}: the {props.get('uwac.split_role', 'one')} half of a model's streaming pair, not a "
                         "model; pass the whole model file beside it (M.onnx), which finds its pair itself")
    if missing:
        raise ModelError(f"{path}: not a uwac model: metadata lacks {', '.join(missing)}; export it with `uwac export`")
    try:
        return ModelInfo(
            path=str(path),
            classes=tuple(json.loads(props["uwac.classes"])),
            sample_rate=int(props["uwac.sample_rate"]),
            window_seconds=float(props["uwac.window_seconds"]),
            hop_seconds=float(props["uwac.hop_seconds"]),
            unknown_threshold=float(props["uwac.unknown_threshold"]),
            frontend=json.loads(props["uwac.frontend"]),
            model=json.loads(props["uwac.model"]),
            training=json.loads(props["uwac.training"]),
            version=props["uwac.version"],
            calibration=json.loads(props.get("uwac.calibration") or "{}"),
            variant=json.loads(props.get("uwac.variant") or "{}"),
            min_seconds=float(props["uwac.min_seconds"]) if props.get("uwac.min_seconds") else None,
            physics=json.loads(props.get("uwac.physics") or "{}"),
        )
    except (ValueError, TypeError) as exc:
        raise ModelError(f"{path}: malformed uwac metadata ({exc}); re-export the model") from exc


def check_metadata(info: ModelInfo) -> None:
    """Raise :class:`ModelError` when the metadata cannot drive scoring: classes (≥ 2 distinct non-empty
    names), rate (0 < Hz ≤ :data:`MAX_SAMPLE_RATE`), window ≥ hop ≥ 1 sample, window
    within :data:`MAX_WINDOW_SAMPLES`, unknown threshold in [0, 1], min_seconds positive. The daemon meets these
    at start-up and on SIGHUP, so a file that passes cannot divide by zero or exhaust memory at the first hop."""
    where = f"{info.path}: uwac metadata"
    fix = "; re-export the model with `uwac export`"
    if len(info.classes) < 2 or len(set(info.classes)) != len(info.classes) or \
            not all(isinstance(c, str) and c for c in info.classes):
        raise ModelError(f"{where} classes {list(info.classes)}: need at least two distinct non-empty names{fix}")
    if not 0 < info.sample_rate <= MAX_SAMPLE_RATE:
        raise ModelError(f"{where} sample_rate {info.sample_rate} Hz: must lie in 1..{MAX_SAMPLE_RATE}{fix}")
    for name, v in (("window_seconds", info.window_seconds), ("hop_seconds", info.hop_seconds)):
        if not math.isfinite(v) or v <= 0:
            raise ModelError(f"{where} {name} {v}: must be a positive number of seconds{fix}")
    if info.hop_samples < 1:
        raise ModelError(f"{where} hop_seconds {info.hop_seconds} is under one sample at {info.sample_rate} Hz{fix}")
    if info.window_samples < info.hop_samples:
        raise ModelError(f"{where} window {info.window_seconds} s is shorter than its hop {info.hop_seconds} s "
                         f"(windows must cover the stream){fix}")
    if info.window_samples > MAX_WINDOW_SAMPLES:
        raise ModelError(f"{where} window {info.window_seconds} s = {info.window_samples} samples exceeds the "
                         f"{MAX_WINDOW_SAMPLES}-sample memory budget{fix}")
    if not 0.0 <= info.unknown_threshold <= 1.0:
        raise ModelError(f"{where} unknown_threshold {info.unknown_threshold}: must lie in [0, 1]{fix}")
    if info.min_seconds is not None and not (math.isfinite(info.min_seconds) and info.min_seconds > 0):
        raise ModelError(f"{where} min_seconds {info.min_seconds}: must be a positive number of seconds{fix}")


def probe(session, info: ModelInfo) -> None:
    """Score one window of low-level noise and check the graph agrees with the metadata: ``logits`` and
    ``probabilities`` one row of ``len(classes)`` finite values, probabilities summing to 1, ``physics`` as wide
    as its named fields. Raises :class:`ModelError` naming the disagreement."""
    x = (1e-3 * np.random.default_rng(PROBE_SEED).standard_normal((1, info.window_samples))).astype(np.float32)
    try:
        out = run_batch(session, x)
    except Exception as exc:  # onnxruntime's own error types: shape mismatch, bad graph
        raise ModelError(f"{info.path}: the graph fails on one {info.window_seconds} s window at {info.sample_rate} Hz "
                         f"({str(exc).splitlines()[0]}); its metadata does not match it: re-export it") from exc
    n = len(info.classes)
    for name in ("logits", "probabilities"):
        shape = tuple(np.shape(out[name]))
        if shape != (1, n):
            raise ModelError(f"{info.path}: output {name} has shape {shape} for one window but the metadata names "
                             f"{n} classes {list(info.classes)}; re-export the model")
        if not np.all(np.isfinite(out[name])):
            raise ModelError(f"{info.path}: output {name} is not finite on a low-level noise window; the graph is "
                             "broken: re-export it")
    if abs(float(np.sum(out["probabilities"])) - 1.0) > 1e-3:
        raise ModelError(f"{info.path}: probabilities sum to {float(np.sum(out['probabilities'])):.4f}, not 1; "
                         "the graph's last layer is not a softmax: re-export it")
    if "physics" in out and np.shape(out["physics"])[-1] != len(info.physics.get("fields", [])):
        raise ModelError(f"{info.path}: physics output width {np.shape(out['physics'])[-1]} differs from the "
                         f"{len(info.physics.get('fields', []))} fields in uwac.physics; re-export it")


def load_session(path: str | Path, *, threads: int = DEFAULT_THREADS, providers: str | list[str] | None = None,
                 allow_rejected: bool = False):
    """(onnxruntime session, ModelInfo) for a model file, with a clear error for every failure.

    ``providers``: short names (``cpu``, ``cuda``, ``tensorrt``, ``openvino``, ``auto``) or onnxruntime's; ones
    this build lacks fall back to CPU with a log line (``acoustics.providers``). ``threads``: intra-op threads.
    A variant that failed its quality gate against fp32 (``uwac.variant`` status ``rejected``) is refused
    unless ``allow_rejected``. The metadata is checked for sanity (:func:`check_metadata`) and against the graph
    (:func:`probe`: one window scored), so a file that loads scores.
    """
    import onnxruntime as ort

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file {path} not found; export one with `uwac export RUN --out {path}`")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, int(threads))
    opts.inter_op_num_threads = 1
    chosen = resolve_providers(providers)
    try:
        session = ort.InferenceSession(str(path), sess_options=opts, providers=chosen)
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
        raise ModelError(f"{path}: onnxruntime cannot load it ({str(exc).splitlines()[0]}); the file is corrupt, "
                         "truncated or not ONNX") from exc
    info = parse_metadata(session.get_modelmeta().custom_metadata_map, str(path))
    inputs = [i.name for i in session.get_inputs()]
    outputs = [o.name for o in session.get_outputs()]
    if inputs != [INPUT] or tuple(outputs[:len(OUTPUTS)]) != OUTPUTS or not set(outputs[len(OUTPUTS):]) <= set(
            OPTIONAL_OUTPUTS):
        raise ModelError(f"{path}: inputs {inputs} / outputs {outputs} break the contract "
                         f"(expected [{INPUT}] / {list(OUTPUTS)}, optionally followed by {list(OPTIONAL_OUTPUTS)})")
    if "physics" in outputs and not info.physics.get("fields"):
        raise ModelError(f"{path}: a physics output without uwac.physics metadata naming its fields; re-export it")
    check_metadata(info)
    if info.rejected and not allow_rejected:
        gate = info.variant.get("gate", {})
        raise ModelError(f"{path}: this {info.variant.get('precision', 'reduced')} variant was rejected by its quality "
                         f"gate against fp32 (macro-F1 change {gate.get('macro_f1_delta')}, worst class recall change "
                         f"{gate.get('worst_recall_delta')}); use the fp32 file, or pass --allow-rejected to run it "
                         "anyway")
    probe(session, info)
    return session, info


def run_batch(session, audio: np.ndarray) -> dict[str, np.ndarray]:
    """Score ``audio [batch, samples]`` float32; returns the named outputs (the three of the contract, and
    ``physics`` when the model has it)."""
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    if audio.ndim != 2:
        raise ValueError(f"audio must be [batch, samples], got shape {audio.shape}")
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, {INPUT: audio}), strict=True))


def short_clip_window(audio: np.ndarray, info: ModelInfo) -> np.ndarray | None:
    """The one window a span shorter than the model's window is scored as: the span repeated up to one full window,
    the length the model was trained on (a stationary sound keeps its spectrum and its lines; zero padding would add
    a level step). Measured on renders with the ear (6-s windows): 5-s crops of ambient scored as they are (the
    graph takes inputs down to ``uwac.min_seconds``) were called a vessel 19.5 % of the time, tiled to 6 s 4.9 %, with
    vessels kept (macro-F1 0.81 → 0.88; ``python bench/short_clips.py``). None for an empty span."""
    n = audio.shape[0]
    if n == 0:
        return None
    return np.resize(audio, info.window_samples)


def physics_estimates(info: ModelInfo, physics: np.ndarray) -> list[dict[str, float]]:
    """One ``{field: value}`` per row of a model's ``physics`` output (fields from ``uwac.physics``)."""
    fields = info.physics.get("fields", [])
    return [{f: float(v) for f, v in zip(fields, row, strict=True)} for row in np.asarray(physics)]
