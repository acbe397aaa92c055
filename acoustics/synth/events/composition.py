"""The three sets of non-vessel events a render draws, each from a random stream of its own, so that none of them
marks a class: the same seed gives the same events in an ambient and in a vessel clip.

- Distractors (``env["distractors"]``, events in ``env["distractor_events"]``): snapping shrimp, fin, blue and
  humpback whales, drawn by ``ambient.draw_ambient`` from the scene stream (:func:`draw_distractors`) and rendered
  with the ambient (:func:`distractor_spectrum`); the shrimp sounds only in water shallower than 55 m.
- Confusers (``params["confusers"]``, issue 8): active sonar, echosounders, fishing pingers, explosions, scuba,
  fish choruses, dolphins, cable strum with flow noise and mains hum, each present with its own probability
  (``CONFUSER_OCCURRENCE``, design note: 5–12 %), from :func:`confuser_rng`; the shrimp chorus and rain, which the
  ambient already renders, are listed with them (:func:`reused_confusers`).
- Cetaceans (``params["cetaceans"]``, renderer 0.5): killer, minke and right whales, each in 10 % of renders
  (``CETACEAN_OCCURRENCE``, design note: a few thousand renders hold hundreds of each in every class), from
  :func:`cetacean_rng`.

Presence, every member's parameters and the per-member render seeds are drawn whatever is present, in a fixed
order, so nothing shifts when one member comes or goes. ``uwac synth --confusers NAME=P`` overrides the confuser
and cetacean occurrence tables (dataset.occurrence_override).
"""

from __future__ import annotations

import numpy as np

from uwac.acoustics.synth import numerics as num
from uwac.acoustics.synth.events import at_hydrophone, biological, cetaceans, man_made
from uwac.acoustics.synth.events.common import _water

CONFUSER_SPAWN_KEY = (1, 0)  # child 0 of the ambient stream's SeedSequence (scene._streams index 1): a stream of
# its own, so scene, ambient and contact draws are exactly those of a render without confusers (design note)
CETACEAN_SPAWN_KEY = (1, 1)  # child 1 of the ambient stream's SeedSequence (confusers use child 0): a stream of its
# own, so scene, ambient, confuser and contact draws are those of a render without cetaceans (design note)

DISTRACTOR_NAMES = ("shrimp", "fin_whale", "blue_whale", "humpback")  # keys of env["distractors"] (physics.md §5)
CONFUSER_NAMES = ("active_sonar", "echosounder", "fishing_pinger", "explosion", "scuba", "fish_chorus", "dolphin",
                  "cable_strum_flow", "mains_hum")
CETACEAN_NAMES = ("killer_whale", "minke_whale", "right_whale")
CONFUSER_OCCURRENCE = dict(zip(CONFUSER_NAMES, (
    man_made.SONAR_FRACTION, man_made.ECHO_FRACTION, man_made.PINGER_FRACTION, man_made.EXPLOSION_FRACTION,
    man_made.SCUBA_FRACTION, biological.FISH_FRACTION, cetaceans.DOLPHIN_FRACTION, at_hydrophone.CABLE_FRACTION,
    at_hydrophone.HUM_FRACTION), strict=True))
CETACEAN_OCCURRENCE = dict(zip(CETACEAN_NAMES, (cetaceans.ORCA_FRACTION, cetaceans.MINKE_FRACTION,
                                                cetaceans.RIGHT_FRACTION), strict=True))
REUSED_CONFUSERS = ("shrimp_chorus", "rain")  # confusers of issue 8 that ambient.draw_ambient already draws

CONFUSER_DRAWS = {
    "active_sonar": man_made.draw_active_sonar, "echosounder": man_made.draw_echosounder,
    "fishing_pinger": man_made.draw_fishing_pinger, "explosion": man_made.draw_explosion,
    "scuba": man_made.draw_scuba, "fish_chorus": biological.draw_fish_chorus, "dolphin": cetaceans.draw_dolphin,
    "cable_strum_flow": at_hydrophone.draw_cable_strum_flow, "mains_hum": at_hydrophone.draw_mains_hum}
CONFUSER_RENDERS = {
    "active_sonar": man_made.render_active_sonar, "echosounder": man_made.render_echosounder,
    "fishing_pinger": man_made.render_fishing_pinger, "explosion": man_made.render_explosion,
    "scuba": man_made.render_scuba, "fish_chorus": biological.render_fish_chorus,
    "dolphin": cetaceans.render_dolphin, "cable_strum_flow": at_hydrophone.render_cable_strum_flow,
    "mains_hum": at_hydrophone.render_mains_hum}
CETACEAN_DRAWS = {"killer_whale": cetaceans.draw_killer_whale, "minke_whale": cetaceans.draw_minke_whale,
                  "right_whale": cetaceans.draw_right_whale}
CETACEAN_RENDERS = {"killer_whale": cetaceans.render_killer_whale, "minke_whale": cetaceans.render_minke_whale,
                    "right_whale": cetaceans.render_right_whale}


# ------------------------------------------------------------------------------------------- distractors

def draw_distractors(rng: np.random.Generator) -> dict:
    """Per-render distractor parameters (None where absent; units as in each ``draw_<name>``). Every draw is made
    whether or not the distractor is present, so presence does not shift later draws."""
    drawn = (biological.draw_shrimp(rng), cetaceans.draw_fin_whale(rng), cetaceans.draw_blue_whale(rng),
             cetaceans.draw_humpback(rng))
    present = rng.random(4) < (biological.SHRIMP_BED_FRACTION, cetaceans.FIN_FRACTION, cetaceans.BLUE_FRACTION,
                               cetaceans.HUMPBACK_FRACTION)
    return {k: (v if p else None) for k, v, p in zip(DISTRACTOR_NAMES, drawn, present, strict=True)}


def distractor_spectrum(rng: np.random.Generator, params: dict, n: int, fs: int, *, water_depth_m: float,
                        sea_state_2_db_20khz: float) -> tuple[np.ndarray, dict]:
    """rfft (length n//2+1) of all present distractors [µPa] and the record of the events placed.

    water_depth_m [m] sets the whales' spreading; the shrimp sounds only where a bed was drawn and the water is
    shallower than 55 m, at its level over ``sea_state_2_db_20khz`` [dB re 1 µPa²/Hz].
    """
    spec = np.zeros(n // 2 + 1, dtype=complex)
    record: dict = {}
    tonal = np.zeros(n)
    renders = {"fin_whale": cetaceans.render_fin_whale, "blue_whale": cetaceans.render_blue_whale,
               "humpback": cetaceans.render_humpback}
    for name, render in renders.items():
        if params.get(name):
            sig, record[name] = render(rng, params[name], n, fs, water_depth_m)
            tonal += sig
    if record:
        spec += num.rfft(tonal)
    if params.get("shrimp"):
        if water_depth_m < biological.SHRIMP_MAX_DEPTH_M:
            s, record["shrimp"] = biological.render_shrimp(rng, params["shrimp"], n, fs, sea_state_2_db_20khz)
            spec += s
        else:
            record["shrimp"] = {"active": False,
                                "reason": f"water {water_depth_m:g} m >= {biological.SHRIMP_MAX_DEPTH_M:g} m"}
    return spec, record


# ------------------------------------------------------------------------------- confusers and cetaceans

def _draw_set(rng: np.random.Generator, names: tuple[str, ...], occurrence: dict, draws: dict, sample_rate: int
              ) -> tuple[dict, list[int]]:
    """({name: params or None where absent}, one render seed per name): presence, then every member's
    parameters, then the seeds, all drawn whatever is present."""
    present = rng.random(len(names)) < np.array([occurrence[k] for k in names])
    params = {name: draws[name](rng, sample_rate) for name in names}
    seeds = [int(s) for s in rng.integers(0, 2**63 - 1, len(names))]
    return {k: (params[k] if p else None) for k, p in zip(names, present, strict=True)}, seeds


def _render_set(drawn: dict, seeds: list[int], renders: dict, n: int, sample_rate: int, water: dict
                ) -> tuple[np.ndarray | None, list[dict]]:
    """Sum (float32; None when none is present) of the present members, each rendered from its own seed, and
    their records ({name, drawn parameters, events})."""
    total, records = None, []
    for (name, p), seed in zip(drawn.items(), seeds, strict=True):
        if p is None:
            continue
        x, events = renders[name](np.random.default_rng(seed), p, n, sample_rate, water)
        total = x.astype(np.float32) if total is None else total + x.astype(np.float32)
        records.append({"name": name, **p, "events": events})
    return total, records


def confuser_rng(seed: int) -> np.random.Generator:
    """The confuser stream of a render seed: child CONFUSER_SPAWN_KEY of SeedSequence(seed), untouched by
    labels, contacts and the other streams."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=CONFUSER_SPAWN_KEY))


def draw_confusers(rng: np.random.Generator, sample_rate: int) -> tuple[dict, list[int]]:
    """Per-render confuser parameters ({name: params or None where absent}) and one render seed per
    confuser; sample_rate [Hz] bounds the tones drawn. Presence, every confuser's parameters and the seeds are
    drawn whatever is present, in a fixed order, so nothing shifts when one confuser comes or goes."""
    return _draw_set(rng, CONFUSER_NAMES, CONFUSER_OCCURRENCE, CONFUSER_DRAWS, sample_rate)


def reused_confusers(env: dict, water_depth_m: float) -> list[dict]:
    """Entries for the confusers the ambient already renders: the shrimp bed (biological.py; it sounds only
    in water shallower than 55 m) and rain (ambient.py), both drawn in ambient.draw_ambient from the scene
    stream before any label-dependent draw, so their rates are the same for every class. water_depth_m [m]."""
    out = []
    shrimp = (env.get("distractors") or {}).get("shrimp")
    if shrimp:  # "distractors.shrimp": the params' name for it since renderer 0.3 (kept: the JSON is unchanged)
        out.append({"name": "shrimp_chorus", "source": "distractors.shrimp",
                    "sounding": bool(water_depth_m < biological.SHRIMP_MAX_DEPTH_M), **shrimp})
    if env.get("rain_mm_h"):
        out.append({"name": "rain", "source": "ambient.rain", "rain_mm_h": env["rain_mm_h"]})
    return out


def render_confusers(rng: np.random.Generator, n: int, sample_rate: int, *, water: dict | None = None,
                     env: dict | None = None) -> tuple[np.ndarray | None, list[dict]]:
    """Received pressure [µPa] of all present confusers (float32, n samples at sample_rate [Hz], band-limited
    below 0.45·fs; None when none is present) and their records: a list of {name, drawn parameters, events},
    plus the reused shrimp/rain entries of ``env`` (an ambient.draw_ambient dict) when given. ``rng``: the
    render's :func:`confuser_rng`; ``water``: the scene's water column (common.DEFAULT_WATER where missing)."""
    drawn, seeds = draw_confusers(rng, sample_rate)
    w = _water(water)
    total, records = _render_set(drawn, seeds, CONFUSER_RENDERS, n, sample_rate, w)
    if env is not None:
        records += reused_confusers(env, w["water_depth_m"])
    return total, records


def cetacean_rng(seed: int) -> np.random.Generator:
    """The cetacean stream of a render seed: child CETACEAN_SPAWN_KEY of SeedSequence(seed), untouched by labels,
    contacts, confusers and the other streams."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=CETACEAN_SPAWN_KEY))


def draw_cetaceans(rng: np.random.Generator, sample_rate: int) -> tuple[dict, list[int]]:
    """Per-render parameters ({name: params or None where absent}) and one render seed per species; sample_rate
    [Hz]. Presence, parameters and seeds are drawn whatever is present, in a fixed order, so nothing shifts when
    one comes or goes."""
    return _draw_set(rng, CETACEAN_NAMES, CETACEAN_OCCURRENCE, CETACEAN_DRAWS, sample_rate)


def render_cetaceans(rng: np.random.Generator, n: int, sample_rate: int, *, water: dict | None = None
                     ) -> tuple[np.ndarray | None, list[dict]]:
    """Received pressure [µPa] of every present species (float32, n samples at sample_rate [Hz], band-limited
    below 0.45·fs; None when none is present) and their records ({name, drawn parameters, events}). ``rng``: the
    render's :func:`cetacean_rng`; ``water``: the scene's water column (common.DEFAULT_WATER where missing)."""
    drawn, seeds = draw_cetaceans(rng, sample_rate)
    return _render_set(drawn, seeds, CETACEAN_RENDERS, n, sample_rate, _water(water))
