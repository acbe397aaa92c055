"""Layer rules checked statically (import-linter, contracts in pyproject.toml): every import, lazy ones included,
not only what a run happens to load."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    if exe is None:
        pytest.skip("import-linter is not installed (it comes with the dev extra)")
    return subprocess.run([exe, "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_layer_contracts_are_kept():
    r = _lint(ROOT)
    assert r.returncode == 0, r.stdout[-4000:]
    contracts = (ROOT / "pyproject.toml").read_text().count("[[tool.importlinter.contracts]]")
    assert f"{contracts} kept, 0 broken" in r.stdout


def test_a_broken_rule_is_caught(tmp_path):
    """The check would notice: the same contracts over a config where acoustics may not import numpy fail."""
    text = (ROOT / "pyproject.toml").read_text().replace('forbidden_modules = ["uwac.training", "uwac.export", "uwac.bench", "torch"',
                                                          'forbidden_modules = ["numpy", "uwac.training", "uwac.export", "uwac.bench", "torch"')
    (tmp_path / "pyproject.toml").write_text(text)
    r = _lint(tmp_path)
    assert r.returncode != 0 and "not allowed to import numpy" in r.stdout, r.stdout[-2000:]
