"""Shared fixtures: one small rendered dataset, one short training run and its ONNX export per session."""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CNN_CONFIG = ROOT / "training" / "configs" / "cnn.yaml"  # the compact CNN: fast, 3-s windows
EAR_CONFIG = ROOT / "training" / "configs" / "ear.yaml"


@pytest.fixture(scope="session", autouse=True)
def span_cache_in_tmp(tmp_path_factory):
    """Keep the resampled-span cache of every test (and its subprocesses) out of the user's home."""
    old = os.environ.get("UWAC_CACHE")
    os.environ["UWAC_CACHE"] = str(tmp_path_factory.mktemp("span_cache"))
    yield
    if old is None:
        os.environ.pop("UWAC_CACHE", None)
    else:
        os.environ["UWAC_CACHE"] = old


@pytest.fixture(scope="session")
def synth_manifest(tmp_path_factory) -> Path:
    """16 rendered 12-s recordings (4 per class) at 16 kHz."""
    from uwac.acoustics.synth import render_dataset

    out = tmp_path_factory.mktemp("synth")
    return render_dataset(out_dir=out, minutes=3.2, seed=11, clip_seconds=12.0, workers=1, progress=False)


def tiny_config(epochs: int = 2, config: Path = CNN_CONFIG):
    """A shipped config (the compact CNN's by default), shortened for tests."""
    from uwac.training.config import load_config

    cfg = load_config(config)
    cfg.optim.epochs = epochs
    cfg.optim.batch_size = 32
    return cfg


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, synth_manifest) -> Path:
    from uwac.training.train import train

    run = tmp_path_factory.mktemp("run")
    train(cfg=tiny_config(), manifest=synth_manifest, out=run, progress=False)
    return run


@pytest.fixture(scope="session")
def ear_run(tmp_path_factory, synth_manifest) -> Path:
    """The physics ear (training/configs/ear.yaml) trained for one epoch on the small dataset, no baseline."""
    from uwac.training.train import train

    cfg = tiny_config(epochs=1, config=EAR_CONFIG)
    cfg.baseline = False
    run = tmp_path_factory.mktemp("ear_run")
    train(cfg=cfg, manifest=synth_manifest, out=run, progress=False)
    return run


@pytest.fixture(scope="session")
def exported_model(trained_run) -> Path:
    from uwac.export.onnx_export import export_run

    path = trained_run / "model.onnx"
    export_run(trained_run, path)
    return path
