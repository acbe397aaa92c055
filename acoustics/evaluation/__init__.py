"""Evaluation of an exported model: ``uwac evaluate``, its reports and ``uwac card`` (the ``analysis`` extra).

- ``evaluate``: the entry point: score a manifest split, write ``metrics.json``, the CSVs, reports and PNGs;
- ``scoring``: the manifest's rows scored window by window, the figures of a set of windows, baseline, events;
- ``protocol``: is the split held out (vessel- or recording-disjoint), independent or leaky;
- ``metrics``: accuracy, macro-F1, confusion, per-recording aggregation, SNR bands, reliability;
- ``breakdowns``: by range band, sea state and fine type; calibration; ROC/PR per class;
- ``event_scores``: segments from windows matched against strong labels (event-level detection);
- ``openset``: fine types held out of training: do they come out unknown or ambient;
- ``real_world`` and ``physics_floor``: the real-clip check against its goals and the DEMON-only floor;
- ``report`` (markdown), ``report_html``, ``figures``: what people read; ``model_card``: ``uwac card``.

Modules are imported by name (``uwac.acoustics.evaluation.evaluate``); this package imports nothing itself, so
``training`` can take ``metrics`` without loading the reports.
"""
