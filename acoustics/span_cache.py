"""Spans of long recordings, decoded once in blocks, resampled and cached as memory-mapped ``.npy`` files.

Training reads many short windows out of hour-long recordings. :func:`span_audio` decodes a manifest span
block by block (never the whole file at once), checks every block for NaN/Inf, resamples it to the model
rate with a streaming libsoxr resampler at very high quality, and writes float32 mono to a ``.npy`` file in
the cache; later calls, from any process, memory-map that file without decoding. Memory stays bounded by
the block size however long the file is.

The cache key covers the resolved path, the file's size and modification time, the span, the rate and
:data:`CACHE_VERSION`, so an edited or replaced file is decoded again. A file is written under a name unique
to the writing process and renamed into place when complete, so a killed process never leaves half a file
and processes filling the same key at once do not corrupt each other.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path

import numpy as np
import soundfile as sf

from uwac.acoustics.audio_io import AudioError, audio_info

CACHE_VERSION = 1
"""Bump when the decoding or resampling changes what is cached, so old entries are not reused."""

BLOCK_SECONDS = 30.0
"""Seconds of the source file decoded (and resampled) per block."""

_QUALITY = "VHQ"


def default_cache_dir() -> Path:
    """Where spans are cached: ``$UWAC_CACHE``, else ``$XDG_CACHE_HOME/uwac/spans``, else ``~/.cache/uwac/spans``."""
    env = os.environ.get("UWAC_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "uwac" / "spans"
    return Path.home() / ".cache" / "uwac" / "spans"


def resampled_length(n_in: int, orig_sr: int, target_sr: int) -> int:
    """Samples that ``n_in`` samples at ``orig_sr`` become at ``target_sr``: ``round(n_in·target/orig)``, halves up.

    This is libsoxr's count, for one-shot and streaming resampling alike (and ``n_in`` at equal rates).
    """
    n_in, orig_sr, target_sr = int(n_in), int(orig_sr), int(target_sr)
    return (2 * n_in * target_sr + orig_sr) // (2 * orig_sr)


def cache_key(path: str | Path, *, start_s: float, end_s: float, sample_rate: int) -> str:
    """sha256 hex of (resolved path, size, mtime_ns, start_s, end_s, sample_rate, :data:`CACHE_VERSION`)."""
    path = Path(path)
    try:
        st = path.stat()
    except OSError as exc:
        raise AudioError(f"{path}: audio file not found ({exc}); check the manifest's path column") from exc
    payload = json.dumps([str(path.resolve()), int(st.st_size), int(st.st_mtime_ns), float(start_s),
                          float(end_s), int(sample_rate), CACHE_VERSION])
    return hashlib.sha256(payload.encode()).hexdigest()


def _load(final: Path) -> np.ndarray | None:
    """The cached span as a read-only memmap, or None when absent or unusable (then it is rebuilt)."""
    try:
        arr = np.load(final, mmap_mode="r")
    except FileNotFoundError:
        return None
    except (OSError, ValueError):  # damaged by something outside this module (writes here are atomic)
        return None
    if arr.dtype != np.float32 or arr.ndim != 1:
        return None
    return arr


def span_audio(path: str | Path, *, start_s: float, end_s: float, sample_rate: int,
               cache_dir: str | Path | None = None) -> np.ndarray:
    """``[start_s, end_s)`` of a file as a read-only float32 1-D memmap, mono (mean of channels), at ``sample_rate``.

    A cache hit only stats the file and maps the cached array. A miss decodes the span in blocks of
    :data:`BLOCK_SECONDS`, resamples them with a streaming libsoxr resampler (quality "VHQ") when the file's
    rate differs, and caches the result; the samples equal a one-shot :func:`acoustics.audio_io.read_span`
    followed by :func:`acoustics.audio_io.resample` (to float32 rounding).
    ``cache_dir``: None uses :func:`default_cache_dir`.
    Raises :class:`~acoustics.audio_io.AudioError` for missing, corrupt or truncated files, spans past the end
    of the file and NaN/Inf samples (naming the file and the time); nothing is left in the cache then.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: audio file not found; check the manifest's path column")
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    key = cache_key(path, start_s=start_s, end_s=end_s, sample_rate=sample_rate)
    final = cache_dir / f"{key}.npy"
    cached = _load(final)
    if cached is not None:
        return cached
    cache_dir.mkdir(parents=True, exist_ok=True)
    _write_span(path, final, start_s=float(start_s), end_s=float(end_s), sample_rate=int(sample_rate))
    cached = _load(final)
    if cached is None:  # pragma: no cover - only if something else deletes or damages the file at once
        raise AudioError(f"{path}: the cached span {final} could not be read back; check the cache directory")
    return cached


def _write_span(path: Path, final: Path, *, start_s: float, end_s: float, sample_rate: int) -> None:
    """Decode, check, resample and write one span to ``final`` through a per-process temporary file."""
    sr, channels, duration = audio_info(path)
    start = int(round(start_s * sr))
    stop = int(round(end_s * sr))
    if start < 0 or stop <= start:
        raise AudioError(f"{path}: span {start_s:.3f}-{end_s:.3f} s is empty or negative; check the manifest's "
                         "start_s and end_s columns")
    if stop > int(round(duration * sr)):
        raise AudioError(f"{path}: span {start_s:.3f}-{end_s:.3f} s runs past the end of the file "
                         f"({duration:.3f} s); the file is truncated or the manifest is wrong")
    n_out = resampled_length(stop - start, sr, sample_rate)
    tmp = final.with_name(f".{final.stem}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        # Written sequentially after a .npy header (rather than through a memmap), so neither the heap nor
        # the mapped pages grow with the span: memory stays at about one block however long the file.
        with open(tmp, "wb") as out:
            np.lib.format.write_array_header_1_0(out, {"descr": np.lib.format.dtype_to_descr(np.dtype("<f4")),
                                                       "fortran_order": False, "shape": (n_out,)})
            written = _decode_into(out, path, sr, channels, start, stop, sample_rate, n_out)
            if written < n_out:
                # libsoxr's streaming count equals resampled_length(); should a version ever fall short,
                # the tail is zero-filled rather than the span's length changing with the library.
                out.write(np.zeros(n_out - written, "<f4").tobytes())
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


def _decode_into(out, path: Path, sr: int, channels: int, start: int, stop: int, sample_rate: int,
                 n_out: int) -> int:
    """Decode samples ``start..stop`` block by block, check, mix to mono, resample, append to ``out``.

    Returns the number of output samples written (at most ``n_out``).
    """
    block = max(1, int(round(BLOCK_SECONDS * sr)))
    stream = None
    if sr != sample_rate:
        import soxr

        stream = soxr.ResampleStream(sr, sample_rate, 1, dtype="float32", quality=_QUALITY)
    try:
        f = sf.SoundFile(str(path))
    except Exception as exc:
        raise AudioError(f"{path}: unreadable audio ({exc}); the file is corrupt or not WAV/FLAC") from exc
    written = 0
    with f:
        try:
            f.seek(start)
        except Exception as exc:
            raise AudioError(f"{path}: cannot seek to {start / sr:.3f} s ({exc}); the file is corrupt") from exc
        pos = start
        while pos < stop:
            want = min(block, stop - pos)
            try:
                data = f.read(want, dtype="float32", always_2d=True)
            except Exception as exc:
                raise AudioError(f"{path}: failed to decode samples {pos}..{pos + want} at {pos / sr:.3f} s "
                                 f"({exc}); the file is corrupt") from exc
            if data.shape[0] != want:
                raise AudioError(f"{path}: got {data.shape[0]} samples at {pos / sr:.3f} s where {want} were "
                                 f"expected; the file is truncated")
            finite = np.isfinite(data).all(axis=1)
            if not finite.all():
                first = pos + int(np.argmin(finite))
                bad = int(np.count_nonzero(~finite))
                raise AudioError(f"{path}: {bad} NaN/Inf sample(s) from {first / sr:.3f} s (block "
                                 f"{pos / sr:.3f}-{(pos + want) / sr:.3f} s); the recorder or the "
                                 "conversion wrote invalid floats")
            mono = data.mean(axis=1, dtype=np.float32) if channels > 1 else data[:, 0]
            pos += want
            if stream is not None:
                mono = stream.resample_chunk(np.ascontiguousarray(mono), last=pos >= stop)
            take = min(mono.shape[0], n_out - written)
            out.write(np.ascontiguousarray(mono[:take], dtype="<f4").tobytes())
            written += take
    return written
