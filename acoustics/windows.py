"""Cutting audio into the model's windows and scoring them in batches: the one path every offline scorer takes.

``uwac evaluate`` (``acoustics.evaluation.scoring``), the class timeline (``acoustics.analysis.displays``), the
inference benchmark (``bench.infer_child``) and the hand-made-feature baseline (``acoustics.handcrafted``) all
cut windows here, so they see the same windows on the same hop grid. The streaming daemon's scorer
(``acoustics.stream.scorer``) is the streaming counterpart, fed block by block.

Only numpy is imported at the top (the contract and tqdm when scoring), so the benchmark's measuring process
can cut its windows without loading anything its runtime would not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from uwac.acoustics.contract import ModelInfo


def window_starts(n_samples: int, window_samples: int, hop_samples: int) -> range:
    """Sample offsets of every full window on the hop grid (empty when ``n_samples`` is under one window)."""
    return range(0, n_samples - window_samples + 1, hop_samples)


def cut_windows(audio: np.ndarray, window_samples: int, hop_samples: int) -> np.ndarray:
    """Windows ``[n, window_samples]`` at :func:`window_starts` (a strided view, no copy; n = 0 when too short)."""
    if len(audio) < window_samples:
        return np.empty((0, window_samples), dtype=np.asarray(audio).dtype)
    return np.lib.stride_tricks.sliding_window_view(audio, window_samples)[::hop_samples]


@dataclass(frozen=True)
class ScoredWindow:
    """One scored window: the span it came from, where it lies in it and the model's class probabilities."""

    span: Any  # the item of ``spans`` it was cut from, as given
    start: int  # first sample within the span, at the model's rate
    samples: int  # span samples it covers: a window, or the whole span when ``short``
    probabilities: np.ndarray  # [classes]
    short: bool  # the span was under one window and was scored tiled to one (``contract.short_clip_window``)


def score_windows(session, info: ModelInfo, spans: Iterable, *, read: Callable[[Any], np.ndarray | None] | None = None,
                  hop_samples: int | None = None, batch_size: int = 32, progress: bool = False,
                  desc: str = "score") -> Iterator[ScoredWindow]:
    """Every window of every span through one onnxruntime session, in batches of ``batch_size`` across spans.

    ``spans``: mono audio arrays at the model's rate, or anything ``read`` turns into one (``read`` returning None
    skips the item; the caller notes why). ``hop_samples``: hop between windows (the model's by default). A span
    shorter than one window is scored once, tiled to one window (:func:`~uwac.acoustics.contract.short_clip_window`,
    never dropped; an empty span gives nothing), in a batch of its own. ``progress``: a tqdm bar over the spans.
    Yields :class:`ScoredWindow` in span order, then window order.
    """
    from tqdm import tqdm

    from uwac.acoustics.contract import run_batch, short_clip_window

    win, hop = info.window_samples, info.hop_samples if hop_samples is None else int(hop_samples)
    pending: list[tuple[Any, int, np.ndarray]] = []

    def flush() -> Iterator[ScoredWindow]:
        if pending:
            probs = run_batch(session, np.stack([x for _, _, x in pending]))["probabilities"]
            yield from (ScoredWindow(span, start, win, p, False)
                        for (span, start, _), p in zip(pending, probs, strict=True))
            pending.clear()

    for span in tqdm(spans, desc=desc, unit="span", disable=not progress):
        audio = span if read is None else read(span)
        if audio is None:
            continue
        windows = cut_windows(audio, win, hop)
        if not len(windows):
            tiled = short_clip_window(audio, info)
            if tiled is None:
                continue
            yield from flush()  # a window of its own: a batch of its own
            p = run_batch(session, tiled[None, :])["probabilities"][0]
            yield ScoredWindow(span, 0, int(audio.shape[0]), p, True)
        for start, x in zip(window_starts(audio.shape[0], win, hop), windows, strict=True):
            pending.append((span, start, x))
            if len(pending) == batch_size:
                yield from flush()
    yield from flush()
