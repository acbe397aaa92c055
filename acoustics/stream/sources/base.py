"""What every source shares: :class:`SourceError`, the throttled logger, the :class:`Source` base class and the
raw-bytes-to-Blocks assembler used by the raw PCM sources."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import numpy as np

from uwac.acoustics.stream.blocks import Block
from uwac.acoustics.stream.pcm import decode, frame_bytes, parse_format

log = logging.getLogger(__package__)  # "uwac.acoustics.stream.sources": one logger for every source module

POLL_S = 0.25  # the longest any source waits on a pipe, socket or directory poll before checking close()


class SourceError(ValueError):
    """A source that cannot start (unreadable single file, bad address); the message says what to do."""


class Throttle:
    """Log a recurring problem once, then at most once per ``interval_s`` with a count of the lines held back."""

    def __init__(self, interval_s: float = 10.0, logger: logging.Logger | None = None):
        self.interval_s = interval_s
        self.logger = logger or log
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def warning(self, key: str, msg: str, *args) -> None:
        self.log(logging.WARNING, key, msg, *args)

    def error(self, key: str, msg: str, *args) -> None:
        self.log(logging.ERROR, key, msg, *args)

    def log(self, level: int, key: str, msg: str, *args) -> None:
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.interval_s:
            self._held[key] = self._held.get(key, 0) + 1
            return
        self._last[key] = now
        held = self._held.pop(key, 0)
        if held:
            msg, args = msg + " (%d more like it since the last line)", (*args, held)
        self.logger.log(level, msg, *args)


class Source:
    """Common part of every source: counters, a stop event, ``close()``, ``commit()`` and iteration."""

    COUNTERS: tuple[str, ...] = ("bytes", "blocks", "frames", "nonfinite_samples")
    EXTRA: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.counters: dict[str, int] = {k: 0 for k in self.COUNTERS + self.EXTRA}
        self.last_data_at: float | None = None  # time.monotonic() of the last audio received, for /healthz
        self._stop = threading.Event()
        self._running = False
        self._throttle = Throttle()

    def blocks(self) -> Iterator[Block]:
        """The source's blocks, until it ends or :meth:`close` is called. Iterate once."""
        raise NotImplementedError

    def __iter__(self) -> Iterator[Block]:
        return self.blocks()

    def close(self) -> None:
        """Ask the source to stop (any thread): its iterator flushes what it holds and ends within ~POLL_S s."""
        self._stop.set()
        if not self._running:
            self._release()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._stop.is_set()

    def commit(self, position: int) -> dict | None:
        """The consumer no longer needs audio before ``position``; live sources cannot replay, so nothing to do."""
        return None

    def _release(self) -> None:
        """Close sockets and files; called once iteration has ended or by close() when not iterating."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _count(self, block: Block) -> Block:
        self.counters["blocks"] += 1
        self.counters["frames"] += block.frames
        self.last_data_at = time.monotonic()
        return block

    def _nonfinite(self, n: int, origin: str) -> None:
        if n:
            self._throttle.warning("nonfinite", "%s: %d NaN/Inf sample(s) replaced by 0; the recorder or "
                                   "digitizer sends invalid floats (check --format)", origin, n)


class _Pcm:
    """Raw bytes to Blocks of ``block_frames``: carries the partial frame between reads and tracks positions.

    ``gap(n)`` flushes what is held and makes the next block start ``n`` samples later with ``gap_samples``.
    """

    def __init__(self, source: Source, *, fmt: str, channels: int, sample_rate: int, block_frames: int):
        self.source, self.fmt, self.channels = source, parse_format(fmt), int(channels)
        self.rate, self.block_frames = int(sample_rate), max(1, int(block_frames))
        self.leftover = b""
        self.parts: list[np.ndarray] = []
        self.pending = 0  # frames held in parts
        self.start = 0  # position of parts[0][0]
        self.cursor = 0  # position of the next sample pushed
        self.gap_pending = 0
        self.origin = ""

    def feed(self, data: bytes) -> list[Block]:
        counters = self.source.counters
        before = counters["nonfinite_samples"]
        x, self.leftover = decode(self.leftover + data if self.leftover else data, fmt=self.fmt,
                                  channels=self.channels, counters=counters)
        self.source._nonfinite(counters["nonfinite_samples"] - before, self.origin)
        return self.push(x)

    def push(self, x: np.ndarray) -> list[Block]:
        if not len(x):
            return []
        if not self.parts:
            self.start = self.cursor
        self.parts.append(x)
        self.pending += len(x)
        self.cursor += len(x)
        out = []
        while self.pending >= self.block_frames:
            out.append(self._emit(self.block_frames))
        return out

    def _emit(self, n: int) -> Block:
        held = np.concatenate(self.parts) if len(self.parts) > 1 else self.parts[0]
        rest = held[n:]
        self.parts = [rest] if len(rest) else []
        block = Block(samples=np.ascontiguousarray(held[:n]), sample_rate=self.rate, position=self.start,
                      gap_samples=self.gap_pending, origin=self.origin)
        self.start += n
        self.pending -= n
        self.gap_pending = 0
        return self.source._count(block)

    def flush(self) -> list[Block]:
        return [self._emit(self.pending)] if self.pending else []

    def gap(self, n: int) -> list[Block]:
        out = self.flush()
        self.cursor += int(n)
        self.gap_pending += int(n)
        return out

    def drop_partial(self, why: str) -> None:
        if self.leftover:
            self.source.counters["partial_frames_dropped"] += 1
            log.warning("%s: %d byte(s) of an incomplete frame dropped at %s (frames are %d bytes: %s × %d "
                        "channel(s)); if this repeats, check --format and --channels", self.origin or "pcm",
                        len(self.leftover), why, frame_bytes(self.fmt, self.channels), self.fmt, self.channels)
            self.leftover = b""
