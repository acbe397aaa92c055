"""Code provenance: which uwac source produced a run or a model (version plus git commit when known)."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

from uwac.acoustics import __version__

_REPO = Path(__file__).resolve().parents[1]


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """``0.1.0+g<commit>`` (``.dirty`` with uncommitted changes) in a git checkout, else the package version."""
    if not (_REPO / ".git").exists():
        return __version__
    try:
        commit = subprocess.run(["git", "-C", str(_REPO), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(_REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return __version__
    return f"{__version__}+g{commit}{'.dirty' if dirty else ''}"
