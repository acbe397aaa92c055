"""Raw interleaved PCM with no header: stdin (:class:`StdinSource`), TCP (:class:`TcpSource`, listen or
connect, with reconnects) and UDP datagrams with sequence numbers (:class:`UdpSource`, :class:`SequenceTracker`)."""

from __future__ import annotations

import errno
import ipaddress
import os
import select
import selectors
import socket
import sys
import time
from collections import deque
from collections.abc import Iterator, Sequence

from uwac.acoustics.stream.blocks import Block
from uwac.acoustics.stream.pcm import decode, frame_bytes, parse_format
from uwac.acoustics.stream.sources.base import POLL_S, Source, SourceError, _Pcm, log

_SEQ_MOD = 2 ** 32


def _fileno(stream) -> int | None:
    try:
        return int(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return None


class StdinSource(Source):
    """Raw interleaved PCM from a binary stream (default stdin) until EOF.

    ``fmt``: s16le/s24le/s32le/f32le; ``channels``; ``sample_rate`` (Hz, as declared: raw PCM has no header);
    ``block_frames``: frames per block (a shorter block is flushed when no data came for POLL_S s or at EOF).
    A stream with a file descriptor is polled with select (so close() is prompt) and read with ``os.read``.
    """

    EXTRA = ("partial_frames_dropped",)

    def __init__(self, stream=None, *, fmt: str, channels: int, sample_rate: int, block_frames: int = 4096):
        super().__init__()
        self.stream = sys.stdin.buffer if stream is None else stream
        self.fmt, self.channels, self.sample_rate = parse_format(fmt), int(channels), int(sample_rate)
        self.block_frames = int(block_frames)
        self._read_size = max(frame_bytes(self.fmt, self.channels) * self.block_frames, 4096)

    def _read(self, fd: int | None) -> bytes | None:
        """Some bytes, b'' at EOF, None when nothing came within POLL_S s."""
        if fd is not None:
            ready, _, _ = select.select([fd], [], [], POLL_S)
            return os.read(fd, self._read_size) if ready else None
        read = getattr(self.stream, "read1", None) or self.stream.read
        return read(self._read_size)

    def blocks(self) -> Iterator[Block]:
        """Blocks until EOF or close(); a partial frame left at EOF is logged and counted."""
        self._running = True
        pcm = _Pcm(self, fmt=self.fmt, channels=self.channels, sample_rate=self.sample_rate,
                   block_frames=self.block_frames)
        pcm.origin = "stdin"
        fd = _fileno(self.stream)
        try:
            while not self._stop.is_set():
                try:
                    data = self._read(fd)
                except OSError as exc:
                    log.error("stdin: read failed (%s); ending the source", exc)
                    break
                if data is None:
                    yield from pcm.flush()
                    continue
                if not data:
                    log.info("stdin: end of input after %d bytes", self.counters["bytes"])
                    break
                self.counters["bytes"] += len(data)
                yield from pcm.feed(data)
            yield from pcm.flush()
            pcm.drop_partial("the end of input")
        finally:
            self._running = False


def _keepalive(sock: socket.socket) -> None:
    """TCP keepalive after 10 s idle, so a digitizer that vanished is noticed in about half a minute."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for opt, val in (("TCP_KEEPIDLE", 10), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 3)):
            if hasattr(socket, opt):
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, opt), val)
    except OSError:
        pass


def parse_networks(specs: Sequence[str]) -> tuple:
    """``--allow-from`` entries (``10.0.0.5``, ``10.0.0.0/24``, ``::1``) as ip networks; ValueError names a bad one."""
    nets = []
    for spec in specs:
        try:
            nets.append(ipaddress.ip_network(str(spec).strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"--allow-from {spec!r}: not an IP address or network ({exc})") from exc
    return tuple(nets)


def peer_allowed(host: str, networks: tuple) -> bool:
    """True when the peer address lies in one of ``networks`` (IPv4-mapped IPv6 peers compared as IPv4)."""
    try:
        addr = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return any(addr.version == n.version and addr in n for n in networks)


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


class TcpSource(Source):
    """Raw PCM over TCP: ``listen=(host, port)`` for a digitizer that connects, or ``connect=(host, port)``.

    Listen: one digitizer at a time; when it disconnects the next connection continues the stream. A second
    connection while the open one delivers audio is refused (closed at once, counted as ``refused_connections``)
    so that no other client can take the stream over; it replaces the open one only when that one has been
    silent for ``takeover_idle_s`` s (a rebooted digitizer leaves its old connection half-open), or at once with
    ``takeover=True``. ``allow_from``: addresses or networks (``10.0.0.0/24``) whose connections are accepted
    (None: any; every other peer is refused and counted as ``refused_peers``).
    Connect: reconnects with exponential back-off from ``backoff[0]`` to ``backoff[1]`` s, one log line per try.
    A connection silent for ``stall_s`` s is dropped as dead. After any reconnect the first block has
    ``gap_samples`` = max(1, seconds without audio × rate). ``address``: the bound (host, port) in listen mode.
    """

    EXTRA = ("connections", "reconnects", "disconnects", "connect_failures", "stalls", "partial_frames_dropped",
             "refused_connections", "refused_peers")

    def __init__(self, *, listen: tuple[str, int] | None = None, connect: tuple[str, int] | None = None,
                 fmt: str, channels: int, sample_rate: int, block_frames: int = 4096,
                 backoff: tuple[float, float] = (0.5, 30.0), connect_timeout_s: float = 5.0, stall_s: float = 10.0,
                 takeover: bool = False, takeover_idle_s: float = 2.0, allow_from: Sequence[str] | None = None):
        super().__init__()
        if (listen is None) == (connect is None):
            raise ValueError("TcpSource needs exactly one of listen=(host, port) or connect=(host, port)")
        self.takeover, self.takeover_idle_s = bool(takeover), float(takeover_idle_s)
        self.allow_from = None if allow_from is None else parse_networks(allow_from)
        self.fmt, self.channels, self.sample_rate = parse_format(fmt), int(channels), int(sample_rate)
        self.block_frames = int(block_frames)
        self.backoff = (float(backoff[0]), float(max(backoff)))
        self.connect_timeout_s, self.stall_s = float(connect_timeout_s), float(stall_s)
        self.connect_to = connect
        self._server: socket.socket | None = None
        self._pending: tuple[socket.socket, str] | None = None
        self.address: tuple[str, int] | None = None
        if listen is not None:
            host, port = listen
            try:
                self._server = socket.create_server((host, int(port)), family=_family(host), backlog=4)
            except OSError as exc:
                raise SourceError(f"tcp: cannot listen on {host}:{port} ({exc}); pick a free port or another "
                                  "address") from exc
            self._server.settimeout(POLL_S)
            self.address = self._server.getsockname()[:2]

    def _release(self) -> None:
        for s in (self._server, self._pending[0] if self._pending else None):
            if s is not None:
                s.close()
        self._server, self._pending = None, None

    def _accept(self) -> tuple[socket.socket, str] | None:
        while not self._stop.is_set():
            if self._pending is not None:
                conn, self._pending = self._pending, None
                return conn
            try:
                sock, peer = self._server.accept()
            except TimeoutError:
                continue
            except OSError as exc:
                self._throttle.warning("accept", "tcp: accept failed (%s); still listening", exc)
                self._stop.wait(POLL_S)
                continue
            if self._allowed(sock, peer):
                return sock, f"{peer[0]}:{peer[1]}"
        return None

    def _allowed(self, sock: socket.socket, peer) -> bool:
        """True when ``peer`` may send audio; otherwise the socket is closed, counted and logged (throttled)."""
        if self.allow_from is None or peer_allowed(peer[0], self.allow_from):
            return True
        sock.close()
        self.counters["refused_peers"] += 1
        self._throttle.warning("peer", "tcp: connection from %s refused: not in --allow-from", peer[0])
        return False

    def _connect_once(self) -> socket.socket:
        host, port = self.connect_to
        family, kind, proto, _, addr = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            err = sock.connect_ex(addr)
            if err not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY):
                raise OSError(err, os.strerror(err))
            deadline = time.monotonic() + self.connect_timeout_s
            while err != 0:
                if self._stop.is_set():
                    raise InterruptedError("closed")
                _, ready, _ = select.select([], [sock], [], POLL_S)
                if ready:
                    err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        raise OSError(err, os.strerror(err))
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no answer within {self.connect_timeout_s:.1f} s")
            sock.settimeout(POLL_S)
            return sock
        except BaseException:
            sock.close()
            raise

    def _connect(self, delay: float) -> tuple[socket.socket, str] | None:
        """Connect, retrying with back-off starting at ``delay`` (0: try at once); None once closed."""
        host, port = self.connect_to
        while not self._stop.is_set():
            if delay and self._stop.wait(delay):
                return None
            try:
                return self._connect_once(), f"{host}:{port}"
            except InterruptedError:
                return None
            except OSError as exc:
                self.counters["connect_failures"] += 1
                delay = min(max(delay * 2, self.backoff[0]), self.backoff[1])
                log.warning("tcp: cannot connect to %s:%s (%s); retrying in %.1f s", host, port, exc, delay)
        return None

    def _receive(self, conn: socket.socket, peer: str) -> Iterator[bytes | None]:
        """Bytes from ``conn`` (None when idle for POLL_S s) until it closes, stalls, is replaced or close()."""
        sel = selectors.DefaultSelector()
        sel.register(conn, selectors.EVENT_READ)
        if self._server is not None:
            sel.register(self._server, selectors.EVENT_READ)
        last = time.monotonic()
        try:
            while not self._stop.is_set():
                ready = {key.fileobj for key, _ in sel.select(POLL_S)}
                if conn in ready:
                    try:
                        data = conn.recv(65536)
                    except (TimeoutError, BlockingIOError):
                        continue
                    except OSError as exc:
                        log.warning("tcp %s: connection lost (%s)", peer, exc)
                        return
                    if not data:
                        log.warning("tcp %s: digitizer closed the connection", peer)
                        return
                    last = time.monotonic()
                    self.counters["bytes"] += len(data)
                    yield data
                elif self._server is not None and self._server in ready:
                    try:
                        sock, addr = self._server.accept()
                    except OSError:
                        continue
                    if not self._allowed(sock, addr):
                        continue
                    idle = time.monotonic() - last
                    if not self.takeover and idle < self.takeover_idle_s:
                        sock.close()
                        self.counters["refused_connections"] += 1
                        self._throttle.warning("second", "tcp %s: second connection from %s refused while this "
                                               "one delivers audio (--tcp-takeover lets a new one replace it)",
                                               peer, f"{addr[0]}:{addr[1]}")
                        continue
                    self._pending = (sock, f"{addr[0]}:{addr[1]}")
                    log.warning("tcp %s: new connection from %s %s; switching to it", peer, self._pending[1],
                                "(--tcp-takeover)" if self.takeover else f"after {idle:.1f} s of silence")
                    return
                else:
                    if time.monotonic() - last > self.stall_s:
                        self.counters["stalls"] += 1
                        log.warning("tcp %s: no data for %.1f s; dropping the connection", peer, self.stall_s)
                        return
                    yield None
        finally:
            sel.close()

    def blocks(self) -> Iterator[Block]:
        """Blocks from successive connections until close()."""
        self._running = True
        pcm = _Pcm(self, fmt=self.fmt, channels=self.channels, sample_rate=self.sample_rate,
                   block_frames=self.block_frames)
        lost_since: float | None = None  # monotonic time audio stopped, while a gap is owed
        delay = 0.0
        try:
            while not self._stop.is_set():
                got = self._accept() if self._server is not None else self._connect(delay)
                if got is None:
                    break
                conn, peer = got
                _keepalive(conn)
                self.counters["connections"] += 1
                if self.counters["connections"] > 1:
                    self.counters["reconnects"] += 1
                log.info("tcp: digitizer %s connected (%s × %d ch at %d Hz assumed)", peer, self.fmt,
                         self.channels, self.sample_rate)
                pcm.origin, had_data = f"tcp {peer}", False
                try:
                    for data in self._receive(conn, peer):
                        if data is None:
                            yield from pcm.flush()
                            continue
                        if not had_data and lost_since is not None:
                            yield from pcm.gap(max(1, round((time.monotonic() - lost_since) * self.sample_rate)))
                            lost_since = None
                        had_data = True
                        yield from pcm.feed(data)
                finally:
                    conn.close()
                yield from pcm.flush()
                pcm.drop_partial("a disconnect")
                if self._stop.is_set():
                    break
                self.counters["disconnects"] += 1
                if lost_since is None and pcm.cursor:
                    lost_since = time.monotonic()
                delay = 0.0 if had_data else max(delay * 2, self.backoff[0])  # refused-at-once peers: back off
                delay = min(delay, self.backoff[1])
        finally:
            self._running = False
            self._release()


# ------------------------------------------------------------------------------------------------------ UDP


class SequenceTracker:
    """Classifies 32-bit packet sequence numbers (wrap-around included) as in order, late, duplicate or reset.

    ``check(seq)`` returns (verdict, missing): "ok" with the number of packets skipped before it; "late" (a
    packet behind the stream that was never received) and "duplicate" (one already received) are to be
    dropped; "reset" (more than ``window`` packets behind, or more than ``max_jump`` ahead: the sender
    restarted) starts counting afresh.
    """

    def __init__(self, window: int = 1024, max_jump: int = 2 ** 20):
        self.window, self.max_jump = int(window), int(max_jump)
        self.expected: int | None = None
        self._recent: deque[int] = deque(maxlen=self.window)
        self._seen: set[int] = set()

    def _remember(self, seq: int) -> None:
        if len(self._recent) == self._recent.maxlen:
            self._seen.discard(self._recent[0])
        self._recent.append(seq)
        self._seen.add(seq)

    def check(self, seq: int) -> tuple[str, int]:
        """(verdict, packets missing before ``seq``) and update the state for an accepted packet."""
        seq %= _SEQ_MOD
        if self.expected is None:
            verdict, missing = "ok", 0
        else:
            ahead = (seq - self.expected) % _SEQ_MOD
            behind = (self.expected - seq) % _SEQ_MOD
            if ahead < _SEQ_MOD // 2 and ahead <= self.max_jump:
                verdict, missing = "ok", ahead
            elif ahead >= _SEQ_MOD // 2 and behind <= self.window:
                return ("duplicate" if seq in self._seen else "late"), 0
            else:
                verdict, missing = "reset", 0
                self._recent.clear()
                self._seen.clear()
        self.expected = (seq + 1) % _SEQ_MOD
        self._remember(seq)
        return verdict, missing


class UdpSource(Source):
    """Raw PCM datagrams on ``bind=(host, port)``: each a 4-byte big-endian sequence number then whole frames.

    ``header="seq32"`` (the default) or ``"none"`` (no sequence number: losses cannot be seen). Lost packets
    give a gap of missing packets × frames of the last good packet; late packets are counted
    (``reordered_packets``) and dropped, as are duplicates and malformed datagrams (too short, or not a whole
    number of frames; one log line per 10 s). ``block_frames``: consecutive packets are joined into blocks of
    up to this many frames (flushed at a gap or when nothing came for POLL_S s). ``address``: the bound address.
    A sequence jump that claims more lost audio than the wall clock allows since the last packet (plus
    ``max_lead_s`` s of network jitter) cannot come from a real-time sender: it is a reset (the gap is the wall
    clock's), so one stray datagram cannot shift every later timestamp. ``allow_from``: as :class:`TcpSource`;
    datagrams from other peers are dropped and counted (``refused_peers``).
    """

    EXTRA = ("datagrams", "lost_packets", "reordered_packets", "duplicate_packets", "malformed",
             "sequence_resets", "socket_errors", "refused_peers")

    def __init__(self, *, bind: tuple[str, int], fmt: str, channels: int, sample_rate: int, header: str = "seq32",
                 block_frames: int = 4096, reorder_window: int = 1024, max_lead_s: float = 2.0,
                 allow_from: Sequence[str] | None = None):
        super().__init__()
        self.max_lead_s = float(max_lead_s)
        self.allow_from = None if allow_from is None else parse_networks(allow_from)
        if header not in ("seq32", "none"):
            raise ValueError(f"unknown UDP header {header!r}; use 'seq32' (4-byte big-endian sequence number) "
                             "or 'none'")
        self.fmt, self.channels, self.sample_rate = parse_format(fmt), int(channels), int(sample_rate)
        self.header, self.block_frames = header, int(block_frames)
        self.tracker = SequenceTracker(window=reorder_window)
        host, port = bind
        self._sock: socket.socket | None = socket.socket(_family(host), socket.SOCK_DGRAM)
        try:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)  # ride out scoring hiccups
        except OSError:
            pass
        try:
            self._sock.bind((host, int(port)))
        except OSError as exc:
            self._sock.close()
            raise SourceError(f"udp: cannot bind {host}:{port} ({exc}); pick a free port or another address") from exc
        self._sock.settimeout(POLL_S)
        self.address = self._sock.getsockname()[:2]

    def _release(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def blocks(self) -> Iterator[Block]:
        """Blocks from datagrams until close()."""
        self._running = True
        pcm = _Pcm(self, fmt=self.fmt, channels=self.channels, sample_rate=self.sample_rate,
                   block_frames=self.block_frames)
        hdr = 4 if self.header == "seq32" else 0
        fb = frame_bytes(self.fmt, self.channels)
        buf = bytearray(65536)
        last_frames, last_time = 0, time.monotonic()
        try:
            while not self._stop.is_set():
                try:
                    n, peer = self._sock.recvfrom_into(buf)
                except TimeoutError:
                    yield from pcm.flush()
                    continue
                except OSError as exc:
                    self.counters["socket_errors"] += 1
                    self._throttle.warning("udp-error", "udp: receive failed (%s)", exc)
                    self._stop.wait(0.01)
                    continue
                self.counters["datagrams"] += 1
                self.counters["bytes"] += n
                origin = f"udp {peer[0]}:{peer[1]}"
                if self.allow_from is not None and not peer_allowed(peer[0], self.allow_from):
                    self.counters["refused_peers"] += 1
                    self._throttle.warning("peer", "%s: datagram refused: not in --allow-from", origin)
                    continue
                if n < hdr + fb or (n - hdr) % fb:
                    self.counters["malformed"] += 1
                    self._throttle.warning("malformed", "%s: malformed datagram of %d bytes dropped (expected %s"
                                           "whole frames of %d bytes: %s × %d channel(s)); check the sender's "
                                           "--format, --channels and header", origin, n,
                                           "a 4-byte sequence number and " if hdr else "", fb, self.fmt,
                                           self.channels)
                    continue
                frames = (n - hdr) // fb
                if hdr:
                    verdict, missing = self.tracker.check(int.from_bytes(buf[:4], "big"))
                    elapsed = time.monotonic() - last_time
                    if missing and last_frames and missing * last_frames > (elapsed + self.max_lead_s) * \
                            self.sample_rate:
                        verdict, missing = "reset", 0  # more audio than the wall clock allows: not a loss
                    if verdict == "late":
                        self.counters["reordered_packets"] += 1
                        self._throttle.warning("late", "%s: late packet dropped (the stream had moved on)", origin)
                        continue
                    if verdict == "duplicate":
                        self.counters["duplicate_packets"] += 1
                        self._throttle.warning("dup", "%s: duplicate packet dropped", origin)
                        continue
                    if verdict == "reset":
                        self.counters["sequence_resets"] += 1
                        self._throttle.warning("reset", "%s: sequence number jumped (sender restarted, or a stray "
                                               "datagram); counting afresh, gap from the wall clock", origin)
                        yield from pcm.gap(max(1, round(elapsed * self.sample_rate)))
                    elif missing:
                        self.counters["lost_packets"] += missing
                        self._throttle.warning("lost", "%s: %d packet(s) lost", origin, missing)
                        yield from pcm.gap(missing * (last_frames or frames))
                if pcm.origin != origin:
                    yield from pcm.flush()
                    pcm.origin = origin
                last_frames, last_time = frames, time.monotonic()
                before = self.counters["nonfinite_samples"]
                x, _ = decode(memoryview(buf)[hdr:n], fmt=self.fmt, channels=self.channels, counters=self.counters)
                self._nonfinite(self.counters["nonfinite_samples"] - before, origin)
                yield from pcm.push(x)
            yield from pcm.flush()
        finally:
            self._running = False
            self._release()
