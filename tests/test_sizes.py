"""Rooms stay small (issue 15): no source module over 600 lines, no function over 100 lines."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(p for pkg in ("acoustics", "training", "export", "bench") for p in (ROOT / pkg).rglob("*.py"))
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 100


def oversized(path: Path) -> list[str]:
    """What in one source file is over the limits, as ``name (lines)``."""
    text = path.read_text()
    found = [f"<module> ({len(text.splitlines())})"] if len(text.splitlines()) > MAX_MODULE_LINES else []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lines = node.end_lineno - node.lineno + 1
            if lines > MAX_FUNCTION_LINES:
                found.append(f"{node.name} ({lines})")
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_module_and_functions_within_limits(path):
    assert not oversized(path), f"{path.relative_to(ROOT)}: over the limits: {', '.join(oversized(path))}"


def test_the_check_sees_an_oversized_function(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    (tmp_path / "big.py").write_text(f"def big():\n{body}\n")
    assert oversized(tmp_path / "big.py") == [f"big ({MAX_FUNCTION_LINES + 1})"]
