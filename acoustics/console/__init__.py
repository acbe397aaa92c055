"""The operator console (issue 16): a live page served by the daemon (``uwac stream --console``).

- ``feed``: what the page shows (probabilities, physics estimates, the model's own LOFAR and DEMON frames,
  contacts, health, verdicts), gathered on the scoring thread and pushed to every open page;
- ``routes``: the page, its Server-Sent Events, contact clips and verdicts on the daemon's HTTP server, with the
  token and same-origin rules;
- ``page.html``: the page itself, self-contained (nodes are air-gapped: no CDN, no external font).

Verdicts go to ``acoustics.labels`` (the durable store and the audio ring).
"""
