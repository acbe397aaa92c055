"""Defects found by attacking the daemon (issue 10), each reproduced by a test that failed before its fix: a model
whose metadata disagrees with its graph or is insane is refused at start-up and on SIGHUP (it used to kill the
daemon at the first hop); a second TCP client cannot take over a live digitizer; peers outside --allow-from are
refused; one stray UDP sequence number cannot shift later timestamps."""

import dataclasses
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.stream.exposition import daemon_samples, samples
from tests.stream.polling import wait_for
from tests.stream.test_sources import Collector, packet
from tests.toy_models import CLASSES, toy_model
from uwac.acoustics.contract import ModelError, load_session
from uwac.acoustics.stream.daemon import Daemon, StreamConfig, open_source
from uwac.acoustics.stream.events import read_events
from uwac.acoustics.stream.pcm import encode
from uwac.acoustics.stream.sources import TcpSource, UdpSource

ROOT = Path(__file__).resolve().parents[2]
RATE = 16000
pytestmark = pytest.mark.reliability  # `pytest -m reliability`: the attack table, fast and loopback only

# Files that onnxruntime loads and that carry every metadata key, but that no daemon can run.
BAD_METADATA = {
    "3 classes for a 4-output graph": {"uwac.classes": json.dumps(CLASSES[:3])},
    "5 classes for a 4-output graph": {"uwac.classes": json.dumps([*CLASSES, "biologic"])},
    "sample rate 0": {"uwac.sample_rate": "0"},
    "hop under one sample": {"uwac.hop_seconds": "0.00001"},
    "100,000-s window": {"uwac.window_seconds": "100000"},
    "window shorter than its hop": {"uwac.window_seconds": "1.0", "uwac.hop_seconds": "3.0"},
    "NaN unknown threshold": {"uwac.unknown_threshold": "nan"},
    "no ambient class": {"uwac.classes": json.dumps(["sea", "merchant", "warship", "drone"])},
}


@pytest.mark.parametrize("case", sorted(BAD_METADATA))
def test_insane_or_mismatched_metadata_is_refused_on_reload_and_the_old_model_keeps_scoring(tmp_path, case):
    model = toy_model(tmp_path / "m.onnx")
    wav = tmp_path / "s.wav"
    sf.write(wav, 0.05 * np.random.default_rng(0).standard_normal(12 * RATE), RATE, subtype="FLOAT")
    daemon = Daemon(StreamConfig(model=model, source=str(wav), out=tmp_path / "out", http=None))
    session = daemon.session
    toy_model(model, metadata=BAD_METADATA[case])
    assert daemon.reload() is False and daemon.session is session
    assert daemon.run() == 0  # the running model scores the whole file
    s = daemon_samples(daemon.metrics)
    assert s['uwac_model_reloads_total{result="refused"}'] == 1
    assert s["uwac_hops_total"] == 4  # 12 s of 3-s windows at a 3-s hop


@pytest.mark.parametrize("case", sorted(BAD_METADATA))
def test_insane_or_mismatched_metadata_is_one_clear_line_at_start_up(tmp_path, case):
    model = toy_model(tmp_path / "m.onnx", metadata=BAD_METADATA[case])
    if case != "no ambient class":
        with pytest.raises(ModelError, match="re-export"):
            load_session(model)
    r = subprocess.run([sys.executable, "-m", "uwac.acoustics", "stream", str(model), "--source", "stdin", "--no-http",
                        "--out", str(tmp_path / "out")], input=b"", capture_output=True, cwd=ROOT, timeout=60)
    err = r.stderr.decode()
    assert r.returncode == 2 and "Traceback" not in err and str(model) in err, err


# ------------------------------------------------------------------------------ network sources (defects 2, 6)


class Digitizer(threading.Thread):
    """Sends ``value`` as s16le mono every 20 ms over TCP until stopped (a live digitizer)."""

    def __init__(self, address, value: float):
        super().__init__(daemon=True)
        self.sock = socket.create_connection(address)
        self.chunk = encode(np.full((320, 1), value), fmt="s16le")
        self.halt = threading.Event()
        self.start()

    def run(self):
        while not self.halt.wait(0.02):
            try:
                self.sock.sendall(self.chunk)
            except OSError:
                return

    def stop(self):
        self.halt.set()
        self.join(timeout=2)
        self.sock.close()


def received_values(blocks) -> set[float]:
    return {round(float(v), 2) for b in blocks for v in np.unique(b.samples)}


@pytest.mark.parametrize("takeover", [False, True])
def test_a_second_tcp_client_cannot_take_over_a_live_digitizer(takeover):
    src = TcpSource(listen=("127.0.0.1", 0), fmt="s16le", channels=1, sample_rate=RATE, block_frames=320,
                    takeover=takeover)
    col = Collector(src)
    live = Digitizer(src.address, 0.25)
    assert wait_for(lambda: col.frames() >= 10 * 320)
    intruder = Digitizer(src.address, -0.5)
    time.sleep(0.6)
    before = col.frames()
    time.sleep(0.4)
    grew = col.frames() > before
    intruder.stop()
    live.stop()
    blocks = col.stop()
    if takeover:
        assert -0.5 in received_values(blocks)
    else:
        assert received_values(blocks) == {0.25} and grew  # the intruder's audio never scored; the digitizer kept on
        assert src.counters["refused_connections"] >= 1 and src.counters["connections"] == 1


def test_peers_outside_allow_from_are_refused_and_counted():
    tcp = TcpSource(listen=("127.0.0.1", 0), fmt="s16le", channels=1, sample_rate=RATE, allow_from=["10.0.0.0/8"])
    udp = UdpSource(bind=("127.0.0.1", 0), fmt="s16le", channels=1, sample_rate=RATE, allow_from=["10.1.2.3"])
    cols = Collector(tcp), Collector(udp)
    with socket.create_connection(tcp.address) as c:
        c.sendall(encode(np.full((4000, 1), 0.1), fmt="s16le"))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        tx.sendto(packet(0, np.full((100, 1), 0.1)), udp.address)
    assert wait_for(lambda: tcp.counters["refused_peers"] == 1 and udp.counters["refused_peers"] == 1)
    assert [c.stop() for c in cols] == [[], []]
    allowed = UdpSource(bind=("127.0.0.1", 0), fmt="s16le", channels=1, sample_rate=RATE, allow_from=["127.0.0.0/8"])
    col = Collector(allowed)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        tx.sendto(packet(0, np.full((100, 1), 0.1)), allowed.address)
    assert wait_for(lambda: col.frames() == 100)
    col.stop()


@pytest.mark.parametrize("spec", ["tcp-listen:0.0.0.0:0", "udp:0.0.0.0:0"])
def test_listening_beyond_loopback_needs_allow_from(tmp_path, spec):
    cfg = StreamConfig(model=Path("unused.onnx"), source=spec, out=tmp_path)
    with pytest.raises(ValueError, match="--allow-from"):
        open_source(cfg)
    open_source(dataclasses.replace(cfg, allow_from=("192.168.1.20",))).close()


def test_one_stray_udp_sequence_number_does_not_shift_later_timestamps():
    src = UdpSource(bind=("127.0.0.1", 0), fmt="s16le", channels=1, sample_rate=RATE, block_frames=100_000)
    col = Collector(src)
    x = np.full((160, 1), 0.1)  # 10 ms per packet
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        for seq in [*range(0, 20), 1_000_020, *range(20, 40)]:
            tx.sendto(packet(seq, x), src.address)
            time.sleep(0.002)
        assert wait_for(lambda: src.counters["datagrams"] == 41)
    blocks = col.stop()
    assert src.counters["sequence_resets"] == 2 and src.counters["lost_packets"] == 0
    assert sum(b.gap_samples for b in blocks) < RATE  # under 1 s in all, not the 16,000 s the jump claims


# ----------------------------------------------------------------------------------------- HTTP (defect 8)


def test_slowloris_cannot_starve_healthz():
    from prometheus_client import CollectorRegistry

    from uwac.acoustics.stream.service import serve

    svc = serve(CollectorRegistry(), health=lambda: (True, {}), contacts=list, port=0, deadline_s=1.5)
    slow = [socket.create_connection((svc.host, svc.port)) for _ in range(40)]
    try:
        answered = 0
        for i in range(12):  # a byte a second from each slow client, /healthz asked in between
            for s in slow:
                try:
                    s.send(b"GET /healthz HTTP/1.1\r\n"[i:i + 1])
                except OSError:
                    pass
            with urllib.request.urlopen(svc.url + "/healthz", timeout=2) as r:
                answered += r.status == 200
            time.sleep(0.25)
        assert answered == 12
        assert wait_for(lambda: svc.timed_out == 40, 5.0)  # every slow client cut off at the deadline
    finally:
        for s in slow:
            s.close()
        svc.close()


# -------------------------------------------------------------------------------------- /metrics (defect 7)


def nan_when_loud_model(path: Path) -> Path:
    """The toy model, but its logits are log(0.3 − mean |x|): finite on quiet input (the load-time probe passes),
    NaN once the input is loud (a model that breaks on some audio)."""
    import onnx
    from onnx import TensorProto, helper

    toy_model(path)
    m = onnx.load(str(path))
    g = m.graph
    old = next(n for n in g.node if n.op_type == "Add")
    old.output[0] = "logits0"
    g.initializer.append(helper.make_tensor("c", TensorProto.FLOAT, [1], [0.3]))
    g.node.insert(list(g.node).index(old) + 1, helper.make_node("Sub", ["c", "embedding"], ["d"]))
    g.node.insert(list(g.node).index(old) + 2, helper.make_node("Log", ["d"], ["ld"]))
    g.node.insert(list(g.node).index(old) + 3, helper.make_node("Add", ["logits0", "ld"], ["logits"]))
    onnx.save(m, str(path))
    return path


def test_hops_with_non_finite_probabilities_are_counted_as_skipped_not_scored(tmp_path):
    model = nan_when_loud_model(tmp_path / "m.onnx")
    x = np.concatenate([0.01 * np.ones(6 * RATE), 0.9 * np.ones(6 * RATE)])
    sf.write(tmp_path / "s.wav", x, RATE, subtype="FLOAT")
    daemon = Daemon(StreamConfig(model=model, source=str(tmp_path / "s.wav"), out=tmp_path / "out", http=None))
    assert daemon.run() == 0
    s = daemon_samples(daemon.metrics)
    assert s["uwac_hops_total"] == 2 and s["uwac_hops_skipped_total"] == 2


def test_every_source_count_reaches_metrics(tmp_path):
    model = toy_model(tmp_path / "m.onnx")
    cfg = StreamConfig(model=model, source="udp:127.0.0.1:0", out=tmp_path / "out", http=("127.0.0.1", 0))
    daemon = Daemon(cfg)
    runner = threading.Thread(target=daemon.run, daemon=True)
    runner.start()
    x = np.full((1600, 1), 0.01)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        for seq in (0, 2, 1, 2, 3):  # one lost (1, until it comes late), a late packet, a duplicate
            tx.sendto(packet(seq, x), daemon.source.address)
            time.sleep(0.01)
        tx.sendto(b"\x00\x01", daemon.source.address)  # malformed
    slow = socket.create_connection((daemon.service.host, daemon.service.port))
    try:
        def metrics():
            with urllib.request.urlopen(daemon.service.url + "/metrics", timeout=5) as r:
                return r.read().decode()
        want = {'uwac_source_events_total{event="duplicate_packets"}': 1,
                'uwac_source_events_total{event="reordered_packets"}': 1, "uwac_input_lost_packets_total": 1,
                "uwac_input_malformed_total": 1}
        assert wait_for(lambda: want.items() <= samples(metrics()).items(), 10.0), metrics()
    finally:
        slow.close()
        daemon.request_stop()
        runner.join(timeout=10)


def test_realtime_margin_falls_below_one_when_a_live_source_outpaces_scoring(tmp_path):
    from uwac.acoustics.stream.blocks import Block

    daemon = Daemon(StreamConfig(model=toy_model(tmp_path / "m.onnx"), source="udp:127.0.0.1:0", out=tmp_path / "o",
                                 http=None))
    try:
        daemon._started_at = time.monotonic() - 2.0  # 2 s of wall clock
        block = Block(samples=np.zeros((RATE, 1), np.float32), sample_rate=RATE, position=0,
                      gap_samples=99 * RATE)  # 1 s scored, 99 s dropped at the queue before it
        daemon._account(block, busy_s=0.5)  # the loop scores at 2× real time; audio comes at 50×
        margin = daemon_samples(daemon.metrics)["uwac_realtime_margin"]
        assert margin == pytest.approx(2.0 / 50.0, rel=0.05)  # it was 2.0 (audio scored per busy second)
    finally:
        daemon.source.close()


# ------------------------------------------------------------------------------- vanished out folder (defect 3)


def test_removing_the_out_folder_mid_run_is_a_loud_exit_without_journal_advance(tmp_path):
    import shutil

    model = toy_model(tmp_path / "m.onnx")
    rec, out = tmp_path / "rec", tmp_path / "out"
    rec.mkdir()
    loud = 0.05 * np.sign(np.random.default_rng(1).standard_normal(30 * RATE))  # mean |x| 0.05: merchant
    sf.write(rec / "a.wav", loud, RATE, subtype="FLOAT")
    daemon = Daemon(StreamConfig(model=model, source=f"dir:{rec}", out=out, http=None))
    daemon.source.settle_s = 0.0
    status = []
    runner = threading.Thread(target=lambda: status.append(daemon.run()), daemon=True)
    runner.start()
    assert wait_for(lambda: (out / "journal.json").exists() and daemon.writer.last_seq > 0, 30.0)
    # moved away in one step, then deleted: a plain rmtree races the daemon's own journal.json.tmp (ENOTEMPTY)
    gone = tmp_path / "gone"
    out.rename(gone)
    shutil.rmtree(gone)
    sf.write(rec / "b.wav", loud, RATE, subtype="FLOAT")
    runner.join(timeout=30)
    assert status == [3]
    assert not out.exists()  # neither the journal nor an event segment recreated it
    assert "events folder" in str(daemon.out_error) and "gone" in str(daemon.out_error)


# ------------------------------------------------------------------------------ recorder folder (defect 4)


def test_a_stray_unreadable_file_is_quarantined_and_later_recordings_are_read(tmp_path):
    from uwac.acoustics.stream.sources import DirectorySource

    rec = tmp_path / "rec"
    rec.mkdir()
    (rec / "zzz_notes.wav").write_text("operator notes, not audio")
    src = DirectorySource(rec, settle_s=0.0, poll_s=0.05)
    col = Collector(src)
    assert wait_for(lambda: src.counters["files_quarantined"] == 1)
    for i in range(3):
        sf.write(rec / f"rec_2024010{i + 1}T000000.wav", np.full(RATE, 0.1 * (i + 1)), RATE, subtype="FLOAT")
    assert wait_for(lambda: col.frames() == 3 * RATE, 10.0)
    col.stop()
    assert (rec / ".quarantine" / "zzz_notes.wav").is_file() and not (rec / "zzz_notes.wav").exists()
    assert src.counters["files_out_of_order"] == 0


def test_a_recording_whose_writer_stalls_past_the_settle_time_loses_nothing(tmp_path):
    from uwac.acoustics.stream.sources import DirectorySource

    rec = tmp_path / "rec"
    rec.mkdir()
    src = DirectorySource(rec, settle_s=0.3, poll_s=0.05)
    col = Collector(src)
    x = np.random.default_rng(2).uniform(-0.5, 0.5, 15 * RATE).astype(np.float32)
    with sf.SoundFile(rec / "rec_20240101T000000.wav", "w", RATE, 1, subtype="FLOAT") as f:
        f.write(x[:5 * RATE])
        f.flush()  # the header says 5 s
        assert wait_for(lambda: col.frames() == 5 * RATE, 10.0)  # read as closed after 0.3 s of stillness
        time.sleep(0.5)  # the writer stalls past the settle time
        f.write(x[5 * RATE:])
    assert wait_for(lambda: col.frames() == 15 * RATE, 10.0), col.frames()
    blocks = col.stop()
    np.testing.assert_array_equal(np.concatenate([b.samples[:, 0] for b in blocks]), x)
    assert src.counters["files_grown"] == 1


def test_settle_time_and_rate_are_validated_flags(tmp_path):
    model = toy_model(tmp_path / "m.onnx")
    for args in (["--source", "stdin", "--rate", "0"], ["--source", str(tmp_path), "--settle", "-1"]):
        r = subprocess.run([sys.executable, "-m", "uwac.acoustics", "stream", str(model), *args, "--no-http", "--out",
                            str(tmp_path / "out")], input=b"", capture_output=True, cwd=ROOT, timeout=60)
        err = r.stderr.decode()
        assert r.returncode == 2 and "Traceback" not in err, err


@pytest.mark.parametrize("kind", ["a file", "read-only"])
def test_out_that_cannot_hold_events_is_one_clear_line(tmp_path, kind):
    import os

    model = toy_model(tmp_path / "m.onnx")
    out = tmp_path / "out"
    if kind == "a file":
        out.write_text("x")
    else:
        out.mkdir()
        out.chmod(0o500)
        if os.access(out, os.W_OK):  # root ignores permissions
            pytest.skip("running as root: a read-only folder is still writable")
    r = subprocess.run([sys.executable, "-m", "uwac.acoustics", "stream", str(model), "--source", "stdin", "--no-http",
                        "--out", str(out)], input=b"", capture_output=True, cwd=ROOT, timeout=60)
    err = r.stderr.decode()
    assert r.returncode == 2 and "Traceback" not in err and "--out" in err, err


def test_a_header_claiming_1_hz_is_refused_not_upsampled(tmp_path):
    model = toy_model(tmp_path / "m.onnx")
    sf.write(tmp_path / "odd.wav", np.full(800, 0.1), 1, subtype="FLOAT")
    daemon = Daemon(StreamConfig(model=model, source=str(tmp_path / "odd.wav"), out=tmp_path / "out", http=None))
    assert daemon.run() == 0
    s = daemon_samples(daemon.metrics)
    assert s["uwac_hops_total"] == 0 and s["uwac_input_malformed_total"] > 0


# --------------------------------------------------------------------------------- restart (defect 5)


def _recordings(folder: Path, audio: np.ndarray, seconds: int = 10) -> None:
    folder.mkdir()
    for i in range(0, len(audio), seconds * RATE):
        path = folder / f"rec_20260101T00{i // RATE // 60:02d}{i // RATE % 60:02d}.wav"
        sf.write(path, audio[i:i + seconds * RATE], RATE, subtype="FLOAT")


def _killed_after(daemon: Daemon, stop) -> None:
    """Drive the daemon block by block until ``stop(events written)``, then drop it as SIGKILL would: no drain, no
    shutdown events, files closed as the kernel would."""
    for block in daemon.source.blocks():
        daemon._handle(block)
        if stop(daemon, list(read_events(daemon.out))):
            break
    daemon.source.close()
    daemon.writer.close()
    if daemon.raven is not None:
        daemon.raven.close()


@pytest.mark.parametrize("kill_at", ["contact_update", "contact_end"])
def test_restart_after_sigkill_leaves_no_orphan_events_and_every_raven_row(tmp_path, kill_at):
    rng = np.random.default_rng(4)
    quiet, loud = 0.002 * rng.standard_normal(40 * RATE), 0.05 * np.sign(rng.standard_normal(80 * RATE))
    _recordings(tmp_path / "rec", np.concatenate([quiet, loud, quiet, loud, quiet]).astype(np.float32))
    cfg = StreamConfig(model=toy_model(tmp_path / "m.onnx", hop_s=1.0), source=f"dir:{tmp_path / 'rec'}",
                       out=tmp_path / "out", http=None, follow=False)
    assert Daemon(dataclasses.replace(cfg, out=tmp_path / "whole")).run() == 0  # the uninterrupted run
    whole = [e for e in read_events(tmp_path / "whole") if e["type"] == "contact_end"]
    assert len(whole) == 2
    first = Daemon(cfg)

    def stop(daemon, ev):  # the worst moment: the journal's last commit is long before the last event
        return bool(ev) and ev[-1]["type"] == kill_at and ev[-1]["time_s"] - daemon._last_commit_s >= 3.0

    _killed_after(first, stop)
    if kill_at == "contact_end":  # the kill came between the event's fsync and the Raven row's
        lines = (tmp_path / "out" / "contacts.selections.txt").read_text().splitlines(keepends=True)
        (tmp_path / "out" / "contacts.selections.txt").write_text("".join(lines[:-1]))
    assert Daemon(cfg).run() == 0
    events = list(read_events(tmp_path / "out"))
    started: set[str] = set()
    for e in events:
        if e["type"] == "contact_start":
            started.add(e["contact"])
        elif e["type"] in ("contact_update", "contact_end"):
            assert e["contact"] in started, f"orphan {e}"
    ends = [e["contact"] for e in events if e["type"] == "contact_end"]
    assert started == set(ends) and len(ends) == len(set(ends))
    rows = (tmp_path / "out" / "contacts.selections.txt").read_text().splitlines()[1:]
    assert sorted(r.split("\t")[10] for r in rows) == sorted(ends)
    # nothing lost against the uninterrupted run: each of its contacts is covered, same class, by the restarted
    # run's contacts (a contact cut by the kill is ended with reason restart and picked up again)
    got = [e for e in events if e["type"] == "contact_end"]
    for c in whole:
        cover = [g for g in got if g["class"] == c["class"] and g["start_s"] < c["end_s"] and g["end_s"] > c["start_s"]]
        assert cover and min(g["start_s"] for g in cover) <= c["start_s"] + 1.0, (c, got)
        assert max(g["end_s"] for g in cover) >= c["end_s"] - 1.0, (c, got)


# ------------------------------------------------------------------------------- baseline files (defect 10)


class _Evil:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))  # loading a pickle of this creates the marker file


@pytest.mark.parametrize("name", ["baseline.joblib", "baseline.skops"])
def test_a_crafted_baseline_file_runs_nothing(tmp_path, name):
    import pickle

    from uwac.acoustics.baseline_file import load_baseline

    marker = tmp_path / "owned"
    (tmp_path / name).write_bytes(pickle.dumps({"model": _Evil(str(marker))}))
    with pytest.raises(ValueError, match="pickle|skops"):
        load_baseline(tmp_path / name)
    assert not marker.exists()


def test_baseline_round_trip_and_foreign_types_refused(tmp_path):
    import skops.io as sio
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.neighbors import KNeighborsClassifier

    from uwac.acoustics.baseline_file import load_baseline, save_baseline

    x, y = np.random.default_rng(0).random((80, 3)), np.arange(80) % 2
    model = HistGradientBoostingClassifier(max_iter=5).fit(x, y)
    saved = load_baseline(save_baseline(tmp_path / "b.skops", model=model, features=["a", "b", "c"],
                                        classes=["ambient", "merchant"]))
    np.testing.assert_array_equal(saved["model"].predict_proba(x), model.predict_proba(x))
    sio.dump({"model": KNeighborsClassifier().fit(x, y), "features": [], "classes": []}, tmp_path / "k.skops")
    assert sio.get_untrusted_types(file=tmp_path / "k.skops")  # KD-tree types: not what a baseline holds
    with pytest.raises(ValueError, match="never has"):
        load_baseline(tmp_path / "k.skops")


# ------------------------------------------------------------------------------------------ fuzzing (bounded)


def test_udp_and_tcp_fuzz_neither_crash_nor_hang_and_every_bad_input_is_counted(tmp_path):
    rng = np.random.default_rng(9)
    model = toy_model(tmp_path / "m.onnx", hop_s=1.0)
    udp = Daemon(StreamConfig(model=model, source="udp:127.0.0.1:0", out=tmp_path / "u", http=None))
    tcp = Daemon(StreamConfig(model=model, source="tcp-listen:127.0.0.1:0", out=tmp_path / "t", http=None,
                              fmt="f32le"))
    runners = [threading.Thread(target=d.run, daemon=True) for d in (udp, tcp)]
    for r in runners:
        r.start()
    sent_bad = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        for i in range(1500):
            kind = rng.integers(4)
            if kind == 0:  # a good packet
                tx.sendto(packet(i, rng.uniform(-0.1, 0.1, (160, 1))), udp.source.address)
            elif kind == 1:  # too short or an odd number of bytes: malformed
                tx.sendto(rng.bytes(int(rng.choice([0, 1, 2, 3, 5, 7, 163]))), udp.source.address)
                sent_bad += 1
            elif kind == 2:  # random sequence numbers
                tx.sendto(int(rng.integers(0, 2**32)).to_bytes(4, "big") + rng.bytes(320), udp.source.address)
            else:  # NaN and Inf samples
                tx.sendto(packet(i, np.full((160, 1), 0.0)) [:4] + rng.bytes(320), udp.source.address)
    for _ in range(20):
        with socket.create_connection(tcp.source.address) as c:
            c.sendall(rng.bytes(int(rng.integers(1, 40_000))))
    assert wait_for(lambda: udp.source.counters["datagrams"] >= 1400, 20.0)
    assert wait_for(lambda: tcp.source.counters["disconnects"] >= 20, 20.0)
    for d, r in zip((udp, tcp), runners, strict=True):
        d.request_stop()
        r.join(timeout=15)
        assert not r.is_alive(), "the daemon hung"
        assert d.source_error is None
    assert udp.source.counters["malformed"] >= sent_bad - 50  # a few may be lost by the kernel, none uncounted
    assert daemon_samples(udp.metrics)["uwac_input_malformed_total"] == udp.source.counters["malformed"]


def test_a_channel_mismatch_is_one_log_line_not_one_per_second(tmp_path, caplog):
    import logging

    model = toy_model(tmp_path / "m.onnx")
    sf.write(tmp_path / "s.wav", np.zeros((30 * RATE, 1)), RATE, subtype="FLOAT")
    daemon = Daemon(StreamConfig(model=model, source=str(tmp_path / "s.wav"), out=tmp_path / "o", http=None,
                                 channels=(2,)))
    with caplog.at_level(logging.ERROR, logger="uwac.acoustics.stream.daemon"):
        assert daemon.run() == 0
    lines = [r for r in caplog.records if "channel" in r.getMessage()]
    assert len(lines) == 1, [r.getMessage() for r in lines]  # 30 blocks refused, counted, logged once
    assert daemon_samples(daemon.metrics)["uwac_input_malformed_total"] == 30
