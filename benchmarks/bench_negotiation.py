"""Benchmark the side-car optimizer 𝒪_in (not a test).

One solve = the un-jittered fixed point plus R = 100 jittered restarts and Eq. 8's interval
(papers/004 §3.3.1: "the whole batch completes in < 1 ms on a commodity CPU"). Target here:
≤ 0.2 ms per solve for n = 20 tenants. Prints min and median wall time over ``--repeat`` solves
with fresh random intents (the machine is shared: min is the machine's best, median the typical);
also the Eq. 7 iteration (``method="gradient"``) and Algorithm 1 as printed, for comparison.

A second part (``--game``) measures what a whole negotiation adds to a simran run: a
20-tenant game of exactly 5 rounds (ε = 0, so it never stops early; scripted personality rules,
fixed latencies) on a one-cell network (20 s at 100 ms ticks), run interleaved with the same
scenario without the negotiation agents; the difference of min and of median wall time is the
game's cost. Target: ≤ 20 ms.

Usage::

    python benchmarks/bench_negotiation.py [--tenants 20] [--restarts 100] [--repeat 5000]
    python benchmarks/bench_negotiation.py --game [--tenants 20] [--repeat 15]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agents.negotiation.objective import algorithm1_as_printed  # noqa: E402
from agents.negotiation.optimizer import SidecarOptimizer  # noqa: E402


def time_solves(opt: SidecarOptimizer, n: int, repeat: int, edges: bool = False, seed: int = 0):
    """Wall times [µs] of ``repeat`` solves, and the largest iteration count seen.

    ``edges`` piles half the intents at 0 or 100 Mbit/s so the clamp is active (more Newton steps).
    """
    rng = np.random.default_rng(seed)
    times, most = np.empty(repeat), 0
    for k in range(repeat):
        intents = rng.uniform(0.0, 100.0, n)
        if edges:
            intents[: n // 2] = rng.choice([0.0, 100.0], n // 2)
        t0 = time.perf_counter()
        res = opt.solve(intents, rng=rng)
        times[k] = (time.perf_counter() - t0) * 1e6
        most = max(most, res.iterations)
    return times, most


def game_scenario(n: int, with_game: bool) -> dict:
    """One cell, 20 s at 100 ms ticks; with_game adds a mediator and n scripted tenants."""
    rng = np.random.default_rng(3)
    pers = ("normal", "agreeable", "disagreeable")
    agents = []
    if with_game:
        names = [f"t{i}" for i in range(n)]
        agents = [{"name": "mno", "kind": "mediator", "loop": "non_rt", "latency": "fixed:500",
                   "backend": "scripted",
                   "params": {"tenants": names, "pressure": "soft", "epsilon_mbps": 1e-12,
                              "k_max": 5, "capacity": "observed"}}]
        agents += [{"name": t, "kind": "tenant", "loop": "non_rt", "latency": "fixed:1000",
                    "backend": "scripted",
                    "params": {"intent_mbps": float(round(rng.uniform(0, 100), 1)),
                               "personality": pers[i % 3], "slice": "shared"}}
                   for i, t in enumerate(names)]
    return {"name": "bench_negotiation",
            "simulation": {"duration_s": 20.0, "tick_ms": 100.0, "seed": 1},
            "network": {"layout": "hex", "rings": 0, "sectors": 1},
            "slices": [{"name": "shared", "quota_pct": 100}],
            "ue_groups": [{"name": "u", "count": 4, "slice": "shared"}],
            "output": {"kpi_period_ms": 1000.0, "ue_kpis": False}, "agents": agents}


def bench_game(n: int, repeat: int) -> None:
    import agents.negotiation.mediator  # noqa: F401
    import agents.negotiation.tenant  # noqa: F401
    import simran

    def once(with_game):
        sc = simran.Scenario.from_dict(game_scenario(n, with_game))
        t0 = time.perf_counter()
        sim = simran.Simulation(sc)
        sim.run()
        sim.summary()
        dt = time.perf_counter() - t0
        if with_game:
            g = next(a for a in sim.agents if a.name == "mno").game
            assert g.n_rounds == 5, g.n_rounds
        return dt
    once(True), once(False)                               # warm-up (imports, caches)
    w, wo = [], []
    for _ in range(repeat):
        w.append(once(True))
        wo.append(once(False))
    w, wo = np.array(w) * 1e3, np.array(wo) * 1e3
    print(f"run with a {n}-tenant 5-round game: min {w.min():7.1f} ms, median "
          f"{np.median(w):7.1f} ms")
    print(f"same run without the game:        min {wo.min():7.1f} ms, median "
          f"{np.median(wo):7.1f} ms")
    print(f"the game adds:                    min {w.min() - wo.min():7.1f} ms, median "
          f"{np.median(w) - np.median(wo):7.1f} ms   (target <= 20 ms; {repeat} interleaved "
          "pairs)")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tenants", type=int, default=20)
    ap.add_argument("--restarts", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=None)
    ap.add_argument("--game", action="store_true", help="time a whole game in a run instead")
    args = ap.parse_args(argv)
    if args.game:
        bench_game(args.tenants, args.repeat or 15)
        return
    args.repeat = args.repeat or 5000
    n, r = args.tenants, args.restarts
    print(f"n = {n} tenants, R = {r} restarts, numpy {np.__version__}")
    clamped = SidecarOptimizer(restarts=r, beta=20.0, target_mbps=100.0)
    rows = [("fixed_point (default)", SidecarOptimizer(restarts=r), args.repeat, False),
            ("fixed_point, clamp active", clamped, args.repeat, True),
            ("gradient (Eq. 7, lr 0.01)", SidecarOptimizer(restarts=r, method="gradient"),
             max(20, args.repeat // 50), False)]
    for label, opt, repeat, edges in rows:
        opt.solve(np.full(n, 50.0))                       # warm-up
        times, most = time_solves(opt, n, repeat, edges)
        print(f"{label:28s} min {times.min():8.1f} µs   median {np.median(times):8.1f} µs"
              f"   ({repeat} solves, <= {most} iterations)")
    t0 = time.perf_counter()
    run = algorithm1_as_printed(np.random.default_rng(1).uniform(0, 100, n), 50.0)
    print(f"{'Algorithm 1 as printed':28s} {1e3 * (time.perf_counter() - t0):8.1f} ms for one run "
          f"(pure Python, {run.iterations} iterations, returns {run.value})")


if __name__ == "__main__":
    main()
