"""Benchmark the Type I symbiotic agent (not a test).

1. **One route**: one synthetic vehicle route (60 s) with P-control every 5 ms tick and the
   scripted meta-tuner, per-tick KPIs — the simulated seconds per wall second ("× real time";
   target ≥ 500×, issue 18), next to the same route without agents (the kernel alone) and with
   P-control alone, so the agents' share is visible (as ratios of CPU time paired per round).
   The three are interleaved and repeated (``--repeat``, ≥ 5); min and median of wall and CPU
   time (the machine is shared: CPU time is far less sensitive to other load).
2. **Evaluation**: the routes × methods evaluation of ``agents.symbiotic.evaluate`` with the
   scripted/profiled backends (``--methods all``) — wall minutes, runs, and minutes per
   simulated route-hour. ``--routes 78`` is the full campaign (~11 min on 2 cores); the default
   runs 2 routes and extrapolates.

Usage::

    python benchmarks/bench_type1.py [--repeat 5] [--routes 2] [--workers 2] [--skip-eval]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from _timing import interleave, paired_ratio, speed_line, summary, timed  # noqa: E402

import agents.symbiotic  # noqa: E402,F401
from agents.symbiotic.evaluate import BASE, run_all, scenario_data, tasks  # noqa: E402
from agents.symbiotic.methods import expand_methods  # noqa: E402
from simran.scenario import Scenario, apply_overrides  # noqa: E402
from simran.simulation import Simulation  # noqa: E402

TRACES = REPO / "datasets" / "synthetic_78.h5"


def one_route(method: str, duration_s: float, agents: bool = True) -> tuple[float, float, None]:
    """(wall s, CPU s, None) of one route, the build excluded."""
    data = scenario_data(method, str(TRACES), "veh_01", duration_s, 270.0, 1)
    if not agents:
        data = apply_overrides(data, {"agents": []})
    sim = Simulation(Scenario.from_dict(data, base_dir=BASE.parent))
    return timed(sim.run)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="interleaved runs of each (≥ 5)")
    ap.add_argument("--duration-s", type=float, default=60.0)
    ap.add_argument("--routes", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--skip-eval", action="store_true")
    a = ap.parse_args()
    d = a.duration_s
    print(f"1. one route ({d:g} s simulated, 5 ms ticks = {d / 0.005:.0f} ticks, per-tick KPIs; "
          f"{a.repeat} interleaved runs of each; min / median; speed in × real time)")
    cases = {"kernel only (no agents)": ("pcontrol_tuned", False),
             "P-control": ("pcontrol_tuned", True),
             "P-control + scripted meta-tuner": ("symbiotic/scripted/profile:llama3.2:3b", True)}
    res = interleave({k: (lambda m=m, ag=ag: one_route(m, d, ag)) for k, (m, ag) in cases.items()},
                     a.repeat)
    for k, samples in res.items():
        s = summary(samples)
        print("   " + speed_line(k, samples, d, 32, "×") +
              f"; {s['cpu_min'] / (d / 0.005) * 1e6:.0f} µs CPU per tick")
    full = res["P-control + scripted meta-tuner"]
    for k in ("P-control", "P-control + scripted meta-tuner"):
        r, r_min = paired_ratio(res[k], res["kernel only (no agents)"], 1)
        print(f"   {k}: {r:.2f}× the kernel's CPU time (median of paired ratios; min "
              f"{r_min:.2f}×)")
    print(f"   target ≥ 500× real time (kernel + P-control + meta-tuner): "
          f"{d / summary(full)['wall_min']:.0f}× wall (min), "
          f"{d / summary(full)['cpu_min']:.0f}× CPU (min)")
    if a.skip_eval:
        return
    methods = expand_methods(["all"])
    routes = [f"veh_{i:02d}" for i in range(1, a.routes + 1)]
    print(f"2. evaluation: {len(methods)} methods × {len(routes)} routes × {d:g} s "
          f"({a.workers} worker(s))")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        rows = run_all(tasks(str(TRACES), methods, routes, d, "mid", 1), a.workers,
                       progress=False, checkpoint=Path(tmp) / "runs.jsonl")
    wall = time.perf_counter() - t0
    runs = len(rows)
    print(f"   {runs} runs in {wall / 60:.2f} min wall ({wall / runs:.1f} s per run); "
          f"78 routes would take ≈ {wall / len(routes) * 78 / 60:.0f} min")


if __name__ == "__main__":
    main()
