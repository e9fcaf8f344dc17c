"""Trace-set files: one HDF5 file of :class:`~simran.traces.trace.Trace` records.

:func:`write_trace_set` writes a set atomically; :class:`TraceSet` (or :func:`load_trace_set`)
opens one for reading and loads traces on demand.

File format (``format_version`` 1)
----------------------------------
One HDF5 file per *trace set*::

    /                       attrs: name, description, format_version, created_by, licence, citation
    /traces/<id>/t_s        float64  seconds from trace start, strictly increasing
    /traces/<id>/cqi        int8     0..15
    /traces/<id>/speed_mps  float32  (optional)            m/s
    /traces/<id>/x_m, y_m   float32  (optional)            local metric coordinates, m
    /traces/<id>/lat_deg, lon_deg float64 (optional)       WGS-84 degrees (when the source had GPS)
    /traces/<id>/rsrp_dbm   float32  (optional)            dBm
    /traces/<id>/rsrq_db, sinr_db float32 (optional)       dB
    /traces/<id>/serving_cell int64  (optional)            cell identity, -1 = unknown
    /traces/<id>/dl_mbps    float32  (optional)            measured downlink throughput, Mbit/s
    /traces/<id>/network_mode bytes  (optional)            RAT label, e.g. "5G", "LTE"
    /traces/<id>            attrs: source, licence, citation, units (JSON), sampling_period_s,
                                   cleaning (JSON, per-rule counts), original_file, ...

All datasets are gzip-compressed with the shuffle filter. Dict- and list-valued attributes in
:data:`JSON_ATTRS` are stored as JSON text and decoded on read. Files are written to a temporary
name and renamed when complete (:func:`write_trace_set`), so a killed import never leaves a file
that looks complete.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from simran.errors import TraceError, describe_oserror
from simran.traces.trace import OPTIONAL_FIELDS, UNITS, Trace

if TYPE_CHECKING:  # pragma: no cover
    import pandas

FORMAT_VERSION = 1
"""Version of the trace-set file layout written by :func:`write_trace_set`."""

JSON_ATTRS = frozenset({"units", "cleaning", "parameters", "cleaning_totals", "cleaning_rules",
                        "source_rows"})
"""Attribute names whose values are dicts/lists stored as JSON text."""

_COMPRESSION = {"compression": "gzip", "compression_opts": 6, "shuffle": True}


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------

def write_trace_set(path, traces, attrs: dict | None = None) -> Path:
    """Write traces to one HDF5 trace-set file, atomically (temporary name, then rename).

    Parameters
    ----------
    path : str or Path
        Output file; its folder must exist. An existing file is replaced only on success.
    traces : iterable of Trace
        Traces with unique ids.
    attrs : dict, optional
        File-level attributes: ``name``, ``description``, ``created_by``, ``licence``,
        ``citation`` and any extra scalars. ``format_version`` is always set by the writer.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    TraceError
        No traces, or duplicate ids.
    """
    import h5py

    path = Path(path)
    if path.is_dir() or not path.name:
        raise TraceError(f"{path}: cannot write the trace set: it is a folder (give a .h5 file "
                         "name)")
    traces = list(traces)
    if not traces:
        raise TraceError(f"{path}: no traces to write")
    ids = [t.id for t in traces]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise TraceError(f"{path}: duplicate trace ids {dup}")
    file_attrs = {"name": path.stem, "description": "", "licence": "unknown", "citation": "",
                  "created_by": "simran.traces.trace_set.write_trace_set", **(attrs or {}),
                  "format_version": FORMAT_VERSION}
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    # built in memory, then written with plain file I/O: a full disk or a read-only folder is one
    # OSError of a write (HDF5 writing onto a full disk can crash the process)
    with h5py.File(f"{path.name}-{os.getpid()}", "w", driver="core", backing_store=False,
                   libver=("v110", "latest")) as f:
        _write_attrs(f.attrs, file_attrs)
        group = f.create_group("traces")
        for trace in traces:
            _write_trace(group, trace)
        f.flush()
        image = f.id.get_file_image()
    try:
        with open(tmp, "wb") as fh:
            fh.write(image)
        os.replace(tmp, path)
    except OSError as exc:
        raise TraceError(describe_oserror(exc, "write the trace set", path)) from None
    finally:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
    return path


def _write_trace(parent, trace: Trace) -> None:
    g = parent.create_group(trace.id)
    _dataset(g, "t_s", trace.t_s.astype(np.float64))
    _dataset(g, "cqi", trace.cqi.astype(np.int8))
    for name in trace.fields():
        dtype, _ = OPTIONAL_FIELDS[name]
        data = getattr(trace, name)
        if dtype == "str":
            width = max(1, max(len(s.encode()) for s in data))
            data = np.char.encode(data, "utf-8").astype(f"S{width}")
        else:
            data = data.astype(dtype)
        _dataset(g, name, data)
    units = {n: UNITS[n] for n in ["t_s", "cqi", *trace.fields()]}
    attrs = {"sampling_period_s": trace.period_s, **trace.attrs, "units": units}
    _write_attrs(g.attrs, attrs)


def _dataset(group, name: str, data: np.ndarray) -> None:
    """One compressed dataset; traces are small, so one chunk holds it all (least overhead)."""
    chunk = (min(data.size, 1 << 16),)
    group.create_dataset(name, data=data, chunks=chunk, track_times=False, **_COMPRESSION)


def _write_attrs(target, attrs: dict) -> None:
    for key, value in attrs.items():
        if isinstance(value, (dict, list, tuple)):
            value = json.dumps(value)
        elif value is None:
            value = ""
        target[key] = value


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------

def _read_attrs(source) -> dict:
    out = {}
    for key, value in source.items():
        if isinstance(value, bytes):
            value = value.decode()
        elif isinstance(value, np.generic):
            value = value.item()
        if key in JSON_ATTRS and isinstance(value, str) and value:
            value = json.loads(value)
        out[key] = value
    return out


class TraceSet:
    """A trace-set file opened for reading; traces are loaded on demand and cached.

    Use :meth:`open` (or :func:`load_trace_set`) rather than the constructor.

    Attributes
    ----------
    path : Path
        The file.
    attrs : dict
        File-level attributes (name, description, format_version, created_by, licence, ...).
    ids : list of str
        Trace ids in sorted order.
    """

    def __init__(self, path: Path, attrs: dict, ids: list[str]):
        self.path = Path(path)
        self.attrs = attrs
        self.ids = ids
        self._cache: dict[str, Trace] = {}

    @classmethod
    def open(cls, path) -> TraceSet:
        """Open a trace-set file and check its layout.

        Raises
        ------
        TraceError
            Missing file, not HDF5, no ``/traces`` group or a newer ``format_version``.
        """
        import h5py

        path = Path(path)
        if not path.is_file():
            raise TraceError(f"{path}: no such trace-set file")
        try:
            with h5py.File(path, "r") as f:
                attrs = _read_attrs(f.attrs)
                if "traces" not in f or "format_version" not in attrs:
                    raise TraceError(f"{path}: not a simran trace-set file "
                                     "(no /traces group or no format_version attribute)")
                if not isinstance(f["traces"], h5py.Group):
                    raise TraceError(f"{path}: /traces is not a group (damaged file)")
                ids = sorted(f["traces"].keys())
        except TraceError:
            raise
        except (OSError, KeyError, RuntimeError, ValueError, TypeError) as exc:
            raise TraceError(f"{path}: cannot read as HDF5 ({_first_line(exc)})") from None
        try:
            version = int(attrs["format_version"])
        except (TypeError, ValueError):
            raise TraceError(f"{path}: format_version {attrs['format_version']!r} is not an "
                             "integer (damaged file)") from None
        if version > FORMAT_VERSION:
            raise TraceError(f"{path}: format_version {attrs['format_version']} is newer than "
                             f"this simran reads ({FORMAT_VERSION})")
        if not ids:
            raise TraceError(f"{path}: the trace set holds no traces")
        return cls(path, attrs, ids)

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, trace_id: str) -> bool:
        return trace_id in self.ids

    def __iter__(self):
        return (self.get(i) for i in self.ids)

    def __repr__(self) -> str:
        return f"TraceSet({str(self.path)!r}, {len(self)} traces)"

    def _unknown(self, trace_id) -> TraceError:
        shown = ", ".join(self.ids[:5]) + (", ..." if len(self.ids) > 5 else "")
        return TraceError(f"{self.path}: unknown trace id {trace_id!r}; valid ids "
                          f"({len(self.ids)}) include: {shown}")

    def get(self, trace_id: str) -> Trace:
        """Load one trace by id.

        Raises
        ------
        TraceError
            Unknown id (the message names the file and lists a few valid ids) or a malformed
            trace group.
        """
        if trace_id not in self._cache:
            if trace_id not in self.ids:
                raise self._unknown(trace_id)
            self._cache[trace_id] = self._load(trace_id)
        return self._cache[trace_id]

    def _load(self, trace_id: str) -> Trace:
        import h5py

        where = f"{self.path}: /traces/{trace_id}"
        name = ""
        try:
            with h5py.File(self.path, "r") as f:
                g = f["traces"][trace_id]
                if not isinstance(g, h5py.Group):
                    raise TraceError(f"{where}: not a group (damaged file)")
                missing = [n for n in ("t_s", "cqi") if n not in g]
                if missing:
                    raise TraceError(f"{where}: missing dataset(s) {missing}")
                data = {}
                for name in ["t_s", "cqi", *OPTIONAL_FIELDS]:
                    if name in g:
                        data[name] = g[name][()]
                name = ""
                attrs = _read_attrs(g.attrs)
            if "network_mode" in data:
                data["network_mode"] = np.char.decode(data["network_mode"], "utf-8")
        except TraceError:
            raise
        except (OSError, KeyError, RuntimeError, ValueError, TypeError,
                UnicodeDecodeError) as exc:
            what = f"/{name}" if name else ""
            raise TraceError(f"{where}{what}: damaged or unreadable ({_first_line(exc)})"
                             ) from None
        try:
            return Trace(id=trace_id, attrs=attrs, **data)
        except TraceError as exc:
            raise TraceError(f"{self.path}: {exc}") from None
        except (ValueError, TypeError) as exc:       # e.g. a column of a wrong type
            raise TraceError(f"{where}: damaged ({_first_line(exc)})") from None

    def select(self, ids=None, first: int | None = None, all: bool = True) -> list[Trace]:
        """Choose traces: by id list, the first N ids (sorted order) or all of them.

        Parameters
        ----------
        ids : list of str, optional
            Explicit ids, returned in the given order. Takes precedence.
        first : int, optional
            The first ``first`` ids in sorted order (1 ≤ first ≤ number of traces).
        all : bool
            With neither ``ids`` nor ``first``: return every trace (``False`` → empty list).

        Raises
        ------
        TraceError
            Both ``ids`` and ``first`` given, an unknown id, or ``first`` out of range.
        """
        if ids is not None and first is not None:
            raise TraceError(f"{self.path}: select either ids or first, not both")
        if ids is not None:
            if isinstance(ids, str):
                ids = [ids]
            return [self.get(i) for i in ids]
        if first is not None:
            if not 1 <= int(first) <= len(self.ids):
                raise TraceError(f"{self.path}: first={first} outside 1..{len(self.ids)}")
            return [self.get(i) for i in self.ids[:int(first)]]
        return [self.get(i) for i in self.ids] if all else []

    def summary(self) -> pandas.DataFrame:
        """One row per trace: id, duration_s, samples, cqi_mean/min/max, speed in **km/h**.

        Returns
        -------
        pandas.DataFrame
            Columns ``id, duration_s, samples, cqi_mean, cqi_min, cqi_max, speed_mean_kmh,
            speed_max_kmh`` (speed NaN when the trace has no speed).
        """
        import pandas as pd

        return pd.DataFrame([_summary_row(t) for t in self])


def _summary_row(trace: Trace) -> dict:
    speed = trace.speed_mps
    has_speed = speed is not None and np.isfinite(speed).any()
    return {
        "id": trace.id,
        "duration_s": trace.duration_s,
        "samples": trace.n_samples,
        "cqi_mean": float(trace.cqi.mean()),
        "cqi_min": int(trace.cqi.min()),
        "cqi_max": int(trace.cqi.max()),
        "speed_mean_kmh": float(np.nanmean(speed) * 3.6) if has_speed else float("nan"),
        "speed_max_kmh": float(np.nanmax(speed) * 3.6) if has_speed else float("nan"),
    }


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def load_trace_set(path) -> TraceSet:
    """Open a trace-set file (alias of :meth:`TraceSet.open`)."""
    return TraceSet.open(path)
