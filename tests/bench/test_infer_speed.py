"""``uwac bench infer``: structure and sanity of the report, and that pipeline (c) is the same model as (a).

No assertion is about speed: the numbers depend on the machine and its load. One short benchmark (5 s of audio,
one pass, an fp16 variant beside the fp32 file, no int8) runs once for the module, and one on the physics ear
(exported by the benchmark itself, batch 1 only: where its time goes, branch by branch); the orchestration
without variant files and with an accelerator provider is checked with the child processes stubbed out.
"""

import json
import shutil

import numpy as np
import onnx
import pytest

from uwac.bench.infer_child import cut_windows
from uwac.bench.infer_report import render_markdown
from uwac.bench.infer_speed import resolve_fp16, resolve_int8
from uwac.bench.infer_summary import GOALS, PIPELINES, goal_set, goals, ran_on, ratios
from uwac.export.ort_profile import frontend_node_names, network_nodes, node_parts, split_profile

BATCH = 2


@pytest.fixture(scope="module")
def bench(tmp_path_factory, trained_run, exported_model):
    """``uwac bench infer`` on the tiny run (fp32 given, fp16 beside it, no int8); (result read back from JSON, out)."""
    from uwac.acoustics.cli import main
    from uwac.export.variants import export_fp16

    folder = tmp_path_factory.mktemp("bench_infer")
    fp32 = folder / "model.onnx"
    shutil.copy(exported_model, fp32)
    export_fp16(trained_run, folder / "model.fp16.onnx", reference=fp32)
    out = folder / "out"
    argv = ["bench", "infer", "--run", trained_run, "--model", fp32, "--out", out, "--seconds", 5, "--batch", BATCH,
            "--repeats", 1, "--threads", 1]
    assert main([str(a) for a in argv]) == 0
    return json.loads((out / "bench_infer.json").read_text()), out


@pytest.fixture(scope="module")
def ear_bench(tmp_path_factory, ear_run):
    """``uwac bench infer`` on a tiny ear run, exporting it and its streaming graphs on the way (9 s of audio: two 6-s
    windows 2 s apart, scored whole and stepped by the streaming graphs; batch 1)."""
    from uwac.acoustics.cli import main

    out = tmp_path_factory.mktemp("bench_ear")
    argv = ["bench", "infer", "--run", ear_run, "--out", out, "--seconds", 9, "--batch", 1, "--repeats", 1]
    assert main([str(a) for a in argv]) == 0
    return json.loads((out / "bench_infer.json").read_text()), out


def ok_rows(result):
    return [r for r in result["rows"] if r["status"] == "ok"]


def test_every_pipeline_at_batch_1_and_batched(bench):
    result, _ = bench
    assert {(r["pipeline"], r["batch"]) for r in result["rows"]} == {(p, b) for p in PIPELINES for b in (1, BATCH)}
    assert {r["pipeline"] for r in ok_rows(result)} == {"ort-fp32", "ort-fp16", "torch", "librosa-torch"}
    p = result["params"]
    assert p["windows"] == 3 and p["threads"] == 1 and p["batch"] == BATCH and p["fp32"].endswith("model.onnx")


def test_fp16_beside_fp32_is_measured(bench):
    result, _ = bench
    p = result["params"]
    assert p["fp16"].endswith("model.fp16.onnx") and p["fp16_note"].startswith("found beside")
    assert p["fp16_gate"] == "ungated"  # export_fp16 writes it; `uwac export --variants` gates it
    fp16 = [r for r in ok_rows(result) if r["pipeline"] == "ort-fp16"]
    assert [r["batch"] for r in fp16] == [1, BATCH]
    assert all(r["label"] == "(a) onnxruntime fp16 (fp32 front-end)" for r in fp16)
    assert set(result["profiles"]) == {"ort-fp32", "ort-fp16"}
    assert not any(g["goal"].startswith("fp16") for g in result["goals"])  # fp16 is for GPUs: no CPU goal


def test_ort_rows_record_their_providers(bench):
    result, out = bench
    for r in ok_rows(result):
        if r["pipeline"].startswith("ort-"):
            assert r["providers"] == ["CPUExecutionProvider"] and ran_on(r) == "CPU"
        else:
            assert r["providers"] is None and ran_on(r) == "torch CPU"
    p = result["params"]
    assert "CPUExecutionProvider" in p["available_providers"] and p["onnxruntime"]
    assert "| (a) onnxruntime fp32 | 1 | CPU |" in (out / "bench_infer.md").read_text()


def test_rows_have_positive_sane_numbers(bench):
    result, _ = bench
    hop = result["params"]["hop_seconds"]
    for r in ok_rows(result):
        for key in ("p50_ms", "p99_ms", "mean_ms", "windows_per_s", "x_real_time_per_core", "hour_s",
                    "cold_start_s", "import_s", "load_s", "first_window_s", "peak_rss_mib", "model_bytes"):
            assert r[key] > 0, (r["pipeline"], r["batch"], key, r[key])
        assert r["p99_ms"] >= r["p50_ms"]
        assert r["x_real_time_per_core"] == pytest.approx(r["windows_per_s"] * hop)  # one thread
        assert r["hour_s"] == pytest.approx(3600.0 / (r["windows_per_s"] * hop))
        assert r["cold_start_s"] > r["first_window_s"]  # launch → first window holds the first call
        assert r["calls"] == -(-result["params"]["windows"] // r["batch"])


def test_model_sizes(bench, exported_model):
    result, _ = bench
    sizes = {r["pipeline"]: r["model_bytes"] for r in ok_rows(result)}
    assert sizes["ort-fp32"] == exported_model.stat().st_size
    assert sizes["librosa-torch"] < sizes["torch"]  # the host front-end carries no DFT/mel weights


def test_ratios_are_throughput_quotients(bench):
    result, _ = bench
    rate = {(r["pipeline"], r["batch"]): r["windows_per_s"] for r in ok_rows(result)}
    for b in (1, BATCH):
        q = result["ratios"][str(b)]
        assert q["onnx_vs_torch"] == pytest.approx(rate["ort-fp32", b] / rate["torch", b])
        assert q["onnx_vs_librosa_torch"] == pytest.approx(rate["ort-fp32", b] / rate["librosa-torch", b])
        assert q["fp16_vs_fp32"] == pytest.approx(rate["ort-fp16", b] / rate["ort-fp32", b])
        assert 0 < q["fp16_size_over_fp32"] < 1  # the network's weights in half precision
        assert q["int8_vs_fp32"] is None and q["int8_size_over_fp32"] is None


def test_frontend_share_in_open_unit_interval(bench):
    result, _ = bench
    for r in ok_rows(result):
        assert 0.0 < r["frontend_share"] < 1.0, (r["pipeline"], r["batch"])
        assert r["frontend_ms"] + r["network_ms"] == pytest.approx(r["mean_ms"])
        assert list(r["branch_ms"]) == ["mel"] and r["branch_ms"]["mel"] == pytest.approx(r["frontend_ms"])
        assert r["split_source"] == ("onnxruntime profile" if r["pipeline"].startswith("ort-") else "timed stages")
    for name in ("ort-fp32", "ort-fp16"):
        for prof in result["profiles"][name].values():
            assert prof["frontend_us"] > 0 and prof["network_us"] > 0
            assert set(prof["provider_us"]) == {"CPUExecutionProvider"}
            assert prof["branch_us"] == {"mel": prof["frontend_us"]}  # a log-mel model has the one branch


def test_ear_bench_splits_the_time_by_branch(ear_bench):
    """The ear runs end to end, exported by the benchmark; each row's front-end time splits into its branches."""
    result, out = ear_bench
    p = result["params"]
    assert p["model"].startswith("ear/mel+lofar+demon") and p["branches"] == ["mel", "lofar", "demon"]
    assert p["fp32"].endswith("model.onnx") and p["windows"] == 2
    rows = ok_rows(result)
    assert {r["pipeline"] for r in rows} == {"ort-fp32", "ort-stream", "torch", "librosa-torch"}
    stream = next(r for r in rows if r["pipeline"] == "ort-stream")  # signal, frames and head stages, timed apart
    assert stream["hop_seconds"] == pytest.approx(2.0) and stream["max_abs_prob_diff_vs_ort_fp32"] <= 1e-4
    assert set(stream["stage_s"]) == {"signal", "frames", "head"} and min(stream["stage_s"].values()) > 0
    assert stream["frontend_s"] == pytest.approx(stream["stage_s"]["signal"] + stream["stage_s"]["frames"])
    assert "per window and stage: signal" in (out / "bench_infer.md").read_text()
    assert stream["frontend_ms"] > 0 and stream["network_ms"] > 0 and stream["split_source"] == "timed stages"
    for r in rows:
        if r is stream:
            continue
        ms = r["branch_ms"]
        assert {"mel", "lofar", "demon"} <= set(ms) and all(ms[b] > 0 for b in ("mel", "lofar", "demon")), r
        assert sum(ms.values()) == pytest.approx(r["frontend_ms"]) and r["network_ms"] > 0
    prof = result["profiles"]["ort-fp32"]["1"]
    assert prof["network_us"] > 0 and prof["frontend_us"] == pytest.approx(sum(prof["branch_us"].values()))
    assert all(prof["branch_us"][b] > 0 for b in ("mel", "lofar", "demon"))
    md = (out / "bench_infer.md").read_text()
    assert "| log-mel ms/window | LOFAR ms/window | DEMON ms/window |" in md
    assert (out / "bench_infer.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_ear_goals_are_issue_9s(ear_bench):
    result, out = ear_bench
    assert result["goal_set"]["source"] == "issue 9"
    assert result["goal_set"]["targets"]["x_real_time_per_core"] == 1000.0
    speed = {g["goal"]: g for g in result["goals"]}
    assert speed["fp32 scores 1 h of audio in <= 3.6 s on one core at batch 1"]["target"] == \
        ">= 1000× real time per core"
    assert speed["fp32 p99 latency per window at batch 1"]["target"] == "<= 10 ms"
    assert "streaming graphs" in speed["fp32 scores 1 h of audio in <= 3.6 s on one core at batch 1"]["note"]
    assert "## Goals (issue 9, for ear models" in (out / "bench_infer.md").read_text()


def test_goals_follow_the_model_family():
    """Issue 5's throughput goal takes the best fp32 row; the ear's (issue 9) holds at batch 1."""
    rows = [{"pipeline": "ort-fp32", "batch": b, "status": "ok", "x_real_time_per_core": x, "p99_ms": 4.0,
             "windows_per_s": x, "model_bytes": 1} for b, x in ((1, 900.0), (16, 2000.0))]
    base = {"rows": rows, "params": {"batch": 16, "threads": 1}, "ratios": ratios(rows, 16)}
    cnn = goals({**base, "goal_set": goal_set("cnn")})
    ear = goals({**base, "goal_set": goal_set("ear")})
    assert goal_set("cnn")["targets"] == GOALS and goal_set(None)["source"] == "issue 5"
    assert cnn[0]["goal"] == "fp32 scores 1 h of audio in <= 2 s on one core" and cnn[0]["value"] == 2000.0
    assert cnn[0]["met"] is True and cnn[1]["met"] is True
    assert ear[0]["value"] == 900.0 and ear[0]["met"] is False and ear[1]["target"] == "<= 10 ms"


def test_librosa_torch_and_torch_agree_with_onnx(bench):
    """(b) and (c) score the same windows as (a) with the same model: the probabilities agree."""
    result, _ = bench
    diff = {(r["pipeline"], r["batch"]): r["max_abs_prob_diff_vs_ort_fp32"] for r in ok_rows(result)}
    for b in (1, BATCH):
        assert diff["ort-fp32", b] == 0.0
        assert diff["torch", b] <= 1e-4
        assert diff["librosa-torch", b] <= 1e-3  # host FFT + numpy log-mel vs the conv DFT in the graph
        assert 0.0 < diff["ort-fp16", b] <= 1e-2  # half-precision network: close, not identical


def test_int8_rows_say_not_given(bench):
    result, _ = bench
    int8 = [r for r in result["rows"] if r["pipeline"] == "ort-int8"]
    assert len(int8) == 2 and all(r["status"].startswith("not given") for r in int8)
    goals = {g["goal"]: g for g in result["goals"]}
    assert all(g["met"] is None for name, g in goals.items() if name.startswith("int8"))
    assert all(isinstance(g["met"], bool) for name, g in goals.items() if not name.startswith("int8"))


def test_reports_written(bench):
    result, out = bench
    md = (out / "bench_infer.md").read_text()
    assert md == render_markdown(result)
    assert "> 1 means ONNX is faster" in md and "Where the time goes" in md and "not given" in md
    assert "fp16 throughput / fp32 throughput" in md and "meant for GPU execution providers" in md
    assert (out / "bench_infer.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (out / "bench_infer_work").exists()


def test_resolve_int8(tmp_path):
    fp32 = tmp_path / "m.onnx"
    fp32.write_bytes(b"x")
    path, note = resolve_int8(fp32, None)
    assert path is None and note.startswith("not given") and "m.int8.onnx" in note
    (tmp_path / "m.int8.onnx").write_bytes(b"y")
    path, note = resolve_int8(fp32, None)
    assert path == tmp_path / "m.int8.onnx" and note.startswith("found beside")
    with pytest.raises(FileNotFoundError):
        resolve_int8(fp32, tmp_path / "missing.onnx")
    path, note = resolve_fp16(fp32, None)
    assert path is None and note.startswith("not given") and "--fp16 FILE" in note and "m.fp16.onnx" in note
    (tmp_path / "m.fp16.onnx").write_bytes(b"z")
    assert resolve_fp16(fp32, None)[0] == tmp_path / "m.fp16.onnx"
    assert resolve_fp16(fp32, tmp_path / "m.int8.onnx") == (tmp_path / "m.int8.onnx", "given")


def test_int8_ratios_from_rows():
    rows = [{"pipeline": "ort-fp32", "batch": 1, "status": "ok", "windows_per_s": 100.0, "model_bytes": 900},
            {"pipeline": "ort-int8", "batch": 1, "status": "ok", "windows_per_s": 170.0, "model_bytes": 300}]
    q = ratios(rows, 1)["1"]
    assert q["int8_vs_fp32"] == pytest.approx(1.7) and q["int8_size_over_fp32"] == pytest.approx(1 / 3)
    assert q["onnx_vs_torch"] is None and q["fp16_vs_fp32"] is None and q["fp16_size_over_fp32"] is None


def test_frontend_nodes_are_upstream_of_the_network(exported_model):
    graph = onnx.load(str(exported_model)).graph
    frontend, network = frontend_node_names(exported_model, exported_model)
    inits = {i.name for i in graph.initializer}
    node = {n.name: n for n in graph.node}
    assert not frontend & network and frontend | network == set(node)
    assert {"MatMul", "Log"} <= {node[n].op_type for n in frontend}  # factored DFT and mel matmuls, dB
    assert {"Conv", "Softmax"} <= {node[n].op_type for n in network}
    assert not any(i.startswith("net.") for n in frontend for i in node[n].input if i in inits)
    assert network == network_nodes(graph)
    events = [{"cat": "Node", "name": f"{n}_kernel_time", "dur": 10} for n in sorted(frontend)[:2]]
    events += [{"cat": "Node", "name": "mystery_kernel_time", "dur": 5}, {"cat": "Session", "name": "x", "dur": 99}]
    events += [{"cat": "Node", "name": f"{sorted(network)[0]}_kernel_time", "dur": 30}]
    parts = node_parts(exported_model, exported_model)
    assert set(parts.values()) == {"mel", "network"}  # a log-mel model: one branch
    split = split_profile(events, parts)
    assert split == {"frontend_us": 20.0, "network_us": 30.0, "other_us": 5.0, "frontend_share": 0.4,
                     "branch_us": {"mel": 20.0}, "branch_share": {"mel": 0.4}, "provider_us": {"unknown": 55.0}}
    events[0]["args"] = {"provider": "CUDAExecutionProvider"}
    assert split_profile(events, parts)["provider_us"] == {"CUDAExecutionProvider": 10.0, "unknown": 45.0}


def test_ear_nodes_go_to_the_branch_whose_tables_they_read(ear_bench):
    """Every node reading a ``frontend.<branch>.*`` table is that branch's, every ``net.*`` reader the network's
    (under the physics wrapper's ``model.`` prefix too); shared nodes read no branch's table."""
    model = ear_bench[0]["params"]["fp32"]
    graph = onnx.load(model).graph
    parts = node_parts(model, model)
    tables = {i.name for i in graph.initializer}
    for node in graph.node:
        read = [i for i in node.input if i in tables]
        for branch in ("mel", "lofar", "demon"):
            if any(f"frontend.{branch}." in i for i in read):
                assert parts[node.name] == branch, (node.name, read)
        if any(".net." in f".{i}" for i in read):
            assert parts[node.name] == "network", (node.name, read)
    counts = {p: sum(v == p for v in parts.values()) for p in set(parts.values())}
    assert {"mel", "lofar", "demon", "network"} <= set(counts) and counts.get("shared", 0) < 10
    events = [{"cat": "Node", "name": f"{name}_kernel_time", "dur": 1} for name in parts]
    split = split_profile(events, parts, branches=("mel", "lofar", "demon"))
    assert list(split["branch_us"])[:3] == ["mel", "lofar", "demon"]
    assert split["frontend_us"] + split["network_us"] == len(parts) and split["other_us"] == 0


def test_cli_bench_infer_needs_run(capsys):
    from uwac.acoustics.cli import main

    assert main(["bench", "infer", "--out", "unused"]) == 2
    assert "--run" in capsys.readouterr().err


def test_same_windows_for_every_pipeline():
    audio = np.arange(10, dtype=np.float32)
    w = cut_windows(audio, 4, 3)
    assert w.shape == (3, 4) and w[2, 0] == 6 and np.shares_memory(w, audio)
    with pytest.raises(ValueError, match="shorter than one window"):
        cut_windows(audio, 11, 3)


def fake_child(providers):
    """A stand-in for ``bench.infer_speed.run_child``: plausible numbers, no process, rows on ``providers``."""
    def run_child(spec, work):
        if spec["pipeline"] == "ort-profile":
            return {str(b): {"frontend_us": 6.0, "network_us": 4.0, "other_us": 0.0, "frontend_share": 0.6,
                             "provider_us": {providers[0]: 10.0}} for b in spec["batches"]}
        n = len(cut_windows(np.load(spec["audio"]), spec["window_samples"], spec["hop_samples"]))
        ort = spec["pipeline"].startswith("ort-")
        return {"p50_ms": 1.0, "p99_ms": 2.0, "mean_ms": 1.0, "windows_per_s": 1000.0, "calls": n, "import_s": 0.1,
                "load_s": 0.1, "first_window_s": 0.01, "cold_start_s": 0.5, "peak_rss_mib": 50.0,
                "model_bytes": 1000, "providers": list(providers) if ort else None,
                "frontend_s": None if ort else 5e-4, "network_s": None if ort else 5e-4,
                "probabilities": np.full((n, 4), 0.25, dtype=np.float32)}
    return run_child


def test_variants_not_given_and_accelerator_rows(tmp_path, monkeypatch, trained_run, exported_model):
    """Without variant files their rows say "not given", without librosa (c) is not run; CUDA rows say so."""
    import uwac.bench.infer_speed as bi

    fp32 = tmp_path / "model.onnx"
    shutil.copy(exported_model, fp32)
    monkeypatch.setattr(bi, "run_child", fake_child(["CUDAExecutionProvider", "CPUExecutionProvider"]))
    monkeypatch.setattr(bi, "_missing_package", lambda p: "librosa" if p == "librosa-torch" else None)
    result = bi.bench_infer(run=trained_run, fp32=fp32, out=tmp_path / "out", seconds=5, batch=BATCH, repeats=1,
                            providers="cuda", progress=False)
    for variant in ("fp16", "int8"):
        rows = [r for r in result["rows"] if r["pipeline"] == f"ort-{variant}"]
        assert len(rows) == 2 and all(r["status"].startswith("not given") for r in rows)
        assert result["params"][variant] is None and result["params"][f"{variant}_gate"] is None
        assert result["ratios"][str(BATCH)][f"{variant}_vs_fp32"] is None
    assert set(result["profiles"]) == {"ort-fp32"}
    md = (tmp_path / "out" / "bench_infer.md").read_text()
    assert "| (a) onnxruntime fp32 | 1 | CUDA |" in md and "| (b) PyTorch eager | 1 | torch CPU |" in md
    assert "fp16: not given (pass --fp16 FILE" in md and "providers asked for: cuda" in md
    librosa = [r for r in result["rows"] if r["pipeline"] == "librosa-torch"]
    assert [r["status"] for r in librosa] == ["not run: librosa is not installed"] * 2
    speed = [g for g in result["goals"] if "size" not in g["goal"] and "gate" not in g["goal"]]
    assert speed and all("ran on CUDAExecutionProvider" in g["note"] for g in speed)


def test_model_without_run_measures_onnxruntime_rows_only(tmp_path, monkeypatch, exported_model):
    """The shipped model has no checkpoint beside it: without --run the onnxruntime rows run, the torch rows say
    why not, and nothing asks for the missing checkpoint; with neither a run nor a file the call refuses."""
    import uwac.bench.infer_speed as bi

    fp32 = tmp_path / "model.onnx"
    shutil.copy(exported_model, fp32)
    monkeypatch.setattr(bi, "run_child", fake_child(["CPUExecutionProvider"]))
    result = bi.bench_infer(fp32=fp32, out=tmp_path / "out", seconds=5, batch=BATCH, repeats=1, progress=False)
    status = {(r["pipeline"], r["batch"]): r["status"] for r in result["rows"]}
    assert status[("ort-fp32", 1)] == "ok" and result["params"]["run"] is None
    for pipeline in ("torch", "librosa-torch"):
        assert status[(pipeline, 1)].startswith("not run: no training run given (--run RUN")
    assert result["ratios"]["1"]["onnx_vs_torch"] is None
    with pytest.raises(ValueError, match="needs a training run folder"):
        bi.bench_infer(out=tmp_path / "none")
