"""Open-set hold-out (``data.exclude_fine_labels``): held-out fine types never reach training, validation or
calibration; test keeps them; the exported model names them."""

import logging

import pytest

from tests.conftest import CNN_CONFIG, tiny_config
from uwac.acoustics.manifest import assign_splits, read_manifest, write_manifest
from uwac.training import train as train_module
from uwac.training.config import config_from_dict, load_config
from uwac.training.data import describe_hold_out, hold_out_fine
from uwac.training.train import bank_rows, prepare_splits, train


def split_rows(manifest):
    """The synthetic manifest split as training splits it (demo config: the data section's seed and fractions)."""
    cfg = load_config(CNN_CONFIG)
    return assign_splits(read_manifest(manifest), fractions=tuple(cfg.data.split_fractions), seed=cfg.data.split_seed)


def test_hold_out_drops_train_and_val_recordings_keeps_test(synth_manifest):
    rows = split_rows(synth_manifest)
    aerial = {s: {r.recording_id for r in rows if r.fine_label == "aerial" and r.split == s} for s in ("train", "val", "test")}
    assert all(aerial.values()), "the shared synthetic set should hold aerial drones in every split"
    kept, summary = hold_out_fine(rows, ["aerial"])
    assert not any(r.fine_label == "aerial" and r.split in ("train", "val") for r in kept)
    assert {r.recording_id for r in kept if r.fine_label == "aerial"} == aerial["test"]
    assert [r for r in kept if r.split == "test"] == [r for r in rows if r.split == "test"]
    assert summary["dropped"]["train"]["recordings"] == len(aerial["train"])
    assert summary["dropped"]["val"]["recordings"] == len(aerial["val"])
    assert summary["test"]["by_fine"] == {"aerial": sum(r.fine_label == "aerial" and r.split == "test" for r in rows)}
    assert "aerial kept out of training" in describe_hold_out(summary)
    assert hold_out_fine(rows, []) == (rows, {})


def test_hold_out_drops_the_whole_recording(synth_manifest):
    rows = split_rows(synth_manifest)
    victim = next(r for r in rows if r.split == "train" and r.fine_label == "aerial")
    neighbour = type(victim)(victim.path, victim.start_s, victim.end_s, "ambient", "sea", victim.recording_id,
                             victim.split, victim.source, dict(victim.extra))  # another span of the same scene
    kept, _ = hold_out_fine([*rows, neighbour], ["aerial"])
    assert victim.recording_id not in {r.recording_id for r in kept}


def test_unknown_fine_label_lists_the_known_ones(synth_manifest):
    with pytest.raises(ValueError, match=r"'uvv' is the fine_label of no manifest row.*drone: uuv, usv, aerial"):
        hold_out_fine(split_rows(synth_manifest), ["uvv"])
    with pytest.raises(ValueError, match="exclude_fine_labels must be a list"):
        config_from_dict({"data": {"exclude_fine_labels": "uuv"}})
    with pytest.raises(ValueError, match="exclude_fine_labels must be a list"):
        config_from_dict({"data": {"exclude_fine_labels": ["uuv", "uuv"]}})


def test_ambient_bank_skips_held_out_fine_types(tmp_path, synth_manifest):
    rows = split_rows(synth_manifest)
    bank = write_manifest([r for r in rows if r.split == "train"], tmp_path / "bank.csv")
    assert bank_rows([str(bank)], rows)
    assert bank_rows([str(bank)], rows, exclude_fine=["sea"]) == []


def test_training_never_sees_held_out_types(tmp_path, synth_manifest, monkeypatch, caplog):
    cfg = tiny_config(1)
    cfg.baseline = False
    cfg.data.exclude_fine_labels = ["aerial"]
    seen, calibrated = {}, []
    real_load, real_calibrate = train_module.load_split, train_module.calibrate

    def spy_load(rows, cfg, *, desc="", **kw):
        seen[desc] = list(rows)
        return real_load(rows, cfg, desc=desc, **kw)

    def spy_calibrate(logits, labels):
        calibrated.append(len(labels))
        return real_calibrate(logits, labels)

    monkeypatch.setattr(train_module, "load_split", spy_load)
    monkeypatch.setattr(train_module, "calibrate", spy_calibrate)
    with caplog.at_level(logging.INFO, logger="uwac.training.train"):
        metrics = train(cfg=cfg, manifest=synth_manifest, out=tmp_path / "run", progress=False)
    assert "open-set hold-out (data.exclude_fine_labels): aerial" in caplog.text
    assert not any(r.fine_label == "aerial" for d in ("train", "val", "ambient bank") for r in seen[d])
    assert any(r.fine_label == "aerial" for r in seen["test"])
    windows_per_clip = 10  # 12-s clips, 3-s windows, 1-s hop
    assert calibrated == [windows_per_clip * len(seen["val"])] == [metrics["calibration"]["val_windows"]]
    assert metrics["held_out_fine_labels"] == ["aerial"]
    written = read_manifest(tmp_path / "run" / "manifest.csv")
    assert not any(r.fine_label == "aerial" and r.split != "test" for r in written)
    assert load_config(tmp_path / "run" / "config.yaml").data.exclude_fine_labels == ["aerial"]
    rows, _ = prepare_splits(synth_manifest, cfg)
    assert {r.recording_id for r in rows} == {r.recording_id for r in written}

    from uwac.acoustics.contract import load_session
    from uwac.acoustics.evaluation.openset import held_out_fine_labels
    from uwac.export.onnx_export import export_run

    export_run(tmp_path / "run", tmp_path / "model.onnx")
    _, info = load_session(tmp_path / "model.onnx")
    assert held_out_fine_labels(info) == ["aerial"]

    from uwac.acoustics.evaluation.evaluate import evaluate

    result = evaluate(model=tmp_path / "model.onnx", manifest=tmp_path / "run" / "manifest.csv",
                      out=tmp_path / "eval", progress=False)  # its test split still holds the aerial rows
    win = result["open_set"]["window"]
    assert win["n_held_out"] > 0 and 0.0 <= win["auroc"] <= 1.0
    shares = win["held_out"]
    assert abs(sum(shares[k] for k in ("unknown", "ambient", "true_class", "wrong_vessel")) - 1.0) < 1e-9
    assert "Open-set check" in (tmp_path / "eval" / "report.md").read_text()
    assert "Open set: fine types held out" in (tmp_path / "eval" / "report.html").read_text()


def test_cli_flag_sets_the_config(tmp_path, monkeypatch):
    from uwac.acoustics import cli

    got = {}

    def fake_train(*, cfg, **kw):
        got["cfg"] = cfg
        return {}

    monkeypatch.setattr(train_module, "train", fake_train)
    cli.main(["train", "--config", str(CNN_CONFIG), "--manifest", "m.csv", "--out", str(tmp_path),
              "--exclude-fine", "uuv", "patrol", "uuv"])
    assert got["cfg"].data.exclude_fine_labels == ["uuv", "patrol"]
