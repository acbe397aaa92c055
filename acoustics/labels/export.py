"""``uwac labels export``: the analysts' current verdicts as training data.

Writes into ``out``: ``clips/`` (each judged contact's audio, copied out of the store), ``manifest.csv`` (one row
per contact over its span inside its clip: ``source=analyst``, the verdict's class and fine type, the contact's
``recording_id`` so ``uwac split --protocol rec`` keeps a contact in one split; the verdict, the model's call
and the note as extra columns), ``labels.selections.txt`` (a Raven selection table of every verdict, rejected
ones included, in stream seconds) and ``skipped.txt`` (contacts whose clip is missing, with why). Ready for
``uwac train --manifest OUT/manifest.csv --init-from RUN``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from uwac.acoustics.audio_io import AudioError, audio_info
from uwac.acoustics.labels.store import Verdict, VerdictStore
from uwac.acoustics.manifest import Row, write_manifest
from uwac.acoustics.stream.raven import cell_text

SOURCE = "analyst"
RAVEN_COLUMNS = ("Selection", "View", "Channel", "Begin Time (s)", "End Time (s)", "Low Freq (Hz)", "High Freq (Hz)",
                 "Class", "Fine Class", "Verdict", "Model Class", "Confidence", "Contact", "Note", "Begin UTC",
                 "End UTC")


def _row(v: Verdict, clip: Path) -> Row:
    """The manifest row of one verdict over its contact's span inside the copied clip."""
    _, _, duration = audio_info(clip)
    first = v.clip_start_s or 0.0
    start = min(max(v.start_s - first, 0.0), duration)
    end = min(max(v.end_s - first, start), duration)
    if not end > start:
        start, end = 0.0, duration  # the clip holds the contact's neighbourhood only: keep all of it
    extra = {"contact": v.contact, "verdict": v.verdict, "model_class": v.model_class or "",
             "model_confidence": "" if v.model_confidence is None else f"{v.model_confidence:.4f}",
             "channel": str(v.channel), "start_utc": v.start_utc or "", "analyst": v.analyst, "note": v.note}
    return Row(str(clip), round(start, 6), round(end, 6), v.label, v.fine_label or v.label, v.recording_id, "",
               SOURCE, extra)


def raven_table(verdicts: list[Verdict], *, high_freq_hz: float) -> str:
    """Every verdict as a Raven selection table (stream seconds, 1-based channels)."""
    lines = ["\t".join(RAVEN_COLUMNS)]
    for i, v in enumerate(verdicts, 1):
        cells = (i, "Spectrogram 1", v.channel + 1, f"{v.start_s:.3f}", f"{v.end_s:.3f}", "0.0", f"{high_freq_hz:.1f}",
                 v.label, v.fine_label, v.verdict, v.model_class,
                 "" if v.model_confidence is None else f"{v.model_confidence:.4f}", v.contact, v.note, v.start_utc,
                 v.end_utc)
        lines.append("\t".join(cell_text(c) for c in cells))
    return "\n".join(lines) + "\n"


def export_labels(store_folder: str | Path, out: str | Path, *, high_freq_hz: float = 8000.0) -> dict:
    """Write clips, manifest, Raven table and skipped list of the store in ``store_folder`` into ``out``; returns
    counts and paths. ``ValueError`` when the folder holds no label store."""
    store_folder, out = Path(store_folder), Path(out)
    if not (store_folder / "labels.sqlite").is_file():
        raise ValueError(f"{store_folder} holds no labels.sqlite; pass the --out folder of `uwac stream --console`")
    store = VerdictStore(store_folder)
    try:
        verdicts = store.latest()
    finally:
        store.close()
    (out / "clips").mkdir(parents=True, exist_ok=True)
    rows, skipped = [], []
    for v in verdicts:
        source = store_folder / v.clip if v.clip else None
        if source is None or not source.is_file():
            skipped.append(f"contact {v.contact} ({v.verdict}, {v.label}): no audio clip was kept (judged after its "
                           "audio left the ring); it is in the Raven table, not the manifest")
            continue
        clip = out / "clips" / source.name
        shutil.copyfile(source, clip)
        try:
            rows.append(_row(v, clip))
        except AudioError as exc:
            skipped.append(f"contact {v.contact}: clip unreadable ({exc})")
    if rows:
        write_manifest(rows, out / "manifest.csv")
    (out / "labels.selections.txt").write_text(raven_table(verdicts, high_freq_hz=high_freq_hz))
    (out / "skipped.txt").write_text("".join(f"{line}\n" for line in skipped))
    by_verdict = {k: sum(v.verdict == k for v in verdicts) for k in ("confirmed", "relabelled", "rejected")}
    return {"verdicts": len(verdicts), "rows": len(rows), "skipped": len(skipped), **by_verdict,
            "manifest": str(out / "manifest.csv") if rows else None, "raven": str(out / "labels.selections.txt")}
