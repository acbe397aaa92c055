"""The recorder: anti-alias filter, calibration to full scale, hard clipping and integer quantisation.

A pressure p [µPa] is written as x = p / 10^(L_clip/20) in full scale, where L_clip [dB re 1 µPa] is the
pressure that reads ±1.0 (SoundTrap end-to-end calibration 173–176 dB, physics.md §7; conversion as in
`arlpy.uwa.pressure`).
"""

from __future__ import annotations

import numpy as np

CLIP_LEVEL_DB = (160.0, 176.0)  # drawn clip level [dB re 1 µPa]; SoundTrap 173–176 (physics.md §7) and quieter
BIT_DEPTHS = (16, 24)  # 16- or 24-bit quantisation (physics.md §7 design note; AMAR-G3 24-bit)
ANTI_ALIAS_FRACTION = 0.45  # nothing at or above 0.45·fs (physics.md §7 design note)


def draw_recorder(rng: np.random.Generator) -> dict:
    """Draw the clip level [dB re 1 µPa] and bit depth of one recording."""
    return {"clip_level_db": round(float(rng.uniform(*CLIP_LEVEL_DB)), 3),
            "bit_depth": int(BIT_DEPTHS[int(rng.integers(0, len(BIT_DEPTHS)))])}


def anti_alias_gain(n: int, sample_rate: int) -> np.ndarray:
    """0/1 gain on rfftfreq(n) bins: 1 below 0.45·fs, 0 at and above it."""
    return (np.fft.rfftfreq(n, 1.0 / sample_rate) < ANTI_ALIAS_FRACTION * sample_rate).astype(float)


def to_full_scale(p_upa: np.ndarray, clip_level_db: float) -> np.ndarray:
    """Pressure [µPa] -> full scale (±1.0 at ``clip_level_db`` dB re 1 µPa)."""
    return np.asarray(p_upa, dtype=float) / 10.0 ** (clip_level_db / 20.0)


def quantise(x: np.ndarray, bit_depth: int) -> np.ndarray:
    """Full scale -> integer codes in [-2^(b-1), 2^(b-1)-1] (round half to even, hard clip); int32."""
    full = float(2 ** (bit_depth - 1))
    return np.clip(np.rint(x * full), -full, full - 1).astype(np.int32)


def codes_to_float(codes: np.ndarray, bit_depth: int) -> np.ndarray:
    """Integer codes -> float32 full scale, exactly as soundfile reads the PCM file back."""
    return (codes.astype(np.float64) / float(2 ** (bit_depth - 1))).astype(np.float32)


def pcm_for_soundfile(codes: np.ndarray, bit_depth: int) -> np.ndarray:
    """Codes as the integer array soundfile writes bit-exactly: int16 for PCM_16, left-aligned int32 for PCM_24."""
    if bit_depth == 16:
        return codes.astype(np.int16)
    if bit_depth == 24:
        return codes.astype(np.int32) << 8
    raise ValueError(f"bit depth must be 16 or 24, got {bit_depth}")


def digitise(p_upa: np.ndarray, *, clip_level_db: float, bit_depth: int) -> tuple[np.ndarray, dict]:
    """Band-limited pressure [µPa] -> integer codes, plus stats (clipped fraction, peak before clipping [dBFS]).

    The caller applies :func:`anti_alias_gain` beforehand (the analogue filter sits before the ADC).
    """
    x = to_full_scale(p_upa, clip_level_db)
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    clipped = float(np.mean(np.abs(x) >= 1.0)) if x.size else 0.0
    codes = quantise(np.clip(x, -1.0, 1.0), bit_depth)
    return codes, {"clipped_fraction": clipped, "peak_dbfs": round(20.0 * np.log10(max(peak, 1e-12)), 3)}
