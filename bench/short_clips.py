"""How to score a clip shorter than the model's window, measured on renders (never on the real check clips).

Takes test recordings of a run's manifest (every ambient one and the vessels at SNR ≥ ``--min-snr`` dB), crops
``--seconds`` from each (from 3 s in) and scores the crop two ways with onnxruntime: as it is (the ear's graph takes
inputs down to ``uwac.min_seconds``) and repeated up to one full window (what ``uwac evaluate`` does since this
measurement). Prints macro-F1, the share of ambient crops called a vessel and the share of vessel crops called
ambient, and writes them to ``--out`` as JSON.

    python bench/short_clips.py data/models/uwac-default.onnx --manifest runs/default/run/manifest.csv --out short.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

from uwac.acoustics.audio_io import read_span, resample
from uwac.acoustics.contract import load_session, run_batch, short_clip_window
from uwac.acoustics.manifest import read_manifest


def main(argv: list[str] | None = None) -> None:
    """Command line: parse the flags, run the measurement, write its table and plot."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", type=Path)
    p.add_argument("--manifest", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seconds", type=float, default=5.0, help="crop length, s (shorter than the model's window)")
    p.add_argument("--min-snr", type=float, default=10.0, help="vessel recordings at least this SNR, dB")
    p.add_argument("--limit", type=int, default=600, help="recordings scored at most")
    a = p.parse_args(argv)
    session, info = load_session(a.model)
    rows = [r for r in read_manifest(a.manifest) if r.split == "test"
            and (r.label == "ambient" or float(r.extra.get("snr_db") or "-inf") >= a.min_snr)][: a.limit]
    classes = list(info.classes)
    truth, as_is, tiled = [], [], []
    for r in rows:
        audio, rate = read_span(r.path, start_s=r.start_s, end_s=r.end_s)
        audio = resample(audio, rate, info.sample_rate)
        crop = audio[3 * info.sample_rate: 3 * info.sample_rate + int(a.seconds * info.sample_rate)]
        truth.append(classes.index(r.label))
        as_is.append(int(run_batch(session, crop[None])["probabilities"][0].argmax()))
        tiled.append(int(run_batch(session, short_clip_window(crop, info)[None])["probabilities"][0].argmax()))
    y = np.array(truth)
    amb = y == classes.index("ambient")
    result = {"model": str(a.model), "crop_seconds": a.seconds, "recordings": int(y.size)}
    for name, pred in (("as_is", np.array(as_is)), ("tiled_to_window", np.array(tiled))):
        result[name] = {"macro_f1": float(f1_score(y, pred, average="macro")),
                        "ambient_called_vessel": float(np.mean(pred[amb] != classes.index("ambient"))),
                        "vessel_called_ambient": float(np.mean(pred[~amb] == classes.index("ambient")))}
        print(f"{name}: " + ", ".join(f"{k} {v:.3f}" for k, v in result[name].items()))
    a.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
