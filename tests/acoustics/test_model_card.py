"""`uwac card`: audible-window and whole-recording figures side by side (model and baseline), the physics output's
fields, the physics heads' test accuracy (from the metadata or the run), real-world goals with their verdicts and
the vessel-vs-not AUC beside the demon_lines floor; on contract-abiding toy ONNX models (no torch)."""

import copy
import json

import numpy as np
import pytest

from tests.toy_models import toy_model
from uwac.acoustics.cli import main
from uwac.acoustics.evaluation.evaluate import evaluate
from uwac.acoustics.evaluation.model_card import card_markdown, figures_table, real_world_goals, write_card
from uwac.acoustics.evaluation.real_world import real_world_table

FIELDS = ["audible", "shaft_hz", "blades"]
PHYSICS_TEST = {"audible": {"accuracy": 0.81, "majority": 0.55, "windows": 40},
                "blades": {"accuracy": 0.42, "majority": 0.3, "windows": 12}}
SUBSETS = ("audible_snr_ge_0db", "audible", "snr_ge_0db", "all")


def block(window: float, recording: float) -> dict:
    """A figure block as ``uwac evaluate`` writes it, reduced to what the card reads."""
    return {"window": {"macro_f1": window}, "recording": {"macro_f1": recording}}


def synthetic_eval(*, audible: bool = True, baseline: bool = True) -> dict:
    """An evaluation's metrics.json with a distinct macro-F1 in every cell (model 0.1x, baseline 0.2x)."""
    ev = {"manifest": "m/manifest.csv", "split": "test", "recordings": 8,
          "protocol": {"title": "recording-disjoint splits (REC)"}, "audible_rule": "the audible rule"}
    base = {}
    for i, key in enumerate(SUBSETS):
        if key.startswith("audible") and not audible:
            continue
        ev[key] = block(0.11 + i / 100, 0.15 + i / 100)
        base[key] = block(0.21 + i / 100, 0.25 + i / 100)
    if baseline:
        ev["baseline"] = {**base.pop("all"), **base}  # the baseline's whole-recording, all-SNR figures are its top
    return ev


def real_eval(auc_scores: bool = True) -> dict:
    """A real-world evaluation from :func:`real_world_table` on hand-made clip probabilities, with the floor added
    as ``uwac evaluate`` adds it."""
    probs = np.array([[0.9, 0.1, 0, 0], [0.2, 0.7, 0.1, 0], [0.3, 0.6, 0.1, 0], [0.8, 0.1, 0.1, 0],
                      [0.4, 0.1, 0.5, 0]])
    rw = real_world_table(probs, ["ambient", "vessel", "vessel", "vessel", "biological"],
                          ["ambient", "merchant", "merchant", "merchant", "ambient"], ["ambient", "merchant",
                                                                                        "warship", "drone"])
    if auc_scores:
        rw["physics_floor"] = {"auc": 0.7}
        rw["vessel_vs_not"]["physics_floor_auc"] = 0.7
        rw["vessel_vs_not"]["at_least_floor"] = rw["vessel_vs_not"]["auc"] >= 0.7
    else:  # an evaluation written before the AUC was measured
        rw.pop("vessel_vs_not")
    return {"manifest": "real.csv", "split": "test", "recordings": 5, "real_world": rw}


def rows(card: str, start: str) -> list[str]:
    return [line for line in card.splitlines() if line.startswith(start)]


def test_audible_and_whole_recording_figures_side_by_side_for_model_and_baseline():
    table = "\n".join(figures_table(synthetic_eval()))
    assert ("| level | SNR | audible windows: model | audible windows: baseline | whole recording: model | "
            "whole recording: baseline |") in table
    assert "| window macro-F1 | ≥ 0 dB | 0.110 | 0.210 | 0.130 | 0.230 |" in table
    assert "| window macro-F1 | all | 0.120 | 0.220 | 0.140 | 0.240 |" in table
    assert "| recording macro-F1 | ≥ 0 dB | 0.150 | 0.250 | 0.170 | 0.270 |" in table
    assert "| recording macro-F1 | all | 0.160 | 0.260 | 0.180 | 0.280 |" in table
    assert "*Audible windows*: the audible rule." in table and "*Whole recording*: every window" in table


def test_without_strong_labels_or_baseline_only_what_was_measured():
    table = "\n".join(figures_table(synthetic_eval(audible=False, baseline=False)))
    assert "| level | SNR | whole recording: model |" in table and "audible windows:" not in table
    assert "| window macro-F1 | all | 0.140 |" in table and "Audible-window figures: not measured" in table
    ev = synthetic_eval(baseline=False)
    ev["audible_snr_ge_0db"] = {"window": None, "recording": {"macro_f1": 0.5}}  # no window there: a dash
    assert "| window macro-F1 | ≥ 0 dB | – | 0.130 |" in "\n".join(figures_table(ev))


def test_card_from_a_real_evaluation_names_both_figures(tmp_path, synth_manifest):
    """Through `uwac evaluate` on a render with strong labels: the card's cells are the evaluation's figures."""
    model = toy_model(tmp_path / "toy.onnx")
    ev = evaluate(model=model, manifest=synth_manifest, out=tmp_path / "ev", progress=False)
    assert "audible" in ev and "snr_ge_0db" in ev
    card = write_card(model=model, evaluations=[tmp_path / "ev"], out=tmp_path / "card.md").read_text()
    f = lambda key, level: f"{ev[key][level]['macro_f1']:.3f}"  # noqa: E731
    assert f"| window macro-F1 | all | {f('audible', 'window')} | {f('all', 'window')} |" in card
    assert f"| recording macro-F1 | ≥ 0 dB | {f('audible_snr_ge_0db', 'recording')} | " \
           f"{f('snr_ge_0db', 'recording')} |" in card
    assert "## Physics output" not in card and "## Physics heads" not in card
    assert "outputs logits, probabilities, embedding\n" in card and "No real-world check was run" in card


def test_physics_output_fields_and_heads_from_the_metadata(tmp_path):
    model = toy_model(tmp_path / "ear.onnx", window_s=6.0, physics_fields=FIELDS,
                      training={"physics_test": PHYSICS_TEST, "manifest_sha256": "a" * 64})
    card = card_markdown(model, [])
    assert "outputs logits, probabilities, embedding, physics (below)" in card and "per 6-s window" in card
    assert "`physics` float32 [batch, 3]" in card and "Note: toy estimates." in card
    assert rows(card, "| 0 | `audible` |") == ["| 0 | `audible` | about audible |"]
    assert rows(card, "| 2 | `blades` |") == ["| 2 | `blades` | about blades |"]
    assert "from the model's metadata" in card
    assert rows(card, "| audible |") == ["| audible | 0.810 | 0.550 | 40 |"]
    assert rows(card, "| blades |") == ["| blades | 0.420 | 0.300 | 12 |"]


def test_physics_heads_from_the_run_with_uwac_card_run(tmp_path):
    model = toy_model(tmp_path / "ear.onnx", physics_fields=FIELDS, training={"manifest_sha256": "a" * 64})
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps({"manifest_sha256": "a" * 64, "physics_test": PHYSICS_TEST}))
    assert "## Physics heads" not in card_markdown(model, [])  # neither the metadata nor a run has them
    out = tmp_path / "card.md"
    assert main(["card", str(model), "--run", str(run), "--out", str(out)]) == 0
    card = out.read_text()
    assert "from the training run's metrics.json" in card and rows(card, "| audible |") == \
        ["| audible | 0.810 | 0.550 | 40 |"]
    (run / "metrics.json").write_text(json.dumps({"manifest_sha256": "b" * 64, "physics_test": PHYSICS_TEST}))
    with pytest.raises(ValueError, match="another manifest"):
        write_card(model=model, evaluations=[], out=out, run=run)
    with pytest.raises(FileNotFoundError, match="uwac train"):
        write_card(model=model, evaluations=[], out=out, run=tmp_path / "missing")


def test_real_world_goals_with_verdicts_and_the_auc_beside_the_floor(tmp_path):
    ev = real_eval()
    v = ev["real_world"]["vessel_vs_not"]
    goals = {g["goal"]: g for g in real_world_goals(ev["real_world"])}
    assert goals["real non-vessel clips called a vessel"]["met"] is False  # 1 of 2 called warship
    assert goals["real merchant clips called merchant"]["met"] is False  # 2 of 3 < 5/7
    assert goals["vessel vs not, ROC AUC over the clips"]["met"] == (v["auc"] >= 0.9)
    card = card_markdown(toy_model(tmp_path / "toy.onnx"), [ev])
    assert "| real non-vessel clips called a vessel | ≤ 10 % | 50.0 % (1 of 2) | **NOT met** |" in card
    assert "| real merchant clips called merchant | ≥ 71 % | 66.7 % (2 of 3) | **NOT met** |" in card
    auc, verdict = f"{v['auc']:.3f}", "met" if v["at_least_floor"] else "**NOT met**"
    assert f"| vessel vs not, ROC AUC over the clips | ≥ 0.90 | {auc} (5 clips) |" in card
    assert (f"| vessel vs not AUC at least the physics floor (demon_lines confidence alone) | ≥ 0.700 | {auc} | "
            f"{verdict} |") in card
    limits = card.split("## Known limits")[1]
    assert "Real-world goals not met: real non-vessel clips called a vessel 50.0 %" in limits
    old = card_markdown(toy_model(tmp_path / "toy.onnx"), [real_eval(auc_scores=False)])
    assert "| real merchant clips called merchant |" in old and "ROC AUC" not in old


def test_an_unmeasured_goal_says_so(tmp_path):
    ev = copy.deepcopy(real_eval())
    ev["real_world"]["vessel_vs_not"].update(auc=None, meets_goal=None, at_least_floor=None)
    assert [g["met"] for g in real_world_goals(ev["real_world"])][2:] == [None, None]
    card = card_markdown(toy_model(tmp_path / "toy.onnx"), [ev])
    assert "| vessel vs not, ROC AUC over the clips | ≥ 0.90 | n/a (5 clips) | not measured |" in card


def test_card_keeps_every_evaluation_however_the_flag_is_repeated():
    """``build_default.sh`` passes ``--eval SYN --eval REAL``: both must reach the card, not only the last."""
    from pathlib import Path

    from uwac.acoustics.cli import build_parser

    for argv in (["--eval", "syn", "--eval", "real"], ["--eval", "syn", "real"]):
        args = build_parser().parse_args(["card", "m.onnx", *argv, "--out", "c.md"])
        assert args.eval == [Path("syn"), Path("real")]
    assert build_parser().parse_args(["card", "m.onnx", "--out", "c.md"]).eval is None
