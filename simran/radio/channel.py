"""Large-scale channel: TR 38.901 UMa/UMi path loss, LOS probability, shadowing, thermal noise.

* Path loss — 3GPP TR 38.901 Table 7.4.1-1 (radio-reference C.10), UMa and UMi–Street Canyon,
  LOS and NLOS (NLOS = max(PL_LOS, PL'_NLOS)).
* LOS probability — TR 38.901 Table 7.4.2-1 (outdoor UEs).
* Shadow-fading standard deviation and decorrelation distance — Tables 7.4.1-1 and 7.5-6.
* Spatially consistent Gaussian random fields (sum of sinusoids, exponential correlation) for the
  shadowing and the LOS state of a moving UE, in the spirit of TR 38.901 §7.6.3.
* Thermal noise N = k·T·B·NF with T = 290 K (C.8).

Modelling choices, stated once:

* **h_E = 1 m, deterministic.** For UMa, TR 38.901 draws the effective environment height; for
  h_UT < 13 m it is exactly 1 m with probability 1 (C(d_2D, h_UT) = 0). simran fixes h_E = 1 m for
  higher UEs too, i.e. it does not draw the stochastic h_E ∈ {12, 15, …} (UMi uses h_E = 1 m).
* **d_2D is clipped to ≥ 10 m**, the lower validity limit of Table 7.4.1-1, so co-located or very
  close UEs get the 10 m path loss instead of an extrapolated or −∞ value. The 5 km upper limit is
  not enforced (the formula is extrapolated).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri

from simran.errors import SimranError

SPEED_OF_LIGHT_M_S = 3.0e8
"""c as used by TR 38.901 for the breakpoint distance (C.10)."""

BOLTZMANN_J_K = 1.380649e-23
REFERENCE_TEMPERATURE_K = 290.0
MIN_D2D_M = 10.0
"""Lower validity limit of d_2D in TR 38.901 Table 7.4.1-1; smaller distances are clipped."""

SCENARIOS = ("UMa", "UMi")

# TR 38.901 Table 7.4.1-1 shadow-fading σ_SF (dB): (LOS, NLOS)
_SIGMA_SF_DB = {"UMa": (4.0, 6.0), "UMi": (4.0, 7.82)}
# TR 38.901 Table 7.5-6 shadow-fading decorrelation distance (m): (LOS, NLOS)
_SF_DECORRELATION_M = {"UMa": (37.0, 50.0), "UMi": (10.0, 13.0)}
# LOS-state correlation distance (m), TR 38.901 §7.6.3 spatial consistency [K]: not in the
# reference sheet; the commonly quoted values are 50 m (UMa) and 15 m (UMi).
_LOS_CORRELATION_M = {"UMa": 50.0, "UMi": 15.0}


class ChannelError(SimranError, ValueError):
    """Unknown scenario or invalid channel-model input."""


def _check_scenario(scenario: str) -> None:
    if scenario not in SCENARIOS:
        raise ChannelError(f"unknown scenario {scenario!r}; valid: {', '.join(SCENARIOS)}")


# ----------------------------------------------------------------------------------------------
# path loss (C.10)
# ----------------------------------------------------------------------------------------------
def breakpoint_distance_m(fc_ghz, h_bs_m, h_ut_m, h_e_m=1.0) -> np.ndarray:
    """Breakpoint distance d'_BP = 4·h'_BS·h'_UT·f_c/c, h' = h − h_E (TR 38.901 Table 7.4.1-1).

    Parameters
    ----------
    fc_ghz : float or array_like
        Carrier frequency in GHz.
    h_bs_m, h_ut_m : float or array_like
        BS and UT antenna heights in metres.
    h_e_m : float
        Effective environment height (1 m, see the module docstring).

    Returns
    -------
    ndarray of float (m)
    """
    h_bs = np.asarray(h_bs_m, dtype=float) - h_e_m
    h_ut = np.asarray(h_ut_m, dtype=float) - h_e_m
    return 4.0 * h_bs * h_ut * np.asarray(fc_ghz, dtype=float) * 1e9 / SPEED_OF_LIGHT_M_S


# ``lg`` is log10(d_3D), taken once by pathloss_db for the LOS and NLOS formulas (the same
# numbers as a log10 in each)
def _los_uma(d2d, lg, fc, h_bs, h_ut, d_bp):
    pl1 = 28.0 + 22.0 * lg + 20.0 * np.log10(fc)
    pl2 = (28.0 + 40.0 * lg + 20.0 * np.log10(fc)
           - 9.0 * np.log10(d_bp**2 + (h_bs - h_ut) ** 2))
    return np.where(d2d <= d_bp, pl1, pl2)


def _nlos_uma(lg, fc, h_ut):
    return 13.54 + 39.08 * lg + 20.0 * np.log10(fc) - 0.6 * (h_ut - 1.5)


def _los_umi(d2d, lg, fc, h_bs, h_ut, d_bp):
    pl1 = 32.4 + 21.0 * lg + 20.0 * np.log10(fc)
    pl2 = (32.4 + 40.0 * lg + 20.0 * np.log10(fc)
           - 9.5 * np.log10(d_bp**2 + (h_bs - h_ut) ** 2))
    return np.where(d2d <= d_bp, pl1, pl2)


def _nlos_umi(lg, fc, h_ut):
    return 22.4 + 35.3 * lg + 21.3 * np.log10(fc) - 0.3 * (h_ut - 1.5)


def pathloss_db(scenario: str, los, d2d_m, fc_ghz, h_bs_m, h_ut_m) -> np.ndarray:
    """Path loss of TR 38.901 Table 7.4.1-1, UMa or UMi–Street Canyon (radio-reference C.10).

    Parameters
    ----------
    scenario : {"UMa", "UMi"}
    los : bool or array_like of bool
        LOS state per link (broadcast with the distances).
    d2d_m : float or array_like
        Horizontal BS–UT distance in metres, clipped to ≥ 10 m.
    fc_ghz : float
        Carrier frequency in GHz.
    h_bs_m, h_ut_m : float or array_like
        BS and UT heights in metres (broadcast, e.g. ``[C, 1]`` and ``[U]``);
        d_3D = sqrt(d_2D² + (h_BS − h_UT)²).

    Returns
    -------
    ndarray of float (dB)
        LOS: PL1 below the breakpoint d'_BP (h_E = 1 m), PL2 beyond; NLOS: max(PL_LOS, PL'_NLOS).
    """
    _check_scenario(scenario)
    d2d = np.maximum(np.asarray(d2d_m, dtype=float), MIN_D2D_M)
    h_bs = np.asarray(h_bs_m, dtype=float)
    h_ut = np.asarray(h_ut_m, dtype=float)
    d3d = np.sqrt(d2d**2 + (h_bs - h_ut) ** 2)
    d_bp = breakpoint_distance_m(fc_ghz, h_bs, h_ut)
    lg = np.log10(d3d)
    if scenario == "UMa":
        pl_los = _los_uma(d2d, lg, fc_ghz, h_bs, h_ut, d_bp)
        pl_nlos = _nlos_uma(lg, fc_ghz, h_ut)
    else:
        pl_los = _los_umi(d2d, lg, fc_ghz, h_bs, h_ut, d_bp)
        pl_nlos = _nlos_umi(lg, fc_ghz, h_ut)
    return np.where(np.asarray(los, dtype=bool), pl_los, np.maximum(pl_los, pl_nlos))


def los_probability(scenario: str, d2d_m, h_ut_m=1.5) -> np.ndarray:
    """Outdoor LOS probability, TR 38.901 Table 7.4.2-1 (radio-reference C.10).

    Parameters
    ----------
    scenario : {"UMa", "UMi"}
    d2d_m : float or array_like
        Horizontal (outdoor) distance in metres.
    h_ut_m : float or array_like
        UT height in metres (UMa only: C'(h_UT) = ((h_UT − 13)/10)^1.5 above 13 m).

    Returns
    -------
    ndarray of float in [0, 1]
        1 for d_2D ≤ 18 m; UMa: [18/d + e^(−d/63)(1 − 18/d)]·[1 + C'(h_UT)·5/4·(d/100)³·e^(−d/150)];
        UMi: 18/d + e^(−d/36)(1 − 18/d).
    """
    _check_scenario(scenario)
    d = np.maximum(np.asarray(d2d_m, dtype=float), 18.0)
    if scenario == "UMa":
        h_ut = np.asarray(h_ut_m, dtype=float)
        c_h = np.where(h_ut <= 13.0, 0.0, (np.clip(h_ut, 13.0, 23.0) - 13.0) / 10.0) ** 1.5
        r = 18.0 / d
        base = r + np.exp(-d / 63.0) * (1.0 - r)
        if c_h.ndim == 0 and c_h == 0.0 and (d.size == 0 or bool(d.max() < 1e100)):
            # UEs at most 13 m high (a scalar height): the height term is 0 · (finite) = 0,
            # and base · (1 + 0) is base itself, bit for bit
            p = base
        else:
            p = base * (1.0 + c_h * 1.25 * (d / 100.0) ** 3 * np.exp(-d / 150.0))
    else:
        p = 18.0 / d + np.exp(-d / 36.0) * (1.0 - 18.0 / d)
    return np.clip(p, 0.0, 1.0)


def shadow_sigma_db(scenario: str, los) -> np.ndarray:
    """Shadow-fading standard deviation σ_SF in dB, TR 38.901 Table 7.4.1-1.

    UMa 4 dB (LOS) / 6 dB (NLOS); UMi 4 dB / 7.82 dB.

    Parameters
    ----------
    scenario : {"UMa", "UMi"}
    los : bool or array_like of bool

    Returns
    -------
    ndarray of float (dB), shape of ``los``
    """
    _check_scenario(scenario)
    sigma_los, sigma_nlos = _SIGMA_SF_DB[scenario]
    return np.where(np.asarray(los, dtype=bool), sigma_los, sigma_nlos)


def shadow_decorrelation_m(scenario: str, los: bool) -> float:
    """Shadow-fading decorrelation distance, TR 38.901 Table 7.5-6: UMa 37/50 m, UMi 10/13 m."""
    _check_scenario(scenario)
    return _SF_DECORRELATION_M[scenario][0 if los else 1]


def los_correlation_m(scenario: str) -> float:
    """Correlation distance of the LOS state, TR 38.901 §7.6.3: UMa 50 m, UMi 15 m [K].

    Not in the project reference sheet; the values are the commonly quoted ones for the
    spatially consistent LOS/NLOS procedure and should be re-checked against the spec.
    """
    _check_scenario(scenario)
    return _LOS_CORRELATION_M[scenario]


# ----------------------------------------------------------------------------------------------
# spatially consistent fields
# ----------------------------------------------------------------------------------------------
K_MAX_RAD_M = 2.0 * np.pi
"""Largest wave number of the sum-of-sinusoids fields (one cycle per metre), see CorrelatedField."""


class CorrelatedField:
    """Zero-mean, unit-variance 2-D Gaussian random fields with correlation exp(−Δ/d_cor).

    Sum of M sinusoids (spectral method): for each field,

    .. math:: f(\\mathbf{x}) = \\sqrt{2/M} \\sum_{m=1}^{M} \\cos(\\mathbf{k}_m \\cdot \\mathbf{x}
              + \\psi_m)

    with uniform phases ψ_m, uniform directions of k_m, and magnitudes |k_m| drawn from the
    radial law of the 2-D spectral density of exp(−r/d), P(|k| ≤ K) = 1 − 1/sqrt(1 + (K·d)²),
    i.e. K = sqrt((1 − u)^−2 − 1)/d with u ~ U[0, 1), clipped at K_MAX = 2π rad/m (for d = 50 m
    that touches 0.3 % of the sinusoids and changes the correlation only below ~1 m). Then
    E[f(x)f(x + Δ)] = E[cos(k·Δ)] =
    exp(−|Δ|/d) exactly, over realisations; the marginal is Gaussian as M grows (CLT).

    ``kernel="gaussian"`` gives the correlation exp(−Δ²/d²) instead (k ~ N(0, 2/d² I)): a smooth
    (differentiable) field. The exponential kernel is rough — a threshold on it (the LOS state)
    would flip back and forth many times within a metre near the boundary, each flip a ~20 dB
    path-loss step — so simran uses the Gaussian kernel for the LOS state and the exponential one
    (TR 38.901 Table 7.5-6) for shadowing.

    Used for spatially consistent shadowing (one field per site, scaled by σ_SF) and LOS state
    (one field per site, see :func:`los_from_field`), TR 38.901 §7.6.3.

    Parameters
    ----------
    rng : numpy.random.Generator
        The channel stream; all draws happen here, so the field is deterministic from it.
    n_fields : int
        Number of independent fields F.
    decorrelation_m : float
        Decorrelation distance d_cor in metres (correlation e^−1 at d_cor).
    n_sinusoids : int
        Number of sinusoids M per field.
    """

    def __init__(self, rng: np.random.Generator, n_fields: int, decorrelation_m: float,
                 n_sinusoids: int = 64, kernel: str = "exponential"):
        if kernel not in ("exponential", "gaussian"):
            raise ChannelError(f"unknown correlation kernel {kernel!r} (exponential, gaussian)")
        if decorrelation_m <= 0 or n_fields < 1 or n_sinusoids < 1:
            raise ChannelError("CorrelatedField needs decorrelation_m > 0, n_fields ≥ 1, "
                               f"n_sinusoids ≥ 1 (got {decorrelation_m}, {n_fields}, "
                               f"{n_sinusoids})")
        self.n_fields = int(n_fields)
        self.decorrelation_m = float(decorrelation_m)
        self.n_sinusoids = int(n_sinusoids)
        self.kernel = kernel
        shape = (self.n_fields, self.n_sinusoids)
        u = rng.random(shape)
        if kernel == "exponential":
            # clipped at K_MAX (structure finer than ~1 m is irrelevant at 100 ms mobility
            # steps); this keeps every phase k·x small enough for float32 evaluation (below)
            k_mag = np.minimum(np.sqrt((1.0 - u) ** -2 - 1.0) / self.decorrelation_m,
                               K_MAX_RAD_M)
        else:
            # Gaussian kernel exp(−Δ²/d²): k ~ N(0, (√2/d)² I), i.e. |k| Rayleigh with scale √2/d
            k_mag = np.sqrt(-2.0 * np.log1p(-u)) * np.sqrt(2.0) / self.decorrelation_m
        direction = rng.uniform(0.0, 2.0 * np.pi, shape)
        # [F, M, 2] wave vectors in rad/m
        self.wave_vectors = np.stack([k_mag * np.cos(direction), k_mag * np.sin(direction)], -1)
        # [F, M]
        self.phases = rng.uniform(0.0, 2.0 * np.pi, shape)
        self._amplitude = np.sqrt(2.0 / self.n_sinusoids)
        self._buf: tuple[np.ndarray, np.ndarray] | None = None   # sample()'s work buffers

    def sample(self, xy) -> np.ndarray:
        """Evaluate every field at the given points.

        Parameters
        ----------
        xy : array_like, shape [U, 2]
            Positions in metres.

        Returns
        -------
        ndarray, shape [n_fields, U]
            Field values (zero mean, unit variance over realisations).
        """
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        n_pts = xy.shape[0]
        out = np.empty((self.n_fields, n_pts))
        # chunk over fields to bound the [chunk, U, M] temporary to ~1 M elements
        chunk = min(self.n_fields, max(1, 1_000_000 // max(1, n_pts * self.n_sinusoids)))
        # the [chunk, U, M] work buffers are kept between calls (mobility samples every period
        # at the same U): a fresh multi-MB array each call costs more in page faults than the
        # arithmetic; same operations, same results. (Not kept for one-off huge point sets.)
        buf = self._buf
        if buf is None or buf[0].shape[1] != n_pts or buf[0].shape[0] < chunk:
            shape = (chunk, n_pts, self.n_sinusoids)
            # with one chunk, the phases are kept broadcast to [F, U, M] too: adding a
            # contiguous array is twice as fast as adding a broadcast [F, 1, M] view, and the
            # sums are the same (each element is the same phase, added once)
            phases = (np.ascontiguousarray(np.broadcast_to(self.phases[:, None, :], shape))
                      if chunk == self.n_fields else None)
            buf = (np.empty(shape), np.empty(shape, dtype=np.float32), phases)
            self._buf = buf if buf[0].size <= 2_000_000 else None
        for start in range(0, self.n_fields, chunk):
            sl = slice(start, start + chunk)
            n = min(chunk, self.n_fields - start)
            arg, arg32 = buf[0][:n], buf[1][:n]
            # [f, U, M] phase of every sinusoid at every point, then cos in place
            np.matmul(xy, self.wave_vectors[sl].transpose(0, 2, 1), out=arg)
            arg += self.phases[sl, None, :] if buf[2] is None else buf[2]
            # cos in float32: 10× faster (SIMD); with |k| ≤ K_MAX and |x| ≤ 10 km the phase
            # error is < 0.01 rad
            np.copyto(arg32, arg, casting="same_kind")
            np.cos(arg32, out=arg32)
            arg32.sum(axis=-1, dtype=np.float64, out=out[sl])
        return self._amplitude * out


def los_from_field(field_values, p_los) -> np.ndarray:
    """LOS state from a standard-Gaussian field: LOS iff Φ(field) < P_LOS (TR 38.901 §7.6.3).

    Because Φ(field) is uniform on [0, 1] for a standard Gaussian field, P(LOS) equals
    ``p_los`` exactly at every point, while the state stays consistent along a trajectory.

    Parameters
    ----------
    field_values : array_like
        Samples of a unit-variance field (e.g. :meth:`CorrelatedField.sample`).
    p_los : array_like
        LOS probability (e.g. :func:`los_probability`), broadcast with ``field_values``.

    Returns
    -------
    ndarray of bool
    """
    return ndtr(np.asarray(field_values, dtype=float)) < np.asarray(p_los, dtype=float)


def soft_los_state(field_values, p_los, wavelength_m: float) -> np.ndarray:
    """Soft LOS state in [0, 1], TR 38.901 §7.6.3.3 (eq. 7.6-18 in V17.0.0).

    .. math:: \\mathrm{LOS}_{soft} = \\frac12 + \\frac1π \\arctan\\Big(\\sqrt{20/λ}\\,
              \\big(G + F(d)\\big)\\Big),
              \\quad F(d) = \\sqrt2\\,\\mathrm{erf}^{-1}(2 P_{LOS}(d) − 1)

    with G a spatially consistent standard Gaussian (the LOS-state field) and λ the wavelength
    [m]. Here the field X of :func:`los_from_field` plays −G (same law), so that the soft state
    is > ½ exactly where the hard state is LOS (X < Φ⁻¹(P_LOS) = F(d)), and tends to it as
    λ → 0. The formula was read from a secondary source quoting the spec (radio-reference has
    no copy of the clause: treat as [K]).

    Parameters
    ----------
    field_values : array_like
        The unit-variance LOS-state field at the UE (:meth:`CorrelatedField.sample`).
    p_los : array_like
        LOS probability (:func:`los_probability`).
    wavelength_m : float
        Carrier wavelength λ = c / f_c [m].

    Returns
    -------
    ndarray of float in [0, 1]
    """
    f = ndtri(np.clip(np.asarray(p_los, dtype=float), 0.0, 1.0))      # √2·erfinv(2p − 1)
    x = np.asarray(field_values, dtype=float)
    with np.errstate(invalid="ignore"):
        return 0.5 + np.arctan(np.sqrt(20.0 / wavelength_m) * (f - x)) / np.pi


# ----------------------------------------------------------------------------------------------
# noise (C.8)
# ----------------------------------------------------------------------------------------------
def thermal_noise_dbm(bandwidth_hz, noise_figure_db=0.0) -> np.ndarray:
    """Thermal noise power N = k·T·B·NF in dBm, T = 290 K (−173.98 dBm/Hz) (radio-reference C.8).

    Parameters
    ----------
    bandwidth_hz : float or array_like
        Noise bandwidth in Hz (e.g. 12·SCS per PRB).
    noise_figure_db : float or array_like
        Receiver noise figure in dB.

    Returns
    -------
    ndarray of float (dBm)
    """
    density_dbm_hz = 10.0 * np.log10(BOLTZMANN_J_K * REFERENCE_TEMPERATURE_K * 1e3)
    bw = np.asarray(bandwidth_hz, dtype=float)
    return density_dbm_hz + 10.0 * np.log10(bw) + np.asarray(noise_figure_db, dtype=float)
