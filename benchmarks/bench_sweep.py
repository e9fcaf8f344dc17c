"""Sweep throughput: 40 short quickstart runs on 1 and 2 local workers and a 2-worker Dask
LocalCluster (a benchmark, not a test).

    python benchmarks/bench_sweep.py [--runs-s 0.5] [--repeat 3] [--skip-dask]
    python benchmarks/bench_sweep.py --cluster [--runs-s 0.5] [--repeat 3]

For each executor it reports

* start-up: starting the executor and one no-op run per worker (interpreters + imports);
* wall: the 40 real runs through the started executor, with their results and status files;
* runs/s and the speed-up over 1 worker;
* overhead per run = (wall − Σ compute / workers) / runs, where compute is each run's own
  wall time measured inside the worker — everything the sweep layer adds (pickling, dispatch,
  status files, idle workers at the tail);
* busy: Σ compute / (workers × wall), how much of the time the workers spend simulating. Near
  100 % the sweep layer wastes nothing, and a speed-up below the worker count means the runs
  themselves got slower (CPUs shared with other work), not that the workers idled;
* dispatch per run: 40 no-op runs (status file only, no simulation) through the same executor;
* the machine's available parallelism: a pure-Python loop in 1 and in 2 processes at once (a
  control: the sweep layer cannot beat it).

The configurations are measured in turn, ``--repeat`` times, and the fastest repetition of each
is reported (the usual guard against other load on the machine; the load average is printed).

``--cluster`` (issue 19) measures instead, in interleaved rotations: the local pool with 1 and 2
workers against a real ``dask scheduler`` with 1 and 2 ``dask worker`` processes (own folders,
results shipped back to the client and written there): wall (min, median), the 1 → 2 speed-up,
Σ in-run wall, the CPU time of the client and of the worker processes (the machine may be shared:
CPU time does not count other people's load) and the dispatch per run (no-op runs carrying a
real results file's bytes back).

Targets (issue 4): ≥ 1.8× from 1 → 2 workers; Dask within 10 % of the local pool; overhead
< 50 ms per run. On a 2-core machine shared with other work, the figures move with the load.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simran.campaigns.executors import DaskExecutor, LocalPoolExecutor  # noqa: E402
from simran.campaigns.runs import _record, run_one, write_json_atomic  # noqa: E402
from simran.campaigns.sweep import load_sweep  # noqa: E402

SWEEP = """
base = "{base}"
[set]
"simulation.duration_s" = {runs_s}
"slices.1.quota_pct" = 30
"events" = []
"agents" = []
"output.ue_kpis" = false
[sweep]
grid = {{ "slices.0.quota_pct" = [40, 50, 60, 70], "ue_groups.0.count" = [7, 21] }}
replications = 5
root_seed = 1
"""


def noop_run(spec, runs_dir):
    """Everything run_one does except the simulation: a status record written atomically."""
    rec = _record(spec, status="done", wall_s=0.0, code_version=None)
    write_json_atomic(Path(runs_dir) / f"{spec.run_id}.json", rec)
    return rec


def _burn(n: int) -> float:
    t = time.perf_counter()
    x = 0
    for i in range(n):
        x += i
    return time.perf_counter() - t


def available_parallelism(workers: int = 2, n: int = 10_000_000) -> float:
    """Speed-up of ``workers`` CPU-bound processes over one on this machine, right now."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        pool.map(_burn, [1000] * workers)  # start the processes
        t = time.perf_counter()
        pool.apply(_burn, (n,))
        one = time.perf_counter() - t
        t = time.perf_counter()
        pool.map(_burn, [n] * workers, chunksize=1)
        return workers * one / (time.perf_counter() - t)


def measure(name, executor, specs, tmp: Path) -> dict:
    tmp.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    with executor as ex:
        warm = tmp / f"{name}-warm"
        warm.mkdir()
        list(ex.run(functools.partial(noop_run, runs_dir=str(warm)), specs[:ex.workers]))
        startup = time.perf_counter() - t0

        runs = tmp / f"{name}-runs"
        runs.mkdir()
        t1 = time.perf_counter()
        recs = [r for _, r in ex.run(functools.partial(run_one, runs_dir=str(runs)), specs)]
        wall = time.perf_counter() - t1

        noop = tmp / f"{name}-noop"
        noop.mkdir()
        t2 = time.perf_counter()
        list(ex.run(functools.partial(noop_run, runs_dir=str(noop)), specs))
        dispatch = (time.perf_counter() - t2) / len(specs)
        workers = ex.workers
    bad = [r for r in recs if not isinstance(r, dict) or r["status"] != "done"]
    if bad:
        raise SystemExit(f"{name}: {len(bad)} runs failed: {bad[0]}")
    compute = sum(r["wall_s"] for r in recs)
    return {"name": name, "workers": workers, "startup": startup, "wall": wall,
            "compute": compute, "overhead": (wall - compute / workers) / len(specs),
            "dispatch": dispatch, "runs": len(specs)}


# --------------------------------------------------------------------------------------------
# --cluster (issue 19): a real scheduler and workers in their own processes and folders, results
# shipped back to the client, against the local pool


class _Cluster:
    """``dask scheduler`` + ``n`` ``dask worker`` processes (1 thread each), own folders."""

    def __init__(self, tmp: Path, n: int):
        import json
        import subprocess

        dask = Path(sys.executable).with_name("dask")
        tmp.mkdir(parents=True)
        self.procs = []
        sched_file = tmp / "scheduler.json"
        env = {**os.environ, "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False"}

        def start(cmd, cwd, **extra):
            cwd.mkdir(parents=True, exist_ok=True)
            self.procs.append(subprocess.Popen(cmd, cwd=cwd, env={**env, **extra},
                                               stdout=subprocess.DEVNULL,
                                               stderr=subprocess.DEVNULL,
                                               start_new_session=True))

        start([str(dask), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
               "--scheduler-file", str(sched_file)], tmp / "scheduler")
        while not sched_file.is_file() or not sched_file.read_text().strip():
            time.sleep(0.1)
        self.address = json.loads(sched_file.read_text())["address"]
        for i in range(n):
            w = tmp / f"worker{i}"
            (w / "tmp").mkdir(parents=True)
            start([str(dask), "worker", self.address, "--nthreads", "1", "--no-dashboard",
                   "--local-directory", str(w / "dask")], w, TMPDIR=str(w / "tmp"))
        from distributed import Client

        with Client(self.address, timeout=30) as c:
            c.wait_for_workers(n, timeout=120)

    def close(self) -> None:
        import signal

        for p in self.procs:
            os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            p.wait(30)


def _worker_pids(ex) -> list[int]:
    if isinstance(ex, DaskExecutor):
        return list(ex._client.run(os.getpid).values())
    return list(ex._pool._processes)  # the local pool's worker processes


def _cpu_s(pids: list[int]) -> float:
    import psutil

    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def noop_shipped(spec, bundle, payload: bytes = b""):
    """Everything a shipped run does except the simulation: a record and a results-sized
    payload with its SHA-256, back to the client (which stores both, see ``store_shipped``)."""
    import hashlib

    rec = _record(spec, status="done", wall_s=0.0, code_version=None)
    return {"shipped": 1, "record": rec, "results": payload,
            "sha256": hashlib.sha256(payload).hexdigest(), "url": None}


def measure_campaign(name: str, make, specs, tmp: Path, payload: bytes) -> dict:
    """Through one started executor: a warm-up (one no-op run per worker), ``len(specs)`` no-op
    runs (dispatch per run), then the real runs — stored as ``simran sweep`` stores them
    (Dask: shipped back and written by the client; local pool: written by the workers)."""
    from simran.campaigns.campaign import _shipped, _store
    from simran.campaigns.transfer import input_bundle

    shipped = name.startswith("cluster")
    bundles = {s.run_id: input_bundle(s.scenario) for s in specs} if shipped else {}

    def run(ex, fn, todo, runs: Path) -> list[dict]:
        runs.mkdir(parents=True)
        if shipped:
            it = ex.run(fn, todo, inputs=lambda s: bundles[s.run_id])
        else:
            it = ex.run(functools.partial(fn, runs_dir=str(runs)), todo)
        return [_store(runs, spec, out) if shipped else out for spec, out in it]

    noop = functools.partial(noop_shipped, payload=payload) if shipped else noop_run
    with make() as ex:
        run(ex, noop, specs[:ex.workers], tmp / f"{name}-warm" / "runs")
        pids = _worker_pids(ex)
        c0, t0 = time.process_time(), time.perf_counter()
        run(ex, noop, specs, tmp / f"{name}-noop" / "runs")
        dispatch = (time.perf_counter() - t0) / len(specs)
        dispatch_cpu = (time.process_time() - c0) / len(specs)

        out = tmp / f"{name}-runs"
        w0, c0, t0 = _cpu_s(pids), time.process_time(), time.perf_counter()
        if shipped:
            (out / "runs").mkdir(parents=True)
            recs = [_store(out / "runs", spec, o) for spec, o in _shipped(ex, specs)]
        else:
            recs = run(ex, run_one, specs, out / "runs")
        wall = time.perf_counter() - t0
        client_cpu, worker_cpu = time.process_time() - c0, _cpu_s(pids) - w0
    bad = [r for r in recs if not isinstance(r, dict) or r.get("status") != "done"]
    if bad:
        raise SystemExit(f"{name}: {len(bad)} runs failed: {bad[0]}")
    return {"name": name, "wall": wall, "compute": sum(r["wall_s"] for r in recs),
            "client_cpu": client_cpu, "worker_cpu": worker_cpu, "dispatch": dispatch,
            "dispatch_cpu": dispatch_cpu, "runs": len(specs)}


def main_cluster(args) -> None:
    import statistics

    from simran.campaigns.transfer import input_bundle, run_shipped

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        sweep_file = tmp / "bench.toml"
        sweep_file.write_text(SWEEP.format(base=ROOT / "scenarios" / "quickstart.toml",
                                           runs_s=args.runs_s))
        specs = load_sweep(sweep_file).plan()
        payload = run_shipped(specs[0], input_bundle(specs[0].scenario))["results"]
        clusters = {n: _Cluster(tmp / f"cluster{n}", n) for n in (1, 2)}
        try:
            configs = [("local-1", lambda: LocalPoolExecutor(1)),
                       ("local-2", lambda: LocalPoolExecutor(2)),
                       ("cluster-1", lambda: DaskExecutor(clusters[1].address)),
                       ("cluster-2", lambda: DaskExecutor(clusters[2].address))]
            results: dict[str, list[dict]] = {name: [] for name, _ in configs}
            control = []
            for rep in range(args.repeat):
                control.append(available_parallelism())
                k = rep % len(configs)  # rotated order: no configuration always goes first
                for name, make in configs[k:] + configs[:k]:
                    r = measure_campaign(name, make, specs, tmp / f"r{rep}", payload)
                    results[name].append(r)
                    print(f"  rep {rep} {name:<10} wall {r['wall']:6.2f} s  dispatch "
                          f"{1e3 * r['dispatch']:6.1f} ms/run", flush=True)
        finally:
            for c in clusters.values():
                c.close()
    n = results["local-1"][0]["runs"]
    print(f"\n{n} quickstart runs of {args.runs_s:g} simulated s, {args.repeat} interleaved "
          f"rotations, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} (the machine "
          "is shared: CPU time is given beside wall time)")
    print(f"{'executor':<11}{'wall min':>9}{'wall med':>9}{'speed-up':>9}{'Σ run s':>9}"
          f"{'client CPU s':>13}{'worker CPU s':>13}{'dispatch ms/run':>16}"
          f"{'(client CPU ms)':>16}{'CPUs used':>10}  results file {len(payload) / 1e3:.0f} kB")
    med = {k: statistics.median(r["wall"] for r in v) for k, v in results.items()}
    for name, rs in results.items():
        best = min(rs, key=lambda r: r["wall"])
        base = "local-1" if name.startswith("local") else "cluster-1"
        print(f"{name:<11}{best['wall']:>9.2f}{med[name]:>9.2f}"
              f"{min(r['wall'] for r in results[base]) / best['wall']:>8.2f}×"
              f"{best['compute']:>9.1f}{statistics.median(r['client_cpu'] for r in rs):>13.2f}"
              f"{statistics.median(r['worker_cpu'] for r in rs):>13.2f}"
              f"{1e3 * min(r['dispatch'] for r in rs):>16.1f}"
              f"{1e3 * statistics.median(r['dispatch_cpu'] for r in rs):>16.1f}"
              f"{statistics.median(r['worker_cpu'] / r['wall'] for r in rs):>10.2f}")
    print(f"control: 2 CPU-bound processes ran {min(control):.2f}–{max(control):.2f}× as fast as "
          "1 during the rotations (the ceiling of any 2-worker speed-up now); CPUs used = "
          "worker CPU s / wall s")
    ratio = [c["wall"] / lo["wall"] for c, lo in zip(results["cluster-2"], results["local-2"])]
    print(f"cluster-2 / local-2 wall, paired per rotation: median {statistics.median(ratio):.3f}"
          f" (min {min(ratio):.3f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs-s", type=float, default=0.5, help="simulated seconds per run")
    ap.add_argument("--repeat", type=int, default=3, help="repetitions; the fastest counts")
    ap.add_argument("--skip-dask", action="store_true")
    ap.add_argument("--cluster", action="store_true",
                    help="issue 19: a real dask scheduler and 1 / 2 dask worker processes in "
                    "their own folders (results shipped back) against the local pool, "
                    "interleaved")
    args = ap.parse_args()
    if args.cluster:
        main_cluster(args)
        return
    configs = [("local-1", lambda: LocalPoolExecutor(1)), ("local-2", lambda: LocalPoolExecutor(2))]
    if not args.skip_dask:
        configs.append(("dask-local-2", lambda: DaskExecutor("local:2")))
    best: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        sweep_file = tmp / "bench.toml"
        sweep_file.write_text(SWEEP.format(base=ROOT / "scenarios" / "quickstart.toml",
                                           runs_s=args.runs_s))
        specs = load_sweep(sweep_file).plan()
        control = 0.0
        for rep in range(args.repeat):
            control = max(control, available_parallelism())
            for name, make in configs:
                r = measure(f"{name}", make(), specs, tmp / f"{rep}")
                if name not in best or r["wall"] < best[name]["wall"]:
                    best[name] = r
    report(list(best.values()), args.runs_s)
    print(f"control: 2 CPU-bound processes run {control:.2f}× as fast as 1 on this machine now "
          "(the ceiling of any 2-worker speed-up)")


def report(results: list[dict], runs_s: float) -> None:
    print(f"{results[0]['runs']} quickstart runs of {runs_s:g} simulated s, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    print(f"{'executor':<14}{'start-up s':>11}{'wall s':>9}{'runs/s':>9}{'speed-up':>10}"
          f"{'compute s':>11}{'busy':>7}{'overhead ms/run':>17}{'dispatch ms/run':>17}")
    base = results[0]["wall"]
    for r in results:
        print(f"{r['name']:<14}{r['startup']:>11.2f}{r['wall']:>9.2f}"
              f"{r['runs'] / r['wall']:>9.2f}{base / r['wall']:>9.2f}×{r['compute']:>11.2f}"
              f"{r['compute'] / (r['workers'] * r['wall']):>7.0%}"
              f"{1e3 * r['overhead']:>17.1f}{1e3 * r['dispatch']:>17.1f}")
    by = {r["name"]: r for r in results}
    print(f"speed-up 1 → 2 workers: {base / by['local-2']['wall']:.2f}× (target ≥ 1.8×)")
    if "dask-local-2" in by:
        ratio = by["dask-local-2"]["wall"] / by["local-2"]["wall"]
        print(f"Dask / local pool (2 workers): {ratio:.3f} (target ≤ 1.10)")
    worst = max(r["overhead"] for r in results)
    print(f"largest overhead: {1e3 * worst:.1f} ms/run (target < 50 ms)")


if __name__ == "__main__":  # spawn workers re-import this file: keep the guard
    main()
