"""Vectorised MAC scheduler with network slices (design §5 "MAC").

Every tick, for all cells at once:

1. **Inter-slice**: slice *s* of cell *c* gets ``floor(quota[c, s] / 100 · N_PRB)`` PRBs (whole
   PRBs; a hard cap by default). Quotas are validated so that they never add up to more than
   100 %, hence a cell never grants more PRBs than it has. With ``lending`` the PRBs a slice leaves
   unused (no UE, or demand met) — and PRBs outside every quota — are lent, in the same tick, to
   the UEs of the same cell that still have demand (in equal shares, water-filling).
2. **Intra-slice**: the slice's PRBs are shared among its UEs in the cell by the slice's
   policy, a class registered by name in :mod:`simran.mac.policies` (``rr`` round robin, ``pf``
   proportional fair, ``mr`` max rate, ``bet`` blind equal throughput, …). Each policy object
   works on all (cell, slice) groups of its slices at once; the weighted-share policies (rr, pf)
   are water-filled together in one pass.
3. **Averages**: if any policy reads it, the EWMA throughput of every active UE is updated,
   ``T ← (1 − β) T + β · served``, β = tick / ``pf_time_constant_ms`` (T starts at 1 kbit/s).

Shares are *fluid* within a tick: a tick of 5 ms holds ``2^μ · 5`` slots, and a fractional PRB
share is a share of PRB-slots (time sharing across the tick's slots). This is the usual
system-level abstraction; per-slot HARQ and BLER are not modelled (the CQI is chosen for ≤ 10 %
BLER, TS 38.214 §5.2.2.1, and transport blocks are assumed delivered).
"""

from __future__ import annotations

import math

import numpy as np

from simran.mac.fill import water_fill
from simran.mac.policies import WeightedShare, policy_class

_EPS = 1e-9
_SCALAR_MAX = 4
"""Quota arrays of at most this many entries get their PRB budgets from Python floats."""


def slice_budgets(quota_pct: np.ndarray, n_prb: int, cell_on: np.ndarray,
                  all_on: bool | None = None) -> np.ndarray:
    """PRBs of every (cell, slice): ``floor(quota/100 · N_PRB)``, 0 for cells that are off.

    Parameters
    ----------
    quota_pct : ndarray, shape [C, S]
    n_prb : int
    cell_on : ndarray of bool, shape [C]
    all_on : bool, optional
        ``cell_on.all()`` if the caller knows it (the kernel does, per cell-state array).

    Returns
    -------
    ndarray of float, shape [C, S]
        Whole numbers of PRBs; each row sums to at most ``n_prb`` when quotas sum to ≤ 100 %.
    """
    # tiny epsilon so that 50 % of 106 PRB = 53 is not floored to 52 by rounding noise
    if quota_pct.size == 1:             # one cell, one slice: one float, one fill
        b = np.empty(quota_pct.shape)
        b.fill(math.floor(quota_pct.item() / 100.0 * n_prb + 1e-9))
    elif quota_pct.size <= _SCALAR_MAX:
        # a cell or two (a controller moving one slice's quota every few ticks): the same IEEE
        # operations in the same order on Python floats cost less than four ufunc calls
        b = np.array([[math.floor(q / 100.0 * n_prb + 1e-9) for q in row]
                      for row in quota_pct.tolist()], dtype=float).reshape(quota_pct.shape)
    else:
        b = np.floor(quota_pct / 100.0 * n_prb + 1e-9)
    if cell_on.all() if all_on is None else all_on:
        return b                          # floor of a positive number: no −0.0 to clear
    return np.where(cell_on[:, None], b, 0.0)


class SliceScheduler:
    """Per-tick PRB allocation for all cells × slices × UEs.

    Parameters
    ----------
    n_cells, n_slices : int
    n_prb : int
        PRBs per cell (TS 38.101-1 Table 5.3.2-1).
    slice_policy : sequence of str, length S
        Intra-slice policy per slice: a registered name (:func:`simran.mac.policies.
        available_policies`).
    lending : bool
        Lend PRBs a slice leaves unused to other slices of the same cell.
    pf_beta : float
        EWMA weight of the throughput average per tick (tick / time constant), read by PF/BET.
    """

    def __init__(self, n_cells: int, n_slices: int, n_prb: int, slice_policy, lending: bool,
                 pf_beta: float):
        self.C, self.S, self.n_prb = n_cells, n_slices, int(n_prb)
        names = list(slice_policy)
        #: one policy object per distinct name, in order of first use
        self.policies = {nm: policy_class(nm)() for nm in dict.fromkeys(names)}
        kinds = list(self.policies)
        self.slice_policy = np.asarray([kinds.index(nm) for nm in names])   # [S] → kind index
        pols = list(self.policies.values())
        self._weighted = [(k, p) for k, p in enumerate(pols) if isinstance(p, WeightedShare)]
        self._own = [(k, p) for k, p in enumerate(pols) if not isinstance(p, WeightedShare)]
        self._kind_weighted = np.array([isinstance(p, WeightedShare) for p in pols])  # by kind
        self.lending = bool(lending)
        self.pf_beta = float(pf_beta)
        self.avg_bps: np.ndarray | None = None
        self.uses_average = any(p.uses_average for p in pols)
        self._keeps_state = any(p.keeps_state for p in pols)
        self._lone_min = all(p.lone_ue_gets_min for p in pols)
        self._groups_of: np.ndarray | None = None   # the serving array the cache below is for
        self._on_of: np.ndarray | None = None       # the cell_on array _all_on is for
        self._all_on = False
        self._singleton = False
        self._kind_of: np.ndarray | None = None     # the ue_slice array _kind is for
        self._active_of: np.ndarray | None = None   # the read-only active array _all_active is for
        self._all_active = False
        self.fixed_groups = False
        """Set by the kernel when the serving cells can never change (every UE is a trace UE,
        pinned to its cell): a UE alone in its group then stays alone, the averages are never
        read, and they are not kept (:meth:`input_determined`)."""

    def input_determined(self) -> bool:
        """Whether :meth:`allocate` is a function of its arguments alone from now on: every UE
        is alone in its (cell, slice) group for good (``fixed_groups``) under policies that give
        a lone UE ``min(budget, need)`` (no policy is called), or no policy reads the throughput
        averages or keeps state of its own (``keeps_state``). The kernel then reuses a tick's
        allocation while its inputs are the same arrays."""
        if self._groups_of is None:
            return False                          # nothing allocated yet
        if self.fixed_groups and self._singleton and self._lone_min:
            return True
        return not (self.uses_average or self._keeps_state)

    def allocate(self, serving: np.ndarray, ue_slice: np.ndarray, active: np.ndarray,
                 bits_per_prb: np.ndarray, demand_bits: np.ndarray, quota_pct: np.ndarray,
                 cell_on: np.ndarray, tick_s: float, budget: np.ndarray | None = None
                 ) -> np.ndarray:
        """PRBs (fractional PRB-slot shares) granted to every UE this tick.

        Parameters
        ----------
        serving : ndarray of int, shape [U]
            Serving cell of each UE.
        ue_slice : ndarray of int, shape [U]
        active : ndarray of bool, shape [U]
            UEs present in the network this tick.
        bits_per_prb : ndarray, shape [U]
            Bits one PRB carries for this UE during the tick (0 = out of range, CQI 0).
        demand_bits : ndarray, shape [U], or None
            Bits waiting (+inf = full buffer; None = every UE is full buffer).
        quota_pct : ndarray, shape [C, S]
        cell_on : ndarray of bool, shape [C]
        tick_s : float
        budget : ndarray, shape [C·S], optional
            ``slice_budgets(quota_pct, N_PRB, cell_on).ravel()`` if the caller has it already
            (the kernel recomputes it only when the control surface changes the state).

        Returns
        -------
        ndarray, shape [U]
            PRBs per UE; per cell they sum to ≤ N_PRB and per (cell, slice) to ≤ its budget
            unless lending moved unused PRBs.
        """
        U = serving.shape[0]
        if self.avg_bps is None or self.avg_bps.shape[0] != U:
            self.avg_bps = np.full(U, 1e3)
        if serving is not self._groups_of:
            # is every UE alone in its (cell, slice)? Then no policy has anything to share and
            # each UE simply gets min(budget, need): the one-vehicle case of papers/004 §5.1
            # (and any network with one UE per slice and cell). Recomputed when the serving
            # array changes (handovers replace it).
            self._groups_of = serving
            cs = serving * self.S + ue_slice
            self._singleton = bool(U == 0 or np.bincount(cs).max() <= 1)
            self._cs = cs
        if cell_on is not self._on_of:            # the kernel passes one array per state
            self._on_of, self._all_on = cell_on, bool(cell_on.all())
        if active is not self._active_of:
            # a read-only array cannot change behind the cache; a writable one is re-checked
            self._active_of = active if not active.flags.writeable else None
            self._all_active = bool(active.all())
        has_rate = bits_per_prb > 0
        ok = has_rate if self._all_active else has_rate & active
        if not self._all_on:
            ok = ok & cell_on[serving]
        if demand_bits is None:                   # every UE full buffer: all PRBs it can get
            need = np.where(ok, float(self.n_prb), 0.0)
        else:
            need = np.where(ok, demand_bits / np.where(has_rate, bits_per_prb, 1.0), 0.0)
            need = np.minimum(need, float(self.n_prb))
        if budget is None:
            budget = slice_budgets(quota_pct, self.n_prb, cell_on).ravel()    # [C*S]
        if self._singleton and self._lone_min:
            # what every policy gives a lone member (water_fill's first round), without a call
            alloc = np.where(ok, np.minimum(budget[self._cs], need), 0.0)
        else:
            group = np.where(ok, self._cs, -1)
            if ue_slice is not self._kind_of:
                self._kind_of, self._kind = ue_slice, self.slice_policy[ue_slice]   # [U]
            kind = self._kind
            rate = bits_per_prb / tick_s                                       # [U] bit/s per PRB
            alloc = self._fill(group, self.C * self.S, budget, kind, rate, need)
        if self.lending:
            used = np.bincount(serving[ok], weights=alloc[ok], minlength=self.C)
            spare = np.where(cell_on, self.n_prb - used, 0.0)
            left = need - alloc
            cgroup = np.where(ok & (left > _EPS), serving, -1)
            # one pool per cell across slices with different policies: shared equally
            # (water-filling), so no policy's metric scale dominates another's
            alloc += water_fill(cgroup, self.C, spare, np.ones(U), left)
        if self.uses_average and not (self.fixed_groups and self._singleton and self._lone_min):
            # the averages are read only by PF / BET slices with more than one UE in a group
            served_bps = alloc * bits_per_prb / tick_s
            avg = (1 - self.pf_beta) * self.avg_bps + self.pf_beta * served_bps
            self.avg_bps = avg if self._all_active else np.where(active, avg, self.avg_bps)
        return alloc

    def _fill(self, group, n_groups, budget, kind, rate, need):
        """Apply each UE's slice policy within its group (``kind``: policy index per UE)."""
        if not self._own and self._weighted:
            # no policy of its own: the water-filling result is the allocation (0 + x is x, and
            # water_fill never returns −0.0)
            return self._fill_weighted(group, n_groups, budget, kind, rate, need)
        alloc = np.zeros(group.shape)
        for k, pol in self._own:
            g = np.where(kind == k, group, -1)
            alloc += pol.allocate(g, n_groups, budget, rate, need, self.avg_bps, self.pf_beta)
        if self._weighted:
            alloc += self._fill_weighted(group, n_groups, budget, kind, rate, need)
        return alloc

    def _fill_weighted(self, group, n_groups, budget, kind, rate, need):
        """The groups of every weighted-share policy, water-filled in one pass."""
        # all weighted-share groups in one water-filling pass (groups never mix policies);
        # each UE's weight is its own policy's (other UEs' entries are never read)
        weight = None
        for k, pol in self._weighted:
            w = pol.weight(rate, self.avg_bps)
            if weight is None:
                weight = np.full(group.shape, w) if np.ndim(w) == 0 else w
            else:
                weight = np.where(kind == k, w, weight)
        if self._own:
            group = np.where(self._kind_weighted[kind], group, -1)
        return water_fill(group, n_groups, budget, weight, need)
