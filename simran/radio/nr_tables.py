"""3GPP NR link tables and their lookup (radio-reference C.1, C.2, C.4, C.5, C.6, C.7).

Data only, read-only arrays and dicts; the functions that use them are in
:mod:`simran.radio.link` (SINR → CQI → MCS → rate, N_PRB, peak rate) and
:mod:`simran.radio.tbs` (transport block size):

* CQI tables 1/2/3 — TS 38.214 Tables 5.2.2.1-2/-3/-4 (C.1);
* MCS tables 1/2/3 for PDSCH — TS 38.214 Tables 5.1.3.1-1/-2/-3 (C.2), reserved rows excluded;
* SINR → CQI threshold tables (C.4; not 3GPP: documented simulator choices);
* the TS 38.214 Table 5.1.3.2-1 TBS table (C.5);
* TS 38.306 §4.1.2 constants R_max and OH (C.6);
* N_RB of TS 38.101-1 / 38.101-2 Table 5.3.2-1 (C.7).
"""

from __future__ import annotations

import numpy as np

from simran.errors import SimranError


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
OVERHEAD_38306 = {("FR1", "DL"): 0.14, ("FR2", "DL"): 0.18, ("FR1", "UL"): 0.08,
                   ("FR2", "UL"): 0.10}

# N_RB by frequency range → SCS kHz → channel bandwidth MHz (C.7).
# FR1: TS 38.101-1 Table 5.3.2-1 [V]; the 35 and 45 MHz columns were added in later releases [K].
# FR2: TS 38.101-2 Table 5.3.2-1 [V].
N_RB: dict[str, dict[int, dict[float, int]]] = {
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
def lookup(tables: dict[str, np.ndarray], name: str, kind: str) -> np.ndarray:
    """``tables[name]``, or a :class:`LinkError` naming the ``kind`` and the valid names."""
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
    return lookup(CQI_TABLES, name, "CQI table")


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
    return lookup(MCS_TABLES, name, "MCS table")


def check_index(idx: np.ndarray, low: int, high: int, what: str, where: str = "") -> None:
    """Raise a :class:`LinkError` naming the first index of ``idx`` outside ``[low, high]``."""
    if idx.size and (idx.min() < low or idx.max() > high):
        bad = idx[(idx < low) | (idx > high)].ravel()[0]
        raise LinkError(f"{what} {bad} out of range [{low}, {high}]{where}")


def overhead_38306(direction: str = "DL", fr: str = "FR1") -> float:
    """TS 38.306 §4.1.2 overhead OH: 0.14 FR1 DL, 0.18 FR2 DL, 0.08 FR1 UL, 0.10 FR2 UL."""
    try:
        return OVERHEAD_38306[(fr, direction)]
    except KeyError:
        raise LinkError(f"unknown (fr, direction) {(fr, direction)}; valid fr FR1/FR2, "
                        "direction DL/UL") from None

