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

from simran.errors import SimranError

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
    """Write the results of a finished :class:`~simran.simulation.Simulation` atomically."""
    path = Path(path)
    if path.suffix not in (".h5", ".hdf5"):
        path = path / "results.h5"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    try:
        with h5py.File(tmp, "w") as f:
            _write(f, sim, summary, run_info or {})
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


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
    for name, ds in grp.items():
        arr = ds[()]
        if ds.dtype.kind == "O" or h5py.check_string_dtype(ds.dtype) is not None:
            arr = ds.asstr()[()]
        data[name] = arr
    return pd.DataFrame(data)


def load_results(path: str | Path) -> Results:
    """Load a results file written by :func:`write_results`.

    Raises
    ------
    SimranError
        If the file is missing, not a simran results file, or incomplete.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "results.h5"
    if not path.exists():
        raise SimranError(f"{path}: results file not found")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise SimranError(f"{path}: not an HDF5 file ({exc})") from None
    with f:
        if f.attrs.get("format") != FORMAT:
            raise SimranError(f"{path}: not a simran results file (format attribute missing)")
        if not bool(f.attrs.get("complete", False)):
            raise SimranError(f"{path}: incomplete results file (the run did not finish)")
        attrs = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in f.attrs.items()}
        scenario = json.loads(f["scenario_json"].asstr()[()])
        summary = {k: float(v) for k, v in f["summary"].attrs.items()}
        run_info = {k: (v.item() if isinstance(v, np.generic) else v)
                    for k, v in f["run_info"].attrs.items()}
        events = _read_table(f["events"])
        if "detail" in events:
            events["detail"] = events["detail"].map(json.loads)
        return Results(
            path=path, attrs=attrs, scenario=scenario, summary=summary, run_info=run_info,
            cell=_read_table(f["kpi/cell"]), slice=_read_table(f["kpi/slice"]),
            ue=_read_table(f["kpi/ue"]) if "kpi/ue" in f else None, events=events,
            decisions=_read_table(f["decisions"]) if "decisions" in f else None,
            cells=_read_table(f["topology/cells"]), sites=_read_table(f["topology/sites"]))
