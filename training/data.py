"""Windows for training: one cached mel spectrogram per manifest span, windows sliced from it.

Frames line up across windows because the window hop is a multiple of the STFT hop, so each
span's spectrogram is computed once (by the same torch front-end that is exported) and every
epoch slices windows from it at random frame offsets (time-shift augmentation) for training and
on the fixed 1-s grid for validation and test.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from acoustics.audio_io import AudioError, read_span, resample
from acoustics.manifest import Row
from training.config import TrainConfig
from training.frontend import LogMelFrontend

log = logging.getLogger(__name__)


@dataclass
class SpanSpectra:
    """Mel power of every usable span of one split, with per-span labels and ids."""

    mels: list[torch.Tensor]          # each [n_mels, n_frames]
    labels: np.ndarray                # class index per span
    recording_ids: list[str]
    starts_s: list[float]
    skipped: list[str]                # "path: reason" for spans that could not be used

    def grid_windows(self, cfg: TrainConfig) -> list[tuple[int, int]]:
        """(span index, first frame) of every window on the hop grid."""
        fph = frames_per_hop(cfg)
        return [(i, k * fph) for i, count in enumerate(len_grid_per_span(self, cfg)) for k in range(count)]

    def random_windows(self, cfg: TrainConfig, gen: torch.Generator) -> list[tuple[int, int]]:
        """As many windows per span as the grid has, each at a random frame offset within the span."""
        fpw = frames_per_window(cfg)
        out = []
        for i, n in enumerate(len_grid_per_span(self, cfg)):
            slack = self.mels[i].shape[1] - fpw
            offsets = torch.randint(0, slack + 1, (n,), generator=gen).tolist()
            out.extend((i, o) for o in offsets)
        return out

    def batch(self, windows: list[tuple[int, int]], cfg: TrainConfig) -> tuple[torch.Tensor, torch.Tensor]:
        fpw = frames_per_window(cfg)
        x = torch.stack([self.mels[i][:, o: o + fpw] for i, o in windows])
        y = torch.as_tensor([int(self.labels[i]) for i, _ in windows], dtype=torch.long)
        return x, y


def frames_per_window(cfg: TrainConfig) -> int:
    """Spectrogram frames in one model window."""
    return cfg.frontend.n_frames(cfg.window_samples())


def frames_per_hop(cfg: TrainConfig) -> int:
    """Spectrogram frames between consecutive window starts."""
    return cfg.hop_samples() // cfg.frontend.hop_length


def len_grid_per_span(spectra: SpanSpectra, cfg: TrainConfig) -> list[int]:
    """Number of grid windows in each span."""
    fpw, fph = frames_per_window(cfg), frames_per_hop(cfg)
    return [(m.shape[1] - fpw) // fph + 1 for m in spectra.mels]


def load_split(rows: list[Row], cfg: TrainConfig, frontend: LogMelFrontend, *, desc: str = "") -> SpanSpectra:
    """Read each span, resample to the model rate if needed, and cache its mel power.

    Unreadable, truncated or too-short spans are skipped and listed in ``skipped`` (never a crash).
    """
    sr = cfg.frontend.sample_rate
    mels, labels, ids, starts, skipped = [], [], [], [], []
    resampled = set()
    for r in tqdm(rows, desc=f"spectra {desc}".strip(), unit="span", leave=False):
        if r.label not in cfg.classes:
            skipped.append(f"{r.path}: label {r.label!r} is not one of {cfg.classes}")
            continue
        try:
            audio, file_sr = read_span(r.path, start_s=r.start_s, end_s=r.end_s)
        except AudioError as exc:
            skipped.append(str(exc))
            continue
        if file_sr != sr:
            if file_sr not in resampled:
                log.info("resampling %d Hz audio to the model's %d Hz", file_sr, sr)
                resampled.add(file_sr)
            audio = resample(audio, file_sr, sr)
        if audio.shape[0] < cfg.window_samples():
            skipped.append(f"{r.path}: span {r.start_s:.2f}-{r.end_s:.2f} s is shorter than one "
                           f"{cfg.data.window_seconds} s window")
            continue
        with torch.no_grad():
            mels.append(frontend.mel_power(torch.from_numpy(audio)[None])[0].contiguous())
        labels.append(cfg.classes.index(r.label))
        ids.append(r.recording_id)
        starts.append(r.start_s)
    return SpanSpectra(mels, np.asarray(labels, dtype=np.int64), ids, starts, skipped)
