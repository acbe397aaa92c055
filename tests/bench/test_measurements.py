"""The bench/ measurement scripts' tables: the drop and its verdict, and the window sweep's rows, say what was
measured (the scripts themselves train and are run by hand; see the README's measurements section)."""

import importlib

import pytest


def load(name):
    return importlib.import_module(f"uwac.bench.{name}")


def figures(head, **kw):
    return {"audible_snr_ge_0db": head, "audible": kw.get("audible", head), "all": kw.get("all", head),
            "merchant_f1_audible": kw.get("merchant", head)}


@pytest.mark.parametrize("shifted, met", [(0.86, True), (0.80, False), (0.95, True)])
def test_source_shift_drop_is_in_family_minus_shifted_and_judged_on_the_headline(shifted, met):
    shift = load("source_shift")
    result, lines = shift.shift_table(figures(0.88), figures(shifted, all=0.1), held_out="randi", trained_on=["je", "wh"])
    assert result["figures"]["audible_snr_ge_0db"]["drop"] == pytest.approx(0.88 - shifted)
    assert result["figures"]["all"]["drop"] == pytest.approx(0.78)  # reported, not judged
    assert result["meets_goal"] is met and result["held_out"] == "randi"
    assert any(("**met**" if met else "**missed**") in line for line in lines)
    assert lines[0].startswith("# Source-model shift: merchants trained on je + wh, tested on randi")


def test_source_shift_without_a_headline_is_not_judged():
    shift = load("source_shift")
    result, lines = shift.shift_table(figures(None), figures(0.8), held_out="wh", trained_on=["je", "randi"])
    assert result["meets_goal"] is None and result["figures"]["audible_snr_ge_0db"]["drop"] is None
    assert any("not measured" in line for line in lines)


def test_window_sweep_table_has_one_row_per_run_with_its_cost():
    sweep = load("window_sweep")
    rows = [{"window_s": 6.0, "frame_s": 3.072, "window_labels": "ignore", "audible_snr_ge_0db": 0.85,
             "audible": 0.84, "all": None, "p50_ms": 2.851, "p99_ms": 4.2, "x_real_time_at_hop": 701.4}]
    lines = sweep.table(rows)
    assert len(lines) == 3 and lines[0].count("|") == lines[2].count("|")
    assert lines[2] == "| 6 | 3.07 | ignore | 0.850 | 0.840 | – | 2.85 | 4.20 | 701 |"
