"""Event log (seq across rotation, restart and torn lines) and the Raven selection table (golden text)."""

import json

import pytest

from uwac.acoustics.stream.events import EventWriter, read_events, segments
from uwac.acoustics.stream.raven import HEADER, RavenTable, format_table


def event(i: int) -> dict:
    return {"type": "contact_update", "contact": "ch0-x", "channel": 0, "time_s": float(i), "note": "y" * 40}


def all_lines(directory):
    return [line for _, path in segments(directory) for line in path.read_text().splitlines()]


def test_seq_is_monotonic_across_rotation_and_every_event_is_kept(tmp_path):
    with EventWriter(tmp_path, max_bytes=400, keep=1000) as w:
        seqs = [w.write(event(i)) for i in range(50)]
    assert seqs == list(range(1, 51))
    segs = segments(tmp_path)
    assert len(segs) > 5  # rotated by size
    assert all(path.stat().st_size <= 400 for _, path in segs)
    # segment names carry their first seq, so name order is event order
    lines = all_lines(tmp_path)
    events = [json.loads(line) for line in lines]  # every line is valid JSON
    assert [e["seq"] for e in events] == seqs
    assert [first for first, _ in segs] == [next(e["seq"] for e in events if e["seq"] >= first) for first, _ in segs]
    assert [e["time_s"] for e in events] == [float(i) for i in range(50)]


def test_keep_deletes_the_oldest_segments(tmp_path):
    with EventWriter(tmp_path, max_bytes=400, keep=3) as w:
        for i in range(50):
            w.write(event(i))
    segs = segments(tmp_path)
    assert len(segs) == 3
    seqs = [e["seq"] for e in read_events(tmp_path)]
    assert seqs[-1] == 50 and seqs == list(range(seqs[0], 51))


def test_seq_continues_after_a_restart(tmp_path):
    with EventWriter(tmp_path, max_bytes=400) as w:
        for i in range(7):
            w.write(event(i))
    w2 = EventWriter(tmp_path, max_bytes=400)
    assert w2.last_seq == 7 and w2.last_event["time_s"] == 6.0
    assert w2.write(event(7)) == 8
    w2.close()
    assert [e["seq"] for e in read_events(tmp_path)] == list(range(1, 9))


@pytest.mark.parametrize("torn", [b'{"seq":4,"type":"contact_up', b"\x00" * 300, b'{"seq":4}\x00\x00\n\x00\x00'])
def test_torn_tail_after_a_kill_is_dropped_not_duplicated(tmp_path, torn):
    with EventWriter(tmp_path) as w:
        for i in range(3):
            w.write(event(i))
        path = w.path
    with open(path, "ab") as f:  # SIGKILL mid-write (or power loss leaving NUL blocks)
        f.write(torn)
    w2 = EventWriter(tmp_path)
    assert w2.last_seq == 3
    assert w2.write(event(3)) == 4 and w2.write(event(4)) == 5
    w2.close()
    lines = path.read_text().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [1, 2, 3, 4, 5]  # every line valid, no duplicates


def test_restart_after_rotation_into_an_empty_segment(tmp_path):
    with EventWriter(tmp_path, max_bytes=200) as w:
        for i in range(5):
            w.write(event(i))
    newest = segments(tmp_path)[-1][1]
    newest.write_bytes(b'{"seq":5,"ty')  # its only line was torn: the seq comes from its name / older segments
    w2 = EventWriter(tmp_path, max_bytes=200)
    assert w2.last_seq == 4
    assert w2.write(event(5)) == 5
    w2.close()
    assert [e["seq"] for e in read_events(tmp_path)] == [1, 2, 3, 4, 5]


def test_non_finite_numbers_become_null(tmp_path):
    with EventWriter(tmp_path) as w:
        w.write({"type": "gap", "confidence": float("nan"), "scores": {"a": float("inf")}})
    (ev,) = list(read_events(tmp_path))
    assert ev["confidence"] is None and ev["scores"] == {"a": None}


# --- Raven selection table ----------------------------------------------------------------------------------

def end_event(contact, channel, start_s, end_s, cls, conf, fine=None):
    return {"type": "contact_end", "contact": contact, "channel": channel, "class": cls, "fine_class": fine,
            "confidence": conf, "start_s": start_s, "end_s": end_s,
            "start_utc": f"U{start_s:g}", "end_utc": f"U{end_s:g}"}


ENDS = [
    end_event("ch0-a", 0, 59.959, 119.959, "warship", 0.87654, "frigate_quiet"),
    end_event("ch1-b", 1, 3605.5, 3700.25, "unknown", 0.41),  # an hour in: cumulative, not per recorder file
    end_event("ch0-c", 0, 7200.0, 7260.0, "drone", 0.9),
]

GOLDEN = (
    "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)\t"
    "Class\tFine Class\tConfidence\tContact\tBegin UTC\tEnd UTC\n"
    "1\tSpectrogram 1\t1\t59.959\t119.959\t0.0\t8000.0\twarship\tfrigate_quiet\t0.8765\tch0-a\tU59.959\tU119.959\n"
    "2\tSpectrogram 1\t2\t3605.500\t3700.250\t0.0\t8000.0\tunknown\t\t0.4100\tch1-b\tU3605.5\tU3700.25\n"
    "3\tSpectrogram 1\t1\t7200.000\t7260.000\t0.0\t8000.0\tdrone\t\t0.9000\tch0-c\tU7200\tU7260\n"
)


def test_raven_table_matches_the_golden_text():
    assert format_table(ENDS, high_freq_hz=8000) == GOLDEN


def test_raven_writer_appends_and_continues_numbering_after_restart(tmp_path):
    path = tmp_path / "contacts.selections.txt"
    t = RavenTable(path, high_freq_hz=8000)
    assert [t.add(e) for e in ENDS[:2]] == [1, 2]
    t.close()
    with open(path, "a") as f:
        f.write("3\tSpectrogram 1\t1\t72")  # torn row from a kill
    t2 = RavenTable(path, high_freq_hz=8000)
    assert t2.add(ENDS[2]) == 3
    t2.close()
    assert path.read_text() == GOLDEN
    other = tmp_path / "other.txt"
    other.write_text("not a table\n")
    with pytest.raises(ValueError, match="header"):
        RavenTable(other, high_freq_hz=8000)
    assert HEADER.startswith("Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)")


def test_raven_refuses_an_open_contact():
    with pytest.raises(ValueError, match="no end time"):
        format_table([{**ENDS[0], "end_s": None}], high_freq_hz=8000)
