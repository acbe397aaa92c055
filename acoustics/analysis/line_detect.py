"""Propeller lines in a DEMON spectrum: shaft rate, blade count and blade rate (physics.md §2–3).

Cavitation noise is amplitude-modulated at the shaft rate f0 and its harmonics 1..Z and, more strongly,
at the blade rate Z·f0 and its harmonics (Z = blade count). :func:`demon_lines` normalises the DEMON
spectrum against its running median (dB over background), picks line peaks, masks an impulsive comb
(echosounder pings, click trains: harmonics that run on far past 3·Z·f0, which no propeller makes), then
scores every fundamental f0 = peak/k and blade count Z against that template and refines the winner by a
least-squares fit over its detected harmonics. Numpy and scipy only (runs on a sonar node).
"""

from __future__ import annotations

import numpy as np
from scipy import signal
from scipy.ndimage import maximum_filter1d, median_filter

from uwac.acoustics.analysis.lofar_demon import demon

SHAFT_RANGE_HZ = (0.5, 25.0)  # shaft rates searched [Hz] (physics.md §4: 30–1500 rpm)
BLADE_RANGE = (3, 7)  # blade counts searched (physics.md §4)
BLADE_HARMONICS = 3  # blade-rate harmonics in the template (Z·f0, 2Z·f0, 3Z·f0)
BACKGROUND_HZ = 3.0  # running-median width of the DEMON background [Hz]
LINE_DB = 6.0  # a peak this far over the background counts as a line [dB]
NOISE_DB = 4.0  # a template harmonic adds evidence only above this [dB]; noise alone sits near 2 dB
CAP_DB = 20.0  # one very strong line adds at most this [dB] (keeps a single loud line from voting alone)
REL_TOL = 0.004  # a harmonic may sit this far (relative) from k·f0: drift, CPP pitch FM, two-shaft split
MAX_PEAKS = 15  # strongest line peaks that seed fundamental candidates
COMB_MIN_HZ = 0.3  # slowest impulsive comb (ping interval ≤ 3.3 s) that is looked for [Hz]
COMB_SHARE = 0.6  # share of harmonics above 3·7 that must be lines for a comb
COMB_MIN_LINES = 10  # and at least this many of them
COMB_SPAN = 40  # harmonics first above 3·7 that are checked (a short ping's envelope comb fades higher up)
COMB_MAX_HZ = 500.0  # combs are looked for up to this modulation frequency [Hz] (click trains to ~16 Hz spacing)
MAX_COMBS = 3  # combs masked at most (an echosounder and a click train can overlap)
CONFIDENCE_OFFSET = 20.0  # template score that white noise reaches on its own (30 s, 0-100 Hz)
CONFIDENCE_SCALE = 20.0  # score above the offset that brings confidence to 1 - 1/e


def normalised_demon(audio: np.ndarray, sample_rate: int, *, band_hz: tuple[float, float] | None = None,
                     max_hz: float = 100.0, background_hz: float = BACKGROUND_HZ):
    """(Demon spectrum up to ``max_hz`` [Hz], its level over a running-median background [dB]).

    Envelope power over the background's median/ln 2 (the mean of exponentially distributed noise bins), so
    noise sits near 0 dB and modulation lines stand above it.
    """
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"audio must be mono 1-D samples, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("audio holds NaN or Inf samples")
    if max_hz <= 0:
        raise ValueError(f"max_hz must be positive, got {max_hz}")
    dm = demon(x, sample_rate, band_hz=band_hz, envelope_rate_hz=2.5 * max_hz, fmax_hz=max_hz)
    if dm.freqs_hz.size < 8:
        raise ValueError(f"audio of {x.size / sample_rate:.2f} s gives only {dm.freqs_hz.size} DEMON bins up to "
                         f"{max_hz} Hz; give a longer clip")
    lin = 10.0 ** (dm.db / 10.0)
    df = dm.freqs_hz[1] - dm.freqs_hz[0]
    width = max(5, int(round(background_hz / df)) | 1)
    background = median_filter(lin, size=width, mode="nearest") / np.log(2.0)
    return dm, 10.0 * np.log10(lin / np.maximum(background, 1e-300))


def _tolerance_bins(freqs: np.ndarray, df: float, floor: int = 1) -> np.ndarray:
    """Half-width [bins] within which a line at each frequency counts as a harmonic."""
    return np.maximum(floor, np.round(REL_TOL * freqs / df)).astype(int)


def _local_max(values: np.ndarray, tol: np.ndarray) -> np.ndarray:
    """values[i] replaced by their maximum over i ± tol[i] bins."""
    out = np.empty_like(values)
    for t in np.unique(tol):
        sel = tol == t
        out[sel] = maximum_filter1d(values, size=2 * int(t) + 1, mode="nearest")[sel]
    return out


def _peaks(z: np.ndarray, freqs: np.ndarray, df: float, fmin_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Line peaks (≥ LINE_DB) above ``fmin_hz``: parabola-interpolated frequencies [Hz] and levels [dB]."""
    idx, _ = signal.find_peaks(z, height=LINE_DB)
    idx = idx[(freqs[idx] >= fmin_hz) & (idx > 0) & (idx < z.size - 1)]
    a, b, c = z[idx - 1], z[idx], z[idx + 1]
    curv = a - 2 * b + c
    off = np.divide(0.5 * (a - c), curv, out=np.zeros_like(b), where=curv != 0)
    return freqs[idx] + np.clip(off, -0.5, 0.5) * df, b


def _index(f_hz: np.ndarray, f0_bin: float, df: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Bin index of each frequency and whether it lies in the spectrum."""
    i = np.round((np.asarray(f_hz) - f0_bin) / df).astype(int)
    return np.clip(i, 0, n - 1), (i >= 0) & (i < n)


def _related(fc: float, others: list[float], tol: float = 0.01) -> bool:
    """True when ``fc`` is within ``tol`` (relative) of an integer multiple or fraction (≤ 10) of another spacing."""
    for o in others:
        for r in (fc / o, o / fc):
            m = round(r)
            if 1 <= m <= 10 and abs(r - m) <= tol * m:
                return True
    return False


def _track_comb(z: np.ndarray, freqs: np.ndarray, fc: float) -> float:
    """Comb spacing [Hz] refined by following its lines upwards: least squares of peak ≈ k·fc, updated per line."""
    df = freqs[1] - freqs[0]
    num = den = 0.0
    for k in range(1, int(freqs[-1] / fc) + 1):
        c = int(round((k * fc - freqs[0]) / df))
        lo, hi = max(1, c - 2), min(z.size - 1, c + 3)
        if lo >= hi:
            break
        j = lo + int(np.argmax(z[lo:hi]))
        if z[j] < LINE_DB:
            continue
        a, b, cc = z[j - 1], z[j], z[j + 1]
        curv = a - 2 * b + cc
        fj = freqs[j] + (float(np.clip(0.5 * (a - cc) / curv, -0.5, 0.5)) if curv != 0 else 0.0) * df
        num += k * fj
        den += k * k
        fc = num / den
    return fc


def find_comb(z: np.ndarray, freqs: np.ndarray, *, min_hz: float = COMB_MIN_HZ,
              exclude: list[float] | None = None) -> float | None:
    """Spacing [Hz] of an impulsive comb in a normalised DEMON spectrum ``z`` [dB], or None.

    A comb has lines at most of its harmonics k = 22..61 (share ≥ COMB_SHARE, ≥ COMB_MIN_LINES lines);
    a propeller's modulation stops at 3·Z·f0. The best-filled spacing wins (the smallest of near ties, so
    the fundamental rather than a multiple); spacings related to ``exclude`` (combs already found) are skipped.
    """
    df = freqs[1] - freqs[0]
    is_line = maximum_filter1d(z, size=3, mode="nearest") >= LINE_DB  # a comb is regular: ±1 bin
    pf, pz = _peaks(z, freqs, df, min_hz)
    first = 3 * BLADE_RANGE[1] + 1
    found: list[tuple[float, float]] = []  # (share, spacing)
    for p in pf[np.argsort(pz)[::-1][:10]]:
        for k in range(1, int(p / min_hz) + 1):
            fc = p / k
            if exclude and _related(fc, exclude):
                continue
            ks = np.arange(first, min(int(freqs[-1] / fc), first + COMB_SPAN - 1) + 1)
            if ks.size < COMB_MIN_LINES:
                continue
            i, ok = _index(ks * fc, freqs[0], df, z.size)
            hits = int(np.count_nonzero(is_line[i] & ok))
            if hits >= COMB_MIN_LINES and hits >= COMB_SHARE * ks.size:
                found.append((hits / ks.size, fc))
    if not found:
        return None
    top = max(share for share, _ in found)
    return _track_comb(z, freqs, min(fc for share, fc in found if share >= top - 0.05))


def _mask_comb(z: np.ndarray, freqs: np.ndarray, fc: float) -> np.ndarray:
    """``z`` with the comb's lines (every k·fc) set to at most the background level (0 dB).

    Each line is grown from its peak while it stays ≥ LINE_DB/2, up to ±fc/4, so the broad lines of an
    intermittent click train go as well as the sharp ones of a steady echosounder.
    """
    df = freqs[1] - freqs[0]
    out = z.copy()
    reach = max(2, int(fc / (4 * df)))
    for k in range(1, int(freqs[-1] / fc) + 2):
        c = int(round((k * fc - freqs[0]) / df))
        if not -1 <= c <= z.size:
            continue
        lo, hi = max(0, c - 2), min(z.size, c + 3)
        if lo >= hi:
            continue
        a, b = lo, hi - 1
        while a > max(0, c - reach) and z[a - 1] >= LINE_DB / 2:
            a -= 1
        while b < min(z.size - 1, c + reach) and z[b + 1] >= LINE_DB / 2:
            b += 1
        out[a: b + 1] = np.minimum(out[a: b + 1], 0.0)
    return out


def _template(blades: int) -> tuple[np.ndarray, np.ndarray]:
    """Harmonic orders of a Z-bladed propeller's modulation and their weights (blade rate counts double)."""
    orders = list(range(1, blades + 1)) + [j * blades for j in range(2, BLADE_HARMONICS + 1)]
    weights = [1.0] * (blades - 1) + [2.0] + [1.0 / (j - 1) for j in range(2, BLADE_HARMONICS + 1)]
    return np.asarray(orders, float), np.asarray(weights)


def _score(evidence: np.ndarray, freqs: np.ndarray, f0: float, blades: int) -> float | None:
    """Template score of (f0, Z): Σ weight·(line level − NOISE_DB) over the harmonics inside the spectrum."""
    orders, weights = _template(blades)
    i, ok = _index(orders * f0, freqs[0], freqs[1] - freqs[0], freqs.size)
    if np.count_nonzero(ok) < 2:
        return None
    return float(np.sum(weights[ok] * (evidence[i[ok]] - NOISE_DB)))


def _measure(z: np.ndarray, freqs: np.ndarray, f_hz: float) -> tuple[float | None, float]:
    """(interpolated peak frequency [Hz] or None, level [dB]) of the strongest bin within tolerance of f_hz."""
    df = freqs[1] - freqs[0]
    c = int(round((f_hz - freqs[0]) / df))
    t = int(_tolerance_bins(np.array([f_hz]), df)[0])
    lo, hi = max(1, c - t), min(z.size - 1, c + t + 1)
    if lo >= hi:
        return None, float("nan")
    j = lo + int(np.argmax(z[lo:hi]))
    a, b, cc = z[j - 1], z[j], z[min(j + 1, z.size - 1)]
    curv = a - 2 * b + cc
    off = float(np.clip(0.5 * (a - cc) / curv, -0.5, 0.5)) if curv != 0 else 0.0
    return freqs[j] + off * df, float(b)


def _refine(z: np.ndarray, freqs: np.ndarray, f0: float, blades: int) -> float:
    """Weighted least-squares f0 over the template harmonics that are lines: f_k ≈ k·f0."""
    orders, _ = _template(blades)
    num = den = 0.0
    for k in orders:
        if k * f0 > freqs[-1]:
            continue
        fk, level = _measure(z, freqs, k * f0)
        if fk is None or not level >= LINE_DB:
            continue
        w = min(level, CAP_DB)
        num += w * k * fk
        den += w * k * k
    return num / den if den > 0 else f0


def demon_lines(audio: np.ndarray, sample_rate: int, *, band_hz: tuple[float, float] | None = None,
                max_hz: float = 100.0, shaft_range_hz: tuple[float, float] = SHAFT_RANGE_HZ,
                blade_range: tuple[int, int] = BLADE_RANGE) -> dict:
    """Detect the shaft rate and blade rate in the DEMON spectrum of ``audio`` (mono, ``sample_rate`` Hz).

    ``band_hz``: DEMON carrier band [Hz] (default 2 kHz to 0.4·fs); ``max_hz``: top modulation frequency
    [Hz]; ``shaft_range_hz``: shaft rates searched [Hz]; ``blade_range``: blade counts searched.
    The clip must span at least 3 / shaft_range_hz[0] seconds (6 s by default); 30 s resolves 0.03 Hz.

    Returns ``shaft_hz`` [Hz], ``blade_hz`` [Hz], ``blades`` (None when no line stands out), ``harmonics``
    (one dict per template line: ``order``, ``kind`` shaft/blade, expected ``hz``, measured ``peak_hz`` or
    None, ``db`` over background), ``confidence`` in [0, 1] (≈0 for noise), ``score`` (template score, dB
    sum), ``combs_hz`` (spacings [Hz] of the impulsive combs masked), ``peaks`` [(Hz, dB)], ``band_hz``, and
    the spectrum for plotting: ``freqs_hz``, ``db`` (peak 0 dB), ``lines_db`` (dB over background) and
    ``masked_db`` (the same with the combs' lines set to 0 dB: what the search saw).
    """
    lo_f0, hi_f0 = shaft_range_hz
    if not 0 < lo_f0 < hi_f0:
        raise ValueError(f"shaft_range_hz must be 0 < low < high, got {shaft_range_hz}")
    if not 1 <= blade_range[0] <= blade_range[1]:
        raise ValueError(f"blade_range must be 1 ≤ low ≤ high, got {blade_range}")
    n = np.asarray(audio).shape[-1] if np.asarray(audio).ndim else 0
    need_s = 3.0 / lo_f0
    if n < need_s * sample_rate:
        raise ValueError(f"audio of {n / sample_rate:.2f} s is too short for DEMON line detection: shaft rates "
                         f"down to {lo_f0} Hz need at least {need_s:.1f} s")
    wide, z_wide = normalised_demon(audio, sample_rate, band_hz=band_hz, max_hz=max(max_hz, COMB_MAX_HZ))
    lines_db = z_wide[wide.freqs_hz <= max_hz]
    combs: list[float] = []
    while len(combs) < MAX_COMBS and (comb := find_comb(z_wide, wide.freqs_hz, exclude=combs)) is not None:
        combs.append(float(comb))
        z_wide = _mask_comb(z_wide, wide.freqs_hz, comb)
    keep = wide.freqs_hz <= max_hz
    freqs, zs = wide.freqs_hz[keep], z_wide[keep]
    db = wide.db[keep] - wide.db[keep].max()
    df = freqs[1] - freqs[0]
    evidence = _local_max(np.clip(zs, 0.0, CAP_DB), _tolerance_bins(freqs, df))
    pf, pz = _peaks(zs, freqs, df, lo_f0)
    seeds = pf[np.argsort(pz)[::-1][:MAX_PEAKS]]
    best: tuple[float, float, int] | None = None
    max_order = BLADE_HARMONICS * blade_range[1]
    for p in seeds:
        for k in range(1, max_order + 1):
            f0 = p / k
            if f0 < lo_f0:
                break
            if f0 > hi_f0:
                continue
            for blades in range(blade_range[0], blade_range[1] + 1):
                s = _score(evidence, freqs, f0, blades)
                if s is not None and (best is None or s > best[0]):
                    best = (s, f0, blades)
    result = {"shaft_hz": None, "blade_hz": None, "blades": None, "harmonics": [], "confidence": 0.0,
              "score": 0.0, "combs_hz": combs,
              "peaks": [(float(f), float(d)) for f, d in zip(pf, pz, strict=True)], "band_hz": wide.band_hz,
              "freqs_hz": freqs, "db": db, "lines_db": lines_db, "masked_db": zs}
    if best is None or best[0] <= 0:
        return result
    score, f0, blades = best
    f0 = _refine(zs, freqs, f0, blades)
    score = max(score, _score(evidence, freqs, f0, blades) or score)
    harmonics = []
    for k in _template(blades)[0].astype(int):
        if k * f0 > freqs[-1]:
            continue
        fk, level = _measure(zs, freqs, k * f0)
        harmonics.append({"order": int(k), "kind": "blade" if k % blades == 0 else "shaft", "hz": float(k * f0),
                          "peak_hz": float(fk) if fk is not None and level >= LINE_DB else None,
                          "db": float(level)})
    confidence = 1.0 - float(np.exp(-max(0.0, score - CONFIDENCE_OFFSET) / CONFIDENCE_SCALE))
    result.update(shaft_hz=float(f0), blade_hz=float(blades * f0), blades=int(blades), harmonics=harmonics,
                  confidence=confidence, score=float(score))
    return result
