"""Prometheus exposition text, and the HTTP service answering real requests on an ephemeral loopback port."""

import json
import re
import socket
import threading
import urllib.error
import urllib.request

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from uwac.acoustics.stream import telemetry as M
from uwac.acoustics.stream.service import HealthCheck, is_loopback, serve
from uwac.acoustics.stream.telemetry import render, stream_metrics

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$')


def parse(text: str) -> dict[str, float]:
    """Samples of an exposition text keyed by ``name{labels}``; asserts every line is well formed."""
    assert text.endswith("\n")
    samples, typed = {}, set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in {"counter", "gauge", "histogram"} and name not in typed
            typed.add(name)
            continue
        m = SAMPLE.match(line)
        assert m, f"malformed sample line {line!r}"
        key = line.rsplit(" ", 1)[0]
        assert key not in samples, f"duplicate series {key}"
        samples[key] = float(m.group(4))
    return samples


def test_exposition_text_for_the_daemon_metrics():
    m = stream_metrics(("ambient", "merchant", "warship", "drone"))
    m.hops.inc(3)
    for latency in (0.0005, 0.004, 0.004, 0.3, 7.0):
        m.hop_latency.observe(latency)
    m.realtime_margin.set(12.5)
    m.contacts.labels("warship").inc()
    m.model_reloads.labels("ok").inc()
    m.open_contacts.inc()
    m.up.set(1)
    text = render(m.registry)
    s = parse(text)
    assert s["uwac_hops_total"] == 3 and s["uwac_realtime_margin"] == 12.5 and s["uwac_up"] == 1
    assert s['uwac_contacts_total{class="warship"}'] == 1 and s['uwac_contacts_total{class="drone"}'] == 0
    assert s['uwac_contacts_total{class="unknown"}'] == 0 and 'uwac_contacts_total{class="ambient"}' not in s
    assert s['uwac_model_reloads_total{result="refused"}'] == 0
    buckets = [(k, v) for k, v in s.items() if k.startswith("uwac_hop_latency_seconds_bucket")]
    assert len(buckets) == len(M.LATENCY_BUCKETS) + 1 and buckets[-1][0].endswith('le="+Inf"}')
    counts = [v for _, v in buckets]
    assert counts == sorted(counts)  # cumulative
    assert s['uwac_hop_latency_seconds_bucket{le="0.001"}'] == 1
    assert s['uwac_hop_latency_seconds_bucket{le="0.005"}'] == 3
    assert s['uwac_hop_latency_seconds_bucket{le="0.5"}'] == 4
    assert s['uwac_hop_latency_seconds_bucket{le="5.0"}'] == 4
    assert s['uwac_hop_latency_seconds_bucket{le="+Inf"}'] == 5 == s["uwac_hop_latency_seconds_count"]
    assert s["uwac_hop_latency_seconds_sum"] == pytest.approx(7.3085)
    names = (M.HOPS, M.HOP_LATENCY, M.REALTIME_MARGIN, M.INPUT_DROPPED, M.INPUT_LOST, M.INPUT_MALFORMED,
             M.NONFINITE, M.GAPS, M.CONTACTS, M.OPEN_CONTACTS, M.MODEL_RELOADS, M.UP)
    for name in names:
        assert f"# TYPE {name} " in text and f"# HELP {name} " in text
    # every declared family and only those (no *_created series from prometheus_client), under those names
    families = {*names, M.HOPS_SKIPPED, M.SOURCE_EVENTS, M.HTTP_REFUSED, M.HTTP_TIMED_OUT}
    assert {line.split(" ")[2] for line in text.splitlines() if line.startswith("# TYPE ")} == families
    histogram = {M.HOP_LATENCY + suffix for suffix in ("_bucket", "_sum", "_count")}
    no_series_yet = {M.HOP_LATENCY, M.SOURCE_EVENTS}  # a histogram's samples are suffixed; no source event yet
    assert {k.split("{", 1)[0] for k in s} == (families - no_series_yet) | histogram


def test_registry_escapes_labels_and_refuses_misuse():
    r = CollectorRegistry()
    c = Counter("x_total", "help with \\ and\nnewline", ("class",), registry=r)
    c.labels('we"ird\\\n').inc(2)
    text = render(r)
    assert '# HELP x_total help with \\\\ and\\nnewline' in text
    assert parse(text)['x_total{class="we\\"ird\\\\\\n"}'] == 2
    with pytest.raises(ValueError, match="non-negative"):
        c.labels("a").inc(-1)
    with pytest.raises(ValueError, match="missing label values"):
        c.inc()
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        Gauge("x_total", "again", registry=r)
    with pytest.raises(ValueError, match="sorted order"):
        Histogram("h", "h", buckets=(1.0, 0.5), registry=r)


def test_counters_are_thread_safe():
    r = CollectorRegistry()
    c = Counter("n_total", "n", registry=r)
    h = Histogram("lat_seconds", "l", buckets=M.LATENCY_BUCKETS, registry=r)
    def work():
        for _ in range(2000):
            c.inc()
            h.observe(0.01)
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert r.get_sample_value("n_total") == 8000 and r.get_sample_value("lat_seconds_count") == 8000


# --- HTTP ---------------------------------------------------------------------------------------------------

def get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.headers.get("Content-Type"), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Content-Type"), err.read()


@pytest.fixture
def service():
    m = stream_metrics(("ambient", "warship"))
    m.hops.inc(5)
    state = {"healthy": True}
    clock = [100.0]
    health = HealthCheck(1.0, stale_hops=10, startup_s=30, clock=lambda: clock[0])

    def health_fn():
        ok, detail = health()
        return ok and state["healthy"], detail

    def contacts():
        if state.get("boom"):
            raise RuntimeError("tracker exploded")
        return {"open": [{"contact": "ch0-a", "class": "warship"}], "recent": []}

    svc = serve(m.registry, health=health_fn, contacts=contacts, port=0)
    try:
        yield svc, state, health, clock
    finally:
        svc.close()


def test_endpoints(service):
    svc, state, health, clock = service
    assert svc.host == "127.0.0.1" and svc.port > 0
    status, ctype, body = get(svc.url + "/metrics")
    assert status == 200 and ctype == "text/plain; version=0.0.4; charset=utf-8"
    assert parse(body.decode())["uwac_hops_total"] == 5
    status, ctype, body = get(svc.url + "/contacts")
    assert status == 200 and ctype == "application/json"
    assert json.loads(body)["open"][0]["class"] == "warship"
    status, _, body = get(svc.url + "/nope")
    assert status == 404 and "no such path" in json.loads(body)["error"]
    state["boom"] = True
    status, _, body = get(svc.url + "/contacts")
    assert status == 500 and "tracker exploded" in json.loads(body)["error"]
    assert get(svc.url + "/metrics")[0] == 200  # still serving


def test_healthz_ok_and_unhealthy(service):
    svc, state, health, clock = service
    status, _, body = get(svc.url + "/healthz")
    assert status == 200 and json.loads(body)["status"] == "ok"  # starting, within the grace period
    health.hop()
    clock[0] += 5.0
    status, _, body = get(svc.url + "/healthz")
    assert status == 200 and json.loads(body)["hops"] == 1
    clock[0] += 20.0  # no hop for 25 s > 10 hops × 1 s
    status, _, body = get(svc.url + "/healthz")
    assert status == 503 and json.loads(body)["status"] == "unhealthy" and "no hop" in json.loads(body)["reason"]
    health.hop()
    assert get(svc.url + "/healthz")[0] == 200
    health.fail("source died: connection refused")
    status, _, body = get(svc.url + "/healthz")
    assert status == 503 and json.loads(body)["reason"] == "source died: connection refused"
    health.ok()
    state["healthy"] = False
    assert get(svc.url + "/healthz")[0] == 503


def test_garbage_does_not_kill_the_server(service):
    svc = service[0]
    for junk in (b"\x00\xff\x13garbage\r\n\r\n", b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", b"GET\r\n\r\n", b""):
        with socket.create_connection((svc.host, svc.port), timeout=10) as s:
            s.sendall(junk)
            s.shutdown(socket.SHUT_WR)
            s.recv(65536)  # a 400 (HTTP/0.9-style bare body for a one-word request line) or nothing
    assert get(svc.url + "/healthz")[0] == 200


def test_loopback_by_default_and_warning_otherwise(caplog):
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10")
    r = CollectorRegistry()
    with caplog.at_level("WARNING"):
        svc = serve(r, health=lambda: (True, {}), contacts=list, host="0.0.0.0", port=0)
    try:
        assert "reachable from other hosts" in caplog.text
        assert get(f"http://127.0.0.1:{svc.port}/metrics")[0] == 200
    finally:
        svc.close()
