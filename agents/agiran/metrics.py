"""The ``agiran.*`` metrics of a demo run, and the comparison with its static-SLA twin.

All metrics are computed from the KPI records (period ``output.kpi_period_ms``) of the slice in
the demo's cell, so the live metrics (``simran run``'s summary) and the ones recomputed from a
results file agree.

=====================================  =========================================================
``agiran.prb_s``                       PRB·seconds the slice used: Σ (mean PRBs per tick) × period
``agiran.prb_pct_mean``                mean share of the cell's PRBs used by the slice [%]
``agiran.mbit``                        data delivered to the slice [Mbit]
``agiran.prb_s_per_mbit``              prb_s / mbit: PRB·s spent per Mbit delivered
``agiran.sla_time_s``                  time with an SLA > 0 in force [s]
``agiran.sla_satisfied_s``             of it, time with throughput ≥ SLA − tolerance [s]
``agiran.sla_satisfied_pct``           sla_satisfied_s / sla_time_s [%]
``agiran.off_time_s``                  time the cell was off (probes excluded) [s]
``agiran.energy_kwh``                  cell energy, EARTH model (power per KPI period) [kWh]
``agiran.negotiations``                games held (the opening one included)
``agiran.negotiation_s_mean`` / _max   simulated duration of a game, start → consensus/failure
``agiran.negotiation_s_total``         the sum of them [s]
``agiran.votes``, ``votes_passed``     votes on cell off held / passed
``agiran.violations``, ``probes``      SLA violations declared, recovery probes made
=====================================  =========================================================

The comparison (:func:`compare_metrics`) adds ``agiran.prb_saved_pct`` = 1 − prb_s / prb_s of
the static-SLA twin and ``agiran.energy_saved_pct`` likewise (same seed, same trace).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np


@dataclass
class DemoSeries:
    """KPI records of the demo slice in the demo cell (R records of ``period_s``).

    Attributes
    ----------
    t_s : ndarray [R]
        End of each KPI period [s].
    period_s : float
    prb, mbps : ndarray [R]
        Mean PRBs per tick and throughput [Mbit/s] of the slice.
    quota_pct : ndarray [R]
    n_prb : int
    sla_mbps, sla_tol_mbps : ndarray [R]
        SLA in force in the middle of each period (NaN: none).
    power_w : ndarray [R]
        Cell power (EARTH) [W].
    cell_on : ndarray of bool [R]
    """

    t_s: np.ndarray
    period_s: float
    prb: np.ndarray
    mbps: np.ndarray
    quota_pct: np.ndarray
    n_prb: int
    sla_mbps: np.ndarray
    sla_tol_mbps: np.ndarray
    power_w: np.ndarray
    cell_on: np.ndarray


def sla_steps(changes, t_s: np.ndarray, period_s: float) -> tuple[np.ndarray, np.ndarray]:
    """SLA and tolerance in force at the middle of each period, from ``(t_s, sla, tol)``
    changes in time order (NaN before the first)."""
    mid = np.asarray(t_s, float) - period_s / 2
    sla, tol = np.full(mid.shape, np.nan), np.full(mid.shape, np.nan)
    for t, v, w in sorted(changes, key=lambda x: x[0]):
        sla[mid >= t], tol[mid >= t] = v, w
    return sla, tol


def metrics(series: DemoSeries, prefix: str = "agiran.") -> dict[str, float]:
    """The KPI-based metrics of the module table."""
    p = series.period_s
    sla = np.nan_to_num(series.sla_mbps, nan=0.0)
    tol = np.nan_to_num(series.sla_tol_mbps, nan=0.0)
    on_sla = sla > 0
    sat = on_sla & (series.mbps >= sla - tol - 1e-9)
    t_sla = float(on_sla.sum() * p)
    out = {"prb_s": float(series.prb.sum() * p),
           "prb_pct_mean": float(series.prb.mean() / series.n_prb * 100) if series.prb.size
           else math.nan,
           "mbit": float(series.mbps.sum() * p), "sla_time_s": t_sla,
           "prb_s_per_mbit": float(series.prb.sum() / series.mbps.sum())
           if series.mbps.sum() > 0 else math.nan,
           "sla_satisfied_s": float(sat.sum() * p),
           "sla_satisfied_pct": float(sat.sum() * p / t_sla * 100) if t_sla else math.nan,
           "off_time_s": float((~series.cell_on).sum() * p),
           "energy_kwh": float(series.power_w.sum() * p / 3.6e6)}
    return {prefix + k: v for k, v in out.items()}


def game_metrics(games, votes=(), violations=(), probes=(), prefix="agiran.") -> dict:
    """Negotiation counts and simulated durations, votes, violations, probes."""
    d = [g.game_time_s for g in games if g.game_time_s is not None]
    out = {"negotiations": float(len(games)),
           "negotiation_s_mean": float(np.mean(d)) if d else math.nan,
           "negotiation_s_max": float(np.max(d)) if d else math.nan,
           "negotiation_s_total": float(np.sum(d)) if d else 0.0,
           "votes": float(len(votes)), "votes_passed": float(sum(v.passed for v in votes)),
           "violations": float(len(violations)), "probes": float(len(probes))}
    return {prefix + k: v for k, v in out.items()}


def live_metrics(smo) -> dict[str, float]:
    """``agiran.*`` at the end of a run, for the SMO agent's ``summary_metrics``."""
    ctx = smo.ctx
    t, cell, sl = ctx.kpi_history()
    if t.size == 0:
        return {}
    c, s = smo.cell, smo.s
    period = ctx.kpi_period_us / 1e6
    sla, tol = sla_steps(smo.sla_log, t, period)
    series = DemoSeries(t, period, sl["prb"][:, c, s], sl["throughput_mbps"][:, c, s],
                        sl["quota_pct"][:, c, s], ctx.n_prb, sla, tol, cell["power_w"][:, c],
                        cell["state"][:, c] == 0)
    out = metrics(series)
    try:
        med = ctx.peer(smo.mediator)
        out.update(game_metrics(med.games, med.votes_held, smo.violations, smo.probes))
    except KeyError:
        pass
    return out


def sla_changes_from_results(res, slice_name: str) -> list[tuple[float, float, float]]:
    """(t_s, sla, tol) of every applied ``set_intent`` on the slice (events and decisions)."""
    out = []
    for e in res.events.to_dict("records"):
        d = e.get("detail") or {}
        a = d.get("action") or {}
        if e.get("kind") == "action" and a.get("kind") == "set_intent" \
                and a.get("slice") == slice_name and d.get("verdict") != "rejected":
            out.append((float(e["t_s"]), float(a["target_mbps"]), float(a["tolerance_mbps"])))
    dec = res.decisions
    if len(dec):
        rows = dec[(dec.n_actions > 0) & dec.status.isin(["applied", "applied_late"])]
        rows = rows[rows.actions.str.contains("set_intent", regex=False)]
        for r in rows.itertuples():
            for a in json.loads(r.actions):
                if a.get("kind") == "set_intent" and a.get("slice") == slice_name:
                    out.append((float(r.t_apply_s), float(a["target_mbps"]),
                                float(a["tolerance_mbps"])))
    return sorted(set(out))


def series_from_results(res, slice_name: str, cell: int = 0) -> DemoSeries:
    """The :class:`DemoSeries` of a results file (:func:`simran.output.results.load_results`)."""
    sl = res.slice[(res.slice.slice_name == slice_name) & (res.slice.cell == cell)]
    ce = res.cell[res.cell.cell == cell]
    t = sl.t_s.to_numpy(float)
    period = float(res.scenario["output"]["kpi_period_ms"]) / 1e3
    sla, tol = sla_steps(sla_changes_from_results(res, slice_name), t, period)
    n_prb = int(res.summary["n_prb"])
    return DemoSeries(t, period, sl.prb.to_numpy(float), sl.throughput_mbps.to_numpy(float),
                      sl.quota_pct.to_numpy(float), n_prb, sla, tol, ce.power_w.to_numpy(float),
                      ce.state.to_numpy() == 0)


def compare_metrics(agentic: dict, static: dict, prefix: str = "agiran.") -> dict[str, float]:
    """The saving of the agentic run against its static twin [%]."""
    def saved(key):
        a, b = agentic[prefix + key], static[prefix + key]
        return float((1 - a / b) * 100) if b else math.nan
    return {prefix + "prb_saved_pct": saved("prb_s"),
            prefix + "energy_saved_pct": saved("energy_kwh")}
