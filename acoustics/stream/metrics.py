"""A small thread-safe Prometheus registry (text exposition format 0.0.4) without prometheus_client.

Counters, gauges and fixed-bucket histograms, optionally labelled (``contacts.labels("warship").inc()``);
``Registry.render()`` gives the ``/metrics`` body. :func:`stream_metrics` declares every series the daemon sets,
under the names below.
"""

from __future__ import annotations

import bisect
import math
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

HOPS = "uwac_hops_total"
HOP_LATENCY = "uwac_hop_latency_seconds"
REALTIME_MARGIN = "uwac_realtime_margin"
INPUT_DROPPED = "uwac_input_dropped_samples_total"
INPUT_LOST = "uwac_input_lost_packets_total"
INPUT_MALFORMED = "uwac_input_malformed_total"
NONFINITE = "uwac_nonfinite_samples_total"
GAPS = "uwac_gaps_total"
CONTACTS = "uwac_contacts_total"
OPEN_CONTACTS = "uwac_open_contacts"
MODEL_RELOADS = "uwac_model_reloads_total"
UP = "uwac_up"
HOPS_SKIPPED = "uwac_hops_skipped_total"
SOURCE_EVENTS = "uwac_source_events_total"
HTTP_REFUSED = "uwac_http_refused_total"
HTTP_TIMED_OUT = "uwac_http_timed_out_total"
RELOAD_RESULTS = ("ok", "refused")

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def format_value(v: float) -> str:
    """A sample value as Prometheus text: ``+Inf``, ``-Inf``, ``NaN``, integers without a fraction."""
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v.is_integer() and abs(v) < 2**53:
        return str(int(v))
    return repr(v)


def _escape_label(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels_text(names: Sequence[str], values: Sequence[str], extra: tuple[str, str] | None = None) -> str:
    pairs = [f'{n}="{_escape_label(v)}"' for n, v in zip(names, values, strict=True)]
    if extra is not None:
        pairs.append(f'{extra[0]}="{extra[1]}"')
    return "{" + ",".join(pairs) + "}" if pairs else ""


class _Metric:
    """Shared parts of a metric family: name, help, label names, children per label values, a lock."""

    kind = ""

    def __init__(self, name: str, help: str, labelnames: Sequence[str] = ()):
        if not _NAME.match(name):
            raise ValueError(f"invalid metric name {name!r}")
        for label in labelnames:
            if not _LABEL.match(label) or label.startswith("__") or label == "le":
                raise ValueError(f"invalid label name {label!r} for {name}")
        self.name, self.help, self.labelnames = name, help, tuple(labelnames)
        self._lock = threading.Lock()
        self._children: dict[tuple[str, ...], object] = {}
        if not self.labelnames:
            self._children[()] = self._new_child()

    def _new_child(self):
        raise NotImplementedError

    def labels(self, *values: str):
        """The child series for these label values (created at zero on first use)."""
        if len(values) != len(self.labelnames):
            raise ValueError(f"{self.name} takes labels {list(self.labelnames)}, got {list(values)}")
        key = tuple(str(v) for v in values)
        with self._lock:
            child = self._children.get(key)
            if child is None:
                child = self._children[key] = self._new_child()
            return child

    def _only(self):
        if self.labelnames:
            raise ValueError(f"{self.name} has labels {list(self.labelnames)}; use .labels(...) first")
        return self._children[()]

    def render(self) -> list[str]:
        """Exposition lines for this family (# HELP, # TYPE, samples)."""
        help_text = self.help.replace("\\", "\\\\").replace("\n", "\\n")
        lines = [f"# HELP {self.name} {help_text}", f"# TYPE {self.name} {self.kind}"]
        with self._lock:
            children = sorted(self._children.items())
        for values, child in children:
            lines.extend(child._lines(self.name, self.labelnames, values))
        return lines


class _Value:
    """A single float value under a lock (counter or gauge child)."""

    def __init__(self, monotonic: bool):
        self._v = 0.0
        self._monotonic = monotonic
        self._lock = threading.Lock()

    def inc(self, amount: float = 1.0) -> None:
        """Add ``amount`` (counters refuse a negative one)."""
        if self._monotonic and amount < 0:
            raise ValueError(f"a counter only goes up, got inc({amount})")
        with self._lock:
            self._v += amount

    def dec(self, amount: float = 1.0) -> None:
        """Subtract ``amount`` (gauges only)."""
        if self._monotonic:
            raise ValueError("a counter cannot go down")
        with self._lock:
            self._v -= amount

    def set(self, value: float) -> None:
        """Set the value (gauges only)."""
        if self._monotonic:
            raise ValueError("a counter cannot be set; use inc()")
        with self._lock:
            self._v = float(value)

    @property
    def value(self) -> float:
        """The current value."""
        return self._v

    def _lines(self, name: str, labelnames, values) -> list[str]:
        return [f"{name}{_labels_text(labelnames, values)} {format_value(self._v)}"]


class Counter(_Metric):
    """A monotonically increasing count (name should end in ``_total``)."""

    kind = "counter"

    def _new_child(self):
        return _Value(monotonic=True)

    def inc(self, amount: float = 1.0) -> None:
        """Add ``amount`` (≥ 0) to the unlabelled series."""
        self._only().inc(amount)

    @property
    def value(self) -> float:
        """The unlabelled series' value."""
        return self._only().value


class Gauge(_Metric):
    """A value that goes up and down."""

    kind = "gauge"

    def _new_child(self):
        return _Value(monotonic=False)

    def set(self, value: float) -> None:
        """Set the unlabelled series."""
        self._only().set(value)

    def inc(self, amount: float = 1.0) -> None:
        """Add to the unlabelled series."""
        self._only().inc(amount)

    def dec(self, amount: float = 1.0) -> None:
        """Subtract from the unlabelled series."""
        self._only().dec(amount)

    @property
    def value(self) -> float:
        """The unlabelled series' value."""
        return self._only().value


class _HistogramChild:
    """Bucket counts, sum and count of one histogram series; ``observe`` allocates nothing."""

    def __init__(self, bounds: tuple[float, ...]):
        self._bounds = bounds
        self._counts = [0] * (len(bounds) + 1)  # last: above every bound (+Inf only)
        self._sum = 0.0
        self._lock = threading.Lock()

    def observe(self, value: float) -> None:
        """Record one observation (e.g. seconds)."""
        i = bisect.bisect_left(self._bounds, value)
        with self._lock:
            self._counts[i] += 1
            self._sum += value

    @property
    def count(self) -> int:
        """Observations so far."""
        return sum(self._counts)

    @property
    def sum(self) -> float:
        """Sum of the observations."""
        return self._sum

    def _lines(self, name: str, labelnames, values) -> list[str]:
        with self._lock:
            counts, total = list(self._counts), self._sum
        lines, cumulative = [], 0
        for bound, n in zip((*self._bounds, math.inf), counts, strict=True):
            cumulative += n
            le = ("le", format_value(bound) if math.isinf(bound) else repr(float(bound)))
            lines.append(f"{name}_bucket{_labels_text(labelnames, values, le)} {cumulative}")
        lines.append(f"{name}_sum{_labels_text(labelnames, values)} {format_value(total)}")
        lines.append(f"{name}_count{_labels_text(labelnames, values)} {cumulative}")
        return lines


class Histogram(_Metric):
    """Observations in fixed cumulative buckets (upper bounds ``buckets``, plus ``+Inf``), with _sum and _count."""

    kind = "histogram"

    def __init__(self, name: str, help: str, labelnames: Sequence[str] = (),
                 buckets: Sequence[float] = LATENCY_BUCKETS):
        bounds = tuple(float(b) for b in buckets if not math.isinf(b))
        if not bounds or list(bounds) != sorted(set(bounds)):
            raise ValueError(f"{name}: buckets must be strictly increasing, got {list(buckets)}")
        self.bounds = bounds
        super().__init__(name, help, labelnames)

    def _new_child(self):
        return _HistogramChild(self.bounds)

    def observe(self, value: float) -> None:
        """Record one observation in the unlabelled series."""
        self._only().observe(value)

    @property
    def count(self) -> int:
        """Observations in the unlabelled series."""
        return self._only().count

    @property
    def sum(self) -> float:
        """Sum of the unlabelled series."""
        return self._only().sum


class Registry:
    """Metric families by name; ``render()`` is the Prometheus text body. Thread-safe."""

    def __init__(self):
        self._metrics: dict[str, _Metric] = {}
        self._lock = threading.Lock()

    def _add(self, metric: _Metric) -> _Metric:
        with self._lock:
            if metric.name in self._metrics:
                raise ValueError(f"metric {metric.name} is already registered")
            self._metrics[metric.name] = metric
        return metric

    def counter(self, name: str, help: str, labelnames: Sequence[str] = ()) -> Counter:
        """Register and return a counter."""
        return self._add(Counter(name, help, labelnames))

    def gauge(self, name: str, help: str, labelnames: Sequence[str] = ()) -> Gauge:
        """Register and return a gauge."""
        return self._add(Gauge(name, help, labelnames))

    def histogram(self, name: str, help: str, labelnames: Sequence[str] = (),
                  buckets: Sequence[float] = LATENCY_BUCKETS) -> Histogram:
        """Register and return a histogram with fixed ``buckets`` (upper bounds)."""
        return self._add(Histogram(name, help, labelnames, buckets))

    def get(self, name: str) -> _Metric:
        """A registered family by name (KeyError when absent)."""
        return self._metrics[name]

    def render(self) -> str:
        """Every family in registration order, text exposition format 0.0.4, ending in a newline."""
        with self._lock:
            metrics = list(self._metrics.values())
        lines: list[str] = []
        for m in metrics:
            lines.extend(m.render())
        return "\n".join(lines) + "\n"


@dataclass
class StreamMetrics:
    """Handles to every series the daemon sets (see the constants for their names)."""

    registry: Registry
    hops: Counter
    hop_latency: Histogram
    realtime_margin: Gauge
    input_dropped: Counter
    input_lost: Counter
    input_malformed: Counter
    nonfinite: Counter
    gaps: Counter
    contacts: Counter
    open_contacts: Gauge
    model_reloads: Counter
    up: Gauge
    hops_skipped: Counter
    source_events: Counter
    http_refused: Counter
    http_timed_out: Counter


def stream_metrics(classes: Sequence[str] = (), registry: Registry | None = None) -> StreamMetrics:
    """Declare the daemon's metrics in ``registry`` (a new one by default).

    ``classes``: contact classes to expose at zero from the start (``unknown`` is always added), so a
    dashboard sees every ``uwac_contacts_total{class=...}`` series before the first contact.
    """
    r = registry or Registry()
    m = StreamMetrics(
        registry=r,
        hops=r.counter(HOPS, "Hops scored (one window per channel per hop)."),
        hop_latency=r.histogram(HOP_LATENCY, "Processing time of one hop (s), from audio in to events written."),
        realtime_margin=r.gauge(REALTIME_MARGIN, "How many times the input's rate the scoring loop sustains (>1: "
                                "keeping up; below 1 input is being dropped)."),
        input_dropped=r.counter(INPUT_DROPPED, "Input samples dropped because the input queue was full."),
        input_lost=r.counter(INPUT_LOST, "Input packets lost in transit (sequence gaps)."),
        input_malformed=r.counter(INPUT_MALFORMED, "Input packets or blocks rejected as malformed."),
        nonfinite=r.counter(NONFINITE, "Non-finite input samples replaced by zero."),
        gaps=r.counter(GAPS, "Gaps (missing audio) reported."),
        contacts=r.counter(CONTACTS, "Contacts started, by class at start.", ("class",)),
        open_contacts=r.gauge(OPEN_CONTACTS, "Contacts open now."),
        model_reloads=r.counter(MODEL_RELOADS, "Model reloads (SIGHUP) by result.", ("result",)),
        up=r.gauge(UP, "1 while the daemon is running and scoring, else 0."),
        hops_skipped=r.counter(HOPS_SKIPPED, "Channel-hops not scored: the model gave non-finite probabilities."),
        source_events=r.counter(SOURCE_EVENTS, "What the source counted, by event (reconnects, stalls, refused "
                                "connections or peers, late, duplicate or reset packets, unreadable or quarantined "
                                "files, partial frames, ...).", ("event",)),
        http_refused=r.counter(HTTP_REFUSED, "HTTP connections closed unanswered: too many open."),
        http_timed_out=r.counter(HTTP_TIMED_OUT, "HTTP connections cut off: request not received in time."),
    )
    for c in (*classes, "unknown"):
        if c != "ambient":
            m.contacts.labels(c)
    for result in RELOAD_RESULTS:
        m.model_reloads.labels(result)
    return m
