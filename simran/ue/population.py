"""The UE population of a scenario: where every UE is, what it wants and how it moves.

:func:`build_population` turns the scenario's ``ue_groups`` into flat per-UE arrays (position,
slice, group, trace flag), one :class:`~simran.ue.traffic.Traffic` for all UEs, the mobility
models of the moving groups (random waypoint, vehicles on routes) and the trace-driven UEs
(:class:`~simran.ue.trace.TraceUEs`). It needs the scenario, the topology, the deployment area,
the run's ``mobility`` stream and the tick — not a simulation.

Groups are laid out in scenario order: UE ``i`` of group ``g`` has index ``start_g + i``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from simran.ue.mobility import RandomWaypoint, RouteFollower, drop_uniform, straight_roads
from simran.ue.traffic import Traffic
from simran.units import US_PER_S

if TYPE_CHECKING:
    from simran.ue.trace import TraceUEs


@dataclass
class UEPopulation:
    """All UEs of a run.

    Attributes
    ----------
    xy : ndarray [U, 2]
        Positions, m (moved in place by :meth:`move`).
    slice, group : ndarray of int64 [U]
        Slice index and ``ue_groups`` index of every UE.
    is_trace : ndarray of bool [U]
        Trace-driven UEs (CQI from a drive trace, pinned to their cell).
    traffic : Traffic
        Demand of every UE.
    trace_ues : TraceUEs or None
        The trace-driven UEs of every trace group, merged.
    rwp_idx, rwp_models, veh_idx, veh_models : list
        UE indices and models of the random-waypoint and vehicle groups.
    """

    xy: np.ndarray
    slice: np.ndarray
    group: np.ndarray
    is_trace: np.ndarray
    traffic: Traffic
    trace_ues: TraceUEs | None = None
    rwp_idx: list = field(default_factory=list)
    rwp_models: list = field(default_factory=list)
    veh_idx: list = field(default_factory=list)
    veh_models: list = field(default_factory=list)

    @property
    def n(self) -> int:
        """Number of UEs U."""
        return int(self.slice.shape[0])

    @property
    def moving(self) -> bool:
        """Does any UE move (random waypoint or vehicle)?"""
        return bool(self.rwp_models or self.veh_models)

    def move(self, xy: np.ndarray, dt_s: float) -> None:
        """Advance every moving UE by ``dt_s`` seconds, writing the positions into ``xy`` [U, 2]."""
        for idx, m in zip(self.rwp_idx, self.rwp_models):
            xy[idx] = m.step(dt_s)
        for idx, m in zip(self.veh_idx, self.veh_models):
            xy[idx] = m.step(dt_s)


def build_population(scenario, topology, area: np.ndarray, rng: np.random.Generator,
                     tick_us: int) -> UEPopulation:
    """Build the UEs of ``scenario.ue_groups``.

    Parameters
    ----------
    scenario : simran.scenario.Scenario
    topology : simran.radio.topology.Topology
        Sites and cells (UEs keep ``min_distance_m`` from sites; trace UEs sit by their cell).
    area : ndarray [2, 2]
        Deployment rectangle ``[[x_min, y_min], [x_max, y_max]]``, m; each group widens it by
        its ``area_margin_m``.
    rng : numpy.random.Generator
        The run's ``mobility`` stream (drops, routes and the random-waypoint walkers draw here).
    tick_us : int
        Scheduler tick, µs.

    Returns
    -------
    UEPopulation
    """
    sc = scenario
    tick_s = tick_us / US_PER_S
    n_cells = int(topology.cell_xy.shape[0])
    slice_names = [s.name for s in sc.slices]
    slices, groups, xy, cbr, fb, is_trace = [], [], [], [], [], []
    rwp_idx, rwp_models, veh_idx, veh_models = [], [], [], []
    trace_ues = None
    start = 0
    for gi, g in enumerate(sc.ue_groups):
        if g.mobility == "trace":
            # imported here: trace files (h5py) only when a group needs them
            from simran.ue.trace import TraceUEs
            tu = TraceUEs(sc, g, start, n_cells, topology, tick_us)
            n, pos = tu.n, tu.positions()
            if trace_ues is None:
                trace_ues = tu
            else:
                trace_ues.extend(tu)
        else:
            n = g.count
            g_area = area + np.array([[-g.area_margin_m] * 2, [g.area_margin_m] * 2])
            if g.mobility == "vehicle" and n == 0:   # an empty group has no route model
                pos = np.zeros((0, 2))
            elif g.mobility == "vehicle":
                routes = ([np.asarray(g.route, float)] * n if g.route is not None
                          else straight_roads(rng, n, g_area))
                length = np.array([np.linalg.norm(np.diff(r, axis=0), axis=1).sum()
                                   for r in routes])
                s0 = (np.arange(n) / max(n, 1) + rng.uniform(0, 1 / max(n, 1))) * 2 * length
                model = RouteFollower(routes, np.full(n, g.speed_mps), s0)
                pos = model.xy.copy()
                veh_idx.append(np.arange(start, start + n))
                veh_models.append(model)
            else:
                far = sc.network.isd_m / np.sqrt(3) + g.area_margin_m

                def sampler(k, area=g_area, g=g, far=far):
                    return drop_uniform(rng, k, area, topology.site_xy, g.min_distance_m, far)
                pos = sampler(n)
                if g.mobility == "random_waypoint":
                    rwp_idx.append(np.arange(start, start + n))
                    rwp_models.append(RandomWaypoint(rng, pos, np.full(n, g.speed_mps),
                                                     g_area, sampler))
        slices += [slice_names.index(g.slice)] * n
        groups += [gi] * n
        xy.append(np.asarray(pos, float).reshape(-1, 2))
        fb += [g.traffic == "full_buffer"] * n
        cbr += [g.cbr_mbps * 1e6] * n
        is_trace += [g.mobility == "trace"] * n
        start += n
    if trace_ues is not None:
        trace_ues.set_ue_count(start)
    return UEPopulation(
        xy=np.concatenate(xy) if xy else np.zeros((0, 2)),
        slice=np.asarray(slices, dtype=np.int64),
        group=np.asarray(groups, dtype=np.int64),
        is_trace=np.asarray(is_trace, dtype=bool),
        traffic=Traffic(np.asarray(fb, bool), np.asarray(cbr, float), tick_s),
        trace_ues=trace_ues, rwp_idx=rwp_idx, rwp_models=rwp_models, veh_idx=veh_idx,
        veh_models=veh_models)
