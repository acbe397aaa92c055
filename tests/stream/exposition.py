"""Reading the daemon's ``/metrics`` text in tests: its samples by series, through prometheus_client's parser."""

from prometheus_client.parser import text_string_to_metric_families

from uwac.acoustics.stream.telemetry import StreamMetrics, render


def samples(text: str) -> dict[str, float]:
    """Sample values of an exposition text keyed by ``name{label="value",...}`` (labels sorted, values as
    parsed, unescaped), e.g. ``uwac_hops_total`` or ``uwac_model_reloads_total{result="ok"}``."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            out[s.name + (f"{{{labels}}}" if labels else "")] = s.value
    return out


def daemon_samples(metrics: StreamMetrics) -> dict[str, float]:
    """:func:`samples` of what a daemon's ``/metrics`` serves now (its registry, rendered as the service does)."""
    return samples(render(metrics.registry))
