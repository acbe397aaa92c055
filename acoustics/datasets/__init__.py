"""Adapters from public datasets to uwac manifests (DESIGN.md, "Manifests").

Each ``manifest_from_<name>(root, ...)`` returns ``(rows, skipped)``: manifest rows and one
``"path: reason"`` line per file left out (unreadable, empty, unmapped label). Labels map onto the
four uwac classes through ``data/label_maps/<dataset>.yaml``; the source label stays as ``fine_label``.
``realclips`` (real hydrophone clips listed in a ``manifest.csv``) also adds ``category`` and ``role``
(bank: ambient backgrounds for training, check: the real-world check of ``uwac evaluate``).
"""

from uwac.acoustics.datasets.csvlist import manifest_from_csv
from uwac.acoustics.datasets.deepship import manifest_from_deepship
from uwac.acoustics.datasets.folder import manifest_from_folder
from uwac.acoustics.datasets.realclips import manifest_from_realclips
from uwac.acoustics.datasets.shipsear import manifest_from_shipsear
from uwac.acoustics.datasets.vtuad import manifest_from_vtuad

ADAPTERS = {
    "deepship": manifest_from_deepship,
    "shipsear": manifest_from_shipsear,
    "vtuad": manifest_from_vtuad,
    "folder": manifest_from_folder,
    "csv": manifest_from_csv,
    "realclips": manifest_from_realclips,
}

__all__ = ["ADAPTERS", "manifest_from_csv", "manifest_from_deepship", "manifest_from_folder",
           "manifest_from_realclips", "manifest_from_shipsear", "manifest_from_vtuad"]
