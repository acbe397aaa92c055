"""``uwac train``: fit a classifier on a manifest's train split, keep the best by validation macro-F1.

Writes into the run folder: ``config.yaml`` (resolved), ``manifest.csv`` (with the splits used),
``checkpoint_last.pt`` every epoch (everything an exact resume needs), ``checkpoint_best.pt`` (weights,
config, metrics; both written and read by ``training/checkpoint.py``), ``metrics.json``, ``history.csv``,
``training_curves.png``, ``report.md`` and TensorBoard events under ``tb/``. Runs as one process or under
``torchrun`` (DDP: gloo on CPU, nccl on CUDA); mixed precision on CUDA.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from uwac.acoustics.analysis.plots import training_curves_png
from uwac.acoustics.manifest import (
    ManifestError,
    Row,
    assign_splits,
    check_no_leakage,
    manifest_fingerprint,
    read_manifest,
    split_protocol,
    write_manifest,
)
from uwac.acoustics.physics_targets import HEAD_NAMES, HEADS
from uwac.acoustics.provenance import code_version
from uwac.training import distributed
from uwac.training.augment import spec_augment
from uwac.training.calibration import calibrate
from uwac.training.checkpoint import (
    BEST,
    LAST,
    checkpoint_state,
    read_checkpoint,
    restore,
    resumable,
    resume_state,
    save_atomic,
    warm_start,
)
from uwac.training.config import TrainConfig, save_config
from uwac.training.data import (
    SplitAudio,
    TrainWindows,
    ambient_bank,
    ambient_sampler,
    describe_hold_out,
    epoch_rng,
    epoch_windows,
    hold_out_fine,
    load_split,
    rank_positions,
    usable_counts,
)
from uwac.training.models import Classifier, build_classifier
from uwac.training.tblog import TensorBoardLog
from uwac.training.validation import predict_grid, recalibrate_batchnorm, score, score_physics

log = logging.getLogger(__name__)


def seed_everything(seed: int, threads: int) -> None:
    """Same seed and thread count, same weights on CPU."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.set_num_threads(max(1, threads))
    torch.use_deterministic_algorithms(True, warn_only=True)


def prepare_splits(manifest: str | Path, cfg: TrainConfig, *, allow_leaky: bool = False) -> tuple[list, bool]:
    """Rows with splits: the manifest's own when every row has one, else split by recording here.

    Returns (rows, leaky). A manifest whose splits share a ``recording_id`` is refused unless
    ``allow_leaky``; then the run is marked leaky in its metrics. Train and val recordings holding a
    ``data.exclude_fine_labels`` type are dropped here (test keeps them), so nothing downstream sees them.
    """
    rows = read_manifest(manifest)
    have = {r.split for r in rows}
    if have <= {""}:
        rows = assign_splits(rows, fractions=tuple(cfg.data.split_fractions), seed=cfg.data.split_seed)
    elif "" in have or not have <= {"train", "val", "test"}:
        raise ManifestError(f"{manifest}: split column must be train/val/test on every row or empty on all, "
                            f"found {sorted(have)}")
    leaky = False
    try:
        check_no_leakage(rows)
    except ManifestError as exc:
        if not allow_leaky:
            raise ManifestError(f"{exc}. Training on it would leak test audio into training; pass "
                                "--allow-leaky-splits only to reproduce a leaky protocol") from None
        log.warning("LEAKY SPLITS: %s; results will be marked leaky", exc)
        leaky = True
    rows, held = hold_out_fine(rows, cfg.data.exclude_fine_labels)
    if held:
        log.info("%s", describe_hold_out(held))
        if not held["test"]["rows"]:
            log.warning("no test rows of the held-out fine type(s) %s: the open-set check will have nothing to measure",
                        ", ".join(held["fine_labels"]))
        for split, lost in held["classes_lost"].items():
            if lost:
                log.warning("holding out %s leaves no %s rows of class(es) %s", ", ".join(held["fine_labels"]), split,
                            ", ".join(lost))
    for split in ("train", "val"):
        if not any(r.split == split for r in rows):
            raise ManifestError(f"{manifest}: no rows in the {split!r} split; need train and val recordings"
                                + (" (after data.exclude_fine_labels)" if held else ""))
    return rows, leaky


def bank_rows(paths: list[str], rows: list[Row], *, exclude_fine: Collection[str] = ()) -> list[Row]:
    """Ambient rows of the ``data.ambient_bank`` manifests, minus any recording in this run's val or test split
    and any row of an ``exclude_fine`` (held-out) fine type."""
    held_out = {r.recording_id for r in rows if r.split in ("val", "test")}
    out = []
    for path in paths:
        for r in read_manifest(path):
            if (r.label == "ambient" and r.recording_id not in held_out and r.split in ("", "train")
                    and r.fine_label not in exclude_fine):
                out.append(r)
    return out


def lr_lambda(total_steps: int, warmup_fraction: float):
    """Linear warm-up then cosine decay to zero, as a multiplier of the base learning rate."""
    warmup = max(1, int(round(warmup_fraction * total_steps)))

    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total_steps - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return f


def amp_dtype(setting: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``optim.amp`` on ``device`` (None = full fp32). ``auto`` is off on CPU."""
    if setting == "off" or (setting == "auto" and device.type != "cuda"):
        return None
    if setting == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if setting == "bf16" else torch.float16


class Trainable(torch.nn.Module):
    """The trained part of a :class:`Classifier` (network and physics heads, not the weightless front-end):
    ``forward(features) -> (logits, {head: logits})``. DDP wraps this, so every trained weight is synchronised."""

    def __init__(self, model: Classifier):
        super().__init__()
        self.net, self.physics = model.net, model.physics

    def forward(self, features):
        logits, embedding = self.net(features)
        return logits, (self.physics(embedding) if self.physics is not None else {})


def physics_loss(outputs: dict[str, torch.Tensor], targets: torch.Tensor) -> torch.Tensor:
    """Mean over the auxiliary heads of their loss on the rows where the target is known (not NaN): binary
    cross-entropy for yes/no heads, cross-entropy for class heads (``acoustics.physics_targets.HEADS``)."""
    total = targets.new_zeros(())
    for j, name in enumerate(HEAD_NAMES):
        t = targets[:, j]
        known = ~torch.isnan(t)
        if name not in outputs or not bool(known.any()):
            continue
        out = outputs[name][known].float()
        if HEADS[name][0] == "binary":
            total = total + torch.nn.functional.binary_cross_entropy_with_logits(out[:, 0], t[known])
        else:
            total = total + torch.nn.functional.cross_entropy(out, t[known].long())
    return total / len(HEAD_NAMES)


def class_loss(logits: torch.Tensor, y: torch.Tensor, loss_fn) -> torch.Tensor:
    """Label-smoothed cross-entropy over the windows with a class (y ≥ 0); 0 when a batch has none."""
    keep = y >= 0
    if not bool(keep.any()):
        return logits.new_zeros(()) * logits.sum()
    return loss_fn(logits[keep].float(), y[keep])


def optimisation(model: Classifier, cfg: TrainConfig, *, total_steps: int, device: torch.device):
    """(AdamW, warm-up + cosine schedule, grad scaler, autocast dtype or None, label-smoothed loss) for ``cfg``."""
    optimiser = torch.optim.AdamW(Trainable(model).parameters(), lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lr_lambda(total_steps, cfg.optim.warmup_fraction))
    dtype = amp_dtype(cfg.optim.amp, device)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    return optimiser, schedule, scaler, dtype, torch.nn.CrossEntropyLoss(label_smoothing=cfg.optim.label_smoothing)


def _masked(feats, gen: torch.Generator, cfg: TrainConfig):
    """SpecAugment on the log-mel (the whole input of a log-mel network, the ``mel`` branch of the ear)."""
    a = cfg.augment
    mask = lambda mel: spec_augment(mel, gen, freq_masks=a.freq_masks, freq_mask_bins=a.freq_mask_bins,  # noqa: E731
                                    time_masks=a.time_masks, time_mask_frames=a.time_mask_frames)
    if isinstance(feats, dict):
        return {k: mask(v) if k == "mel" else v for k, v in feats.items()}
    return mask(feats)


def train_step(model: Classifier, net: torch.nn.Module, audio: torch.Tensor, y: torch.Tensor, cfg: TrainConfig, *,
               optimiser, schedule, scaler, dtype: torch.dtype | None, mask_gen: torch.Generator, loss_fn,
               physics: torch.Tensor | None = None) -> torch.Tensor:
    """One optimiser step on a batch of raw audio: front-end in fp32 on the device, SpecAugment, the network (a
    :class:`Trainable`, possibly DDP-wrapped) under autocast when ``dtype`` is set (loss scaling for fp16), the
    class loss on windows with a class (y ≥ 0) plus ``model.physics_weight`` × the physics heads' loss on their
    known ``physics`` targets, gradient clipping. Returns the loss."""
    device = next(model.net.parameters()).device
    audio, y = audio.to(device, non_blocking=True), y.to(device, non_blocking=True)
    with torch.no_grad():  # the front-end has no weights; it runs in fp32 so |X|² cannot overflow
        feats = model.features_fast(audio)
        if cfg.augment.enabled:
            feats = _masked(feats, mask_gen, cfg)
    with torch.autocast(device.type, dtype=dtype) if dtype else contextlib.nullcontext():
        logits, heads = net(feats)
        loss = class_loss(logits, y, loss_fn)
        if heads and physics is not None and cfg.model.physics_weight > 0:
            loss = loss + cfg.model.physics_weight * physics_loss(heads, physics.to(device))
    optimiser.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    if cfg.optim.grad_clip > 0:
        scaler.unscale_(optimiser)
        torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.optim.grad_clip)
    scaler.step(optimiser)
    scaler.update()
    schedule.step()
    return loss.detach()


def train(*, cfg: TrainConfig, manifest: str | Path, out: str | Path, allow_leaky: bool = False,
          progress: bool = True, resume: bool = False, on_epoch_end: Callable[[int, Path], None] | None = None) -> dict:
    """Train, validate every epoch, keep the best checkpoint, score it on test; returns metrics.

    ``resume``: continue from ``out/checkpoint_last.pt`` (same config and manifest) to the same final
    weights an uninterrupted run reaches. ``on_epoch_end(epoch, out)``: called on rank 0 once an epoch's
    checkpoints are on disk (tests pause there to kill the run).
    """
    out = Path(out)
    info = distributed.setup(cfg.device)
    try:
        return _train(cfg, manifest, out, info, allow_leaky=allow_leaky, progress=progress and info.main, resume=resume,
                      on_epoch_end=on_epoch_end)
    finally:
        distributed.teardown(info)


@dataclass
class Progress:
    """Where the epochs stand: the counters ``checkpoint_last.pt`` keeps for a resume, and the throughput so far."""

    history: list[dict] = field(default_factory=list)  # one row per epoch (history.csv)
    best_f1: float = -1.0  # best validation window macro-F1 so far
    best_epoch: int | None = None
    since_best: int = 0  # epochs without a better validation macro-F1 (early stopping)
    start_epoch: int = 1
    t_train: float = 0.0  # s in training batches, this process
    n_seen: int = 0  # training windows, all processes

    def saved(self) -> dict:
        """The counters a resume restores (``checkpoint.resumable``)."""
        return {"history": self.history, "best_f1": self.best_f1, "best_epoch": self.best_epoch,
                "since_best": self.since_best}


@dataclass
class Run:
    """What :func:`_setup` builds once and every epoch and :func:`_finish` share."""

    cfg: TrainConfig
    out: Path
    info: distributed.DistInfo
    rows: list[Row]
    leaky: bool
    fingerprint: str  # the manifest's SHA-256 (``manifest_fingerprint``)
    protocol: str  # split protocol (``split_protocol``)
    model: Classifier
    net: torch.nn.Module  # the trained part (:class:`Trainable`), DDP-wrapped when world > 1
    optimiser: torch.optim.Optimizer
    schedule: torch.optim.lr_scheduler.LambdaLR
    scaler: torch.amp.GradScaler
    dtype: torch.dtype | None  # autocast dtype, None = fp32
    loss_fn: torch.nn.Module
    splits: dict[str, SplitAudio]
    bank: list[np.ndarray]  # ambient spans mixed into training windows
    ambient: Callable | None  # sampler over ``bank``, None when not mixing
    skipped: list[str]
    n_params: int
    macs: dict
    steps_per_epoch: int
    warm: dict | None  # what ``--init-from`` loaded
    progress: Progress


def _train(cfg: TrainConfig, manifest, out: Path, info: distributed.DistInfo, *, allow_leaky: bool, progress: bool,
           resume: bool, on_epoch_end: Callable[[int, Path], None] | None) -> dict:
    run = _setup(cfg, manifest, out, info, allow_leaky=allow_leaky, resume=resume)
    done = (run.progress.start_epoch - 1) * run.steps_per_epoch
    tb = TensorBoardLog(out, enabled=cfg.tensorboard and info.main, purge_step=done or None)
    bar = tqdm(total=run.steps_per_epoch * cfg.optim.epochs, initial=done, desc="train", unit="step", disable=not progress)
    for epoch in range(run.progress.start_epoch, cfg.optim.epochs + 1):
        if _epoch(run, epoch, bar, tb, on_epoch_end):
            break
    bar.close()
    tb.close()
    digests = distributed.gather(info, distributed.weights_digest(run.model))
    return _finish(run, digests) if info.main else {}


def _setup(cfg: TrainConfig, manifest, out: Path, info: distributed.DistInfo, *, allow_leaky: bool,
           resume: bool) -> Run:
    """Everything before the first epoch: splits, model (warm-started or resumed), audio, optimiser."""
    out.mkdir(parents=True, exist_ok=True)
    seed_everything(cfg.seed, cfg.threads)
    device = info.device
    rows, leaky = prepare_splits(manifest, cfg, allow_leaky=allow_leaky)
    fingerprint = manifest_fingerprint(rows)
    protocol = split_protocol(rows)
    resumed = resume_state(out, cfg, fingerprint) if resume else None
    if info.main:
        save_config(cfg, out / "config.yaml")
        write_manifest(rows, out / "manifest.csv")
    model, warm, n_params, macs = _build_model(cfg, info, init_from=cfg.init_from if resumed is None else None)
    splits, bank, ambient, skipped = _load_audio(rows, cfg, info, manifest)
    n_windows = int(usable_counts(splits["train"], cfg).sum())
    _, steps_per_epoch = rank_positions(n_windows, cfg.optim.batch_size, info.rank, info.world)
    net = Trainable(model)
    if info.world > 1:
        net = torch.nn.parallel.DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None)
    optimiser, schedule, scaler, dtype, loss_fn = optimisation(model, cfg, total_steps=steps_per_epoch * cfg.optim.epochs,
                                                               device=device)
    progress = Progress()
    if resumed is not None:
        restore(resumed, model=model, optimiser=optimiser, schedule=schedule, scaler=scaler)
        progress = Progress(history=resumed["history"], best_f1=resumed["best_f1"], best_epoch=resumed["best_epoch"],
                            since_best=resumed["since_best"], start_epoch=resumed["epoch"] + 1)
        warm = resumed.get("warm_start")
        if info.main:
            print(f"resuming {out} after epoch {resumed['epoch']}")
    if info.main:
        print(f"{len(splits['train'].spans)} train spans, {n_windows} windows/epoch "
              f"({'class-balanced' if cfg.data.balanced else 'as recorded'}), {steps_per_epoch} steps/epoch, "
              f"{info.world} process(es) on {device}, amp {dtype or 'off'}, ambient bank {len(bank)} span(s)")
    return Run(cfg=cfg, out=out, info=info, rows=rows, leaky=leaky, fingerprint=fingerprint, protocol=protocol,
               model=model, net=net, optimiser=optimiser, schedule=schedule, scaler=scaler, dtype=dtype, loss_fn=loss_fn,
               splits=splits, bank=bank, ambient=ambient, skipped=skipped, n_params=n_params, macs=macs,
               steps_per_epoch=steps_per_epoch, warm=warm, progress=progress)


def _build_model(cfg: TrainConfig, info: distributed.DistInfo, *, init_from: str | None):
    """(model on the device, warm-start record or None, parameters, MACs per window); prints its size on rank 0."""
    model = build_classifier(cfg.frontend, cfg.model, n_classes=len(cfg.classes))
    warm = warm_start(model, init_from) if init_from else None
    from uwac.training.complexity import count_macs, count_parameters, describe

    n_params, macs = count_parameters(model), count_macs(model, cfg.window_samples())
    if info.main:
        print(describe(model, cfg.window_samples(), macs))
    model = model.to(info.device)
    if cfg.model.name == "cnn":
        model = model.to(memory_format=torch.channels_last)  # ~1.4x faster CPU convolutions (oneDNN NHWC)
    return model, warm, n_params, macs


def _load_audio(rows: list[Row], cfg: TrainConfig, info: distributed.DistInfo, manifest):
    """(audio of each split, ambient bank, its sampler or None, skipped-span messages); refuses an empty train split."""
    # rank 0 fills the span cache first; the others then read it without racing to write the same files
    if not info.main:
        distributed.barrier(info)
    splits = {s: load_split([r for r in rows if r.split == s], cfg, desc=s, cache_dir=cfg.data.cache_dir)
              for s in ("train", "val", "test")}
    extra = load_split(bank_rows(cfg.data.ambient_bank, rows, exclude_fine=cfg.data.exclude_fine_labels), cfg,
                       desc="ambient bank", cache_dir=cfg.data.cache_dir)
    if info.main:
        distributed.barrier(info)
    skipped = [m for s in (*splits.values(), extra) for m in s.skipped]
    for msg in skipped:
        log.warning("skipped: %s", msg)
    if not splits["train"].spans:
        raise ManifestError(f"{manifest}: no usable training audio ({len(skipped)} span(s) skipped)")
    bank = ambient_bank(splits["train"], [extra], cfg)
    ambient = ambient_sampler(bank) if cfg.augment.enabled and cfg.augment.ambient_mix_prob > 0 else None
    return splits, bank, ambient, skipped


def _epoch(run: Run, epoch: int, bar, tb: TensorBoardLog, on_epoch_end: Callable[[int, Path], None] | None) -> bool:
    """Train one epoch, validate, log, write the checkpoints (rank 0); True when early stopping ends the run."""
    cfg, info, p = run.cfg, run.info, run.progress
    losses, elapsed, n_windows = _fit_epoch(run, epoch, bar, tb)
    p.t_train += elapsed
    p.n_seen += n_windows
    recalibrate_batchnorm(run.model, run.splits["train"], cfg, seed=cfg.seed, epoch=epoch, device=info.device)
    verdict = None
    if info.main:
        val = score(run.model, run.splits["val"], cfg, device=info.device)
        verdict = {"val": val, "loss": float(np.mean(losses))}
    verdict = distributed.broadcast(info, verdict)
    val = verdict["val"]
    val_f1 = val["window"]["macro_f1"]
    improved = val_f1 > p.best_f1
    if improved:
        p.best_f1, p.best_epoch, p.since_best = val_f1, epoch, 0
    else:
        p.since_best += 1
    rate = n_windows / max(elapsed, 1e-9)
    p.history.append({"epoch": epoch, "train_loss": verdict["loss"], "val_macro_f1": val_f1,
                      "val_accuracy": val["window"]["accuracy"], "lr": run.schedule.get_last_lr()[0],
                      "windows_per_s": round(rate, 1)})
    if info.main:
        bar.write(f"epoch {epoch}: train loss {verdict['loss']:.4f}, val macro-F1 {val_f1:.4f}, {rate:.0f} windows/s")
        step = epoch * run.steps_per_epoch
        tb.scalars(step, **{"val/macro_f1": val_f1, "val/accuracy": val["window"]["accuracy"],
                            "train/epoch_loss": verdict["loss"], "train/windows_per_s": rate})
        tb.confusion(step, val["window"]["confusion"], cfg.classes, title=f"validation, epoch {epoch} (windows)")
        _save_epoch(run, epoch, val, improved=improved)
        if on_epoch_end is not None:
            on_epoch_end(epoch, run.out)
    stop = 0 < cfg.optim.early_stopping_patience <= p.since_best
    if stop and info.main:
        bar.write(f"early stop: no better val macro-F1 for {p.since_best} epochs (best epoch {p.best_epoch})")
    return stop


def _fit_epoch(run: Run, epoch: int, bar, tb: TensorBoardLog) -> tuple[list[float], float, int]:
    """The optimiser steps of one epoch: (batch losses, seconds, windows trained on by all processes)."""
    cfg, info = run.cfg, run.info
    torch.manual_seed(int(epoch_rng(cfg.seed, epoch, 3, info.rank).integers(2**62)))  # dropout: a function of the epoch
    windows = epoch_windows(run.splits["train"], cfg, seed=cfg.seed, epoch=epoch)
    positions, _ = rank_positions(len(windows), cfg.optim.batch_size, info.rank, info.world)
    dataset = TrainWindows(run.splits["train"], windows, positions, cfg, seed=cfg.seed, epoch=epoch, ambient=run.ambient)
    loader = torch.utils.data.DataLoader(dataset, batch_size=cfg.optim.batch_size // info.world, shuffle=False,
                                         num_workers=cfg.data.workers, pin_memory=info.device.type == "cuda",
                                         generator=torch.Generator().manual_seed(epoch))
    mask_gen = torch.Generator().manual_seed(int(epoch_rng(cfg.seed, epoch, 4, info.rank).integers(2**62)))
    run.model.train()
    losses, t0 = [], time.perf_counter()
    for audio, y, phys in loader:
        loss = train_step(run.model, run.net, audio, y, cfg, optimiser=run.optimiser, schedule=run.schedule,
                          scaler=run.scaler, dtype=run.dtype, mask_gen=mask_gen, loss_fn=run.loss_fn, physics=phys)
        losses.append(loss.item())
        bar.update(1)
        bar.set_postfix(epoch=epoch, loss=f"{np.mean(losses[-20:]):.3f}")
        tb.scalars(run.schedule.last_epoch, **{"train/loss": losses[-1], "train/lr": run.schedule.get_last_lr()[0]})
    return losses, time.perf_counter() - t0, len(positions) * info.world


def _save_epoch(run: Run, epoch: int, val: dict, *, improved: bool) -> None:
    """``checkpoint_best.pt`` when validation improved, and ``checkpoint_last.pt`` (with the resume state) always."""
    state = checkpoint_state(run.model, run.cfg, epoch=epoch, metrics={"val": val}, fingerprint=run.fingerprint,
                             protocol="LEAKY" if run.leaky else run.protocol)
    if improved:
        save_atomic(state, run.out / BEST)
    save_atomic(resumable(state, optimiser=run.optimiser, schedule=run.schedule, scaler=run.scaler,
                          **run.progress.saved(), warm_start=run.warm), run.out / LAST)


def _finish(run: Run, digests: list[str]) -> dict:
    """Rank 0 after the epochs: calibrate the best checkpoint, score it on test, write metrics, curves and report."""
    best_state, calibration = _calibrate_best(run)
    metrics = _run_metrics(run, best_state, calibration, digests)
    cfg, out, history = run.cfg, run.out, run.progress.history
    if cfg.baseline:
        from uwac.training.baseline import train_baseline

        metrics["baseline"] = train_baseline(rows=run.rows, cfg=cfg, out=out)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    training_curves_png(history, out / "training_curves.png", title=f"{cfg.name}: best epoch {run.progress.best_epoch}")
    with (out / "history.csv").open("w") as fh:
        fh.write("epoch,train_loss,val_macro_f1,val_accuracy,lr,windows_per_s\n")
        for h in history:
            fh.write(f"{h['epoch']},{h['train_loss']:.6f},{h['val_macro_f1']:.6f},{h['val_accuracy']:.6f},"
                     f"{h['lr']:.6g},{h['windows_per_s']}\n")
    from uwac.training.report import write_training_report

    write_training_report(metrics, cfg, out)
    return metrics


def _calibrate_best(run: Run) -> tuple[dict, dict | None]:
    """Load the best weights into the model; fit temperature and unknown threshold on validation windows only and
    save them into ``checkpoint_best.pt``. Returns (best checkpoint, calibration or None without validation audio)."""
    best_state = read_checkpoint(run.out / BEST, map_location=run.info.device)
    run.model.load_state_dict(best_state["state_dict"])
    calibration = None
    if run.splits["val"].spans:
        val_logits, val_labels, _ = predict_grid(run.model, run.splits["val"], run.cfg, device=run.info.device)
        calibration = calibrate(val_logits[val_labels >= 0], val_labels[val_labels >= 0])
        run.model.temperature.fill_(calibration["temperature"])
        best_state.update(state_dict=run.model.state_dict(), calibration=calibration)
        save_atomic(best_state, run.out / BEST)
    return best_state, calibration


def _run_metrics(run: Run, best_state: dict, calibration: dict | None, digests: list[str]) -> dict:
    """``metrics.json``: protocol, epochs, model size, speed, distribution, data, calibration, val and test scores."""
    cfg, info, p, test = run.cfg, run.info, run.progress, run.splits["test"]
    leaky, protocol, history = run.leaky, run.protocol, p.history
    return {
        "code_version": code_version(),
        "leaky_splits": leaky,
        "protocol": protocol,
        "protocol_title": ("LEAKY: splits share recordings" if leaky else
                           f"held-out {'vessels' if protocol == 'VES' else 'recordings'} ({protocol})"),
        "best_epoch": p.best_epoch,
        "epochs_run": history[-1]["epoch"] if history else 0,
        "early_stopped": bool(history) and history[-1]["epoch"] < cfg.optim.epochs,
        "model": cfg.model.name,
        "parameters": run.n_params,
        "macs_per_window": run.macs,
        "train_windows_per_s": round(p.n_seen / p.t_train, 1) if p.t_train else None,
        "device": str(info.device),
        "amp": str(run.dtype) if run.dtype else "off",
        "distributed": {"world_size": info.world, "backend": info.backend, "weights_sha256_by_rank": digests},
        "warm_start": run.warm,
        "manifest_sha256": run.fingerprint,
        "spans": {s: len(d.spans) for s, d in run.splits.items()},
        "ambient_bank_spans": len(run.bank),
        "held_out_fine_labels": list(cfg.data.exclude_fine_labels),  # open-set check: absent from train and val
        "skipped": run.skipped,
        "calibration": calibration,
        "val": best_state["metrics"]["val"],
        "test": score(run.model, test, cfg, device=info.device) if test.spans else None,
        "physics_test": score_physics(run.model, test, cfg, device=info.device) if test.spans else None,
        "history": history,
    }
