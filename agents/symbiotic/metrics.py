"""Table 4's metrics for one Type I run, from a live simulation or a results file.

Definitions (papers/004 §5.1.3 names the columns, not their formulas; these are ours)

``rmse_mbps``
    RMSE to the intent: sqrt(mean_k (T_k − T*_k)²) over every scheduler tick k (5 ms) that has
    an intent, T_k the slice's throughput of tick k, T*_k the intent's target (the centre of the
    band). The initial transient from the scenario's initial quota is included — the same for
    every method.
``rmse_band_mbps``
    The same with the distance to the band: max(|T_k − T*_k| − tol, 0).
``in_band_pct``
    Share of ticks inside the band [%].
``infeasible_pct``
    Share of ticks at which the band is out of reach: the vehicle's CQI cannot carry the band's
    lower edge even with every PRB of the cell (capacity = N_PRB · r_PRB(CQI), e.g. CQI ≤ 3
    gives ≤ 11.5 Mbit/s < 15). No controller can be in the band then; those ticks count in the
    RMSE but never as (part of) an enforcement.
``iterations_mean``
    Mean over enforcements (see :mod:`agents.symbiotic.pcontrol`: an enforcement runs from the
    first out-of-band tick k0 to the first tick k1 back in the band; ticks at which the band is
    out of reach close it uncounted) of the number of the
    acting agent's decisions observed in [k0, k1) — for P-control and Q-learning one per tick
    (= k1 − k0), for a standalone LLM or BO one per completed call or probe. An enforcement still
    open at the end of the run counts with its length so far (a lower bound; ``unconverged``).
``iterations_steady``
    The same without the run's first 3 enforcements (one cluster: the initial transient from
    the scenario's quota and, for the symbiotic agent, the untuned gain's warm-up before the
    tuner's first update) — the steady-state figure, for every method alike.
``convergence_ms_mean``
    Mean enforcement duration (k1 − k0) · tick [ms].
``latency_ms_mean``
    Mean latency charged for the decisions of the slow agent: the meta-tuner's LLM calls in a
    symbiotic run, the standalone LLM's or BO's decisions, else the controller's own.
``on_time`` / ``late`` / ``dropped``
    Those decisions within / beyond the loop budget, and the late ones discarded
    (``late = "drop"``).
``out_of_band_s_per_min``
    Time outside the band per minute of intent [s/min]: 60 × the share of ticks with an intent
    at which the band was reachable (capacity ≥ lower edge) and the throughput was outside it.
    A controller that chatters at the band's edge spends that time outside the band, however
    short each excursion is, so this cannot be improved by leaving the band more often for
    shorter spells (the iteration count can: it is a mean over excursions).
``enforcements_per_min``
    Enforcements per minute of intent.
``merged_per_min``, ``merged_iterations_mean``
    Enforcements merged within a hold-off of ``HOLD_OFF_S`` (1 s): an enforcement that starts
    less than the hold-off after the previous one ended continues it. The merged episode's
    iterations are the actor's decisions from its first tick to its last — so 50 one-tick
    excursions in a second are one episode of ≥ 50 iterations, not 50 of one.
``llm_invocations``, ``rejected``, ``fallbacks``
    Backend calls (including the scripted rule behind the same interface), replies rejected by
    validation, and calls answered by the fallback backend.
``episodes``, ``episode_iterations_mean``, ``episode_unconverged``
    The intent-episode protocol's iterations (:func:`episode_metrics`): decisions from each
    intent change to the first tick in the band.
``llm_skipped``
    Meta-tuner calls skipped because their outcome was fixed (``skip_fixed``, Kp at the
    range's edge and the rule pushing further).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np

from agents.symbiotic.plant import EnforcementTracker, rate_per_prb_mbps

ACTOR_KINDS = ("pcontrol", "bo_quota", "qlearning_quota", "llm_quota")
"""Agent kinds that set the slice's quota themselves."""
WARMUP = 3
"""Enforcements left out of ``iterations_steady`` (one cluster of the meta-tuner)."""
HOLD_OFF_S = 1.0
"""Enforcements closer than this [s] are merged into one (``merged_*`` metrics)."""
UNGAMEABLE = ("out_of_band_s_per_min", "enforcements_per_min", "merged_per_min",
              "merged_iterations_mean")
"""Metrics that do not reward chattering (issue 20, module docstring)."""
EVAL_ONLY = (*UNGAMEABLE, "llm_skipped", "episodes", "episode_iterations_mean",
             "episode_unconverged")
"""Metrics added in issue 20; left out of the run summary (:func:`live_metrics`) so the
results files of shipped scenarios stay as they were — the evaluation tables carry them."""


@dataclass
class RunSeries:
    """Per-tick series of one run and the decisions that matter for Table 4.

    Attributes
    ----------
    tick_ms : float
    t_s : ndarray [K]
        Start of every tick [s].
    thr_mbps, quota_pct, target_mbps, tol_mbps : ndarray [K]
        Slice throughput, quota and intent band of every tick.
    capacity_mbps : ndarray [K] or None
        Throughput the slice's vehicle would get with every PRB of the cell (None: unknown).
    actor, slow : list of dict
        Decision-log rows of the agent that sets the quota and of the slow agent (the
        meta-tuner, the standalone LLM or BO; else the actor).
    kp : list of (t_s, kp, source)
        Gain history of the P-controller (empty without one).
    """

    tick_ms: float
    t_s: np.ndarray
    thr_mbps: np.ndarray
    quota_pct: np.ndarray
    target_mbps: np.ndarray
    tol_mbps: np.ndarray
    capacity_mbps: np.ndarray | None = None
    actor: list = field(default_factory=list)
    slow: list = field(default_factory=list)
    kp: list = field(default_factory=list)
    enforcements: list = field(default_factory=list)


def intent_per_tick(intent_events, n_ticks: int, tick_us: int) -> tuple[np.ndarray, np.ndarray]:
    """Target and tolerance of every tick from applied ``set_intent`` actions (t_us, target, tol).

    An intent applied at boundary t holds from tick t/tick on (actions apply before the tick).
    """
    target = np.full(n_ticks, np.nan)
    tol = np.zeros(n_ticks)
    for t_us, tgt, tl in sorted(intent_events, key=lambda e: e[0]):
        k = int(-(-int(t_us) // tick_us))
        target[k:], tol[k:] = tgt, tl
    return target, tol


def _intents_from_events(events) -> list[tuple[int, float, float]]:
    out = []
    for e in events:
        if e["kind"] != "action":
            continue
        d = e["detail"]
        if isinstance(d, str):
            d = json.loads(d)
        a = d.get("action", {})
        if a.get("kind") == "set_intent" and d.get("verdict") != "rejected":
            out.append((int(e["t_us"]), float(a["target_mbps"]), float(a["tolerance_mbps"])))
    return out


def _pick_agents(kinds: dict[str, str]) -> tuple[str | None, str | None]:
    """(actor, slow agent) names from {agent name: kind}."""
    actor = next((a for a, k in kinds.items() if k in ACTOR_KINDS), None)
    tuner = next((a for a, k in kinds.items() if k == "kp_meta_tuner"), None)
    return actor, (tuner if tuner is not None else actor)


def capacity_per_tick(view, s: int, n_ticks: int) -> np.ndarray | None:
    """N_PRB · r_PRB(CQI_k) of the slice's only trace UE at every tick (None otherwise).

    ``view``: an agent's :class:`simran.hooks.AgentContext` (or :class:`ScenarioView`).
    """
    ues = np.flatnonzero(np.asarray(view.ue_slice) == s)
    if ues.size != 1:
        return None
    t_us = np.arange(n_ticks, dtype=np.int64) * view.tick_us
    cqi = view.trace_cqi(int(ues[0]), t_us)
    if cqi is None:
        return None
    return view.n_prb * rate_per_prb_mbps(view)[np.maximum(cqi, 0)]


def series_from_ctx(ctx, slice_name: str | None = None, cell: int = 0) -> RunSeries:
    """Build the :class:`RunSeries` of a run from an agent's context (at the end of the run)."""
    if ctx.kpi_period_us != ctx.tick_us:
        raise ValueError("Type I metrics need per-tick KPIs: set output.kpi_period_ms = "
                         "simulation.tick_ms")
    t_end, _, sl = ctx.kpi_history()
    s = ctx.slice_index(slice_name) if slice_name else 0
    K = t_end.size
    target, tol = intent_per_tick(_intents_from_events(ctx.action_history()), K, ctx.tick_us)
    rows = ctx.decisions("*")
    kinds = ctx.peers()
    actor, slow = _pick_agents(kinds)
    ctrl = next((n for n, k in kinds.items() if k == "pcontrol"), None)
    return RunSeries(
        tick_ms=ctx.tick_us / 1e3, t_s=t_end - ctx.tick_s,
        thr_mbps=sl["throughput_mbps"][:, cell, s].astype(float),
        quota_pct=sl["quota_pct"][:, cell, s].astype(float), target_mbps=target, tol_mbps=tol,
        capacity_mbps=capacity_per_tick(ctx, s, K), actor=[r for r in rows if r["agent"] == actor],
        slow=[r for r in rows if r["agent"] == slow],
        kp=list(ctx.peer(ctrl).kp_history) if ctrl is not None else [])


def series_from_sim(sim, slice_name: str | None = None, cell: int = 0) -> RunSeries:
    """Build the :class:`RunSeries` of a finished :class:`simran.Simulation` (through the
    context of its first agent: the metrics read only what an agent may read)."""
    if not sim.agents:
        raise ValueError("Type I metrics need a run with agents (decision rows)")
    return series_from_ctx(sim.agents[0].ctx, slice_name, cell)


class ScenarioView:
    """What :func:`capacity_per_tick` reads, for a scenario without a run: the link tables
    (:func:`simran.radio.link.link_table`), the UEs' slices and the trace UEs' CQI (a results
    file does not store the traces) — no simulation is built."""

    def __init__(self, scenario):
        from simran.radio.network import RadioNetwork
        from simran.rng import Streams
        from simran.ue.population import build_population
        from simran.units import ms_to_us

        self.tick_us = ms_to_us(scenario.simulation.tick_ms)
        radio = RadioNetwork(scenario.network, [s.quota_pct for s in scenario.slices],
                             self.tick_us / 1e6)
        pop = build_population(scenario, radio.topo, radio.area,
                               Streams(scenario.simulation.seed).stream("mobility"), self.tick_us)
        self.n_prb, self.rate_per_prb_mbps = radio.link.n_prb, radio.link.rate_per_prb_mbps
        self.ue_slice, self._tu = pop.slice, pop.trace_ues

    def trace_cqi(self, ue: int, t_us: np.ndarray) -> np.ndarray | None:
        tu = self._tu
        if tu is None or ue not in tu.index:
            return None
        j = int(np.flatnonzero(tu.index == ue)[0])
        mode, end, offset = tu.spec[j]
        return tu.traces[j].cqi_at(t_us, mode=mode, end=end, offset_s=offset)


def series_from_results(results, slice_name: str | None = None, cell: int = 0,
                        base_dir=".") -> RunSeries:
    """Build the :class:`RunSeries` of a results file (:func:`simran.load_results`).

    ``base_dir``: folder the run's relative trace path resolves against (the scenario's folder;
    results files do not store it). The capacity comes from rebuilding the network.
    """
    from simran.scenario import Scenario

    sc = results.scenario
    tick_ms = float(sc["simulation"]["tick_ms"])
    if float(sc["output"]["kpi_period_ms"]) != tick_ms:
        raise ValueError(f"{results.path}: Type I metrics need kpi_period_ms = tick_ms")
    name = slice_name or sc["slices"][0]["name"]
    sl = results.slice
    sl = sl[(sl["slice_name"] == name) & (sl["cell"] == cell)].sort_values("t_s")
    K = len(sl)
    ev = results.events.copy()
    ev["t_us"] = np.rint(ev["t_s"] * 1e6).astype(np.int64)
    target, tol = intent_per_tick(_intents_from_events(ev.to_dict("records")), K,
                                  int(round(tick_ms * 1e3)))
    rows = results.decisions.to_dict("records") if results.decisions is not None else []
    for r in rows:
        r["on_time"] = bool(r["on_time"])
    kinds = {a["name"]: a["kind"] for a in sc.get("agents", [])}
    kinds.update({r["agent"]: r["kind"] for r in rows})     # registered names of module:Class
    actor, slow = _pick_agents(kinds)
    kp = _kp_from_rows(sc, rows)
    net = ScenarioView(Scenario.from_dict({**sc, "agents": []}, base_dir=base_dir))
    s_idx = [x["name"] for x in sc["slices"]].index(name)
    return RunSeries(
        tick_ms=tick_ms, t_s=sl["t_s"].to_numpy(float) - tick_ms / 1e3,
        thr_mbps=sl["throughput_mbps"].to_numpy(float), quota_pct=sl["quota_pct"].to_numpy(float),
        target_mbps=target, tol_mbps=tol, capacity_mbps=capacity_per_tick(net, s_idx, K),
        actor=[r for r in rows if r["agent"] == actor],
        slow=[r for r in rows if r["agent"] == slow], kp=kp)


def _kp_from_rows(sc: dict, rows: list[dict]) -> list:
    ctrl = next((a for a in sc.get("agents", []) if a["kind"] == "pcontrol"), None)
    if ctrl is None:
        return []
    kp = [(0.0, float(ctrl["params"].get("kp", 0.75)), "initial")]
    for r in rows:
        if r["kind"] == "kp_meta_tuner" and str(r["status"]).startswith("applied"):
            parsed = r["parsed"]
            parsed = json.loads(parsed) if isinstance(parsed, str) and parsed else parsed
            if isinstance(parsed, dict) and "Kp" in parsed:
                kp.append((float(r["t_apply_s"]), float(parsed["Kp"]), r["agent"]))
    return kp


def enforcements(series: RunSeries) -> list[tuple[int, int, bool]]:
    """(k0, k1, converged) of every enforcement over the run (no cap, no gain restarts)."""
    tr = EnforcementTracker(None)
    out = []
    cap = series.capacity_mbps
    lo = series.target_mbps - series.tol_mbps
    excused = cap < lo if cap is not None else np.zeros(lo.size, bool)
    for k in np.flatnonzero(np.isfinite(series.target_mbps)):
        done = tr.step(int(k), series.thr_mbps[k], series.target_mbps[k], series.tol_mbps[k],
                       bool(excused[k]))
        if done is not None:
            out.append((done.k_start, done.k_end, True))
    if tr.k0 is not None:
        out.append((tr.k0, series.t_s.size, False))
    return out


def metrics(series: RunSeries) -> dict[str, float]:
    """Table 4's columns for one run (definitions in the module docstring)."""
    ok = np.isfinite(series.target_mbps)
    err = series.thr_mbps[ok] - series.target_mbps[ok]
    out_of_band = np.maximum(np.abs(err) - series.tol_mbps[ok], 0.0)
    eps = enforcements(series)
    series.enforcements = eps
    tick_s = series.tick_ms / 1e3
    obs_k = np.sort(np.rint(np.array([r["t_obs_s"] for r in series.actor], float)
                            / tick_s).astype(np.int64))
    iters = [int(np.searchsorted(obs_k, k1) - np.searchsorted(obs_k, k0)) for k0, k1, _ in eps]
    slow = series.slow                      # the tuner: only its LLM calls cost latency
    if slow and slow[0]["kind"] == "kp_meta_tuner":
        slow = [r for r in slow if r.get("prompt_hash")]
    lat = np.array([float(r["latency_ms"]) for r in slow], float)
    calls = [r for r in series.slow if r["kind"] in ("kp_meta_tuner", "llm_quota")
             and r.get("prompt_hash")]
    kps = [k for _, k, _ in series.kp]
    minutes = float(ok.sum()) * tick_s / 60.0
    feasible = (series.capacity_mbps[ok] >= (series.target_mbps - series.tol_mbps)[ok]
                if series.capacity_mbps is not None else np.ones(err.size, bool))
    merged = merge_enforcements(eps, round(HOLD_OFF_S / tick_s))
    m_iters = [int(np.searchsorted(obs_k, k1) - np.searchsorted(obs_k, k0)) for k0, k1 in merged]
    per_min = (lambda n: n / minutes) if minutes > 0 else (lambda n: math.nan)
    return {
        "rmse_mbps": _rms(err), "rmse_band_mbps": _rms(out_of_band),
        "in_band_pct": 100.0 * float(np.mean(out_of_band == 0)) if err.size else math.nan,
        "infeasible_pct": (100.0 * float(np.mean(series.capacity_mbps[ok] < (
            series.target_mbps - series.tol_mbps)[ok])) if series.capacity_mbps is not None
            and err.size else math.nan),
        "mean_thr_mbps": float(np.mean(series.thr_mbps[ok])) if err.size else math.nan,
        "enforcements": float(len(eps)),
        "unconverged": float(sum(not c for *_, c in eps)),
        "iterations_mean": float(np.mean(iters)) if iters else math.nan,
        "iterations_steady": float(np.mean(iters[WARMUP:])) if len(iters) > WARMUP else math.nan,
        "convergence_ms_mean": (float(np.mean([k1 - k0 for k0, k1, _ in eps])) * series.tick_ms
                                if eps else math.nan),
        "latency_ms_mean": float(lat.mean()) if lat.size else math.nan,
        "decisions": float(len(slow)),
        "on_time": float(sum(bool(r["on_time"]) for r in slow)),
        "late": float(sum(not bool(r["on_time"]) for r in slow)),
        "dropped": float(sum(r["status"] == "dropped_late" for r in slow)),
        "llm_invocations": float(len(calls)),
        "llm_skipped": float(sum(str(r.get("note", "")).startswith("fixed outcome")
                                 for r in series.slow)),
        "rejected": float(sum(str(r["validation"]) != "ok" for r in calls)),
        "fallbacks": float(sum(bool(r["fallback_reason"]) for r in calls)),
        "kp_changes": float(max(len(kps) - 1, 0)),
        "kp_final": float(kps[-1]) if kps else math.nan,
        "out_of_band_s_per_min": (60.0 * float(np.mean((out_of_band > 0) & feasible))
                                  if err.size else math.nan),
        "enforcements_per_min": per_min(len(eps)),
        "merged_per_min": per_min(len(merged)),
        "merged_iterations_mean": float(np.mean(m_iters)) if m_iters else math.nan,
        **episode_metrics(series, obs_k),
    }


def episode_metrics(series: RunSeries, obs_k: np.ndarray | None = None) -> dict[str, float]:
    """Iterations per intent episode (papers/004 Fig. 3, Listing 4: "Episode i with PRB = …,
    Intent Throughput = …, P-Control converged in n steps").

    An episode starts at every tick whose intent (target or tolerance) differs from the previous
    tick's, and lasts to the next such tick. Its iterations are the actor's decisions from its
    first tick to the first tick inside the band (0 when the restart lands in the band); an
    episode that never reaches the band counts all its decisions and as unconverged; an episode
    whose band is out of reach at its start (capacity < lower edge) is left out.
    """
    tgt, tol, thr = series.target_mbps, series.tol_mbps, series.thr_mbps
    if obs_k is None:
        tick_s = series.tick_ms / 1e3
        obs_k = np.sort(np.rint(np.array([r["t_obs_s"] for r in series.actor], float)
                                / tick_s).astype(np.int64))
    ok = np.isfinite(tgt)
    change = ok.copy()
    change[1:] &= ~((tgt[1:] == tgt[:-1]) & (tol[1:] == tol[:-1]))
    starts = np.flatnonzero(change)
    ends = np.append(starts[1:], tgt.size)
    inside = np.abs(thr - tgt) <= tol
    cap = series.capacity_mbps
    iters, unconv = [], 0
    for e0, e1 in zip(starts, ends):
        if cap is not None and cap[e0] < tgt[e0] - tol[e0]:
            continue
        hit = np.flatnonzero(inside[e0:e1])
        k_in = e0 + int(hit[0]) if hit.size else e1
        unconv += not hit.size
        iters.append(int(np.searchsorted(obs_k, k_in) - np.searchsorted(obs_k, e0)))
    return {"episodes": float(len(iters)),
            "episode_iterations_mean": float(np.mean(iters)) if iters else math.nan,
            "episode_unconverged": float(unconv)}


def merge_enforcements(eps, hold_off_ticks: int) -> list[tuple[int, int]]:
    """Merge enforcements (k0, k1, …) that start fewer than ``hold_off_ticks`` after the
    previous one ended; returns (first k0, last k1) of each merged episode, in order."""
    out: list[list[int]] = []
    for k0, k1, *_ in eps:
        if out and k0 - out[-1][1] < hold_off_ticks:
            out[-1][1] = max(out[-1][1], k1)
        else:
            out.append([k0, k1])
    return [(a, b) for a, b in out]


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) if x.size else math.nan


def live_metrics(ctx, controller=None, prefix: str = "type1.") -> dict[str, float]:
    """:func:`metrics` of a finished run, from an agent's context, with names prefixed for the
    run summary.

    Empty when KPIs are not recorded every tick (iterations need per-tick throughput).
    """
    if ctx.kpi_period_us != ctx.tick_us:
        return {}
    name = getattr(controller, "slice", None)
    cell = getattr(controller, "cell", 0)
    return {prefix + k: v for k, v in metrics(series_from_ctx(ctx, name, cell)).items()
            if k not in EVAL_ONLY}
