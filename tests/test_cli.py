"""The command line end to end: demo on a small budget, and clear errors instead of tracebacks."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def uwac(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "uwac.acoustics", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


def test_demo_end_to_end_small(tmp_path):
    out = tmp_path / "demo"
    res = uwac("demo", "--out", out, "--minutes", 2.4, "--epochs", 1, "--workers", 2)
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert Path(summary["model"]).is_file() and summary["model"].endswith("model.onnx")
    assert summary["held_out"]["recordings"] > 0
    assert 0.0 <= summary["held_out"]["all"]["window"]["macro_f1"] <= 1.0
    for sub in ("data/manifest.csv", "run/config.yaml", "run/metrics.json", "eval/metrics.json",
                "eval/confusion_window.png"):
        assert (out / sub).is_file(), sub
    assert "held-out test" in res.stdout and str(out / "summary.json") in res.stdout


def test_synth_cli_same_seed_same_bytes(tmp_path):
    for name in ("a", "b"):
        res = uwac("synth", "--out", tmp_path / name, "--minutes", 0.4, "--clip-seconds", 6, "--seed", 5, "--workers", 1)
        assert res.returncode == 0, res.stderr[-2000:]
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert any(str(f).endswith(".wav") for f in files)
    for f in files:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f


def test_bad_inputs_give_one_clear_line(tmp_path):
    res = uwac("evaluate", tmp_path / "missing.onnx", "--manifest", tmp_path / "m.csv", "--out", tmp_path / "e")
    assert res.returncode == 2 and "not found" in res.stderr and "Traceback" not in res.stderr
    res = uwac("train", "--config", ROOT / "training/configs/cnn.yaml", "--manifest", tmp_path / "m.csv",
               "--out", tmp_path / "r")
    assert res.returncode == 2 and "manifest" in res.stderr and "Traceback" not in res.stderr
    res = uwac("export", tmp_path / "norun", "--out", tmp_path / "x.onnx")
    assert res.returncode == 2 and "checkpoint" in res.stderr


def test_synth_scenes_with_strong_labels_and_previews(tmp_path):
    out = tmp_path / "scenes"
    res = uwac("synth", "--out", out, "--minutes", 1.0, "--clip-seconds", 20, "--seed", 3, "--workers", 1,
               "--scenes", "--preview", 2)
    assert res.returncode == 0, res.stderr[-2000:]
    events = (out / "events.csv").read_text().splitlines()
    assert events[0].startswith("recording_id,contact,label")
    pngs = sorted((out / "previews").glob("*.png"))
    assert len(pngs) == 2 and all(p.stat().st_size > 10_000 for p in pngs)
    from uwac.acoustics.manifest import read_manifest

    rows = read_manifest(out / "manifest.csv")
    assert {r.recording_id for r in rows} == {f"syn-3-{i:05d}" for i in range(3)}


def test_bench_synth_reports_ratios(tmp_path):
    res = uwac("bench", "synth", "--seconds", 2, "--repeats", 1, "--out", tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    report = json.loads((tmp_path / "bench_synth.json").read_text())
    assert [r["class"] for r in report["classes"]] == ["ambient", "merchant", "warship", "drone"]
    assert all(r["x_real_time_per_core"] > 0 and r["cost_over_bare_noise"] > 0 for r in report["classes"])
    assert "real time per core" in res.stdout
