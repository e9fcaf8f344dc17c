"""Intra-slice scheduling policies: one class per policy, registered by name (design §5 "MAC").

The slice scheduler (:class:`simran.mac.scheduler.SliceScheduler`) computes every (cell, slice)
group's PRB budget, each UE's need, lending and the throughput averages; a policy only decides how
a group's budget is shared among the group's UEs — for **all groups of its slices at once**
(numpy over cells × UEs, never a Python loop over UEs). Shares are fluid PRB-slot shares of the
tick (see the scheduler's module docstring).

Built-in policies (the scenario's ``[[slices]] policy``):

======  ==================================  =====================================================
name    policy                              share of a group's budget
======  ==================================  =====================================================
rr      round robin                         equal shares, water-filled (weight 1)
pf      proportional fair                   water-filled ∝ r_u / max(T_u, 1)
mr      max rate                            best rate first, each up to its need
bet     blind equal throughput              lowest expected average first (level water-filling)
======  ==================================  =====================================================

r_u is the UE's rate per PRB [bit/s], T_u its EWMA throughput [bit/s] (time constant
``slicing.pf_time_constant_ms``), updated by the scheduler when a policy sets ``uses_average``.

Adding a policy is one class and its test::

    @register_policy("my")
    class MyPolicy(SchedulingPolicy):
        description = "my policy"       # short title, shown in the scenario schema

        def allocate(self, group, n_groups, budget, rate_bps, need, avg_bps, beta):
            ...   # [U] PRBs: 0 outside the groups given, ≤ need, per group Σ ≤ budget

The scenario's ``policy`` field accepts every registered name (:func:`available_policies`). Its
test is a plain-Python twin in ``tests/reference/scheduler_ref.py`` (the random comparisons of
``tests/test_scheduler.py`` then cover it; ``tests/test_policies.py`` fails for a registered
policy without one) plus the policy's own oracles.

Contract of ``allocate`` (checked for every registered policy by ``tests/test_policies.py``):
nonnegative, 0 for members with group −1, at most the need, per group at most the budget and
work-conserving (the budget is used up unless every need is met), and — unless the class sets
``lone_ue_gets_min = False`` — a UE alone in its group gets ``min(budget, need)`` (the
scheduler's singleton fast path gives exactly that without calling the policy). ``allocate`` is
a function of its arguments (the averages are one of them); a policy that keeps state of its own
between ticks sets ``keeps_state = True``, and the kernel then recomputes every tick instead of
reusing an allocation whose inputs repeat.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from simran.errors import SimranError
from simran.mac.fill import level_fill, max_rate_fill, water_fill

_REGISTRY: dict[str, type[SchedulingPolicy]] = {}


class PolicyError(SimranError, ValueError):
    """An unknown scheduling policy name (the message lists the registered ones)."""


def register_policy(name: str):
    """Class decorator: make a :class:`SchedulingPolicy` subclass available as ``name``."""
    def deco(cls):
        if not (isinstance(cls, type) and issubclass(cls, SchedulingPolicy)):
            raise TypeError(f"policy {name!r}: {cls!r} is not a SchedulingPolicy subclass")
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"policy name {name!r} is already registered by "
                             f"{_REGISTRY[name].__qualname__}")
        cls.name = name
        _REGISTRY[name] = cls
        return cls
    return deco


def available_policies() -> tuple[str, ...]:
    """Names of every registered policy, sorted."""
    return tuple(sorted(_REGISTRY))


def policy_class(name: str) -> type[SchedulingPolicy]:
    """The class registered as ``name``; :class:`PolicyError` listing the names otherwise."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise PolicyError(f"unknown scheduling policy {name!r}; available: "
                          f"{', '.join(available_policies())}") from None


class SchedulingPolicy:
    """Base class of an intra-slice policy (see the module docstring for the contract)."""

    name: ClassVar[str] = ""
    #: short title (the scenario schema lists ``name = description``)
    description: ClassVar[str] = ""
    #: reads the EWMA throughput average (the scheduler then updates it every tick)
    uses_average: ClassVar[bool] = False
    #: a UE alone in its group gets min(budget, need) (the scheduler's singleton fast path)
    lone_ue_gets_min: ClassVar[bool] = True
    #: ``allocate`` keeps state of its own between ticks (a token, a pointer): then the kernel
    #: never reuses an allocation for equal inputs (:meth:`SliceScheduler.input_determined`)
    keeps_state: ClassVar[bool] = False

    def allocate(self, group: np.ndarray, n_groups: int, budget: np.ndarray,
                 rate_bps: np.ndarray, need: np.ndarray, avg_bps: np.ndarray,
                 beta: float) -> np.ndarray:
        """PRBs of every UE of this policy's groups this tick.

        Parameters
        ----------
        group : ndarray of int, shape [U]
            (cell, slice) group of each UE; −1 = not scheduled by this policy (other policy,
            inactive, CQI 0, cell off).
        n_groups : int
            Number of groups (cells × slices).
        budget : ndarray, shape [G]
            PRBs of each group.
        rate_bps : ndarray, shape [U]
            Rate of one PRB for the UE [bit/s].
        need : ndarray, shape [U]
            Most PRBs the UE can use this tick (demand / bits per PRB, ≤ N_PRB).
        avg_bps : ndarray, shape [U]
            EWMA throughput T_u [bit/s] before this tick.
        beta : float
            EWMA weight of one tick (tick / time constant, ≤ 1).

        Returns
        -------
        ndarray, shape [U]
            PRBs (fractional PRB-slot shares); 0 where ``group`` is −1.
        """
        raise NotImplementedError


class WeightedShare(SchedulingPolicy):
    """A weighted max-min fair share: water-filling with a per-UE weight.

    The scheduler water-fills the groups of *all* weighted-share policies in one pass
    (:func:`simran.mac.fill.water_fill`), which is why these policies give a weight, not an
    allocation.
    """

    def weight(self, rate_bps: np.ndarray, avg_bps: np.ndarray) -> np.ndarray | float:
        """Positive water-filling weight of every UE (shape [U], or a scalar)."""
        raise NotImplementedError

    def allocate(self, group, n_groups, budget, rate_bps, need, avg_bps, beta):
        w = np.broadcast_to(np.asarray(self.weight(rate_bps, avg_bps), float), group.shape)
        return water_fill(group, n_groups, budget, w, need)


@register_policy("rr")
class RoundRobin(WeightedShare):
    """Round robin: equal PRB shares; a UE whose demand is met returns the rest to the others."""

    description = "round robin"

    def weight(self, rate_bps, avg_bps):
        return 1.0


@register_policy("pf")
class ProportionalFair(WeightedShare):
    """Proportional fair: shares ∝ the PF metric ``r_u / max(T_u, 1)``.

    With time-invariant rates the fixed point is ``x_u ∝ 1/x_u``, i.e. equal time shares — the
    PF optimum on static channels — and a UE above its own average gets more.
    """

    description = "proportional fair"
    uses_average = True

    def weight(self, rate_bps, avg_bps):
        return rate_bps / np.maximum(avg_bps, 1.0)


@register_policy("mr")
class MaxRate(SchedulingPolicy):
    """Max rate: PRBs go to the UEs with the best rate first, each up to its demand."""

    description = "max rate"

    def allocate(self, group, n_groups, budget, rate_bps, need, avg_bps, beta):
        return max_rate_fill(group, n_groups, budget, rate_bps, need)


@register_policy("bet")
class BlindEqualThroughput(SchedulingPolicy):
    """Blind equal throughput: the UEs with the lowest average throughput are served first.

    Rule per tick, for each (cell, slice) group with budget B PRBs: UE u with EWMA throughput
    T_u [bit/s], rate per PRB r_u [bit/s] and need n_u PRBs would, if granted x_u PRBs, have the
    *expected average* after the tick

        E_u(x_u) = (1 − β) · T_u + β · r_u · x_u,      β = tick / pf_time_constant_ms

    (the same EWMA the scheduler applies afterwards). BET water-fills the PRBs on E:

        x_u = clip((L − (1 − β) T_u) / (β r_u), 0, n_u),   L such that Σ_u x_u = B

    (all x_u = n_u if Σ n_u ≤ B). So the UE with the lowest (1 − β) T_u is served first, lifted
    until its expected average meets the next lowest, then both are lifted together, and so on
    (:func:`simran.mac.fill.level_fill`). The channel is used only to convert throughput into
    PRBs ("blind" to it as a priority): on static channels with full buffers the averages meet
    at one level and stay there, so each UE gets ``x_u ∝ 1/r_u`` and equal throughput
    ``B / Σ_v 1/r_v`` regardless of its CQI — which costs cell throughput compared to PF/MR.

    Relation to ns-3 (LTE module, Blind Average Throughput schedulers): the priority metric is
    ``1 / max(1, T_j)`` with T_j the past throughput averaged as in PF. TD-BET gives all RBGs of a
    TTI to the single UE with the lowest T_j; FD-BET gives RBGs one at a time to the lowest-T_j
    UE, updating that UE's *expected* throughput after each RBG and moving on once it is no longer
    the lowest, until all RBGs are used. simran's rule is FD-BET in the fluid limit (RBG → 0,
    fractional PRB-slot shares of the 5 ms tick), with the expected throughput taken as the EWMA
    after the tick; ns-3's averaging window (99 TTIs ≈ 100 ms) corresponds to simran's default
    ``pf_time_constant_ms = 100``. With β = 1 it equalises the throughput of every tick.
    """

    description = "blind equal throughput"
    uses_average = True

    def allocate(self, group, n_groups, budget, rate_bps, need, avg_bps, beta):
        return level_fill(group, n_groups, budget, (1.0 - beta) * avg_bps, beta * rate_bps,
                          need)
