"""Real hydrophone clips: the realclips adapter on a fake tree in ../shared/realdata's layout, the
real-world table of `uwac evaluate` on fake predictions and through a tiny ONNX model, and the
adapter on the real folder when it is there."""

import csv
import functools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.toy_models import toy_model
from uwac.acoustics.datasets import ADAPTERS, manifest_from_realclips
from uwac.acoustics.datasets.realclips import load_realclips_map, role_report
from uwac.acoustics.evaluation.real_world import REAL_WORLD_GOALS, real_world_table
from uwac.acoustics.manifest import read_manifest, write_manifest

ROOT = Path(__file__).resolve().parents[2]
REALDATA = ROOT.parent / "shared" / "realdata"
CLASSES = ["ambient", "merchant", "warship", "drone"]
HEADER = ["file", "source_repo", "source_path", "source_commit", "licence", "coarse_class", "label", "duration_s",
          "sample_rate", "channels", "sample_format", "md5", "notes"]

# file, coarse_class, sample rate, channels, seconds, amplitude (loud clips read as merchant to the toy model)
CLIPS = [
    ("deepship_segments/1_Cargo-Segment_1.wav", "vessel_merchant_cargo", 32000, 1, 0.6, 0.5),
    ("deepship_segments/1_Cargo-Segment_2.wav", "vessel_merchant_cargo", 32000, 1, 0.5, 0.5),
    ("deepship_segments/200959_Tug-Segment_1.wav", "vessel_tug", 32000, 1, 0.5, 0.001),
    ("sanctsound/ambient/SanctSound_FK02_03_rain_20191103T005156Z.wav", "ambient_rain", 48000, 1, 0.5, 0.001),
    ("sanctsound/ambient/SanctSound_FK02_05_hurricane_20200824T203426Z.wav", "ambient_storm", 48000, 1, 0.5, 0.5),
    ("sanctsound/biological/SanctSound_MB01_05_killerwhale_20200423T164427Z.wav", "biological", 44100, 1, 0.4, 0.001),
    ("pypam_soundtrap/67416073.210610033655.flac", "unlabelled_ocean", 8000, 1, 0.5, 0.001),
    ("pypam_soundtrap/67416073.210610034155.flac", "unlabelled_ocean", 8000, 1, 0.5, 0.001),
    ("ketos/2min.wav", "unlabelled_ocean", 2000, 1, 0.5, 0.5),
    ("ketos/grunt1.wav", "biological", 96000, 1, 0.1, 0.001),  # shorter than the toy model's 0.25-s window
    ("orcasound/NATURE11_09_02_21_20_2701.flac", "unlabelled_ocean", 22050, 2, 0.5, 0.001),
]

_toy = functools.partial(toy_model, sr=4000, window_s=0.25)  # tests/toy_models.py with this file's rates

def write_audio(path: Path, sr: int, channels: int, seconds: float, amp: float, seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    x = np.random.default_rng(seed).uniform(-amp, amp, (int(sr * seconds), channels)).astype(np.float32)
    sf.write(path, x, sr, subtype="PCM_16")


def fake_realdata(root: Path) -> Path:
    """The realdata layout: top-level source folders, a manifest.csv with the real columns, one corrupt
    file, one unmapped coarse class, one listed file that is missing and one audio file nobody listed."""
    recs = []
    for k, (rel, coarse, sr, ch, sec, amp) in enumerate(CLIPS):
        write_audio(root / rel, sr, ch, sec, amp, seed=k)
        recs.append([rel, "some/repo", rel, "0" * 40, "CC", coarse, f"a caption, with a comma ({coarse})", sec, sr, ch,
                     "Signed Integer PCM 16", "0" * 32, ""])
    (root / "sanctsound" / "ambient" / "corrupt.wav").write_bytes(
        np.random.default_rng(1).integers(0, 256, 2000, dtype=np.uint8).tobytes())
    recs.append(["sanctsound/ambient/corrupt.wav", "r", "p", "c", "l", "ambient_rain", "x", 5, 48000, 1, "PCM", "", ""])
    write_audio(root / "sanctsound" / "biological" / "mystery.wav", 48000, 1, 0.3, 0.1)
    recs.append(["sanctsound/biological/mystery.wav", "r", "p", "c", "l", "mystery_noise", "x", 0.3, 48000, 1, "", "", ""])
    recs.append(["ketos/gone.wav", "r", "p", "c", "l", "biological", "x", 3, 96000, 1, "", "", ""])
    write_audio(root / "orcasound" / "unlisted.wav", 22050, 1, 0.3, 0.1)
    (root / "sanctsound" / "sanctsound_sounds_captions.csv").write_text("file,caption\n")
    with (root / "manifest.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        w.writerows(recs)
    return root


def test_adapter_labels_categories_roles(tmp_path):
    root = fake_realdata(tmp_path / "realdata")
    assert ADAPTERS["realclips"] is manifest_from_realclips
    rows, skipped = manifest_from_realclips(root)
    by = {Path(r.path).relative_to(root).as_posix(): r for r in rows}
    assert set(by) == {c[0] for c in CLIPS}
    tug = by["deepship_segments/200959_Tug-Segment_1.wav"]
    assert (tug.label, tug.fine_label, tug.extra["category"], tug.source) == ("merchant", "tug", "vessel",
                                                                              "deepship_segments")
    assert by["deepship_segments/1_Cargo-Segment_1.wav"].fine_label == "cargo"
    assert by["deepship_segments/1_Cargo-Segment_1.wav"].recording_id == "deepship_segments/1_Cargo"
    assert by["deepship_segments/1_Cargo-Segment_2.wav"].recording_id == "deepship_segments/1_Cargo"
    assert by["ketos/grunt1.wav"].recording_id == "ketos/grunt1"
    expect = {"vessel_merchant_cargo": ("merchant", "vessel"), "vessel_tug": ("merchant", "vessel"),
              "ambient_rain": ("ambient", "ambient"), "ambient_storm": ("ambient", "ambient"),
              "biological": ("ambient", "biological"), "unlabelled_ocean": ("ambient", "unlabelled")}
    for r in rows:
        assert (r.label, r.extra["category"]) == expect[r.extra["coarse_class"]], r
        assert r.source == Path(r.path).relative_to(root).parts[0]
        assert r.start_s == 0 and r.end_s == pytest.approx(next(c[4] for c in CLIPS if r.path.endswith(c[0])), abs=1e-3)
        bank = r.source == "pypam_soundtrap"
        assert r.extra["role"] == ("bank" if bank else "check")
        assert r.split == ("train" if bank else "test")
    roles = {}
    for r in rows:
        roles.setdefault(r.source, set()).add(r.extra["role"])
    assert all(len(v) == 1 for v in roles.values())
    assert sorted(skipped_path.split(":")[0] for skipped_path in skipped) == sorted(
        str(root / p) for p in ("sanctsound/ambient/corrupt.wav", "sanctsound/biological/mystery.wav",
                                "ketos/gone.wav", "orcasound/unlisted.wav"))
    assert any("'mystery_noise'" in s and "no class" in s for s in skipped)
    assert any("unlisted.wav" in s and "not listed" in s for s in skipped)
    report = role_report(rows)
    assert report.startswith("bank (split train): 2 clip(s)") and "67416073.210610033655.flac" in report
    assert "check (split test): 9 clip(s)" in report

    # a bank manifest goes straight into training's data.ambient_bank: ambient rows in split train only
    out = write_manifest(rows, tmp_path / "m" / "manifest.csv")
    back = read_manifest(out)
    assert {r.path for r in back if r.label == "ambient" and r.split in ("", "train")} == {
        str(root / c[0]) for c in CLIPS if c[0].startswith("pypam_soundtrap/")}
    assert {r.extra["category"] for r in back} == {"vessel", "ambient", "biological", "unlabelled"}


def test_label_map_rules():
    rmap = load_realclips_map()
    assert rmap.bank_sources == frozenset({"pypam_soundtrap"})
    assert rmap.role("sanctsound") == "check" and rmap.role("pypam_soundtrap") == "bank"
    assert rmap.category("anthropogenic_sonar") == "anthropogenic"
    assert rmap.classes.lookup("anthropogenic_sonar") == "ambient"
    with pytest.raises(ValueError, match="categories"):
        load_realclips_map({"classes": {"biological": "ambient"}})


def test_real_world_table_shares_counts_goals():
    # 8 clips: 3 merchant vessels, 1 other vessel, 2 ambient, 1 biological, 1 anthropogenic
    rows = [  # category, label, probabilities over CLASSES
        ("vessel", "merchant", [0.1, 0.8, 0.1, 0.0]),
        ("vessel", "merchant", [0.1, 0.3, 0.6, 0.0]),   # called warship: a vessel, not merchant
        ("vessel", "merchant", [0.7, 0.2, 0.1, 0.0]),   # missed
        ("vessel", "warship", [0.0, 0.1, 0.9, 0.0]),
        ("ambient", "ambient", [0.9, 0.1, 0.0, 0.0]),
        ("ambient", "ambient", [0.2, 0.0, 0.0, 0.8]),   # false drone call
        ("biological", "ambient", [0.6, 0.4, 0.0, 0.0]),
        ("anthropogenic", "ambient", [0.5, 0.0, 0.0, 0.5]),  # tie: argmax takes the first (ambient)
        ("unlabelled", "ambient", [0.1, 0.9, 0.0, 0.0]),  # outside the non-vessel goal
    ]
    cats, labels, probs = zip(*rows, strict=True)
    t = real_world_table(np.asarray(probs), list(cats), list(labels), CLASSES, files=[f"c{i}.wav" for i in range(9)],
                         too_short=[{"file": "short.wav", "category": "biological"}])
    bc = t["by_category"]
    assert list(bc)[:4] == ["ambient", "biological", "anthropogenic", "vessel"] and "unlabelled" in bc
    assert bc["vessel"] == {"clips": 4, "called_vessel": 3, "share_called_vessel": 0.75, "called_unknown": 0}
    assert bc["ambient"] == {"clips": 2, "called_vessel": 1, "share_called_vessel": 0.5, "called_unknown": 0}
    assert bc["biological"]["share_called_vessel"] == 0.0 and bc["anthropogenic"]["called_vessel"] == 0
    assert bc["unlabelled"]["called_vessel"] == 1
    nv = t["non_vessel"]
    assert (nv["clips"], nv["called_vessel"], nv["share_called_vessel"]) == (4, 1, 0.25)
    assert nv["goal_max"] == REAL_WORLD_GOALS["max_non_vessel_called_vessel"] == 0.10 and nv["meets_goal"] is False
    m = t["merchant"]
    assert m["predicted"] == {"ambient": 1, "merchant": 1, "warship": 1, "drone": 0, "unknown": 0}
    assert m["share_called_merchant"] == pytest.approx(1 / 3) and m["goal_min"] == pytest.approx(5 / 7)
    assert m["meets_goal"] is False
    auc = t["vessel_vs_not"]  # 1 − p(ambient): vessels 0.9, 0.9, 0.3, 1.0 against 0.1, 0.8, 0.4, 0.5
    assert auc["clips"] == 8 and auc["auc"] == pytest.approx(13 / 16) and auc["meets_goal"] is False
    assert t["clips"][1] == {"file": "c1.wav", "category": "vessel", "label": "merchant", "predicted": "warship",
                             "top_probability": 0.6}
    assert t["too_short"] == [{"file": "short.wav", "category": "biological"}]
    json.dumps(t)

    # with the model's unknown threshold, unsure clips are unknown, never a vessel call
    u = real_world_table(np.asarray(probs), list(cats), list(labels), CLASSES, unknown_threshold=0.65)
    assert u["clips"][1]["predicted"] == "unknown" and u["by_category"]["vessel"]["called_unknown"] == 1
    assert u["by_category"]["vessel"]["called_vessel"] == 2 and u["merchant"]["predicted"]["unknown"] == 1
    assert u["by_category"]["anthropogenic"]["called_unknown"] == 1 and u["unknown_threshold"] == 0.65

    ok = real_world_table(np.asarray([[0.1, 0.9, 0, 0], [0.9, 0.1, 0, 0]]), ["vessel", "ambient"],
                          ["merchant", "ambient"], CLASSES)
    assert ok["non_vessel"]["meets_goal"] is True and ok["merchant"]["meets_goal"] is True
    empty = real_world_table(np.zeros((0, 4)), [], [], CLASSES)
    assert empty["non_vessel"]["share_called_vessel"] is None and empty["merchant"]["meets_goal"] is None




def test_evaluate_real_world_section(tmp_path, caplog):
    from uwac.acoustics.evaluation.evaluate import evaluate

    root = fake_realdata(tmp_path / "realdata")
    rows, _ = manifest_from_realclips(root)
    manifest = write_manifest(rows, tmp_path / "m" / "manifest.csv")
    model = _toy(tmp_path / "toy.onnx")
    with caplog.at_level("INFO", logger="uwac.acoustics.evaluation"):
        result = evaluate(model=model, manifest=manifest, out=tmp_path / "e", progress=False)
    resample_logs = [r.getMessage() for r in caplog.records if "resampling" in r.getMessage()]
    assert len(resample_logs) == len({c[2] for c in CLIPS if not c[0].startswith("pypam")})  # once per rate
    rw = result["real_world"]
    assert json.loads((tmp_path / "e" / "metrics.json").read_text())["real_world"] == rw
    got = {Path(c["file"]).name: c["predicted"] for c in rw["clips"]}
    assert got == {Path(c[0]).name: ("merchant" if c[5] > 0.1 else "ambient") for c in CLIPS
                   if not c[0].startswith("pypam")}  # bank rows are split train; the short grunt is scored too
    assert [Path(c["file"]).name for c in rw["too_short"]] == ["grunt1.wav"] and rw["too_short"][0]["scored"]
    assert rw["by_category"]["vessel"] == {"clips": 3, "called_vessel": 2, "share_called_vessel": 2 / 3,
                                           "called_unknown": 0}
    assert rw["merchant"]["predicted"]["merchant"] == 2 and rw["merchant"]["predicted"]["ambient"] == 1
    assert (rw["non_vessel"]["clips"], rw["non_vessel"]["called_vessel"]) == (4, 1)
    assert rw["physics_floor"]["auc"] is not None and rw["vessel_vs_not"]["physics_floor_auc"] == rw["physics_floor"]["auc"]
    report = (tmp_path / "e" / "report.md").read_text()
    assert "## Real-world check" in report and "goal <= 10 %" in report and "goal >= 71 %" in report
    assert "grunt1.wav (biological, 0.10 s)" in report and "physics floor" in report

    res = subprocess.run([sys.executable, "-m", "uwac.acoustics", "evaluate", model, "--manifest", manifest,
                          "--out", tmp_path / "e2", "--split", "all"], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert "real-world check: non-vessel clips called a vessel 1/4" in res.stdout


def test_cli_adapt_realclips(tmp_path):
    root = fake_realdata(tmp_path / "realdata")
    out = tmp_path / "m" / "real.csv"
    res = subprocess.run([sys.executable, "-m", "uwac.acoustics", "adapt", "realclips", root, "--out", out],
                         capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert "bank (split train)" in res.stdout and "check (split test)" in res.stdout
    assert len(read_manifest(out)) == len(CLIPS)
    assert len((out.parent / "skipped.txt").read_text().splitlines()) == 4


@pytest.mark.skipif(not (REALDATA / "manifest.csv").is_file(),
                    reason=f"real clips not here: {REALDATA} is absent (the shared real hydrophone data)")
def test_adapter_on_shared_realdata():
    with (REALDATA / "manifest.csv").open(newline="") as fh:
        listed = list(csv.DictReader(fh))
    rows, skipped = manifest_from_realclips(REALDATA)
    assert not any("no class" in s or "no category" in s for s in skipped), skipped
    assert len(listed) == 35 and len(rows) == 35 and skipped == [], skipped
    roles: dict[str, set[str]] = {}
    for r in rows:
        roles.setdefault(r.source, set()).add(r.extra["role"])
    assert all(len(v) == 1 for v in roles.values()), roles
    assert {s for s, v in roles.items() if "bank" in v} == {"pypam_soundtrap"}
    assert {r.split for r in rows if r.extra["role"] == "bank"} == {"train"}
    assert {r.split for r in rows if r.extra["role"] == "check"} == {"test"}
    assert all(r.label == "ambient" for r in rows if r.extra["role"] == "bank")
    merchant = [r for r in rows if r.label == "merchant"]
    assert len(merchant) == 7 and {r.extra["category"] for r in merchant} == {"vessel"}
