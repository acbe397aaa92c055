"""Manifests: round trip, recording-level splits, leak detection."""

import pytest

from uwac.acoustics.manifest import (
    ManifestError,
    Row,
    assign_splits,
    check_no_leakage,
    manifest_fingerprint,
    read_manifest,
    write_manifest,
)


def make_rows(n_rec=40, spans=3):
    labels = ["ambient", "merchant", "warship", "drone"]
    return [Row(f"audio/r{i}.wav", 10.0 * k, 10.0 * k + 10, labels[i % 4], labels[i % 4], f"rec{i}",
                extra={"snr_db": str(i)}) for i in range(n_rec) for k in range(spans)]


def test_round_trip_keeps_rows_and_extras(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # rows in memory hold cwd-relative paths
    rows = assign_splits(make_rows(), seed=1)
    path = write_manifest(rows, tmp_path / "m.csv")
    assert "\naudio/r0.wav," in path.read_text()
    back = read_manifest(path)
    assert [(r.recording_id, r.start_s, r.split, r.extra["snr_db"]) for r in back] == \
           [(r.recording_id, r.start_s, r.split, r.extra["snr_db"]) for r in rows]
    assert back[0].path == str(tmp_path / "audio" / "r0.wav")
    assert manifest_fingerprint(back) == manifest_fingerprint(rows)


def test_splits_group_by_recording_and_stratify():
    rows = assign_splits(make_rows(), seed=7)
    check_no_leakage(rows)
    by_rec = {}
    for r in rows:
        by_rec.setdefault(r.recording_id, set()).add(r.split)
    assert all(len(s) == 1 for s in by_rec.values())
    for label in ("ambient", "merchant", "warship", "drone"):
        assert {r.split for r in rows if r.label == label} == {"train", "val", "test"}
    assert assign_splits(make_rows(), seed=7) == rows
    assert [r.split for r in assign_splits(make_rows(), seed=8)] != [r.split for r in rows]


def test_leak_is_detected():
    rows = assign_splits(make_rows(), seed=0)
    rows[1].split = "test" if rows[0].split != "test" else "train"  # rows 0 and 1 share rec0
    with pytest.raises(ManifestError, match="more than one split"):
        check_no_leakage(rows)


def test_bad_manifests_are_clear_errors(tmp_path):
    with pytest.raises(ManifestError, match="does not exist"):
        read_manifest(tmp_path / "nope.csv")
    (tmp_path / "cols.csv").write_text("path,label\nx.wav,merchant\n")
    with pytest.raises(ManifestError, match="lacks column"):
        read_manifest(tmp_path / "cols.csv")
    (tmp_path / "span.csv").write_text("path,start_s,end_s,label,fine_label,recording_id,split,source\n"
                                       "x.wav,5,2,merchant,tug,r1,,synth\n")
    with pytest.raises(ManifestError, match=r"span.csv:2"):
        read_manifest(tmp_path / "span.csv")


def test_rewritten_elsewhere_keeps_paths(tmp_path, monkeypatch):
    """A run folder's copy of a dataset manifest, both given as cwd-relative paths, still finds the audio."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "audio").mkdir(parents=True)
    (tmp_path / "data" / "audio" / "r0.wav").write_bytes(b"")
    write_manifest([Row(str(tmp_path / "data" / "audio" / "r0.wav"), 0, 1, "merchant", "tug", "r0")], "data/m.csv")
    assert "audio/r0.wav" in (tmp_path / "data" / "m.csv").read_text()  # relative below the manifest
    write_manifest(read_manifest("data/m.csv"), "run/m.csv")
    monkeypatch.chdir("/")
    back = read_manifest(tmp_path / "run" / "m.csv")
    assert back[0].path == str(tmp_path / "data" / "audio" / "r0.wav")
