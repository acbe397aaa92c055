"""``uwac labels import``: Raven selection tables over their audio become analyst manifests (issue 16 item 3)."""

import numpy as np
import pytest
import soundfile as sf

from uwac.acoustics.cli import main
from uwac.acoustics.datasets.raven import manifest_from_raven
from uwac.acoustics.manifest import ManifestError, assign_splits, read_manifest
from uwac.acoustics.stream.raven import HEADER, format_table

RATE = 16000


def day_of_files(folder, seconds=(10.0, 10.0, 10.0), channels=1):
    """Recorder files in name order, as `uwac stream --source DIR` reads them (seconds each)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i, s in enumerate(seconds):
        shape = (int(s * RATE), channels) if channels > 1 else int(s * RATE)
        sf.write(folder / f"rec_{i:03d}.wav", (0.01 * rng.standard_normal(shape)).astype(np.float32), RATE)
    return folder


def contact(ch, start, end, cls, fine=None, name="c"):
    return {"channel": ch, "start_s": start, "end_s": end, "class": cls, "fine_class": fine, "confidence": 0.9,
            "contact": name, "start_utc": None, "end_utc": None}


def test_uwac_own_table_maps_stream_seconds_onto_the_file_sequence(tmp_path):
    audio = day_of_files(tmp_path / "day")
    table = tmp_path / "contacts.selections.txt"
    text = format_table([contact(0, 5.0, 12.0, "warship", "frigate", "a"),   # crosses rec_000 -> rec_001
                         contact(1, 21.0, 25.0, "merchant", None, "b"),      # inside rec_002
                         contact(0, 26.0, 28.0, "whale", None, "c")], high_freq_hz=8000.0)
    lines = text.splitlines(keepends=True)
    lines.insert(2, lines[1].replace("Spectrogram 1", "Waveform 1"))  # Raven's second view of selection 1
    lines.append("4\tSpectrogram 1\t1\tsoon\t9\t0\t8000\tmerchant\t\t\t\t\t\n")
    table.write_text("".join(lines))
    rows, skipped = manifest_from_raven(table, audio=audio)
    spans = [(r.path.rsplit("/", 1)[1], r.start_s, r.end_s, r.label, r.fine_label, r.recording_id) for r in rows]
    assert spans == [("rec_000.wav", 5.0, 10.0, "warship", "frigate", "rec_000"),
                     ("rec_001.wav", 0.0, 2.0, "warship", "frigate", "rec_000"),
                     ("rec_002.wav", 1.0, 5.0, "merchant", "merchant", "rec_002")]
    assert {r.source for r in rows} == {"analyst"} and [r.extra["channel"] for r in rows] == ["0", "0", "1"]
    assert len(skipped) == 2 and "must be numbers" in skipped[0] and "'whale' has no mapping" in skipped[1]
    # one contact never straddles two splits
    split = {r.split for r in assign_splits(rows, fractions=(0.5, 0.25, 0.25), seed=1) if r.extra["selection"] == "1"}
    assert len(split) == 1


def test_raven_file_measurements_place_a_selection_in_its_file(tmp_path):
    audio = day_of_files(tmp_path / "day", seconds=(10.0, 6.0))
    table = tmp_path / "t.txt"
    table.write_text("Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tBegin File\tFile Offset (s)\tSpecies\n"
                     "1\tSpectrogram 1\t1\t12.0\t15.0\trec_001.wav\t2.0\tTanker\n"
                     "2\tSpectrogram 1\t1\t14.0\t19.0\trec_001.wav\t4.0\tTanker\n")
    lm = {"classes": {"tanker": "merchant"}}
    rows, skipped = manifest_from_raven(table, audio=audio, label_map=lm)
    assert [(r.path.endswith("rec_001.wav"), r.start_s, r.end_s, r.label, r.fine_label) for r in rows] == \
        [(True, 2.0, 5.0, "merchant", "Tanker")]
    assert skipped == [f"{table}: selection 2 runs past the end of {audio / 'rec_001.wav'}"]


def test_tables_that_cannot_be_read_say_why(tmp_path):
    audio = day_of_files(tmp_path / "day", seconds=(2.0,))
    not_table = tmp_path / "notes.txt"
    not_table.write_text("just some notes\n")
    with pytest.raises(ManifestError, match="not a Raven selection table"):
        manifest_from_raven(not_table, audio=audio)
    no_label = tmp_path / "nolabel.txt"
    no_label.write_text("Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\n1\tSpectrogram 1\t1\t0\t1\n")
    with pytest.raises(ManifestError, match="--label-column"):
        manifest_from_raven(no_label, audio=audio)
    with pytest.raises(ManifestError, match="does not exist"):
        manifest_from_raven(no_label, audio=tmp_path / "missing")


def test_cli_writes_the_manifest_and_what_it_skipped(tmp_path, capsys):
    audio = day_of_files(tmp_path / "day", seconds=(5.0, 5.0), channels=2)
    table = tmp_path / "t.txt"
    table.write_text(format_table([contact(1, 1.0, 3.0, "drone", "uuv")], high_freq_hz=8000.0))
    out = tmp_path / "labels" / "manifest.csv"
    assert main(["labels", "import", str(table), "--audio", str(audio), "--out", str(out)]) == 0
    rows = read_manifest(out)
    assert [(r.label, r.fine_label, r.start_s, r.end_s, r.source) for r in rows] == [("drone", "uuv", 1.0, 3.0, "analyst")]
    printed = capsys.readouterr().out
    assert "1 rows from 1 selections" in printed and "several channels" in printed
    assert (out.parent / "skipped.txt").read_text() == ""
    table.write_text(HEADER)
    assert main(["labels", "import", str(table), "--audio", str(audio), "--out", str(out)]) == 2
    assert "no usable selection" in capsys.readouterr().err
