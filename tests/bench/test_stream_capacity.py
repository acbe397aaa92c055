"""``uwac bench stream``: the capacity table and the latency figure are derived consistently and written."""

import json

from uwac.acoustics.stream.daemon import DEFAULT_MODEL
from uwac.bench.stream_capacity import bench_stream, render_markdown


def test_bench_stream_reports_capacity_and_latency(tmp_path):
    result = bench_stream(model=DEFAULT_MODEL, out=tmp_path, channels=(1, 4), seconds=4.0, progress=False,
                          console_seconds=160.0)
    rows = result["capacity"]
    assert [r["channels"] for r in rows] == [1, 4]
    for r in rows:
        assert r["audio_s"] == 4 and r["busy_s"] > 0
        assert abs(r["x_real_time"] - r["audio_s"] / r["busy_s"]) < 0.01 * r["x_real_time"] + 0.01
        assert r["keeps_up"] == (r["busy_s"] < r["audio_s"])
    lat = result["latency"]
    assert lat["settled_class"] == "warship" and lat["class"] in ("warship", "unknown")  # never another class
    assert lat["false_contacts_before_onset"] == 0
    assert 0 < lat["detection_latency_s"] < 30 and lat["decision_s"] > lat["reported_start_s"]
    assert json.loads((tmp_path / "bench_stream.json").read_text())["goal_channels"] == 200
    assert (tmp_path / "bench_stream.png").stat().st_size > 0
    assert "detection latency" in render_markdown(result)
    console = result["console"]
    assert [r["pages"] for r in console["runs"]] == [0, 5, 0, 5] and all(r["hops"] >= 60 for r in console["runs"])
    assert all(r["page_bytes"] > 10_000 for r in console["runs"] if r["pages"])  # the pages did receive the stream
    assert console["p99_ratio"] == round(console["open"]["p99_ms"] / console["none"]["p99_ms"], 3)
    assert "console load: hop latency with 5 console pages open" in render_markdown(result)
