"""Raw PCM bytes (stdin, TCP, UDP) to float32 ``[n, channels]`` at full scale ±1.0, and back.

Raw PCM carries no header, so the format, channel count and sample rate are what the operator says they are:
a wrong ``--format`` or ``--channels`` cannot be detected here and reads as loud noise (DESIGN.md pitfalls:
"audio at the wrong sample rate is silently misread"); the daemon logs the format it assumes at start.

A read from a pipe or socket can end anywhere, even inside a sample: :func:`decode` returns the trailing
partial frame as leftover bytes for the caller to prepend to the next read, so no byte is lost at a read
boundary and the channels never slip. Integer formats are scaled so that full scale is ±1.0 (s16 /2^15,
s24 /2^23, s32 /2^31); float32 NaN/±Inf are replaced by 0 and counted, values beyond ±1 are left as they are
(a hot digitizer can exceed full scale; clipping is the scorer's choice, not the decoder's).
"""

from __future__ import annotations

import numpy as np

#: Format name → bytes per sample (one channel). All little-endian, interleaved by frame.
FORMATS: dict[str, int] = {"s16le": 2, "s24le": 3, "s32le": 4, "f32le": 4}

_SCALE = {"s16le": 2.0 ** -15, "s24le": 2.0 ** -31, "s32le": 2.0 ** -31}  # s24 is decoded shifted up 8 bits


def parse_format(name: str) -> str:
    """The canonical format name for ``name`` (case and surrounding blanks ignored); ValueError if unknown."""
    fmt = str(name).strip().lower()
    if fmt not in FORMATS:
        raise ValueError(f"unknown PCM format {name!r}; use one of {', '.join(FORMATS)} "
                         "(signed 16/24/32-bit integer or 32-bit float, little-endian, interleaved)")
    return fmt


def frame_bytes(fmt: str, channels: int) -> int:
    """Bytes in one frame (one sample of every channel)."""
    if int(channels) < 1:
        raise ValueError(f"channels must be at least 1, got {channels}")
    return FORMATS[parse_format(fmt)] * int(channels)


def replace_nonfinite(samples: np.ndarray) -> int:
    """Replace NaN/±Inf in a float array by 0, in place; returns how many were replaced."""
    bad = ~np.isfinite(samples)
    n = int(np.count_nonzero(bad))
    if n:
        samples[bad] = 0.0
    return n


def decode(buf: bytes | bytearray | memoryview, *, fmt: str, channels: int,
           counters: dict[str, int] | None = None) -> tuple[np.ndarray, bytes]:
    """Decode whole frames of ``buf``: (float32 ``[n, channels]`` at full scale ±1.0, leftover bytes).

    The leftover is the trailing partial frame (fewer than ``channels × bytes per sample`` bytes): prepend it to
    the next read. NaN/±Inf (f32le only) become 0 and are added to ``counters["nonfinite_samples"]`` when a
    counters dict is given. Vectorised: no per-sample Python work.
    """
    fmt = parse_format(fmt)
    width = FORMATS[fmt]
    fb = frame_bytes(fmt, channels)
    mv = memoryview(buf).cast("B")
    n = len(mv) // fb
    used = n * fb
    leftover = bytes(mv[used:])
    if n == 0:
        return np.zeros((0, int(channels)), dtype=np.float32), leftover
    raw = np.frombuffer(mv[:used], dtype=np.uint8)
    if fmt == "f32le":
        out = raw.view("<f4").astype(np.float32)  # a writable native-order copy
        bad = replace_nonfinite(out)
        if counters is not None:
            counters["nonfinite_samples"] = counters.get("nonfinite_samples", 0) + bad
    elif fmt == "s24le":
        wide = np.zeros((n * int(channels), 4), dtype=np.uint8)
        wide[:, 1:] = raw.reshape(-1, width)  # 24-bit value in the top three bytes: sign comes for free
        out = wide.view("<i4").reshape(-1).astype(np.float32) * np.float32(_SCALE[fmt])
    else:
        ints = raw.view("<i2" if fmt == "s16le" else "<i4")
        out = ints.astype(np.float32) * np.float32(_SCALE[fmt])
    return out.reshape(n, int(channels)), leftover


def encode(samples: np.ndarray, *, fmt: str) -> bytes:
    """Float ``[n, channels]`` (or 1-D mono) at full scale ±1.0 to interleaved PCM bytes; integers are rounded
    and clipped to their range. For test digitizers and tools; the inverse of :func:`decode` up to rounding."""
    fmt = parse_format(fmt)
    x = np.asarray(samples, dtype=np.float64)
    x = x.reshape(len(x), -1)
    if fmt == "f32le":
        return x.astype("<f4").tobytes()
    bits = {"s16le": 16, "s24le": 24, "s32le": 32}[fmt]
    top = 2 ** (bits - 1)
    ints = np.clip(np.round(x * top), -top, top - 1).astype(np.int64).reshape(-1)
    if fmt == "s16le":
        return ints.astype("<i2").tobytes()
    if fmt == "s32le":
        return ints.astype("<i4").tobytes()
    return ints.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
