"""The real-time half of the Type I symbiotic agent: a P-controller on a slice's PRB quota.

papers/004 §3.2, Eq. (1)–(2), every scheduler tick (5 ms)::

    PRB_new = Kp · e(t) + PRB_current,      e(t) = Tp_intent − Tp_current

``PRB`` is the slice's PRB quota in % of the cell's PRBs, clipped to [0, 100] %; ``Tp_current``
is the slice's throughput of the tick just scheduled (``obs.tick_cell_slice_mbps``) [Mbit/s];
``Tp_intent`` is the centre of the slice's intent band (``SetIntent``: target ± tolerance) and
``Kp`` is in % of the cell's PRBs per Mbit/s, so the paper's gains carry over (tuned 0.75,
untuned 0.10, §5.1.1).

Plant (radio-reference A.1)
    With a constant CQI the slice throughput is ``T = c · q`` with ``c`` the rate per % of quota,
    ``c = N_PRB/100 · r_PRB(CQI)`` [Mbit/s per %] (TS 38.214 CQI → MCS → spectral efficiency,
    TS 38.306 rate per PRB; :func:`rate_per_pct_mbps`). The action computed at tick k lands at
    tick k+1 (the 5 ms reaction time of papers/004 §5.1.3), so ``e_{k+1} = (1 − Kp·c)·e_k``: the
    loop converges iff ``0 < Kp·c < 2`` and is deadbeat at ``Kp = 1/c``. The scheduler floors
    the quota to whole PRBs, which perturbs ``e`` by less than one PRB's rate.

Stability bound (the guard-rail of the meta-tuner)
    ``Kp < 2 / c_max`` with ``c_max`` the best-case rate per % (the highest CQI of the cell's
    tables, :func:`kp_stability_bound`): a gain below it keeps the loop stable whatever CQI the
    vehicle sees next. 40 MHz at 30 kHz (106 PRB), CQI table 1 / qam64: c_max = 1.70 Mbit/s per
    %, bound 1.18 %/(Mbit/s). (The paper's testbed peaks at 120 Mbit/s, c_max = 1.2, so its
    prompt range 0.5–1.5 was stable there; 1.5 would not be here.)

Intent enforcements and iterations ι (papers/004 Eq. 3)
    An *enforcement* starts at the first controller iteration whose measured throughput is
    outside the band ``[target − tol, target + tol]`` (after being inside it, or right after the
    intent changed) and ends at the first iteration that measures it inside the band again.
    ``ι`` is the number of control iterations in between: an enforcement that starts at tick
    k0 and sees the band again at tick k1 has ``ι = k1 − k0`` (actions taken at k0 … k1−1). On
    the closed-form plant this is ``ceil(ln(tol/|e0|) / ln|1 − Kp·c|)``. An intent change that
    leaves the throughput inside the new band needs no enforcement (none is counted); an intent
    change during an enforcement closes it uncounted ("superseded"), and so does a tick at which
    the band is out of reach — live: the controller is saturated (quota at 100 % and the
    throughput still below the band, or at 0 % and above it); in the evaluation: the vehicle's
    CQI cannot carry the band's lower edge even with the whole cell (:mod:`metrics`). The
    tuner's bookkeeping
    restarts an open enforcement when Kp changes (ι counts iterations under one gain) and closes
    one that reaches ``max_iterations`` as unconverged with ι = max_iterations, so a loop that
    never converges still reports to the meta-tuner.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from agents.symbiotic.plant import Enforcement, EnforcementTracker
from simran.control import SetIntent, SetSliceQuota
from simran.hooks import Agent, register_agent
from simran.units import US_PER_S

TUNED_KP = 0.75
"""Hand-tuned gain of papers/004 §5.1.1 [% of PRBs per Mbit/s]."""
UNTUNED_KP = 0.10
"""Untuned gain of papers/004 §5.1.1 [% of PRBs per Mbit/s]."""


# ------------------------------------------------------------------------------ the agent -------
@dataclass
class Cluster:
    """N completed enforcements under one gain: what the meta-tuner reads (Eq. 3)."""

    t_us: int
    kp: float
    iterations: list[int] = field(default_factory=list)

    @property
    def mean_iterations(self) -> float:
        """ι̅ = (1/N) Σ ι_j."""
        return float(np.mean(self.iterations))


@register_agent("pcontrol")
class PController(Agent):
    """P-control of one slice's PRB quota in one cell towards its throughput intent.

    Scenario ``[[agents]]`` entry: ``kind = "pcontrol"``, ``loop = "rt"``, ``period_ms`` = the
    tick (5), ``latency = "fixed:0.001"`` (1 µs, papers/004 Fig. 14a). ``params``:

    ``slice`` (default: the first slice), ``cell`` (0), ``kp`` (0.75 % per Mbit/s),
    ``quota_min_pct`` / ``quota_max_pct`` (0 / 100), ``cluster_size`` N (3, papers/004: 3–5),
    ``max_iterations`` (200: an enforcement still open after 200 iterations = 1 s is reported
    as unconverged), ``send_every_tick`` (False), ``intent_mbps`` / ``intent_tolerance_mbps``
    (optional: the controller submits this ``SetIntent`` through the control surface at t = 0;
    otherwise the intent comes from scenario events).
    """

    def __init__(self, ctx):
        super().__init__(ctx)
        p = ctx.params
        self.slice = p.get("slice", ctx.slice_names[0])
        self.s = ctx.slice_index(self.slice)
        self.cell = int(p.get("cell", 0))
        self.kp = float(p.get("kp", TUNED_KP))
        self.q_lo = float(p.get("quota_min_pct", 0.0))
        self.q_hi = float(p.get("quota_max_pct", 100.0))
        self.cluster_size = int(p.get("cluster_size", 3))
        self.tracker = EnforcementTracker(int(p.get("max_iterations", 200)))
        self.kp_history: list[tuple[float, float, str]] = [(0.0, self.kp, "initial")]
        self.enforcements: list[Enforcement] = []
        self.clusters: list[Cluster] = []
        self._cluster = Cluster(0, self.kp)
        self._listeners: list = []
        self.iterations = 0
        self.send_every_tick = bool(p.get("send_every_tick", False))
        self._tick_us, self._n_prb = ctx.tick_us, ctx.n_prb
        self._q: float | None = None                  # the controller's own (float) quota
        self._sent: float | None = None               # the last quota sent to the RAN
        if "intent_mbps" in p:
            ctx.submit(SetIntent(self.slice, float(p["intent_mbps"]),
                                 float(p.get("intent_tolerance_mbps", 0.0))), at_us=0)

    def first_observation_us(self) -> int:
        return 0                   # act on the very first tick, like the rest of its life

    # The controller keeps PRB_current as a float of its own and tells the RAN only when the
    # whole-PRB grant changes (``send_every_tick = False``): the scheduler floors the quota to
    # whole PRBs, so the slice gets exactly the PRBs it would get if every tick's float quota
    # were sent — the same loop, without an E2-style message per 5 ms that changes nothing.
    # Every iteration is still a decision in the log (no action when nothing is sent). A quota
    # changed by someone else (an event, the control surface's clamp) is taken over as the new
    # PRB_current.

    # -- the meta-tuner's side ----------------------------------------------------------------
    def add_cluster_listener(self, fn) -> None:
        """``fn(cluster)`` is called when N enforcements under one gain have completed."""
        self._listeners.append(fn)

    def set_kp(self, kp: float, t_us: int, source: str = "") -> None:
        """Take a new gain (validated by the caller); the current cluster starts afresh."""
        self.kp = float(kp)
        self.kp_history.append((t_us / US_PER_S, self.kp, source))
        self.tracker.restart(int(-(-t_us // self.ctx.tick_us)))   # first tick under the new gain
        self._cluster = Cluster(int(t_us), self.kp)

    # -- the loop --------------------------------------------------------------------------------
    def decide(self, obs):
        s, c = self.s, self.cell                  # (.item: the float of the element, directly)
        target = obs.intent_mbps.item(s)
        if not math.isfinite(target):
            return None                                   # no intent: nothing to enforce
        tol = obs.intent_tol_mbps.item(s)
        y = obs.tick_cell_slice_mbps.item(c, s)
        self.iterations += 1
        q_ran = obs.quota_pct.item(c, s)
        q = self._q if q_ran == self._sent else q_ran       # resync if someone else changed it
        saturated = (q >= self.q_hi and y < target - tol) or (q <= self.q_lo and y > target + tol)
        done = self.tracker.step(obs.t_us // self._tick_us, y, target, tol, saturated)
        if done is not None:
            self._completed(done, obs.t_us)
        self._q = q_new = min(max(q + self.kp * (target - y), self.q_lo), self.q_hi)  # Eq. 1, 2
        if not self.send_every_tick and q_ran == self._sent:
            n = self._n_prb                   # _prbs(q_new) == _prbs(q_ran), inline
            if math.floor(q_new / 100.0 * n + 1e-9) == math.floor(q_ran / 100.0 * n + 1e-9):
                return None                   # same whole-PRB grant: nothing to tell the RAN
        self._sent = q_new
        return [SetSliceQuota(self.slice, q_new, self.cell)]

    def _prbs(self, q: float) -> int:
        """PRBs the scheduler grants for quota q: floor(q/100 · N_PRB) (scheduler.slice_budgets)."""
        return math.floor(q / 100.0 * self.ctx.n_prb + 1e-9)

    def _completed(self, e: Enforcement, t_us: int) -> None:
        e.kp = self.kp
        self.enforcements.append(e)
        self._cluster.iterations.append(e.iterations)
        if len(self._cluster.iterations) >= self.cluster_size:
            done, self._cluster = self._cluster, Cluster(t_us, self.kp)
            done.t_us = t_us
            self.clusters.append(done)
            for fn in self._listeners:
                fn(done)

    def summary_metrics(self) -> dict:
        """Table-4 metrics of the run, ``type1.*`` (:mod:`agents.symbiotic.metrics`).

        Empty unless KPIs are recorded every tick (``output.kpi_period_ms = tick_ms``).
        """
        from agents.symbiotic.metrics import live_metrics

        return live_metrics(self.ctx, self)
