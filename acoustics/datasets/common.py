"""Shared adapter helpers: label maps, probing audio files, building rows."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from uwac.acoustics.audio_io import AudioError, audio_info
from uwac.acoustics.manifest import Row
from uwac.acoustics.resources import data_path
from uwac.acoustics.taxonomy import CLASSES

LABEL_MAP_DIR = data_path("label_maps")
AUDIO_SUFFIXES = (".wav", ".flac")


def norm(label: str) -> str:
    """A label compared loosely: lower case, without spaces, underscores, hyphens or dots."""
    return re.sub(r"[\s_\-.]+", "", str(label)).lower()


class LabelMap:
    """Source label → uwac class, from a YAML file with ``classes:`` (label: class) and ``aliases:`` (name: label)."""

    def __init__(self, *, classes: dict[str, str], aliases: dict[str, str] | None = None):
        bad = sorted({c for c in classes.values() if c not in CLASSES})
        if bad:
            raise ValueError(f"label map names unknown uwac class(es) {', '.join(bad)}; expected {', '.join(CLASSES)}")
        self.classes = {norm(k): v for k, v in classes.items()}
        self.aliases = {norm(k): str(v) for k, v in (aliases or {}).items()}

    def source_label(self, label: str) -> str:
        """The source label an alias stands for (the label itself when it is no alias)."""
        return self.aliases.get(norm(label), label)

    def lookup(self, label: str) -> str | None:
        """The uwac class of a source label or alias, or None when unmapped."""
        return self.classes.get(norm(self.source_label(label)))


def load_label_map(spec: str | Path | dict | None, *, default: str | None = None) -> LabelMap:
    """A label map from a dict, a YAML path, or a dataset name under ``data/label_maps/``.

    ``None`` uses ``default`` (a dataset name) or, without one, the identity map of the uwac classes.
    """
    spec = spec if spec is not None else default
    if spec is None:
        return LabelMap(classes={c: c for c in CLASSES})
    if isinstance(spec, dict):
        data = spec
    else:
        path = Path(spec)
        if not path.suffix:
            path = LABEL_MAP_DIR / f"{spec}.yaml"
        if not path.is_file():
            raise FileNotFoundError(f"label map {path} not found; pass a YAML file with a `classes:` mapping")
        data = yaml.safe_load(path.read_text()) or {}
    if "classes" not in data:
        raise ValueError(f"label map {spec} has no `classes:` mapping (source label: uwac class)")
    return LabelMap(classes=data["classes"], aliases=data.get("aliases"))


def probe(path: Path, skipped: list[str]) -> float | None:
    """Duration of a usable audio file in s, or None after appending why it is skipped."""
    try:
        if path.stat().st_size == 0:
            skipped.append(f"{path}: zero-length file")
            return None
        _, _, duration = audio_info(path)
    except (AudioError, OSError) as exc:
        skipped.append(f"{path}: {str(exc).removeprefix(f'{path}: ')}")
        return None
    if duration <= 0:
        skipped.append(f"{path}: no samples (truncated or empty audio)")
        return None
    return duration


def audio_files(root: Path) -> list[Path]:
    """WAV/FLAC files below ``root`` (any case of suffix), sorted."""
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)


def make_row(path: Path, *, source_label: str, label_map: LabelMap, recording_id: str, source: str,
             skipped: list[str], split: str = "", extra: dict[str, str] | None = None,
             fine_label: str | None = None) -> Row | None:
    """A row spanning the whole file, or None (with a skip message) for bad audio or an unmapped label."""
    label = label_map.lookup(source_label)
    if label is None:
        skipped.append(f"{path}: label {source_label!r} has no mapping in the {source} label map")
        return None
    duration = probe(path, skipped)
    if duration is None:
        return None
    return Row(str(path), 0.0, duration, label, fine_label if fine_label is not None else source_label,
               recording_id, split, source, dict(extra or {}))
