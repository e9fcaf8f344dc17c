"""Transport block size of one PDSCH, TS 38.214 §5.1.3.2 (radio-reference C.5).

A cross-check of the closed-form rate of :mod:`simran.radio.link` (the simulator itself uses the
closed form, C.6): the TBS of ``n_prb`` PRBs at an MCS, by the spec's quantisation steps and
Table 5.1.3.2-1.
"""

from __future__ import annotations

import numpy as np

from simran.radio.nr_tables import (
    SUBCARRIERS_PER_PRB,
    TBS_TABLE_38214,
    check_index,
    mcs_table_array,
)


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
    check_index(mcs, -1, tab.shape[0] - 1, "MCS", f" for {mcs_table}")
    padded = np.vstack([np.zeros((1, 3)), tab])
    qm, code_rate = padded[mcs + 1, 0], padded[mcs + 1, 1] / 1024.0
    n_re = np.minimum(156, SUBCARRIERS_PER_PRB * n_symb - n_dmrs - n_oh) * np.asarray(n_prb)
    n_info = n_re * code_rate * qm * layers
    safe = np.where(n_info > 0, n_info, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        tbs = np.where(safe <= 3824, _tbs_small(safe), _tbs_large(np.maximum(safe, 3825),
                                                                  code_rate))
    return np.where(n_info > 0, tbs, 0).astype(np.int64)
