"""Numpy reference front-end: framed power spectrum, mel filterbank, gain-invariant log-mel.

This is the reference the torch front-end (``training/frontend.py``) is tested against, and the
one a node without torch can use. It matches ``librosa.feature.melspectrogram`` with
``window="hann", center=False, power=2, htk=False, norm="slaney"`` (no centring, so no padding:
see DESIGN.md on reflect padding). Orientation follows librosa: ``[..., n_mels, n_frames]``.
"""

from __future__ import annotations

import numpy as np

from uwac.acoustics.frontend.config import SILENCE_POWER, FrontendConfig
from uwac.acoustics.frontend.filters import hann_window

__all__ = ["FrontendConfig", "features", "frames", "hann_window", "hz_to_mel", "log_mel_band_normalised",
           "log_mel_normalised", "mel_filterbank", "mel_power", "mel_to_hz", "power_spectrogram"]


# Slaney's mel scale (Auditory Toolbox), the one librosa uses with htk=False.
_F_SP = 200.0 / 3.0        # Hz per mel in the linear part
_MIN_LOG_HZ = 1000.0       # start of the log part, Hz
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0


def hz_to_mel(f_hz: np.ndarray | float) -> np.ndarray:
    """Slaney mel of frequencies in Hz."""
    f = np.asarray(f_hz, dtype=np.float64)
    log_part = _MIN_LOG_MEL + np.log(np.maximum(f, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP
    return np.where(f >= _MIN_LOG_HZ, log_part, f / _F_SP)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`, in Hz."""
    m = np.asarray(mel, dtype=np.float64)
    return np.where(m >= _MIN_LOG_MEL, _MIN_LOG_HZ * np.exp(_LOGSTEP * (m - _MIN_LOG_MEL)), _F_SP * m)


def mel_filterbank(cfg: FrontendConfig) -> np.ndarray:
    """Triangular Slaney-normalised mel filters, float64 ``[n_mels, n_fft // 2 + 1]``."""
    n_freq = cfg.n_fft // 2 + 1
    fft_hz = np.linspace(0.0, cfg.sample_rate / 2.0, n_freq)
    edges_hz = mel_to_hz(np.linspace(hz_to_mel(cfg.fmin), hz_to_mel(cfg.f_max), cfg.n_mels + 2))
    widths = np.diff(edges_hz)
    ramps = edges_hz[:, None] - fft_hz[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (edges_hz[2:] - edges_hz[:-2]))[:, None]  # equal area per filter ("slaney" norm)
    return weights


def frames(audio: np.ndarray, cfg: FrontendConfig) -> np.ndarray:
    """View of ``audio [..., samples]`` as ``[..., n_frames, n_fft]`` frames (no centring, no copy)."""
    n = audio.shape[-1]
    if n < cfg.n_fft:
        raise ValueError(f"audio of {n} samples is shorter than one frame (n_fft={cfg.n_fft})")
    view = np.lib.stride_tricks.sliding_window_view(audio, cfg.n_fft, axis=-1)
    return view[..., :: cfg.hop_length, :]


def power_spectrogram(audio: np.ndarray, cfg: FrontendConfig) -> np.ndarray:
    """|STFT|² with a periodic Hann window, ``[..., n_fft // 2 + 1, n_frames]`` (units: full scale²)."""
    x = np.asarray(audio)
    real_dtype = np.float64 if x.dtype == np.float64 else np.float32
    spec = np.fft.rfft(frames(x, cfg) * hann_window(cfg.n_fft).astype(real_dtype), axis=-1)
    power = (spec.real**2 + spec.imag**2).astype(real_dtype)
    return np.swapaxes(power, -1, -2)


def mel_power(audio: np.ndarray, cfg: FrontendConfig) -> np.ndarray:
    """Mel power spectrogram ``[..., n_mels, n_frames]``; equals librosa.feature.melspectrogram (center=False)."""
    power = power_spectrogram(audio, cfg)
    return np.matmul(mel_filterbank(cfg).astype(power.dtype), power)


def log_mel_normalised(mel: np.ndarray, cfg: FrontendConfig) -> np.ndarray:
    """Per-window normalised log-mel from mel power ``[..., n_mels, n_frames]``.

    dB = 10·log10(mel + max(floor_rel·mean(mel), SILENCE_POWER)), then (dB - mean dB) / scale_db over each
    window's mels and frames. Scaling the input by g scales mel and the floor by g², so the
    output does not change with input gain (SILENCE_POWER only keeps silence finite).
    """
    mel = np.asarray(mel)
    mean = mel.mean(axis=(-2, -1), keepdims=True)
    db = 10.0 * np.log10(mel + np.maximum(cfg.floor_rel * mean, SILENCE_POWER))
    return (db - db.mean(axis=(-2, -1), keepdims=True)) / cfg.scale_db


def log_mel_band_normalised(mel: np.ndarray, cfg: FrontendConfig) -> np.ndarray:
    """Per-band normalised log-mel from mel power ``[..., n_mels, n_frames]``.

    dB as :func:`log_mel_normalised` (the same relative floor), then each mel band minus its own mean over the
    window's frames, / scale_db: a recorder's or a sea's spectral colour is removed, what changes in time stays.
    Gain-invariant for the same reason.
    """
    mel = np.asarray(mel)
    mean = mel.mean(axis=(-2, -1), keepdims=True)
    db = 10.0 * np.log10(mel + np.maximum(cfg.floor_rel * mean, SILENCE_POWER))
    return (db - db.mean(axis=-1, keepdims=True)) / cfg.scale_db


def features(audio: np.ndarray, cfg: FrontendConfig) -> np.ndarray:
    """The log-mel branch: audio ``[..., samples]`` in full scale → log-mel normalised as ``cfg.mel_norm`` says."""
    normalise = log_mel_band_normalised if cfg.mel_norm == "band" else log_mel_normalised
    return normalise(mel_power(audio, cfg), cfg)
