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
from simpy.core import URGENT

from simran.radio import antenna, channel, energy, link, topology
from simran.output.collectors import Collector
from simran.control import (
    STATE_CODE,
    ControlSurface,
    SetCellPower,
    SetCellState,
    SetIntent,
    SetSliceQuota,
    action_to_dict,
)
from simran.ue.mobility import RandomWaypoint, RouteFollower, drop_uniform, straight_roads
from simran.rng import Streams
from simran.scenario import Scenario
from simran.mac.scheduler import SliceScheduler, slice_budgets
from simran.ue.traffic import Traffic
from simran.units import US_PER_S, db_to_lin, dbm_to_w, ms_to_us, s_to_us

DEFAULT_BS_HEIGHT_M = {"UMa": 25.0, "UMi": 10.0}


class _UrgentTimeout(simpy.events.Event):
    """A timeout scheduled with URGENT priority (runs before normal events at the same time)."""

    def __init__(self, env: simpy.Environment, delay: int):
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule(self, URGENT, delay)


@dataclass
class NetworkState:
    """What the control surface may change (and agents observe).

    The arrays are read-only and replaced, never written into, when the control surface changes
    them (copy-on-write): observations share them without copies, and the kernel recomputes
    what it derives from one (PRB budgets, powers in W) only when it is a new array.
    """

    n_cells: int
    quota_pct: np.ndarray          # [C, S] %
    tx_power_dbm: np.ndarray       # [C]
    cell_state: np.ndarray         # [C] 0 on, 1 off, 2 sleep
    intent_mbps: np.ndarray        # [S] (NaN = none)
    intent_tol_mbps: np.ndarray    # [S]

    @property
    def cell_on(self) -> np.ndarray:
        return self.cell_state == STATE_CODE["on"]


@dataclass
class TickKpis:
    """KPIs of the last tick (what an ``rt`` agent observes)."""

    t_us: int = 0
    ue_bits: np.ndarray | None = None            # [U]
    ue_prb: np.ndarray | None = None             # [U]
    cell_slice_mbps: np.ndarray | None = None    # [C, S]
    cell_slice_prb: np.ndarray | None = None     # [C, S]
    cell_prb_util: np.ndarray | None = None      # [C]


@dataclass
class RunResult:
    """What :func:`run_scenario` returns."""

    summary: dict
    results_path: Path | None
    wall_s: float
    backends: dict = field(default_factory=dict)
    run_info: dict = field(default_factory=dict)


class Simulation:
    """One run of a scenario.

    Parameters
    ----------
    scenario : Scenario
    agent_factory : callable(sim, AgentConfig) -> agent, optional
        Builds agents (default: :func:`simran.hooks.build_agent` via the registry).
    """

    def __init__(self, scenario: Scenario, agent_factory=None):
        self.scenario = sc = scenario
        self.env = simpy.Environment()
        self.streams = Streams(sc.simulation.seed)
        self.tick_us = ms_to_us(sc.simulation.tick_ms)
        self.tick_s = self.tick_us / US_PER_S
        self.duration_us = s_to_us(sc.simulation.duration_s)
        self.slice_names = [s.name for s in sc.slices]
        self._build_radio()
        self._build_ues()
        self._build_mac()
        self.collector = Collector(self)
        self.events_log: list[dict] = []
        self.control = ControlSurface(self.net, self.slice_names,
                                      min_power_dbm=0.0, max_power_dbm=sc.network.tx_power_dbm + 3,
                                      on_applied=self._on_applied)
        self._schedule_events()
        self.agents = []
        self.decision_log = None
        if sc.agents:
            from simran import hooks
            self.decision_log = hooks.DecisionLog()
            factory = agent_factory or hooks.build_agent
            self.agents = [factory(self, cfg) for cfg in sc.agents]

    # ---------------------------------------------------------------------- construction ----
    def _build_radio(self) -> None:
        n = self.scenario.network
        if n.layout == "hex":
            self.topo = topology.hex_grid(n.rings, n.isd_m, sectors=n.sectors)
        elif n.layout == "hermes10":
            self.topo = topology.hermes10(n.isd_m)
            if n.sectors == 1:
                self.topo = topology.from_sites(self.topo.site_xy, sectors=1, isd_m=n.isd_m)
        else:
            xy = np.array([[s.x_m, s.y_m] for s in n.sites], dtype=float)
            self.topo = topology.from_sites(xy, sectors=n.sectors, isd_m=n.isd_m)
        self.C = int(self.topo.cell_xy.shape[0])
        self.S = len(self.scenario.slices)
        self.n_prb = link.prb_count(n.bandwidth_mhz, n.scs_khz, n.frequency_range)
        self.bs_height_m = n.bs_height_m or DEFAULT_BS_HEIGHT_M[n.scenario]
        # per-PRB noise: 12 subcarriers × SCS (C.8)
        self.noise_mw = float(db_to_lin(channel.thermal_noise_dbm(12 * n.scs_khz * 1e3,
                                                                  n.noise_figure_db)))
        # bits one PRB carries in one tick, per MCS index (+1 for "no transmission" = index 0)
        lut = link.cqi_to_mcs_lut(n.cqi_table, n.mcs_table)            # [16] CQI → MCS (−1)
        se = np.where(lut >= 0, link.mcs_efficiency(np.maximum(lut, 0), n.mcs_table), 0.0)
        rate = link.rate_per_prb_bps(se, n.scs_khz, n.layers, n.overhead)   # [16] bit/s per PRB
        self.cqi_to_mcs = lut
        self.cqi_bits_per_prb_tick = rate * self.tick_s
        self.net = NetworkState(
            n_cells=self.C,
            quota_pct=np.tile([s.quota_pct for s in self.scenario.slices],
                              (self.C, 1)).astype(float),
            tx_power_dbm=np.full(self.C, n.tx_power_dbm, dtype=float),
            cell_state=np.zeros(self.C, dtype=np.int8),
            intent_mbps=np.full(self.S, np.nan), intent_tol_mbps=np.zeros(self.S))
        for a in (self.net.quota_pct, self.net.tx_power_dbm, self.net.cell_state,
                  self.net.intent_mbps, self.net.intent_tol_mbps):
            a.flags.writeable = False       # changed copy-on-write by the control surface only
        lo = self.topo.site_xy.min(axis=0) - n.isd_m / 2
        hi = self.topo.site_xy.max(axis=0) + n.isd_m / 2
        self.area = np.array([lo, hi])

    def _build_ues(self) -> None:
        sc = self.scenario
        rng = self.streams.stream("mobility")
        slices, groups, xy, cbr, fb, speed, is_trace = [], [], [], [], [], [], []
        self._rwp_idx, self._rwp_models, self._veh_idx, self._veh_models = [], [], [], []
        self.trace_ues = None
        start = 0
        for gi, g in enumerate(sc.ue_groups):
            if g.mobility == "trace":
                from simran.ue.trace import TraceUEs
                tu = TraceUEs(self, g, start)
                n, pos = tu.n, tu.positions()
                if self.trace_ues is None:
                    self.trace_ues = tu
                else:
                    self.trace_ues.extend(tu)
            else:
                n = g.count
                area = self.area + np.array([[-g.area_margin_m] * 2, [g.area_margin_m] * 2])
                if g.mobility == "vehicle" and n == 0:   # an empty group has no route model
                    pos = np.zeros((0, 2))
                elif g.mobility == "vehicle":
                    routes = ([np.asarray(g.route, float)] * n if g.route is not None
                              else straight_roads(rng, n, area))
                    length = np.array([np.linalg.norm(np.diff(r, axis=0), axis=1).sum()
                                       for r in routes])
                    s0 = (np.arange(n) / max(n, 1) + rng.uniform(0, 1 / max(n, 1))) * 2 * length
                    model = RouteFollower(routes, np.full(n, g.speed_mps), s0)
                    pos = model.xy.copy()
                    self._veh_idx.append(np.arange(start, start + n))
                    self._veh_models.append(model)
                else:
                    far = sc.network.isd_m / np.sqrt(3) + g.area_margin_m

                    def sampler(k, area=area, g=g, far=far):
                        return drop_uniform(rng, k, area, self.topo.site_xy, g.min_distance_m, far)
                    pos = sampler(n)
                    if g.mobility == "random_waypoint":
                        self._rwp_idx.append(np.arange(start, start + n))
                        self._rwp_models.append(RandomWaypoint(rng, pos, np.full(n, g.speed_mps),
                                                               area, sampler))
            slices += [self.slice_names.index(g.slice)] * n
            groups += [gi] * n
            xy.append(np.asarray(pos, float).reshape(-1, 2))
            fb += [g.traffic == "full_buffer"] * n
            cbr += [g.cbr_mbps * 1e6] * n
            speed += [g.speed_mps] * n
            is_trace += [g.mobility == "trace"] * n
            start += n
        self.U = start
        self.ue_slice = np.asarray(slices, dtype=np.int64)
        self.ue_group = np.asarray(groups, dtype=np.int64)
        self.ue_xy = np.concatenate(xy) if xy else np.zeros((0, 2))
        self.ue_is_trace = np.asarray(is_trace, dtype=bool)
        self.ue_active = np.ones(self.U, dtype=bool)
        self.traffic = Traffic(np.asarray(fb, bool), np.asarray(cbr, float), self.tick_s)
        self._init_channel()

    def _build_mac(self) -> None:
        sc = self.scenario
        self.scheduler = SliceScheduler(
            self.C, self.S, self.n_prb, [s.policy for s in sc.slices], sc.slicing.lending,
            pf_beta=min(1.0, sc.simulation.tick_ms / sc.slicing.pf_time_constant_ms))
        self.prev_load = np.ones(self.C)   # first tick: assume fully loaded interferers
        self.last = TickKpis()
        self.energy_j = np.zeros(self.C)
        self.handovers = 0
        self._ho_cand = np.full(self.U, -1)
        self._ho_since = np.zeros(self.U, dtype=np.int64)

    # ---------------------------------------------------------------------- channel ----------
    def _init_channel(self) -> None:
        n = self.scenario.network
        rng = self.streams.stream("channel")
        n_sites = self.topo.site_xy.shape[0]
        self._sf_field = channel.CorrelatedField(
            rng, n_sites, channel.shadow_decorrelation_m(n.scenario, False))
        self._los_field = channel.CorrelatedField(
            rng, n_sites, channel.los_correlation_m(n.scenario), kernel="gaussian")
        self.gain_db = np.zeros((self.C, self.U))
        self.update_channel()

    def update_channel(self) -> None:
        """Recompute the large-scale gain [C, U] (antenna − path loss − shadowing) at positions."""
        n, topo = self.scenario.network, self.topo
        if self.U == 0:      # a scenario without UEs still runs (idle cells: energy only)
            self.gain_lin = np.zeros((self.C, 0))
            self.serving = np.zeros(0, dtype=np.int64)
            self.los = np.zeros((self.C, 0), dtype=bool)
            return
        phi, theta, d2d, _ = antenna.angles(topo.cell_xy, topo.cell_azimuth_deg, self.bs_height_m,
                                            self.ue_xy, n.ue_height_m)
        if n.antenna.model == "omni" or n.sectors == 1:
            g_ant = np.full(phi.shape, n.antenna.max_gain_dbi if n.antenna.model != "omni"
                            else 0.0)
        else:
            g_ant = antenna.sector_gain_dbi(phi, theta, n.antenna.downtilt_deg,
                                            n.antenna.max_gain_dbi, n.antenna.hpbw_deg,
                                            n.antenna.hpbw_deg)
        site = topo.cell_site
        if n.los_model == "probabilistic":
            p = channel.los_probability(n.scenario, d2d, n.ue_height_m)
            los = channel.los_from_field(self._los_field.sample(self.ue_xy)[site], p)
        else:
            los = np.full(d2d.shape, n.los_model == "los")
        pl = channel.pathloss_db(n.scenario, los, d2d, n.carrier_ghz, self.bs_height_m,
                                 n.ue_height_m)
        sf = 0.0
        if n.shadowing:
            sf = self._sf_field.sample(self.ue_xy)[site] * channel.shadow_sigma_db(n.scenario, los)
        self.gain_db = g_ant - pl - sf
        self.gain_lin = db_to_lin(self.gain_db)
        if not hasattr(self, "serving"):
            self.serving = self._best_cell()
        self.los = los

    def _tx_per_prb_mw(self) -> np.ndarray:
        """Transmit power per PRB [mW], 0 for cells that are off: P_tx − 10·log10(N_PRB)."""
        p = db_to_lin(self.net.tx_power_dbm - 10 * np.log10(self.n_prb))
        return np.where(self.net.cell_on, p, 0.0)

    def rsrp_dbm(self) -> np.ndarray:
        """RSRP [dBm] of every cell at every UE, [C, U]: power per RE + gain (TS 38.215 §5.1.1)."""
        per_re = self.net.tx_power_dbm - 10 * np.log10(12 * self.n_prb)
        r = per_re[:, None] + self.gain_db
        return np.where(self.net.cell_on[:, None], r, -np.inf)

    def _best_cell(self) -> np.ndarray:
        best = np.argmax(self.rsrp_dbm(), axis=0) if self.U else np.zeros(0, dtype=np.int64)
        if self.trace_ues is not None:
            best = np.where(self.ue_is_trace, self.trace_ues.cell_of_all(self.U), best)
        return best.astype(np.int64)

    def sinr_db(self, load: np.ndarray | None = None, fading: np.ndarray | None = None
                ) -> np.ndarray:
        """Per-UE SINR [dB] with interference weighted by each cell's PRB load.

        SINR_u = h_u P_c G_cu / (Σ_{j≠c} P_j ℓ_j G_ju + N)  (radio-reference C.8), per PRB, with
        ``fading`` the power gain h_u of the serving link (1 without fast fading).
        """
        load = self.prev_load if load is None else load
        p = self._tx_per_prb_mw()                                     # [C]
        rx = p[:, None] * self.gain_lin                               # [C, U] mW per PRB
        sig = rx[self.serving, np.arange(self.U)]
        interf = (p * load) @ self.gain_lin - sig * load[self.serving]
        if fading is not None:
            sig = sig * fading
        with np.errstate(divide="ignore"):
            return 10 * np.log10(sig / (np.maximum(interf, 0.0) + self.noise_mw))

    # ---------------------------------------------------------------------- processes --------
    def _tick_proc(self):
        env = self.env
        sinr_map = self.scenario.network.sinr_to_cqi
        fading_rng = (self.streams.stream("fading")
                      if self.scenario.network.fast_fading == "rayleigh" else None)
        power = energy.CellPowerModel(self.scenario.network.bs_type, self.scenario.network.sectors)
        C, S, n_prb, tick_s = self.C, self.S, self.n_prb, self.tick_s
        # trace UEs take their CQI from the trace, so when every UE is one the SINR is never
        # needed (it is NaN for trace UEs in the KPIs anyway)
        all_trace = self.trace_ues is not None and bool(self.ue_is_trace.all())
        nan_sinr = np.full(self.U, np.nan)
        serving_for, cs = None, None
        net = self.net
        state_of = quota_of = tx_of = budget_on = power_on = None
        full_buffer = bool(self.traffic.full_buffer.all())
        while env.now < self.duration_us:
            now = env.now
            self.control.apply_due(now)
            if all_trace:
                sinr = nan_sinr
                tcqi = self.trace_ues.cqi_now(now)
                cqi = np.maximum(tcqi, 0)
                self.ue_active = tcqi >= 0
            else:
                # block Rayleigh fading of the serving link: |h|² ~ Exp(1), new every tick
                h = fading_rng.exponential(1.0, self.U) if fading_rng is not None else None
                sinr = self.sinr_db(fading=h)
                cqi = link.sinr_to_cqi(sinr, sinr_map).astype(np.int64)
                if self.trace_ues is not None:
                    tcqi = self.trace_ues.cqi_now(now)                # [U] −1 = not a trace UE
                    cqi = np.where(self.ue_is_trace, np.maximum(tcqi, 0), cqi)
                    self.ue_active = np.where(self.ue_is_trace, tcqi >= 0, True)
            bpp = self.cqi_bits_per_prb_tick[cqi]
            demand = self.traffic.demand_bits()
            # the control surface replaces a state array when it changes it (copy-on-write),
            # so what the tick derives from one is recomputed only when the array is new
            if net.cell_state is not state_of:
                state_of, cell_on = net.cell_state, net.cell_on
            if net.quota_pct is not quota_of or budget_on is not cell_on:
                quota_of, budget_on = net.quota_pct, cell_on
                budget = slice_budgets(quota_of, n_prb, cell_on).ravel()
            if net.tx_power_dbm is not tx_of or power_on is not cell_on:
                tx_of, power_on = net.tx_power_dbm, cell_on
                power.prepare(dbm_to_w(tx_of), cell_on)
            prb = self.scheduler.allocate(self.serving, self.ue_slice, self.ue_active, bpp,
                                          None if full_buffer else demand, net.quota_pct,
                                          cell_on, tick_s, budget=budget)
            if full_buffer:
                bits = prb * bpp
            else:
                bits = np.minimum(prb * bpp, demand)
                self.traffic.served(bits)
            if self.serving is not serving_for:       # handovers replace the serving array
                serving_for, cs = self.serving, self.serving * S + self.ue_slice
            cs_bits = np.bincount(cs, weights=bits, minlength=C * S).reshape(C, S)
            cs_prb = np.bincount(cs, weights=prb, minlength=C * S).reshape(C, S)
            load = np.minimum(np.bincount(self.serving, weights=prb, minlength=C) / n_prb, 1.0)
            pw = power.power_w(load)
            self.energy_j += pw * tick_s
            cs_mbps = cs_bits / tick_s / 1e6
            for a in (bits, prb, cs_mbps, cs_prb, load):   # agents observe these without copies
                a.flags.writeable = False
            self.last = TickKpis(now, bits, prb, cs_mbps, cs_prb, load)
            self.collector.on_tick(now, sinr, cqi, bits, prb, load, cs_bits, cs_prb, pw)
            self.prev_load = load
            yield _UrgentTimeout(env, self.tick_us)

    def _mobility_proc(self):
        period_us = ms_to_us(self.scenario.simulation.mobility_period_ms)
        dt = period_us / US_PER_S
        has_motion = bool(self._rwp_models or self._veh_models)
        while True:
            yield self.env.timeout(period_us)
            if not has_motion:
                continue
            for idx, m in zip(self._rwp_idx, self._rwp_models):
                self.ue_xy[idx] = m.step(dt)
            for idx, m in zip(self._veh_idx, self._veh_models):
                self.ue_xy[idx] = m.step(dt)
            self.update_channel()

    def _measurement_proc(self):
        ho = self.scenario.network.handover
        period_us = ms_to_us(self.scenario.simulation.measurement_period_ms)
        ttt_us = ms_to_us(ho.ttt_ms)
        while True:
            yield self.env.timeout(period_us)
            self._evaluate_handover(ho, ttt_us)

    def _evaluate_handover(self, ho, ttt_us: int) -> None:
        """A3 with time-to-trigger; a UE whose serving cell is off re-attaches at once."""
        if self.U == 0:
            return
        now = self.env.now
        rsrp = self._filtered_rsrp(ho.l3_filter_k)
        u = np.arange(self.U)
        geo = ~self.ue_is_trace
        best = np.argmax(rsrp, axis=0)
        serving_rsrp = rsrp[self.serving, u]
        forced = geo & ~self.net.cell_on[self.serving] & np.isfinite(rsrp[best, u])
        if ho.enabled:
            a3 = geo & ~forced & (best != self.serving) & (rsrp[best, u] > serving_rsrp
                                                            + ho.a3_offset_db)
        else:
            a3 = np.zeros(self.U, bool)
        new_cand = a3 & (self._ho_cand != best)
        self._ho_cand = np.where(a3, best, -1)
        self._ho_since = np.where(new_cand, now, self._ho_since)
        fire = forced | (a3 & (now - self._ho_since >= ttt_us))
        for ue in np.flatnonzero(fire):
            kind = "handover_forced" if forced[ue] else "handover"
            self.log_event(now, kind, cell=int(best[ue]), ue=int(ue),
                           detail={"from": int(self.serving[ue]), "to": int(best[ue]),
                                   "rsrp_gain_db": float(rsrp[best[ue], ue] - serving_rsrp[ue])})
        n_fire = int(fire.sum())
        self.handovers += n_fire
        if n_fire:                 # a new array only when someone moves (the tick caches on it)
            self.serving = np.where(fire, best, self.serving)
            self._ho_cand = np.where(fire, -1, self._ho_cand)

    def _filtered_rsrp(self, k: int) -> np.ndarray:
        """Layer-3 filtered RSRP [dBm], [C, U] (TS 38.331 §5.5.3.2, filtering in dB)."""
        m = self.rsrp_dbm()
        if k == 0:
            return m
        a = 1.0 / 2 ** (k / 4)
        prev = getattr(self, "_rsrp_l3", None)
        fin = np.isfinite(m)
        if prev is None or prev.shape != m.shape:
            f = m
        else:
            # a cell that was off (−inf) restarts its filter at the new measurement
            f = np.where(fin & np.isfinite(prev), (1 - a) * prev + a * m, m)
        self._rsrp_l3 = f
        return f

    # ---------------------------------------------------------------------- control ----------
    def _schedule_events(self) -> None:
        for e in self.scenario.events:
            a = _event_action(e)
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
    def run(self, progress=None) -> None:
        """Run to the end of the scenario (``progress``: callable(now_us) every ~1 % of time)."""
        env = self.env
        env.process(self._tick_proc())
        env.process(self._mobility_proc())
        if not self.ue_is_trace.all():     # trace UEs are pinned to their cell: no A3 to run
            env.process(self._measurement_proc())
        for a in self.agents:
            env.process(a.run())
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
        if self.decision_log is not None:
            s.update(self.decision_log.summary())
        for a in self.agents:                  # agents may add run-level metrics of their own
            extra = getattr(a, "summary_metrics", None)
            if extra is not None:
                s.update(extra())
        return s


def _event_action(e):
    if e.action == "set_slice_quota":
        return SetSliceQuota(slice=e.slice, quota_pct=e.value, cell=e.cell)
    if e.action == "set_cell_power":
        return SetCellPower(power_dbm=e.value, cell=e.cell)
    if e.action in ("cell_off", "cell_on", "cell_sleep"):
        return SetCellState(state=e.action.split("_")[1], cell=e.cell)
    return SetIntent(slice=e.slice, target_mbps=e.value, tolerance_mbps=e.tolerance or 0.0)


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
    return RunResult(summary=summary, results_path=path, wall_s=wall, backends=backends,
                     run_info=run_info)
