"""The log-mel branch in torch, built only from conv1d and matmul: no ``torch.stft``, no complex numbers.

It exports to plain ONNX Conv/MatMul/Mul/Log ops, so runtimes without an STFT kernel (TensorRT
< 10.5, TFLite, NPU toolchains) take it (DESIGN.md pitfalls). Its weights are built by the numpy
reference (``acoustics.features``), and it matches that reference to 1e-4.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from uwac.acoustics.features import FrontendConfig, hann_window, mel_filterbank
from uwac.acoustics.frontend.config import SILENCE_POWER
from uwac.training.frontend.dft import dft_split, factored_power, frame_rows


def dft_kernels(cfg: FrontendConfig) -> np.ndarray:
    """Windowed real-DFT basis as conv1d weights ``[2 * n_freq, 1, n_fft]`` (cosines, then sines)."""
    n = np.arange(cfg.n_fft)
    k = np.arange(cfg.n_fft // 2 + 1)
    phase = 2.0 * np.pi * np.outer(k, n) / cfg.n_fft
    w = hann_window(cfg.n_fft)
    basis = np.concatenate([np.cos(phase) * w, -np.sin(phase) * w], axis=0)
    return basis[:, None, :]


def factored_tables(cfg: FrontendConfig) -> dict[str, np.ndarray]:
    """Tables of :meth:`LogMelFrontend.power_factored` (float64; the module stores float32).

    stage1 ``[2·n1, n1]``: cos then −sin of 2π·i1·k1/n1. twiddle_cos/_sin ``[n1, n2]``: cos/sin of 2π·i2·k1/n_fft
    (indexed [k1, i2]). stage2 ``[2·n2, 2·k2]``: [[cos, −sin], [sin, cos]] of 2π·i2·k2/n2 for the k2 that reach a
    bin ≤ n_fft/2. mel_factored ``[n1·k2, n_mels]``: the mel filterbank's column for bin k1 + n1·k2 at row
    k1·k2count + k2, zero for bins above n_fft/2.
    """
    n1, n2 = dft_split(cfg.n_fft)
    half = cfg.n_fft // 2
    k2_count = half // n1 + 1
    i1 = np.arange(n1)
    a1 = 2.0 * np.pi * np.outer(i1, i1) / n1
    i2, k1 = np.arange(n2), np.arange(n1)
    tw = 2.0 * np.pi * np.outer(k1, i2) / cfg.n_fft
    a2 = 2.0 * np.pi * np.outer(i2, np.arange(k2_count)) / n2
    c2, s2 = np.cos(a2), np.sin(a2)
    bins = k1[:, None] + n1 * np.arange(k2_count)[None, :]  # [k1, k2] → DFT bin
    mel = mel_filterbank(cfg)
    mel_f = np.where((bins <= half)[..., None], mel[:, np.minimum(bins, half)].transpose(1, 2, 0), 0.0)
    return {"stage1": np.concatenate([np.cos(a1), -np.sin(a1)], axis=0),
            "twiddle_cos": np.cos(tw), "twiddle_sin": np.sin(tw),
            "stage2": np.block([[c2, -s2], [s2, c2]]),
            "mel_factored": mel_f.reshape(n1 * k2_count, -1)}


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
        # The DFT factored into two small matmul stages (below); non-persistent, derived from cfg, so
        # checkpoints keep their keys and the exported graph carries ~50 kB of tables instead of ``dft``'s 4 MB.
        self.split = dft_split(cfg.n_fft)
        if self.split is not None:
            for name, table in factored_tables(cfg).items():
                self.register_buffer(name, torch.from_numpy(table).float(), persistent=False)

    def frames(self, audio: torch.Tensor) -> torch.Tensor:
        """Windowed frames ``[batch, n_frames, n_fft]`` from Pad/Slice/Reshape/Concat only (no Gather, no unfold)."""
        return frame_rows(audio, self.cfg.n_fft, self.cfg.hop_length) * self.window

    def power_factored(self, audio: torch.Tensor) -> torch.Tensor:
        """|DFT|² ``[batch, n_frames, n1, k2]`` by a two-stage Cooley–Tukey factorisation n_fft = n1·n2.

        With n = n2·i1 + i2 and bin k = k1 + n1·k2: stage 1 is an n1-point real DFT over i1 (one matmul), a twiddle
        exp(−2πi·i2·k1/n_fft), then an n2-point complex DFT over i2 (one matmul on [re, im]) that keeps only the
        k2 with k ≤ n_fft/2. About 6× fewer multiply-adds than the direct basis at n_fft 1024, all MatMul/Mul/Add.
        """
        return factored_power(self.frames(audio), self, self.split)

    def mel_power(self, audio: torch.Tensor) -> torch.Tensor:
        """Mel power ``[batch, n_mels, n_frames]`` (full scale²): the factored DFT when n_fft splits into two
        factors ≥ 4 (any power of two ≥ 16), else one conv1d with the full windowed DFT basis."""
        if self.split is not None:
            power = self.power_factored(audio).flatten(-2)  # [batch, n_frames, n1·k2]
            return torch.matmul(power, self.mel_factored).transpose(1, 2)
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
        """Gain-invariant log-mel normalised per window or per band (``cfg.mel_norm``); the same formulas as
        ``acoustics.features.log_mel_normalised`` / ``log_mel_band_normalised``."""
        mean = mel.mean(dim=(-2, -1), keepdim=True)
        db = 10.0 * torch.log10(mel + torch.clamp_min(self.cfg.floor_rel * mean, SILENCE_POWER))
        dims = (-1,) if self.cfg.mel_norm == "band" else (-2, -1)
        return (db - db.mean(dim=dims, keepdim=True)) / self.cfg.scale_db

    def fast(self, audio: torch.Tensor) -> torch.Tensor:
        """:meth:`forward` with the FFT path (training)."""
        return self.log_normalise(self.mel_power_fft(audio))

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.log_normalise(self.mel_power(audio))
