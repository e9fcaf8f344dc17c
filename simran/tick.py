"""The tick process: every ``tick_ms`` (5 ms), the radio, the scheduler and the KPIs of all cells.

:func:`tick_process` is the body of :class:`simran.simulation.Simulation`'s ``tick`` process
(design §2): apply due control actions, SINR → CQI → bits per PRB (or a trace's CQI), the slice
scheduler for all cells at once, throughput, energy and KPI sums. It runs with URGENT priority, so
an agent observing at a tick boundary sees the allocation just made.

Fast paths, each tested against the path it skips (``tests/test_fastpaths*.py``): a network of
trace UEs reads each trace once per CQI sample; where the allocation is a function of its inputs
(trace UEs alone in their slice and cell, full buffer, no block errors) a tick whose inputs were
seen before reuses that tick's arrays (kept per CQI vector and PRB budgets), and a tick whose
inputs are all the last tick's objects reuses them at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import simpy
from simpy.core import URGENT

from simran.mac.scheduler import slice_budgets
from simran.radio import energy, link
from simran.units import dbm_to_w

__all__ = ["MEMO_ENTRIES", "TickKpis", "tick_process"]


MEMO_ENTRIES = 256
"""Tick allocations a run of trace UEs keeps for reuse (per CQI vector × PRB budgets)."""


class _UrgentTimeout(simpy.events.Event):
    """A timeout scheduled with URGENT priority (runs before normal events at the same time)."""

    def __init__(self, env: simpy.Environment, delay: int):
        self.env, self.callbacks = env, []        # Event.__init__, inline (one per tick)
        self._ok, self._value = True, None
        env.schedule(self, URGENT, delay)


@dataclass(slots=True)
class TickKpis:
    """KPIs of the last tick (what an ``rt`` agent observes)."""

    t_us: int = 0
    ue_bits: np.ndarray | None = None            # [U]
    ue_prb: np.ndarray | None = None             # [U]
    cell_slice_mbps: np.ndarray | None = None    # [C, S]
    cell_slice_prb: np.ndarray | None = None     # [C, S]
    cell_prb_util: np.ndarray | None = None      # [C]
    ue_sinr_db: np.ndarray | None = None         # [U] (NaN for trace UEs)
    ue_cqi: np.ndarray | None = None             # [U]


def tick_process(sim):
    """The tick loop of ``sim`` (a :class:`simran.simulation.Simulation`), as a generator."""
    env = sim.env
    sinr_map = sim.scenario.network.sinr_to_cqi
    fading_rng = (sim.streams.stream("fading")
                  if sim.scenario.network.fast_fading == "rayleigh" else None)
    power = energy.CellPowerModel(sim.scenario.network.bs_type, sim.scenario.network.sectors)
    C, S, n_prb, tick_s = sim.C, sim.S, sim.n_prb, sim.tick_s
    # trace UEs take their CQI from the trace, so when every UE is one the SINR is never
    # needed (it is NaN for trace UEs in the KPIs anyway)
    all_trace = sim.trace_ues is not None and bool(sim.ue_is_trace.all())
    nan_sinr = np.full(sim.U, np.nan)
    nan_sinr.flags.writeable = False
    cqi_thr = link.cqi_thresholds(sinr_map)
    serving_for, cs = None, None
    net, radio = sim.net, sim.radio
    state_of = quota_of = tx_of = budget_on = power_on = None
    full_buffer = bool(sim.traffic.full_buffer.all())
    bpp_table, tcqi_key = sim.cqi_bits_per_prb_tick, None
    la = sim.link_adapt
    # A tick's allocation is a function of its inputs — bits per PRB and presence (from
    # the CQI), PRBs per (cell, slice), cell states and powers — when the scheduler keeps
    # no state that it reads (every UE a trace UE alone in its slice and cell, or no PF/BET
    # slice), no block errors are drawn and no buffer drains. Then a tick whose inputs were
    # seen since the CQI last changed reuses that tick's arrays instead of recomputing them
    # (a P-controller's quota moves between a few whole-PRB budgets; between two CQI
    # samples of a trace there are 200 ticks).
    reuse = all_trace and la is None and full_buffer and sim.reuse_ticks
    sim.scheduler.fixed_groups = all_trace        # trace UEs never change cell
    memo_of, memo, bkey_of, bkey = (None, None, None), {}, None, b""
    memos: dict[bytes, dict] = {}   # trace CQI bytes → {PRB budget key → entry}
    n_memo = 0                      # entries in memos
    cqi_until = -1                  # a trace UE's CQI is the same until then [µs]
    one_quota = C * S == 1
    control, queue = sim.control, sim.control._queue
    collector, tick_us = sim.collector, sim.tick_us
    same = None            # the reused entry of the last tick, while its inputs stand
    sinr = cqi = None      # (set by every tick before ``same`` is)
    while env._now < sim.duration_us:           # (env.now, without the property)
        now = env._now
        if queue and queue[0][0] <= now:          # actions due (ControlSurface.apply_due)
            control.apply_due(now)
        if (same is not None and now < cqi_until and net.quota_pct is quota_of
                and net.cell_state is state_of and net.tx_power_dbm is tx_of):
            # no input of the last tick's allocation changed (the CQI holds, the network
            # state arrays are the same objects): the memo would give its entry again
            bits, prb, cs_mbps, cs_prb, load, cs_bits, pw = same
            sim.last = TickKpis(now, bits, prb, cs_mbps, cs_prb, load, sinr, cqi)
            collector.repeat_tick(now, same, sinr, cqi)
            sim.prev_load = load
            yield _UrgentTimeout(env, tick_us)
            continue
        same = None
        if all_trace and now < cqi_until:
            pass                     # every trace holds its CQI: nothing to derive
        elif all_trace:
            sinr = nan_sinr
            tcqi, cqi_until = sim.trace_ues.cqi_span(now)
            key = tcqi.tobytes()
            if key != tcqi_key:
                # a trace holds its CQI between samples: what follows from it (CQI ≥ 0,
                # presence, bits per PRB) is derived when it changes, as read-only arrays
                tcqi_key, cqi, active = key, np.maximum(tcqi, 0), tcqi >= 0
                bpp = bpp_table[cqi]
                for a in (cqi, active, bpp):
                    a.flags.writeable = False
                sim.ue_active = active
        else:
            # block Rayleigh fading of the serving link: |h|² ~ Exp(1), new every tick
            h = fading_rng.exponential(1.0, sim.U) if fading_rng is not None else None
            sinr = radio.sinr_db(sim.serving, sim.prev_load, h)
            cqi = (link.threshold_cqi(sinr, cqi_thr) if cqi_thr is not None
                   else link.sinr_to_cqi(sinr, sinr_map).astype(np.int64))
            if sim.trace_ues is not None:
                tcqi = sim.trace_ues.cqi_now(now)                # [U] −1 = not a trace UE
                cqi = np.where(sim.ue_is_trace, np.maximum(tcqi, 0), cqi)
                sim.ue_active = np.where(sim.ue_is_trace, tcqi >= 0, True)
            bpp = bpp_table[cqi]
        if la is not None:
            # effective SINR (a trace UE's: its CQI's threshold), the OLLA-shifted MCS
            s_eff = la.trace_sinr_db(cqi) if all_trace else sinr
            if sim.trace_ues is not None and not all_trace:
                s_eff = np.where(sim.ue_is_trace, la.trace_sinr_db(cqi), sinr)
            cqi_sel = la.select_cqi(s_eff, cqi)
            bpp = bpp_table[cqi_sel]
        demand = None if full_buffer else sim.traffic.demand_bits()
        # the control surface replaces a state array when it changes it (copy-on-write),
        # so what the tick derives from one is recomputed only when the array is new
        if net.cell_state is not state_of:
            state_of, cell_on = net.cell_state, net.cell_on
            all_on = bool(cell_on.all())
        if net.quota_pct is not quota_of or budget_on is not cell_on:
            quota_of, budget_on = net.quota_pct, cell_on
            if reuse and one_quota:
                # one cell, one slice (a Type I route): the budget of slice_budgets, as
                # the memo's key; the allocation, when computed, derives the array itself
                budget, bkey_of = None, None
                bkey = (float(math.floor(quota_of.item() / 100.0 * n_prb + 1e-9))
                        if all_on else 0.0)
            else:
                budget = slice_budgets(quota_of, n_prb, cell_on, all_on).ravel()
        if net.tx_power_dbm is not tx_of or power_on is not cell_on:
            tx_of, power_on = net.tx_power_dbm, cell_on
            power.prepare(dbm_to_w(tx_of), cell_on)
        if reuse:
            if tx_of is not memo_of[1] or power_on is not memo_of[2]:
                memos, n_memo, memo_of = {}, 0, (None, tx_of, power_on)
            if bpp is not memo_of[0]:
                # the CQI changed: the entries of its value, when it had it before since
                # the powers and cell states last changed (a trace revisits a few CQIs)
                memo_of = (bpp, tx_of, power_on)
                memo = memos.get(tcqi_key)
                if memo is None:
                    memo = memos[tcqi_key] = {}
            if budget is not bkey_of and budget is not None:   # PRBs per (cell, slice)
                bkey_of, bkey = budget, budget.tobytes()          # are the key
            out = memo.get(bkey)
            if out is not None:
                same = out
                bits, prb, cs_mbps, cs_prb, load, cs_bits, pw = out
                sim.last = TickKpis(now, bits, prb, cs_mbps, cs_prb, load, sinr, cqi)
                sim.collector.on_tick(now, sinr, cqi, bits, prb, load, cs_bits, cs_prb, pw,
                                       token=out)
                sim.prev_load = load
                yield _UrgentTimeout(env, sim.tick_us)
                continue
        prb = sim.scheduler.allocate(sim.serving, sim.ue_slice, sim.ue_active, bpp,
                                      None if full_buffer else demand, net.quota_pct,
                                      cell_on, tick_s, budget=budget)
        if la is not None:
            tx = prb * bpp if full_buffer else np.minimum(prb * bpp, demand)
            bits, new_bits = la.step(prb, tx, s_eff, cqi_sel)
            if not full_buffer:
                sim.traffic.served(new_bits)
        elif full_buffer:
            bits = prb * bpp
        else:
            bits = np.minimum(prb * bpp, demand)
            sim.traffic.served(bits)
        if sim.serving is not serving_for:       # handovers replace the serving array
            serving_for, cs = sim.serving, sim.serving * S + sim.ue_slice
        cs_bits = np.bincount(cs, weights=bits, minlength=C * S).reshape(C, S)
        cs_prb = np.bincount(cs, weights=prb, minlength=C * S).reshape(C, S)
        load = np.minimum(np.bincount(sim.serving, weights=prb, minlength=C) / n_prb, 1.0)
        pw = power.power_w(load)
        cs_mbps = cs_bits / tick_s / 1e6
        for a in (bits, prb, cs_mbps, cs_prb, load, cqi):   # observed without copies
            a.setflags(write=False)       # (the flag of .flags.writeable, set cheaper)
        sim.last = TickKpis(now, bits, prb, cs_mbps, cs_prb, load, sinr, cqi)
        out = None
        if reuse and sim.scheduler.input_determined():
            if n_memo >= MEMO_ENTRIES:           # keep it small: start afresh
                memos, n_memo = {}, 0
                memo = memos[tcqi_key] = {}
            out = memo[bkey] = same = (bits, prb, cs_mbps, cs_prb, load, cs_bits, pw)
            n_memo += 1
        sim.collector.on_tick(now, sinr, cqi, bits, prb, load, cs_bits, cs_prb, pw,
                               token=out)
        sim.prev_load = load
        yield _UrgentTimeout(env, sim.tick_us)
