"""``uwac stream``: a source thread feeding a bounded queue, one scoring loop, events on disk, HTTP on loopback.

The source runs in its own thread and puts blocks on a bounded queue. A file, a directory or stdin waits when
the queue is full; a network source (TCP, UDP) cannot hold the sender back, so the oldest block is dropped,
counted (``uwac_input_dropped_samples_total``) and turned into a gap, never silently lost. The main thread
scores every block (:class:`~acoustics.stream.scorer.Scorer`), tracks contacts
(:class:`~acoustics.stream.tracker.Tracker`) and writes each event fsync'd before the directory source's journal
may move past its audio. SIGTERM/SIGINT drain the queue, end open contacts (reason ``shutdown``) and exit 0;
SIGHUP reloads the model file: a file that fails to load or breaks the contract is refused and the old model
keeps running.

After a restart (SIGKILL, power loss) the journal replays audio from the last commit; events whose stream time
is not after the last event on disk are already there and are not written again, and contacts the log shows
open are ended first (reason ``restart``), so the log never holds a contact that never ends.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from uwac.acoustics.contract import ModelError, load_session
from uwac.acoustics.resources import data_path
from uwac.acoustics.split_model import load_split
from uwac.acoustics.stream import sources as src
from uwac.acoustics.stream.blocks import Block
from uwac.acoustics.stream.events import EventWriter, OutFolderError, read_events
from uwac.acoustics.stream.raven import RavenTable
from uwac.acoustics.stream.scorer import Hop, Scorer, StreamFormatError
from uwac.acoustics.stream.service import HealthCheck, is_loopback, serve
from uwac.acoustics.stream.sources.base import Throttle
from uwac.acoustics.stream.telemetry import stream_metrics
from uwac.acoustics.stream.tracker import Tracker, TrackerConfig

log = logging.getLogger(__name__)

# Network sources cannot pause the sender, so a full queue drops (counted, reported as a gap); files and stdin
# wait instead (a pipe's writer blocks, so `cat rec.raw | uwac stream` loses nothing).
LIVE_KINDS = ("tcp", "tcp-listen", "udp")
DEFAULT_MODEL = data_path("models", "uwac-default.onnx")
PLAIN_COUNTS = ("bytes", "blocks", "frames", "datagrams", "connections")  # volume, not failures: not in /metrics
COMMIT_EVERY_S = 5.0  # journal writes are fsync'd: every few seconds of audio, not every block
DROP_LOG_EVERY_S = 10.0  # at most one "queue full" line per this many seconds (the counter has every frame)


@dataclass
class StreamConfig:
    """Everything ``uwac stream`` needs; the CLI fills it from flags, tests build it directly.

    source: ``file:PATH`` (or a plain path to a file), ``dir:PATH`` (or a plain path to a folder), ``stdin``,
    ``tcp:HOST:PORT`` (connect to a digitizer), ``tcp-listen:HOST:PORT``, ``udp:HOST:PORT`` (bind).
    fmt / in_channels / in_rate: raw PCM format, channel count and sample rate (Hz) of stdin/TCP/UDP input.
    channels: input channels to score (0-based; None: all). hop_s: hop override (s; None: the model's).
    out: folder for events (JSON lines), the Raven table and the directory journal. http: (host, port) or
    None for no HTTP; threads: onnxruntime intra-op threads; providers: execution providers.
    queue_blocks: bound of the source → scorer queue. start_utc: UTC (epoch s) of stream time 0 when neither the
    source nor the journal says (None: the wall clock when the first block arrives). tcp_takeover: a new
    ``tcp-listen`` client replaces a live one (default: refused while the open one sends). allow_from: peer
    addresses or networks a network source accepts; required when it binds other than loopback. settle_s: a
    recorder file counts as closed once unchanged this long (s; longer than the recorder's longest pause).
    split: score through the model's streaming pair when one is beside it (``M.frames.onnx``/``M.head.onnx``:
    each hop computes only its new frames; the hop is the pair's step unless ``hop_s`` overrides it).
    console: serve the operator console on the HTTP address (``/console``); console_token: its access token
    (None: ``UWAC_CONSOLE_TOKEN`` or a new one, written to ``out/console.token``; required to bind the console
    other than loopback); console_keep_s: seconds of audio per channel kept on disk for clips.
    """

    model: Path
    source: str
    out: Path
    fmt: str = "s16le"
    in_channels: int = 1
    in_rate: int = 16000
    channels: tuple[int, ...] | None = None
    hop_s: float | None = None
    http: tuple[str, int] | None = ("127.0.0.1", 9750)
    threads: int = 1
    providers: str | None = None
    allow_rejected: bool = False
    raven: bool = True
    follow: bool = True
    queue_blocks: int = 64
    block_seconds: float = 1.0
    start_utc: float | None = None
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    tcp_takeover: bool = False
    allow_from: tuple[str, ...] | None = None
    settle_s: float = 2.0
    split: bool = True
    console: bool = False
    console_token: str | None = None
    console_keep_s: float = 600.0


def prepare_out(out: Path) -> Path:
    """Create the events folder and prove it writable (a probe file, fsync'd and removed); ``ValueError`` names
    what is wrong (a file in the way, no permission, a full disk) before any audio is read."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a folder: give a folder for the events and the journal")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".uwac-write-probe-{os.getpid()}"
        with open(probe, "wb") as f:
            f.write(b"ok")
            os.fsync(f.fileno())
        probe.unlink()
    except OSError as exc:
        raise ValueError(f"--out {out} cannot hold events ({exc.strerror or exc}); give a writable folder") from exc
    return out


def source_kind(spec: str) -> tuple[str, str]:
    """(kind, rest) of a source spec; a bare path is ``file`` or ``dir`` by what it names."""
    for kind in ("file", "dir", "tcp-listen", "tcp", "udp"):
        if spec.startswith(kind + ":"):
            return kind, spec[len(kind) + 1:]
    if spec in ("stdin", "-"):
        return "stdin", ""
    return ("dir" if Path(spec).is_dir() else "file"), spec


def _host_port(rest: str, spec: str) -> tuple[str, int]:
    host, _, port = rest.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"source {spec!r}: expected HOST:PORT after the kind, e.g. tcp:192.168.1.20:5000")
    return host.strip("[]"), int(port)


def open_source(cfg: StreamConfig) -> src.Source:
    """The source a spec names (see :class:`StreamConfig`); raises ``SourceError``/``ValueError`` with the reason."""
    kind, rest = source_kind(cfg.source)
    raw = {"fmt": cfg.fmt, "channels": cfg.in_channels, "sample_rate": cfg.in_rate}
    if kind == "file":
        return src.FileSource(rest, block_seconds=cfg.block_seconds)
    if kind == "dir":
        if not (cfg.settle_s >= 0 and math.isfinite(cfg.settle_s)):
            raise ValueError(f"--settle {cfg.settle_s}: give the seconds a recorder file must stand still")
        return src.DirectorySource(rest, journal=Path(cfg.out) / "journal.json", follow=cfg.follow,
                                   block_seconds=cfg.block_seconds, settle_s=cfg.settle_s)
    if cfg.in_rate <= 0 or cfg.in_channels <= 0:
        raise ValueError(f"--rate {cfg.in_rate} Hz and --in-channels {cfg.in_channels} must be positive: say what "
                         "the digitizer sends")
    if kind == "stdin":
        return src.StdinSource(**raw)
    if kind == "tcp":
        return src.TcpSource(connect=_host_port(rest, cfg.source), **raw)
    host_port = _host_port(rest, cfg.source)
    if kind in ("tcp-listen", "udp") and cfg.allow_from is None and not is_loopback(host_port[0]):
        raise ValueError(f"source {cfg.source!r} accepts audio from the network: name the digitizer(s) with "
                         "--allow-from ADDRESS[/PREFIX] (or bind 127.0.0.1 and tunnel)")
    if kind == "tcp-listen":
        return src.TcpSource(listen=host_port, takeover=cfg.tcp_takeover, allow_from=cfg.allow_from, **raw)
    return src.UdpSource(bind=host_port, allow_from=cfg.allow_from, **raw)


class Daemon:
    """One stream: the model, the source thread, the scoring loop, the event log and the HTTP service."""

    def __init__(self, cfg: StreamConfig):
        self.cfg = cfg
        self.out = prepare_out(Path(cfg.out))
        self.session, self.info, self.split = self._load_model()
        self.live = source_kind(cfg.source)[0] in LIVE_KINDS
        self.source = open_source(cfg)
        hop = None if cfg.hop_s is None else int(round(cfg.hop_s * self.info.sample_rate))
        self.scorer = Scorer(self.session, self.info, channels=cfg.channels, hop_samples=hop, split=self.split)
        self.metrics = stream_metrics(self.info.classes)
        self.health = HealthCheck(self.scorer.hop / self.info.sample_rate)
        self.health.detail.update(model=str(cfg.model), source=cfg.source)
        self.writer = EventWriter(self.out)
        self.raven = RavenTable(self.out / "contacts.selections.txt", high_freq_hz=self.info.sample_rate / 2) \
            if cfg.raven else None
        # A replayable source resumes its stream time from the journal (or the file's start), so after a restart
        # events at or before the last one on disk are already there. A raw stream restarts its time at 0.
        self.last_logged_s = (self.writer.last_event or {}).get("time_s")  # stream time of the last event on disk
        self.replay_until = self.last_logged_s if source_kind(cfg.source)[0] in ("file", "dir") else None
        self.recovered_open, ended = self._contacts_in_log()
        self._held_starts: dict[str, dict] = {}  # contact_start events a replay held back, by contact id
        if self.raven is not None:
            self._reconcile_raven(ended)
        self.origin_utc: float | None = cfg.start_utc
        self.tracker: Tracker | None = None
        self.queue: queue.Queue = queue.Queue(maxsize=max(1, cfg.queue_blocks))
        self.stopping = threading.Event()
        self.reload_requested = threading.Event()
        self.dropped_frames = 0  # frames dropped at the queue since the last block that went through (live only)
        self._dropped_total, self._drop_logged_at = 0, -math.inf
        self._throttle = Throttle(logger=log)  # a recurring bad block: one line, then a count every 10 s
        self.source_error: BaseException | None = None
        self.out_error: OutFolderError | None = None
        self._last_commit_s = -math.inf
        self._audio_s = 0.0  # audio scored [s]
        self._offered_s = 0.0  # audio offered [s]: scored, plus dropped and lost for a live source
        self._busy_s = 0.0
        self._started_at: float | None = None
        self.service = None
        self.margin: float | None = None  # real-time margin (audio s per busy s), for the console
        self.console = self._console_hooks()
        if cfg.http is not None:
            routes = None if self.console is None else self.console.routes(loopback=is_loopback(cfg.http[0]))
            self.service = serve(self.metrics.registry, health=self.health, contacts=self._contacts,
                                 host=cfg.http[0], port=cfg.http[1], routes=routes)
            if self.console is not None:
                self.console.started(self.service)
                self.scorer.tap = self.console.audio

    def _console_hooks(self):
        """The operator console's hooks when ``cfg.console`` (checked: it needs HTTP, and a token off loopback)."""
        if not self.cfg.console:
            return None
        if self.cfg.http is None:
            raise ValueError("--console is served on the HTTP address: drop --no-http")
        if not is_loopback(self.cfg.http[0]) and not (self.cfg.console_token or os.environ.get("UWAC_CONSOLE_TOKEN")):
            raise ValueError(f"--console on {self.cfg.http[0]} (not loopback) needs an access token: pass "
                             "--console-token TOKEN or set UWAC_CONSOLE_TOKEN, or reach a loopback console "
                             "through an SSH tunnel")
        from uwac.acoustics.console.wiring import Hooks

        return Hooks(self, token=self.cfg.console_token, keep_s=self.cfg.console_keep_s)

    # -- set-up helpers ---------------------------------------------------------------------------------------

    def _load_model(self):
        """(session, info, streaming pair or None) of the configured model file, checked for what the daemon
        needs (``ambient`` among the classes, besides the contract's own checks); raises :class:`ModelError`.
        A pair that cannot serve the file is logged and the file scored whole."""
        session, info = load_session(self.cfg.model, threads=self.cfg.threads, providers=self.cfg.providers,
                                     allow_rejected=self.cfg.allow_rejected)
        if "ambient" not in info.classes:
            raise ModelError(f"{self.cfg.model}: classes {list(info.classes)} lack 'ambient', which the contact "
                             "tracker needs to tell a contact from the sea; export a model trained with it")
        return session, info, self._load_split(session, info)

    def _load_split(self, session, info):
        """The model's streaming pair when wanted, present, sound and stepping at the chosen hop; else None."""
        if not self.cfg.split:
            return None
        try:
            split = load_split(self.cfg.model, session, info, threads=self.cfg.threads, providers=self.cfg.providers)
        except ModelError as exc:
            log.warning("streaming pair not used, every window is scored whole: %s", exc)
            return None
        if split is not None and self.cfg.hop_s is not None and \
                int(round(self.cfg.hop_s * info.sample_rate)) != split.plan.step:
            log.info("--hop %.3f s is not the streaming pair's step (%.3f s): every window is scored whole",
                     self.cfg.hop_s, split.step_seconds)
            return None
        return split

    def _contacts_in_log(self) -> tuple[dict[str, dict], list[dict]]:
        """One pass over the event log: contacts started but not ended (a previous run was killed mid-contact),
        and every ``contact_end`` event."""
        open_: dict[str, dict] = {}
        ended: list[dict] = []
        for event in read_events(self.out):
            if event.get("type") == "contact_start":
                open_[event["contact"]] = event
            elif event.get("type") == "contact_end":
                open_.pop(event.get("contact"), None)
                ended.append(event)
        return open_, ended

    def _reconcile_raven(self, ended: list[dict]) -> None:
        """Add a Raven row for every ended contact of the event log that lacks one (a kill between the event's
        fsync and the row's)."""
        have = self.raven.contacts()
        added = 0
        for event in ended:
            if event.get("end_s") is not None and str(event.get("contact")) not in have:
                self.raven.add(event)
                have.add(str(event.get("contact")))
                added += 1
        if added:
            log.warning("Raven table: %d ended contact(s) from the event log had no row (a crash between the two "
                        "writes); rows added", added)

    def _contacts(self) -> dict:
        return self.tracker.snapshot() if self.tracker is not None else {"open": [], "recent": []}

    def _utc_of(self, t_s: float) -> float | None:
        return None if self.origin_utc is None else self.origin_utc + t_s

    def _start_stream(self, block: Block) -> None:
        """First block: anchor stream time (its position) and UTC, then build the tracker."""
        rate = self.info.sample_rate
        before_gap = block.position - block.gap_samples  # the scorer adds the block's gap itself
        self.scorer.position = int(round(before_gap * rate / block.sample_rate))
        t0 = before_gap / block.sample_rate
        if self.origin_utc is None:
            self.origin_utc = (block.start_utc - t0) if block.start_utc is not None else time.time() - t0
        n_channels = len(self.cfg.channels) if self.cfg.channels is not None else block.channels
        chans = self.cfg.channels if self.cfg.channels is not None else tuple(range(n_channels))
        self.tracker = Tracker(self.info.classes, hop_s=self.scorer.hop / rate,
                               unknown_threshold=self.info.unknown_threshold, config=self.cfg.tracker,
                               utc_of=self._utc_of, channels=chans)
        last_utc = (self.writer.last_event or {}).get("utc")  # the previous run's clock, not this run's
        for cid, start in self.recovered_open.items():
            end = {"type": "contact_end", "contact": cid, "channel": start.get("channel"), "class": start.get("class"),
                   "fine_class": start.get("fine_class"), "confidence": start.get("confidence"),
                   "scores": start.get("scores"), "start_s": start.get("start_s"), "start_utc": start.get("start_utc"),
                   "end_s": self.last_logged_s, "end_utc": last_utc, "time_s": self.last_logged_s, "utc": last_utc,
                   "reason": "restart"}
            self._emit(end, force=True)
        self.recovered_open.clear()

    # -- the source thread ------------------------------------------------------------------------------------

    def _produce(self) -> None:
        """Source thread: blocks onto the queue; live sources drop the oldest block when the queue is full."""
        try:
            for block in self.source.blocks():
                if self.stopping.is_set():
                    break
                if not self.live:
                    while not self.stopping.is_set():
                        try:
                            self.queue.put(block, timeout=0.25)
                            break
                        except queue.Full:
                            continue
                    continue
                while True:
                    try:
                        self.queue.put_nowait(block)
                        break
                    except queue.Full:
                        try:
                            old = self.queue.get_nowait()
                        except queue.Empty:
                            continue
                        self.dropped_frames += old.frames
                        self.metrics.input_dropped.inc(old.frames)
                        self._dropped_total += old.frames
                        now = time.monotonic()
                        if now - self._drop_logged_at >= DROP_LOG_EVERY_S:
                            self._drop_logged_at = now
                            log.warning("input queue full: %d frame(s) of %s dropped so far (reported as gaps); "
                                        "scoring is slower than the input: use fewer channels or a faster model",
                                        self._dropped_total, old.origin or "the source")
        except Exception as exc:  # the loop reports it; a source failure must not die silently
            self.source_error = exc
            log.error("source %s failed: %s", self.cfg.source, exc)
            self.health.fail(f"source failed: {exc}")
        finally:
            self.queue.put(None)  # end of stream

    # -- the scoring loop -------------------------------------------------------------------------------------

    def _emit(self, event: dict, *, force: bool = False) -> None:
        """Write one event (fsync'd) unless a replay after restart already wrote it; update metrics and Raven."""
        t = event.get("time_s")
        cid = event.get("contact")
        if not force and self.replay_until is not None and t is not None and t <= self.replay_until:
            if event.get("type") == "contact_start" and cid is not None:
                self._held_starts[cid] = event  # a contact the replay re-detects: its start may be needed yet
            return
        held = self._held_starts.pop(cid, None) if cid is not None else None
        if held is not None and event.get("type") != "contact_start":
            # the contact goes on past what was on disk: its start comes first, so no event is an orphan
            self.writer.write({**held, "replayed": True})
            self.metrics.contacts.labels(str(held.get("class"))).inc()
        self.writer.write(event)
        kind = event.get("type")
        if kind == "contact_start":
            self.metrics.contacts.labels(str(event.get("class"))).inc()
        elif kind == "contact_end" and self.raven is not None and event.get("end_s") is not None:
            self.raven.add(event)
        elif kind == "gap":
            self.metrics.gaps.inc()
        if self.tracker is not None:
            self.metrics.open_contacts.set(self.tracker.open_contacts)
        if self.console is not None:
            self.console.event(event)

    def _on_hop(self, hop: Hop) -> None:
        t0 = time.perf_counter()
        skipped = self.tracker.skipped_hops
        for event in self.tracker.update_many(hop.channels, hop.probabilities, hop.start_s, hop.end_s):
            self._emit(event)
        skipped = self.tracker.skipped_hops - skipped
        if skipped:
            self.metrics.hops_skipped.inc(skipped)
        if skipped == len(hop.channels):
            return  # nothing scored: not a hop, and not a sign of life for /healthz
        self.metrics.hops.inc()
        self.metrics.hop_latency.observe(time.perf_counter() - t0 + hop.compute_s)
        self.health.hop()
        if self.console is not None:
            self.console.hop(hop)

    def _handle(self, block: Block) -> None:
        """Score one block: gaps (source holes and queue drops) first, then windows."""
        if self.tracker is None:
            self._start_stream(block)
        if self.dropped_frames:
            block.gap_samples += self.dropped_frames
            self.dropped_frames = 0
        if block.gap_samples:
            start_s = self.scorer.seconds(self.scorer.position)
            end_s = start_s + block.gap_samples / block.sample_rate
            for event in self.tracker.gap(None, start_s, end_s):
                self._emit(event)
        t0 = time.perf_counter()
        try:
            self.scorer.push(block, self._on_hop)
        except StreamFormatError as exc:
            self.metrics.input_malformed.inc()
            self._throttle.error(type(exc).__name__ + str(exc)[:60], "%s; block skipped", exc)
            return
        self.writer.check_directory()  # the journal may move past this audio only while its events are safe
        self._commit(block)
        self._account(block, time.perf_counter() - t0)

    def _account(self, block: Block, busy_s: float) -> None:
        """Real-time margin: audio scored per busy second (scoring, events, journal), divided for a live source
        by the rate audio is offered at (scored + dropped per wall second), so a margin below 1 means input is
        being dropped."""
        seconds = block.frames / block.sample_rate
        self._audio_s += seconds
        self._offered_s += seconds + block.gap_samples / block.sample_rate if self.live else seconds
        self._busy_s += busy_s
        if self._started_at is None:
            self._started_at = time.monotonic()
        if self._busy_s <= 0:
            return
        margin = self._audio_s / self._busy_s
        wall = time.monotonic() - self._started_at
        if self.live and wall > 1.0:
            margin /= max(1.0, self._offered_s / wall)
        self.metrics.realtime_margin.set(margin)
        self.margin = margin

    def _commit(self, block: Block) -> None:
        """Tell a replayable source it may forget audio a window before the end of this block (journal)."""
        end_s = (block.position + block.frames) / block.sample_rate
        if end_s - self._last_commit_s < COMMIT_EVERY_S:
            return
        keep = int(math.ceil(self.info.window_seconds * block.sample_rate))
        self.source.commit(max(0, block.position + block.frames - keep))
        self._last_commit_s = end_s

    def _sync_counters(self, seen: dict) -> None:
        """Move the source's and the HTTP service's counters into the metrics: lost packets, malformed input and
        NaN samples in their own series, every other count the source keeps under ``uwac_source_events_total``."""
        counts = dict(self.source.counters)
        if self.service is not None:
            counts.update(http_refused=self.service.refused, http_timed_out=self.service.timed_out)
        named = {"lost_packets": self.metrics.input_lost, "malformed": self.metrics.input_malformed,
                 "nonfinite_samples": self.metrics.nonfinite, "http_refused": self.metrics.http_refused,
                 "http_timed_out": self.metrics.http_timed_out}
        for key, value in counts.items():
            if key in PLAIN_COUNTS:
                continue
            new = value - seen.get(key, 0)
            if new > 0:
                (named.get(key) or self.metrics.source_events.labels(key)).inc(new)
                seen[key] = value

    def reload(self) -> bool:
        """Swap in the model file again (SIGHUP). A bad file is refused and the running model kept."""
        try:
            session, info, split = self._load_model()
        except ModelError as exc:
            self.metrics.model_reloads.labels("refused").inc()
            log.error("model reload refused, the running model stays: %s", exc)
            return False
        flushed = self.scorer.set_session(session, info, split)
        if flushed and self.tracker is not None:
            for event in self.tracker.close_all("reload"):
                self._emit(event)
            self.tracker = None  # rebuilt on the next block with the new classes and hop
        self.session, self.info, self.split = session, info, split
        self.metrics.model_reloads.labels("ok").inc()
        log.info("model reloaded from %s", self.cfg.model)
        return True

    def run(self) -> int:
        """Run until the source ends or SIGTERM; returns the exit status: 0, 1 when the source failed, 3 when
        the events folder vanished (nothing after that point was committed, so a restart re-scores it)."""
        producer = threading.Thread(target=self._produce, name="uwac-source", daemon=True)
        producer.start()
        self.metrics.up.set(1)
        seen: dict = {}
        try:
            while True:
                if self.reload_requested.is_set():
                    self.reload_requested.clear()
                    self.reload()
                try:
                    block = self.queue.get(timeout=0.25)
                except queue.Empty:
                    self._sync_counters(seen)  # refused peers and the like count even while no audio comes
                    self.writer.check_directory()
                    if self.stopping.is_set() and not producer.is_alive():
                        break
                    continue
                if block is None:
                    break
                self._handle(block)
                self._sync_counters(seen)
        except OutFolderError as exc:
            self.out_error = exc
            log.critical("%s; stopping without committing more audio (exit 3)", exc)
            self.health.fail(str(exc))
        finally:
            self._sync_counters(seen)
            self.shutdown(producer)
        if self.out_error is not None:
            return 3
        return 1 if self.source_error is not None else 0

    def request_stop(self, *_) -> None:
        """SIGTERM/SIGINT: stop the source; the loop drains what is queued and ends open contacts."""
        log.info("stopping: draining the queue and ending open contacts")
        self.stopping.set()
        self.source.close()

    def request_reload(self, *_) -> None:
        """SIGHUP: reload the model at the next loop turn."""
        self.reload_requested.set()

    def install_signals(self) -> None:
        """SIGTERM/SIGINT stop, SIGHUP reloads (main thread only)."""
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        if hasattr(signal, "SIGHUP"):
            signal.signal(signal.SIGHUP, self.request_reload)

    def shutdown(self, producer: threading.Thread | None = None) -> None:
        """End open contacts, flush the journal, close the writer and the HTTP service."""
        self.source.close()
        if producer is not None:
            producer.join(timeout=5.0)
        if self.tracker is not None and self.out_error is None:
            try:
                for event in self.tracker.close_all("shutdown"):
                    self._emit(event)
            except OutFolderError as exc:
                self.out_error = exc
                log.critical("%s; open contacts could not be ended", exc)
        self.metrics.up.set(0)
        self.writer.close()
        if self.service is not None:
            self.service.close()
        if self.console is not None:
            self.console.close()


def run_stream(cfg: StreamConfig, *, install_signals: bool = True) -> int:
    """Build the daemon, run it to the end of the stream or SIGTERM; returns the exit status."""
    daemon = Daemon(cfg)
    if install_signals:
        daemon.install_signals()
    where = daemon.service.url if daemon.service is not None else "no HTTP"
    log.info("uwac stream: %s on %s (%d Hz, window %.2f s, hop %.2f s%s); events in %s; %s", cfg.model, cfg.source,
             daemon.info.sample_rate, daemon.info.window_seconds, daemon.scorer.hop / daemon.info.sample_rate,
             ", streaming pair: new frames only" if daemon.split else "", daemon.out, where)
    if daemon.console is not None:
        log.info("operator console at %s/console (access token in %s)", daemon.service.url,
                 daemon.out / "console.token")
    return daemon.run()
