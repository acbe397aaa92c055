"""The console's HTTP routes on the daemon's server: the page, its live stream, clips and verdicts.

- ``GET /console``: the page (one self-contained HTML file from the package: no CDN, no external font);
- ``GET /console/state``: a snapshot (classes, axes, recent hops and events, health, contacts, verdicts);
- ``GET /console/events``: Server-Sent Events, one ``data:`` line per message of :class:`ConsoleFeed`;
- ``GET /console/clip?contact=ID``: the contact's audio (WAV) from the ring, ``pad_s`` either side;
- ``POST /console/verdict``: ``{"contact", "verdict", "label", "fine_label", "note", "analyst"}`` as JSON.

Access: a loopback console answers only requests that name a loopback host (``Host``: no DNS rebinding); every
write needs the token, in an ``X-Uwac-Token`` header (a custom header: a cross-site page cannot
send it without a CORS preflight, which is never granted) with ``Content-Type: application/json``, and an
``Origin``, when the browser sends one, naming this server. Bound to a non-loopback address the server asks the
token of every console request (reads take it as ``?token=`` too: ``EventSource`` and ``<audio>`` send no
headers). Tokens compare in constant time.
"""

from __future__ import annotations

import asyncio
import hmac
import io
import json
import logging
import secrets
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from uwac.acoustics.console.feed import ConsoleFeed
from uwac.acoustics.labels.store import Verdict, VerdictStore
from uwac.acoustics.stream.service import Request, is_loopback, json_body, response

log = logging.getLogger(__name__)

PAD_S = 5.0  # seconds of audio kept either side of a contact in its clip
KEEPALIVE_S = 15.0  # an SSE comment this often keeps proxies and SSH tunnels from closing an idle stream


def _loopback_host(host: str) -> bool:
    """True when a ``Host`` header names this machine's loopback (``127.0.0.1:9750``, ``localhost``, ``[::1]``)."""
    name = urlsplit(f"//{host}").hostname or ""
    return bool(name) and is_loopback(name)


def page_html() -> bytes:
    """The console page from the package."""
    return resources.files("uwac.acoustics.console").joinpath("page.html").read_bytes()


class Console:
    """The routes' state: the feed, the label store, the audio ring, the contacts source and the access rules.

    contacts: () → ``{"open": [...], "recent": [...]}`` (the tracker's snapshot); find: contact id → its latest
    event (open or ended) or None; ring_channel: input channel → its index in the ring (None: not kept);
    physics_fields: the model's physics output fields.
    """

    def __init__(self, *, feed: ConsoleFeed, store: VerdictStore, ring, contacts, find, ring_channel,
                 token: str, loopback: bool, clip_dir: Path):
        self.feed, self.store, self.ring, self.contacts, self.find = feed, store, ring, contacts, find
        self.ring_channel, self.token, self.loopback, self.clip_dir = ring_channel, token, loopback, Path(clip_dir)
        self.ring_lock = asyncio.Lock()

    def _token_ok(self, req: Request, *, allow_query: bool) -> bool:
        given = req.headers.get("x-uwac-token", "")
        if not given and allow_query:
            given = (parse_qs(req.query).get("token") or [""])[0]
        return bool(given) and hmac.compare_digest(given.encode(), self.token.encode())

    def _same_origin(self, req: Request) -> bool:
        origin = req.headers.get("origin")
        return origin is None or urlsplit(origin).netloc == req.headers.get("host", "")

    async def __call__(self, req: Request, writer: asyncio.StreamWriter) -> bool:
        """Answer a request under ``/console``; False for any other path (the built-in endpoints take it)."""
        if req.path != "/console" and not req.path.startswith("/console/"):
            return False
        try:
            await self._answer(req, writer)
        except (asyncio.TimeoutError, ConnectionError, OSError):
            raise
        except Exception as exc:  # a bug here must not take the daemon's server down
            log.exception("console %s %s failed", req.method, req.path)
            writer.write(response(500, json_body({"error": f"{type(exc).__name__}: {exc}"}), "application/json"))
        return True

    async def _answer(self, req: Request, writer: asyncio.StreamWriter) -> None:
        head = req.method == "HEAD"
        if req.method not in ("GET", "HEAD", "POST"):
            writer.write(response(405, json_body({"error": f"method {req.method} not allowed"}), "application/json"))
        elif self.loopback and not _loopback_host(req.headers.get("host", "")):
            # a page of another site whose name was made to resolve to 127.0.0.1 (DNS rebinding) is not let in
            writer.write(response(403, json_body({"error": "a loopback console answers loopback host names only"}),
                                  "application/json"))
        elif not self.loopback and not self._token_ok(req, allow_query=True):
            writer.write(response(403, json_body({"error": "this console needs its access token"}), "application/json"))
        elif req.method == "POST":
            writer.write(await self._post(req))
        elif req.path == "/console/events":
            await self._events(writer)
            return
        else:
            writer.write(self._get(req, head))
        await writer.drain()

    def _get(self, req: Request, head: bool) -> bytes:
        if req.path == "/console":
            return response(200, page_html(), "text/html; charset=utf-8", head=head,
                            headers={"Content-Security-Policy": "default-src 'self'; style-src 'self' "
                                     "'unsafe-inline'; script-src 'self' 'unsafe-inline'; media-src 'self'",
                                     "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"})
        if req.path == "/console/state":
            state = {**self.feed.snapshot(), "contacts": self.contacts(),
                     "verdicts": [v.__dict__ for v in self.store.latest()], "loopback": self.loopback}
            return response(200, json_body(state), "application/json", head=head)
        if req.path == "/console/clip":
            return self._clip(req, head)
        return response(404, json_body({"error": f"no such path {req.path!r}"}), "application/json")

    def _span(self, contact: dict) -> tuple[float, float]:
        end = contact.get("end_s")
        end = end if end is not None else contact["start_s"] + max(float(contact.get("duration_s") or 0.0), 1.0)
        return max(0.0, float(contact["start_s"]) - PAD_S), float(end) + PAD_S

    def _clip(self, req: Request, head: bool) -> bytes:
        import soundfile as sf

        cid = (parse_qs(req.query).get("contact") or [""])[0]
        contact = self.find(cid)
        index = None if contact is None else self.ring_channel(int(contact["channel"]))
        if contact is None or index is None or self.ring is None:
            return response(404, json_body({"error": f"no audio kept for contact {cid!r}"}), "application/json")
        try:
            audio, _ = self.ring.read(index, *self._span(contact))
        except ValueError as exc:
            return response(404, json_body({"error": str(exc)}), "application/json")
        buf = io.BytesIO()
        sf.write(buf, audio, self.ring.rate, format="WAV", subtype="PCM_16")  # every browser plays 16-bit PCM
        return response(200, buf.getvalue(), "audio/wav", head=head)

    async def _post(self, req: Request) -> bytes:
        if req.path != "/console/verdict":
            return response(404, json_body({"error": f"no such path {req.path!r}"}), "application/json")
        if not self._token_ok(req, allow_query=False):
            return response(403, json_body({"error": "a verdict needs the console's token (X-Uwac-Token)"}),
                            "application/json")
        if not self._same_origin(req):
            return response(403, json_body({"error": "cross-site request refused"}), "application/json")
        if not req.headers.get("content-type", "").startswith("application/json"):
            return response(415, json_body({"error": "send the verdict as application/json"}), "application/json")
        try:
            body = json.loads(req.body.decode("utf-8"))
            record = await asyncio.get_running_loop().run_in_executor(None, self.judge, body)
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            return response(400, json_body({"error": str(exc)}), "application/json")
        self.feed.verdict(record)
        return response(200, json_body(record), "application/json")

    def judge(self, body: dict) -> dict:
        """Store one verdict with its clip (off the event loop: the store fsyncs); the record as stored."""
        if not isinstance(body, dict):
            raise ValueError("the verdict must be a JSON object")
        cid = str(body.get("contact") or "")
        contact = self.find(cid)
        if contact is None:
            raise ValueError(f"no contact {cid!r} in this stream's log")
        start, end = float(contact["start_s"]), contact.get("end_s")
        end = float(end) if end is not None else start + max(float(contact.get("duration_s") or 0.0), 1.0)
        clip, clip_start = "", None
        index = self.ring_channel(int(contact["channel"]))
        if self.ring is not None and index is not None:
            try:
                path, clip_start, _ = self.ring.save(self.clip_dir / f"{cid}-{secrets.token_hex(4)}.wav",
                                                     index, *self._span(contact))
                clip = str(path.relative_to(self.store.folder))
            except ValueError as exc:
                log.warning("verdict on %s stored without audio: %s", cid, exc)
        v = self.store.record(Verdict(
            contact=cid, channel=int(contact["channel"]), start_s=start, end_s=end, verdict=str(body.get("verdict")),
            label=str(body.get("label") or ""), fine_label=str(body.get("fine_label") or ""),
            note=str(body.get("note") or ""), analyst=str(body.get("analyst") or ""),
            model_class=contact.get("class"), model_confidence=contact.get("confidence"),
            start_utc=contact.get("start_utc"), end_utc=contact.get("end_utc"), clip=clip, clip_start_s=clip_start,
            recording_id=str(body.get("recording_id") or cid)))
        return v.__dict__

    async def _events(self, writer: asyncio.StreamWriter) -> None:
        """The SSE stream of one page until it goes away."""
        writer.write(b"HTTP/1.0 200 OK\r\nServer: uwac\r\nContent-Type: text/event-stream\r\nCache-Control: no-store"
                     b"\r\nConnection: close\r\n\r\nretry: 2000\n\n")
        q = self.feed.subscribe()
        try:
            await writer.drain()
            while True:
                try:
                    data = await asyncio.wait_for(q.get(), KEEPALIVE_S)
                    writer.write(b"data: " + data + b"\n\n")
                except asyncio.TimeoutError:
                    writer.write(b": keep-alive\n\n")
                await asyncio.wait_for(writer.drain(), KEEPALIVE_S)
        except (asyncio.TimeoutError, ConnectionError, OSError):
            pass  # the page went away or stopped reading: its queue goes, nothing else notices
        finally:
            self.feed.unsubscribe(q)
