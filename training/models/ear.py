"""The physics ear: one stem per front-end branch (LOFAR, DEMON, log-mel), merged into one embedding.

- LOFAR and DEMON stems read per-bin statistics of their grams over the window's frames: the mean, the maximum
  and the minimum. A machinery line holds its frequency for minutes, so it is high in all three; a call that
  sweeps or pulses is high in the maximum only. A 1-D CNN runs along frequency (lines, twin lines, their
  neighbourhood); its output is read both as global maxima (a line anywhere) and on a coarse frequency grid
  (where the lines are).
- Harmonic stems: a fixed matrix sums each gram's line evidence at k·f0 over a log grid of fundamentals
  (LOFAR: 2–200 Hz, k ≤ 10; DEMON: 0.5–25 Hz shaft rates, k ≤ 21 = 3 × 7 blades), so a blade-rate family or a
  firing-rate family shows up as one peak at its fundamental, and a small CNN reads that salience curve.
- The log-mel stem convolves over time with the mel bands as channels (transients, sweeps, slow AM).

All pooling over frames and time is global, so any input length of at least one window works, and all
operations are Conv/MatMul/pooling that every runtime takes.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

STAT_COUNT = 3  # mean, max, min over frames
LOFAR_F0_HZ = (2.0, 200.0, 10)   # harmonic grid: lowest, highest fundamental [Hz], most harmonics summed
DEMON_F0_HZ = (0.5, 25.0, 21)    # shaft rates 30–1500 rpm (physics.md §4), harmonics to 3·Z for Z ≤ 7
F0_STEP = 0.01                   # relative spacing of the fundamental grid (design note: 1 %)


# Evidence max-pooled as (half-width, stride) in bins: a harmonic is read from the pooling whose reach
# (half-width − stride/2) covers its tolerance, so high harmonics are read coarsely, low ones finely (design note).
HARMONIC_POOLS = ((2, 1), (4, 2), (8, 4), (16, 8))


def f0_grid(lo_hz: float, hi_hz: float, step: float = F0_STEP) -> np.ndarray:
    """Log-spaced fundamentals [Hz] from lo_hz to hi_hz, ``step`` apart (relative)."""
    return np.exp(np.arange(np.log(lo_hz), np.log(hi_hz) + 1e-9, np.log1p(step)))


def pooled_length(bins: int, half: int, stride: int) -> int:
    """Outputs of ``max_pool1d(kernel 2·half + 1, stride, padding half)`` over ``bins``."""
    return (bins + 2 * half - (2 * half + 1)) // stride + 1


def harmonic_matrix(freqs_hz: np.ndarray, lo_hz: float, hi_hz: float, max_order: int,
                    step: float = F0_STEP) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """(table ``[rows, fundamentals]``, the pooled-row range (first, stop) taken from each of
    :data:`HARMONIC_POOLS`): column j averages, for k = 1..max_order with k·f0_j inside the band of ``freqs_hz``,
    the pooled evidence nearest k·f0_j in the coarsest pooling whose reach still covers the grid's half step
    (k·f0·step/2) plus one bin of drift — so every harmonic of a fundamental between two grid points is found at
    its full height (max pooling, not an average), and the table stays small. The rows are the used ranges of
    each pooling, stacked in order. float32."""
    freqs = np.asarray(freqs_hz, dtype=np.float64)
    df, bins = freqs[1] - freqs[0], freqs.size
    f0 = f0_grid(lo_hz, hi_hz, step)
    reach = np.asarray([h - s / 2 for h, s in HARMONIC_POOLS])
    picks: list[tuple[int, int, int, float]] = []  # (pooling, pooled row, column, weight)
    for j, f in enumerate(f0):
        harmonics = f * np.arange(1, max_order + 1)
        harmonics = harmonics[(harmonics >= freqs[0]) & (harmonics <= freqs[-1])]
        for h in harmonics:
            need = 0.5 * step * h / df + 1.0
            v = int(np.searchsorted(reach, need)) if need <= reach[-1] else len(reach) - 1
            stride = HARMONIC_POOLS[v][1]
            row = min(int(np.rint((h - freqs[0]) / df / stride)), pooled_length(bins, *HARMONIC_POOLS[v]) - 1)
            picks.append((v, row, j, 1.0 / harmonics.size))
    ranges, offsets, total = [], [], 0
    for v in range(len(HARMONIC_POOLS)):
        rows = [r for pv, r, _, _ in picks if pv == v]
        first, stop = (min(rows), max(rows) + 1) if rows else (0, 0)
        ranges.append((first, stop))
        offsets.append(total - first)
        total += stop - first
    table = np.zeros((total, f0.size), dtype=np.float32)
    for v, row, j, w in picks:
        table[offsets[v] + row, j] += w
    return table, ranges


def _conv(c_in: int, c_out: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv1d(c_in, c_out, kernel, padding=kernel // 2, bias=False), nn.BatchNorm1d(c_out),
                         nn.ReLU(inplace=True))


def frame_stats(gram: torch.Tensor) -> torch.Tensor:
    """``[..., frames, bins]`` → ``[..., 3, bins]``: mean, max and min over frames."""
    return torch.stack([gram.mean(dim=-2), gram.amax(dim=-2), gram.amin(dim=-2)], dim=-2)


class LineStem(nn.Module):
    """``[batch, channels, bins]`` → ``[batch, out_dim]``: a 1-D CNN along frequency with max pooling, read as
    per-channel global maxima plus a ``grid``-point coarse map."""

    def __init__(self, *, channels: int, bins: int, widths: tuple[int, ...], pool: int, grid: int, out_dim: int,
                 kernel: int = 5):
        super().__init__()
        layers, c_in = [], channels
        for i, c in enumerate(widths):
            layers.append(_conv(c_in, c, kernel))
            if i < len(widths) - 1:
                layers.append(nn.MaxPool1d(pool))
            c_in = c
        self.body = nn.Sequential(*layers)
        length = bins
        for _ in range(len(widths) - 1):
            length //= pool
        self.grid_pool = max(1, length // grid)
        cells = length // self.grid_pool
        self.out = nn.Sequential(nn.Linear(c_in * (cells + 1), out_dim), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x)
        coarse = nn.functional.max_pool1d(h, self.grid_pool)
        return self.out(torch.cat([h.amax(dim=-1), coarse.flatten(1)], dim=1))


class HarmonicStem(nn.Module):
    """Line evidence ``[batch, channels, bins]`` → harmonic salience over a log grid of fundamentals → small CNN →
    ``[batch, out_dim]``. The evidence is the clipped dB excess (0–20 dB), max-pooled finely for low and coarsely
    for high harmonics so that each is found within the grid's tolerance (:func:`harmonic_matrix`)."""

    def __init__(self, freqs_hz: np.ndarray, lo_hz: float, hi_hz: float, max_order: int, *, out_dim: int,
                 channels: int):
        super().__init__()
        table, self.ranges = harmonic_matrix(freqs_hz, lo_hz, hi_hz, max_order)
        self.register_buffer("table", torch.from_numpy(table), persistent=False)
        self.body = nn.Sequential(_conv(channels, 16, 5), nn.MaxPool1d(2), _conv(16, 32, 5), nn.MaxPool1d(2))
        cells = table.shape[1] // 4
        self.grid = 16
        self.pool = max(1, cells // self.grid)
        self.out = nn.Sequential(nn.Linear(32 * (cells // self.pool + 1), out_dim), nn.ReLU(inplace=True))

    def salience(self, evidence: torch.Tensor) -> torch.Tensor:
        """Harmonic salience ``[batch, channels, fundamentals]``: the mean pooled evidence at each f0's harmonics."""
        e = evidence.clamp(0.0, 2.0)
        wide = torch.cat([nn.functional.max_pool1d(e, 2 * half + 1, stride=stride, padding=half)[..., first:stop]
                          for (half, stride), (first, stop) in zip(HARMONIC_POOLS, self.ranges, strict=True)
                          if stop > first], dim=-1)
        return torch.matmul(wide, self.table)

    def forward(self, evidence: torch.Tensor) -> torch.Tensor:
        h = self.body(self.salience(evidence))
        return self.out(torch.cat([h.amax(dim=-1), nn.functional.max_pool1d(h, self.pool).flatten(1)], dim=1))


class MelStem(nn.Module):
    """Per-band normalised log-mel ``[batch, mels, frames]`` → ``[batch, out_dim]``: strided 1-D convolutions over
    time (mel bands as channels), then mean and max over time."""

    def __init__(self, mels: int, *, widths: tuple[int, ...] = (48, 64, 64), out_dim: int = 128):
        super().__init__()
        layers, c_in = [], mels
        for i, c in enumerate(widths):
            k = 5 if i < len(widths) - 1 else 3
            layers += [nn.Conv1d(c_in, c, k, stride=2, padding=k // 2, bias=False), nn.BatchNorm1d(c),
                       nn.ReLU(inplace=True)]
            c_in = c
        self.body = nn.Sequential(*layers)
        self.out = nn.Sequential(nn.Linear(2 * c_in, out_dim), nn.ReLU(inplace=True))

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        h = self.body(mel)
        return self.out(torch.cat([h.mean(dim=-1), h.amax(dim=-1)], dim=1))


class PhysicsEar(nn.Module):
    """``forward({"mel", "lofar", "demon"}) -> (logits [batch, classes], embedding [batch, embedding_dim])``.

    ``lofar_freqs`` / ``demon_freqs``: the kept bins' frequencies [Hz] (the stems' fixed sizes and harmonic
    tables); ``bands``: DEMON carrier bands; ``mels``: log-mel bands. A branch given as None has no stem.
    """

    def __init__(self, *, n_classes: int, lofar_freqs: np.ndarray | None, demon_freqs: np.ndarray | None,
                 bands: int, mels: int | None, embedding_dim: int = 128, dropout: float = 0.2, width: float = 1.0):
        super().__init__()
        w = lambda c: max(4, int(round(c * width)))  # noqa: E731
        stems: dict[str, nn.Module] = {}
        if lofar_freqs is not None:
            stems["lofar"] = LineStem(channels=STAT_COUNT, bins=len(lofar_freqs), widths=(w(16), w(24), w(32), w(48)),
                                      pool=3, grid=32, out_dim=128)
            stems["lofar_harmonics"] = HarmonicStem(lofar_freqs, *LOFAR_F0_HZ, out_dim=64, channels=1)
        if demon_freqs is not None:
            stems["demon"] = LineStem(channels=STAT_COUNT * bands, bins=len(demon_freqs), widths=(w(16), w(32), w(32)),
                                      pool=2, grid=24, out_dim=96)
            stems["demon_harmonics"] = HarmonicStem(demon_freqs, *DEMON_F0_HZ, out_dim=64, channels=bands)
        if mels is not None:
            stems["mel"] = MelStem(mels, widths=(w(48), w(64), w(64)), out_dim=96)
        if not stems:
            raise ValueError("the physics ear needs at least one front-end branch")
        self.stems = nn.ModuleDict(stems)
        width_in = sum(s.out[0].out_features for s in stems.values())
        self.embed = nn.Sequential(nn.Linear(width_in, embedding_dim), nn.ReLU(inplace=True))
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(embedding_dim, n_classes)

    def forward(self, features: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        parts = []
        if "lofar" in self.stems:
            lofar = features["lofar"]                                    # [b, frames, bins]
            parts += [self.stems["lofar"](frame_stats(lofar)),
                      self.stems["lofar_harmonics"](lofar.mean(dim=1, keepdim=True))]
        if "demon" in self.stems:
            demon = features["demon"]                                    # [b, bands, frames, bins]
            parts += [self.stems["demon"](frame_stats(demon).flatten(1, 2)),
                      self.stems["demon_harmonics"](demon.mean(dim=2))]
        if "mel" in self.stems:
            parts.append(self.stems["mel"](features["mel"]))
        embedding = self.embed(torch.cat(parts, dim=1))
        return self.head(self.dropout(embedding)), embedding
