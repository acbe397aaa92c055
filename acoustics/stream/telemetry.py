"""The daemon's Prometheus series, on ``prometheus_client``, in one registry per daemon.

:func:`stream_metrics` declares every series the daemon sets, under the names below, in a fresh
:class:`~prometheus_client.CollectorRegistry`: never the process-wide default one, since the tests run several
daemons in one process and a node's ``/metrics`` must show only its own daemon's series. :func:`render` gives the
``/metrics`` body (text exposition format 0.0.4), served as :data:`CONTENT_TYPE`.

The exposed names are the ones dashboards have always read: counters are declared under their ``_total`` name
(prometheus_client strips the suffix and appends it again on output), and the ``*_created`` timestamps the
client adds to counters and histograms are left out of the body, so the series are the same as before the move
to prometheus_client. Values print as floats (``uwac_hops_total 4.0``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

# The body is text format 0.0.4 (legacy names only), and this is the type prometheus_client itself answers a
# scraper that sends no Accept header with. CONTENT_TYPE_LATEST says version=1.0.0 since prometheus_client 0.22.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

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

# Upper bounds [s] of the hop-latency buckets (+Inf is added); unchanged by the move to prometheus_client, so
# dashboards' bucket queries keep working.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class _WithoutCreated(Collector):
    """``registry``'s families without the ``<name>_created`` samples prometheus_client adds to counters and
    histograms (the daemon never exposed them; leaving them out keeps the exposed series what they were)."""

    def __init__(self, registry: CollectorRegistry):
        self._registry = registry

    def collect(self) -> Iterable[Metric]:
        """Each family as the registry collects it (a fresh object per scrape), its ``_created`` sample dropped."""
        for family in self._registry.collect():
            created = family.name + "_created"
            family.samples = [s for s in family.samples if s.name != created]
            yield family


def render(registry: CollectorRegistry) -> str:
    """The ``/metrics`` body for ``registry``: every family in registration order, text format 0.0.4."""
    return generate_latest(_WithoutCreated(registry)).decode("utf-8")


@dataclass
class StreamMetrics:
    """Handles to every series the daemon sets (see the constants for their names) and their registry."""

    registry: CollectorRegistry
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


def stream_metrics(classes: Sequence[str] = (), registry: CollectorRegistry | None = None) -> StreamMetrics:
    """Declare the daemon's metrics in ``registry`` (a new one by default, never the global default registry).

    ``classes``: contact classes to expose at zero from the start (``unknown`` is always added), so a
    dashboard sees every ``uwac_contacts_total{class=...}`` series before the first contact.
    """
    r = CollectorRegistry() if registry is None else registry

    def counter(name: str, help: str, labels: Sequence[str] = ()) -> Counter:
        return Counter(name, help, labels, registry=r)

    def gauge(name: str, help: str) -> Gauge:
        return Gauge(name, help, registry=r)

    m = StreamMetrics(
        registry=r,
        hops=counter(HOPS, "Hops scored (one window per channel per hop)."),
        hop_latency=Histogram(HOP_LATENCY, "Processing time of one hop (s), from audio in to events written.",
                              buckets=LATENCY_BUCKETS, registry=r),
        realtime_margin=gauge(REALTIME_MARGIN, "How many times the input's rate the scoring loop sustains (>1: "
                              "keeping up; below 1 input is being dropped)."),
        input_dropped=counter(INPUT_DROPPED, "Input samples dropped because the input queue was full."),
        input_lost=counter(INPUT_LOST, "Input packets lost in transit (sequence gaps)."),
        input_malformed=counter(INPUT_MALFORMED, "Input packets or blocks rejected as malformed."),
        nonfinite=counter(NONFINITE, "Non-finite input samples replaced by zero."),
        gaps=counter(GAPS, "Gaps (missing audio) reported."),
        contacts=counter(CONTACTS, "Contacts started, by class at start.", ("class",)),
        open_contacts=gauge(OPEN_CONTACTS, "Contacts open now."),
        model_reloads=counter(MODEL_RELOADS, "Model reloads (SIGHUP) by result.", ("result",)),
        up=gauge(UP, "1 while the daemon is running and scoring, else 0."),
        hops_skipped=counter(HOPS_SKIPPED, "Channel-hops not scored: the model gave non-finite probabilities."),
        source_events=counter(SOURCE_EVENTS, "What the source counted, by event (reconnects, stalls, refused "
                              "connections or peers, late, duplicate or reset packets, unreadable or quarantined "
                              "files, partial frames, ...).", ("event",)),
        http_refused=counter(HTTP_REFUSED, "HTTP connections closed unanswered: too many open."),
        http_timed_out=counter(HTTP_TIMED_OUT, "HTTP connections cut off: request not received in time."),
    )
    for c in (*classes, "unknown"):
        if c != "ambient":
            m.contacts.labels(c)
    for result in RELOAD_RESULTS:
        m.model_reloads.labels(result)
    return m
