"""Raven Pro selection tables of ended contacts (tab-separated text, one row per contact).

Columns: the standard ``Selection``, ``View``, ``Channel``, ``Begin Time (s)``, ``End Time (s)``,
``Low Freq (Hz)``, ``High Freq (Hz)``, then uwac's annotation columns ``Class``, ``Fine Class``,
``Confidence``, ``Contact``, ``Begin UTC``, ``End UTC`` (ISO 8601; annotation columns rather than Raven's own
``Begin Date Time``, whose format Raven derives from the sound file).

``Begin Time (s)`` and ``End Time (s)`` are stream seconds from the start of the stream, cumulative over
every file and gap, never restarting per recorder file (the BirdNET-Analyzer #384/#535 bug), so the table
lines up when the day's files are opened in Raven as one file sequence. ``Channel`` is 1-based (Raven's
convention; events carry 0-based channels). ``Selection`` numbers continue across restarts.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

COLUMNS = ("Selection", "View", "Channel", "Begin Time (s)", "End Time (s)", "Low Freq (Hz)", "High Freq (Hz)",
           "Class", "Fine Class", "Confidence", "Contact", "Begin UTC", "End UTC")
HEADER = "\t".join(COLUMNS) + "\n"
VIEW = "Spectrogram 1"


def cell_text(value) -> str:
    """A value as table text: no tabs or newlines, None as empty."""
    if value is None:
        return ""
    return str(value).replace("\t", " ").replace("\r", " ").replace("\n", " ")


def format_row(selection: int, event: dict, *, low_freq_hz: float, high_freq_hz: float) -> str:
    """One table line (with its newline) for a ``contact_end`` event (stream seconds → Begin/End Time (s))."""
    if event.get("end_s") is None:
        raise ValueError(f"contact {event.get('contact')!r} has no end time; only ended contacts go in the table")
    cells = (selection, VIEW, int(event["channel"]) + 1, f"{float(event['start_s']):.3f}",
             f"{float(event['end_s']):.3f}", f"{float(low_freq_hz):.1f}", f"{float(high_freq_hz):.1f}",
             event.get("class"), event.get("fine_class"), f"{float(event.get('confidence') or 0.0):.4f}",
             event.get("contact"), event.get("start_utc"), event.get("end_utc"))
    return "\t".join(cell_text(c) for c in cells) + "\n"


def format_table(events: Iterable[dict], *, low_freq_hz: float = 0.0, high_freq_hz: float) -> str:
    """A whole selection table (header and one row per ended contact, numbered from 1) as text."""
    rows = [format_row(i, ev, low_freq_hz=low_freq_hz, high_freq_hz=high_freq_hz)
            for i, ev in enumerate(events, 1)]
    return HEADER + "".join(rows)


class RavenTable:
    """Appends one row per ended contact to a selection table at ``path``, fsync'd per row.

    low_freq_hz / high_freq_hz: the band drawn for each selection (Hz; usually 0 and the model's Nyquist).
    An existing table is continued (its selection numbers and all); a torn last row is cut off with a warning;
    a file with another header is refused (ValueError) rather than mixed.
    """

    def __init__(self, path: str | Path, *, low_freq_hz: float = 0.0, high_freq_hz: float):
        self.path = Path(path)
        self.low_freq_hz, self.high_freq_hz = float(low_freq_hz), float(high_freq_hz)
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.last_selection = self._recover()
        self._f = open(self.path, "a", encoding="utf-8", newline="")
        if self._f.tell() == 0:
            self._f.write(HEADER)
            self._sync()

    def _recover(self) -> int:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return 0
        data = self.path.read_bytes()
        if not data.startswith(HEADER.encode()):
            raise ValueError(f"{self.path} is not a uwac Raven table (its header differs); "
                             "pass another --raven path or move the old file away")
        cut = data.rfind(b"\n") + 1
        if cut < len(data):
            log.warning("%s: dropped a torn last row of %d bytes (a crash mid-write)", self.path, len(data) - cut)
            with open(self.path, "r+b") as f:
                f.truncate(cut)
                os.fsync(f.fileno())
        last = data[:cut].rstrip(b"\n").rsplit(b"\n", 1)[-1]
        first = last.split(b"\t", 1)[0]
        return int(first) if first.isdigit() else 0

    def contacts(self) -> set[str]:
        """Contact ids that already have a row (column ``Contact``)."""
        col = COLUMNS.index("Contact")
        with self._lock:
            self._f.flush()
            lines = self.path.read_text(encoding="utf-8").splitlines()[1:]
        return {cells[col] for cells in (line.split("\t") for line in lines) if len(cells) > col}

    def add(self, event: dict) -> int:
        """Append a row for a ``contact_end`` event; returns its selection number."""
        with self._lock:
            selection = self.last_selection + 1
            self._f.write(format_row(selection, event, low_freq_hz=self.low_freq_hz, high_freq_hz=self.high_freq_hz))
            self._sync()
            self.last_selection = selection
            return selection

    def _sync(self) -> None:
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        """Close the file (every row is already on disk)."""
        with self._lock:
            self._f.close()
