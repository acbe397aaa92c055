"""A plain CSV list: columns ``path,label`` and optionally ``start_s,end_s,recording_id,fine_label,split``.

Paths are relative to the CSV's folder (or absolute). Missing ``end_s`` is the file's duration;
missing ``recording_id`` the path without extension. Other columns are kept as extra columns.
"""

from __future__ import annotations

import csv
from pathlib import Path

from uwac.acoustics.datasets.common import LabelMap, load_label_map, probe
from uwac.acoustics.manifest import COLUMNS, SPLITS, Row

_SPLIT_NAMES = {"validation": "val", "valid": "val", "dev": "val"}


def manifest_from_csv(root: str | Path, *, label_map: str | Path | dict | LabelMap | None = None,
                      source: str = "csv") -> tuple[list[Row], list[str]]:
    """Rows for each line of the CSV at ``root``, and the lines skipped (with why)."""
    table = Path(root)
    lm = label_map if isinstance(label_map, LabelMap) else load_label_map(label_map)
    base = table.parent
    rows: list[Row] = []
    skipped: list[str] = []
    durations: dict[Path, float | None] = {}
    with table.open(newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in ("path", "label") if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{table}: lacks column(s) {', '.join(missing)}; needs path,label "
                             "(optional start_s,end_s,recording_id,fine_label,split)")
        for line, rec in enumerate(reader, start=2):
            rel = (rec.get("path") or "").strip()
            path = Path(rel) if Path(rel).is_absolute() else base / rel
            where = f"{table}:{line} ({rel})"
            source_label = (rec.get("label") or "").strip()
            label = lm.lookup(source_label)
            if label is None:
                skipped.append(f"{where}: label {source_label!r} has no mapping in the label map")
                continue
            if path not in durations:
                durations[path] = probe(path, skipped)
            duration = durations[path]
            if duration is None:
                continue
            try:
                start = float(rec.get("start_s") or 0.0)
                end = float(rec["end_s"]) if (rec.get("end_s") or "").strip() else duration
            except ValueError:
                skipped.append(f"{where}: start_s/end_s are not numbers")
                continue
            if not 0 <= start < end <= duration + 1e-6:
                skipped.append(f"{where}: span {start}..{end} s is empty or runs past the file's {duration:.3f} s")
                continue
            split = (rec.get("split") or "").strip().lower()
            split = _SPLIT_NAMES.get(split, split)
            if split and split not in SPLITS:
                skipped.append(f"{where}: split {split!r} is not one of {', '.join(SPLITS)}")
                continue
            rec_id = (rec.get("recording_id") or "").strip() or Path(rel).with_suffix("").as_posix()
            extra = {k: v for k, v in rec.items() if k and k not in COLUMNS and v is not None}
            rows.append(Row(str(path), start, end, label, (rec.get("fine_label") or "").strip() or source_label,
                            rec_id, split, source, extra))
    return rows, skipped
