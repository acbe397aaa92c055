"""Reduced-precision variants: what each keeps in float, where int8 calibrates, and the quality gate."""

import json
import shutil

import numpy as np
import onnx
import pytest
from onnx import TensorProto, numpy_helper

from uwac.acoustics.contract import METADATA_KEYS, ModelError, load_session, run_batch
from uwac.export import quality_gate, variants

ALL = ("fp16", "int8", "fixed")


@pytest.fixture(scope="module")
def made(tmp_path_factory, trained_run, exported_model):
    """Every variant of a copy of the exported tiny model, written and gated as `uwac export --variants` does."""
    folder = tmp_path_factory.mktemp("variants")
    reference = folder / "model.onnx"
    shutil.copy(exported_model, reference)
    report = variants.export_variants(trained_run, reference, variants=ALL, calibration_windows=32, seed=3)
    return reference, report


@pytest.fixture(scope="module")
def gate_data(made, trained_run):
    return quality_gate.prepare(made[0], run=trained_run)


def props_of(path) -> dict[str, str]:
    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


def first_net_conv(graph):
    inits = {i.name for i in graph.initializer}
    return next(n for n in graph.node
                if n.op_type == "Conv" and any(i in inits and i.startswith("net.") for i in n.input))


def ancestors(graph, tensor):
    producer = {o: n for n in graph.node for o in n.output}
    seen, stack = {}, [tensor]
    while stack:
        node = producer.get(stack.pop())
        if node is not None and node.name not in seen:
            seen[node.name] = node
            stack.extend(node.input)
    return list(seen.values())


def test_files_and_report_are_written(made):
    reference, report = made
    for name in ALL:
        assert variants.variant_path(reference, name).is_file(), name
    assert [r["precision"] for r in report["variants"]] == ["fp32", "fp16", "int8", "fp32"]
    assert [r["shape"] for r in report["variants"]] == ["dynamic", "dynamic", "dynamic", "fixed"]
    assert report["variants"][0]["status"] == "reference" and report["gate_split"] == "val"
    saved = json.loads(reference.with_name("model.variants.json").read_text())
    assert saved == json.loads(json.dumps(report))
    md = reference.with_name("model.variants.md").read_text()
    assert all(f"model.{v}.onnx" in md for v in ALL) and "macro-F1 fp32 → variant" in md


def test_int8_quantises_the_network_but_keeps_the_audio_front_end_float(made):
    reference, report = made
    fp32 = onnx.load(str(reference)).graph
    int8 = onnx.load(str(variants.variant_path(reference, "int8"))).graph
    inits = {i.name: i for i in int8.initializer}
    # the front-end's tables (DFT basis or factors, mel filterbank, window) are float32 and untouched
    front = [i for i in fp32.initializer if i.name.startswith("frontend.")]
    assert front
    for ref in front:
        kept = inits[ref.name]
        assert kept.data_type == TensorProto.FLOAT and f"{ref.name}_quantized" not in inits
        assert np.array_equal(numpy_helper.to_array(kept), numpy_helper.to_array(ref))
    # no quantisation anywhere upstream of the network's first Conv, and that Conv itself is float
    first = first_net_conv(int8)
    assert first.input[1] in inits and inits[first.input[1]].data_type == TensorProto.FLOAT
    assert not {n.op_type for n in ancestors(int8, first.input[0])} & {"QuantizeLinear", "DequantizeLinear"}
    # every other network conv weight is an int8 QDQ initializer, per channel
    convs = [n for n in fp32.node if n.op_type == "Conv" and n.input[1].startswith("net.")]
    assert len(convs) >= 3
    for conv in convs[1:]:
        q = inits[f"{conv.input[1]}_quantized"]
        assert q.data_type == TensorProto.INT8
        assert numpy_helper.to_array(inits[f"{conv.input[1]}_scale"]).size == q.dims[0]  # one scale per channel
    # the network's weights shrink about fourfold; the whole file less (the fp32 front-end dominates it)
    def net_bytes(graph):
        return sum(numpy_helper.to_array(i).nbytes for i in graph.initializer if i.name.startswith("net."))
    assert net_bytes(int8) < 0.35 * net_bytes(fp32)
    row = next(r for r in report["variants"] if r["precision"] == "int8")
    assert row["bytes"] < report["variants"][0]["bytes"] and row["size_ratio"] < 0.9
    # logits and probabilities come out of float ops, not off an 8-bit grid
    producer = {o: n for n in int8.node for o in n.output}
    assert producer["logits"].op_type == "Gemm" and producer["probabilities"].op_type == "Softmax"


def test_float_nodes_are_found_from_the_graph(exported_model):
    graph = onnx.load(str(exported_model)).graph
    names = set(variants.float_nodes(graph))
    users = {n.name for n in graph.node if any(i.startswith("frontend.") for i in n.input)}
    assert users and users <= names  # the DFT (conv or factored matmuls) and the mel matmul
    assert first_net_conv(graph).name in names
    later_convs = [n.name for n in graph.node if n.op_type == "Conv" and n.input[1].startswith("net.")][1:]
    assert not names & set(later_convs)
    bare = onnx.helper.make_graph([], "empty", [], [])
    with pytest.raises(ValueError, match="no Conv with network"):
        variants.float_nodes(bare)


def test_int8_calibrates_on_train_windows_only(exported_model, trained_run, tmp_path, monkeypatch):
    seen = []
    real = quality_gate.load_split

    def spy(rows, cfg, **kw):
        seen.append([r.split for r in rows])
        return real(rows, cfg, **kw)

    monkeypatch.setattr(quality_gate, "load_split", spy)
    out = variants.export_int8(exported_model, tmp_path / "m.int8.onnx", run=trained_run, calibration_windows=8)
    assert seen and all(s == ["train"] * len(s) and s for s in seen), seen
    calibration = json.loads(props_of(out)["uwac.variant"])["calibration"]
    assert calibration["split"] == "train" and calibration["windows"] == 8


def test_calibration_refuses_a_run_without_train_rows(exported_model, trained_run, tmp_path):
    from uwac.acoustics.manifest import read_manifest, write_manifest

    rows = [r for r in read_manifest(trained_run / "manifest.csv") if r.split != "train"]
    write_manifest(rows, tmp_path / "manifest.csv")
    cfg = variants.reference_config(exported_model)
    with pytest.raises(ValueError, match="no 'train' rows"):
        variants.train_windows(tmp_path, cfg, count=4)
    with pytest.raises(FileNotFoundError, match="manifest.csv"):
        variants.train_windows(tmp_path / "elsewhere", cfg, count=4)


def test_fp16_has_a_half_network_behind_a_float_front_end(made, exported_model):
    reference, _ = made
    path = variants.variant_path(reference, "fp16")
    proto = onnx.load(str(path))
    kinds = {i.name: i.data_type for i in proto.graph.initializer}
    front = {k: v for k, v in kinds.items() if k.startswith("frontend.")}
    assert front and set(front.values()) == {TensorProto.FLOAT}
    net = {k: v for k, v in kinds.items() if k.startswith("net.")}
    assert net and set(net.values()) == {TensorProto.FLOAT16}
    for value in [*proto.graph.input, *proto.graph.output]:
        assert value.type.tensor_type.elem_type == TensorProto.FLOAT, value.name
    s16, _ = load_session(path)
    s32, info = load_session(exported_model)
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((6, info.window_samples + 999)) * rng.uniform(0.001, 0.5, (6, 1))).astype(np.float32)
    a, b = run_batch(s32, x), run_batch(s16, x)
    assert all(b[k].dtype == np.float32 for k in b)
    assert np.abs(a["probabilities"] - b["probabilities"]).max() < 5e-3
    assert np.abs(a["logits"] - b["logits"]).max() < 5e-2


def test_every_file_carries_the_contract_and_a_gate(made):
    reference, _ = made
    ref_props = props_of(reference)
    assert json.loads(ref_props["uwac.variant"]) == {"precision": "fp32", "shape": "dynamic", "status": "reference"}
    sha = quality_gate.file_sha256(reference)
    for name in ALL:
        props = props_of(variants.variant_path(reference, name))
        assert set(METADATA_KEYS) <= set(props)
        assert {k: v for k, v in props.items() if k != "uwac.variant"} == \
            {k: v for k, v in ref_props.items() if k != "uwac.variant"}
        v = json.loads(props["uwac.variant"])
        assert v["reference"] == "model.onnx" and v["reference_sha256"] == sha
        assert v["status"] in ("passed", "rejected") and v["shape"] == ("fixed" if name == "fixed" else "dynamic")
        gate = v["gate"]
        assert gate["split"] == "val" and gate["windows"] > 0 and 0.0 <= gate["agreement"] <= 1.0
        for key in ("macro_f1_reference", "macro_f1_variant", "macro_f1_delta", "worst_recall_delta",
                    "worst_recall_class", "recall_delta", "limits"):
            assert key in gate, key
        lost = gate["macro_f1_delta"] < -0.01 or gate["worst_recall_delta"] < -0.05
        assert v["status"] == ("rejected" if lost else "passed")


def test_gate_of_fp32_against_itself_is_exact(made, gate_data, tmp_path):
    reference, _ = made
    copy = tmp_path / "same.onnx"
    shutil.copy(reference, copy)
    v = quality_gate.gate_variant(copy, gate_data)
    g = v["gate"]
    assert v["status"] == "passed" and g["agreement"] == 1.0 and g["max_abs_probability_diff"] == 0.0
    assert g["macro_f1_delta"] == 0.0 and g["worst_recall_delta"] == 0.0
    assert set(g["recall_delta"].values()) == {0.0}
    assert g["windows"] == len(gate_data.labels) == len(gate_data.probs)


def test_gate_numbers_on_a_known_case():
    classes = ["a", "b", "c", "d"]
    labels = np.array([0, 0, 1, 1, 2, 2])
    ref = np.eye(4)[labels]
    worse = np.eye(4)[[0, 0, 1, 1, 2, 0]]  # one window of c lost to a
    g = quality_gate.compare(ref, worse, labels, classes)
    assert g["agreement"] == pytest.approx(5 / 6)
    assert g["recall_delta"] == {"a": 0.0, "b": 0.0, "c": -0.5}  # d has no windows: not compared
    assert g["worst_recall_class"] == "c" and g["worst_recall_delta"] == -0.5
    assert g["macro_f1_reference"] == 1.0 and g["macro_f1_delta"] < -0.01 and g["status"] == "rejected"
    assert quality_gate.compare(ref, ref, labels, classes)["status"] == "passed"
    with pytest.raises(ValueError, match="same windows"):
        quality_gate.compare(ref, worse[:5], labels, classes)


def test_a_rejected_variant_is_refused_unless_allowed(made, gate_data, trained_run, tmp_path):
    from uwac.acoustics.evaluation.evaluate import evaluate

    reference, _ = made
    path = tmp_path / "model.fp16.onnx"
    shutil.copy(variants.variant_path(reference, "fp16"), path)
    # a limit no variant can meet: even an unchanged macro-F1 "loses" more than -1
    v = quality_gate.gate_variant(path, gate_data, max_macro_f1_drop=-1.0)
    assert v["status"] == "rejected" and json.loads(props_of(path)["uwac.variant"])["status"] == "rejected"
    with pytest.raises(ModelError, match="rejected by its quality gate.*--allow-rejected"):
        load_session(path)
    _, info = load_session(path, allow_rejected=True)
    assert info.rejected and info.variant["precision"] == "fp16"
    manifest = trained_run / "manifest.csv"
    with pytest.raises(ModelError, match="rejected"):
        evaluate(model=path, manifest=manifest, out=tmp_path / "e1", split="val", progress=False)
    result = evaluate(model=path, manifest=manifest, out=tmp_path / "e2", split="val", progress=False,
                      allow_rejected=True)
    assert result["windows"] > 0
    # gating again with the default limits restores the verdict the file got when it was made
    made_status = json.loads(props_of(variants.variant_path(reference, "fp16"))["uwac.variant"])["status"]
    assert quality_gate.gate_variant(path, gate_data)["status"] == made_status


def test_fixed_shape_variant_has_static_dims_and_runs_one_window(made, exported_model):
    reference, _ = made
    path = variants.variant_path(reference, "fixed")
    session, info = load_session(path)
    assert session.get_inputs()[0].shape == [1, info.window_samples]
    dims = onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [1, info.window_samples] and not any(d.dim_param for d in dims)
    assert json.loads(props_of(path)["uwac.variant"])["input_shape"] == [1, info.window_samples]
    x = (np.random.default_rng(4).standard_normal((1, info.window_samples)) * 0.1).astype(np.float32)
    ref, _ = load_session(exported_model)
    got = run_batch(session, x)
    assert got["probabilities"].shape == (1, len(info.classes))
    assert np.abs(got["probabilities"] - run_batch(ref, x)["probabilities"]).max() < 1e-5


def test_variants_are_made_from_the_fp32_file_only(made, trained_run):
    reference, _ = made
    with pytest.raises(ValueError, match="itself a fp16/dynamic variant"):
        variants.export_variants(trained_run, variants.variant_path(reference, "fp16"), variants=["int8"])
    with pytest.raises(ValueError, match="unknown variant"):
        variants.export_variants(trained_run, reference, variants=["int4"])


def test_cli_export_writes_variants(trained_run, tmp_path, capsys):
    from uwac.acoustics.cli import main

    out = tmp_path / "cli.onnx"
    assert main(["export", str(trained_run), "--out", str(out), "--variants", "int8",
                 "--calibration-windows", "8"]) == 0
    assert (tmp_path / "cli.int8.onnx").is_file() and (tmp_path / "cli.variants.md").is_file()
    assert not (tmp_path / "cli.fp16.onnx").exists()
    assert "cli.int8.onnx" in capsys.readouterr().out
    plain = tmp_path / "plain.onnx"
    assert main(["export", str(trained_run), "--out", str(plain)]) == 0
    assert not list(tmp_path.glob("plain.*.onnx")) and not (tmp_path / "plain.variants.json").exists()


def test_variants_need_the_checkpoint_the_reference_came_from(exported_model, trained_run, tmp_path):
    proto = onnx.load(str(exported_model))
    for p in proto.metadata_props:
        if p.key == "uwac.training":
            p.value = json.dumps({**json.loads(p.value), "epoch": 999})
    other = tmp_path / "other.onnx"
    onnx.save_model(proto, str(other))
    with pytest.raises(ValueError, match="not the one other.onnx was exported from"):
        variants.export_fp16(trained_run, tmp_path / "other.fp16.onnx", reference=other)
