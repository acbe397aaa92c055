"""Analysts' verdicts on contacts, durable in SQLite (``labels.sqlite`` in the daemon's ``--out``).

One row per verdict, never updated in place: an analyst who changes their mind adds a row, and the latest row of
a contact is its verdict (the history stays for review). Verdicts:

- ``confirmed``: the model's class is right (``label`` = the model's class unless the analyst gives a fine type);
- ``relabelled``: a vessel, but another class or fine type (``label`` required);
- ``rejected``: a false alarm: no vessel in it (it trains as ``ambient``, the sea alone).

Writes commit with ``synchronous=FULL`` in WAL mode: the commit is fsync'd before :meth:`VerdictStore.record`
returns, so a verdict survives SIGKILL or power loss once the call returns. Times are stream seconds (as the
event log's) with their UTC stamps when the source had a clock.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path

from uwac.acoustics.taxonomy import CLASSES

FILENAME = "labels.sqlite"
VERDICTS = ("confirmed", "relabelled", "rejected")
AMBIENT = "ambient"
NOTE_LIMIT = 2000  # characters of free note kept
_SCHEMA = """
CREATE TABLE IF NOT EXISTS verdicts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    contact TEXT NOT NULL,
    channel INTEGER NOT NULL,
    start_s REAL NOT NULL,
    end_s REAL NOT NULL,
    start_utc TEXT,
    end_utc TEXT,
    model_class TEXT,
    model_confidence REAL,
    verdict TEXT NOT NULL CHECK (verdict IN ('confirmed', 'relabelled', 'rejected')),
    label TEXT NOT NULL,
    fine_label TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    analyst TEXT NOT NULL DEFAULT '',
    clip TEXT NOT NULL DEFAULT '',
    clip_start_s REAL,
    recording_id TEXT NOT NULL,
    created_utc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS verdicts_contact ON verdicts (contact, id);
"""


@dataclass(frozen=True)
class Verdict:
    """One analyst's answer on one contact. ``clip``: the audio file it was judged on, relative to the store's
    folder, whose first sample is at stream second ``clip_start_s``; ``recording_id``: the recording the contact
    belongs to (one contact never straddles two splits)."""

    contact: str
    channel: int
    start_s: float
    end_s: float
    verdict: str
    label: str
    fine_label: str = ""
    note: str = ""
    analyst: str = ""
    model_class: str | None = None
    model_confidence: float | None = None
    start_utc: str | None = None
    end_utc: str | None = None
    clip: str = ""
    clip_start_s: float | None = None
    recording_id: str = ""
    created_utc: str = ""
    id: int | None = None


def checked(v: Verdict) -> Verdict:
    """``v`` with its label settled by the verdict (rejected → ambient, confirmed → the model's class unless given),
    or ``ValueError`` saying what is wrong."""
    if v.verdict not in VERDICTS:
        raise ValueError(f"verdict {v.verdict!r}: choose one of {', '.join(VERDICTS)}")
    label = {"rejected": AMBIENT, "confirmed": v.label or v.model_class or ""}.get(v.verdict, v.label)
    if v.verdict == "confirmed" and label not in CLASSES:
        raise ValueError(f"the model called contact {v.contact!r} {label or 'nothing'}: there is no class to confirm; "
                         "relabel it with the class you hear")
    if label not in CLASSES:
        raise ValueError(f"label {label!r} for a {v.verdict} contact: choose one of {', '.join(CLASSES)}")
    if v.verdict == "relabelled" and label == v.model_class and not v.fine_label:
        raise ValueError("a relabelled contact needs another class or a fine type than the model's")
    if not v.contact or not v.end_s > v.start_s >= 0:
        raise ValueError(f"contact {v.contact!r}: needs an id and 0 <= start_s < end_s, got {v.start_s}..{v.end_s}")
    return Verdict(**{**asdict(v), "label": label, "note": (v.note or "")[:NOTE_LIMIT],
                      "recording_id": v.recording_id or v.contact,
                      "created_utc": v.created_utc or datetime.now(timezone.utc).isoformat(timespec="milliseconds")})


class VerdictStore:
    """The verdict table in ``folder/labels.sqlite``; safe to share between the daemon's threads."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / FILENAME
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise ValueError(f"{self.path}: not a usable label store ({exc}); move it aside and restart") from exc

    def record(self, verdict: Verdict) -> Verdict:
        """Check and store one verdict; returns it as stored (with its id). Durable once it returns."""
        v = checked(verdict)
        row = {f.name: getattr(v, f.name) for f in fields(Verdict) if f.name != "id"}
        cols = ", ".join(row)
        with self._lock:
            cur = self._db.execute(f"INSERT INTO verdicts ({cols}) VALUES ({', '.join('?' * len(row))})",
                                   tuple(row.values()))
        return Verdict(**{**row, "id": cur.lastrowid})

    def history(self) -> list[Verdict]:
        """Every verdict in the order given."""
        with self._lock:
            cur = self._db.execute("SELECT * FROM verdicts ORDER BY id")
            names = [d[0] for d in cur.description]
            return [Verdict(**dict(zip(names, r, strict=True))) for r in cur.fetchall()]

    def latest(self) -> list[Verdict]:
        """Each contact's current verdict (its latest row), in the order the contacts were first judged."""
        current: dict[str, Verdict] = {}
        for v in self.history():
            current[v.contact] = v  # a dict keeps each contact where it first came
        return list(current.values())

    def close(self) -> None:
        """Close the database (later calls fail)."""
        with self._lock:
            self._db.close()
