"""The node install: a wheel holds one ``uwac`` namespace, installs without extras (no torch, no plotting, no
trees), stays under the size budget and runs ``uwac stream`` on the shipped model, read through
``importlib.resources``."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
BUDGET_MB = 300.0  # issue 10: a node install without extras


def test_every_package_folder_is_installed_under_uwac():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapping = {v: k for k, v in cfg["package-dir"].items()}
    found = set()
    for top, name in mapping.items():
        for init in (ROOT / top).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / top)
            found.add(".".join([name, *rel.parts]))
    assert found == set(cfg["packages"]), found ^ set(cfg["packages"])
    assert all(p.startswith("uwac.") for p in cfg["packages"])


def _site_packages(venv: Path) -> Path:
    return next((venv / "lib").glob("python*/site-packages"))


def _size_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink()) / 2**20


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    """A fresh venv with the wheel installed without extras (the constraints file pins the versions)."""
    work = tmp_path_factory.mktemp("node")
    import importlib.util

    # build with this venv's setuptools when it has one (offline, fast); newer venvs lack it: isolated build
    isolation = [] if importlib.util.find_spec("setuptools") is None else ["--no-build-isolation"]
    had_build = (ROOT / "build").exists()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", *isolation, "-w", str(work / "dist"),
                    str(ROOT)], check=True, capture_output=True, timeout=600)
    if not had_build:  # setuptools' in-tree build folder: not ours to leave behind
        shutil.rmtree(ROOT / "build", ignore_errors=True)
    wheel = next((work / "dist").glob("uwac-*.whl"))
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    bare = {p for p in _site_packages(venv).iterdir()}  # pip and setuptools: the venv's own, not the install's
    r = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "-c", str(ROOT / "constraints.txt"), str(wheel)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return venv, wheel, bare


def test_wheel_holds_one_namespace_and_the_shipped_files(node):
    import zipfile

    _, wheel, _ = node
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith(".dist-info")}
    assert tops == {"uwac"}, tops
    for need in ("uwac/data/models/uwac-default.onnx", "uwac/data/models/uwac-default.int8.onnx",
                 "uwac/data/models/uwac-default.frames.onnx", "uwac/data/models/uwac-default.head.onnx",
                 "uwac/data/label_maps/deepship.yaml", "uwac/training/configs/default.yaml",
                 "uwac/acoustics/console/page.html"):
        assert need in names, need


def test_node_install_is_lean_and_runs_the_shipped_model(node, tmp_path):
    venv, _, bare = node
    site = _site_packages(venv)
    added = [p for p in site.iterdir() if p not in bare]
    size = sum(_size_mb(p) if p.is_dir() else p.stat().st_size / 2**20 for p in added)
    largest = sorted(((_size_mb(p) if p.is_dir() else 0.0), p.name) for p in added)[-4:]
    print(f"node install adds {size:.0f} MB to a fresh venv; largest: {largest}")
    assert size <= BUDGET_MB, f"{size:.0f} MB"
    assert not any((site / n).exists() for n in ("acoustics", "training", "export", "data"))
    py, uwac = str(venv / "bin" / "python"), str(venv / "bin" / "uwac")
    probe = subprocess.run([py, "-c", "import importlib.util as u, json; print(json.dumps({m: u.find_spec(m) is not "
                            "None for m in ('torch', 'sklearn', 'matplotlib', 'librosa', 'numba')}))"],
                           capture_output=True, text=True, check=True, cwd=tmp_path)
    assert not any(json.loads(probe.stdout).values()), probe.stdout
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = lambda *a: subprocess.run([uwac, *a], capture_output=True, text=True, cwd=tmp_path, env=env,  # noqa: E731
                                    timeout=300)
    r = run("synth", "--out", "scenes", "--minutes", "0.5", "--clip-seconds", "15", "--workers", "1")
    assert r.returncode == 0, r.stderr[-2000:]
    wav = sorted((tmp_path / "scenes" / "audio").glob("*.wav"))[0]
    r = run("stream", "--source", str(wav), "--out", "events", "--http", "127.0.0.1:0", "--console")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "uwac-default.onnx" in r.stderr and "Traceback" not in r.stderr
    assert "streaming pair: new frames only" in r.stderr  # the installed pair is found, checked and used
    assert "operator console at http://127.0.0.1:" in r.stderr  # the console runs on the node's core alone
    r = run("evaluate", "x.onnx", "--manifest", "m.csv", "--out", "e")
    assert r.returncode == 2 and "uwac[analysis]" in r.stderr, r.stderr[-2000:]


def test_core_closure_is_the_node_set():
    from uwac.acoustics.stream.footprint import core_closure, core_install_mb

    names = {d.metadata["Name"].lower() for d in core_closure()}
    assert {"uwac", "numpy", "onnxruntime", "soundfile", "soxr"} <= names
    assert not names & {"torch", "scipy", "scikit-learn", "matplotlib", "librosa", "numba", "skops"}, names
    inst = core_install_mb()
    assert inst["total_mb"] > 50 and {p["name"].lower() for p in inst["largest"]} >= {"numpy", "onnxruntime"}
