"""The daemon's HTTP side: ``/healthz``, ``/metrics`` (Prometheus text) and ``/contacts`` (JSON).

Served by a ``ThreadingHTTPServer`` on a daemon thread, bound to 127.0.0.1 unless the caller passes another
address explicitly (a warning is logged for any non-loopback address). At most ``max_connections`` requests
are handled at once; connections beyond that are closed at once and counted (``refused``), so a flood cannot
grow threads without bound on a small node. A handler that raises answers 500 and the server keeps serving;
malformed requests are answered 400 by ``http.server`` itself.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from acoustics.stream.metrics import CONTENT_TYPE, Registry

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9750
REQUEST_TIMEOUT_S = 10.0


def is_loopback(host: str) -> bool:
    """True for loopback addresses (127.0.0.0/8, ::1) and ``localhost``."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
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
    """A running HTTP server: ``port`` (the bound one, useful with port 0), ``host``, ``url``, ``close()``."""

    def __init__(self, server: ThreadingHTTPServer, thread: threading.Thread):
        self._server, self._thread = server, thread
        self.host = server.server_address[0]
        self.port = int(server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:9750``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def refused(self) -> int:
        """Connections closed unanswered because ``max_connections`` requests were in progress."""
        return self._server.refused

    def close(self) -> None:
        """Stop serving and release the port (waits for the serving thread)."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5.0)


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer with daemon threads and a bound on concurrent requests."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address, handler, *, family: int, max_connections: int):
        self.address_family = family
        self.max_connections = max_connections
        self.slots = threading.BoundedSemaphore(max_connections)
        self.refused = 0
        super().__init__(address, handler)

    def server_bind(self):
        # HTTPServer.server_bind resolves the FQDN, which can hang on a node without DNS: skip it
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def process_request(self, request, client_address):
        if not self.slots.acquire(blocking=False):
            self.refused += 1
            if self.refused == 1 or self.refused % 100 == 0:
                log.warning("HTTP: %d requests in progress; refusing a connection from %s (%d refused so far)",
                            self.max_connections, client_address, self.refused)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            self.slots.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


def _handler(registry: Registry, health: Callable[[], tuple[bool, dict]], contacts: Callable[[], object]):
    """A request handler class bound to these callables."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "uwac"
        sys_version = ""
        timeout = REQUEST_TIMEOUT_S
        protocol_version = "HTTP/1.0"

        def _send(self, status: int, body: bytes, content_type: str, head: bool) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _json(self, status: int, obj, head: bool) -> None:
            body = (json.dumps(obj, separators=(",", ":"), default=_plain) + "\n").encode()
            self._send(status, body, "application/json", head)

        def _route(self, head: bool) -> None:
            path = self.path.split("?", 1)[0].rstrip("/") or "/"
            try:
                if path == "/healthz":
                    healthy, detail = health()
                    self._json(200 if healthy else 503, {"status": "ok" if healthy else "unhealthy", **detail}, head)
                elif path == "/metrics":
                    self._send(200, registry.render().encode(), CONTENT_TYPE, head)
                elif path == "/contacts":
                    self._json(200, contacts(), head)
                elif path == "/":
                    self._json(200, {"endpoints": ["/healthz", "/metrics", "/contacts"]}, head)
                else:
                    self._json(404, {"error": f"no such path {path!r}",
                                     "endpoints": ["/healthz", "/metrics", "/contacts"]}, head)
            except (TimeoutError, BrokenPipeError, ConnectionResetError):
                log.debug("HTTP client %s went away", self.client_address)
            except Exception as exc:  # a bad callable must not take the server down
                log.exception("HTTP %s failed", path)
                try:
                    self._json(500, {"error": f"{type(exc).__name__}: {exc}"}, head)
                except OSError:
                    pass

        def do_GET(self):
            """Answer GET."""
            self._route(head=False)

        def do_HEAD(self):
            """Answer HEAD (headers only)."""
            self._route(head=True)

        def log_message(self, format, *args):
            """Access log at debug level (not stderr)."""
            log.debug("HTTP %s %s", self.address_string(), format % args)

    return Handler


def _plain(obj):
    """JSON fallback for numpy scalars and arrays."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)


def serve(registry: Registry, *, health: Callable[[], tuple[bool, dict]], contacts: Callable[[], object],
          host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, max_connections: int = 8) -> Service:
    """Start serving ``/healthz``, ``/metrics`` and ``/contacts`` on a daemon thread; returns the :class:`Service`.

    health: () → (healthy, detail dict); 200 ``{"status": "ok", ...detail}`` or 503 ``{"status": "unhealthy", ...}``.
    contacts: () → a JSON-able object (e.g. ``Tracker.snapshot()``). host: the address to bind, loopback by
    default; pass another only on purpose (a warning is logged). port: TCP port, 0 for an ephemeral one.
    Raises OSError with the address when the port cannot be bound.
    """
    if not host:
        raise ValueError("host must be an address; use 127.0.0.1 for loopback or 0.0.0.0 for every interface")
    if not is_loopback(host):
        log.warning("HTTP service bound to %s: /metrics, /healthz and /contacts are reachable from other hosts",
                    host)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        server = _Server((host, int(port)), _handler(registry, health, contacts), family=family,
                         max_connections=max(1, int(max_connections)))
    except OSError as exc:
        raise OSError(exc.errno, f"cannot serve HTTP on {host}:{port}: {exc.strerror or exc}; "
                                 "pick another port (0 for any free one)") from exc
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                              name=f"uwac-http-{server.server_address[1]}", daemon=True)
    thread.start()
    svc = Service(server, thread)
    log.info("HTTP service on %s (/healthz /metrics /contacts)", svc.url)
    return svc
