"""The UCC 5G drive-test importer: the driving CSVs of the UCC 5G production dataset.

The dataset (Raca et al., MMSys 2020; radio-reference B.3) is a zip of per-second CSVs of a phone
in a car. :func:`import_ucc5g` turns its driving CSVs into one trace set with documented, counted
cleaning rules (:data:`UCC5G_RULES`): unlike the generic importers (:mod:`simran.traces.importers`)
it repairs, because the defects of this dataset are known, and it counts every repair per rule.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from simran.errors import TraceError
from simran.traces.importers import (
    KMH_PER_MPS,
    _float_or_nan,
    _read_csv_rows,
    _require_columns,
    _where,
    lonlat_to_xy_m,
    parse_cqi,
)
from simran.traces.trace import Trace
from simran.traces.trace_set import write_trace_set


class TraceCleaningWarning(UserWarning):
    """An importer repaired the input with a documented rule (counts are in the trace attrs)."""


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


def _read_member(zip_path: Path, archive: zipfile.ZipFile, member: str) -> str:
    """One member's text; a damaged or binary member is a :class:`TraceError` naming both."""
    import zlib

    try:
        data = archive.read(member)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError,
            RuntimeError) as exc:
        raise TraceError(f"{zip_path}: member {member}: damaged zip entry ({exc})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TraceError(f"{zip_path}: member {member}: not a UTF-8 text CSV (byte "
                         f"{exc.start}); is it a binary file?") from None


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
    except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        raise TraceError(f"{zip_path}: cannot open as a zip file ({exc})") from None
    members = _ucc_driving_members(archive.namelist())
    if not members:
        raise TraceError(f"{zip_path}: no */Driving/*.csv members (is this the UCC 5G zip?)")
    result = Ucc5gImport([], [], {}, [], params, None, hashlib.sha256(blob).hexdigest())
    for member, base_id in members.items():
        text = _read_member(zip_path, archive, member)
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
        "created_by": created_by or f"simran.traces.ucc5g.import_ucc5g({str(zip_path)!r}, "
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
