"""VTUAD (Domingos et al. 2022, IEEE DataPort): ``<scenario>/{train,validation,test}/audio/<class>/*.wav``.

Scenarios are ``inclusion_2000_exclusion_4000`` and the like; classes background, cargo,
passengership, tanker, tug. The dataset's own split is kept (``validation`` → ``val``). ``root`` may
be the dataset folder (pick one ``scenario`` when it holds several), a scenario folder, or anything
above ``<split>/audio/<class>``. A split's ``metadata.csv`` (``file_index``, ``MMSI``), when present,
fills the ``vessel_id`` column. ``recording_id`` is the file name's recording part; bare numeric
names (one clip index per split) are scoped by scenario, split and class.
"""

from __future__ import annotations

import csv
from pathlib import Path

from uwac.acoustics.datasets.common import LabelMap, audio_files, load_label_map, make_row
from uwac.acoustics.datasets.deepship import recording_part
from uwac.acoustics.manifest import Row

SPLIT_NAMES = {"train": "train", "training": "train", "validation": "val", "valid": "val", "val": "val",
               "test": "test", "testing": "test"}


def _mmsi_by_index(split_dir: Path) -> dict[str, str]:
    meta = split_dir / "metadata.csv"
    if not meta.is_file():
        return {}
    with meta.open(newline="", errors="replace") as fh:
        reader = csv.DictReader(fh)
        cols = {c.lower(): c for c in reader.fieldnames or [] if c}
        if "file_index" not in cols or "mmsi" not in cols:
            return {}
        out = {}
        for rec in reader:
            idx, mmsi = rec[cols["file_index"]].strip(), rec[cols["mmsi"]].strip()
            if idx and mmsi:
                out[idx.split(".")[0]] = mmsi.split(".")[0]
        return out


def manifest_from_vtuad(root: str | Path, *, scenario: str | None = None,
                        label_map: str | Path | dict | LabelMap | None = None,
                        source: str = "vtuad") -> tuple[list[Row], list[str]]:
    """Rows for VTUAD clips with VTUAD's own train/val/test split, and the files skipped (with why)."""
    root = Path(root)
    lm = label_map if isinstance(label_map, LabelMap) else load_label_map(label_map, default="vtuad")
    found: list[tuple[Path, str, str, str, Path]] = []  # path, scenario, split folder, class, split dir
    for path in audio_files(root):
        parts = path.relative_to(root).parts
        i = max((k for k, p in enumerate(parts[:-1]) if p.lower() == "audio"), default=-1)
        if i < 1 or i + 3 != len(parts):  # not <split>/audio/<class>/<file>
            continue
        split_dir = path.parents[2]
        scen = parts[i - 2] if i >= 2 else (root.name if i == 1 else "")
        found.append((path, scen, parts[i - 1], parts[i + 1], split_dir))
    scenarios = sorted({f[1] for f in found})
    if scenario is None and len(scenarios) > 1:
        raise ValueError(f"{root} holds several VTUAD scenarios ({', '.join(scenarios)}); pick one with scenario= "
                         "(uwac adapt vtuad --scenario NAME): their clips overlap")
    rows: list[Row] = []
    skipped: list[str] = []
    mmsi_cache: dict[Path, dict[str, str]] = {}
    for path, scen, split_folder, cls, split_dir in found:
        if scenario is not None and scen != scenario:
            continue
        split = SPLIT_NAMES.get(split_folder.lower())
        if split is None:
            skipped.append(f"{path}: folder {split_folder!r} is not a VTUAD split (train, validation, test)")
            continue
        rec = recording_part(path.stem)
        rec_id = f"{scen}/{split}/{cls}/{rec}" if rec.isdigit() else f"{scen}/{rec}"
        mmsi = mmsi_cache.setdefault(split_dir, _mmsi_by_index(split_dir)).get(path.stem)
        row = make_row(path, source_label=cls, label_map=lm, recording_id=rec_id, source=source, skipped=skipped,
                       split=split, extra={"vessel_id": mmsi, "scenario": scen} if mmsi else {"scenario": scen})
        if row is not None:
            rows.append(row)
    return rows, skipped
