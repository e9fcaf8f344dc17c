"""Base-station antenna element pattern, 3GPP TR 38.901 Table 7.3-1 (radio-reference C.9).

The 3-D sector pattern is the sum of a horizontal and a vertical parabolic cut (dB), capped by the
front-to-back ratio A_max, plus the maximum element gain G_E,max (8 dBi):

.. math::
    A_H(\\varphi) = -\\min\\{12 (\\varphi/\\varphi_{3dB})^2, A_{max}\\}, \\quad
    A_V(\\theta) = -\\min\\{12 ((\\theta - 90°)/\\theta_{3dB})^2, SLA_V\\}, \\\\
    A(\\theta, \\varphi) = -\\min\\{-(A_V + A_H), A_{max}\\}, \\quad G = G_{E,max} + A.

Angles follow the TR 38.901 global coordinate system: azimuth φ counter-clockwise from the +x
axis (east) in the horizontal plane, zenith θ from the +z axis (θ = 90° is the horizon, θ > 90°
points below it). Electrical down-tilt uses the simple approximation of C.9 [K]: the beam points
at zenith 90° + tilt, i.e. θ is replaced by θ − tilt in A_V (the spec rotates the LCS instead).
"""

from __future__ import annotations

import numpy as np


def wrap_deg(angle_deg) -> np.ndarray:
    """Wrap angles to [−180°, 180°).

    Parameters
    ----------
    angle_deg : float or array_like
        Angles in degrees.

    Returns
    -------
    ndarray of float (degrees)
    """
    a = np.asarray(angle_deg, dtype=float) + 180.0
    if a.size > 16 and a.min() > -360.0 and a.max() < 360.0:
        # the angles of the channel (a bearing minus a boresight, both within a turn) lie in
        # (−360°, 360°) after the shift: there mod(a, 360) is a itself for a ≥ 0 and a + 360
        # for a < 0 — numpy's float mod is fmod (exact; here a itself) plus 360 when the sign
        # differs, the same single rounding of a + 360; −0.0 gives −0.0 instead of +0.0, and
        # both become −180 below. Three cheap calls instead of a slow one (tested bit-exact)
        m = np.where(a < 0.0, a + 360.0, a)
    else:
        m = np.mod(a, 360.0)
    m -= 180.0
    return m


def horizontal_cut_db(azimuth_off_deg, phi_3db=65.0, a_max=30.0) -> np.ndarray:
    """Horizontal attenuation A_H(φ) = −min{12(φ/φ_3dB)², A_max} in dB (TR 38.901 Table 7.3-1).

    Parameters
    ----------
    azimuth_off_deg : float or array_like
        Azimuth off boresight in degrees (wrapped to [−180°, 180°) here).
    phi_3db : float
        Horizontal half-power beamwidth φ_3dB in degrees.
    a_max : float
        Front-to-back ratio A_max in dB.
    """
    phi = wrap_deg(azimuth_off_deg)
    return -np.minimum(12.0 * (phi / phi_3db) ** 2, a_max)


def vertical_cut_db(zenith_deg, downtilt_deg=0.0, theta_3db=65.0, sla_v=30.0) -> np.ndarray:
    """Vertical attenuation A_V(θ) = −min{12((θ − 90° − tilt)/θ_3dB)², SLA_V} in dB (Table 7.3-1).

    Parameters
    ----------
    zenith_deg : float or array_like
        Zenith angle θ in degrees (90° = horizon).
    downtilt_deg : float or array_like
        Electrical down-tilt below the horizon in degrees (simple approximation, C.9 [K]).
    theta_3db : float
        Vertical half-power beamwidth θ_3dB in degrees.
    sla_v : float
        Side-lobe level limit SLA_V in dB.
    """
    off = np.asarray(zenith_deg, dtype=float) - 90.0 - np.asarray(downtilt_deg, dtype=float)
    return -np.minimum(12.0 * (off / theta_3db) ** 2, sla_v)


def sector_gain_dbi(azimuth_off_deg, zenith_deg, downtilt_deg=0.0, max_gain_dbi=8.0,
                    phi_3db=65.0, theta_3db=65.0, a_max=30.0, sla_v=30.0) -> np.ndarray:
    """Gain of a TR 38.901 Table 7.3-1 sector element toward (θ, φ), in dBi (C.9).

    All array arguments broadcast against each other (e.g. ``[C, U]`` angles with ``[C, 1]``
    tilts).

    Parameters
    ----------
    azimuth_off_deg : float or array_like
        Azimuth of the target relative to the boresight, degrees; any value, wrapped to
        [−180°, 180°).
    zenith_deg : float or array_like
        Zenith angle of the target seen from the antenna, degrees (90° = horizon).
    downtilt_deg : float or array_like
        Electrical down-tilt, degrees below the horizon.
    max_gain_dbi : float
        Maximum directional element gain G_E,max (8 dBi).
    phi_3db, theta_3db : float
        Half-power beamwidths in degrees (65°).
    a_max : float
        Front-to-back ratio A_max in dB (30 dB); also caps the 3-D attenuation.
    sla_v : float
        Vertical side-lobe level limit in dB (30 dB).

    Returns
    -------
    ndarray of float (dBi)
        G_E,max − min{−(A_V + A_H), A_max}.
    """
    a_h = horizontal_cut_db(azimuth_off_deg, phi_3db, a_max)
    a_v = vertical_cut_db(zenith_deg, downtilt_deg, theta_3db, sla_v)
    return max_gain_dbi - np.minimum(-(a_v + a_h), a_max)


def omni_gain_dbi(azimuth_off_deg, zenith_deg, gain_dbi=0.0) -> np.ndarray:
    """Isotropic (omni) antenna: a constant gain in every direction, in dBi.

    Parameters
    ----------
    azimuth_off_deg, zenith_deg : float or array_like
        Only their broadcast shape is used.
    gain_dbi : float
        The constant gain (0 dBi).

    Returns
    -------
    ndarray of float (dBi), the broadcast shape of the angles
    """
    shape = np.broadcast_shapes(np.shape(azimuth_off_deg), np.shape(zenith_deg))
    return np.full(shape, float(gain_dbi))


def co_sited(bs_xy) -> tuple[np.ndarray, np.ndarray] | None:
    """The distinct antenna positions of the cells and the position of each cell.

    Parameters
    ----------
    bs_xy : array_like, shape [C, 2]
        Cell (antenna) positions in metres.

    Returns
    -------
    (pos, at) or None
        ``pos`` [P, 2] the distinct positions (m, sorted as :func:`numpy.unique` sorts them),
        ``at`` [C] the row of ``pos`` of every cell; None when no two cells share a position.
        :func:`angles` takes it as ``co_sited`` (the cells of a run never move: it is computed
        once instead of at every channel update).
    """
    bs_xy = np.asarray(bs_xy, dtype=float).reshape(-1, 2)
    pos, at = np.unique(bs_xy, axis=0, return_inverse=True)
    return None if pos.shape[0] == bs_xy.shape[0] else (pos, at.reshape(-1))


def angles(bs_xy, bs_azimuth_deg, bs_height_m, ue_xy, ue_height_m, co_sited_cells=False,
           with_d3d=True):
    """Geometry from every cell to every UE in the TR 38.901 global coordinate system.

    Parameters
    ----------
    bs_xy : array_like, shape [C, 2]
        Cell (antenna) positions in metres.
    bs_azimuth_deg : array_like, shape [C]
        Boresight azimuths, degrees counter-clockwise from +x.
    bs_height_m : float or array_like, shape [C]
        Antenna heights in metres.
    ue_xy : array_like, shape [U, 2]
        UE positions in metres.
    ue_height_m : float or array_like, shape [U]
        UE heights in metres.
    co_sited_cells : tuple or None, optional
        :func:`co_sited` of ``bs_xy`` if the caller has it (the default computes it).
    with_d3d : bool
        False: ``d3d_m`` is not computed (None), for a caller that does not use it.

    Returns
    -------
    phi_off_deg : ndarray, shape [C, U]
        Azimuth of the UE relative to the boresight, wrapped to [−180°, 180°).
    zenith_deg : ndarray, shape [C, U]
        Zenith angle of the UE seen from the antenna (> 90° when the UE is lower).
    d2d_m : ndarray, shape [C, U]
        Horizontal distance.
    d3d_m : ndarray, shape [C, U], or None
        Straight-line distance (None with ``with_d3d=False``).
    """
    bs_xy = np.asarray(bs_xy, dtype=float).reshape(-1, 2)
    ue_xy = np.asarray(ue_xy, dtype=float).reshape(-1, 2)
    h_bs = np.asarray(bs_height_m, dtype=float)
    at = None
    if h_bs.ndim == 0 and bs_xy.shape[0] > 1:
        # co-sited cells (the sectors of a site) see the same distances and angles but for the
        # boresight: those are computed once per position (the same operations on the same
        # numbers) and expanded to the cells
        sites = co_sited(bs_xy) if co_sited_cells is False else co_sited_cells
        if sites is not None:
            bs_xy, at = sites
    # [C, U, 2]
    delta = ue_xy[None, :, :] - bs_xy[:, None, :]
    d2d = np.hypot(delta[..., 0], delta[..., 1])
    # [C, U]: UE height minus antenna height
    h_ue = np.asarray(ue_height_m, dtype=float)[None]
    dz = np.broadcast_to(h_ue - h_bs[..., None], d2d.shape)
    bearing = np.degrees(np.arctan2(delta[..., 1], delta[..., 0]))
    zenith = np.degrees(np.arctan2(d2d, dz))
    d3d = np.hypot(d2d, dz) if with_d3d else None
    if at is not None:
        bearing, zenith, d2d = bearing[at], zenith[at], d2d[at]
        if with_d3d:
            d3d = d3d[at]
    phi_off = wrap_deg(bearing - np.asarray(bs_azimuth_deg, dtype=float)[:, None])
    return phi_off, zenith, d2d, d3d
