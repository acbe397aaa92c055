"""DeepShip: ``<root>/{Cargo,Passengership,Tanker,Tug}/`` (Irfan et al. 2021, ``irfankamboh/DeepShip``).

Layouts taken: one WAV per recording named by its id (``Cargo/12.wav``), optionally a per-class
``<class>-metafile`` (id, AIS type, ship name, date, time, duration, distances); segmented copies
(``Cargo/<rec>-Segment_<k>.wav``); and one folder per recording (``Cargo/Cargo1/audio1.wav``).
A span's ``recording_id`` is ``<class>/<recording>``; the ship name from the metafile, when there is
one, goes in the ``vessel_id`` column so that ``uwac split --protocol ves`` can hold vessels out.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from uwac.acoustics.datasets.common import LabelMap, audio_files, load_label_map, make_row, norm
from uwac.acoustics.manifest import Row

_SEGMENT = re.compile(r"^(?P<rec>.+?)[-_ ]+seg(?:ment)?[-_ ]*\d+$", re.IGNORECASE)


def recording_part(stem: str) -> str:
    """The recording a file name belongs to: ``12-Segment_3`` → ``12``; a plain stem stays as it is."""
    m = _SEGMENT.match(stem)
    return m.group("rec") if m else stem


def read_metafile(folder: Path) -> dict[str, str]:
    """Recording id → ship name from a class folder's ``*metafile*`` (headerless CSV), empty when absent."""
    ships: dict[str, str] = {}
    for meta in sorted(p for p in folder.iterdir() if p.is_file() and "metafile" in p.name.lower()):
        with meta.open(newline="", errors="replace") as fh:
            for rec in csv.reader(fh):
                if len(rec) >= 3 and rec[0].strip():
                    ships.setdefault(rec[0].strip(), " ".join(rec[2].split()).upper())
    return ships


def manifest_from_deepship(root: str | Path, *, label_map: str | Path | dict | LabelMap | None = None,
                           source: str = "deepship") -> tuple[list[Row], list[str]]:
    """Rows for every WAV under DeepShip's class folders, and the files skipped (with why)."""
    root = Path(root)
    lm = label_map if isinstance(label_map, LabelMap) else load_label_map(label_map, default="deepship")
    rows: list[Row] = []
    skipped: list[str] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        ships = read_metafile(folder)
        for path in audio_files(folder):
            rel = path.relative_to(folder)
            rec = rel.parts[0] if len(rel.parts) > 1 else recording_part(path.stem)
            extra = {"vessel_id": ships[rec]} if rec in ships else {}
            row = make_row(path, source_label=folder.name, label_map=lm, recording_id=f"{norm(folder.name)}/{rec}",
                           source=source, skipped=skipped, extra=extra)
            if row is not None:
                rows.append(row)
    return rows, skipped
