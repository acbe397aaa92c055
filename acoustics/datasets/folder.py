"""Folder-per-class trees: ``<root>/<label>/**/*.wav|flac``.

The top folder is the label (the uwac classes as they are, or mapped through ``label_map``); the
``recording_id`` is the file's path relative to ``root`` without its extension, so every file is its
own recording unless a CSV says otherwise (use the CSV adapter for that).
"""

from __future__ import annotations

from pathlib import Path

from uwac.acoustics.datasets.common import LabelMap, audio_files, load_label_map, make_row
from uwac.acoustics.manifest import Row


def manifest_from_folder(root: str | Path, *, label_map: str | Path | dict | LabelMap | None = None,
                         source: str = "folder") -> tuple[list[Row], list[str]]:
    """Rows for every WAV/FLAC under ``root/<label>/``, and the files skipped (with why)."""
    root = Path(root)
    lm = label_map if isinstance(label_map, LabelMap) else load_label_map(label_map)
    rows: list[Row] = []
    skipped: list[str] = []
    for path in audio_files(root):
        rel = path.relative_to(root)
        if len(rel.parts) < 2:
            skipped.append(f"{path}: not inside a label folder")
            continue
        row = make_row(path, source_label=rel.parts[0], label_map=lm, recording_id=rel.with_suffix("").as_posix(),
                       source=source, skipped=skipped)
        if row is not None:
            rows.append(row)
    return rows, skipped
