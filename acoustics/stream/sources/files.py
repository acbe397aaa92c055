"""Recorder files: one WAV/FLAC (:class:`FileSource`) or a folder of them read as one continuous stream
(:class:`DirectorySource`, with gaps from the file names' start times and a resume journal)."""

from __future__ import annotations

import fnmatch
import os
import re
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import soundfile as sf

from uwac.acoustics.stream.blocks import Block
from uwac.acoustics.stream.journal import Journal
from uwac.acoustics.stream.pcm import replace_nonfinite
from uwac.acoustics.stream.sources.base import Source, SourceError, log

_MAX_SEGMENTS = 10_000  # files remembered for commit(): a bound, should a consumer never commit

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


QUARANTINE = ".quarantine"  # sub-folder of the watched folder for files that cannot be read (dot: never listed)


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
    already read is counted (``files_out_of_order``), logged and not read. A file that cannot be opened once
    settled (corrupt, not audio: a stray ``zzz_notes.wav``) is quarantined: counted (``files_quarantined``),
    logged, moved to ``.quarantine/`` when the folder allows it, and never taken as the stream's place in name
    order, so later recordings are still read. A decoding error half way is counted (``files_failed``) and the
    rest of that file skipped. When the newest file grows after it was read (its writer paused longer than
    ``settle_s``), the new frames are read once it settles again (``files_grown``), so no audio a later read
    can still get is lost.
    """

    EXTRA = ("files_done", "files_failed", "files_quarantined", "files_grown", "format_changes", "gaps",
             "gap_samples", "overlaps", "polls", "listing_errors", "files_out_of_order", "journal_writes",
             "journal_errors")

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
        self._quarantined: set[str] = set()  # names that could not be opened: never read, never our place
        self._last_read: tuple[str, int, tuple[int, int]] | None = None  # (name, frames read, (size, mtime))
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
        todo = sorted(n for n in names if (lo is None or n > lo) and (resume is None or n >= resume)
                      and n not in self._quarantined)
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

    def _grown(self) -> str | None:
        """The last file read, when it has grown since and settled again (its writer paused past settle_s):
        set up to read its new frames and return its name; else None."""
        if self._last_read is None or not self.follow:
            return None
        name, frames, key = self._last_read
        try:
            st = (self.directory / name).stat()
        except OSError:
            self._last_read = None
            return None
        if (st.st_size, st.st_mtime_ns) == key or not self._settled(name):
            return None
        self._last_read = None
        self.counters["files_grown"] += 1
        log.warning("%s grew after it was read (its writer paused longer than the %.1f s settle time): reading "
                    "its new frames; raise --settle if the recorder pauses that long", self.directory / name,
                    self.settle_s)
        self._resume = (name, frames)
        return name

    def _next_file(self) -> str | None:
        """The next closed file to read, waiting for one when following; None when stopped or done."""
        while not self._stop.is_set():
            if len(self._todo) > 1 or (self._todo and not self.follow):  # the backlog: no re-listing per file
                return self._todo.popleft()
            grown = self._grown()
            if grown is not None:
                return grown
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

    def _quarantine(self, name: str, why: Exception) -> None:
        """Set an unreadable file aside: never read again, never the stream's place in name order."""
        self._quarantined.add(name)
        self.counters["files_quarantined"] += 1
        where = "left in place"
        try:
            q = self.directory / QUARANTINE
            q.mkdir(exist_ok=True)
            os.replace(self.directory / name, q / name)
            where = f"moved to {q}"
        except OSError:
            pass
        log.error("%s; quarantined (%s), the stream goes on with the next recording", why, where)

    def _play(self, name: str) -> Iterator[Block]:
        path = self.directory / name
        start_frame = self._resume[1] if self._resume and self._resume[0] == name else 0
        self._resume = None
        try:
            f = _open_audio(path)
        except SourceError as exc:
            if path.exists():
                self._quarantine(name, exc)
            else:  # vanished between listing and opening
                self.counters["files_failed"] += 1
                log.error("%s; skipped, the stream goes on with the next file", exc)
            return
        self._after = name
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
                        st = path.stat()
                        self.counters["bytes"] += st.st_size
                        self._last_read = (name, start_frame + seg.frames, (st.st_size, st.st_mtime_ns))
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
