"""``uwac bench train``: training throughput in windows/s, and whether the data loader keeps the device busy.

Two measurements in one run, on the same model, device and batch size, through the training loop's own
``train_step`` (front-end on the device in fp32, SpecAugment, autocast when mixed precision is on):
(a) compute only, one batch already on the device, stepped repeatedly; (b) fed by the real loader
(span cache, waveform augmentation, DataLoader workers). (a)/(b) time ratio is the share of time the
device computes; near 1 means the loader keeps up, well below 1 means add workers.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from pathlib import Path

import torch

from uwac.training.config import TrainConfig
from uwac.training.data import TrainWindows, ambient_bank, ambient_sampler, epoch_windows, load_split
from uwac.training.models import build_classifier
from uwac.training.train import Trainable, optimisation, prepare_splits, seed_everything, train_step


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_train(*, cfg: TrainConfig, manifest: str | Path | None = None, steps: int = 20, warmup: int = 3,
                out: str | Path | None = None) -> dict:
    """Windows/s compute-only and loader-fed, and the busy fraction; renders 4 minutes of scenes if no manifest."""
    from uwac.training.distributed import pick_device

    seed_everything(cfg.seed, cfg.threads)
    device = pick_device(cfg.device, 0)
    with tempfile.TemporaryDirectory() as tmp:
        if manifest is None:
            from uwac.acoustics.synth import render_dataset

            manifest = render_dataset(out_dir=Path(tmp) / "data", minutes=4.0, seed=cfg.seed, clip_seconds=12.0,
                                      workers=2, progress=False)
        rows, _ = prepare_splits(manifest, cfg)
        split = load_split([r for r in rows if r.split == "train"], cfg, desc="train", cache_dir=cfg.data.cache_dir)
    model = build_classifier(cfg.frontend, cfg.model, n_classes=len(cfg.classes)).to(device)
    if cfg.model.name == "cnn":
        model = model.to(memory_format=torch.channels_last)
    model.train()
    optimiser, schedule, scaler, dtype, loss_fn = optimisation(model, cfg, total_steps=10**6, device=device)
    gen = torch.Generator().manual_seed(0)
    batch = cfg.optim.batch_size

    trainable = Trainable(model)

    def step(audio, y, physics=None):
        return train_step(model, trainable, audio, y, cfg, optimiser=optimiser, schedule=schedule, scaler=scaler,
                          dtype=dtype, mask_gen=gen, loss_fn=loss_fn, physics=physics)

    windows = epoch_windows(split, cfg, seed=cfg.seed, epoch=1)
    need = (steps + warmup) * batch
    windows = (windows * math.ceil(need / len(windows)))[:need]
    ambient = ambient_sampler(ambient_bank(split, [], cfg))
    dataset = TrainWindows(split, windows, list(range(need)), cfg, seed=cfg.seed, epoch=1, ambient=ambient)
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch, num_workers=cfg.data.workers,
                                         pin_memory=device.type == "cuda")
    audio0, y0, physics0 = next(iter(loader))
    audio0, y0 = audio0.to(device), y0.to(device)
    for _ in range(warmup):
        step(audio0, y0, physics0)
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step(audio0, y0, physics0)
    _sync(device)
    compute_s = time.perf_counter() - t0

    it = iter(loader)
    for _ in range(warmup):
        step(*next(it))
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step(*next(it))
    _sync(device)
    fed_s = time.perf_counter() - t0

    result = {
        "device": str(device), "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "model": cfg.model.name, "size": cfg.model.size, "batch_size": batch, "amp": str(dtype) if dtype else "off",
        "workers": cfg.data.workers, "threads": cfg.threads, "steps": steps,
        "compute_only_windows_per_s": round(steps * batch / compute_s, 1),
        "loader_fed_windows_per_s": round(steps * batch / fed_s, 1),
        "device_busy_fraction": round(compute_s / fed_s, 3),
        "peak_cuda_memory_mb": round(torch.cuda.max_memory_allocated(device) / 2**20, 1) if device.type == "cuda" else None,
    }
    result["verdict"] = ("the loader keeps the device busy" if result["device_busy_fraction"] >= 0.9 else
                         f"the device waits for data {1 - result['device_busy_fraction']:.0%} of the time: "
                         "raise data.workers")
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "bench_train.json").write_text(json.dumps(result, indent=2))
    return result


def render_markdown(result: dict) -> str:
    """The result as a short markdown table."""
    lines = [f"training throughput: {result['model']}/{result['size']} on {result['device_name']} ({result['device']}), "
             f"batch {result['batch_size']}, amp {result['amp']}, {result['workers']} loader worker(s), "
             f"{result['threads']} torch thread(s)", "", "| measurement | windows/s |", "|---|---|",
             f"| compute only (batch resident on the device) | {result['compute_only_windows_per_s']} |",
             f"| fed by the data loader (cache + augmentation) | {result['loader_fed_windows_per_s']} |", "",
             f"device busy {result['device_busy_fraction']:.0%}: {result['verdict']}"]
    if result.get("peak_cuda_memory_mb"):
        lines.append(f"peak CUDA memory {result['peak_cuda_memory_mb']} MB")
    return "\n".join(lines)

