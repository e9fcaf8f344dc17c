"""``simran sweep``, ``simran campaign`` and ``simran plot-campaign``.

::

    simran sweep scenarios/sweeps/quota_vs_load.toml --out runs/qvl               # local pool
    simran sweep scenarios/sweeps/quota_vs_load.toml --out runs/qvl --dry-run     # list runs
    simran sweep scenarios/sweeps/quota_vs_load.toml --out runs/qvl --dask local:4
    simran sweep scenarios/sweeps/quota_vs_load.toml --out runs/qvl --dask tcp://sched:8786
    simran sweep scenarios/sweeps/quota_vs_load.toml --out runs/qvl --retry-failed
    simran campaign runs/qvl                                   # done/failed/missing + summary
    simran plot-campaign runs/qvl --metric throughput_mbps_mean --x slices.0.quota_pct \\
        --hue ue_groups.0.count --out qvl.png

Re-running ``simran sweep`` with the same ``--out`` runs only what is missing (a killed campaign
resumes). Exit codes: 0 all runs done; 1 the campaign ended with runs failed or missing (the
closing lines say which and why); 2 bad input, or a campaign stopped early (Dask scheduler lost,
campaign folder not writable: the message says why; finished runs are kept); 130 interrupted.
On a cluster without a shared file system (``--dask tcp://…``), runs take their input files
along and their results files come back to this machine (:mod:`simran.campaigns.transfer`).
"""

from __future__ import annotations

import functools
import sys

from simran.errors import SimranError

DEFAULT_METRICS = ("throughput_mbps_mean", "ue_throughput_mbps_p5", "prb_util_mean", "energy_kwh")


def _handler(fn):
    """Print user errors as ``simran: error: …`` and map them to exit code 2."""

    @functools.wraps(fn)
    def wrapped(args) -> int:
        try:
            return fn(args)
        except SimranError as exc:
            print(f"simran: error: {exc}", file=sys.stderr)
            return 2
        except OSError as exc:       # the machine: disk full, read-only folder, permission
            from simran.errors import describe_oserror

            print(f"simran: error: {describe_oserror(exc, 'access')}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("simran: error: interrupted — finished runs are kept; run the same command "
                  "again to resume", file=sys.stderr)
            return 130

    return wrapped


def _params(params: dict) -> str:
    return " ".join(f"{k}={v!r}" for k, v in params.items()) or "(base)"


@_handler
def cmd_sweep(args) -> int:
    from simran.campaigns.campaign import campaign_status, pending, run_campaign, scan_runs
    from simran.campaigns.executors import make_executor
    from simran.campaigns.sweep import load_sweep

    sweep = _with_overrides(load_sweep(args.file), args.set or [])
    if not args.allow_large:
        sweep.check_size()                             # before the sweep is expanded
    executor = make_executor(args.workers, args.dask,   # bad --dask spelling fails here
                             getattr(args, "output_url", None))
    if args.dry_run:
        specs = sweep.plan()
        records = scan_runs(args.out)
        todo = {s.run_id for s in pending(specs, records, args.retry_failed)}
        for s in specs:
            state = records.get(s.run_id, {}).get("state", "missing")
            mark = "will run" if s.run_id in todo else state
            print(f"{s.run_id}  {mark:<8}  rep {s.replication:<3} seed {s.seed:<10} "
                  f"{_params(s.params)}")
        print(f"{len(specs)} runs, {len(specs) - len(todo)} kept, {len(todo)} to run "
              f"(dry run: nothing was run)")
        if not args.allow_large:
            _check_run_sizes(specs)
        _check_metrics(sweep, records)
        return 0
    specs = sweep.plan()
    if not args.allow_large:
        _check_run_sizes(specs)
    _check_out(args.out, specs, args.force)
    _check_metrics(sweep, scan_runs(args.out))
    report = run_campaign(sweep, args.out, executor=executor, retry_failed=args.retry_failed,
                          quiet=args.quiet)
    ran = report.done + report.failed
    rate = f" at {ran / report.wall_s:.2f} runs/s" if report.wall_s > 0 else ""
    st = campaign_status(args.out)
    print(f"{report.out}: {st.done} done, {st.failed} failed, {st.missing} missing of {st.total} "
          f"runs ({ran} run now{rate}, {report.skipped} kept)")
    if st.failed:
        print(f"failed runs are recorded: see `simran campaign {report.out}`, fix the cause and "
              "re-run them with --retry-failed")
    if st.missing:
        print(f"simran: error: {st.missing} run(s) of {st.total} are missing from "
              f"{report.out}/runs (no results file with a done status record) although the "
              "campaign ended: their results were lost (written where this machine cannot see "
              "them, or removed); run the same command again to run them", file=sys.stderr)
    _check_metrics(sweep, scan_runs(args.out))
    return 1 if st.failed or st.missing else 0


def _check_out(out, specs, force: bool) -> None:
    """The overwrite rule of ``run`` / ``replay`` / ``sweep``: refuse (exit 2) without ``--force``.

    Resuming the *same* sweep (the same planned run ids) overwrites nothing and is always
    allowed. Refused: a non-empty ``--out`` that is no campaign folder, and a campaign folder
    whose recorded runs are of another sweep definition (another sweep file, ``[set]`` or
    ``--set``). With ``--force`` this sweep's runs are added to the folder; nothing is deleted.
    """
    from pathlib import Path

    from simran.campaigns.campaign import CAMPAIGN_FILE, RUNS_DIR, scan_runs

    out = Path(out)
    if force or not out.is_dir() or not any(out.iterdir()):
        return
    if not (out / CAMPAIGN_FILE).is_file() and not (out / RUNS_DIR).is_dir():
        raise SimranError(f"{out} exists and is not a campaign folder (use --force to write "
                          "the campaign into it anyway, or choose a new --out)")
    records = scan_runs(out)
    foreign = set(records) - {s.run_id for s in specs}
    if foreign:
        raise SimranError(f"{out} holds {len(foreign)} run(s) of another sweep definition "
                          f"(another sweep file, [set] or --set; {len(records) - len(foreign)} "
                          "of its runs are in this sweep): choose a new --out, or --force to "
                          "add this sweep's runs to the folder (nothing is deleted)")
    if records and all(records.get(s.run_id, {}).get("state") == "done" for s in specs):
        print(f"{out}: all {len(specs)} runs of this sweep are done already; nothing to run "
              "(a new --out runs the sweep again)", file=sys.stderr)


def _with_overrides(sweep, overrides: list[str]):
    """The sweep with ``--set PATH=VALUE`` added to its ``[set]`` table (they win over it).

    A ``--set`` of a swept axis is refused: the axis gives that value per run.
    """
    import dataclasses

    from simran.scenario import parse_override

    if not overrides:
        return sweep
    extra = dict(parse_override(o) for o in overrides)
    clash = [k for k in extra if k in sweep.axes]
    if clash:
        raise SimranError(f"--set {', '.join(clash)}: swept by {sweep.path} ([sweep] axis); "
                          "remove the axis or the --set")
    return dataclasses.replace(sweep, fixed={**sweep.fixed, **extra})


def _check_run_sizes(specs) -> None:
    """The pre-flight memory check of the largest run of a sweep."""
    if specs:
        biggest = max(specs, key=lambda s: s.scenario.estimate_size()["memory_bytes"])
        try:
            biggest.scenario.check_size()
        except SimranError as exc:
            raise SimranError(f"run {biggest.run_id} {_params(biggest.params)}: {exc}") from None


def _check_metrics(sweep, records: dict) -> None:
    """``[sweep] metrics`` patterns must match a summary metric of the finished runs (the names
    are known only once a run has finished: checked on resume and at the end)."""
    from fnmatch import fnmatch

    available = {k for r in records.values() if r.get("state") == "done"
                 for k in r.get("summary", {})}
    if not available or not sweep.metrics:
        return
    unmatched = [p for p in sweep.metrics if not any(fnmatch(m, p) for m in available)]
    if unmatched:
        raise SimranError(f"{sweep.path}: [sweep] metrics: pattern(s) {unmatched} match no "
                          "summary metric of the finished runs (they are kept); available: "
                          + ", ".join(sorted(available)))


@_handler
def cmd_campaign(args) -> int:
    from simran.campaigns.analysis import load_campaign
    from simran.campaigns.campaign import campaign_status

    st = campaign_status(args.dir)
    print(f"{args.dir}: {st.total} run{'' if st.total == 1 else 's'} planned — {st.done} done, "
          f"{st.failed} failed, {st.missing} missing"
          + (f" (+{st.extra} run{'' if st.extra == 1 else 's'} of an earlier sweep definition)"
             if st.extra else ""))
    for cv in st.code_versions:
        commit = (cv or {}).get("git_commit", "")[:10] or "no git"
        print(f"  code: simran {(cv or {}).get('simran_version', '?')} ({commit}"
              f"{', dirty tree' if (cv or {}).get('git_dirty') else ''})")
    if len(st.code_versions) > 1:
        print("  warning: finished runs come from different code versions")
    if st.failures:
        print("failed runs:")
        for rec in st.failures:
            last = (rec.get("error") or "").strip().splitlines() or ["?"]
            print(f"  {rec['run_id']}  {_params(rec['params'])}: {last[-1]}")
    if st.done:
        df = load_campaign(args.dir, metrics=args.metric)
        if not args.metric:                      # the sweep file's selection, else a default few
            df.attrs["metrics"] = df.attrs["sweep_metrics"]
        print(_summary_text(df))
    return 0


def _summary_text(df) -> str:
    """Selected metrics (--metric patterns, else the sweep's, else a default few) by params."""
    import pandas as pd

    from simran.campaigns.analysis import summarize

    metrics = df.attrs["metrics"]
    if len(metrics) > 6:
        metrics = [m for m in DEFAULT_METRICS if m in metrics] or metrics[:4]
    table = summarize(df, metrics)
    shown = pd.DataFrame({c: table[c] for c in [*df.attrs["axes"], "n"] if c in table})
    for m in metrics:
        shown[m] = [_pm(v, c) for v, c in zip(table[m], table[f"{m}_ci95"])]
    return ("summary (mean ± 95 % CI over seeds; choose metrics with --metric):\n"
            + shown.to_string(index=False))


def _pm(mean: float, ci: float) -> str:
    if ci != ci:  # NaN: a single seed
        return f"{mean:.4g}"
    return f"{mean:.4g} ± {0.0 if ci <= 1e-12 * max(1.0, abs(mean)) else ci:.2g}"


@_handler
def cmd_plot_campaign(args) -> int:
    from simran.campaigns.analysis import plot_metric

    plot_metric(args.dir, args.metric, x=args.x, hue=args.hue, out=args.out,
                xlabel=args.xlabel, ylabel=args.ylabel)
    print(f"plot: {args.out}")
    return 0


def register(subparsers) -> None:
    """Add ``sweep``, ``campaign`` and ``plot-campaign`` to the ``simran`` command."""
    sp = subparsers.add_parser("sweep", help="run a sweep file as a resumable campaign")
    sp.add_argument("file", help="sweep TOML file (base scenario + [sweep] axes)")
    sp.add_argument("--out", required=True, help="campaign folder (created; reused to resume)")
    ex = sp.add_mutually_exclusive_group()
    ex.add_argument("--workers", type=int, metavar="N",
                    help="local worker processes (default: one per CPU; 0 = in this process)")
    ex.add_argument("--dask", metavar="ADDRESS",
                    help="Dask scheduler tcp://host:port, or local:N for a local Dask cluster;"
                    " workers need simran only: inputs go with each run and results files "
                    "come back to --out")
    sp.add_argument("--output-url", metavar="URL",
                    help="with --dask: workers write results files to this fsspec URL "
                    "(s3://bucket/prefix, gs://…, file:///…; needs fsspec) and the client "
                    "copies them into --out (default: bytes back through Dask)")
    sp.add_argument("--set", action="append", metavar="PATH=VALUE",
                    help="override a field of every run, e.g. --set simulation.duration_s=5 "
                    "(repeatable; wins over the sweep file's [set]; changes the run ids)")
    sp.add_argument("--retry-failed", action="store_true", help="re-run runs that failed")
    sp.add_argument("--allow-large", action="store_true",
                    help=f"skip the pre-flight size checks (more than "
                    f"{10_000:,} runs, or a run larger than the memory estimate allows)")
    sp.add_argument("--dry-run", action="store_true",
                    help="validate and list runs (id, params, done or not); run nothing")
    sp.add_argument("--quiet", action="store_true", help="no progress bar")
    sp.add_argument("--force", action="store_true",
                    help="write into a non-empty --out that is not this sweep's campaign "
                    "(without it: refuse, exit 2; resuming the same sweep needs no --force)")
    sp.set_defaults(func=cmd_sweep)

    sp = subparsers.add_parser("campaign", help="status and summary of a campaign folder")
    sp.add_argument("dir", help="campaign folder")
    sp.add_argument("--metric", action="append", metavar="M",
                    help="summary metric to tabulate (repeatable)")
    sp.set_defaults(func=cmd_campaign)

    sp = subparsers.add_parser("plot-campaign",
                               help="plot a metric against a swept parameter (mean ± 95 %% CI)")
    sp.add_argument("dir", help="campaign folder, or any folder of results files")
    sp.add_argument("--metric", required=True, help="summary metric (y axis)")
    sp.add_argument("--x", required=True, metavar="PARAM", help="swept parameter (x axis)")
    sp.add_argument("--hue", metavar="PARAM", help="swept parameter: one line per value")
    sp.add_argument("--out", required=True, help="output image (PNG, SVG, PDF)")
    sp.add_argument("--xlabel", help="x-axis label (default: the parameter's description)")
    sp.add_argument("--ylabel", help="y-axis label (default: the metric's name and unit)")
    sp.set_defaults(func=cmd_plot_campaign)
