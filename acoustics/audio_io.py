"""Reading audio spans with clear errors.

Audio is returned as float32 mono in full scale (±1.0). A file at another sample rate than the
caller expects is refused, never silently misread (DESIGN.md pitfalls): the caller resamples
explicitly with :func:`resample` if that is what it wants.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf


class AudioError(ValueError):
    """Audio that cannot be used; the message names the file, what was wrong and what to do."""


def audio_info(path: str | Path) -> tuple[int, int, float]:
    """(sample rate in Hz, channels, duration in s) without decoding the samples."""
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: audio file not found; check the manifest's path column")
    try:
        info = sf.info(str(path))
    except Exception as exc:  # soundfile raises several types for corrupt headers
        raise AudioError(f"{path}: unreadable audio ({exc}); the file is corrupt or not WAV/FLAC") from exc
    return int(info.samplerate), int(info.channels), float(info.frames) / info.samplerate


def read_span(path: str | Path, *, start_s: float = 0.0, end_s: float | None = None,
              sample_rate: int | None = None, channel: int | None = None) -> tuple[np.ndarray, int]:
    """Read ``[start_s, end_s)`` of a file as float32 mono, decoding only that span.

    ``sample_rate``: if given and the file differs, raise (resample explicitly instead).
    ``channel``: pick one channel; ``None`` averages all channels.
    Raises :class:`AudioError` for missing, corrupt or truncated files and for NaN/Inf samples.
    """
    path = Path(path)
    sr, channels, duration = audio_info(path)
    if sample_rate is not None and sr != sample_rate:
        raise AudioError(f"{path}: sample rate {sr} Hz, expected {sample_rate} Hz; resample it "
                         f"(acoustics.audio_io.resample) or use a model trained at {sr} Hz")
    start = int(round(start_s * sr))
    stop = int(round(end_s * sr)) if end_s is not None else None
    if stop is not None and stop > int(round(duration * sr)):
        raise AudioError(f"{path}: span {start_s:.3f}-{end_s:.3f} s runs past the end of the file "
                         f"({duration:.3f} s); the file is truncated or the manifest is wrong")
    try:
        data, _ = sf.read(str(path), start=start, stop=stop, dtype="float32", always_2d=True)
    except Exception as exc:
        raise AudioError(f"{path}: failed to decode samples {start}..{stop} ({exc}); the file is corrupt") from exc
    if stop is not None and data.shape[0] != stop - start:
        raise AudioError(f"{path}: got {data.shape[0]} samples for a span of {stop - start}; the file is truncated")
    if channel is not None:
        if not 0 <= channel < channels:
            raise AudioError(f"{path}: channel {channel} requested, the file has {channels}")
        mono = data[:, channel]
    else:
        mono = data.mean(axis=1)
    if not np.all(np.isfinite(mono)):
        bad = int(np.count_nonzero(~np.isfinite(mono)))
        raise AudioError(f"{path}: {bad} NaN/Inf sample(s) in {start_s:.3f}-{end_s if end_s is not None else duration:.3f} s; "
                         "the recorder or the conversion wrote invalid floats")
    return np.ascontiguousarray(mono, dtype=np.float32), sr


def resample(audio: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Band-limited resampling with libsoxr at very high quality ("VHQ"), float32 out.

    ``audio``: 1-D samples (or ``[frames, channels]``). The output has ``round(n * target_sr / orig_sr)``
    frames (halves round up), the same count a :class:`soxr.ResampleStream` fed block by block gives, so a
    span cached in blocks (:mod:`acoustics.span_cache`) matches a one-shot call. Same rate: passed through.
    """
    if orig_sr == target_sr:
        return np.asarray(audio, dtype=np.float32)
    import soxr

    x = np.asarray(audio)
    if x.dtype not in (np.float32, np.float64):
        x = x.astype(np.float32)
    out = soxr.resample(np.ascontiguousarray(x), int(orig_sr), int(target_sr), quality="VHQ")
    return np.asarray(out, dtype=np.float32)
