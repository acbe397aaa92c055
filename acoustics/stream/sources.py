"""Where the daemon's audio comes from: recorder files, stdin, TCP and UDP, each an iterator of Blocks.

Every source has ``counters`` (plain ints for /metrics), ``close()`` (safe from another thread, e.g. a SIGTERM
handler: every wait is at most :data:`POLL_S` s, so the iterator ends within about that) and ``commit(position)``
(only :class:`DirectorySource` remembers it, in its journal). A bad input is a log line and a counter, never a
crash; only a single file that cannot be read at all raises :class:`SourceError`, since nothing else could follow.

Positions and gaps (what the scorer relies on): ``block.position`` counts samples at the block's rate from the
stream start, gaps included, and ``position == previous.position + previous.frames + block.gap_samples``.

- recorder files (:class:`DirectorySource`) are one continuous stream: positions run on across files, so the
  scorer's ring buffer carries the tail over the seam (DESIGN.md: "windows restart at every recorder file").
  When file names carry start times and the next file starts more than ``gap_tolerance_s`` after the previous
  one ended, its first block has ``gap_samples`` for the hole; overlaps and names without a time: no gap.
- TCP: after a reconnect the first block has ``gap_samples >= 1`` (the wall-clock time disconnected × rate,
  at least 1), so the ring buffer is always flushed and stream time stays close to the wall clock.
- UDP: lost sequence numbers give ``gap_samples`` = missing packets × frames of the last good packet; a late
  packet is counted and dropped (the stream has moved on); a sequence restart gives a wall-clock gap (≥ 1).

A recorder file at another rate or channel count than the stream so far is counted (``format_changes``) and
logged, and its blocks carry its own ``sample_rate``/``channels``: resampling or refusing is the scorer's job.
Raw PCM (stdin, TCP, UDP) has no header, so its rate and channels are what the operator declares.
"""

from __future__ import annotations

import errno
import fnmatch
import logging
import os
import re
import select
import selectors
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import soundfile as sf

from acoustics.stream.blocks import Block
from acoustics.stream.journal import Journal
from acoustics.stream.pcm import decode, frame_bytes, parse_format, replace_nonfinite

log = logging.getLogger(__name__)

POLL_S = 0.25  # the longest any source waits on a pipe, socket or directory poll before checking close()
_SEQ_MOD = 2 ** 32
_MAX_SEGMENTS = 10_000  # files remembered for commit(): a bound, should a consumer never commit


class SourceError(ValueError):
    """A source that cannot start (unreadable single file, bad address); the message says what to do."""


class _Throttle:
    """Log a recurring problem once, then at most once per ``interval_s`` with a count of the lines held back."""

    def __init__(self, interval_s: float = 10.0):
        self.interval_s = interval_s
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def warning(self, key: str, msg: str, *args) -> None:
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.interval_s:
            self._held[key] = self._held.get(key, 0) + 1
            return
        self._last[key] = now
        held = self._held.pop(key, 0)
        if held:
            msg, args = msg + " (%d more like it since the last line)", (*args, held)
        log.warning(msg, *args)


class Source:
    """Common part of every source: counters, a stop event, ``close()``, ``commit()`` and iteration."""

    COUNTERS: tuple[str, ...] = ("bytes", "blocks", "frames", "nonfinite_samples")
    EXTRA: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.counters: dict[str, int] = {k: 0 for k in self.COUNTERS + self.EXTRA}
        self.last_data_at: float | None = None  # time.monotonic() of the last audio received, for /healthz
        self._stop = threading.Event()
        self._running = False
        self._throttle = _Throttle()

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


# ---------------------------------------------------------------------------------------------------- files

_NAME_TIME = re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})[T_]?(\d{2})(\d{2})(\d{2})(?:[.,](\d{1,6}))?(?!\d)")


def parse_start_utc(name: str) -> float | None:
    """UTC start time (s since the epoch) from a recorder file name, or None.

    Understands ``YYYYmmddTHHMMSS``, ``YYYYmmdd_HHMMSS`` and ``YYYYmmddHHMMSS`` anywhere in the name, with an
    optional ``.fff`` fraction; the first match wins; an impossible date is None.
    """
    m = _NAME_TIME.search(Path(name).name)
    if not m:
        return None
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    try:
        t = datetime(y, mo, d, h, mi, s, tzinfo=timezone.utc).timestamp()
    except ValueError:
        return None
    return t + (float("0." + m.group(7)) if m.group(7) else 0.0)


def _open_audio(path: Path) -> sf.SoundFile:
    """Open a WAV/FLAC for block reads; raises SourceError naming the file and what to do."""
    if not path.is_file():
        raise SourceError(f"{path}: audio file not found; check the path (a recorder may have moved it)")
    try:
        return sf.SoundFile(str(path))
    except Exception as exc:  # soundfile raises several types for corrupt headers
        raise SourceError(f"{path}: unreadable audio ({exc}); the file is corrupt or not WAV/FLAC — "
                          "re-export it or remove it from the input") from exc


def _file_samples(source: Source, f: sf.SoundFile, *, block_frames: int, origin: str) -> Iterator[np.ndarray]:
    """Float32 ``[n, channels]`` blocks from an open file, never the whole file, until EOF or close()."""
    while not source._stop.is_set():
        x = f.read(block_frames, dtype="float32", always_2d=True)
        if not len(x):
            return
        bad = replace_nonfinite(x)
        source.counters["nonfinite_samples"] += bad
        source._nonfinite(bad, origin)
        yield x


class FileSource(Source):
    """One WAV/FLAC file read in blocks of ``block_seconds`` (s), channels kept as ``[n, channels]``.

    A file that cannot be opened raises :class:`SourceError` at construction (path and what to do); a decoding
    error half way raises it from the iterator. ``start_utc`` comes from the file name when it has a time.
    """

    EXTRA = ("files_done", "files_failed")

    def __init__(self, path: str | Path, *, block_seconds: float = 1.0):
        super().__init__()
        self.path = Path(path)
        if block_seconds <= 0:
            raise ValueError(f"block_seconds must be positive, got {block_seconds}")
        self.block_seconds = float(block_seconds)
        with _open_audio(self.path) as f:
            self.sample_rate, self.channels, self.total_frames = int(f.samplerate), int(f.channels), int(f.frames)
        self.start_utc = parse_start_utc(self.path.name)

    def blocks(self) -> Iterator[Block]:
        """Blocks of the file from its first frame, position 0."""
        self._running = True
        position, name = 0, self.path.name
        try:
            with _open_audio(self.path) as f:
                block_frames = max(1, round(self.block_seconds * f.samplerate))
                try:
                    for x in _file_samples(self, f, block_frames=block_frames, origin=name):
                        utc = None if self.start_utc is None else self.start_utc + position / f.samplerate
                        yield self._count(Block(samples=x, sample_rate=int(f.samplerate), position=position,
                                                start_utc=utc, origin=name))
                        position += len(x)
                except Exception as exc:
                    self.counters["files_failed"] += 1
                    raise SourceError(f"{self.path}: decoding failed after {position} frames ({exc}); the file "
                                      "is corrupt or truncated — re-export it") from exc
            self.counters["files_done"] += 1
            self.counters["bytes"] += self.path.stat().st_size
        finally:
            self._running = False


@dataclass
class _Segment:
    """The stream positions one file occupies, for mapping a committed position back to (file, frame)."""

    name: str
    pos0: int  # stream position of frame ``frame0``
    frame0: int
    frames: int  # frames emitted so far
    sample_rate: int
    utc0: float | None  # file start time from its name


class DirectorySource(Source):
    """Closed recorder files in ``directory`` as one continuous stream: the backlog in name order, then new files.

    ``pattern``: glob(s) matched case-insensitively (default WAV and FLAC). A file counts as closed when a file
    with a later name exists or its size and mtime have not changed for ``settle_s`` (s; make it longer than the
    recorder's longest pause between writes). ``poll_s``: how often (s) the folder is listed when following.
    ``follow=False``: read what is there (all of it, settled or not) and end. ``journal``: a :class:`Journal`
    (or its path); the source resumes from it and writes it on :meth:`commit`. ``block_seconds``: block length (s).
    ``gap_tolerance_s``: a hole between files' name times up to this is treated as continuous.

    Files are taken in name order (recorders name files by time); a file that appears with a name before one
    already read is counted (``files_out_of_order``), logged and not read. A corrupt or vanished file is logged,
    counted (``files_failed``) and skipped.
    """

    EXTRA = ("files_done", "files_failed", "format_changes", "gaps", "gap_samples", "overlaps", "polls",
             "listing_errors", "files_out_of_order", "journal_writes", "journal_errors")

    def __init__(self, directory: str | Path, *, pattern: str | Sequence[str] = ("*.wav", "*.flac"),
                 journal: Journal | str | Path | None = None, poll_s: float = 1.0, settle_s: float = 2.0,
                 follow: bool = True, block_seconds: float = 1.0, gap_tolerance_s: float = 0.5):
        super().__init__()
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise SourceError(f"{self.directory}: not a directory; give the folder the recorder writes to")
        if block_seconds <= 0:
            raise ValueError(f"block_seconds must be positive, got {block_seconds}")
        self.patterns = [p.lower() for p in ([pattern] if isinstance(pattern, str) else list(pattern))]
        self.poll_s, self.settle_s, self.follow = float(poll_s), float(settle_s), bool(follow)
        self.block_seconds, self.gap_tolerance_s = float(block_seconds), float(gap_tolerance_s)
        self.journal = journal if isinstance(journal, Journal) or journal is None else Journal(journal)
        self._after: str | None = None  # last file name taken (read or failed)
        self._resume: tuple[str, int] | None = None
        self._position = 0  # stream position after the last emitted sample
        self._pending_gap = 0
        self._prev_end_utc: float | None = None
        self._format: tuple[int, int] | None = None
        self._segments: list[_Segment] = []
        self._lock = threading.Lock()
        self._commit_lock = threading.Lock()
        self._last_commit: tuple | None = None
        self._watch: dict[str, tuple[tuple[int, int], float]] = {}
        self._listed: set[str] | None = None
        self._todo: deque[str] = deque()  # names from the last listing still to take, sorted
        rec = self.journal.load() if self.journal is not None else None
        if rec is not None:
            if rec.get("directory") and Path(rec["directory"]) != self.directory:
                log.warning("%s: journal was written for %s, now reading %s; resuming by file name anyway",
                            self.journal.path, rec["directory"], self.directory)
            self._resume = (rec["file"], int(rec["frame"]))
            self._position = int(rec["position"])
            self._prev_end_utc = rec.get("utc")
            self._last_commit = (rec["file"], int(rec["frame"]), int(rec["position"]))
            log.info("%s: resuming at %s frame %d (stream position %d)", self.directory, rec["file"],
                     rec["frame"], rec["position"])

    # -- listing and settling

    def _matches(self, name: str) -> bool:
        low = name.lower()
        return not name.startswith(".") and any(fnmatch.fnmatchcase(low, p) for p in self.patterns)

    def _list(self) -> list[str]:
        """Sorted names of files still to take; notes files that arrived out of order."""
        self.counters["polls"] += 1
        try:
            with os.scandir(self.directory) as it:
                names = {e.name for e in it if self._matches(e.name) and e.is_file()}
        except OSError as exc:
            self.counters["listing_errors"] += 1
            self._throttle.warning("listing", "%s: cannot list the folder (%s); retrying every %.1f s",
                                   self.directory, exc, self.poll_s)
            return []
        if self._listed is not None and self._after is not None:
            for name in sorted(names - self._listed):
                if name <= self._after:
                    self.counters["files_out_of_order"] += 1
                    log.warning("%s: %s appeared after %s was read; names must sort by time, so it is not read "
                                "(check the recorder's naming or clock)", self.directory, name, self._after)
        self._listed = names
        lo, resume = self._after, self._resume[0] if self._resume else None
        todo = sorted(n for n in names if (lo is None or n > lo) and (resume is None or n >= resume))
        self._watch = {k: v for k, v in self._watch.items() if k in names}
        return todo

    def _settled(self, name: str) -> bool:
        """True when the file's size and mtime have stood still for settle_s (observed, or by its mtime age)."""
        try:
            st = (self.directory / name).stat()
        except OSError:
            return False
        key, now = (st.st_size, st.st_mtime_ns), time.monotonic()
        seen = self._watch.get(name)
        if seen is None or seen[0] != key:
            self._watch[name] = (key, now)
            # first sight of a file untouched for settle_s (the backlog at start): closed; a change: wait again
            return seen is None and time.time() - st.st_mtime >= self.settle_s
        return now - seen[1] >= self.settle_s

    def _next_file(self) -> str | None:
        """The next closed file to read, waiting for one when following; None when stopped or done."""
        while not self._stop.is_set():
            if len(self._todo) > 1 or (self._todo and not self.follow):  # the backlog: no re-listing per file
                return self._todo.popleft()
            self._todo = deque(self._list())
            if self._todo and (len(self._todo) > 1 or not self.follow or self._settled(self._todo[0])):
                return self._todo.popleft()
            if not self._todo and not self.follow:
                return None
            self._stop.wait(self.poll_s)  # wakes at once on close()
        return None

    # -- reading

    def blocks(self) -> Iterator[Block]:
        """Blocks of every closed file in name order, positions continuous across files."""
        self._running = True
        try:
            while not self._stop.is_set():
                name = self._next_file()
                if name is None:
                    return
                yield from self._play(name)
        finally:
            self._running = False

    def _play(self, name: str) -> Iterator[Block]:
        path = self.directory / name
        start_frame = self._resume[1] if self._resume and self._resume[0] == name else 0
        self._resume, self._after = None, name
        try:
            f = _open_audio(path)
        except SourceError as exc:
            self.counters["files_failed"] += 1
            log.error("%s; skipped, the stream goes on with the next file", exc)
            return
        with f:
            rate, channels, total = int(f.samplerate), int(f.channels), int(f.frames)
            if self._format is not None and self._format != (rate, channels):
                self.counters["format_changes"] += 1
                log.warning("%s: %d Hz × %d channel(s), the stream so far was %d Hz × %d; passed on as it is "
                            "(the scorer resamples or refuses)", path, rate, channels, *self._format)
            self._format = (rate, channels)
            utc0 = parse_start_utc(name)
            if start_frame:
                start_frame = min(start_frame, total)
                f.seek(start_frame)
            elif utc0 is not None and self._prev_end_utc is not None:
                hole = utc0 - self._prev_end_utc
                if hole > self.gap_tolerance_s:
                    gap = int(round(hole * rate))
                    self._pending_gap += gap
                    self.counters["gaps"] += 1
                    self.counters["gap_samples"] += gap
                    log.info("%s starts %.3f s after the previous file ended: %d missing samples", name, hole, gap)
                elif hole < -self.gap_tolerance_s:
                    self.counters["overlaps"] += 1
                    log.info("%s starts %.3f s before the previous file ended; read as continuous", name, -hole)
            seg = _Segment(name, self._position + self._pending_gap, start_frame, 0, rate, utc0)
            with self._lock:
                self._segments.append(seg)
                # keep what commit() may still map: everything when journaling (the consumer commits and so
                # prunes), else only the newest few, so a months-long run without a journal does not grow
                keep = _MAX_SEGMENTS if self.journal is not None else 2
                if len(self._segments) > keep:
                    del self._segments[:len(self._segments) - keep]
            block_frames = max(1, round(self.block_seconds * rate))
            try:
                for x in _file_samples(self, f, block_frames=block_frames, origin=name):
                    frame = start_frame + seg.frames
                    block = Block(samples=x, sample_rate=rate, position=self._position + self._pending_gap,
                                  start_utc=None if utc0 is None else utc0 + frame / rate,
                                  gap_samples=self._pending_gap, origin=name)
                    with self._lock:
                        seg.frames += len(x)
                    self._position, self._pending_gap = block.position + len(x), 0
                    yield self._count(block)
            except Exception as exc:  # a decoding error half way: count, log, go on with the next file
                self.counters["files_failed"] += 1
                log.error("%s: decoding failed after %d frames (%s); the rest of this file is skipped",
                          path, start_frame + seg.frames, exc)
            else:
                if not self._stop.is_set():
                    self.counters["files_done"] += 1
                    try:
                        self.counters["bytes"] += path.stat().st_size
                    except OSError:
                        pass
            if utc0 is not None:
                self._prev_end_utc = utc0 + (start_frame + seg.frames) / rate
            elif self._prev_end_utc is not None:
                self._prev_end_utc = None  # no time for this file: the next one cannot be placed after it

    # -- journal

    def commit(self, position: int) -> dict | None:
        """The consumer has no further need of audio before stream ``position`` (it is scored and its events are
        fsync'd; pass the position of the earliest sample still held, e.g. the ring buffer's start, so that a
        restart can rebuild the next window). Writes the journal (atomically) so that a restart resumes exactly
        there. Returns the record written, or None (nothing read yet, nothing new, or no journal)."""
        with self._lock:
            seg = next((s for s in reversed(self._segments) if s.pos0 <= position), None)
            if seg is None:
                return None
            done = min(max(int(position) - seg.pos0, 0), seg.frames)
            frame, pos = seg.frame0 + done, seg.pos0 + done
            utc = None if seg.utc0 is None else seg.utc0 + frame / seg.sample_rate
            first = next(i for i, s in enumerate(self._segments) if s is seg)
            del self._segments[:first]
        if self.journal is None:
            return None
        with self._commit_lock:
            key = (seg.name, frame, pos)
            if key == self._last_commit:
                return None
            try:
                rec = self.journal.save(file=seg.name, frame=frame, position=pos, sample_rate=seg.sample_rate,
                                        utc=utc, directory=str(self.directory))
            except OSError as exc:
                self.counters["journal_errors"] += 1
                self._throttle.warning("journal", "%s: cannot write the stream journal (%s); a restart would "
                                       "re-read audio already scored — free disk space or fix permissions",
                                       self.journal.path, exc)
                return None
            self.counters["journal_writes"] += 1
            self._last_commit = key
            return rec


# ----------------------------------------------------------------------------------------------- raw streams


def _fileno(stream) -> int | None:
    try:
        return int(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return None


class StdinSource(Source):
    """Raw interleaved PCM from a binary stream (default stdin) until EOF.

    ``fmt``: s16le/s24le/s32le/f32le; ``channels``; ``sample_rate`` (Hz, as declared: raw PCM has no header);
    ``block_frames``: frames per block (a shorter block is flushed when no data came for POLL_S s or at EOF).
    A stream with a file descriptor is polled with select (so close() is prompt) and read with ``os.read``.
    """

    EXTRA = ("partial_frames_dropped",)

    def __init__(self, stream=None, *, fmt: str, channels: int, sample_rate: int, block_frames: int = 4096):
        super().__init__()
        self.stream = sys.stdin.buffer if stream is None else stream
        self.fmt, self.channels, self.sample_rate = parse_format(fmt), int(channels), int(sample_rate)
        self.block_frames = int(block_frames)
        self._read_size = max(frame_bytes(self.fmt, self.channels) * self.block_frames, 4096)

    def _read(self, fd: int | None) -> bytes | None:
        """Some bytes, b'' at EOF, None when nothing came within POLL_S s."""
        if fd is not None:
            ready, _, _ = select.select([fd], [], [], POLL_S)
            return os.read(fd, self._read_size) if ready else None
        read = getattr(self.stream, "read1", None) or self.stream.read
        return read(self._read_size)

    def blocks(self) -> Iterator[Block]:
        """Blocks until EOF or close(); a partial frame left at EOF is logged and counted."""
        self._running = True
        pcm = _Pcm(self, fmt=self.fmt, channels=self.channels, sample_rate=self.sample_rate,
                   block_frames=self.block_frames)
        pcm.origin = "stdin"
        fd = _fileno(self.stream)
        try:
            while not self._stop.is_set():
                try:
                    data = self._read(fd)
                except OSError as exc:
                    log.error("stdin: read failed (%s); ending the source", exc)
                    break
                if data is None:
                    yield from pcm.flush()
                    continue
                if not data:
                    log.info("stdin: end of input after %d bytes", self.counters["bytes"])
                    break
                self.counters["bytes"] += len(data)
                yield from pcm.feed(data)
            yield from pcm.flush()
            pcm.drop_partial("the end of input")
        finally:
            self._running = False


def _keepalive(sock: socket.socket) -> None:
    """TCP keepalive after 10 s idle, so a digitizer that vanished is noticed in about half a minute."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for opt, val in (("TCP_KEEPIDLE", 10), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 3)):
            if hasattr(socket, opt):
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, opt), val)
    except OSError:
        pass


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


class TcpSource(Source):
    """Raw PCM over TCP: ``listen=(host, port)`` for a digitizer that connects, or ``connect=(host, port)``.

    Listen: one digitizer at a time; when it disconnects the next connection continues the stream, and a new
    connection while the open one is silent replaces it (a rebooted digitizer leaves its old one half-open).
    Connect: reconnects with exponential back-off from ``backoff[0]`` to ``backoff[1]`` s, one log line per try.
    A connection silent for ``stall_s`` s is dropped as dead. After any reconnect the first block has
    ``gap_samples`` = max(1, seconds without audio × rate). ``address``: the bound (host, port) in listen mode.
    """

    EXTRA = ("connections", "reconnects", "disconnects", "connect_failures", "stalls", "partial_frames_dropped")

    def __init__(self, *, listen: tuple[str, int] | None = None, connect: tuple[str, int] | None = None,
                 fmt: str, channels: int, sample_rate: int, block_frames: int = 4096,
                 backoff: tuple[float, float] = (0.5, 30.0), connect_timeout_s: float = 5.0, stall_s: float = 10.0):
        super().__init__()
        if (listen is None) == (connect is None):
            raise ValueError("TcpSource needs exactly one of listen=(host, port) or connect=(host, port)")
        self.fmt, self.channels, self.sample_rate = parse_format(fmt), int(channels), int(sample_rate)
        self.block_frames = int(block_frames)
        self.backoff = (float(backoff[0]), float(max(backoff)))
        self.connect_timeout_s, self.stall_s = float(connect_timeout_s), float(stall_s)
        self.connect_to = connect
        self._server: socket.socket | None = None
        self._pending: tuple[socket.socket, str] | None = None
        self.address: tuple[str, int] | None = None
        if listen is not None:
            host, port = listen
            try:
                self._server = socket.create_server((host, int(port)), family=_family(host), backlog=4)
            except OSError as exc:
                raise SourceError(f"tcp: cannot listen on {host}:{port} ({exc}); pick a free port or another "
                                  "address") from exc
            self._server.settimeout(POLL_S)
            self.address = self._server.getsockname()[:2]

    def _release(self) -> None:
        for s in (self._server, self._pending[0] if self._pending else None):
            if s is not None:
                s.close()
        self._server, self._pending = None, None

    def _accept(self) -> tuple[socket.socket, str] | None:
        while not self._stop.is_set():
            if self._pending is not None:
                conn, self._pending = self._pending, None
                return conn
            try:
                sock, peer = self._server.accept()
            except TimeoutError:
                continue
            except OSError as exc:
                self._throttle.warning("accept", "tcp: accept failed (%s); still listening", exc)
                self._stop.wait(POLL_S)
                continue
            return sock, f"{peer[0]}:{peer[1]}"
        return None

    def _connect_once(self) -> socket.socket:
        host, port = self.connect_to
        family, kind, proto, _, addr = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            err = sock.connect_ex(addr)
            if err not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY):
                raise OSError(err, os.strerror(err))
            deadline = time.monotonic() + self.connect_timeout_s
            while err != 0:
                if self._stop.is_set():
                    raise InterruptedError("closed")
                _, ready, _ = select.select([], [sock], [], POLL_S)
                if ready:
                    err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        raise OSError(err, os.strerror(err))
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no answer within {self.connect_timeout_s:.1f} s")
            sock.settimeout(POLL_S)
            return sock
        except BaseException:
            sock.close()
            raise

    def _connect(self, delay: float) -> tuple[socket.socket, str] | None:
        """Connect, retrying with back-off starting at ``delay`` (0: try at once); None once closed."""
        host, port = self.connect_to
        while not self._stop.is_set():
            if delay and self._stop.wait(delay):
                return None
            try:
                return self._connect_once(), f"{host}:{port}"
            except InterruptedError:
                return None
            except OSError as exc:
                self.counters["connect_failures"] += 1
                delay = min(max(delay * 2, self.backoff[0]), self.backoff[1])
                log.warning("tcp: cannot connect to %s:%s (%s); retrying in %.1f s", host, port, exc, delay)
        return None

    def _receive(self, conn: socket.socket, peer: str) -> Iterator[bytes | None]:
        """Bytes from ``conn`` (None when idle for POLL_S s) until it closes, stalls, is replaced or close()."""
        sel = selectors.DefaultSelector()
        sel.register(conn, selectors.EVENT_READ)
        if self._server is not None:
            sel.register(self._server, selectors.EVENT_READ)
        last = time.monotonic()
        try:
            while not self._stop.is_set():
                ready = {key.fileobj for key, _ in sel.select(POLL_S)}
                if conn in ready:
                    try:
                        data = conn.recv(65536)
                    except (TimeoutError, BlockingIOError):
                        continue
                    except OSError as exc:
                        log.warning("tcp %s: connection lost (%s)", peer, exc)
                        return
                    if not data:
                        log.warning("tcp %s: digitizer closed the connection", peer)
                        return
                    last = time.monotonic()
                    self.counters["bytes"] += len(data)
                    yield data
                elif self._server is not None and self._server in ready:
                    try:
                        sock, addr = self._server.accept()
                    except OSError:
                        continue
                    self._pending = (sock, f"{addr[0]}:{addr[1]}")
                    log.warning("tcp %s: new connection from %s while this one was silent; switching to it",
                                peer, self._pending[1])
                    return
                else:
                    if time.monotonic() - last > self.stall_s:
                        self.counters["stalls"] += 1
                        log.warning("tcp %s: no data for %.1f s; dropping the connection", peer, self.stall_s)
                        return
                    yield None
        finally:
            sel.close()

    def blocks(self) -> Iterator[Block]:
        """Blocks from successive connections until close()."""
        self._running = True
        pcm = _Pcm(self, fmt=self.fmt, channels=self.channels, sample_rate=self.sample_rate,
                   block_frames=self.block_frames)
        lost_since: float | None = None  # monotonic time audio stopped, while a gap is owed
        delay = 0.0
        try:
            while not self._stop.is_set():
                got = self._accept() if self._server is not None else self._connect(delay)
                if got is None:
                    break
                conn, peer = got
                _keepalive(conn)
                self.counters["connections"] += 1
                if self.counters["connections"] > 1:
                    self.counters["reconnects"] += 1
                log.info("tcp: digitizer %s connected (%s × %d ch at %d Hz assumed)", peer, self.fmt,
                         self.channels, self.sample_rate)
                pcm.origin, had_data = f"tcp {peer}", False
                try:
                    for data in self._receive(conn, peer):
                        if data is None:
                            yield from pcm.flush()
                            continue
                        if not had_data and lost_since is not None:
                            yield from pcm.gap(max(1, round((time.monotonic() - lost_since) * self.sample_rate)))
                            lost_since = None
                        had_data = True
                        yield from pcm.feed(data)
                finally:
                    conn.close()
                yield from pcm.flush()
                pcm.drop_partial("a disconnect")
                if self._stop.is_set():
                    break
                self.counters["disconnects"] += 1
                if lost_since is None and pcm.cursor:
                    lost_since = time.monotonic()
                delay = 0.0 if had_data else max(delay * 2, self.backoff[0])  # refused-at-once peers: back off
                delay = min(delay, self.backoff[1])
        finally:
            self._running = False
            self._release()


# ------------------------------------------------------------------------------------------------------ UDP


class SequenceTracker:
    """Classifies 32-bit packet sequence numbers (wrap-around included) as in order, late, duplicate or reset.

    ``check(seq)`` returns (verdict, missing): "ok" with the number of packets skipped before it; "late" (a
    packet behind the stream that was never received) and "duplicate" (one already received) are to be
    dropped; "reset" (more than ``window`` packets behind, or more than ``max_jump`` ahead: the sender
    restarted) starts counting afresh.
    """

    def __init__(self, window: int = 1024, max_jump: int = 2 ** 20):
        self.window, self.max_jump = int(window), int(max_jump)
        self.expected: int | None = None
        self._recent: deque[int] = deque(maxlen=self.window)
        self._seen: set[int] = set()

    def _remember(self, seq: int) -> None:
        if len(self._recent) == self._recent.maxlen:
            self._seen.discard(self._recent[0])
        self._recent.append(seq)
        self._seen.add(seq)

    def check(self, seq: int) -> tuple[str, int]:
        """(verdict, packets missing before ``seq``) and update the state for an accepted packet."""
        seq %= _SEQ_MOD
        if self.expected is None:
            verdict, missing = "ok", 0
        else:
            ahead = (seq - self.expected) % _SEQ_MOD
            behind = (self.expected - seq) % _SEQ_MOD
            if ahead < _SEQ_MOD // 2 and ahead <= self.max_jump:
                verdict, missing = "ok", ahead
            elif ahead >= _SEQ_MOD // 2 and behind <= self.window:
                return ("duplicate" if seq in self._seen else "late"), 0
            else:
                verdict, missing = "reset", 0
                self._recent.clear()
                self._seen.clear()
        self.expected = (seq + 1) % _SEQ_MOD
        self._remember(seq)
        return verdict, missing


class UdpSource(Source):
    """Raw PCM datagrams on ``bind=(host, port)``: each a 4-byte big-endian sequence number then whole frames.

    ``header="seq32"`` (the default) or ``"none"`` (no sequence number: losses cannot be seen). Lost packets
    give a gap of missing packets × frames of the last good packet; late packets are counted
    (``reordered_packets``) and dropped, as are duplicates and malformed datagrams (too short, or not a whole
    number of frames; one log line per 10 s). ``block_frames``: consecutive packets are joined into blocks of
    up to this many frames (flushed at a gap or when nothing came for POLL_S s). ``address``: the bound address.
    """

    EXTRA = ("datagrams", "lost_packets", "reordered_packets", "duplicate_packets", "malformed",
             "sequence_resets", "socket_errors")

    def __init__(self, *, bind: tuple[str, int], fmt: str, channels: int, sample_rate: int, header: str = "seq32",
                 block_frames: int = 4096, reorder_window: int = 1024):
        super().__init__()
        if header not in ("seq32", "none"):
            raise ValueError(f"unknown UDP header {header!r}; use 'seq32' (4-byte big-endian sequence number) "
                             "or 'none'")
        self.fmt, self.channels, self.sample_rate = parse_format(fmt), int(channels), int(sample_rate)
        self.header, self.block_frames = header, int(block_frames)
        self.tracker = SequenceTracker(window=reorder_window)
        host, port = bind
        self._sock: socket.socket | None = socket.socket(_family(host), socket.SOCK_DGRAM)
        try:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)  # ride out scoring hiccups
        except OSError:
            pass
        try:
            self._sock.bind((host, int(port)))
        except OSError as exc:
            self._sock.close()
            raise SourceError(f"udp: cannot bind {host}:{port} ({exc}); pick a free port or another address") from exc
        self._sock.settimeout(POLL_S)
        self.address = self._sock.getsockname()[:2]

    def _release(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def blocks(self) -> Iterator[Block]:
        """Blocks from datagrams until close()."""
        self._running = True
        pcm = _Pcm(self, fmt=self.fmt, channels=self.channels, sample_rate=self.sample_rate,
                   block_frames=self.block_frames)
        hdr = 4 if self.header == "seq32" else 0
        fb = frame_bytes(self.fmt, self.channels)
        buf = bytearray(65536)
        last_frames, last_time = 0, time.monotonic()
        try:
            while not self._stop.is_set():
                try:
                    n, peer = self._sock.recvfrom_into(buf)
                except TimeoutError:
                    yield from pcm.flush()
                    continue
                except OSError as exc:
                    self.counters["socket_errors"] += 1
                    self._throttle.warning("udp-error", "udp: receive failed (%s)", exc)
                    self._stop.wait(0.01)
                    continue
                self.counters["datagrams"] += 1
                self.counters["bytes"] += n
                origin = f"udp {peer[0]}:{peer[1]}"
                if n < hdr + fb or (n - hdr) % fb:
                    self.counters["malformed"] += 1
                    self._throttle.warning("malformed", "%s: malformed datagram of %d bytes dropped (expected %s"
                                           "whole frames of %d bytes: %s × %d channel(s)); check the sender's "
                                           "--format, --channels and header", origin, n,
                                           "a 4-byte sequence number and " if hdr else "", fb, self.fmt,
                                           self.channels)
                    continue
                frames = (n - hdr) // fb
                if hdr:
                    verdict, missing = self.tracker.check(int.from_bytes(buf[:4], "big"))
                    if verdict == "late":
                        self.counters["reordered_packets"] += 1
                        self._throttle.warning("late", "%s: late packet dropped (the stream had moved on)", origin)
                        continue
                    if verdict == "duplicate":
                        self.counters["duplicate_packets"] += 1
                        self._throttle.warning("dup", "%s: duplicate packet dropped", origin)
                        continue
                    if verdict == "reset":
                        self.counters["sequence_resets"] += 1
                        log.warning("%s: sequence number jumped (sender restarted?); counting afresh", origin)
                        yield from pcm.gap(max(1, round((time.monotonic() - last_time) * self.sample_rate)))
                    elif missing:
                        self.counters["lost_packets"] += missing
                        self._throttle.warning("lost", "%s: %d packet(s) lost", origin, missing)
                        yield from pcm.gap(missing * (last_frames or frames))
                if pcm.origin != origin:
                    yield from pcm.flush()
                    pcm.origin = origin
                last_frames, last_time = frames, time.monotonic()
                before = self.counters["nonfinite_samples"]
                x, _ = decode(memoryview(buf)[hdr:n], fmt=self.fmt, channels=self.channels, counters=self.counters)
                self._nonfinite(self.counters["nonfinite_samples"] - before, origin)
                yield from pcm.push(x)
            yield from pcm.flush()
        finally:
            self._running = False
            self._release()
