"""The :class:`Trace` record: one vehicle's channel-quality time series, checked on creation.

A *trace* is one vehicle's channel-quality time series: CQI (TS 38.214 §5.2.2.1, 4-bit, 0–15)
sampled at known instants, optionally with speed, position, RSRP/RSRQ/SINR, serving cell, measured
downlink throughput and radio access technology. Trace-driven UEs take their CQI from a trace
instead of from geometry (design §5, the Symbiotic paper's method: vehicle CQI → MCS):
:meth:`Trace.cqi_at` maps simulation instants to samples (hold or interpolate; stop, loop or hold
at the end).

Traces are stored in trace-set files (:mod:`simran.traces.trace_set`); :data:`OPTIONAL_FIELDS`
and :data:`UNITS` name the optional datasets, their storage dtypes and units.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simran.errors import TraceError
from simran.units import US_PER_S

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


#: the largest |t_s| a trace may hold [s] (int64 microseconds hold ±9.2e12 s)
MAX_ABS_T_S = 1e12

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
        if np.abs(self.t_s).max() > MAX_ABS_T_S:
            i = _first(np.abs(self.t_s) > MAX_ABS_T_S)
            raise TraceError(f"{where}: t_s at sample {i} is {float(self.t_s[i]):.3g} s, beyond "
                             f"±{MAX_ABS_T_S:.0e} s (the clock counts int64 microseconds)")
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
        same = np.diff(self._t_us) <= 0
        if same.any():
            i = _first(same) + 1
            raise TraceError(f"{where}: samples {i - 1} and {i} are less than 1 µs apart "
                             f"(t_s {float(self.t_s[i - 1])!r} then {float(self.t_s[i])!r}; the "
                             "clock counts whole microseconds)")

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

