"""Recipes inherit (``extends:``) and take ``--set`` overrides; the shipped ones state only what differs."""

from pathlib import Path

import pytest

from uwac.training.config import config_to_dict, load_config

CONFIGS = Path(__file__).resolve().parents[2] / "training" / "configs"


def test_extends_and_overrides(tmp_path):
    (tmp_path / "base.yaml").write_text("name: base\nseed: 1\ndata:\n  window_seconds: 6.0\n  split_seed: 3\n")
    (tmp_path / "child.yaml").write_text("extends: base.yaml\nname: child\ndata:\n  window_seconds: 9.0\n")
    cfg = load_config(tmp_path / "child.yaml", ["optim.epochs=3", "data.window_labels=ambient"])
    assert (cfg.name, cfg.seed, cfg.data.window_seconds, cfg.data.split_seed) == ("child", 1, 9.0, 3)
    assert cfg.optim.epochs == 3 and cfg.data.window_labels == "ambient"
    with pytest.raises(ValueError, match="KEY=VALUE"):
        load_config(tmp_path / "child.yaml", ["epochs"])
    (tmp_path / "loop.yaml").write_text("extends: loop.yaml\n")
    with pytest.raises(ValueError, match="extends itself"):
        load_config(tmp_path / "loop.yaml")


def test_shipped_recipes_state_only_what_differs_from_the_ear():
    ear = config_to_dict(load_config(CONFIGS / "ear.yaml"))
    # default.yaml also pins the shipped model's LOFAR/DEMON geometry (frames every 0.77 s), so it rebuilds it
    allowed = {"demo": {"name"}, "default": {"name", "notes", "seed", "frontend", "data.split_seed",
                                             "data.window_seconds", "data.window_labels"},
               "ear15": {"name", "notes", "seed", "augment", "data.split_seed", "data.window_seconds",
                         "data.window_labels"}}
    for name, ok in allowed.items():
        cfg = config_to_dict(load_config(CONFIGS / f"{name}.yaml"))
        diff = {k for k in ear if ear[k] != cfg[k] and k != "data"} | \
            {f"data.{k}" for k in ear["data"] if ear["data"][k] != cfg["data"][k]}
        assert diff == ok, (name, diff)
