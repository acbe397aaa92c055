"""The quality gate: a reduced-precision variant ships only if it scores like its fp32 reference.

Both files run through onnxruntime on CPU, on the same windows: every window on the hop grid of the
run's VALIDATION split (never test, which stays untouched for the final report). The gate compares
argmax agreement, window macro-F1 and per-class recall; a variant that loses more than
:data:`MAX_MACRO_F1_DROP` macro-F1 or more than :data:`MAX_RECALL_DROP` recall in any class is
``rejected`` (``acoustics.contract.load_session`` then refuses it unless ``allow_rejected``), else
``passed``. The verdict is written into the variant's ``uwac.variant`` metadata (graph unchanged).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from tqdm import tqdm

from uwac.acoustics.contract import file_sha256, load_session, run_batch
from uwac.acoustics.evaluation.metrics import classification_metrics
from uwac.acoustics.manifest import read_manifest
from uwac.training.config import TrainConfig, config_from_dict
from uwac.training.data import SplitAudio, load_split

MAX_MACRO_F1_DROP = 0.01  # window macro-F1, absolute
MAX_RECALL_DROP = 0.05    # per-class window recall, absolute
GATE_SPLIT = "val"
_EPS = 1e-9  # deltas are ratios of window counts; keep float noise from deciding a verdict


def run_folder(run: str | Path) -> Path:
    """The run folder of a run folder or of a checkpoint ``.pt`` inside one."""
    run = Path(run)
    return run.parent if run.is_file() else run


def split_audio(run: str | Path, split: str, *, cfg: TrainConfig) -> SplitAudio:
    """The spans of one split of the run's ``manifest.csv`` at the model rate; a clear error if there are none."""
    manifest = run_folder(run) / "manifest.csv"
    if not manifest.is_file():
        raise FileNotFoundError(f"{manifest} not found: the variants need the run folder `uwac train` wrote "
                                "(its manifest.csv says which recordings are train and val)")
    rows = [r for r in read_manifest(manifest) if r.split == split]
    if not rows:
        raise ValueError(f"{manifest} has no {split!r} rows; the variants need the run's own {split} split")
    audio = load_split(rows, cfg, desc=split, cache_dir=cfg.data.cache_dir)
    if not len(audio.spans):
        raise ValueError(f"{manifest}: none of the {len(rows)} {split!r} span(s) is usable "
                         f"({'; '.join(audio.skipped[:3])})")
    return audio


def read_props(path: str | Path) -> dict[str, str]:
    """A model file's metadata props (without loading its weights)."""
    proto = onnx.load(str(path), load_external_data=False)
    return {p.key: p.value for p in proto.metadata_props}


def write_variant(path: str | Path, variant: dict) -> None:
    """Rewrite the ``uwac.variant`` metadata prop of a model file in place; the graph is unchanged."""
    proto = onnx.load(str(path))
    kept = [(p.key, p.value) for p in proto.metadata_props if p.key != "uwac.variant"]
    del proto.metadata_props[:]
    for key, value in [*kept, ("uwac.variant", json.dumps(variant))]:
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save_model(proto, str(path))


def score_windows(session, audio: SplitAudio, cfg: TrainConfig, *, batch_size: int = 32,
                  desc: str = "gate") -> np.ndarray:
    """Probabilities ``[windows, classes]`` for every hop-grid window of ``audio``, in ``grid_windows`` order.

    A file with a static batch dimension (the fixed-shape variant) is fed batches of exactly that size,
    the last one padded with silence and the padding dropped.
    """
    fixed = session.get_inputs()[0].shape[0]
    size = fixed if isinstance(fixed, int) else batch_size
    windows = audio.grid_windows(cfg)
    out = []
    for i in tqdm(range(0, len(windows), size), desc=desc, unit="batch", leave=False):
        chunk = [audio.window(s, start, cfg) for s, start in windows[i: i + size]]
        n = len(chunk)
        if isinstance(fixed, int) and n < size:
            chunk += [np.zeros_like(chunk[0])] * (size - n)
        out.append(run_batch(session, np.stack(chunk))["probabilities"][:n])
    return np.concatenate(out) if out else np.zeros((0, len(cfg.classes)), dtype=np.float32)


@dataclass
class GateData:
    """The validation windows and the fp32 reference's probabilities on them, scored once for every variant."""

    reference: Path
    reference_sha256: str
    cfg: TrainConfig
    audio: SplitAudio
    labels: np.ndarray     # class index per window
    probs: np.ndarray      # fp32 probabilities per window


def prepare(reference: str | Path, *, run: str | Path) -> GateData:
    """Score the fp32 ``reference`` on the run's validation windows (its config comes from its own metadata)."""
    reference = Path(reference)
    session, info = load_session(reference)
    cfg = config_from_dict(info.training["config"])
    audio = split_audio(run, GATE_SPLIT, cfg=cfg)
    labels = np.asarray([audio.labels[s] for s, _ in audio.grid_windows(cfg)], dtype=np.int64)
    probs = score_windows(session, audio, cfg, desc=f"gate: {reference.name}")
    return GateData(reference, file_sha256(reference), cfg, audio, labels, probs)


def compare(reference_probs: np.ndarray, variant_probs: np.ndarray, labels: np.ndarray, classes: list[str], *,
            max_macro_f1_drop: float = MAX_MACRO_F1_DROP, max_recall_drop: float = MAX_RECALL_DROP) -> dict:
    """Gate numbers of a variant against its reference on the same labelled windows, with the verdict.

    Deltas are variant − reference (negative = the variant is worse). Recall is compared only for
    classes present in ``labels``; ``worst_recall_delta`` is the most negative of them.
    """
    if reference_probs.shape != variant_probs.shape or len(labels) != len(reference_probs):
        raise ValueError(f"gate: reference {reference_probs.shape}, variant {variant_probs.shape} and "
                         f"{len(labels)} labels do not describe the same windows")
    if not len(labels):
        raise ValueError("gate: no validation windows to compare on")
    ref_pred, var_pred = reference_probs.argmax(1), variant_probs.argmax(1)
    ref_m = classification_metrics(labels, ref_pred, classes)
    var_m = classification_metrics(labels, var_pred, classes)
    recall_delta = {c: var_m["per_class"][c]["recall"] - ref_m["per_class"][c]["recall"]
                    for c in ref_m["classes_scored"]}
    worst_class = min(recall_delta, key=recall_delta.get)
    f1_delta = var_m["macro_f1"] - ref_m["macro_f1"]
    rejected = -f1_delta > max_macro_f1_drop + _EPS or -recall_delta[worst_class] > max_recall_drop + _EPS
    return {
        "split": GATE_SPLIT,
        "windows": int(len(labels)),
        "agreement": float((ref_pred == var_pred).mean()),
        "max_abs_probability_diff": float(np.abs(variant_probs - reference_probs).max()),
        "macro_f1_reference": ref_m["macro_f1"],
        "macro_f1_variant": var_m["macro_f1"],
        "macro_f1_delta": f1_delta,
        "recall_delta": recall_delta,
        "worst_recall_delta": recall_delta[worst_class],
        "worst_recall_class": worst_class,
        "limits": {"max_macro_f1_drop": max_macro_f1_drop, "max_recall_drop": max_recall_drop},
        "status": "rejected" if rejected else "passed",
    }


def gate_variant(path: str | Path, data: GateData, *, max_macro_f1_drop: float = MAX_MACRO_F1_DROP,
                 max_recall_drop: float = MAX_RECALL_DROP) -> dict:
    """Gate the variant file at ``path`` against ``data`` and stamp the verdict into its ``uwac.variant``.

    Returns the file's new ``uwac.variant`` (precision, shape, reference and its SHA-256, gate, status).
    A file gated before (even rejected) is re-gated from scratch.
    """
    path = Path(path)
    session, info = load_session(path, allow_rejected=True)
    if list(info.classes) != list(data.cfg.classes):
        raise ValueError(f"{path}: classes {list(info.classes)} differ from the reference's "
                         f"{list(data.cfg.classes)}")
    probs = score_windows(session, data.audio, data.cfg, desc=f"gate: {path.name}")
    gate = compare(data.probs, probs, data.labels, list(data.cfg.classes),
                   max_macro_f1_drop=max_macro_f1_drop, max_recall_drop=max_recall_drop)
    variant = {**info.variant, "reference": data.reference.name, "reference_sha256": data.reference_sha256,
               "gate": {k: v for k, v in gate.items() if k != "status"}, "status": gate["status"]}
    write_variant(path, variant)
    return variant
