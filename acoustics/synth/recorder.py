"""The recorder: a randomised hydrophone-and-recorder chain from pressure [µPa] to the full-scale samples a WAV holds.

A real recorder colours everything it hears, so every recording draws its own chain (:func:`draw_recorder`), in
the order a real chain applies it (:func:`record`):

1. Front end at the model rate, as one frequency response on the rfft of the pressure: 0–3 hydrophone / housing /
   mount resonances (analog peaking sections), the preamp's Butterworth high-pass (2–60 Hz, order 1–4, with its
   phase), the anti-alias low-pass at a fraction of the recorder's *native* Nyquist (linear phase, as a sigma-delta
   decimator's), and the model's own brick wall at 0.45·fs.
2. Down to the native rate when it is below the model rate: the filtered spectrum is cut at the native Nyquist
   frequency and inverted at the native length (ideal band-limited resampling, at no extra transform).
3. The ADC at the native rate: calibration to full scale, x = p / 10^(L_clip/20), where L_clip [dB re 1 µPa] is the
   pressure that reads ±1.0 (SoundTrap end-to-end calibration 173–176 dB, physics.md §7; conversion as in
   `arlpy.uwa.pressure`), plus a DC offset, hard clipping at ±1 and quantisation at the effective resolution.
4. Optionally a lossy-codec-like stage (:func:`codec`): a steep low-pass at 4–7 kHz plus band-wise quantisation
   of STFT magnitudes, which leaves spectral holes and band-shaped noise as perceptual codecs do.
5. Back up to the model rate with libsoxr VHQ (:func:`acoustics.audio_io.resample`), so the band limit and the
   resampler's band edge are real, and quantisation to the stored bit depth (the WAV's grid).

A native rate at or above the model rate is not emulated: the render stays at the model rate, because content
above the model's Nyquist frequency is removed by any correct resampler anyway (what is left of such a recorder
is its filters, ADC and codec, which are applied at the model rate).

Contact SNRs in the params are measured on the pressure, before the recorder: they say what reached the
hydrophone, not what the chain kept of it (a 60 Hz high-pass or a 4 kHz native rate may remove a contact's
energy; the label stays).

The draws come from the recorder's own random stream, so they are independent of the class label. Shares
(design notes): 30 % near-clean chains (2–10 Hz high-pass of order 1–2, anti-alias at 0.45·fs, native rate at
or above the model rate, nothing else); of the other 70 %: any native rate (a third of them below 16 kHz),
0–3 resonances (uniform), DC offset 50 %, hot gain 15 %, 12-bit effective resolution 15 %, codec 25 %.
"""

from __future__ import annotations

import numpy as np

from uwac.acoustics.audio_io import resample
from uwac.acoustics.synth import numerics as num

CLIP_LEVEL_DB = (160.0, 176.0)  # drawn clip level [dB re 1 µPa]; SoundTrap 173–176 (physics.md §7) and quieter
BIT_DEPTHS = (16, 24)  # 16- or 24-bit quantisation (physics.md §7 design note; AMAR-G3 24-bit)
ANTI_ALIAS_FRACTION = 0.45  # the model's own band limit: nothing at or above 0.45·fs (physics.md §7 design note)

# Recorder chain draws (all design notes; physics.md §7 has no numbers for them unless named).
CLEAN_PROBABILITY = 0.30  # share of near-clean chains: keeps the clean-recorder case well represented
# Native rates, equally likely: telephone/old-archive rates up to studio rates, as public recordings come.
NATIVE_RATES_HZ = (4000, 8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000)
HIGHPASS_HZ = (2.0, 60.0)  # preamp high-pass corner, log-uniform (icListen 1 Hz, SoundTrap-like ~20 Hz, DC blocks)
HIGHPASS_ORDERS = (1, 2, 3, 4)  # Butterworth orders, equally likely
CLEAN_HIGHPASS_HZ = (2.0, 10.0)  # a near-clean chain's high-pass corner (log-uniform), order 1–2
ANTI_ALIAS_NYQUIST_FRACTION = (0.75, 0.95)  # anti-alias corner [fraction of the native Nyquist], uniform
ANTI_ALIAS_ORDERS = (2, 4, 8, 16, 32)  # Butterworth-shaped magnitude: cheap analogue filter .. decimator
CLEAN_ANTI_ALIAS = (0.9, 32)  # near-clean: corner at 0.9 Nyquist (= 0.45·fs, physics.md §7), decimator-steep
MAX_RESONANCES = 3  # 0–3 resonances, equally likely
RESONANCE_LOW_HZ = 50.0  # resonance peaks log-uniform from here to 0.45·min(native, model rate)
RESONANCE_Q = (2.0, 20.0)  # log-uniform
RESONANCE_GAIN_DB = (3.0, 12.0)  # |gain| uniform, sign ± equally likely (a dip is a mount's anti-resonance)
DC_PROBABILITY = 0.5  # ADC / preamp offset present
DC_OFFSET = (-1e-3, 1e-2)  # full scale, uniform (design note: mostly small positive offsets)
HOT_GAIN_PROBABILITY = 0.15  # gain set too hot, for the background: loud events clip
# Hot gain: clip level = ambient continuum band level + this headroom [dB], uniform. Gaussian ambient peaks sit
# ~12–14 dB over its rms, vessels at up to 25 dB SNR add a crest factor of ~12 dB, snaps and calls more: 15 dB
# clips loud contacts hard and transients often, 35 dB only the loudest contacts' and transients' peaks.
HOT_HEADROOM_DB = (15.0, 35.0)
LOW_RESOLUTION_PROBABILITY = 0.15  # an old / noisy ADC with ~12-bit effective resolution
LOW_RESOLUTION_BITS = 12
CODEC_PROBABILITY = 0.25  # the recording went through a lossy codec (shared online, transcoded archives)
CODEC_CUTOFF_HZ = (4000.0, 7000.0)  # low-pass of a low-bitrate codec, uniform
CODEC_SKIRT_HZ = (50.0, 300.0)  # width of its (linear) skirt, uniform: steep
CODEC_QUANT_FROM = (0.3, 0.7)  # band quantisation starts at this fraction of the cutoff, uniform
CODEC_BAND_SNR_DB = (6.0, 20.0)  # signal-to-quantisation-noise per band, uniform: 6 dB leaves many holes
CODEC_FRAME_S = 0.023  # STFT frame ~23 ms (AAC long block: 1024 samples at 44.1 kHz), rounded to a power of 2
CODEC_BANDS_PER_OCTAVE = 6  # quantisation bands (scale-factor bands)


def _log_uniform(u: float, lo: float, hi: float) -> float:
    """Map u in [0, 1) log-uniformly onto [lo, hi)."""
    return float(lo * (hi / lo) ** u)


def clean_chain(sample_rate: int = 16000) -> dict:
    """A near-clean chain (the ``recorder`` entry of :func:`draw_recorder`): 2 Hz first-order high-pass, anti-alias
    at 0.45·fs, no resonance, DC offset, codec or extra resampling, full resolution."""
    return {"clean": True, "native_rate_hz": int(sample_rate), "highpass_hz": 2.0, "highpass_order": 1,
            "anti_alias_fraction": CLEAN_ANTI_ALIAS[0], "anti_alias_order": CLEAN_ANTI_ALIAS[1], "resonances": [],
            "dc_offset": 0.0, "hot_gain": False, "hot_headroom_db": None, "effective_bits": None, "codec": None}


def draw_recorder(rng: np.random.Generator, sample_rate: int = 16000) -> dict:
    """Draw one recording's recorder: clip level [dB re 1 µPa], bit depth and (key ``recorder``) its chain.

    ``rng`` should be the recorder's own stream (the scene passes a child of the seed that nothing else uses),
    so the chain is independent of the class label and of every other draw. Every value is drawn every time,
    in a fixed order, and effects are switched off afterwards, so changing one probability moves no other draw.
    The chain: ``clean`` (near-clean, CLEAN_PROBABILITY), ``native_rate_hz``, ``highpass_hz`` / ``highpass_order``,
    ``anti_alias_fraction`` (of the native Nyquist) / ``anti_alias_order``, ``resonances`` (f_hz, q, gain_db),
    ``dc_offset`` (full scale), ``hot_gain`` / ``hot_headroom_db`` (the scene then sets the clip level that far
    above the ambient, :func:`set_hot_gain`), ``effective_bits`` (None: the bit depth) and ``codec`` (None or
    cutoff_hz, skirt_hz, quant_from_hz, band_snr_db).
    ``sample_rate`` [Hz] is the model rate: a near-clean chain records at or above it and resonances lie below
    0.45·min(native, model rate).
    """
    clip_level = float(rng.uniform(*CLIP_LEVEL_DB))
    bit_depth = int(BIT_DEPTHS[int(rng.integers(0, len(BIT_DEPTHS)))])
    u = rng.random(6)
    clean = bool(u[0] < CLEAN_PROBABILITY)
    fast = [r for r in NATIVE_RATES_HZ if r >= sample_rate] or [max(NATIVE_RATES_HZ)]
    rates = fast if clean else list(NATIVE_RATES_HZ)
    native = int(rates[int(u[1] * len(rates))])
    hp_range, hp_orders = (CLEAN_HIGHPASS_HZ, HIGHPASS_ORDERS[:2]) if clean else (HIGHPASS_HZ, HIGHPASS_ORDERS)
    highpass = round(_log_uniform(u[2], *hp_range), 3)
    hp_order = int(hp_orders[int(u[3] * len(hp_orders))])
    aa_fraction = round(float(ANTI_ALIAS_NYQUIST_FRACTION[0] + u[4] * np.diff(ANTI_ALIAS_NYQUIST_FRACTION)[0]), 4)
    aa_order = int(ANTI_ALIAS_ORDERS[int(u[5] * len(ANTI_ALIAS_ORDERS))])
    if clean:
        aa_fraction, aa_order = CLEAN_ANTI_ALIAS
    count = int(rng.integers(0, MAX_RESONANCES + 1))
    f_hi = ANTI_ALIAS_FRACTION * min(native, sample_rate)
    res = rng.random((MAX_RESONANCES, 4))
    resonances = [{"f_hz": round(_log_uniform(r[0], RESONANCE_LOW_HZ, f_hi), 2),
                   "q": round(_log_uniform(r[1], *RESONANCE_Q), 3),
                   "gain_db": round(float((1.0 if r[3] < 0.5 else -1.0)
                                          * (RESONANCE_GAIN_DB[0] + r[2] * np.diff(RESONANCE_GAIN_DB)[0])), 3)}
                  for r in res[: 0 if clean else count]]
    dc = float(rng.uniform(*DC_OFFSET))
    has_dc = bool(rng.random() < DC_PROBABILITY) and not clean
    hot = bool(rng.random() < HOT_GAIN_PROBABILITY) and not clean
    headroom = round(float(rng.uniform(*HOT_HEADROOM_DB)), 3)
    low_res = bool(rng.random() < LOW_RESOLUTION_PROBABILITY) and not clean
    c = rng.random(5)
    codec = None
    if c[0] < CODEC_PROBABILITY and not clean:
        cutoff = CODEC_CUTOFF_HZ[0] + c[1] * np.diff(CODEC_CUTOFF_HZ)[0]
        codec = {"cutoff_hz": round(float(cutoff), 2),
                 "skirt_hz": round(float(CODEC_SKIRT_HZ[0] + c[2] * np.diff(CODEC_SKIRT_HZ)[0]), 2),
                 "quant_from_hz": round(float(cutoff * (CODEC_QUANT_FROM[0] + c[3] * np.diff(CODEC_QUANT_FROM)[0])), 2),
                 "band_snr_db": round(float(CODEC_BAND_SNR_DB[0] + c[4] * np.diff(CODEC_BAND_SNR_DB)[0]), 3)}
    chain = {"clean": clean, "native_rate_hz": native, "highpass_hz": highpass, "highpass_order": hp_order,
             "anti_alias_fraction": aa_fraction, "anti_alias_order": aa_order, "resonances": resonances,
             "dc_offset": round(dc, 6) if has_dc else 0.0, "hot_gain": hot, "hot_headroom_db": headroom if hot else None,
             "effective_bits": LOW_RESOLUTION_BITS if low_res else None, "codec": codec}
    return {"clip_level_db": round(clip_level, 3), "bit_depth": bit_depth, "recorder": chain}


def set_hot_gain(params: dict) -> None:
    """With a hot-gain chain, set ``params["clip_level_db"]`` to the ambient continuum band level
    (``ambient_band_level_db``, dB re 1 µPa) plus the drawn ``hot_headroom_db``: the gain was set for the
    background, so loud events clip. Other chains are left alone. In place."""
    chain = params.get("recorder") or {}
    if chain.get("hot_gain"):
        params["clip_level_db"] = round(params["ambient_band_level_db"] + chain["hot_headroom_db"], 3)


def anti_alias_gain(n: int, sample_rate: int) -> np.ndarray:
    """0/1 gain on rfftfreq(n) bins: 1 below 0.45·fs, 0 at and above it."""
    return (np.fft.rfftfreq(n, 1.0 / sample_rate) < ANTI_ALIAS_FRACTION * sample_rate).astype(float)


def _brick_wall_bins(n: int, sample_rate: int) -> int:
    """Number of rfftfreq(n, 1/fs) bins below 0.45·fs (those :func:`anti_alias_gain` passes), without the array."""
    val = 1.0 / (n * (1.0 / sample_rate))  # as numpy.fft.rfftfreq computes the bin spacing
    k0 = max(int(ANTI_ALIAS_FRACTION * n) - 2, 0)
    return min(k0 + int(np.count_nonzero(np.arange(k0, k0 + 5) * val < ANTI_ALIAS_FRACTION * sample_rate)),
               n // 2 + 1)


def front_end_response(n: int, sample_rate: int, chain: dict, *, scale: float = 1.0,
                       bins: int | None = None) -> np.ndarray:
    """Complex gain (complex64) on the first ``bins`` (default all) rfftfreq(n) bins of the analogue front end,
    times ``scale``: resonances (RBJ analogue peaking sections, peak gain gain_db at f_hz), Butterworth high-pass
    (with its phase; 0 at DC), the anti-alias magnitude 1/sqrt(1 + (f/f_a)^(2·order)) at
    f_a = anti_alias_fraction · native/2 (linear phase) and the model's 0.45·fs brick wall.

    Each second-order section b(s)/a(s) is evaluated at s = jω [Hz] in float32 real arithmetic, numerator and
    denominator divided by ω² + ω0² so that the running products stay O(1).
    """
    size = n // 2 + 1 if bins is None else min(int(bins), n // 2 + 1)
    top = min(_brick_wall_bins(n, sample_rate), size)  # bins at and above the brick wall stay 0
    g = np.zeros(size, dtype=np.complex64)
    if top <= 1:
        return g
    w = np.arange(1, top, dtype=np.float32) * np.float32(sample_rate / n)
    w2 = w * w
    acc: dict[str, np.ndarray] = {}  # running numerator / denominator, real and imaginary parts

    def times(key: str, re: np.ndarray, im: np.ndarray | None) -> None:
        """acc[key] *= re + j·im (im None: real factor)."""
        if key + "r" not in acc:
            acc[key + "r"], acc[key + "i"] = re, np.zeros_like(re) if im is None else im
        elif im is None:
            acc[key + "r"] *= re
            acc[key + "i"] *= re
        else:
            r, i = acc[key + "r"], acc[key + "i"]
            acc[key + "r"], acc[key + "i"] = r * re - i * im, r * im + i * re

    def section(b1: float | None, a1: float, w0: float) -> None:
        """num *= s² + b1·w0·s + w0² (b1 None: s², a high-pass pair), den *= s² + a1·w0·s + w0²; both over
        ω² + w0² (s = jω)."""
        norm = np.float32(1.0) / (w2 + np.float32(w0 * w0))
        re = (np.float32(w0 * w0) - w2) * norm
        wn = w * norm
        if b1 is None:
            times("n", -w2 * norm, None)
        else:
            times("n", re, wn * np.float32(b1 * w0))
        times("d", re.copy(), wn * np.float32(a1 * w0))

    fh, order = chain["highpass_hz"], chain["highpass_order"]
    for k in range(order // 2):  # Butterworth pole pairs: s² / (s² + 2 sin(π(2k+1)/2N) fh s + fh²)
        section(None, 2.0 * np.sin(np.pi * (2 * k + 1) / (2 * order)), fh)
    if order % 2:  # the real pole: s / (s + fh) = (ω² + j fh ω) / (ω² + fh²)
        norm = np.float32(1.0) / (w2 + np.float32(fh * fh))
        times("n", w2 * norm, w * np.float32(fh) * norm)
    for r in chain["resonances"]:
        a, w0, q = 10.0 ** (r["gain_db"] / 40.0), r["f_hz"], r["q"]
        section(a / q, 1.0 / (a * q), w0)
    fa, m = chain["anti_alias_fraction"] * 0.5 * chain["native_rate_hz"], 2 * chain["anti_alias_order"]
    mag = np.full(w.size, np.float32(scale))
    lo = min(max(int(np.ceil(fa * 1e-5 ** (1.0 / m) * n / sample_rate)) - 1, 0), w.size)  # below: (f/f_a)^m < 1e-5
    x = w[lo:] * np.float32(1.0 / fa)
    with np.errstate(over="ignore"):  # far above f_a the power overflows to inf: gain 0, as it should be
        if m & (m - 1) == 0:  # a power of two: square repeatedly (np.power is ~10× slower)
            for _ in range(m.bit_length() - 1):
                x *= x
        else:
            x **= m
        mag[lo:] = np.float32(scale) / np.sqrt(np.float32(1.0) + x)
    if "nr" in acc:
        nr, ni = acc["nr"], acc["ni"]
        if "dr" in acc:  # num / den = num · conj(den) / |den|²
            dr, di = acc["dr"], acc["di"]
            inv = mag / (dr * dr + di * di)
            nr, ni = (acc["nr"] * dr + acc["ni"] * di) * inv, (acc["ni"] * dr - acc["nr"] * di) * inv
        else:
            nr, ni = nr * mag, ni * mag
        g.real[1:top], g.imag[1:top] = nr, ni
    else:
        g.real[1:top] = mag
    return g


def quantise_float(x: np.ndarray, bits: int) -> np.ndarray:
    """Full scale -> the nearest of the 2^bits levels k / 2^(bits-1), k in [-2^(b-1), 2^(b-1)-1] (round half to
    even, hard clip), as float32: exactly what soundfile reads back from a PCM file of that depth (bits <= 24)."""
    full = np.float32(2 ** (bits - 1))
    y = np.rint(np.asarray(x, dtype=np.float32) * full)
    np.clip(y, -full, full - 1, out=y)
    y *= np.float32(1.0 / full)
    return y


def pcm_for_soundfile(codes: np.ndarray, bit_depth: int) -> np.ndarray:
    """Codes as the integer array soundfile writes bit-exactly: int16 for PCM_16, left-aligned int32 for PCM_24."""
    if bit_depth == 16:
        return codes.astype(np.int16)
    if bit_depth == 24:
        return codes.astype(np.int32) << 8
    raise ValueError(f"bit depth must be 16 or 24, got {bit_depth}")


def adc(x: np.ndarray, *, dc_offset: float, bits: int) -> tuple[np.ndarray, dict]:
    """Full scale (float32) -> the ADC's output: plus ``dc_offset``, hard clipped at ±1, quantised to ``bits``;
    float32, plus stats (clipped fraction, peak before clipping [dBFS])."""
    x = np.asarray(x, dtype=np.float32) + np.float32(dc_offset)
    peak = float(max(x.max(), -x.min())) if x.size else 0.0
    clipped = float(np.count_nonzero((x >= 1.0) | (x <= -1.0)) / x.size) if x.size else 0.0
    return quantise_float(x, bits), {"clipped_fraction": clipped,
                                     "peak_dbfs": round(20.0 * np.log10(max(peak, 1e-12)), 3)}


def codec(x: np.ndarray, sample_rate: int, spec: dict) -> np.ndarray:
    """A lossy-codec-like stage on full-scale float32 at ``sample_rate`` [Hz]; float32 of the same length.

    STFT with a sine window (as MDCT codecs use; 50 % overlap, perfect reconstruction), frames of ~23 ms. Per
    frame: a steep low-pass (gain falls linearly from 1 at cutoff_hz − skirt_hz to 0 at cutoff_hz), and above
    quant_from_hz the magnitudes of each band (CODEC_BANDS_PER_OCTAVE per octave, like scale-factor bands) are
    quantised with a step that leaves band_snr_db of signal to quantisation noise, phases kept; bins below half
    a step become 0 (the spectral holes of a starved perceptual codec).
    """
    n = x.size
    frame = int(2 ** round(np.log2(CODEC_FRAME_S * sample_rate)))
    hop = frame // 2
    blocks = -(-n // hop) + 1
    xp = np.zeros((blocks + 1) * hop, dtype=np.float32)
    xp[hop: hop + n] = x
    window = np.sin(np.pi * (np.arange(frame) + 0.5) / frame).astype(np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(xp, frame)[::hop] * window
    spec_f = num.rfft(frames, axis=1)
    f = np.fft.rfftfreq(frame, 1.0 / sample_rate)
    cutoff, skirt = spec["cutoff_hz"], spec["skirt_hz"]
    spec_f *= np.clip((cutoff - f) / skirt, 0.0, 1.0).astype(np.float32)
    lo = max(int(np.searchsorted(f, spec["quant_from_hz"])), 1)
    hi = int(np.searchsorted(f, cutoff))
    if hi > lo:
        n_bands = max(1, int(np.ceil(np.log2(f[hi - 1] / f[lo]) * CODEC_BANDS_PER_OCTAVE)))
        starts = np.unique(np.searchsorted(f, np.geomspace(f[lo], cutoff, n_bands + 1)[:-1]))
        starts = starts[starts < hi]
        widths = np.diff(np.append(starts, hi))
        band = spec_f[:, lo:hi]
        mag = np.abs(band)
        power = np.add.reduceat(mag * mag, starts - lo, axis=1) / widths.astype(np.float32)
        step = np.sqrt(12.0 * power) * np.float32(10.0 ** (-spec["band_snr_db"] / 20.0))
        step = np.repeat(np.maximum(step, np.float32(1e-30)), widths, axis=1)
        q = np.rint(mag / step) * step
        spec_f[:, lo:hi] = band * (q / np.maximum(mag, np.float32(1e-30)))
    out = num.irfft(spec_f, frame, axis=1).astype(np.float32) * window
    y = out[:-1, hop:] + out[1:, :hop]  # overlap-add: block k is frame k's second half + frame k+1's first half
    return np.ascontiguousarray(y.reshape(-1)[:n])


def record(p_upa: np.ndarray, rec: dict, sample_rate: int) -> tuple[np.ndarray, dict]:
    """Run pressure [µPa] at ``sample_rate`` [Hz] through a drawn recorder: float32 full scale on the
    ``bit_depth`` grid (exactly what the WAV stores), plus stats (clipped_fraction, peak_dbfs before clipping).

    ``rec``: clip_level_db, bit_depth and ``recorder`` (the chain) as :func:`draw_recorder` returns them (a
    missing chain means :func:`clean_chain`).
    Order: front end (resonances, high-pass, anti-alias at the native Nyquist) -> down to the native rate if it
    is below ``sample_rate`` -> ADC (gain, DC, clip, effective resolution) -> codec -> back to ``sample_rate``
    -> quantisation to bit_depth. See the module docstring.

    Down to a native rate below ``sample_rate``: the front end's spectrum is cut at the native Nyquist frequency
    and inverted at m = round(n·native/fs) points (ideal band-limited resampling, no extra transform; the drawn
    anti-alias filter has already shaped the band edge). Back up: libsoxr VHQ
    (:func:`acoustics.audio_io.resample`), trimmed or edge-padded to n samples.
    """
    chain = rec.get("recorder") or clean_chain(sample_rate)
    n = int(np.asarray(p_upa).size)
    native = min(int(chain["native_rate_hz"]), int(sample_rate))
    m = n if native == sample_rate else max(int(round(n * native / sample_rate)), 2)  # samples at the native rate
    k = m // 2 + 1
    spec = num.rfft(np.asarray(p_upa, dtype=np.float32))[:k]
    spec *= front_end_response(n, sample_rate, chain, scale=10.0 ** (-rec["clip_level_db"] / 20.0) * m / n, bins=k)
    if m < n and m % 2 == 0:
        spec[-1] = 0.0  # the native Nyquist bin: nothing at or above it
    x = num.irfft(spec, m)
    bits = chain["effective_bits"] or rec["bit_depth"]
    x, stats = adc(x, dc_offset=chain["dc_offset"], bits=bits)
    if chain["codec"]:
        x = codec(x, native, chain["codec"])
    if m < n:
        x = resample(x, native, sample_rate)
        x = x[:n] if x.size >= n else np.concatenate([x, np.full(n - x.size, x[-1], dtype=np.float32)])
    elif not chain["codec"] and bits <= rec["bit_depth"]:
        return x, stats  # already on the bit_depth grid (a coarser effective grid lies on it)
    return quantise_float(x, rec["bit_depth"]), stats
