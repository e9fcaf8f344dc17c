"""``simran replay``: vehicles follow drive traces through a cell; results as any run.

::

    simran replay datasets/ucc5g_driving.h5 --trace download_driving_01 --out runs/r1
    simran replay datasets/ucc5g_driving.h5 --all --out runs/all      # one results file per trace
    simran replay datasets/ucc5g_driving.h5 --first 5 --together --out runs/five  # 5 UEs, one run

The base scenario (default ``scenarios/vehicle_replay.toml``) must have exactly one
``mobility = "trace"`` UE group; its trace file and selection are replaced by the command's
(:func:`simran.traces.replay.replay_scenario`). Unless ``--duration-s`` or
``--set simulation.duration_s=…`` is given, a run lasts as long as its (longest) trace.
"""

from __future__ import annotations

import sys
from pathlib import Path

from simran.errors import SimranError
from simran.traces.replay import DEFAULT_BASE, replay_scenario


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
