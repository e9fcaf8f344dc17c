"""The SimPy kernel: a scenario becomes a network, processes and one results file.

Processes (design §2), all on an integer-microsecond clock:

* ``tick`` — every ``tick_ms`` (5 ms): apply due control actions, recompute SINR with the
  interference of every cell weighted by its PRB activity in the previous tick, SINR → CQI → MCS →
  bits per PRB, run the slice scheduler for all cells at once, account throughput, energy and KPIs.
  It runs with *urgent* priority, so at a tick boundary it always runs before any agent: an agent
  observing at a boundary sees the allocation just made for ``[t, t + tick)``, and its action can
  land at the next boundary at the earliest (the one-tick "network reaction time" of
  papers/004 §5.1.2).
* ``mobility`` — every ``mobility_period_ms``: move UEs, update path loss, LOS and shadowing.
* ``measurement`` — every ``measurement_period_ms``: RSRP reports and A3 handovers.
* agents (``simran.hooks``) — each at its own period, charging its decision latency in simulated
  time.

There are no module globals: two simulations can run in one Python process.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import simpy

from simran._drive import drive, fewer_collections
from simran.control import ControlSurface, action_to_dict, event_action
from simran.mac.scheduler import SliceScheduler
from simran.output.collectors import Collector
from simran.radio.handover import A3Handover
from simran.radio.network import DEFAULT_BS_HEIGHT_M, NetworkState, RadioNetwork
from simran.rng import Streams
from simran.scenario import Scenario
from simran.tick import TickKpis, tick_process
from simran.ue.population import build_population
from simran.units import US_PER_S, ms_to_us, s_to_us

__all__ = ["DEFAULT_BS_HEIGHT_M", "NetworkState", "RunResult", "Simulation", "TickKpis",
           "run_scenario"]


@dataclass
class RunResult:
    """What :func:`run_scenario` returns."""

    summary: dict
    results_path: Path | None
    wall_s: float
    backends: dict = field(default_factory=dict)
    run_info: dict = field(default_factory=dict)
    reports: dict = field(default_factory=dict)
    """{agent name: lines} from agents that tell what happened (``run_report()``), e.g. the
    rounds, bids and consensus of a negotiation; ``simran run`` prints them."""


class Simulation:
    """One run of a scenario.

    Parameters
    ----------
    scenario : Scenario
    agent_factory : callable(AgentContext, cls) -> agent, optional
        Replaces the constructor call of each agent (default ``cls(ctx)``; see
        :func:`simran.hooks.build_agents`).
    """

    reuse_ticks = True
    """Reuse a tick's allocation while its inputs are unchanged (see the tick process); False
    recomputes every tick — the slow reference the fast path is tested against."""

    def __init__(self, scenario: Scenario, agent_factory=None):
        self.scenario = sc = scenario
        self.env = simpy.Environment()
        self.streams = Streams(sc.simulation.seed)
        self.tick_us = ms_to_us(sc.simulation.tick_ms)
        self.tick_s = self.tick_us / US_PER_S
        self.duration_us = s_to_us(sc.simulation.duration_s)
        self.slice_names = [s.name for s in sc.slices]
        # the radio network: cells, control state, link tables (its constants are aliased here)
        self.radio = radio = RadioNetwork(sc.network, [s.quota_pct for s in sc.slices],
                                          self.tick_s)
        self.topo, self.C, self.S = radio.topo, radio.n_cells, radio.n_slices
        sc.check_cells(self.C)        # scripted events on cells that do not exist
        self.n_prb, self.net = radio.n_prb, radio.state
        self.bs_height_m, self.noise_mw, self.area = radio.bs_height_m, radio.noise_mw, radio.area
        self.cqi_to_mcs, self.cqi_bits_per_prb_tick = radio.cqi_to_mcs, radio.cqi_bits_per_prb_tick
        # the UEs, then the channel to them
        pop = self.population = build_population(sc, self.topo, self.area,
                                                 self.streams.stream("mobility"), self.tick_us)
        self.U = pop.n
        self.ue_xy, self.ue_slice, self.ue_group = pop.xy, pop.slice, pop.group
        self.ue_is_trace, self.traffic, self.trace_ues = pop.is_trace, pop.traffic, pop.trace_ues
        self.ue_active = np.ones(self.U, dtype=bool)
        self.ue_active.flags.writeable = False     # replaced, never changed (the MAC caches on it)
        radio.init_channel(self.streams.stream("channel"), self.ue_xy)
        self.serving = self._best_cell()
        # the MAC and the run's state
        self.scheduler = SliceScheduler(
            self.C, self.S, self.n_prb, [s.policy for s in sc.slices], sc.slicing.lending,
            pf_beta=min(1.0, sc.simulation.tick_ms / sc.slicing.pf_time_constant_ms))
        self.prev_load = np.ones(self.C)   # first tick: assume fully loaded interferers
        self.last = TickKpis()
        self.handovers = 0
        self.a3 = A3Handover(sc.network.handover, self.U)
        self.collector = Collector(self)
        # block errors, HARQ and OLLA ([network.link], simran.radio.harq): None when off, and
        # then the tick does exactly what it did without the option
        self.link_adapt = None
        if sc.network.link.bler:
            from simran.radio.harq import LinkAdaptation, cqi_sinr_thresholds_db

            self.link_adapt = LinkAdaptation(sc.network.link, self.U,
                                             cqi_sinr_thresholds_db(sc.network.sinr_to_cqi),
                                             self.streams.stream("harq"))
        self.events_log: list[dict] = []
        self.control = ControlSurface(self.net, self.slice_names,
                                      min_power_dbm=0.0, max_power_dbm=sc.network.tx_power_dbm + 3,
                                      on_applied=self._on_applied)
        self._schedule_events()
        self.agents = []
        self.decision_log = None
        if sc.agents:                  # agents get a context, never this object (design §3)
            from simran.hooks import build_agents
            self.agents, self.decision_log, self.bus = build_agents(self, agent_factory)

    # ---------------------------------------------------------------------- channel ----------
    # the large-scale channel belongs to the radio network; these read it (read-only)
    energy_j = property(lambda self: self.collector.energy_j,
                        doc="Energy drawn by each cell so far [J], [C] (summed every tick).")
    gain_db = property(lambda self: self.radio.gain_db, doc="Large-scale gain [C, U], dB.")
    gain_lin = property(lambda self: self.radio.gain_lin, doc="Large-scale gain [C, U], linear.")
    los = property(lambda self: self.radio.los, doc="LOS state [C, U] of every link.")

    def update_channel(self) -> None:
        """Recompute the large-scale gain [C, U] (antenna − path loss − shadowing) at ``ue_xy``."""
        self.radio.update_channel(self.ue_xy)

    def rsrp_dbm(self) -> np.ndarray:
        """RSRP [dBm] of every cell at every UE, [C, U] (TS 38.215 §5.1.1; −inf for cells off)."""
        return self.radio.rsrp_dbm()

    def _best_cell(self) -> np.ndarray:
        """Strongest cell of every UE; a trace UE keeps its trace's cell."""
        if self.trace_ues is None:
            return self.radio.best_cell()
        return self.radio.best_cell(self.ue_is_trace, self.trace_ues.cell_of_all(self.U))

    def sinr_db(self, load: np.ndarray | None = None, fading: np.ndarray | None = None
                ) -> np.ndarray:
        """Per-UE SINR [dB] on the serving link, interference weighted by each cell's PRB load
        (default: the last tick's), ``fading`` the serving link's power gain
        (:meth:`RadioNetwork.sinr_db`)."""
        return self.radio.sinr_db(self.serving, self.prev_load if load is None else load, fading)

    # ---------------------------------------------------------------------- processes --------
    def _tick_proc(self):
        """The tick process (:func:`simran.tick.tick_process`)."""
        return tick_process(self)

    def _mobility_proc(self):
        period_us = ms_to_us(self.scenario.simulation.mobility_period_ms)
        dt = period_us / US_PER_S
        pop = self.population
        has_motion = pop.moving
        while True:
            yield self.env.timeout(period_us)
            if not has_motion:
                continue
            pop.move(self.ue_xy, dt)
            self.update_channel()

    def _measurement_proc(self):
        period_us = ms_to_us(self.scenario.simulation.measurement_period_ms)
        while True:
            yield self.env.timeout(period_us)
            self._evaluate_handover()

    def _evaluate_handover(self) -> None:
        """A3 handover (:class:`~simran.radio.handover.A3Handover`): log and re-attach."""
        if self.U == 0:
            return
        now = self.env.now
        d = self.a3.evaluate(now, self.rsrp_dbm(), self.serving, self.net.cell_on,
                             ~self.ue_is_trace)
        for i, ue in enumerate(d.ue):
            src, dst = int(d.source[i]), int(d.target[i])
            self.log_event(now, "handover_forced" if d.forced[i] else "handover", cell=dst,
                           ue=int(ue), detail={"from": src, "to": dst,
                                               "rsrp_gain_db": float(d.rsrp_gain_db[i])})
        self.handovers += len(d)
        self.serving = d.serving    # the same array when nobody moved (the tick caches on it)

    # ---------------------------------------------------------------------- control ----------
    def _schedule_events(self) -> None:
        for e in self.scenario.events:
            a = event_action(e)
            self.control.submit(a, s_to_us(e.at_s), origin="event")

    def _on_applied(self, t_us, action, verdict, origin, tag) -> None:
        # scripted events and every guard-rail intervention go to the event log; an agent's
        # accepted actions are in its decision log already (an rt agent acts every tick)
        if not origin.startswith("agent:") or verdict.status != "accepted":
            self.log_event(t_us, "action", cell=getattr(action, "cell", None),
                           detail={"origin": origin, "action": action_to_dict(action),
                                   "verdict": verdict.status, "reason": verdict.reason,
                                   "applied": verdict.applied})
        if callable(tag):
            tag(t_us, action, verdict)

    def log_event(self, t_us: int, kind: str, cell=None, ue=None, detail=None) -> None:
        """Append an event to the run's event log."""
        self.events_log.append({"t_us": int(t_us), "kind": kind,
                                "cell": -1 if cell is None else int(cell),
                                "ue": -1 if ue is None else int(ue), "detail": detail or {}})

    # ---------------------------------------------------------------------- run --------------
    def start(self) -> None:
        """Start the processes (tick, mobility, measurement, agents) without running the clock;
        then step with ``env.run(until=…)`` (as :mod:`simran.gym` does). :meth:`run` calls it."""
        env = self.env
        drive(env, self._tick_proc())     # a lighter process (simran._drive), same order
        env.process(self._mobility_proc())
        if not self.ue_is_trace.all():     # trace UEs are pinned to their cell: no A3 to run
            env.process(self._measurement_proc())
        for a in self.agents:
            if a.default_loop():           # observe–decide–wait on its own timeouts only
                drive(env, a.run())
            else:
                env.process(a.run())

    def run(self, progress=None) -> None:
        """Run to the end of the scenario (``progress``: callable(now_us) every ~1 % of time)."""
        env = self.env
        self.start()
        with fewer_collections():          # (simran._drive: ~3 % of a one-cell route)
            if progress is None:
                env.run(until=self.duration_us)
                return
            step = max(self.tick_us, (self.duration_us // 100) // self.tick_us * self.tick_us)
            t = 0
            while t < self.duration_us:
                t = min(t + step, self.duration_us)
                env.run(until=t)
                progress(t)

    def summary(self) -> dict:
        """Summary metrics of the run (flat names, SI-ish units in the name)."""
        s = self.collector.summary()
        s["energy_kwh"] = float(self.energy_j.sum() / 3.6e6)
        s["energy_j_per_cell_mean"] = float(self.energy_j.mean()) if self.C else 0.0
        s["handovers"] = float(self.handovers)
        bits = s.get("_total_bits", 0.0)
        total_j = float(self.energy_j.sum())
        s["energy_efficiency_bit_per_j"] = bits / total_j if total_j else 0.0
        s.pop("_total_bits", None)
        if self.link_adapt is not None:
            s.update(self.link_adapt.summary(self.scenario.simulation.tick_ms))
        if self.decision_log is not None:
            s.update(self.decision_log.summary([a.name for a in self.agents]))
        for a in self.agents:                  # agents may add run-level metrics of their own
            extra = getattr(a, "summary_metrics", None)
            if extra is not None:
                s.update(extra())
        return s


def run_scenario(scenario: Scenario, out_path: str | Path | None = None, *, quiet: bool = True,
                 agent_factory=None) -> RunResult:
    """Run a scenario and (optionally) write its results file.

    Parameters
    ----------
    scenario : Scenario
    out_path : path, optional
        Results HDF5 file; written under a temporary name and renamed when complete.
    quiet : bool
        No progress bar.

    Returns
    -------
    RunResult
    """
    from simran.output import results

    t0 = time.perf_counter()
    sim = Simulation(scenario, agent_factory=agent_factory)
    bar = None
    if not quiet:
        from tqdm import tqdm
        bar = tqdm(total=round(sim.duration_us / US_PER_S, 3), unit="sim-s", leave=False,
                   bar_format="{l_bar}{bar}| {n:.2f}/{total:.2f} sim-s [{elapsed}<{remaining}]")
        last = [0]

        def progress(t_us):
            bar.update(round((t_us - last[0]) / US_PER_S, 6))
            last[0] = t_us
    try:
        sim.run(progress if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
    wall = time.perf_counter() - t0
    summary = sim.summary()
    run_info = {"wall_s": wall,
                "sim_s_per_wall_s": (sim.duration_us / US_PER_S) / wall if wall > 0 else 0.0}
    path = None
    if out_path is not None:
        path = results.write_results(out_path, sim, summary, run_info)
    backends = {a.name: a.backend_description() for a in sim.agents} if sim.agents else {}
    reports = {a.name: lines for a in sim.agents if (lines := list(a.run_report()))}
    return RunResult(summary=summary, results_path=path, wall_s=wall, backends=backends,
                     run_info=run_info, reports=reports)
