"""``uwac export``: a trained run → one ONNX file with the front-end inside the graph.

Dynamo exporter with ``dynamic_shapes`` (batch and samples), opset pinned to 18 (DESIGN.md
pitfalls), metadata props per the model contract, then a parity check of onnxruntime against
torch on the spot, so a broken file is never written silently.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import numpy as np
import torch

from uwac.acoustics import __version__
from uwac.acoustics.contract import OPSET, OUTPUTS, load_session, run_batch
from uwac.acoustics.split_model import pair_paths
from uwac.export.onnx_file import save_with_metadata
from uwac.export.stream_split import export_split
from uwac.training.checkpoint import load_checkpoint
from uwac.training.config import config_to_dict, min_window_samples
from uwac.training.models import Classifier
from uwac.training.models.classifier import PHYSICS_DOC, PHYSICS_FIELDS, PhysicsReadout, WithPhysics

log = logging.getLogger(__name__)
# The exporter warns about torchvision ops it cannot register; uwac uses none of them.
logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)

DEFAULT_UNKNOWN_THRESHOLD = 0.5  # below this top probability the daemon reports "unknown"


def metadata_props(cfg, state: dict, n_params: int, unknown_threshold: float) -> dict[str, str]:
    """The contract's ``uwac.*`` metadata as strings (JSON where structured); this fp32 file is the reference."""
    val = state.get("metrics", {}).get("val", {})
    training = {  # the training fingerprint: which data, which settings, which code
        "manifest_sha256": state.get("manifest_sha256"),
        "epoch": state.get("epoch"),
        "seed": cfg.seed,
        "config_name": cfg.name,
        "config": config_to_dict(cfg),
        "code_version": state.get("code_version", __version__),
        "protocol": state.get("protocol"),
        "val_window_macro_f1": val.get("window", {}).get("macro_f1"),
        "val_recording_macro_f1": val.get("recording", {}).get("macro_f1"),
    }
    model = {"name": cfg.model.name, "parameters": n_params, "config": vars(cfg.model).copy()}
    extra = {}
    if cfg.model.name == "ear":  # the ear scores any input of at least one LOFAR/DEMON frame
        extra["uwac.min_seconds"] = repr(min_window_samples(cfg.frontend) / cfg.frontend.sample_rate)
    return {
        "uwac.classes": json.dumps(list(cfg.classes)),
        "uwac.sample_rate": str(cfg.frontend.sample_rate),
        "uwac.window_seconds": repr(float(cfg.data.window_seconds)),
        "uwac.hop_seconds": repr(float(cfg.data.hop_seconds)),
        "uwac.frontend": json.dumps(cfg.frontend.to_dict()),
        "uwac.model": json.dumps(model),
        "uwac.version": __version__,
        "uwac.training": json.dumps(training),
        "uwac.unknown_threshold": repr(float(unknown_threshold)),
        "uwac.calibration": json.dumps({k: v for k, v in (state.get("calibration") or {}).items() if k != "reliability_after"}),
        # the fp32 file is the reference every reduced-precision variant is gated against (export/variants.py)
        "uwac.variant": json.dumps({"precision": "fp32", "shape": "dynamic", "status": "reference"}),
        **extra,
    }


def export_onnx(model: torch.nn.Module, path: str | Path, *, window_samples: int, props: dict[str, str],
                fixed_batch: int | None = None, min_samples: int | None = None, physics: bool = False) -> Path:
    """Export ``model`` (eval mode; audio -> logits, probabilities, embedding) at opset 18.

    ``model`` is a :class:`Classifier` or a wrapper of one (the fp16 variant; :class:`WithPhysics`, whose fourth
    output ``physics`` is exported when ``physics``). Batch and samples are dynamic
    (samples ≥ ``min_samples``, default one window) unless ``fixed_batch`` is given: then the input is static
    ``[fixed_batch, window_samples]``, for NPU toolchains that refuse dynamic dimensions.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    if fixed_batch is None:
        # long enough for ≥ 2 LOFAR/DEMON frames even when a window holds one: torch.export specialises a size-1 dim
        example = torch.randn(2, max(window_samples, 2 * (min_samples or 0)) + 1234) * 0.1
        batch = torch.export.Dim("batch", min=1, max=4096)
        samples = torch.export.Dim("samples", min=min_samples or window_samples, max=window_samples * 4096)
        dynamic_shapes = ({0: batch, 1: samples},)
    else:
        if fixed_batch < 1:
            raise ValueError(f"fixed_batch must be ≥ 1, got {fixed_batch}")
        example = torch.randn(fixed_batch, window_samples) * 0.1
        dynamic_shapes = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(model, (example,), dynamo=True, opset_version=OPSET,
                                    input_names=["audio"], output_names=list(OUTPUTS) + (["physics"] if physics else []),
                                    dynamic_shapes=dynamic_shapes, verbose=False)
    return save_with_metadata(program, path, props)


def export_min_samples(cfg) -> int:
    """The shortest input an exported model of ``cfg`` takes: one LOFAR/DEMON frame for the ear, else one window."""
    return min_window_samples(cfg.frontend) if cfg.model.name == "ear" else cfg.window_samples()


def parity(model: Classifier, path: str | Path, *, window_samples: int, seed: int = 0) -> float:
    """Max |Δprobability| (and |Δ| of the physics readout's probabilities, when exported) between onnxruntime and
    torch on random batches of three lengths."""
    session, _ = load_session(path)
    readout = PhysicsReadout(model.physics).eval() if model.physics is not None else None
    rng = np.random.default_rng(seed)
    worst = 0.0
    for batch, n in ((1, window_samples), (3, window_samples + 4321), (5, 2 * window_samples)):
        x = (rng.standard_normal((batch, n)) * 0.05).astype(np.float32)
        with torch.no_grad():
            _, ref, emb = model(torch.from_numpy(x))
        got = run_batch(session, x)
        worst = max(worst, float(np.abs(got["probabilities"] - ref.numpy()).max()))
        if readout is not None and "physics" in got:
            with torch.no_grad():
                phys = readout(emb).numpy()
            probs = [i for i, f in enumerate(PHYSICS_FIELDS) if f not in ("shaft_hz", "blades")]
            worst = max(worst, float(np.abs(got["physics"][:, probs] - phys[:, probs]).max()))
    return worst


def _add_physics_test(props: dict[str, str], run: str | Path) -> None:
    """Put the physics heads' test-split accuracy (the run's metrics.json, written after the checkpoint) into
    ``uwac.training``, so the model file and its card carry them."""
    run = Path(run)
    metrics = (run if run.is_dir() else run.parent) / "metrics.json"
    if not metrics.is_file():
        return
    physics_test = json.loads(metrics.read_text()).get("physics_test")
    if physics_test:
        training = json.loads(props["uwac.training"])
        training["physics_test"] = physics_test
        props["uwac.training"] = json.dumps(training)


def export_run(run: str | Path, out: str | Path, *, unknown_threshold: float | None = None,
               tolerance: float = 1e-4, split: bool = False) -> dict:
    """Export a run's best checkpoint to ``out`` and verify it; returns a small report.

    ``unknown_threshold`` None: the one chosen on validation at calibration (``DEFAULT_UNKNOWN_THRESHOLD``
    for an uncalibrated checkpoint). ``split``: also write the streaming pair beside ``out`` when the model is
    the physics ear (``export/stream_split.py``); a pair left from an earlier export is removed either way.
    """
    model, cfg, state = load_checkpoint(run)
    if unknown_threshold is None:
        unknown_threshold = (state.get("calibration") or {}).get("unknown_threshold", DEFAULT_UNKNOWN_THRESHOLD)
    n_params = sum(p.numel() for p in model.parameters())
    props = metadata_props(cfg, state, n_params, unknown_threshold)
    physics = model.physics is not None
    if physics:
        props["uwac.physics"] = json.dumps({"fields": list(PHYSICS_FIELDS), **PHYSICS_DOC})
        _add_physics_test(props, run)
    path = export_onnx(WithPhysics(model) if physics else model, out, window_samples=cfg.window_samples(), props=props,
                       min_samples=export_min_samples(cfg), physics=physics)
    worst = parity(model, path, window_samples=cfg.window_samples())
    if worst > tolerance:
        path.rename(path.with_suffix(".failed-parity.onnx"))
        raise RuntimeError(f"exported model disagrees with torch by {worst:.2e} in probability (> {tolerance}); "
                           f"kept as {path.with_suffix('.failed-parity.onnx')} for inspection")
    report = {"model": str(path), "bytes": path.stat().st_size, "opset": OPSET, "parameters": n_params,
              "max_abs_prob_diff_vs_torch": worst, "classes": list(cfg.classes)}
    for stale in pair_paths(path).values():
        stale.unlink(missing_ok=True)
    if split and cfg.model.name == "ear":
        report["split"] = export_split(model, cfg.frontend, path, physics=physics)
    path.with_suffix(".export.json").write_text(json.dumps(report, indent=2))
    return report
