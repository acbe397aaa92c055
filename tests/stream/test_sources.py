"""Sources: recorder files as one seamless stream with gaps and a journal; stdin, TCP and UDP raw PCM with
reconnects, lost and late packets; bad input counted and logged, never a crash."""

import io
import logging
import os
import socket
import threading
import time

import numpy as np
import pytest
import soundfile as sf

from tests.stream.polling import wait_for
from uwac.acoustics.stream.journal import Journal, JournalError
from uwac.acoustics.stream.pcm import encode
from uwac.acoustics.stream.sources import (
    DirectorySource,
    FileSource,
    SequenceTracker,
    SourceError,
    StdinSource,
    TcpSource,
    UdpSource,
    parse_start_utc,
)

SR = 16000
T0 = "20240101T000000"


def wav(path, seconds, *, sr=SR, channels=2, seed=0, subtype="PCM_16"):
    """Write a noise file and return what soundfile reads back from it (float32 [n, ch])."""
    x = 0.3 * np.random.default_rng(seed).standard_normal((int(round(seconds * sr)), channels))
    sf.write(path, np.clip(x, -1, 1), sr, subtype=subtype)
    return sf.read(path, dtype="float32", always_2d=True)[0]


def name_at(seconds_after_t0, prefix="rec_"):
    t = parse_start_utc(T0) + seconds_after_t0
    return prefix + time.strftime("%Y%m%dT%H%M%S", time.gmtime(t)) + ".wav"


def check_positions(blocks):
    for a, b in zip(blocks, blocks[1:], strict=False):
        assert b.position == a.position + a.frames + b.gap_samples, (a.origin, b.origin)


def timeline(blocks):
    """(stream positions, samples) of every sample the blocks carry."""
    pos = np.concatenate([np.arange(b.position, b.position + b.frames) for b in blocks])
    return pos, np.concatenate([b.samples for b in blocks])


class Collector(threading.Thread):
    """Iterates a source in a thread (as the daemon does), keeping blocks and any exception."""

    def __init__(self, source):
        super().__init__(daemon=True)
        self.source, self.blocks, self.error = source, [], None
        self.start()

    def run(self):
        try:
            for b in self.source:
                self.blocks.append(b)
        except Exception as exc:  # pragma: no cover - reported by the test
            self.error = exc

    def frames(self):
        return sum(b.frames for b in self.blocks)

    def stop(self):
        self.source.close()
        self.join(timeout=5)
        assert not self.is_alive(), "the source did not end within 5 s of close()"
        assert self.error is None, self.error
        return self.blocks


# ---------------------------------------------------------------------------------------------- file names


def test_start_times_from_recorder_names():
    t = 1704067200.0  # 2024-01-01 00:00:00 UTC
    assert parse_start_utc("rec_20240101T000000.wav") == t
    assert parse_start_utc("/x/st_20240101_000001.flac") == t + 1
    assert parse_start_utc("20240101000002.wav") == t + 2
    assert parse_start_utc("a_20240101T000003.250Z.wav") == t + 3.25
    assert parse_start_utc("hydrophone_7.wav") is None
    assert parse_start_utc("x_20241301T000000.wav") is None  # month 13


# ---------------------------------------------------------------------------------------------- files


def test_directory_is_one_seamless_stream_in_blocks(tmp_path):
    parts = [wav(tmp_path / name_at(0), 1.0, seed=1), wav(tmp_path / name_at(1), 2.0, seed=2),
             wav(tmp_path / name_at(3), 1.0, seed=3)]
    src = DirectorySource(tmp_path, follow=False, block_seconds=0.3)
    blocks = list(src)
    check_positions(blocks)
    assert max(b.frames for b in blocks) == round(0.3 * SR)  # read in blocks, never whole files
    assert all(b.gap_samples == 0 and b.sample_rate == SR and b.channels == 2 for b in blocks)
    np.testing.assert_array_equal(np.concatenate([b.samples for b in blocks]), np.concatenate(parts))
    assert blocks[0].position == 0 and blocks[-1].position + blocks[-1].frames == sum(map(len, parts))
    second = next(b for b in blocks if b.origin == name_at(1))
    assert second.position == SR and second.start_utc == parse_start_utc(T0) + 1
    assert src.counters["files_done"] == 3 and src.counters["frames"] == 4 * SR


def test_hole_between_file_times_is_a_gap_overlap_is_not(tmp_path):
    a = wav(tmp_path / name_at(0), 1.0, seed=1)
    b = wav(tmp_path / name_at(3), 1.0, seed=2)  # starts 2 s after a ended
    wav(tmp_path / name_at(3.0).replace(".wav", "_b.wav"), 1.0, seed=3)  # starts at b's start: overlap
    src = DirectorySource(tmp_path, follow=False, block_seconds=0.25)
    blocks = list(src)
    check_positions(blocks)
    first_b = next(x for x in blocks if x.origin == name_at(3))
    assert first_b.gap_samples == 2 * SR and first_b.position == len(a) + 2 * SR
    assert sum(x.gap_samples for x in blocks) == 2 * SR
    assert src.counters["gaps"] == 1 and src.counters["overlaps"] == 1
    np.testing.assert_array_equal(np.concatenate([x.samples for x in blocks if x.origin == name_at(3)]), b)


def test_corrupt_file_is_skipped_with_a_counter_and_a_log_line(tmp_path, caplog):
    a = wav(tmp_path / "a.wav", 0.5, seed=1)
    (tmp_path / "b.wav").write_bytes(np.random.default_rng(0).bytes(3000))
    (tmp_path / "b2.wav").write_bytes(b"RIFF" + np.random.default_rng(1).bytes(500))
    c = wav(tmp_path / "c.flac", 0.5, seed=2)
    d = wav(tmp_path / "d.wav", 0.25, sr=8000, channels=1, seed=3)  # another rate and channel count
    src = DirectorySource(tmp_path, follow=False, block_seconds=0.1)
    with caplog.at_level(logging.WARNING, logger="uwac.acoustics.stream.sources"):
        blocks = list(src)
    check_positions(blocks)
    assert src.counters["files_quarantined"] == 2 and src.counters["files_done"] == 3
    assert "b.wav" in caplog.text and "b2.wav" in caplog.text and "corrupt" in caplog.text
    assert sorted(p.name for p in (tmp_path / ".quarantine").iterdir()) == ["b.wav", "b2.wav"]
    np.testing.assert_array_equal(np.concatenate([b.samples for b in blocks if b.channels == 2]),
                                  np.concatenate([a, c]))
    tail = [b for b in blocks if b.origin == "d.wav"]
    assert src.counters["format_changes"] == 1 and "8000 Hz" in caplog.text
    assert all(b.sample_rate == 8000 and b.channels == 1 for b in tail)
    np.testing.assert_array_equal(np.concatenate([b.samples for b in tail]), d)


def test_file_still_being_written_is_read_only_once_settled(tmp_path):
    buf = io.BytesIO()
    x = 0.2 * np.random.default_rng(5).standard_normal((SR, 1))
    sf.write(buf, x, SR, format="WAV", subtype="PCM_16")
    raw = buf.getvalue()
    path = tmp_path / name_at(0)
    path.write_bytes(raw[: len(raw) // 2])
    future = time.time() + 3600  # the half file never looks old
    os.utime(path, (future, future))
    src = DirectorySource(tmp_path, follow=True, poll_s=0.02, settle_s=1.0, block_seconds=0.2)
    col = Collector(src)
    assert wait_for(lambda: src.counters["polls"] >= 3)
    assert col.blocks == []  # the half-written file was not touched
    with open(path, "ab") as fh:
        fh.write(raw[len(raw) // 2:])
    assert wait_for(lambda: col.frames() >= SR)
    # a newer file closes the previous one at once and is itself held back while fresh
    y = wav(tmp_path / name_at(1), 0.5, channels=1, seed=6)
    later = tmp_path / name_at(2)
    wav(later, 0.5, channels=1, seed=7)  # as if a recorder were still writing it
    os.utime(later, (future, future))
    assert wait_for(lambda: col.frames() >= SR + len(y))
    blocks = [b for b in col.stop() if b.origin != later.name]
    np.testing.assert_array_equal(np.concatenate([b.samples for b in blocks]),
                                  np.concatenate([sf.read(path, dtype="float32", always_2d=True)[0], y]))
    assert src.counters["files_failed"] == 0 and src.counters["files_done"] >= 2


@pytest.mark.parametrize("where", ["inside the second file", "end of the first file", "inside the gap"])
def test_restart_resumes_exactly_at_the_committed_position(tmp_path, where):
    files = tmp_path / "rec"
    files.mkdir()
    wav(files / name_at(0), 1.0, seed=1)
    wav(files / name_at(1), 1.0, seed=2)
    wav(files / name_at(4), 1.0, seed=3)  # a 2-s hole before it
    full = list(DirectorySource(files, follow=False, block_seconds=0.3))
    commit_at = {"inside the second file": SR + 1234, "end of the first file": SR,
                 "inside the gap": 2 * SR + SR // 2}[where]
    resume_at = min(commit_at, 2 * SR)  # a position in the hole resumes after the second file's last frame

    journal = Journal(tmp_path / "state" / "journal.json")
    src = DirectorySource(files, follow=False, block_seconds=0.3, journal=journal)
    it = iter(src)
    seen = 0
    for b in it:
        seen = b.position + b.frames
        if seen > commit_at + SR // 2:
            break
    rec = src.commit(commit_at)
    assert rec is not None and rec["position"] == resume_at
    assert src.commit(commit_at) is None  # nothing new: no second write
    src.close()
    it.close()
    assert journal.load()["file"] == rec["file"]

    again = DirectorySource(files, follow=False, block_seconds=0.3, journal=journal)
    resumed = list(again)
    check_positions(resumed)
    pos, x = timeline(resumed)
    want_pos, want_x = timeline(full)
    keep = want_pos >= resume_at
    assert pos[0] == want_pos[keep][0]  # nothing before the commit is read again
    assert resumed[0].position - resumed[0].gap_samples == resume_at  # a hole after it is still reported
    np.testing.assert_array_equal(pos, want_pos[keep])  # nothing after it is skipped, gaps where they were
    np.testing.assert_array_equal(x, want_x[keep])


def test_unreadable_journal_is_a_clear_error(tmp_path):
    wav(tmp_path / "a.wav", 0.1)
    bad = tmp_path / "j.json"
    bad.write_text("{not json")
    with pytest.raises(JournalError, match="delete it"):
        DirectorySource(tmp_path, journal=bad)


def test_single_file_source(tmp_path):
    x = wav(tmp_path / name_at(0), 1.0, channels=3, subtype="FLOAT")
    src = FileSource(tmp_path / name_at(0), block_seconds=0.15)
    blocks = list(src)
    check_positions(blocks)
    assert max(b.frames for b in blocks) == round(0.15 * SR) and blocks[0].start_utc == parse_start_utc(T0)
    np.testing.assert_array_equal(np.concatenate([b.samples for b in blocks]), x)
    (tmp_path / "junk.wav").write_bytes(b"RIFF" + bytes(100))
    with pytest.raises(SourceError, match="junk.wav.*corrupt"):
        FileSource(tmp_path / "junk.wav")
    with pytest.raises(SourceError, match="not found"):
        FileSource(tmp_path / "missing.wav")


def test_nan_in_a_float_file_is_replaced_and_counted(tmp_path):
    x = np.zeros((1000, 1), dtype=np.float32)
    x[[3, 500]] = [[np.nan], [np.inf]]
    sf.write(tmp_path / "n.wav", x, SR, subtype="FLOAT")
    src = DirectorySource(tmp_path, follow=False)
    blocks = list(src)
    assert src.counters["nonfinite_samples"] == 2 and np.all(np.isfinite(blocks[0].samples))


# ---------------------------------------------------------------------------------------------- stdin


class Dribble(io.RawIOBase):
    """A stream that hands out its bytes in odd-sized pieces, as a pipe does."""

    def __init__(self, data, sizes=(7, 1, 333, 2, 64)):
        self.data, self.sizes, self.i, self.k = data, sizes, 0, 0

    def read1(self, n=-1):
        size = min(n, self.sizes[self.k % len(self.sizes)])
        self.k += 1
        out = self.data[self.i:self.i + size]
        self.i += len(out)
        return out


def test_stdin_odd_splits_decode_fully():
    x = np.random.default_rng(1).uniform(-1, 1, (3001, 2))
    data = encode(x, fmt="s24le")
    src = StdinSource(Dribble(data + b"\x01\x02"), fmt="s24le", channels=2, sample_rate=SR, block_frames=500)
    blocks = list(src)
    check_positions(blocks)
    assert max(b.frames for b in blocks) == 500
    np.testing.assert_allclose(np.concatenate([b.samples for b in blocks]), x, atol=2 ** -23)
    assert src.counters["partial_frames_dropped"] == 1 and src.counters["bytes"] == len(data) + 2


def test_stdin_pipe_with_random_float_bytes_never_crashes():
    raw = np.random.default_rng(2).bytes(4 * 2 * 5000)
    r, w = os.pipe()

    def writer():
        with os.fdopen(w, "wb") as fh:
            for i in range(0, len(raw), 997):
                fh.write(raw[i:i + 997])
                fh.flush()

    threading.Thread(target=writer, daemon=True).start()
    with os.fdopen(r, "rb") as stream:
        src = StdinSource(stream, fmt="f32le", channels=2, sample_rate=SR, block_frames=1024)
        blocks = list(src)
    x = np.concatenate([b.samples for b in blocks])
    assert x.shape == (5000, 2) and np.all(np.isfinite(x))
    assert src.counters["nonfinite_samples"] == np.count_nonzero(~np.isfinite(np.frombuffer(raw, "<f4")))


# ---------------------------------------------------------------------------------------------- TCP


def send_in_pieces(sock, data, sizes=(1, 333, 4096, 7, 50)):
    i, k = 0, 0
    while i < len(data):
        n = sizes[k % len(sizes)]
        sock.sendall(data[i:i + n])
        i, k = i + n, k + 1


def test_tcp_listen_survives_a_digitizer_reconnect():
    a = np.random.default_rng(1).uniform(-1, 1, (3000, 2))
    b = np.random.default_rng(2).uniform(-1, 1, (2000, 2))
    src = TcpSource(listen=("127.0.0.1", 0), fmt="s16le", channels=2, sample_rate=8000, block_frames=256)
    col = Collector(src)
    with socket.create_connection(src.address) as c:
        send_in_pieces(c, encode(a, fmt="s16le") + b"\x00")  # ends inside a frame: that byte is dropped
    assert wait_for(lambda: col.frames() >= len(a))
    with socket.create_connection(src.address) as c:
        send_in_pieces(c, encode(b, fmt="s16le"))
    assert wait_for(lambda: col.frames() >= len(a) + len(b))
    blocks = col.stop()
    check_positions(blocks)
    np.testing.assert_allclose(np.concatenate([x.samples for x in blocks]), np.concatenate([a, b]), atol=2 ** -15)
    after = next(x for x in blocks if x.position >= len(a))
    assert after.gap_samples >= 1 and after.position == len(a) + after.gap_samples
    assert sum(x.gap_samples for x in blocks) == after.gap_samples
    assert src.counters["reconnects"] == 1 and src.counters["disconnects"] == 2
    assert src.counters["partial_frames_dropped"] == 1


def test_tcp_connect_backs_off_until_the_digitizer_appears():
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    src = TcpSource(connect=("127.0.0.1", port), fmt="f32le", channels=1, sample_rate=SR, block_frames=1000,
                    backoff=(0.02, 0.1))
    col = Collector(src)
    assert wait_for(lambda: src.counters["connect_failures"] >= 2)
    x = np.random.default_rng(3).uniform(-1, 1, (4000, 1)).astype(np.float32)
    with socket.create_server(("127.0.0.1", port)) as server:
        conn, _ = server.accept()
        with conn:
            send_in_pieces(conn, encode(x, fmt="f32le"))
    assert wait_for(lambda: col.frames() >= len(x))
    blocks = col.stop()
    np.testing.assert_array_equal(np.concatenate([b.samples for b in blocks]), x)
    assert src.counters["connections"] == 1


def test_tcp_random_float_bytes_counted_not_fatal():
    raw = np.random.default_rng(4).bytes(4 * 3 * 2000 + 3)
    src = TcpSource(listen=("127.0.0.1", 0), fmt="f32le", channels=3, sample_rate=SR, block_frames=300)
    col = Collector(src)
    with socket.create_connection(src.address) as c:
        send_in_pieces(c, raw)
    assert wait_for(lambda: col.frames() >= 2000 and src.counters["disconnects"] == 1)
    blocks = col.stop()
    x = np.concatenate([b.samples for b in blocks])
    assert x.shape == (2000, 3) and np.all(np.isfinite(x))
    assert src.counters["nonfinite_samples"] == np.count_nonzero(~np.isfinite(np.frombuffer(raw[:-3], "<f4")))


def test_close_ends_an_idle_source_promptly():
    src = TcpSource(listen=("127.0.0.1", 0), fmt="s16le", channels=1, sample_rate=SR)
    col = Collector(src)
    assert wait_for(lambda: src._running)
    assert col.stop() == []


# ---------------------------------------------------------------------------------------------- UDP


def packet(seq, x):
    return int(seq).to_bytes(4, "big") + encode(x, fmt="s16le")


def test_udp_counts_lost_late_duplicate_and_malformed_packets(caplog):
    src = UdpSource(bind=("127.0.0.1", 0), fmt="s16le", channels=1, sample_rate=SR, block_frames=10_000)
    col = Collector(src)
    rng = np.random.default_rng(5)
    pkts = {s: rng.uniform(-1, 1, (100, 1)) for s in range(6)}
    with caplog.at_level(logging.WARNING, logger="uwac.acoustics.stream.sources"), \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        for item in [0, 1, b"\x00\x00", 3, 2, 3, b"\x00\x00\x00\x05\x01\x02\x03", 5]:
            tx.sendto(packet(item, pkts[item]) if isinstance(item, int) else item, src.address)
        assert wait_for(lambda: col.frames() >= 400 and src.counters["datagrams"] == 8)
        blocks = col.stop()
    c = src.counters
    assert (c["lost_packets"], c["reordered_packets"], c["duplicate_packets"], c["malformed"]) == (2, 1, 1, 2)
    assert "malformed datagram" in caplog.text
    check_positions(blocks)
    pos, x = timeline(blocks)
    np.testing.assert_array_equal(pos, np.concatenate([np.arange(0, 200), np.arange(300, 400), np.arange(500, 600)]))
    np.testing.assert_allclose(x, np.concatenate([pkts[0], pkts[1], pkts[3], pkts[5]]), atol=2 ** -15)
    assert sum(b.gap_samples for b in blocks) == 200


def test_udp_sequence_wraps_around_without_loss():
    src = UdpSource(bind=("127.0.0.1", 0), fmt="s16le", channels=2, sample_rate=SR, block_frames=64)
    col = Collector(src)
    x = np.random.default_rng(6).uniform(-1, 1, (4 * 50, 2))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        for i, seq in enumerate([2 ** 32 - 2, 2 ** 32 - 1, 0, 1]):
            tx.sendto(packet(seq, x[i * 50:(i + 1) * 50]), src.address)
        assert wait_for(lambda: col.frames() >= len(x))
    blocks = col.stop()
    assert src.counters["lost_packets"] == 0 and sum(b.gap_samples for b in blocks) == 0
    np.testing.assert_allclose(np.concatenate([b.samples for b in blocks]), x, atol=2 ** -15)


def test_sequence_tracker_rules():
    t = SequenceTracker(window=16)
    assert [t.check(s) for s in (2 ** 32 - 1, 0, 2)] == [("ok", 0), ("ok", 0), ("ok", 1)]
    assert t.check(1) == ("late", 0) and t.check(0) == ("duplicate", 0) and t.check(2) == ("duplicate", 0)
    assert t.check(2 ** 32 - 100) == ("reset", 0)  # far behind: the sender restarted
    assert t.check(2 ** 32 - 99) == ("ok", 0)
