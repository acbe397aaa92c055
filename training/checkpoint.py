"""Checkpoints of a training run: what they hold, how they are written and read, warm start and resume.

A run folder holds ``checkpoint_best.pt`` (weights, config, validation metrics, calibration) and
``checkpoint_last.pt`` (the same facts for the latest epoch plus optimiser, schedule, grad-scaler state and the
loop's counters: everything an exact resume needs). Both hold tensors and JSON-able values only, so they load
with ``torch.load(..., weights_only=True)``. Export and benchmarks load models through here, not through the
training loop (``training/train.py``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch

from uwac.acoustics.provenance import code_version
from uwac.training.config import TrainConfig, config_from_dict, config_to_dict
from uwac.training.models import Classifier, build_classifier

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = 2
BEST = "checkpoint_best.pt"  # the kept model: best validation macro-F1, calibrated
LAST = "checkpoint_last.pt"  # written every epoch: what --resume continues from


def checkpoint_path(run: str | Path, *, what: str = "checkpoint",
                    hint: str = "run `uwac train` first or pass the run folder") -> Path:
    """``run``'s ``checkpoint_best.pt`` (or ``run`` itself when it is a file); ``FileNotFoundError`` naming
    ``what`` was sought and ``hint`` when missing. The one place a run folder becomes a checkpoint file."""
    path = Path(run)
    if path.is_dir():
        path = path / BEST
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} not found; {hint}")
    return path


def read_checkpoint(path: str | Path, map_location: torch.device | str = "cpu") -> dict:
    """The raw checkpoint dict of a ``.pt`` file, loaded with ``weights_only=True`` (tensors and plain values
    only: a checkpoint from elsewhere cannot run code on load)."""
    return torch.load(path, weights_only=True, map_location=map_location)


def checkpoint_state(model: Classifier, cfg: TrainConfig, *, epoch: int, metrics: dict, fingerprint: str,
                     protocol: str) -> dict:
    """Weights and JSON-able facts only, so ``torch.load(weights_only=True)`` reads it."""
    return {"format": CHECKPOINT_FORMAT, "state_dict": model.state_dict(), "config": config_to_dict(cfg),
            "classes": list(cfg.classes), "epoch": epoch, "metrics": metrics, "manifest_sha256": fingerprint,
            "protocol": protocol, "code_version": code_version()}


def save_atomic(state: dict, path: Path) -> None:
    """``torch.save`` to a temporary file in the same folder, fsync, then rename over ``path``: a run killed (or a
    machine losing power) mid-write keeps the previous checkpoint, never a torn one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as fh:
        torch.save(state, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def load_checkpoint(path: str | Path) -> tuple[Classifier, TrainConfig, dict]:
    """Model (eval mode, CPU), config and raw checkpoint from a ``.pt`` file or a run folder."""
    state = read_checkpoint(checkpoint_path(path))
    cfg = config_from_dict(state["config"])
    model = build_classifier(cfg.frontend, cfg.model, n_classes=len(cfg.classes))
    model.load_state_dict(state["state_dict"])
    return model.eval(), cfg, state


def warm_start(model: Classifier, path: str | Path) -> dict:
    """Load every weight of a checkpoint whose name and shape match (e.g. a synthetic-pretrained run).

    A head for other classes, or a wider layer, keeps its fresh initialisation; returns what loaded and what not.
    """
    path = checkpoint_path(path, what="init_from checkpoint", hint="pass a run folder or a .pt file")
    source = read_checkpoint(path)["state_dict"]
    own = model.state_dict()
    loaded = {k: v for k, v in source.items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(loaded, strict=False)
    skipped = sorted(set(own) - set(loaded))
    log.info("warm start from %s: %d tensors loaded, %d kept fresh", path, len(loaded), len(skipped))
    return {"from": str(path), "loaded": len(loaded), "kept_fresh": skipped}


def resume_state(out: Path, cfg: TrainConfig, fingerprint: str) -> dict:
    """The interrupted run's full state, after checking it is the same job (config and manifest)."""
    path = out / LAST
    if not path.is_file():
        raise FileNotFoundError(f"--resume: {path} not found; nothing to resume in {out}")
    state = read_checkpoint(path)
    if state.get("format") != CHECKPOINT_FORMAT or "optimiser" not in state:
        raise ValueError(f"--resume: {path} is not a resumable uwac checkpoint (format {state.get('format')})")
    if state["manifest_sha256"] != fingerprint:
        raise ValueError(f"--resume: the manifest differs from the one {out} was trained on; start a new run folder")
    saved, now = config_to_dict(config_from_dict(state["config"])), config_to_dict(cfg)
    for d in (saved, now):  # settings that cannot change the result
        d["data"].pop("workers")
        d.pop("tensorboard")
    if saved != now:
        diff = sorted(k for k in saved if saved[k] != now[k])
        raise ValueError(f"--resume: config section(s) {', '.join(diff)} differ from the interrupted run's "
                         f"({out / 'config.yaml'}); resume with that config or start a new run folder")
    return state


def resumable(state: dict, *, optimiser, schedule, scaler, **loop) -> dict:
    """``state`` (an epoch's :func:`checkpoint_state`) plus what an exact resume needs: the optimiser, schedule
    and grad-scaler states and the loop's counters ``loop`` (history, best so far, warm-start record)."""
    return {**state, "optimiser": optimiser.state_dict(), "schedule": schedule.state_dict(),
            "scaler": scaler.state_dict(), **loop}


def restore(state: dict, *, model: Classifier, optimiser, schedule, scaler) -> None:
    """Put a :func:`resume_state`'s weights and optimiser, schedule and grad-scaler states back in place."""
    model.load_state_dict(state["state_dict"])
    optimiser.load_state_dict(state["optimiser"])
    schedule.load_state_dict(state["schedule"])
    scaler.load_state_dict(state["scaler"])
