"""Link abstraction: CQI/MCS tables, SINR→CQI, CQI→MCS, rate per PRB, PRB count, peak rate.

The chain a system-level simulator needs between a SINR and a bit rate, all vectorised:

* CQI tables 1/2/3 — TS 38.214 Tables 5.2.2.1-2/-3/-4 (radio-reference C.1);
* MCS tables 1/2/3 for PDSCH — TS 38.214 Tables 5.1.3.1-1/-2/-3 (C.2), reserved rows excluded;
* SINR → CQI by a pluggable threshold table (C.4) or the analytic Shannon-gap rule (C.4c);
* CQI → MCS by the OAI gNB rule (C.3 rule 1) with a spectral-efficiency fallback;
* bits per PRB per slot and rate per PRB (C.6), the TS 38.306 §4.1.2 peak rate (C.6),
  the TS 38.214 §5.1.3.2 transport block size (C.5, a cross-check of the closed form);
* N_PRB from TS 38.101-1 / 38.101-2 Table 5.3.2-1 (C.7) and the numerology μ.

Conventions: a CQI of 0 ("out of range") maps to MCS ``-1``, which means *no transmission*;
MCS ``-1`` has efficiency 0 and TBS 0.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from simran.errors import SimranError
from simran.units import db_to_lin


class LinkError(SimranError, ValueError):
    """A link-abstraction input is not supported (unknown table, bandwidth, SCS, CQI/MCS index)."""


def _efficiency(qm: np.ndarray, r_x1024: np.ndarray) -> np.ndarray:
    """Q_m · R/1024 rounded half-up to 4 decimals, as TS 38.214 prints it (C.1)."""
    return np.floor(qm * r_x1024 / 1024.0 * 1e4 + 0.5) / 1e4


def _table(rows: list[tuple[float, float]], cqi: bool) -> np.ndarray:
    """Build a read-only (Q_m, R×1024, efficiency) array; CQI tables get the CQI-0 row."""
    arr = np.array(rows, dtype=float)
    arr = np.column_stack([arr, _efficiency(arr[:, 0], arr[:, 1])])
    if cqi:
        arr = np.vstack([np.zeros((1, 3)), arr])
    arr.setflags(write=False)
    return arr


# --- TS 38.214 Tables 5.2.2.1-2/-3/-4 (C.1): (Q_m, R x 1024); row 0 = CQI 0 "out of range" ---
CQI_TABLES: dict[str, np.ndarray] = {
    "table1": _table(
        [(2, 78), (2, 120), (2, 193), (2, 308), (2, 449), (2, 602), (4, 378), (4, 490),
         (4, 616), (6, 466), (6, 567), (6, 666), (6, 772), (6, 873), (6, 948)], cqi=True),
    "table2": _table(
        [(2, 78), (2, 193), (2, 449), (4, 378), (4, 490), (4, 616), (6, 466), (6, 567),
         (6, 666), (6, 772), (6, 873), (8, 711), (8, 797), (8, 885), (8, 948)], cqi=True),
    "table3": _table(
        [(2, 30), (2, 50), (2, 78), (2, 120), (2, 193), (2, 308), (2, 449), (2, 602),
         (4, 378), (4, 490), (4, 616), (6, 466), (6, 567), (6, 666), (6, 772)], cqi=True),
}
"""CQI tables, each ``[16, 3]`` = (Q_m, R×1024, efficiency bit/RE); index = CQI, CQI 0 is zeros."""

# --- TS 38.214 Tables 5.1.3.1-1/-2/-3 (C.2): (Q_m, R x 1024), reserved rows excluded ---
MCS_TABLES: dict[str, np.ndarray] = {
    "qam64": _table(
        [(2, 120), (2, 157), (2, 193), (2, 251), (2, 308), (2, 379), (2, 449), (2, 526),
         (2, 602), (2, 679), (4, 340), (4, 378), (4, 434), (4, 490), (4, 553), (4, 616),
         (4, 658), (6, 438), (6, 466), (6, 517), (6, 567), (6, 616), (6, 666), (6, 719),
         (6, 772), (6, 822), (6, 873), (6, 910), (6, 948)], cqi=False),
    "qam256": _table(
        [(2, 120), (2, 193), (2, 308), (2, 449), (2, 602), (4, 378), (4, 434), (4, 490),
         (4, 553), (4, 616), (4, 658), (6, 466), (6, 517), (6, 567), (6, 616), (6, 666),
         (6, 719), (6, 772), (6, 822), (6, 873), (8, 682.5), (8, 711), (8, 754), (8, 797),
         (8, 841), (8, 885), (8, 916.5), (8, 948)], cqi=False),
    "qam64LowSE": _table(
        [(2, 30), (2, 40), (2, 50), (2, 64), (2, 78), (2, 99), (2, 120), (2, 157), (2, 193),
         (2, 251), (2, 308), (2, 379), (2, 449), (2, 526), (2, 602), (4, 340), (4, 378),
         (4, 434), (4, 490), (4, 553), (4, 616), (6, 438), (6, 466), (6, 517), (6, 567),
         (6, 616), (6, 666), (6, 719), (6, 772)], cqi=False),
}
"""PDSCH MCS tables, each ``[n_mcs, 3]`` = (Q_m, R×1024, efficiency); valid MCS 0..28 / 0..27."""

# --- C.4: lower SINR bound (dB) of CQI 1..15, CQI table 1 ---
SINR_CQI_THRESHOLDS_DB: dict[str, np.ndarray] = {
    # C.4b MathWorks "5G NR CQI reporting" example (90 % throughput), via AIMM-simulator [V]
    "nr_mathworks": np.array([-1.89, -0.82, 0.95, 2.95, 4.90, 7.39, 8.89, 11.02, 13.32, 14.68,
                              16.62, 18.91, 21.58, 24.88, 29.32]),
    # C.4a commonly cited LTE table (10 % BLER); provenance not verified in the reference sheet
    "lte_fan": np.array([-6.7, -4.7, -2.3, 0.2, 2.4, 4.3, 5.9, 8.1, 10.3, 11.7, 14.1, 16.3,
                         18.7, 21.0, 22.7]),
}
for _thr in SINR_CQI_THRESHOLDS_DB.values():
    _thr.setflags(write=False)

SINR_CQI_MAPPINGS = ("nr_mathworks", "lte_fan", "analytic")
"""Names accepted by :func:`sinr_to_cqi`."""

ANALYTIC_BER = 5e-5
"""Target BER of the analytic SINR→CQI rule (C.4c, ns-3 PiroEW2010 default)."""

R_MAX = 948.0 / 1024.0
"""TS 38.306 §4.1.2 maximum code rate R_max."""

# TS 38.306 §4.1.2 overhead OH by (frequency range, direction) (C.6)
_OVERHEAD_38306 = {("FR1", "DL"): 0.14, ("FR2", "DL"): 0.18, ("FR1", "UL"): 0.08,
                   ("FR2", "UL"): 0.10}

# N_RB by frequency range → SCS kHz → channel bandwidth MHz (C.7).
# FR1: TS 38.101-1 Table 5.3.2-1 [V]; the 35 and 45 MHz columns were added in later releases [K].
# FR2: TS 38.101-2 Table 5.3.2-1 [V].
_N_RB: dict[str, dict[int, dict[float, int]]] = {
    "FR1": {
        15: {5: 25, 10: 52, 15: 79, 20: 106, 25: 133, 30: 160, 35: 188, 40: 216, 45: 242,
             50: 270},
        30: {5: 11, 10: 24, 15: 38, 20: 51, 25: 65, 30: 78, 35: 92, 40: 106, 45: 119, 50: 133,
             60: 162, 70: 189, 80: 217, 90: 245, 100: 273},
        60: {10: 11, 15: 18, 20: 24, 25: 31, 30: 38, 35: 44, 40: 51, 45: 58, 50: 65, 60: 79,
             70: 93, 80: 107, 90: 121, 100: 135},
    },
    "FR2": {
        60: {50: 66, 100: 132, 200: 264},
        120: {50: 32, 100: 66, 200: 132, 400: 264},
    },
}

# TS 38.214 Table 5.1.3.2-1 (C.5): TBS for N_info <= 3824, 93 entries (bits)
TBS_TABLE_38214 = np.array([
    24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120, 128, 136, 144, 152, 160, 168, 176,
    184, 192, 208, 224, 240, 256, 272, 288, 304, 320, 336, 352, 368, 384, 408, 432, 456, 480,
    504, 528, 552, 576, 608, 640, 672, 704, 736, 768, 808, 848, 888, 928, 984, 1032, 1064, 1128,
    1160, 1192, 1224, 1256, 1288, 1320, 1352, 1416, 1480, 1544, 1608, 1672, 1736, 1800, 1864,
    1928, 2024, 2088, 2152, 2216, 2280, 2408, 2472, 2536, 2600, 2664, 2728, 2792, 2856, 2976,
    3104, 3240, 3368, 3496, 3624, 3752, 3824], dtype=np.int64)
TBS_TABLE_38214.setflags(write=False)

SUBCARRIERS_PER_PRB = 12
SYMBOLS_PER_SLOT = 14


# ----------------------------------------------------------------------------------------------
# table access
# ----------------------------------------------------------------------------------------------
def _lookup(tables: dict[str, np.ndarray], name: str, kind: str) -> np.ndarray:
    try:
        return tables[name]
    except KeyError:
        raise LinkError(f"unknown {kind} {name!r}; valid: {', '.join(tables)}") from None


def cqi_table_array(name: str = "table1") -> np.ndarray:
    """Return a CQI table of TS 38.214 §5.2.2.1 (radio-reference C.1).

    Parameters
    ----------
    name : {"table1", "table2", "table3"}
        Table 5.2.2.1-2 (64QAM), -3 (256QAM) or -4 (low SE, BLER 1e-5).

    Returns
    -------
    ndarray, shape [16, 3], read-only
        Columns (Q_m, R×1024, efficiency in bit/RE); row index = CQI; row 0 is all zeros.
    """
    return _lookup(CQI_TABLES, name, "CQI table")


def mcs_table_array(name: str = "qam64") -> np.ndarray:
    """Return a PDSCH MCS table of TS 38.214 §5.1.3.1 (radio-reference C.2).

    Parameters
    ----------
    name : {"qam64", "qam256", "qam64LowSE"}
        Table 5.1.3.1-1, -2 or -3.

    Returns
    -------
    ndarray, shape [n_mcs, 3], read-only
        Columns (Q_m, R×1024, efficiency in bit/RE); row index = I_MCS; reserved rows excluded
        (n_mcs = 29 for qam64 and qam64LowSE, 28 for qam256).
    """
    return _lookup(MCS_TABLES, name, "MCS table")


def _check_index(idx: np.ndarray, low: int, high: int, what: str, where: str = "") -> None:
    if idx.size and (idx.min() < low or idx.max() > high):
        bad = idx[(idx < low) | (idx > high)].ravel()[0]
        raise LinkError(f"{what} {bad} out of range [{low}, {high}]{where}")


def cqi_efficiency(cqi, cqi_table_name: str = "table1") -> np.ndarray:
    """Spectral efficiency (bit/RE) of CQI indices, TS 38.214 Table 5.2.2.1-x (C.1).

    Parameters
    ----------
    cqi : int or array_like of int
        CQI indices 0..15 (0 → efficiency 0).
    cqi_table_name : {"table1", "table2", "table3"}

    Returns
    -------
    ndarray of float, same shape as ``cqi``
    """
    idx = np.asarray(cqi, dtype=np.int64)
    _check_index(idx, 0, 15, "CQI")
    return cqi_table_array(cqi_table_name)[idx, 2]


# ----------------------------------------------------------------------------------------------
# SINR → CQI (C.4)
# ----------------------------------------------------------------------------------------------
def analytic_gap_lin(ber: float = ANALYTIC_BER) -> float:
    """SNR gap Γ = −ln(5·BER)/1.5 of the analytic AMC model (C.4c); 5.529 (7.43 dB) at 5e-5."""
    return -np.log(5.0 * ber) / 1.5


def _analytic_cqi(sinr_db: np.ndarray) -> np.ndarray:
    """CQI = highest index of CQI table 1 whose efficiency < log2(1 + SINR/Γ) (C.4c)."""
    se = np.log2(1.0 + db_to_lin(sinr_db) / analytic_gap_lin())
    # searchsorted 'left' = number of efficiencies strictly below SE (the ns-3 "strictly less")
    return np.searchsorted(CQI_TABLES["table1"][1:, 2], se, side="left")


def sinr_to_cqi(sinr_db, mapping: str = "nr_mathworks") -> np.ndarray:
    """Map SINR to a CQI of CQI table 1 (radio-reference C.4).

    Parameters
    ----------
    sinr_db : float or array_like
        SINR in dB, any shape.
    mapping : {"nr_mathworks", "lte_fan", "analytic"}
        ``"nr_mathworks"`` (C.4b, default) and ``"lte_fan"`` (C.4a) are threshold tables:
        CQI = number of thresholds ≤ SINR. ``"analytic"`` (C.4c) is the Shannon-gap rule
        SE = log2(1 + SINR/Γ), Γ = −ln(5·BER)/1.5 with BER = 5e-5, CQI = highest index whose
        efficiency (4-decimal spec values) is strictly below SE.

    Returns
    -------
    ndarray of int8, same shape as ``sinr_db``
        CQI 0..15; NaN and −inf give 0.
    """
    sinr = np.asarray(sinr_db, dtype=float)
    if mapping == "analytic":
        with np.errstate(invalid="ignore"):
            cqi = _analytic_cqi(sinr)
    else:
        thresholds = _lookup(SINR_CQI_THRESHOLDS_DB, mapping, "SINR→CQI mapping")
        cqi = np.searchsorted(thresholds, sinr, side="right")
    cqi = np.where(np.isnan(sinr), 0, cqi)
    return cqi.astype(np.int8)


# ----------------------------------------------------------------------------------------------
# CQI → MCS (C.3)
# ----------------------------------------------------------------------------------------------
def _oai_rule(cqi_tab: np.ndarray, mcs_tab: np.ndarray) -> np.ndarray | None:
    """C.3 rule 1: lowest MCS with the CQI's Q_m and R ≥ the CQI's R; None if a CQI has none."""
    out = np.full(16, -1, dtype=np.int16)
    for cqi in range(1, 16):
        qm, r = cqi_tab[cqi, 0], cqi_tab[cqi, 1]
        hits = np.flatnonzero((mcs_tab[:, 0] == qm) & (mcs_tab[:, 1] >= r))
        if hits.size == 0:
            return None
        out[cqi] = hits[0]
    return out


def _se_rule(cqi_tab: np.ndarray, mcs_tab: np.ndarray) -> np.ndarray:
    """Highest MCS whose efficiency ≤ the CQI's efficiency; MCS 0 if none (C.3, mismatch).

    Explicit comparison, not searchsorted: MCS efficiencies are not monotone (Table 5.1.3.1-1
    MCS 17, 2.5664, is below MCS 16, 2.5703).
    """
    # [15, n_mcs]
    ok = mcs_tab[None, :, 2] <= cqi_tab[1:, None, 2]
    highest = np.where(ok, np.arange(mcs_tab.shape[0])[None, :], 0).max(axis=1)
    return np.concatenate([[-1], highest]).astype(np.int16)


@cache
def cqi_to_mcs_lut(cqi_table_name: str = "table1", mcs_table_name: str = "qam64") -> np.ndarray:
    """16-entry CQI→MCS lookup array for one (CQI table, MCS table) pair (C.3), cached.

    The OAI gNB rule (C.3 rule 1) is used when every CQI 1..15 finds an MCS with the same Q_m
    and R ≥ the CQI's R; otherwise the pair "mismatches in Q_m" and the whole pair is mapped by
    spectral efficiency (highest MCS whose efficiency ≤ the CQI's, MCS 0 if none).

    Returns
    -------
    ndarray of int16, shape [16], read-only
        Index = CQI; entry 0 is −1 (no transmission).
    """
    cqi_tab = cqi_table_array(cqi_table_name)
    mcs_tab = mcs_table_array(mcs_table_name)
    lut = _oai_rule(cqi_tab, mcs_tab)
    if lut is None:
        lut = _se_rule(cqi_tab, mcs_tab)
    lut.setflags(write=False)
    return lut


def cqi_to_mcs(cqi, cqi_table: str = "table1", mcs_table: str = "qam64") -> np.ndarray:
    """Map CQI indices to PDSCH MCS indices (radio-reference C.3, TS 38.214 tables).

    Parameters
    ----------
    cqi : int or array_like of int
        CQI 0..15 reported against ``cqi_table``.
    cqi_table : {"table1", "table2", "table3"}
    mcs_table : {"qam64", "qam256", "qam64LowSE"}

    Returns
    -------
    ndarray of int16, same shape as ``cqi``
        I_MCS; **−1 for CQI 0, meaning "no transmission"** (efficiency 0, TBS 0).

    Notes
    -----
    Matched pairs (table1/qam64, table2/qam256, table3/qam64LowSE) follow the OAI rule exactly:
    lowest MCS with the CQI's Q_m and R ≥ the CQI's R. Other pairs are mapped by spectral
    efficiency, see :func:`cqi_to_mcs_lut`.
    """
    idx = np.asarray(cqi, dtype=np.int64)
    _check_index(idx, 0, 15, "CQI")
    return cqi_to_mcs_lut(cqi_table, mcs_table)[idx]


def mcs_efficiency(mcs, mcs_table: str = "qam64") -> np.ndarray:
    """Spectral efficiency Q_m·R (bit/RE) of MCS indices, TS 38.214 §5.1.3.1 (C.2).

    Parameters
    ----------
    mcs : int or array_like of int
        I_MCS of ``mcs_table``; −1 (no transmission) → 0.
    mcs_table : {"qam64", "qam256", "qam64LowSE"}

    Returns
    -------
    ndarray of float, same shape as ``mcs``
    """
    tab = mcs_table_array(mcs_table)
    idx = np.asarray(mcs, dtype=np.int64)
    _check_index(idx, -1, tab.shape[0] - 1, "MCS", f" for {mcs_table}")
    return np.concatenate([[0.0], tab[:, 2]])[idx + 1]


# ----------------------------------------------------------------------------------------------
# numerology, PRB count (C.7)
# ----------------------------------------------------------------------------------------------
def numerology(scs_khz: float) -> int:
    """Numerology μ with SCS = 15·2^μ kHz (TS 38.211 §4.2); μ = 0..6 (15..960 kHz)."""
    for mu in range(7):
        if 15 * 2**mu == scs_khz:
            return mu
    raise LinkError(f"unsupported subcarrier spacing {scs_khz} kHz; valid: "
                    "15, 30, 60, 120, 240, 480, 960 kHz")


def slots_per_ms(scs_khz: float) -> int:
    """Slots per 1 ms subframe, 2^μ (TS 38.211 §4.3.2, normal CP)."""
    return 2 ** numerology(scs_khz)


def prb_count(bandwidth_mhz: float, scs_khz: float, fr: str = "FR1") -> int:
    """Transmission bandwidth N_RB, TS 38.101-1 (FR1) / 38.101-2 (FR2) Table 5.3.2-1 (C.7).

    Parameters
    ----------
    bandwidth_mhz : float
        Channel bandwidth in MHz.
    scs_khz : float
        Subcarrier spacing in kHz.
    fr : {"FR1", "FR2"}

    Returns
    -------
    int
        Number of PRBs.

    Raises
    ------
    LinkError (a ValueError)
        Naming the unsupported combination and the valid bandwidths for that SCS.
    """
    if fr not in _N_RB:
        raise LinkError(f"unknown frequency range {fr!r}; valid: {', '.join(_N_RB)}")
    by_scs = _N_RB[fr]
    if scs_khz not in by_scs:
        raise LinkError(f"unsupported SCS {scs_khz} kHz in {fr}; valid SCS: "
                        f"{', '.join(str(s) for s in by_scs)} kHz")
    by_bw = by_scs[scs_khz]
    if bandwidth_mhz not in by_bw:
        valid = ", ".join(f"{b:g}" for b in by_bw)
        raise LinkError(f"unsupported combination: {bandwidth_mhz:g} MHz at {scs_khz:g} kHz SCS "
                        f"in {fr}; valid bandwidths for {scs_khz:g} kHz: {valid} MHz")
    return by_bw[bandwidth_mhz]


# ----------------------------------------------------------------------------------------------
# rates (C.6)
# ----------------------------------------------------------------------------------------------
def bits_per_prb_per_slot(efficiency, layers=1, overhead=0.14) -> np.ndarray:
    """Bits carried by one PRB in one slot: 12·14·SE·v·(1 − OH) (C.6, TS 38.306 §4.1.2 form).

    Parameters
    ----------
    efficiency : float or array_like
        Spectral efficiency SE in bit/RE (e.g. :func:`mcs_efficiency` or a CQI efficiency).
    layers : int or array_like
        MIMO layers v.
    overhead : float
        Overhead fraction OH (0.14 FR1 DL).

    Returns
    -------
    ndarray of float (bits)
    """
    se = np.asarray(efficiency, dtype=float)
    return SUBCARRIERS_PER_PRB * SYMBOLS_PER_SLOT * se * np.asarray(layers) * (1.0 - overhead)


def rate_per_prb_bps(efficiency, scs_khz: float, layers=1, overhead=0.14) -> np.ndarray:
    """Bit rate of one PRB: 12·14·2^μ·1000·SE·v·(1 − OH) bit/s (C.6).

    Parameters
    ----------
    efficiency : float or array_like
        Spectral efficiency SE in bit/RE.
    scs_khz : float
        Subcarrier spacing (sets μ; 2^μ·1000 slots per second).
    layers : int or array_like
        MIMO layers v.
    overhead : float
        Overhead fraction OH.

    Returns
    -------
    ndarray of float (bit/s)
    """
    slots_per_s = slots_per_ms(scs_khz) * 1000
    return bits_per_prb_per_slot(efficiency, layers, overhead) * slots_per_s


def overhead_38306(direction: str = "DL", fr: str = "FR1") -> float:
    """TS 38.306 §4.1.2 overhead OH: 0.14 FR1 DL, 0.18 FR2 DL, 0.08 FR1 UL, 0.10 FR2 UL."""
    try:
        return _OVERHEAD_38306[(fr, direction)]
    except KeyError:
        raise LinkError(f"unknown (fr, direction) {(fr, direction)}; valid fr FR1/FR2, "
                        "direction DL/UL") from None


def peak_rate_38306_mbps(bandwidth_mhz: float, scs_khz: float, qm, layers, scaling=1.0,
                         direction: str = "DL", fr: str = "FR1") -> np.ndarray:
    """Approximate maximum data rate of one carrier, TS 38.306 §4.1.2 (C.6).

    .. math:: 10^{-6} \\, v \\, Q_m \\, f \\, R_{max} \\, \\frac{12 N_{PRB}}{T_s^\\mu} (1 - OH),
              \\quad T_s^\\mu = \\frac{10^{-3}}{14 \\cdot 2^\\mu}

    Parameters
    ----------
    bandwidth_mhz : float
        Channel bandwidth (N_PRB from :func:`prb_count`).
    scs_khz : float
        Subcarrier spacing.
    qm : int or array_like
        Maximum modulation order Q_m (2, 4, 6, 8).
    layers : int or array_like
        Maximum number of MIMO layers v.
    scaling : float or array_like
        Scaling factor f ∈ {1, 0.8, 0.75, 0.4}.
    direction : {"DL", "UL"}
    fr : {"FR1", "FR2"}

    Returns
    -------
    ndarray of float (Mb/s)
    """
    n_prb = prb_count(bandwidth_mhz, scs_khz, fr)
    t_s = 1e-3 / (SYMBOLS_PER_SLOT * slots_per_ms(scs_khz))
    oh = overhead_38306(direction, fr)
    v_qm_f = np.asarray(layers) * np.asarray(qm) * np.asarray(scaling, dtype=float)
    return 1e-6 * v_qm_f * R_MAX * n_prb * SUBCARRIERS_PER_PRB / t_s * (1.0 - oh)


# ----------------------------------------------------------------------------------------------
# transport block size (C.5)
# ----------------------------------------------------------------------------------------------
def _round_half_up(x: np.ndarray) -> np.ndarray:
    return np.floor(x + 0.5)


def _tbs_small(n_info: np.ndarray) -> np.ndarray:
    """TS 38.214 §5.1.3.2 step 3 (N_info ≤ 3824): quantise, then look up Table 5.1.3.2-1."""
    n = np.maximum(3, np.floor(np.log2(n_info)) - 6)
    n_info_q = np.maximum(24, 2**n * np.floor(n_info / 2**n))
    pos = np.minimum(np.searchsorted(TBS_TABLE_38214, n_info_q, side="left"), 92)
    return TBS_TABLE_38214[pos]


def _tbs_large(n_info: np.ndarray, code_rate: np.ndarray) -> np.ndarray:
    """TS 38.214 §5.1.3.2 step 4 (N_info > 3824): code-block segmentation formula."""
    n = np.floor(np.log2(n_info - 24)) - 5
    n_info_q = np.maximum(3840, 2**n * _round_half_up((n_info - 24) / 2**n))
    c_low_rate = np.ceil((n_info_q + 24) / 3816)
    c_high = np.where(n_info_q > 8424, np.ceil((n_info_q + 24) / 8424), 1)
    c = np.where(code_rate <= 0.25, c_low_rate, c_high)
    return (8 * c * np.ceil((n_info_q + 24) / (8 * c)) - 24).astype(np.int64)


def tbs_38214(n_prb, mcs, mcs_table: str = "qam64", n_symb=12, n_dmrs=12, n_oh=0,
              layers=1) -> np.ndarray:
    """Transport block size of one PDSCH, TS 38.214 §5.1.3.2 (radio-reference C.5).

    Parameters
    ----------
    n_prb : int or array_like
        Allocated PRBs.
    mcs : int or array_like
        I_MCS of ``mcs_table``; −1 → TBS 0.
    mcs_table : {"qam64", "qam256", "qam64LowSE"}
    n_symb : int
        PDSCH symbols in the slot N_symb^sh.
    n_dmrs : int
        DMRS REs per PRB N_DMRS^PRB (12 = one type-1 symbol, 2 CDM groups without data).
    n_oh : int
        xOverhead N_oh^PRB ∈ {0, 6, 12, 18}.
    layers : int
        Layers v.

    Returns
    -------
    ndarray of int64 (bits), broadcast shape of ``n_prb`` and ``mcs``
    """
    tab = mcs_table_array(mcs_table)
    mcs = np.asarray(mcs, dtype=np.int64)
    _check_index(mcs, -1, tab.shape[0] - 1, "MCS", f" for {mcs_table}")
    padded = np.vstack([np.zeros((1, 3)), tab])
    qm, code_rate = padded[mcs + 1, 0], padded[mcs + 1, 1] / 1024.0
    n_re = np.minimum(156, SUBCARRIERS_PER_PRB * n_symb - n_dmrs - n_oh) * np.asarray(n_prb)
    n_info = n_re * code_rate * qm * layers
    safe = np.where(n_info > 0, n_info, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        tbs = np.where(safe <= 3824, _tbs_small(safe), _tbs_large(np.maximum(safe, 3825),
                                                                  code_rate))
    return np.where(n_info > 0, tbs, 0).astype(np.int64)
