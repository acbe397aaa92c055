"""Training windows: spans cached at the model rate, windows drawn per epoch, augmented on the fly.

Each manifest span is decoded once, in blocks, resampled (soxr VHQ) and cached as a memory-mapped
``.npy`` (``acoustics.span_cache``); a window is then a slice of that memmap, so no file is decoded
whole and hours of audio cost no RAM. Which windows an epoch sees, and every random choice made while
augmenting them, follow from (seed, epoch, position) alone, so a resumed run and a run with more
loader workers or more DDP processes see exactly the same windows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm import tqdm

from uwac.acoustics.audio_io import AudioError
from uwac.acoustics.manifest import Row
from uwac.acoustics.physics_targets import (
    AUDIBLE_FRACTION,
    audible_fraction,
    physics_vector,
    row_audible_spans,
    row_targets,
    window_label,
)
from uwac.acoustics.span_cache import span_audio
from uwac.acoustics.taxonomy import FINE_TYPES
from uwac.training.augment import augment_window
from uwac.training.config import TrainConfig

log = logging.getLogger(__name__)


def span_strong_labels(row: Row) -> tuple[list[tuple[float, float]] | None, dict | None]:
    """(spans [s, from the row's start] where the row's contact is audible, its physics targets) for a render's row.

    Ambient rows of a render give ([], None): nothing audible. Rows that are not renders (no JSON beside the
    audio: real recordings, public datasets) give (None, None): audibility unknown, the row's label holds.
    """
    spans = row_audible_spans(row)
    if spans is None:
        return None, None
    return [(a - row.start_s, b - row.start_s) for a, b in spans], row_targets(row)


@dataclass
class SplitAudio:
    """The usable spans of one split at the model rate, with their labels; ``skipped`` says what was not usable.

    ``audible`` / ``targets`` per span: the strong-label spans (s from the span start; None when unknown) and the
    physics targets (None for ambient or non-render audio), from which :meth:`window_targets` derives each
    window's honest class and auxiliary targets.
    """

    spans: list[np.ndarray]       # float32 memmaps at cfg.frontend.sample_rate
    labels: np.ndarray            # class index per span (the row's label)
    recording_ids: list[str]
    rows: list[Row]
    skipped: list[str] = field(default_factory=list)
    audible: list[list[tuple[float, float]] | None] = field(default_factory=list)
    targets: list[dict | None] = field(default_factory=list)

    def window_targets(self, span: int, start: int, cfg: TrainConfig) -> tuple[int, np.ndarray]:
        """(class index, or −1 when the window is left out of the class loss; physics targets, NaN where none)
        of the window of ``span`` starting at sample ``start``, under ``cfg.data.window_labels``."""
        sr, row = cfg.frontend.sample_rate, self.rows[span]
        t0 = start / sr
        spans = self.audible[span] if self.audible else None
        fraction = None if spans is None else audible_fraction(spans, t0, t0 + cfg.data.window_seconds)
        label = window_label(row.label, fraction, cfg.data.window_labels)
        audible = np.nan if fraction is None else float(fraction >= AUDIBLE_FRACTION)
        vector = physics_vector(self.targets[span] if self.targets else None, audible=audible)
        return (cfg.classes.index(label) if label is not None else -1), vector

    def grid_counts(self, cfg: TrainConfig) -> np.ndarray:
        """Windows on the 1-s hop grid in each span."""
        win, hop = cfg.window_samples(), cfg.hop_samples()
        return np.asarray([(len(s) - win) // hop + 1 for s in self.spans], dtype=np.int64)

    def grid_windows(self, cfg: TrainConfig) -> list[tuple[int, int]]:
        """(span index, start sample) of every window on the hop grid."""
        hop = cfg.hop_samples()
        return [(i, k * hop) for i, n in enumerate(self.grid_counts(cfg)) for k in range(int(n))]

    def window(self, span: int, start: int, cfg: TrainConfig) -> np.ndarray:
        """One window of audio, float32 (a copy, not a view of the memmap)."""
        return np.array(self.spans[span][start: start + cfg.window_samples()], dtype=np.float32)


def load_split(rows: list[Row], cfg: TrainConfig, *, desc: str = "", cache_dir: str | None = None) -> SplitAudio:
    """Cache every span of ``rows`` at the model rate; unreadable, truncated or too-short spans are skipped and listed."""
    sr, win = cfg.frontend.sample_rate, cfg.window_samples()
    out = SplitAudio([], np.zeros(0, dtype=np.int64), [], [])
    labels = []
    for r in tqdm(rows, desc=f"audio {desc}".strip(), unit="span", leave=False):
        if r.label not in cfg.classes:
            out.skipped.append(f"{r.path}: label {r.label!r} is not one of {cfg.classes}")
            continue
        try:
            audio = span_audio(r.path, start_s=r.start_s, end_s=r.end_s, sample_rate=sr, cache_dir=cache_dir)
        except AudioError as exc:
            out.skipped.append(str(exc))
            continue
        if len(audio) < win:
            out.skipped.append(f"{r.path}: span {r.start_s:.2f}-{r.end_s:.2f} s is shorter than one "
                               f"{cfg.data.window_seconds} s window")
            continue
        out.spans.append(audio)
        labels.append(cfg.classes.index(r.label))
        out.recording_ids.append(r.recording_id)
        out.rows.append(r)
        spans, targets = span_strong_labels(r)
        out.audible.append(spans)
        out.targets.append(targets)
    out.labels = np.asarray(labels, dtype=np.int64)
    return out


def hold_out_fine(rows: list[Row], exclude: list[str]) -> tuple[list[Row], dict]:
    """Rows without any train or val recording that holds one of the ``exclude`` fine types; test rows all stay.

    Whole recordings go (every row sharing the ``recording_id``), so a held-out vessel heard in a
    neighbouring span of a scene cannot reach the weights, the temperature or the ``unknown`` threshold.
    Returns (kept rows, summary: per split the rows and recordings dropped, test rows and recordings of
    the held-out types, classes left without train or val rows). A name found in no row is an error.
    """
    if not exclude:
        return rows, {}
    held = set(exclude)
    present = {r.fine_label for r in rows}
    missing = [f for f in exclude if f not in present]
    if missing:
        known = "; ".join(f"{c}: {', '.join(f)}" for c, f in FINE_TYPES.items())
        raise ValueError(f"data.exclude_fine_labels: {', '.join(map(repr, missing))} is the fine_label of no manifest row; "
                         f"uwac's fine types are {known}; this manifest has {', '.join(sorted(present))}")
    tainted = {r.recording_id for r in rows if r.split in ("train", "val") and r.fine_label in held}
    kept = [r for r in rows if r.split == "test" or r.recording_id not in tainted]
    summary: dict = {"fine_labels": list(exclude), "dropped": {}, "test": {}, "classes_lost": {}}
    for split in ("train", "val"):
        gone = [r for r in rows if r.split == split and r.recording_id in tainted]
        summary["dropped"][split] = {"rows": len(gone), "recordings": len({r.recording_id for r in gone})}
        before = {r.label for r in rows if r.split == split}
        after = {r.label for r in kept if r.split == split}
        summary["classes_lost"][split] = sorted(before - after)
    test = [r for r in rows if r.split == "test" and r.fine_label in held]
    summary["test"] = {"rows": len(test), "recordings": len({r.recording_id for r in test}),
                       "by_fine": {f: sum(r.fine_label == f for r in test) for f in exclude}}
    return kept, summary


def describe_hold_out(summary: dict) -> str:
    """One log line saying what ``hold_out_fine`` removed and what test keeps for the open-set check."""
    d, t = summary["dropped"], summary["test"]
    return (f"open-set hold-out (data.exclude_fine_labels): {', '.join(summary['fine_labels'])} kept out of training, "
            f"validation and calibration: dropped {d['train']['recordings']} train recording(s) "
            f"({d['train']['rows']} rows) and {d['val']['recordings']} val recording(s) ({d['val']['rows']} rows); "
            f"test keeps {t['rows']} row(s) in {t['recordings']} recording(s) of them "
            f"({', '.join(f'{f}: {n}' for f, n in t['by_fine'].items())})")


def epoch_rng(seed: int, epoch: int, *stream: int) -> np.random.Generator:
    """The generator for one epoch's (and one stream's) random choices: a function of its arguments only."""
    return np.random.default_rng(np.random.SeedSequence([seed, epoch, *stream]))


def epoch_windows(split: SplitAudio, cfg: TrainConfig, *, seed: int, epoch: int) -> list[tuple[int, int]]:
    """The shuffled (span, start sample) list one epoch trains on; as many windows as the hop grid has.

    ``data.balanced``: each window's class is drawn uniformly among the classes present, then a span of
    that class with probability proportional to its usable windows (:func:`usable_counts`), so rare classes are
    not drowned out.
    Otherwise every span contributes its grid count. ``augment.time_shift``: starts anywhere in the span
    (sample resolution), else on the grid.
    """
    rng = epoch_rng(seed, epoch, 0)
    counts = usable_counts(split, cfg)
    total = int(counts.sum())
    if cfg.data.balanced:
        present = np.unique(split.labels[counts > 0])
        classes = rng.choice(present, size=total)
        spans = np.empty(total, dtype=np.int64)
        for c in present:
            members = np.flatnonzero(split.labels == c)
            pick = classes == c
            spans[pick] = rng.choice(members, size=int(pick.sum()), p=counts[members] / counts[members].sum())
    else:
        spans = rng.permutation(np.repeat(np.arange(len(counts)), counts))
    win, hop = cfg.window_samples(), cfg.hop_samples()
    lengths = np.asarray([len(s) for s in split.spans], dtype=np.int64)[spans]
    if cfg.augment.enabled and cfg.augment.time_shift:
        starts = (rng.random(total) * (lengths - win + 1)).astype(np.int64)
    else:
        starts = rng.integers(0, (lengths - win) // hop + 1) * hop
    return list(zip(spans.tolist(), starts.tolist(), strict=True))


def usable_counts(split: SplitAudio, cfg: TrainConfig) -> np.ndarray:
    """Hop-grid windows per span that train the class head: all of them, except under ``window_labels: ignore``,
    where a vessel window whose contact is not audible does not count (so epochs are not spent on them)."""
    counts = split.grid_counts(cfg)
    if cfg.data.window_labels != "ignore":
        return counts
    hop = cfg.hop_samples()
    return np.asarray([sum(split.window_targets(i, k * hop, cfg)[0] >= 0 for k in range(int(n)))
                       for i, n in enumerate(counts)], dtype=np.int64)


def ambient_bank(train: SplitAudio, extra: list[SplitAudio], cfg: TrainConfig) -> list[np.ndarray]:
    """Spans to mix into training windows: the train split's ambient spans plus extra ambient spans.

    Only training audio (never validation or test) is mixed in; ``extra`` comes from the manifests in
    ``data.ambient_bank``, already stripped of rows that belong to this run's val/test recordings.
    """
    if "ambient" not in cfg.classes:
        return []
    amb = cfg.classes.index("ambient")
    bank = [s for s, lab in zip(train.spans, train.labels, strict=True) if lab == amb]
    for split in extra:
        bank.extend(s for s, lab in zip(split.spans, split.labels, strict=True) if lab == amb)
    return bank


def ambient_sampler(bank: list[np.ndarray]) -> Callable[[np.random.Generator, int], np.ndarray] | None:
    """``f(rng, n) -> n samples`` of a random bank span at a random offset (None for an empty bank)."""
    usable = [s for s in bank if len(s) > 0]
    if not usable:
        return None
    weights = np.asarray([len(s) for s in usable], dtype=np.float64)
    weights /= weights.sum()

    def draw(rng: np.random.Generator, n: int) -> np.ndarray:
        span = usable[int(rng.choice(len(usable), p=weights))]
        if len(span) >= n:
            start = int(rng.integers(0, len(span) - n + 1))
            return np.array(span[start: start + n], dtype=np.float32)
        return np.resize(np.asarray(span, dtype=np.float32), n)  # a short clip repeats

    return draw


class TrainWindows(torch.utils.data.Dataset):
    """Augmented training windows of one epoch: item ``i`` is ``(audio [samples], label, physics targets)``; the
    label is −1 for a window left out of the class loss (:meth:`SplitAudio.window_targets`).

    Item ``i``'s augmentation draws from ``epoch_rng(seed, epoch, 1, i)``, so it does not depend on
    which worker or which DDP rank produces it.
    """

    def __init__(self, split: SplitAudio, windows: list[tuple[int, int]], positions: list[int], cfg: TrainConfig, *,
                 seed: int, epoch: int, ambient: Callable[[np.random.Generator, int], np.ndarray] | None):
        self.split, self.windows, self.positions, self.cfg = split, windows, positions, cfg
        self.seed, self.epoch, self.ambient = seed, epoch, ambient

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int, torch.Tensor]:
        pos = self.positions[i]
        span, start = self.windows[pos]
        audio = augment_window(self.split.spans[span], start, self.cfg.window_samples(),
                               epoch_rng(self.seed, self.epoch, 1, pos), self.cfg.augment, self.ambient,
                               sample_rate=self.cfg.frontend.sample_rate)
        label, physics = self.split.window_targets(span, start, self.cfg)
        return torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)), label, torch.from_numpy(physics)


def rank_positions(n_windows: int, batch_size: int, rank: int, world: int) -> tuple[list[int], int]:
    """The window positions rank ``rank`` of ``world`` trains on, and the steps per epoch.

    Global batches of ``batch_size`` windows (the last partial one dropped, so every rank takes the same
    number of steps); each rank takes its contiguous ``batch_size // world`` slice of every global batch.
    """
    if batch_size % world:
        raise ValueError(f"optim.batch_size={batch_size} must be divisible by the {world} DDP processes")
    per = batch_size // world
    steps = max(1, n_windows // batch_size)
    positions = [b * batch_size + rank * per + j for b in range(steps) for j in range(per)]
    return [p for p in positions if p < n_windows], steps
