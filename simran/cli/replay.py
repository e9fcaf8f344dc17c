"""``simran replay``: vehicles follow drive traces through a cell; results as any run.

::

    simran replay datasets/ucc5g_driving.h5 --trace download_driving_01 --out runs/r1
    simran replay datasets/ucc5g_driving.h5 --all --out runs/all      # one results file per trace
    simran replay datasets/ucc5g_driving.h5 --first 5 --together --out runs/five  # 5 UEs, one run

The base scenario (default ``scenarios/vehicle_replay.toml``) must have exactly one
``mobility = "trace"`` UE group; its trace file and selection are replaced by the command's
(:func:`simran.traces.replay.replay_scenario`). Unless ``--duration-s`` or
``--set simulation.duration_s=…`` is given, a run lasts as long as its (longest) trace.

Before running, the command says how many runs and how many simulated seconds it will do, and
refuses (exit 2) when a results file exists (without ``--force``, the rule of ``simran run``) or
the total exceeds ``--max-sim-s`` (default one simulated hour; the shipped UCC set with ``--all``
is about 93,000 s).
"""

from __future__ import annotations

import sys
from pathlib import Path

from simran.errors import SimranError
from simran.traces.replay import DEFAULT_BASE, replay_scenario

#: default cap on the simulated time of one ``simran replay`` command, s (``--max-sim-s``)
MAX_SIM_S = 3600.0


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
    plan = []
    for sel in groups:
        scen = replay_scenario(args.scenario, args.trace_file, sel, args.duration_s, args.set or [])
        dest = out / "results.h5" if len(groups) == 1 else out / sel[0] / "results.h5"
        plan.append((sel, scen, dest))
    _check_plan(plan, args)
    for sel, scen, dest in plan:
        res = run_scenario(scen, dest, quiet=True)
        s = res.summary
        print(f"{','.join(sel)}: {scen.simulation.duration_s:.0f} s, throughput "
              f"{s['throughput_mbps_mean']:.1f} Mbit/s → {res.results_path}")
    return 0


def _check_plan(plan: list, args) -> None:
    """Say how much will be simulated; refuse existing results (without ``--force``) and more
    simulated time than ``--max-sim-s`` before anything runs."""
    existing = [str(dest) for _, _, dest in plan if dest.exists()]
    if existing and not args.force:
        more = f" and {len(existing) - 3} more" if len(existing) > 3 else ""
        raise SimranError(f"{', '.join(existing[:3])}{more} exist(s) (use --force to "
                          "overwrite)")
    total = sum(scen.simulation.duration_s for _, scen, _ in plan)
    longest = max(scen.simulation.duration_s for _, scen, _ in plan)
    runs = "1 run" if len(plan) == 1 else f"{len(plan):,} runs"
    print(f"replay: {runs}, {total:,.6g} simulated s in total (longest {longest:,.6g} s)",
          file=sys.stderr)
    if args.max_sim_s and total > args.max_sim_s:
        raise SimranError(f"the replay would simulate {total:,.6g} s, more than --max-sim-s "
                          f"{args.max_sim_s:,.6g}; select fewer traces (--first N, --trace ID), "
                          "shorten the runs (--duration-s) or raise --max-sim-s (0 = no cap)")


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
    sp.add_argument("--force", action="store_true",
                    help="overwrite existing results (without it: refuse, exit 2)")
    sp.add_argument("--max-sim-s", type=float, default=MAX_SIM_S, metavar="S",
                    help=f"refuse to simulate more than S s in total (default {MAX_SIM_S:g}; "
                    "0 = no cap)")
    sp.set_defaults(func=cmd_replay)
