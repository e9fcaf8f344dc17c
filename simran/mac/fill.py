"""Vectorised group-wise sharing primitives of the MAC scheduler (design §5 "MAC").

Each function shares the budget of every group (a (cell, slice) pair, or a cell for lending)
among the group's members, for all groups at once: numpy over the members, never a Python loop
over UEs. Members with group −1, no need or no weight/rate/gain take no part and get 0.

* :func:`water_fill` — weighted max-min fair shares (progressive filling): round robin,
  proportional fair, and the equal-share lending pool;
* :func:`max_rate_fill` — best rate first, each up to its need: max rate;
* :func:`level_fill` — max-min fair on an affine *level* ``base_u + gain_u · x_u``: blind equal
  throughput (the level is a UE's throughput average after the tick).
"""

from __future__ import annotations

import numpy as np

_EPS = 1e-9


def water_fill(group: np.ndarray, n_groups: int, budget: np.ndarray, weight: np.ndarray,
               need: np.ndarray, max_rounds: int = 8) -> np.ndarray:
    """Share each group's budget among its members ∝ weight, each capped at its need.

    What a member cannot use is redistributed to the others of its group (progressive filling).

    Parameters
    ----------
    group : ndarray of int, shape [U]
        Group of each member (−1 = not participating).
    n_groups : int
    budget : ndarray, shape [G]
        Resource of each group (PRBs).
    weight : ndarray, shape [U]
        Positive weight of each member.
    need : ndarray, shape [U]
        Most a member can use (may be +inf).

    Returns
    -------
    ndarray, shape [U]
        Allocation; per group the sum is ≤ budget.
    """
    alloc = np.zeros(group.shape)
    # work on the participating members only (compressed index arrays): the same arithmetic in
    # the same order as on full-length masked arrays, with fewer and shorter numpy calls
    idx = np.flatnonzero((group >= 0) & (need > _EPS) & (weight > 0))
    if idx.size == 0:
        return alloc
    remaining = budget.astype(float)
    g, w, a, nd = group[idx], weight[idx], np.zeros(idx.size), need[idx]
    # each round's remaining[g] and need − allocation are what the previous round computed
    # for its checks (compressed with the members); the first round's need − 0 is the need.
    # Counting the True of a mask is a cheaper test than .all() / .any() on these sizes
    rg, left = remaining[g], nd
    for _ in range(max_rounds):
        wsum = np.bincount(g, weights=w, minlength=n_groups)
        give = rg * w
        give /= wsum[g]
        np.minimum(give, left, out=give)
        a += give
        remaining = np.maximum(remaining - np.bincount(g, weights=give, minlength=n_groups), 0.0)
        left = nd - a
        keep = left > _EPS
        alloc[idx] = a
        n_keep = np.count_nonzero(keep)
        if n_keep < keep.size:
            if n_keep == 0:
                break
            idx, g, w, a, nd, left = idx[keep], g[keep], w[keep], a[keep], nd[keep], left[keep]
        rg = remaining[g]
        if np.count_nonzero(rg > _EPS) == 0:
            break
    return alloc


def max_rate_fill(group: np.ndarray, n_groups: int, budget: np.ndarray, rate: np.ndarray,
                  need: np.ndarray) -> np.ndarray:
    """Give each group's budget to its best-rate members first, each up to its need.

    Ties are broken by member index (lower first), so the result is deterministic.
    """
    alloc = np.zeros(group.shape)
    part = np.flatnonzero((group >= 0) & (need > _EPS) & (rate > 0))
    if part.size == 0:
        return alloc
    g = group[part]
    order = np.lexsort((part, -rate[part], g))  # by group, then rate desc, then index
    idx, g = part[order], g[order]
    cap = np.minimum(need[idx], budget[g])
    csum = np.cumsum(cap)
    start = np.searchsorted(g, np.arange(n_groups))          # first row of each group
    before = csum - cap - np.where(start[g] > 0, csum[start[g] - 1], 0.0)
    alloc[idx] = np.clip(budget[g] - before, 0.0, cap)
    return alloc


def level_fill(group: np.ndarray, n_groups: int, budget: np.ndarray, base: np.ndarray,
               gain: np.ndarray, need: np.ndarray) -> np.ndarray:
    """Raise the lowest levels first: max-min fair on ``level_u = base_u + gain_u · x_u``.

    Per group the result is ``x_u = clip((L − base_u) / gain_u, 0, need_u)`` with the water level
    ``L`` such that ``Σ_u x_u = budget`` (or ``x_u = need_u`` for all when the needs fit): members
    whose level starts lowest are served first, each lifted until it reaches the next one's, and
    members starting above ``L`` get nothing.

    ``f(L) = Σ_u x_u(L)`` is piecewise linear and nondecreasing with breakpoints at every
    member's start ``base_u`` (slope +1/gain_u) and saturation ``base_u + gain_u · need_u``
    (slope −1/gain_u). All breakpoints of all groups are sorted once (by group, then level),
    ``f`` is accumulated from breakpoint to breakpoint, and ``L`` is interpolated inside the
    first interval of each group where ``f`` reaches the budget.

    Parameters
    ----------
    group : ndarray of int, shape [U]
        Group of each member (−1 = not participating).
    n_groups : int
    budget : ndarray, shape [G]
        Resource of each group (PRBs).
    base : ndarray, shape [U]
        Level of each member with nothing allocated.
    gain : ndarray, shape [U]
        Level gained per unit allocated (> 0 to take part).
    need : ndarray, shape [U]
        Most a member can use (finite).

    Returns
    -------
    ndarray, shape [U]
        Allocation; per group the sum equals min(budget, Σ need) up to rounding.
    """
    alloc = np.zeros(group.shape)
    part = np.flatnonzero((group >= 0) & (need > _EPS) & (gain > 0))
    if part.size == 0:
        return alloc
    g, a, c, n = group[part], base[part], gain[part], need[part]
    inv = 1.0 / c                                               # allocation per unit of level
    lvl = np.concatenate([a, a + c * n])                        # start, saturation
    bg = np.concatenate([g, g])
    order = np.lexsort((lvl, bg))
    lvl, bg, dslope = lvl[order], bg[order], np.concatenate([inv, -inv])[order]
    start = np.searchsorted(bg, np.arange(n_groups))            # first breakpoint of each group
    first = start[bg]
    cs = np.cumsum(dslope)
    slope = np.maximum(cs - np.where(first > 0, cs[first - 1], 0.0), 0.0)   # right of each
    last = np.append(bg[1:] != bg[:-1], True)                   # last breakpoint of its group
    inc = np.where(last, 0.0, slope * (np.append(lvl[1:], 0.0) - lvl))
    ce = np.concatenate([[0.0], np.cumsum(inc)[:-1]])           # exclusive: nondecreasing
    f = ce - ce[first]                                          # f at each breakpoint
    below = f < budget[bg]
    n_below = np.bincount(bg, weights=below, minlength=n_groups).astype(np.int64)
    size = np.bincount(bg, minlength=n_groups)
    level = np.full(n_groups, -np.inf)                          # no budget: nothing
    level[(size > 0) & (n_below == size)] = np.inf              # every need fits: all saturate
    mid = np.flatnonzero((n_below > 0) & (n_below < size))
    k = start[mid] + n_below[mid]                               # first breakpoint with f ≥ B
    frac = (budget[mid] - f[k - 1]) / (f[k] - f[k - 1])
    level[mid] = lvl[k - 1] + (lvl[k] - lvl[k - 1]) * frac
    alloc[part] = np.clip((level[g] - a) / c, 0.0, n)
    return alloc
