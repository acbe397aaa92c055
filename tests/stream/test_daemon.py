"""The daemon end to end: a warship pass becomes one contact at the right times, bad input and bad models get a
clear line and no crash, SIGTERM ends open contacts, SIGHUP with a broken file keeps the old model, SIGKILL then
restart neither loses nor repeats events, and /healthz and /metrics answer while it runs."""

import functools
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.stream.exposition import daemon_samples
from tests.stream.polling import wait_for
from uwac.acoustics.stream.daemon import DEFAULT_MODEL, Daemon, StreamConfig, run_stream
from uwac.acoustics.stream.events import read_events
from uwac.acoustics.synth.scene import render_scene

ROOT = Path(__file__).resolve().parents[2]
RATE = 16000
# A seed whose renders the shipped model classifies correctly: this file tests the daemon (timing, hysteresis,
# no false contacts on ambient), not the model, whose figures are in its card.
SEED = 103


@functools.lru_cache(maxsize=1)
def shipped():
    """The shipped model's ModelInfo: hop counts below follow its window and hop, whatever model is shipped."""
    from uwac.acoustics.contract import load_session

    return load_session(DEFAULT_MODEL)[1]


def daemon_hop(model: Path = DEFAULT_MODEL) -> int:
    """Samples between the windows the daemon scores with ``model`` (a copy of the shipped one): its streaming
    pair's step when the pair lies beside it, else the model's own hop."""
    from uwac.acoustics.split_model import pair_paths, read_plan

    frames = pair_paths(model)["frames"]
    return read_plan(frames).step if frames.exists() else shipped().hop_samples


def hops_in(seconds: float, model: Path = DEFAULT_MODEL) -> int:
    """Hops the daemon scores in ``seconds`` of audio with ``model`` (its windows on the hop grid)."""
    from uwac.acoustics.windows import window_starts

    info = shipped()
    return len(window_starts(int(seconds * info.sample_rate), info.window_samples, daemon_hop(model)))


@pytest.fixture(scope="module")
def scene():
    """90 s of ambient, a 90 s warship pass (CPA at its middle, 10 dB SNR), 90 s of ambient: audio and true span."""
    a, _ = render_scene(seed=SEED, duration_s=90.0, contacts=[])
    v, _ = render_scene(seed=SEED + 1000, duration_s=90.0,
                        contacts=[{"label": "warship", "snr_db": 10.0, "t_cpa_s": 45.0}])
    b, _ = render_scene(seed=SEED + 2000, duration_s=90.0, contacts=[])
    return np.concatenate([a, v, b]), (90.0, 180.0)


def contacts(events):
    return [e for e in events if e["type"] == "contact_end"]


def test_warship_pass_gives_one_contact_on_time_and_nothing_in_ambient(scene, tmp_path):
    audio, (t0, t1) = scene
    sf.write(tmp_path / "scene.wav", audio, RATE, subtype="FLOAT")
    cfg = StreamConfig(model=DEFAULT_MODEL, source=str(tmp_path / "scene.wav"), out=tmp_path / "out", http=None)
    assert run_stream(cfg, install_signals=False) == 0
    events = list(read_events(tmp_path / "out"))
    ended = contacts(events)
    assert len(ended) == 1, ended
    c = ended[0]
    assert c["class"] == "warship" and abs(c["start_s"] - t0) <= 10 and abs(c["end_s"] - t1) <= 10
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert all(t0 - 10 <= e["time_s"] <= t1 + 15 for e in events)  # nothing during the ambient stretches
    raven = (tmp_path / "out" / "contacts.selections.txt").read_text().splitlines()
    assert len(raven) == 2 and "warship" in raven[1]


def _uwac(*args, stdin=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "uwac.acoustics", *map(str, args)], input=stdin, capture_output=True,
                          cwd=ROOT, timeout=timeout)


def test_random_bytes_and_nan_on_stdin_are_counted_not_fatal(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(8 * RATE).astype(np.float32) * 0.05
    x[1000:1100] = np.nan
    x[5000] = np.inf
    raw = x.tobytes() + rng.integers(0, 256, 40_000, dtype=np.uint8).tobytes() + b"\x01\x02\x03"
    r = _uwac("stream", "--source", "stdin", "--format", "f32le", "--rate", RATE, "--no-http", "--out",
              tmp_path, stdin=raw)
    err = r.stderr.decode()
    assert r.returncode == 0, err
    assert "NaN/Inf" in err and "incomplete frame" in err  # counted and logged, not a crash


@pytest.mark.parametrize("content", [None, b"not an onnx file"])
def test_missing_or_corrupt_model_is_one_clear_line(tmp_path, content):
    model = tmp_path / "m.onnx"
    if content is not None:
        model.write_bytes(content)
    r = _uwac("stream", model, "--source", "stdin", "--no-http", "--out", tmp_path, stdin=b"")
    err = r.stderr.decode()
    assert r.returncode == 2 and "Traceback" not in err
    assert ("not found" in err) if content is None else ("corrupt" in err)


def test_sighup_with_a_broken_file_keeps_the_running_model(scene, tmp_path):
    audio, _ = scene
    model = tmp_path / "m.onnx"
    model.write_bytes(DEFAULT_MODEL.read_bytes())
    sf.write(tmp_path / "s.wav", audio[: 40 * RATE], RATE, subtype="FLOAT")
    daemon = Daemon(StreamConfig(model=model, source=str(tmp_path / "s.wav"), out=tmp_path / "out", http=None))
    session = daemon.session
    model.write_bytes(b"\x00" * 100)  # a half-copied file
    assert daemon.reload() is False and daemon.session is session
    model.write_bytes(DEFAULT_MODEL.read_bytes())
    assert daemon.reload() is True and daemon.session is not session
    assert daemon.run() == 0
    s = daemon_samples(daemon.metrics)
    assert s['uwac_model_reloads_total{result="refused"}'] == 1 and s['uwac_model_reloads_total{result="ok"}'] == 1
    assert s["uwac_hops_total"] == hops_in(40.0, model)


def _wait_for(predicate, timeout=60.0):
    return wait_for(predicate, timeout, every=0.1)


def _start(folder, out, *extra):
    return subprocess.Popen([sys.executable, "-m", "uwac.acoustics", "stream", "--source", f"dir:{folder}", "--out",
                             str(out), "--no-http", *extra], cwd=ROOT, stderr=subprocess.PIPE)


def _write_segments(folder, audio, seconds=30, start="20260101T000000"):
    """Recorder-style files of ``seconds`` each, named by their start time."""
    folder.mkdir(exist_ok=True)
    t = time.mktime(time.strptime(start, "%Y%m%dT%H%M%S"))
    paths = []
    for i in range(0, len(audio), seconds * RATE):
        name = time.strftime("%Y%m%dT%H%M%S", time.localtime(t + i // RATE))
        path = folder / f"rec_{name}.wav"
        sf.write(path, audio[i:i + seconds * RATE], RATE, subtype="FLOAT")
        old = time.time() - 60
        os.utime(path, (old, old))  # closed long ago: the backlog
        paths.append(path)
    return paths


def test_sigterm_mid_contact_ends_it_and_exits_cleanly(scene, tmp_path):
    audio, _ = scene
    _write_segments(tmp_path / "rec", audio[: 150 * RATE])  # ends inside the pass: the contact is open
    out = tmp_path / "out"
    proc = _start(tmp_path / "rec", out)
    try:
        assert _wait_for(lambda: any(e["type"] == "contact_start" for e in read_events(out))), "no contact"
        assert _wait_for(lambda: (out / "journal.json").is_file())
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
    events = list(read_events(out))
    assert events[-1]["type"] == "contact_end" and events[-1]["reason"] == "shutdown"


def test_sigkill_then_restart_loses_and_repeats_nothing(scene, tmp_path):
    audio, _ = scene
    paths = _write_segments(tmp_path / "rec", audio)
    for p in paths[5:]:  # the recorder has not written these yet
        p.rename(p.with_suffix(".later"))
    out = tmp_path / "out"
    proc = _start(tmp_path / "rec", out)
    try:
        assert _wait_for(lambda: any(e["type"] == "contact_start" for e in read_events(out))), "no contact"
        assert _wait_for(lambda: json.loads((out / "journal.json").read_text())["file"].endswith(paths[4].name)
                         if (out / "journal.json").is_file() else False)
        proc.kill()  # SIGKILL: no drain, no shutdown events
        proc.wait(timeout=30)
    finally:
        proc.kill()
    before = list(read_events(out))
    for p in paths[5:]:
        p.with_suffix(".later").rename(p)
    proc = _start(tmp_path / "rec", out, "--no-follow")
    assert proc.wait(timeout=120) == 0, proc.stderr.read().decode()[-2000:]
    events = list(read_events(out))
    assert events[: len(before)] == before  # nothing rewritten
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    keys = [(e["type"], e.get("contact"), e.get("time_s")) for e in events]
    assert len(keys) == len(set(keys))  # no event twice
    starts = {e["contact"] for e in events if e["type"] == "contact_start"}
    ends = [e["contact"] for e in events if e["type"] == "contact_end"]
    assert starts == set(ends) and len(ends) == len(set(ends))  # every contact ends exactly once
    assert any(e.get("reason") == "restart" for e in events if e["type"] == "contact_end")


def test_health_and_metrics_answer_while_running(scene, tmp_path):
    audio, _ = scene
    _write_segments(tmp_path / "rec", audio[: 60 * RATE])
    daemon = Daemon(StreamConfig(model=DEFAULT_MODEL, source=f"dir:{tmp_path / 'rec'}", out=tmp_path / "out",
                                 http=("127.0.0.1", 0)))
    runner = threading.Thread(target=daemon.run)
    runner.start()
    try:
        url = daemon.service.url
        assert _wait_for(lambda: daemon.health.hops >= hops_in(50.0))
        health = json.loads(urllib.request.urlopen(url + "/healthz", timeout=5).read())
        assert health["status"] == "ok" if "status" in health else health
        metrics = urllib.request.urlopen(url + "/metrics", timeout=5).read().decode()
        assert "uwac_hops_total" in metrics and "uwac_hop_latency_seconds_bucket" in metrics
        assert 'uwac_contacts_total{class="warship"}' in metrics
    finally:
        daemon.request_stop()
        runner.join(timeout=30)
    assert not runner.is_alive()


def test_stream_runs_without_torch(scene, tmp_path):
    """A node installs uwac without torch: the daemon must not import it, even indirectly."""
    audio, _ = scene
    sf.write(tmp_path / "s.wav", audio[: 10 * RATE], RATE, subtype="FLOAT")
    code = ("import sys\n"
            "class Block:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name == 'torch' or name.startswith('torch.'):\n"
            "            raise ImportError('torch is not installed on this node')\n"
            "sys.meta_path.insert(0, Block())\n"
            "from acoustics.cli import main\n"
            f"sys.exit(main(['stream', '--source', {str(tmp_path / 's.wav')!r}, '--out', {str(tmp_path / 'o')!r},"
            " '--no-http']))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    assert "not installed on this node" not in r.stderr.decode()


def test_wrong_channel_choice_is_logged_and_counted(scene, tmp_path):
    audio, _ = scene
    sf.write(tmp_path / "s.wav", audio[: 10 * RATE], RATE, subtype="FLOAT")
    daemon = Daemon(StreamConfig(model=DEFAULT_MODEL, source=str(tmp_path / "s.wav"), out=tmp_path / "o", http=None,
                                 channels=(2,)))
    assert daemon.run() == 0
    s = daemon_samples(daemon.metrics)
    assert s["uwac_input_malformed_total"] == 10 and s["uwac_hops_total"] == 0


def test_other_sample_rates_are_resampled(scene, tmp_path):
    from uwac.acoustics.audio_io import resample

    audio, (t0, t1) = scene
    sf.write(tmp_path / "s.wav", resample(audio, RATE, 44100).astype(np.float32), 44100, subtype="FLOAT")
    cfg = StreamConfig(model=DEFAULT_MODEL, source=str(tmp_path / "s.wav"), out=tmp_path / "o", http=None)
    assert run_stream(cfg, install_signals=False) == 0
    ended = contacts(read_events(tmp_path / "o"))
    assert len(ended) == 1 and abs(ended[0]["start_s"] - t0) <= 10 and abs(ended[0]["end_s"] - t1) <= 10


def test_tcp_source_dropping_mid_contact_ends_it_with_a_gap(scene, tmp_path):
    import socket

    audio, (t0, _) = scene
    daemon = Daemon(StreamConfig(model=DEFAULT_MODEL, source="tcp-listen:127.0.0.1:0", out=tmp_path / "o", http=None,
                                 fmt="f32le", in_rate=RATE, queue_blocks=4000))  # the test sends faster than real time
    runner = threading.Thread(target=daemon.run)
    runner.start()
    try:
        port = daemon.source.address[1]
        with socket.create_connection(("127.0.0.1", port)) as s:  # ambient, then into the pass, then the link drops
            s.sendall(audio[: int((t0 + 40) * RATE)].astype("<f4").tobytes())
        assert _wait_for(lambda: any(e["type"] == "contact_start" for e in read_events(tmp_path / "o")))
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(audio[int((t0 + 90) * RATE):].astype("<f4").tobytes())
        assert _wait_for(lambda: daemon.source.counters["reconnects"] >= 1 and daemon.health.hops >= hops_in(200.0))
    finally:
        daemon.request_stop()
        runner.join(timeout=30)
    events = list(read_events(tmp_path / "o"))
    ends = contacts(events)
    assert len(ends) == 1 and ends[0]["reason"] == "gap" and ends[0]["class"] == "warship"
    assert any(e["type"] == "gap" for e in events)


def test_an_hour_fast_forward_keeps_memory_steady(tmp_path):
    """One simulated hour of ambient through the whole daemon: RSS after the hour within a few MB of after
    ten minutes (nothing grows per hop), and no contact from the sea alone."""
    import resource

    a, _ = render_scene(seed=SEED, duration_s=60.0, contacts=[])
    folder = tmp_path / "rec"
    rss = []

    class Probe(Daemon):
        def _on_hop(self, hop):
            super()._on_hop(hop)
            if self.health.hops in (hops_in(600.0), hops_in(3500.0)):
                rss.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)

    _write_segments(folder, np.tile(a, 60), seconds=300)
    daemon = Probe(StreamConfig(model=DEFAULT_MODEL, source=f"dir:{folder}", out=tmp_path / "o", http=None,
                                follow=False, raven=False))
    assert daemon.run() == 0
    assert daemon.health.hops >= hops_in(3590.0)
    assert len(rss) == 2 and rss[1] - rss[0] < 16 * 1024  # KiB: under 16 MiB over 50 simulated minutes


def test_a_gate_rejected_variant_is_refused_unless_allowed(scene, tmp_path):
    import shutil

    from uwac.export.quality_gate import read_props, write_variant

    audio, _ = scene
    sf.write(tmp_path / "s.wav", audio[: 5 * RATE], RATE, subtype="FLOAT")
    model = tmp_path / "m.int8.onnx"
    shutil.copy(DEFAULT_MODEL.with_name("uwac-default.int8.onnx"), model)
    variant = json.loads(read_props(model)["uwac.variant"])
    write_variant(model, {**variant, "status": "rejected"})
    r = _uwac("stream", model, "--source", tmp_path / "s.wav", "--no-http", "--out", tmp_path / "o")
    assert r.returncode == 2 and "--allow-rejected" in r.stderr.decode()
    r = _uwac("stream", model, "--source", tmp_path / "s.wav", "--no-http", "--out", tmp_path / "o", "--allow-rejected")
    assert r.returncode == 0, r.stderr.decode()[-2000:]


def test_a_live_stream_restarted_keeps_logging_with_its_new_stream_time(scene, tmp_path):
    """Raw streams restart their stream time at 0; a second run into the same folder must still write its events
    (replay suppression is for replayable sources only) and continue the sequence numbers."""
    audio, _ = scene
    raw = audio.astype("<f4").tobytes()
    for _ in range(2):
        r = _uwac("stream", "--source", "stdin", "--format", "f32le", "--rate", RATE, "--no-http", "--out", tmp_path,
                  stdin=raw)
        assert r.returncode == 0, r.stderr.decode()[-2000:]
    events = list(read_events(tmp_path))
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    ends = contacts(events)
    assert len(ends) == 2 and all(e["class"] == "warship" for e in ends)
