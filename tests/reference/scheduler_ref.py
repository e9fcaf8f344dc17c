"""A slow, plain-Python reference of :class:`simran.mac.scheduler.SliceScheduler` (style §10).

Written from the *documented* behaviour (the module docstrings of ``simran/mac/scheduler.py`` and
``simran/mac/policies.py``, design §5), not from the vectorised code: plain loops over cells,
slices and UEs, lists and floats, no numpy. Where the vectorised scheduler uses *progressive
filling* (repeated rounds of proportional shares), this reference computes the weighted max-min
fair ("water-filling") allocation directly by its water level: sort the members by need/weight
and find the level λ with Σ_u min(need_u, λ·w_u) = budget. Both must give the same numbers.

Semantics (one tick):

* eligible UE: active, CQI > 0 (bits per PRB > 0) and serving cell on;
* need_u = min(demand_u / bits_per_prb_u, N_PRB) PRBs (full buffer: N_PRB);
* budget of (cell c, slice s) = floor(quota[c][s] / 100 · N_PRB), 0 if cell c is off;
* inside a (cell, slice): ``rr`` weight 1, ``pf`` weight r_u / max(T_u, 1) with r_u the rate
  per PRB [bit/s] and T_u the EWMA throughput [bit/s], both water-filled; ``mr`` best rate first
  (ties: lower UE index first), each up to its need; ``bet`` (blind equal throughput) lifts the
  lowest expected averages E_u = (1 − β)·T_u + β·r_u·x_u first to a common level L with
  Σ x_u = budget, x_u = min(need_u, max(0, (L − (1 − β)·T_u) / (β·r_u))) — found here by
  bisection on L (the vectorised scheduler sorts breakpoints instead);
* ``lending``: the cell's PRBs not granted in step 1 (N_PRB − Σ granted) are water-filled with
  equal weights among the cell's eligible UEs that still have unmet need;
* T_u ← (1 − β)·T_u + β·(granted PRBs · bits_per_prb / tick) for active UEs (T starts at
  1000 bit/s).
"""

from __future__ import annotations

import math

EPS = 1e-9


def water_level_fill(need: list[float], weight: list[float], budget: float) -> list[float]:
    """Weighted max-min fair split of ``budget``: alloc_u = min(need_u, λ·w_u), Σ alloc ≤ budget.

    Direct computation of the water level λ: visit members in increasing need/weight; while the
    budget left can lift every unsaturated member to the next member's saturation level, saturate
    it; otherwise the level is budget_left / Σ(unsaturated weights).
    """
    n = len(need)
    alloc = [0.0] * n
    members = [i for i in range(n) if need[i] > EPS and weight[i] > 0]
    members.sort(key=lambda i: (need[i] / weight[i], i))
    left = float(budget)
    wsum = sum(weight[i] for i in members)
    k = 0
    while k < len(members):
        i = members[k]
        level_i = need[i] / weight[i]
        # budget needed to raise all still-unsaturated members to member i's level
        if level_i * wsum <= left + EPS:
            alloc[i] = need[i]
            left -= need[i]
            wsum -= weight[i]
            k += 1
            continue
        level = left / wsum
        for j in members[k:]:
            alloc[j] = level * weight[j]
        left = 0.0
        break
    return alloc


def max_rate_fill_ref(need: list[float], rate: list[float], budget: float) -> list[float]:
    """Best rate first (ties: lower index first), each member up to its need."""
    n = len(need)
    alloc = [0.0] * n
    order = sorted((i for i in range(n) if need[i] > EPS and rate[i] > 0),
                   key=lambda i: (-rate[i], i))
    left = float(budget)
    for i in order:
        give = min(need[i], left)
        alloc[i] = give
        left -= give
        if left <= 0:
            break
    return alloc


def bet_fill_ref(need: list[float], rate: list[float], avg: list[float], beta: float,
                 budget: float) -> list[float]:
    """Blind equal throughput: raise the lowest expected averages first, by bisection on the level.

    Allocation at level L: x_u(L) = min(need_u, max(0, (L − (1 − β)·T_u) / (β·r_u))), increasing
    in L; the level is the L with Σ x_u(L) = budget, bracketed by the lowest start and the highest
    saturation level and halved until the bracket stops shrinking.
    """
    n = len(need)
    alloc = [0.0] * n
    members = [i for i in range(n) if need[i] > EPS and rate[i] > 0]
    if not members:
        return alloc
    if sum(need[i] for i in members) <= budget:            # every need fits
        for i in members:
            alloc[i] = need[i]
        return alloc
    if budget <= 0:
        return alloc

    def x(i: int, level: float) -> float:
        return min(need[i], max(0.0, (level - (1 - beta) * avg[i]) / (beta * rate[i])))

    lo = min((1 - beta) * avg[i] for i in members)          # nobody served yet: Σ = 0
    hi = max((1 - beta) * avg[i] + beta * rate[i] * need[i] for i in members)   # all saturated
    for _ in range(400):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if sum(x(i, mid) for i in members) < budget:
            lo = mid
        else:
            hi = mid
    level = 0.5 * (lo + hi)
    for i in members:
        alloc[i] = x(i, level)
    return alloc


#: the policies this reference implements (every registered policy must have a twin here)
POLICIES = ("rr", "pf", "mr", "bet")


class ReferenceScheduler:
    """Plain-Python twin of :class:`simran.mac.scheduler.SliceScheduler`."""

    def __init__(self, n_cells: int, n_slices: int, n_prb: int, slice_policy, lending: bool,
                 pf_beta: float):
        self.C, self.S, self.n_prb = n_cells, n_slices, int(n_prb)
        self.policy = list(slice_policy)
        self.lending = bool(lending)
        self.beta = float(pf_beta)
        self.avg: list[float] | None = None

    def budgets(self, quota_pct, cell_on) -> list[list[int]]:
        out = []
        for c in range(self.C):
            row = []
            for s in range(self.S):
                # floor(q/100·N); the 1e-9 guards 50 % of 106 = 53 against rounding to 52.999…
                row.append(math.floor(float(quota_pct[c][s]) / 100.0 * self.n_prb + 1e-9)
                           if cell_on[c] else 0)
            out.append(row)
        return out

    def allocate(self, serving, ue_slice, active, bits_per_prb, demand_bits, quota_pct,
                 cell_on, tick_s) -> list[float]:
        U = len(serving)
        if self.avg is None or len(self.avg) != U:
            self.avg = [1e3] * U
        eligible = [bool(active[u]) and bits_per_prb[u] > 0 and bool(cell_on[serving[u]])
                    for u in range(U)]
        need = []
        for u in range(U):
            if eligible[u]:
                need.append(min(float(demand_bits[u]) / float(bits_per_prb[u]),
                                float(self.n_prb)))
            else:
                need.append(0.0)
        rate = [float(bits_per_prb[u]) / tick_s for u in range(U)]
        budget = self.budgets(quota_pct, cell_on)
        alloc = [0.0] * U
        for c in range(self.C):
            for s in range(self.S):
                members = [u for u in range(U) if eligible[u] and serving[u] == c
                           and ue_slice[u] == s]
                if not members:
                    continue
                m_need = [need[u] for u in members]
                pol = self.policy[s]
                if pol == "mr":
                    got = max_rate_fill_ref(m_need, [rate[u] for u in members], budget[c][s])
                elif pol == "pf":
                    w = [rate[u] / max(self.avg[u], 1.0) for u in members]
                    got = water_level_fill(m_need, w, budget[c][s])
                elif pol == "bet":
                    got = bet_fill_ref(m_need, [rate[u] for u in members],
                                       [self.avg[u] for u in members], self.beta, budget[c][s])
                elif pol == "rr":
                    got = water_level_fill(m_need, [1.0] * len(members), budget[c][s])
                else:
                    raise ValueError(f"no reference for policy {pol!r}")
                for u, g in zip(members, got):
                    alloc[u] = g
        if self.lending:
            for c in range(self.C):
                if not cell_on[c]:
                    continue
                in_cell = [u for u in range(U) if eligible[u] and serving[u] == c]
                spare = self.n_prb - sum(alloc[u] for u in in_cell)
                hungry = [u for u in in_cell if need[u] - alloc[u] > EPS]
                extra = water_level_fill([need[u] - alloc[u] for u in hungry],
                                         [1.0] * len(hungry), spare)
                for u, e in zip(hungry, extra):
                    alloc[u] += e
        for u in range(U):
            if active[u]:
                served = alloc[u] * float(bits_per_prb[u]) / tick_s
                self.avg[u] = (1 - self.beta) * self.avg[u] + self.beta * served
        return alloc
