"""Manifests: one row per labelled span of audio (DESIGN.md, "Manifests").

Columns: ``path, start_s, end_s, label, fine_label, recording_id, split, source`` and any extra
columns (for example ``snr_db``), kept as strings. ``path`` is stored relative to the manifest's
folder when it lies below it (so a rendered dataset can be moved as a whole), else absolute; rows read
back carry absolute paths.
Splits are assigned per ``recording_id`` group, never per span, so no recording is in two splits.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

COLUMNS: tuple[str, ...] = ("path", "start_s", "end_s", "label", "fine_label", "recording_id", "split", "source")
SPLITS: tuple[str, ...] = ("train", "val", "test")


@dataclass
class Row:
    """One labelled span; times in seconds from the start of the file."""

    path: str
    start_s: float
    end_s: float
    label: str
    fine_label: str
    recording_id: str
    split: str = ""
    source: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


class ManifestError(ValueError):
    """A manifest that cannot be used as it is; the message says which row and what to do."""


def read_manifest(path: str | Path) -> list[Row]:
    """Read a manifest CSV; relative audio paths are resolved against the manifest's folder (absolute out)."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"manifest {path} does not exist; render one with `uwac synth --out DIR` first")
    base = path.parent.resolve()
    rows: list[Row] = []
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ManifestError(f"manifest {path} lacks column(s) {', '.join(missing)}; required: {', '.join(COLUMNS)}")
        for line, rec in enumerate(reader, start=2):
            try:
                start, end = float(rec["start_s"]), float(rec["end_s"])
            except ValueError:
                raise ManifestError(f"{path}:{line}: start_s/end_s must be numbers, got {rec['start_s']!r}, {rec['end_s']!r}") from None
            if not end > start >= 0:
                raise ManifestError(f"{path}:{line}: span must satisfy 0 <= start_s < end_s, got {start}..{end}")
            if not rec["recording_id"]:
                raise ManifestError(f"{path}:{line}: empty recording_id; every span needs its recording's id for honest splits")
            audio = Path(rec["path"])
            if not audio.is_absolute():
                audio = base / audio
            extra = {k: v for k, v in rec.items() if k not in COLUMNS and k is not None}
            rows.append(Row(str(audio), start, end, rec["label"], rec["fine_label"], rec["recording_id"],
                            rec["split"], rec["source"], extra))
    if not rows:
        raise ManifestError(f"manifest {path} has no rows")
    return rows


def write_manifest(rows: list[Row], path: str | Path) -> Path:
    """Write rows as CSV (stable column order, paths relative to the manifest where possible)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    extras = sorted({k for r in rows for k in r.extra})
    base = path.parent.resolve()
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow([*COLUMNS, *extras])
        for r in rows:
            audio = Path(r.path).resolve()
            try:
                shown = audio.relative_to(base).as_posix()
            except ValueError:  # not below the manifest: absolute, so the manifest reads the same from anywhere
                shown = str(audio)
            writer.writerow([shown, f"{r.start_s:.6f}", f"{r.end_s:.6f}", r.label, r.fine_label,
                             r.recording_id, r.split, r.source, *(r.extra.get(k, "") for k in extras)])
    return path


def group_of(row: Row, group_key: str = "recording_id") -> str:
    """The split group of a row: a manifest column, or an extra column (empty falls back to ``recording_id``)."""
    if group_key in COLUMNS:
        return str(getattr(row, group_key))
    return row.extra.get(group_key) or row.recording_id


def assign_splits(rows: list[Row], *, fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
                  seed: int = 0, group_key: str = "recording_id") -> list[Row]:
    """Split by group (``recording_id`` unless ``group_key`` names another column), stratified by label, seeded.

    Each label's groups are shuffled and cut by ``fractions`` (train, val, test); every label
    with at least three groups gets at least one in each split. ``group_key="vessel_id"`` holds whole
    vessels out (see :func:`group_of`). Returns new rows.
    """
    if abs(sum(fractions) - 1.0) > 1e-9 or min(fractions) < 0:
        raise ValueError(f"split fractions must be >= 0 and sum to 1, got {fractions}")
    groups: dict[str, str] = {}
    for r in rows:  # a group holding two labels is stratified by its first; the split is still by group
        groups.setdefault(group_of(r, group_key), r.label)
    rng = np.random.default_rng(seed)
    split_of: dict[str, str] = {}
    for label in sorted(set(groups.values())):
        ids = sorted(g for g, lab in groups.items() if lab == label)
        rng.shuffle(ids)
        n = len(ids)
        n_val = int(round(fractions[1] * n))
        n_test = int(round(fractions[2] * n))
        if n >= 3:
            n_val, n_test = max(n_val, 1 if fractions[1] > 0 else 0), max(n_test, 1 if fractions[2] > 0 else 0)
        n_train = n - n_val - n_test
        for i, g in enumerate(ids):
            split_of[g] = "train" if i < n_train else ("val" if i < n_train + n_val else "test")
    return [Row(r.path, r.start_s, r.end_s, r.label, r.fine_label, r.recording_id, split_of[group_of(r, group_key)],
                r.source, dict(r.extra)) for r in rows]


def check_no_leakage(rows: list[Row]) -> None:
    """Raise if any ``recording_id`` appears in more than one split (the leak DESIGN.md warns about)."""
    seen: dict[str, set[str]] = {}
    for r in rows:
        seen.setdefault(r.recording_id, set()).add(r.split)
    leaks = sorted(g for g, s in seen.items() if len(s) > 1)
    if leaks:
        shown = ", ".join(f"{g} ({'/'.join(sorted(seen[g]))})" for g in leaks[:5])
        raise ManifestError(f"{len(leaks)} recording(s) appear in more than one split: {shown}"
                            f"{' ...' if len(leaks) > 5 else ''}; re-split by recording_id")


def manifest_fingerprint(rows: list[Row]) -> str:
    """SHA-256 of the rows' identity (path name, span, label, recording, split): the training data's fingerprint."""
    h = hashlib.sha256()
    for r in sorted(rows, key=lambda r: (r.recording_id, r.start_s, Path(r.path).name)):
        h.update(f"{Path(r.path).name}|{r.start_s:.6f}|{r.end_s:.6f}|{r.label}|{r.recording_id}|{r.split}\n".encode())
    return h.hexdigest()


def split_protocol(rows: list[Row]) -> str:
    """Which held-out protocol the rows' splits follow: ``VES``, ``REC`` or ``LEAKY``.

    ``VES`` (vessel-disjoint) when every row has a ``vessel_id`` and no vessel is in two splits;
    ``REC`` (recording-disjoint) when no ``recording_id`` is; else ``LEAKY`` (the 97 % vs 66 % trap).
    """
    def disjoint(key) -> bool:
        seen: dict[str, str] = {}
        return all(seen.setdefault(key(r), r.split) == r.split for r in rows)

    if not disjoint(lambda r: r.recording_id):
        return "LEAKY"
    if all(r.extra.get("vessel_id") for r in rows) and disjoint(lambda r: r.extra["vessel_id"]):
        return "VES"
    return "REC"


PROTOCOL_TITLES = {"VES": "vessel-disjoint splits (VES)", "REC": "recording-disjoint splits (REC)",
                   "LEAKY": "LEAKY splits: recordings shared between train and test; figures are not comparable"}
