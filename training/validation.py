"""What the training loop runs on un-augmented windows: validation and test scores, the physics heads' accuracy,
and exact ("precise") BatchNorm statistics before each epoch's checkpoint."""

from __future__ import annotations

import numpy as np
import torch
from scipy.special import softmax

from uwac.acoustics.evaluation.metrics import snr_of_rows, split_metrics
from uwac.acoustics.physics_targets import HEAD_NAMES, HEADS
from uwac.training.config import TrainConfig
from uwac.training.data import SplitAudio, epoch_rng
from uwac.training.models import Classifier


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
