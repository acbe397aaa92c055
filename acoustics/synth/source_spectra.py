"""Broadband source spectra: SL density [dB re 1 µPa²/Hz @ 1 m] as a function of frequency [Hz].

Models (physics.md §1): JOMOPANS-ECHO (JE), Wales–Heitmeyer 2002 (W–H), RANDI 3.1, the Bureau Veritas
'advanced' limit (quiet-warship envelope), a UUV floor tied to ambient, and an aerial-drone band.
"Design note" marks an engineering choice no source states (physics.md convention).
"""

from __future__ import annotations

import numpy as np

from uwac.acoustics.synth.ambient import sea_state_psd_db

F_FLOOR_HZ = 0.1  # design note: frequencies below 0.1 Hz are evaluated at 0.1 Hz (log f finite)

# --- JOMOPANS-ECHO (MacGillivray & de Jong, JMSE 9(4):369, 2021; physics.md §1) -----------------------------
JE_K_DB = 191.0  # JE K
JE_K_LF_DB = 208.0  # JE cargo low-frequency K (below 100 Hz)
JE_D = 3.0  # JE D (all classes but cruise)
JE_D_CRUISE = 4.0  # JE D for cruise ships
JE_LENGTH_REF_M = 91.44  # JE reference length 300 ft
JE_LF_BELOW_HZ = 100.0  # cargo classes use the LF form below 100 Hz
JE_VC_KN = {  # JE class reference speed Vc [kn] (physics.md §1 table)
    "fishing": 6.4, "tug": 3.7, "naval": 11.1, "recreational": 10.6, "government": 8.0, "cruise": 17.1,
    "passenger": 9.7, "bulker": 13.9, "container": 18.0, "vehicle_carrier": 15.8, "tanker": 12.4,
    "dredger": 9.5, "other": 7.4,
}
JE_D_LF = {"bulker": 0.8, "container": 0.8, "tanker": 1.0, "vehicle_carrier": 1.0}  # JE D' (physics.md §1)

# --- Wales & Heitmeyer, JASA 111(3):1211, 2002, as coded in uwacan source_models.py (physics.md §1) ----------
WH_A_DB = 230.0  # W–H constant
WH_SLOPE = 35.94  # W–H −35.94·log f
WH_RATIONAL = 9.17  # W–H +9.17·log(1 + (f/340)²)
WH_KNEE_HZ = 340.0  # W–H knee
WH_FIT_LO_HZ = 30.0  # W–H fitted 54 ships over 30–1200 Hz (physics.md §1, Ross row)
WH_OFFSET_DB = (-5.0, 5.0)  # design note: per-ship offset; W–H joint PDF not available, cf. 6–8 dB variance
#                             of blade-rate models (Wright & Cybulski 2006, physics.md §1)

# --- RANDI 3.1 (Breeding et al. 1996, as coded in BochicTrdar randi_ship_source_level.m; physics.md §1) -------
RANDI_V_REF_KN = 12.0  # 60·log(V/12 kn)
RANDI_L_REF_FT = 300.0  # 20·log(L/300 ft)
RANDI_HF_FROM_HZ = 500.0  # Ls0 = 173.2 − 18·log f from 500 Hz
RANDI_DF_FLAT_HZ = 28.4  # df = 8.1 up to 28.4 Hz
RANDI_DF_ZERO_HZ = 191.6  # df = 22.3 − 9.77·log f up to 191.6 Hz, 0 above (the .m version)
FT_PER_M = 1.0 / 0.3048  # international foot

# --- aerial drone (physics.md §4: Christiansen 2016; Laute 2023) ---------------------------------------------
AERIAL_BAND_HZ = (141.0, 17783.0)  # Laute 2023 received-level band
AERIAL_ROLLOFF_DB_PER_OCT = 24.0  # design note: steep skirts outside the band


def _f(f_hz) -> np.ndarray:
    return np.maximum(np.asarray(f_hz, dtype=float), F_FLOOR_HZ)


def je_sl_density_db(f_hz, je_class: str, speed_kn: float, length_m: float) -> np.ndarray:
    """JOMOPANS-ECHO SL density [dB re 1 µPa²/Hz @ 1 m] at f_hz [Hz] for a JE class, speed [kn], length [m].

    K − 20·log f1 − 10·log((1 − f/f1)² + D²) + 60·log(V/Vc) + 20·log(L/91.44 m), f1 = 480/Vc; cargo classes
    below 100 Hz: 208 − 40·log f1′ + 10·log f − 10·log((1 − (f/f1′)²)² + D′²), f1′ = 600/Vc (physics.md §1).
    """
    if je_class not in JE_VC_KN:
        raise ValueError(f"unknown JE class {je_class!r}; expected one of {', '.join(JE_VC_KN)}")
    f = _f(f_hz)
    vc = JE_VC_KN[je_class]
    d = JE_D_CRUISE if je_class == "cruise" else JE_D
    f1 = 480.0 / vc  # JE f1 [Hz] (physics.md §1)
    base = JE_K_DB - 20 * np.log10(f1) - 10 * np.log10((1 - f / f1) ** 2 + d**2)
    if je_class in JE_D_LF:
        f1_lf = 600.0 / vc  # JE f1' [Hz] (physics.md §1)
        lf = (JE_K_LF_DB - 40 * np.log10(f1_lf) + 10 * np.log10(f)
              - 10 * np.log10((1 - (f / f1_lf) ** 2) ** 2 + JE_D_LF[je_class] ** 2))
        base = np.where(f < JE_LF_BELOW_HZ, lf, base)
    return base + 60 * np.log10(speed_kn / vc) + 20 * np.log10(length_m / JE_LENGTH_REF_M)


def wh_sl_density_db(f_hz) -> np.ndarray:
    """Wales–Heitmeyer 2002 ensemble-mean SL density [dB re 1 µPa²/Hz @ 1 m]:
    230 − 35.94·log f + 9.17·log(1 + (f/340)²) (physics.md §1). No speed or length terms."""
    f = _f(f_hz)
    return WH_A_DB - WH_SLOPE * np.log10(f) + WH_RATIONAL * np.log10(1 + (f / WH_KNEE_HZ) ** 2)


def randi_ls0_db(f_hz) -> np.ndarray:
    """RANDI 3.1 base spectrum Ls0 [dB re 1 µPa²/Hz @ 1 m] (physics.md §1)."""
    lf = np.log10(_f(f_hz))
    low = -10 * np.log10(10 ** (-1.06 * lf - 14.34) + 10 ** (3.32 * lf - 21.425))
    return np.where(lf < np.log10(RANDI_HF_FROM_HZ), low, 173.2 - 18 * lf)


def randi_df_db(f_hz) -> np.ndarray:
    """RANDI 3.1 df term: 8.1 (f ≤ 28.4 Hz), 22.3 − 9.77·log f (≤ 191.6 Hz), 0 above (the .m version)."""
    f = _f(f_hz)
    return np.select([f <= RANDI_DF_FLAT_HZ, f <= RANDI_DF_ZERO_HZ], [8.1, 22.3 - 9.77 * np.log10(f)], 0.0)


def randi_sl_density_db(f_hz, speed_kn: float, length_m: float) -> np.ndarray:
    """RANDI 3.1 SL density [dB re 1 µPa²/Hz @ 1 m] at speed [kn] and length [m]:
    Ls0 + 60·log(V/12) + 20·log(L/300 ft) + df·dl + 3, dl = L_ft^1.15/3643 (physics.md §1; all terms kept,
    unlike the stray-';' line of the .m file)."""
    length_ft = length_m * FT_PER_M
    dl = length_ft**1.15 / 3643.0
    return (randi_ls0_db(f_hz) + 60 * np.log10(speed_kn / RANDI_V_REF_KN)
            + 20 * np.log10(length_ft / RANDI_L_REF_FT) + randi_df_db(f_hz) * dl + 3.0)


def bv_advanced_db(f_hz) -> np.ndarray:
    """Bureau Veritas 'advanced' radiated-noise limit [dB re 1 µPa²/Hz @ 1 m] (uwacan; physics.md §1)."""
    f = _f(f_hz)
    return np.select([f < 50, f < 1000],
                     [174 - 11 * np.log10(f), 155.3 - 18 * np.log10(f / 50)],
                     131.9 - 22 * np.log10(f / 1000))


def uuv_broadband_db(f_hz, detect_range_m: float) -> np.ndarray:
    """UUV broadband SL density [dB re 1 µPa²/Hz @ 1 m]: equal to sea-state-2 ambient at ``detect_range_m``.

    Design note from "Autosub was detectable only within a few metres" (Griffiths 2001; physics.md §4):
    SL = Hodges sea state 2 + 20·log10(r_det).
    """
    return sea_state_psd_db(f_hz, 2) + 20 * np.log10(detect_range_m)


def aerial_broadband_db(f_hz, band_level_db: float) -> np.ndarray:
    """Aerial-drone broadband density [dB re 1 µPa²/Hz @ 1 m depth]: flat over 141–17,783 Hz (Laute 2023,
    physics.md §4) with total ``band_level_db`` [dB re 1 µPa rms] in that band; 24 dB/octave skirts (design note)."""
    f = _f(f_hz)
    lo, hi = AERIAL_BAND_HZ
    flat = band_level_db - 10 * np.log10(hi - lo)
    octaves = np.maximum(np.log2(lo / f), 0.0) + np.maximum(np.log2(f / hi), 0.0)
    return flat - AERIAL_ROLLOFF_DB_PER_OCT * octaves


def broadband_psd_db(f_hz, spectrum: dict) -> np.ndarray:
    """SL density [dB re 1 µPa²/Hz @ 1 m] of a drawn ``spectrum`` dict, plus its ``offset_db``.

    model: je, wh (held at its 30 Hz value below the 30–1200 Hz fit band; design note), randi,
    bv_advanced, uuv or aerial.
    """
    model = spectrum["model"]
    if model == "je":
        out = je_sl_density_db(f_hz, spectrum["je_class"], spectrum["je_speed_kn"], spectrum["length_m"])
    elif model == "wh":
        out = wh_sl_density_db(np.maximum(_f(f_hz), WH_FIT_LO_HZ))
    elif model == "randi":
        out = randi_sl_density_db(f_hz, spectrum["speed_kn"], spectrum["length_m"])
    elif model == "bv_advanced":
        out = bv_advanced_db(f_hz)
    elif model == "uuv":
        out = uuv_broadband_db(f_hz, spectrum["detect_range_m"])
    elif model == "aerial":
        out = aerial_broadband_db(f_hz, spectrum["band_level_db"])
    else:
        raise ValueError(f"unknown source spectrum model {model!r}")
    return out + spectrum.get("offset_db", 0.0)
