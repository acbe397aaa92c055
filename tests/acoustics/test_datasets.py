"""Dataset adapters on tiny fake trees in each dataset's layout, and `uwac adapt` / `uwac split`."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from uwac.acoustics.datasets import (
    manifest_from_csv,
    manifest_from_deepship,
    manifest_from_folder,
    manifest_from_shipsear,
    manifest_from_vtuad,
)
from uwac.acoustics.manifest import assign_splits, check_no_leakage, read_manifest

ROOT = Path(__file__).resolve().parents[2]
SR = 4000


def wav(path: Path, seconds: float = 0.25, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.random.default_rng(seed).normal(0, 0.1, int(SR * seconds)).astype(np.float32), SR)
    return path


def bad_files(folder: Path) -> tuple[Path, Path]:
    """One corrupt file (random bytes) and one zero-length file."""
    folder.mkdir(parents=True, exist_ok=True)
    corrupt, empty = folder / "corrupt.wav", folder / "empty.wav"
    corrupt.write_bytes(np.random.default_rng(1).integers(0, 256, 2000, dtype=np.uint8).tobytes())
    empty.write_bytes(b"")
    return corrupt, empty


def assert_skipped(skipped, *paths):
    for p in paths:
        assert any(line.startswith(f"{p}:") for line in skipped), (p, skipped)


def deepship_tree(root: Path) -> Path:
    for cls, ids in {"Cargo": [1, 2, 3], "Passengership": [5, 6, 7], "Tanker": [9, 10, 11], "Tug": [12, 13, 14]}.items():
        for i in ids:
            wav(root / cls / f"{i}.wav", seed=i)
        ships = ["ALPHA", "ALPHA ", "BRAVO"]  # two recordings of one ship
        (root / cls / f"{cls.lower()}-metafile").write_text(
            "".join(f"{i},70,{ships[k]},20171104,203623,458,1583-1981,\n" for k, i in enumerate(ids)))
    for k in range(2):  # segmented copies of one recording
        wav(root / "Tug" / f"40-Segment_{k}.wav", seed=40 + k)
    wav(root / "Cargo" / "Cargo7" / "audio1.wav")  # one folder per recording
    wav(root / "Cargo" / "Cargo7" / "audio2.wav")
    bad_files(root / "Tanker")
    return root


def test_deepship(tmp_path):
    root = deepship_tree(tmp_path / "DeepShip")
    rows, skipped = manifest_from_deepship(root)
    assert {r.label for r in rows} == {"merchant"}
    assert {r.fine_label for r in rows} == {"Cargo", "Passengership", "Tanker", "Tug"}
    by_name = {Path(r.path).relative_to(root).as_posix(): r for r in rows}
    assert by_name["Cargo/1.wav"].recording_id == "cargo/1"
    assert by_name["Cargo/1.wav"].extra["vessel_id"] == by_name["Cargo/2.wav"].extra["vessel_id"] == "ALPHA"
    assert by_name["Tug/40-Segment_0.wav"].recording_id == by_name["Tug/40-Segment_1.wav"].recording_id == "tug/40"
    assert by_name["Cargo/Cargo7/audio2.wav"].recording_id == "cargo/Cargo7"
    assert by_name["Cargo/1.wav"].end_s == pytest.approx(0.25)
    assert_skipped(skipped, root / "Tanker" / "corrupt.wav", root / "Tanker" / "empty.wav")
    assert len(rows) == 16 and len(skipped) == 2


def shipsear_tree(root: Path) -> Path:
    names = {6: "6__10_07_13_radaUno_Pasa.wav", 7: "7__10_07_13_marDeOnza_Sale.wav", 15: "15__10_07_13_mussel.wav",
             21: "21__18_07_13_motorboat.wav", 80: "80__ambient.wav", 90: "90__unmapped.wav"}
    for n, name in names.items():
        wav(root / name, seed=n)
    (root / "shipsEar_classes.csv").write_text("Id,Type,Name\n6,Passengers,Mar de Mouro\n7,Passengers,Mar de Onza\n"
                                               "15,Mussel boat,x\n21,Motorboat,y\n80,Natural ambient noise,\n"
                                               "90,Submarine,z\n31,C,missing file\n")
    corrupt, empty = bad_files(root)
    corrupt.rename(root / "40__corrupt.wav")
    empty.rename(root / "41__empty.wav")
    return root


def test_shipsear(tmp_path):
    root = shipsear_tree(tmp_path / "ShipsEar")
    rows, skipped = manifest_from_shipsear(root)
    got = {r.recording_id: (r.label, r.fine_label, r.extra["shipsear_class"]) for r in rows}
    assert got == {"shipsear/6": ("merchant", "Passengers", "C"), "shipsear/7": ("merchant", "Passengers", "C"),
                   "shipsear/15": ("merchant", "Mussel boat", "A"), "shipsear/21": ("merchant", "Motorboat", "B"),
                   "shipsear/80": ("ambient", "Natural ambient noise", "E")}
    assert_skipped(skipped, root / "90__unmapped.wav", root / "40__corrupt.wav", root / "41__empty.wav")
    assert any("no mapping" in s for s in skipped) and len(skipped) == 3


def vtuad_tree(root: Path) -> Path:
    scen = root / "inclusion_2000_exclusion_4000"
    k = 0
    for split in ("train", "validation", "test"):
        for cls in ("background", "cargo", "passengership", "tanker", "tug"):
            for _ in range(2):
                wav(scen / split / "audio" / cls / f"{k}.wav", seconds=0.2, seed=k)
                k += 1
        (scen / split / "metadata.csv").write_text("file_index,label,MMSI\n0,background,316001\n1,background,316001\n")
    bad_files(scen / "test" / "audio" / "tug")
    return root


def test_vtuad_keeps_its_splits(tmp_path):
    root = vtuad_tree(tmp_path / "VTUAD")
    rows, skipped = manifest_from_vtuad(root)
    assert {r.split for r in rows} == {"train", "val", "test"}
    for r in rows:
        assert r.split == {"train": "train", "validation": "val", "test": "test"}[Path(r.path).parts[-4]]
        assert r.fine_label == Path(r.path).parent.name
        assert r.label == ("ambient" if r.fine_label == "background" else "merchant")
    check_no_leakage(rows)
    first = next(r for r in rows if r.path.endswith("train/audio/background/0.wav"))
    assert first.recording_id == "inclusion_2000_exclusion_4000/train/background/0"
    assert first.extra["vessel_id"] == "316001"
    assert len(rows) == 30 and len(skipped) == 2


def test_folder_and_csv(tmp_path):
    root = tmp_path / "tree"
    wav(root / "merchant" / "day1" / "a.wav")
    wav(root / "ambient" / "b.flac")
    wav(root / "whales" / "c.wav")
    bad_files(root / "drone")
    rows, skipped = manifest_from_folder(root)
    assert sorted((r.recording_id, r.label) for r in rows) == [("ambient/b", "ambient"), ("merchant/day1/a", "merchant")]
    assert len(skipped) == 3 and any("'whales'" in s for s in skipped)

    (root / "list.csv").write_text("path,label,start_s,end_s,recording_id,split,site\n"
                                   "merchant/day1/a.wav,merchant,0,0.1,passA,train,x\n"
                                   "merchant/day1/a.wav,merchant,0.1,,passA,validation,x\n"
                                   "ambient/b.flac,ambient,,,,,y\n"
                                   "ambient/b.flac,ambient,0,9,,,y\n"
                                   "drone/corrupt.wav,drone,,,,,z\n")
    rows, skipped = manifest_from_csv(root / "list.csv")
    assert [(r.recording_id, r.split, r.end_s) for r in rows] == [("passA", "train", 0.1), ("passA", "val", 0.25),
                                                                  ("ambient/b", "", 0.25)]
    assert rows[0].extra == {"site": "x"} and len(skipped) == 2


def test_ves_split_holds_vessels_out(tmp_path):
    rows, _ = manifest_from_deepship(deepship_tree(tmp_path / "DeepShip"))
    for key in ("recording_id", "vessel_id"):
        split = assign_splits(rows, seed=3, group_key=key)
        check_no_leakage(split)
        seen = {}
        for r in split:
            seen.setdefault(r.extra.get(key) or r.recording_id if key == "vessel_id" else r.recording_id, set()).add(r.split)
        assert all(len(s) == 1 for s in seen.values())
    assert assign_splits(rows, seed=3) == assign_splits(rows, seed=3, group_key="recording_id")


def uwac(*args):
    return subprocess.run([sys.executable, "-m", "uwac.acoustics", *map(str, args)], capture_output=True, text=True, cwd=ROOT)


def test_cli_adapt_and_split(tmp_path):
    root = deepship_tree(tmp_path / "DeepShip")
    out = tmp_path / "m" / "manifest.csv"
    res = uwac("adapt", "deepship", root, "--out", out)
    assert res.returncode == 0, res.stderr
    assert len(read_manifest(out)) == 16
    assert len((out.parent / "skipped.txt").read_text().splitlines()) == 2
    for protocol in ("rec", "ves"):
        m2 = tmp_path / f"{protocol}.csv"
        res = uwac("split", out, "--out", m2, "--protocol", protocol, "--seed", 1)
        assert res.returncode == 0, res.stderr
        assert "train" in res.stdout and "merchant" in res.stdout
        rows = read_manifest(m2)
        check_no_leakage(rows)
        groups = {}
        for r in rows:
            g = (r.extra.get("vessel_id") or r.recording_id) if protocol == "ves" else r.recording_id
            groups.setdefault(g, set()).add(r.split)
        assert all(len(s) == 1 for s in groups.values())
    res = uwac("adapt", "vtuad", vtuad_tree(tmp_path / "VTUAD"), "--out", tmp_path / "v" / "m.csv")
    assert res.returncode == 0, res.stderr
    assert {r.split for r in read_manifest(tmp_path / "v" / "m.csv")} == {"train", "val", "test"}
    res = uwac("adapt", "folder", tmp_path / "nothing-here", "--out", tmp_path / "x" / "m.csv")
    assert res.returncode == 2 and "error" in res.stderr
