"""Trace-driven UEs: a UE whose CQI comes from a vehicle drive trace instead of geometry.

The Symbiotic Agents paper drives its RAN with the CQI of moving vehicles, mapped to MCS with the
3GPP CQI table (papers/004 §5.1.1). A ``mobility = "trace"`` UE group takes one UE per selected
trace (all, the first N, or by id); every tick its CQI is the trace's value at that instant
(``sampling = "hold"`` or ``"interpolate"``; ``end = "stop" | "loop" | "hold"``), and it goes
through the same CQI → MCS → bits-per-PRB chain (the scenario's CQI and MCS tables) and scheduler
as any UE. A trace UE is served by a fixed cell (``trace.cell``) and takes part in no handover; its
position is a nominal point 50 m along the cell's boresight (it only places the UE on the map). With
``end = "stop"`` a UE whose trace has ended is inactive (no demand, not scheduled).

Trace CQIs are evaluated in blocks of ticks (one vectorised ``cqi_at`` call per trace per block),
so the per-tick cost is one array lookup.
"""

from __future__ import annotations

import numpy as np

from simran.errors import ScenarioError, TraceError
from simran.traces.trace_set import load_trace_set

BLOCK_TICKS = 2000


class TraceUEs:
    """All trace-driven UEs of a simulation (several groups are merged with :meth:`extend`).

    Parameters
    ----------
    scenario : simran.scenario.Scenario
        The scenario (its name for errors; trace files resolve against its folder).
    group : simran.scenario.UEGroupConfig
        A ``mobility = "trace"`` UE group.
    start : int
        Index of the group's first UE among all UEs of the run.
    n_cells : int
        Number of cells of the network (``trace.cell`` must be one of them).
    topology : simran.radio.topology.Topology
        Cell positions and azimuths (for the nominal UE positions).
    tick_us : int
        Scheduler tick, µs.
    n_ues : int, optional
        Number of UEs of the whole run; :meth:`set_ue_count` sets it once the population is
        built (default: ``start`` + this group's UEs).
    """

    def __init__(self, scenario, group, start: int, n_cells: int, topology, tick_us: int,
                 n_ues: int | None = None):
        t = group.trace
        path = scenario.resolve_path(t.file)
        where = f"ue_groups[{group.name}].trace"
        src = scenario.source if scenario.source != "<dict>" else scenario.name  # the file
        if not path.exists():
            raise ScenarioError(src, [(f"{where}.file", f"trace file {path} "
                                                 "not found")])
        key = "file"             # trace errors also name the scenario field they come from
        try:
            ts = load_trace_set(path)
            key = "ids" if t.ids is not None else "first"
            self.traces = ts.select(ids=t.ids, first=t.first)
        except TraceError as exc:
            raise ScenarioError(src, [(f"{where}.{key}", str(exc))]) from None
        if t.cell >= n_cells:
            raise ScenarioError(src, [(f"{where}.cell", f"cell {t.cell} does not "
                                                 f"exist (the network has {n_cells} cells)")])
        self.n = len(self.traces)
        self.topo = topology
        self.tick_us = tick_us
        self.n_ues = start + self.n if n_ues is None else int(n_ues)
        self.index = np.arange(start, start + self.n)
        self.cells = np.full(self.n, t.cell, dtype=np.int64)
        self.spec = [(t.sampling, t.end, t.offset_s)] * self.n
        self.ids = [tr.id for tr in self.traces]
        self._block_start = -1
        self._block = np.zeros((self.n, 0), dtype=np.int64)
        self._covers_all: bool | None = None

    def set_ue_count(self, n_ues: int) -> None:
        """Set the number of UEs of the whole run (the length of :meth:`cqi_now`)."""
        self.n_ues = int(n_ues)
        self._covers_all = None

    def extend(self, other: TraceUEs) -> None:
        """Merge another group's trace UEs."""
        self.traces += other.traces
        self.index = np.concatenate([self.index, other.index])
        self.cells = np.concatenate([self.cells, other.cells])
        self.spec += other.spec
        self.ids += other.ids
        self.n += other.n
        self.n_ues = max(self.n_ues, other.n_ues)
        self._covers_all = None

    def positions(self) -> np.ndarray:
        """Nominal positions [n, 2]: 50 m along the serving cell's boresight."""
        topo = self.topo
        az = np.radians(topo.cell_azimuth_deg[self.cells])
        return topo.cell_xy[self.cells] + 50.0 * np.stack([np.cos(az), np.sin(az)], axis=1)

    def cell_of_all(self, n_ues: int) -> np.ndarray:
        """Serving cell per UE of the whole simulation (−1 for UEs that are not trace UEs)."""
        out = np.full(n_ues, -1, dtype=np.int64)
        out[self.index] = self.cells
        return out

    def cqi_now(self, now_us: int) -> np.ndarray:
        """CQI of every UE at ``now_us`` ([U]; −1 = not a trace UE or trace ended)."""
        tick = self.tick_us
        k = now_us // tick
        if self._block_start < 0 or not (self._block_start <= k <
                                         self._block_start + self._block.shape[1]):
            self._fill(k)
        col = self._block[:, k - self._block_start]
        if self._covers_all is None:      # are these all the simulation's UEs, in order?
            self._covers_all = bool(self.n == self.n_ues
                                    and np.array_equal(self.index, np.arange(self.n)))
        if self._covers_all:
            return col
        out = np.full(self.n_ues, -1, dtype=np.int64)
        out[self.index] = col
        return out

    def cqi_span(self, now_us: int) -> tuple[np.ndarray, int]:
        """:meth:`cqi_now` and the time [µs] of the next tick at which any UE's CQI may change
        (every tick before it has the same CQIs: a trace sampled once per second holds its CQI
        for 200 ticks of 5 ms), at most the end of the current block of ticks."""
        col = self.cqi_now(now_us)
        j = now_us // self.tick_us - self._block_start
        return col, int(self._block_start + self._next_change[j]) * self.tick_us

    def _fill(self, k0: int) -> None:
        t = (k0 + np.arange(BLOCK_TICKS, dtype=np.int64)) * self.tick_us
        self._block = b = np.stack([tr.cqi_at(t, mode=m, end=e, offset_s=o)
                                    for tr, (m, e, o) in zip(self.traces, self.spec)]) \
            if self.n else np.zeros((0, BLOCK_TICKS), dtype=np.int64)
        self._block_start = k0
        # the first column after each column j that differs from its predecessor (or the end)
        starts = np.flatnonzero((b[:, 1:] != b[:, :-1]).any(axis=0)) + 1
        self._next_change = np.append(starts, BLOCK_TICKS)[
            np.searchsorted(starts, np.arange(BLOCK_TICKS), side="right")]
