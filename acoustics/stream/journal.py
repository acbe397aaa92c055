"""Where a directory source stopped, so a restarted daemon neither re-reads nor skips recorder audio.

One small JSON record, rewritten atomically (temporary file, fsync, ``os.replace``, fsync of the folder): a
power cut leaves either the old record or the new one, never half of each. The record says which file, how
many frames of it are done, the stream position after them and the UTC time of that point when the file
name gave one (so a gap to the next file is still measured after a restart). The source writes it only when
its consumer commits a position (``DirectorySource.commit``), i.e. once the audio before that position has
been scored and its events fsync'd.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from uwac.acoustics.stream.durable import fsync_dir

VERSION = 1


class JournalError(ValueError):
    """A journal that cannot be read; the message names the file and what to do."""


class Journal:
    """The resume record of one directory source, at ``path`` (JSON).

    Fields: ``file`` (name inside the watched folder), ``frame`` (frames of it consumed), ``position`` (stream
    position in samples right after them), ``sample_rate`` (Hz of that file), ``utc`` (seconds since the
    epoch at that point, or None), ``directory``, ``written_at`` (wall clock, s).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)  # here, not in save(): a vanished folder stays gone

    def load(self) -> dict | None:
        """The last record, or None when there is none yet. Raises :class:`JournalError` when it is unreadable:
        guessing would re-score (duplicate events) or skip audio, so the operator decides."""
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise JournalError(f"{self.path}: cannot read the stream journal ({exc}); fix its permissions") from exc
        try:
            rec = json.loads(text)
            ok = (isinstance(rec, dict) and isinstance(rec.get("file"), str)
                  and all(isinstance(rec.get(k), int) and rec[k] >= 0 for k in ("frame", "position")))
        except ValueError:
            ok = False
        if not ok:
            raise JournalError(f"{self.path}: not a uwac stream journal (expected JSON with file, frame, position); "
                               "delete it to start from the first file, or restore it from a backup")
        return rec

    def save(self, *, file: str, frame: int, position: int, sample_rate: int, utc: float | None,
             directory: str = "") -> dict:
        """Atomically replace the record; returns what was written. The folder is not recreated here: a journal
        is never written into a folder that vanished behind the daemon's back (its events went with it)."""
        rec = {"version": VERSION, "file": file, "frame": int(frame), "position": int(position),
               "sample_rate": int(sample_rate), "utc": utc, "directory": directory, "written_at": time.time()}
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w") as fh:
            json.dump(rec, fh)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        fsync_dir(self.path.parent)
        return rec
