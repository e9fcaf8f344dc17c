"""The SMO's observability agent of the AGI-RAN demo: SLA violations, renegotiation, recovery.

Scenario entry (``kind = "agiran_smo"``; an rApp in the SMO, loop ``non_rt``)::

    [[agents]]
    name = "smo"
    kind = "agiran_smo"
    loop = "non_rt"
    period_ms = 500.0
    latency = "fixed:10"
    params = { mediator = "mno", slice = "shared", hold_s = 5.0 }

**SLA-violation detection** (papers/004 §6 Phase II: "the RAN uses 100 % of the PRB capacity
without reaching the SLA intent … Thus, the SMO triggers a new negotiation"). Every period the
agent reads the slice's quota and its throughput over the last KPI period. A *violation sample*
is ``quota ≥ sat_pct`` (the P-controller is saturated) **and** ``throughput < SLA − tolerance``
with an SLA > 0 in force. A violation is declared after ``hold_s`` of consecutive violation
samples (hysteresis: a single sample inside the band, or a quota below ``sat_pct``, resets the
count — a dip of one fading second does not reopen a negotiation). The agent then sends
``{"request": "renegotiate"}`` to the mediator, which merges it into a running game or queues
it (:mod:`agents.negotiation.votes`), and waits: no new request until the SLA has changed or
``retry_s`` has passed.

**Recovery while the cell is off** (papers/004 §6 Phase IV: "at 400 s the channel quality is
substantially improved … the SMO triggers a new negotiation"). A switched-off cell transmits no
reference signals, so no UE can report a CQI on it, and this single-cell scenario has no
neighbour that measures the vehicle; simran still computes a trace UE's CQI when its cell is off,
so the agent **ignores any CQI observed while the cell is off** — that would be an oracle. It
learns that conditions improved the only way a real operator could here: a **scheduled probe**
that wakes the cell every ``probe_period_s`` for ``probe_s`` (cell on with the slice's quota at
0 %: reference signals and CSI reports, no data), reads the CQI reports, and estimates the
capacity as ``n_prb × mean rate per PRB`` at those CQIs. If the capacity is at least
``recover_factor`` × the reference SLA (the largest SLA whose violation was declared since the
last recovery — not a degraded SLA negotiated inside the hole — so the cell could carry it with
1/recover_factor of its PRBs), the cell stays on
and the agent requests a renegotiation; otherwise the cell goes back off. 3GPP's network energy
saving work (TR 38.864: cell DTX/DRX, periodic wake-up) is the mechanism's real counterpart; each
probe's ``probe_s`` of idle-on power is charged by the EARTH model like any other on-time.

``params``: ``mediator`` (required), ``slice`` (first slice), ``cell`` (0), ``hold_s`` (5),
``sat_pct`` (99), ``retry_s`` (30), ``probe_period_s`` (20), ``probe_s`` (0.5; at least one
period is spent on), ``recover_factor`` (1.25), ``recover_mbps`` (optional fixed threshold).
"""

from __future__ import annotations

import math

import numpy as np

from agents.negotiation.mediator_params import _scenario_agent_names
from simran.control import SetCellState
from simran.errors import ScenarioError
from simran.hooks import Agent, Decision, register_agent


def trace_problems(ctx) -> list[tuple[str, str]]:
    """Trace UE groups whose drive ends before the run does (file, trace id, when).

    The demo's story is the drive: a trace that stops (``end = "stop"``: the vehicle vanishes),
    loops (the hole comes back) or holds its last CQI before the scenario ends would change it
    silently, so it is a scenario error at load, whatever ``end`` says.
    """
    from simran.traces.trace_set import load_trace_set

    sc = ctx.scenario
    out = []
    dur = ctx.duration_us / 1e6
    for i, g in enumerate(sc.ue_groups):
        if g.mobility != "trace":
            continue
        path = sc.resolve_path(g.trace.file)
        try:
            traces = load_trace_set(path).select(ids=g.trace.ids, first=g.trace.first)
        except Exception:  # noqa: BLE001 - the kernel reports a bad trace file itself
            continue
        for tr in traces:
            span = float(tr.t_s[-1] - tr.t_s[0]) - g.trace.offset_s
            if span < dur:
                out.append((f"ue_groups.{i}.trace", f"{path}: trace {tr.id!r} ends "
                            f"{span:g} s after offset_s = {g.trace.offset_s:g} s, before the "
                            f"scenario's {dur:g} s (the AGI-RAN demo needs the whole drive; "
                            "shorten simulation.duration_s or pick a longer trace)"))
    return out


_DEFAULTS = {"hold_s": (5.0, 0.0), "sat_pct": (99.0, 0.0), "retry_s": (30.0, 0.0),
             "probe_period_s": (20.0, 0.0), "probe_s": (0.5, 0.0),
             "recover_factor": (1.25, 0.0)}


@register_agent("agiran_smo")
class SmoObservability(Agent):
    """SLA-violation trigger and recovery probe (see the module docstring)."""

    def __init__(self, ctx):
        super().__init__(ctx)
        p, idx, problems = ctx.params, ctx.index, []
        self.mediator = p.get("mediator")
        names = _scenario_agent_names(ctx)
        if not isinstance(self.mediator, str) or (names is not None and self.mediator
                                                  not in names):
            problems.append((f"agents.{idx}.params.mediator",
                             f"must name an agent of the scenario, got {self.mediator!r}"))
        self.slice = p.get("slice", ctx.slice_names[0])
        if self.slice not in ctx.slice_names:
            problems.append((f"agents.{idx}.params.slice", f"no slice {self.slice!r}"))
            self.slice = ctx.slice_names[0]
        self.s = ctx.slice_index(self.slice)
        self.cell = p.get("cell", 0)
        if isinstance(self.cell, bool) or not isinstance(self.cell, int) \
                or not 0 <= self.cell < ctx.n_cells:
            problems.append((f"agents.{idx}.params.cell", f"no cell {self.cell!r}"))
            self.cell = 0
        for key, (default, lo) in _DEFAULTS.items():
            v = p.get(key, default)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
                    or v <= lo:
                problems.append((f"agents.{idx}.params.{key}", f"must be a number > {lo:g}, "
                                                               f"got {v!r}"))
                v = default
            setattr(self, key, float(v))
        self.recover_mbps = p.get("recover_mbps")
        problems += trace_problems(ctx)
        if problems:
            raise ScenarioError(ctx.scenario_source, problems)
        self.violations: list[dict] = []      # t_s, sla_mbps, mbps, quota_pct
        self.probes: list[dict] = []          # t_s, capacity_mbps, threshold_mbps, recovered
        self.sla_log: list[tuple[float, float, float]] = []
        self._count = 0
        self._pending: tuple[float, float] | None = None
        self._ref_sla: float | None = None
        self._next_probe: float | None = None
        self._probe_until: float | None = None

    def backend_description(self) -> str:
        return "rule (SMO observability, not an LLM)"

    # -- the three states: probing, off, on ----------------------------------------------------
    def decide(self, obs):
        now, c, s = obs.t_s, self.cell, self.s
        sla, tol = float(obs.intent_mbps[s]), float(obs.intent_tol_mbps[s])
        if not self.sla_log or self.sla_log[-1][1:] != (sla, tol):
            self.sla_log.append((now, sla, tol))
        if self._probe_until is not None:
            return self._probe_result(obs) if now >= self._probe_until - 1e-9 else None
        if obs.cell_state[c] != 0:
            if self._next_probe is None:
                self._next_probe = now + self.probe_period_s
            if now < self._next_probe - 1e-9:
                return None
            self._probe_until = now + self.probe_s
            return Decision(actions=[SetCellState("on", c)], backend="",
                            note=f"probe: wake cell {c} for {self.probe_s:g} s to read CQI "
                                 "reports")
        self._next_probe = None
        return self._watch(obs, sla, tol)

    def _capacity(self, obs) -> float | None:
        """Whole-cell capacity of the slice's UEs on this cell from their CQI reports [Mbit/s]."""
        m = (np.asarray(obs.ue_slice) == self.s) & (np.asarray(obs.ue_cell) == self.cell) \
            & (np.asarray(obs.ue_cqi) > 0)
        if not m.any():
            return None
        rate = np.asarray(self.ctx.rate_per_prb_mbps)[np.asarray(obs.ue_cqi)[m]]
        return float(obs.n_prb * rate.mean())

    def _probe_result(self, obs) -> Decision:
        self._probe_until = None
        cap = self._capacity(obs)
        ref = self._ref_sla
        thr = float(self.recover_mbps) if self.recover_mbps is not None else \
            (self.recover_factor * ref if ref else math.nan)
        ok = cap is not None and math.isfinite(thr) and cap >= thr
        self.probes.append({"t_s": obs.t_s, "capacity_mbps": cap if cap is not None else
                            math.nan, "threshold_mbps": thr, "recovered": ok})
        what = "none" if cap is None else f"{cap:.1f}"
        if not ok:
            self._next_probe = obs.t_s + self.probe_period_s
            return Decision(actions=[SetCellState("off", self.cell)], backend="",
                            note=f"probe: capacity {what} Mbit/s < {thr:.1f} needed: cell off "
                                 f"again, next probe at {self._next_probe:.1f} s")
        self._count, self._pending, self._ref_sla = 0, (obs.t_s, 0.0), None
        return Decision(messages=[(self.mediator, {
            "request": "renegotiate", "reason": f"conditions recovered: probe capacity "
                                                f"{cap:.1f} Mbit/s >= {thr:.1f}"})],
            backend="", note=f"probe: capacity {cap:.1f} Mbit/s >= {thr:.1f}: the cell stays "
                             f"on; renegotiation requested from {self.mediator}")

    def _watch(self, obs, sla: float, tol: float):
        c, s = self.cell, self.s
        y, q = float(obs.kpi_cell_slice_mbps[c, s]), float(obs.quota_pct[c, s])
        if self._pending is not None and (sla != self._pending[1]
                                          or obs.t_s - self._pending[0] >= self.retry_s):
            self._pending = None
        bad = math.isfinite(sla) and sla > 0 and q >= self.sat_pct and y < sla - tol
        self._count = self._count + 1 if bad else 0
        if not bad:
            return None
        if self._count * self.period_us / 1e6 < self.hold_s - 1e-9 or self._pending is not None:
            return None
        self._ref_sla = max(self._ref_sla or 0.0, sla)    # the largest SLA it could not carry
        self._pending, self._count = (obs.t_s, sla), 0
        self.violations.append({"t_s": obs.t_s, "sla_mbps": sla, "mbps": y, "quota_pct": q})
        return Decision(messages=[(self.mediator, {
            "request": "renegotiate", "reason": f"SLA violation: {y:.1f} Mbit/s < {sla:.1f} - "
                                                f"{tol:g} with the quota at {q:.0f} % for "
                                                f"{self.hold_s:g} s"})],
            backend="", note=f"SLA violation held {self.hold_s:g} s ({y:.1f} < {sla:.1f} - "
                             f"{tol:g} Mbit/s at quota {q:.0f} %): renegotiation requested")

    # -- run-level outputs ---------------------------------------------------------------------
    def summary_metrics(self) -> dict:
        """``agiran.*`` of this run (:func:`agents.agiran.metrics.live_metrics`)."""
        from agents.agiran.metrics import live_metrics

        return live_metrics(self)

    def run_report(self) -> list[str]:
        """Violations and probes in words."""
        out = [f"smo ({self.name}): {len(self.violations)} SLA violation(s), "
               f"{len(self.probes)} probe(s)"]
        out += [f"  {v['t_s']:.1f} s: violation, {v['mbps']:.1f} Mbit/s < SLA "
                f"{v['sla_mbps']:.1f} at quota {v['quota_pct']:.0f} %" for v in self.violations]
        out += [f"  {p['t_s']:.1f} s: probe, capacity {p['capacity_mbps']:.1f} Mbit/s "
                f"(needs {p['threshold_mbps']:.1f}): {'recovered' if p['recovered'] else 'off'}"
                for p in self.probes]
        return out
