"""On-the-fly training augmentation: ambient mixing at a random SNR, gain, speed (Doppler) perturbation, SpecAugment.

The waveform functions work on numpy arrays at the model rate, so DataLoader workers run them without torch;
only :func:`spec_augment`, applied to a batch of normalised log-mel features on the training device, uses
torch. Every random choice comes from the generator passed in, so a window's augmentation is fixed by the
generator's state. Validation and test windows are never augmented.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

    from uwac.training.config import AugmentConfig

_SPEED_EDGE = 64
"""Input samples read beyond each end of a speed-perturbed window, so the resampler's edges fall outside it."""

_SPEED_SCALE = 100_000
"""Speed factors are applied as the rational ``round(factor·scale) / scale``."""


def mix_at_snr(signal: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``signal`` plus ``noise`` scaled so ``10·log10(mean(signal²) / mean(scaled noise²)) = snr_db``; float32.

    Silent noise or a silent signal returns the signal unchanged (there is no SNR to set).
    """
    signal = np.asarray(signal)
    noise = np.asarray(noise)
    if signal.shape != noise.shape:
        raise ValueError(f"signal {signal.shape} and noise {noise.shape} must have the same shape")
    p_signal = float(np.mean(np.square(signal, dtype=np.float64)))
    p_noise = float(np.mean(np.square(noise, dtype=np.float64)))
    if p_signal <= 0.0 or p_noise <= 0.0:
        return signal.astype(np.float32, copy=True)
    scale = math.sqrt(p_signal / (p_noise * 10.0 ** (float(snr_db) / 10.0)))
    return (signal.astype(np.float64) + scale * noise.astype(np.float64)).astype(np.float32)


def apply_gain(audio: np.ndarray, gain_db: float) -> np.ndarray:
    """``audio`` times ``10^(gain_db/20)``, float32."""
    return (np.asarray(audio, dtype=np.float32) * np.float32(10.0 ** (float(gain_db) / 20.0))).astype(np.float32)


def _rates(factor: float) -> tuple[int, int]:
    """(input rate, output rate) whose ratio is the speed factor as applied."""
    if not 0.5 < factor < 2.0:
        raise ValueError(f"speed factor {factor} is outside (0.5, 2)")
    return int(round(factor * _SPEED_SCALE)), _SPEED_SCALE


def input_length(n_out: int, factor: float) -> int:
    """Input samples :func:`speed_perturb` needs to return ``n_out`` samples at ``factor``.

    ``ceil(n_out·factor)`` plus a margin at each end, so the resampler's edge transients are cut away.
    """
    in_rate, out_rate = _rates(factor)
    return -(-int(n_out) * in_rate // out_rate) + 2 * _SPEED_EDGE


def speed_perturb(audio: np.ndarray, factor: float, n_out: int) -> np.ndarray:
    """Play ``audio`` back ``factor`` times faster and return exactly ``n_out`` samples, float32.

    Every frequency is multiplied by ``factor`` (and every duration divided by it), as a Doppler shift or a
    change of shaft rate does. Band-limited (libsoxr, quality "HQ"); ``factor`` is applied to 1e-5.
    ``audio`` must hold at least :func:`input_length` ``(n_out, factor)`` samples; the output starts
    about ``_SPEED_EDGE`` input samples into it (to half an output sample), and input beyond what is
    needed is ignored.
    """
    import soxr

    need = input_length(n_out, factor)
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim != 1 or x.shape[0] < need:
        raise ValueError(f"speed_perturb needs a 1-D input of at least {need} samples for {n_out} out at "
                         f"factor {factor}, got shape {x.shape}")
    in_rate, out_rate = _rates(factor)
    y = soxr.resample(np.ascontiguousarray(x[:need]), in_rate, out_rate, quality="HQ")
    offset = int(round(_SPEED_EDGE * out_rate / in_rate))
    out = y[offset:offset + int(n_out)]
    if out.shape[0] != n_out:  # cannot happen with the margin above; guard the contract anyway
        raise RuntimeError(f"speed_perturb produced {out.shape[0]} samples, expected {n_out}")
    return np.ascontiguousarray(out, dtype=np.float32)


def short_piece(window: np.ndarray, length: int, where: float) -> np.ndarray:
    """``length`` samples of ``window`` from ``where`` (0–1: the share of the room left before the piece),
    repeated up to the window's length: what a clip of ``length`` samples is scored as
    (:func:`uwac.acoustics.contract.short_clip_window`). float32, same length as ``window``."""
    n = window.shape[0]
    if not 0 < length <= n:
        raise ValueError(f"a piece of {length} samples does not fit a window of {n}")
    first = int(where * (n - length))
    return np.resize(np.asarray(window[first:first + length], dtype=np.float32), n)


def augment_window(span: np.ndarray, start: int, n: int, rng: np.random.Generator, cfg: AugmentConfig,
                   ambient: Callable[[np.random.Generator, int], np.ndarray] | None = None, *,
                   sample_rate: int | None = None) -> np.ndarray:
    """One training window of ``n`` samples from ``span`` starting at sample ``start``, augmented; float32.

    ``span``: 1-D samples of one recording at the model rate (e.g. a memmap from
    :func:`acoustics.span_cache.span_audio`); only ``len(span)`` and slices inside it are read.
    ``ambient``: None or a callable ``(rng, n) -> float32[n]`` drawing an ambient window from the bank.
    In order: speed perturbation with probability ``cfg.speed_prob`` (factor uniform in ``cfg.speed``; the
    input is read from ``start``, moved back when the span ends too soon, and the step is skipped when the
    whole span is too short), then an ambient mix with probability ``cfg.ambient_mix_prob`` at an SNR
    uniform in ``cfg.snr_db``, then a gain uniform in ``cfg.gain_db``, then, with probability
    ``cfg.short_prob``, :func:`short_piece`. ``cfg.enabled`` False returns the plain slice. The same ``rng`` state
    gives the same window. ``sample_rate`` [Hz] turns ``cfg.short_seconds`` into samples (needed when
    ``cfg.short_prob`` > 0).
    """
    total = len(span)
    start, n = int(start), int(n)
    if n <= 0 or start < 0 or start + n > total:
        raise ValueError(f"window {start}..{start + n} lies outside the span of {total} samples")
    if not cfg.enabled:
        return np.array(span[start:start + n], dtype=np.float32)
    # Draw every number up front, in a fixed order, so one choice never shifts the others.
    u_speed, u_mix = rng.random(2)
    factor = float(rng.uniform(cfg.speed[0], cfg.speed[1]))
    snr_db = float(rng.uniform(cfg.snr_db[0], cfg.snr_db[1]))
    gain_db = float(rng.uniform(cfg.gain_db[0], cfg.gain_db[1]))
    u_short, short_len, short_at = rng.random(3)

    x = None
    if u_speed < cfg.speed_prob and factor != 1.0:
        need = input_length(n, factor)
        if need <= total:
            first = min(start, total - need)
            x = speed_perturb(np.asarray(span[first:first + need]), factor, n)
    if x is None:
        x = np.array(span[start:start + n], dtype=np.float32)
    if ambient is not None and u_mix < cfg.ambient_mix_prob:
        noise = np.asarray(ambient(rng, n), dtype=np.float32)
        x = mix_at_snr(x, noise, snr_db)
    x = apply_gain(x, gain_db)
    if u_short < cfg.short_prob:
        if sample_rate is None:
            raise ValueError("augment.short_prob > 0 needs the window's sample_rate to cut short_seconds")
        lo, hi = (int(round(s * sample_rate)) for s in cfg.short_seconds)
        hi = min(hi, n - 1)
        if 0 < lo <= hi:
            x = short_piece(x, lo + int(short_len * (hi - lo)), short_at)
    if not np.all(np.isfinite(x)):
        raise ValueError("augmented window has NaN/Inf samples; check the span and the ambient bank")
    return x


def spec_augment(features: torch.Tensor, gen: torch.Generator, *, freq_masks: int, freq_mask_bins: int,
                 time_masks: int, time_mask_frames: int) -> torch.Tensor:
    """SpecAugment on normalised log-mel ``features`` ``[batch, mels, frames]``; a new tensor.

    Each example gets ``freq_masks`` bands of ``0..freq_mask_bins`` mel bins and ``time_masks`` spans of
    ``0..time_mask_frames`` frames, widths and positions drawn independently, set to 0 (the mean of the
    normalised features). Drawn on ``gen`` (a CPU generator), so the same generator state gives the same
    masks on any device; the masks are moved to ``features``' device. Vectorised over the batch.
    """
    import torch

    if features.ndim != 3:
        raise ValueError(f"spec_augment expects [batch, mels, frames], got shape {tuple(features.shape)}")
    batch, mels, frames = features.shape
    mask = torch.zeros(batch, mels, frames, dtype=torch.bool)
    for count, width, size, dim in ((freq_masks, freq_mask_bins, mels, 1), (time_masks, time_mask_frames, frames, 2)):
        if count <= 0 or width <= 0 or size <= 0:
            continue
        width = min(int(width), size)
        widths = torch.randint(0, width + 1, (batch, count), generator=gen)
        starts = (torch.rand(batch, count, generator=gen) * (size - widths + 1)).floor().long()
        starts = torch.minimum(starts, size - widths)  # rand() < 1, but guard the float edge
        pos = torch.arange(size).view(1, 1, size)
        hit = ((pos >= starts.unsqueeze(-1)) & (pos < (starts + widths).unsqueeze(-1))).any(dim=1)  # [batch, size]
        mask |= hit.unsqueeze(2) if dim == 1 else hit.unsqueeze(1)
    return features.masked_fill(mask.to(features.device), 0.0)
