"""Results: one self-describing HDF5 file per run (design §8) and its loader.

Layout (every table is a group with one 1-D dataset per column, all of equal length)::

    /                      attrs: format, format_version, simran_version, git_commit, git_dirty,
                                  seed, rng_scheme, scenario_name, created_utc, complete
    /scenario_json         the fully resolved scenario (UTF-8 JSON string)
    /summary               attrs: one float per summary metric
    /run_info              attrs: wall-clock figures (the only non-deterministic part)
    /topology/cells        cell, site, sector, x_m, y_m, azimuth_deg
    /topology/sites        site, x_m, y_m
    /kpi/cell              t_s, cell, throughput_mbps, prb_util, power_w, n_ue, tx_power_dbm, state
    /kpi/slice             t_s, cell, slice, slice_name, throughput_mbps, prb, quota_pct, n_ue
    /kpi/ue                t_s, ue, group, slice, cell, throughput_mbps, sinr_db, cqi, mcs, prb,
                           x_m, y_m, active                 (only when output.ue_kpis)
    /events                t_s, kind, cell, ue, detail (JSON)
    /decisions             one row per agent decision (see simran.hooks.DECISION_COLUMNS)

``t_s`` is the end of the recording period. The file is written to ``<name>.tmp-<pid>`` and
renamed when complete, so a killed run never leaves a file that looks complete; the root attribute
``complete = True`` is set last, before the rename.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from simran.errors import ResultsError, describe_oserror

FORMAT = "simran-results"
FORMAT_VERSION = 1
_STR = h5py.string_dtype("utf-8")


@functools.lru_cache(maxsize=1)
def code_version() -> dict:
    """simran version, git commit and dirty flag of the source tree (when it is a checkout).

    Computed once per process; ``--no-optional-locks`` keeps ``git status`` from taking the index
    lock (many sweep workers may ask at once)."""
    from simran._version import __version__

    out = {"simran_version": __version__, "git_commit": "", "git_dirty": False}
    root = Path(__file__).resolve().parents[2]
    if (root / ".git").exists():
        git = ["git", "--no-optional-locks", "-C", str(root)]
        try:
            out["git_commit"] = subprocess.run(git + ["rev-parse", "HEAD"], capture_output=True,
                                               text=True, timeout=5).stdout.strip()
            st = subprocess.run(git + ["status", "--porcelain", "-uno"], capture_output=True,
                                text=True, timeout=5).stdout
            out["git_dirty"] = bool(st.strip())
        except (OSError, subprocess.SubprocessError):
            pass
    return out


def _write_table(grp: h5py.Group, columns: dict[str, np.ndarray]) -> None:
    n = None
    for name, values in columns.items():
        arr = np.asarray(values)
        if n is None:
            n = arr.shape[0]
        elif arr.shape[0] != n:
            raise ValueError(f"column {name} has {arr.shape[0]} rows, expected {n}")
        if arr.dtype.kind in ("U", "O"):
            grp.create_dataset(name, data=arr.astype(object), dtype=_STR)
        else:
            kw = {"compression": "gzip", "compression_opts": 4, "shuffle": True} \
                if arr.size > 4096 else {}
            grp.create_dataset(name, data=arr, **kw)


def _long(t_s: np.ndarray, arrays: dict[str, np.ndarray], index_names: list[str]) -> dict:
    """[R, A, B…] arrays → long-form columns with t_s and one index column per axis."""
    first = next(iter(arrays.values()))
    shape = first.shape
    grids = np.meshgrid(*[np.arange(k) for k in shape[1:]], indexing="ij")
    cols = {"t_s": np.repeat(t_s, int(np.prod(shape[1:], dtype=int)))}
    for name, g in zip(index_names, grids):
        cols[name] = np.tile(g.ravel(), shape[0]).astype(np.int32)
    for k, v in arrays.items():
        cols[k] = v.reshape(-1)
    return cols


def write_results(path: str | Path, sim, summary: dict, run_info: dict | None = None) -> Path:
    """Write the results of a finished :class:`~simran.simulation.Simulation` atomically.

    The HDF5 file is built in memory (h5py's ``core`` driver, no backing store), then its image is
    written to ``<name>.tmp-<pid>`` with ordinary file I/O and renamed. A disk that fills up, a
    read-only folder or a missing permission therefore surfaces as one :class:`OSError` of a plain
    ``write`` (HDF5 never sees it: writing through HDF5 onto a full disk can crash the process),
    and the temporary file is removed.

    Raises
    ------
    ResultsError
        Naming the path and the reason (disk full, read-only, permission denied, a file where a
        folder is expected); nothing is left behind.
    """
    path = Path(path)
    if path.suffix not in (".h5", ".hdf5"):
        path = path / "results.h5"
    if path.is_dir():
        raise ResultsError(f"{path}: cannot write results: it is a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ResultsError(f"{path.parent}: cannot create the output folder: a file of that "
                           "name exists") from None
    except OSError as exc:
        raise ResultsError(describe_oserror(exc, "create the output folder",
                                            path.parent)) from None
    with h5py.File(f"{path.name}-{os.getpid()}-{id(sim)}", "w", driver="core",
                   backing_store=False) as f:
        _write(f, sim, summary, run_info or {})
        f.flush()
        image = f.id.get_file_image()
    write_atomic(path, image)
    return path


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through ``<name>.tmp-<pid>`` and a rename.

    Raises
    ------
    ResultsError
        On any :class:`OSError` (the temporary file is removed; ``path`` is untouched).
    """
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        _unlink_quietly(tmp)
        raise ResultsError(describe_oserror(exc, "write", path)) from None
    except BaseException:
        _unlink_quietly(tmp)
        raise


def _unlink_quietly(p: Path) -> None:
    try:
        p.unlink(missing_ok=True)
    except OSError:
        pass


def _write(f: h5py.File, sim, summary: dict, run_info: dict) -> None:
    sc = sim.scenario
    ver = dict(code_version())
    f.attrs.update({"format": FORMAT, "format_version": FORMAT_VERSION, **ver,
                    "seed": sc.simulation.seed, "rng_scheme": "SeedSequence(seed, spawn_key="
                    "(replication, crc32(stream name)))", "scenario_name": sc.name,
                    "created_utc": _dt.datetime.now(_dt.UTC).isoformat(),
                    "complete": False})
    f.create_dataset("scenario_json", data=sc.to_json(), dtype=_STR)
    g = f.create_group("summary")
    for k, v in summary.items():
        g.attrs[k] = float(v)
    g = f.create_group("run_info")
    for k, v in run_info.items():
        g.attrs[k] = v
    topo = sim.topo
    _write_table(f.create_group("topology/cells"), {
        "cell": np.arange(sim.C), "site": topo.cell_site, "sector": topo.cell_sector,
        "x_m": topo.cell_xy[:, 0], "y_m": topo.cell_xy[:, 1],
        "azimuth_deg": topo.cell_azimuth_deg})
    _write_table(f.create_group("topology/sites"), {
        "site": np.arange(topo.site_xy.shape[0]), "x_m": topo.site_xy[:, 0],
        "y_m": topo.site_xy[:, 1]})
    t_s, cell, sl, ue_t, ue = sim.collector.trimmed()
    _write_table(f.create_group("kpi/cell"), _long(t_s, cell, ["cell"]))
    cols = _long(t_s, sl, ["cell", "slice"])
    cols["slice_name"] = np.asarray(sim.slice_names, dtype=object)[cols["slice"]]
    _write_table(f.create_group("kpi/slice"), cols)
    if sim.collector.ue_on:
        cols = _long(ue_t, ue, ["ue"])
        cols["group"] = np.tile(sim.ue_group, ue_t.size).astype(np.int32)
        cols["slice"] = np.tile(sim.ue_slice, ue_t.size).astype(np.int32)
        cols["cell"] = cols["cell"].astype(np.int32)
        _write_table(f.create_group("kpi/ue"), cols)
    ev = sim.events_log
    _write_table(f.create_group("events"), {
        "t_s": np.array([e["t_us"] / 1e6 for e in ev], dtype=float),
        "kind": np.array([e["kind"] for e in ev], dtype=object),
        "cell": np.array([e["cell"] for e in ev], dtype=np.int32),
        "ue": np.array([e["ue"] for e in ev], dtype=np.int32),
        "detail": np.array([json.dumps(e["detail"], sort_keys=True, default=_json_default)
                            for e in ev], dtype=object)})
    if sim.decision_log is not None:
        _write_table(f.create_group("decisions"), sim.decision_log.columns())
    f.attrs["complete"] = True


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


# ------------------------------------------------------------------------------------------
@dataclass
class Results:
    """A loaded results file: pandas DataFrames and dicts."""

    path: Path
    attrs: dict
    scenario: dict
    summary: dict
    run_info: dict
    cell: pd.DataFrame
    slice: pd.DataFrame
    ue: pd.DataFrame | None
    events: pd.DataFrame
    decisions: pd.DataFrame | None
    cells: pd.DataFrame
    sites: pd.DataFrame
    extra: dict = field(default_factory=dict)

    def slice_totals(self) -> pd.DataFrame:
        """Slice KPIs summed over cells: t_s, slice_name, throughput_mbps, prb, n_ue."""
        return (self.slice.groupby(["t_s", "slice_name"], as_index=False)
                [["throughput_mbps", "prb", "n_ue"]].sum())


def _read_table(grp: h5py.Group) -> pd.DataFrame:
    data = {}
    n = None
    for name, ds in grp.items():
        if not isinstance(ds, h5py.Dataset) or ds.ndim != 1:
            raise ValueError(f"column {name!r} is not a 1-D dataset")
        if ds.dtype.kind == "O" or h5py.check_string_dtype(ds.dtype) is not None:
            arr = ds.asstr()[()]
        else:
            arr = ds[()]
        if n is not None and arr.shape[0] != n:
            raise ValueError(f"column {name!r} has {arr.shape[0]} rows, the others {n}")
        n = arr.shape[0]
        data[name] = arr
    return pd.DataFrame(data)


#: what every complete results file holds (``kpi/ue`` and ``decisions`` are optional)
REQUIRED = ("scenario_json", "summary", "run_info", "kpi/cell", "kpi/slice", "events",
            "topology/cells", "topology/sites")


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v


def load_results(path: str | Path) -> Results:
    """Load a results file written by :func:`write_results`.

    Raises
    ------
    ResultsError
        If the file is missing, not a simran results file, incomplete, of a newer format version,
        or damaged (a missing group, a corrupted chunk, flipped bytes, non-JSON ``scenario_json``,
        columns of different lengths); the message names the file and the dataset.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "results.h5"
    if not path.exists():
        raise ResultsError(f"{path}: results file not found")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ResultsError(f"{path}: not an HDF5 file or unreadable ({reason})") from None
    where = "/"
    try:
        with f:
            if f.attrs.get("format") != FORMAT:
                raise ResultsError(f"{path}: not a simran results file (format attribute "
                                   "missing)")
            version = f.attrs.get("format_version")
            if not isinstance(version, (int, np.integer)) or not 1 <= int(version) <= \
                    FORMAT_VERSION:
                raise ResultsError(f"{path}: format_version {_plain(version)!r} is not "
                                   f"supported (this simran reads 1…{FORMAT_VERSION}; a newer "
                                   "simran wrote it?)")
            if not bool(f.attrs.get("complete", False)):
                raise ResultsError(f"{path}: incomplete results file (the run did not finish)")
            for name in REQUIRED:
                if name not in f:
                    raise ResultsError(f"{path}: dataset or group /{name} is missing (damaged "
                                       "file)")
            attrs = {k: (v.item() if isinstance(v, np.generic) else v)
                     for k, v in f.attrs.items()}
            where = "scenario_json"
            try:
                scenario = json.loads(f["scenario_json"].asstr()[()])
            except (ValueError, TypeError) as exc:
                raise ValueError(f"not JSON text ({exc})") from None
            if not isinstance(scenario, dict):
                raise ValueError("not a JSON object")
            where = "summary"
            summary = {k: float(v) for k, v in f["summary"].attrs.items()}
            where = "run_info"
            run_info = {k: (v.item() if isinstance(v, np.generic) else v)
                        for k, v in f["run_info"].attrs.items()}
            tables = {}
            for name in ("events", "kpi/cell", "kpi/slice", "kpi/ue", "decisions",
                         "topology/cells", "topology/sites"):
                where = name
                tables[name] = _read_table(f[name]) if name in f else None
            where = "events/detail"
            events = tables["events"]
            if "detail" in events:
                events["detail"] = events["detail"].map(json.loads)
    except ResultsError:
        raise
    except (OSError, KeyError, RuntimeError, ValueError, TypeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ResultsError(f"{path}: dataset /{where} is damaged or unreadable ({reason})"
                           ) from None
    tables = tidy_tables(tables, scenario)
    return Results(
        path=path, attrs=attrs, scenario=scenario, summary=summary, run_info=run_info,
        cell=tables["kpi/cell"], slice=tables["kpi/slice"], ue=tables["kpi/ue"],
        events=tables["events"], decisions=tables["decisions"], cells=tables["topology/cells"],
        sites=tables["topology/sites"])


#: column order of the loaded tables (other columns follow in file order); ``t_s`` first
COLUMN_ORDER = {
    "kpi/cell": ("t_s", "cell", "throughput_mbps", "prb_util", "power_w", "n_ue",
                 "tx_power_dbm", "state"),
    "kpi/slice": ("t_s", "cell", "slice", "slice_name", "throughput_mbps", "prb", "quota_pct",
                  "n_ue"),
    "kpi/ue": ("t_s", "ue", "group", "group_name", "slice", "slice_name", "cell",
               "throughput_mbps", "sinr_db", "cqi", "mcs", "prb", "x_m", "y_m", "active"),
    "events": ("t_s", "kind", "cell", "ue", "detail"),
    "topology/cells": ("cell", "site", "sector", "x_m", "y_m", "azimuth_deg"),
    "topology/sites": ("site", "x_m", "y_m"),
}

#: integer columns (stored as floats where a record period averages; these never do)
INT_COLUMNS = {"kpi/cell": {"n_ue": "int32", "state": "int8"},
               "kpi/slice": {"n_ue": "int32"},
               "kpi/ue": {"mcs": "int16"}}


def tidy_tables(tables: dict, scenario: dict) -> dict:
    """The loaded tables as documented DataFrames (the file format is unchanged).

    * columns in :data:`COLUMN_ORDER` (``t_s`` first), other columns after them;
    * counts and states as integers (:data:`INT_COLUMNS`; a column with a non-finite or
      fractional value stays float);
    * names next to indices: ``group_name`` and ``slice_name`` in the UE table (from the
      scenario's ``[[ue_groups]]`` and ``[[slices]]``), as the slice table's ``slice_name``.

    ``active`` in the UE table is the share of the record period the UE was active (0..1), a
    float; ``sinr_db`` is a mean of dB values over the period, ``cqi`` a mean, ``mcs`` the last
    tick's (−1: no transmission).
    """
    out = dict(tables)
    ue = out.get("kpi/ue")
    if ue is not None:
        ue = ue.copy()
        groups = [g.get("name", str(i)) for i, g in enumerate(scenario.get("ue_groups", []))]
        slices = [sl.get("name", str(i)) for i, sl in enumerate(scenario.get("slices", []))]
        for col, names, idx in (("group_name", groups, "group"),
                                ("slice_name", slices, "slice")):
            if idx in ue and col not in ue:
                lut = np.array([*names, ""], dtype=object)       # out of range → ""
                i = ue[idx].to_numpy()
                ue[col] = lut[np.where((i >= 0) & (i < len(names)), i, len(names))]
        out["kpi/ue"] = ue
    for name, df in out.items():
        if df is None or name not in COLUMN_ORDER:
            continue
        for col, dtype in INT_COLUMNS.get(name, {}).items():
            if col in df:
                v = df[col].to_numpy()
                if v.dtype.kind == "f" and np.isfinite(v).all() and (v == np.round(v)).all():
                    df[col] = v.astype(dtype)
        first = [c for c in COLUMN_ORDER[name] if c in df]
        out[name] = df[first + [c for c in df.columns if c not in first]]
    return out
