"""Every module, and every public function and class, says what it is for (SpeechBrain's habit)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(p for pkg in ("acoustics", "training", "export", "bench") for p in (ROOT / pkg).rglob("*.py")
                 if p.name != "__main__.py")


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_public_api_has_docstrings(path):
    tree = ast.parse(path.read_text())
    missing = [] if ast.get_docstring(tree) else ["<module>"]
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
            if not ast.get_docstring(node):
                missing.append(node.name)
    assert not missing, f"{path.relative_to(ROOT)}: no docstring on {', '.join(missing)}"
