"""Tests of simran.traces.trace and .trace_set (record, format, replay), simran.traces.importers and
.ucc5g (importers, cleaning) and the ``simran traces`` CLI.

The UCC fixture ``tests/data/ucc5g_fixture.zip`` holds verbatim rows of the real dataset (zip
comment lists member and rows); the expected rule counts below are derived by hand from those
rows, written out next to each number.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from simran.errors import TraceError
from simran.traces.importers import import_cqi_series, import_csv, lonlat_to_xy_m
from simran.traces.trace import Trace
from simran.traces.trace_set import TraceSet, load_trace_set, write_trace_set
from simran.traces.ucc5g import TraceCleaningWarning, import_ucc5g, read_ucc5g

DATA = Path(__file__).parent / "data"
FIXTURE = DATA / "ucc5g_fixture.zip"
ROOT = Path(__file__).parent.parent
SHIPPED = ROOT / "datasets" / "ucc5g_driving.h5"
R = "5G-production-dataset/"


# ------------------------------------------------------------------------------------------
# UCC 5G importer on the real-row fixture
# ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ucc(tmp_path_factory):
    out = tmp_path_factory.mktemp("ucc") / "fx.h5"
    with pytest.warns(TraceCleaningWarning, match="R3_duplicate_rows_dropped=29"):
        result = import_ucc5g(FIXTURE, out)
    return result, TraceSet.open(out)


def _file(result, suffix):
    return next(f for f in result.per_file if f["file"].endswith(suffix))


def test_ucc_ids_skip_static_and_macosx(ucc):
    result, ts = ucc
    # Download/Driving holds 2 CSVs: B_2019.12.16_11.49.59 (_01, no CQI) and B_2020.02.27 (_02).
    assert [f["base_id"] for f in result.per_file] == [
        "amazonprime_driving_adventuretime_01", "download_driving_01", "download_driving_02",
        "netflix_driving_rickandmorty_01", "netflix_driving_strangerthings_01"]
    assert ts.ids == ["download_driving_02", "netflix_driving_rickandmorty_01_seg1",
                      "netflix_driving_rickandmorty_01_seg2", "netflix_driving_strangerthings_01"]
    assert not any("Static" in f["file"] or "MACOSX" in f["file"] for f in result.per_file)
    assert dict(result.skipped) == {
        R + "Download/Driving/B_2019.12.16_11.49.59.csv": "no valid CQI in any row",
        R + "Amazon_Prime/Driving/animated-AdventureTime/B_2019.11.29_09.37.23.csv":
            "every segment shorter than min_segment_s"}


def test_ucc_rule_counts_download(ucc):
    # Download B_2020.02.27_20.35.57 rows 1-80: row 1 is 5G with CQI '-' (R5 leading 1);
    # repeated seconds at rows 3/4, 9/10, 22/23, 47/48, 59/60, 72/73 (R3: 6 dropped; only
    # 22/23 differ: CQI 10 then 11); rows 2..80 span 20.35.58-20.37.21 = 84 s of which
    # 79 - 6 = 73 have a row -> 11 skipped seconds, every gap <= 2 s (R6 fills 11).
    f = _file(ucc[0], "B_2020.02.27_20.35.57.csv")
    assert (f["rows"], f["rows_with_cqi"]) == (80, 79)
    assert f["R3_duplicate_rows_dropped"] == 6 and f["R3_conflicting_cqi_seconds"] == 1
    assert (f["R5_leading_rows_cut"], f["R5_trailing_rows_cut"]) == (1, 0)
    assert (f["R6_filled_skipped_s"], f["R6_filled_missing_cqi_s"]) == (11, 0)
    assert f["R7_gaps_split"] == 0 and f["samples_kept"] == 84
    t = ucc[1].get("download_driving_02")
    # 20.35.58:14, .59 (rows 3,4):14, 36.00-36.05: 11 (36.04 from row 10), 36.06 filled: 11,
    # 36.07: 10 (row 12)
    assert t.cqi[:11].tolist() == [14, 14, 11, 11, 11, 11, 11, 11, 11, 10, 10]
    assert t.cqi[19] == 11          # 20.36.17: rows 22 (CQI 10) and 23 (CQI 11) -> last kept
    np.testing.assert_array_equal(t.t_s, np.arange(84.0))
    assert t.attrs["cleaning"]["file_counts"]["R6_filled_skipped_s"] == 11
    assert t.attrs["source_rows"] == [2, 80]


def test_ucc_rule_counts_clock_step_back(ucc):
    # StrangerThings B_2019.11.27_07.29.47 rows 905-990: row 916 is 07.45.21, rows 917 ('-')
    # and 918 (CQI 0) say 07.45.20 -> R2 drops 2; row 919 (07.45.21, CQI 11) repeats 916's
    # second -> R3 keeps 919. Leading '-' rows 905..915 -> R5 11. Further repeated seconds
    # 928/929, 936/937 (15 vs 11), 944/945, 952/953 (11 vs 9), 965/966 (13 vs 9), 974/975
    # -> R3 7 dropped, 3 conflicting. 919..990 span 72 s, 66 distinct -> 6 filled.
    f = _file(ucc[0], "B_2019.11.27_07.29.47.csv")
    assert f["R2_clock_step_back_rows"] == 2
    assert f["R3_duplicate_rows_dropped"] == 7 and f["R3_conflicting_cqi_seconds"] == 3
    assert f["R5_leading_rows_cut"] == 11 and f["R6_filled_skipped_s"] == 6
    t = ucc[1].get("netflix_driving_strangerthings_01")
    assert t.n_samples == 72 and t.cqi[0] == 11   # not the CQI 0 of the dropped row 918
    assert t.cqi[17] == 11                         # 07.45.38: rows 936 (15), 937 (11)


def test_ucc_rule_counts_split(ucc):
    # RickandMorty B_2019.11.21_14.33.25 rows 80-250: rows 156-168 are 3G with CQI '-'
    # (2 repeated seconds -> 11 distinct) and 14.36.13 is skipped: 12 missing seconds > 3
    # -> R7 splits. Segment 1: 14.34.47-14.36.01 = 75 s (6 repeats, 5 skipped);
    # segment 2: 14.36.14-14.37.35 = 82 s (5 repeats, 5 skipped).
    f = _file(ucc[0], "B_2019.11.21_14.33.25.csv")
    assert (f["R7_gaps_split"], f["R7_gap_missing_cqi_rows_dropped"], f["R7_gap_s_dropped"]) \
        == (1, 11, 12)
    assert f["R3_duplicate_rows_dropped"] == 13 and f["R6_filled_skipped_s"] == 10
    seg1 = ucc[1].get("netflix_driving_rickandmorty_01_seg1")
    seg2 = ucc[1].get("netflix_driving_rickandmorty_01_seg2")
    assert (seg1.n_samples, seg2.n_samples) == (75, 82)
    # source_rows count the fixture CSV's rows: original row 80 is fixture row 1
    assert seg1.attrs["source_rows"] == [1, 76] and seg2.attrs["source_rows"] == [90, 171]
    assert seg2.attrs["start_time_local"] == "2019.11.21_14.36.14"
    assert (seg1.attrs["segment"], seg2.attrs["segments"]) == (1, 2)
    assert seg1.attrs["cleaning"]["segment_counts"]["R6_filled_skipped_s"] == 5


def test_ucc_short_segments_and_totals(ucc):
    # AdventureTime rows 2288-2318: 10 leading '-', CQI 10.18.34-38 (5 s), '-' 39, 40, 42
    # plus skipped 41 (4 missing s > 3 -> split), CQI 43-46 (4 s), 9 trailing '-':
    # two segments of 5 and 4 samples < 60 -> R8 drops both.
    f = _file(ucc[0], "B_2019.11.29_09.37.23.csv")
    assert (f["R5_leading_rows_cut"], f["R5_trailing_rows_cut"]) == (10, 9)
    assert (f["R7_gaps_split"], f["R7_gap_missing_cqi_rows_dropped"], f["R7_gap_s_dropped"]) \
        == (1, 3, 4)
    assert (f["R8_short_segments_dropped"], f["R8_short_segment_samples_dropped"]) == (2, 9)
    # the no-CQI file: rows 1-3 share a second, 7/8 too -> 3 duplicates; nothing else applies
    g = _file(ucc[0], "B_2019.12.16_11.49.59.csv")
    assert (g["rows_with_cqi"], g["R3_duplicate_rows_dropped"], g["segments_kept"]) == (0, 3, 0)
    totals = ucc[0].totals
    assert totals == {**totals, "rows": 388, "R2_clock_step_back_rows": 2,
                      "R3_duplicate_rows_dropped": 29, "R3_conflicting_cqi_seconds": 6,
                      "R5_leading_rows_cut": 22, "R5_trailing_rows_cut": 9,
                      "R6_filled_skipped_s": 27, "R6_filled_missing_cqi_s": 0,
                      "R7_gaps_split": 2, "R7_gap_missing_cqi_rows_dropped": 14,
                      "R7_gap_s_dropped": 16, "R8_short_segments_dropped": 2,
                      "R8_short_segment_samples_dropped": 9, "samples_kept": 313,
                      "traces": 4, "files": 5, "files_skipped": 2}
    assert ucc[1].attrs["cleaning_totals"]["samples_kept"] == 313


def test_ucc_fill_missing_cqi_with_larger_limit():
    # Same AdventureTime rows with max_fill_s=4, min_segment_s=5: the 4-s gap (3 '-' rows + 1
    # skipped second) is held from 10.18.38 (CQI 7) -> one 13-sample trace.
    result = read_ucc5g(FIXTURE, max_fill_s=4, min_segment_s=5)
    t = next(t for t in result.traces if t.id == "amazonprime_driving_adventuretime_01")
    assert t.cqi.tolist() == [7, 8, 7, 7, 7, 7, 7, 7, 7, 8, 8, 8, 8]
    counts = t.attrs["cleaning"]["segment_counts"]
    assert (counts["R6_filled_missing_cqi_s"], counts["R6_filled_skipped_s"]) == (3, 1)
    assert list(t.network_mode[5:9]) == ["LTE"] * 4     # filled seconds repeat the LTE row


def test_ucc_units_and_companions(ucc):
    t = ucc[1].get("netflix_driving_strangerthings_01")
    # row 919: Speed 50 km/h? read the CSV row to compare (verbatim fixture row)
    with zipfile.ZipFile(FIXTURE) as z:
        text = z.read(R + "Netflix/Driving/Season3-StrangerThings/B_2019.11.27_07.29.47.csv")
    lines = text.decode().splitlines()
    header = lines[0].split(",")
    row = dict(zip(header, lines[919 - 905 + 1].split(",")))
    assert row["Timestamp"] == "2019.11.27_07.45.21"
    assert t.speed_mps[0] == pytest.approx(float(row["Speed"]) / 3.6, rel=1e-6)
    assert t.dl_mbps[0] == pytest.approx(float(row["DL_bitrate"]) / 1000, rel=1e-6)
    assert t.serving_cell[0] == int(row["RAWCELLID"])
    assert t.rsrp_dbm[0] == float(row["RSRP"]) and t.sinr_db[0] == float(row["SNR"])
    assert (t.x_m[0], t.y_m[0]) == (0.0, 0.0)
    assert t.lat_deg[0] == float(row["Latitude"])
    assert t.attrs["licence"] == "GPL-3.0" and "MMSys" in t.attrs["citation"]
    assert t.attrs["units"]["speed_mps"] == "m/s"
    assert ucc[1].attrs["licence"] == "GPL-3.0" and ucc[1].attrs["format_version"] == 1


def test_lonlat_projection():
    # 0.001 deg of latitude = 6371008.8 * pi/180 * 1e-3 m = 111.195 m; longitude scaled by
    # cos(51.9 deg).
    x, y = lonlat_to_xy_m([-8.0, -8.0, -7.999], [51.9, 51.901, 51.9])
    assert y[1] == pytest.approx(111.195, abs=1e-3) and x[1] == pytest.approx(0.0)
    assert x[2] == pytest.approx(111.195 * np.cos(np.radians(51.9)), abs=1e-3)


def _zip_with(tmp_path, member_text: dict) -> Path:
    path = tmp_path / "u.zip"
    with zipfile.ZipFile(path, "w") as z:
        for name, text in member_text.items():
            z.writestr(name, text)
    return path


def _fixture_csv(member: str) -> list[str]:
    with zipfile.ZipFile(FIXTURE) as z:
        return z.read(R + member).decode().splitlines()


def test_ucc_bad_timestamp_and_invalid_cqi_are_counted(tmp_path):
    # real rows of the Download file, row 5's timestamp and row 8's CQI altered
    lines = _fixture_csv("Download/Driving/B_2020.02.27_20.35.57.csv")
    cells = [line.split(",") for line in lines]
    cells[5][0] = "2020/02/27 20:36:00"
    cells[8][10] = "17"
    z = _zip_with(tmp_path, {R + "Download/Driving/B_x.csv":
                             "\n".join(",".join(c) for c in cells)})
    f = read_ucc5g(z).per_file[0]
    assert (f["R1_bad_timestamp_rows"], f["R4_invalid_cqi_rows"]) == (1, 1)


def test_ucc_unreadable_value_names_member_row_and_line(tmp_path):
    lines = _fixture_csv("Download/Driving/B_2020.02.27_20.35.57.csv")
    cells = [line.split(",") for line in lines]
    cells[4][7] = "strong"                              # RSRP of data row 4 (line 5)
    z = _zip_with(tmp_path, {R + "Download/Driving/B_x.csv":
                             "\n".join(",".join(c) for c in cells)})
    with pytest.raises(TraceError, match=r"Driving/B_x.csv: data row 4 \(line 5\): RSRP value "
                                         "'strong' is not a number"):
        read_ucc5g(z)


def test_ucc_bad_archives(tmp_path):
    bad = tmp_path / "not.zip"
    bad.write_text("hello")
    with pytest.raises(TraceError, match="not.zip: cannot open as a zip"):
        read_ucc5g(bad)
    z = _zip_with(tmp_path, {R + "Download/Static/a.csv": "Timestamp,CQI\n"})
    with pytest.raises(TraceError, match="no \\*/Driving/\\*.csv"):
        read_ucc5g(z)
    z = _zip_with(tmp_path, {R + "Download/Driving/a.csv": "Timestamp,RSRP\nx,1\n"})
    with pytest.raises(TraceError, match=r"Driving/a.csv: missing column\(s\) \['CQI'\]"):
        read_ucc5g(z)


# ------------------------------------------------------------------------------------------
# Format: round trip, atomic write, bad files
# ------------------------------------------------------------------------------------------

def _full_trace(tid="car_1") -> Trace:
    n = 5
    return Trace(id=tid, t_s=np.arange(n) * 0.5, cqi=[0, 15, 7, 7, 3],
                 speed_mps=np.linspace(0, 10, n), x_m=np.arange(n) * 2.0, y_m=-np.arange(n),
                 lat_deg=51.9 + np.arange(n) * 1e-6, lon_deg=-8.4 + np.arange(n) * 1e-6,
                 rsrp_dbm=[-90, -91, np.nan, -93, -94], rsrq_db=[-10] * n, sinr_db=[3] * n,
                 serving_cell=[11016972, 11016972, -1, 3, 3], dl_mbps=[0.5] * n,
                 network_mode=["5G", "LTE", "5G", "HSPA+", "5G"],
                 attrs={"source": "unit test", "licence": "CC0", "sampling_period_s": 0.5,
                        "cleaning": {"R1": 0}, "original_file": "x.csv"})


def test_round_trip(tmp_path):
    path = write_trace_set(tmp_path / "set.h5", [_full_trace(), _full_trace("car_2")],
                           {"name": "demo", "description": "d", "created_by": "pytest",
                            "licence": "CC0", "citation": "none"})
    ts = load_trace_set(path)
    assert ts.ids == ["car_1", "car_2"] and len(ts) == 2 and "car_1" in ts
    assert ts.attrs["name"] == "demo" and ts.attrs["format_version"] == 1
    a, b = _full_trace(), ts.get("car_1")
    for name in ["t_s", "cqi", "speed_mps", "x_m", "y_m", "lat_deg", "lon_deg", "rsrp_dbm",
                 "rsrq_db", "sinr_db", "serving_cell", "dl_mbps"]:
        np.testing.assert_allclose(getattr(b, name), getattr(a, name), rtol=1e-6)
    assert b.network_mode.tolist() == ["5G", "LTE", "5G", "HSPA+", "5G"]
    assert b.cqi.dtype == np.int8 and b.t_s.dtype == np.float64
    assert b.attrs["cleaning"] == {"R1": 0} and b.attrs["units"]["rsrp_dbm"] == "dBm"
    assert (b.duration_s, b.n_samples, b.period_s) == (2.5, 5, 0.5)
    with h5py.File(path) as f:
        assert f["traces/car_1/cqi"].dtype == np.int8
        assert f["traces/car_1/speed_mps"].dtype == np.float32
        assert f["traces/car_1/t_s"].compression == "gzip"
        assert json.loads(f["traces/car_1"].attrs["units"])["t_s"] == "s"


def test_cqi_only_trace_round_trip(tmp_path):
    path = write_trace_set(tmp_path / "s.h5", [Trace("a", [0.0, 1.0], [1, 2])])
    t = TraceSet.open(path).get("a")
    assert t.fields() == [] and t.speed_mps is None and t.attrs["sampling_period_s"] == 1.0


def test_write_is_atomic(tmp_path):
    path = write_trace_set(tmp_path / "s.h5", [_full_trace()])
    before = path.read_bytes()
    bad = _full_trace("car_2")
    bad.attrs["oops"] = object()          # h5py cannot store it: the write fails mid-way
    with pytest.raises(TypeError):
        write_trace_set(path, [_full_trace(), bad])
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.h5"]
    with pytest.raises(TraceError, match="duplicate trace ids \\['car_1'\\]"):
        write_trace_set(path, [_full_trace(), _full_trace()])
    with pytest.raises(TraceError, match="no traces to write"):
        write_trace_set(path, [])


def test_trace_validation():
    with pytest.raises(TraceError, match="trace 'a': time does not strictly increase at "
                                         "sample 2"):
        Trace("a", [0, 1, 1], [1, 2, 3])
    with pytest.raises(TraceError, match="CQI at sample 1 is 16, outside 0..15"):
        Trace("a", [0, 1], [1, 16])
    with pytest.raises(TraceError, match="CQI at sample 0 is nan, not an integer"):
        Trace("a", [0, 1], [np.nan, 1])
    with pytest.raises(TraceError, match="t_s has NaN/inf at sample 1"):
        Trace("a", [0, np.nan], [1, 1])
    with pytest.raises(TraceError, match="speed_mps has shape"):
        Trace("a", [0, 1], [1, 1], speed_mps=[1.0])
    with pytest.raises(TraceError, match="id must be"):
        Trace("a/b", [0], [1])
    assert Trace("a", [0, 1], [1, 1], serving_cell=[7.0, np.nan]).serving_cell.tolist() == [7, -1]
    with pytest.raises(TraceError, match="serving_cell at sample 0 is 7.5"):
        Trace("a", [0], [1], serving_cell=[7.5])


def test_open_bad_files(tmp_path):
    with pytest.raises(TraceError, match="nope.h5: no such trace-set file"):
        TraceSet.open(tmp_path / "nope.h5")
    text = tmp_path / "t.h5"
    text.write_text("not hdf5")
    with pytest.raises(TraceError, match="t.h5: cannot read as HDF5"):
        TraceSet.open(text)
    with h5py.File(tmp_path / "e.h5", "w") as f:
        f.create_group("other")
    with pytest.raises(TraceError, match="e.h5: not a simran trace-set file"):
        TraceSet.open(tmp_path / "e.h5")
    path = write_trace_set(tmp_path / "c.h5", [Trace("a", [0.0, 1.0], [1, 2])])
    with h5py.File(path, "r+") as f:
        f["traces/a/cqi"][1] = 20
    with pytest.raises(TraceError, match="c.h5: trace 'a': CQI at sample 1 is 20"):
        TraceSet.open(path).get("a")


# ------------------------------------------------------------------------------------------
# TraceSet: unknown id, select, summary
# ------------------------------------------------------------------------------------------

@pytest.fixture
def small_set(tmp_path):
    traces = [Trace(f"v{k}", np.arange(4.0), [k, k + 1, k + 2, k + 3],
                    speed_mps=[10.0, 20.0, np.nan, 30.0] if k else None) for k in range(3)]
    return TraceSet.open(write_trace_set(tmp_path / "small.h5", traces))


def test_unknown_trace_id(small_set):
    with pytest.raises(TraceError) as info:
        small_set.get("v9")
    msg = str(info.value)
    assert "small.h5" in msg and "'v9'" in msg and "v0, v1, v2" in msg


def test_select(small_set):
    assert [t.id for t in small_set.select(ids=["v2", "v0"])] == ["v2", "v0"]
    assert [t.id for t in small_set.select(first=2)] == ["v0", "v1"]
    assert [t.id for t in small_set.select()] == ["v0", "v1", "v2"]
    assert small_set.select(all=False) == []
    with pytest.raises(TraceError, match="unknown trace id 'x'"):
        small_set.select(ids=["v0", "x"])
    with pytest.raises(TraceError, match="first=4 outside 1..3"):
        small_set.select(first=4)
    with pytest.raises(TraceError, match="either ids or first"):
        small_set.select(ids=["v0"], first=1)


def test_summary(small_set):
    s = small_set.summary()
    assert list(s.columns) == ["id", "duration_s", "samples", "cqi_mean", "cqi_min", "cqi_max",
                               "speed_mean_kmh", "speed_max_kmh"]
    row = s.set_index("id").loc["v1"]
    # CQI 1,2,3,4 -> mean 2.5; speed mean (10+20+30)/3 m/s = 20 m/s = 72 km/h, max 108 km/h
    assert (row.duration_s, row.samples, row.cqi_mean, row.cqi_min, row.cqi_max) == \
        (4.0, 4, 2.5, 1, 4)
    assert row.speed_mean_kmh == pytest.approx(72.0) and row.speed_max_kmh == pytest.approx(108)
    assert np.isnan(s.set_index("id").loc["v0"].speed_mean_kmh)


# ------------------------------------------------------------------------------------------
# Replay: cqi_at
# ------------------------------------------------------------------------------------------

# trace: samples at 0,1,2,3 s with CQI 3,5,4,10, period 1 s -> covers [0 s, 4 s)
T_US = np.array([-500_000, 0, 500_000, 1_000_000, 2_500_000, 3_999_999, 4_000_000, 5_500_000,
                 9_000_000])
REPLAY = Trace("r", [0.0, 1.0, 2.0, 3.0], [3, 5, 4, 10], attrs={"sampling_period_s": 1.0})


@pytest.mark.parametrize("mode, end, expected", [
    # before start -> -1; zero-order hold; after 4 s: -1 (stop) / 10 (hold)
    ("hold", "stop", [-1, 3, 3, 5, 4, 10, -1, -1, -1]),
    ("hold", "hold", [-1, 3, 3, 5, 4, 10, 10, 10, 10]),
    # loop: tau mod 4 s -> 3.5, 0, 0.5, 1, 2.5, 3.999999, 0, 1.5, 1
    ("hold", "loop", [10, 3, 3, 5, 4, 10, 3, 5, 5]),
    # interpolate: 0.5 s -> 3+0.5*2 = 4; 2.5 s -> 4+0.5*6 = 7; last period held
    ("interpolate", "stop", [-1, 3, 4, 5, 7, 10, -1, -1, -1]),
    ("interpolate", "hold", [-1, 3, 4, 5, 7, 10, 10, 10, 10]),
    # loop ramps 10 -> 3 over the last period: 3.5 s -> 6.5 -> 7 (half up);
    # 3.999999 s -> 3.000007 -> 3; 1.5 s -> 5-0.5 = 4.5 -> 5 (half up)
    ("interpolate", "loop", [7, 3, 4, 5, 7, 3, 3, 5, 5]),
])
def test_cqi_at(mode, end, expected):
    out = REPLAY.cqi_at(T_US, mode=mode, end=end)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, expected)


def test_cqi_at_offset_shape_and_errors():
    # offset 2 s: t = 0, 1, 2 s -> tau = 2, 3, 4 s -> 4, 10, end
    np.testing.assert_array_equal(REPLAY.cqi_at([0, 1_000_000, 2_000_000], offset_s=2.0),
                                  [4, 10, -1])
    # negative offset delays the start
    np.testing.assert_array_equal(REPLAY.cqi_at([0, 1_000_000], offset_s=-1.0), [-1, 3])
    assert REPLAY.cqi_at(np.zeros((2, 3), dtype=np.int64)).shape == (2, 3)
    assert REPLAY.cqi_at(1_500_000.0).tolist() == 5
    up = Trace("u", [0.0, 1.0], [3, 4])
    assert up.cqi_at(500_000, mode="interpolate").tolist() == 4     # 3.5 -> 4 (half up)
    with pytest.raises(TraceError, match="mode must be"):
        REPLAY.cqi_at(0, mode="linear")
    with pytest.raises(TraceError, match="end must be"):
        REPLAY.cqi_at(0, end="wrap")


def test_cqi_at_nonuniform_uses_period_attr():
    t = Trace("n", [0.0, 0.2, 1.0], [1, 2, 3], attrs={"sampling_period_s": 0.5})
    # covers [0, 1.5 s): 1.4 s -> 3, 1.5 s -> end
    np.testing.assert_array_equal(t.cqi_at([100_000, 300_000, 1_400_000, 1_500_000]),
                                  [1, 2, 3, -1])


# ------------------------------------------------------------------------------------------
# Generic CSV importer
# ------------------------------------------------------------------------------------------

def _csv(tmp_path, text, name="t.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_import_csv_happy(tmp_path):
    path = _csv(tmp_path, "car,time,cqi,v,lat,lon,cell,mode\n"
                          "a,0.0,5,36,51.9,-8.4,7,5G\n"
                          "b,10.0,1,0,-,-,-,LTE\n"
                          "a,1.5,6,72,51.901,-8.4,7,5G\n")
    traces = import_csv(path, {"time": "time", "cqi": "cqi", "speed": "v", "lat": "lat",
                               "lon": "lon", "serving_cell": "cell", "network_mode": "mode"},
                        trace_id_column="car", speed_unit="km/h")
    a, b = traces
    assert (a.id, b.id) == ("a", "b")
    assert a.t_s.tolist() == [0.0, 1.5] and a.cqi.tolist() == [5, 6]
    assert a.speed_mps.tolist() == pytest.approx([10.0, 20.0])
    assert a.y_m[1] == pytest.approx(111.195, abs=1e-3)
    assert b.serving_cell.tolist() == [-1] and np.isnan(b.lat_deg[0])
    assert b.network_mode.tolist() == ["LTE"]


@pytest.mark.parametrize("fmt, values, expected", [
    ("ms", ["1000", "1500"], [0.0, 0.5]),
    ("%Y.%m.%d_%H.%M.%S", ["2019.12.14_10.16.30", "2019.12.14_10.16.32"], [0.0, 2.0]),
    (None, ["2020-01-01T00:00:00", "2020-01-01T00:00:01.5"], [0.0, 1.5]),
    (None, ["3", "4"], [0.0, 1.0]),
])
def test_import_csv_time_formats(tmp_path, fmt, values, expected):
    path = _csv(tmp_path, "t,c\n" + "".join(f"{v},7\n" for v in values))
    (trace,) = import_csv(path, {"time": "t", "cqi": "c"}, time_format=fmt, trace_id="x")
    assert trace.id == "x" and trace.t_s.tolist() == expected


@pytest.mark.parametrize("rows, where, reason", [
    ("0,5\n1,-\n", "data row 2 (line 3)", "CQI is missing"),
    ("0,5\n1,NaN\n", "data row 2 (line 3)", "CQI is missing"),
    ("0,5\n1,\n", "data row 2 (line 3)", "CQI is missing"),
    ("0,16\n", "data row 1 (line 2)", "outside 0..15"),
    ("0,-1\n", "data row 1 (line 2)", "outside 0..15"),
    ("0,7.5\n", "data row 1 (line 2)", "not an integer"),
    ("0,high\n", "data row 1 (line 2)", "not a number"),
    ("0,5\n2,5\n1,5\n", "data row 3 (line 4)", "time goes backwards"),
    ("0,5\n0,5\n", "data row 2 (line 3)", "time repeats"),
    ("0,5\n\nzz,5\n", "data row 2 (line 4)", "cannot parse time"),   # blank line counted
    ("0,5,9\n", "data row 1 (line 2)", "3 fields, the header has 2"),
])
def test_import_csv_bad_rows(tmp_path, rows, where, reason):
    path = _csv(tmp_path, "time,cqi\n" + rows, name="bad.csv")
    with pytest.raises(TraceError) as info:
        import_csv(path, {"time": "time", "cqi": "cqi"}, time_format="s")
    msg = str(info.value)
    assert msg.startswith(str(path)) and where in msg and reason in msg


def test_import_csv_bad_files(tmp_path):
    empty = _csv(tmp_path, "", name="empty.csv")
    with pytest.raises(TraceError, match="empty.csv: empty file"):
        import_csv(empty, {"time": "t", "cqi": "c"})
    header = _csv(tmp_path, "t,c\n", name="header.csv")
    with pytest.raises(TraceError, match="header.csv: no data rows"):
        import_csv(header, {"time": "t", "cqi": "c"})
    cols = _csv(tmp_path, "t,q\n0,1\n", name="cols.csv")
    with pytest.raises(TraceError, match=r"cols.csv: missing column\(s\) \['c'\]"):
        import_csv(cols, {"time": "t", "cqi": "c"})
    with pytest.raises(TraceError, match="must name the cqi column"):
        import_csv(cols, {"time": "t"})
    with pytest.raises(TraceError, match="unknown column key"):
        import_csv(cols, {"time": "t", "cqi": "q", "velocity": "v"})
    speed = _csv(tmp_path, "t,c,v\n0,1,fast\n", name="speed.csv")
    with pytest.raises(TraceError, match="data row 1 \\(line 2\\): speed value 'fast'"):
        import_csv(speed, {"time": "t", "cqi": "c", "speed": "v"})
    with pytest.raises(TraceError, match="missing.csv: cannot read"):
        import_csv(tmp_path / "missing.csv", {"time": "t", "cqi": "c"})


# ------------------------------------------------------------------------------------------
# Single-column CQI series (Volos layout)
# ------------------------------------------------------------------------------------------

def test_import_series_split(tmp_path):
    path = _csv(tmp_path, "0\n1\n2\n3\n4\n5\n6\n7\n\n", name="train.csv")
    (one,) = import_cqi_series(path, period_s=0.1)
    assert one.id == "train" and one.cqi.tolist() == [1, 2, 3, 4, 5, 6, 7]
    np.testing.assert_allclose(one.t_s, np.arange(7) * 0.1)
    parts = import_cqi_series(path, period_s=1.0, trace_id="car", vehicles=3)
    # 7 samples in 3 vehicles: 3, 2, 2 (the first 7 % 3 = 1 vehicles get one more)
    assert [p.id for p in parts] == ["car_v01", "car_v02", "car_v03"]
    assert [p.cqi.tolist() for p in parts] == [[1, 2, 3], [4, 5], [6, 7]]
    assert parts[1].attrs["source_rows"] == [4, 5] and "assumption" in parts[1].attrs
    (raw,) = import_cqi_series(path, period_s=1.0, header=False)
    assert raw.cqi[0] == 0
    import_cqi_series(path, period_s=1.0, vehicles=2, out_path=tmp_path / "v.h5")
    assert TraceSet.open(tmp_path / "v.h5").ids == ["train_v01", "train_v02"]


@pytest.mark.parametrize("text, where, reason", [
    ("h\n3\n-\n", "data row 2 (line 3)", "CQI is missing"),
    ("h\n3\nnan\n", "data row 2 (line 3)", "CQI is missing"),
    ("h\n3\n\n4\n", "data row 2 (line 3)", "empty line"),
    ("h\n16\n", "data row 1 (line 2)", "outside 0..15"),
    ("h\n2.5\n", "data row 1 (line 2)", "not an integer"),
])
def test_import_series_bad_rows(tmp_path, text, where, reason):
    path = _csv(tmp_path, text, name="s.txt")
    with pytest.raises(TraceError) as info:
        import_cqi_series(path, period_s=1.0)
    msg = str(info.value)
    assert msg.startswith(str(path)) and where in msg and reason in msg


def test_import_series_bad_files(tmp_path):
    with pytest.raises(TraceError, match="e.txt: empty file"):
        import_cqi_series(_csv(tmp_path, "", name="e.txt"), period_s=1.0)
    with pytest.raises(TraceError, match="h.txt: empty file \\(no CQI values after the header"):
        import_cqi_series(_csv(tmp_path, "14\n", name="h.txt"), period_s=1.0)
    ok = _csv(tmp_path, "h\n1\n2\n", name="ok.txt")
    with pytest.raises(TraceError, match="period_s must be > 0"):
        import_cqi_series(ok, period_s=0)
    with pytest.raises(TraceError, match="vehicles must be an integer in 1..2"):
        import_cqi_series(ok, period_s=1.0, vehicles=3)


# ------------------------------------------------------------------------------------------
# CLI (in-process through argparse)
# ------------------------------------------------------------------------------------------

def _run(*argv) -> int:
    from simran.cli import traces as traces_cli

    parser = argparse.ArgumentParser(prog="simran")
    traces_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    return args.func(args)


def test_cli_import_list_show(tmp_path, capsys):
    out = tmp_path / "fx.h5"
    assert _run("traces", "import", "ucc5g", str(FIXTURE), "--out", str(out)) == 0
    captured = capsys.readouterr()
    assert "R3_duplicate_rows_dropped" in captured.out and "29" in captured.out
    assert "simran: warning:" in captured.err
    assert TraceSet.open(out).attrs["created_by"] == \
        f"simran traces import ucc5g {FIXTURE} --out {out}"

    assert _run("traces", "list", str(out)) == 0
    text = capsys.readouterr().out
    assert "4 traces" in text and "speed_mean_kmh" in text
    assert "netflix_driving_rickandmorty_01_seg2" in text and "82" in text

    png = tmp_path / "t.png"
    assert _run("traces", "show", str(out), "--trace", "download_driving_02",
                "--plot", str(png)) == 0
    text = capsys.readouterr().out
    assert "samples: 84" in text and "original_file: 5G-production-dataset/Download" in text
    assert "R6_filled_skipped_s" in text
    assert png.stat().st_size > 10_000


def test_cli_errors(tmp_path, capsys):
    path = write_trace_set(tmp_path / "s.h5", [Trace("a", [0.0], [1])])
    assert _run("traces", "show", str(path), "--trace", "zz") == 2
    err = capsys.readouterr().err
    assert err.startswith("simran: error: ") and "s.h5" in err and "'zz'" in err
    assert _run("traces", "list", str(tmp_path / "none.h5")) == 2
    assert "none.h5: no such trace-set file" in capsys.readouterr().err
    assert _run("traces") == 2


def test_cli_import_csv_and_series(tmp_path, capsys):
    src = _csv(tmp_path, "time,cqi,kmh\n0,3,36\n1,4,72\n")
    out = tmp_path / "c.h5"
    assert _run("traces", "import", "csv", str(src), "--out", str(out), "--time", "time",
                "--cqi", "cqi", "--speed", "kmh", "--speed-unit", "km/h", "--licence",
                "CC-BY-4.0") == 0
    ts = TraceSet.open(out)
    assert ts.attrs["licence"] == "CC-BY-4.0" and ts.get("t").speed_mps.tolist() == [10, 20]
    assert "--speed kmh" in ts.attrs["created_by"]
    bad = _csv(tmp_path, "time,cqi\n0,3\n1,-\n", name="bad.csv")
    assert _run("traces", "import", "csv", str(bad), "--out", str(tmp_path / "b.h5"),
                "--time", "time", "--cqi", "cqi") == 2
    err = capsys.readouterr().err
    assert "bad.csv: data row 2 (line 3): CQI is missing" in err
    assert not (tmp_path / "b.h5").exists()
    series = _csv(tmp_path, "0\n5\n6\n7\n8\n", name="train.csv")
    out = tmp_path / "s.h5"
    assert _run("traces", "import", "series", str(series), "--period-s", "0.5", "--out",
                str(out), "--vehicles", "2") == 0
    assert TraceSet.open(out).ids == ["train_v01", "train_v02"]


def test_plot_distribution(tmp_path, small_set):
    from simran.traces.plots import plot_cqi_distribution

    png = plot_cqi_distribution({"small": small_set}, tmp_path / "h.png")
    assert png.stat().st_size > 5_000


def test_import_simran_traces_does_not_import_matplotlib():
    code = ("import sys, simran.traces.trace, simran.traces.trace_set, simran.traces.importers, "
            "simran.traces.ucc5g, simran.traces.replay, simran.cli.traces, simran.cli.replay, "
            "simran.traces.plots; assert 'matplotlib' not in sys.modules, 'matplotlib'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# ------------------------------------------------------------------------------------------
# The shipped trace set
# ------------------------------------------------------------------------------------------

@pytest.mark.skipif(not SHIPPED.exists(), reason="datasets/ucc5g_driving.h5 not built")
def test_shipped_ucc5g_driving():
    ts = TraceSet.open(SHIPPED)
    assert len(ts) == 93 and ts.attrs["licence"] == "GPL-3.0"
    totals = ts.attrs["cleaning_totals"]
    # raw facts of the dataset (radio-reference B.3): 60 driving CSVs, 103,545 rows, 88,946
    # with a CQI
    assert (totals["files"], totals["rows"], totals["rows_with_cqi"]) == (60, 103545, 88946)
    assert totals["samples_kept"] == 92817
    assert ts.attrs["created_by"] == ("simran traces import ucc5g ../shared/datasets/ucc5g/"
                                      "5G-production-dataset.zip --out datasets/ucc5g_driving.h5")
    t = ts.get("netflix_driving_strangerthings_03")
    assert t.attrs["sampling_period_s"] == 1.0 and np.all(np.diff(t.t_s) == 1.0)
    assert (SHIPPED.parent / "ucc5g_driving.LICENSE").read_text().startswith(
        "                    GNU GENERAL PUBLIC LICENSE")


def test_times_beyond_the_int64_clock_are_refused():
    """|t| > 1e12 s cannot be a µs clock value (the replay used to overflow)."""
    with pytest.raises(TraceError, match=r"t_s at sample 2 is 1e\+300 s"):
        Trace(id="x", t_s=np.array([0.0, 1.0, 1e300]), cqi=np.array([1, 2, 3]))
    Trace(id="ok", t_s=np.array([0.0, 1.7e9]), cqi=np.array([1, 2]))      # epoch seconds: fine


def test_csv_time_span_and_binary_file_name_the_row(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("t,cqi\n0,5\n2e9,6\n")
    with pytest.raises(TraceError, match=r"t\.csv: data row 2 \(line 3\): time '2e9'"):
        import_csv(p, {"time": "t", "cqi": "cqi"})
    b = tmp_path / "b.csv"
    b.write_bytes(b"t,cqi\n0,5\n\xff\xfe,6\n")
    with pytest.raises(TraceError, match=r"b\.csv: not a UTF-8 text file"):
        import_csv(b, {"time": "t", "cqi": "cqi"})
