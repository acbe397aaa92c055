"""Raven Pro selection tables → manifest rows: an analyst's existing annotations become training data (issue 12).

A selection table is tab-separated text with the standard columns ``Selection``, ``View``, ``Channel``,
``Begin Time (s)``, ``End Time (s)`` and annotation columns. Raven writes one line per view of a selection
(``Spectrogram 1``, ``Waveform 1``); the first line of each selection number is kept. Where the selection
lies in the audio:

- with ``Begin File`` (or ``Begin Path``) and ``File Offset (s)`` (Raven's file measurements): in that file,
  from that offset, for ``End − Begin`` seconds;
- without them: the times are seconds into the file sequence ``--audio`` holds, its WAV/FLAC files in name
  order as Raven opens a sequence (and as ``uwac stream --source DIR`` writes its own table: stream seconds,
  cumulative over files). A selection that crosses from one file into the next gives one row per file.

The label is the first of :data:`LABEL_COLUMNS` the table has (or ``label_column``), mapped to a uwac class by
``label_map`` (default: the uwac class names themselves, as uwac's own tables write them); ``Fine Class``, when
present, is the fine label. Every piece of one selection shares the ``recording_id`` of the file it begins in,
so a contact never straddles two splits. Rows carry ``source=analyst``. Lines that cannot be used are skipped
and listed, never guessed.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from uwac.acoustics.datasets.common import LabelMap, audio_files, load_label_map, probe
from uwac.acoustics.manifest import ManifestError, Row

TIME_COLUMNS = ("Begin Time (s)", "End Time (s)")
LABEL_COLUMNS = ("Class", "Label", "Annotation", "Species", "Type")  # the first one present names the label
FILE_COLUMNS = ("Begin File", "Begin Path")
OFFSET_COLUMN = "File Offset (s)"
SOURCE = "analyst"
MIN_SPAN_S = 0.01  # pieces shorter than this (a selection grazing a file boundary) carry no audio worth a row


@dataclass(frozen=True)
class Selection:
    """One selection of a table: its number, times [s], channel (1-based) and annotation cells."""

    number: str
    begin_s: float
    end_s: float
    channel: int
    cells: dict[str, str]


def read_selections(table: str | Path, skipped: list[str]) -> tuple[list[Selection], list[str]]:
    """The table's selections (first view line of each number) and its column names; unusable lines are appended
    to ``skipped`` with the reason. ``ManifestError`` when the file is no selection table."""
    table = Path(table)
    if not table.is_file():
        raise ManifestError(f"selection table {table} does not exist")
    with table.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        columns = [c.strip() for c in reader.fieldnames or []]
        missing = [c for c in ("Selection", *TIME_COLUMNS) if c not in columns]
        if missing:
            raise ManifestError(f"{table} is not a Raven selection table: no column(s) {', '.join(missing)} "
                                "(export it from Raven with File > Save Selection Table)")
        seen: set[str] = set()
        out: list[Selection] = []
        for line, raw in enumerate(reader, start=2):
            rec = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
            number = rec.get("Selection", "")
            if number in seen:
                continue  # the same selection in another view
            try:
                begin, end = float(rec["Begin Time (s)"]), float(rec["End Time (s)"])
                channel = int(rec.get("Channel") or 1)
            except ValueError:
                skipped.append(f"{table}:{line}: selection {number!r}: times and channel must be numbers")
                continue
            if not end > begin >= 0:
                skipped.append(f"{table}:{line}: selection {number!r}: needs 0 <= begin < end, got {begin}..{end}")
                continue
            seen.add(number)
            out.append(Selection(number, begin, end, channel, rec))
    return out, columns


def _label_column(columns: list[str], label_column: str | None, table: Path) -> str:
    if label_column is not None:
        if label_column not in columns:
            raise ManifestError(f"{table} has no column {label_column!r}; its columns: {', '.join(columns)}")
        return label_column
    found = next((c for c in LABEL_COLUMNS if c in columns), None)
    if found is None:
        raise ManifestError(f"{table} has no label column (one of {', '.join(LABEL_COLUMNS)}); name the one that "
                            "holds the class with --label-column")
    return found


def _sequence(audio: Path, skipped: list[str]) -> list[tuple[Path, float, float]]:
    """(file, start [s], end [s]) of every usable file of the sequence ``audio`` holds, in name order."""
    files = [audio] if audio.is_file() else audio_files(audio)
    out, t = [], 0.0
    for path in files:
        duration = probe(path, skipped)
        if duration is not None:
            out.append((path, t, t + duration))
            t += duration
    return out


def _in_file(sel: Selection, audio: Path, column: str) -> list[tuple[Path, float, float]]:
    """The one piece of a selection that names its file (``Begin File`` + ``File Offset (s)``)."""
    name = sel.cells.get(column, "")
    path = Path(name) if Path(name).is_absolute() else audio / name
    if not path.is_file() and audio.is_dir():
        path = next((p for p in audio_files(audio) if p.name == Path(name).name), path)
    offset = float(sel.cells.get(OFFSET_COLUMN) or 0.0)
    return [(path, offset, offset + sel.end_s - sel.begin_s)]


def _pieces(sel: Selection, sequence: list[tuple[Path, float, float]]) -> list[tuple[Path, float, float]]:
    """The parts of a selection in stream time, as (file, start, end) in seconds of each file."""
    return [(path, max(sel.begin_s, t0) - t0, min(sel.end_s, t1) - t0) for path, t0, t1 in sequence
            if min(sel.end_s, t1) - max(sel.begin_s, t0) >= MIN_SPAN_S]


def manifest_from_raven(table: str | Path, *, audio: str | Path, label_map: str | Path | dict | LabelMap | None = None,
                        label_column: str | None = None) -> tuple[list[Row], list[str]]:
    """Rows for every usable selection of ``table`` over the audio in ``audio`` (a folder or one file), and the
    lines and files skipped (with why)."""
    table, audio = Path(table), Path(audio)
    if not audio.exists():
        raise ManifestError(f"audio {audio} does not exist; pass the folder (or file) the table was drawn on")
    lm = label_map if isinstance(label_map, LabelMap) else load_label_map(label_map)
    skipped: list[str] = []
    selections, columns = read_selections(table, skipped)
    label_col = _label_column(columns, label_column, table)
    file_col = next((c for c in FILE_COLUMNS if c in columns), None)
    sequence = [] if file_col else _sequence(audio, skipped)
    rows: list[Row] = []
    for sel in selections:
        raw = sel.cells.get(label_col, "")
        label = lm.lookup(raw)
        if label is None:
            skipped.append(f"{table}: selection {sel.number}: label {raw!r} has no mapping (pass --label-map)")
            continue
        pieces = _in_file(sel, audio, file_col) if file_col else _pieces(sel, sequence)
        if not pieces or not pieces[0][0].is_file():
            skipped.append(f"{table}: selection {sel.number} ({sel.begin_s}-{sel.end_s} s) lies in no audio file "
                           f"under {audio}")
            continue
        if file_col and (probe(pieces[0][0], skipped) or 0.0) + MIN_SPAN_S < pieces[0][2]:
            skipped.append(f"{table}: selection {sel.number} runs past the end of {pieces[0][0]}")
            continue
        fine = sel.cells.get("Fine Class") or raw
        extra = {"raven_table": table.name, "selection": sel.number, "channel": str(sel.channel - 1)}
        recording = pieces[0][0].stem
        rows += [Row(str(path), round(start, 6), round(end, 6), label, fine, recording, "", SOURCE, dict(extra))
                 for path, start, end in pieces]
    return rows, skipped
