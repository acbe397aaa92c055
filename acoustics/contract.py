"""The ONNX model contract (DESIGN.md): what every exported uwac model promises, and loading it.

Input ``audio`` float32 ``[batch, samples]`` mono full scale at ``uwac.sample_rate``; outputs
``logits``, ``probabilities``, ``embedding``; metadata keys below. Used by ``uwac evaluate``,
the streaming daemon and the tests, so what is measured is what ships.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from acoustics.providers import DEFAULT_THREADS
from acoustics.providers import resolve as resolve_providers

INPUT = "audio"
OUTPUTS = ("logits", "probabilities", "embedding")
OPTIONAL_OUTPUTS = ("physics",)  # the ear's physics estimates [batch, fields]; fields named in ``uwac.physics``
METADATA_KEYS = ("uwac.classes", "uwac.sample_rate", "uwac.window_seconds", "uwac.hop_seconds", "uwac.frontend",
                 "uwac.model", "uwac.version", "uwac.training", "uwac.unknown_threshold")
OPSET = 18


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


def parse_metadata(props: dict[str, str], path: str = "") -> ModelInfo:
    """Validate and decode ``uwac.*`` metadata props."""
    missing = [k for k in METADATA_KEYS if k not in props]
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


def load_session(path: str | Path, *, threads: int = DEFAULT_THREADS, providers: str | list[str] | None = None,
                 allow_rejected: bool = False):
    """(onnxruntime session, ModelInfo) for a model file, with a clear error for every failure.

    ``providers``: short names (``cpu``, ``cuda``, ``tensorrt``, ``openvino``, ``auto``) or onnxruntime's; ones
    this build lacks fall back to CPU with a log line (``acoustics.providers``). ``threads``: intra-op threads.
    A variant that failed its quality gate against fp32 (``uwac.variant`` status ``rejected``) is refused
    unless ``allow_rejected``.
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
    if info.rejected and not allow_rejected:
        gate = info.variant.get("gate", {})
        raise ModelError(f"{path}: this {info.variant.get('precision', 'reduced')} variant was rejected by its quality "
                         f"gate against fp32 (macro-F1 change {gate.get('macro_f1_delta')}, worst class recall change "
                         f"{gate.get('worst_recall_delta')}); use the fp32 file, or pass --allow-rejected to run it "
                         "anyway")
    return session, info


def run_batch(session, audio: np.ndarray) -> dict[str, np.ndarray]:
    """Score ``audio [batch, samples]`` float32; returns the named outputs (the three of the contract, and
    ``physics`` when the model has it)."""
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    if audio.ndim != 2:
        raise ValueError(f"audio must be [batch, samples], got shape {audio.shape}")
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, {INPUT: audio}), strict=True))


def physics_estimates(info: ModelInfo, physics: np.ndarray) -> list[dict[str, float]]:
    """One ``{field: value}`` per row of a model's ``physics`` output (fields from ``uwac.physics``)."""
    fields = info.physics.get("fields", [])
    return [{f: float(v) for f, v in zip(fields, row, strict=True)} for row in np.asarray(physics)]
