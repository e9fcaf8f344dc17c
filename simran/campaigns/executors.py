"""Executors: where the runs of a sweep are computed (this process, a local pool, Dask).

One seam, :class:`Executor`: ``run(fn, specs)`` yields ``(spec, record or exception)`` as runs
complete. :class:`SerialExecutor` (in-process, for debugging), :class:`LocalPoolExecutor` (process
pool) and :class:`DaskExecutor` (Dask distributed); :func:`make_executor` picks one from the
command-line options. A run's result never depends on the executor: everything random comes from
the seed in its scenario (:class:`~simran.campaigns.sweep.RunSpec`).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, CancelledError, wait
from concurrent.futures import ProcessPoolExecutor as _Pool
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol, Self

from simran.campaigns.sweep import RunSpec
from simran.errors import SweepError

Runner = Callable[[RunSpec], dict]
Completion = tuple[RunSpec, "dict | BaseException"]


class WorkerLost(SweepError):
    """The process running a run died (crash, OOM kill, kill -9) before it reported."""


class Executor(Protocol):
    """Runs ``fn(spec)`` for every spec and yields completions in completion order.

    Exceptions raised by ``fn`` or by the infrastructure (:class:`WorkerLost`) are yielded, not
    raised, so one run never stops the campaign. Use as a context manager (start / shut down).
    An executor whose workers may not see the campaign folder sets ``ships_results = True`` and
    accepts ``run(fn, specs, inputs=...)`` (``fn(spec, inputs(spec))``): the campaign then sends
    the input files along and writes the results files itself (:mod:`~simran.campaigns.transfer`).
    """

    workers: int
    description: str

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...

    def run(self, fn: Runner, specs: Sequence[RunSpec]) -> Iterator[Completion]: ...


class SerialExecutor:
    """Runs in this process, one after the other (debugging: breakpoints work)."""

    workers = 1
    description = "in-process (serial)"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def run(self, fn: Runner, specs: Sequence[RunSpec]) -> Iterator[Completion]:
        for spec in specs:
            try:
                yield spec, fn(spec)
            except Exception as exc:  # noqa: BLE001 - reported as the run's failure
                yield spec, exc


class LocalPoolExecutor:
    """A ``concurrent.futures`` process pool on this machine.

    Workers are started with ``spawn``: a fresh interpreter that inherits no threads, locks or
    open HDF5 handles from the parent (``fork`` of a process that runs tqdm's monitor thread, h5py
    or a Dask client can deadlock or corrupt state), and the same behaviour on Linux, macOS and
    Windows. Its start-up cost (one interpreter + imports per worker) is paid once per campaign.

    Each worker gets ``cpus // workers`` BLAS threads (see :func:`_limit_blas_threads`), as Dask
    workers do. At most ``workers`` runs are in flight. If a worker dies (segfault, OOM killer,
    kill -9) the pool breaks: only the in-flight runs are reported as :class:`WorkerLost`
    (recorded as failed, re-run with ``--retry-failed``); a fresh pool takes the other runs.
    """

    def __init__(self, workers: int):
        if workers < 1:
            raise SweepError(f"workers must be ≥ 1, got {workers}")
        self.workers = int(workers)
        self.description = f"local process pool ({self.workers} worker(s), spawn)"
        self._pool: _Pool | None = None
        self._env_set: list[str] = []

    def _new_pool(self) -> _Pool:
        return _Pool(self.workers, mp_context=multiprocessing.get_context("spawn"),
                     initializer=_exit_with_parent, initargs=(os.getpid(),))

    def __enter__(self) -> Self:
        self._env_set = _limit_blas_threads(self.workers)
        self._pool = self._new_pool()
        return self

    def __exit__(self, *exc: object) -> None:
        self._shutdown()
        for key in self._env_set:
            os.environ.pop(key, None)
        self._env_set = []

    def _shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def run(self, fn: Runner, specs: Sequence[RunSpec]) -> Iterator[Completion]:
        queue, inflight = deque(specs), {}
        finished = barren = 0  # runs finished by this pool; pools in a row that finished none
        while queue or inflight:
            while queue and len(inflight) < self.workers:
                spec = queue.popleft()
                inflight[self._pool.submit(fn, spec)] = spec
            done, _ = wait(inflight, return_when=FIRST_COMPLETED)
            broken = any(isinstance(f.exception(), BrokenProcessPool) for f in done)
            if broken:
                wait(inflight)  # the other in-flight runs go down with the pool
                done = list(inflight)
            for fut in done:
                spec = inflight.pop(fut)
                outcome = _outcome(fut)
                finished += not isinstance(outcome, WorkerLost)
                yield spec, outcome
            if broken:
                barren = barren + 1 if finished == 0 else 0
                if barren >= 3:
                    raise SweepError("worker processes died 3 times in a row before finishing a "
                                     "run: a start-up problem? (a script that starts a campaign "
                                     "needs `if __name__ == \"__main__\":`)")
                finished = 0
                self._shutdown()
                self._pool = self._new_pool()


BLAS_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _limit_blas_threads(workers: int) -> list[str]:
    """Give each worker ``cpus // workers`` BLAS threads (as Dask's nanny and joblib do).

    N workers that each start a BLAS pool of one thread per CPU oversubscribe the machine. The
    variables must be in the environment the workers start with (BLAS reads them when numpy
    loads), so they are set here for the executor's lifetime; values the user set are kept.
    Returns the variables it set (removed again by :meth:`LocalPoolExecutor.__exit__`).
    """
    n = str(max(1, (os.cpu_count() or 1) // workers))
    unset = [k for k in BLAS_THREAD_VARS if k not in os.environ]
    os.environ.update(dict.fromkeys(unset, n))
    return unset


def _exit_with_parent(parent: int, poll_s: float = 0.5) -> None:
    """Worker initializer: exit when the campaign process is gone.

    After ``kill -9`` of the main process nobody shuts the pool down and idle workers would wait
    for work forever; a worker that notices it was re-parented exits (mid-run: its temporary
    results file is removed when the campaign resumes). ``parent`` is the pid of the process
    that started the pool (taken there: it may already be gone when the worker starts).
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_s)
        os._exit(1)

    threading.Thread(target=watch, name="simran-exit-with-parent", daemon=True).start()


def _outcome(fut) -> dict | BaseException:
    try:
        return fut.result()
    except BrokenProcessPool as exc:
        return WorkerLost(f"worker process died while this run was in flight ({exc}); it may "
                          "be the cause or a bystander — re-run with --retry-failed")
    except Exception as exc:  # noqa: BLE001 - yielded to the campaign
        return exc


class DaskExecutor:
    """Dask distributed: ``tcp://host:port`` (a running scheduler) or ``local:N``.

    ``local:N`` starts a ``LocalCluster(n_workers=N, threads_per_worker=1, processes=True)``
    and closes it afterwards. Workers need the same simran installed and nothing else: no shared
    file system. A campaign (:func:`~simran.campaigns.campaign.run_campaign`) sees
    ``ships_results`` and sends each run with its input files and gets its results file back as
    checksummed bytes (:mod:`simran.campaigns.transfer`); the client writes the campaign folder.
    Dask re-runs the tasks of a worker that died (``distributed.scheduler.allowed-failures``
    times); a run that keeps killing workers is reported as :class:`WorkerLost`. A scheduler
    that goes away stops the campaign with a :class:`~simran.errors.SweepError`; the runs stored
    until then are kept.
    """

    ships_results = True

    def __init__(self, address: str, *, timeout_s: float = 5.0, output_url: str | None = None):
        self.address = address
        self.timeout_s = timeout_s
        #: fsspec URL the workers write results files to (default: bytes back through Dask)
        self.output_url = output_url
        self.workers = 0
        self.description = f"Dask ({address})"
        self._client = self._cluster = None
        if output_url is not None:
            _check_output_url(output_url)

    def __enter__(self) -> Self:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise SweepError("the Dask executor needs dask.distributed: "
                             "pip install simran[distributed]") from None
        if self.address.startswith("local:"):
            import dask

            # our own cluster: no statistical profiler sampling the worker every 10 ms, a calmer
            # system monitor (both compete with the simulation for the GIL), and glibc's usual
            # heap trimming instead of Dask's 64 KiB threshold (numpy allocates and frees arrays
            # every tick). Measured by benchmarks/bench_sweep.py: ~20 % of per-run compute.
            with dask.config.set({"distributed.worker.profile.enabled": False,
                                  "distributed.admin.system-monitor.interval": "2s",
                                  "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_":
                                      str(128 * 2**20)}):
                self._cluster = LocalCluster(n_workers=_local_n(self.address),
                                             threads_per_worker=1, processes=True,
                                             dashboard_address=":0", silence_logs=40)
            self._client = Client(self._cluster)
        else:
            self._client = _connect(Client, self.address, self.timeout_s)
        self.workers = max(1, sum(self._client.nthreads().values()))
        self.description = f"Dask ({self.address}, {self.workers} worker thread(s))"
        return self

    def __exit__(self, *exc: object) -> None:
        for obj in (self._client, self._cluster):
            if obj is not None:
                obj.close()
        self._client = self._cluster = None

    def run(self, fn: Runner, specs: Sequence[RunSpec],
            inputs: Callable[[RunSpec], object] | None = None) -> Iterator[Completion]:
        """Submit ``fn(spec)`` — or ``fn(spec, inputs(spec))`` — for every spec.

        Each distinct ``inputs`` object (an :class:`~simran.campaigns.transfer.InputBundle`,
        told apart by its ``key``) is submitted once as a task of its own and the runs depend
        on it: its bytes cross the network once per worker, not once per run, and a worker that
        dies holding it makes the scheduler recompute it from the task (no lost data). The
        scheduler holds that task, so it needs memory for the inputs (inputs of many hundred
        MB are better put on every worker at the same absolute path: used after a SHA-256
        check, see :mod:`~simran.campaigns.transfer`).
        """
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        token = f"{os.getpid():x}{time.monotonic_ns():x}"
        deps: dict[str, object] = {}
        futures: dict = {}
        yielded = 0
        try:
            for s in specs:
                args: tuple = (s,)
                if inputs is not None:
                    bundle = inputs(s)
                    key = getattr(bundle, "key", None) or str(id(bundle))
                    if key not in deps:
                        with warnings.catch_warnings():  # > 10 MB of inputs: meant, held once
                            warnings.filterwarnings("ignore", "Sending large graph")
                            deps[key] = self._client.submit(
                                _identity, bundle, pure=False,
                                key=f"simran-inputs-{key[:16]}-{token}")
                    args = (s, deps[key])
                futures[self._client.submit(fn, *args, pure=False, key=f"simran-run-"
                                            f"{s.run_id}-{token}")] = s
            for fut in as_completed(futures):
                spec = futures.pop(fut)
                try:
                    outcome = fut.result()
                except KilledWorker as exc:
                    outcome = WorkerLost(f"Dask worker died running this run ({exc})")
                except CancelledError as exc:
                    raise self._lost(yielded, len(futures) + 1) from exc
                except Exception as exc:  # noqa: BLE001 - yielded to the campaign
                    if self._client.status not in ("running", "connecting"):
                        raise self._lost(yielded, len(futures) + 1) from exc
                    outcome = exc
                yielded += 1
                yield spec, outcome
        except (OSError, TimeoutError) as exc:  # submit on a closed comm
            raise self._lost(yielded, len(futures)) from exc
        finally:
            try:
                self._client.cancel([*futures, *deps.values()])
            except Exception:  # noqa: BLE001 - the scheduler is gone already
                pass

    def _lost(self, finished: int, unfinished: int) -> SweepError:
        return SweepError(f"lost the Dask scheduler at {self.address} (it stopped or the network "
                          f"failed): {finished} run(s) reported before were stored and are kept,"
                          f" {unfinished} did not finish; restart the scheduler and workers and "
                          "run the same command again to resume")


def _identity(x):
    """The task that holds a campaign's input bundle on the workers."""
    return x


def _local_n(address: str) -> int:
    n = address.removeprefix("local:")
    if not n.isdigit() or int(n) < 1:
        raise SweepError(f"--dask {address!r}: expected local:N with N ≥ 1")
    return int(n)


def _connect(client_cls, address: str, timeout_s: float):
    if "://" not in address:
        raise SweepError(f"--dask {address!r}: expected tcp://host:port or local:N")
    try:
        return client_cls(address, timeout=timeout_s)
    except (OSError, TimeoutError) as exc:
        raise SweepError(f"cannot reach the Dask scheduler at {address} within {timeout_s:g} s "
                         f"({type(exc).__name__}: {exc}); is `dask scheduler` running?") from None


def _check_output_url(url: str) -> None:
    """``--output-url``: fsspec must be installed and know the protocol (s3 needs s3fs, …)."""
    try:
        import fsspec
    except ImportError:
        raise SweepError(f"--output-url {url!r} needs fsspec (pip install fsspec, and s3fs / "
                         "gcsfs for s3:// / gs://); without it results travel back through "
                         "Dask") from None
    try:
        fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise SweepError(f"--output-url {url!r}: {exc}") from None


def make_executor(workers: int | None = None, dask: str | None = None,
                  output_url: str | None = None) -> Executor:
    """``--workers N`` (0 = in-process) or ``--dask ADDRESS`` (``--output-url URL``: results
    via object storage); default: one worker per CPU."""
    if dask is not None and workers is not None:
        raise SweepError("give either --workers or --dask, not both")
    if output_url is not None and dask is None:
        raise SweepError("--output-url is for Dask workers (--dask ADDRESS): local workers "
                         "write the campaign folder directly")
    if dask is not None:
        return DaskExecutor(dask, output_url=output_url)
    if workers == 0:
        return SerialExecutor()
    return LocalPoolExecutor(workers or max(1, multiprocessing.cpu_count()))


__all__ = ["DaskExecutor", "Executor", "LocalPoolExecutor", "SerialExecutor", "WorkerLost",
           "make_executor"]
