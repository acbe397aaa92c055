"""Sonar analysis: what an analyst reads off a recording, as numbers and pictures (the ``analysis`` extra).

- ``lofar_demon``: the LOFAR and DEMON estimators (numpy/scipy);
- ``line_detect``: DEMON shaft/blade line detection (``demon_lines``);
- ``displays``: LOFARgram, DEMON display, class timeline, model and metrics comparisons (pyplot-free figures);
- ``plots``: PNG helpers (confusion matrix, training curves, accuracy by SNR, LOFAR/DEMON preview).
"""
