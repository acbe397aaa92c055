"""FIR design, strided FIR filtering, framing and the two-pass split-window (TPSW) background, in numpy.

These are the reference operations of the physics branches; the torch front-end builds its convolution
weights from the same designs (:func:`lowpass_taps`, :func:`analytic_bandpass_taps`), so the numbers agree.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from uwac.acoustics.frontend.config import SILENCE_POWER


def hann_window(n: int) -> np.ndarray:
    """Periodic Hann window of ``n`` samples (the DFT-even form librosa and scipy use), float64."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)


def lowpass_taps(taps: int, cutoff_hz: float, sample_rate: float, beta: float) -> np.ndarray:
    """Kaiser-windowed sinc low-pass, float64 ``[taps]``, unit gain at DC; cutoff_hz is the −6 dB point [Hz]."""
    return signal.firwin(int(taps), float(cutoff_hz), window=("kaiser", float(beta)), fs=float(sample_rate))


def analytic_bandpass_taps(taps: int, band_hz: tuple[float, float], sample_rate: float, beta: float) -> np.ndarray:
    """Complex band-pass for ``band_hz`` [Hz] (positive frequencies only), complex128 ``[taps]``.

    A low-pass of half the band's width shifted to the band centre: filtering a real signal with it gives the
    analytic signal of that band, whose squared magnitude is the band's envelope power (square-law DEMON).
    """
    lo, hi = band_hz
    proto = lowpass_taps(taps, 0.5 * (hi - lo), sample_rate, beta)
    n = np.arange(int(taps)) - 0.5 * (int(taps) - 1)
    return proto * np.exp(2j * np.pi * 0.5 * (lo + hi) * n / sample_rate)


def strided_fir(x: np.ndarray, taps: np.ndarray, stride: int) -> np.ndarray:
    """y[m] = Σ_k taps[k]·x[m·stride + k] over the last axis, 'valid' (no padding): a strided correlation, the
    same as a strided ``conv1d``. Output length ⌊(n − len(taps)) / stride⌋ + 1."""
    x = np.asarray(x)
    n, width = x.shape[-1], len(taps)
    if n < width:
        raise ValueError(f"signal of {n} samples is shorter than the {width}-tap filter")
    view = np.lib.stride_tricks.sliding_window_view(x, width, axis=-1)[..., ::int(stride), :]
    return view @ np.asarray(taps)


def framed(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """View of ``x [..., n]`` as ``[..., frames, n_fft]`` frames every ``hop`` samples (no padding)."""
    if x.shape[-1] < n_fft:
        raise ValueError(f"{x.shape[-1]} samples are shorter than one {n_fft}-sample frame")
    return np.lib.stride_tricks.sliding_window_view(x, n_fft, axis=-1)[..., ::hop, :]


def split_window_kernel(half: int, gap: int) -> np.ndarray:
    """TPSW kernel over ±half bins: ones, with the centre ±gap bins zero (they hold the line being measured)."""
    j = np.arange(-half, half + 1)
    return (np.abs(j) > gap).astype(np.float64)


def split_window_mean(power: np.ndarray, half: int, gap: int) -> np.ndarray:
    """Mean of ``power [..., bins]`` over each bin's split window, zero-padded at the ends and divided by the
    number of bins actually inside (so the ends are not biased low)."""
    kernel = split_window_kernel(half, gap)
    pad = [(0, 0)] * (power.ndim - 1) + [(half, half)]
    sums = np.lib.stride_tricks.sliding_window_view(np.pad(power, pad), kernel.size, axis=-1) @ kernel
    counts = np.lib.stride_tricks.sliding_window_view(np.pad(np.ones(power.shape[-1]), (half, half)),
                                                      kernel.size) @ kernel
    return sums / counts


def tpsw_background(power: np.ndarray, *, half: int, gap: int, clip: float) -> np.ndarray:
    """Two-pass split-window background of ``power [..., bins]`` (sonar's TPSW normaliser).

    Pass 1 averages each bin's split window; pass 2 averages again after replacing every bin above
    ``clip`` × its pass-1 background by that limit, so strong lines do not raise their neighbours' background.
    """
    first = split_window_mean(power, half, gap)
    return split_window_mean(np.minimum(power, clip * first), half, gap)


def excess_db(power: np.ndarray, background: np.ndarray, kept: slice, floor_rel: float,
              clip_db: tuple[float, float]) -> np.ndarray:
    """10·log10((P + ε)/(B + ε)) over the ``kept`` bins, clipped to ``clip_db`` and divided by 10.

    ε = floor_rel × the mean kept power of each frame (at least SILENCE_POWER, so silence stays finite): scaling the
    input by g scales P, B and ε alike, so the output does not change with gain.
    """
    p, b = power[..., kept], background[..., kept]
    eps = np.maximum(floor_rel * p.mean(axis=-1, keepdims=True), SILENCE_POWER)
    return np.clip(10.0 * np.log10((p + eps) / (b + eps)), *clip_db) / 10.0


def band_power(frames: np.ndarray, bins: tuple[int, int, int, int]) -> np.ndarray:
    """|DFT|² of windowed ``frames [..., n_fft]`` over the computed bins of :func:`band_bins` (full scale²)."""
    _, _, start, stop = bins
    spec = np.fft.rfft(frames, axis=-1)[..., start:stop]
    return spec.real ** 2 + spec.imag ** 2


def gram_over_background(power: np.ndarray, branch, bins: tuple[int, int, int, int]) -> np.ndarray:
    """A branch's gram from its computed-bin power: dB over the TPSW background on the kept bins, clipped, / 10
    (``branch``: its config, with the ``tpsw_*``, ``floor_rel`` and ``clip_db`` settings)."""
    background = tpsw_background(power, half=branch.tpsw_half_bins, gap=branch.tpsw_gap_bins, clip=branch.tpsw_clip)
    first, last, start, _ = bins
    return excess_db(power, background, slice(first - start, last - start + 1), branch.floor_rel, branch.clip_db)
