"""A tenant's behaviour across renegotiations and votes (papers/004 §6, papers/003 §V).

The parameters are documented in :mod:`agents.negotiation.tenant` ("Renegotiation and votes").
:class:`TenantDemoMixin` gives the tenant its *goal of now* (:meth:`~TenantDemoMixin.goal_mbps`:
the scheduled intent, grounded on the observed capacity), its ``switch_off`` bid, its vote and the
watch of the SLA that asks the mediator for a vote when its patience runs out. Everything is a
deterministic rule of the tenant's parameters and what it observes.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from simran.errors import ScenarioError
from simran.hooks import Decision
from simran.units import US_PER_S

CAP_WINDOW_S = 30.0
"""The window over which a tenant averages the capacity its users see [s] (one fading second
does not decide between a renegotiation and a vote)."""


def _num(p, key, default, lo, hi, problems, where, open_low=False):
    v = p.get(key, default)
    if v is None:
        return None
    bad = isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
        or v > hi or v < lo or (open_low and v <= lo)
    if bad:
        problems.append((f"{where}.{key}", f"must be a number in {'(' if open_low else '['}"
                                           f"{lo:g}, {hi:g}], got {v!r}"))
        return default
    return float(v)


def parse_schedule(value, where: str, problems: list) -> list[tuple[float, float]]:
    """``[[t_s, mbps], …]`` → sorted pairs (problems appended for anything else)."""
    if value is None:
        return []
    ok = isinstance(value, list) and all(
        isinstance(e, list) and len(e) == 2 and all(
            isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
            for x in e) and e[0] >= 0 and 0 <= e[1] <= 100 for e in value)
    if not ok:
        problems.append((f"{where}.intent_schedule", "must be a list of [t_s >= 0, mbps in "
                                                     f"[0, 100]] pairs, got {value!r}"))
        return []
    return sorted((float(t), float(v)) for t, v in value)


class TenantDemoMixin:
    """Goal, switch-off bid, vote and SLA watch of a :class:`~agents.negotiation.tenant.Tenant`."""

    def _read_demo_params(self, p, source, idx) -> None:
        where, problems = f"agents.{idx}.params", []
        self.schedule = parse_schedule(p.get("intent_schedule"), where, problems)
        self.capacity_share = _num(p, "capacity_share", None, 0.0, 1.0, problems, where, True)
        self.min_efficiency = _num(p, "min_efficiency", None, 0.0, 1.0, problems, where, True)
        self.floor_mbps = _num(p, "floor_mbps", None, 0.0, 100.0, problems, where)
        self.patience_s = _num(p, "patience_s", 60.0, 0.0, 1e6, problems, where)
        self.check_s = _num(p, "check_s", 1.0, 0.0, 3600.0, problems, where, True)
        if problems:
            raise ScenarioError(source, problems)
        self.peak_mbps = float(self.ctx.n_prb * float(np.max(self.ctx.rate_per_prb_mbps)))
        self._wants_off, self._goal_why, self._last_cap = False, "", None
        self._below_since: float | None = None
        self._asked_for: float | None = None
        self.vote_requests: list[float] = []
        self._caps: deque = deque(maxlen=4096)

    def scheduled_intent(self) -> float:
        """The human operator's intent of now [Mbit/s] (``intent_schedule``)."""
        now, v = self.ctx.now_s, self.intent_mbps
        for t, mbps in self.schedule:
            if t <= now:
                v = mbps
        return v

    def goal_mbps(self, req: dict) -> float:
        """The goal this tenant bids for now [Mbit/s] (sets the switch-off wish on the way)."""
        goal, why = self.scheduled_intent(), []
        cap = req.get("capacity_mbps")
        if isinstance(cap, (int, float)) and math.isfinite(cap):
            self._last_cap = float(cap)
        cap = self._last_cap
        self._wants_off = bool(self.min_efficiency is not None and cap is not None
                               and cap < self.min_efficiency * self.peak_mbps)
        if self._wants_off:
            goal = 0.0
            why.append(f"capacity {cap:.1f} < {self.min_efficiency:g} × peak "
                       f"{self.peak_mbps:.0f} Mbit/s: wants the cell off")
        elif self.capacity_share is not None and cap is not None \
                and goal > self.capacity_share * cap:
            goal = self.capacity_share * cap
            why.append(f"grounded on {self.capacity_share:g} × capacity {cap:.1f} Mbit/s")
        self._goal_why = "; ".join(why)
        return float(goal)

    def wants_off(self) -> tuple[bool, str]:
        """(vote off?, why): the OPEX rule or an SLA below the floor for ``patience_s``."""
        cap = self._last_cap
        if self.min_efficiency is not None and cap is not None \
                and cap < self.min_efficiency * self.peak_mbps:
            return True, (f"the cell carries {cap:.0f} Mbit/s, below {self.min_efficiency:g} of "
                          f"its {self.peak_mbps:.0f} Mbit/s peak: not worth its OPEX")
        if self.floor_mbps is not None and self._below_since is not None \
                and self.ctx.now_s - self._below_since >= self.patience_s \
                and not self._floor_fits():
            return True, (f"the SLA has been below our {self.floor_mbps:g} Mbit/s floor for "
                          f"{self.ctx.now_s - self._below_since:.0f} s: our users are not served")
        return False, "the service is still worth keeping"

    def _floor_fits(self) -> bool:
        """The last observed capacity (× ``capacity_share``) would carry the floor."""
        share = self.capacity_share if self.capacity_share is not None else 1.0
        cap = self._user_cap()
        return cap is not None and share * cap >= self.floor_mbps

    def _user_cap(self) -> float | None:
        """Mean capacity its users saw over the last ``CAP_WINDOW_S`` [Mbit/s] (None: none)."""
        now = self.ctx.now_s
        v = [c for t, c in self._caps if now - t <= CAP_WINDOW_S]
        return float(np.mean(v)) if v else None

    def _observe_capacity(self, obs) -> None:
        """The tenant's own users' CQI reports → capacity of the whole cell [Mbit/s] (only while
        the cell is on: an off cell reports nothing)."""
        s = self.ctx.slice_index(self.slice) if self.slice else 0
        m = (np.asarray(obs.ue_slice) == s) & (np.asarray(obs.ue_cqi) > 0)
        if not m.any() or int(np.max(obs.cell_state)) != 0:
            return
        rate = np.asarray(self.ctx.rate_per_prb_mbps)[np.asarray(obs.ue_cqi)[m]]
        self._caps.append((obs.t_s, float(obs.n_prb * rate.mean())))

    def vote_reply(self, req: dict) -> Decision:
        """The tenant's vote on switching the cell off (a rule, labelled as such)."""
        off, why = self.wants_off()
        v = "off" if off else "on"
        reply = {"vote": v, "reasoning": why}
        return Decision(reply=reply, parsed=reply, backend="scripted",
                        model=f"tenant vote rule '{self.personality}' (not an LLM)",
                        validation="ok", note=f"vote '{v}' on switching the cell off: {why}")

    def _watch(self):
        """Every ``check_s``: track how long the slice's SLA has been below the floor; when the
        patience runs out, ask the mediator(s) for a renegotiation if the capacity its users
        see would now carry the floor, else for a vote (once per episode below the floor)."""
        s = self.ctx.slice_index(self.slice) if self.slice else 0
        while True:
            yield self.ctx.timeout(int(self.check_s * US_PER_S))
            obs = self.ctx.observe(drain_inbox=False)
            self._observe_capacity(obs)
            sla = float(obs.intent_mbps[s])
            below = bool(math.isfinite(sla) and 0 < sla < self.floor_mbps
                         and int(np.max(obs.cell_state)) == 0)
            if not below:
                self._below_since = self._asked_for = None
                continue
            if self._below_since is None:
                self._below_since = self.ctx.now_s
            if self._asked_for is not None or \
                    self.ctx.now_s - self._below_since < self.patience_s:
                continue
            self._asked_for = self._below_since
            self.vote_requests.append(self.ctx.now_s)
            if self._floor_fits():
                msg = {"request": "renegotiate", "reason": f"{self.name}: the SLA {sla:g} is "
                       f"below our floor {self.floor_mbps:g} but the cell carries "
                       f"{self._user_cap():.0f} Mbit/s again"}
            else:
                msg = {"request": "vote_off", "reason": self.wants_off()[1]}
            for m in self._mediators:
                self.ctx.send(m, msg)
