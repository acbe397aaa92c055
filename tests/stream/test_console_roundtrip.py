"""From an analyst's verdicts back to the node (issue 16): verify → ``uwac labels export`` → ``uwac train
--init-from`` → ``uwac export`` → SIGHUP, on a small run. The verdicts go through the console's own path (the
audio ring's clips, the label store); the HTTP and browser sides have their own tests."""

import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import yaml

from tests.conftest import CNN_CONFIG
from tests.stream.polling import wait_for
from uwac.acoustics.cli import main
from uwac.acoustics.labels.clip_ring import ClipRing
from uwac.acoustics.labels.store import Verdict, VerdictStore
from uwac.acoustics.manifest import read_manifest
from uwac.acoustics.synth import render_recording

ROOT = Path(__file__).resolve().parents[2]
RATE = 16000
CLIP_S = 8.0


def judged_node(out: Path) -> None:
    """A node folder as the console leaves it: 12 contacts (3 per verdict kind and class) with their clips."""
    ring = ClipRing(out / "ring", channels=1, sample_rate=RATE, keep_s=600.0)
    store = VerdictStore(out)
    plan = [("warship", "confirmed", ""), ("merchant", "confirmed", ""), ("drone", "relabelled", "drone"),
            ("ambient", "rejected", "")] * 3
    for i, (rendered, verdict, label) in enumerate(plan):
        audio, _ = render_recording(label=rendered, seed=500 + i, duration_s=CLIP_S, sample_rate=RATE)
        start = i * CLIP_S
        ring.write(int(start * RATE), audio.reshape(-1, 1))
        path, first, _ = ring.save(out / "labels" / f"c{i}.wav", 0, start, start + CLIP_S)
        model_class = "merchant" if verdict != "confirmed" else rendered  # what the node had called it
        store.record(Verdict(contact=f"c{i}", channel=0, start_s=start, end_s=start + CLIP_S, verdict=verdict,
                             label=label, model_class=model_class, clip=str(path.relative_to(out)),
                             clip_start_s=first, recording_id=f"pass-{i}"))
    ring.close()
    store.close()


def test_verdicts_fine_tune_a_model_that_the_running_daemon_reloads(tmp_path, trained_run, exported_model):
    node = tmp_path / "node"
    judged_node(node)
    assert main(["labels", "export", "--store", str(node), "--out", str(tmp_path / "labels")]) == 0
    rows = read_manifest(tmp_path / "labels" / "manifest.csv")
    assert len(rows) == 12 and {r.label for r in rows} == {"ambient", "merchant", "warship", "drone"}

    served = tmp_path / "served" / "model.onnx"  # the node's model file, scored by a running daemon
    served.parent.mkdir()
    shutil.copy(exported_model, served)
    proc = subprocess.Popen([sys.executable, "-m", "uwac.acoustics", "stream", str(served), "--source",
                             "tcp-listen:127.0.0.1:0", "--out", str(tmp_path / "stream"), "--no-http"],
                            cwd=ROOT, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True).start()
    try:
        assert main(["train", "--config", str(CNN_CONFIG), "--manifest", str(tmp_path / "labels" / "manifest.csv"),
                     "--out", str(tmp_path / "finetune"), "--init-from", str(trained_run), "--set", "optim.epochs=1",
                     "--no-baseline"]) == 0
        recipe = yaml.safe_load((tmp_path / "finetune" / "config.yaml").read_text())
        assert recipe["optim"]["epochs"] == 1 and recipe["init_from"] == str(trained_run)  # --set and --init-from
        assert main(["export", str(tmp_path / "finetune"), "--out", str(tmp_path / "new.onnx")]) == 0
        shutil.copy(tmp_path / "new.onnx", served.with_suffix(".tmp"))
        served.with_suffix(".tmp").replace(served)  # an atomic swap, as a deploy script does
        time.sleep(1.0)  # the daemon has installed its signal handlers
        proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: any("model reloaded" in line for line in lines), 60), lines[-20:]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0
    new = np.fromfile(served, dtype=np.uint8)
    assert not np.array_equal(new, np.fromfile(exported_model, dtype=np.uint8))  # the fine-tuned file is served
