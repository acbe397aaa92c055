"""Framing and a band-limited power DFT from plain ops (Pad/Slice/Reshape/Concat, MatMul/Mul/Add).

Used by the LOFAR and DEMON branches: long frames (10240 decimated samples, 768 envelope samples) whose
power is wanted only for a band of bins. The DFT is factored Cooley–Tukey style into two small matmul
stages (n_fft = n1·n2) and stage 2 keeps only the bins below ``stop``, so the exported graph carries small
tables and no STFT op or complex numbers (DESIGN.md pitfalls). ``power_fft`` is the same through
``torch.fft`` for training, where it is far cheaper on CPU.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn


def frame_rows(x: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    """Frames ``[..., n_frames, n_fft]`` of ``x [..., n]`` every ``hop`` samples from Pad/Slice/Reshape/Concat only.

    Frame f is samples [f·hop, f·hop + n_fft): the concatenation of rows j = 0..⌈n_fft/hop⌉−1 of the signal
    cut into hop-long rows starting at j·hop, truncated to n_fft. A constant zero pad of n_fft at the end keeps
    every slice in range; those zeros never reach a kept sample. No Gather and no unfold (NPU toolchains).
    """
    n_frames = 1 + (x.shape[-1] - n_fft) // hop
    padded = nn.functional.pad(x, (0, n_fft))
    rows = [padded[..., j * hop: j * hop + n_frames * hop].unflatten(-1, (n_frames, hop))
            for j in range(-(-n_fft // hop))]
    return torch.cat(rows, dim=-1)[..., :n_fft]


def dft_split(n_fft: int) -> tuple[int, int] | None:
    """(n1, n2) with n1·n2 = n_fft and n1 ≤ n2 as close to √n_fft as possible, both ≥ 4; None when none exists."""
    best = None
    for n1 in range(4, math.isqrt(n_fft) + 1):
        if n_fft % n1 == 0:
            best = (n1, n_fft // n1)
    return best


def band_dft_tables(n_fft: int, stop: int) -> dict[str, np.ndarray]:
    """Tables of :class:`BandPowerDFT` for bins 0..stop−1 (float64).

    With n = n2·i1 + i2 and k = k1 + n1·k2: stage1 ``[2·n1, n1]`` is cos then −sin of 2π·i1·k1/n1; twiddle_cos/_sin
    ``[n1, n2]`` are cos/sin of 2π·i2·k1/n_fft; stage2 ``[2·n2, 2·K2]`` is [[cos, −sin], [sin, cos]] of 2π·i2·k2/n2
    for the K2 = ⌈stop / n1⌉ values of k2 that reach a bin below ``stop``.
    """
    n1, n2 = dft_split(n_fft)
    k2_count = -(-stop // n1)
    i1 = np.arange(n1)
    a1 = 2.0 * np.pi * np.outer(i1, i1) / n1
    tw = 2.0 * np.pi * np.outer(np.arange(n1), np.arange(n2)) / n_fft
    a2 = 2.0 * np.pi * np.outer(np.arange(n2), np.arange(k2_count)) / n2
    c2, s2 = np.cos(a2), np.sin(a2)
    return {"stage1": np.concatenate([np.cos(a1), -np.sin(a1)], axis=0), "twiddle_cos": np.cos(tw),
            "twiddle_sin": np.sin(tw), "stage2": np.block([[c2, -s2], [s2, c2]])}


def factored_power(frames: torch.Tensor, tables: nn.Module, split: tuple[int, int]) -> torch.Tensor:
    """|DFT|² ``[..., k1, k2]`` of real frames ``[..., n1·n2]`` by the two matmul stages (bin k = k1 + n1·k2).

    ``tables`` holds the buffers ``stage1``, ``twiddle_cos``, ``twiddle_sin`` and ``stage2`` of
    :func:`band_dft_tables` (or the log-mel's equivalent); only the k2 columns of ``stage2`` are computed.
    """
    n1, n2 = split
    x = frames.unflatten(-1, (n1, n2))                          # [..., i1, i2]
    a = torch.matmul(tables.stage1, x)                          # [..., 2·n1 (re k1, im k1), i2]
    re, im = a[..., :n1, :], a[..., n1:, :]
    cos, sin = tables.twiddle_cos, tables.twiddle_sin
    t = torch.cat([re * cos + im * sin, im * cos - re * sin], dim=-1)  # [..., k1, 2·i2]
    y = torch.matmul(t, tables.stage2)                          # [..., k1, 2·k2]
    k2 = y.shape[-1] // 2
    return y[..., :k2].square() + y[..., k2:].square()


class BandPowerDFT(nn.Module):
    """|DFT|² of real frames ``[..., n_fft]`` for bins ``start ≤ k < stop``, in natural order ``[..., stop − start]``.

    ``forward`` is the two-stage matmul factorisation (exported); ``power_fft`` the same numbers via ``torch.fft``
    (training). The tables are derived from (n_fft, stop) and not saved in checkpoints.
    """

    def __init__(self, n_fft: int, start: int, stop: int):
        super().__init__()
        if not 0 <= start < stop <= n_fft // 2 + 1:
            raise ValueError(f"bins {start}..{stop} do not lie in the {n_fft}-point DFT's 0..{n_fft // 2}")
        self.n_fft, self.start, self.stop = n_fft, start, stop
        self.split = dft_split(n_fft)
        if self.split is None:
            raise ValueError(f"n_fft={n_fft} has no factor pair ≥ 4; use a length such as a power of two")
        for name, table in band_dft_tables(n_fft, stop).items():
            self.register_buffer(name, torch.from_numpy(table).float(), persistent=False)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        power = factored_power(frames, self, self.split).transpose(-1, -2).flatten(-2)  # k = k1 + n1·k2
        return power[..., self.start: self.stop]

    def power_fft(self, frames: torch.Tensor) -> torch.Tensor:
        """The same bins through ``torch.fft.rfft`` (float32 to ~1e-6 of :meth:`forward`)."""
        spec = torch.fft.rfft(frames, dim=-1)[..., self.start: self.stop]
        return spec.real.square() + spec.imag.square()


def block_toeplitz(taps: np.ndarray, stride: int, block: int) -> np.ndarray:
    """Matrix ``[(block − 1)·stride + L, channels·block]`` that maps one input block to ``block`` outputs per
    channel of the strided correlation y[c, m] = Σ_k taps[c, k]·x[m·stride + k] (``taps`` ``[channels, L]``);
    columns are ordered (channel, output)."""
    taps = np.atleast_2d(np.asarray(taps, dtype=np.float64))
    channels, width = taps.shape
    out = np.zeros(((block - 1) * stride + width, channels, block))
    for b in range(block):
        out[b * stride: b * stride + width, :, b] = taps.T
    return out.reshape(out.shape[0], channels * block)


class StridedFIR(nn.Module):
    """y[..., c, m] = Σ_k taps[c, k]·x[..., m·stride + k], 'valid', as one MatMul over input blocks.

    A strided 1-channel Conv runs at a few GFLOP/s in onnxruntime (an im2col per output); cutting the input
    into blocks of ``block`` outputs (Pad/Slice/Reshape, :func:`frame_rows`) and multiplying by a block-Toeplitz
    table costs ~2× the multiply-adds but runs as a dense GEMM, several times faster. Output
    ``[..., channels, ⌊(n − L)/stride⌋ + 1]``; ``squeeze`` drops the channel axis of a single filter.
    """

    def __init__(self, taps: np.ndarray, *, stride: int, block: int = 16, squeeze: bool = False):
        super().__init__()
        taps = np.atleast_2d(np.asarray(taps, dtype=np.float64))
        self.channels, self.width = taps.shape
        self.stride, self.block, self.squeeze = int(stride), int(block), squeeze
        self.frame = (self.block - 1) * self.stride + self.width
        self.register_buffer("table", torch.from_numpy(block_toeplitz(taps, self.stride, self.block)).float(),
                             persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hop = self.block * self.stride
        n_out = (x.shape[-1] - self.width) // self.stride + 1
        padded = nn.functional.pad(x, (0, hop - self.stride))
        y = torch.matmul(frame_rows(padded, self.frame, hop), self.table)  # [..., rows, channels·block]
        y = y.unflatten(-1, (self.channels, self.block)).transpose(-2, -3).flatten(-2)[..., :n_out]
        return y.squeeze(-2) if self.squeeze else y
