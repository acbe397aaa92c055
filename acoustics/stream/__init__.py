"""The streaming daemon (``uwac stream MODEL --source ...``) that runs for months on a sonar node.

Sources (``sources/``, raw PCM decoding in ``pcm.py``) yield :class:`~acoustics.stream.blocks.Block` s of
float32 audio with their stream position; the scorer (``scorer.py``) resamples to the model's rate, keeps a
ring buffer per channel and scores one window per hop with onnxruntime; the tracker (``tracker.py``) smooths
scores with hysteresis into contact start/update/end events; ``events.py`` writes them as fsync'd JSON lines
(and Raven selection tables); ``service.py`` serves /healthz, /metrics and /contacts on loopback, the
Prometheus series declared in ``telemetry.py`` (prometheus_client); ``daemon.py`` wires them together with
signals (SIGTERM drains, SIGHUP reloads the model). Needs numpy, onnxruntime, soundfile and prometheus_client
only: never torch.
"""
