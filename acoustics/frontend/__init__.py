"""Numpy reference of the physics front-end: what a sonar analyst reads, as the network's inputs.

Three branches, each gain-invariant and built so that plain ONNX ops (strided Conv, MatMul, Pad/Slice/
Reshape, pooling, Log) can compute the same numbers inside the exported graph (``training/frontend``):

- :mod:`~acoustics.frontend.lofar_gram`: low-pass and decimate, long DFT frames (≤ 1/3 Hz bins over
  10 Hz–1 kHz), each bin in dB over its two-pass split-window (TPSW) background: tonals by their excess;
- :mod:`~acoustics.frontend.demon_gram`: per carrier band, a square-law envelope at 250 Hz and its DFT frames
  (≤ 1/3 Hz bins, ~0.5–100 Hz), in dB over the TPSW background: shaft and blade rates of cavitation;
- :func:`acoustics.features.log_mel_band_normalised`: the broadband log-mel with each band's mean over the
  window removed, so a recorder's or a sea's colour weighs less than what changes in time.

:func:`physics_features` computes every branch the config enables.
"""

from __future__ import annotations

import numpy as np

from uwac.acoustics.frontend.config import BRANCHES, DemonConfig, FrontendConfig, LofarConfig

# The branches live in their modules (``lofar_gram``, ``demon_gram``: their filter design needs scipy, which a node
# does not install, so importing this package must not import them).
__all__ = ["BRANCHES", "DemonConfig", "FrontendConfig", "LofarConfig", "physics_features"]


def physics_features(audio: np.ndarray, cfg: FrontendConfig) -> dict[str, np.ndarray]:
    """Every enabled branch of ``audio [..., samples]`` (full scale, ``cfg.sample_rate``).

    Keys: ``mel`` ``[..., n_mels, frames]`` (normalised as ``cfg.mel_norm`` says), ``lofar``
    ``[..., frames, bins]`` and ``demon`` ``[..., bands, frames, bins]`` (dB over background, clipped, / 10).
    """
    from uwac.acoustics.features import features
    from uwac.acoustics.frontend.demon_gram import demon_gram
    from uwac.acoustics.frontend.lofar_gram import lofar_gram

    x = np.asarray(audio, dtype=np.float64)
    out = {}
    if "mel" in cfg.branches:
        out["mel"] = features(x, cfg)
    if "lofar" in cfg.branches:
        out["lofar"] = lofar_gram(x, cfg)
    if "demon" in cfg.branches:
        out["demon"] = demon_gram(x, cfg)
    return out
