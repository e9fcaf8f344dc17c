"""Generic importers that turn drive-test files into trace sets (:mod:`simran.traces.trace_set`).

* :func:`import_csv` — any CSV with a time and a CQI column (and optional companions).
* :func:`import_cqi_series` — a plain single-column CQI file (a header line, then one integer per
  line; the layout of the Volos vehicle-CQI data, radio-reference B.1).

They clean nothing: a missing or out-of-range CQI, a time that does not increase or an unreadable
value raises :class:`~simran.errors.TraceError` naming the file, the 1-based data row, the line
number and the reason. The helpers below (strict CQI parsing, CSV rows with their line numbers,
the local projection of GPS fixes) are shared with the UCC 5G importer
(:mod:`simran.traces.ucc5g`), the only importer that repairs its input.
"""

from __future__ import annotations

import csv
import math
from datetime import datetime
from pathlib import Path

import numpy as np

from simran.errors import TraceError
from simran.traces.trace import CQI_MAX, CQI_MIN, Trace
from simran.traces.trace_set import write_trace_set

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG), m — for the local equirectangular projection."""

KMH_PER_MPS = 3.6
"""km/h per m/s."""

_MISSING = frozenset({"", "-", "nan", "na", "n/a", "null", "none"})


# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------

#: the longest time a trace may span [s] (about 31.7 years; the clock counts int64 µs)
MAX_TRACE_SPAN_S = 1e9


def _where(name: str, row: int, line: int) -> str:
    return f"{name}: data row {row} (line {line})"


def _read_csv_rows(stream, name: str) -> tuple[list[str], list[tuple[int, int, list[str]]]]:
    """Header and ``(data row, line number, fields)`` of every non-blank row of a CSV stream."""
    reader = csv.reader(stream)
    header = next(reader, None)
    if header is None or not any(h.strip() for h in header):
        raise TraceError(f"{name}: empty file (no header line)")
    header = [h.strip() for h in header]
    rows = []
    for fields in reader:
        if not fields:
            continue  # a blank line is not a data row
        rows.append((len(rows) + 1, reader.line_num, fields))
        if len(fields) != len(header):
            raise TraceError(f"{_where(name, len(rows), reader.line_num)}: {len(fields)} "
                             f"fields, the header has {len(header)}")
    if not rows:
        raise TraceError(f"{name}: no data rows after the header")
    return header, rows


def _require_columns(header: list[str], wanted: list[str], name: str) -> dict[str, int]:
    missing = [c for c in wanted if c not in header]
    if missing:
        raise TraceError(f"{name}: missing column(s) {missing}; the header has {header}")
    return {c: header.index(c) for c in wanted}


def parse_cqi(text: str) -> int:
    """Parse one CQI field strictly.

    Raises
    ------
    ValueError
        With the reason: missing (``-``, empty, NaN), not a number, not an integer, or outside
        0..15.
    """
    value = text.strip()
    if value.lower() in _MISSING:
        raise ValueError(f"CQI is missing ({text!r})")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"CQI {text!r} is not a number") from None
    if not math.isfinite(number) or number != int(number):
        raise ValueError(f"CQI {text!r} is not an integer")
    if not CQI_MIN <= number <= CQI_MAX:
        raise ValueError(f"CQI {text!r} is outside {CQI_MIN}..{CQI_MAX}")
    return int(number)


def _float_or_nan(text: str) -> float:
    """A float, NaN for the missing markers; ValueError otherwise."""
    value = text.strip()
    return float("nan") if value.lower() in _MISSING else float(value)


def lonlat_to_xy_m(lon_deg, lat_deg) -> tuple[np.ndarray, np.ndarray]:
    """Local equirectangular projection about the first finite fix.

    .. math:: x = R\\cos\\varphi_0\\,(\\lambda-\\lambda_0),\\quad y = R\\,(\\varphi-\\varphi_0)

    with R = :data:`EARTH_RADIUS_M` and angles in radians. Accurate to well under 1 % over the
    few kilometres of a drive.

    Parameters
    ----------
    lon_deg, lat_deg : array_like of float
        WGS-84 longitude and latitude in degrees (NaN = no fix).

    Returns
    -------
    x_m, y_m : ndarray of float
        East and north offsets in metres (NaN where there is no fix; all NaN without any fix).
    """
    lon = np.radians(np.asarray(lon_deg, dtype=float))
    lat = np.radians(np.asarray(lat_deg, dtype=float))
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any():
        return np.full(lon.shape, np.nan), np.full(lat.shape, np.nan)
    i0 = int(np.flatnonzero(ok)[0])
    x_m = EARTH_RADIUS_M * math.cos(lat[i0]) * (lon - lon[i0])
    y_m = EARTH_RADIUS_M * (lat - lat[i0])
    return x_m, y_m


def _median_period_s(t_s: np.ndarray) -> float:
    return float(np.median(np.diff(t_s))) if t_s.size > 1 else 1.0


# --------------------------------------------------------------------------------------------
# Generic CSV
# --------------------------------------------------------------------------------------------

CSV_COLUMN_KEYS = {
    "time": "t_s", "cqi": "cqi", "speed": "speed_mps", "x": "x_m", "y": "y_m",
    "lat": "lat_deg", "lon": "lon_deg", "rsrp": "rsrp_dbm", "rsrq": "rsrq_db",
    "sinr": "sinr_db", "serving_cell": "serving_cell", "dl": "dl_mbps",
    "network_mode": "network_mode",
}
"""Keys accepted in ``import_csv(columns=...)`` and the trace field each fills."""


def _time_parser(time_format: str | None, first: str, where: str):
    """Return ``text -> float seconds or datetime`` for the given format."""
    if time_format == "s":
        return float
    if time_format == "ms":
        return lambda v: float(v) / 1000.0
    if time_format is None:
        try:
            float(first)
            return float
        except ValueError:
            pass
        try:
            datetime.fromisoformat(first.strip())
        except ValueError:
            raise TraceError(f"{where}: time {first!r} is neither seconds nor ISO 8601; pass "
                             "time_format ('s', 'ms' or a strftime format)") from None
        return lambda v: datetime.fromisoformat(v.strip())
    return lambda v: datetime.strptime(v.strip(), time_format)


def _parse_time(parse, text: str, where: str):
    try:
        value = parse(text)
    except ValueError:
        raise TraceError(f"{where}: cannot parse time {text!r}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise TraceError(f"{where}: time is {text!r}")
    return value


def _check_increasing(times: list, rows: list, name: str) -> None:
    for k in range(1, len(times)):
        if times[k] <= times[k - 1]:
            how = "repeats" if times[k] == times[k - 1] else "goes backwards"
            r, line, _ = rows[k]
            raise TraceError(f"{_where(name, r, line)}: time {how} ({times[k - 1]} then "
                             f"{times[k]}); time must strictly increase within a trace")


def _csv_trace(trace_id: str, rows: list, cols: dict[str, int], parse, name: str,
               speed_factor: float, attrs: dict) -> Trace:
    times, cqi = [], []
    for r, line, fields in rows:
        where = _where(name, r, line)
        times.append(_parse_time(parse, fields[cols["time"]], where))
        try:
            cqi.append(parse_cqi(fields[cols["cqi"]]))
        except ValueError as exc:
            raise TraceError(f"{where}: {exc}") from None
    _check_increasing(times, rows, name)
    if isinstance(times[0], datetime):
        try:
            t_s = np.array([(t - times[0]).total_seconds() for t in times])
        except TypeError as exc:
            raise TraceError(f"{name}: mixed time zones in the time column ({exc})") from None
    else:
        t_s = np.asarray(times, dtype=float) - float(times[0])
    far = np.flatnonzero(np.abs(t_s) > MAX_TRACE_SPAN_S)
    if far.size:
        r, line, fields = rows[int(far[0])]
        raise TraceError(f"{_where(name, r, line)}: time {fields[cols['time']]!r} is "
                         f"{t_s[far[0]]:.3g} s after the first row, beyond the "
                         f"{MAX_TRACE_SPAN_S:.0e} s a trace may span (a typo or a wrong unit?)")
    data = {"t_s": t_s, "cqi": np.asarray(cqi)}
    for key, col in cols.items():
        if key not in ("time", "cqi"):
            data[CSV_COLUMN_KEYS[key]] = _optional_column(key, col, rows, name)
    if "speed_mps" in data:
        data["speed_mps"] = data["speed_mps"] * speed_factor
    if "lat_deg" in data and "lon_deg" in data and "x_m" not in data and "y_m" not in data:
        data["x_m"], data["y_m"] = lonlat_to_xy_m(data["lon_deg"], data["lat_deg"])
    attrs = {"sampling_period_s": _median_period_s(t_s), **attrs}
    return Trace(id=trace_id, attrs=attrs, **data)


def _optional_column(key: str, col: int, rows: list, name: str) -> np.ndarray:
    if key == "network_mode":
        return np.array([f[col].strip() for _, _, f in rows])
    out = []
    for r, line, fields in rows:
        try:
            value = _float_or_nan(fields[col])
        except ValueError:
            raise TraceError(f"{_where(name, r, line)}: {key} value {fields[col]!r} is not a "
                             "number") from None
        out.append(value)
    arr = np.asarray(out, dtype=float)
    if key == "serving_cell":
        bad = np.isfinite(arr) & (arr != np.round(arr))
        if bad.any():
            r, line, f = rows[int(np.flatnonzero(bad)[0])]
            raise TraceError(f"{_where(name, r, line)}: serving_cell {f[col]!r} is not an "
                             "integer")
        return np.where(np.isfinite(arr), arr, -1).astype(np.int64)
    return arr


def import_csv(path, columns: dict[str, str], time_format: str | None = None,
               trace_id_column: str | None = None, *, trace_id: str | None = None,
               speed_unit: str = "m/s", attrs: dict | None = None, out_path=None
               ) -> list[Trace]:
    """Read traces from a generic CSV file (strict: no cleaning).

    Parameters
    ----------
    path : str or Path
        The CSV file (comma-separated, one header line).
    columns : dict
        Map from :data:`CSV_COLUMN_KEYS` (``time`` and ``cqi`` required; optional ``speed``,
        ``x``, ``y``, ``lat``, ``lon``, ``rsrp``, ``rsrq``, ``sinr``, ``serving_cell``, ``dl``,
        ``network_mode``) to column names. Optional values may be empty or ``-`` (NaN; -1 for
        ``serving_cell``). Units: x/y m, lat/lon deg, RSRP dBm, RSRQ/SINR dB, DL Mbit/s.
    time_format : {None, "s", "ms"} or str
        ``"s"``/``"ms"``: numeric seconds/milliseconds; a strftime format (e.g.
        ``"%Y.%m.%d_%H.%M.%S"``); ``None``: numeric seconds if the first value is numeric, else
        ISO 8601. ``t_s`` is measured from each trace's first row.
    trace_id_column : str, optional
        Column whose value names the trace of each row (several traces per file, in order of
        first appearance); otherwise the whole file is one trace.
    trace_id : str, optional
        Id of the single trace (default: the file stem).
    speed_unit : {"m/s", "km/h"}
        Unit of the ``speed`` column.
    attrs : dict, optional
        Extra per-trace attributes (source, licence, citation, ...).
    out_path : str or Path, optional
        If given, also write the traces there as a trace set.

    Returns
    -------
    list of Trace

    Raises
    ------
    TraceError
        Empty file, missing columns, missing/NaN/``-``/non-integer CQI, CQI outside 0..15,
        unparsable time or values, time that repeats or goes backwards — naming file, data row
        (1-based) and line.
    """
    path = Path(path)
    name = str(path)
    cols = _csv_columns(columns, trace_id_column, name)
    if speed_unit not in ("m/s", "km/h"):
        raise TraceError(f"{name}: speed_unit must be 'm/s' or 'km/h', not {speed_unit!r}")
    try:
        with open(path, newline="", encoding="utf-8-sig") as stream:
            header, rows = _read_csv_rows(stream, name)
    except OSError as exc:
        raise TraceError(f"{name}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise TraceError(f"{name}: not a UTF-8 text file (byte {exc.start}: "
                         f"{exc.object[exc.start:exc.start + 1]!r}); is it a binary file?"
                         ) from None
    except csv.Error as exc:                     # e.g. "line contains NUL": a binary file
        raise TraceError(f"{name}: not a CSV text file ({exc})") from None
    index = _require_columns(header, list(cols.values()), name)
    col_idx = {k: index[c] for k, c in cols.items() if k != "trace_id"}
    groups = _group_rows(rows, index.get(cols.get("trace_id")), path.stem if trace_id is None
                         else trace_id, name)
    parse = _time_parser(time_format, rows[0][2][col_idx["time"]], _where(name, *rows[0][:2]))
    base_attrs = {"source": path.name, "original_file": path.name, "licence": "unknown",
                  "citation": "", "parameters": {"columns": cols, "time_format": time_format,
                                                 "speed_unit": speed_unit}, **(attrs or {})}
    factor = 1.0 / KMH_PER_MPS if speed_unit == "km/h" else 1.0
    traces = [_csv_trace(tid, grows, col_idx, parse, name, factor, base_attrs)
              for tid, grows in groups.items()]
    if out_path is not None:
        write_trace_set(out_path, traces, {"name": Path(out_path).stem,
                                           "description": f"imported from {path.name}"})
    return traces


def _csv_columns(columns: dict, trace_id_column: str | None, name: str) -> dict[str, str]:
    unknown = sorted(set(columns) - set(CSV_COLUMN_KEYS))
    if unknown:
        raise TraceError(f"{name}: unknown column key(s) {unknown}; use {list(CSV_COLUMN_KEYS)}")
    missing = [k for k in ("time", "cqi") if not columns.get(k)]
    if missing:
        raise TraceError(f"{name}: columns must name the {' and '.join(missing)} column")
    cols = {k: v for k, v in columns.items() if v}
    if trace_id_column:
        cols["trace_id"] = trace_id_column
    return cols


def _group_rows(rows: list, id_col: int | None, default_id: str, name: str) -> dict[str, list]:
    if id_col is None:
        return {default_id: rows}
    groups: dict[str, list] = {}
    for row in rows:
        tid = row[2][id_col].strip()
        if not tid or "/" in tid:
            raise TraceError(f"{_where(name, row[0], row[1])}: trace id {tid!r} is empty or "
                             "contains '/'")
        groups.setdefault(tid, []).append(row)
    return groups


# --------------------------------------------------------------------------------------------
# Single-column CQI series
# --------------------------------------------------------------------------------------------

def import_cqi_series(path, period_s: float, trace_id: str | None = None,
                      vehicles: int | None = None, *, header: bool = True, out_path=None,
                      attrs: dict | None = None) -> list[Trace]:
    """Read a single-column CQI file: a header line, then one integer CQI per line.

    This is the layout of the Volos vehicle-CQI data (radio-reference B.1: ``train.csv``, 73 cars
    concatenated without vehicle ids or timestamps).

    Parameters
    ----------
    path : str or Path
        The file.
    period_s : float
        Sampling period in s (not recorded in such files; the user must know it).
    trace_id : str, optional
        Trace id (default: the file stem); with ``vehicles`` the ids are
        ``<trace_id>_v01``, ``_v02``, ...
    vehicles : int, optional
        Split the series into this many consecutive vehicles of (nearly) equal length — lengths
        differ by at most one sample, the first ``n % vehicles`` get the extra one. **This is an
        assumption**: the file does not mark vehicle boundaries, so equal split is a guess
        recorded in every trace's ``parameters``/``assumption`` attrs.
    header : bool
        Whether the first line is a header (it is skipped; pandas-style readers consume it too).
    out_path : str or Path, optional
        If given, also write the traces there as a trace set.
    attrs : dict, optional
        Extra per-trace attributes.

    Returns
    -------
    list of Trace

    Raises
    ------
    TraceError
        Empty file, an empty line inside the data, missing/NaN/non-integer CQI, CQI outside
        0..15, bad ``period_s``/``vehicles`` — naming file, data row and line.
    """
    path = Path(path)
    name = str(path)
    if not (period_s > 0 and math.isfinite(period_s)):
        raise TraceError(f"{name}: period_s must be > 0 and finite, got {period_s!r}")
    if abs(period_s * 1e6 - round(period_s * 1e6)) > 1e-6 * max(1.0, period_s * 1e6) or \
            round(period_s * 1e6) < 1:
        raise TraceError(f"{name}: period_s = {period_s!r} is not a whole number of "
                         "microseconds (the clock counts µs)")
    cqi = _read_series(path, name, header)
    trace_id = trace_id or path.stem
    parts = _split_vehicles(cqi, vehicles, name)
    base = {"source": path.name, "original_file": path.name, "licence": "unknown",
            "citation": "", "sampling_period_s": float(period_s),
            "parameters": {"period_s": float(period_s), "vehicles": vehicles, "header": header},
            **(attrs or {})}
    if vehicles:
        base["assumption"] = (f"vehicle boundaries are not marked in {path.name}; the series "
                              f"was split into {vehicles} consecutive near-equal parts")
    width = max(2, len(str(len(parts))))
    traces = []
    for k, (first_row, part) in enumerate(parts, start=1):
        tid = f"{trace_id}_v{k:0{width}d}" if vehicles else trace_id
        attrs_k = {**base, "source_rows": [first_row, first_row + part.size - 1]}
        traces.append(Trace(id=tid, t_s=np.arange(part.size) * float(period_s), cqi=part,
                            attrs=attrs_k))
    if out_path is not None:
        write_trace_set(out_path, traces, {"name": Path(out_path).stem,
                                           "description": f"imported from {path.name}"})
    return traces


def _read_series(path: Path, name: str, header: bool) -> np.ndarray:
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except OSError as exc:
        raise TraceError(f"{name}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise TraceError(f"{name}: not a UTF-8 text file (byte {exc.start}); is it a binary "
                         "file?") from None
    while lines and not lines[-1].strip():
        lines.pop()
    skip = 1 if header else 0
    if len(lines) <= skip:
        raise TraceError(f"{name}: empty file (no CQI values"
                         f"{' after the header line' if header else ''})")
    values = []
    for k, text in enumerate(lines[skip:], start=1):
        try:
            values.append(parse_cqi(text))
        except ValueError as exc:
            reason = "empty line" if not text.strip() else str(exc)
            raise TraceError(f"{_where(name, k, k + skip)}: {reason}") from None
    return np.asarray(values, dtype=np.int8)


def _split_vehicles(cqi: np.ndarray, vehicles: int | None, name: str) -> list:
    if vehicles is None:
        return [(1, cqi)]
    if int(vehicles) != vehicles or not 1 <= vehicles <= cqi.size:
        raise TraceError(f"{name}: vehicles must be an integer in 1..{cqi.size}, "
                         f"got {vehicles!r}")
    parts = np.array_split(cqi, int(vehicles))
    starts = np.cumsum([0] + [p.size for p in parts[:-1]]) + 1
    return list(zip(starts.tolist(), parts))
