"""The operator console (issue 16) over HTTP: page, live stream, clip, verdicts and their access rules, export."""

import http.client
import json
import socket
import threading

import numpy as np
import pytest
import soundfile as sf

from tests.stream.polling import wait_for
from uwac.acoustics.labels.export import export_labels
from uwac.acoustics.labels.store import VerdictStore
from uwac.acoustics.manifest import read_manifest
from uwac.acoustics.stream.daemon import DEFAULT_MODEL, Daemon, StreamConfig
from uwac.acoustics.synth.scene import render_scene

RATE = 16000
TOKEN = "console-test-token"


@pytest.fixture(scope="module")
def warship_pass():
    """The daemon tests' scene (seed 103): 90 s of ambient, a 90-s warship pass at 10 dB (CPA at its middle), and
    the start of the ambient after it."""
    a, _ = render_scene(seed=103, duration_s=90.0, contacts=[])
    v, _ = render_scene(seed=1103, duration_s=90.0, contacts=[{"label": "warship", "snr_db": 10.0, "t_cpa_s": 45.0}])
    b, _ = render_scene(seed=2103, duration_s=30.0, contacts=[])
    return np.concatenate([a, v, b]).astype("<f4")


class Sse:
    """A page's event stream read on a thread: every ``data:`` message, decoded."""

    def __init__(self, port: int, query: str = ""):
        self.messages: list[dict] = []
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.conn.request("GET", "/console/events" + query)
        self.response = self.conn.getresponse()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        try:
            for line in self.response:
                if line.startswith(b"data: "):
                    self.messages.append(json.loads(line[6:]))
        except (OSError, ValueError):
            pass

    def of(self, kind):
        return [m for m in list(self.messages) if m["type"] == kind]


def request(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, dict(r.getheaders()), data


def test_console_streams_the_pass_plays_its_clip_and_stores_the_verdict(warship_pass, tmp_path):
    out = tmp_path / "node"
    daemon = Daemon(StreamConfig(model=DEFAULT_MODEL, source="tcp-listen:127.0.0.1:0", out=out,
                                 http=("127.0.0.1", 0), fmt="f32le", in_rate=RATE, queue_blocks=4000, console=True,
                                 console_token=TOKEN))
    runner = threading.Thread(target=daemon.run)
    runner.start()
    port = daemon.service.port
    try:
        status, headers, page = request(port, "GET", "/console")
        assert status == 200 and b"uwac console" in page and "default-src 'self'" in headers["Content-Security-Policy"]
        assert b"http://" not in page.replace(b"http://www.w3.org", b"") and b"https://" not in page  # no CDN
        page_stream = Sse(port)
        with socket.create_connection(("127.0.0.1", daemon.source.address[1])) as s:
            s.sendall(warship_pass.tobytes())
        assert wait_for(lambda: any(m["event"].get("type") == "contact_start" for m in page_stream.of("event")), 120)
        hops = page_stream.of("hop")
        assert len(hops) >= 10 and all(len(r["lofar"]) <= 512 for h in hops for r in h["channels"])
        assert any(max(v for v in r["lofar"] if v is not None) > 6.0 for h in hops[-5:] for r in h["channels"])
        assert {"shaft_hz", "blades", "two_shafts"} <= set(hops[-1]["channels"][0]["physics"])
        cid = next(m["event"]["contact"] for m in page_stream.of("event") if m["event"].get("type") == "contact_start")
        assert wait_for(lambda: any(m["event"].get("type") == "contact_end" for m in page_stream.of("event")), 120)
        ended = next(m["event"] for m in page_stream.of("event") if m["event"].get("type") == "contact_end")
        assert ended["contact"] == cid and {"shaft_hz", "blades"} <= set(ended["physics"])

        status, headers, clip = request(port, "GET", f"/console/clip?contact={cid}")
        assert status == 200 and headers["Content-Type"] == "audio/wav"
        audio, rate = sf.read(__import__("io").BytesIO(clip))
        assert rate == RATE and len(audio) > 10 * RATE

        verdict = json.dumps({"contact": cid, "verdict": "relabelled", "label": "merchant", "fine_label": "trawler",
                              "note": "nets out"})
        json_h = {"Content-Type": "application/json"}
        assert request(port, "POST", "/console/verdict", verdict, json_h)[0] == 403  # no token
        assert request(port, "POST", "/console/verdict", verdict,
                       {**json_h, "X-Uwac-Token": "wrong"})[0] == 403
        assert request(port, "POST", "/console/verdict", verdict,  # a cross-site page, even holding the token
                       {**json_h, "X-Uwac-Token": TOKEN, "Origin": "http://evil.example"})[0] == 403
        assert request(port, "POST", "/console/verdict", verdict,
                       {"Content-Type": "text/plain", "X-Uwac-Token": TOKEN})[0] == 415
        status, _, body = request(port, "POST", "/console/verdict", verdict,
                                  {**json_h, "X-Uwac-Token": TOKEN, "Origin": f"http://127.0.0.1:{port}"})
        stored = json.loads(body)
        assert status == 200 and stored["label"] == "merchant" and stored["clip"].startswith("labels/")
        assert wait_for(lambda: page_stream.of("verdict"), 10)
        assert request(port, "GET", "/console/nothing")[0] == 404
        assert request(port, "GET", "/console/state", headers={"Host": "evil.example:80"})[0] == 403  # rebinding
        assert request(port, "GET", "/healthz")[0] == 200  # the built-in endpoints still answer
        assert not [m for m in page_stream.of("health") if m["health"]["alarm"]]
        daemon.health.stale_hops = 1  # the digitizer sent its last block long ago: the page must say so now
        assert wait_for(lambda: [m for m in page_stream.of("health") if m["health"]["alarm"]], 15)
        assert "no hop for" in page_stream.of("health")[-1]["health"]["alarm"]
    finally:
        daemon.request_stop()
        runner.join(timeout=60)
    [v] = VerdictStore(out).latest()
    assert (v.contact, v.verdict, v.label, v.fine_label, v.model_class) == (cid, "relabelled", "merchant", "trawler",
                                                                             "warship")
    result = export_labels(out, tmp_path / "export")
    [row] = read_manifest(tmp_path / "export" / "manifest.csv")
    assert result["rows"] == 1 and row.label == "merchant" and row.source == "analyst" and row.duration_s > 5.0
    assert (out / "console.token").read_text().strip() == TOKEN and (out / "console.token").stat().st_mode & 0o077 == 0


def test_console_off_loopback_needs_a_token_and_asks_it_of_every_request(tmp_path, monkeypatch):
    monkeypatch.delenv("UWAC_CONSOLE_TOKEN", raising=False)
    cfg = dict(model=DEFAULT_MODEL, source="tcp-listen:127.0.0.1:0", out=tmp_path / "o", fmt="f32le", console=True)
    with pytest.raises(ValueError, match="needs an access token"):
        Daemon(StreamConfig(**cfg, http=("0.0.0.0", 0)))
    with pytest.raises(ValueError, match="drop --no-http"):
        Daemon(StreamConfig(**cfg, http=None))
    daemon = Daemon(StreamConfig(**cfg, http=("0.0.0.0", 0), console_token=TOKEN))
    try:
        port = daemon.service.port
        assert request(port, "GET", "/console")[0] == 403
        assert request(port, "GET", "/console/state")[0] == 403
        assert request(port, "GET", f"/console/state?token={TOKEN}")[0] == 200
        assert request(port, "GET", "/console", headers={"X-Uwac-Token": TOKEN})[0] == 200
    finally:
        daemon.shutdown()
