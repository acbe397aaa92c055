"""The acoustics package must never pull in torch: a sonar node installs uwac without it."""

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import uwac.acoustics

ROOT = Path(__file__).resolve().parents[1]


def all_acoustics_modules() -> list[str]:
    names = ["uwac.acoustics"]
    for mod in pkgutil.walk_packages(uwac.acoustics.__path__, prefix="uwac.acoustics."):
        if not mod.name.endswith("__main__"):  # importing it runs the command line
            names.append(mod.name)
    return names


def test_acoustics_never_imports_torch():
    modules = all_acoustics_modules()
    assert len(modules) > 8, modules  # the walk found the package's modules, not an empty list
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'acoustics', 'training', "
        "'export'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    # torch never; nor the folders under their bare names (everything is uwac.*: one copy of each module)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [], "acoustics imported torch or a bare package"


def test_boundary_check_detects_torch():
    """The check above would notice: importing a training module does load torch."""
    code = "import sys, uwac.training.frontend; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "True"
