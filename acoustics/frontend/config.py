"""Front-end settings: the log-mel branch (flat, as before), the LOFAR and DEMON branches (nested).

Plain frozen dataclasses, written into every exported model's ``uwac.frontend`` metadata, so a model file
says exactly which features it hears. Units: Hz, samples, dB.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

BRANCHES = ("mel", "lofar", "demon")  # every branch a front-end may compute
# Absolute floor under the relative power floors (power of a full-scale ±1 input's frames): digital silence (a muted
# channel, a dead hydrophone) stays finite, and the floor sits ~100 dB under a 16-bit LSB's frame power, so gain
# invariance holds for any quantised audio. A max, not an added 1e-30: ONNX exporters fold a tiny added constant away.
SILENCE_POWER = 1e-20


@dataclass(frozen=True)
class LofarConfig:
    """LOFAR branch: low-pass + decimate, long Hann DFT frames, dB over a two-pass split-window background.

    decimation: integer factor from the model rate (16 kHz / 5 = 3200 Hz). fir_taps, fir_cutoff_hz,
    fir_beta: the Kaiser-windowed low-pass applied before decimating (stopband from fs/decimation − fmax, so
    nothing aliases into the kept band). n_fft, hop: frame length and hop in decimated samples (10240 at
    3200 Hz = 3.2 s, 0.3125 Hz bins; hop 3200 = 1 s, so frames line up with a 2-s decision hop and a stream
    reuses them). fmin, fmax: kept band [Hz]. tpsw_half_bins,
    tpsw_gap_bins: the split window's half-width and centre gap [bins]; tpsw_clip: pass 2 replaces bins above
    clip × the pass-1 background by it, so lines do not raise their own background. floor_rel: power floor
    relative to the frame's mean kept power (gain-invariant). clip_db: the output range before / 10.
    """

    decimation: int = 5
    fir_taps: int = 96
    fir_cutoff_hz: float = 1300.0
    fir_beta: float = 6.0
    n_fft: int = 10240
    hop: int = 3200
    fmin: float = 10.0
    fmax: float = 1000.0
    tpsw_half_bins: int = 24
    tpsw_gap_bins: int = 2
    tpsw_clip: float = 2.0
    floor_rel: float = 1e-6
    clip_db: tuple[float, float] = (-10.0, 40.0)


@dataclass(frozen=True)
class DemonConfig:
    """DEMON branch: per carrier band a complex band-pass, square-law envelope, low-pass + decimate, DFT frames.

    bands_hz: carrier bands [Hz] (cavitation carries blade-rate modulation at 2–10 kHz, moving lower as it
    grows: physics.md §3). carrier_taps / carrier_stride: the analytic band-pass (Kaiser-windowed, beta
    carrier_beta) and the rate its |·|² is taken at (16 kHz / 4 = 4 kHz, at least the band's width).
    envelope_taps / envelope_decimation / envelope_cutoff_hz: the envelope's low-pass and decimation
    (4 kHz / 16 = 250 Hz: modulation to 125 Hz). n_fft, hop: envelope frames (768 at 250 Hz = 3.07 s, 0.326 Hz
    bins; hop 250 = 1 s, lined up with a 2-s decision hop like LOFAR's). fmin, fmax: kept modulation band [Hz]. tpsw_*, floor_rel, clip_db: as LOFAR.
    """

    bands_hz: tuple[tuple[float, float], ...] = ((1000.0, 3000.0), (3000.0, 7000.0))
    carrier_taps: int = 48
    carrier_beta: float = 5.0
    carrier_stride: int = 4
    envelope_taps: int = 128
    envelope_decimation: int = 16
    envelope_cutoff_hz: float = 110.0
    envelope_beta: float = 6.0
    n_fft: int = 768
    hop: int = 250
    fmin: float = 0.5
    fmax: float = 100.0
    tpsw_half_bins: int = 9
    tpsw_gap_bins: int = 1
    tpsw_clip: float = 2.0
    floor_rel: float = 1e-6
    clip_db: tuple[float, float] = (-10.0, 40.0)


@dataclass(frozen=True)
class FrontendConfig:
    """Spectrogram front-end settings.

    sample_rate: Hz. n_fft, hop_length: samples of the log-mel branch (1024 / 400 at 16 kHz = 64 ms frames
    every 25 ms, 15.6 Hz bins). fmin, fmax: mel band edges in Hz (fmax None = Nyquist). floor_rel: power floor
    relative to the window's mean mel power (1e-8 = 80 dB below it); a relative floor keeps the features
    exactly gain-invariant. scale_db: the normalised log-mel is (dB − mean dB) / scale_db. mel_norm: ``window``
    (one mean over the window's mels and frames) or ``band`` (each mel band's own mean over the window's
    frames, so spectral colour weighs less than change in time). branches: which of :data:`BRANCHES` the
    front-end computes; lofar, demon: their settings.
    """

    sample_rate: int = 16000
    n_fft: int = 1024
    hop_length: int = 400
    n_mels: int = 64
    fmin: float = 10.0
    fmax: float | None = None
    floor_rel: float = 1e-8
    scale_db: float = 20.0
    mel_norm: str = "window"
    branches: tuple[str, ...] = ("mel",)
    lofar: LofarConfig = field(default_factory=LofarConfig)
    demon: DemonConfig = field(default_factory=DemonConfig)

    @property
    def f_max(self) -> float:
        return float(self.fmax) if self.fmax is not None else self.sample_rate / 2.0

    def n_frames(self, n_samples: int) -> int:
        """Log-mel frames for ``n_samples`` without centring; 0 when shorter than one frame."""
        return 0 if n_samples < self.n_fft else 1 + (n_samples - self.n_fft) // self.hop_length

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> FrontendConfig:
        """A config from :meth:`to_dict`'s output (or a YAML mapping): nested branches and lists as tuples."""
        data = dict(data or {})
        if "lofar" in data and isinstance(data["lofar"], dict):
            data["lofar"] = LofarConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in data["lofar"].items()})
        if "demon" in data and isinstance(data["demon"], dict):
            d = dict(data["demon"])
            if "bands_hz" in d:
                d["bands_hz"] = tuple(tuple(float(f) for f in b) for b in d["bands_hz"])
            data["demon"] = DemonConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})
        if "branches" in data:
            data["branches"] = tuple(data["branches"])
        return cls(**data)

    def validate(self) -> FrontendConfig:
        """Raise ``ValueError`` naming the setting that cannot work, and why."""
        unknown = [b for b in self.branches if b not in BRANCHES]
        if unknown or not self.branches or len(set(self.branches)) != len(self.branches):
            raise ValueError(f"frontend.branches {list(self.branches)}: choose distinct names among {list(BRANCHES)}")
        if self.mel_norm not in ("window", "band"):
            raise ValueError(f"frontend.mel_norm={self.mel_norm!r}; choose window or band")
        nyquist = self.sample_rate / 2.0
        if "lofar" in self.branches:
            lo = self.lofar
            rate = self.sample_rate / lo.decimation
            if not 0 < lo.fmin < lo.fmax < rate / 2:
                raise ValueError(f"frontend.lofar band {lo.fmin}-{lo.fmax} Hz must lie inside 0-{rate / 2:.1f} Hz "
                                 f"(the decimated Nyquist frequency)")
            if not lo.fmax <= lo.fir_cutoff_hz < rate - lo.fmax:
                raise ValueError(f"frontend.lofar.fir_cutoff_hz={lo.fir_cutoff_hz} must lie in [fmax, rate − fmax] = "
                                 f"[{lo.fmax}, {rate - lo.fmax:.1f}] Hz so nothing aliases into the kept band")
            if lo.hop < 1 or lo.n_fft < 16 or lo.tpsw_gap_bins >= lo.tpsw_half_bins:
                raise ValueError("frontend.lofar: hop ≥ 1, n_fft ≥ 16 and tpsw_gap_bins < tpsw_half_bins")
        if "demon" in self.branches:
            dm = self.demon
            carrier_rate = self.sample_rate / dm.carrier_stride
            for lo_hz, hi_hz in dm.bands_hz:
                if not 0 < lo_hz < hi_hz < nyquist:
                    raise ValueError(f"frontend.demon band {lo_hz}-{hi_hz} Hz must lie inside 0-{nyquist} Hz")
                if hi_hz - lo_hz > carrier_rate:
                    raise ValueError(f"frontend.demon band {lo_hz}-{hi_hz} Hz is wider than the {carrier_rate:.0f} Hz "
                                     "rate its envelope is taken at (carrier_stride)")
            env_rate = carrier_rate / dm.envelope_decimation
            if not 0 < dm.fmin < dm.fmax < dm.envelope_cutoff_hz < env_rate / 2:
                raise ValueError(f"frontend.demon: need 0 < fmin < fmax < envelope_cutoff_hz < {env_rate / 2:.1f} Hz "
                                 "(half the envelope rate)")
            if not dm.bands_hz or dm.hop < 1 or dm.tpsw_gap_bins >= dm.tpsw_half_bins:
                raise ValueError("frontend.demon: at least one band, hop ≥ 1 and tpsw_gap_bins < tpsw_half_bins")
        return self
