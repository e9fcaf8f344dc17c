"""KPI collection: per-tick sums averaged over a recording period, per cell / slice / UE.

The kernel calls :meth:`Collector.on_tick` once per tick with arrays it already has; the collector
adds them into accumulators and, at the end of every KPI period, writes one row per cell, per
(cell, slice) and (optionally, at its own decimated period) per UE into preallocated arrays.
Entities never write files (style §8); :mod:`simran.output.results` turns these arrays into the HDF5
layout.
"""

from __future__ import annotations

import math

import numpy as np

from simran.output.blocks import _Acc, _carve, _stack, _token_groups
from simran.units import ms_to_us

PENDING_TICKS = 256
"""Per-tick records (``kpi_period_ms = tick_ms``) are written in blocks of this many ticks."""
FOLD_TICKS = 64
"""Ticks' contributions to a small sum buffer are added in blocks of at most this many."""
FOLD_MAX = 512
"""Sum buffers of at most this many numbers take their ticks' contributions in blocks (one
numpy call per block instead of one per tick); larger ones add each tick at once."""


class Collector:
    """Accumulates KPIs of a :class:`simran.simulation.Simulation`.

    Attributes (after the run)
    --------------------------
    cell : dict of ndarray [R, C]
        ``throughput_mbps``, ``prb_util``, ``power_w``, ``n_ue``, ``tx_power_dbm``, ``state``.
    slice : dict of ndarray [R, C, S]
        ``throughput_mbps``, ``prb``, ``quota_pct``, ``n_ue``.
    ue : dict of ndarray [Ru, U]
        ``throughput_mbps``, ``sinr_db`` (mean of dB over ticks; NaN for trace UEs), ``cqi`` (mean),
        ``mcs`` (of the last tick), ``prb``, ``cell``, ``x_m``, ``y_m``, ``active``.
    t_s, ue_t_s : ndarray
        End time of every record [s].
    """

    def __init__(self, sim):
        self.sim = sim
        out = sim.scenario.output
        C, S, U = sim.C, sim.S, sim.U
        self.period_us = max(ms_to_us(out.kpi_period_ms), sim.tick_us)
        self.ue_on = bool(out.ue_kpis) and U > 0
        self.ue_period_us = max(ms_to_us(out.ue_kpi_period_ms or out.kpi_period_ms), sim.tick_us)
        R = math.ceil(sim.duration_us / self.period_us) + 1
        Ru = math.ceil(sim.duration_us / self.ue_period_us) + 1 if self.ue_on else 0
        self.cell = {k: np.zeros((R, C), dtype=np.float32) for k in
                     ("throughput_mbps", "prb_util", "power_w", "n_ue", "tx_power_dbm", "state")}
        self.slice = {k: np.zeros((R, C, S), dtype=np.float32) for k in
                      ("throughput_mbps", "prb", "quota_pct", "n_ue")}
        self.ue = {k: np.zeros((Ru, U), dtype=np.float32) for k in
                   ("throughput_mbps", "sinr_db", "cqi", "mcs", "prb", "cell", "x_m", "y_m",
                    "active")}
        self.t_s = np.zeros(R)
        self.ue_t_s = np.zeros(Ru)
        self.r = 0
        self.ru = 0
        # every per-tick sum is a view into one buffer: a tick adds its contributions to all of
        # them with one call (:meth:`on_tick`)
        shapes = {"cell_bits": (C,), "cell_prb": (C,), "power": (C,), "cs_bits": (C, S),
                  "cs_prb": (C, S), "run_cs_bits": (C, S), "run_load": (C,), "ue_total": (U,),
                  "u_bits": (U,), "u_sinr": (U,), "u_cqi": (U,), "u_prb": (U,), "u_active": (U,),
                  "energy": (C,), "sinr_sum": (U,), "sinr_n": (U,)}
        self._sums = np.zeros(sum(math.prod(v) for v in shapes.values()))
        v, _ = _carve(self._sums, shapes)
        self._v = v
        # a small buffer takes the ticks' contributions in blocks (:meth:`_fold`): one numpy
        # call costs more than the additions themselves
        self._later: list[np.ndarray] | None = [] if self._sums.size <= FOLD_MAX else None
        self._fold_buf = (np.empty((FOLD_TICKS + 1, self._sums.size))
                          if self._later is not None else None)
        self._zero, _ = _carve(np.zeros_like(self._sums), shapes)    # read only
        self._contribs: dict[int, tuple] = {}       # id(token) → (token, contributions)
        self._tok, self._tok_contrib = None, None    # the last token and its contributions
        self._acc = _Acc({k: v[k] for k in ("cell_bits", "cell_prb", "power", "cs_bits",
                                             "cs_prb")})
        self._uacc = _Acc({"bits": v["u_bits"], "sinr": v["u_sinr"], "cqi": v["u_cqi"],
                           "prb": v["u_prb"], "active": v["u_active"]})
        self._next = self.period_us
        self._next_ue = self.ue_period_us
        self._every_tick = self.period_us == sim.tick_us
        self._not_trace = ~sim.ue_is_trace
        self._any_geo = bool(self._not_trace.any())      # trace UEs have no SINR
        self._all_geo = bool(self._not_trace.all())
        self._nan_u = np.full(U, np.nan)
        # whole-run accumulators for the summary
        self._cs_bits_run, self._load_run = v["run_cs_bits"], v["run_load"]
        self.n_ticks = 0
        self._nue_key: tuple | None = None       # (serving, active) the UE counts are for
        # per-tick records not yet written, as runs of ticks with the very same arrays:
        # [end of the first tick, ticks, load, power, cs_bits, cs_prb, tx power, cell state,
        #  quota, serving, active, token]
        self._pending: list[list] = []
        self._n_pending = 0                      # ticks in them
        self._tick_us, self._duration_us = sim.tick_us, sim.duration_us
        self._ones_u = np.ones(U)
        self._mcs = np.zeros(U)
        self._last_cqi = None                    # CQI of the last tick (MCS taken at a flush)

    def _sum(self, name: str) -> np.ndarray:
        self._fold()
        return self._v[name]

    energy_j = property(lambda self: self._sum("energy"), doc="""Energy drawn by each cell so
        far [J], [C]: input power × tick, summed every tick (a view of the sum buffer).""")
    ue_total_bits = property(lambda self: self._sum("ue_total"),
                             doc="Bits served to each UE so far, [U].")
    sinr_sum = property(lambda self: self._sum("sinr_sum"),
                        doc="Sum of each UE's SINR over its ticks with geometry [dB], [U].")
    sinr_n = property(lambda self: self._sum("sinr_n"),
                      doc="Number of ticks in :attr:`sinr_sum`, [U].")

    def _fold(self) -> None:
        """Add the contributions of the ticks not added yet, in tick order.

        ``np.add.accumulate`` along the ticks computes ``s ← s + c_k`` one tick after the other,
        element by element — the very additions, in the same order, as one ``+=`` per tick —
        so the sums are bit for bit those of adding every tick at once.
        """
        later = self._later
        if not later:
            return
        k = len(later)
        buf = self._fold_buf[:k + 1]
        buf[0] = self._sums
        np.concatenate(later, out=buf[1:].reshape(-1))
        np.add.accumulate(buf, axis=0, out=buf)
        self._sums[:] = buf[k]
        later.clear()

    def on_tick(self, now_us, sinr_db, cqi, bits, prb, load, cs_bits, cs_prb, power_w,
                token=None) -> None:
        """Add one tick (all arrays are this tick's values).

        Every sum the collector keeps (the period's, the run's, the UEs', energy) lives in one
        buffer: the tick's contributions are gathered into one vector in the same layout and
        added with one call — the same additions, element by element, as one call per sum,
        hence the same numbers, for a dozen fewer numpy calls per tick.

        ``token``: an object that stands for exactly these arrays (the kernel's entry for an
        allocation it reuses while the inputs are unchanged); a tick with a token seen before
        has the very same arrays, and its contribution vector is reused.
        """
        end = now_us + self._tick_us
        if token is None:
            contrib = self._contribution(sinr_db, cqi, bits, prb, load, cs_bits, cs_prb, power_w)
        elif token is self._tok:                # the last tick's allocation again
            contrib = self._tok_contrib
        else:
            c = self._contribs.get(id(token))
            if c is None or c[0] is not token:
                if len(self._contribs) >= 256:     # (the kernel keeps up to 256 entries)
                    self._contribs.clear()
                c = self._contribs[id(token)] = (token, self._contribution(
                    sinr_db, cqi, bits, prb, load, cs_bits, cs_prb, power_w))
            self._tok, self._tok_contrib = token, c[1]
            contrib = c[1]
        later = self._later
        if later is None:
            self._sums += contrib
        else:
            later.append(contrib)               # added with the next block (:meth:`_fold`)
            if len(later) >= FOLD_TICKS:
                self._fold()
        dur = self._duration_us
        if self._every_tick:
            # a record per tick (the Type I metrics need them): the tick's values are the
            # record. They are kept by reference (every array here is new each tick or, for the
            # network state, replaced rather than changed) and written in blocks, vectorised —
            # the same numbers as record-by-record (0 + x, x / 1), at a fraction of the cost
            # A tick with the last tick's token and state arrays extends its run (n += 1).
            sim = self.sim
            net, pend = sim.net, self._pending
            if (token is not None and pend and token is (e := pend[-1])[11]
                    and net.quota_pct is e[8] and net.tx_power_dbm is e[6]
                    and net.cell_state is e[7] and sim.serving is e[9]
                    and sim.ue_active is e[10] and e[0] + e[1] * self._tick_us == end):
                e[1] += 1
            else:
                pend.append([end, 1, load, power_w, cs_bits, cs_prb, net.tx_power_dbm,
                             net.cell_state, net.quota_pct, sim.serving, sim.ue_active, token])
            self._n_pending += 1
            if self._n_pending >= PENDING_TICKS or end >= dur:
                self._drain()
        else:
            self._acc.n += 1
            if end >= self._next or end >= dur:
                self._flush(end)
        self.n_ticks += 1
        if self.ue_on:
            self._uacc.n += 1
            self._last_cqi = cqi
            if end >= self._next_ue or end >= dur:
                self._flush_ue(end)

    def repeat_tick(self, now_us: int, token, sinr_db, cqi) -> None:
        """:meth:`on_tick` of a tick whose arrays are the last tick's (``token``, the kernel's
        reused entry; the same CQI): its contributions again, its record one more tick of the
        last run when the network state arrays are the same objects too."""
        if token is not self._tok or not self._every_tick or not self._pending:
            bits, prb, _, cs_prb, load, cs_bits, pw = token
            self.on_tick(now_us, sinr_db, cqi, bits, prb, load, cs_bits, cs_prb, pw, token=token)
            return
        end = now_us + self._tick_us
        later = self._later
        if later is None:
            self._sums += self._tok_contrib
        else:
            later.append(self._tok_contrib)
            if len(later) >= FOLD_TICKS:
                self._fold()
        sim = self.sim
        net, e = sim.net, self._pending[-1]
        if (token is e[11] and net.quota_pct is e[8] and net.tx_power_dbm is e[6]
                and net.cell_state is e[7] and sim.serving is e[9] and sim.ue_active is e[10]
                and e[0] + e[1] * self._tick_us == end):
            e[1] += 1
        else:
            self._pending.append([end, 1, token[4], token[6], token[5], token[3],
                                  net.tx_power_dbm, net.cell_state, net.quota_pct, sim.serving,
                                  sim.ue_active, token])
        self._n_pending += 1
        dur = self._duration_us
        if self._n_pending >= PENDING_TICKS or end >= dur:
            self._drain()
        self.n_ticks += 1
        if self.ue_on:
            self._uacc.n += 1
            self._last_cqi = cqi
            if end >= self._next_ue or end >= dur:
                self._flush_ue(end)

    def _contribution(self, sinr_db, cqi, bits, prb, load, cs_bits, cs_prb, power_w
                      ) -> np.ndarray:
        """One tick's additions to every sum, as one vector in the layout of the sum buffer."""
        sim, z = self.sim, self._zero
        if self._every_tick:        # records are the ticks' own values: no period sums
            parts = [z["cell_bits"], z["cell_prb"], z["power"], z["cs_bits"], z["cs_prb"]]
        else:
            parts = [cs_bits.sum(axis=1), load, power_w, cs_bits, cs_prb]
        parts += [cs_bits, load, bits]                 # whole-run sums, reduced in summary()
        every = False
        geo_sum, geo_n = z["sinr_sum"], z["sinr_n"]
        if self._any_geo and sim.U:
            geo = np.isfinite(sinr_db)
            if not self._all_geo:
                geo &= self._not_trace
            # every UE with a finite SINR (the usual tick): the sums without the masks
            every = bool(geo.all())
            geo_sum = sinr_db if every else np.where(geo, sinr_db, 0.0)
            geo_n = self._ones_u if every else geo
        if self.ue_on:
            parts += [bits, (sinr_db if every else np.where(geo, sinr_db, np.nan)
                             if self._any_geo else self._nan_u), cqi, prb, sim.ue_active]
        else:
            parts += [z["u_bits"], z["u_sinr"], z["u_cqi"], z["u_prb"], z["u_active"]]
        parts += [power_w * sim.tick_s, geo_sum, geo_n]
        return np.concatenate(parts, axis=None, dtype=float)

    def _drain(self) -> None:
        """Write the pending per-tick records (``kpi_period_ms = tick_ms``) as one block.

        A run of n ticks with the very same arrays is written as those arrays repeated n
        times; the end of its i-th tick is the first end + i ticks.
        """
        pend, self._pending = self._pending, []
        n, self._n_pending = self._n_pending, 0
        r0 = self.r
        k = min(n, self.t_s.size - r0)
        if k <= 0:
            return
        sim, r1 = self.sim, r0 + k
        col = list(zip(*pend))
        counts = np.array(col[1])
        runs = len(pend) < n                   # some entry stands for several ticks

        def expand(a):                         # per entry → per tick (the first k)
            return (np.repeat(a, counts, axis=0) if runs else a)[:k]
        first_tick = np.cumsum(counts) - counts                     # tick index of each entry
        ends = expand(np.array(col[0]))
        if runs:
            ends = ends + (np.arange(k) - expand(first_tick)) * self._tick_us
        self.t_s[r0:r1] = ends / 1e6
        dur_s = sim.tick_s
        c, s = self.cell, self.slice
        # the allocation's arrays: per distinct token once when the kernel reused a few
        groups = _token_groups(col[11])
        if groups is None:
            def tick_stack(arrays):
                return expand(_stack(arrays))
        else:
            first, inv = groups
            inv = expand(inv)

            def tick_stack(arrays):
                return np.array([arrays[i] for i in first])[inv]
        cs_bits = tick_stack(col[4])                                  # [k, C, S]
        c["throughput_mbps"][r0:r1] = cs_bits.sum(axis=2) / dur_s / 1e6
        c["prb_util"][r0:r1] = tick_stack(col[2])
        c["power_w"][r0:r1] = tick_stack(col[3])
        s["throughput_mbps"][r0:r1] = cs_bits / dur_s / 1e6
        s["prb"][r0:r1] = tick_stack(col[5])
        c["tx_power_dbm"][r0:r1] = expand(_stack(col[6]))
        c["state"][r0:r1] = expand(_stack(col[7]))
        s["quota_pct"][r0:r1] = expand(_stack(col[8]))
        if sim.U:
            C, S, U = sim.C, sim.S, sim.U
            active = _stack(col[10]).astype(float)                   # [entries, U]
            if all(sv is col[9][0] for sv in col[9]):   # no handover in the block: one matrix
                onehot = np.zeros((U, C * S))
                onehot[np.arange(U), col[9][0] * S + sim.ue_slice] = 1.0
                n_cs = active @ onehot                                  # exact small integers
            else:
                n_cs = np.stack([np.bincount(sv * S + sim.ue_slice, weights=a, minlength=C * S)
                                 for sv, a in zip(col[9], active)])
            n_cs = expand(n_cs).reshape(k, C, S)
            s["n_ue"][r0:r1] = n_cs
            c["n_ue"][r0:r1] = n_cs.sum(axis=2)
        self.r = r1
        last_end = pend[-1][0] + (pend[-1][1] - 1) * self._tick_us       # of every pending tick
        self._next = (int(last_end) // self.period_us + 1) * self.period_us

    def latest_slice_mbps(self) -> np.ndarray | None:
        """Slice throughput of the last completed record [Mbit/s], [C, S] float64 (None before
        the first), as stored (float32)."""
        if self._pending:     # the record of the last tick is the tick's own value
            return self.sim.last.cell_slice_mbps.astype(np.float32).astype(float)
        if self.r:
            return self.slice["throughput_mbps"][self.r - 1].astype(float)
        return None

    def _flush(self, end_us: int) -> None:
        self._fold()
        a, n = self._acc.sums, self._acc.n
        if n == 0:
            return
        self._write(end_us, n, a["cell_bits"], a["cell_prb"] / n, a["power"] / n, a["cs_bits"],
                    a["cs_prb"] / n)
        self._acc.reset()

    def _write(self, end_us: int, n: int, cell_bits, prb_util, power_w, cs_bits, cs_prb) -> None:
        """Write record r: bits summed over n ticks, the other values already averaged."""
        sim, r = self.sim, self.r
        if r >= self.t_s.size:
            return
        dur_s = n * sim.tick_s
        self.t_s[r] = end_us / 1e6
        c = self.cell
        c["throughput_mbps"][r] = cell_bits / dur_s / 1e6
        c["prb_util"][r] = prb_util
        c["power_w"][r] = power_w
        c["tx_power_dbm"][r] = sim.net.tx_power_dbm
        c["state"][r] = sim.net.cell_state
        s = self.slice
        s["throughput_mbps"][r] = cs_bits / dur_s / 1e6
        s["prb"][r] = cs_prb
        s["quota_pct"][r] = sim.net.quota_pct
        if sim.U:
            # UEs per (cell, slice) and per cell, counting active UEs (exact small integers);
            # recounted only when the serving cells (replaced on handover) or activity change
            key = self._nue_key
            if (key is None or key[0] is not sim.serving
                    or not np.array_equal(key[1], sim.ue_active)):
                cs = sim.serving * sim.S + sim.ue_slice
                n_cs = np.bincount(cs, weights=sim.ue_active, minlength=sim.C * sim.S)
                self._nue = (n_cs.reshape(sim.C, sim.S),
                             np.bincount(sim.serving, weights=sim.ue_active, minlength=sim.C))
                self._nue_key = (sim.serving, sim.ue_active.copy())
            s["n_ue"][r] = self._nue[0]
            c["n_ue"][r] = self._nue[1]
        self.r += 1
        self._next = (end_us // self.period_us + 1) * self.period_us

    def _flush_ue(self, end_us: int) -> None:
        sim, u, n, r = self.sim, self._uacc.sums, self._uacc.n, self.ru
        if n == 0 or r >= self.ue_t_s.size:
            return
        self._fold()
        dur_s = n * sim.tick_s
        self.ue_t_s[r] = end_us / 1e6
        e = self.ue
        e["throughput_mbps"][r] = u["bits"] / dur_s / 1e6
        e["sinr_db"][r] = u["sinr"] / n
        e["cqi"][r] = u["cqi"] / n
        if self._last_cqi is not None:
            self._mcs, self._last_cqi = self.sim.cqi_to_mcs[self._last_cqi], None
        e["mcs"][r] = self._mcs
        e["prb"][r] = u["prb"] / n
        e["cell"][r] = sim.serving
        e["x_m"][r] = sim.ue_xy[:, 0]
        e["y_m"][r] = sim.ue_xy[:, 1]
        e["active"][r] = u["active"] / n
        self.ru += 1
        self._uacc.reset()
        self._next_ue = (end_us // self.ue_period_us + 1) * self.ue_period_us

    def trimmed(self):
        """(t_s, cell, slice, ue_t_s, ue) cut to the rows actually recorded."""
        self._drain()
        r, ru = self.r, self.ru
        return (self.t_s[:r], {k: v[:r] for k, v in self.cell.items()},
                {k: v[:r] for k, v in self.slice.items()}, self.ue_t_s[:ru],
                {k: v[:ru] for k, v in self.ue.items()})

    def summary(self) -> dict:
        """Run-level metrics (flat names with units)."""
        sim = self.sim
        self._fold()
        dur = max(self.n_ticks, 1) * sim.tick_s
        self.total_bits = float(self._cs_bits_run.sum())
        self.slice_bits = self._cs_bits_run.sum(axis=0)
        self.prb_util_sum = float(self._load_run.mean()) if sim.C else 0.0
        out = {
            "duration_s": self.n_ticks * sim.tick_s,
            "n_cells": float(sim.C), "n_ues": float(sim.U), "n_prb": float(sim.n_prb),
            "throughput_mbps_mean": self.total_bits / dur / 1e6,
            "cell_throughput_mbps_mean": self.total_bits / dur / 1e6 / max(sim.C, 1),
            "prb_util_mean": self.prb_util_sum / max(self.n_ticks, 1),
            "_total_bits": self.total_bits,
        }
        for name, b in zip(sim.slice_names, self.slice_bits):
            out[f"slice.{name}.throughput_mbps_mean"] = float(b / dur / 1e6)
        if sim.U:
            ue_mbps = self.ue_total_bits / dur / 1e6
            out["ue_throughput_mbps_mean"] = float(ue_mbps.mean())
            out["ue_throughput_mbps_p5"] = float(np.percentile(ue_mbps, 5))
            out["ue_throughput_mbps_p50"] = float(np.percentile(ue_mbps, 50))
            has = self.sinr_n > 0
            if has.any():
                ue_sinr = self.sinr_sum[has] / self.sinr_n[has]
                out["sinr_db_mean"] = float(ue_sinr.mean())
                out["sinr_db_p5"] = float(np.percentile(ue_sinr, 5))
            out["cbr_dropped_mbit"] = float(sim.traffic.dropped_bits.sum() / 1e6)
        return out
