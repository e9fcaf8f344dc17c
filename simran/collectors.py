"""KPI collection: per-tick sums averaged over a recording period, per cell / slice / UE.

The kernel calls :meth:`Collector.on_tick` once per tick with arrays it already has; the collector
adds them into accumulators and, at the end of every KPI period, writes one row per cell, per
(cell, slice) and (optionally, at its own decimated period) per UE into preallocated arrays.
Entities never write files (style §8); :mod:`simran.results` turns these arrays into the HDF5
layout.
"""

from __future__ import annotations

import math

import numpy as np

from simran.units import ms_to_us


class _Acc:
    """Running sums over one recording period."""

    def __init__(self, shape_map: dict[str, tuple]):
        self.sums = {k: np.zeros(s) for k, s in shape_map.items()}
        self.n = 0

    def reset(self) -> None:
        for v in self.sums.values():
            v[...] = 0.0
        self.n = 0


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
        self._acc = _Acc({"cell_bits": (C,), "cell_prb": (C,), "power": (C,),
                          "cs_bits": (C, S), "cs_prb": (C, S)})
        self._uacc = _Acc({"bits": (U,), "sinr": (U,), "cqi": (U,), "prb": (U,),
                           "active": (U,)})
        self._next = self.period_us
        self._next_ue = self.ue_period_us
        # whole-run accumulators for the summary
        self.total_bits = 0.0
        self.ue_total_bits = np.zeros(U)
        self.slice_bits = np.zeros(S)
        self.prb_util_sum = 0.0
        self.n_ticks = 0
        self.sinr_sum = np.zeros(U)
        self.sinr_n = np.zeros(U)
        self._mcs = np.zeros(U)

    def on_tick(self, now_us, sinr_db, cqi, bits, prb, load, cs_bits, cs_prb, power_w) -> None:
        """Add one tick (all arrays are this tick's values)."""
        sim = self.sim
        a = self._acc.sums
        cell_bits = cs_bits.sum(axis=1)
        a["cell_bits"] += cell_bits
        a["cell_prb"] += load
        a["power"] += power_w
        a["cs_bits"] += cs_bits
        a["cs_prb"] += cs_prb
        self._acc.n += 1
        self.total_bits += float(cell_bits.sum())
        self.slice_bits += cs_bits.sum(axis=0)
        self.prb_util_sum += float(load.mean()) if load.size else 0.0
        self.n_ticks += 1
        if sim.U:
            self.ue_total_bits += bits
            geo = ~sim.ue_is_trace & np.isfinite(sinr_db)
            self.sinr_sum += np.where(geo, sinr_db, 0.0)
            self.sinr_n += geo
            if self.ue_on:
                u = self._uacc.sums
                u["bits"] += bits
                u["sinr"] += np.where(geo, sinr_db, np.nan)
                u["cqi"] += cqi
                u["prb"] += prb
                u["active"] += sim.ue_active
                self._uacc.n += 1
                self._mcs = sim.cqi_to_mcs[cqi]
        end = now_us + sim.tick_us
        if end >= self._next or end >= sim.duration_us:
            self._flush(end)
        if self.ue_on and (end >= self._next_ue or end >= sim.duration_us):
            self._flush_ue(end)

    def _flush(self, end_us: int) -> None:
        sim, a, n, r = self.sim, self._acc.sums, self._acc.n, self.r
        if n == 0 or r >= self.t_s.size:
            return
        dur_s = n * sim.tick_s
        self.t_s[r] = end_us / 1e6
        c = self.cell
        c["throughput_mbps"][r] = a["cell_bits"] / dur_s / 1e6
        c["prb_util"][r] = a["cell_prb"] / n
        c["power_w"][r] = a["power"] / n
        c["n_ue"][r] = np.bincount(sim.serving[sim.ue_active], minlength=sim.C) if sim.U else 0
        c["tx_power_dbm"][r] = sim.net.tx_power_dbm
        c["state"][r] = sim.net.cell_state
        s = self.slice
        s["throughput_mbps"][r] = a["cs_bits"] / dur_s / 1e6
        s["prb"][r] = a["cs_prb"] / n
        s["quota_pct"][r] = sim.net.quota_pct
        if sim.U:
            cs = sim.serving * sim.S + sim.ue_slice
            s["n_ue"][r] = np.bincount(cs[sim.ue_active], minlength=sim.C * sim.S).reshape(
                sim.C, sim.S)
        self.r += 1
        self._acc.reset()
        self._next = (end_us // self.period_us + 1) * self.period_us

    def _flush_ue(self, end_us: int) -> None:
        sim, u, n, r = self.sim, self._uacc.sums, self._uacc.n, self.ru
        if n == 0 or r >= self.ue_t_s.size:
            return
        dur_s = n * sim.tick_s
        self.ue_t_s[r] = end_us / 1e6
        e = self.ue
        e["throughput_mbps"][r] = u["bits"] / dur_s / 1e6
        e["sinr_db"][r] = u["sinr"] / n
        e["cqi"][r] = u["cqi"] / n
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
        r, ru = self.r, self.ru
        return (self.t_s[:r], {k: v[:r] for k, v in self.cell.items()},
                {k: v[:r] for k, v in self.slice.items()}, self.ue_t_s[:ru],
                {k: v[:ru] for k, v in self.ue.items()})

    def summary(self) -> dict:
        """Run-level metrics (flat names with units)."""
        sim = self.sim
        dur = max(self.n_ticks, 1) * sim.tick_s
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
