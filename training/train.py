"""``uwac train``: fit a classifier on a manifest's train split, keep the best by validation macro-F1.

Writes into the run folder: ``config.yaml`` (resolved), ``manifest.csv`` (with the splits used),
``checkpoint_last.pt`` every epoch (everything an exact resume needs), ``checkpoint_best.pt`` (weights,
config, metrics; both load with ``torch.load(..., weights_only=True)``), ``metrics.json``, ``history.csv``,
``training_curves.png``, ``report.md`` and TensorBoard events under ``tb/``. Runs as one process or under
``torchrun`` (DDP: gloo on CPU, nccl on CUDA); mixed precision on CUDA.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import time
from collections.abc import Collection
from pathlib import Path

import numpy as np
import torch
from scipy.special import softmax
from tqdm import tqdm

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
from uwac.acoustics.metrics import snr_of_rows, split_metrics
from uwac.acoustics.physics_targets import HEAD_NAMES, HEADS
from uwac.acoustics.plots import training_curves_png
from uwac.acoustics.provenance import code_version
from uwac.training import distributed
from uwac.training.augment import spec_augment
from uwac.training.calibration import calibrate
from uwac.training.config import TrainConfig, config_from_dict, config_to_dict, save_config
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

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = 2
PAUSE_ENV = "UWAC_PAUSE_AFTER_EPOCH"  # tests: "EPOCH:SECONDS" sleeps after that epoch's checkpoint (to kill the run there)


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


def batches(split: SplitAudio, windows: list[tuple[int, int]], cfg: TrainConfig, batch_size: int):
    """Un-augmented windows in order as (audio [batch, samples], window labels [batch], −1 = left out) tensors."""
    for i in range(0, len(windows), batch_size):
        chunk = windows[i: i + batch_size]
        audio = torch.from_numpy(np.stack([split.window(s, o, cfg) for s, o in chunk]))
        yield audio, torch.as_tensor([split.window_targets(s, o, cfg)[0] for s, o in chunk], dtype=torch.long)


@torch.no_grad()
def recalibrate_batchnorm(model: Classifier, split: SplitAudio, cfg: TrainConfig, *, seed: int, epoch: int,
                          device: torch.device, max_windows: int = 1024, batch_size: int = 128) -> None:
    """Replace BatchNorm running statistics by exact averages over up to ``max_windows`` un-augmented training windows.

    The exponential running averages lag the weights and start from (0, 1); after a short run they can be far
    from the true statistics and make eval-mode scores collapse. Exact averages under the current weights
    make every saved checkpoint score as it was trained ("precise BN"). One forward pass, no gradients; the
    windows follow from (seed, epoch), so every DDP rank computes the same statistics.
    """
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    windows = split.grid_windows(cfg)
    picks = epoch_rng(seed, epoch, 2).permutation(len(windows))[:max_windows]
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches below
    model.train()
    for audio, _ in batches(split, [windows[j] for j in picks], cfg, batch_size):
        model.net(model.features_fast(audio.to(device)))
    for m, mom in zip(norms, saved, strict=True):
        m.momentum = mom
    model.eval()


@torch.no_grad()
def predict_grid(model: Classifier, split: SplitAudio, cfg: TrainConfig, *, device: torch.device | str = "cpu",
                 batch_size: int = 256) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Raw logits of every grid window: (logits [n, classes], window labels [n] (−1 = left out of the class figures,
    ``data.window_labels``), span index per window)."""
    model.eval()
    windows = split.grid_windows(cfg)
    logits, labels = [], []
    for audio, y in batches(split, windows, cfg, batch_size):
        logits.append(model.classify_features(model.features_fast(audio.to(device)))[0].float().cpu().numpy())
        labels.append(y.numpy())
    if not logits:
        return np.zeros((0, len(cfg.classes))), np.zeros(0, dtype=np.int64), []
    return np.concatenate(logits), np.concatenate(labels), [s for s, _ in windows]


def score(model: Classifier, split: SplitAudio, cfg: TrainConfig, *, device: torch.device | str = "cpu") -> dict:
    """Window- and recording-level metrics of ``model`` on one split, and by SNR band when the manifest has ``snr_db``.

    The figures count the windows with a class under ``data.window_labels`` (with ``ignore``: the audible windows
    and the ambient ones); ``whole_recording`` scores every window against its recording's label, as before.
    """
    logits, labels, span_of = predict_grid(model, split, cfg, device=device)
    probs = softmax(logits / float(model.temperature), axis=1) if len(logits) else logits
    rows = [split.rows[i] for i in span_of]
    ids, snr = [r.recording_id for r in rows], snr_of_rows(rows)
    keep = labels >= 0
    out = split_metrics(probs[keep], labels[keep], [i for i, k in zip(ids, keep, strict=True) if k], snr[keep],
                        cfg.classes)
    out["window_labels"] = cfg.data.window_labels
    out["whole_recording"] = split_metrics(probs, split.labels[np.asarray(span_of, dtype=np.int64)], ids, snr,
                                           cfg.classes) if len(span_of) else None
    return out


@torch.no_grad()
def score_physics(model: Classifier, split: SplitAudio, cfg: TrainConfig, *, device: torch.device | str = "cpu",
                  batch_size: int = 128) -> dict | None:
    """Accuracy of every physics head on the grid windows of ``split`` where its target is known, beside the share
    of the most common target (what always guessing it would score); None for a model without the heads."""
    if model.physics is None:
        return None
    model.eval()
    windows = split.grid_windows(cfg)
    outputs: dict[str, list[np.ndarray]] = {name: [] for name in HEAD_NAMES}
    for audio, _ in batches(split, windows, cfg, batch_size):
        _, embedding = model.net(model.features_fast(audio.to(device)))
        for name, value in model.physics(embedding).items():
            outputs[name].append(value.float().cpu().numpy())
    if not windows:
        return None
    targets = np.stack([split.window_targets(s, o, cfg)[1] for s, o in windows])
    out = {}
    for j, name in enumerate(HEAD_NAMES):
        t = targets[:, j]
        known = ~np.isnan(t)
        if not known.any():
            continue
        logits = np.concatenate(outputs[name])[known]
        guess = (logits[:, 0] > 0).astype(float) if HEADS[name][0] == "binary" else logits.argmax(1).astype(float)
        _, counts = np.unique(t[known], return_counts=True)
        out[name] = {"accuracy": float(np.mean(guess == t[known])), "majority": float(counts.max() / known.sum()),
                     "windows": int(known.sum())}
    return out


def checkpoint(model: Classifier, cfg: TrainConfig, *, epoch: int, metrics: dict, fingerprint: str,
               protocol: str) -> dict:
    """Weights and JSON-able facts only, so ``torch.load(weights_only=True)`` reads it."""
    return {"format": CHECKPOINT_FORMAT, "state_dict": model.state_dict(), "config": config_to_dict(cfg),
            "classes": list(cfg.classes), "epoch": epoch, "metrics": metrics, "manifest_sha256": fingerprint,
            "protocol": protocol, "code_version": code_version()}


def save_atomic(state: dict, path: Path) -> None:
    """``torch.save`` to a temporary name, then rename: a run killed mid-write never leaves a broken checkpoint."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def warm_start(model: Classifier, path: str | Path) -> dict:
    """Load every weight of a checkpoint whose name and shape match (e.g. a synthetic-pretrained run).

    A head for other classes, or a wider layer, keeps its fresh initialisation; returns what loaded and what not.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "checkpoint_best.pt"
    if not path.is_file():
        raise FileNotFoundError(f"init_from checkpoint {path} not found; pass a run folder or a .pt file")
    source = torch.load(path, weights_only=True, map_location="cpu")["state_dict"]
    own = model.state_dict()
    loaded = {k: v for k, v in source.items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(loaded, strict=False)
    skipped = sorted(set(own) - set(loaded))
    log.info("warm start from %s: %d tensors loaded, %d kept fresh", path, len(loaded), len(skipped))
    return {"from": str(path), "loaded": len(loaded), "kept_fresh": skipped}


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


def _pause_for_tests(epoch: int) -> None:
    spec = os.environ.get(PAUSE_ENV, "")
    if spec and int(spec.split(":")[0]) == epoch:
        print(f"paused after epoch {epoch}", flush=True)
        time.sleep(float(spec.split(":")[1]))


def train(*, cfg: TrainConfig, manifest: str | Path, out: str | Path, allow_leaky: bool = False,
          progress: bool = True, resume: bool = False) -> dict:
    """Train, validate every epoch, keep the best checkpoint, score it on test; returns metrics.

    ``resume``: continue from ``out/checkpoint_last.pt`` (same config and manifest) to the same final
    weights an uninterrupted run reaches.
    """
    out = Path(out)
    info = distributed.setup(cfg.device)
    try:
        return _train(cfg, manifest, out, info, allow_leaky=allow_leaky, progress=progress and info.main, resume=resume)
    finally:
        distributed.teardown(info)


def _train(cfg: TrainConfig, manifest, out: Path, info: distributed.DistInfo, *, allow_leaky: bool, progress: bool,
           resume: bool) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    seed_everything(cfg.seed, cfg.threads)
    device = info.device
    rows, leaky = prepare_splits(manifest, cfg, allow_leaky=allow_leaky)
    fingerprint = manifest_fingerprint(rows)
    protocol = split_protocol(rows)
    resume_state = _resume_state(out, cfg, fingerprint) if resume else None
    if info.main:
        save_config(cfg, out / "config.yaml")
        write_manifest(rows, out / "manifest.csv")

    model = build_classifier(cfg.frontend, cfg.model, n_classes=len(cfg.classes))
    warm = warm_start(model, cfg.init_from) if cfg.init_from and resume_state is None else None
    from uwac.training.complexity import count_macs, count_parameters, describe

    n_params, macs = count_parameters(model), count_macs(model, cfg.window_samples())
    if info.main:
        print(describe(model, cfg.window_samples(), macs))
    model = model.to(device)
    if cfg.model.name == "cnn":
        model = model.to(memory_format=torch.channels_last)  # ~1.4x faster CPU convolutions (oneDNN NHWC)

    # rank 0 fills the span cache first; the others then read it without racing to write the same files
    if not info.main:
        distributed.barrier(info)
    split_data = {s: load_split([r for r in rows if r.split == s], cfg, desc=s, cache_dir=cfg.data.cache_dir)
                  for s in ("train", "val", "test")}
    extra = load_split(bank_rows(cfg.data.ambient_bank, rows, exclude_fine=cfg.data.exclude_fine_labels), cfg,
                       desc="ambient bank", cache_dir=cfg.data.cache_dir)
    if info.main:
        distributed.barrier(info)
    skipped = [m for s in (*split_data.values(), extra) for m in s.skipped]
    for msg in skipped:
        log.warning("skipped: %s", msg)
    train_data = split_data["train"]
    if not train_data.spans:
        raise ManifestError(f"{manifest}: no usable training audio ({len(skipped)} span(s) skipped)")
    bank = ambient_bank(train_data, [extra], cfg)
    ambient = ambient_sampler(bank) if cfg.augment.enabled and cfg.augment.ambient_mix_prob > 0 else None

    n_windows = int(usable_counts(train_data, cfg).sum())
    _, steps_per_epoch = rank_positions(n_windows, cfg.optim.batch_size, info.rank, info.world)
    total_steps = steps_per_epoch * cfg.optim.epochs
    net = Trainable(model)
    if info.world > 1:
        net = torch.nn.parallel.DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None)
    optimiser, schedule, scaler, dtype, loss_fn = optimisation(model, cfg, total_steps=total_steps, device=device)

    history, best_f1, best_epoch, since_best, start_epoch = [], -1.0, None, 0, 1
    if resume_state is not None:
        model.load_state_dict(resume_state["state_dict"])
        optimiser.load_state_dict(resume_state["optimiser"])
        schedule.load_state_dict(resume_state["schedule"])
        scaler.load_state_dict(resume_state["scaler"])
        history, best_f1 = resume_state["history"], resume_state["best_f1"]
        best_epoch, since_best = resume_state["best_epoch"], resume_state["since_best"]
        start_epoch = resume_state["epoch"] + 1
        warm = resume_state.get("warm_start")
        if info.main:
            print(f"resuming {out} after epoch {resume_state['epoch']}")
    if info.main:
        print(f"{len(train_data.spans)} train spans, {n_windows} windows/epoch "
              f"({'class-balanced' if cfg.data.balanced else 'as recorded'}), {steps_per_epoch} steps/epoch, "
              f"{info.world} process(es) on {device}, amp {dtype or 'off'}, ambient bank {len(bank)} span(s)")

    tb = TensorBoardLog(out, enabled=cfg.tensorboard and info.main, purge_step=(start_epoch - 1) * steps_per_epoch or None)
    bar = tqdm(total=total_steps, initial=(start_epoch - 1) * steps_per_epoch, desc="train", unit="step", disable=not progress)
    t_train, n_seen = 0.0, 0
    for epoch in range(start_epoch, cfg.optim.epochs + 1):
        torch.manual_seed(int(epoch_rng(cfg.seed, epoch, 3, info.rank).integers(2**62)))  # dropout: a function of the epoch
        windows = epoch_windows(train_data, cfg, seed=cfg.seed, epoch=epoch)
        positions, _ = rank_positions(len(windows), cfg.optim.batch_size, info.rank, info.world)
        dataset = TrainWindows(train_data, windows, positions, cfg, seed=cfg.seed, epoch=epoch, ambient=ambient)
        loader = torch.utils.data.DataLoader(dataset, batch_size=cfg.optim.batch_size // info.world, shuffle=False,
                                             num_workers=cfg.data.workers, pin_memory=device.type == "cuda",
                                             generator=torch.Generator().manual_seed(epoch))
        mask_gen = torch.Generator().manual_seed(int(epoch_rng(cfg.seed, epoch, 4, info.rank).integers(2**62)))
        model.train()
        losses, t0 = [], time.perf_counter()
        for audio, y, phys in loader:
            loss = train_step(model, net, audio, y, cfg, optimiser=optimiser, schedule=schedule, scaler=scaler,
                              dtype=dtype, mask_gen=mask_gen, loss_fn=loss_fn, physics=phys)
            losses.append(loss.item())
            bar.update(1)
            bar.set_postfix(epoch=epoch, loss=f"{np.mean(losses[-20:]):.3f}")
            tb.scalars(schedule.last_epoch, **{"train/loss": losses[-1], "train/lr": schedule.get_last_lr()[0]})
        elapsed = time.perf_counter() - t0
        t_train += elapsed
        n_seen += len(positions) * info.world
        recalibrate_batchnorm(model, train_data, cfg, seed=cfg.seed, epoch=epoch, device=device)
        verdict = None
        if info.main:
            val = score(model, split_data["val"], cfg, device=device)
            verdict = {"val": val, "loss": float(np.mean(losses))}
        verdict = distributed.broadcast(info, verdict)
        val = verdict["val"]
        val_f1 = val["window"]["macro_f1"]
        improved = val_f1 > best_f1
        if improved:
            best_f1, best_epoch, since_best = val_f1, epoch, 0
        else:
            since_best += 1
        rate = len(positions) * info.world / max(elapsed, 1e-9)
        history.append({"epoch": epoch, "train_loss": verdict["loss"], "val_macro_f1": val_f1,
                        "val_accuracy": val["window"]["accuracy"], "lr": schedule.get_last_lr()[0],
                        "windows_per_s": round(rate, 1)})
        if info.main:
            bar.write(f"epoch {epoch}: train loss {verdict['loss']:.4f}, val macro-F1 {val_f1:.4f}, {rate:.0f} windows/s")
            tb.scalars(epoch * steps_per_epoch, **{"val/macro_f1": val_f1, "val/accuracy": val["window"]["accuracy"],
                                                   "train/epoch_loss": verdict["loss"], "train/windows_per_s": rate})
            tb.confusion(epoch * steps_per_epoch, val["window"]["confusion"], cfg.classes,
                         title=f"validation, epoch {epoch} (windows)")
            state = checkpoint(model, cfg, epoch=epoch, metrics={"val": val}, fingerprint=fingerprint,
                               protocol="LEAKY" if leaky else protocol)
            if improved:
                save_atomic(state, out / "checkpoint_best.pt")
            state.update(optimiser=optimiser.state_dict(), schedule=schedule.state_dict(), scaler=scaler.state_dict(),
                         history=history, best_f1=best_f1, best_epoch=best_epoch, since_best=since_best, warm_start=warm)
            save_atomic(state, out / "checkpoint_last.pt")
            _pause_for_tests(epoch)
        stop = 0 < cfg.optim.early_stopping_patience <= since_best
        if stop:
            if info.main:
                bar.write(f"early stop: no better val macro-F1 for {since_best} epochs (best epoch {best_epoch})")
            break
    bar.close()
    tb.close()
    digests = distributed.gather(info, distributed.weights_digest(model))
    if not info.main:
        return {}

    best_state = torch.load(out / "checkpoint_best.pt", weights_only=True, map_location=device)
    model.load_state_dict(best_state["state_dict"])
    calibration = None
    if split_data["val"].spans:  # temperature and unknown threshold from validation windows only
        val_logits, val_labels, _ = predict_grid(model, split_data["val"], cfg, device=device)
        calibration = calibrate(val_logits[val_labels >= 0], val_labels[val_labels >= 0])
        model.temperature.fill_(calibration["temperature"])
        best_state.update(state_dict=model.state_dict(), calibration=calibration)
        save_atomic(best_state, out / "checkpoint_best.pt")
    metrics = {
        "code_version": code_version(),
        "leaky_splits": leaky,
        "protocol": protocol,
        "protocol_title": ("LEAKY: splits share recordings" if leaky else
                           f"held-out {'vessels' if protocol == 'VES' else 'recordings'} ({protocol})"),
        "best_epoch": best_epoch,
        "epochs_run": history[-1]["epoch"] if history else 0,
        "early_stopped": bool(history) and history[-1]["epoch"] < cfg.optim.epochs,
        "model": cfg.model.name,
        "parameters": n_params,
        "macs_per_window": macs,
        "train_windows_per_s": round(n_seen / t_train, 1) if t_train else None,
        "device": str(device),
        "amp": str(dtype) if dtype else "off",
        "distributed": {"world_size": info.world, "backend": info.backend, "weights_sha256_by_rank": digests},
        "warm_start": warm,
        "manifest_sha256": fingerprint,
        "spans": {s: len(d.spans) for s, d in split_data.items()},
        "ambient_bank_spans": len(bank),
        "held_out_fine_labels": list(cfg.data.exclude_fine_labels),  # open-set check: absent from train and val
        "skipped": skipped,
        "calibration": calibration,
        "val": best_state["metrics"]["val"],
        "test": score(model, split_data["test"], cfg, device=device) if split_data["test"].spans else None,
        "physics_test": score_physics(model, split_data["test"], cfg, device=device) if split_data["test"].spans else None,
        "history": history,
    }
    if cfg.baseline:
        from uwac.training.baseline import train_baseline

        metrics["baseline"] = train_baseline(rows=rows, cfg=cfg, out=out)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    training_curves_png(history, out / "training_curves.png", title=f"{cfg.name}: best epoch {best_epoch}")
    with (out / "history.csv").open("w") as fh:
        fh.write("epoch,train_loss,val_macro_f1,val_accuracy,lr,windows_per_s\n")
        for h in history:
            fh.write(f"{h['epoch']},{h['train_loss']:.6f},{h['val_macro_f1']:.6f},{h['val_accuracy']:.6f},"
                     f"{h['lr']:.6g},{h['windows_per_s']}\n")
    from uwac.training.report import write_training_report

    write_training_report(metrics, cfg, out)
    return metrics


def _resume_state(out: Path, cfg: TrainConfig, fingerprint: str) -> dict | None:
    """The interrupted run's full state, after checking it is the same job (config and manifest)."""
    path = out / "checkpoint_last.pt"
    if not path.is_file():
        raise FileNotFoundError(f"--resume: {path} not found; nothing to resume in {out}")
    state = torch.load(path, weights_only=True, map_location="cpu")
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


def load_checkpoint(path: str | Path) -> tuple[Classifier, TrainConfig, dict]:
    """Model (eval mode, CPU), config and raw checkpoint from a ``.pt`` file or a run folder."""
    path = Path(path)
    if path.is_dir():
        path = path / "checkpoint_best.pt"
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} not found; run `uwac train` first or pass the run folder")
    state = torch.load(path, weights_only=True, map_location="cpu")
    cfg = config_from_dict(state["config"])
    model = build_classifier(cfg.frontend, cfg.model, n_classes=len(cfg.classes))
    model.load_state_dict(state["state_dict"])
    return model.eval(), cfg, state

