"""Campaigns on a cluster without a shared file system (issue 19).

A real ``dask scheduler`` and ``dask worker`` processes (the CLI, started here as subprocesses),
each in a working directory of its own. Where ``unshare -m`` works (root on Linux) every worker
runs in a mount namespace whose view of the client's folder — the sweep, the scenario, its
input files and the campaign folder — is an empty tmpfs: what a cloud worker sees. The results
must come back through Dask and be identical, bit for bit (wall-time fields aside), to the local
pool's; a worker killed mid-run is retried; a scheduler that goes away ends the campaign with a
clear message and keeps every finished run. The unit tests at the end need no cluster.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from simran.campaigns.campaign import campaign_status, run_campaign, scan_runs
from simran.campaigns.executors import DaskExecutor, LocalPoolExecutor, SerialExecutor
from simran.campaigns.runs import run_one
from simran.campaigns.sweep import load_sweep
from simran.campaigns.transfer import (
    InputMissing,
    _climb,
    input_bundle,
    materialise,
    run_shipped,
    store_shipped,
)
from simran.cli import main as cli
from simran.output.results import load_results

ROOT = Path(__file__).resolve().parents[1]
DASK = Path(sys.executable).with_name("dask")

BASE = """
name = "cluster"
[simulation]
duration_s = {duration_s}
seed = 3
[network]
rings = 0
[[slices]]
name = "embb"
quota_pct = 60
[[slices]]
name = "iot"
quota_pct = 40
[[ue_groups]]
name = "phones"
count = 4
slice = "embb"
[[ue_groups]]
name = "cars"
slice = "iot"
mobility = "trace"
trace = {{ file = "{trace}", ids = ["veh_01", "veh_02"], cell = 0 }}
[output]
ue_kpis = false
[[agents]]
name = "quota"
kind = "agents/quota_agent.py:QuotaFromFile"
loop = "non_rt"
period_ms = 100
latency = "fixed:1"
params = {{ table = "../tables/quota.txt" }}
"""

AGENT = '''
from pathlib import Path

from simran.control import SetSliceQuota
from simran.hooks import Agent, Decision


class QuotaFromFile(Agent):
    """Sets the eMBB quota to the number in the file ``params.table`` names."""

    def __init__(self, ctx):
        super().__init__(ctx)
        path = Path(ctx.params["table"])
        path = path if path.is_absolute() else ctx.base_dir / path
        self.quota = float(path.read_text().split()[0])

    def decide(self, obs):
        return Decision(actions=[SetSliceQuota(slice="embb", quota_pct=self.quota)],
                        note=f"quota {self.quota:g} from the table")
'''

SWEEP = """
base = "../scn/base.toml"
[sweep]
grid = {{ "ue_groups.0.count" = {counts} }}
seeds = {seeds}
"""


def make_client_tree(root: Path, *, duration_s: float = 0.3, counts=(2, 5), seeds=(1, 2),
                     trace: str = "../data/traces.h5") -> Path:
    """The client's folder: a sweep, its base scenario and three input files (a trace set, an
    agent file, a table the agent reads) laid out so that paths climb with ``..``."""
    (root / "scn" / "agents").mkdir(parents=True)
    (root / "sweeps").mkdir()
    (root / "tables").mkdir()
    (root / "data").mkdir()
    shutil.copy(ROOT / "datasets" / "synthetic_78.h5", root / "data" / "traces.h5")
    (root / "tables" / "quota.txt").write_text("35\n")
    (root / "scn" / "agents" / "quota_agent.py").write_text(AGENT)
    (root / "scn" / "base.toml").write_text(BASE.format(duration_s=duration_s, trace=trace))
    path = root / "sweeps" / "sweep.toml"
    path.write_text(SWEEP.format(counts=list(counts), seeds=list(seeds)))
    return path


def _namespaces_work() -> bool:
    if not shutil.which("unshare") or not sys.platform.startswith("linux"):
        return False
    try:
        return subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                               "mount -t tmpfs none /mnt"], capture_output=True,
                              timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


class Cluster:
    """A ``dask scheduler`` and ``n`` ``dask worker`` processes (one process, one thread each),
    each started in its own folder; with ``hide`` the workers run in a mount namespace where
    that folder is an empty tmpfs."""

    def __init__(self, tmp: Path, n: int, hide: Path | None):
        self.tmp, self.hide = tmp, hide
        self.sched_file = tmp / "scheduler.json"
        self.procs: list[subprocess.Popen] = []
        self.workers: list[subprocess.Popen] = []
        env = {**os.environ, "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False"}
        sdir = tmp / "scheduler"
        sdir.mkdir()
        self.scheduler = self._start(
            [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(self.sched_file)], sdir, env)
        deadline = time.monotonic() + 60
        while not self.sched_file.is_file() or not self.sched_file.read_text().strip():
            if time.monotonic() > deadline or self.scheduler.poll() is not None:
                self.close()
                raise RuntimeError("the dask scheduler did not start")
            time.sleep(0.1)
        self.address = json.loads(self.sched_file.read_text())["address"]
        for i in range(n):
            self.add_worker(i, env)
        from distributed import Client

        with Client(self.address, timeout=30) as c:
            c.wait_for_workers(n, timeout=120)

    def _start(self, cmd: list[str], cwd: Path, env: dict) -> subprocess.Popen:
        p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                             stderr=(cwd / "log.txt").open("w"), start_new_session=True)
        self.procs.append(p)
        return p

    def add_worker(self, i: int, env: dict) -> None:
        wdir = self.tmp / f"worker{i}"
        (wdir / "tmp").mkdir(parents=True)
        cmd = [str(DASK), "worker", self.address, "--nworkers", "1", "--nthreads", "1",
               "--no-dashboard", "--name", f"w{i}", "--local-directory", str(wdir / "dask")]
        if self.hide is not None:
            cmd = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                   f'mount -t tmpfs simran-hidden "{self.hide}" && exec "$@"', "sh", *cmd]
        self.workers.append(self._start(cmd, wdir, {**env, "TMPDIR": str(wdir / "tmp")}))

    def kill_scheduler(self) -> None:
        os.killpg(self.scheduler.pid, signal.SIGKILL)
        self.scheduler.wait(10)

    def close(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for p in self.procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(5)


@pytest.fixture
def cluster(tmp_path):
    """Factory: ``cluster(n)`` → a started :class:`Cluster` hiding ``tmp_path/"client"``."""
    client_root = tmp_path / "client"
    client_root.mkdir()
    hide = client_root if _namespaces_work() else None
    started = []

    def start(n: int = 2) -> Cluster:
        c = Cluster(tmp_path, n, hide)
        started.append(c)
        return c

    yield start
    for c in started:
        c.close()


def _compare(a: Path, b: Path) -> int:
    """Every dataset and attribute of two results files equal, bit for bit, except wall-time
    fields (``run_info``: wall_s, sim_s_per_wall_s; ``decisions/wall_s``: the measured time an
    agent took; ``created_utc``; ``git_*``). Returns the number of datasets compared."""
    n = 0
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        names_a, names_b = [], []
        fa.visit(names_a.append)
        fb.visit(names_b.append)
        assert names_a == names_b
        for name in names_a:
            oa, ob = fa[name], fb[name]
            if isinstance(oa, h5py.Dataset) and "wall" not in name.rsplit("/", 1)[-1]:
                x, y = oa[()], ob[()]
                if isinstance(x, np.ndarray) and x.dtype.kind == "f":
                    assert x.shape == y.shape and np.array_equal(x, y, equal_nan=True), name
                else:
                    assert np.array_equal(np.asarray(x), np.asarray(y)), name
                n += 1
            if name != "run_info":
                assert {k: str(v) for k, v in oa.attrs.items()} == \
                    {k: str(v) for k, v in ob.attrs.items()}, name
        # the code version is read once per process: git_dirty flips when others edit the tree
        # between two worker start-ups (the simulation code is the same)
        def keep(k):
            return k != "created_utc" and not k.startswith("git")

        assert {k: str(v) for k, v in fa.attrs.items() if keep(k)} == \
            {k: str(v) for k, v in fb.attrs.items() if keep(k)}
    return n


# ------------------------------------------------------------------------------------------
# a real scheduler and workers in their own processes and folders


@pytest.mark.slow
def test_cluster_without_shared_folder_matches_local_pool(tmp_path, cluster):
    client_root = tmp_path / "client"
    sweep = make_client_tree(client_root)
    c = cluster(2)
    from distributed import Client

    with Client(c.address, timeout=30) as client:
        seen = client.run(os.path.exists, str(sweep))
        cwds = client.run(os.getcwd)
        pids = set(client.run(os.getpid).values())
    assert len(seen) == 2 and len(set(cwds.values())) == 2  # two workers, two folders
    if c.hide is not None:  # the strict case: the workers cannot see the client's folder
        assert not any(seen.values()), seen
    else:
        pytest.skip("unshare -m is not available: workers could see the client's folder")
    rep = run_campaign(sweep, client_root / "dask", executor=DaskExecutor(c.address),
                       quiet=True)
    assert (rep.done, rep.failed) == (4, 0), rep.failures
    local = run_campaign(sweep, client_root / "local", executor=LocalPoolExecutor(2),
                         quiet=True)
    assert local.done == 4
    dask_recs, local_recs = scan_runs(client_root / "dask"), scan_runs(client_root / "local")
    assert sorted(dask_recs) == sorted(local_recs)  # same run ids
    assert {r["pid"] for r in dask_recs.values()} <= pids  # computed by the workers
    for rid in local_recs:
        a, b = (client_root / x / "runs" / f"{rid}.h5" for x in ("local", "dask"))
        assert _compare(a, b) > 10
        assert dask_recs[rid]["summary"] == local_recs[rid]["summary"]
        res = load_results(b)
        # the inputs were really used: the agent read the table (35 %), the trace UEs drove
        assert (res.decisions["note"] == "quota 35 from the table").any()
        assert res.scenario["ue_groups"][1]["trace"]["file"] == "../data/traces.h5"
    # different seeds give different results (the comparison above can fail)
    assert len({json.dumps(r["summary"], sort_keys=True) for r in dask_recs.values()}) == 4
    # resume: nothing to run again
    assert run_campaign(sweep, client_root / "dask", executor=DaskExecutor(c.address),
                        quiet=True).skipped == 4

    # results through object storage (a file:// URL outside the hidden folder stands in for
    # s3://): same files again, and the objects stay in the bucket
    if __import__("importlib").util.find_spec("fsspec") is not None:
        bucket = tmp_path / "bucket"
        assert cli.main(["sweep", str(sweep), "--out", str(client_root / "url"), "--dask",
                         c.address, "--output-url", bucket.as_uri(), "--quiet"]) == 0
        assert sorted(p.stem for p in bucket.glob("*.h5")) == sorted(local_recs)
        for rid in local_recs:
            _compare(client_root / "local" / "runs" / f"{rid}.h5",
                     client_root / "url" / "runs" / f"{rid}.h5")

    # an absolute input path the workers do not have: a failed run naming the input (exit 1)
    other = tmp_path / "client" / "abs"
    other.mkdir()
    sweep2 = make_client_tree(other, counts=(2,), seeds=(1,),
                              trace=str(other / "data" / "traces.h5"))
    code = cli.main(["sweep", str(sweep2), "--out", str(other / "c"), "--dask", c.address,
                     "--quiet"])
    assert code == 1
    (rec,) = campaign_status(other / "c").failures
    assert rec["error"].startswith("InputMissing: input ue_groups.1.trace.file = ")
    assert "absolute path" in rec["error"] and "relative to the scenario file" in rec["error"]


def _kill_a_busy_worker(address: str, box: dict) -> None:
    from distributed import Client

    with Client(address, timeout=30) as client:
        pids = client.run(os.getpid)
        box["ready"] = True
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            busy = {w: ks for w, ks in client.processing().items()
                    if any(str(k).startswith("simran-run-") for k in ks)}
            if busy:
                worker, keys = next(iter(busy.items()))
                pid = pids[worker]
                box.update(pid=pid, keys=[str(k) for k in keys])
                os.kill(pid, signal.SIGKILL)
                return
            time.sleep(0.05)


@pytest.mark.slow
def test_cluster_worker_killed_mid_run_is_retried(tmp_path, cluster):
    client_root = tmp_path / "client"
    # runs of about a second each (the 1-cell network simulates ~60 s per CPU second)
    sweep = make_client_tree(client_root, duration_s=60.0, counts=(20, 40), seeds=(1,))
    c = cluster(2)
    box: dict = {}
    killer = threading.Thread(target=_kill_a_busy_worker, args=(c.address, box))
    killer.start()
    while not box.get("ready") and killer.is_alive():
        time.sleep(0.01)
    rep = run_campaign(sweep, client_root / "c", executor=DaskExecutor(c.address), quiet=True)
    killer.join()
    assert box.get("pid"), "no run was seen in flight"
    assert (rep.done, rep.failed) == (2, 0), rep.failures  # the killed run ran again
    recs = scan_runs(client_root / "c")
    killed = [r for r in recs.values() if any(r["run_id"] in k for k in box["keys"])]
    # the run was in flight on the killed worker: it finished on another process
    assert killed and all(r["pid"] != box["pid"] for r in killed)
    local = run_campaign(sweep, client_root / "local", executor=SerialExecutor(), quiet=True)
    assert local.done == 2
    for rid in recs:
        _compare(client_root / "local" / "runs" / f"{rid}.h5",
                 client_root / "c" / "runs" / f"{rid}.h5")


@pytest.mark.slow
def test_cluster_scheduler_lost_ends_campaign_and_keeps_finished_runs(tmp_path, cluster):
    client_root = tmp_path / "client"
    sweep = make_client_tree(client_root, duration_s=20.0, counts=(1, 2, 3, 4, 5, 6),
                             seeds=(1, 2))
    c = cluster(1)
    out = client_root / "c"
    proc = subprocess.Popen([sys.executable, "-m", "simran.cli.main", "sweep", str(sweep),
                             "--out", str(out), "--dask", c.address, "--quiet"],
                            cwd=client_root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list((out / "runs").glob("*.json"))) >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    c.kill_scheduler()
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 2, (stdout, stderr)
    assert "lost the Dask scheduler" in stderr and "run the same command again" in stderr
    st = campaign_status(out)
    assert 2 <= st.done < 12 and st.failed == 0 and st.missing == 12 - st.done
    for rid, rec in scan_runs(out).items():  # every finished run is whole
        assert rec["state"] == "done"
        assert load_results(out / "runs" / f"{rid}.h5").summary
    assert not list((out / "runs").glob("*.tmp*"))
    # resume elsewhere: the finished runs are kept, only the rest runs
    rep = run_campaign(sweep, out, executor=SerialExecutor(), quiet=True)
    assert rep.skipped == st.done and rep.done == 12 - st.done


# ------------------------------------------------------------------------------------------
# no cluster: transfer, checksums, lost results


def test_climb_and_materialise_keep_the_layout(tmp_path):
    assert [_climb(p) for p in ("a.h5", "../a", "../../x/a", "a/../../b", "./a/b/..")] == \
        [0, 1, 2, 1, 0]
    sweep = make_client_tree(tmp_path / "client")
    spec = load_sweep(sweep).plan()[0]
    bundle = input_bundle(spec.scenario)
    assert [f.field for f in bundle.files] == ["ue_groups.1.trace.file", "agents.0.kind",
                                               "agents.0.params.table"]
    assert bundle.depth == 1 and all(f.data for f in bundle.files)
    base = materialise(bundle, tmp_path / "w")
    for f in bundle.files:
        got = Path(os.path.normpath(base / f.given)).read_bytes()
        assert hashlib.sha256(got).hexdigest() == f.sha256
        assert Path(os.path.normpath(base / f.given)).is_relative_to(tmp_path / "w")
    # same inputs, same key; another table, another key
    assert input_bundle(spec.scenario).key == bundle.key
    (tmp_path / "client" / "tables" / "quota.txt").write_text("36\n")
    assert input_bundle(spec.scenario).key != bundle.key


def test_shipped_run_identical_and_damaged_transfer_is_a_failure(tmp_path):
    sweep = make_client_tree(tmp_path / "client", counts=(2,), seeds=(1,))
    (spec,) = load_sweep(sweep).plan()
    local = tmp_path / "local"
    local.mkdir()
    assert run_one(spec, str(local))["status"] == "done"
    out = run_shipped(spec, input_bundle(spec.scenario))
    assert out["record"]["status"] == "done"
    runs = tmp_path / "runs"
    runs.mkdir()
    rec = store_shipped(runs, spec, out)
    assert rec["status"] == "done" and scan_runs(tmp_path)[spec.run_id]["state"] == "done"
    assert _compare(local / f"{spec.run_id}.h5", runs / f"{spec.run_id}.h5") > 10
    # one flipped byte in transit: not stored, recorded as failed (retried by --retry-failed)
    bad = dict(out, results=out["results"][:100] + bytes([out["results"][100] ^ 1])
               + out["results"][101:])
    rec = store_shipped(runs, spec, bad)
    assert rec["status"] == "failed" and "arrived damaged" in rec["error"]
    assert not (runs / f"{spec.run_id}.h5").exists()
    assert scan_runs(tmp_path)[spec.run_id]["state"] == "failed"


def test_unreadable_input_fails_the_run_naming_it(tmp_path):
    sweep = make_client_tree(tmp_path / "client", counts=(2,), seeds=(1,))
    (spec,) = load_sweep(sweep).plan()
    (tmp_path / "client" / "data" / "traces.h5").unlink()
    out = run_shipped(spec, input_bundle(spec.scenario))
    assert out["results"] is None and out["record"]["status"] == "failed"
    assert out["record"]["error"].startswith("InputMissing: input ue_groups.1.trace.file = "
                                             "'../data/traces.h5': the client could not read")
    with pytest.raises(InputMissing):
        materialise(input_bundle(spec.scenario), tmp_path / "w")


def test_results_written_where_the_client_cannot_see_exit_1(tmp_path, monkeypatch, capsys):
    """The issue's failure: workers report done but wrote their results to their own disk.
    The campaign counts those runs as failed, says why and exits 1 (it exited 0)."""
    sweep = make_client_tree(tmp_path / "client", counts=(2, 5), seeds=(1,))
    elsewhere = tmp_path / "worker-disk"
    elsewhere.mkdir()

    def run_elsewhere(self, fn, specs):
        for s in specs:
            yield s, fn.func(s, runs_dir=str(elsewhere))

    monkeypatch.setattr(SerialExecutor, "run", run_elsewhere)
    code = cli.main(["sweep", str(sweep), "--out", str(tmp_path / "c"), "--workers", "0",
                     "--quiet"])
    text = capsys.readouterr()
    assert code == 1
    assert "0 done, 2 failed" in text.out
    st = campaign_status(tmp_path / "c")
    assert st.failed == 2 and all("does not see" in f["error"] for f in st.failures)
    assert len(list(elsewhere.glob("*.h5"))) == 2


def test_results_through_an_fsspec_url(tmp_path, capsys):
    pytest.importorskip("fsspec")
    sweep = make_client_tree(tmp_path / "client", counts=(2,), seeds=(1,))
    (spec,) = load_sweep(sweep).plan()
    bucket = (tmp_path / "bucket" / "prefix").as_uri()  # stands in for s3://bucket/prefix
    out = run_shipped(spec, input_bundle(spec.scenario), output_url=bucket)
    assert out["results"] is None and out["url"] == f"{bucket}/{spec.run_id}.h5"
    obj = tmp_path / "bucket" / "prefix" / f"{spec.run_id}.h5"
    assert hashlib.sha256(obj.read_bytes()).hexdigest() == out["sha256"]
    runs = tmp_path / "c" / "runs"
    runs.mkdir(parents=True)
    assert store_shipped(runs, spec, out)["status"] == "done"
    assert (runs / f"{spec.run_id}.h5").read_bytes() == obj.read_bytes()
    obj.write_bytes(obj.read_bytes()[:-1])  # a truncated object: refused
    assert "arrived damaged" in store_shipped(runs, spec, out)["error"]
    obj.unlink()                            # a vanished object: a failed run naming the URL
    rec = store_shipped(runs, spec, out)
    assert rec["status"] == "failed" and f"from {out['url']}" in rec["error"]
    # the option is for Dask workers only (local workers write the campaign folder)
    assert cli.main(["sweep", str(sweep), "--out", str(tmp_path / "x"), "--workers", "1",
                     "--output-url", bucket]) == 2
    assert "--output-url is for Dask workers" in capsys.readouterr().err


@pytest.mark.slow
def test_cluster_client_killed_resumes_without_rerunning_stored_runs(tmp_path, cluster):
    """kill -9 of the campaign process (the client) while workers compute: every run stored
    before is kept untouched, half-written files are removed, the rest runs on resume."""
    client_root = tmp_path / "client"
    sweep = make_client_tree(client_root, duration_s=20.0, counts=(1, 2, 3, 4), seeds=(1, 2))
    c = cluster(1)
    out = client_root / "c"
    proc = subprocess.Popen([sys.executable, "-m", "simran.cli.main", "sweep", str(sweep),
                             "--out", str(out), "--dask", c.address, "--quiet"],
                            cwd=client_root, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and len(list((out / "runs").glob("*.json"))) < 2:
        assert proc.poll() is None
        time.sleep(0.02)
    proc.kill()
    proc.wait(30)
    kept = {rid: (out / "runs" / f"{rid}.h5").read_bytes() for rid in scan_runs(out)}
    assert len(kept) >= 2
    rep = run_campaign(sweep, out, executor=DaskExecutor(c.address), quiet=True)
    assert rep.skipped == len(kept) and rep.done == 8 - len(kept) and rep.failed == 0
    assert campaign_status(out).done == 8 and not list((out / "runs").glob("*.tmp*"))
    assert all((out / "runs" / f"{rid}.h5").read_bytes() == b for rid, b in kept.items())


@pytest.mark.slow
def test_large_inputs_travel_once_without_a_warning(tmp_path, recwarn):
    """An 11 MB input (over Dask's 10 MB large-graph threshold) is sent once per campaign, not
    once per run, and reaches the run byte for byte (the agent checks its SHA-256)."""
    sweep = make_client_tree(tmp_path / "client", counts=(2, 5), seeds=(1,))
    blob = np.random.default_rng(0).bytes(11 * 2**20)
    (tmp_path / "client" / "tables" / "blob.bin").write_bytes(blob)
    base = tmp_path / "client" / "scn" / "base.toml"
    base.write_text(base.read_text().replace(
        'params = { table = "../tables/quota.txt" }',
        f'params = {{ table = "../tables/quota.txt", blob = "../tables/blob.bin", '
        f'blob_sha256 = "{hashlib.sha256(blob).hexdigest()}" }}'))
    agent = tmp_path / "client" / "scn" / "agents" / "quota_agent.py"
    agent.write_text(agent.read_text().replace(
        '        self.quota = float(path.read_text().split()[0])\n',
        '        self.quota = float(path.read_text().split()[0])\n'
        '        import hashlib\n'
        '        got = hashlib.sha256((ctx.base_dir / ctx.params["blob"]).read_bytes())\n'
        '        assert got.hexdigest() == ctx.params["blob_sha256"]\n'))
    specs = load_sweep(sweep).plan()
    assert len({input_bundle(s.scenario).key for s in specs}) == 1
    rep = run_campaign(sweep, tmp_path / "c", executor=DaskExecutor("local:1"), quiet=True)
    assert (rep.done, rep.failed) == (2, 0), rep.failures
    assert not [w for w in recwarn if "large graph" in str(w.message)]


def test_absolute_inputs_are_used_in_place_only_when_identical(tmp_path):
    trace = tmp_path / "client" / "data" / "traces.h5"
    sweep = make_client_tree(tmp_path / "client", counts=(2,), seeds=(1,), trace=str(trace))
    (spec,) = load_sweep(sweep).plan()
    bundle = input_bundle(spec.scenario)
    (f,) = [f for f in bundle.files if f.field == "ue_groups.1.trace.file"]
    assert f.data == b"" and f.sha256  # not copied: a shared file system has it in place
    materialise(bundle, tmp_path / "w1")  # the same file at the same path: fine
    trace.write_bytes(trace.read_bytes() + b"\0")
    with pytest.raises(InputMissing, match="different file at that absolute path"):
        materialise(bundle, tmp_path / "w2")
    trace.unlink()
    with pytest.raises(InputMissing, match=r"ue_groups.1.trace.file = .*does not exist on "
                       "worker"):
        materialise(bundle, tmp_path / "w3")
