"""Sweeps and campaigns: expansion, run ids, validation before running, resume after a real
crash, failure recording and retries, and identical results on the local pool and on Dask.

Runs use a 1-site (3-cell) scenario of a few hundred simulated ms, so every campaign takes well
under a second of compute; most of the file's time is worker start-up (spawn, Dask).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from helpers import TINY_SWEEP_BASE, write_sweep

from simran.campaigns.analysis import load_campaign, plot_metric, summarize
from simran.campaigns.campaign import _locked, campaign_status, run_campaign, scan_runs
from simran.campaigns.executors import (
    DaskExecutor,
    LocalPoolExecutor,
    SerialExecutor,
    make_executor,
)
from simran.campaigns.runs import run_one
from simran.campaigns.sweep import Point, derive_seeds, expand, load_sweep, run_id
from simran.cli import main as cli
from simran.errors import SweepError
from simran.output.results import load_results
from simran.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]

BASE = TINY_SWEEP_BASE


write = write_sweep


GRID = """
base = "base.toml"
[sweep]
grid = { "slices.0.quota_pct" = [20, 60], "ue_groups.0.count" = [2, 5] }
seeds = [11, 12]
"""


# ------------------------------------------------------------------------------------------
# expansion and seeds


def test_grid_zip_seed_expansion_exact():
    pts = expand({"a": [1, 2], "b": ["x", "y", "z"]}, {"c": [10, 20], "d": [0.1, 0.2]}, [7, 8])
    # grid: first axis slowest; zip rows in lock-step; seeds fastest
    expected = [({"a": a, "b": b, "c": c, "d": d}, r, s)
                for a in (1, 2) for b in "xyz" for c, d in ((10, 0.1), (20, 0.2))
                for r, s in ((0, 7), (1, 8))]
    assert [(p.params, p.replication, p.seed) for p in pts] == expected
    assert expand({}, {}, None) == [Point({}, 0, None)]
    assert expand({"a": [1, 2]}, {}, None) == [Point({"a": 1}), Point({"a": 2})]


def test_derived_seeds_are_seedsequence_children():
    seeds = derive_seeds(42, 5)
    # independent oracle: the documented derivation, r-th child of the root seed
    oracle = [int(np.random.SeedSequence(42, spawn_key=(r,)).generate_state(1, np.uint32)[0])
              for r in range(5)]
    assert seeds == oracle
    assert derive_seeds(42, 3) == seeds[:3]  # more replications never change earlier ones
    assert derive_seeds(43, 5) != seeds and len(set(seeds)) == 5


def test_sweep_file_expansion_and_replications(tmp_path):
    sw = load_sweep(write(tmp_path, """
        base = "base.toml"
        [sweep]
        zip = { "slices.0.quota_pct" = [30, 50], "slices.1.quota_pct" = [70, 50] }
        replications = 3
        root_seed = 9
    """))
    specs = sw.plan()
    assert [s.params for s in specs] == [{"slices.0.quota_pct": 30, "slices.1.quota_pct": 70}] * 3 \
        + [{"slices.0.quota_pct": 50, "slices.1.quota_pct": 50}] * 3
    assert [s.seed for s in specs] == derive_seeds(9, 3) * 2
    assert [s.scenario.simulation.seed for s in specs] == [s.seed for s in specs]
    assert [s.scenario.slices[0].quota_pct for s in specs] == [30.0] * 3 + [50.0] * 3


def test_list_valued_parameter_is_not_an_axis(tmp_path):
    # a list in [set] is a value (the route), not a sweep axis: one run
    sw = load_sweep(write(tmp_path, """
        base = "base.toml"
        [set]
        "ue_groups.0.mobility" = "vehicle"
        "ue_groups.0.speed_mps" = 10
        "ue_groups.0.route" = [[0, 0], [100, 0], [100, 100]]
    """))
    (spec,) = sw.plan()
    assert spec.params == {} and spec.scenario.ue_groups[0].route == [(0, 0), (100, 0),
                                                                       (100, 100)]
    # … and a list can be swept explicitly: each axis value is a whole list
    sw = load_sweep(write(tmp_path, """
        base = "base.toml"
        [set]
        "ue_groups.0.mobility" = "vehicle"
        "ue_groups.0.speed_mps" = 10
        [sweep.grid]
        "ue_groups.0.route" = [[[0, 0], [100, 0]], [[0, 0], [0, 300]]]
    """))
    assert [s.scenario.ue_groups[0].route for s in sw.plan()] == [[(0, 0), (100, 0)],
                                                                  [(0, 0), (0, 300)]]


def test_nested_toml_tables_are_dotted_paths(tmp_path):
    sw = load_sweep(write(tmp_path, """
        base = "base.toml"
        [set.simulation]
        duration_s = 0.1
        [sweep.grid]
        slices.0.quota_pct = [10, 20]
    """))
    assert sw.axes == ["slices.0.quota_pct"] and sw.fixed == {"simulation.duration_s": 0.1}
    specs = sw.plan()
    # [set.simulation] merges into the base's table (the seed of the base survives)
    assert all(s.scenario.simulation.seed == 3 and s.scenario.simulation.duration_s == 0.1
               for s in specs)


# ------------------------------------------------------------------------------------------
# run identity


def test_run_id_stability(tmp_path):
    (tmp_path / "base.toml").write_text(BASE)
    a = load_scenario(tmp_path / "base.toml")
    b = load_scenario(tmp_path / "base.toml", {"slices.0.quota_pct": 60.0})  # same value
    assert run_id(a) == run_id(b) == run_id(a.to_dict()) and len(run_id(a)) == 12
    c = load_scenario(tmp_path / "base.toml", {"slices.0.quota_pct": 60})  # int → resolved float
    assert run_id(c) == run_id(a)
    for change in ({"simulation.seed": 4}, {"slices.0.quota_pct": 59}, {"network.rings": 1},
                   {"output.ue_kpis": True}):
        assert run_id(load_scenario(tmp_path / "base.toml", change)) != run_id(a), change


def test_run_ids_do_not_depend_on_how_the_sweep_is_written(tmp_path):
    a = load_sweep(write(tmp_path, GRID)).plan()
    b = load_sweep(write(tmp_path, """
        base = "base.toml"
        [sweep]
        seeds = [11, 12]
        [sweep.grid]
        slices.0.quota_pct = [20.0, 60.0]
        ue_groups.0.count = [2, 5]
    """, name="other.toml")).plan()
    assert [s.run_id for s in a] == [s.run_id for s in b]
    assert len({s.run_id for s in a}) == 8


# ------------------------------------------------------------------------------------------
# bad sweep files fail before any run


@pytest.mark.parametrize("body, words", [
    ('[sweep]\ngrid = { "slices.0.quota_pctx" = [1, 2] }',
     ["sweep.toml", "slices.0.quota_pctx", "unknown field"]),
    ('[sweep]\ngrid = { "network.rings" = [1, "two"] }',
     ["sweep.toml", "axis 'network.rings'", "'two'"]),
    ('[sweep]\ngrid = { "slices.5.quota_pct" = [1] }',
     ["sweep.toml", "slices.5.quota_pct", "no list element"]),
    ('[sweep]\ngrid = { "slices.0.quota_pct" = [] }',
     ["sweep.toml", "slices.0.quota_pct", "empty axis"]),
    ('[sweep]\ngrid = { "slices.0.quota_pct" = 20 }',
     ["sweep.toml", "slices.0.quota_pct", "must be a list"]),
    ('[sweep]\nzip = { "slices.0.quota_pct" = [1, 2], "network.rings" = [0] }',
     ["sweep.toml", "equal lengths", "'network.rings': 1"]),
    ('[sweep]\ngrid = { "slices.0.quota_pct" = [60, 70] }',  # 70 + 40 > 100 %
     ["sweep.toml", "slices.0.quota_pct' = 70", "100"]),
    ('[sweep]\ngrid = { "slices.0.quota_pct" = [20, 20.0] }',
     ["sweep.toml", "same scenario"]),
    ('[sweep]\ngrid = { "simulation.seed" = [1, 2] }', ["sweep.toml", "seeds = [...]"]),
    ('[sweep]\nseeds = [1]\nreplications = 2', ["sweep.toml", "not both"]),
    ('[sweep]\ngrd = { "network.rings" = [0, 1] }', ["sweep.toml", "grd"]),
    ('[set]\n"network.ringz" = 1', ["sweep.toml", "[set]", "network.ringz"]),
])
def test_bad_sweep_files_fail_before_running(tmp_path, body, words):
    path = write(tmp_path, f'base = "base.toml"\n{body}\n')
    with pytest.raises(SweepError) as err:
        run_campaign(path, tmp_path / "out", executor=SerialExecutor(), quiet=True)
    for w in words:
        assert w in str(err.value), (w, str(err.value))
    assert not (tmp_path / "out").exists()  # nothing ran, nothing was created


@pytest.mark.parametrize("base, words", [
    (BASE.replace("rings = 0", "rings = -1"), ["base scenario is invalid", "network.rings"]),
    (None, ["base.toml", "not found"]),
])
def test_invalid_base_scenario(tmp_path, base, words):
    path = write(tmp_path, GRID, base=base or BASE)
    if base is None:
        (tmp_path / "base.toml").unlink()
    with pytest.raises(SweepError) as err:
        load_sweep(path).plan()
    assert all(w in str(err.value) for w in ["sweep.toml", *words]), str(err.value)


def test_unreachable_dask_scheduler_is_a_clear_error(tmp_path):
    import socket

    with socket.socket() as s:  # a free port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    with pytest.raises(SweepError, match="cannot reach the Dask scheduler"):
        run_campaign(write(tmp_path, GRID), tmp_path / "out",
                     executor=DaskExecutor(f"tcp://127.0.0.1:{port}", timeout_s=1), quiet=True)
    assert time.perf_counter() - t0 < 15
    assert not list((tmp_path / "out" / "runs").iterdir())
    with pytest.raises(SweepError, match="local:N"):
        make_executor(dask="local:zero").__enter__()


def probe(spec):
    if spec.replication == 1:
        raise ValueError("boom")
    return {"blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"), "pid": os.getpid()}


@pytest.mark.slow
def test_local_pool_yields_results_and_exceptions(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    specs = load_sweep(write(tmp_path, GRID)).plan()[:4]
    with LocalPoolExecutor(2) as ex:
        out = {s.run_id: o for s, o in ex.run(probe, specs)}
    assert out.keys() == {s.run_id for s in specs}
    errors = [o for o in out.values() if isinstance(o, BaseException)]
    assert len(errors) == 2 and all(str(e) == "boom" for e in errors)
    # workers run in other processes, each with cpus // workers BLAS threads
    results = [o for o in out.values() if isinstance(o, dict)]
    assert {r["blas_threads"] for r in results} == {str(max(1, os.cpu_count() // 2))}
    assert os.getpid() not in {r["pid"] for r in results}
    assert "OPENBLAS_NUM_THREADS" not in os.environ  # restored after the pool


def test_missing_dask_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    with pytest.raises(SweepError, match=r"pip install simran\[distributed\]"):
        DaskExecutor("local:1").__enter__()


# ------------------------------------------------------------------------------------------
# running, resuming, failures


def test_campaign_runs_only_what_is_missing(tmp_path):
    path = write(tmp_path, GRID)
    out = tmp_path / "out"
    rep = run_campaign(path, out, executor=SerialExecutor(), quiet=True)
    assert (rep.total, rep.done, rep.failed, rep.skipped) == (8, 8, 0, 0)
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "runs").iterdir()}
    rep = run_campaign(path, out, executor=SerialExecutor(), quiet=True)
    assert (rep.done, rep.skipped) == (0, 8)
    assert stamps == {p.name: p.stat().st_mtime_ns for p in (out / "runs").iterdir()}

    df = load_campaign(out)
    assert list(df.columns[:6]) == ["run_id", "status", "replication", "seed",
                                    "slices.0.quota_pct", "ue_groups.0.count"]
    assert len(df) == 8 and (df.status == "done").all()
    assert df["seed"].tolist() == [11, 12] * 4
    # the metrics in the table are the ones in each run's results file
    for row in df.itertuples():
        r = load_results(out / "runs" / f"{row.run_id}.h5")
        assert r.summary["throughput_mbps_mean"] == pytest.approx(row.throughput_mbps_mean)
        assert json.loads(json.dumps(r.scenario)) == r.scenario
        assert r.scenario["simulation"]["seed"] == row.seed
        assert run_id(r.scenario) == row.run_id  # the id is recomputable from the results file
    meta = json.loads((out / "campaign.json").read_text())
    assert meta["sweep_toml"] == path.read_text() and meta["code_version"]["simran_version"]
    rec = json.loads((out / "runs" / f"{df.run_id[0]}.json").read_text())
    assert rec["status"] == "done" and rec["code_version"]["simran_version"] and rec["wall_s"] > 0

    table = summarize(df, ["throughput_mbps_mean"])
    assert len(table) == 4 and (table["n"] == 2).all()
    g = df[(df["slices.0.quota_pct"] == 20) & (df["ue_groups.0.count"] == 2)]
    assert table["throughput_mbps_mean"][0] == pytest.approx(g.throughput_mbps_mean.mean())


def test_metric_selection(tmp_path):
    path = write(tmp_path, GRID.replace("seeds = [11, 12]",
                                        'seeds = [1]\nmetrics = ["energy_kwh", "slice.*"]'))
    run_campaign(path, tmp_path / "out", executor=SerialExecutor(), quiet=True)
    df = load_campaign(tmp_path / "out")           # every summary metric (issue 16)
    assert df.attrs["sweep_metrics"] == ["energy_kwh", "slice.embb.throughput_mbps_mean",
                                         "slice.iot.throughput_mbps_mean"]
    assert "throughput_mbps_mean" in df and "throughput_mbps_mean" in df.attrs["metrics"]
    assert load_campaign(tmp_path / "out", metrics=["energy_kwh"]).attrs["metrics"] == [
        "energy_kwh"]
    with pytest.raises(SweepError, match="match no summary metric"):
        load_campaign(tmp_path / "out", metrics=["no_such_metric"])


def test_failed_runs_are_recorded_and_the_campaign_goes_on(tmp_path):
    # an agent kind passes the schema (a non-empty string) but is resolved only when the run
    # builds its agents: the runs with the unknown kind raise at run time (issue 17 made the
    # earlier trigger, an impossible min_distance_m, a plan-time error)
    path = write(tmp_path, """
        base = "base.toml"
        [sweep.grid]
        "agents" = [[], [{ name = "x", kind = "no_such_kind" }]]
        "slices.0.quota_pct" = [20, 60]
    """)
    out = tmp_path / "out"
    assert cli.main(["sweep", str(path), "--out", str(out), "--workers", "0", "--quiet"]) == 1
    st = campaign_status(out)
    assert (st.total, st.done, st.failed, st.missing) == (4, 2, 2, 0)
    for rec in st.failures:
        assert rec["params"]["agents"] == [{"name": "x", "kind": "no_such_kind"}]
        assert "unknown agent kind 'no_such_kind'" in rec["error"]
        assert "Traceback" in rec["traceback"]
        assert not (out / "runs" / f"{rec['run_id']}.h5").exists()
    df = load_campaign(out)
    assert df.status.tolist() == ["done", "done", "failed", "failed"]
    assert df.loc[df.status == "failed", "throughput_mbps_mean"].isna().all()
    # --retry-failed re-runs (only) the failures: they fail again, the rest is untouched
    done = {r: (out / "runs" / f"{r}.json").stat().st_mtime_ns
            for r in df.run_id[df.status == "done"]}
    first = {r["run_id"]: r["finished"] + str(r["wall_s"]) for r in st.failures}
    # without --retry-failed nothing runs, and the exit code still reports the failures
    assert cli.main(["sweep", str(path), "--out", str(out), "--workers", "0", "--quiet"]) == 1
    assert campaign_status(out).failures == st.failures
    assert cli.main(["sweep", str(path), "--out", str(out), "--workers", "0", "--quiet",
                     "--retry-failed"]) == 1
    again = {r["run_id"]: r["finished"] + str(r["wall_s"]) for r in campaign_status(out).failures}
    assert again.keys() == first.keys() and all(again[k] != first[k] for k in first)
    assert done == {r: (out / "runs" / f"{r}.json").stat().st_mtime_ns for r in done}


# a test-only failure hook: with SIMRAN_TEST_FAIL_QUOTA=<q> set, the run of that quota fails
# inside run_scenario (a transient fault, e.g. a file server that was down); unset, it runs.
def flaky_runner(spec, runs_dir):
    import simran.simulation as sim

    quota = os.environ.get("SIMRAN_TEST_FAIL_QUOTA")
    if quota is None or spec.params.get("slices.0.quota_pct") != float(quota):
        return run_one(spec, runs_dir)

    def unreachable(*args, **kwargs):
        raise OSError("transient: trace server unreachable")

    real, sim.run_scenario = sim.run_scenario, unreachable
    try:
        return run_one(spec, runs_dir)
    finally:
        sim.run_scenario = real


def test_retry_failed_reruns_transient_failures(tmp_path, monkeypatch):
    path = write(tmp_path, GRID)
    out = tmp_path / "out"
    monkeypatch.setenv("SIMRAN_TEST_FAIL_QUOTA", "20")
    rep = run_campaign(path, out, executor=SerialExecutor(), quiet=True, runner=flaky_runner)
    assert (rep.done, rep.failed) == (4, 4)
    assert all("trace server unreachable" in f["error"] and "run_one" in f["traceback"]
               for f in rep.failures)
    kept = _snapshot(out)
    monkeypatch.delenv("SIMRAN_TEST_FAIL_QUOTA")
    rep = run_campaign(path, out, executor=SerialExecutor(), quiet=True, runner=flaky_runner)
    assert (rep.skipped, rep.done, rep.failed) == (8, 0, 0)  # failures are not retried by default
    rep = run_campaign(path, out, executor=SerialExecutor(), quiet=True, runner=flaky_runner,
                       retry_failed=True)
    assert (rep.skipped, rep.done, rep.failed) == (4, 4, 0)
    assert campaign_status(out).done == 8
    after = _snapshot(out)
    assert all(after[k] == v for k, v in kept.items() if k.endswith(".h5"))  # done: untouched


def crashing_runner(spec, runs_dir):
    """Kills its own worker process (as a segfault or the OOM killer would) for one run."""
    if spec.params == {"slices.0.quota_pct": 60, "ue_groups.0.count": 2} and spec.seed == 11:
        os.kill(os.getpid(), signal.SIGKILL)
    return run_one(spec, runs_dir)


@pytest.mark.slow
def test_worker_crash_marks_only_in_flight_runs(tmp_path):
    path = write(tmp_path, GRID)
    out = tmp_path / "out"
    rep = run_campaign(path, out, executor=LocalPoolExecutor(2), quiet=True,
                       runner=crashing_runner)
    assert rep.done + rep.failed == 8 and 1 <= rep.failed <= 2  # the crasher (+ a bystander)
    assert all(f["error"].startswith("WorkerLost") for f in rep.failures)
    assert {"slices.0.quota_pct": 60, "ue_groups.0.count": 2} in [f["params"] for f in
                                                                   rep.failures]
    rep = run_campaign(path, out, executor=SerialExecutor(), quiet=True, retry_failed=True)
    assert rep.done == 8 - rep.skipped and campaign_status(out).done == 8


def _snapshot(out: Path) -> dict:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (out / "runs").iterdir()}


def _children(pid: int) -> list[int]:
    """Live child processes of ``pid`` (Linux /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_resume_after_kill_9(tmp_path):
    # runs of 3 simulated s (~150 ms each) on 1 worker, so the kill lands mid-way
    path = write(tmp_path, GRID.replace("[sweep]", '[set]\n"simulation.duration_s" = 3\n[sweep]'))
    out = tmp_path / "out"
    code = (f"from simran.campaigns.campaign import run_campaign\nfrom simran.campaigns.executors "
            f"import LocalPoolExecutor\nrun_campaign({str(path)!r}, {str(out)!r}, "
            f"executor=LocalPoolExecutor(1), quiet=True)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    children: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while len(scan_runs(out)) < 3 and proc.poll() is None and time.monotonic() < deadline:
            children = _children(proc.pid) or children
            time.sleep(0.01)
        assert proc.poll() is None, "campaign finished before it could be killed"
        children = _children(proc.pid)  # the workers and the resource tracker
        os.kill(proc.pid, signal.SIGKILL)  # the main process only: its workers are orphaned
        proc.wait()
        deadline = time.monotonic() + 20
        while any(map(_alive, children)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(map(_alive, children)), "orphaned workers did not exit"
    finally:
        for pid in filter(_alive, children):
            os.kill(pid, signal.SIGKILL)
    before = {r: rec for r, rec in scan_runs(out).items() if rec["state"] == "done"}
    assert 3 <= len(before) < 8
    kept = _snapshot(out)
    plan = [p["run_id"] for p in json.loads((out / "campaign.json").read_text())["plan"]]
    todo = [r for r in plan if r not in before]
    # what a kill can leave behind: a half-written results file and status record, and a
    # results file renamed into place whose status record was never written
    (out / "runs" / f"{todo[0]}.h5.tmp-99999").write_bytes(b"\x89HDF half written")
    (out / "runs" / f"{todo[0]}.json.tmp-99999").write_text('{"status": "do')
    (out / "runs" / f"{todo[1]}.h5").write_bytes(b"not a complete run")
    assert set(scan_runs(out)) == set(before)  # none of these counts as done

    rep = run_campaign(path, out, executor=SerialExecutor(), quiet=True)
    assert rep.skipped == len(before) and rep.done == 8 - len(before) and rep.failed == 0
    assert rep.removed_temp >= 1
    after = _snapshot(out)
    assert {k: after[k] for k in kept if k.split(".")[0] in before} == \
        {k: v for k, v in kept.items() if k.split(".")[0] in before}  # not redone
    assert not [p for p in (out / "runs").iterdir() if ".tmp" in p.name]
    assert campaign_status(out).done == 8
    for r in todo:
        load_results(out / "runs" / f"{r}.h5")  # complete, real results files


def test_two_campaigns_cannot_share_a_folder(tmp_path):
    out = tmp_path / "out"
    (out / "runs").mkdir(parents=True)
    with _locked(out):
        with pytest.raises(SweepError, match="another simran sweep"):
            run_campaign(write(tmp_path, GRID), out, executor=SerialExecutor(), quiet=True)


# ------------------------------------------------------------------------------------------
# executors give identical results


def _datasets(path: Path) -> dict:
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()])
                     if isinstance(obj, h5py.Dataset) else None)
        out["summary"] = dict(f["summary"].attrs)
        out["seed"] = f.attrs["seed"]
    return out


@pytest.mark.slow
def test_local_pool_and_dask_give_identical_results(tmp_path):
    path = write(tmp_path, GRID.replace("seeds = [11, 12]", "seeds = [5]"))
    local, dask = tmp_path / "local", tmp_path / "dask"
    run_campaign(path, local, executor=LocalPoolExecutor(2), quiet=True)
    ex = DaskExecutor("local:2")
    rep = run_campaign(path, dask, executor=ex, quiet=True)
    assert rep.done == 4 and ex._cluster is None  # the LocalCluster was shut down
    a, b = load_campaign(local), load_campaign(dask)
    assert a.run_id.tolist() == b.run_id.tolist() and (b.status == "done").all()
    for rid in a.run_id:
        da, db = _datasets(local / "runs" / f"{rid}.h5"), _datasets(dask / "runs" / f"{rid}.h5")
        assert da.keys() == db.keys() and len(da) > 10
        for k in da:
            if isinstance(da[k], np.ndarray) and da[k].dtype.kind == "f":
                np.testing.assert_array_equal(da[k], db[k], err_msg=k)
            else:
                assert np.all(da[k] == db[k]) if isinstance(da[k], np.ndarray) else \
                    da[k] == db[k], k
    # different seeds do give different results (the comparison above can fail)
    assert a.throughput_mbps_mean.nunique() > 1


# ------------------------------------------------------------------------------------------
# CLI, plots, imports


def test_cli_dry_run_status_and_plot(tmp_path, capsys):
    path = write(tmp_path, GRID)
    out = tmp_path / "out"
    assert cli.main(["sweep", str(path), "--out", str(out), "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert text.count("will run") == 8 and "8 runs, 0 kept, 8 to run" in text
    assert not out.exists()
    assert cli.main(["sweep", str(path), "--out", str(out), "--workers", "0", "--quiet"]) == 0
    capsys.readouterr()
    assert cli.main(["sweep", str(path), "--out", str(out), "--dry-run"]) == 0
    assert capsys.readouterr().out.count(" done ") == 8
    assert cli.main(["campaign", str(out), "--metric", "throughput_mbps_mean"]) == 0
    text = capsys.readouterr().out
    assert "8 done, 0 failed, 0 missing" in text and "throughput_mbps_mean" in text
    assert "slices.0.quota_pct" in text and " ± " in text
    png = tmp_path / "p.png"
    assert cli.main(["plot-campaign", str(out), "--metric", "throughput_mbps_mean",
                     "--x", "slices.0.quota_pct", "--hue", "ue_groups.0.count",
                     "--out", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    # x without hue while another axis varies would average different configurations
    assert cli.main(["plot-campaign", str(out), "--metric", "throughput_mbps_mean",
                     "--x", "slices.0.quota_pct", "--out", str(png)]) == 2
    assert "also vary" in capsys.readouterr().err
    df = load_campaign(out)
    fig = plot_metric(df[df["ue_groups.0.count"] == 2], "throughput_mbps_mean",
                      x="slices.0.quota_pct")
    line = fig.axes[0].lines[0]  # the data line (the others are error-bar caps)
    assert line.get_xdata().tolist() == [20, 60]
    means = df[df["ue_groups.0.count"] == 2].groupby("slices.0.quota_pct").throughput_mbps_mean
    np.testing.assert_allclose(np.asarray(line.get_ydata(), float), means.mean().to_numpy())
    assert cli.main(["campaign", str(tmp_path / "nope")]) == 2
    assert "not a campaign folder" in capsys.readouterr().err


def test_import_simran_does_not_import_dask_or_matplotlib():
    code = ("import sys, simran, simran.campaigns.sweep, simran.campaigns.executors, "
            "simran.campaigns.campaign, simran.campaigns.analysis, simran.cli.sweep\n"
            "bad = [m for m in ('dask', 'distributed', 'matplotlib') if m in sys.modules]\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ,
                                                                  "PYTHONPATH": str(ROOT)})


def test_example_sweep_file_validates():
    sw = load_sweep(ROOT / "scenarios" / "sweeps" / "quota_vs_load.toml")
    specs = sw.plan()
    assert len(specs) == len(sw.points()) >= 12 and len(sw.axes) == 2
