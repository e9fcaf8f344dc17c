"""Performance of one simran run (not a test): speed, per-UE cost, memory, and linearity.

Fixed configurations (style §14, Mesa ``benchmarks/``):

* ``perf_300ue`` — ``scenarios/perf_300ue.toml`` as is: 10 tri-sectorised sites (30 cells),
  300 vehicles at 10 m/s, 3 PF slices, 60 s at a 5 ms tick;
* ``perf_30ue`` — the same with the UE groups scaled to 30 UEs;
* ``perf_1000ue`` — scaled to 1000 UEs, UE KPIs decimated to one record per 5 s.

Noise (issue 18: the machine is shared): every variant runs ``--repeat`` times (≥ 5), each in a
**fresh subprocess**, the variants **interleaved** (and, with ``--baseline DIR``, each run of
this tree next to the same run of another checkout, e.g. a ``git worktree`` of the previous
commit). Reported: **min and median** of wall and of **CPU time** of the child process
(``time.process_time``; far less sensitive to other load than wall time), and for a baseline
the median of the paired ratios. One more child per variant runs under ``tracemalloc`` (peak of
Python-tracked allocations; tracing slows it, so it is not timed); ``ru_maxrss`` (peak resident
set) is the maximum over the timed children, next to that of an idle interpreter with the same
imports.

* simulated seconds per second (kernel: build + run; end to end including the results file),
  wall and CPU;
* UE-steps per second = UEs × ticks / kernel s;
* peak memory.

Then a cost-vs-size fit: kernel time per tick against cells × UEs over a grid of layouts
(1, 7, 19 sites × 3 sectors) and UE counts (min over ``--repeat`` interleaved runs of each
point, in this process), least squares a + b·(C·U) with R², and a + b·U + c·(C·U), to show the
cost is linear in cells × UEs (design §9).

Targets (issue 18): ≥ 20 sim-s/wall-s on perf_300ue; ≥ 8 at 1000 UEs; ≤ 300 MB peak at 1000 UEs.

Usage::

    python benchmarks/bench_run.py                 # everything (~5 min on 2 cores)
    python benchmarks/bench_run.py --quick         # 10 s runs, smaller grid
    python benchmarks/bench_run.py --baseline /work/h18_base   # A/B against another checkout
    python benchmarks/bench_run.py --profile       # + cProfile top costs of perf_300ue
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PERF = REPO / "scenarios" / "perf_300ue.toml"
BASE_COUNTS = (150, 90, 60)        # UE groups of perf_300ue (embb, urllc, mmtc)

TARGET_SIM_PER_WALL = 20.0
TARGET_SIM_PER_WALL_1000 = 8.0
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
    """Run one variant in this (fresh) process and return its figures (the simran imported is
    the first on ``PYTHONPATH``: this tree, or ``--baseline``'s)."""
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
    cpu = time.process_time() - c0          # build + run, like the kernel's wall time
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


def _spawn(args: list[str], code: Path = REPO) -> dict:
    env = {**os.environ, "PYTHONPATH": str(code) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    res = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True,
                         text=True, env=env, cwd=REPO)
    if res.returncode != 0:
        raise SystemExit(f"child {args} ({code}) failed:\n{res.stderr}")
    return json.loads(res.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------ parent -------
VARIANTS = ("perf_30ue", "perf_300ue", "perf_1000ue")


def bench_variants(duration_s: float | None, repeat: int, baseline: Path | None) -> dict:
    """{(code label, variant): [child figures, …]} over interleaved, rotated rounds."""
    codes = {"this tree": REPO} if baseline is None else {"this tree": REPO,
                                                         "baseline": baseline}
    dur = [] if duration_s is None else ["--duration", str(duration_s)]
    cases = [(c, v) for v in VARIANTS for c in codes]
    runs: dict[tuple, list[dict]] = {k: [] for k in cases}
    for r in range(repeat):
        for c, v in cases[r % len(cases):] + cases[:r % len(cases)]:
            runs[(c, v)].append(_spawn([v, *dur], codes[c]))
        print(f"  round {r + 1}/{repeat} done", flush=True)
    idle = _spawn(["idle", "--idle"])["rss_idle_mb"]
    for c, v in cases:
        traced = _spawn([v, *dur, "--trace"], codes[c])
        for t in runs[(c, v)]:
            t["tracemalloc_peak_mb"] = traced["tracemalloc_peak_mb"]
            t["rss_idle_mb"] = idle
    return runs


def _stats(xs: list[float]) -> tuple[float, float]:
    return min(xs), statistics.median(xs)


def _print_variant(code: str, rs: list[dict]) -> dict:
    """Print one variant's figures over its runs; return the summary used for the targets."""
    r = rs[0]
    kernel = [x["build_s"] + x["run_s"] for x in rs]
    total = [k + x["write_s"] for k, x in zip(kernel, rs)]
    cpu = [x["cpu_s"] for x in rs]
    sim_s, ticks = r["sim_s"], r["ticks"]
    (kmin, kmed), (tmin, tmed), (cmin, cmed) = _stats(kernel), _stats(total), _stats(cpu)
    rss = max(x["rss_mb"] for x in rs)
    print(f"{r['variant']:>12} [{code}]: {r['cells']} cells × {r['ues']} UEs, {sim_s:g} sim-s "
          f"({ticks} ticks), {len(rs)} runs (min / median)\n"
          f"{'':>14}speed: kernel {sim_s / kmin:.2f} / {sim_s / kmed:.2f} sim-s/wall-s, "
          f"{sim_s / cmin:.2f} / {sim_s / cmed:.2f} sim-s/CPU-s; end to end "
          f"{sim_s / tmin:.2f} / {sim_s / tmed:.2f} sim-s/wall-s\n"
          f"{'':>14}per tick: {kmin / ticks * 1e6:.0f} / {kmed / ticks * 1e6:.0f} µs wall, "
          f"{cmin / ticks * 1e6:.0f} / {cmed / ticks * 1e6:.0f} µs CPU; "
          f"{r['ues'] * ticks / kmin:,.0f} UE-steps/s (best); write "
          f"{min(x['write_s'] for x in rs):.2f} s ({r['file_mb']:.1f} MB file)\n"
          f"{'':>14}memory: tracemalloc peak {r['tracemalloc_peak_mb']:.1f} MB, ru_maxrss "
          f"{rss:.1f} MB (idle interpreter with the same imports: {r['rss_idle_mb']:.1f} MB); "
          f"{r['handovers']} handovers", flush=True)
    return {"wall_best": sim_s / kmin, "wall_med": sim_s / kmed, "cpu_best": sim_s / cmin,
            "cpu_med": sim_s / cmed, "peak_mb": max(rss, r["tracemalloc_peak_mb"]),
            "cpu": cpu, "kernel": kernel}


def bench_linearity(quick: bool, repeat: int) -> list[dict]:
    """Kernel time per tick vs cells × UEs (in this process; min over interleaved repeats)."""
    sys.path.insert(0, str(REPO))
    from simran.scenario import load_scenario
    from simran.simulation import Simulation

    rings = (0, 1) if quick else (0, 1, 2)
    ues = (30, 300) if quick else (30, 100, 300, 1000)
    dur = 2.0 if quick else 4.0
    points = [(ring, u) for ring in rings for u in ues]
    best: dict[tuple, list] = {p: [] for p in points}
    for r in range(repeat):
        for ring, u in points[r % len(points):] + points[:r % len(points)]:
            ov = variant_overrides("perf_300ue", dur)
            ov += [f"ue_groups.{i}.count={n}" for i, n in enumerate(_counts(u))]
            ov += ["network.layout=hex", f"network.rings={ring}", "output.ue_kpi_period_ms=5000"]
            sim = Simulation(load_scenario(PERF, ov))
            c0, t0 = time.process_time(), time.perf_counter()
            sim.run()
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            ticks = sim.duration_us // sim.tick_us
            best[(ring, u)].append((sim.C, sim.U, wall / ticks * 1e6, cpu / ticks * 1e6))
    rows = []
    for p in points:
        runs = best[p]
        C, U = runs[0][:2]
        w, c = _stats([x[2] for x in runs]), _stats([x[3] for x in runs])
        rows.append({"cells": C, "ues": U, "cu": C * U, "us_per_tick": w[0],
                     "cpu_us_per_tick": c[0]})
        print(f"  {C:>3} cells × {U:>4} UEs = {C * U:>6} cell-UE pairs: {w[0]:7.0f} / "
              f"{w[1]:7.0f} µs/tick wall, {c[0]:7.0f} / {c[1]:7.0f} µs/tick CPU (min / median "
              f"of {len(runs)})", flush=True)
    import numpy as np

    x = np.array([r["cu"] for r in rows], float)
    for key, what in (("us_per_tick", "wall"), ("cpu_us_per_tick", "CPU ")):
        y = np.array([r[key] for r in rows], float)
        b, a = np.polyfit(x, y, 1)
        r2 = 1 - ((y - (a + b * x)) ** 2).sum() / ((y - y.mean()) ** 2).sum()
        print(f"  least squares ({what}, min): µs/tick ≈ {a:.0f} + {b * 1000:.2f}·(C·U / 1000)"
              f"   R² = {r2:.3f}")
    # the scheduler, traffic and collectors are O(U), the channel and SINR O(C·U): two terms
    u = np.array([r["ues"] for r in rows], float)
    y = np.array([r["cpu_us_per_tick"] for r in rows], float)
    A = np.stack([np.ones_like(x), u, x], axis=1)
    coef = np.linalg.lstsq(A, y, rcond=None)[0]
    r2 = 1 - ((y - A @ coef) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    print(f"  least squares (CPU , min): µs/tick ≈ {coef[0]:.0f} + {coef[1] * 1000:.1f}·(U / 1000)"
          f" + {coef[2] * 1000:.1f}·(C·U / 1000)   R² = {r2:.3f}")
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
    p.add_argument("--repeat", type=int, default=5, help="runs of each variant (≥ 5)")
    p.add_argument("--baseline", type=Path, help="another checkout to compare with (A/B)")
    p.add_argument("--skip-fit", action="store_true", help="no cost-vs-size fit")
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
    print(f"simran run benchmark — python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"variants ({a.repeat} interleaved rounds, fresh subprocess each):")
    runs = bench_variants(duration, a.repeat, a.baseline)
    res = {k: _print_variant(k[0], rs) for k, rs in runs.items()}
    if a.baseline is not None:
        print("this tree / baseline (median of paired per-round ratios of kernel time):")
        for v in VARIANTS:
            mine, base = res[("this tree", v)], res[("baseline", v)]
            rc = statistics.median(b / m for m, b in zip(mine["cpu"], base["cpu"]))
            rw = statistics.median(b / m for m, b in zip(mine["kernel"], base["kernel"]))
            print(f"  {v:>12}: {rc:.2f}× faster in CPU time, {rw:.2f}× in wall time")
    if not a.skip_fit:
        print("cost vs size (kernel time per tick, this tree):")
        bench_linearity(a.quick, a.repeat)
    perf, big = res[("this tree", "perf_300ue")], res[("this tree", "perf_1000ue")]
    print("targets (best run; median in brackets; CPU time beside wall):")
    for label, r, target in (("perf_300ue", perf, TARGET_SIM_PER_WALL),
                             ("1000 UEs", big, TARGET_SIM_PER_WALL_1000)):
        print(f"  {label} ≥ {target:g} sim-s/wall-s: {r['wall_best']:.2f} ({r['wall_med']:.2f}) "
              f"{'OK' if r['wall_best'] >= target else 'MISSED'}; per CPU-s "
              f"{r['cpu_best']:.2f} ({r['cpu_med']:.2f})")
    print(f"  1000 UEs ≤ {TARGET_PEAK_MB_1000:g} MB peak: {big['peak_mb']:.0f} MB "
          f"{'OK' if big['peak_mb'] <= TARGET_PEAK_MB_1000 else 'MISSED'}")
    if a.profile:
        print("profile of perf_300ue (10 s):")
        profile_perf300(10.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
