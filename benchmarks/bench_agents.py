"""Benchmark: the cost of the agent framework (issue 5).

An ``rt`` agent acts every tick in every cell (30 cells × 3 slices of ``perf_300ue``): it reads the
tick's slice throughput and nudges every quota by a proportional step (a vectorised numeric rule,
so what is measured is the framework: observe → decide → latency → submit → guard-rails → apply →
log). Prints the wall time with and without the agent, the overhead (target ≤ 10 %), and the wall
time per rt decision (target ≤ 10 µs), measured as the decide-to-submit path per call.

    python benchmarks/bench_agents.py [--duration-s 20]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import simran
from simran.control import SetSliceQuotas
from simran.hooks import Agent, Decision, register_agent

ROOT = Path(__file__).resolve().parent.parent


@register_agent("bench_rt_all_cells")
class AllCellsRt(Agent):
    """Every tick, every (cell, slice): quota ← quota ± 1 % (within 5–33 %) towards a third of the
    cell throughput."""

    def decide(self, obs):
        thr = obs.tick_cell_slice_mbps                       # [C, S]
        share = thr / np.maximum(thr.sum(axis=1, keepdims=True), 1e-9)
        step = np.sign(1 / 3 - share)                        # [C, S]
        new = np.clip(obs.quota_pct + step, 5, 33)           # every (cell, slice) at once
        return Decision(actions=[SetSliceQuotas(quota_pct=new)])


def run(duration_s: float, with_agent: bool) -> tuple[float, simran.Simulation]:
    over = [f"simulation.duration_s={duration_s}", "output.ue_kpis=false"]
    scen = simran.load_scenario(ROOT / "scenarios" / "perf_300ue.toml", over)
    if with_agent:
        data = scen.to_dict()
        data["agents"] = [{"name": "rt", "kind": "bench_rt_all_cells", "loop": "rt",
                           "period_ms": 5, "latency": "fixed:0.005"}]
        scen = simran.Scenario.from_dict(data)
    sim = simran.Simulation(scen)
    t0 = time.perf_counter()
    sim.run()
    return time.perf_counter() - t0, sim


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration-s", type=float, default=20.0)
    args = ap.parse_args()
    base, _ = run(args.duration_s, False)
    agent, sim = run(args.duration_s, True)
    n = len(sim.decision_log.rows)
    n_actions = sum(r["n_actions"] for r in sim.decision_log.rows)
    a = sim.agents[0]
    obs = a.observe()
    k = 2000
    t0 = time.perf_counter()
    for _ in range(k):
        a.decide(obs)
    decide_us = (time.perf_counter() - t0) / k * 1e6
    print(f"perf_300ue, {args.duration_s:g} simulated s, 30 cells x 3 slices")
    print(f"  without agents : {base:7.2f} s wall ({args.duration_s / base:5.2f} sim-s/wall-s)")
    print(f"  rt agent/tick  : {agent:7.2f} s wall ({args.duration_s / agent:5.2f} sim-s/wall-s), "
          f"{n} decisions, {n_actions} actions")
    print(f"  overhead       : {100 * (agent / base - 1):6.1f} %  (target <= 10 %)")
    print(f"  per decision   : {(agent - base) / max(n, 1) * 1e6:7.1f} us wall all-in "
          f"(observe, decide, latency, submit, guard-rails on [30, 3], apply, log)")
    print(f"  per action     : {(agent - base) / max(n_actions, 1) * 1e6:7.2f} us wall")
    print(f"  decide() alone : {decide_us:7.1f} us")


if __name__ == "__main__":
    main()
