"""A3 handover with time-to-trigger on layer-3 filtered RSRP (TS 38.331 §5.5.3.2, §5.5.4.4).

Event A3 ("neighbour becomes offset better than SpCell"): a UE is a candidate for cell n when
``Mn > Mp + Off`` on the L3-filtered RSRP, Off the A3 offset including hysteresis (dB). A
candidate hands over when the condition has held, for the same target, for the time-to-trigger.
A UE whose serving cell is not on re-attaches to the strongest cell at once (a forced handover).

The layer-3 filter (TS 38.331 §5.5.3.2, TS 38.300): F_n = (1 − a)·F_{n−1} + a·M_n with
a = 1/2^(k/4), in dB; k = 0 is no filtering.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simran.units import ms_to_us


@dataclass
class HandoverDecision:
    """The UEs that hand over at one evaluation (arrays of equal length, ascending UE index).

    Attributes
    ----------
    ue : ndarray of int
        UEs that hand over.
    source, target : ndarray of int
        Their serving cell before and after.
    forced : ndarray of bool
        The serving cell was not on (immediate re-attachment, no A3 / time-to-trigger).
    rsrp_gain_db : ndarray
        Filtered RSRP of the target minus that of the source, dB.
    serving : ndarray of int [U]
        Serving cell of every UE after the handovers (the input array itself when nobody moves).
    """

    ue: np.ndarray
    source: np.ndarray
    target: np.ndarray
    forced: np.ndarray
    rsrp_gain_db: np.ndarray
    serving: np.ndarray

    def __len__(self) -> int:
        return int(self.ue.shape[0])


class A3Handover:
    """A3 handover evaluation with time-to-trigger and its L3 filter state.

    Parameters
    ----------
    config : simran.scenario.HandoverConfig
        ``enabled``, ``a3_offset_db`` (dB), ``ttt_ms`` (ms), ``l3_filter_k``.
    n_ues : int
        Number of UEs U.
    """

    def __init__(self, config, n_ues: int):
        self.cfg = config
        self.ttt_us = ms_to_us(config.ttt_ms)
        self._ho_cand = np.full(n_ues, -1)                   # [U] A3 target cell (−1 = none)
        self._ho_since = np.zeros(n_ues, dtype=np.int64)     # [U] since when, µs
        self._rsrp_l3: np.ndarray | None = None              # [C, U] filtered RSRP, dBm
        self._l3_ok: bool | None = None       # _rsrp_l3 is bounded (None: not known yet)
        self._m_key: tuple | None = None      # (measurement, a) that _m_ok, _am are for
        self._m_ok = False
        self._am: np.ndarray | None = None
        self._u = np.arange(n_ues)

    @staticmethod
    def _bounded(x: np.ndarray) -> bool:
        """Every value finite and below 1e300 in magnitude (no −inf of a cell off, no NaN)."""
        return x.size == 0 or bool(np.abs(x).max() < 1e300)

    def filtered_rsrp(self, rsrp_dbm: np.ndarray, k: int | None = None) -> np.ndarray:
        """Feed one measurement to the layer-3 filter and return the filtered RSRP [dBm], [C, U].

        Parameters
        ----------
        rsrp_dbm : ndarray [C, U]
            Measured RSRP M_n, dBm (−inf for a cell that is off).
        k : int, optional
            Filter coefficient (default: the configuration's ``l3_filter_k``); 0 returns the
            measurement and leaves the filter state alone.
        """
        m = rsrp_dbm
        k = self.cfg.l3_filter_k if k is None else k
        if k == 0:
            return m
        a = 1.0 / 2 ** (k / 4)
        prev = self._rsrp_l3
        key = self._m_key
        if key is None or key[0] is not m or key[1] != a:
            # what depends on the measurement alone, kept while it is the same read-only
            # array (the network returns one array per channel update and cell state; it is
            # measured several times in between)
            self._m_ok, self._am = self._bounded(m), None
            self._m_key = (m, a) if not m.flags.writeable else None
        if prev is None or prev.shape != m.shape:
            f, ok = m, self._m_ok
        else:
            if self._l3_ok is None:
                self._l3_ok = self._bounded(prev)
            if self._l3_ok and self._m_ok:
                # every value finite on both sides: the np.where below picks the blend
                # everywhere, and the blend of two values below 1e300 is finite and below
                # 1e300·(1 + 2⁻⁵¹) again — the same numbers from fewer calls, with a·M kept
                # while M is the same
                if self._am is None or self._m_key is None:
                    self._am = a * m
                f = (1 - a) * prev
                f += self._am
                ok = True
            else:
                # a cell that was off (−inf) restarts its filter at the new measurement
                fin = np.isfinite(m)
                f = np.where(fin & np.isfinite(prev), (1 - a) * prev + a * m, m)
                ok = None
        self._rsrp_l3, self._l3_ok = f, ok
        return f

    def evaluate(self, now_us: int, rsrp_dbm: np.ndarray, serving: np.ndarray,
                 cell_on: np.ndarray, eligible: np.ndarray) -> HandoverDecision:
        """One measurement: update the filter and the time-to-trigger state, return handovers.

        Parameters
        ----------
        now_us : int
            Simulated time, µs.
        rsrp_dbm : ndarray [C, U]
            Measured (unfiltered) RSRP, dBm.
        serving : ndarray of int [U]
            Current serving cells.
        cell_on : ndarray of bool [C]
            Cells that are on.
        eligible : ndarray of bool [U]
            UEs that take part in handover (not pinned to a cell by a trace).
        """
        cfg = self.cfg
        n_ues = serving.shape[0]
        rsrp = self.filtered_rsrp(rsrp_dbm)
        u = self._u if self._u.shape[0] == n_ues else np.arange(n_ues)
        best = np.argmax(rsrp, axis=0)
        serving_rsrp = rsrp[serving, u]
        best_rsrp = rsrp[best, u]
        # every cell on, every UE eligible (the usual measurement): the masks are all False
        # and all True, and the boolean expressions reduce to the terms left (exactly)
        all_on, all_eligible = bool(cell_on.all()), bool(eligible.all())
        if all_on:
            forced = np.zeros(n_ues, bool)
        else:
            forced = eligible & ~cell_on[serving] & np.isfinite(best_rsrp)
        if cfg.enabled:
            a3 = (best != serving) & (best_rsrp > serving_rsrp + cfg.a3_offset_db)
            if not (all_on and all_eligible):
                a3 &= eligible & ~forced
        else:
            a3 = np.zeros(n_ues, bool)
        new_cand = a3 & (self._ho_cand != best)
        self._ho_cand = np.where(a3, best, -1)
        self._ho_since = np.where(new_cand, now_us, self._ho_since)
        fire = a3 & (now_us - self._ho_since >= self.ttt_us)
        if not all_on:
            fire |= forced
        ue = np.flatnonzero(fire)
        target = best[ue]
        gain = rsrp[target, ue] - serving_rsrp[ue]
        if ue.size:                # a new array only when someone moves (the tick caches on it)
            new_serving = np.where(fire, best, serving)
            self._ho_cand = np.where(fire, -1, self._ho_cand)
        else:
            new_serving = serving
        return HandoverDecision(ue=ue, source=serving[ue], target=target, forced=forced[ue],
                                rsrp_gain_db=gain, serving=new_serving)
