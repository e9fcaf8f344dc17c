"""The ``simran`` command.

::

    simran validate scenarios/hermes10.toml
    simran run scenarios/quickstart.toml --out runs/qs
    simran run scenarios/hermes10.toml --set simulation.seed=7 \
        --set slices.0.quota_pct=40 --out runs/h7
    simran config dump scenarios/quickstart.toml          # the fully resolved scenario (TOML)
    simran summary runs/qs                                 # summary table of a results file
    simran plot runs/qs                                    # PNG plots next to the results

The other subcommands live next to this module, each added by its ``register(subparsers)``:
``traces`` (:mod:`simran.cli.traces`), ``replay`` (:mod:`simran.cli.replay`) and ``sweep``,
``campaign``, ``plot-campaign`` (:mod:`simran.cli.sweep`). They import their heavy dependencies
inside the handlers, so ``simran --help`` stays fast. Every handler returns an exit code; user
errors print ``simran: error: <message>`` (naming the file, field and reason) and exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from simran.cli import replay, sweep, traces
from simran.errors import SimranError


def _err(msg: str) -> int:
    print(f"simran: error: {msg}", file=sys.stderr)
    return 2


def plural(n: int, word: str, words: str | None = None) -> str:
    """``1 cell``, ``2 cells``, ``1 UE``, ``0 UEs`` (``words``: an irregular plural)."""
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


def _load(args):
    from simran.scenario import load_scenario

    return load_scenario(args.scenario, args.set or [])


def _warn_late_events(scen) -> None:
    """Print the loader's notes (roundings, events after the end; :meth:`Scenario.notes`)."""
    for note in scen.notes():
        print(f"simran: note: {note}", file=sys.stderr)


def _warn_late_agents(scen) -> None:
    """An agent whose first observation (one period in, for the periodic loop) is at or after
    the end of the run never decides — say so (it appears in the summary with 0 decisions)."""
    from simran.hooks import Agent
    from simran.hooks.registry import resolve_agent
    from simran.units import ms_to_us, s_to_us

    end_us = s_to_us(scen.simulation.duration_s)
    for i, cfg in enumerate(scen.agents):
        try:
            cls = resolve_agent(scen, i, cfg)
        except SimranError:
            continue                      # reported as an error when the agents are built
        if cls.run is not Agent.run or cls.first_observation_us is not Agent.first_observation_us:
            continue                      # a loop or first observation of its own
        if max(ms_to_us(cfg.period_ms), 1) >= end_us:
            print(f"simran: warning: agents.{i} ({cfg.name}): its first observation is at "
                  f"period_ms = {cfg.period_ms:g} ms, at or after the end of the run "
                  f"({scen.simulation.duration_s:g} s): it will make no decision",
                  file=sys.stderr)


def _preflight(scen, args) -> None:
    """The pre-flight size check (``--allow-large`` skips it)."""
    if not getattr(args, "allow_large", False):
        scen.check_size()


def _check_writable(folder: Path) -> None:
    """Fail before a run (not after it) when its output folder cannot be created or written."""
    import os

    from simran.errors import ResultsError

    p = folder
    while not p.exists() and p != p.parent:
        p = p.parent
    if p.exists() and not p.is_dir():
        raise ResultsError(f"{folder}: cannot create the output folder: {p} is a file")
    if p.exists() and not os.access(p, os.W_OK | os.X_OK):
        raise ResultsError(f"{folder}: cannot write results: {p} is not writable (read-only "
                           "or no permission)")
    try:
        if os.statvfs(p).f_flag & os.ST_RDONLY:
            raise ResultsError(f"{folder}: cannot write results: {p} is on a read-only file "
                               "system")
    except (OSError, AttributeError):
        pass


def cmd_validate(args) -> int:
    scen = _load(args)
    _warn_late_events(scen)
    _warn_late_agents(scen)
    _preflight(scen, args)
    from simran.simulation import Simulation

    sim = Simulation(scen)  # builds topology, UEs and agents: catches what the schema cannot
    print(f"{args.scenario}: OK — {plural(sim.C, 'cell')} ({sim.n_prb} PRB each), "
          f"{plural(sim.S, 'slice')}, {plural(sim.U, 'UE')}, {plural(len(scen.agents), 'agent')}"
          f", {scen.simulation.duration_s:g} s at {scen.simulation.tick_ms:g} ms ticks")
    return 0


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    return repr(v)


def to_toml(data: dict) -> str:
    """Serialise a resolved scenario as TOML (None values are omitted: they mean 'default')."""
    lines: list[str] = []
    scalars = {k: v for k, v in data.items() if not isinstance(v, (dict, list)) or
               (isinstance(v, list) and not (v and isinstance(v[0], dict)))}
    for k, v in scalars.items():
        if v is not None:
            lines.append(f"{k} = {_toml_value(v)}")
    for k, v in data.items():
        if isinstance(v, dict):
            _toml_table(lines, [k], v, array=False)
        elif isinstance(v, list) and v and isinstance(v[0], dict):
            for item in v:
                _toml_table(lines, [k], item, array=True)
    return "\n".join(lines) + "\n"


def _toml_table(lines, path, data, array):
    lines.append("")
    name = ".".join(path)
    lines.append(f"[[{name}]]" if array else f"[{name}]")
    nested = []
    for k, v in data.items():
        if v is None:
            continue
        if isinstance(v, dict) and k != "params":   # a sub-table; params stay inline
            nested.append((k, v))
        elif isinstance(v, list) and v and isinstance(v[0], dict):
            lines.append(f"{k} = [" + ", ".join(_toml_value(x) for x in v) + "]")
        else:
            lines.append(f"{k} = {_toml_value(v)}")
    for k, v in nested:
        _toml_table(lines, path + [k], v, array=False)


def cmd_config_dump(args) -> int:
    scen = _load(args)
    if getattr(args, "origins", False):
        from simran.scenario import scenario_origins

        origins = scenario_origins(args.scenario, args.set or [])
        width = max((len(k) for k in origins), default=0)
        print("\n".join(f"{k:<{width}}  {v}" for k, v in origins.items()))
        print("(every other field: the schema default; see `simran config schema`)")
        return 0
    text = to_toml(scen.to_dict()) if args.format == "toml" else json.dumps(
        scen.to_dict(), indent=2)
    if args.out:
        from simran.output.results import write_atomic

        if Path(args.out).is_dir() or not Path(args.out).name:
            raise SimranError(f"{args.out}: --out names a folder; give a file name")
        write_atomic(Path(args.out), text.encode())   # no half-written file on a full disk
    else:
        print(text, end="")
    return 0


def cmd_config_schema(args) -> int:
    from simran.cli.config_schema import format_section

    print(format_section(args.section or ""))
    return 0


#: summary groups in print order: (title, key prefixes); within a group, the listed keys first
SUMMARY_GROUPS = (
    ("run", ("duration_s", "n_cells", "n_ues", "n_prb")),
    ("network (sum over cells, mean over time)", ("throughput_mbps_mean",
                                                  "cell_throughput_mbps_mean", "prb_util_mean",
                                                  "handovers")),
    ("slices (network-wide, mean over time)", ("slice.",)),
    ("UEs (over UEs)", ("ue_throughput_mbps_mean", "ue_throughput_mbps_p5",
                        "ue_throughput_mbps_p50", "ue_", "sinr_db_mean", "sinr_db_p5", "sinr_",
                        "cbr_")),
    ("energy", ("energy_kwh", "energy_j_per_cell_mean", "energy_efficiency_bit_per_j",
                "energy_")),
    ("agents", ("agent.",)),
)


def group_summary(summary: dict) -> list[tuple[str, list[tuple[str, float]]]]:
    """The summary metrics in groups, in the same order for ``run``, ``summary`` and its
    ``--json`` / ``--csv`` (a results file stores them alphabetically)."""
    def rank(key: str) -> tuple[int, int, str]:
        for g, (_, prefixes) in enumerate(SUMMARY_GROUPS):
            for i, pre in enumerate(prefixes):
                if key == pre or (pre.endswith(("_", ".")) and key.startswith(pre)):
                    # agent.<name>.<counter>: keep each agent's counters together, in file order
                    return g, i, key.rsplit(".", 1)[0] if pre.endswith(".") else ""
        return len(SUMMARY_GROUPS), 0, key

    order = sorted(summary, key=lambda k: rank(k))
    out: list[tuple[str, list]] = []
    for k in order:
        g = rank(k)[0]
        title = SUMMARY_GROUPS[g][0] if g < len(SUMMARY_GROUPS) else "other"
        if not out or out[-1][0] != title:
            out.append((title, []))
        out[-1][1].append((k, summary[k]))
    return out


def _summary_table(summary: dict) -> str:
    width = max(len(k) for k in summary) if summary else 10
    rows = []
    for title, items in group_summary(summary):
        rows.append(f"  {title}:")
        rows += [f"    {k:<{width}}  {v:>14.4g}" for k, v in items]
    return "\n".join(rows)


def cmd_run(args) -> int:
    scen = _load(args)
    _warn_late_events(scen)
    _warn_late_agents(scen)
    _preflight(scen, args)
    from simran.simulation import run_scenario

    out = Path(args.out)
    if out.suffix not in (".h5", ".hdf5") and out.exists() and not out.is_dir():
        return _err(f"{out}: --out names an existing file; give a folder or a .h5 file name")
    res_path = out if out.suffix in (".h5", ".hdf5") else out / "results.h5"
    if res_path.is_dir():
        return _err(f"{res_path}: --out names a folder where the results file should go")
    if res_path.exists() and not args.force:
        return _err(f"{res_path} exists (use --force to overwrite)")
    _check_writable(res_path.parent)
    res = run_scenario(scen, res_path, quiet=args.quiet)
    if res.backends:
        for name, desc in res.backends.items():
            print(f"agent {name}: {desc}")
    if not args.quiet:
        for name, lines in res.reports.items():       # e.g. a negotiation's rounds and consensus
            print(f"agent {name}:")
            for line in lines:
                print(f"  {line}")
        print(f"{scen.name}: {scen.simulation.duration_s:g} simulated s in {res.wall_s:.2f} "
              f"wall s ({res.run_info['sim_s_per_wall_s']:.1f}× real time)")
        print(_summary_table(res.summary))
    print(f"results: {res.results_path}")
    if scen.output.plots:
        _plots(res.results_path, res.results_path.parent)
    return 0


def _plots(results_path, out_dir, **kw) -> list[Path]:
    try:
        from simran.output import plots
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise SimranError(f"plots need matplotlib: pip install 'simran[plot]' ({exc})") from None
    paths = plots.plot_run(results_path, out_dir, **kw)
    for p in paths:
        print(f"plot: {p}")
    return paths


def cmd_plot(args) -> int:
    out = Path(args.out) if args.out else Path(args.results)
    if out.suffix in (".h5", ".hdf5"):
        out = out.parent
    if not 0.0 <= args.load <= 1.0:
        raise SimranError(f"--load {args.load}: the interferers' PRB activity must be within "
                          "0..1")
    _plots(args.results, out, cell=args.cell, radio_map=args.radio_map, load=args.load)
    return 0


def cmd_summary(args) -> int:
    from simran.output.results import load_results

    r = load_results(args.results)
    if args.json:
        print(json.dumps({"file": str(r.path), "scenario": r.attrs.get("scenario_name"),
                          "seed": r.attrs.get("seed"),
                          "simran_version": r.attrs.get("simran_version"),
                          "git_commit": r.attrs.get("git_commit"),
                          "summary": {k: v for _, items in group_summary(r.summary)
                                      for k, v in items}}, indent=2))
        return 0
    if args.csv:
        import csv

        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(["group", "metric", "value"])
        for title, items in group_summary(r.summary):
            w.writerows([title.split(" (")[0], k, repr(v)] for k, v in items)
        return 0
    print(f"{r.path}: scenario {r.attrs.get('scenario_name')!r}, seed {r.attrs.get('seed')}, "
          f"simran {r.attrs.get('simran_version')} ({str(r.attrs.get('git_commit'))[:10]})")
    print(_summary_table(r.summary))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="simran", description="Multi-cell RAN simulator with "
                                "time-scaled agents.")
    from simran._version import __version__

    p.add_argument("--version", action="version", version=f"simran {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def scen_args(sp):
        sp.add_argument("scenario", help="scenario TOML file")
        sp.add_argument("--set", action="append", metavar="PATH=VALUE",
                        help="override a field, e.g. --set simulation.seed=7 (repeatable)")
        sp.add_argument("--allow-large", action="store_true",
                        help="skip the pre-flight size check (estimated memory of the run)")

    sp = sub.add_parser("validate", help="check a scenario file without running it")
    scen_args(sp)
    sp.set_defaults(func=cmd_validate)

    sp = sub.add_parser("run", help="run a scenario and write results.h5")
    scen_args(sp)
    sp.add_argument("--out", required=True, help="output folder (or .h5 file)")
    sp.add_argument("--quiet", action="store_true", help="no progress bar or summary table")
    sp.add_argument("--force", action="store_true", help="overwrite existing results")
    sp.set_defaults(func=cmd_run)

    sp = sub.add_parser("config", help="scenario configuration tools")
    csub = sp.add_subparsers(dest="config_cmd", metavar="ACTION", required=True)
    dp = csub.add_parser("dump", help="print the fully resolved scenario")
    scen_args(dp)
    dp.add_argument("--format", choices=("toml", "json"), default="toml")
    dp.add_argument("--out", help="write to a file instead of stdout")
    dp.add_argument("--origins", action="store_true",
                    help="list each field set by a file (or --set) and where it came from "
                    "(follows base = chains)")
    dp.set_defaults(func=cmd_config_dump)
    sc = csub.add_parser("schema", help="print a scenario section's fields: type, default, "
                         "range, description (from the schema itself)")
    sc.add_argument("section", nargs="?", default="",
                    help="e.g. simulation, network.handover, agents (default: the top level)")
    sc.set_defaults(func=cmd_config_schema)

    sp = sub.add_parser("summary", help="print the summary of a results file")
    sp.add_argument("results", help="results.h5 (or its folder)")
    fmt = sp.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="machine-readable JSON (metadata + "
                     "metrics, in the printed order)")
    fmt.add_argument("--csv", action="store_true", help="CSV rows: group,metric,value")
    sp.set_defaults(func=cmd_summary)

    sp = sub.add_parser("plot", help="PNG plots of a run (needs the plot extra)")
    sp.add_argument("results", help="results.h5 (or its folder)")
    sp.add_argument("--out", help="folder for the PNGs (default: next to the results)")
    sp.add_argument("--cell", type=int, metavar="N",
                    help="cell of the per-cell panels (default: the busiest cell)")
    sp.add_argument("--radio-map", action="store_true",
                    help="also write radio_map.png: SINR and serving cell over a grid (the "
                    "run's shadowing; interferers at --load)")
    sp.add_argument("--load", type=float, default=1.0, metavar="L",
                    help="interferer PRB activity of the radio map, 0..1 (default 1: full load)")
    sp.set_defaults(func=cmd_plot)

    traces.register(sub)
    replay.register(sub)
    sweep.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except SimranError as exc:
        return _err(str(exc))
    except OSError as exc:            # the machine: disk full, read-only, permission, not found
        from simran.errors import describe_oserror

        return _err(describe_oserror(exc, "access"))
    except MemoryError:
        return _err("out of memory (the scenario or sweep is too large for this machine; see "
                    "`simran validate` for its estimated size)")
    except KeyboardInterrupt:
        return _err("interrupted (no results file was completed)")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

