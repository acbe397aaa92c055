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

Layout: ``base.py`` (:class:`Source`, :class:`SourceError`, :data:`POLL_S`, the shared PCM block assembler),
``files.py`` (:class:`FileSource`, :class:`DirectorySource`, :func:`parse_start_utc`) and ``raw.py``
(:class:`StdinSource`, :class:`TcpSource`, :class:`UdpSource`, :class:`SequenceTracker`).
"""

from uwac.acoustics.stream.sources.base import POLL_S, Source, SourceError
from uwac.acoustics.stream.sources.files import DirectorySource, FileSource, parse_start_utc
from uwac.acoustics.stream.sources.raw import SequenceTracker, StdinSource, TcpSource, UdpSource

__all__ = [
    "POLL_S",
    "DirectorySource",
    "FileSource",
    "SequenceTracker",
    "Source",
    "SourceError",
    "StdinSource",
    "TcpSource",
    "UdpSource",
    "parse_start_utc",
]
