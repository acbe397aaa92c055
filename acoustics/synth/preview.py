"""Previews of renders: LOFAR and DEMON pictures, with the render's own shaft and blade rates marked."""

from __future__ import annotations

import json
from pathlib import Path

from uwac.acoustics.analysis.plots import lofar_demon_png
from uwac.acoustics.audio_io import read_span


def rate_marks(params: dict) -> dict[str, float]:
    """Shaft and blade rates [Hz] of every contact in a render's params (empty for ambient)."""
    marks: dict[str, float] = {}
    vessels = [c.get("vessel", c) for c in params.get("contacts", [])] or [params.get("vessel")]
    for i, v in enumerate(x for x in vessels if x):
        shaft = (v.get("shaft_hz") or [None])[0]
        tag = f" #{i + 1}" if len(vessels) > 1 else ""
        if shaft:
            marks[f"shaft{tag}"] = float(shaft)
            if v.get("blades"):
                marks[f"blade{tag}"] = float(shaft) * int(v["blades"])
    return marks


def preview_file(wav: str | Path, out_png: str | Path) -> Path:
    """Draw spectrogram, LOFAR and DEMON of ``wav``; marks come from ``wav``'s params JSON when it has one."""
    wav = Path(wav)
    audio, sr = read_span(wav)
    params_path = wav.with_suffix(".json")
    params = json.loads(params_path.read_text()) if params_path.is_file() else {}
    title = wav.name
    if params:
        title += f" — {params.get('label')}/{params.get('fine_label')}"
        if params.get("snr_db") is not None:
            title += f", SNR {params['snr_db']:.1f} dB"
    return lofar_demon_png(audio, sr, out_png, title=title, marks_hz=rate_marks(params))
