"""Reproduce papers/004 Table 4 (and Fig. 3, 12, 13, 14a) over the routes of a trace set.

One command::

    python -m agents.symbiotic.evaluate --traces datasets/synthetic_78.h5 --methods all \\
        --out results/type1 [--routes 78] [--duration-s 60] [--window mid] [--workers 2]

runs every method (:mod:`agents.symbiotic.methods`) on every route (one vehicle trace each) of
the trace set, for a fixed duration per route, computes Table 4's columns per
run (:mod:`agents.symbiotic.metrics`), and writes ``runs.csv`` (one row per method × route),
``table.csv`` / ``table.md`` (mean over routes next to the paper's figures) and the figures.
Finished runs are appended to ``runs.jsonl`` as they complete; re-running the same command
resumes (runs already there are not run again). Runs go route by route, all methods each.
``--window mid`` replays the middle ``duration`` seconds of each trace (where the synthetic
routes cross their coverage hole), ``start`` the first ones. Route i of the trace set runs with
seed ``--seed`` + i for every method (the same route and seed for all methods; independent
latency draws across routes).

The same campaign as a sweep file (``simran sweep``)::

    python -m agents.symbiotic.evaluate --traces datasets/synthetic_78.h5 --methods all \\
        --write-sweep scenarios/sweeps/type1_methods_routes.toml
    simran sweep scenarios/sweeps/type1_methods_routes.toml --out runs/type1 --workers 2
    python -m agents.symbiotic.evaluate --campaign runs/type1 --out results/type1

The sweep file pairs each route with its seed (``[[sweep.zip]]`` groups), so its runs are the
evaluate command's runs. The last command computes the table from the campaign's results files.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd

from agents.symbiotic.protocol import EPISODE_TARGETS_MBPS, episode_events  # noqa: F401
from agents.symbiotic.tables import markdown, table  # noqa: F401  (re-exported)

REPO = Path(__file__).resolve().parent.parent.parent
BASE = REPO / "scenarios" / "symbiotic_type1.toml"
BOX_DECIMATE = 10           # Fig. 13 keeps every 10th tick (50 ms) of every route


# ------------------------------------------------------------------------------ scenarios ------
def route_ids(traces: str | Path, routes: int | None = None, ids: list[str] | None = None
              ) -> list[str]:
    """The trace ids to evaluate: ``ids``, else the first ``routes`` (all when None)."""
    from simran.traces.trace_set import load_trace_set

    ts = load_trace_set(traces)
    if ids:
        missing = [i for i in ids if i not in ts]
        if missing:
            raise SystemExit(f"{traces}: unknown trace id(s) {missing}")
        return list(ids)
    return ts.ids[:routes] if routes else list(ts.ids)


def window_offset_s(traces, trace_id: str, duration_s: float, window: str) -> float:
    """Start offset into a trace: 0 (``start``) or centred (``mid``), in whole seconds."""
    if window == "start":
        return 0.0
    from simran.traces.trace_set import load_trace_set

    dur = load_trace_set(traces).get(trace_id).duration_s
    return float(max(0.0, math.floor((dur - duration_s) / 2)))


def scenario_data(method: str, trace_file: str, trace_id: str, duration_s: float,
                  offset_s: float, seed: int, base: Path = BASE, ue_kpis: bool = False,
                  protocol: str = "excursions", episode_s: float = 1.0, bler: bool = False,
                  skip_fixed: bool = False) -> dict:
    """The raw scenario document of one run (base scenario + method + route).

    ``protocol = "episodes"`` replaces the scenario's single intent by :func:`episode_events`;
    ``bler`` turns on block errors, HARQ and OLLA (``[network.link]``, defaults);
    ``skip_fixed`` sets the meta-tuner's option of that name.
    """
    from agents.symbiotic.methods import method_agents
    from simran.scenario import apply_overrides, read_toml

    data = read_toml(base)
    # relative to the base scenario's folder, as a sweep file writes it: the same method on the
    # same route is the same resolved scenario (and run id) from `evaluate` and from `simran sweep`
    trace = {"file": os.path.relpath(Path(trace_file).resolve(), base.resolve().parent),
             "ids": [trace_id], "offset_s": offset_s, "end": "loop", "sampling": "hold",
             "cell": 0}
    agents = method_agents(method)
    if skip_fixed:
        for a in agents:
            if a["kind"] == "kp_meta_tuner":
                a["params"]["skip_fixed"] = True
    over = {"name": method, "simulation.duration_s": duration_s, "simulation.seed": seed,
            "ue_groups.0.trace": trace, "agents": agents, "output.ue_kpis": ue_kpis}
    if protocol == "episodes":
        over["events"] = episode_events(duration_s, episode_s, seed)
    elif protocol != "excursions":
        raise ValueError(f"unknown protocol {protocol!r}: excursions or episodes")
    if bler:
        over["network.link"] = {"bler": True}
    return apply_overrides(data, over)


def run_task(task: dict) -> dict:
    """Run one method on one route; return its metrics (and series to plot when asked)."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import agents.symbiotic  # noqa: F401  (registers the agent kinds in a spawned worker)
    from agents.symbiotic.metrics import metrics, series_from_sim
    from simran.scenario import Scenario
    from simran.simulation import Simulation

    data = scenario_data(task["method"], task["traces"], task["route"], task["duration_s"],
                         task["offset_s"], task["seed"], ue_kpis=task.get("keep_series", False),
                         **{k: task[k] for k in VARIANT if k in task})
    sc = Scenario.from_dict(data, source=task["method"], base_dir=BASE.parent)
    sim = Simulation(sc)
    t0 = time.perf_counter()
    sim.run()
    wall = time.perf_counter() - t0
    series = series_from_sim(sim, "vehicle")
    row = {"method": task["method"], "route": task["route"], "wall_s": wall,
           "backend": "; ".join(a.backend_description() for a in sim.agents),
           **metrics(series)}
    row["box"] = series.thr_mbps[::BOX_DECIMATE].astype(np.float32)
    if task.get("keep_series"):
        row["series"] = {"t_s": series.t_s, "thr": series.thr_mbps, "quota": series.quota_pct,
                         "target": series.target_mbps, "tol": series.tol_mbps, "kp": series.kp,
                         "enf": series.enforcements, "cqi": _cqi_series(sim)}
    return row


def _cqi_series(sim) -> tuple[np.ndarray, np.ndarray]:
    t, _, _, ut, ue = sim.collector.trimmed()
    return (ut, ue["cqi"][:, 0]) if sim.collector.ue_on else (np.zeros(0), np.zeros(0))


def _watch_parent(parent: int) -> None:
    """Worker initializer: exit when the evaluation process is gone (no orphaned workers)."""
    import threading

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)
    threading.Thread(target=watch, daemon=True).start()


def route_seed(traces, route: str, seed: int) -> int:
    """Seed of a route: ``seed`` + the route's index in the trace set (the same for every method;
    different routes draw different latencies and exploration)."""
    from simran.traces.trace_set import load_trace_set

    return int(seed) + load_trace_set(traces).ids.index(route)


VARIANT = ("protocol", "episode_s", "bler", "skip_fixed")
"""Task keys of the issue-20 variants (absent = today's protocol, no block errors)."""
_VARIANT_DEFAULTS = {"protocol": "excursions", "episode_s": 1.0, "bler": False,
                     "skip_fixed": False}


def tasks(traces, methods, routes, duration_s, window, seed, plot_route=None,
          **variant) -> list[dict]:
    """One task per method × route (same seed and window for every method on a route);
    ``variant``: ``protocol``, ``episode_s``, ``bler``, ``skip_fixed`` (only non-defaults are
    kept, so the keys of today's runs do not change)."""
    offsets = {r: window_offset_s(traces, r, duration_s, window) for r in routes}
    seeds = {r: route_seed(traces, r, seed) for r in routes}
    var = {k: v for k, v in variant.items() if v != _VARIANT_DEFAULTS[k]}
    return [{"method": m, "traces": str(traces), "route": r, "duration_s": duration_s,
             "offset_s": offsets[r], "seed": seeds[r], "keep_series": r == plot_route, **var}
            for r in routes for m in methods]            # route-major: any prefix is usable


def _key(t: dict) -> str:
    base = [t["method"], t["route"], t["duration_s"], t["offset_s"], t["seed"]]
    var = {k: t[k] for k in VARIANT if k in t}
    return json.dumps(base + [var] if var else base)


def _to_json(row: dict) -> str:
    def conv(v):
        if isinstance(v, np.ndarray):
            return np.round(v.astype(float), 4).tolist()
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [conv(x) for x in v]
        return v.item() if isinstance(v, np.generic) else v
    return json.dumps(conv(row), allow_nan=True)


def _from_json(line: str) -> dict:
    row = json.loads(line)
    row["box"] = np.asarray(row["box"], np.float32)
    if "series" in row:
        row["series"] = {k: (v if k in ("kp", "enf", "cqi") else np.asarray(v, float))
                         for k, v in row["series"].items()}
        row["series"]["cqi"] = tuple(np.asarray(x, float) for x in row["series"]["cqi"])
    return row


def run_all(task_list: list[dict], workers: int = 1, progress: bool = True,
            checkpoint: str | Path | None = None) -> list[dict]:
    """Run the tasks (serially or in a spawn process pool); rows in task order.

    With ``checkpoint`` (a JSON-lines file) every finished run is appended as it completes and
    runs already in the file are not run again (resume after an interruption).
    """
    done: dict[str, dict] = {}
    if checkpoint is not None and Path(checkpoint).exists():
        for line in Path(checkpoint).read_text().splitlines():
            if line.strip():
                row = _from_json(line)
                done[row["key"]] = row
    todo = [t for t in task_list if _key(t) not in done]
    sink = open(checkpoint, "a", encoding="utf-8") if checkpoint is not None else None

    def finished(i, t, row):
        row["key"] = _key(t)
        done[row["key"]] = row
        if sink is not None:
            sink.write(_to_json(row) + "\n")
            sink.flush()
        if progress:
            print(f"  [{i + 1}/{len(todo)}] {t['method']} {t['route']} "
                  f"({row['wall_s']:.1f} s)", file=sys.stderr)
    try:
        if workers <= 1:
            for i, t in enumerate(todo):
                finished(i, t, run_task(t))
        else:
            with ProcessPoolExecutor(workers, mp_context=get_context("spawn"),
                                     initializer=_watch_parent, initargs=(os.getpid(),)) as ex:
                futures = [ex.submit(run_task, t) for t in todo]
                for i, (t, f) in enumerate(zip(todo, futures)):
                    finished(i, t, f.result())
    finally:
        if sink is not None:
            sink.close()
    return [done[_key(t)] for t in task_list]


# ------------------------------------------------------------------------------ the table ------
# ------------------------------------------------------------------------------ sweep file -----
def write_sweep(path: str | Path, traces: str | Path, methods: list[str], routes: list[str],
                duration_s: float, window: str, seed: int) -> Path:
    """Write the sweep file of the campaign: zip(route, seed) × zip(method name, agents).

    Route ``r`` runs with seed :func:`route_seed` ``(traces, r, seed)`` for every method, as in
    the evaluate command, so a sweep run resolves to the scenario :func:`scenario_data` builds
    for the same method and route (up to how the trace file's path is spelt: relative to the
    base scenario here, absolute there). Runs are route-major, as :func:`tasks`.
    """
    from agents.symbiotic.methods import PRESETS, method_agents
    from simran.traces.trace_set import load_trace_set

    path = Path(path)
    rel = os.path.relpath(Path(traces).resolve(), BASE.parent)    # the base scenario's folder
    base_rel = os.path.relpath(BASE, path.resolve().parent)
    offsets = sorted({window_offset_s(traces, r, duration_s, window) for r in routes})
    if len(offsets) > 1:
        raise SystemExit("--write-sweep needs one offset for all routes: use --window start "
                         "or traces of equal length")
    seeds = [route_seed(traces, r, seed) for r in routes]

    # the command line that writes this file (header): presets and route selection as options
    preset = next((k for k, v in PRESETS.items() if v == list(methods)), None)
    all_ids = list(load_trace_set(traces).ids)
    routes_opt = ("" if list(routes) == all_ids else f" --routes {len(routes)}"
                  if list(routes) == all_ids[:len(routes)] else " --ids " + " ".join(routes))

    def toml(v):
        return json.dumps(v) if not isinstance(v, dict) else \
            "{ " + ", ".join(f"{k} = {toml(x)}" for k, x in v.items()) + " }"
    agents = ",\n  ".join("[" + ", ".join(toml(a) for a in method_agents(m)) + "]"
                          for m in methods)
    seed_lines = ",\n  ".join(", ".join(map(str, seeds[i:i + 16]))
                              for i in range(0, len(seeds), 16))
    options = (f"--methods {preset or ' '.join(methods)}{routes_opt} --duration-s {duration_s:g} "
               f"--window {window} --seed {seed}")
    text = f"""# Type I methods × vehicle routes (papers/004 Table 4, Fig. 13): every method on
# every route of {Path(traces).name}, {duration_s:g} s per route; route i runs with seed {seed} + i.
# Written by
#   python -m agents.symbiotic.evaluate --write-sweep {path} --traces {traces} \\
#       {options}
#
#   simran sweep {path} --out runs/type1 --workers 2
#   python -m agents.symbiotic.evaluate --campaign runs/type1 --out results/type1
#
# Needs the agent kinds as `simran.agents` entry points (setup.cfg; see docs/type1.md). Each run's
# summary has the Table 4 metrics as type1.* (per-tick KPIs: kpi_period_ms = tick_ms).
# Two lock-step groups: a route with its seed (the evaluate command's route_seed: {seed} + the
# route's index in the trace set, the same for every method) × a method (name and agents), so a
# run here resolves to the scenario of the evaluate command's run of the same method and route.
name = "type1_methods_routes"
description = "Type I symbiotic agent vs baselines over vehicle routes (papers/004 Table 4)"
base = "{base_rel}"

[set]
"simulation.duration_s" = {duration_s:g}
"output.ue_kpis" = false
"ue_groups.0.trace.file" = "{rel}"
"ue_groups.0.trace.offset_s" = {offsets[0]:g}

[sweep]
metrics = ["type1.*", "agent.*"]

[[sweep.zip]]                  # the route and its seed (slowest: runs go route by route)
"ue_groups.0.trace.ids" = [
{chr(10).join(f'  ["{r}"],' for r in routes)}
]
"simulation.seed" = [
  {seed_lines}
]

[[sweep.zip]]                  # the method: its name and its agents
name = {json.dumps(methods)}
agents = [
  {agents}
]
"""
    path.write_text(text, encoding="utf-8")
    return path


def runs_from_campaign(folder: str | Path, base_dir: str | Path = BASE.parent) -> pd.DataFrame:
    """Per-run Table-4 metrics computed from a campaign's results files.

    ``base_dir``: the base scenario's folder (relative trace paths resolve against it).
    """
    import simran
    from agents.symbiotic.metrics import metrics, series_from_results

    rows = []
    for rec in sorted(Path(folder, "runs").glob("*.json")):
        info = json.loads(rec.read_text())
        if info.get("status") != "done":
            continue
        res = simran.load_results(rec.with_suffix(".h5"))
        s = series_from_results(res, base_dir=base_dir)
        route = res.scenario["ue_groups"][0]["trace"]["ids"][0]
        rows.append({"method": res.scenario["name"], "route": route, "wall_s": info.get("wall_s"),
                     **metrics(s), "box": s.thr_mbps[::BOX_DECIMATE].astype(np.float32)})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------ CLI ------------
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m agents.symbiotic.evaluate",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--traces", default=str(REPO / "datasets" / "ucc5g_driving.h5"))
    ap.add_argument("--methods", nargs="+", default=["all"],
                    help="method specs or presets (table4, fig14, all, embedded)")
    ap.add_argument("--routes", type=int, default=None, help="first N routes (default: all)")
    ap.add_argument("--ids", nargs="*", default=None, help="explicit trace ids")
    ap.add_argument("--duration-s", type=float, default=60.0)
    ap.add_argument("--window", choices=["start", "mid"], default="mid")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--out", default="results/type1")
    ap.add_argument("--no-plots", action="store_true")
    ap.add_argument("--write-sweep", default=None, help="write the sweep file and exit")
    ap.add_argument("--campaign", default=None, help="compute the table from a campaign folder")
    ap.add_argument("--from-checkpoint", action="store_true",
                    help="build the table from OUT/runs.jsonl only (run nothing)")
    ap.add_argument("--protocol", choices=["excursions", "episodes"], default="excursions",
                    help="excursions: one intent, enforcements = band excursions (default); "
                    "episodes: a new random intent and PRB share every --episode-s (papers/004 "
                    "Fig. 3, Listing 4)")
    ap.add_argument("--episode-s", type=float, default=1.0)
    ap.add_argument("--bler", action="store_true",
                    help="block errors, HARQ and OLLA on ([network.link] bler = true)")
    ap.add_argument("--skip-fixed", action="store_true",
                    help="the meta-tuner skips calls whose outcome is fixed")
    a = ap.parse_args(argv)
    from agents.symbiotic.methods import expand_methods

    methods = expand_methods(a.methods)
    out = Path(a.out)
    if a.write_sweep:
        routes = route_ids(a.traces, a.routes, a.ids)
        p = write_sweep(a.write_sweep, a.traces, methods, routes, a.duration_s, a.window, a.seed)
        print(f"wrote {p} ({len(methods)} methods × {len(routes)} routes)")
        return 0
    t0 = time.perf_counter()
    if a.campaign:
        runs = runs_from_campaign(a.campaign)
        series = {}
    elif a.from_checkpoint:
        rows = [_from_json(line) for line in (out / "runs.jsonl").read_text().splitlines()
                if line.strip()]
        rows = [r for r in rows if r["method"] in methods]
        series = {r["method"]: r.pop("series") for r in rows if "series" in r}
        runs = pd.DataFrame(rows).drop(columns=["key"])
    else:
        routes = route_ids(a.traces, a.routes, a.ids)
        out.mkdir(parents=True, exist_ok=True)
        rows = run_all(tasks(a.traces, methods, routes, a.duration_s, a.window, a.seed,
                             plot_route=None if a.no_plots else routes[0],
                             protocol=a.protocol, episode_s=a.episode_s, bler=a.bler,
                             skip_fixed=a.skip_fixed), a.workers,
                       checkpoint=out / "runs.jsonl")
        series = {r["method"]: r.pop("series") for r in rows if "series" in r}
        runs = pd.DataFrame(rows).drop(columns=["key"])
    out.mkdir(parents=True, exist_ok=True)
    box = {m: np.concatenate(list(g["box"])) for m, g in runs.groupby("method", sort=False)}
    runs.drop(columns=["box"]).to_csv(out / "runs.csv", index=False)
    tab = table(runs)
    tab.to_csv(out / "table.csv", index=False)
    md = markdown(tab)
    (out / "table.md").write_text(md, encoding="utf-8")
    print(md)
    print(f"{len(runs)} runs in {(time.perf_counter() - t0) / 60:.1f} min "
          f"(simulation wall {runs['wall_s'].sum() / 60:.1f} min)")
    if not a.no_plots:
        from agents.symbiotic import plots

        plots.save_all(out, series, box, runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
