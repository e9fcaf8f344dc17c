"""KPI assertions of the benchmark tasks, evaluated on the results of a check run.

Each check is a function ``check(params, ctx) -> Outcome`` registered under its ``kind`` in
:data:`CHECKS`; ``params`` come from the task file, ``ctx`` carries the network view, the
execution (its results file loaded as DataFrames) and the base scenario. KPIs are means over the
whole check run (2 s of the base scenario unless overridden). The message of a failed check says
what was measured against what was asked; it is fed back to the model ("I have the following
error: …").

The Kp check (``kind = "kp_converges"``) is analytic; derivation (papers/004 Eq. 1–2,
radio-reference A.1): the slice's P-controller sets ``q_{k+1} = q_k + Kp·(T* − y_k)`` [% of PRBs]
every tick, and with a constant CQI the slice throughput is ``y = c·q`` with the plant gain
``c = N_PRB/100 · r_PRB(CQI)`` [Mbit/s per %] (TS 38.214 CQI → MCS → spectral efficiency,
TS 38.306 rate per PRB; computed here with :mod:`simran.radio.link`, the tables simran's MAC
uses). Hence ``y_{k+1} = y_k + Kp·c·(T* − y_k)`` and the error ``e_k = T* − y_k`` obeys
``e_k = (1 − Kp·c)^k · e_0``. The loop converges iff ``0 < Kp·c < 2`` and enters the band
``|e| ≤ tol`` within ``K`` iterations iff ``|1 − Kp·c|^K · |e_0| ≤ tol``, i.e.
``Kp ∈ [(1 − ρ)/c, (1 + ρ)/c]`` with ``ρ = (tol/|e_0|)^{1/K}``; ``Kp = 1/c`` is deadbeat.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from agents.bench.executor import Execution
from agents.bench.network import NetworkView, network_power_w, ue_mean_mbps

STATE_NAME = {0: "on", 1: "off", 2: "sleep"}


@dataclass
class Outcome:
    """Result of one check: ``ok`` and a message saying what was measured."""

    ok: bool
    message: str


@dataclass
class CheckContext:
    """What a check may read.

    Attributes
    ----------
    view : NetworkView
        The base network (names, baseline KPIs).
    execution : Execution
        The run with the model's commands applied.
    scenario : dict
        The resolved base scenario (``Scenario.to_dict()``).
    """

    view: NetworkView
    execution: Execution
    scenario: dict


def _last_cell(ctx: CheckContext, name: str):
    cell = ctx.execution.results.cell
    rows = cell[cell["cell"] == ctx.view.index(name)].sort_values("t_s")
    return rows.iloc[-1]


def _slice_mbps(ctx: CheckContext, name: str, slice_name: str) -> float:
    sl = ctx.execution.results.slice
    rows = sl[(sl["cell"] == ctx.view.index(name)) & (sl["slice_name"] == slice_name)]
    return float(rows["throughput_mbps"].mean())


def plant_gain_mbps_per_pct(network: dict, cqi: int) -> float:
    """Slice throughput per % of quota at a constant CQI, ``c = N_PRB/100 · r_PRB`` [Mbit/s/%].

    Parameters
    ----------
    network : dict
        The ``network`` section of a resolved scenario.
    cqi : int
        CQI index 1…15 (TS 38.214 Table 5.2.2.1-2 for ``table1``).

    Returns
    -------
    float
        Mbit/s per % of the cell's PRBs.
    """
    from simran.radio import link

    fr = "FR1" if network["carrier_ghz"] <= 7.125 else "FR2"
    n_prb = link.prb_count(network["bandwidth_mhz"], network["scs_khz"], fr)
    mcs = int(link.cqi_to_mcs_lut(network["cqi_table"], network["mcs_table"])[int(cqi)])
    if mcs < 0:
        return 0.0
    se = float(link.mcs_efficiency(mcs, network["mcs_table"]))
    rate = float(link.rate_per_prb_bps(se, network["scs_khz"], network["layers"],
                                       network["overhead"]))
    return n_prb / 100.0 * rate / 1e6


def kp_trajectory(kp: float, c: float, start_mbps: float, target_mbps: float,
                  iterations: int) -> list[float]:
    """Closed-form P-loop ``y_{k+1} = y_k + Kp·c·(T* − y_k)``: ``[y_0, …, y_K]`` [Mbit/s]."""
    ys = [float(start_mbps)]
    for _ in range(iterations):
        ys.append(ys[-1] + kp * c * (target_mbps - ys[-1]))
    return ys


def kp_window(c: float, start_mbps: float, target_mbps: float, tol_mbps: float,
              iterations: int) -> tuple[float, float]:
    """Gains that enter the band within ``iterations``: ``[(1 − ρ)/c, (1 + ρ)/c]``, ρ as above."""
    e0 = abs(target_mbps - start_mbps)
    rho = 1.0 if e0 <= tol_mbps else (tol_mbps / e0) ** (1.0 / iterations)
    return (1.0 - rho) / c, (1.0 + rho) / c


# ----------------------------------------------------------------------------- checks ----------
def cell_power(p: dict, ctx: CheckContext) -> Outcome:
    """Cell ``cell`` is on and transmits ``power_dbm`` ± ``tol_db`` (default 0.05 dB)."""
    row = _last_cell(ctx, p["cell"])
    got, state = float(row["tx_power_dbm"]), STATE_NAME[int(row["state"])]
    ok = state == "on" and abs(got - p["power_dbm"]) <= p.get("tol_db", 0.05)
    return Outcome(ok, f"cell {p['cell']} is {state} at {got:g} dBm (asked: on at "
                       f"{p['power_dbm']:g} dBm)")


def slice_quota(p: dict, ctx: CheckContext) -> Outcome:
    """Slice ``slice`` has ``quota_pct`` ± ``tol_pct`` (default 0.5) in every cell."""
    sl = ctx.execution.results.slice
    last = sl[sl["t_s"] == sl["t_s"].max()]
    rows = last[last["slice_name"] == p["slice"]].sort_values("cell")
    got = rows["quota_pct"].to_numpy()
    bad = [ctx.view.names[int(c)] for c, q in zip(rows["cell"], got)
           if abs(q - p["quota_pct"]) > p.get("tol_pct", 0.5)]
    return Outcome(not bad, f"slice {p['slice']} quota {np.min(got):g}-{np.max(got):g} % "
                            f"(asked {p['quota_pct']:g} % everywhere"
                            + (f"; wrong in {', '.join(bad)})" if bad else ")"))


def intent(p: dict, ctx: CheckContext) -> Outcome:
    """The last intent set on ``slice`` is ``target_mbps`` ± ``tolerance_mbps`` (± 1e-6)."""
    import json

    ev = ctx.execution.results.events
    got = None
    for kind, detail in zip(ev["kind"], ev["detail"]):
        d = json.loads(detail) if isinstance(detail, str) else detail
        applied = d.get("applied") or {}
        if kind == "action" and applied.get("slice") == p["slice"] and "target_mbps" in applied:
            got = (applied["target_mbps"], applied["tolerance_mbps"])
    want = (p["target_mbps"], p["tolerance_mbps"])
    ok = got is not None and all(abs(a - b) <= 1e-6 for a, b in zip(got, want))
    shown = "no intent" if got is None else f"{got[0]:g} ± {got[1]:g} Mbit/s"
    return Outcome(ok, f"slice {p['slice']} intent: {shown} (asked {want[0]:g} ± {want[1]:g})")


def least_loaded_off(p: dict, ctx: CheckContext) -> Outcome:
    """The least-loaded cell of ``site`` (fewest UEs in the baseline) is off; all others on."""
    target = ctx.view.least_loaded(p["site"])
    states = {n: STATE_NAME[int(_last_cell(ctx, n)["state"])] for n in ctx.view.names}
    others = [n for n, s in states.items() if n != target and s != "on"]
    ok = states[target] == "off" and not others
    msg = f"cell {target} is {states[target]}"
    if others:
        msg += f"; other cells not on: {', '.join(others)}"
    return Outcome(ok, msg + f" (asked: the least-loaded cell of site {p['site']} off)")


def slice_min_mbps(p: dict, ctx: CheckContext) -> Outcome:
    """Slice ``slice`` gets at least ``min_mbps`` in cell ``cell`` (run mean)."""
    got = _slice_mbps(ctx, p["cell"], p["slice"])
    return Outcome(got >= p["min_mbps"], f"slice {p['slice']} in {p['cell']}: {got:.1f} Mbit/s "
                                         f"(asked ≥ {p['min_mbps']:g})")


def slice_intents(p: dict, ctx: CheckContext) -> Outcome:
    """Every slice named in ``min_mbps`` (a table slice → Mbit/s) meets it in ``cell``."""
    got = {s: _slice_mbps(ctx, p["cell"], s) for s in p["min_mbps"]}
    ok = all(got[s] >= v for s, v in p["min_mbps"].items())
    parts = [f"{s} {got[s]:.1f} Mbit/s (asked ≥ {v:g})" for s, v in p["min_mbps"].items()]
    return Outcome(ok, f"in {p['cell']}: " + ", ".join(parts))


def sleep_keep_min(p: dict, ctx: CheckContext) -> Outcome:
    """At least ``n_sleep`` (default 1) cells sleep, none is off, every UE ≥ ``min_ue_mbps``."""
    states = [STATE_NAME[int(_last_cell(ctx, n)["state"])] for n in ctx.view.names]
    asleep = [n for n, s in zip(ctx.view.names, states) if s == "sleep"]
    off = [n for n, s in zip(ctx.view.names, states) if s == "off"]
    worst = float(ue_mean_mbps(ctx.execution.results).min())
    ok = len(asleep) >= p.get("n_sleep", 1) and not off and worst >= p["min_ue_mbps"]
    return Outcome(ok, f"asleep: {', '.join(asleep) or 'none'}; off: {', '.join(off) or 'none'};"
                       f" worst UE {worst:.2f} Mbit/s (asked ≥ {p['min_ue_mbps']:g})")


def power_cut(p: dict, ctx: CheckContext) -> Outcome:
    """Network power ≤ (1 − ``min_saving_pct``/100) × baseline and SINR p5 ≥ ``min_sinr_p5_db``."""
    res = ctx.execution.results
    power = network_power_w(res)
    saving = 100.0 * (1.0 - power / ctx.view.power_w)
    sinr = float(res.summary["sinr_db_p5"])
    ok = saving >= p["min_saving_pct"] and sinr >= p["min_sinr_p5_db"]
    return Outcome(ok, f"network power {power:.0f} W ({saving:.1f} % below {ctx.view.power_w:.0f}"
                       f" W; asked ≥ {p['min_saving_pct']:g} %), UE SINR p5 {sinr:.2f} dB "
                       f"(asked ≥ {p['min_sinr_p5_db']:g} dB)")


def kp_converges(p: dict, ctx: CheckContext) -> Outcome:
    """Kp of ``slice`` brings the closed-form loop into the band within ``max_iterations``."""
    kp = ctx.execution.kp.get(p["slice"])
    if kp is None:
        return Outcome(False, f"no set_kp command for slice {p['slice']}")
    c = plant_gain_mbps_per_pct(ctx.scenario["network"], p["cqi"])
    ys = kp_trajectory(kp, c, p["start_mbps"], p["target_mbps"], p["max_iterations"])
    inside = [abs(y - p["target_mbps"]) <= p["tol_mbps"] for y in ys]
    ok = abs(1.0 - kp * c) < 1.0 and any(inside[1:])
    path = " → ".join(f"{y:.1f}" for y in ys)
    return Outcome(ok, f"with Kp={kp:g} and c={c:.3f} Mbit/s per % at CQI {p['cqi']}, throughput"
                       f" {path} Mbit/s (asked within {p['target_mbps']:g} ± {p['tol_mbps']:g} "
                       f"in {p['max_iterations']} iterations"
                       + ("" if abs(1.0 - kp * c) < 1.0 else "; the loop is unstable") + ")")


CHECKS: dict[str, tuple[Callable[[dict, CheckContext], Outcome], tuple[str, ...]]] = {
    "cell_power": (cell_power, ("cell", "power_dbm")),
    "slice_quota": (slice_quota, ("slice", "quota_pct")),
    "intent": (intent, ("slice", "target_mbps", "tolerance_mbps")),
    "least_loaded_off": (least_loaded_off, ("site",)),
    "slice_min_mbps": (slice_min_mbps, ("cell", "slice", "min_mbps")),
    "slice_intents": (slice_intents, ("cell", "min_mbps")),
    "sleep_keep_min": (sleep_keep_min, ("min_ue_mbps",)),
    "power_cut": (power_cut, ("min_saving_pct", "min_sinr_p5_db")),
    "kp_converges": (kp_converges, ("slice", "cqi", "start_mbps", "target_mbps", "tol_mbps",
                                    "max_iterations")),
}
"""kind → (check function, required parameters)."""


def evaluate(kind: str, params: dict, ctx: CheckContext) -> Outcome:
    """Run one check; an execution that produced no results fails with its error."""
    if ctx.execution.results is None:
        return Outcome(False, ctx.execution.error or "no results")
    fn, _ = CHECKS[kind]
    return fn(params, ctx)
