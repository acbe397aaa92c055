"""The console on a running daemon: its feed, label store, audio ring and routes, and the daemon's hooks.

The daemon calls :meth:`Hooks.hop` per scored hop, :meth:`Hooks.event` per event it writes and
:meth:`Hooks.audio` (the scorer's tap) per block of model-rate audio; a timer on the HTTP server's loop checks
health every second, so an alarm shows when a source stops sending even though no hop comes to say so.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from uwac.acoustics.console.feed import ConsoleFeed
from uwac.acoustics.console.routes import Console
from uwac.acoustics.labels.clip_ring import DEFAULT_KEEP_S, ClipRing
from uwac.acoustics.labels.store import VerdictStore

log = logging.getLogger(__name__)

TOKEN_ENV = "UWAC_CONSOLE_TOKEN"
TOKEN_FILE = "console.token"
HEALTH_EVERY_S = 1.0


def console_token(out: Path, given: str | None) -> str:
    """The access token: given (flag or ``UWAC_CONSOLE_TOKEN``) or a new random one; written to
    ``out/console.token`` (mode 0600) so an analyst with a shell on the node can read it."""
    token = given or os.environ.get(TOKEN_ENV) or secrets.token_urlsafe(18)
    path = out / TOKEN_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    os.chmod(path, 0o600)
    return token


def frame_axes(info) -> tuple:
    """(LOFAR, DEMON) bin frequencies [Hz] of the model's frames, or None for a branch it lacks."""
    from uwac.acoustics.frontend.bins import demon_freqs, lofar_freqs
    from uwac.acoustics.frontend.config import FrontendConfig

    cfg = FrontendConfig.from_dict(info.frontend)
    return (lofar_freqs(cfg) if "lofar" in cfg.branches else None,
            demon_freqs(cfg) if "demon" in cfg.branches else None)


class Hooks:
    """Everything the console needs from one daemon (``daemon``: :class:`acoustics.stream.daemon.Daemon`)."""

    def __init__(self, daemon, *, token: str | None, keep_s: float = DEFAULT_KEEP_S):
        self.daemon, self.keep_s = daemon, float(keep_s)
        info = daemon.info
        self.fields = list(info.physics.get("fields", [])) if info.physics else []
        lofar_hz, demon_hz = frame_axes(info)
        self.feed = ConsoleFeed(classes=info.classes, hop_s=daemon.scorer.hop / info.sample_rate,
                                lofar_hz=lofar_hz, demon_hz=demon_hz)
        self.store = VerdictStore(daemon.out)
        self.token = console_token(daemon.out, token)
        self.ring: ClipRing | None = None
        self.channels: tuple[int, ...] = ()
        self.gaps = 0
        self.console = None

    def routes(self, *, loopback: bool) -> Console:
        """The console's router for the daemon's HTTP server."""
        self.console = Console(feed=self.feed, store=self.store, ring=None, contacts=self.daemon._contacts,
                               find=self.find, ring_channel=self.ring_channel, token=self.token, loopback=loopback,
                               clip_dir=self.daemon.out / "labels")
        return self.console

    def started(self, service) -> None:
        """The HTTP server runs: publish through its loop and start the health timer."""
        self.feed.attach(service.loop)
        service.loop.call_soon_threadsafe(self._tick, service.loop)

    def _tick(self, loop) -> None:
        healthy, detail = self.daemon.health()
        self.feed.health({"connected": healthy, "alarm": None if healthy else detail.get("reason", "unhealthy"),
                          "gaps": self.gaps, "margin": getattr(self.daemon, "margin", None),
                          "pages": self.feed.pages, "dropped": self.feed.dropped})
        loop.call_later(HEALTH_EVERY_S, self._tick, loop)

    # -- daemon hooks (scoring thread) --------------------------------------------------------------------------

    def audio(self, position: int, block) -> None:
        """The scorer's tap: model-rate audio ``[samples, channels]`` starting at stream ``position``."""
        if self.ring is None or block.shape[1] != len(self.channels):
            self.channels = tuple(self.daemon.scorer.chosen or range(block.shape[1]))
            self.ring = ClipRing(self.daemon.out / "ring", channels=block.shape[1],
                                 sample_rate=self.daemon.info.sample_rate, keep_s=self.keep_s)
            if self.console is not None:
                self.console.ring = self.ring
        self.ring.write(position, block)

    def hop(self, hop) -> None:
        """One scored hop: probabilities, physics and the pair's newest frames to the pages."""
        cache = self.daemon.scorer.cache
        self.feed.hop(hop, physics_fields=self.fields, frames=None if cache is None else cache.state)

    def event(self, event: dict) -> None:
        """One event as written to the log."""
        if event.get("type") == "gap":
            self.gaps += 1
        self.feed.event(event, physics_fields=self.fields)

    # -- lookups for the routes (HTTP thread) -----------------------------------------------------------------

    def ring_channel(self, channel: int) -> int | None:
        """The ring's index of an input channel (None when it is not scored)."""
        return self.channels.index(channel) if channel in self.channels else None

    def find(self, contact: str) -> dict | None:
        """A contact's latest state: open or recently ended in the tracker, else its last event the feed saw."""
        snap = self.daemon._contacts()
        for c in [*snap["open"], *snap["recent"]]:
            if c.get("contact") == contact:
                return c
        for m in reversed(self.feed.snapshot()["events"]):
            ev = m.get("event") or {}
            if ev.get("contact") == contact:
                return ev
        return None

    def close(self) -> None:
        """Close the ring's files and the store."""
        if self.ring is not None:
            self.ring.close()
        self.store.close()
