"""ShipsEar (Santos-Domínguez et al. 2016): numbered WAVs plus a class table.

Files are named number first (``6__10_07_13_radaUno_Pasa.wav``); a CSV maps each number to a vessel
type (``Passengers``, ``Trawler``, ...) or directly to a class letter A–E. ``data/label_maps/shipsear.yaml``
maps types onto the letters (aliases) and the letters onto uwac classes (A–D merchant, E ambient).
``recording_id`` is the file number; ``fine_label`` the table's type, ``shipsear_class`` the letter.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from uwac.acoustics.datasets.common import LabelMap, audio_files, load_label_map, make_row, norm
from uwac.acoustics.manifest import Row

_NUMBER = re.compile(r"^(\d+)")
_ID_COLUMNS = ("id", "fileid", "file", "filenumber", "number", "no", "num")
_TYPE_COLUMNS = ("type", "vesseltype", "shiptype", "class", "category", "label")


def _pick(fields: list[str], names: tuple[str, ...]) -> str | None:
    by_norm = {norm(f): f for f in fields}
    return next((by_norm[n] for n in names if n in by_norm), None)


def read_class_table(path: str | Path) -> dict[str, str]:
    """File number → vessel type (or class letter) from a CSV with an id column and a type/class column."""
    path = Path(path)
    with path.open(newline="", errors="replace") as fh:
        sample = fh.read(4096)
        fh.seek(0)
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t") if sample else csv.excel
        reader = csv.DictReader(fh, dialect=dialect)
        fields = list(reader.fieldnames or [])
        id_col, type_col = _pick(fields, _ID_COLUMNS), _pick(fields, _TYPE_COLUMNS)
        if id_col is None or type_col is None:
            raise ValueError(f"{path}: class table needs an id column ({', '.join(_ID_COLUMNS)}) and a type column "
                             f"({', '.join(_TYPE_COLUMNS)}); found {', '.join(fields)}")
        table: dict[str, str] = {}
        for rec in reader:
            m = _NUMBER.match((rec.get(id_col) or "").strip())
            if m and (rec.get(type_col) or "").strip():
                table[str(int(m.group(1)))] = rec[type_col].strip()
    return table


def manifest_from_shipsear(root: str | Path, *, class_table: str | Path | None = None,
                           label_map: str | Path | dict | LabelMap | None = None,
                           source: str = "shipsear") -> tuple[list[Row], list[str]]:
    """Rows for ShipsEar's numbered WAVs under ``root``; ``class_table`` defaults to the one CSV in ``root``."""
    root = Path(root)
    lm = label_map if isinstance(label_map, LabelMap) else load_label_map(label_map, default="shipsear")
    if class_table is None:
        tables = sorted(root.glob("*.csv"))
        if len(tables) != 1:
            raise FileNotFoundError(f"{root}: expected one class table CSV beside the audio, found {len(tables)}; "
                                    "pass class_table (uwac adapt --class-table)")
        class_table = tables[0]
    table = read_class_table(class_table)
    rows: list[Row] = []
    skipped: list[str] = []
    for path in audio_files(root):
        m = _NUMBER.match(path.name)
        if not m:
            skipped.append(f"{path}: file name does not start with a ShipsEar file number")
            continue
        number = str(int(m.group(1)))
        if number not in table:
            skipped.append(f"{path}: file number {number} is not in the class table {class_table}")
            continue
        vessel_type = table[number]
        row = make_row(path, source_label=vessel_type, label_map=lm, recording_id=f"shipsear/{number}",
                       source=source, skipped=skipped, extra={"shipsear_class": lm.source_label(vessel_type).upper()})
        if row is not None:
            rows.append(row)
    return rows, skipped
