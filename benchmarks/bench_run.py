"""Performance of one simran run (not a test): speed, per-UE cost, memory, and linearity.

Fixed configurations (style §14, Mesa ``benchmarks/``):

* ``perf_300ue`` — ``scenarios/perf_300ue.toml`` as is: 10 tri-sectorised sites (30 cells),
  300 vehicles at 10 m/s, 3 PF slices, 60 s at a 5 ms tick;
* ``perf_30ue`` — the same with the UE groups scaled to 30 UEs;
* ``perf_1000ue`` — scaled to 1000 UEs, UE KPIs decimated to one record per 5 s.

Each variant runs in a **fresh subprocess** twice: once for timing and ``ru_maxrss`` (the peak
resident set of that process), once under ``tracemalloc`` (the peak of Python-tracked
allocations; tracing slows the run, so it is not timed). Reported figures:

* simulated seconds per wall second (kernel: build + run; end to end including the results
  file) and per CPU second of the process (less sensitive to other load on a shared machine);
* UE-steps per second = UEs × ticks / wall s;
* peak memory (tracemalloc peak, ru_maxrss, and ru_maxrss of an idle interpreter with the same
  imports, to show what the run itself adds).

Then a cost-vs-size line: wall time per tick against cells × UEs over a grid of layouts
(1, 7, 19 sites × 3 sectors) and UE counts, with a least-squares line a + b·(C·U) and its R²,
to show the cost is linear in cells × UEs (design §9).

Targets (issue 2): ≥ 5 sim-s / wall-s on perf_300ue; ≤ 300 MB peak for 1000 UEs.

Usage::

    python benchmarks/bench_run.py            # everything (~2–4 min on 2 cores)
    python benchmarks/bench_run.py --quick    # 10 s runs, smaller grid
    python benchmarks/bench_run.py --profile  # + cProfile top costs of perf_300ue
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PERF = REPO / "scenarios" / "perf_300ue.toml"
BASE_COUNTS = (150, 90, 60)        # UE groups of perf_300ue (embb, urllc, mmtc)

TARGET_SIM_PER_WALL = 5.0
TARGET_PEAK_MB_1000 = 300.0


def _counts(total: int) -> list[int]:
    """Scale perf_300ue's group sizes (150/90/60) to ``total`` UEs, keeping the proportions."""
    raw = [total * c / sum(BASE_COUNTS) for c in BASE_COUNTS]
    out = [int(x) for x in raw]
    out[0] += total - sum(out)
    return out


def variant_overrides(name: str, duration_s: float | None) -> list[str]:
    """``--set`` overrides of a named variant."""
    ov = []
    if name == "perf_30ue":
        ov += [f"ue_groups.{i}.count={n}" for i, n in enumerate(_counts(30))]
    elif name == "perf_1000ue":
        ov += [f"ue_groups.{i}.count={n}" for i, n in enumerate(_counts(1000))]
        ov += ["output.ue_kpi_period_ms=5000"]
    elif name != "perf_300ue":
        raise SystemExit(f"unknown variant {name}")
    if duration_s is not None:
        ov.append(f"simulation.duration_s={duration_s:g}")
    return ov


# ------------------------------------------------------------------------------ child --------
def _maxrss_mb() -> float:
    # Linux reports ru_maxrss in KiB (macOS in bytes)
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / 2**20


def child(name: str, duration_s: float | None, trace: bool, idle: bool) -> dict:
    """Run one variant in this (fresh) process and return its figures."""
    sys.path.insert(0, str(REPO))
    import tempfile
    import tracemalloc

    from simran.output import results
    from simran.scenario import load_scenario
    from simran.simulation import Simulation

    rss_imports = _maxrss_mb()
    if idle:
        return {"rss_idle_mb": rss_imports}
    if trace:
        tracemalloc.start()
    sc = load_scenario(PERF, variant_overrides(name, duration_s))
    c0 = time.process_time()
    t0 = time.perf_counter()
    sim = Simulation(sc)
    t1 = time.perf_counter()
    sim.run()
    t2 = time.perf_counter()
    cpu = time.process_time() - c0
    with tempfile.TemporaryDirectory() as d:
        summary = sim.summary()
        results.write_results(Path(d) / "results.h5", sim, summary, {})
        size_mb = (Path(d) / "results.h5").stat().st_size / 2**20
    t3 = time.perf_counter()
    out = {"variant": name, "cells": sim.C, "ues": sim.U,
           "ticks": sim.duration_us // sim.tick_us, "sim_s": sim.duration_us / 1e6,
           "build_s": t1 - t0, "run_s": t2 - t1, "write_s": t3 - t2, "cpu_s": cpu,
           "file_mb": size_mb, "rss_mb": _maxrss_mb(), "rss_imports_mb": rss_imports,
           "handovers": sim.handovers}
    if trace:
        out["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return out


def _spawn(args: list[str]) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    res = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True,
                         text=True, env=env, cwd=REPO)
    if res.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{res.stderr}")
    return json.loads(res.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------ parent -------
def bench_variants(duration_s: float | None) -> list[dict]:
    rows = []
    idle = _spawn(["idle", "--idle"])["rss_idle_mb"]
    dur = [] if duration_s is None else ["--duration", str(duration_s)]
    for name in ("perf_30ue", "perf_300ue", "perf_1000ue"):
        t = _spawn([name, *dur])
        m = _spawn([name, *dur, "--trace"])
        t["tracemalloc_peak_mb"] = m["tracemalloc_peak_mb"]
        t["rss_idle_mb"] = idle
        rows.append(t)
        _print_variant(t)
    return rows


def _print_variant(r: dict) -> None:
    kernel = r["build_s"] + r["run_s"]
    total = kernel + r["write_s"]
    print(f"{r['variant']:>12}: {r['cells']} cells × {r['ues']} UEs, {r['sim_s']:g} sim-s "
          f"({r['ticks']} ticks)\n"
          f"{'':>14}wall: build {r['build_s']:.2f} s + run {r['run_s']:.2f} s + write "
          f"{r['write_s']:.2f} s ({r['file_mb']:.1f} MB file)\n"
          f"{'':>14}speed: {r['sim_s'] / kernel:.2f} sim-s/wall-s (kernel), "
          f"{r['sim_s'] / total:.2f} end to end, {r['sim_s'] / r['cpu_s']:.2f} per CPU-s; "
          f"{r['ues'] * r['ticks'] / kernel:,.0f} UE-steps/s; "
          f"{kernel / r['ticks'] * 1e6:.0f} µs/tick\n"
          f"{'':>14}memory: tracemalloc peak {r['tracemalloc_peak_mb']:.1f} MB, ru_maxrss "
          f"{r['rss_mb']:.1f} MB (idle interpreter with the same imports: "
          f"{r['rss_idle_mb']:.1f} MB); {r['handovers']} handovers", flush=True)


def bench_linearity(quick: bool) -> list[dict]:
    """Wall time per tick vs cells × UEs (kernel only, in this process)."""
    sys.path.insert(0, str(REPO))
    from simran.scenario import load_scenario
    from simran.simulation import Simulation

    rows = []
    rings = (0, 1) if quick else (0, 1, 2)
    ues = (30, 300) if quick else (30, 100, 300, 1000)
    dur = 2.0 if quick else 4.0
    for ring in rings:
        for u in ues:
            ov = variant_overrides("perf_300ue", dur)
            ov += [f"ue_groups.{i}.count={n}" for i, n in enumerate(_counts(u))]
            ov += ["network.layout=hex", f"network.rings={ring}", "output.ue_kpi_period_ms=5000"]
            sim = Simulation(load_scenario(PERF, ov))
            c0, t0 = time.process_time(), time.perf_counter()
            sim.run()
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            ticks = sim.duration_us // sim.tick_us
            rows.append({"cells": sim.C, "ues": sim.U, "cu": sim.C * sim.U,
                         "us_per_tick": wall / ticks * 1e6, "cpu_us_per_tick": cpu / ticks * 1e6})
            print(f"  {sim.C:>3} cells × {sim.U:>4} UEs = {sim.C * sim.U:>6} cell-UE pairs: "
                  f"{wall / ticks * 1e6:7.0f} µs/tick wall, {cpu / ticks * 1e6:7.0f} µs/tick CPU",
                  flush=True)
    import numpy as np

    x = np.array([r["cu"] for r in rows], float)
    for key, what in (("us_per_tick", "wall"), ("cpu_us_per_tick", "CPU ")):
        y = np.array([r[key] for r in rows], float)
        b, a = np.polyfit(x, y, 1)
        r2 = 1 - ((y - (a + b * x)) ** 2).sum() / ((y - y.mean()) ** 2).sum()
        print(f"  least squares ({what}): µs/tick ≈ {a:.0f} + {b * 1000:.2f}·(C·U / 1000)   "
              f"R² = {r2:.3f}")
    # the scheduler, traffic and collectors are O(U), the channel and SINR O(C·U): two terms
    u = np.array([r["ues"] for r in rows], float)
    y = np.array([r["cpu_us_per_tick"] for r in rows], float)
    A = np.stack([np.ones_like(x), u, x], axis=1)
    coef = np.linalg.lstsq(A, y, rcond=None)[0]
    r2 = 1 - ((y - A @ coef) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    print(f"  least squares (CPU ): µs/tick ≈ {coef[0]:.0f} + {coef[1] * 1000:.1f}·(U / 1000) + "
          f"{coef[2] * 1000:.1f}·(C·U / 1000)   R² = {r2:.3f}")
    return rows


def profile_perf300(duration_s: float) -> None:
    """cProfile of the kernel on perf_300ue; prints the top cumulative and own-time costs."""
    import cProfile
    import pstats

    sys.path.insert(0, str(REPO))
    from simran.scenario import load_scenario
    from simran.simulation import Simulation

    sim = Simulation(load_scenario(PERF, variant_overrides("perf_300ue", duration_s)))
    prof = cProfile.Profile()
    prof.enable()
    sim.run()
    prof.disable()
    st = pstats.Stats(prof)
    st.sort_stats("tottime").print_stats(15)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="10 s runs and a smaller grid")
    p.add_argument("--profile", action="store_true", help="cProfile perf_300ue too")
    p.add_argument("--child", metavar="VARIANT", help=argparse.SUPPRESS)
    p.add_argument("--duration", type=float, help=argparse.SUPPRESS)
    p.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--idle", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        print(json.dumps(child(a.child, a.duration, a.trace, a.idle)))
        return 0
    duration = 10.0 if a.quick else None
    print(f"simran run benchmark — python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print("variants (fresh subprocess each):")
    rows = bench_variants(duration)
    print("cost vs size (kernel wall per tick):")
    bench_linearity(a.quick)
    perf = next(r for r in rows if r["variant"] == "perf_300ue")
    big = next(r for r in rows if r["variant"] == "perf_1000ue")
    speed = perf["sim_s"] / (perf["build_s"] + perf["run_s"])
    peak = max(big["rss_mb"], big["tracemalloc_peak_mb"])
    print("targets:")
    print(f"  perf_300ue ≥ {TARGET_SIM_PER_WALL:g} sim-s/wall-s: {speed:.2f} "
          f"{'OK' if speed >= TARGET_SIM_PER_WALL else 'MISSED'}")
    print(f"  1000 UEs ≤ {TARGET_PEAK_MB_1000:g} MB peak: {peak:.0f} MB "
          f"{'OK' if peak <= TARGET_PEAK_MB_1000 else 'MISSED'}")
    if a.profile or speed < TARGET_SIM_PER_WALL:
        print("profile of perf_300ue (10 s):")
        profile_perf300(10.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
