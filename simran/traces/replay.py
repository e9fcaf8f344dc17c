"""``simran replay``: vehicles follow drive traces through a cell; results as any run.

::

    simran replay datasets/ucc5g_driving.h5 --trace download_driving_01 --out runs/r1
    simran replay datasets/ucc5g_driving.h5 --all --out runs/all      # one results file per trace
    simran replay datasets/ucc5g_driving.h5 --first 5 --together --out runs/five  # 5 UEs, one run

The base scenario (default ``scenarios/vehicle_replay.toml``: one cell, 40 MHz at 30 kHz, one
slice) must have exactly one ``mobility = "trace"`` UE group; its trace file and selection are
replaced by the command's. Unless ``--duration-s`` or ``--set simulation.duration_s=…`` is given,
a run lasts as long as its (longest) trace.
"""

from __future__ import annotations

import sys
from pathlib import Path

from simran.errors import ScenarioError, SimranError

DEFAULT_BASE = Path(__file__).resolve().parents[2] / "scenarios" / "vehicle_replay.toml"


def replay_scenario(base, trace_file, ids, duration_s=None, overrides=()):
    """The base scenario with its trace group pointed at ``trace_file`` / ``ids``."""
    from simran.scenario import Scenario, apply_overrides, read_toml
    from simran.traces.trace_set import load_trace_set

    base = Path(base)
    data = read_toml(base)
    groups = [i for i, g in enumerate(data.get("ue_groups", [])) if g.get("mobility") == "trace"]
    if len(groups) != 1:
        raise ScenarioError(str(base), [("ue_groups", f"a replay base needs exactly one "
                                         f"mobility='trace' group, found {len(groups)}")])
    gi = groups[0]
    ts = load_trace_set(trace_file)
    traces = ts.select(ids=list(ids))
    trace_cfg = dict(data["ue_groups"][gi].get("trace", {}))
    trace_cfg.update({"file": str(Path(trace_file).resolve()), "ids": list(ids)})
    trace_cfg.pop("first", None)
    data = apply_overrides(data, {f"ue_groups.{gi}.trace": trace_cfg})
    if duration_s is None and not any(o.startswith("simulation.duration_s=") for o in overrides):
        duration_s = max(t.duration_s for t in traces)
    if duration_s is not None:
        data = apply_overrides(data, {"simulation.duration_s": float(duration_s)})
    data = apply_overrides(data, list(overrides), source=f"{base} (--set)")
    return Scenario.from_dict(data, source=str(base), base_dir=base.resolve().parent)


def cmd_replay(args) -> int:
    from simran.simulation import run_scenario
    from simran.traces.trace_set import load_trace_set

    ts = load_trace_set(args.trace_file)
    if args.trace:
        ids = list(args.trace)
    elif args.first:
        ids = [t.id for t in ts.select(first=args.first)]
    elif args.all:
        ids = list(ts.ids)
    else:
        raise SimranError("choose traces: --trace ID (repeatable), --first N or --all")
    groups = [ids] if (args.together or len(ids) == 1) else [[i] for i in ids]
    out = Path(args.out)
    for sel in groups:
        scen = replay_scenario(args.scenario, args.trace_file, sel, args.duration_s, args.set or [])
        dest = out / "results.h5" if len(groups) == 1 else out / sel[0] / "results.h5"
        if dest.exists() and not args.force:
            print(f"skip {sel[0]}: {dest} exists (use --force)", file=sys.stderr)
            continue
        res = run_scenario(scen, dest, quiet=True)
        s = res.summary
        print(f"{','.join(sel)}: {scen.simulation.duration_s:.0f} s, throughput "
              f"{s['throughput_mbps_mean']:.1f} Mbit/s → {res.results_path}")
    return 0


def register(sub) -> None:
    """Add ``simran replay`` to the CLI."""
    sp = sub.add_parser("replay", help="vehicles follow drive traces through a cell")
    sp.add_argument("trace_file", help="trace-set HDF5 file (e.g. datasets/ucc5g_driving.h5)")
    sel = sp.add_mutually_exclusive_group()
    sel.add_argument("--trace", action="append", metavar="ID", help="trace id (repeatable)")
    sel.add_argument("--first", type=int, metavar="N", help="the first N traces")
    sel.add_argument("--all", action="store_true", help="every trace of the set")
    sp.add_argument("--together", action="store_true",
                    help="all selected traces as UEs of one run (default: one run per trace)")
    sp.add_argument("--scenario", default=str(DEFAULT_BASE),
                    help="base scenario (default: scenarios/vehicle_replay.toml)")
    sp.add_argument("--duration-s", type=float, help="run length [s] (default: the trace's)")
    sp.add_argument("--set", action="append", metavar="PATH=VALUE", help="scenario override")
    sp.add_argument("--out", required=True, help="output folder")
    sp.add_argument("--force", action="store_true", help="overwrite existing results")
    sp.set_defaults(func=cmd_replay)
