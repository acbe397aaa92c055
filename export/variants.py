"""Reduced-precision and fixed-shape variants of an exported fp32 model, each gated against it.

- ``fp16``: the front-end stays fp32 (|STFT|² overflows half precision: DESIGN.md pitfalls), the network
  runs in fp16; input ``audio`` and the three outputs stay float32, so the contract is unchanged.
- ``int8``: static QDQ quantisation, int8 weights per channel, int8 activations calibrated on windows of
  the run's TRAIN split only (validation gates the file, test stays untouched). The front-end, the
  network's first Conv and the classifier tail (head, temperature, softmax) stay float, so the audio
  feature scale and the calibrated probabilities are not snapped to 8-bit steps.
- ``fixed``: fp32 with a static input ``[batch, window_samples]`` for NPU toolchains without dynamic shapes.

Every file carries the fp32 file's ``uwac.*`` metadata plus ``uwac.variant`` (precision, shape, the fp32
file's name and SHA-256, the quality gate and its verdict, ``export/quality_gate.py``).
:func:`export_variants` writes them next to the fp32 file as ``<stem>.<variant>.onnx`` with a report
``<stem>.variants.md`` / ``.variants.json``.
"""

from __future__ import annotations

import copy
import json
import logging
import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process
from torch import nn

from uwac.acoustics.contract import parse_metadata
from uwac.export import quality_gate
from uwac.export.onnx_export import export_min_samples, export_onnx
from uwac.export.ort_profile import module_path
from uwac.training.checkpoint import load_checkpoint
from uwac.training.config import TrainConfig, config_from_dict
from uwac.training.models import Classifier
from uwac.training.models.classifier import WithPhysics

log = logging.getLogger(__name__)

VARIANTS = ("fp16", "int8", "fixed")
CALIBRATION_SPLIT = "train"  # never val (it gates the variant) nor test (it reports the model)
DEFAULT_CALIBRATION_WINDOWS = 256
CALIBRATION_BATCH = 16  # windows per onnxruntime call while calibrating


class HalfPrecisionClassifier(nn.Module):
    """A :class:`Classifier` with the network in fp16 and everything audio-facing in fp32.

    ``forward(audio float32) -> (logits, probabilities, embedding)``, all float32: the front-end's features (the
    log-mel, or every branch of the ear) are cast to half before the network, its outputs back to float before
    the temperature softmax.
    """

    def __init__(self, model: Classifier):
        super().__init__()
        self.frontend = copy.deepcopy(model.frontend).float()
        self.net = copy.deepcopy(model.net).half()
        self.register_buffer("temperature", model.temperature.detach().clone().float())

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        features = self.frontend(audio)
        half = {k: v.half() for k, v in features.items()} if isinstance(features, dict) else features.half()
        logits, embedding = self.net(half)
        logits = logits.float()
        return logits, torch.softmax(logits / self.temperature, dim=-1), embedding.float()


def variant_path(reference: str | Path, variant: str) -> Path:
    """``<stem>.<variant>.onnx`` next to the fp32 ``reference``."""
    reference = Path(reference)
    return reference.with_name(f"{reference.stem}.{variant}.onnx")


def variant_props(reference: str | Path, *, precision: str, shape: str, **extra) -> dict[str, str]:
    """Every ``uwac.*`` prop of the fp32 ``reference`` plus a fresh, not yet gated ``uwac.variant``."""
    reference = Path(reference)
    props = {k: v for k, v in quality_gate.read_props(reference).items()
             if k.startswith("uwac.") and k != "uwac.variant"}
    variant = {"precision": precision, "shape": shape, "reference": reference.name,
               "reference_sha256": quality_gate.file_sha256(reference), **extra, "gate": None, "status": "ungated"}
    return {**props, "uwac.variant": json.dumps(variant)}


def _set_props(proto: onnx.ModelProto, props: dict[str, str]) -> None:
    del proto.metadata_props[:]
    for key, value in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value


def _same_checkpoint(reference: str | Path, state: dict) -> None:
    """Refuse to re-export from a checkpoint other than the one the fp32 reference came from."""
    training = json.loads(quality_gate.read_props(reference).get("uwac.training") or "{}")
    mine = {"manifest_sha256": state.get("manifest_sha256"), "epoch": state.get("epoch")}
    theirs = {k: training.get(k) for k in mine}
    if mine != theirs:
        raise ValueError(f"the run's checkpoint ({mine}) is not the one {Path(reference).name} was exported from "
                         f"({theirs}); export the fp32 file from this run first")


def export_fp16(run: str | Path, out: str | Path, *, reference: str | Path) -> Path:
    """Export the run's best checkpoint with an fp16 network and fp32 front-end to ``out`` (not yet gated); for
    GPU providers, it carries the contract's three outputs, not the physics estimates."""
    model, cfg, state = load_checkpoint(run)
    _same_checkpoint(reference, state)
    props = variant_props(reference, precision="fp16", shape="dynamic")
    return export_onnx(HalfPrecisionClassifier(model), out, window_samples=cfg.window_samples(), props=props,
                       min_samples=export_min_samples(cfg))


def export_fixed(run: str | Path, out: str | Path, *, reference: str | Path, batch: int = 1) -> Path:
    """Export the run's best checkpoint in fp32 with a static input ``[batch, window_samples]`` (not yet gated)."""
    model, cfg, state = load_checkpoint(run)
    _same_checkpoint(reference, state)
    props = variant_props(reference, precision="fp32", shape="fixed", input_shape=[batch, cfg.window_samples()])
    physics = model.physics is not None
    return export_onnx(WithPhysics(model) if physics else model, out, window_samples=cfg.window_samples(), props=props,
                       fixed_batch=batch, physics=physics)


def train_windows(run: str | Path, cfg: TrainConfig, *, count: int = DEFAULT_CALIBRATION_WINDOWS,
                  seed: int = 0) -> np.ndarray:
    """Up to ``count`` windows ``[n, window_samples]`` float32 drawn (by ``seed``) from the run's TRAIN split.

    Only the train split: validation decides the quality gate and test reports the model, so neither may
    shape the quantisation ranges.
    """
    if count < 1:
        raise ValueError(f"calibration needs at least one window, got {count}")
    audio = quality_gate.split_audio(run, CALIBRATION_SPLIT, cfg=cfg)
    leaked = {r.split for r in audio.rows} - {CALIBRATION_SPLIT}
    if leaked:
        raise RuntimeError(f"calibration rows include split(s) {sorted(leaked)}; only {CALIBRATION_SPLIT!r} "
                           "may be used")
    grid = audio.grid_windows(cfg)
    rng = np.random.default_rng(seed)
    picked = sorted(rng.choice(len(grid), size=min(count, len(grid)), replace=False).tolist())
    if len(picked) < count:
        log.info("calibration: the train split has %d windows, fewer than the %d asked for; using all", len(grid),
                 count)
    return np.stack([audio.window(*grid[i], cfg) for i in picked])


def float_nodes(graph: onnx.GraphProto) -> list[str]:
    """Names of the nodes int8 leaves in float, found from the graph's structure (no hard-coded node names).

    The network's first Convs are the Convs with a ``net.*`` weight that no other such Conv feeds: one for a
    log-mel CNN, one per stem for the physics ear. They and all their ancestors (framing, decimation and
    band-pass filters, the DFTs, the mel matmul, backgrounds, logs and normalisation, the ear's harmonic tables:
    every node using a ``frontend.*`` initializer must be among them) stay float. So does the tail that computes
    the contract's ``logits`` and ``probabilities`` (the head, the temperature division, the softmax): little
    compute, and calibrated probabilities should not sit on an 8-bit grid; likewise the physics readout. Weights
    are recognised under a wrapper's prefix too (``model.net.*`` of a model exported with its physics output).
    """
    inits = {i.name for i in graph.initializer}
    producer = {o: n for n in graph.node for o in n.output}

    def ancestors(node) -> dict:
        found, stack = {}, list(node.input)
        while stack:
            parent = producer.get(stack.pop())
            if parent is not None and parent.name not in found:
                found[parent.name] = parent
                stack.extend(parent.input)
        return found

    def under(name: str, module: str) -> bool:  # an initializer of ``module``, also under a wrapper's prefix
        path = module_path(name) if name in inits else None
        return path is not None and path.startswith(module + ".")

    convs = [n for n in graph.node if n.op_type == "Conv" and any(under(i, "net") for i in n.input[1:])]
    conv_names = {n.name for n in convs}
    firsts = [n for n in convs if not conv_names & set(ancestors(n))]
    if not firsts:
        raise ValueError("int8: the graph has no Conv with network (net.*) weights; cannot find where the "
                         "network starts")
    keep = {}
    for first in firsts:
        keep[first.name] = first
        keep.update(ancestors(first))
    frontend = [n.name for n in graph.node if any(under(i, "frontend") for i in n.input)]
    if not frontend or set(frontend) - set(keep):
        raise ValueError(f"int8: front-end nodes {sorted(set(frontend) - set(keep)) or '(none found)'} are not "
                         "upstream of the network's first Convs; the graph is not the expected front-end + network")
    tail = [producer[o] for o in ("logits", "physics") if o in producer]
    while tail:
        node = tail.pop()
        if node.name not in keep:
            keep[node.name] = node
            tail.extend(n for n in graph.node if set(n.input) & set(node.output))
    if "" in keep:
        raise ValueError("int8: a node to keep in float has no name, so the quantiser cannot exclude it")
    return [n.name for n in graph.node if n.name in keep]


class TrainWindowReader(CalibrationDataReader):
    """Calibration reader for ``quantize_static``: ``{"audio": [batch, samples]}`` until the windows run out."""

    def __init__(self, windows: np.ndarray, *, batch: int = CALIBRATION_BATCH):
        self._batches = iter([windows[i: i + batch] for i in range(0, len(windows), batch)])

    def get_next(self) -> dict | None:
        """The next batch of windows, None when done."""
        batch = next(self._batches, None)
        return None if batch is None else {"audio": batch}


def export_int8(fp32_path: str | Path, out: str | Path, *, run: str | Path,
                calibration_windows: int = DEFAULT_CALIBRATION_WINDOWS, seed: int = 0) -> Path:
    """Static QDQ int8 of the fp32 file, written to ``out`` (not yet gated), calibrated on the run's train windows.

    Per-channel symmetric int8 weights, asymmetric int8 activations (S8S8, onnxruntime's QDQ default),
    MinMax ranges over ``calibration_windows`` train windows drawn by ``seed``. ``quant_pre_process`` runs
    first (shape inference, graph optimisation; the dynamo exporter has already folded BatchNorm into the
    convolutions). The nodes of :func:`float_nodes` stay float.
    """
    fp32_path, out = Path(fp32_path), Path(out)
    cfg = reference_config(fp32_path)
    windows = train_windows(run, cfg, count=calibration_windows, seed=seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        # symbolic shape inference fails on the dynamo graph's ReduceMax (axes as an input); ONNX's own suffices
        quant_pre_process(str(fp32_path), str(pre), skip_symbolic_shape=True)
        excluded = float_nodes(onnx.load(str(pre)).graph)
        quantize_static(str(pre), str(out), TrainWindowReader(windows), quant_format=QuantFormat.QDQ,
                        per_channel=True, weight_type=QuantType.QInt8, activation_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax, nodes_to_exclude=excluded)
    proto = onnx.load(str(out))
    calibration = {"split": CALIBRATION_SPLIT, "windows": int(len(windows)), "seed": seed, "method": "minmax",
                   "weights": "int8 per channel", "activations": "int8", "float_nodes": len(excluded)}
    _set_props(proto, variant_props(fp32_path, precision="int8", shape="dynamic", calibration=calibration))
    onnx.save_model(proto, str(out))
    return out


def reference_config(path: str | Path) -> TrainConfig:
    """The training config stored in an fp32 reference file; refuses a file that is itself a variant."""
    props = quality_gate.read_props(path)
    variant = json.loads(props.get("uwac.variant") or "{}")
    if variant.get("precision", "fp32") != "fp32" or variant.get("shape", "dynamic") != "dynamic":
        raise ValueError(f"{path} is itself a {variant.get('precision')}/{variant.get('shape')} variant; variants "
                         "are made from the fp32 file `uwac export` writes")
    info = parse_metadata(props, str(path))
    return config_from_dict(info.training["config"])


def export_variants(run: str | Path, reference: str | Path, *, variants: list[str] | tuple[str, ...] = VARIANTS,
                    calibration_windows: int = DEFAULT_CALIBRATION_WINDOWS, seed: int = 0,
                    max_macro_f1_drop: float = quality_gate.MAX_MACRO_F1_DROP,
                    max_recall_drop: float = quality_gate.MAX_RECALL_DROP) -> dict:
    """Write each variant next to the fp32 ``reference``, gate it on validation, and write the report.

    Returns the report (also ``<stem>.variants.json`` / ``.variants.md``): one row per file, fp32 first.
    A rejected variant is still written (marked rejected, so ``load_session`` refuses it) and reported.
    """
    reference = Path(reference)
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown variant(s) {unknown}; choose from {', '.join(VARIANTS)}")
    reference_config(reference)  # refuse a variant as the reference before any work
    data = quality_gate.prepare(reference, run=run)
    rows = [report_row(reference, json.loads(quality_gate.read_props(reference).get("uwac.variant") or "{}"),
                       reference_bytes=reference.stat().st_size)]
    for name in dict.fromkeys(variants):
        out = variant_path(reference, name)
        log.info("variant %s -> %s", name, out)
        if name == "fp16":
            export_fp16(run, out, reference=reference)
        elif name == "int8":
            export_int8(reference, out, run=run, calibration_windows=calibration_windows, seed=seed)
        else:
            export_fixed(run, out, reference=reference)
        variant = quality_gate.gate_variant(out, data, max_macro_f1_drop=max_macro_f1_drop,
                                            max_recall_drop=max_recall_drop)
        rows.append(report_row(out, variant, reference_bytes=reference.stat().st_size))
    report = {"reference": reference.name, "reference_sha256": data.reference_sha256,
              "gate_split": quality_gate.GATE_SPLIT, "gate_windows": int(len(data.labels)),
              "limits": {"max_macro_f1_drop": max_macro_f1_drop, "max_recall_drop": max_recall_drop},
              "variants": rows}
    stem = reference.with_suffix("")
    Path(f"{stem}.variants.json").write_text(json.dumps(report, indent=2))
    Path(f"{stem}.variants.md").write_text(render_report(report))
    return report


def report_row(path: Path, variant: dict, *, reference_bytes: int) -> dict:
    """One report row: file, precision, shape, size and ratio to fp32, gate numbers, status."""
    gate = variant.get("gate") or {}
    size = path.stat().st_size
    return {"file": path.name, "precision": variant.get("precision", "fp32"),
            "shape": variant.get("shape", "dynamic"),
            "bytes": size, "size_ratio": size / reference_bytes, "agreement": gate.get("agreement"),
            "macro_f1_reference": gate.get("macro_f1_reference"), "macro_f1_variant": gate.get("macro_f1_variant"),
            "macro_f1_delta": gate.get("macro_f1_delta"), "worst_recall_delta": gate.get("worst_recall_delta"),
            "worst_recall_class": gate.get("worst_recall_class"),
            "max_abs_probability_diff": gate.get("max_abs_probability_diff"),
            "status": variant.get("status", "reference")}


def _num(value, fmt: str = ".3f") -> str:
    return "–" if value is None else format(value, fmt)


def render_report(report: dict) -> str:
    """Markdown table of :func:`export_variants`' report."""
    lim = report["limits"]
    lines = [f"# Variants of {report['reference']}", "",
             f"Gate: {report['gate_windows']} windows of the run's {report['gate_split']} split, scored by "
             f"onnxruntime (CPU). A variant is rejected when it loses more than {lim['max_macro_f1_drop']} window "
             f"macro-F1 or more than {lim['max_recall_drop']} recall in any class against fp32.", "",
             "| file | precision | shape | bytes | × fp32 | agreement | macro-F1 fp32 → variant | worst recall Δ "
             "(class) | max Δp | status |",
             "|---|---|---|---:|---:|---:|---|---|---:|---|"]
    for r in report["variants"]:
        gated = r["agreement"] is not None
        f1 = f"{_num(r['macro_f1_reference'])} → {_num(r['macro_f1_variant'])}" if gated else "–"
        worst = f"{r['worst_recall_delta']:+.3f} ({r['worst_recall_class']})" if gated else "–"
        lines.append(f"| {r['file']} | {r['precision']} | {r['shape']} | {r['bytes']} | {r['size_ratio']:.2f} | "
                     f"{_num(r['agreement'])} | {f1} | {worst} | {_num(r['max_abs_probability_diff'], '.2e')} | "
                     f"{r['status']} |")
    lines.append("")
    return "\n".join(lines)
