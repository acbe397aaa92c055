"""The few numerical routines the renderer needs beyond numpy, so that ``uwac synth`` runs on a node without scipy.

- ``rfft``/``irfft``/``rfftfreq``: scipy's FFTs when scipy is installed (the analysis extra; 3–4× faster on float32
  here), else numpy's pocketfft (float32 in, complex64 out since NumPy 2). The two agree to float32 round-off.
- :func:`next_fast_len`: the smallest 5-smooth length ≥ n (2^a·3^b·5^c: pocketfft's fast sizes).
- :func:`ar1`: the one-pole recursion y[k] = x[k] + φ·y[k−1] (a first-order IIR low-pass), vectorised by blocks.
- :func:`find_root`: a bracketed root of a monotone-enough scalar function (bisection with secant steps).
- :func:`white_spectrum`, :func:`gaussian_spectrum`: Gaussian noise (white, or of a given PSD) drawn directly as rfft
  bins, no FFT; shared by the ambient continuum, the vessel broadband and the flow noise at the hydrophone.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

try:  # an optional accelerator, not a dependency: a node renders with numpy alone
    from scipy.fft import irfft, rfft
except ImportError:  # pragma: no cover - exercised by the wheel test's node venv
    rfft, irfft = np.fft.rfft, np.fft.irfft
rfftfreq = np.fft.rfftfreq


@functools.lru_cache(maxsize=4096)
def next_fast_len(n: int, real: bool = True) -> int:
    """Smallest 2^a·3^b·5^c ≥ ``n`` (``real`` kept for call-site compatibility with scipy's signature)."""
    n = int(n)
    if n <= 6:
        return max(1, n)
    best = 1 << (n - 1).bit_length()  # a power of two always qualifies
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            quotient = -(-n // p35)  # ceil(n / p35): the power of two must reach it
            p2 = 1 << (quotient - 1).bit_length()
            best = min(best, p2 * p35)
            p35 *= 3
        p5 *= 5
    return best


def ar1(x: np.ndarray, phi: float, block: int = 256) -> np.ndarray:
    """y[k] = x[k] + φ·y[k−1] with y[−1] = 0, for 0 ≤ φ < 1 (float64). Within a block the recursion is a
    cumulative sum weighted by φ^−j (j < ``block``, so the weights stay finite); the state carries across blocks."""
    x = np.asarray(x, dtype=np.float64)
    if not 0.0 <= phi < 1.0:
        raise ValueError(f"ar1 needs 0 <= phi < 1, got {phi}")
    if phi == 0.0 or x.size == 0:
        return x.copy()
    block = max(1, min(block, int(600.0 / max(-math.log(phi), 1e-300))))  # φ^−block ≤ e^600
    j = np.arange(block, dtype=np.float64)
    up, down = phi ** (-j), phi ** j
    y = np.empty_like(x)
    state = 0.0
    for s in range(0, x.size, block):
        seg = x[s:s + block]
        k = seg.size
        y[s:s + k] = down[:k] * (np.cumsum(seg * up[:k]) + state * phi)
        state = y[s + k - 1]
    return y


def find_root(f: Callable[[float], float], lo: float, hi: float, *, xtol: float = 1e-6, max_iter: int = 100) -> float:
    """x in [lo, hi] with f(x) ≈ 0, given f(lo) and f(hi) of opposite signs (ValueError otherwise): a secant
    step when it stays well inside the bracket, else bisection, until the bracket is under ``xtol``."""
    flo, fhi = f(lo), f(hi)
    if flo == 0.0:
        return lo
    if fhi == 0.0:
        return hi
    if (flo > 0) == (fhi > 0):
        raise ValueError(f"find_root: f({lo}) = {flo} and f({hi}) = {fhi} do not bracket a root")
    for _ in range(max_iter):
        if hi - lo <= xtol:
            break
        x = hi - fhi * (hi - lo) / (fhi - flo)
        span = hi - lo
        if not lo + 0.1 * span < x < hi - 0.1 * span:
            x = 0.5 * (lo + hi)
        fx = f(x)
        if fx == 0.0:
            return x
        if (fx > 0) == (flo > 0):
            lo, flo = x, fx
        else:
            hi, fhi = x, fx
    return lo - flo * (hi - lo) / (fhi - flo)


def white_spectrum(rng: np.random.Generator, n: int) -> np.ndarray:
    """Complex Gaussian bins distributed as the rfft of n samples of unit white noise (E|X_k|² = n)."""
    spec = rng.standard_normal(2 * (n // 2 + 1), dtype=np.float32).view(np.complex64)  # (re, im) pairs
    spec *= np.float32(np.sqrt(0.5 * n))
    spec[0] = spec[0].real * np.float32(np.sqrt(2.0))  # DC (and Nyquist) bins are real with variance n
    if n % 2 == 0:
        spec[-1] = spec[-1].real * np.float32(np.sqrt(2.0))
    return spec


def gaussian_spectrum(rng: np.random.Generator, psd: np.ndarray, n: int, sample_rate: int) -> np.ndarray:
    """rfft of n samples of Gaussian noise whose one-sided PSD is ``psd`` [unit²/Hz] on rfftfreq(n) bins.

    White unit-variance noise has E|X_k|² = n; scaling by sqrt(psd·fs/2) gives variance sum(psd)·fs/n.
    """
    scale = np.sqrt(np.asarray(psd, dtype=float) * (0.5 * sample_rate)).astype(np.float32)
    return white_spectrum(rng, n).astype(np.complex64) * scale  # drawn in the frequency domain: no FFT
