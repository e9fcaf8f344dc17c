"""Instructions per tick of the one-cell Type I route, counted by valgrind (not a test).

Wall time on a shared 2-core VM moves by ±15 % between hours; the number of instructions a run
executes does not. This script runs the route of ``bench_type1.py`` (veh_01 of the synthetic set,
5 ms ticks, per-tick KPIs) under ``valgrind --tool=callgrind`` for two durations and prints the
difference divided by the extra ticks — start-up, imports and the results' write cancel out — so
two trees can be compared to a fraction of a percent in one run::

    python benchmarks/bench_instructions.py                      # this tree
    python benchmarks/bench_instructions.py --baseline ../old    # and another checkout, A/B

Each count takes about a minute (valgrind runs Python ~50× slower); the two durations of a tree
run in parallel. Needs ``valgrind`` (Debian: ``apt install valgrind``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TICK_S = 0.005

ROUTE = r'''
import sys
from agents.symbiotic.evaluate import BASE, scenario_data
from simran.scenario import Scenario, apply_overrides
from simran.simulation import Simulation
which, dur = sys.argv[1], float(sys.argv[2])
data = scenario_data("symbiotic/scripted/profile:llama3.2:3b", "datasets/synthetic_78.h5",
                     "veh_01", dur, 270.0, 1)
if which == "kernel":
    data = apply_overrides(data, {"agents": []})
elif which == "pcontrol":
    data = apply_overrides(data, {"agents": [data["agents"][0]]})
Simulation(Scenario.from_dict(data, base_dir=BASE.parent)).run()
'''


def instructions(tree: Path, which: str, duration_s: float) -> int:
    """Instructions valgrind counts for one run of the route in ``tree``."""
    env = {**os.environ, "PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "1",
           "OMP_WAIT_POLICY": "PASSIVE", "PYTHONPATH": str(tree)}
    p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                        sys.executable, "-c", ROUTE, which, str(duration_s)],
                       cwd=tree, env=env, capture_output=True, text=True)
    m = re.search(r"refs:\s+([\d,]+)", p.stderr)
    if p.returncode != 0 or m is None:
        raise SystemExit(f"the route failed under valgrind in {tree}:\n{p.stderr[-2000:]}")
    return int(m.group(1).replace(",", ""))


def per_tick(tree: Path, which: str, short_s: float, long_s: float) -> float:
    with ThreadPoolExecutor(2) as ex:
        a, b = ex.map(lambda d: instructions(tree, which, d), (short_s, long_s))
    return (b - a) / ((long_s - short_s) / TICK_S)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", type=Path, help="another checkout to compare with")
    ap.add_argument("--which", choices=("full", "pcontrol", "kernel"), default="full",
                    help="kernel + P-control + meta-tuner (default), P-control, or kernel only")
    ap.add_argument("--short-s", type=float, default=20.0)
    ap.add_argument("--long-s", type=float, default=80.0)
    a = ap.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt install valgrind)")
    trees = {"this tree": REPO}
    if a.baseline is not None:
        trees["baseline"] = a.baseline.resolve()
    got = {}
    for name, tree in trees.items():
        got[name] = per_tick(tree, a.which, a.short_s, a.long_s)
        print(f"{name:>10}: {got[name]:,.0f} instructions per tick ({a.which}; {tree})")
    if "baseline" in got:
        print(f"this tree / baseline: {got['this tree'] / got['baseline']:.3f}×")


if __name__ == "__main__":
    main()
