"""What an agent may see and do: :class:`AgentContext` and :class:`Observation` (design §3).

An agent never receives the simulation object. It gets a context with exactly what an agent may
use — the clock, the ids and names of cells, slices and UEs, the link tables, ``observe()``,
``submit(action)``, ``send(dst, payload, delay)``, ``round(...)``, its own RNG stream, its
parameters — and read-only access to what run metrics need (KPI history, decision rows, the
history of applied control actions). Everything it returns is a read-only array or a copy, so the
network changes only through actions that pass the control surface's guard-rails.

Underscore attributes of a context are the kernel's; an agent that reaches into them is outside
the API and may break on any release.
"""

from __future__ import annotations

import types
from pathlib import Path

import numpy as np

from simran.hooks.messages import Message, MessageBus, run_round
from simran.units import US_PER_S, ms_to_us


def _ro(a) -> np.ndarray:
    """A read-only view of ``a`` (no copy)."""
    v = np.asarray(a).view()
    v.flags.writeable = False
    return v


class Observation:
    """What an agent sees at t0 (units in the names; C cells, S slices, U UEs).

    The arrays are read-only snapshots: they are never changed after t0 (the kernel makes new
    KPI arrays every tick and the control surface replaces the state arrays instead of writing
    into them), so an agent may keep an observation; writing into one raises ``ValueError`` —
    change the network through actions (``np.array(obs.quota_pct)`` gives a writable copy).

    ``tick_*`` / ``ue_tick_*`` are values of the allocation made at the last tick boundary;
    ``kpi_*`` / ``ue_kpi_*`` are averages over the last completed KPI recording period.

    The fields that need arithmetic (``kpi_cell_slice_mbps``, the ``ue_*`` arrays,
    ``slice_names``) are derived on first access, from the arrays the observation captured at
    t0 — which never change — so they hold the values of t0 whenever they are read; an ``rt``
    agent that reads two fields every 5 ms pays for those two (issue 18).

    Attributes
    ----------
    t_us : int
        Observation time [µs].
    tick_cell_slice_mbps, tick_cell_slice_prb : ndarray [C, S]
        Throughput [Mbit/s] and PRBs of each slice in each cell in the last tick.
    tick_prb_util : ndarray [C]
        PRB utilisation of each cell in the last tick, in [0, 1].
    kpi_cell_slice_mbps : ndarray [C, S]
        Slice throughput of the last KPI period [Mbit/s].
    quota_pct, tx_power_dbm, cell_state : ndarray [C, S], [C], [C]
        Control state: slice quotas [%], transmit power [dBm], 0 on / 1 off / 2 sleep.
    intent_mbps, intent_tol_mbps : ndarray [S]
        Throughput intent per slice [Mbit/s] (NaN = none) and its tolerance.
    n_prb : int
        PRBs per cell (TS 38.101-1 Table 5.3.2-1).
    slice_names : list of str
    ue_cell, ue_slice : ndarray of int [U]
        Serving cell and slice of each UE.
    ue_sinr_db : ndarray [U]
        SINR of the last tick [dB] (NaN for trace-driven UEs, which have no geometry).
    ue_cqi : ndarray of int [U]
        CQI of the last tick (0 = out of range / inactive).
    ue_tick_mbps : ndarray [U]
        Throughput of the last tick [Mbit/s].
    ue_kpi_mbps : ndarray [U]
        Throughput of the last completed per-UE KPI period [Mbit/s]; NaN when per-UE KPIs are
        not recorded (``output.ue_kpis = false``) or before the first period.
    inbox : list of Message
        Messages delivered since the last observation.
    """

    __slots__ = ("t_us", "tick_cell_slice_mbps", "tick_cell_slice_prb", "tick_prb_util",
                 "quota_pct", "tx_power_dbm", "cell_state", "intent_mbps", "intent_tol_mbps",
                 "n_prb", "inbox", "ue_slice", "_src", "_got")

    def __init__(self, t_us, tick_cell_slice_mbps, tick_cell_slice_prb, tick_prb_util,
                 quota_pct, tx_power_dbm, cell_state, intent_mbps, intent_tol_mbps, n_prb,
                 inbox, ue_slice, src):
        self.t_us, self.n_prb, self.inbox, self.ue_slice = t_us, n_prb, inbox, ue_slice
        self.tick_cell_slice_mbps, self.tick_cell_slice_prb = (tick_cell_slice_mbps,
                                                               tick_cell_slice_prb)
        self.tick_prb_util, self.quota_pct = tick_prb_util, quota_pct
        self.tx_power_dbm, self.cell_state = tx_power_dbm, cell_state
        self.intent_mbps, self.intent_tol_mbps = intent_mbps, intent_tol_mbps
        self._src, self._got = src, None

    @property
    def t_s(self) -> float:
        return self.t_us / US_PER_S

    def _lazy(self, name: str):
        got = self._got
        if got is None:
            got = self._got = {}
        elif name in got:
            return got[name]
        v = got[name] = _derive(name, self._src)
        return v

    kpi_cell_slice_mbps = property(lambda self: self._lazy("kpi_cell_slice_mbps"))
    slice_names = property(lambda self: self._lazy("slice_names"))
    ue_cell = property(lambda self: self._lazy("ue_cell"))
    ue_sinr_db = property(lambda self: self._lazy("ue_sinr_db"))
    ue_cqi = property(lambda self: self._lazy("ue_cqi"))
    ue_tick_mbps = property(lambda self: self._lazy("ue_tick_mbps"))
    ue_kpi_mbps = property(lambda self: self._lazy("ue_kpi_mbps"))

    def __repr__(self) -> str:
        return (f"Observation(t_us={self.t_us}, quota_pct={self.quota_pct.tolist()}, "
                f"tick_cell_slice_mbps={self.tick_cell_slice_mbps.tolist()}, "
                f"inbox={len(self.inbox)} message(s))")


def _derive(name: str, src: tuple):
    """The lazy field ``name`` of an observation, from what it captured at t0 (a KPI record,
    once written, is never written again; the tick's arrays and ``serving`` are replaced, never
    changed)."""
    (C, S, U, tick_s, slice_names), last, started, pending, coll, r, ru, serving = src
    if name == "slice_names":
        return list(slice_names)
    if name == "ue_cell":
        return _ro(serving)
    if name == "kpi_cell_slice_mbps":
        if pending:                # the record of the last tick is the tick's own value
            return _ro(last.cell_slice_mbps.astype(np.float32).astype(float))
        if r:
            return _ro(coll.slice["throughput_mbps"][r - 1].astype(float))
        return _ro(np.zeros((C, S)))
    if name == "ue_kpi_mbps":
        if not started or not (coll.ue_on and ru):
            return _ro(np.full(U, np.nan))
        return _ro(coll.ue["throughput_mbps"][ru - 1].astype(float))
    if not started:
        return _ro({"ue_sinr_db": np.full(U, np.nan), "ue_cqi": np.zeros(U, np.int64),
                    "ue_tick_mbps": np.zeros(U)}[name])
    if name == "ue_tick_mbps":
        return _ro(last.ue_bits / tick_s / 1e6)
    return _ro(last.ue_sinr_db if name == "ue_sinr_db" else last.ue_cqi)


class AgentContext:
    """An agent's view of the run: what it may read and the calls it may make.

    Built by the kernel, one per agent; passed to the agent's constructor.

    Attributes
    ----------
    name, kind, loop : str
        The agent's name, registered kind and O-RAN loop class.
    params : mappingproxy
        The scenario's ``params`` table for this agent (read-only).
    cfg : AgentConfig
        The agent's whole (validated, immutable) scenario entry.
    rng : numpy.random.Generator
        The agent's own random stream (``agent:<name>`` of the run's seed).
    tick_us, tick_s : int, float
        Scheduler tick [µs], [s].
    duration_us : int
        Simulated duration of the run [µs].
    n_cells, n_slices, n_ues, n_prb : int
    slice_names : tuple of str
    cell_site, cell_sector : ndarray of int [C]
        Site and sector of each cell (read-only).
    ue_slice : ndarray of int [U]
        Slice of each UE (read-only).
    cqi_to_mcs : ndarray of int [16]
        MCS index per CQI (−1: no transmission), TS 38.214 Table 5.2.2.1-2/3/4 → 5.1.3.1-x.
    rate_per_prb_mbps : ndarray [16]
        Rate of one PRB at each CQI [Mbit/s] (TS 38.306 §4.1.2 per PRB; the CQI → rate table).
    index : int
        Position of this agent in the scenario's ``[[agents]]`` list (for error messages:
        ``agents.<index>.params...``).
    scenario_source : str
        The scenario file (or ``"<dict>"``), for error messages.
    base_dir : pathlib.Path
        The scenario file's folder: relative paths in ``params`` resolve against it.
    scenario : simran.scenario.Scenario
        The resolved scenario the run was built from — a private deep copy (the other agents'
        entries, the UE groups, …: inputs, like the scenario file itself); changing it changes
        nothing in the run.
    """

    __slots__ = ("_sim", "_agent", "name", "kind", "loop", "params", "cfg", "rng", "tick_us",
                 "tick_s", "duration_us", "n_cells", "n_slices", "n_ues", "n_prb", "slice_names",
                 "cell_site", "cell_sector", "ue_slice", "cqi_to_mcs", "rate_per_prb_mbps",
                 "index", "scenario_source", "base_dir", "_bus", "_origin", "_scenario", "_dims")

    def __init__(self, sim, cfg, bus: MessageBus, kind: str = "", index: int = 0):
        self._sim = sim
        self.index = int(index)
        self.scenario_source = sim.scenario.source
        self.base_dir = Path(sim.scenario.base_dir)
        self._agent = None
        self._bus = bus
        self.name, self.kind, self.loop, self.cfg = cfg.name, kind, cfg.loop, cfg
        self.params = types.MappingProxyType(dict(cfg.params))
        self.rng = sim.streams.stream(f"agent:{cfg.name}")
        self.tick_us, self.tick_s, self.duration_us = sim.tick_us, sim.tick_s, sim.duration_us
        self.n_cells, self.n_slices, self.n_ues, self.n_prb = sim.C, sim.S, sim.U, sim.n_prb
        self.slice_names = tuple(sim.slice_names)
        self.cell_site = _ro(sim.topo.cell_site)
        self.cell_sector = _ro(sim.topo.cell_sector)
        self.ue_slice = _ro(sim.ue_slice)
        self.cqi_to_mcs = _ro(sim.cqi_to_mcs)
        self.rate_per_prb_mbps = _ro(sim.cqi_bits_per_prb_tick / sim.tick_s / 1e6)
        self._origin = f"agent:{cfg.name}"
        self._scenario = None
        self._dims = (sim.C, sim.S, sim.U, sim.tick_s, self.slice_names)

    @property
    def scenario(self):
        """The resolved scenario (a deep copy made on first use; see the class docstring)."""
        if self._scenario is None:
            self._scenario = self._sim.scenario.model_copy(deep=True)
        return self._scenario

    # -- clock ------------------------------------------------------------------------------
    @property
    def now_us(self) -> int:
        """Simulated time now [µs]."""
        return int(self._sim.env.now)

    @property
    def now_s(self) -> float:
        return self._sim.env.now / US_PER_S

    def slice_index(self, name: str) -> int:
        """Index of the slice called ``name`` (ValueError naming the slices if none)."""
        try:
            return self.slice_names.index(name)
        except ValueError:
            raise ValueError(f"agent {self.name}: no slice {name!r} (slices: "
                             f"{', '.join(self.slice_names)})") from None

    # -- scheduling primitives for agents with a run loop of their own ------------------------
    def timeout(self, delay_us: int):
        """A SimPy event ``delay_us`` of simulated time from now (yield it in ``run``)."""
        return self._sim.env.timeout(int(delay_us))

    def event(self):
        """A fresh SimPy event (to wait for something another agent triggers)."""
        return self._sim.env.event()

    def process(self, gen):
        """Start a SimPy process of this agent's (e.g. a side task)."""
        return self._sim.env.process(gen)

    # -- observe / act ------------------------------------------------------------------------
    def observe(self, drain_inbox: bool = True) -> Observation:
        """The observation of now (read-only snapshots; drains the inbox unless told not to)."""
        sim = self._sim
        last = sim.last
        inbox: list = []
        agent = self._agent
        if drain_inbox and agent is not None and agent.inbox.items:
            inbox = agent.inbox.items[:]
            agent.inbox.items.clear()
        started = last.cell_slice_mbps is not None      # False before the first tick
        coll = sim.collector
        src = (self._dims, last, started, bool(coll._pending), coll, coll.r, coll.ru,
               sim.serving)
        net = sim.net
        if started:
            tick_mbps, tick_prb, util = (last.cell_slice_mbps, last.cell_slice_prb,
                                         last.cell_prb_util)
        else:
            z = np.zeros((sim.C, sim.S))
            z.flags.writeable = False
            tick_mbps = tick_prb = z
            util = _ro(np.zeros(sim.C))
        # no copies: the tick's arrays are new every tick and the network state is replaced,
        # never changed in place (copy-on-write, simran.control); all of them are read-only
        return Observation(int(sim.env._now), tick_mbps, tick_prb, util, net.quota_pct,
                           net.tx_power_dbm, net.cell_state, net.intent_mbps,
                           net.intent_tol_mbps, sim.n_prb, inbox, self.ue_slice, src)

    def submit(self, action, at_us: int | None = None, tag=None) -> None:
        """Queue a control action (guard-railed) for the first tick boundary ≥ ``at_us``.

        Agents normally return actions in a :class:`~simran.hooks.Decision` (then the latency is
        charged and the decision logged); ``submit`` is for set-up actions at t = 0 (an intent
        given as a parameter) and is recorded in the event log with this agent as origin.
        """
        self._sim.control.submit(action, self.now_us if at_us is None else int(at_us),
                                 origin=self._origin, tag=tag)

    def send(self, dst: str, payload: dict, delay_ms: float = 0.0) -> Message:
        """Send ``payload`` to agent ``dst``, delivered ``delay_ms`` of simulated time later.

        Raises :class:`~simran.hooks.MessageError` if no agent is called ``dst``.
        """
        return self._bus.send(self.name, dst, payload, ms_to_us(delay_ms))

    def round(self, dsts, payload, *, deadline_ms: float, delay_ms: float = 0.0,
              max_workers: int | None = None):
        """A negotiation round (:func:`simran.hooks.messages.run_round`), as a generator.

        Use inside a ``run`` process: ``result = yield from ctx.round(["t1", "t2"], {...},
        deadline_ms=60_000)``. Returns a :class:`~simran.hooks.RoundResult`.
        """
        return run_round(self._bus, self.name, list(dsts), payload, ms_to_us(deadline_ms),
                         ms_to_us(delay_ms), max_workers)

    # -- other agents -------------------------------------------------------------------------
    def peers(self) -> dict[str, str]:
        """{name: kind} of every agent of the scenario (this one included)."""
        return {a.name: a.kind for a in self._sim.agents}

    def peer(self, name: str):
        """The agent object called ``name`` (co-operating agents of one scenario, e.g. the Type I
        meta-tuner and its controller); ``KeyError`` if there is none."""
        a = self._bus.get(name)
        if a is None:
            raise KeyError(f"no agent named {name!r} (agents: {', '.join(self._bus.names())})")
        return a

    # -- read access for metrics ----------------------------------------------------------------
    def kpi_history(self) -> tuple[np.ndarray, dict, dict]:
        """(t_s [R], cell {name: [R, C]}, slice {name: [R, C, S]}) recorded so far (copies).

        Record r covers the KPI period ending at ``t_s[r]``; keys as in the results file.
        """
        t, cell, sl, _, _ = self._sim.collector.trimmed()
        return (t.copy(), {k: v.copy() for k, v in cell.items()},
                {k: v.copy() for k, v in sl.items()})

    @property
    def kpi_period_us(self) -> int:
        """Period of the KPI records [µs] (= ``tick_us`` when KPIs are recorded every tick)."""
        return int(self._sim.collector.period_us)

    def decisions(self, agent: str | None = None) -> list[dict]:
        """Decision-log rows (copies as dicts) of ``agent`` (default: this one; ``"*"``: all)."""
        log = self._sim.decision_log
        if log is None:
            return []
        who = self.name if agent is None else agent
        return [r.to_dict() for r in log.rows if who == "*" or r["agent"] == who]

    def action_history(self) -> list[dict]:
        """Every control action applied so far that the event log records (scripted events and
        guard-rail interventions, ``kind == "action"``), as copies: ``t_us``, ``detail``."""
        return [{"t_us": e["t_us"], "kind": e["kind"], "cell": e["cell"],
                 "detail": dict(e["detail"])} for e in self._sim.events_log
                if e["kind"] == "action"]

    def trace_cqi(self, ue: int, t_us: np.ndarray) -> np.ndarray | None:
        """CQI of trace-driven UE ``ue`` at times ``t_us`` (None if it is not a trace UE).

        A drive trace is an input of the scenario, known in advance like the scenario file.
        """
        tu = self._sim.trace_ues
        if tu is None or ue not in tu.index:
            return None
        j = int(np.flatnonzero(tu.index == ue)[0])
        mode, end, offset = tu.spec[j]
        return tu.traces[j].cqi_at(np.asarray(t_us, np.int64), mode=mode, end=end,
                                   offset_s=offset)
