"""What a perfect ear would hear in a window: honest class labels and physics targets from a render's JSON.

Every render writes its drawn parameters beside the audio (``audio/<id>.json``): the vessel's shaft rates,
blade count, shafts, engine, cavitation, tonal lines, and per contact the spans where its 1-s frame SNR is at
or above the threshold (the strong labels, the same as ``events.csv``). From them:

- :func:`window_label`: a vessel window keeps its class only where the contact is audible (its spans cover at
  least :data:`AUDIBLE_FRACTION` of the window); elsewhere it is ambient or left out of the class loss;
- :func:`physics_vector`: the auxiliary targets (:data:`HEADS`), NaN where a target does not apply (ambient,
  real recordings, a head that means nothing for this vessel, or a contact not audible in the window).

Numpy only: evaluation on a node uses the same rules.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

import numpy as np

from uwac.acoustics.taxonomy import FINE_TYPES

AUDIBLE_FRACTION = 0.5  # a window hears its contact when the strong labels cover at least half of it (design note)
SHAFT_BIN_EDGES_HZ = tuple(float(f) for f in np.geomspace(0.5, 64.0, 15))  # 14 log bins: 30–3840 rpm (physics.md §4)
BLADE_COUNTS = (3, 4, 5, 6, 7)  # blade counts a vessel of physics.md §4 has (aerial rotors excluded)
SHAFT_COUNTS = (1, 2)
FINE_LABELS = tuple(f for fines in FINE_TYPES.values() for f in fines)
# name -> (kind, classes): "binary" heads are one logit; "class" heads a softmax over that many classes.
HEADS: dict[str, tuple[str, int]] = {
    "audible": ("binary", 1),                                   # the contact is audible in this window
    "shaft_rate": ("class", len(SHAFT_BIN_EDGES_HZ) - 1),       # first shaft's rate, log bin
    "blades": ("class", len(BLADE_COUNTS)),
    "shafts": ("class", len(SHAFT_COUNTS)),                     # warships always have two (0.2–2 % split)
    "firing": ("binary", 1),                                    # engine firing-rate lines present
    "cavitating": ("binary", 1),                                # above cavitation inception: DEMON lines
    "pwm": ("binary", 1),                                       # BLDC PWM tonal groups (UUVs)
    "fine": ("class", len(FINE_LABELS)),                        # fine type (sea for ambient)
}
HEAD_NAMES = tuple(HEADS)


def shaft_bin(shaft_hz: float) -> int | None:
    """Index of the log bin of ``shaft_hz`` [Hz] in :data:`SHAFT_BIN_EDGES_HZ`, None outside them."""
    i = int(np.searchsorted(SHAFT_BIN_EDGES_HZ, shaft_hz, side="right")) - 1
    return i if 0 <= i < len(SHAFT_BIN_EDGES_HZ) - 1 else None


def shaft_bin_centres_hz() -> np.ndarray:
    """Geometric centre [Hz] of every shaft-rate bin (the estimate an analyst reads)."""
    edges = np.asarray(SHAFT_BIN_EDGES_HZ)
    return np.sqrt(edges[:-1] * edges[1:])


@lru_cache(maxsize=65536)
def _read_json(path: str) -> dict | None:
    p = Path(path)
    if not p.is_file():
        return None
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError):
        return None


def render_params(audio_path: str | Path) -> dict | None:
    """The render's parameter JSON beside ``audio_path`` (same stem), or None for audio that is not a render."""
    params = _read_json(str(Path(audio_path).with_suffix(".json")))
    return params if params and "contacts" in params else None


def row_contact(params: dict, label: str, start_s: float, end_s: float) -> dict | None:
    """The contact of class ``label`` that a manifest row [start_s, end_s] (recording time, s) is about: the one
    whose strong-label spans overlap the row most (single-contact clips have one). None for ambient."""
    best, best_overlap = None, -1.0
    for c in params.get("contacts", []):
        if c.get("label") != label:
            continue
        overlap = sum(max(0.0, min(b, end_s) - max(a, start_s)) for a, b in c.get("spans", []))
        if overlap > best_overlap:
            best, best_overlap = c, overlap
    return best


def audible_fraction(spans, start_s: float, end_s: float) -> float:
    """Share of [start_s, end_s] (s) covered by the union of ``spans`` ([[a, b], ...], s)."""
    if end_s <= start_s:
        return 0.0
    covered, reach = 0.0, start_s
    for a, b in sorted((max(a, start_s), min(b, end_s)) for a, b in spans):
        if b <= reach:
            continue
        covered += b - max(a, reach)
        reach = b
    return covered / (end_s - start_s)


def vessel_targets(vessel: dict) -> dict[str, float]:
    """Physics targets of a drawn vessel (``contacts[i]["vessel"]``): class indices or 0/1, NaN where a head
    does not apply (no shaft for an aerial drone, a blade count outside :data:`BLADE_COUNTS`)."""
    kinds = {t.get("kind", "") for t in vessel.get("tonals", [])}
    shafts = vessel.get("shaft_hz") or []
    sb = shaft_bin(float(shafts[0])) if shafts else None
    blades = vessel.get("blades")
    n_shafts = vessel.get("shafts")
    fine = vessel.get("fine_label")
    return {
        "shaft_rate": float(sb) if sb is not None else math.nan,
        "blades": float(BLADE_COUNTS.index(blades)) if shafts and blades in BLADE_COUNTS else math.nan,
        "shafts": float(SHAFT_COUNTS.index(n_shafts)) if n_shafts in SHAFT_COUNTS else math.nan,
        "firing": float("engine_firing" in kinds),
        "cavitating": float(bool(vessel.get("cavitating"))),
        "pwm": float("pwm" in kinds),
        "fine": float(FINE_LABELS.index(fine)) if fine in FINE_LABELS else math.nan,
    }


def physics_vector(targets: dict[str, float] | None, *, audible: float) -> np.ndarray:
    """Targets in :data:`HEAD_NAMES` order, float32; ``audible`` NaN (unknown), 0 or 1. Vessel targets count only
    where the contact is audible; ambient windows train ``audible`` = 0 and ``fine`` = sea."""
    out = np.full(len(HEAD_NAMES), np.nan, dtype=np.float32)
    out[HEAD_NAMES.index("audible")] = audible
    if targets is None:
        if audible == 0.0:  # an ambient window of a render: the sea
            out[HEAD_NAMES.index("fine")] = FINE_LABELS.index("sea")
        return out
    if audible == 1.0:
        for name, value in targets.items():
            out[HEAD_NAMES.index(name)] = value
    return out


def window_label(row_label: str, fraction: float | None, policy: str) -> str | None:
    """Class a window trains on: ``row_label`` when its contact is audible (``fraction`` ≥ AUDIBLE_FRACTION, or
    unknown: None), else ``ambient`` (policy ``ambient``), None (policy ``ignore``: left out of the class loss)
    or ``row_label`` (policy ``recording``: the whole recording's label, as before)."""
    if row_label == "ambient" or fraction is None or fraction >= AUDIBLE_FRACTION or policy == "recording":
        return row_label
    if policy == "ambient":
        return "ambient"
    if policy == "ignore":
        return None
    raise ValueError(f"window label policy {policy!r}; choose ignore, ambient or recording")


def row_audible_spans(row, events: dict | None = None) -> list[tuple[float, float]] | None:
    """Spans [s, recording time] where the contact a manifest row is about is audible: from the strong labels
    ``events`` ({recording_id: [(label, start_s, end_s), ...]}, e.g. ``events.csv``) when given, else from the
    render's JSON beside the audio. [] for ambient rows of a render; None when unknown (not a render, no events)."""
    if events is not None and row.recording_id in events:
        return [] if row.label == "ambient" else [(a, b) for lab, a, b in events[row.recording_id] if lab == row.label]
    params = render_params(row.path)
    if params is None:
        return None
    if row.label == "ambient":
        return []
    contact = row_contact(params, row.label, row.start_s, row.end_s)
    return None if contact is None else [tuple(s) for s in contact.get("spans", [])]


def window_audible(spans: list[tuple[float, float]] | None, start_s: float, window_s: float) -> float | None:
    """Share of the window [start_s, start_s + window_s] (recording time, s) in which its contact is audible."""
    return None if spans is None else audible_fraction(spans, start_s, start_s + window_s)


def row_targets(row) -> dict[str, float] | None:
    """Physics targets (:func:`vessel_targets`) of the contact a render's manifest row is about; None for ambient
    rows and for audio that is not a render."""
    params = render_params(row.path)
    if params is None or row.label == "ambient":
        return None
    contact = row_contact(params, row.label, row.start_s, row.end_s)
    return None if contact is None else vessel_targets(contact["vessel"])
