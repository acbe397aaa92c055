"""Training: recording-level splits, outputs, weights_only checkpoints, determinism, leak refusal."""

import json

import pytest
import torch
import yaml

from tests.conftest import CNN_CONFIG, tiny_config
from uwac.acoustics.manifest import ManifestError, read_manifest, write_manifest
from uwac.training.config import load_config
from uwac.training.train import train


def test_run_outputs(trained_run):
    for name in ("config.yaml", "manifest.csv", "metrics.json", "history.csv", "checkpoint_best.pt", "checkpoint_last.pt",
                 "training_curves.png"):
        assert (trained_run / name).is_file(), name
    metrics = json.loads((trained_run / "metrics.json").read_text())
    assert metrics["leaky_splits"] is False and len(metrics["history"]) == 2
    assert 0.0 <= metrics["val"]["window"]["macro_f1"] <= 1.0
    base = metrics["baseline"]
    assert (trained_run / "baseline.skops").is_file() and base["train_windows"] > 0
    assert 0.0 <= base["val"]["window"]["macro_f1"] <= 1.0 and base["test"]["recording"]["n"] > 0
    resolved = yaml.safe_load((trained_run / "config.yaml").read_text())
    assert resolved["frontend"]["sample_rate"] == 16000 and resolved["optim"]["epochs"] == 2


def test_no_recording_crosses_splits(trained_run):
    rows = read_manifest(trained_run / "manifest.csv")
    splits = {}
    for r in rows:
        splits.setdefault(r.recording_id, set()).add(r.split)
    assert all(len(s) == 1 for s in splits.values())
    assert {s for v in splits.values() for s in v} == {"train", "val", "test"}


def test_checkpoint_loads_weights_only(trained_run):
    state = torch.load(trained_run / "checkpoint_best.pt", weights_only=True)
    assert set(state) >= {"state_dict", "config", "classes", "epoch", "metrics"}


def test_training_is_deterministic(tmp_path, synth_manifest, trained_run):
    train(cfg=tiny_config(), manifest=synth_manifest, out=tmp_path / "again", progress=False)
    a = torch.load(trained_run / "checkpoint_last.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "again" / "checkpoint_last.pt", weights_only=True)["state_dict"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    cfg = tiny_config()
    cfg.seed = 99
    train(cfg=cfg, manifest=synth_manifest, out=tmp_path / "other", progress=False)
    c = torch.load(tmp_path / "other" / "checkpoint_last.pt", weights_only=True)["state_dict"]
    assert any(not torch.equal(a[k], c[k]) for k in a if a[k].is_floating_point())


def test_leaky_manifest_refused_then_marked(tmp_path, trained_run):
    rows = read_manifest(trained_run / "manifest.csv")
    victim = next(r for r in rows if r.split == "test")
    rows.append(type(victim)(victim.path, victim.start_s, victim.end_s, victim.label, victim.fine_label,
                             victim.recording_id, "train", victim.source, dict(victim.extra)))
    leaky = write_manifest(rows, tmp_path / "leaky.csv")
    with pytest.raises(ManifestError, match="leak"):
        train(cfg=tiny_config(1), manifest=leaky, out=tmp_path / "refused", progress=False)
    metrics = train(cfg=tiny_config(1), manifest=leaky, out=tmp_path / "marked", allow_leaky=True, progress=False)
    assert metrics["leaky_splits"] is True and "LEAKY" in metrics["protocol"]


def test_config_errors_are_clear(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(CNN_CONFIG.read_text().replace("hop_seconds: 1.0", "hop_seconds: 0.33"))
    with pytest.raises(ValueError, match="hop_seconds"):
        load_config(bad)
    bad.write_text("optim:\n  epoch: 3\n")
    with pytest.raises(ValueError, match="unknown setting"):
        load_config(bad)
