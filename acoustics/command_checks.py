"""What a ``uwac`` command needs before it starts: one clear line instead of a traceback on a lean install.

Shared by the command line's composition roots (``acoustics/cli.py``, ``bench/cli.py``); imports nothing heavy.
"""

from __future__ import annotations

from importlib.util import find_spec


class CommandError(Exception):
    """An expected failure to report as one line."""


def needs_torch(command: str) -> None:
    """Fail with one clear line, before any work, when torch is not installed (a node install)."""
    if find_spec("torch") is None:
        raise CommandError(f"`uwac {command}` needs PyTorch: pip install 'uwac[train]' "
                           "(with the constraints file, see README)")


def needs_analysis(command: str) -> None:
    """Fail with one clear line when the analysis extra (scikit-learn, skops, matplotlib) is not installed: a
    node installs the daemon's dependencies alone."""
    missing = [m for m in ("sklearn", "skops", "matplotlib") if find_spec(m) is None]
    if missing:
        raise CommandError(f"`uwac {command}` needs {', '.join(missing)}: pip install 'uwac[analysis]' "
                           "(with the constraints file, see README)")
