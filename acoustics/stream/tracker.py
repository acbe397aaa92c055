"""Per-channel contact tracking: smoothed class scores with hysteresis into contact start/update/end events.

One :class:`Tracker` serves every channel of a stream; the scorer feeds it one probability vector per hop and
channel (``update``), the daemon feeds it gaps (``gap``) and shutdown (``close_all``). It returns events as
plain dicts (JSON-ready; :mod:`acoustics.stream.events` adds ``seq`` when it writes them).

Rules (all times are stream seconds, never the wall clock):

- Smoothing: an exponential moving average with time constant ``smoothing_s`` over hops,
  ``s ← α·p + (1−α)·s`` with ``α = 1 − exp(−hop_s / smoothing_s)``; it restarts from the first hop after a
  gap or a reset. It runs in place in preallocated arrays: a hop that emits no event allocates no array.
- Evidence per hop, from the smoothed vector: ``top`` = the highest vessel-class probability, ``mass`` = the
  summed probability of every vessel class (``1 − ambient``). A hop is *on* when ``top ≥ on`` or
  ``mass ≥ mass_on``, and *held* when ``top ≥ off`` or ``mass ≥ mass_off`` (``off < on``, ``mass_off <
  mass_on``: hysteresis). ``top`` is the main path; vessel mass alone is a poor detector (an unsure model
  spreads 0.5–0.8 of its mass over the vessel classes on plain ambient noise), so it only counts when nearly
  all of it is off ambient: a vessel the model cannot place in one class (the ``unknown`` case below).
- Start: ``on_hops`` consecutive on-hops open a contact. Its start is the first hop of the unbroken run of
  held hops that led up to them (no earlier than ``max_lookback_s`` before the first on-hop), so a vessel
  rising slowly is dated from when it rose above ``off``.
- End: ``off_hops`` consecutive hops that are not held end it (reason ``ambient``); its end is the last held
  hop. Flicker between ``off`` and ``on`` never ends or splits a contact. A gap ends open contacts at the
  gap's start (reason ``gap``); ``close_all`` ends them at the last audio heard (reason ``shutdown``, or
  whatever the daemon passes, e.g. ``reload``).
- Time of a hop: the centre of its window minus the smoothing delay ``hop_s·(1−α)/α`` (the EMA's lag), clamped
  to the audio actually heard. With 3-s windows, 1-s hops and ``smoothing_s = 3`` a step in the audio is dated
  within about a hop of the truth at both ends.
- Class: the vessel class with the highest mean smoothed probability over the contact's held hops
  (pre-start run included). ``confidence`` is that mean. The class is ``unknown`` when the confidence is below
  the model's unknown threshold: the model's rule (top probability under the threshold → unknown) applied to
  the vessel classes, since the tracker has already decided that a vessel is there. ``fine_class`` is only
  reported when the caller passes one and the class is not ``unknown``.
- Updates: a ``contact_update`` every ``update_every_s`` of stream time (reason ``periodic``) and whenever the
  reported class changes (reason ``class_change``).
- Defaults were tuned on the shipped model over rendered passes between ambient stretches (0–10 dB SNR):
  starts within 2 s, ends within about 7 s of the rendered span where the model itself is right.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

log = logging.getLogger(__name__)

UNKNOWN = "unknown"
CONTACT_START, CONTACT_UPDATE, CONTACT_END, GAP = "contact_start", "contact_update", "contact_end", "gap"


def iso_utc(epoch_s: float | None) -> str | None:
    """ISO 8601 UTC with milliseconds and a ``Z`` (``2025-01-02T03:04:05.678Z``) for epoch seconds; None → None."""
    if epoch_s is None or not math.isfinite(epoch_s):
        return None
    return datetime.fromtimestamp(round(epoch_s, 3), timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class TrackerConfig:
    """Smoothing and hysteresis settings.

    smoothing_s: EMA time constant (s; 0 = no smoothing). on / off: top vessel-class probability that counts a
    hop as on / keeps a contact open (0 < off < on ≤ 1). mass_on / mass_off: the same for the summed vessel
    probability (a value above 1 turns that path off). on_hops / off_hops: consecutive hops to start / end.
    update_every_s: stream seconds between periodic update events. max_lookback_s: how far (s) before the first
    on-hop a start may be dated. recent: ended contacts kept for ``/contacts``. ambient: the no-vessel class.
    """

    smoothing_s: float = 3.0
    on: float = 0.55
    off: float = 0.45
    mass_on: float = 0.9
    mass_off: float = 0.8
    on_hops: int = 5
    off_hops: int = 3
    update_every_s: float = 10.0
    max_lookback_s: float = 15.0
    recent: int = 50
    ambient: str = "ambient"

    def __post_init__(self):
        if not 0.0 < self.off < self.on <= 1.0:
            raise ValueError(f"thresholds must satisfy 0 < off < on <= 1 (hysteresis), got on={self.on}, off={self.off}")
        if not 0.0 < self.mass_off < self.mass_on:
            raise ValueError("vessel-mass thresholds must satisfy 0 < mass_off < mass_on (hysteresis; mass_on > 1 "
                             f"turns that path off), got mass_on={self.mass_on}, mass_off={self.mass_off}")
        if self.on_hops < 1 or self.off_hops < 1:
            raise ValueError(f"on_hops and off_hops must be at least 1, got {self.on_hops} and {self.off_hops}")
        if self.smoothing_s < 0 or self.update_every_s <= 0 or self.max_lookback_s < 0:
            raise ValueError("smoothing_s and max_lookback_s must be >= 0 and update_every_s > 0 (seconds), got "
                             f"{self.smoothing_s}, {self.max_lookback_s}, {self.update_every_s}")


class _Contact:
    """An open contact's bookkeeping (internal)."""

    __slots__ = ("id", "channel", "start_s", "label", "lead", "confidence", "fine_class", "last_report_s",
                 "hops", "off_count", "last_above_s")

    def __init__(self, cid: str, channel: int, start_s: float):
        self.id, self.channel, self.start_s = cid, channel, start_s
        self.label, self.lead, self.confidence, self.fine_class = UNKNOWN, -1, 0.0, None
        self.last_report_s = start_s
        self.hops = 0  # hops accumulated into the class mean
        self.off_count = 0  # consecutive hops not held
        self.last_above_s = start_s  # time of the last held hop


class _Channel:
    """One channel's preallocated smoothing state and run/contact bookkeeping (internal)."""

    def __init__(self, n_classes: int):
        self.smoothed = np.zeros(n_classes, dtype=np.float64)
        self.acc = np.zeros(n_classes, dtype=np.float64)  # sum of smoothed vectors over the run/contact
        self.scratch = np.zeros(n_classes, dtype=np.float64)
        self.reset()

    def reset(self) -> None:
        """Forget the smoothing history and any pending run (after a gap, a reload or shutdown)."""
        self.fresh = True
        self.heard_from = math.nan  # first window start since the reset: nothing is dated before it
        self.last_end = math.nan  # window end of the last hop
        self.run_first = math.nan  # time of the first hop of the current run of held hops
        self.run_hops = 0
        self.first_on = math.nan
        self.on_count = 0
        self.contact: _Contact | None = None
        self.fine_class: str | None = None
        self.acc.fill(0.0)


class Tracker:
    """Contacts from per-hop class probabilities, for every channel of one stream.

    classes: the model's class names (``uwac.classes``), one of them ``config.ambient``. hop_s: seconds between
    hops (the model's ``hop_seconds``). unknown_threshold: the model's ``uwac.unknown_threshold``. utc_of: stream
    seconds → UTC epoch seconds (from the stream position, not the wall clock), or None to leave UTC fields
    None. channels: channel indices to preallocate (others are allocated on first use).
    Thread-safe: ``snapshot`` may run on the HTTP thread while the loop calls ``update``.
    """

    def __init__(self, classes: Sequence[str], *, hop_s: float, unknown_threshold: float = 0.0,
                 config: TrackerConfig | None = None, utc_of: Callable[[float], float | None] | None = None,
                 channels: Sequence[int] = (0,)):
        self.classes = tuple(classes)
        self.config = config or TrackerConfig()
        if self.config.ambient not in self.classes:
            raise ValueError(f"the model's classes {list(self.classes)} lack the ambient class "
                             f"{self.config.ambient!r}; the tracker needs it to tell a vessel from no vessel")
        if len(self.classes) < 2:
            raise ValueError(f"need the ambient class and at least one vessel class, got {list(self.classes)}")
        if not hop_s > 0:
            raise ValueError(f"hop_s must be > 0 seconds, got {hop_s}")
        self.ambient = self.classes.index(self.config.ambient)
        self.hop_s = float(hop_s)
        self.unknown_threshold = float(unknown_threshold)
        tau = self.config.smoothing_s
        self.alpha = 1.0 - math.exp(-self.hop_s / tau) if tau > 0 else 1.0
        self.keep = 1.0 - self.alpha
        self.delay_s = self.hop_s * self.keep / self.alpha  # EMA lag (s)
        self.utc_of = utc_of
        self.skipped_hops = 0  # hops ignored for non-finite probabilities
        self._channels: dict[int, _Channel] = {int(c): _Channel(len(self.classes)) for c in channels}
        self._recent: deque[dict] = deque(maxlen=max(0, int(self.config.recent)))
        self._lock = threading.Lock()

    # -- public API -------------------------------------------------------------------------------------------

    def update(self, channel: int, probs: np.ndarray, t_start_s: float, t_end_s: float, *,
               fine_class: str | None = None) -> list[dict]:
        """Feed one hop: ``probs`` float ``[classes]`` for the window [t_start_s, t_end_s) (stream s) of ``channel``.

        ``fine_class``: a fine type for this hop when the model knows one (else None). Returns the events this
        hop caused (usually none). Hops whose probabilities are not finite are skipped and counted
        (``skipped_hops``) with a warning; stream time going backwards on a channel raises ValueError.
        """
        if probs.shape != (len(self.classes),):
            raise ValueError(f"probabilities must have shape ({len(self.classes)},) for classes "
                             f"{list(self.classes)}, got {probs.shape}")
        if not math.isfinite(float(probs.sum())):
            self.skipped_hops += 1
            log.warning("channel %d: non-finite probabilities for window %.3f-%.3f s; hop skipped (%d so far)",
                        channel, t_start_s, t_end_s, self.skipped_hops)
            return []
        with self._lock:
            ch = self._channel(channel)
            if t_end_s <= ch.last_end:
                raise ValueError(f"channel {channel}: window ends at {t_end_s} s, not after the previous window's end "
                                 f"{ch.last_end} s; stream time must increase")
            return self._step(channel, ch, probs, float(t_start_s), float(t_end_s), fine_class)

    def update_many(self, channels: Sequence[int], probabilities: np.ndarray, t_start_s: float,
                    t_end_s: float) -> list[dict]:
        """``update`` for every row of ``probabilities [len(channels), classes]`` (one scorer hop)."""
        events: list[dict] = []
        for row, channel in enumerate(channels):
            events.extend(self.update(channel, probabilities[row], t_start_s, t_end_s))
        return events

    def gap(self, channel: int | None, t_start_s: float, t_end_s: float) -> list[dict]:
        """Audio missing over [t_start_s, t_end_s) stream s on ``channel`` (None: every channel).

        Ends open contacts at the gap's start (or at their last held hop when they were already fading;
        reason ``gap``), forgets the smoothing history, and returns those end events plus one ``gap`` event.
        """
        with self._lock:
            events: list[dict] = []
            chans = list(self._channels) if channel is None else [int(channel)]
            for c in chans:
                ch = self._channel(c)
                if ch.contact is not None:
                    events.append(self._end(ch, "gap", time_s=t_start_s, heard_until=t_start_s))
                last_end = ch.last_end
                ch.reset()
                ch.last_end = max(last_end, t_start_s) if math.isfinite(last_end) else t_start_s
            events.append({
                "type": GAP, "channel": None if channel is None else int(channel),
                "start_s": _r3(t_start_s), "end_s": _r3(t_end_s), "duration_s": _r3(t_end_s - t_start_s),
                "start_utc": self._iso(t_start_s), "end_utc": self._iso(t_end_s),
                "time_s": _r3(t_start_s), "utc": self._iso(t_start_s),
            })
            return events

    def close_all(self, reason: str = "shutdown") -> list[dict]:
        """End every open contact at the last audio heard (SIGTERM drain, model reload) and reset all channels.

        Returns the end events (reason ``reason``).
        """
        with self._lock:
            events: list[dict] = []
            for ch in self._channels.values():
                if ch.contact is not None and math.isfinite(ch.last_end):
                    events.append(self._end(ch, reason, time_s=ch.last_end, heard_until=ch.last_end))
                last_end = ch.last_end
                ch.reset()
                ch.last_end = last_end
            return events

    def snapshot(self) -> dict:
        """``{"open": [...], "recent": [...]}``: open contacts as they stand and the latest ended ones (end events)."""
        with self._lock:
            open_ = [self._describe(ch, ch.contact) for ch in self._channels.values() if ch.contact is not None]
            return {"open": open_, "recent": list(self._recent)}

    @property
    def open_contacts(self) -> int:
        """Number of contacts open now, over all channels."""
        return sum(ch.contact is not None for ch in self._channels.values())

    def smoothed(self, channel: int) -> np.ndarray:
        """The channel's smoothed probability vector (the tracker's own buffer: copy what you keep)."""
        return self._channel(channel).smoothed

    # -- internals --------------------------------------------------------------------------------------------

    def _channel(self, channel: int) -> _Channel:
        ch = self._channels.get(channel)
        if ch is None:
            ch = self._channels[int(channel)] = _Channel(len(self.classes))
        return ch

    def _step(self, channel: int, ch: _Channel, probs: np.ndarray, t0: float, t1: float,
              fine_class: str | None) -> list[dict]:
        s = ch.smoothed
        if ch.fresh:
            np.copyto(s, probs)
            ch.fresh = False
            ch.heard_from = t0
        else:  # s = alpha * p + (1 - alpha) * s, in place
            s -= probs
            s *= self.keep
            s += probs
        ch.last_end = t1
        if fine_class is not None:
            ch.fine_class = fine_class
        cfg = self.config
        mass = float(s.sum()) - float(s[self.ambient])
        np.copyto(ch.scratch, s)
        ch.scratch[self.ambient] = -math.inf
        top = float(ch.scratch.max())
        on = top >= cfg.on or mass >= cfg.mass_on
        held = top >= cfg.off or mass >= cfg.mass_off
        t = min(max(0.5 * (t0 + t1) - self.delay_s, ch.heard_from), t1)
        c = ch.contact
        if c is None:
            if not held:
                if ch.run_hops:
                    ch.run_hops, ch.on_count = 0, 0
                    ch.acc.fill(0.0)
                return []
            if ch.run_hops == 0:
                ch.run_first = t
            ch.run_hops += 1
            ch.acc += s
            if on:
                if ch.on_count == 0:
                    ch.first_on = t
                ch.on_count += 1
            else:
                ch.on_count = 0
            if ch.on_count < cfg.on_hops:
                return []
            return [self._start(channel, ch, t, t1)]
        if held:
            c.off_count = 0
            c.last_above_s = t
            c.hops += 1
            ch.acc += s
            if self._classify(ch, c):
                return [self._report(CONTACT_UPDATE, ch, c, t1, "class_change")]
            if t1 - c.last_report_s >= cfg.update_every_s:
                return [self._report(CONTACT_UPDATE, ch, c, t1, "periodic")]
            return []
        c.off_count += 1
        if c.off_count >= cfg.off_hops:
            return [self._end(ch, "ambient", time_s=t1, heard_until=t1)]
        if t1 - c.last_report_s >= cfg.update_every_s:
            return [self._report(CONTACT_UPDATE, ch, c, t1, "periodic")]
        return []

    def _start(self, channel: int, ch: _Channel, t: float, t1: float) -> dict:
        start = max(ch.run_first, ch.first_on - self.config.max_lookback_s)
        utc = self._utc(start)
        stamp = (datetime.fromtimestamp(utc, timezone.utc).strftime("%Y%m%dT%H%M%S.%f")[:-3] + "Z"
                 if utc is not None else f"{start:.3f}s")
        c = _Contact(f"ch{channel}-{stamp}", channel, start)
        c.hops = ch.run_hops
        c.last_above_s = t
        ch.contact = c
        ch.run_hops, ch.on_count = 0, 0
        self._classify(ch, c)
        log.info("contact %s start: %s (%.2f) at %.3f s", c.id, c.label, c.confidence, start)
        return self._report(CONTACT_START, ch, c, t1, None)

    def _classify(self, ch: _Channel, c: _Contact) -> bool:
        """Refresh the contact's class and confidence from its mean smoothed scores; True when the label changed."""
        np.copyto(ch.scratch, ch.acc)
        ch.scratch[self.ambient] = -math.inf
        lead = int(ch.scratch.argmax())
        c.lead = lead
        c.confidence = float(ch.acc[lead]) / max(c.hops, 1)
        label = self.classes[lead] if c.confidence >= self.unknown_threshold else UNKNOWN
        c.fine_class = ch.fine_class if label != UNKNOWN else None
        changed = label != c.label
        c.label = label
        return changed

    def _end(self, ch: _Channel, reason: str, *, time_s: float, heard_until: float) -> dict:
        c = ch.contact
        assert c is not None
        end = c.last_above_s if c.off_count else max(heard_until, c.last_above_s)
        ev = self._report(CONTACT_END, ch, c, time_s, reason, end_s=max(end, c.start_s))
        ch.contact = None
        ch.fine_class = None
        ch.acc.fill(0.0)
        self._recent.append(ev)
        log.info("contact %s end (%s): %s (%.2f) %.3f-%.3f s", c.id, reason, c.label, c.confidence,
                 c.start_s, ev["end_s"])
        return ev

    def _report(self, kind: str, ch: _Channel, c: _Contact, time_s: float, reason: str | None, *,
                end_s: float | None = None) -> dict:
        c.last_report_s = time_s
        ev = {"type": kind, **self._describe(ch, c, end_s=end_s), "time_s": _r3(time_s), "utc": self._iso(time_s),
              "reason": reason}
        return ev

    def _describe(self, ch: _Channel, c: _Contact, *, end_s: float | None = None) -> dict:
        n = max(c.hops, 1)
        return {
            "contact": c.id, "channel": c.channel, "class": c.label, "fine_class": c.fine_class,
            "confidence": round(c.confidence, 4),
            "scores": {name: round(float(ch.acc[i]) / n, 4) for i, name in enumerate(self.classes)},
            "start_s": _r3(c.start_s), "start_utc": self._iso(c.start_s),
            "end_s": None if end_s is None else _r3(end_s), "end_utc": None if end_s is None else self._iso(end_s),
            "duration_s": _r3((end_s if end_s is not None else c.last_above_s) - c.start_s), "hops": c.hops,
        }

    def _utc(self, stream_s: float) -> float | None:
        return None if self.utc_of is None else self.utc_of(stream_s)

    def _iso(self, stream_s: float) -> str | None:
        return iso_utc(self._utc(_r3(stream_s)))  # from the rounded stream time the event carries


def _r3(x: float) -> float:
    """Seconds rounded to the millisecond for events."""
    return round(float(x), 3)
