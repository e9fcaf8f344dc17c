"""Campaigns without a shared file system: inputs travel to the worker, results travel back.

A worker on a rented cluster (Kubernetes, cloud VMs) has its own disk: it cannot read the
scenario's input files on the client and the campaign folder is not there. With an executor that
``ships_results`` (:class:`~simran.campaigns.executors.DaskExecutor`) a run therefore goes

1. **client**: :func:`input_bundle` reads every file the run reads — trace sets
   (``ue_groups.<i>.trace.file``), agent files (``agents.<i>.kind = "file.py:Class"``) and any
   agent parameter naming an existing file (``agents.<i>.params.rules = "rules/x.toml"``) — into
   an :class:`InputBundle` (bytes + SHA-256 each), once per distinct set of inputs;
2. **worker**: :func:`run_shipped` writes the bundle into a folder of its own temporary directory
   (:func:`materialise`; relative paths keep their layout, ``..`` included, so every path of the
   scenario resolves exactly as on the client), runs the scenario with that folder as its
   ``base_dir`` into a temporary folder and returns the record, the results file's bytes and
   their SHA-256 (the default: nothing but Dask is needed). With ``--output-url`` (an fsspec
   URL: ``s3://…``, ``gs://…``, ``file://…``) the worker writes the file to
   ``<url>/<run_id>.h5`` instead and only the URL and the SHA-256 travel back;
3. **client**: :func:`store_shipped` (fetching the file from the URL if there is one) checks the
   SHA-256 and writes ``runs/<id>.h5`` (temporary name, fsync, rename) and then
   ``runs/<id>.json`` — the same order and the same atomic writes as a local worker, so a run is
   done iff both are there and resume, ``--retry-failed`` and ``kill -9`` behave as with the
   local pool. The objects under ``--output-url`` are left in place (a durable copy).

The scenario itself is not changed (only ``base_dir``, which is not part of the resolved
scenario): run ids and the ``scenario_json`` stored in results files are the same as on the
local pool, bit for bit.

Absolute input paths cannot be moved without changing the scenario: a worker uses one if it has a
file with the same SHA-256 at that path (a shared file system), and otherwise the run fails with
an :class:`InputMissing` naming the field and the path. An input the client cannot read fails the
same way. Not shipped: modules an agent file imports (they must be installed on the workers, or
be in the agent file), and ``backend = "replay:<path>"`` files (resolved against the worker's
working directory, as they are locally).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import socket
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path, PurePath

from simran.campaigns.sweep import RunSpec
from simran.errors import SweepError, describe_oserror

MAX_PARAM_PATH_CHARS = 4096  # longer strings in agent params are never taken as file names


class InputMissing(SweepError):
    """An input file of a run is not available where the run executes."""


@dataclass(frozen=True)
class InputFile:
    """One file a run reads, as the client found it."""

    field: str            # e.g. "ue_groups.0.trace.file"
    given: str            # the path as written in the scenario
    client_path: str      # where the client found it (resolved)
    data: bytes | None    # None: the client could not read it
    sha256: str
    error: str = ""       # why ``data`` is None


@dataclass(frozen=True)
class InputBundle:
    """The input files of a run (picklable; equal inputs ⇒ equal ``key``)."""

    key: str
    files: tuple[InputFile, ...]
    depth: int            # how many ``..`` levels the relative paths climb above base_dir
    client_base_dir: str

    @property
    def nbytes(self) -> int:
        return sum(len(f.data or b"") for f in self.files)


# --------------------------------------------------------------------------------------------
# client: what a run reads


def scenario_inputs(scenario) -> list[tuple[str, str]]:
    """``(field, path as given)`` of every file the scenario's run reads.

    Trace sets of trace groups, agent files of ``kind = "path/file.py:Class"`` and every string
    in an agent's ``params`` (nested lists and tables included) that names an existing file
    relative to the scenario's folder (or an absolute one).
    """
    out: list[tuple[str, str]] = []
    for i, g in enumerate(scenario.ue_groups):
        if g.trace is not None:
            out.append((f"ue_groups.{i}.trace.file", g.trace.file))
    for i, a in enumerate(scenario.agents):
        target, sep, _attr = a.kind.rpartition(":")
        if sep and (target.endswith(".py") or "/" in target or "\\" in target):
            out.append((f"agents.{i}.kind", target))
        for where, value in _strings(a.params, f"agents.{i}.params"):
            if _names_file(scenario, value):
                out.append((where, value))
    return out


def _strings(obj, where: str):
    if isinstance(obj, str):
        yield where, obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _strings(v, f"{where}.{k}")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from _strings(v, f"{where}.{i}")


def _names_file(scenario, value: str) -> bool:
    if not value or len(value) > MAX_PARAM_PATH_CHARS or "\n" in value or "://" in value:
        return False
    try:
        return scenario.resolve_path(value).is_file()
    except (OSError, ValueError):
        return False


def _climb(given: str) -> int:
    """How many levels above its start a relative path goes (``../../a`` → 2, ``a/../b`` → 0)."""
    level = lowest = 0
    for part in PurePath(given).parts:
        if part == "..":
            level -= 1
            lowest = min(lowest, level)
        elif part not in (".", ""):
            level += 1
    return -lowest


def input_bundle(scenario, cache: dict | None = None) -> InputBundle:
    """Read the inputs of ``scenario`` (:func:`scenario_inputs`) into an :class:`InputBundle`.

    ``cache`` (resolved path → (data, sha256, error)) lets a campaign read each file once.
    """
    cache = {} if cache is None else cache
    files = []
    for field, given in scenario_inputs(scenario):
        path = scenario.resolve_path(given).resolve()
        if path not in cache:
            try:
                data = path.read_bytes()
                cache[path] = (data, hashlib.sha256(data).hexdigest(), "")
            except OSError as exc:
                cache[path] = (None, "", describe_oserror(exc, "read", path))
        data, sha, err = cache[path]
        if data is not None and Path(given).is_absolute():
            data = b""  # used in place on the worker (SHA-256 checked), never copied there
        files.append(InputFile(field, given, str(path), data, sha, err))
    depth = max([_climb(f.given) for f in files if not Path(f.given).is_absolute()] or [0])
    h = hashlib.sha256(f"{depth}".encode())
    for f in files:
        h.update(f"\0{f.given}\0{f.sha256}\0{f.error}".encode())
    return InputBundle(h.hexdigest(), tuple(files), depth, str(scenario.base_dir))


# --------------------------------------------------------------------------------------------
# worker: inputs in, results out


_CHECKED: dict[tuple, str] = {}  # (path, size, mtime_ns) -> sha256, per worker process


def _sha256_file(path: Path) -> str:
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _CHECKED:
        h = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        _CHECKED[key] = h.hexdigest()
    return _CHECKED[key]


def materialise(bundle: InputBundle, root: str | Path | None = None) -> Path:
    """Write the bundle's files under ``root`` and return the folder to use as ``base_dir``.

    ``root`` defaults to ``<tmp>/simran-inputs-<key>`` (reused by later runs with the same
    inputs on this machine). Relative paths are placed exactly as they lie relative to the
    scenario's folder on the client; absolute paths are used in place if this machine has the
    same file (same SHA-256).

    Raises
    ------
    InputMissing
        Naming the field, the path and why (not readable on the client; absolute path absent
        or different here).
    """
    root = Path(root or Path(tempfile.gettempdir()) / f"simran-inputs-{bundle.key[:24]}")
    base = root.joinpath(*[f"up{i}" for i in range(bundle.depth, 0, -1)]) if bundle.depth \
        else root
    host = socket.gethostname()
    for f in bundle.files:
        if f.data is None:
            raise InputMissing(f"input {f.field} = {f.given!r}: the client could not read it "
                               f"({f.error})")
        if Path(f.given).is_absolute():
            p = Path(f.given)
            if not p.is_file():
                raise InputMissing(
                    f"input {f.field} = {f.given!r}: an absolute path that does not exist on "
                    f"worker {host}; give it relative to the scenario file "
                    f"({bundle.client_base_dir}) "
                    "so it travels with the run, or put the same file there on every worker")
            if _sha256_file(p) != f.sha256:
                raise InputMissing(
                    f"input {f.field} = {f.given!r}: worker {host} has a different file at that "
                    "absolute path than the client (SHA-256 differs); give the path relative to "
                    "the scenario file so it travels with the run")
            continue
        target = Path(os.path.normpath(base / f.given))
        if target.is_file() and _sha256_file(target) == f.sha256:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}-{threading.get_ident()}")
        tmp.write_bytes(f.data)
        os.replace(tmp, target)
    base.mkdir(parents=True, exist_ok=True)
    return base


def results_url(output_url: str, run_id: str) -> str:
    """Where a run's results file goes under ``--output-url`` (``<url>/<run_id>.h5``)."""
    return f"{output_url.rstrip('/')}/{run_id}.h5"


def run_shipped(spec: RunSpec, bundle: InputBundle, output_url: str | None = None) -> dict:
    """Run ``spec`` on a worker without the campaign folder; return what the client stores.

    Parameters
    ----------
    spec : RunSpec
        The run.
    bundle : InputBundle
        Its input files (:func:`input_bundle` on the client).
    output_url : str, optional
        An fsspec URL (``s3://bucket/prefix``, ``gs://…``, ``file:///…``): the results file is
        written to :func:`results_url` there (needs ``fsspec`` and the protocol's package on the
        workers and the client) and only its URL and SHA-256 travel back. Default: the bytes
        travel back through Dask.

    Returns
    -------
    dict
        ``{"shipped": 1, "record": <status record>, "results": <bytes or None>,
        "sha256": <hex or "">, "url": <str or None>}``; the record is the one
        :func:`~simran.campaigns.runs.run_one` writes (a failed run, e.g. an
        :class:`InputMissing`, has no results).
    """
    from simran.campaigns.runs import _record, code_version, run_one

    t0 = time.perf_counter()
    try:
        base = materialise(bundle)
    except Exception as exc:  # noqa: BLE001 - recorded as the run's failure
        rec = _record(spec, status="failed", error=f"{type(exc).__name__}: {exc}",
                      traceback=traceback.format_exc(), wall_s=time.perf_counter() - t0,
                      code_version=code_version())
        return {"shipped": 1, "record": rec, "results": None, "sha256": "", "url": None}
    local = dataclasses.replace(spec, scenario=spec.scenario.model_copy(
        update={"base_dir": str(base)}))
    with tempfile.TemporaryDirectory(prefix=f"simran-run-{spec.run_id}-") as tmp:
        rec = run_one(local, tmp)
        data = None
        if rec.get("status") == "done":
            data = (Path(tmp) / f"{spec.run_id}.h5").read_bytes()
    sha = hashlib.sha256(data).hexdigest() if data is not None else ""
    url = None
    if data is not None and output_url:
        import fsspec

        url = results_url(output_url, spec.run_id)
        try:
            fs, path = fsspec.core.url_to_fs(url)
            fs.makedirs(fs._parent(path), exist_ok=True)
            fs.pipe_file(path, data)
        except Exception as exc:  # noqa: BLE001 - the run is recorded as failed
            rec = dict(rec, status="failed", summary={}, traceback=traceback.format_exc(),
                       error=f"TransferError: cannot write the results file to {url} "
                       f"({type(exc).__name__}: {exc})")
        data = None
    return {"shipped": 1, "record": rec, "results": data, "sha256": sha, "url": url}


# --------------------------------------------------------------------------------------------
# client: results in


def is_shipped(outcome) -> bool:
    """True for what :func:`run_shipped` returns."""
    return isinstance(outcome, dict) and outcome.get("shipped") == 1


def _write_bytes_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    try:
        with tmp.open("wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise SweepError(describe_oserror(exc, "write", path)) from None


def store_shipped(runs: Path, spec: RunSpec, outcome: dict) -> dict:
    """Write a shipped run into the campaign folder: ``<id>.h5`` first, then ``<id>.json``.

    A results file whose SHA-256 does not match is not written; the run is recorded as failed
    (``--retry-failed`` runs it again).

    Raises
    ------
    SweepError
        The campaign folder cannot be written (disk full, read-only): naming the path.
    """
    from simran.campaigns.runs import write_json_atomic

    rec = dict(outcome["record"])
    data = outcome.get("results")
    if rec.get("status") == "done" and outcome.get("url"):
        try:
            import fsspec

            fs, path = fsspec.core.url_to_fs(outcome["url"])
            data = fs.cat_file(path)
        except Exception as exc:  # noqa: BLE001 - recorded; --retry-failed runs it again
            data = None
            rec.update(status="failed", summary={}, traceback=None,
                       error=f"TransferError: cannot read the results file of run "
                       f"{spec.run_id} from {outcome['url']} ({type(exc).__name__}: {exc}); "
                       "re-run with --retry-failed")
    if rec.get("status") == "done":
        got = hashlib.sha256(data).hexdigest() if data is not None else "(no bytes)"
        if data is None or got != outcome.get("sha256"):
            rec.update(status="failed", summary={}, traceback=None,
                       error=f"TransferError: the results file of run {spec.run_id} arrived "
                       f"damaged (SHA-256 {got} ≠ {outcome.get('sha256') or '?'} sent by "
                       f"{rec.get('host')}); re-run with --retry-failed")
            (runs / f"{spec.run_id}.h5").unlink(missing_ok=True)
        else:
            _write_bytes_atomic(runs / f"{spec.run_id}.h5", data)
    else:
        (runs / f"{spec.run_id}.h5").unlink(missing_ok=True)  # a stale, unconfirmed file
    write_json_atomic(runs / f"{spec.run_id}.json", rec)
    return rec


__all__ = ["InputBundle", "InputFile", "InputMissing", "input_bundle", "is_shipped",
           "materialise", "results_url", "run_shipped", "scenario_inputs", "store_shipped"]
