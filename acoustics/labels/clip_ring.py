"""The recent audio of every channel in a bounded ring on disk, so a contact can be played and kept as a clip.

Per channel, float32 samples at the model rate in segment files ``ch<NN>/<position>.f32`` of ``segment_s``
seconds, named by the stream position (model-rate samples since the stream started) of their first sample; a
gap in the stream starts a new segment. Segments beyond ``keep_s`` seconds per channel are deleted oldest
first, so the ring's size is bounded (``keep_s × rate × 4`` bytes per channel plus one segment). The ring is a
cache of the live stream: it is emptied when the daemon starts. Writing is an append to an open file (the page
cache absorbs it); nothing here is fsync'd, a clip that must last is copied out with :meth:`ClipRing.save`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import soundfile as sf

from uwac.acoustics.stream.durable import fsync_dir

DEFAULT_KEEP_S = 600.0
DEFAULT_SEGMENT_S = 10.0


class ClipRing:
    """Recent audio of ``channels`` channels at ``sample_rate`` Hz under ``folder`` (emptied on creation)."""

    def __init__(self, folder: str | Path, *, channels: int, sample_rate: int, keep_s: float = DEFAULT_KEEP_S,
                 segment_s: float = DEFAULT_SEGMENT_S):
        if channels < 1 or sample_rate < 1 or not keep_s >= segment_s > 0:
            raise ValueError(f"clip ring: need channels ≥ 1, a positive rate and keep_s ≥ segment_s > 0, got "
                             f"{channels}, {sample_rate}, {keep_s}, {segment_s}")
        self.folder, self.rate, self.channels = Path(folder), int(sample_rate), int(channels)
        self.keep = int(keep_s * sample_rate)
        self.segment = int(segment_s * sample_rate)
        shutil.rmtree(self.folder, ignore_errors=True)
        for c in range(self.channels):
            (self.folder / f"ch{c:02d}").mkdir(parents=True, exist_ok=True)
        self._segments: list[tuple[int, int]] = []  # (first position, samples) of each segment, oldest first
        self._files: list = []
        self._end: int | None = None  # position after the last sample written

    def write(self, position: int, block: np.ndarray) -> None:
        """Append ``block`` ``[samples, channels]`` (float32, model rate) whose first sample is at ``position``."""
        block = np.asarray(block, dtype=np.float32)
        if block.ndim != 2 or block.shape[1] != self.channels:
            raise ValueError(f"clip ring: block of shape {block.shape}, expected [samples, {self.channels}]")
        done = 0
        while done < len(block):
            if self._end != position + done or self._segments[-1][1] >= self.segment:
                self._open(position + done)
            first, n = self._segments[-1]
            take = min(len(block) - done, self.segment - n)
            for c, fh in enumerate(self._files):
                fh.write(np.ascontiguousarray(block[done:done + take, c]).tobytes())
            self._segments[-1] = (first, n + take)
            done += take
            self._end = position + done
        self._prune()

    def _open(self, position: int) -> None:
        for fh in self._files:
            fh.close()
        self._files = [open(self._path(c, position), "ab") for c in range(self.channels)]
        self._segments.append((position, 0))

    def _path(self, channel: int, position: int) -> Path:
        return self.folder / f"ch{channel:02d}" / f"{position:015d}.f32"

    def _prune(self) -> None:
        while sum(n for _, n in self._segments[1:]) >= self.keep:
            first, _ = self._segments.pop(0)
            for c in range(self.channels):
                self._path(c, first).unlink(missing_ok=True)

    def span(self) -> tuple[float, float] | None:
        """(oldest, newest) stream second the ring holds, or None when empty."""
        if not self._segments or self._end is None:
            return None
        return self._segments[0][0] / self.rate, self._end / self.rate

    def read(self, channel: int, start_s: float, end_s: float) -> tuple[np.ndarray, float]:
        """Samples of ``channel`` over ``[start_s, end_s)`` that the ring still holds, and the stream second of the
        first; stretches the stream lacked (gaps) are zeros. ``ValueError`` when none of it is held any more."""
        if not 0 <= channel < self.channels:
            raise ValueError(f"channel {channel}: the ring holds channels 0..{self.channels - 1}")
        held = self.span()
        lo, hi = int(round(start_s * self.rate)), int(round(end_s * self.rate))
        if held is None or hi <= int(held[0] * self.rate) or lo >= self._end:
            raise ValueError(f"{start_s:.1f}-{end_s:.1f} s is no longer in the ring (it keeps the last "
                             f"{self.keep / self.rate:.0f} s per channel)")
        lo, hi = max(lo, self._segments[0][0]), min(hi, self._end)
        out = np.zeros(hi - lo, dtype=np.float32)
        for c_file in self._files:
            c_file.flush()
        for first, n in self._segments:
            a, b = max(lo, first), min(hi, first + n)
            if a < b:
                data = np.fromfile(self._path(channel, first), dtype=np.float32, count=b - first)
                out[a - lo: b - lo] = data[a - first: b - first]
        return out, lo / self.rate

    def save(self, path: str | Path, channel: int, start_s: float, end_s: float) -> tuple[Path, float, float]:
        """Write ``[start_s, end_s)`` of ``channel`` (what the ring holds of it) as a float WAV at the model rate,
        fsync'd; returns the path and the stream seconds it covers."""
        audio, first = self.read(channel, start_s, end_s)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:  # on disk before the verdict naming it is committed
            sf.write(fh, audio, self.rate, subtype="FLOAT", format="WAV")
            fh.flush()
            os.fsync(fh.fileno())
        fsync_dir(path.parent)
        return path, first, first + len(audio) / self.rate

    def close(self) -> None:
        """Close the open segment files (the ring's files stay until the next start)."""
        for fh in self._files:
            fh.close()
        self._files = []
