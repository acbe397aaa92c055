"""Files shipped with the package (``uwac.data``), found the same way in a source checkout and in a wheel."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def data_path(*parts: str) -> Path:
    """Path of a shipped file, e.g. ``data_path("models", "uwac-default.onnx")``: ``data/`` in a checkout,
    ``site-packages/uwac/data/`` once installed (a regular file either way, so onnxruntime can open it)."""
    return Path(str(files("uwac.data").joinpath(*parts)))
