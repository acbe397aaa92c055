"""Torch front-end built only from conv1d and matmul: no ``torch.stft``, no complex numbers.

It exports to plain ONNX Conv/MatMul/Mul/Log ops, so runtimes without an STFT kernel (TensorRT
< 10.5, TFLite, NPU toolchains) take it (DESIGN.md pitfalls). Its weights are built by the numpy
reference (``acoustics.features``), and it matches that reference to 1e-4.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from acoustics.features import FrontendConfig, hann_window, mel_filterbank


def dft_kernels(cfg: FrontendConfig) -> np.ndarray:
    """Windowed real-DFT basis as conv1d weights ``[2 * n_freq, 1, n_fft]`` (cosines, then sines)."""
    n = np.arange(cfg.n_fft)
    k = np.arange(cfg.n_fft // 2 + 1)
    phase = 2.0 * np.pi * np.outer(k, n) / cfg.n_fft
    w = hann_window(cfg.n_fft)
    basis = np.concatenate([np.cos(phase) * w, -np.sin(phase) * w], axis=0)
    return basis[:, None, :]


class LogMelFrontend(nn.Module):
    """Audio ``[batch, samples]`` (full scale) → normalised log-mel ``[batch, n_mels, n_frames]``.

    The two stages are exposed separately so training can cache :meth:`mel_power` of whole
    recordings and slice windows from it (frames line up when the window hop is a multiple of
    ``hop_length``).
    """

    def __init__(self, cfg: FrontendConfig):
        super().__init__()
        self.cfg = cfg
        self.n_freq = cfg.n_fft // 2 + 1
        self.register_buffer("dft", torch.from_numpy(dft_kernels(cfg)).float())
        self.register_buffer("mel", torch.from_numpy(mel_filterbank(cfg)).float())
        # for mel_power_fft only; not saved (derived from cfg), so checkpoints keep their keys
        self.register_buffer("window", torch.from_numpy(hann_window(cfg.n_fft)).float(), persistent=False)

    def mel_power(self, audio: torch.Tensor) -> torch.Tensor:
        """Mel power ``[batch, n_mels, n_frames]`` (full scale²)."""
        spec = nn.functional.conv1d(audio.unsqueeze(1), self.dft, stride=self.cfg.hop_length)
        re, im = spec[:, : self.n_freq], spec[:, self.n_freq :]
        return torch.matmul(self.mel, re * re + im * im)

    def mel_power_fft(self, audio: torch.Tensor) -> torch.Tensor:
        """:meth:`mel_power` by FFT (``torch.stft``): the same numbers to ~1e-6, far fewer operations.

        Training uses it (on CPU the DFT convolution costs more than the network); the exported graph
        keeps :meth:`mel_power` so runtimes without an STFT kernel take it.
        """
        spec = torch.stft(audio, self.cfg.n_fft, hop_length=self.cfg.hop_length, window=self.window, center=False,
                          return_complex=True)
        return torch.matmul(self.mel, spec.real.square() + spec.imag.square())

    def log_normalise(self, mel: torch.Tensor) -> torch.Tensor:
        """Gain-invariant per-window log-mel; the same formula as ``acoustics.features.log_mel_normalised``."""
        mean = mel.mean(dim=(-2, -1), keepdim=True)
        db = 10.0 * torch.log10(mel + self.cfg.floor_rel * mean + 1e-30)
        return (db - db.mean(dim=(-2, -1), keepdim=True)) / self.cfg.scale_db

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.log_normalise(self.mel_power(audio))
