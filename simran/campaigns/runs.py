"""One run of a campaign, as executed in a worker: run a spec, write its results file and then
its status record, atomically (:mod:`simran.campaigns.campaign` describes the folder layout).

Shared by the campaign (local executors) and :mod:`simran.campaigns.transfer` (cluster workers
without the campaign folder), so neither imports the other.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import os
import socket
import time
import traceback
from pathlib import Path

from simran.campaigns.sweep import RunSpec
from simran.errors import SweepError, describe_oserror


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def write_json_atomic(path: Path, data: dict) -> None:
    """Write JSON to ``<path>.tmp-<pid>``, fsync, rename: readers never see half a file.

    Raises
    ------
    SweepError
        On a full disk, a read-only folder or a missing permission (naming the path); the
        temporary file is removed and ``path`` keeps its previous content.
    """
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, sort_keys=True, default=str)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise SweepError(describe_oserror(exc, "write", path)) from None


@functools.lru_cache(maxsize=1)
def code_version() -> dict:
    """simran version, git commit and dirty flag (cached per process)."""
    from simran.output.results import code_version as _cv

    return _cv()




def _record(spec: RunSpec, **extra) -> dict:
    return {"run_id": spec.run_id, "params": spec.params, "replication": spec.replication,
            "seed": spec.seed, "results_file": f"{spec.run_id}.h5", "error": None,
            "traceback": None, "summary": {}, "host": socket.gethostname(), "pid": os.getpid(),
            "finished": _now(), **extra}


def run_one(spec: RunSpec, runs_dir: str) -> dict:
    """Run one spec, write ``<run_id>.h5`` and then ``<run_id>.json``; return the record.

    Any exception of the run is caught and recorded (status ``failed``, error, traceback): one
    bad run never stops the campaign.
    """
    runs = Path(runs_dir)
    t0 = time.perf_counter()
    try:
        from simran.simulation import run_scenario

        (runs / f"{spec.run_id}.h5").unlink(missing_ok=True)  # a stale, unconfirmed file
        res = run_scenario(spec.scenario, runs / f"{spec.run_id}.h5", quiet=True)
        outcome = {"status": "done", "summary": {k: float(v) for k, v in res.summary.items()}}
    except Exception as exc:  # noqa: BLE001 - recorded, the campaign goes on
        outcome = {"status": "failed", "error": f"{type(exc).__name__}: {exc}",
                   "traceback": traceback.format_exc()}
    rec = _record(spec, **outcome, wall_s=time.perf_counter() - t0,
                  code_version=code_version())
    write_json_atomic(runs / f"{spec.run_id}.json", rec)
    return rec


def _record_lost(runs: Path, spec: RunSpec, exc: BaseException) -> dict:
    """Record a run whose worker never reported (crash) or whose runner raised."""
    rec = _record(spec, status="failed", error=f"{type(exc).__name__}: {exc}",
                  traceback="".join(traceback.format_exception(exc)), wall_s=None,
                  code_version=None)
    write_json_atomic(runs / f"{spec.run_id}.json", rec)
    return rec
