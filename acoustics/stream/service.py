"""The daemon's HTTP side: ``/healthz``, ``/metrics`` (Prometheus text) and ``/contacts`` (JSON).

Served by an asyncio server on one daemon thread, bound to 127.0.0.1 unless the caller passes another address
explicitly (a warning is logged for any non-loopback address). Every connection has ``deadline_s`` to send its
request line and headers (slowloris: a byte a second is cut off, 408, and counted in ``timed_out``); at most
``max_connections`` are open at once, more are closed at once and counted (``refused``). Idle connections cost
a socket, not a thread, so /healthz keeps answering under a slow-client attack on a small node. One request per
connection (HTTP/1.0). A handler that raises answers 500 and the server keeps serving; a malformed request line
is answered 400.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry

from uwac.acoustics.stream.telemetry import CONTENT_TYPE, render

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9750
# Slowloris-proof limits (issue 10, defect 8): connections wait on one event loop, not in threads, so idle ones
# cost a socket each; a client has REQUEST_DEADLINE_S to send its request and take the answer.
REQUEST_DEADLINE_S = 5.0
MAX_CONNECTIONS = 256
HEADER_LIMIT = 16 * 1024  # bytes of request line and headers
BODY_LIMIT = 64 * 1024  # bytes of a request body (the console's verdicts are a few hundred)


def is_loopback(host: str) -> bool:
    """True for loopback addresses (127.0.0.0/8, ::1) and ``localhost``."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class HealthCheck:
    """Liveness of the scoring loop, for ``/healthz``: call ``hop()`` per hop, ``fail(reason)`` when a part dies.

    Unhealthy when no hop came for ``stale_hops × hop_s`` seconds (``clock`` seconds, monotonic) after
    ``startup_s`` of grace, or after ``fail``; ``ok()`` clears a failure (e.g. a source reconnected).
    ``detail``: extra fields merged into the report (the daemon may set e.g. ``model`` or ``source``).
    """

    def __init__(self, hop_s: float, *, stale_hops: float = 10.0, startup_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic):
        self.hop_s, self.stale_hops, self.startup_s, self.clock = float(hop_s), float(stale_hops), startup_s, clock
        self.started = clock()
        self.last_hop: float | None = None
        self.hops = 0
        self.failure: str | None = None
        self.detail: dict = {}
        self._lock = threading.Lock()

    def hop(self) -> None:
        """Record that a hop was scored now."""
        with self._lock:
            self.last_hop = self.clock()
            self.hops += 1

    def fail(self, reason: str) -> None:
        """Mark the daemon unhealthy (source died, writer failed, ...) until ``ok()``."""
        with self._lock:
            self.failure = reason

    def ok(self) -> None:
        """Clear a failure set by ``fail``."""
        with self._lock:
            self.failure = None

    def __call__(self) -> tuple[bool, dict]:
        """(healthy, detail) as ``serve`` expects."""
        with self._lock:
            now = self.clock()
            since = None if self.last_hop is None else now - self.last_hop
            limit = self.stale_hops * self.hop_s
            detail = {**self.detail, "hops": self.hops, "uptime_s": round(now - self.started, 3),
                      "seconds_since_hop": None if since is None else round(since, 3), "stale_after_s": limit}
            if self.failure is not None:
                return False, {**detail, "reason": self.failure}
            if since is None:
                if now - self.started > self.startup_s:
                    return False, {**detail, "reason": f"no hop scored in the first {self.startup_s:g} s"}
                return True, {**detail, "reason": "starting"}
            if since > limit:
                return False, {**detail, "reason": f"no hop for {since:.1f} s (limit {limit:g} s)"}
            return True, detail


class Service:
    """A running HTTP server: ``port`` (the bound one, useful with port 0), ``host``, ``url``, ``close()``.

    ``refused``: connections closed unanswered because ``max_connections`` were open; ``timed_out``: ones
    closed because their request did not arrive within the deadline (slow or idle clients)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, server: asyncio.base_events.Server, thread: threading.Thread,
                 state: _State):
        self._loop, self._server, self._thread, self._state = loop, server, thread, state
        sock = server.sockets[0].getsockname()
        self.host, self.port = str(sock[0]), int(sock[1])

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The server's event loop (runs on its own thread): hand it work with ``call_soon_threadsafe``."""
        return self._loop

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:9750``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def refused(self) -> int:
        return self._state.refused

    @property
    def timed_out(self) -> int:
        return self._state.timed_out

    def close(self) -> None:
        """Stop serving and release the port (waits for the serving thread)."""
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5.0)


class _State:
    """Counters and limits shared by the connection handlers (all on the event loop's thread)."""

    def __init__(self, max_connections: int, deadline_s: float):
        self.max_connections, self.deadline_s = max_connections, deadline_s
        self.open = self.refused = self.timed_out = 0


REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
           408: "Request Timeout", 413: "Payload Too Large", 415: "Unsupported Media Type",
           431: "Request Header Fields Too Large", 500: "Internal Server Error", 503: "Service Unavailable"}


@dataclass
class Request:
    """One parsed request: method, path (without the query), query string, headers (lower-case names), body,
    and the peer's address."""

    method: str
    path: str
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    peer: str = ""


# An extra router (the operator console): handles a request it owns by writing its whole answer (or a stream)
# to the writer and returning True; False leaves the request to the built-in endpoints.
Routes = Callable[[Request, asyncio.StreamWriter], Awaitable[bool]]


def _response(status: int, body: bytes, content_type: str, head: bool, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"HTTP/1.0 {status} {REASONS.get(status, '')}", "Server: uwac", f"Content-Type: {content_type}",
             f"Content-Length: {len(body)}", "Cache-Control: no-store", "Connection: close",
             *(f"{k}: {v}" for k, v in (headers or {}).items()), "", ""]
    return "\r\n".join(lines).encode("latin-1") + (b"" if head else body)


def response(status: int, body: bytes, content_type: str, *, head: bool = False,
             headers: dict[str, str] | None = None) -> bytes:
    """A whole HTTP/1.0 answer (status line, headers, body) as the built-in endpoints send it."""
    return _response(status, body, content_type, head, headers)


def json_body(obj) -> bytes:
    """``obj`` as compact JSON with a newline (numpy values as plain numbers)."""
    return _json_body(obj)


def _json_body(obj) -> bytes:
    return (json.dumps(obj, separators=(",", ":"), default=_plain) + "\n").encode()


def _route(path: str, registry: CollectorRegistry, health, contacts) -> tuple[int, bytes, str]:
    """(status, body, content type) for a GET of ``path``; a raising callable answers 500."""
    path = path.split("?", 1)[0].rstrip("/") or "/"
    endpoints = ["/healthz", "/metrics", "/contacts"]
    try:
        if path == "/healthz":
            healthy, detail = health()
            return (200 if healthy else 503), _json_body({"status": "ok" if healthy else "unhealthy", **detail}), \
                "application/json"
        if path == "/metrics":
            return 200, render(registry).encode(), CONTENT_TYPE
        if path == "/contacts":
            return 200, _json_body(contacts()), "application/json"
        if path == "/":
            return 200, _json_body({"endpoints": endpoints}), "application/json"
        return 404, _json_body({"error": f"no such path {path!r}", "endpoints": endpoints}), "application/json"
    except Exception as exc:  # a bad callable must not take the server down
        log.exception("HTTP %s failed", path)
        return 500, _json_body({"error": f"{type(exc).__name__}: {exc}"}), "application/json"


def _request(words: list[str], head: bytes, writer: asyncio.StreamWriter) -> Request:
    """The request line's method, path and query, and the headers, from the bytes before the blank line."""
    headers = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    path, _, query = words[1].partition("?")
    peer = writer.get_extra_info("peername")
    return Request(words[0], path, query, headers, b"", str(peer[0]) if peer else "")


async def _read_body(reader: asyncio.StreamReader, req: Request, state: _State) -> tuple[int, bytes] | None:
    """Read a POST body of ``Content-Length`` bytes (≤ BODY_LIMIT) within the deadline into ``req``; (status, body)
    of the refusal when it cannot be."""
    try:
        length = int(req.headers.get("content-length", ""))
    except ValueError:
        return 400, _json_body({"error": "a POST needs a Content-Length"})
    if not 0 <= length <= BODY_LIMIT:
        return 413, _json_body({"error": f"request body over {BODY_LIMIT} bytes"})
    try:
        req.body = await asyncio.wait_for(reader.readexactly(length), state.deadline_s)
    except (asyncio.TimeoutError, asyncio.IncompleteReadError):
        state.timed_out += 1
        return 408, _json_body({"error": "request body not received in time"})
    return None


def _handler(registry: CollectorRegistry, health, contacts, state: _State, routes: Routes | None = None):
    """The per-connection coroutine: one request (line and headers within ``state.deadline_s``), one answer."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if state.open >= state.max_connections:
            state.refused += 1
            if state.refused == 1 or state.refused % 100 == 0:
                log.warning("HTTP: %d connections open; refusing one from %s (%d refused so far)",
                            state.max_connections, writer.get_extra_info("peername"), state.refused)
            writer.close()
            return
        state.open += 1
        try:
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), state.deadline_s)
            except asyncio.TimeoutError:
                state.timed_out += 1
                writer.write(_response(408, _json_body({"error": "request not received in time"}),
                                       "application/json", False))
                return
            except asyncio.LimitOverrunError:
                writer.write(_response(431, _json_body({"error": "request line and headers over 16 KiB"}),
                                       "application/json", False))
                return
            except asyncio.IncompleteReadError:
                return  # the client went away mid-request
            words = head.split(b"\r\n", 1)[0].decode("latin-1").split()
            if len(words) != 3 or not words[2].startswith("HTTP/"):
                status, body, ctype = 400, _json_body({"error": "malformed request line"}), "application/json"
            else:
                req = _request(words, head, writer)
                if routes is not None:
                    if req.method == "POST":
                        refused = await _read_body(reader, req, state)
                        if refused is not None:
                            writer.write(_response(*refused, "application/json", False))
                            return
                    if await routes(req, writer):
                        return
                if words[0] not in ("GET", "HEAD"):
                    status, body, ctype = 405, _json_body({"error": f"method {words[0]} not allowed"}), \
                        "application/json"
                else:
                    status, body, ctype = _route(words[1], registry, health, contacts)
            writer.write(_response(status, body, ctype, words[0] == "HEAD" if words else False))
            await asyncio.wait_for(writer.drain(), state.deadline_s)
        except (asyncio.TimeoutError, ConnectionError, OSError):
            log.debug("HTTP client %s went away", writer.get_extra_info("peername"))
        finally:
            state.open -= 1
            writer.close()

    return handle


def _plain(obj):
    """JSON fallback for numpy scalars and arrays."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)


def serve(registry: CollectorRegistry, *, health: Callable[[], tuple[bool, dict]], contacts: Callable[[], object],
          host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, max_connections: int = MAX_CONNECTIONS,
          deadline_s: float = REQUEST_DEADLINE_S, routes: Routes | None = None) -> Service:
    """Start serving ``/healthz``, ``/metrics`` and ``/contacts`` on a daemon thread; returns the :class:`Service`.

    health: () → (healthy, detail dict); 200 ``{"status": "ok", ...detail}`` or 503 ``{"status": "unhealthy", ...}``.
    contacts: () → a JSON-able object (e.g. ``Tracker.snapshot()``). host: the address to bind, loopback by
    default; pass another only on purpose (a warning is logged). port: TCP port, 0 for an ephemeral one.
    max_connections: open connections at once (more are closed unanswered and counted); deadline_s: seconds a
    client has to send its request line and headers, and to take the answer. Raises OSError with the address
    when the port cannot be bound. routes: an extra router tried first (the operator console, which may take
    POSTs: their bodies are read for it, at most BODY_LIMIT bytes within the deadline).
    """
    if not host:
        raise ValueError("host must be an address; use 127.0.0.1 for loopback or 0.0.0.0 for every interface")
    if not is_loopback(host):
        log.warning("HTTP service bound to %s: /metrics, /healthz and /contacts are reachable from other hosts",
                    host)
    state = _State(max(1, int(max_connections)), float(deadline_s))
    loop = asyncio.new_event_loop()
    try:
        server = loop.run_until_complete(asyncio.start_server(_handler(registry, health, contacts, state, routes), host,
                                                              int(port), limit=HEADER_LIMIT, backlog=128))
    except OSError as exc:
        loop.close()
        raise OSError(exc.errno, f"cannot serve HTTP on {host}:{port}: {exc.strerror or exc}; "
                                 "pick another port (0 for any free one)") from exc

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            server.close()
            # connections still open (a console page's event stream, a slow client) end here, not as orphans
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            try:  # newer Pythons wait for open connections here: a slow client must not hold the shutdown
                loop.run_until_complete(asyncio.wait_for(asyncio.gather(*pending, return_exceptions=True), 1.0))
                loop.run_until_complete(asyncio.wait_for(server.wait_closed(), 1.0))
            except (asyncio.TimeoutError, RuntimeError):
                pass
            loop.close()

    thread = threading.Thread(target=run, name=f"uwac-http-{port}", daemon=True)
    thread.start()
    svc = Service(loop, server, thread, state)
    log.info("HTTP service on %s (/healthz /metrics /contacts)", svc.url)
    return svc
