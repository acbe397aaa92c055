"""A contract-abiding ONNX model built without torch, for tests of code that only needs the contract."""

import json
from pathlib import Path

import pytest

CLASSES = ["ambient", "merchant", "warship", "drone"]


def toy_model(path: Path, *, sr: int = 16000, window_s: float = 3.0, hop_s: float | None = None,
              physics_fields: list[str] | None = None, training: dict | None = None,
              metadata: dict[str, str] | None = None) -> Path:
    """Loud windows (mean |x| > 0.0125) are merchant, quiet ones ambient; ``hop_s`` defaults to the window.

    ``physics_fields``: also a ``physics`` output (the mean |x| in every column) named in ``uwac.physics``, each
    field documented as ``"about <field>"``. ``training``: the ``uwac.training`` metadata (default empty).
    ``metadata``: props that replace the ones written (e.g. a broken ``uwac.sample_rate``).
    """
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    nodes = [helper.make_node("Abs", ["audio"], ["a"]),
             helper.make_node("ReduceMean", ["a", "axes"], ["embedding"], keepdims=1),
             helper.make_node("MatMul", ["embedding", "w"], ["m"]),
             helper.make_node("Add", ["m", "b"], ["logits"]),
             helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1)]
    outputs = [("logits", 4), ("probabilities", 4), ("embedding", 1)]
    inits = [helper.make_tensor("axes", TensorProto.INT64, [1], [1]),
             helper.make_tensor("w", TensorProto.FLOAT, [1, 4], [-400.0, 400.0, 0.0, 0.0]),
             helper.make_tensor("b", TensorProto.FLOAT, [4], [5.0, -5.0, 0.0, -10.0])]
    meta = {"uwac.classes": json.dumps(CLASSES), "uwac.sample_rate": str(sr), "uwac.window_seconds": str(window_s),
            "uwac.hop_seconds": str(window_s if hop_s is None else hop_s), "uwac.frontend": "{}",
            "uwac.model": "{}", "uwac.version": "test", "uwac.training": json.dumps(training or {}),
            "uwac.unknown_threshold": "0.5"}
    if physics_fields:
        n = len(physics_fields)
        nodes.append(helper.make_node("MatMul", ["embedding", "ones"], ["physics"]))
        inits.append(helper.make_tensor("ones", TensorProto.FLOAT, [1, n], [1.0] * n))
        outputs.append(("physics", n))
        meta["uwac.physics"] = json.dumps({"fields": physics_fields, **{f: f"about {f}" for f in physics_fields},
                                           "note": "toy estimates"})
    g = helper.make_graph(nodes, "toy", [helper.make_tensor_value_info("audio", TensorProto.FLOAT, ["batch", "samples"])],
                          [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", k]) for name, k in outputs],
                          inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    helper.set_model_props(model, {**meta, **(metadata or {})})
    onnx.save(model, str(path))
    return path
