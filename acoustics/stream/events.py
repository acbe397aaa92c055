"""Durable event log: one JSON line per event, flushed and fsync'd before ``write`` returns, rotated by size.

Files are segments named by the sequence number of their first event, ``{prefix}-{seq:012d}.jsonl``
(``events-000000000001.jsonl``, ``events-000000004711.jsonl``, ...): they sort by name in event order, a
segment is never renamed (a reader or ``tail -f`` holding one is never surprised, and a crash cannot leave a
half-shifted ``.1 .2 .3`` chain), and the newest one is the only one written. A segment that would pass
``max_bytes`` with the next line is closed and the next event opens a new one; the oldest segments beyond
``keep`` are deleted.

Every event gets ``seq`` (1, 2, 3, ...), monotonically increasing across rotations and restarts. On start the
writer reads the newest segment backwards for its last complete, valid line: a torn tail (SIGKILL or power
loss mid-write, NUL blocks after a crash) is truncated away with a warning, never repeated or renumbered, so
the next event continues after the last one that reached the disk.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

from uwac.acoustics.stream.durable import fsync_dir

log = logging.getLogger(__name__)

SUFFIX = ".jsonl"
DEFAULT_MAX_BYTES = 16 * 2**20
DEFAULT_KEEP = 16
_BLOCK = 65536


def _segment_re(prefix: str) -> re.Pattern:
    return re.compile(rf"^{re.escape(prefix)}-(\d{{12,}}){re.escape(SUFFIX)}$")


def segments(directory: str | Path, prefix: str = "events") -> list[tuple[int, Path]]:
    """``(first seq, path)`` of every segment in ``directory``, oldest first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    pattern = _segment_re(prefix)
    found = [(int(m.group(1)), directory / name) for name in os.listdir(directory) if (m := pattern.match(name))]
    return sorted(found)


def read_events(directory: str | Path, prefix: str = "events") -> Iterator[dict]:
    """Every event in ``directory``, oldest first; a torn or invalid line is skipped with a warning."""
    for _, path in segments(directory, prefix):
        with open(path, "rb") as f:
            for lineno, raw in enumerate(f, 1):
                event = _parse(raw[:-1]) if raw.endswith(b"\n") else None
                if event is None:
                    log.warning("%s:%d: torn or invalid event line skipped (%d bytes)", path, lineno, len(raw))
                    continue
                yield event


class OutFolderError(OSError):
    """The events folder vanished or was replaced under a running writer: events written now would be lost."""


def _identity(directory: Path) -> tuple[int, int]:
    st = os.stat(directory)
    return st.st_dev, st.st_ino


class EventWriter:
    """Appends events as fsync'd JSON lines to ``directory`` with size-based rotation; see the module docstring.

    max_bytes: segment size (bytes) that triggers rotation. keep: segments kept (the oldest are deleted).
    ``last_seq`` / ``last_event``: the last event on disk (recovered on start; None before the first).
    Thread-safe (one lock around every write).
    """

    def __init__(self, directory: str | Path, *, prefix: str = "events", max_bytes: int = DEFAULT_MAX_BYTES,
                 keep: int = DEFAULT_KEEP):
        if max_bytes < 1 or keep < 1:
            raise ValueError(f"max_bytes and keep must be at least 1, got {max_bytes} and {keep}")
        if not re.fullmatch(r"[A-Za-z0-9_.]+", prefix):
            raise ValueError(f"prefix {prefix!r} must be letters, digits, '_' or '.'")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.prefix, self.max_bytes, self.keep = prefix, int(max_bytes), int(keep)
        self._identity = _identity(self.directory)
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._size = 0
        self.path: Path | None = None
        self.last_seq, self.last_event = self._recover()

    # -- recovery ---------------------------------------------------------------------------------------------

    def _recover(self) -> tuple[int, dict | None]:
        """Last seq and event on disk, truncating a torn tail of the newest segment."""
        segs = segments(self.directory, self.prefix)
        if not segs:
            return 0, None
        floor = segs[-1][0] - 1  # the newest segment's name says what came before it
        for i in range(len(segs) - 1, -1, -1):
            event = _last_valid(segs[i][1], truncate=(i == len(segs) - 1))
            if event is not None:
                seq = int(event["seq"])
                if seq < floor:
                    log.warning("%s: last event seq %d is below the newest segment's start %d; continuing from %d",
                                segs[i][1], seq, floor + 1, floor + 1)
                    return floor, event
                return seq, event
        return floor, None

    # -- writing ----------------------------------------------------------------------------------------------

    def check_directory(self) -> None:
        """Raise :class:`OutFolderError` when the folder is gone or another folder now has its name (removed,
        or moved away and recreated): an open segment would keep taking events into a deleted file."""
        try:
            same = _identity(self.directory) == self._identity
        except OSError as exc:
            raise OutFolderError(f"events folder {self.directory} is gone ({exc.strerror or exc}); events from now "
                                 "on would be lost: restore the folder (or its mount) and restart") from exc
        if not same:
            raise OutFolderError(f"events folder {self.directory} was replaced by another folder while running; "
                                 "events from now on would go astray: check who moved it and restart")

    def write(self, event: dict) -> int:
        """Append ``event`` (a JSON-able dict) with the next ``seq``; returns that seq once it is fsync'd.

        Non-finite floats become null (with a warning). Raises OSError when the disk refuses the line, after
        cutting back any partial write, so the log never holds a torn line in the middle, and
        :class:`OutFolderError` when the folder vanished or was replaced.
        """
        with self._lock:
            self.check_directory()
            seq = self.last_seq + 1
            record = {"seq": seq, **{k: v for k, v in event.items() if k != "seq"}}
            try:
                line = json.dumps(record, separators=(",", ":"), allow_nan=False, default=_plain)
            except ValueError:
                log.warning("event seq %d had non-finite numbers; written as null", seq)
                record = _finite(json.loads(json.dumps(record, default=_plain)))
                line = json.dumps(record, separators=(",", ":"), allow_nan=False)
            data = (line + "\n").encode()
            self._ensure_segment(len(data), seq)
            assert self._fd is not None
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(self._fd, view):]
                os.fsync(self._fd)
            except OSError:
                try:
                    os.ftruncate(self._fd, self._size)
                except OSError:
                    log.exception("could not cut back a partial event line in %s", self.path)
                raise
            self._size += len(data)
            self.last_seq, self.last_event = seq, record
            return seq

    def _ensure_segment(self, nbytes: int, seq: int) -> None:
        """Open the newest segment for append, or a new one when the line would pass ``max_bytes``."""
        if self._fd is None:
            segs = segments(self.directory, self.prefix)
            if segs:
                path = segs[-1][1]
                size = path.stat().st_size
                if size == 0 or size + nbytes <= self.max_bytes:
                    self._open(path)
                    return
            self._open(self.directory / f"{self.prefix}-{seq:012d}{SUFFIX}")
            self._prune()
            return
        if self._size and self._size + nbytes > self.max_bytes:
            os.close(self._fd)
            self._fd = None
            self._open(self.directory / f"{self.prefix}-{seq:012d}{SUFFIX}")
            self._prune()

    def _open(self, path: Path) -> None:
        created = not path.exists()
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._size = os.fstat(self._fd).st_size
        self.path = path
        if created:
            fsync_dir(self.directory)
            log.info("event log segment %s opened", path)

    def _prune(self) -> None:
        segs = segments(self.directory, self.prefix)
        for _, path in segs[: max(0, len(segs) - self.keep)]:
            try:
                path.unlink()
                log.info("event log segment %s deleted (keep=%d)", path, self.keep)
            except OSError as exc:
                log.warning("could not delete old event segment %s: %s", path, exc)
        fsync_dir(self.directory)

    def close(self) -> None:
        """Close the current segment (every written event is already on disk)."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> EventWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _parse(raw: bytes) -> dict | None:
    """A written event from one line's bytes (no newline), or None when torn or invalid."""
    try:
        event = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(event, dict) or not isinstance(event.get("seq"), int) or isinstance(event["seq"], bool):
        return None
    return event


def _rfind_newline(f, before: int) -> int:
    """Offset of the last ``\\n`` in ``f`` before byte ``before``, or -1."""
    pos = before
    while pos > 0:
        start = max(0, pos - _BLOCK)
        f.seek(start)
        i = f.read(pos - start).rfind(b"\n")
        if i >= 0:
            return start + i
        pos = start
    return -1


def _last_valid(path: Path, *, truncate: bool) -> dict | None:
    """The last complete valid event line of ``path``; with ``truncate`` cut everything after it off the file."""
    size = path.stat().st_size
    with open(path, "r+b" if truncate else "rb") as f:
        nl = _rfind_newline(f, size)
        cut, event = nl + 1, None
        while nl >= 0:
            prev = _rfind_newline(f, nl)
            f.seek(prev + 1)
            event = _parse(f.read(nl - prev - 1))
            if event is not None:
                break
            cut, nl = prev + 1, prev
        if cut < size:
            if truncate:
                log.warning("%s: dropped a torn or invalid tail of %d bytes after the last complete event "
                            "(a crash mid-write); it is not rewritten", path, size - cut)
                f.truncate(cut)
                f.flush()
                os.fsync(f.fileno())
            else:
                log.warning("%s: ignoring a torn or invalid tail of %d bytes", path, size - cut)
        return event


def _plain(obj):
    """JSON fallback for numpy scalars and arrays (``.item()`` / ``.tolist()``)."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"event field of type {type(obj).__name__} is not JSON serialisable")


def _finite(obj):
    """``obj`` with non-finite floats replaced by None (JSON has no NaN)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj
