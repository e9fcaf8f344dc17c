"""Benchmark: the cost of the agent framework (issue 5).

An ``rt`` agent acts every tick in every cell (30 cells × 3 slices of ``perf_300ue``): it reads the
tick's slice throughput and nudges every quota by a proportional step (a vectorised numeric rule,
so what is measured is the framework: observe → decide → latency → submit → guard-rails → apply →
log). Runs with and without the agent are interleaved and repeated (``--repeat``, ≥ 5): it prints
min and median of wall and CPU time, the overhead as the median of the paired ratios (agent run /
run without, in the same round of the same process; target ≤ 10 %), and the CPU time per rt
decision — so a loaded machine does not turn 5 % into 46 % (issue 18).

    python benchmarks/bench_agents.py [--duration-s 10] [--repeat 5]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import simran
from simran.control import SetSliceQuotas
from simran.hooks import Agent, Decision, register_agent

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import interleave, paired_ratio, speed_line, summary, timed  # noqa: E402


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


def run(duration_s: float, with_agent: bool) -> tuple[float, float, simran.Simulation]:
    """(wall s, CPU s, simulation) of one run, the build excluded."""
    over = [f"simulation.duration_s={duration_s}", "output.ue_kpis=false"]
    scen = simran.load_scenario(ROOT / "scenarios" / "perf_300ue.toml", over)
    if with_agent:
        data = scen.to_dict()
        data["agents"] = [{"name": "rt", "kind": "bench_rt_all_cells", "loop": "rt",
                           "period_ms": 5, "latency": "fixed:0.005"}]
        scen = simran.Scenario.from_dict(data)
    sim = simran.Simulation(scen)
    wall, cpu, _ = timed(sim.run)
    return wall, cpu, sim


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration-s", type=float, default=10.0)
    ap.add_argument("--repeat", type=int, default=5, help="interleaved runs of each (≥ 5)")
    args = ap.parse_args()
    d = args.duration_s
    last = {}
    res = interleave({"without agents": lambda: run(d, False),
                      "rt agent/tick": lambda: run(d, True)}, args.repeat,
                     keep=lambda k, sim: last.__setitem__(k, sim))
    base, agent = res["without agents"], res["rt agent/tick"]
    sim = last["rt agent/tick"]
    n = len(sim.decision_log.rows)
    n_actions = sum(r["n_actions"] for r in sim.decision_log.rows)
    a = sim.agents[0]
    obs = a.observe()
    k = 2000
    _, decide_cpu, _ = timed(lambda: [a.decide(obs) for _ in range(k)])
    decide_us = decide_cpu / k * 1e6
    print(f"perf_300ue, {d:g} simulated s, 30 cells x 3 slices; {args.repeat} interleaved runs "
          f"of each (min / median; CPU = this process's CPU time)")
    print("  " + speed_line("without agents", base, d, 16))
    print("  " + speed_line("rt agent/tick", agent, d, 16) + f"; {n} decisions, "
          f"{n_actions} actions")
    r_cpu, r_cpu_min = paired_ratio(agent, base, 1)
    r_wall, r_wall_min = paired_ratio(agent, base, 0)
    print(f"  overhead       : CPU {100 * (r_cpu - 1):6.1f} % (median of paired ratios; min "
          f"{100 * (r_cpu_min - 1):.1f} %), wall {100 * (r_wall - 1):6.1f} % (min "
          f"{100 * (r_wall_min - 1):.1f} %)  (target <= 10 %)")
    extra = (summary(agent)["cpu_min"] - summary(base)["cpu_min"])
    print(f"  per decision   : {extra / max(n, 1) * 1e6:7.1f} us CPU all-in (difference of the "
          f"minimum CPU times: observe, decide, latency, submit, guard-rails on [30, 3], apply, "
          f"log)")
    print(f"  per action     : {extra / max(n_actions, 1) * 1e6:7.2f} us CPU")
    print(f"  decide() alone : {decide_us:7.1f} us CPU")


if __name__ == "__main__":
    main()
