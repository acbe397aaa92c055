"""Classic passive-sonar analyses in numpy: LOFARgram (narrowband lines) and DEMON (cavitation modulation).

LOFAR shows tonal lines (shaft, blade, firing, generator) as a long-window spectrogram, with the
broadband background removed so lines stand out. DEMON (Demodulation of Envelope Modulation On
Noise) recovers the shaft and blade rates that modulate cavitation noise: band-pass, square-law
envelope, decimate, spectrum of the envelope.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal


@dataclass(frozen=True)
class Lofar:
    """LOFARgram: ``db`` [n_freq, n_frames] in dB re full scale²/Hz, ``lines_db`` with the background removed."""

    freqs_hz: np.ndarray
    times_s: np.ndarray
    db: np.ndarray
    lines_db: np.ndarray


def lofar(audio: np.ndarray, sample_rate: int, *, window_s: float = 1.0, overlap: float = 0.5,
          fmax_hz: float | None = 1000.0, background_hz: float | None = 20.0) -> Lofar:
    """Long-window power spectrogram up to ``fmax_hz`` (1 Hz bins for a 1 s window).

    ``lines_db`` subtracts a running median over ``background_hz`` of frequency from each frame
    (a split-window normaliser in the spirit of TPSW), so narrowband lines stand above ~0 dB;
    ``background_hz=None`` skips it (``lines_db`` is then ``db``).
    """
    x = np.asarray(audio, dtype=np.float64)
    nper = int(round(window_s * sample_rate))
    if x.size < nper:
        raise ValueError(f"audio of {x.size / sample_rate:.2f} s is shorter than the {window_s} s LOFAR window")
    f, t, p = signal.spectrogram(x, fs=sample_rate, window="hann", nperseg=nper, noverlap=int(overlap * nper),
                                 scaling="density", mode="psd")
    keep = f <= (fmax_hz if fmax_hz is not None else sample_rate / 2)
    f, p = f[keep], p[keep]
    db = 10.0 * np.log10(p + 1e-30)
    if background_hz is None:
        return Lofar(f, t, db, db)
    width = max(3, int(round(background_hz / (f[1] - f[0]))) | 1)
    background = signal.medfilt2d(db, kernel_size=(width, 1))
    return Lofar(f, t, db, db - background)


@dataclass(frozen=True)
class Demon:
    """DEMON spectrum: modulation frequencies [Hz] and envelope power [dB, peak-normalised to 0]."""

    freqs_hz: np.ndarray
    db: np.ndarray
    band_hz: tuple[float, float]

    def peak_hz(self, fmin_hz: float = 0.5) -> float:
        """Frequency of the strongest modulation line above ``fmin_hz``."""
        sel = self.freqs_hz >= fmin_hz
        return float(self.freqs_hz[sel][np.argmax(self.db[sel])])


def demon(audio: np.ndarray, sample_rate: int, *, band_hz: tuple[float, float] | None = None,
          envelope_rate_hz: float = 200.0, fmax_hz: float = 60.0) -> Demon:
    """Square-law DEMON: band-pass ``band_hz`` (default 2 kHz to 0.4·fs, where cavitation carries the
    modulation, physics.md §3), square, low-pass and decimate to ``envelope_rate_hz``, then a Hann
    periodogram of the mean-removed envelope up to ``fmax_hz``."""
    x = np.asarray(audio, dtype=np.float64)
    lo, hi = band_hz if band_hz is not None else (min(2000.0, 0.2 * sample_rate), 0.4 * sample_rate)
    if not 0 < lo < hi < sample_rate / 2:
        raise ValueError(f"DEMON band {lo}-{hi} Hz must lie inside 0-{sample_rate / 2} Hz")
    sos = signal.butter(6, [lo, hi], btype="bandpass", fs=sample_rate, output="sos")
    env = signal.sosfiltfilt(sos, x) ** 2
    factor = max(1, int(sample_rate // envelope_rate_hz))
    sos_lp = signal.butter(8, 0.4 * sample_rate / factor, fs=sample_rate, output="sos")
    env = signal.sosfiltfilt(sos_lp, env)[::factor]
    env = env - env.mean()
    rate = sample_rate / factor
    spec = np.abs(np.fft.rfft(env * np.hanning(env.size))) ** 2
    freqs = np.fft.rfftfreq(env.size, 1.0 / rate)
    keep = (freqs > 0) & (freqs <= fmax_hz)
    db = 10.0 * np.log10(spec[keep] + 1e-30)
    return Demon(freqs[keep], db - db.max(), (lo, hi))
