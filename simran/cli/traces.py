"""The ``simran traces`` command group: import, list and show drive-trace sets.

:func:`register` adds the group to the ``simran`` parser's sub-parsers. Every handler takes the
argparse Namespace, returns an exit code (0 ok, 2 bad input or usage — the convention of
:mod:`simran.cli.main`) and prints errors as ``simran: error: <message>`` on stderr.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import warnings

import numpy as np

from simran.errors import SimranError

_OPTIONAL_CSV = ("speed", "x", "y", "lat", "lon", "rsrp", "rsrq", "sinr", "serving_cell", "dl",
                 "network_mode")


def register(subparsers) -> argparse.ArgumentParser:
    """Add ``traces`` (import ucc5g/csv/series, list, show, plot-dist, synth) to sub-parsers.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From ``parser.add_subparsers(dest="command")``.

    Returns
    -------
    argparse.ArgumentParser
        The ``traces`` parser.
    """
    traces = subparsers.add_parser(
        "traces", help="vehicle drive traces: import, list, show, plot, synthesise",
        description="Import drive-test files into trace sets and inspect them.")
    traces.set_defaults(func=_usage(traces))
    sub = traces.add_subparsers(dest="traces_command", metavar="{import,list,show,plot-dist,synth}")
    _register_import(sub)
    p = sub.add_parser("list", help="table of the traces in a trace set")
    p.add_argument("file", help="trace-set file (.h5)")
    p.set_defaults(func=cmd_list)
    p = sub.add_parser("show", help="attributes and statistics of one trace, optional plot")
    p.add_argument("file", help="trace-set file (.h5)")
    p.add_argument("--trace", required=True, metavar="ID", help="trace id")
    p.add_argument("--plot", metavar="PNG", help="write a CQI / MCS / DL-throughput plot")
    p.set_defaults(func=cmd_show)
    p = sub.add_parser("plot-dist", help="CQI distribution of one or more trace sets (PNG)")
    p.add_argument("files", nargs="+", metavar="FILE", help="trace-set files (.h5)")
    p.add_argument("--out", required=True, metavar="PNG", help="image to write")
    p.set_defaults(func=cmd_plot_dist)
    p = sub.add_parser("synth", help="generate a synthetic trace set (vehicles through a "
                       "coverage hole, simran.traces.synthetic)")
    p.add_argument("--out", required=True, help="trace-set file to write (.h5)")
    p.add_argument("--vehicles", type=int, default=78, help="number of vehicles (default 78)")
    p.add_argument("--period-s", type=float, default=1.0, help="sampling period, s (default 1)")
    p.add_argument("--duration-s", type=float, default=600.0,
                   help="length of every trace, s (default 600)")
    p.add_argument("--seed", type=int, default=78, help="root seed (default 78)")
    p.add_argument("--scenario", help="network scenario (default scenarios/synthetic_highway.toml)")
    p.set_defaults(func=cmd_synth)
    return traces


def _register_import(sub) -> None:
    imp = sub.add_parser("import", help="import drive-test files into a trace set")
    imp.set_defaults(func=_usage(imp))
    isub = imp.add_subparsers(dest="import_format", metavar="{ucc5g,csv,series}")
    p = isub.add_parser("ucc5g", help="driving CSVs of the UCC 5G dataset zip (MMSys 2020)")
    p.add_argument("zip", help="5G-production-dataset.zip")
    p.add_argument("--out", required=True, help="trace-set file to write (.h5)")
    p.add_argument("--max-fill-s", type=int, default=3,
                   help="longest run of missing seconds filled by hold (default 3)")
    p.add_argument("--min-segment-s", type=int, default=60,
                   help="shortest segment kept, s (default 60)")
    p.set_defaults(func=cmd_import_ucc5g)
    p = isub.add_parser("csv", help="generic CSV with a time and a CQI column")
    p.add_argument("file")
    p.add_argument("--out", required=True, help="trace-set file to write (.h5)")
    p.add_argument("--time", required=True, metavar="COL", help="time column")
    p.add_argument("--cqi", required=True, metavar="COL", help="CQI column (0..15)")
    for key in _OPTIONAL_CSV:
        p.add_argument(f"--{key.replace('_', '-')}", metavar="COL", help=f"{key} column")
    p.add_argument("--time-format", help="'s', 'ms' or a strftime format (default: auto)")
    p.add_argument("--speed-unit", choices=("m/s", "km/h"), default="m/s")
    p.add_argument("--trace-id-column", metavar="COL", help="column naming each row's trace")
    p.add_argument("--trace-id", help="id of the single trace (default: file stem)")
    _provenance_args(p)
    p.set_defaults(func=cmd_import_csv)
    p = isub.add_parser("series", help="single-column CQI file (header line, one CQI per line)")
    p.add_argument("file")
    p.add_argument("--period-s", type=float, required=True, help="sampling period, s")
    p.add_argument("--out", required=True, help="trace-set file to write (.h5)")
    p.add_argument("--vehicles", type=int,
                   help="split into N near-equal consecutive vehicles (an assumption)")
    p.add_argument("--trace-id", help="trace id (default: file stem)")
    p.add_argument("--no-header", action="store_true", help="the first line is data")
    _provenance_args(p)
    p.set_defaults(func=cmd_import_series)


def _provenance_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--licence", default="unknown", help="licence of the data")
    p.add_argument("--citation", default="", help="how to cite the data")
    p.add_argument("--description", default="", help="trace-set description")


def _usage(parser: argparse.ArgumentParser):
    def handler(args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return 2
    return handler


def _reports_errors(fn):
    """Turn SimranError/OSError into ``simran: error: ...`` on stderr and exit code 2."""
    @functools.wraps(fn)
    def wrapper(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except SimranError as exc:
            print(f"simran: error: {exc}", file=sys.stderr)
        except OSError as exc:
            from simran.errors import describe_oserror

            out = getattr(args, "out", None)
            print(f"simran: error: {describe_oserror(exc, 'access', exc.filename or out)}",
                  file=sys.stderr)
        return 2
    return wrapper


def _command(args: argparse.Namespace, words: list[str], options: dict) -> str:
    """The command line that reproduces an import (stored as ``created_by``)."""
    parts = ["simran", "traces", "import", *words]
    for flag, value in options.items():
        if value is True:
            parts.append(flag)
        elif value not in (None, False):
            parts += [flag, str(value)]
    return " ".join(parts)


@_reports_errors
def cmd_import_ucc5g(args: argparse.Namespace) -> int:
    """``simran traces import ucc5g ZIP --out FILE``."""
    from simran.traces.ucc5g import TraceCleaningWarning, format_ucc5g_report, import_ucc5g

    options = {"--out": args.out}
    if args.max_fill_s != 3:
        options["--max-fill-s"] = args.max_fill_s
    if args.min_segment_s != 60:
        options["--min-segment-s"] = args.min_segment_s
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TraceCleaningWarning)
        result = import_ucc5g(args.zip, args.out, max_fill_s=args.max_fill_s,
                              min_segment_s=args.min_segment_s,
                              created_by=_command(args, ["ucc5g", args.zip], options))
    for w in caught:
        print(f"simran: warning: {w.message}", file=sys.stderr)
    print(format_ucc5g_report(result))
    return 0


@_reports_errors
def cmd_import_csv(args: argparse.Namespace) -> int:
    """``simran traces import csv FILE --out FILE --time COL --cqi COL [...]``."""
    from simran.traces.importers import import_csv

    columns = {"time": args.time, "cqi": args.cqi}
    columns.update({k: getattr(args, k) for k in _OPTIONAL_CSV if getattr(args, k)})
    traces = import_csv(args.file, columns, time_format=args.time_format,
                        trace_id_column=args.trace_id_column, trace_id=args.trace_id,
                        speed_unit=args.speed_unit,
                        attrs={"licence": args.licence, "citation": args.citation})
    options = {"--out": args.out, "--time": args.time, "--cqi": args.cqi,
               **{f"--{k.replace('_', '-')}": columns.get(k) for k in _OPTIONAL_CSV},
               "--time-format": args.time_format, "--trace-id-column": args.trace_id_column,
               "--trace-id": args.trace_id,
               "--speed-unit": None if args.speed_unit == "m/s" else args.speed_unit}
    return _write(args, traces, _command(args, ["csv", args.file], options))


@_reports_errors
def cmd_import_series(args: argparse.Namespace) -> int:
    """``simran traces import series FILE --period-s P --out FILE [--vehicles N]``."""
    from simran.traces.importers import import_cqi_series

    traces = import_cqi_series(args.file, args.period_s, trace_id=args.trace_id,
                               vehicles=args.vehicles, header=not args.no_header,
                               attrs={"licence": args.licence, "citation": args.citation})
    options = {"--period-s": args.period_s, "--out": args.out, "--vehicles": args.vehicles,
               "--trace-id": args.trace_id, "--no-header": args.no_header}
    return _write(args, traces, _command(args, ["series", args.file], options))


def _write(args: argparse.Namespace, traces: list, created_by: str) -> int:
    from pathlib import Path

    from simran.traces.trace_set import write_trace_set

    path = write_trace_set(args.out, traces, {
        "name": Path(args.out).stem, "description": args.description,
        "created_by": created_by, "licence": args.licence, "citation": args.citation})
    samples = sum(t.n_samples for t in traces)
    print(f"wrote {path}: {len(traces)} trace(s), {samples} samples, "
          f"{path.stat().st_size} bytes")
    return 0


def format_summary(summary) -> str:
    """The ``traces list`` table (durations in s, speeds in km/h)."""
    return summary.to_string(index=False, formatters={
        "duration_s": "{:.1f}".format, "cqi_mean": "{:.2f}".format,
        "speed_mean_kmh": "{:.1f}".format, "speed_max_kmh": "{:.1f}".format})


@_reports_errors
def cmd_list(args: argparse.Namespace) -> int:
    """``simran traces list FILE``: one line per trace."""
    from simran.traces.trace_set import TraceSet

    ts = TraceSet.open(args.file)
    print(f"{ts.path}: {ts.attrs.get('name', '')} — {len(ts)} traces, "
          f"licence {ts.attrs.get('licence', 'unknown')}")
    if ts.attrs.get("description"):
        print(ts.attrs["description"])
    print(format_summary(ts.summary()))
    return 0


def _stats_lines(trace) -> list[str]:
    hist = np.bincount(trace.cqi, minlength=16)
    lines = [f"samples: {trace.n_samples}", f"duration_s: {trace.duration_s:.1f}",
             f"period_s: {trace.period_s:g}",
             f"cqi mean/min/max: {trace.cqi.mean():.2f} / {trace.cqi.min()} / {trace.cqi.max()}",
             "cqi histogram 0..15: " + " ".join(str(int(c)) for c in hist),
             "fields: " + (", ".join(trace.fields()) or "(cqi only)")]
    if trace.speed_mps is not None and np.isfinite(trace.speed_mps).any():
        lines.append(f"speed mean/max (km/h): {np.nanmean(trace.speed_mps) * 3.6:.1f} / "
                     f"{np.nanmax(trace.speed_mps) * 3.6:.1f}")
    if trace.dl_mbps is not None and np.isfinite(trace.dl_mbps).any():
        lines.append(f"dl_mbps mean/max: {np.nanmean(trace.dl_mbps):.2f} / "
                     f"{np.nanmax(trace.dl_mbps):.2f}")
    if trace.network_mode is not None:
        modes, counts = np.unique(trace.network_mode, return_counts=True)
        lines.append("network_mode: " + ", ".join(f"{m} {c}" for m, c in zip(modes, counts)))
    return lines


@_reports_errors
def cmd_show(args: argparse.Namespace) -> int:
    """``simran traces show FILE --trace ID [--plot PNG]``."""
    from simran.traces.trace_set import TraceSet

    trace = TraceSet.open(args.file).get(args.trace)
    print(f"trace {trace.id}")
    for line in _stats_lines(trace):
        print(f"  {line}")
    print("attrs:")
    for key, value in trace.attrs.items():
        text = json.dumps(value, indent=2) if isinstance(value, (dict, list)) else str(value)
        print(f"  {key}: " + text.replace("\n", "\n  "))
    if args.plot:
        from simran.traces.plots import plot_trace

        print(f"wrote {plot_trace(trace, args.plot)}")
    return 0


@_reports_errors
def cmd_plot_dist(args: argparse.Namespace) -> int:
    """``simran traces plot-dist FILE [FILE ...] --out PNG``: pooled CQI histogram per set."""
    from pathlib import Path

    from simran.traces.plots import plot_cqi_distribution
    from simran.traces.trace_set import TraceSet

    sets = {}
    for f in args.files:
        label = Path(f).stem
        while label in sets:
            label += "'"
        sets[label] = TraceSet.open(f)
    print(f"wrote {plot_cqi_distribution(sets, args.out)}")
    return 0


@_reports_errors
def cmd_synth(args: argparse.Namespace) -> int:
    """``simran traces synth --out FILE [--vehicles N] [--period-s P] [--duration-s D]
    [--seed S] [--scenario TOML]``."""
    from simran.traces.synthetic import write_synthetic_set

    options = {"--out": args.out, "--vehicles": None if args.vehicles == 78 else args.vehicles,
               "--period-s": None if args.period_s == 1.0 else f"{args.period_s:g}",
               "--duration-s": None if args.duration_s == 600.0 else f"{args.duration_s:g}",
               "--seed": args.seed, "--scenario": args.scenario}
    created_by = " ".join(["simran", "traces", "synth", *(
        f"{k} {v}" for k, v in options.items() if v is not None)])
    path, info = write_synthetic_set(args.out, args.vehicles, args.period_s, args.duration_s,
                                     args.seed, args.scenario, created_by=created_by)
    c = info["calibration"]
    print(f"wrote {path}: {args.vehicles} trace(s) of {args.duration_s:g} s, "
          f"{path.stat().st_size} bytes, {info['handovers']} handovers")
    print(f"mean MCS in the hole {c['mcs_mean_hole']:.1f}, outside {c['mcs_mean_outside']:.1f}; "
          f"full-cell rate in the hole {c['rate_mbps_hole']:.1f} Mbit/s, outside "
          f"{c['rate_mbps_outside']:.1f} Mbit/s ({100 * c['hole_share']:.0f} % of samples in "
          "the hole)")
    return 0
