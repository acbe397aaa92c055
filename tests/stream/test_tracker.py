"""Contact tracking: smoothing, hysteresis, time attribution, unknown, gaps and shutdown."""

import tracemalloc

import numpy as np
import pytest

from uwac.acoustics.stream.tracker import Tracker, TrackerConfig, iso_utc

CLASSES = ("ambient", "merchant", "warship", "drone")
WINDOW, HOP = 3.0, 1.0


def probs(warship: float = 0.0, merchant: float = 0.0, drone: float = 0.0) -> np.ndarray:
    """A probability vector with the rest on ambient."""
    return np.array([1.0 - warship - merchant - drone, merchant, warship, drone], dtype=np.float32)


def cpa_pass(t0: float, t1: float, n: int, *, peak: float = 0.9, noise: float = 0.0, seed: int = 0):
    """Hops of a warship audible over [t0, t1): its probability follows the window's overlap with that span."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        a, b = i * HOP, i * HOP + WINDOW
        frac = max(0.0, min(b, t1) - max(a, t0)) / WINDOW
        w = float(np.clip(0.03 + peak * frac + rng.normal(0.0, noise), 0.0, 0.97)) if noise else 0.03 + peak * frac
        yield probs(warship=w, merchant=0.01, drone=0.01), a, b


def run(tracker, hops, channel=0):
    events = []
    for p, a, b in hops:
        events += tracker.update(channel, p, a, b)
    return events


def of_type(events, kind):
    return [e for e in events if e["type"] == kind]


def windows(values):
    """(probs, start, end) for a list of probability vectors, one hop apart."""
    return [(p, i * HOP, i * HOP + WINDOW) for i, p in enumerate(values)]


@pytest.mark.parametrize("noise", [0.0, 0.08])
def test_cpa_pass_gives_one_warship_contact_dated_within_two_hops(noise):
    tr = Tracker(CLASSES, hop_s=HOP, unknown_threshold=0.5, utc_of=lambda s: 1_700_000_000.0 + s)
    events = run(tr, cpa_pass(60.0, 120.0, 200, noise=noise, seed=3))
    events += tr.close_all()
    starts, ends = of_type(events, "contact_start"), of_type(events, "contact_end")
    assert len(starts) == 1 and len(ends) == 1, [(e["type"], e["start_s"]) for e in events]
    end = ends[0]
    assert end["class"] == "warship" and starts[0]["class"] == "warship"
    assert abs(end["start_s"] - 60.0) <= 2.0 and abs(end["end_s"] - 120.0) <= 2.0, (end["start_s"], end["end_s"])
    assert end["reason"] == "ambient" and end["contact"] == starts[0]["contact"]
    assert end["confidence"] > 0.5 and set(end["scores"]) == set(CLASSES)
    assert end["fine_class"] is None and end["channel"] == 0
    # UTC comes from the stream position through utc_of, not the wall clock
    assert end["start_utc"] == iso_utc(1_700_000_000.0 + end["start_s"])
    assert end["utc"] == iso_utc(1_700_000_000.0 + end["time_s"])
    # events come in order: start, periodic updates, end; times never go backwards
    assert events[0]["type"] == "contact_start" and events[-1]["type"] == "contact_end"
    times = [e["time_s"] for e in events]
    assert times == sorted(times)
    updates = of_type(events, "contact_update")
    assert 4 <= len(updates) <= 7 and {u["reason"] for u in updates} == {"periodic"}


def test_ambient_only_gives_no_events():
    tr = Tracker(CLASSES, hop_s=HOP, unknown_threshold=0.5)
    rng = np.random.default_rng(1)
    hops = windows([probs(warship=float(w), merchant=0.05) for w in rng.uniform(0.0, 0.3, 500)])
    assert run(tr, hops) == []
    assert tr.close_all() == [] and tr.snapshot() == {"open": [], "recent": []}


def test_short_blips_start_nothing():
    tr = Tracker(CLASSES, hop_s=HOP, config=TrackerConfig(smoothing_s=0.0, on_hops=3))
    values = ([probs()] * 10 + [probs(warship=0.9)] * 2) * 10 + [probs()] * 10
    assert run(tr, windows(values)) == []
    tr = Tracker(CLASSES, hop_s=HOP)  # defaults: smoothing absorbs a 2-hop blip
    values = ([probs()] * 10 + [probs(warship=0.9)] * 2) * 10 + [probs()] * 10
    assert run(tr, windows(values)) == []


@pytest.mark.parametrize("smoothing_s", [0.0, 2.0])
def test_flicker_around_the_thresholds_gives_one_contact(smoothing_s):
    cfg = TrackerConfig(smoothing_s=smoothing_s, on=0.6, off=0.4, on_hops=3, off_hops=4)
    tr = Tracker(CLASSES, hop_s=HOP, config=cfg)
    # on, then flicker between "above on" and "between off and on", with dips below off shorter than off_hops
    pattern = [0.8, 0.5, 0.7, 0.45, 0.2, 0.2, 0.75, 0.55]
    values = [probs()] * 10 + [probs(warship=0.8)] * 3 + [probs(warship=w) for w in pattern * 8] + [probs()] * 20
    events = run(tr, windows(values))
    assert len(of_type(events, "contact_start")) == 1 and len(of_type(events, "contact_end")) == 1


def test_unknown_when_the_leading_class_is_under_the_model_threshold():
    tr = Tracker(CLASSES, hop_s=HOP, unknown_threshold=0.7)
    values = [probs()] * 10 + [probs(warship=0.6, merchant=0.3)] * 30 + [probs()] * 20
    events = run(tr, windows(values), channel=2)
    start, end = of_type(events, "contact_start")[0], of_type(events, "contact_end")[0]
    assert start["class"] == end["class"] == "unknown"
    assert end["fine_class"] is None and end["channel"] == 2
    assert end["confidence"] == pytest.approx(0.6, abs=0.02)  # the leading vessel class, under the threshold


def test_vessel_split_over_classes_is_an_unknown_contact():
    """No class reaches ``on`` but nearly all the mass is off ambient: a vessel the model cannot place."""
    tr = Tracker(CLASSES, hop_s=HOP, unknown_threshold=0.367)
    values = [probs()] * 10 + [probs(warship=0.32, merchant=0.32, drone=0.31)] * 30 + [probs()] * 20
    ends = of_type(run(tr, windows(values)), "contact_end")
    assert len(ends) == 1 and ends[0]["class"] == "unknown"
    # the same split with a third of the mass on ambient is an unsure model on noise, not a contact
    tr = Tracker(CLASSES, hop_s=HOP, unknown_threshold=0.367)
    values = [probs(warship=0.25, merchant=0.25, drone=0.2)] * 60
    assert run(tr, windows(values)) == []


def test_fine_class_reported_when_the_caller_knows_it():
    tr = Tracker(CLASSES, hop_s=HOP, unknown_threshold=0.5)
    events = []
    for p, a, b in windows([probs(warship=0.9)] * 20 + [probs()] * 20):
        events += tr.update(0, p, a, b, fine_class="patrol" if p[2] > 0.5 else None)
    assert of_type(events, "contact_end")[0]["fine_class"] == "patrol"


def test_class_change_emits_an_update():
    tr = Tracker(CLASSES, hop_s=HOP, unknown_threshold=0.5, config=TrackerConfig(update_every_s=1000.0))
    values = [probs()] * 5 + [probs(merchant=0.9)] * 12 + [probs(warship=0.95)] * 40 + [probs()] * 20
    events = run(tr, windows(values))
    assert events[0]["type"] == "contact_start" and events[0]["class"] == "merchant"
    assert events[-1]["type"] == "contact_end" and events[-1]["class"] == "warship"
    updates = events[1:-1]  # merchant → (unknown while the mean is split) → warship
    assert updates and all(u["type"] == "contact_update" and u["reason"] == "class_change" for u in updates)
    assert updates[-1]["class"] == "warship"
    assert len({e["contact"] for e in events}) == 1


def test_gap_closes_the_contact_at_the_gap_start_and_restarts_smoothing():
    tr = Tracker(CLASSES, hop_s=HOP, unknown_threshold=0.5)
    events = run(tr, windows([probs()] * 5 + [probs(warship=0.9)] * 20))
    assert len(of_type(events, "contact_start")) == 1
    last_end = 24 * HOP + WINDOW
    gap_events = tr.gap(0, last_end, last_end + 30.0)
    assert [e["type"] for e in gap_events] == ["contact_end", "gap"]
    end, gap = gap_events
    assert end["reason"] == "gap" and end["end_s"] == pytest.approx(last_end)
    assert gap["start_s"] == pytest.approx(last_end) and gap["duration_s"] == pytest.approx(30.0)
    assert tr.open_contacts == 0
    # after the gap the vessel is still there: a new contact (new id), smoothing starts afresh
    t0 = last_end + 30.0
    after = run(tr, [(probs(warship=0.9), t0 + i, t0 + i + WINDOW) for i in range(10)])
    starts = of_type(after, "contact_start")
    assert len(starts) == 1 and starts[0]["contact"] != end["contact"]
    assert starts[0]["start_s"] >= t0


def test_gap_on_every_channel_and_close_all_end_open_contacts():
    tr = Tracker(CLASSES, hop_s=HOP, unknown_threshold=0.5, channels=(0, 1))
    for i in range(15):
        tr.update(0, probs(warship=0.9), i, i + WINDOW)
        tr.update(1, probs(drone=0.9), i, i + WINDOW)
    assert tr.open_contacts == 2
    assert {c["class"] for c in tr.snapshot()["open"]} == {"warship", "drone"}
    ends = tr.close_all()
    assert len(ends) == 2 and {e["reason"] for e in ends} == {"shutdown"}
    assert all(e["end_s"] == pytest.approx(14 + WINDOW) for e in ends)
    assert tr.open_contacts == 0 and len(tr.snapshot()["recent"]) == 2
    assert tr.close_all() == []
    gap = tr.gap(None, 20.0, 25.0)
    assert [e["type"] for e in gap] == ["gap"] and gap[0]["channel"] is None


def test_steady_state_hops_allocate_no_arrays():
    tr = Tracker(CLASSES, hop_s=HOP, unknown_threshold=0.5)
    smoothed, acc = tr.smoothed(0), tr._channels[0].acc
    p = probs(warship=0.9)
    run(tr, windows([p] * 50))  # a contact is open: the steady state of the hot loop
    assert tr.open_contacts == 1
    assert tr.smoothed(0) is smoothed and tr._channels[0].acc is acc
    tr.config = TrackerConfig(update_every_s=1e9)  # no periodic updates: nothing to emit
    warm = [(p, 50.0 + i, 53.0 + i) for i in range(200)]
    steady = [(p, 250.0 + i, 253.0 + i) for i in range(2000)]
    tracemalloc.start()
    try:
        run(tr, warm)
        before = tracemalloc.get_traced_memory()[0]
        events = run(tr, steady)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert events == [] and grown < 4096, grown
    assert tr.smoothed(0) is smoothed and tr._channels[0].acc is acc


def test_bad_input_is_refused_or_counted():
    tr = Tracker(CLASSES, hop_s=HOP)
    with pytest.raises(ValueError, match="shape"):
        tr.update(0, np.zeros(3, np.float32), 0.0, 3.0)
    tr.update(0, probs(), 0.0, 3.0)
    with pytest.raises(ValueError, match="stream time must increase"):
        tr.update(0, probs(), 0.0, 3.0)
    assert tr.update(0, np.array([np.nan, 0, 0, 1], np.float32), 1.0, 4.0) == []
    assert tr.skipped_hops == 1
    with pytest.raises(ValueError, match="ambient"):
        Tracker(("merchant", "warship"), hop_s=HOP)
    with pytest.raises(ValueError, match="hysteresis"):
        TrackerConfig(on=0.4, off=0.6)
