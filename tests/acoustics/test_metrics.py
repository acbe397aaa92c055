"""SNR-band metrics and the split-protocol check."""

import numpy as np

from uwac.acoustics.evaluation.metrics import metrics_by_snr_band, split_metrics
from uwac.acoustics.manifest import Row, split_protocol

CLASSES = ["ambient", "merchant", "warship", "drone"]


def test_snr_bands_put_ambient_in_every_band_and_vessels_in_one():
    y = np.array([0, 0, 1, 1, 2, 3])
    pred = np.array([0, 1, 1, 2, 2, 3])
    snr = np.array([np.nan, np.nan, -12.0, -3.0, 5.0, 15.0])
    bands = metrics_by_snr_band(y, pred, snr, CLASSES)
    assert [b["band"] for b in bands] == ["< -10 dB", "-10..+0 dB", "+0..+10 dB", ">= +10 dB"]
    assert [b["vessel_items"] for b in bands] == [1, 1, 1, 1]
    assert all(b["items"] == 3 for b in bands)
    # band -10..0: truth [0, 0, 1], predictions [0, 1, 2] -> ambient P=1 R=.5, merchant 0 -> macro-F1 (2/3 + 0)/2
    assert np.isclose(bands[1]["macro_f1"], (2 / 3) / 2)
    assert np.isclose(bands[3]["accuracy"], 2 / 3)


def test_empty_band_reports_none():
    bands = metrics_by_snr_band(np.array([0, 1]), np.array([0, 1]), np.array([np.nan, 3.0]), CLASSES)
    assert bands[0]["macro_f1"] is None and bands[2]["macro_f1"] == 1.0


def test_split_metrics_recording_snr_bands():
    probs = np.array([[0.9, 0.1, 0, 0], [0.8, 0.2, 0, 0], [0.1, 0.9, 0, 0], [0.6, 0.4, 0, 0]])
    labels = np.array([0, 0, 1, 1])
    out = split_metrics(probs, labels, ["a", "a", "b", "c"], np.array([np.nan, np.nan, 4.0, -4.0]), CLASSES)
    assert out["recording"]["n"] == 3 and out["window"]["n"] == 4
    rec = {b["band"]: b for b in out["snr_bands"]["recording"]}
    assert rec["+0..+10 dB"]["accuracy"] == 1.0 and rec["-10..+0 dB"]["accuracy"] == 0.5


def _row(rec, split, vessel=""):
    return Row("x.wav", 0.0, 1.0, "merchant", "", rec, split, "", {"vessel_id": vessel} if vessel else {})


def test_split_protocol():
    assert split_protocol([_row("a", "train"), _row("b", "test")]) == "REC"
    assert split_protocol([_row("a", "train", "v1"), _row("b", "test", "v2")]) == "VES"
    assert split_protocol([_row("a", "train", "v1"), _row("b", "test", "v1")]) == "REC"  # vessels shared: only REC
    assert split_protocol([_row("a", "train"), _row("a", "test")]) == "LEAKY"
