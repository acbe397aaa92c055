"""Analysts' verdicts (issue 16 item 2): durable store, bounded audio ring, export as training data."""

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import soundfile as sf

from uwac.acoustics.cli import main
from uwac.acoustics.labels.clip_ring import ClipRing
from uwac.acoustics.labels.export import export_labels
from uwac.acoustics.labels.store import Verdict, VerdictStore
from uwac.acoustics.manifest import assign_splits, check_no_leakage, read_manifest

RATE = 1000


def verdict(contact="ch0-12.0s", verdict="confirmed", label="", **kw):
    base = dict(contact=contact, channel=0, start_s=12.0, end_s=30.0, verdict=verdict, label=label,
                model_class="warship", model_confidence=0.81)
    return Verdict(**{**base, **kw})


def test_latest_verdict_per_contact_and_the_labels_each_verdict_means(tmp_path):
    store = VerdictStore(tmp_path)
    assert store.record(verdict()).label == "warship"  # confirmed: the model's class
    store.record(verdict(verdict="relabelled", label="merchant", fine_label="fishing", note="trawler, gear out"))
    store.record(verdict(contact="ch1-40.0s", channel=1, verdict="rejected"))
    latest = {v.contact: v for v in store.latest()}
    assert [v.verdict for v in store.history()] == ["confirmed", "relabelled", "rejected"]
    assert (latest["ch0-12.0s"].label, latest["ch0-12.0s"].fine_label) == ("merchant", "fishing")
    assert latest["ch1-40.0s"].label == "ambient" and latest["ch1-40.0s"].recording_id == "ch1-40.0s"


@pytest.mark.parametrize("bad, message", [
    (dict(verdict="maybe"), "choose one of confirmed"),
    (dict(verdict="relabelled", label="submarine"), "choose one of ambient"),
    (dict(verdict="relabelled", label="warship"), "another class or a fine type"),
    (dict(start_s=30.0), "0 <= start_s < end_s"),
])
def test_a_bad_verdict_is_refused_and_nothing_is_stored(tmp_path, bad, message):
    store = VerdictStore(tmp_path)
    with pytest.raises(ValueError, match=message):
        store.record(verdict(**bad))
    assert store.history() == []


def test_a_verdict_survives_sigkill_once_recorded(tmp_path):
    script = textwrap.dedent(f"""
        import os, signal
        from uwac.acoustics.labels.store import Verdict, VerdictStore
        s = VerdictStore({str(tmp_path)!r})
        s.record(Verdict(contact="c1", channel=0, start_s=1.0, end_s=2.0, verdict="rejected", label=""))
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    assert [(v.contact, v.label) for v in VerdictStore(tmp_path).latest()] == [("c1", "ambient")]


def test_a_store_that_is_not_sqlite_is_refused(tmp_path):
    (tmp_path / "labels.sqlite").write_bytes(b"not a database" * 100)
    with pytest.raises(ValueError, match="not a usable label store"):
        VerdictStore(tmp_path)


def test_ring_keeps_recent_audio_bounded_and_reads_it_back_exactly(tmp_path):
    ring = ClipRing(tmp_path / "ring", channels=2, sample_rate=RATE, keep_s=20.0, segment_s=5.0)
    signal_ = np.arange(60 * RATE, dtype=np.float32).reshape(-1, 1) * np.float32([1, -1])
    for start in range(0, 40 * RATE, 700):  # blocks that do not line up with segments
        ring.write(start, signal_[start:min(start + 700, 40 * RATE)])
    ring.write(45 * RATE, signal_[45 * RATE:50 * RATE])  # after a 5-s gap
    oldest, newest = ring.span()
    assert newest == 50.0 and 50.0 - oldest <= 20.0 + 5.0
    assert sum(f.stat().st_size for f in (tmp_path / "ring").rglob("*.f32")) <= 2 * 4 * RATE * 25
    audio, first = ring.read(1, 38.0, 47.0)
    assert first == 38.0 and np.array_equal(audio[:2 * RATE], -signal_[38 * RATE:40 * RATE, 0])
    assert not audio[2 * RATE:5 * RATE].any()  # the gap is silence
    assert np.array_equal(audio[7 * RATE:], -signal_[45 * RATE:47 * RATE, 0])
    with pytest.raises(ValueError, match="no longer in the ring"):
        ring.read(0, 1.0, 3.0)
    path, a, b = ring.save(tmp_path / "clip.wav", 0, 44.0, 49.0)
    assert (a, b) == (44.0, 49.0) and sf.info(path).frames == 5 * RATE
    ring.close()


def store_with_clips(folder):
    ring = ClipRing(folder / "ring", channels=1, sample_rate=RATE, keep_s=120.0)
    ring.write(0, np.random.default_rng(0).standard_normal((100 * RATE, 1)).astype(np.float32) * 0.01)
    store = VerdictStore(folder)
    for contact, (t0, t1), kind, label in [("a", (10.0, 30.0), "confirmed", ""), ("b", (50.0, 70.0), "relabelled",
                                                                                     "drone"),
                                           ("c", (80.0, 90.0), "rejected", "")]:
        path, first, _ = ring.save(folder / "labels" / f"{contact}.wav", 0, t0 - 5.0, t1 + 5.0)
        store.record(verdict(contact=contact, start_s=t0, end_s=t1, verdict=kind, label=label,
                             clip=str(path.relative_to(folder)), clip_start_s=first, recording_id=f"day1-{contact}"))
    store.record(verdict(contact="d", start_s=95.0, end_s=99.0, verdict="confirmed"))  # judged without a clip
    store.close()


def test_export_gives_a_rec_splittable_manifest_and_a_raven_table_of_every_verdict(tmp_path, capsys):
    store_with_clips(tmp_path / "node")
    assert main(["labels", "export", "--store", str(tmp_path / "node"), "--out", str(tmp_path / "x")]) == 0
    rows = read_manifest(tmp_path / "x" / "manifest.csv")
    assert [(r.label, r.start_s, r.end_s, r.source, r.extra["verdict"]) for r in rows] == [
        ("warship", 5.0, 25.0, "analyst", "confirmed"), ("drone", 5.0, 25.0, "analyst", "relabelled"),
        ("ambient", 5.0, 15.0, "analyst", "rejected")]
    assert all(os.path.dirname(r.path).endswith("x/clips") for r in rows)
    assert [r.recording_id for r in rows] == ["day1-a", "day1-b", "day1-c"]
    check_no_leakage(assign_splits(rows))  # REC-splittable: one recording, one split
    table = (tmp_path / "x" / "labels.selections.txt").read_text().splitlines()
    assert len(table) == 5 and "\trejected\t" in table[3] and table[4].split("\t")[12] == "d"
    assert "contact d (confirmed, warship): no audio clip" in (tmp_path / "x" / "skipped.txt").read_text()
    assert "4 contact(s) judged: 2 confirmed, 1 relabelled, 1 rejected" in capsys.readouterr().out
    assert main(["labels", "export", "--store", str(tmp_path / "empty"), "--out", str(tmp_path / "y")]) == 2
    assert "holds no labels.sqlite" in capsys.readouterr().err
    assert export_labels(tmp_path / "node", tmp_path / "z")["rows"] == 3
