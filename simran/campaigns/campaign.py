"""Campaigns: a folder of runs that runs only what is missing and survives crashes (design §8).

Layout of a campaign folder (SEM's model, style.md point 9)::

    <out>/campaign.json        sweep file copy, base scenario copy, created/updated, code version,
                               the axes, the selected metrics and the plan (every run's id, params,
                               replication and seed)
    <out>/runs/<run_id>.h5     the run's results file (written atomically by simran.output.results)
    <out>/runs/<run_id>.json   the run's status record, written atomically after the .h5:
                               status done/failed, params, replication, seed, summary metrics,
                               error + traceback, wall_s, code version, host, pid

A run is **done** iff its ``.json`` says done *and* its ``.h5`` exists; everything else is
missing (or failed), so a campaign killed at any instant — even ``kill -9`` of the main process
or of a worker — resumes by re-running exactly the runs that have no complete pair. Temporary
files (``*.tmp*``) are never taken as done and are removed when a campaign starts. There is no
index to keep consistent: the state is derived by scanning ``runs/``. A lock file keeps two
campaigns from writing the same folder at once.

:func:`campaign_status` counts a folder against its plan; the results of a campaign are read and
summarised by :mod:`simran.campaigns.analysis` (``load_campaign``, ``summarize``, ``plot_metric``).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from simran.campaigns.executors import Executor, make_executor
from simran.campaigns.runs import (
    _now,
    _record_lost,
    code_version,
    run_one,
    write_json_atomic,
)
from simran.campaigns.sweep import RunSpec, Sweep, canonical_json, load_sweep
from simran.errors import SweepError, describe_oserror

CAMPAIGN_FILE = "campaign.json"
RUNS_DIR = "runs"
LOCK_FILE = ".lock"
RunFn = Callable[[RunSpec, str], dict]  # (spec, runs_dir) -> status record, run in a worker


# --------------------------------------------------------------------------------------------
# files


def _read_json(path: Path) -> dict | None:
    try:
        with path.open(encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def scan_runs(out: str | Path) -> dict[str, dict]:
    """Every run record in ``<out>/runs``, with ``state`` = done / failed (run id → record)."""
    runs = Path(out) / RUNS_DIR
    records = {}
    for p in sorted(runs.glob("*.json")) if runs.is_dir() else ():
        rec = _read_json(p)
        if not rec or rec.get("run_id") != p.stem:
            continue  # not ours (or edited by hand): the run counts as missing
        done = rec.get("status") == "done" and (runs / f"{p.stem}.h5").is_file()
        rec["state"] = "done" if done else "failed" if rec.get("status") == "failed" else "missing"
        if rec["state"] != "missing":
            records[p.stem] = rec
    return records


def clean_temp(out: str | Path) -> list[Path]:
    """Remove half-written files (``*.tmp*``) left by killed runs; return what was removed."""
    runs = Path(out) / RUNS_DIR
    stale = [p for p in runs.glob("*.tmp*")] if runs.is_dir() else []
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


@contextlib.contextmanager
def _locked(out: Path):
    """Hold an exclusive lock on the folder (released by the OS even after kill -9)."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; campaigns must not overlap
        yield
        return
    with (out / LOCK_FILE).open("a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            raise SweepError(f"{out}: another simran sweep is running on this campaign folder "
                             f"(pid {fh.read().strip() or '?'})") from None
        fh.truncate(0)
        fh.write(str(os.getpid()))
        fh.flush()
        yield


def _write_campaign(out: Path, sweep: Sweep, specs: list[RunSpec]) -> None:
    old = _read_json(out / CAMPAIGN_FILE) or {}
    write_json_atomic(out / CAMPAIGN_FILE, {
        "format": "simran-campaign", "format_version": 1,
        "created": old.get("created", _now()), "updated": _now(),
        "sweep_file": str(sweep.path.resolve()), "sweep_toml": sweep.path.read_text("utf-8"),
        "base_file": str(sweep.base_path), "base_toml": sweep.base_path.read_text("utf-8"),
        "code_version": code_version(), "axes": sweep.axes, "metrics": sweep.metrics,
        "plan": [{"run_id": s.run_id, "params": s.params, "replication": s.replication,
                  "seed": s.seed} for s in specs]})


# --------------------------------------------------------------------------------------------
# running a campaign


@dataclass
class CampaignReport:
    """What :func:`run_campaign` did."""

    out: Path
    total: int
    skipped: int = 0
    done: int = 0
    failed: int = 0
    wall_s: float = 0.0
    executor: str = ""
    failures: list[dict] = field(default_factory=list)
    removed_temp: int = 0

    @property
    def missing(self) -> int:
        return self.total - self.skipped - self.done - self.failed


def pending(specs: list[RunSpec], records: dict[str, dict], retry_failed: bool = False
            ) -> list[RunSpec]:
    """The specs to run: missing ones, and failed ones with ``retry_failed``."""
    todo_states = ("missing", "failed") if retry_failed else ("missing",)
    return [s for s in specs if records.get(s.run_id, {}).get("state", "missing") in todo_states]


def run_campaign(sweep: str | Path | Sweep, out: str | Path, *, executor: Executor | None = None,
                 retry_failed: bool = False, quiet: bool = False,
                 runner: RunFn = run_one) -> CampaignReport:
    """Run the runs of a sweep that ``out`` does not hold yet.

    Parameters
    ----------
    sweep : path or Sweep
        The sweep file; every run is resolved and validated before anything runs.
    out : path
        Campaign folder (created if needed).
    executor : Executor, optional
        Default: a :class:`~simran.campaigns.executors.LocalPoolExecutor` with one worker per CPU.
    retry_failed : bool
        Also re-run runs recorded as failed.
    quiet : bool
        No progress bar and no failure lines.
    runner : callable(spec, runs_dir) -> record
        What a worker runs (default :func:`run_one`; benchmarks pass a no-op).
    """
    sweep = sweep if isinstance(sweep, Sweep) else load_sweep(sweep)
    specs = sweep.plan()
    out = Path(out)
    try:
        (out / RUNS_DIR).mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise SweepError(f"{out}: cannot create the campaign folder: a file is in the "
                         "way") from None
    except OSError as exc:
        raise SweepError(describe_oserror(exc, "create the campaign folder", out)) from None
    with _locked(out):
        report = CampaignReport(out=out, total=len(specs), removed_temp=len(clean_temp(out)))
        _write_campaign(out, sweep, specs)
        todo = pending(specs, scan_runs(out), retry_failed)
        report.skipped = len(specs) - len(todo)
        if todo:
            _execute(executor or make_executor(min(len(todo), os.cpu_count() or 1)), runner,
                     todo, out, report, quiet)
    return report


def _execute(executor: Executor, runner: RunFn, todo: list[RunSpec], out: Path,
             report: CampaignReport, quiet: bool) -> None:
    from tqdm import tqdm

    runs = out / RUNS_DIR
    fn = functools.partial(runner, runs_dir=str(runs))
    t0 = time.perf_counter()
    ship = runner is run_one and getattr(executor, "ships_results", False)
    with executor as ex, tqdm(total=len(todo), unit="run", desc="sweep", disable=quiet,
                              dynamic_ncols=True) as bar:
        report.executor = ex.description
        if not quiet:
            bar.write(f"{out}: {report.total} runs, {report.skipped} kept, {len(todo)} to run "
                      f"on {ex.description}")
        for spec, outcome in _shipped(ex, todo) if ship else ex.run(fn, todo):
            try:
                rec = _store(runs, spec, outcome)
            except SweepError as exc:   # the disk is full or read-only: stop, keep what is done
                raise SweepError(f"campaign {out} stopped: {exc}; the {report.done} runs "
                                 "finished now and the runs kept before are on disk — free "
                                 "space and run the same command again to resume") from None
            if rec.get("status") == "done":
                report.done += 1
            else:
                report.failed += 1
                report.failures.append(rec)
                if not quiet:
                    bar.write(f"run {spec.run_id} {spec.params} failed: {_last_line(rec)}")
            bar.update()
            # counts of this session's runs, as the bar's n/total: ok + failed = n (issue 16)
            bar.set_postfix(ok=report.done, failed=report.failed,
                            remaining=len(todo) - report.done - report.failed, refresh=False)
    report.wall_s = time.perf_counter() - t0


def _shipped(ex, todo: list[RunSpec]):
    """Runs on workers without the campaign folder: inputs go with the task, results come back
    (:mod:`simran.campaigns.transfer`); each distinct set of input files is read once."""
    from simran.campaigns.transfer import input_bundle, run_shipped

    cache: dict = {}
    bundles = {s.run_id: input_bundle(s.scenario, cache) for s in todo}
    fn = functools.partial(run_shipped, output_url=getattr(ex, "output_url", None))
    return ex.run(fn, todo, inputs=lambda s: bundles[s.run_id])


def _store(runs: Path, spec: RunSpec, outcome) -> dict:
    """The record of a completion, with everything it needs on disk in ``runs``.

    A shipped result is written here (``.h5`` then ``.json``); a lost run is recorded as
    failed; a run reported done whose results file is not in ``runs`` (a worker that wrote it
    to a disk this machine does not see) is recorded as failed, never counted as done.
    """
    from simran.campaigns.transfer import is_shipped, store_shipped

    if is_shipped(outcome):
        return store_shipped(runs, spec, outcome)
    if not isinstance(outcome, dict):
        return _record_lost(runs, spec, outcome)
    if outcome.get("status") == "done" and not (runs / f"{spec.run_id}.h5").is_file():
        return _record_lost(runs, spec, SweepError(
            f"the worker ({outcome.get('host')}, pid {outcome.get('pid')}) reported this run "
            f"done but {runs / f'{spec.run_id}.h5'} is not there: it wrote to a disk this "
            "machine does not see (no shared file system?); use --dask, which ships results "
            "back, and re-run with --retry-failed"))
    return outcome


def _last_line(rec: dict) -> str:
    lines = (rec.get("error") or "").strip().splitlines()
    return lines[-1] if lines else "(no error message)"


# --------------------------------------------------------------------------------------------
# reading a campaign


def campaign_meta(out: Path) -> dict:
    """The ``campaign.json`` of a campaign folder ({} if unreadable); raise if it is none."""
    if not (out / CAMPAIGN_FILE).is_file() and not (out / RUNS_DIR).is_dir():
        raise SweepError(f"{out}: not a campaign folder (no {CAMPAIGN_FILE}, no {RUNS_DIR}/)")
    return _read_json(out / CAMPAIGN_FILE) or {}


@dataclass
class CampaignStatus:
    """Counts of a campaign folder against its plan, and the failed runs."""

    total: int
    done: int
    failed: int
    missing: int
    extra: int = 0  # records not in the current plan (from an earlier sweep file)
    failures: list[dict] = field(default_factory=list)
    code_versions: list[dict] = field(default_factory=list)


def campaign_status(path: str | Path) -> CampaignStatus:
    """Done / failed / missing counts, failed runs (with errors) and the code versions used."""
    out = Path(path)
    plan = [p["run_id"] for p in campaign_meta(out).get("plan", [])]
    records = scan_runs(out)
    states = [records.get(r, {}).get("state", "missing") for r in plan]
    failures = [records[r] for r, s in zip(plan, states) if s == "failed"]
    versions = {canonical_json(r.get("code_version")): r.get("code_version")
                for r in records.values() if r["state"] == "done"}
    return CampaignStatus(total=len(plan), done=states.count("done"),
                          failed=states.count("failed"), missing=states.count("missing"),
                          extra=len(set(records) - set(plan)), failures=failures,
                          code_versions=list(versions.values()))
