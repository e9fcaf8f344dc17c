"""Importers that turn drive-test files into simran trace sets (:mod:`simran.traces.trace_set`).

* :func:`import_ucc5g` — the driving CSVs of the UCC 5G production dataset (Raca et al., MMSys
  2020; radio-reference B.3) with documented, counted cleaning rules (see :data:`UCC5G_RULES`).
* :func:`import_csv` — any CSV with a time and a CQI column (and optional companions).
* :func:`import_cqi_series` — a plain single-column CQI file (a header line, then one integer per
  line; the layout of the Volos vehicle-CQI data, radio-reference B.1).

The generic importers clean nothing: a missing or out-of-range CQI, a time that does not increase
or an unreadable value raises :class:`~simran.errors.TraceError` naming the file, the 1-based data
row, the line number and the reason. Only the UCC importer repairs, because its defects are known,
and it counts every repair per rule.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from simran.errors import TraceError
from simran.traces.trace_set import CQI_MAX, CQI_MIN, Trace, write_trace_set

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG), m — for the local equirectangular projection."""

KMH_PER_MPS = 3.6
"""km/h per m/s."""

_MISSING = frozenset({"", "-", "nan", "na", "n/a", "null", "none"})


class TraceCleaningWarning(UserWarning):
    """An importer repaired the input with a documented rule (counts are in the trace attrs)."""


# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------

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
    if not period_s > 0:
        raise TraceError(f"{name}: period_s must be > 0, got {period_s!r}")
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


# --------------------------------------------------------------------------------------------
# UCC 5G production dataset (Raca et al., MMSys 2020)
# --------------------------------------------------------------------------------------------

UCC5G_CITATION = ("D. Raca, D. Leahy, C. J. Sreenan and J. J. Quinlan, \"Beyond Throughput, The "
                  "Next Generation: a 5G Dataset with Channel and Context Metrics\", ACM "
                  "Multimedia Systems Conference (MMSys), Istanbul, Turkey, June 2020")
UCC5G_SOURCE = "https://github.com/uccmisl/5Gdataset (5G-production-dataset.zip)"
UCC5G_TIME_FORMAT = "%Y.%m.%d_%H.%M.%S"

UCC5G_RULES = {
    "R1": "Timestamp parsed as YYYY.MM.DD_hh.mm.ss (1-s resolution, phone local time); rows "
          "whose Timestamp does not parse are dropped",
    "R2": "the phone clock stepped back: rows earlier than the latest timestamp already seen "
          "are dropped",
    "R3": "several rows in one second: keep the last row with a valid CQI (else the last row); "
          "a whole real row is kept, no averaged values are made up",
    "R4": "CQI not an integer in 0..15: treated as missing (no such rows in the published zip)",
    "R5": "rows before the first / after the last valid CQI are cut",
    "R6": "1-s grid: a run of <= max_fill_s missing seconds (skipped second or CQI '-') is "
          "filled by repeating the previous sample in every column",
    "R7": "a run of > max_fill_s missing seconds (the phone was on 3G: HSPA+/UMTS report no "
          "CQI) splits the CSV into segments; the gap is dropped, never bridged",
    "R8": "segments shorter than min_segment_s samples are dropped",
}
"""The UCC 5G cleaning rules, in order of application."""

_UCC_COUNT_KEYS = (
    "rows", "rows_with_cqi",
    "R1_bad_timestamp_rows", "R2_clock_step_back_rows", "R3_duplicate_rows_dropped",
    "R3_conflicting_cqi_seconds", "R4_invalid_cqi_rows", "R5_leading_rows_cut",
    "R5_trailing_rows_cut", "R6_filled_skipped_s", "R6_filled_missing_cqi_s",
    "R7_gaps_split", "R7_gap_missing_cqi_rows_dropped", "R7_gap_s_dropped",
    "R8_short_segments_dropped", "R8_short_segment_samples_dropped",
    "segments_kept", "samples_kept",
)

_UCC_OPTIONAL = {  # trace field: (CSV column, scale)
    "lon_deg": ("Longitude", 1.0), "lat_deg": ("Latitude", 1.0),
    "speed_mps": ("Speed", 1.0 / KMH_PER_MPS), "rsrp_dbm": ("RSRP", 1.0),
    "rsrq_db": ("RSRQ", 1.0), "sinr_db": ("SNR", 1.0), "dl_mbps": ("DL_bitrate", 1e-3),
}


@dataclass
class Ucc5gImport:
    """Outcome of :func:`import_ucc5g`.

    Attributes
    ----------
    traces : list of Trace
        The cleaned traces (one per kept segment of each driving CSV).
    per_file : list of dict
        One entry per driving CSV: ``file``, ``base_id``, ``ids`` and every rule count.
    totals : dict
        Rule counts summed over files, plus ``files``, ``files_skipped``, ``traces``.
    skipped : list of (file, reason)
        Driving CSVs that yielded no trace.
    parameters : dict
        ``max_fill_s`` and ``min_segment_s``.
    out_path : Path or None
        The written trace-set file.
    """

    traces: list
    per_file: list
    totals: dict
    skipped: list
    parameters: dict
    out_path: Path | None = None
    source_sha256: str = field(default="")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _ucc_driving_members(names: list[str]) -> dict[str, str]:
    """Map each driving CSV member of the zip to its base trace id.

    Ids are ``<app>_driving[_<content>]_<nn>``: app ``download``/``netflix``/``amazonprime``,
    content the folder name without ``Season3-``/``animated-`` (``strangerthings``), ``nn`` the
    1-based rank of the file name (= its start time) inside its folder.
    """
    folders: dict[tuple[str, str], list[str]] = {}
    for member in names:
        parts = member.split("/")
        if (member.startswith("__MACOSX/") or parts[-1].startswith("._")
                or not parts[-1].lower().endswith(".csv") or "Driving" not in parts[:-1]):
            continue
        k = parts.index("Driving")
        app = _slug(parts[k - 1]) if k > 0 else "ucc5g"
        sub = parts[k + 1:-1]
        content = _slug(re.sub(r"^(season\d+-|animated-)", "", sub[0], flags=re.I)) if sub else ""
        folders.setdefault((app, content), []).append(member)
    ids = {}
    for (app, content), members in folders.items():
        stem = f"{app}_driving" + (f"_{content}" if content else "")
        for n, member in enumerate(sorted(members, key=lambda m: m.split("/")[-1]), start=1):
            ids[member] = f"{stem}_{n:02d}"
    return dict(sorted(ids.items(), key=lambda kv: kv[1]))


def _ucc_rows(name: str, header: list[str], rows: list, counts: dict) -> list[tuple]:
    """R1, R2 and R4: ``(second, row, line, fields, cqi or None)`` per surviving row."""
    col = _require_columns(header, ["Timestamp", "CQI"], name)
    out, t0, latest = [], None, None
    for r, line, fields in rows:
        try:
            stamp = datetime.strptime(fields[col["Timestamp"]].strip(), UCC5G_TIME_FORMAT)
        except ValueError:
            counts["R1_bad_timestamp_rows"] += 1
            continue
        t0 = stamp if t0 is None else t0
        sec = int((stamp - t0).total_seconds())
        if latest is not None and sec < latest:
            counts["R2_clock_step_back_rows"] += 1
            continue
        latest = sec
        text = fields[col["CQI"]]
        cqi = None
        if text.strip() != "-":
            try:
                cqi = parse_cqi(text)
            except ValueError:
                counts["R4_invalid_cqi_rows"] += 1
        out.append((sec, r, line, fields, cqi))
    return out


def _ucc_dedupe(rows: list[tuple], counts: dict) -> list[tuple]:
    """R3: one row per second — the last with a valid CQI, else the last."""
    kept = []
    k = 0
    while k < len(rows):
        j = k
        while j + 1 < len(rows) and rows[j + 1][0] == rows[k][0]:
            j += 1
        group = rows[k:j + 1]
        valid = [g for g in group if g[4] is not None]
        kept.append(valid[-1] if valid else group[-1])
        counts["R3_duplicate_rows_dropped"] += len(group) - 1
        counts["R3_conflicting_cqi_seconds"] += len({g[4] for g in valid}) > 1
        k = j + 1
    return kept


def _ucc_segments(rows: list[tuple], counts: dict, max_fill_s: int) -> list[dict]:
    """R5–R7: cut leading/trailing rows, classify gaps, return segments of valid-row indices."""
    valid = [k for k, row in enumerate(rows) if row[4] is not None]
    counts["R5_leading_rows_cut"] += valid[0]
    counts["R5_trailing_rows_cut"] += len(rows) - 1 - valid[-1]
    segments = [{"valid": [valid[0]], "skipped_s": 0, "missing_cqi_s": 0}]
    for a, b in zip(valid[:-1], valid[1:]):
        gap_s = rows[b][0] - rows[a][0] - 1      # missing grid seconds between two valid rows
        dash = b - a - 1                          # of which rows with CQI '-' (or invalid)
        if gap_s > max_fill_s:
            counts["R7_gaps_split"] += 1
            counts["R7_gap_missing_cqi_rows_dropped"] += dash
            counts["R7_gap_s_dropped"] += gap_s
            segments.append({"valid": [b], "skipped_s": 0, "missing_cqi_s": 0})
            continue
        segments[-1]["skipped_s"] += gap_s - dash
        segments[-1]["missing_cqi_s"] += dash
        segments[-1]["valid"].append(b)
    return segments


def _ucc_segment_arrays(rows: list[tuple], seg: dict, header: list[str], name: str) -> dict:
    """Zero-order-hold the segment's valid rows onto its 1-s grid and parse every column."""
    secs = np.array([rows[k][0] for k in seg["valid"]])
    grid = np.arange(secs[0], secs[-1] + 1)                       # [n] s
    pick = np.searchsorted(secs, grid, side="right") - 1          # [n] index into seg rows
    chosen = [rows[seg["valid"][p]] for p in pick]
    data = {"t_s": (grid - grid[0]).astype(float),
            "cqi": np.array([row[4] for row in chosen], dtype=np.int8)}
    for key, (column, scale) in _UCC_OPTIONAL.items():
        if column in header:
            data[key] = _ucc_floats(chosen, header.index(column), column, name) * scale
    if "lon_deg" in data and "lat_deg" in data:
        data["x_m"], data["y_m"] = lonlat_to_xy_m(data["lon_deg"], data["lat_deg"])
    if "RAWCELLID" in header:
        cell = _ucc_floats(chosen, header.index("RAWCELLID"), "RAWCELLID", name)
        data["serving_cell"] = np.where(np.isfinite(cell), cell, -1).astype(np.int64)
    if "NetworkMode" in header:
        i = header.index("NetworkMode")
        data["network_mode"] = np.array([row[3][i].strip() for row in chosen])
    return data


def _ucc_floats(rows: list[tuple], i: int, column: str, name: str) -> np.ndarray:
    out = np.empty(len(rows))
    for k, (_, r, line, fields, _) in enumerate(rows):
        try:
            out[k] = _float_or_nan(fields[i])
        except ValueError:
            raise TraceError(f"{_where(name, r, line)}: {column} value {fields[i]!r} is not a "
                             "number") from None
    return out


def _ucc_file(name: str, text: str, base_id: str, params: dict) -> tuple[list[Trace], dict]:
    """Clean one driving CSV into its kept segments (traces) and its rule counts."""
    counts = dict.fromkeys(_UCC_COUNT_KEYS, 0)
    header, raw = _read_csv_rows(io.StringIO(text, newline=""), name)
    counts["rows"] = len(raw)
    rows = _ucc_dedupe(_ucc_rows(name, header, raw, counts), counts)
    counts["rows_with_cqi"] = sum(1 for f in raw if f[2][header.index("CQI")].strip() != "-")
    if not any(row[4] is not None for row in rows):
        return [], counts
    segments = _ucc_segments(rows, counts, params["max_fill_s"])
    kept = []
    for seg in segments:
        n = rows[seg["valid"][-1]][0] - rows[seg["valid"][0]][0] + 1
        if n < params["min_segment_s"]:
            counts["R8_short_segments_dropped"] += 1
            counts["R8_short_segment_samples_dropped"] += n
        else:
            kept.append(seg)
    for seg in kept:
        counts["R6_filled_skipped_s"] += seg["skipped_s"]
        counts["R6_filled_missing_cqi_s"] += seg["missing_cqi_s"]
    traces = [_ucc_trace(rows, seg, k, len(kept), header, name, base_id, params, counts)
              for k, seg in enumerate(kept, start=1)]
    counts["segments_kept"] = len(traces)
    counts["samples_kept"] = sum(t.n_samples for t in traces)
    return traces, counts


def _ucc_trace(rows, seg, k, n_kept, header, name, base_id, params, counts) -> Trace:
    data = _ucc_segment_arrays(rows, seg, header, name)
    first, last = rows[seg["valid"][0]], rows[seg["valid"][-1]]
    parts = name.split("/")
    attrs = {
        "source": "UCC 5G production dataset, " + UCC5G_SOURCE,
        "licence": "GPL-3.0", "citation": UCC5G_CITATION, "sampling_period_s": 1.0,
        "original_file": name, "source_rows": [first[1], last[1]],
        "start_time_local": first[3][header.index("Timestamp")],
        "segment": k, "segments": n_kept,
        "application": parts[parts.index("Driving") - 1] if "Driving" in parts else "",
        "serving_cell_column": "RAWCELLID",
        "cleaning": {"rules": UCC5G_RULES, "parameters": params,
                     "file_counts": counts,
                     "segment_counts": {"R6_filled_skipped_s": seg["skipped_s"],
                                        "R6_filled_missing_cqi_s": seg["missing_cqi_s"]}},
    }
    tid = base_id if n_kept == 1 else f"{base_id}_seg{k}"
    return Trace(id=tid, attrs=attrs, **data)


def read_ucc5g(zip_path, *, max_fill_s: int = 3, min_segment_s: int = 60) -> Ucc5gImport:
    """Read and clean the driving traces of the UCC 5G dataset zip (nothing is written).

    Parameters
    ----------
    zip_path : str or Path
        ``5G-production-dataset.zip`` as published in ``uccmisl/5Gdataset``.
    max_fill_s : int
        Longest run of missing seconds (skipped or CQI ``-``) that is filled (R6), s.
    min_segment_s : int
        Shortest segment kept (R8), s (= samples at the 1-s grid).

    Returns
    -------
    Ucc5gImport
        Traces, per-file and total counts. Static CSVs and ``__MACOSX/`` entries are ignored.

    Raises
    ------
    TraceError
        Unreadable zip, no driving CSV, or a driving CSV without ``Timestamp``/``CQI`` columns.
    """
    zip_path = Path(zip_path)
    params = {"max_fill_s": int(max_fill_s), "min_segment_s": int(min_segment_s)}
    try:
        blob = zip_path.read_bytes()
        archive = zipfile.ZipFile(io.BytesIO(blob))
    except (OSError, zipfile.BadZipFile) as exc:
        raise TraceError(f"{zip_path}: cannot open as a zip file ({exc})") from None
    members = _ucc_driving_members(archive.namelist())
    if not members:
        raise TraceError(f"{zip_path}: no */Driving/*.csv members (is this the UCC 5G zip?)")
    result = Ucc5gImport([], [], {}, [], params, None, hashlib.sha256(blob).hexdigest())
    for member, base_id in members.items():
        text = archive.read(member).decode("utf-8-sig")
        traces, counts = _ucc_file(member, text, base_id, params)
        result.traces += traces
        result.per_file.append({"file": member, "base_id": base_id,
                                "ids": [t.id for t in traces], **counts})
        if not traces:
            reason = ("no valid CQI in any row" if not counts["rows_with_cqi"] else
                      "every segment shorter than min_segment_s")
            result.skipped.append((member, reason))
    result.totals = {k: sum(f[k] for f in result.per_file) for k in _UCC_COUNT_KEYS}
    result.totals.update(files=len(members), files_skipped=len(result.skipped),
                         traces=len(result.traces))
    return result


def import_ucc5g(zip_path, out_path, *, max_fill_s: int = 3, min_segment_s: int = 60,
                 created_by: str | None = None) -> Ucc5gImport:
    """Import the UCC 5G driving traces into one trace-set file, cleaning by :data:`UCC5G_RULES`.

    Each driving CSV gives one trace ``<app>_driving[_<content>]_<nn>`` (e.g.
    ``netflix_driving_strangerthings_03``); a CSV cut by a long no-CQI gap (R7) gives
    ``..._seg1``, ``..._seg2``. Every repair is counted per CSV in the trace attr ``cleaning``
    and summed in the file attr ``cleaning_totals``; a :class:`TraceCleaningWarning` states the
    totals.

    Parameters
    ----------
    zip_path : str or Path
        ``5G-production-dataset.zip``.
    out_path : str or Path
        The trace-set file to write (atomically).
    max_fill_s, min_segment_s : int
        See :func:`read_ucc5g`.
    created_by : str, optional
        The command that made the file (stored in the file attrs).

    Returns
    -------
    Ucc5gImport
    """
    result = read_ucc5g(zip_path, max_fill_s=max_fill_s, min_segment_s=min_segment_s)
    if not result.traces:
        raise TraceError(f"{zip_path}: no driving CSV yielded a trace")
    repaired = {k: v for k, v in result.totals.items() if k.startswith("R") and v}
    if repaired:
        warnings.warn(TraceCleaningWarning(
            f"{zip_path}: cleaning rules applied (see attrs 'cleaning'): "
            + ", ".join(f"{k}={v}" for k, v in repaired.items())), stacklevel=2)
    attrs = {
        "name": Path(out_path).stem,
        "description": "UCC 5G production dataset (Cork, Ireland, 2019-2020): per-second CQI "
                       "and context of a phone in a car; driving traces only, cleaned by "
                       "rules R1-R8 (attr cleaning_rules)",
        "created_by": created_by or f"simran.traces.importers.import_ucc5g({str(zip_path)!r}, "
                                    f"{str(out_path)!r}, max_fill_s={max_fill_s}, "
                                    f"min_segment_s={min_segment_s})",
        "licence": "GPL-3.0", "citation": UCC5G_CITATION, "source": UCC5G_SOURCE,
        "source_sha256": result.source_sha256, "cleaning_rules": UCC5G_RULES,
        "parameters": result.parameters, "cleaning_totals": result.totals,
    }
    result.out_path = write_trace_set(out_path, result.traces, attrs)
    return result


def format_ucc5g_report(result: Ucc5gImport) -> str:
    """Human-readable report of an UCC 5G import: rule totals and skipped files."""
    lines = [f"driving CSVs read: {result.totals['files']}, traces: {result.totals['traces']}, "
             f"samples: {result.totals['samples_kept']} "
             f"(parameters: {result.parameters})", "cleaning (totals over all files):"]
    for key in _UCC_COUNT_KEYS:
        lines.append(f"  {key:<36} {result.totals[key]:>8}")
    for member, reason in result.skipped:
        lines.append(f"skipped {member}: {reason}")
    if result.out_path is not None:
        lines.append(f"wrote {result.out_path} ({result.out_path.stat().st_size} bytes)")
    return "\n".join(lines)
