"""Blocks in, one batched onnxruntime call per hop out: resampling, per-channel ring buffers and windowing.

Each chosen channel keeps a mirrored ring of one window at the model's rate (every sample is written at i and
i + window, so the latest window is always one contiguous slice); a hop copies those slices into a
preallocated ``[channels, window]`` batch and runs the model once through an IO binding whose outputs are
preallocated too, so the steady-state hop allocates no arrays. Resampling (soxr, streaming, VHQ) happens
per block, before the ring; blocks already at the model's rate pass untouched.

With the model's streaming pair (``acoustics/split_model.py``) the hop is the pair's step and each hop computes
only the frames new since the window before (:class:`FrameCache`); the first window after a start, a gap or a
reload computes all of its frames.

Positions are counted in samples at the model's rate from the stream's start, gaps included, so every
window's time is ``position / sample_rate`` seconds of stream time and never the wall clock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from uwac.acoustics.contract import INPUT, OUTPUTS, ModelInfo
from uwac.acoustics.split_model import FrameCache, SplitModel
from uwac.acoustics.stream.blocks import Block

log = logging.getLogger(__name__)
# Input rates below the model's by more than this factor are refused: a WAV header claiming 1 Hz would otherwise
# turn 800 frames into 800 s of invented audio (issue 10, defect 9); no recorder this project reads is that slow.
MAX_UPSAMPLING = 8


class StreamFormatError(ValueError):
    """A block the scorer cannot use (too few channels for the ones chosen); the daemon counts and skips it."""


@dataclass
class Hop:
    """One scored hop: ``probabilities[i]`` belongs to ``channels[i]``; the window spans
    [start_s, end_s) of stream time (s). The arrays are the scorer's own buffers: copy what you keep."""

    start_s: float
    end_s: float
    channels: tuple[int, ...]
    probabilities: np.ndarray
    logits: np.ndarray
    compute_s: float = 0.0  # wall time of the onnxruntime call (s)
    physics: np.ndarray | None = None  # the model's physics estimates per channel (fields in ``uwac.physics``)


class Scorer:
    """Stateful scorer for one stream: ring buffers, resampler and the onnxruntime binding.

    ``channels``: the input channels to score (0-based), None for every channel of the first block.
    ``hop_samples``: samples between windows at the model's rate (default the model's hop, or the step of
    ``split``, the model's streaming pair, which then scores each hop from the frames it keeps).
    """

    def __init__(self, session, info: ModelInfo, *, channels: Sequence[int] | None = None,
                 hop_samples: int | None = None, split: SplitModel | None = None):
        self.session, self.info, self.split = session, info, split
        self.rate = info.sample_rate
        self.window = info.window_samples
        self._given_hop = hop_samples
        self.hop = self._hop(hop_samples)
        self.chosen = None if channels is None else tuple(int(c) for c in channels)
        self.position = 0  # samples at the model's rate consumed from the stream start, gaps included
        self.filled = 0  # samples in the ring since the last flush
        self.since_hop = 0  # samples since the last scored window
        self.scored = False  # a window has been scored since the last flush
        self.primed = False  # the frame cache holds the frames of the window one hop before the next
        self.cache: FrameCache | None = None
        # called with (stream position, model-rate audio [n, channels]) per block before scoring (the console's ring)
        self.tap: Callable[[int, np.ndarray], None] | None = None
        self._resampler = None
        self._resampler_key: tuple[int, int] | None = None
        self._allocate(len(self.chosen) if self.chosen is not None else None)

    def _hop(self, hop_samples: int | None) -> int:
        """Samples between windows: given, the pair's step, or the model's hop; ``ValueError`` when a given hop
        is not the pair's step (the kept frames would not line up)."""
        hop = int(hop_samples or (self.split.plan.step if self.split else self.info.hop_samples))
        if not 0 < hop:
            raise ValueError(f"hop must be at least one sample, got {hop}")
        if self.split is not None and hop != self.split.plan.step:
            raise ValueError(f"a hop of {hop} samples does not step the streaming pair (its step is "
                             f"{self.split.plan.step}); score whole or use the pair's step")
        return hop

    def _allocate(self, n_channels: int | None) -> None:
        """(Re)build the ring, batch and output buffers for ``n_channels`` (None: wait for the first block)."""
        self.n_channels = n_channels
        if n_channels is None:
            return
        n_classes = len(self.info.classes)
        self.ring = np.zeros((n_channels, 2 * self.window), dtype=np.float32)
        self.batch = np.zeros((n_channels, self.window), dtype=np.float32)
        self.probabilities = np.zeros((n_channels, n_classes), dtype=np.float32)
        self.logits = np.zeros((n_channels, n_classes), dtype=np.float32)
        dim = self._embedding_dim()
        self.embedding = np.zeros((n_channels, dim), dtype=np.float32)
        fields = len(self.info.physics.get("fields", [])) if "physics" in self._output_names() else 0
        self.physics = np.zeros((n_channels, fields), dtype=np.float32) if fields else None
        self._bind()
        self.primed = False
        self.cache = None
        if self.split is not None:
            outputs = dict(zip(OUTPUTS, (self.logits, self.probabilities, self.embedding), strict=True))
            if self.physics is not None:
                outputs["physics"] = self.physics
            self.cache = FrameCache(self.split, n_channels, outputs)

    def _output_names(self) -> list[str]:
        return [o.name for o in self.session.get_outputs()]

    def _embedding_dim(self) -> int:
        """Embedding width, from the session's output shape or, when symbolic, one silent run."""
        shape = {o.name: o.shape for o in self.session.get_outputs()}["embedding"]
        if isinstance(shape[-1], int):
            return shape[-1]
        return int(self.session.run(["embedding"], {INPUT: self.batch[:1]})[0].shape[-1])

    def _bind(self) -> None:
        """IO binding over the preallocated batch and outputs, so a hop runs without new arrays."""
        binding = self.session.io_binding()
        binding.bind_cpu_input(INPUT, self.batch)
        for name, buf in zip(OUTPUTS, (self.logits, self.probabilities, self.embedding), strict=True):
            binding.bind_output(name, "cpu", 0, np.float32, list(buf.shape), buf.ctypes.data)
        if self.physics is not None:
            binding.bind_output("physics", "cpu", 0, np.float32, list(self.physics.shape), self.physics.ctypes.data)
        self.binding = binding

    def set_session(self, session, info: ModelInfo, split: SplitModel | None = None) -> bool:
        """Swap the model (SIGHUP reload), with its streaming pair or none. Returns True when the ring had to be
        flushed: the new model's rate, window or classes differ, so the buffered audio and the open contacts no
        longer apply. The frame cache always starts again from the next window's own frames."""
        same = (info.sample_rate, info.window_samples, tuple(info.classes)) == \
               (self.rate, self.window, tuple(self.info.classes))
        self.session, self.info, self.split = session, info, split
        if not same:
            self.rate, self.window = info.sample_rate, info.window_samples
            self._given_hop = None  # a hop chosen for the old window may not fit the new one
            self._resampler, self._resampler_key = None, None
            self.filled = self.since_hop = 0
            self.scored = False
        self.hop = self._hop(self._given_hop)  # the pair's step may differ from the old hop
        self.since_hop = min(self.since_hop, self.hop)
        self._allocate(self.n_channels)
        return not same

    def seconds(self, position: int) -> float:
        """Stream time (s) of a position in model-rate samples."""
        return position / self.rate

    def gap(self, samples_at_rate: int, rate: int) -> tuple[float, float]:
        """Skip ``samples_at_rate`` missing samples (at ``rate`` Hz): flush the ring so no window spans the hole.
        Returns the gap's [start, end) in stream seconds."""
        start = self.position
        self.position += int(round(samples_at_rate * self.rate / rate))
        self.filled = self.since_hop = 0
        self.scored = self.primed = False
        if self._resampler is not None:  # its internal history belongs to audio before the hole
            self._resampler, self._resampler_key = None, None
        return self.seconds(start), self.seconds(self.position)

    def _select(self, block: Block) -> np.ndarray:
        """The chosen channels of a block as float32 ``[n, channels]``."""
        samples = block.samples
        if self.chosen is None:
            if self.n_channels is None:
                self._allocate(block.channels)
            if block.channels != self.n_channels:
                raise StreamFormatError(f"{block.origin or 'source'}: {block.channels} channel(s), the stream had "
                                        f"{self.n_channels}; pass --channels to choose which to score")
            return samples
        if max(self.chosen) >= block.channels:
            raise StreamFormatError(f"{block.origin or 'source'}: {block.channels} channel(s), but channel "
                                    f"{max(self.chosen)} (0-based) was chosen")
        return samples[:, self.chosen]

    def _resample(self, x: np.ndarray, rate: int) -> np.ndarray:
        """``x`` at the model's rate: soxr VHQ streaming, its state carried between blocks of one rate."""
        if rate == self.rate:
            return x
        import soxr

        key = (rate, x.shape[1])
        if self._resampler_key != key:
            if self._resampler_key is not None:
                log.warning("input rate or channels changed to %d Hz × %d; resampler restarted", *key)
            self._resampler = soxr.ResampleStream(rate, self.rate, x.shape[1], dtype="float32", quality="VHQ")
            self._resampler_key = key
        return self._resampler.resample_chunk(np.ascontiguousarray(x, dtype=np.float32))

    def push(self, block: Block, on_hop: Callable[[Hop], None]) -> int:
        """Feed a block; call ``on_hop`` for every window completed by it. Returns the number of hops scored.

        A block with ``gap_samples`` flushes first (:meth:`gap`). Raises :class:`StreamFormatError` for a
        block whose channels do not fit; the scorer's state is unchanged then.
        """
        if block.sample_rate * MAX_UPSAMPLING < self.rate:
            raise StreamFormatError(f"{block.origin or 'source'}: {block.sample_rate} Hz input for a {self.rate} Hz "
                                    f"model would be upsampled more than {MAX_UPSAMPLING}×, inventing audio that was "
                                    "never recorded; check the recorder's header or --rate")
        x = self._select(block)
        if block.gap_samples:
            self.gap(block.gap_samples, block.sample_rate)
        x = self._resample(x, int(block.sample_rate))
        if self.tap is not None:
            self.tap(self.position, x)
        hops, i, n, w = 0, 0, x.shape[0], self.window
        while i < n:
            take = min(w - self.filled if self.filled < w else self.hop - self.since_hop, n - i, w)
            self._write(x[i:i + take])
            i += take
            self.position += take
            if self.filled < w:
                self.filled += take
            else:
                self.since_hop += take
            if self.filled == w and (not self.scored or self.since_hop >= self.hop):
                self._score(on_hop)
                hops += 1
        return hops

    def _write(self, x: np.ndarray) -> None:
        """Append ``x [n, channels]`` to the mirrored rings (n ≤ window)."""
        w, n = self.window, x.shape[0]
        head = self.position % w
        first = min(n, w - head)
        xt = x.T
        self.ring[:, head:head + first] = xt[:, :first]
        self.ring[:, head + w:head + w + first] = xt[:, :first]
        if first < n:
            rest = n - first
            self.ring[:, :rest] = xt[:, first:]
            self.ring[:, w:w + rest] = xt[:, first:]

    def _score(self, on_hop: Callable[[Hop], None]) -> None:
        """Run the model on the latest window of every channel and hand the result on."""
        w = self.window
        start = self.position % w
        t0 = time.perf_counter()
        if self.cache is not None:  # the copies of the latest window's spans are part of its cost
            self.cache.score(self.ring[:, start:start + w], primed=self.primed)
        else:
            np.copyto(self.batch, self.ring[:, start:start + w])
            t0 = time.perf_counter()
            self.session.run_with_iobinding(self.binding)
        compute_s = time.perf_counter() - t0
        self.since_hop, self.scored, self.primed = 0, True, True
        chans = self.chosen if self.chosen is not None else tuple(range(self.n_channels))
        on_hop(Hop(start_s=self.seconds(self.position - w), end_s=self.seconds(self.position), channels=chans,
                   probabilities=self.probabilities, logits=self.logits, compute_s=compute_s, physics=self.physics))
