"""Vehicle drive traces: the trace-set file format, the :class:`Trace` record and replay.

A *trace* is one vehicle's channel-quality time series: CQI (TS 38.214 §5.2.2.1, 4-bit, 0–15)
sampled at known instants, optionally with speed, position, RSRP/RSRQ/SINR, serving cell, measured
downlink throughput and radio access technology. Trace-driven UEs take their CQI from a trace
instead of from geometry (design §5, the Symbiotic paper's method: vehicle CQI → MCS).

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from simran.errors import TraceError
from simran.units import US_PER_S

if TYPE_CHECKING:  # pragma: no cover
    import pandas

FORMAT_VERSION = 1
"""Version of the trace-set file layout written by :func:`write_trace_set`."""

CQI_MIN, CQI_MAX = 0, 15
"""Range of the 4-bit CQI index (TS 38.214 Tables 5.2.2.1-2..4)."""

OPTIONAL_FIELDS: dict[str, tuple[str, str]] = {
    # name: (storage dtype, unit)
    "speed_mps": ("float32", "m/s"),
    "x_m": ("float32", "m"),
    "y_m": ("float32", "m"),
    "lat_deg": ("float64", "deg"),
    "lon_deg": ("float64", "deg"),
    "rsrp_dbm": ("float32", "dBm"),
    "rsrq_db": ("float32", "dB"),
    "sinr_db": ("float32", "dB"),
    "serving_cell": ("int64", "cell id"),
    "dl_mbps": ("float32", "Mbit/s"),
    "network_mode": ("str", "RAT label"),
}
"""Optional per-sample datasets: storage dtype and unit."""

UNITS: dict[str, str] = {"t_s": "s", "cqi": "CQI index 0-15", **{
    k: u for k, (_, u) in OPTIONAL_FIELDS.items()}}
"""Unit of every dataset name (stored per trace in the ``units`` attribute)."""

JSON_ATTRS = frozenset({"units", "cleaning", "parameters", "cleaning_totals", "cleaning_rules",
                        "source_rows"})
"""Attribute names whose values are dicts/lists stored as JSON text."""

_COMPRESSION = {"compression": "gzip", "compression_opts": 6, "shuffle": True}


# --------------------------------------------------------------------------------------------
# Trace
# --------------------------------------------------------------------------------------------

@dataclass(eq=False)
class Trace:
    """One vehicle's CQI time series and its optional companions.

    Parameters
    ----------
    id : str
        Trace identifier, unique within its trace set (no ``/``).
    t_s : ndarray of float64, shape [n]
        Sample instants in seconds from the trace start, strictly increasing.
    cqi : ndarray of int, shape [n]
        CQI index 0..15 (stored as int8).
    speed_mps, x_m, y_m, lat_deg, lon_deg, rsrp_dbm, rsrq_db, sinr_db, dl_mbps : ndarray, optional
        Per-sample floats (NaN = not reported); units in the names.
    serving_cell : ndarray of int64, optional
        Serving-cell identity per sample, -1 = unknown.
    network_mode : ndarray of str, optional
        Radio access technology label per sample.
    attrs : dict
        Provenance: source, licence, citation, units, sampling_period_s, cleaning, ...

    Raises
    ------
    TraceError
        If the arrays are not 1-D, differ in length, time does not strictly increase or CQI is
        outside 0..15 or not integral.
    """

    id: str
    t_s: np.ndarray
    cqi: np.ndarray
    speed_mps: np.ndarray | None = None
    x_m: np.ndarray | None = None
    y_m: np.ndarray | None = None
    lat_deg: np.ndarray | None = None
    lon_deg: np.ndarray | None = None
    rsrp_dbm: np.ndarray | None = None
    rsrq_db: np.ndarray | None = None
    sinr_db: np.ndarray | None = None
    serving_cell: np.ndarray | None = None
    dl_mbps: np.ndarray | None = None
    network_mode: np.ndarray | None = None
    attrs: dict = field(default_factory=dict)
    _t_us: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        where = f"trace {self.id!r}"
        if not isinstance(self.id, str) or not self.id or "/" in self.id:
            raise TraceError(f"{where}: id must be a non-empty string without '/'")
        self.t_s = np.asarray(self.t_s, dtype=np.float64)
        if self.t_s.ndim != 1 or self.t_s.size == 0:
            raise TraceError(f"{where}: t_s must be a non-empty 1-D array")
        if not np.all(np.isfinite(self.t_s)):
            raise TraceError(f"{where}: t_s has NaN/inf at sample {_first(~np.isfinite(self.t_s))}")
        back = np.diff(self.t_s) <= 0
        if back.any():
            i = _first(back) + 1
            raise TraceError(f"{where}: time does not strictly increase at sample {i} "
                             f"(t_s {float(self.t_s[i - 1])} then {float(self.t_s[i])})")
        self.cqi = _check_cqi(np.asarray(self.cqi), where, self.n_samples)
        for name, (dtype, _) in OPTIONAL_FIELDS.items():
            setattr(self, name, _check_optional(getattr(self, name), name, dtype, where,
                                                self.n_samples))
        self._t_us = np.rint(self.t_s * US_PER_S).astype(np.int64)

    @property
    def n_samples(self) -> int:
        """Number of samples."""
        return int(self.t_s.size)

    @property
    def period_s(self) -> float:
        """Sampling period in s: attr ``sampling_period_s``, else the median spacing, else 1 s."""
        if "sampling_period_s" in self.attrs:
            return float(self.attrs["sampling_period_s"])
        return float(np.median(np.diff(self.t_s))) if self.n_samples > 1 else 1.0

    @property
    def duration_s(self) -> float:
        """Covered time in s: first sample to last sample plus one sampling period.

        The last sample is valid for one period, so ``n`` samples at 1 s last ``n`` seconds.
        """
        return float(self.t_s[-1] - self.t_s[0] + self.period_s)

    def fields(self) -> list[str]:
        """Names of the optional datasets this trace carries."""
        return [n for n in OPTIONAL_FIELDS if getattr(self, n) is not None]

    def cqi_at(self, t_us, mode: str = "hold", end: str = "stop", offset_s: float = 0.0
               ) -> np.ndarray:
        """CQI seen at simulation instants (vectorised sample → tick mapping).

        The trace time of simulation instant ``t_us`` is ``τ = t_us + offset_s`` (µs; a positive
        offset starts the replay that far into the trace, a negative one delays it). The trace
        covers ``[t_s[0], t_s[-1] + period_s)``; before ``t_s[0]`` the result is -1.

        Parameters
        ----------
        t_us : int or array_like of int
            Simulation instants in integer microseconds (the SimPy clock).
        mode : {"hold", "interpolate"}
            ``"hold"``: the last sample at or before τ (zero-order hold). ``"interpolate"``: linear
            interpolation between the two neighbouring samples, rounded half up to the nearest
            integer CQI; during the last sample's period the value is held (with
            ``end="loop"`` it ramps towards the first sample, the periodic continuation).
        end : {"stop", "loop", "hold"}
            After the trace end: ``"stop"`` returns -1 (the UE leaves), ``"loop"`` wraps τ modulo
            the duration (also for τ before the start), ``"hold"`` keeps the last sample's CQI.
        offset_s : float
            Trace time at simulation time zero, in s (rounded to the µs).

        Returns
        -------
        ndarray of int64, same shape as ``t_us``
            CQI 0..15, or -1 where the trace gives no value (before the start; after the end
            with ``end="stop"``).
        """
        if mode not in ("hold", "interpolate"):
            raise TraceError(f"trace {self.id!r}: mode must be 'hold' or 'interpolate', "
                             f"not {mode!r}")
        if end not in ("stop", "loop", "hold"):
            raise TraceError(f"trace {self.id!r}: end must be 'stop', 'loop' or 'hold', "
                             f"not {end!r}")
        tau = _as_us(t_us) + int(round(offset_s * US_PER_S))
        start_us = self._t_us[0]
        end_us = self._t_us[-1] + int(round(self.period_s * US_PER_S))
        if end == "loop":
            tau = start_us + np.mod(tau - start_us, end_us - start_us)
        i = np.searchsorted(self._t_us, tau, side="right") - 1
        ic = np.clip(i, 0, self.n_samples - 1)
        cqi = self.cqi.astype(np.int64)
        if mode == "hold":
            out = cqi[ic]
        else:
            out = self._interpolate(tau, ic, end_us, wrap=(end == "loop"))
        out = np.where(i < 0, -1, out)
        if end == "stop":
            out = np.where(tau >= end_us, -1, out)
        elif end == "hold":
            out = np.where(tau >= end_us, cqi[-1], out)
        return out.astype(np.int64)

    def _interpolate(self, tau: np.ndarray, ic: np.ndarray, end_us: int, wrap: bool
                     ) -> np.ndarray:
        """Linear interpolation of CQI at ``tau`` (µs) between sample ``ic`` and its successor."""
        cqi = self.cqi.astype(np.float64)
        last = ic == self.n_samples - 1
        succ = np.minimum(ic + 1, self.n_samples - 1)
        next_t = np.where(last, end_us, self._t_us[succ])
        next_v = np.where(last, cqi[0] if wrap else cqi[-1], cqi[succ])
        frac = np.clip((tau - self._t_us[ic]) / (next_t - self._t_us[ic]), 0.0, 1.0)
        value = cqi[ic] + frac * (next_v - cqi[ic])
        return np.floor(value + 0.5).astype(np.int64)


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _as_us(t_us) -> np.ndarray:
    t = np.asarray(t_us)
    if t.dtype.kind == "f":
        t = np.rint(t)
    return t.astype(np.int64)


def _check_cqi(cqi: np.ndarray, where: str, n: int) -> np.ndarray:
    if cqi.shape != (n,):
        raise TraceError(f"{where}: cqi has shape {cqi.shape}, t_s has {n} samples")
    if cqi.dtype.kind == "f":
        bad = ~np.isfinite(cqi) | (cqi != np.round(cqi))
        if bad.any():
            raise TraceError(f"{where}: CQI at sample {_first(bad)} is "
                             f"{cqi[_first(bad)].item()}, not an integer")
    elif cqi.dtype.kind not in "iu":
        raise TraceError(f"{where}: cqi must be integers, got dtype {cqi.dtype}")
    bad = (cqi < CQI_MIN) | (cqi > CQI_MAX)
    if bad.any():
        raise TraceError(f"{where}: CQI at sample {_first(bad)} is {cqi[_first(bad)].item()}, "
                         f"outside {CQI_MIN}..{CQI_MAX}")
    return cqi.astype(np.int8)


def _check_optional(arr, name: str, dtype: str, where: str, n: int) -> np.ndarray | None:
    if arr is None:
        return None
    arr = np.asarray(arr)
    if arr.shape != (n,):
        raise TraceError(f"{where}: {name} has shape {arr.shape}, t_s has {n} samples")
    if dtype == "str":
        return arr.astype(str)
    if dtype == "int64":
        if arr.dtype.kind == "f":
            bad = np.isfinite(arr) & (arr != np.round(arr))
            if bad.any():
                raise TraceError(f"{where}: {name} at sample {_first(bad)} is "
                                 f"{arr[_first(bad)].item()}, not an integer")
            arr = np.where(np.isfinite(arr), arr, -1)
        return arr.astype(np.int64)
    return arr.astype(np.float64)


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
    try:
        with h5py.File(tmp, "w", libver=("v110", "latest")) as f:
            _write_attrs(f.attrs, file_attrs)
            group = f.create_group("traces")
            for trace in traces:
                _write_trace(group, trace)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
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
                ids = sorted(f["traces"].keys())
        except OSError as exc:
            raise TraceError(f"{path}: cannot read as HDF5 ({exc})") from exc
        if int(attrs["format_version"]) > FORMAT_VERSION:
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
        with h5py.File(self.path, "r") as f:
            g = f["traces"][trace_id]
            missing = [n for n in ("t_s", "cqi") if n not in g]
            if missing:
                raise TraceError(f"{where}: missing dataset(s) {missing}")
            data = {n: g[n][()] for n in ["t_s", "cqi", *OPTIONAL_FIELDS] if n in g}
            attrs = _read_attrs(g.attrs)
        if "network_mode" in data:
            data["network_mode"] = np.char.decode(data["network_mode"], "utf-8")
        try:
            return Trace(id=trace_id, attrs=attrs, **data)
        except TraceError as exc:
            raise TraceError(f"{self.path}: {exc}") from None

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


def load_trace_set(path) -> TraceSet:
    """Open a trace-set file (alias of :meth:`TraceSet.open`)."""
    return TraceSet.open(path)
