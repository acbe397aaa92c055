"""Contact geometry: a straight closest-point-of-approach (CPA) pass past a fixed hydrophone.

The hydrophone sits at the origin at depth z_r [m]; the source runs a straight line at speed v [m/s] and
depth z_s [m], passing the hydrophone at horizontal distance d_cpa [m] at time t_cpa [s] (relative to the
recording's start; it may lie before, inside or after the recording). Horizontal range
r_h(t) = √(d_cpa² + (v·(t − t_cpa))²); the direct path is r_1 = √(r_h² + (z_r − z_s)²) and the surface image
path r_2 = √(r_h² + (z_r + z_s)²) (physics.md §6, Doppler and Lloyd's mirror).
Radial speed v_r = −dr_1/dt is positive while the source approaches, so f' = f(1 + v_r/c).
"""

from __future__ import annotations

import numpy as np

KNOT_M_S = 1852.0 / 3600.0  # 1 kn = 1852 m/h (definition of the knot)
DEFAULT_SOURCE_DEPTH_M = 6.0  # JE assumes a source depth of 6 m (physics.md §1)
T_CPA_SPAN = (-0.5, 1.5)  # t_cpa drawn in [-0.5, 1.5]·duration: before, inside or after the recording (design note)
EMISSION_ITERATIONS = 5  # fixed-point steps for τ = t − r(τ)/c; each shrinks the error by v/c < 0.02 (design note)


def soundspeed_mackenzie(temperature_c: float, salinity_ppt: float, depth_m: float) -> float:
    """Sound speed [m/s], Mackenzie 1981 nine-term formula (as `arlpy.uwa.soundspeed`; physics.md §6)."""
    t, s, z = float(temperature_c), float(salinity_ppt), float(depth_m)
    return (1448.96 + 4.591 * t - 5.304e-2 * t**2 + 2.374e-4 * t**3 + 1.340 * (s - 35.0) + 1.630e-2 * z
            + 1.675e-7 * z**2 - 1.025e-2 * t * (s - 35.0) - 7.139e-13 * t * z**3)


def draw_track(rng: np.random.Generator, vessel: dict, duration_s: float,
               limits_m: tuple[float, float]) -> dict:
    """Draw a pass for ``vessel``: speed from its ``speed_kn``, d_cpa log-uniform in ``limits_m`` [m],
    t_cpa [s], heading [deg from north], side of the hydrophone (+1 starboard, −1 port) and source depth [m]."""
    d_cpa = float(10.0 ** rng.uniform(np.log10(limits_m[0]), np.log10(limits_m[1])))
    t_cpa = float(rng.uniform(*T_CPA_SPAN)) * float(duration_s)
    heading = float(rng.uniform(0.0, 360.0))
    side = 1 if rng.random() < 0.5 else -1
    speed_kn = float(vessel.get("speed_kn", 0.0))
    return {"speed_kn": round(speed_kn, 4), "speed_m_s": round(speed_kn * KNOT_M_S, 6),
            "d_cpa_m": round(d_cpa, 3), "t_cpa_s": round(t_cpa, 4), "heading_deg": round(heading, 3),
            "side": side, "source_depth_m": float(vessel.get("source_depth_m", DEFAULT_SOURCE_DEPTH_M))}


def horizontal_range(track: dict, t) -> np.ndarray:
    """Horizontal source–hydrophone distance r_h [m] with the source at time t [s]."""
    x = track["speed_m_s"] * (np.asarray(t, dtype=float) - track["t_cpa_s"])
    return np.sqrt(track["d_cpa_m"] ** 2 + x * x)


def path_lengths(track: dict, t, receiver_depth_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Direct r_1 and surface-image r_2 path lengths [m] with the source at time t [s] (source above the
    surface, depth ≤ 0, counts as at the surface)."""
    rh2 = horizontal_range(track, t) ** 2
    zs = max(float(track["source_depth_m"]), 0.0)
    zr = float(receiver_depth_m)
    return np.sqrt(rh2 + (zr - zs) ** 2), np.sqrt(rh2 + (zr + zs) ** 2)


def emission_time(track: dict, t, receiver_depth_m: float, c: float) -> np.ndarray:
    """Emission time τ [s] of the sound heard at time t [s]: τ = t − r_1(τ)/c, by fixed-point iteration."""
    t = np.asarray(t, dtype=float)
    tau = t - path_lengths(track, t, receiver_depth_m)[0] / c
    for _ in range(EMISSION_ITERATIONS):
        tau = t - path_lengths(track, tau, receiver_depth_m)[0] / c
    return tau


def radial_speed(track: dict, tau, receiver_depth_m: float) -> np.ndarray:
    """Radial speed v_r = −dr_1/dτ [m/s] at emission time τ [s]; positive while approaching (physics.md §6)."""
    v = track["speed_m_s"]
    r1 = path_lengths(track, tau, receiver_depth_m)[0]
    return -v * v * (np.asarray(tau, dtype=float) - track["t_cpa_s"]) / np.maximum(r1, 1e-9)


def bearing_deg(track: dict, t) -> np.ndarray:
    """Bearing of the source from the hydrophone [deg from north, 0–360) at time t [s]."""
    h = np.radians(track["heading_deg"])
    x = track["speed_m_s"] * (np.asarray(t, dtype=float) - track["t_cpa_s"])
    d = track["d_cpa_m"] * track["side"]
    east = d * np.cos(h) + x * np.sin(h)
    north = -d * np.sin(h) + x * np.cos(h)
    return np.degrees(np.arctan2(east, north)) % 360.0
