"""Link abstraction: SINR→CQI, CQI→MCS, rate per PRB, PRB count, peak rate, link tables.

The chain a system-level simulator needs between a SINR and a bit rate, all vectorised:

* spectral efficiency of a CQI / MCS index (tables in :mod:`simran.radio.nr_tables`, C.1/C.2);
* SINR → CQI by a pluggable threshold table (C.4) or the analytic Shannon-gap rule (C.4c);
* CQI → MCS by the OAI gNB rule (C.3 rule 1) with a spectral-efficiency fallback;
* bits per PRB per slot and rate per PRB (C.6), the TS 38.306 §4.1.2 peak rate (C.6);
* N_PRB from TS 38.101-1 / 38.101-2 Table 5.3.2-1 (C.7) and the numerology μ;
* :func:`link_table` — all of it for one carrier configuration, without a simulation.

The TS 38.214 §5.1.3.2 transport block size (C.5, a cross-check of the closed form) is in
:mod:`simran.radio.tbs`.

Conventions: a CQI of 0 ("out of range") maps to MCS ``-1``, which means *no transmission*;
MCS ``-1`` has efficiency 0 and TBS 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from simran.radio.nr_tables import (
    ANALYTIC_BER,
    CQI_TABLES,
    N_RB,
    R_MAX,
    SINR_CQI_THRESHOLDS_DB,
    SUBCARRIERS_PER_PRB,
    SYMBOLS_PER_SLOT,
    LinkError,
    check_index,
    cqi_table_array,
    lookup,
    mcs_table_array,
    overhead_38306,
)
from simran.units import US_PER_S, db_to_lin, ms_to_us


# ----------------------------------------------------------------------------------------------
# spectral efficiency (C.1)
# ----------------------------------------------------------------------------------------------
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
    check_index(idx, 0, 15, "CQI")
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
        thresholds = lookup(SINR_CQI_THRESHOLDS_DB, mapping, "SINR→CQI mapping")
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
    check_index(idx, 0, 15, "CQI")
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
    check_index(idx, -1, tab.shape[0] - 1, "MCS", f" for {mcs_table}")
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
    if fr not in N_RB:
        raise LinkError(f"unknown frequency range {fr!r}; valid: {', '.join(N_RB)}")
    by_scs = N_RB[fr]
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
# link tables of one carrier (C.3, C.6, C.7)
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class LinkTable:
    """The per-CQI link numbers of one carrier configuration (arrays read-only, index = CQI).

    Attributes
    ----------
    n_prb : int
        N_PRB of the carrier, TS 38.101-1 / 38.101-2 Table 5.3.2-1 (C.7).
    tick_s : float
        Scheduler tick [s] the per-tick numbers are for.
    cqi_to_mcs : ndarray of int16, shape [16]
        CQI → PDSCH I_MCS (C.3; −1 at CQI 0 = no transmission).
    rate_per_prb_bps : ndarray of float, shape [16]
        Rate of one PRB [bit/s]: 12 · 14 · 2^μ · 1000 · SE(MCS) · v · (1 − OH) (C.6).
    bits_per_prb_tick : ndarray of float, shape [16]
        Bits one PRB carries in one tick [bit]: ``rate_per_prb_bps · tick_s``.
    peak_rate_bps : float
        Cell peak rate [bit/s]: all N_PRB at CQI 15, ``n_prb · rate_per_prb_bps[15]`` (with CQI
        table 1 / qam64, 1 layer, OH 0.14 the TS 38.306 §4.1.2 figure for Q_m = 6, f = 1).
    """

    n_prb: int
    tick_s: float
    cqi_to_mcs: np.ndarray
    rate_per_prb_bps: np.ndarray
    bits_per_prb_tick: np.ndarray
    peak_rate_bps: float

    @property
    def rate_per_prb_mbps(self) -> np.ndarray:
        """Rate of one PRB per CQI [Mbit/s], shape [16], as agents see it
        (:attr:`simran.hooks.AgentContext.rate_per_prb_mbps`): ``bits_per_prb_tick / tick_s``."""
        out = self.bits_per_prb_tick / self.tick_s / 1e6
        out.flags.writeable = False
        return out


def link_table(network, tick_ms: float) -> LinkTable:
    """CQI → MCS → rate tables of a carrier, without building a simulation.

    The same numbers, bit for bit, as the simulation kernel's (``Simulation.n_prb``,
    ``.cqi_to_mcs``, ``.cqi_bits_per_prb_tick``):

    * N_PRB from TS 38.101-1 / 38.101-2 Table 5.3.2-1 (C.7);
    * CQI → MCS by :func:`cqi_to_mcs_lut` (TS 38.214 Tables 5.2.2.1-2/-3/-4 and
      5.1.3.1-1/-2/-3, C.3);
    * the MCS spectral efficiency SE = Q_m · R/1024 (TS 38.214 §5.1.3.1, C.2);
    * the rate per PRB in the TS 38.306 §4.1.2 form 12 · 14 · 2^μ · 1000 · SE · v · (1 − OH)
      bit/s (C.6), and the bits per PRB in one tick.

    Parameters
    ----------
    network : simran.scenario.NetworkConfig or alike
        Anything with ``cqi_table``, ``mcs_table``, ``scs_khz`` [kHz], ``layers``, ``overhead``
        (fraction), ``bandwidth_mhz`` [MHz] and ``frequency_range`` ("FR1" / "FR2").
    tick_ms : float
        Scheduler tick [ms] (``simulation.tick_ms``); converted as the kernel's clock does,
        ``tick_s = ms_to_us(tick_ms) / 10⁶``.

    Returns
    -------
    LinkTable

    Raises
    ------
    LinkError (a ValueError)
        For an unsupported bandwidth/SCS combination or an unknown table name.

    Examples
    --------
    CQI table 1 / qam64, 40 MHz at 30 kHz, 1 layer, OH 0.14, 5 ms tick: CQI 15 → MCS 28
    (SE 5.5547), 1.605 Mbit/s per PRB, 8025.4 bit per PRB per tick, peak 170.1 Mbit/s.
    """
    n = network
    tick_s = ms_to_us(tick_ms) / US_PER_S
    n_prb = prb_count(n.bandwidth_mhz, n.scs_khz, n.frequency_range)
    lut = cqi_to_mcs_lut(n.cqi_table, n.mcs_table)                    # [16] CQI → MCS (−1)
    se = np.where(lut >= 0, mcs_efficiency(np.maximum(lut, 0), n.mcs_table), 0.0)
    rate = rate_per_prb_bps(se, n.scs_khz, n.layers, n.overhead)      # [16] bit/s per PRB
    bits = rate * tick_s
    rate.setflags(write=False)
    bits.setflags(write=False)
    return LinkTable(n_prb=n_prb, tick_s=tick_s, cqi_to_mcs=lut, rate_per_prb_bps=rate,
                     bits_per_prb_tick=bits, peak_rate_bps=float(n_prb * rate[15]))


def cqi_thresholds(mapping: str) -> np.ndarray | None:
    """SINR thresholds [dB] of a threshold-table SINR → CQI mapping (None: ``analytic``)."""
    if mapping == "analytic":
        return None
    return lookup(SINR_CQI_THRESHOLDS_DB, mapping, "SINR→CQI mapping")


def threshold_cqi(sinr_db: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """:func:`sinr_to_cqi` of a threshold table (:func:`cqi_thresholds`) as int64, in fewer
    calls (the tick's path): CQI = number of thresholds ≤ SINR, 0 for NaN (radio-reference C.4)."""
    cqi = np.searchsorted(thresholds, sinr_db, side="right")
    nan = np.isnan(sinr_db)
    if nan.any():
        cqi[nan] = 0
    return cqi
