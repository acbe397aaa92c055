"""Training at scale: kill and exact resume, torchrun DDP on CPU, early stopping, warm start, mixed precision,
balanced windows, the ambient bank, TensorBoard and the per-protocol report."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import ROOT, tiny_config
from uwac.acoustics.manifest import read_manifest, write_manifest
from uwac.training.config import save_config
from uwac.training.data import epoch_windows, load_split
from uwac.training.distributed import weights_digest
from uwac.training.models import build_classifier
from uwac.training.train import bank_rows, prepare_splits, train


def small_config(epochs=3, **changes):
    """The demo config on the shared 16-recording set, without the baseline (speed)."""
    cfg = tiny_config(epochs)
    cfg.baseline = False
    for key, value in changes.items():
        section, name = key.split("__")
        setattr(getattr(cfg, section), name, value)
    return cfg


def weights(run: Path, name="checkpoint_last.pt") -> dict:
    return torch.load(run / name, weights_only=True)["state_dict"]


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


PAUSED_TRAIN = """
import sys, time
from uwac.training.config import load_config
from uwac.training.train import train

def pause(epoch, out):
    if epoch == 1:
        print(f"paused after epoch {epoch}", flush=True)
        time.sleep(120)

config, manifest, out = sys.argv[1:]
train(cfg=load_config(config), manifest=manifest, out=out, on_epoch_end=pause)
"""


def train_paused(config: Path, manifest: Path, out: Path) -> subprocess.Popen:
    """Training in a child process that sleeps 120 s once epoch 1's checkpoints are written (to kill it there)."""
    return subprocess.Popen([sys.executable, "-c", PAUSED_TRAIN, str(config), str(manifest), str(out)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_killed_run_resumes_to_the_same_weights(tmp_path, synth_manifest):
    cfg = small_config(3)
    config = save_config(cfg, tmp_path / "cfg.yaml")
    straight = tmp_path / "straight"
    train(cfg=cfg, manifest=synth_manifest, out=straight, progress=False)

    killed = tmp_path / "killed"
    proc = train_paused(config, synth_manifest, killed)
    deadline = time.time() + 300
    for line in proc.stdout:
        if "paused after epoch 1" in line or time.time() > deadline:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert torch.load(killed / "checkpoint_last.pt", weights_only=True)["epoch"] == 1
    assert not (killed / "metrics.json").exists()

    metrics = train(cfg=cfg, manifest=synth_manifest, out=killed, progress=False, resume=True)
    assert [h["epoch"] for h in metrics["history"]] == [1, 2, 3]
    assert same(weights(straight), weights(killed))
    assert same(weights(straight, "checkpoint_best.pt"), weights(killed, "checkpoint_best.pt"))


def test_resume_refuses_a_different_config(tmp_path, trained_run, synth_manifest):
    cfg = tiny_config()
    cfg.optim.lr = 0.1
    with pytest.raises(ValueError, match="optim"):
        train(cfg=cfg, manifest=synth_manifest, out=trained_run, progress=False, resume=True)
    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        train(cfg=tiny_config(), manifest=synth_manifest, out=tmp_path / "empty", progress=False, resume=True)


def test_torchrun_two_gloo_processes_keep_identical_weights(tmp_path, synth_manifest):
    cfg = small_config(2)
    cfg.threads = 1
    cfg.tensorboard = False
    config = save_config(cfg, tmp_path / "cfg.yaml")
    run = tmp_path / "ddp"
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                           "-m", "uwac.acoustics", "train", "--config", str(config), "--manifest", str(synth_manifest),
                           "--out", str(run), "--device", "cpu"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    metrics = json.loads((run / "metrics.json").read_text())
    ddp = metrics["distributed"]
    assert ddp["world_size"] == 2 and ddp["backend"] == "gloo"
    digests = ddp["weights_sha256_by_rank"]
    assert len(digests) == 2 and digests[0] == digests[1]
    model = build_classifier(cfg.frontend, cfg.model, n_classes=len(cfg.classes))
    model.load_state_dict(weights(run))
    assert weights_digest(model) == digests[0]  # the digest is of the weights that were saved
    fresh = build_classifier(cfg.frontend, cfg.model, n_classes=len(cfg.classes))
    assert weights_digest(fresh) != digests[0]  # and training changed them


def test_early_stopping_stops_and_keeps_the_best(tmp_path, synth_manifest):
    cfg = small_config(8, optim__early_stopping_patience=1, optim__lr=0.0)  # lr 0: validation never improves
    metrics = train(cfg=cfg, manifest=synth_manifest, out=tmp_path / "early", progress=False)
    assert metrics["early_stopped"] and metrics["epochs_run"] == 2 and metrics["best_epoch"] == 1


def test_warm_start_loads_matching_weights(tmp_path, trained_run, synth_manifest):
    cfg = small_config(1, optim__lr=0.0)
    cfg.classes = ["ambient", "merchant", "warship", "drone", "other"]  # a new head: kept fresh
    cfg.init_from = str(trained_run)
    metrics = train(cfg=cfg, manifest=synth_manifest, out=tmp_path / "warm", progress=False)
    warm = metrics["warm_start"]
    assert warm["loaded"] > 10 and warm["kept_fresh"] == ["net.head.bias", "net.head.weight"]
    src, got = weights(trained_run, "checkpoint_best.pt"), weights(tmp_path / "warm")
    conv = next(k for k in src if k.startswith("net.body") and k.endswith("weight") and src[k].dim() == 4)
    assert torch.equal(src[conv], got[conv])  # lr 0: the warm-started weights are exactly the source's


def test_bf16_mixed_precision_path_runs_on_cpu(tmp_path, synth_manifest):
    """The CUDA autocast code path, exercised on CPU with bf16 (no GPU here); the front-end stays fp32."""
    cfg = small_config(1, optim__amp="bf16")
    metrics = train(cfg=cfg, manifest=synth_manifest, out=tmp_path / "amp", progress=False)
    assert metrics["amp"] == "torch.bfloat16" and np.isfinite(metrics["history"][0]["train_loss"])


def test_balanced_windows_even_out_classes(synth_manifest):
    cfg = small_config()
    rows, _ = prepare_splits(synth_manifest, cfg)
    train_rows = [r for r in rows if r.split == "train"]
    split = load_split(train_rows + [r for r in train_rows if r.label == "merchant"] * 4, cfg)  # merchants 5x over

    def spread(windows):
        counts = np.bincount(split.labels[[s for s, _ in windows]], minlength=4)
        return counts.max() / counts.min()

    assert spread(split.grid_windows(cfg)) > 3
    assert spread(epoch_windows(split, cfg, seed=0, epoch=1)) < 1.6
    cfg.data.balanced = False
    assert spread(epoch_windows(split, cfg, seed=0, epoch=1)) > 3
    cfg.data.balanced = True
    a = epoch_windows(split, cfg, seed=0, epoch=1)
    assert a == epoch_windows(split, cfg, seed=0, epoch=1) and a != epoch_windows(split, cfg, seed=0, epoch=2)
    win = cfg.window_samples()
    assert all(0 <= start <= len(split.spans[s]) - win for s, start in a)


def test_ambient_bank_never_takes_validation_or_test_audio(tmp_path, trained_run):
    rows = read_manifest(trained_run / "manifest.csv")
    bank = write_manifest(rows, tmp_path / "bank.csv")  # the same manifest offered as a bank
    held_out = {r.recording_id for r in rows if r.split in ("val", "test")}
    got = bank_rows([str(bank)], rows)
    assert got and all(r.label == "ambient" and r.recording_id not in held_out for r in got)


def test_tensorboard_and_report(trained_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(trained_run / "tb"), size_guidance={"images": 0, "scalars": 0})
    acc.Reload()
    assert {"train/loss", "val/macro_f1", "train/windows_per_s"} <= set(acc.Tags()["scalars"])
    assert "val/confusion" in acc.Tags()["images"] and len(acc.Images("val/confusion")) == 2
    report = (trained_run / "report.md").read_text()
    assert report.startswith("# cnn: cnn on recording-disjoint splits (REC)")
    assert "Test macro-F1" in report and "Baseline" in report and "by SNR band" in report
    assert (trained_run / "confusion_test_recording.png").is_file()
    metrics = json.loads((trained_run / "metrics.json").read_text())
    assert metrics["macs_per_window"]["total_macs"] > 1e6 and metrics["train_windows_per_s"] > 0
    assert len(metrics["test"]["snr_bands"]["recording"]) == 4


def test_bench_train_measures_compute_and_loader(synth_manifest, tmp_path):
    from uwac.bench.train_speed import bench_train, render_markdown

    cfg = small_config(1)
    cfg.optim.batch_size = 8
    result = bench_train(cfg=cfg, manifest=synth_manifest, steps=2, warmup=1, out=tmp_path)
    assert result["compute_only_windows_per_s"] > 0 and result["loader_fed_windows_per_s"] > 0
    assert 0 < result["device_busy_fraction"] < 2 and result["device"] == "cpu"
    assert "windows/s" in render_markdown(result) and (tmp_path / "bench_train.json").is_file()
