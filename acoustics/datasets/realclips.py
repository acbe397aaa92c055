"""Real hydrophone clips: a folder with a ``manifest.csv`` listing each file (``../shared/realdata`` layout).

The folder's ``manifest.csv`` has the columns ``file, source_repo, source_path, source_commit, licence,
coarse_class, label, duration_s, sample_rate, channels, sample_format, md5, notes``; ``file`` is relative
to the folder and its first part is the source (``deepship_segments``, ``sanctsound``, ...). Each listed
file becomes one row spanning the whole file. ``data/label_maps/realclips.yaml`` maps ``coarse_class`` to
the uwac class, to a ``category`` column (vessel, ambient, biological, anthropogenic, unlabelled) and to
the fine label, and names the sources whose clips are the ``bank`` role (real ambient backgrounds for
mixing: split ``train``); every other source is ``check`` (the real-world check: split ``test``).
``recording_id`` is ``<source>/<file name>`` without extension and without a ``-Segment_<k>`` suffix,
so cuts of one recording share it. The source's free-text label is dropped (the coarse class is kept
in a ``coarse_class`` column). Audio files under the folder that the manifest does not list, unreadable
files and unmapped coarse classes are skipped and listed.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import yaml

from uwac.acoustics.datasets.common import LABEL_MAP_DIR, LabelMap, audio_files, make_row, norm
from uwac.acoustics.datasets.deepship import recording_part
from uwac.acoustics.manifest import Row

ROLES = ("bank", "check")
ROLE_SPLIT = {"bank": "train", "check": "test"}
REQUIRED_COLUMNS = ("file", "coarse_class")


@dataclass
class RealClipsMap:
    """``coarse_class`` → uwac class, category and fine label, and the sources whose clips are the bank."""

    classes: LabelMap
    categories: dict[str, str]
    fine_labels: dict[str, str]
    bank_sources: frozenset[str]
    default_role: str = "check"

    def category(self, coarse_class: str) -> str | None:
        """The real-world category of a coarse class, or None when the map has none."""
        return self.categories.get(norm(coarse_class))

    def fine_label(self, coarse_class: str) -> str:
        """The fine label of a coarse class (the coarse class itself unless the map names one)."""
        return self.fine_labels.get(norm(coarse_class), coarse_class)

    def role(self, source: str) -> str:
        """``bank`` for a source listed under ``roles.bank``, else the default role (``check``)."""
        return "bank" if source in self.bank_sources else self.default_role


def load_realclips_map(spec: str | Path | dict | None = None) -> RealClipsMap:
    """The realclips map from a dict, a YAML path, or ``None`` for ``data/label_maps/realclips.yaml``."""
    if isinstance(spec, dict):
        data = spec
    else:
        path = Path(spec) if spec is not None else LABEL_MAP_DIR / "realclips.yaml"
        if not path.suffix:
            path = LABEL_MAP_DIR / f"{spec}.yaml"
        if not path.is_file():
            raise FileNotFoundError(f"label map {path} not found; pass a YAML file like data/label_maps/realclips.yaml")
        data = yaml.safe_load(path.read_text()) or {}
    for key in ("classes", "categories"):
        if key not in data:
            raise ValueError(f"realclips label map {spec or 'realclips'} has no `{key}:` mapping (coarse_class: ...)")
    roles = data.get("roles") or {}
    default = str(roles.get("default", "check"))
    if default not in ROLES:
        raise ValueError(f"realclips label map: roles.default is {default!r}; expected one of {', '.join(ROLES)}")
    return RealClipsMap(classes=LabelMap(classes=data["classes"]),
                        categories={norm(k): str(v) for k, v in data["categories"].items()},
                        fine_labels={norm(k): str(v) for k, v in (data.get("fine_labels") or {}).items()},
                        bank_sources=frozenset(str(s) for s in roles.get("bank") or ()), default_role=default)


def manifest_from_realclips(root: str | Path, *, label_map: str | Path | dict | RealClipsMap | None = None,
                            source: str | None = None) -> tuple[list[Row], list[str]]:
    """Rows for every file listed in ``root/manifest.csv``, and the files skipped (with why).

    ``source``: overrides the per-file source (the file's top-level folder); leave it ``None``.
    """
    root = Path(root)
    table = root / "manifest.csv" if root.is_dir() else root
    root = table.parent
    if not table.is_file():
        raise FileNotFoundError(f"{table} not found; realclips needs a folder with a manifest.csv "
                                "(columns file, coarse_class, ...), e.g. ../shared/realdata")
    rmap = label_map if isinstance(label_map, RealClipsMap) else load_realclips_map(label_map)
    rows: list[Row] = []
    skipped: list[str] = []
    listed: set[Path] = set()
    with table.open(newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{table}: lacks column(s) {', '.join(missing)}; expected the realdata layout "
                             "(file, coarse_class, label, sample_rate, ...)")
        for line, rec in enumerate(reader, start=2):
            rel = Path((rec.get("file") or "").strip())
            path = root / rel
            listed.add(path.resolve())
            coarse = (rec.get("coarse_class") or "").strip()
            src = source or (rel.parts[0] if len(rel.parts) > 1 else "realclips")
            category = rmap.category(coarse)
            if rmap.classes.lookup(coarse) is None or category is None:
                what = "class" if rmap.classes.lookup(coarse) is None else "category"
                skipped.append(f"{path}: coarse_class {coarse!r} (manifest line {line}) has no {what} "
                               "in the realclips label map (data/label_maps/realclips.yaml)")
                continue
            role = rmap.role(src)
            extra = {"category": category, "role": role, "coarse_class": coarse}
            row = make_row(path, source_label=coarse, label_map=rmap.classes,
                           recording_id=f"{src}/{recording_part(rel.stem)}", source=src, skipped=skipped,
                           split=ROLE_SPLIT[role], extra=extra, fine_label=rmap.fine_label(coarse))
            if row is not None:
                rows.append(row)
    for path in audio_files(root):
        if path.resolve() not in listed:
            skipped.append(f"{path}: audio file not listed in {table.name}")
    return rows, skipped


def role_report(rows: list[Row]) -> str:
    """Which clips went where: per role, its split, sources, total duration and every file."""
    lines = []
    for role in ROLES:
        sel = [r for r in rows if r.extra.get("role") == role]
        if not sel:
            lines.append(f"{role}: no clips")
            continue
        sources = sorted({r.source for r in sel})
        minutes = sum(r.duration_s for r in sel) / 60
        lines.append(f"{role} (split {ROLE_SPLIT[role]}): {len(sel)} clip(s), {minutes:.1f} min, "
                     f"source(s) {', '.join(sources)}")
        lines += [f"  {r.source}: {Path(r.path).name} [{r.extra.get('category', '')}, {r.label}, "
                  f"{r.duration_s:.1f} s]" for r in sel]
    return "\n".join(lines)
