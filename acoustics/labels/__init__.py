"""Analysts' labels: the loop from a node's calls back to training data (issue 16).

- ``store``: every verdict on a contact (confirmed, rejected, relabelled), durable in SQLite beside the daemon's
  events, with the audio clip it was judged on;
- ``clip_ring``: the bounded on-disk ring of recent audio per channel that clips are cut from;
- ``export``: the store as a manifest (``source=analyst``, REC-splittable) and a Raven selection table, for
  ``uwac train --init-from``.

Raven selection tables *in* are an adapter like the datasets' (``acoustics.datasets.raven``).
"""
