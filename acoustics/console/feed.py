"""What the operator console shows, gathered on the scoring thread and pushed to every open page.

Per hop and channel: the class probabilities, the model's physics estimates (shafts, blades, shaft rate, ...),
the newest LOFAR frame and the window's DEMON spectrum as the model itself heard them (the streaming pair's
frames, dB over background; none when the daemon scores whole windows), max-pooled to at most ``columns`` bins
so a line stays visible. Per event: contacts opening, updating and ending (with the physics averaged over the
contact's hops), gaps, source health and analysts' verdicts.

The scoring thread only copies a few hundred numbers per hop and hands one message to the HTTP server's event
loop (``call_soon_threadsafe``); encoding and fan-out run there. Every page has its own bounded queue: a page
that does not keep up loses its oldest messages (counted in ``dropped``), never the daemon's time, and the
recent history is replayed to a page that connects (:meth:`ConsoleFeed.snapshot`).
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
from collections import deque

import numpy as np

QUEUE_MESSAGES = 512  # messages a page may fall behind before its oldest are dropped
HISTORY_S = 300.0  # stream seconds of hops replayed to a page that connects


def pool_columns(row: np.ndarray, columns: int) -> np.ndarray:
    """Max over consecutive groups of bins so that ``row [bins]`` has at most ``columns`` values (a one-bin
    line keeps its height)."""
    row = np.asarray(row, dtype=np.float32)
    group = max(1, math.ceil(len(row) / columns))
    pad = (-len(row)) % group
    if pad:
        row = np.concatenate([row, np.full(pad, row.min(), np.float32)])
    return row.reshape(-1, group).max(axis=1)


def _num(value, digits: int) -> float | None:
    """A finite number rounded for JSON, None for NaN or infinity (JSON has neither)."""
    value = float(value)
    return round(value, digits) if math.isfinite(value) else None


def _db(row: np.ndarray) -> list[float | None]:
    """Frame values (dB over background / 10) as dB with 0.1-dB resolution, for JSON (vectorised: this runs on
    the scoring thread every hop)."""
    db = np.round(np.asarray(row, dtype=np.float64) * 10.0, 1)
    values = db.tolist()
    if not np.isfinite(db).all():
        values = [v if np.isfinite(v) else None for v in values]
    return values


class ConsoleFeed:
    """The console's state and its subscribers. ``classes``: the model's classes; ``hop_s``: seconds per hop;
    ``lofar_hz`` / ``demon_hz``: frequency [Hz] of each LOFAR / DEMON bin of the pair's frames (None: none)."""

    def __init__(self, *, classes: tuple[str, ...], hop_s: float, lofar_hz: np.ndarray | None = None,
                 demon_hz: np.ndarray | None = None, columns: int = 512, history_s: float = HISTORY_S):
        self.classes, self.columns = tuple(classes), int(columns)
        self.axes = {name: None if hz is None else [round(float(f), 3) for f in pool_columns(hz, columns)]
                     for name, hz in (("lofar_hz", lofar_hz), ("demon_hz", demon_hz))}
        self._history: deque[dict] = deque(maxlen=max(1, int(history_s / max(hop_s, 1e-3))))
        self._events: deque[dict] = deque(maxlen=500)
        self._physics: dict[int, tuple[int, np.ndarray]] = {}  # channel -> (hops, summed physics) of its contact
        self._health: dict = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queues: set[asyncio.Queue] = set()
        self.dropped = 0

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Publish through ``loop`` (the HTTP server's event loop, where the pages' queues live)."""
        self._loop = loop

    # -- the daemon's side (scoring thread) ----------------------------------------------------------------

    def hop(self, hop, *, physics_fields: list[str] | None = None, frames: dict | None = None) -> None:
        """One scored hop (:class:`acoustics.stream.scorer.Hop`); ``frames``: the pair's cached frames
        (``lofar_frames [channels, frames, bins]``, ``demon_frames [channels, bands, frames, bins]``) or None."""
        rows = []
        for i, ch in enumerate(hop.channels):
            row = {"channel": int(ch), "p": [_num(p, 4) for p in hop.probabilities[i]]}
            if hop.physics is not None and physics_fields:
                est = np.asarray(hop.physics[i], dtype=np.float64)
                row["physics"] = {f: _num(v, 3) for f, v in zip(physics_fields, est, strict=True)}
                with self._lock:
                    if int(ch) in self._physics:
                        n, total = self._physics[int(ch)]
                        self._physics[int(ch)] = (n + 1, total + est)
            if frames is not None and "lofar_frames" in frames:
                row["lofar"] = _db(pool_columns(frames["lofar_frames"][i, -1], self.columns))
            if frames is not None and "demon_frames" in frames:
                row["demon"] = [_db(pool_columns(band.mean(axis=0), self.columns)) for band in frames["demon_frames"][i]]
            rows.append(row)
        self._publish({"type": "hop", "start_s": round(hop.start_s, 3), "end_s": round(hop.end_s, 3),
                       "channels": rows}, history=True)

    def event(self, event: dict, *, physics_fields: list[str] | None = None) -> None:
        """A tracker or daemon event (contact_start/update/end, gap, ...); contacts carry their mean physics."""
        ev = dict(event)
        ch = ev.get("channel")
        kind = ev.get("type", "")
        if kind.startswith("contact_") and ch is not None and physics_fields:
            with self._lock:
                if kind == "contact_start":
                    self._physics[int(ch)] = (0, np.zeros(len(physics_fields)))
                n, total = self._physics.get(int(ch), (0, None))
                if kind == "contact_end":
                    self._physics.pop(int(ch), None)
            if n:
                ev["physics"] = {f: _num(v / n, 3) for f, v in zip(physics_fields, total, strict=True)}
        self._publish({"type": "event", "event": ev}, events=True)

    def health(self, detail: dict) -> None:
        """Source and daemon health (connected, gaps, real-time margin, alarm text) as it changes."""
        with self._lock:
            changed = detail != self._health
            self._health = dict(detail)
        if changed:
            self._publish({"type": "health", "health": dict(detail)})

    def verdict(self, record: dict) -> None:
        """An analyst's verdict as stored, for every open page."""
        self._publish({"type": "verdict", "verdict": record}, events=True)

    # -- the pages' side (event loop) ------------------------------------------------------------------------

    def snapshot(self) -> dict:
        """What a page that connects now needs: classes, axes, recent hops and events, health."""
        with self._lock:
            return {"classes": list(self.classes), **self.axes, "hops": list(self._history),
                    "events": list(self._events), "health": dict(self._health)}

    def subscribe(self) -> asyncio.Queue:
        """A new page's queue of encoded messages (call on the event loop)."""
        q: asyncio.Queue = asyncio.Queue(maxsize=QUEUE_MESSAGES)
        self._queues.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue) -> None:
        """Forget a page that went away."""
        self._queues.discard(q)

    @property
    def pages(self) -> int:
        """Pages connected now."""
        return len(self._queues)

    def _publish(self, message: dict, *, history: bool = False, events: bool = False) -> None:
        with self._lock:
            if history:
                self._history.append(message)
            if events:
                self._events.append(message)
        if self._loop is not None and self._queues:
            try:
                self._loop.call_soon_threadsafe(self._fanout, message)
            except RuntimeError:  # the loop closed at shutdown
                pass

    def _fanout(self, message: dict) -> None:
        data = json.dumps(message, separators=(",", ":"), allow_nan=False).encode()
        for q in list(self._queues):
            if q.full():
                q.get_nowait()
                self.dropped += 1
            q.put_nowait(data)
