"""`uwac evaluate`'s analyst report: the event matcher on hand-built spans, the breakdown helpers, and the report
(protocol in the title, sections, AUCs, ECE, leaky warning on the headline's line) through the tiny exported
model and through a contract-abiding toy ONNX model on a rendered scene set."""

import csv
import functools
import html
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.toy_models import toy_model
from uwac.acoustics.evaluation.breakdowns import fine_type_table, metrics_by_band, range_band_name, roc_pr
from uwac.acoustics.evaluation.event_scores import (
    Event,
    event_scores,
    match_events,
    merge_events,
    segments_from_windows,
)
from uwac.acoustics.evaluation.metrics import reliability
from uwac.acoustics.manifest import PROTOCOL_TITLES, read_manifest, write_manifest

ROOT = Path(__file__).resolve().parents[2]
CLASSES = ["ambient", "merchant", "warship", "drone"]



_toy = functools.partial(toy_model, hop_s=1.0)  # tests/toy_models.py with this file's rates

def E(rec, label, a, b):
    return Event(rec, label, float(a), float(b))


def test_matcher_exact_counts():
    truth = [E("a", "merchant", 10, 60), E("a", "warship", 100, 130), E("b", "merchant", 0, 20), E("b", "drone", 50, 55)]
    pred = [E("a", "merchant", 12, 58),    # TP: onset 2 s, offset 2 s
            E("a", "merchant", 70, 80),    # FP: nothing there
            E("a", "warship", 108, 130),   # onset 8 s > 5 s: FP, and the warship is a FN
            E("b", "merchant", 3, 26),     # offset 6 s > max(5 s, 20 % of 20 s): FP, merchant b a FN
            E("b", "drone", 51, 56),       # TP
            E("b", "warship", 50, 55)]     # right time, wrong class: FP
    assert match_events(truth, pred) == [(0, 0), (3, 4)]
    s = event_scores(truth, pred, ["merchant", "warship", "drone"])
    got = {c: (v["tp"], v["fp"], v["fn"]) for c, v in s["per_class"].items()}
    assert got == {"merchant": (1, 2, 1), "warship": (0, 2, 1), "drone": (1, 0, 0)}
    assert (s["micro"]["tp"], s["micro"]["fp"], s["micro"]["fn"]) == (2, 4, 2)
    assert s["micro"]["precision"] == pytest.approx(2 / 6) and s["micro"]["recall"] == pytest.approx(2 / 4)
    assert s["per_class"]["merchant"]["f1"] == pytest.approx(2 / 5)  # 2 TP / (2 TP + FP + FN)
    assert s["macro_f1"] == pytest.approx(np.mean([2 / 5, 0.0, 1.0]))
    # the offset fraction widens the tolerance for long spans: 20 % of 50 s = 10 s
    assert match_events([E("a", "merchant", 10, 60)], [E("a", "merchant", 10, 69)]) == [(0, 0)]
    assert match_events([E("a", "merchant", 10, 60)], [E("a", "merchant", 10, 69)], offset_tol_frac=0.0) == []
    # onset only: offsets ignored
    assert match_events([E("b", "merchant", 0, 20)], [E("b", "merchant", 3, 26)], offset_tol_s=math.inf) == [(0, 0)]


def test_matcher_is_one_to_one_and_maximal():
    # two segments in tolerance of one span: one TP, one FP
    s = event_scores([E("r", "drone", 0, 10)], [E("r", "drone", 0, 10), E("r", "drone", 1, 11)], ["drone"])
    assert (s["micro"]["tp"], s["micro"]["fp"], s["micro"]["fn"]) == (1, 1, 0)
    # P1 is closest to T1 but also fits T2; P2 fits only T1: greedy nearest-onset would find one pair, we find two
    truth = [E("r", "merchant", 0, 10), E("r", "merchant", 2, 12)]
    pred = [E("r", "merchant", 0.2, 10.5), E("r", "merchant", -1.5, 9)]
    assert match_events(truth, pred, onset_tol_s=2, offset_tol_s=2, offset_tol_frac=0) == [(0, 1), (1, 0)]


def test_segments_from_windows_and_merge():
    # 3-s windows every 1 s over 12 s: each window owns [centre - 0.5, centre + 0.5), the ends stretched
    pred = ["ambient", "merchant", "merchant", "merchant", "ambient", "warship", "warship", "ambient", "ambient",
            "merchant"]
    segs = segments_from_windows(np.arange(10.0), pred, window_s=3, hop_s=1, extent=(0, 12), recording_id="r")
    assert segs == [E("r", "merchant", 2, 5), E("r", "warship", 6, 8), E("r", "merchant", 10, 12)]
    # a gap in the scoring breaks a run; merge_gap_s joins same-class segments across short gaps
    starts, same = [0, 1, 2, 10, 11], ["drone"] * 5
    assert len(segments_from_windows(starts, same, window_s=3, hop_s=1)) == 2
    assert segments_from_windows(starts, same, window_s=3, hop_s=1, merge_gap_s=10) == [E("", "drone", 0, 14)]
    assert merge_events([E("r", "merchant", 0, 30), E("r", "merchant", 20, 40), E("r", "drone", 5, 6),
                         E("q", "merchant", 0, 5)]) == [E("q", "merchant", 0, 5), E("r", "merchant", 0, 40),
                                                        E("r", "drone", 5, 6)]
    with pytest.raises(ValueError, match="2 window starts but 1"):
        segments_from_windows([0, 1], ["drone"], window_s=3, hop_s=1)


def test_band_helpers():
    assert [range_band_name(lo, hi) for lo, hi in ((0, 300), (300, 1000), (3000, 10000), (10000, np.inf))] == \
        ["< 300 m", "0.3-1 km", "3-10 km", ">= 10 km"]
    y = np.array([0, 1, 1, 2])
    p = np.array([0, 1, 0, 2])
    rng = np.array([np.nan, 100.0, 500.0, 5000.0])  # ambient (no range) joins every band
    bands = metrics_by_band(y, p, rng, CLASSES[:3], ((0, 300), (300, 1000), (1000, 1e9)))
    assert [b["vessel_items"] for b in bands] == [1, 1, 1] and [b["items"] for b in bands] == [2, 2, 2]
    assert [b["accuracy"] for b in bands] == [1.0, 0.5, 1.0]
    fine = fine_type_table(y, p, ["sea", "tug", "tanker", "frigate"], CLASSES[:3])
    assert [(f["fine_label"], f["label"], f["recall"]) for f in fine] == \
        [("sea", "ambient", 1.0), ("tanker", "merchant", 0.0), ("tug", "merchant", 1.0), ("frigate", "warship", 1.0)]
    assert fine[1]["predicted"] == {"ambient": 1, "merchant": 0, "warship": 0}
    auc = roc_pr(np.eye(3)[[0, 1, 1, 2]] * 0.8 + 0.1, y, CLASSES[:3])
    assert auc["per_class"]["merchant"]["roc_auc"] == 1.0
    assert roc_pr(np.full((2, 3), 1 / 3), np.array([0, 0]), CLASSES[:3])["per_class"]["merchant"]["roc_auc"] is None


def test_evaluation_protocol():
    from uwac.acoustics.contract import ModelInfo
    from uwac.acoustics.evaluation.protocol import IND_TITLE, TRAINED_ON_TITLE, evaluation_protocol
    from uwac.acoustics.manifest import Row, manifest_fingerprint

    def rows(*spec):
        return [Row(f"/{rid}.wav", 0, 6, "merchant", "tug", rid, split, extra={"vessel_id": v} if v else {})
                for rid, split, v in spec]

    def info(sha=None):
        return ModelInfo("m", tuple(CLASSES), 16000, 3.0, 1.0, 0.5, {}, {}, {"manifest_sha256": sha}, "t")

    rec = rows(("a", "train", ""), ("b", "test", ""))
    assert evaluation_protocol(rec, "test", info())["code"] == "REC"
    assert "not checked" in evaluation_protocol(rec, "test", info())["reason"]
    assert evaluation_protocol(rows(("a", "train", "v1"), ("b", "test", "v2")), "test", info())["code"] == "VES"
    leak = evaluation_protocol(rows(("a", "train", ""), ("a", "test", "")), "test", info())
    assert leak["leaky"] and leak["title"] == PROTOCOL_TITLES["LEAKY"]
    own = info(manifest_fingerprint(rec))
    assert evaluation_protocol(rec, "test", own)["training_manifest"] and not evaluation_protocol(rec, "test", own)["leaky"]
    assert evaluation_protocol(rec, "all", own)["title"] == TRAINED_ON_TITLE
    assert "optimistic" in evaluation_protocol(rows(("a", "train", ""), ("b", "val", "")), "val",
                                               info(manifest_fingerprint(rows(("a", "train", ""), ("b", "val", "")))))["reason"]
    assert evaluation_protocol(rows(("a", "", ""), ("b", "", "")), "all", info())["title"] == IND_TITLE


def _headline_lines(text: str) -> list[str]:
    """Lines of the page that print a headline figure."""
    return [line for line in text.splitlines() if 'class="headline"' in line and re.search(r"F1 \d", line)]


def test_report_on_exported_model(exported_model, trained_run, tmp_path):
    from uwac.acoustics.contract import load_session
    from uwac.acoustics.evaluation.evaluate import evaluate
    from uwac.acoustics.evaluation.protocol import TRAINED_ON_TITLE

    _, info = load_session(exported_model)
    result = evaluate(model=exported_model, manifest=trained_run / "manifest.csv", out=tmp_path / "t", progress=False)
    assert result["split"] == "test" and result["protocol"]["code"] == "REC" and result["protocol"]["training_manifest"]
    page = (tmp_path / "t" / "report.html").read_text()
    title = html.unescape(re.search(r"<title>(.*)</title>", page).group(1))
    h1 = html.unescape(re.search(r"<h1>(.*)</h1>", page).group(1))
    assert PROTOCOL_TITLES["REC"] in title and PROTOCOL_TITLES["REC"] in h1
    for section in ("Headline", "Per class", "Confusion", "By SNR band", "By range", "By sea state", "By fine type",
                    "Calibration", "ROC and precision-recall"):
        assert f"<h2>{section}" in page, section
    assert "Event-level" not in page and "WARNING" not in page
    assert page.count("data:image/png;base64,") >= 9 and 'src="confusion' not in page  # self-contained
    for key in ("range_bands", "sea_state", "fine_type"):
        assert result[key]["window"] and result[key]["recording"], key
    assert sum(b["vessel_items"] for b in result["range_bands"]["recording"]) == \
        sum(1 for r in {(w.recording_id, w.label) for w in read_manifest(trained_run / "manifest.csv")
                        if w.split == "test"} if r[1] != "ambient")
    for c, v in result["roc_pr"]["per_class"].items():
        assert 0.0 <= v["roc_auc"] <= 1.0 and 0.0 <= v["average_precision"] <= 1.0, c
    # ECE is metrics.reliability of the scored windows (scores.csv keeps 6 decimals)
    with (tmp_path / "t" / "scores.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    probs = np.array([[float(r[f"p_{c}"]) for c in info.classes] for r in rows])
    labels = np.array([info.classes.index(r["label"]) for r in rows])
    assert result["calibration"]["ece"] == pytest.approx(reliability(probs, labels)["ece"], abs=1e-4)
    assert f"temperature {info.calibration['temperature']:.3f}" in page
    assert json.loads((tmp_path / "t" / "metrics.json").read_text())["calibration"]["model"]["temperature"] == \
        pytest.approx(info.calibration["temperature"])

    # every row of the model's own training manifest includes its train split: leaky, warned on the headline's line
    leaky = evaluate(model=exported_model, manifest=trained_run / "manifest.csv", out=tmp_path / "a", split="all",
                     progress=False)
    assert leaky["protocol"]["code"] == "LEAKY"
    page = (tmp_path / "a" / "report.html").read_text()
    assert TRAINED_ON_TITLE in html.unescape(re.search(r"<title>(.*)</title>", page).group(1))
    heads = _headline_lines(page)
    assert heads and all("WARNING: LEAKY" in line for line in heads)
    md = (tmp_path / "a" / "report.md").read_text()
    md_heads = [line for line in md.splitlines() if line.startswith("**Macro-F1")]
    assert md_heads and all("WARNING: LEAKY" in line for line in md_heads)




@pytest.fixture(scope="module")
def scene_set(tmp_path_factory) -> Path:
    """Three rendered 30-s scenes: a drone then sea, two overlapping merchants, one drone."""
    from uwac.acoustics.synth import render_dataset

    out = tmp_path_factory.mktemp("scenes")
    render_dataset(out_dir=out, minutes=1.5, seed=0, clip_seconds=30.0, workers=1, progress=False, scenes=True)
    return out


def test_scene_folder_end_to_end(scene_set, tmp_path):
    from uwac.acoustics.evaluation.evaluate import evaluate

    model = _toy(tmp_path / "toy.onnx")
    result = evaluate(model=model, manifest=scene_set, out=tmp_path / "e", progress=False)
    assert result["split"] == "all" and result["protocol"]["code"] == "IND"
    ev = result["events"]
    assert ev["recordings"] == 3 and ev["true_spans"] == 4 and ev["true_events"] == 3  # the two merchants merge
    assert ev["micro"]["tp"] + ev["micro"]["fn"] == ev["true_events"]
    assert ev["micro"]["tp"] + ev["micro"]["fp"] == ev["predicted_events"]
    ct = ev["contacts"]  # what the daemon's tracker would report over the same windows
    assert ct["micro"]["tp"] + ct["micro"]["fn"] == ev["true_events"]
    assert ct["micro"]["tp"] + ct["micro"]["fp"] == ct["predicted_events"]
    with (tmp_path / "e" / "events_predicted.csv").open() as fh:
        segs = list(csv.DictReader(fh))
    assert len(segs) == ev["predicted_events"] and sum(int(s["matched"]) for s in segs) == ev["micro"]["tp"]
    assert all(s["label"] != "ambient" and 0 <= float(s["start_s"]) < float(s["end_s"]) <= 30 for s in segs)
    page = (tmp_path / "e" / "report.html").read_text()
    assert "independent set" in html.unescape(re.search(r"<title>(.*)</title>", page).group(1))
    assert "<h2>Event-level detection" in page and "onset tolerance 5 s" in page
    assert "no temperature scaling stored" in page and result["calibration"]["ece_without_temperature"] is None

    # the same through the command line, with an explicit events file and a leaky split: warned on the same line
    rows = read_manifest(scene_set / "manifest.csv")
    for i, r in enumerate(rows):
        r.split = "train" if i % 2 else "test"  # recording syn-0-00000 is in both
    leaky = write_manifest(rows, tmp_path / "leaky" / "manifest.csv")
    res = subprocess.run([sys.executable, "-m", "uwac.acoustics", "evaluate", model, "--manifest", leaky, "--out",
                          tmp_path / "e2", "--events", scene_set / "events.csv", "--onset-tolerance", "3"],
                         capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    first = res.stdout.splitlines()[0]
    assert first.startswith(PROTOCOL_TITLES["LEAKY"]) and "macro-F1" in first and "WARNING: LEAKY" in first
    assert json.loads((tmp_path / "e2" / "metrics.json").read_text())["events"]["onset_tolerance_s"] == 3.0
    heads = _headline_lines((tmp_path / "e2" / "report.html").read_text())
    assert len(heads) == 3 and all("WARNING: LEAKY" in line for line in heads)  # macro-F1, SNR >= 0 dB, events


def test_missing_inputs_are_clear_errors(tmp_path, scene_set):
    from uwac.acoustics.evaluation.evaluate import evaluate

    model = _toy(tmp_path / "toy.onnx")
    with pytest.raises(FileNotFoundError, match="without manifest.csv"):
        evaluate(model=model, manifest=tmp_path, out=tmp_path / "e", progress=False)
    with pytest.raises(FileNotFoundError, match="events file"):
        evaluate(model=model, manifest=scene_set, out=tmp_path / "e", events=tmp_path / "none.csv", progress=False)


def test_tracker_contacts_follow_a_clear_pass():
    """Windows confidently warship from 20 s to 60 s of a 90 s recording give one warship contact near that span."""
    from types import SimpleNamespace

    import numpy as np

    from uwac.acoustics.evaluation.scoring import tracker_contacts

    classes = ["ambient", "merchant", "warship", "drone"]
    info = SimpleNamespace(hop_seconds=1.0, window_seconds=3.0, unknown_threshold=0.4)
    windows = [{"start_s": float(t), "probs": np.array([0.05, 0.05, 0.85, 0.05] if 20 <= t < 58 else
                                                       [0.85, 0.05, 0.05, 0.05])} for t in range(88)]
    (contact,) = tracker_contacts(windows, info, classes, "r1")
    assert contact.label == "warship" and abs(contact.start_s - 20) <= 5 and abs(contact.end_s - 61) <= 5
