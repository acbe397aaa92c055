"""What a source hands the scorer: a block of float32 audio, where it sits in the stream, and what was lost."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Block:
    """Audio from a source.

    samples: float32 ``[n, channels]`` at full scale ±1.0 (non-finite samples already replaced by 0 and counted).
    sample_rate: Hz of ``samples`` (the scorer resamples to the model's rate).
    position: stream index of ``samples[0]`` in samples at ``sample_rate``, counting gaps: the position of the
    next block is ``position + n`` unless audio went missing, then ``gap_samples`` say how much.
    start_utc: UTC time of ``samples[0]`` in seconds since the epoch when the source knows it (a recorder file's
    name, a packet header), else None: event times then come from ``stream_start_utc + position / rate``.
    gap_samples: samples missing just before this block (lost packets, a hole between recorder files); the
    scorer flushes its ring buffer and reports a gap event instead of scoring across the hole.
    origin: where it came from (file name, peer address), for log lines and events.
    """

    samples: np.ndarray
    sample_rate: int
    position: int
    start_utc: float | None = None
    gap_samples: int = 0
    origin: str = ""

    @property
    def frames(self) -> int:
        """Samples per channel in this block."""
        return int(self.samples.shape[0])

    @property
    def channels(self) -> int:
        """Channels in this block."""
        return int(self.samples.shape[1])
