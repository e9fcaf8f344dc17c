"""The bad-input corpus (issue 17): every hostile input or machine fault ends with exit status 2
and one message naming the file, the field / dataset / row and the reason — no traceback, no
half-written file, nothing lost that had been finished.

The cases are in-process CLI calls (``simran.cli.main.main``) with ``capsys``; a few subprocess
tests prove that the real command prints no traceback. Disk-full and read-only cases use a real
small tmpfs (``mount -t tmpfs``; skipped, with the reason, where mounting is not allowed).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from simran.cli.main import main

REPO = Path(__file__).resolve().parents[1]

# a tiny valid scenario: one omni site, 4 UEs, 10 ticks
BASE = """
name = "tiny"
[simulation]
duration_s = 0.05
tick_ms = 5.0
[network]
layout = "hex"
rings = 0
sectors = 1
[[slices]]
name = "a"
quota_pct = 60
[[slices]]
name = "b"
quota_pct = 40
[[ue_groups]]
name = "u"
count = 4
slice = "a"
[output]
kpi_period_ms = 10
"""

DEMO_AGENT = """
[[agents]]
name = "tuner"
kind = "demo_quota"
period_ms = 20
latency = "fixed:1"
backend = "{backend}"
params = {{ slice = "a", intent_mbps = {intent} }}
"""


def cli(capsys, *argv) -> tuple[int, str, str]:
    """Run ``simran argv…`` in-process; return (exit status, stdout, stderr)."""
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def assert_clear(rc: int, err: str, *needles: str) -> None:
    """Exit status 2, one ``simran: error:`` message containing every needle, no traceback."""
    assert rc == 2, err
    assert "Traceback" not in err
    errors = [ln for ln in err.splitlines() if ln.startswith("simran: error:")]
    assert len(errors) == 1, err
    for n in needles:
        assert n in err, f"{n!r} not in {err!r}"


def leftovers(folder: Path) -> list[str]:
    """Temporary or partial files under ``folder``."""
    return sorted(str(p) for p in folder.rglob("*") if ".tmp" in p.name)


# ------------------------------------------------------------------------------------------
# scenarios: (id, text, expected field, expected reason)

def _with(**repl) -> str:
    text = BASE
    for old, new in repl.items():
        text = text.replace(old.replace("__", " = "), new)
    return text


SCENARIO_CASES = [
    ("kpi-inf", BASE.replace("kpi_period_ms = 10", "kpi_period_ms = inf"),
     "output.kpi_period_ms", "finite"),
    ("kpi-nan", BASE.replace("kpi_period_ms = 10", "kpi_period_ms = nan"),
     "output.kpi_period_ms", "finite"),
    ("duration-inf", BASE.replace("duration_s = 0.05", "duration_s = inf"),
     "simulation.duration_s", "finite"),
    ("tick7-kpi100", BASE.replace("tick_ms = 5.0", "tick_ms = 7.0").replace(
        "kpi_period_ms = 10", "kpi_period_ms = 100").replace("duration_s = 0.05",
                                                             "duration_s = 0.07"),
     "output.kpi_period_ms", "not a multiple of the 7 ms tick"),
    ("kpi13-tick5", BASE.replace("kpi_period_ms = 10", "kpi_period_ms = 13"),
     "output.kpi_period_ms", "not a multiple of the 5 ms tick"),
    ("ue-kpi13-tick5", BASE.replace("kpi_period_ms = 10", "kpi_period_ms = 10\n"
                                    "ue_kpi_period_ms = 13"),
     "output.ue_kpi_period_ms", "not a multiple"),
    ("duration-half-tick", BASE.replace("duration_s = 0.05", "duration_s = 0.5").replace(
        "tick_ms = 5.0", "tick_ms = 1000.0"),
     "simulation.duration_s", "shorter than one 1000 ms tick"),
    ("duration-1.5-ticks", BASE.replace("duration_s = 0.05", "duration_s = 1.5").replace(
        "tick_ms = 5.0", "tick_ms = 1000.0").replace("kpi_period_ms = 10", "kpi_period_ms = 1000"),
     "simulation.duration_s", "not a whole number of 1000 ms ticks"),
    ("duration-below-tick", BASE.replace("duration_s = 0.05", "duration_s = 1e-300"),
     "simulation.duration_s", "shorter than one 5 ms tick"),
    ("duration-not-us", BASE.replace("duration_s = 0.05", "duration_s = 0.0500001"),
     "simulation.duration_s", "whole number"),
    ("tick-not-us", BASE.replace("tick_ms = 5.0", "tick_ms = 0.0005"),
     "simulation.tick_ms", "microseconds"),
    ("mobility-not-us", BASE.replace("tick_ms = 5.0", "tick_ms = 5.0\n"
                                     "mobility_period_ms = 0.0001"),
     "simulation.mobility_period_ms", "microseconds"),
    ("event-cell-999", BASE + "[[events]]\nat_s = 0.01\naction = \"cell_off\"\ncell = 999\n",
     "events.0.cell", "cell 999 does not exist"),
    ("event-value-nan", BASE + "[[events]]\nat_s = 0.01\naction = \"set_cell_power\"\n"
     "value = nan\n", "events.0.value", "finite"),
    ("event-value-inf", BASE + "[[events]]\nat_s = 0.01\naction = \"set_cell_power\"\n"
     "value = inf\n", "events.0.value", "finite"),
    ("event-at-inf", BASE + "[[events]]\nat_s = inf\naction = \"cell_off\"\n",
     "events.0.at_s", "finite"),
    ("event-slice-missing", BASE + "[[events]]\nat_s = 0.01\naction = \"set_slice_quota\"\n"
     "slice = \"nosuch\"\nvalue = 20\n", "events.0.slice", "'nosuch' is not a slice"),
    ("site-x-nan", BASE.replace('layout = "hex"', 'layout = "sites"\nsites = [{ x_m = nan, '
                                'y_m = 0.0 }]'), "network.sites.0.x_m", "finite"),
    ("site-x-1e300", BASE.replace('layout = "hex"', 'layout = "sites"\nsites = [{ x_m = 1e300, '
                                  'y_m = 0.0 }]'), "network.sites.0.x_m", "less than or equal"),
    ("tiny-isd", BASE.replace('rings = 0', 'rings = 0\nisd_m = 1e-300'),
     "ue_groups.0.min_distance_m", "leaves no room to drop UEs"),
    ("huge-min-distance", BASE.replace('slice = "a"\n[output]', 'slice = "a"\n'
                                       'min_distance_m = 1e300\n[output]'),
     "ue_groups.0.min_distance_m", "leaves no room to drop UEs"),
    ("huge-area-margin", BASE.replace('slice = "a"\n[output]', 'slice = "a"\n'
                                      'area_margin_m = 1e300\n[output]'),
     "ue_groups.0.area_margin_m", "less than or equal"),
    ("empty-file", "", "<root>", "empty scenario file"),
    ("comments-only", "# nothing here\n\n", "<root>", "empty scenario file"),
    ("toml-syntax", BASE + "\n[output\n", "<root>", "TOML syntax error"),
    ("agent-period-0.0001", BASE + DEMO_AGENT.format(backend="scripted", intent=10).replace(
        "period_ms = 20", "period_ms = 0.0001"), "agents.0.period_ms", "microseconds"),
    ("backend-nosuch", BASE + DEMO_AGENT.format(backend="nosuch", intent=10),
     "agents.0.backend", "unknown backend 'nosuch'"),
    ("backend-ollama-empty", BASE + DEMO_AGENT.format(backend="ollama:", intent=10),
     "agents.0.backend", "names no model after 'ollama:'"),
    ("backend-replay-empty", BASE + DEMO_AGENT.format(backend="replay:", intent=10),
     "agents.0.backend", "names no path"),
    ("agent-param-string", BASE + DEMO_AGENT.format(backend="scripted", intent='"x"'),
     "agents.0.params", "could not convert string to float"),
    ("huge-ue-count", BASE.replace("duration_s = 0.05", "duration_s = 60.0").replace(
        "rings = 0", "rings = 1").replace("sectors = 1", "sectors = 3")
     + "".join(f"[[ue_groups]]\nname = \"g{i}\"\ncount = 100000\nslice = \"a\"\n"
               for i in range(3)), "<root>", "too large"),
]


@pytest.mark.parametrize("text, field, reason", [c[1:] for c in SCENARIO_CASES],
                         ids=[c[0] for c in SCENARIO_CASES])
@pytest.mark.parametrize("command", ["validate", "run"])
def test_bad_scenario(tmp_path, capsys, command, text, field, reason):
    import agents.demo  # noqa: F401  (registers demo_quota)

    f = tmp_path / "bad.toml"
    f.write_text(text)
    extra = ["--out", tmp_path / "out", "--quiet"] if command == "run" else []
    rc, out, err = cli(capsys, command, f, *extra)
    needles = [str(f), reason] + ([field] if field != "<root>" else [])
    assert_clear(rc, err, *needles)
    assert not (tmp_path / "out" / "results.h5").exists()
    assert leftovers(tmp_path) == []


def test_bad_scenario_files(tmp_path, capsys):
    """Not a file, not text, not there."""
    binary = tmp_path / "bin.toml"
    binary.write_bytes(bytes(range(256)) * 4)
    rc, _, err = cli(capsys, "validate", binary)
    assert_clear(rc, err, str(binary), "not a UTF-8 text file")
    rc, _, err = cli(capsys, "validate", tmp_path / "nope.toml")
    assert_clear(rc, err, "nope.toml", "file not found")
    rc, _, err = cli(capsys, "validate", tmp_path)
    assert_clear(rc, err, str(tmp_path), "cannot read file")


@pytest.mark.parametrize("override, field", [
    ("simulation.duration_s=inf", "simulation.duration_s"),
    ("output.kpi_period_ms=nan", "output.kpi_period_ms"),
    ("agents.0.backend=ollama:", "agents.0.backend"),
])
def test_bad_override(tmp_path, capsys, override, field):
    f = tmp_path / "s.toml"
    f.write_text(BASE + DEMO_AGENT.format(backend="scripted", intent=10))
    rc, _, err = cli(capsys, "validate", f, "--set", override)
    assert_clear(rc, err, str(f), field)


def test_size_override_flag_skips_the_check(tmp_path, capsys):
    """--allow-large lifts the pre-flight check (the schema still applies)."""
    from simran.scenario import Scenario, load_scenario

    f = tmp_path / "big.toml"
    f.write_text(SCENARIO_CASES[-1][1])
    scen = load_scenario(f)
    est = scen.estimate_size()
    assert est["cells"] == 21 and est["ues"] == 300_004
    assert est["memory_bytes"] > 20 * 2**30
    small = Scenario.from_dict({"ue_groups": [{"slice": "default", "count": 10}]})
    assert small.check_size()["memory_bytes"] < 2**22
    # with a limit below the estimate even a small run is refused, naming the override
    with pytest.raises(Exception, match="--allow-large"):
        small.check_size(limit_bytes=10)


def test_notes_for_documented_roundings(tmp_path, capsys):
    """KPI periods below the tick and events between ticks are rounded with a note."""
    f = tmp_path / "s.toml"
    f.write_text(BASE.replace("kpi_period_ms = 10", "kpi_period_ms = 1") +
                 "[[events]]\nat_s = 0.012\naction = \"cell_off\"\n"
                 "[[events]]\nat_s = 9.0\naction = \"cell_on\"\n")
    rc, out, err = cli(capsys, "validate", f)
    assert rc == 0, err
    assert "recorded once per tick (5 ms)" in err
    assert "events.0 (cell_off at 0.012 s) is between ticks: it is applied at the next tick " \
           "boundary, 0.015 s" in err
    assert "events.1 (cell_on at 9 s) is at or after the end" in err


# ------------------------------------------------------------------------------------------
# results files


@pytest.fixture(scope="module")
def results_file(tmp_path_factory) -> Path:
    """One small complete results file (with a compressed UE table)."""
    from simran.scenario import Scenario
    from simran.simulation import run_scenario

    d = tmp_path_factory.mktemp("res")
    scen = Scenario.from_dict({
        "simulation": {"duration_s": 0.5}, "network": {"rings": 0, "sectors": 1},
        "ue_groups": [{"slice": "default", "count": 60}],
        "output": {"kpi_period_ms": 5}})
    return run_scenario(scen, d / "results.h5").results_path


def _damage(src: Path, dst: Path, how: str) -> None:
    shutil.copy(src, dst)
    if how == "truncate":
        data = src.read_bytes()
        dst.write_bytes(data[: len(data) // 2])
        return
    if how == "zeros":
        dst.write_bytes(b"\0" * src.stat().st_size)
        return
    if how == "text":
        dst.write_text("this is not HDF5\n")
        return
    with h5py.File(dst, "r+") as f:
        if how.startswith("del:"):
            del f[how[4:]]
        elif how == "json":
            del f["scenario_json"]
            f.create_dataset("scenario_json", data="{not json", dtype=h5py.string_dtype())
        elif how == "json-list":
            del f["scenario_json"]
            f.create_dataset("scenario_json", data="[1, 2]", dtype=h5py.string_dtype())
        elif how == "short-column":
            col = f["kpi/cell/throughput_mbps"][()]
            del f["kpi/cell/throughput_mbps"]
            f["kpi/cell"].create_dataset("throughput_mbps", data=col[:-3])
        elif how == "2d-column":
            del f["kpi/slice/prb"]
            f["kpi/slice"].create_dataset("prb", data=np.zeros((2, 2)))
        elif how == "version":
            f.attrs["format_version"] = 999
        elif how == "incomplete":
            f.attrs["complete"] = False
        elif how == "format":
            del f.attrs["format"]
        elif how == "events-detail":
            det = f["events/detail"]
            n = det.shape[0]
            del f["events/detail"]
            f["events"].create_dataset("detail", data=["{bad"] * n, dtype=h5py.string_dtype())
        else:  # pragma: no cover
            raise ValueError(how)


RESULTS_CASES = [
    ("del:kpi/cell", "/kpi/cell", "missing"),
    ("del:summary", "/summary", "missing"),
    ("del:scenario_json", "/scenario_json", "missing"),
    ("del:topology/sites", "/topology/sites", "missing"),
    ("json", "/scenario_json", "not JSON"),
    ("json-list", "/scenario_json", "not a JSON object"),
    ("short-column", "/kpi/cell", "rows, the others"),
    ("2d-column", "/kpi/slice", "not a 1-D dataset"),
    ("version", "format_version 999", "not supported"),
    ("incomplete", "incomplete results file", "did not finish"),
    ("format", "not a simran results file", "format attribute"),
    ("truncate", "not an HDF5 file", "unreadable"),
    ("zeros", "not an HDF5 file", "unreadable"),
    ("text", "not an HDF5 file", "unreadable"),
]


@pytest.mark.parametrize("how, where, reason", RESULTS_CASES, ids=[c[0] for c in RESULTS_CASES])
def test_bad_results_file(tmp_path, capsys, results_file, how, where, reason):
    bad = tmp_path / "r.h5"
    _damage(results_file, bad, how)
    rc, _, err = cli(capsys, "summary", bad)
    assert_clear(rc, err, str(bad), where, reason)


@pytest.mark.slow
def test_flipped_bytes_in_results_never_traceback(tmp_path, capsys, results_file):
    """Bytes flipped anywhere: exit 2 naming the file, or (a flip in unused or padding bytes,
    HDF5 has no checksums there) the file still reads — never a traceback."""
    data = bytearray(results_file.read_bytes())
    n = len(data)
    codes = []
    for k, frac in enumerate(np.linspace(0.02, 0.98, 12)):
        bad = bytearray(data)
        at = int(frac * n)
        for j in range(at, min(n, at + 64)):
            bad[j] ^= 0xA5
        p = tmp_path / f"flip{k}.h5"
        p.write_bytes(bytes(bad))
        rc, _, err = cli(capsys, "summary", p)
        assert "Traceback" not in err
        assert rc in (0, 2), err
        if rc == 2:
            assert_clear(rc, err, str(p))
        codes.append(rc)
    assert codes.count(2) >= 3, codes   # most flips land in data or metadata


# ------------------------------------------------------------------------------------------
# output folders: existing files, full and read-only disks


def test_out_names_an_existing_file(tmp_path, capsys):
    f = tmp_path / "s.toml"
    f.write_text(BASE)
    blocker = tmp_path / "out"
    blocker.write_text("I am a file")
    rc, _, err = cli(capsys, "run", f, "--out", blocker, "--quiet")
    assert_clear(rc, err, str(blocker), "existing file")
    assert blocker.read_text() == "I am a file"
    (tmp_path / "dir.h5").mkdir()
    rc, _, err = cli(capsys, "run", f, "--out", tmp_path / "dir.h5", "--quiet")
    assert_clear(rc, err, "dir.h5", "folder")
    rc, _, err = cli(capsys, "run", f, "--out", blocker / "sub", "--quiet")
    assert_clear(rc, err, str(blocker), "is a file")


def _mount_tmpfs(where: Path, opts: str) -> None:
    where.mkdir(parents=True, exist_ok=True)
    if not shutil.which("mount"):
        pytest.skip("no mount command here: the disk-full cases need a small tmpfs")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(where)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({r.stderr.strip() or r.returncode}): "
                    "the disk-full cases need one (run as root)")


@pytest.fixture
def full_disk(tmp_path):
    """A 200 kB tmpfs (a disk that fills up during the first results file)."""
    where = tmp_path / "full"
    _mount_tmpfs(where, "size=200k")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.fixture
def readonly_disk(tmp_path):
    where = tmp_path / "ro"
    _mount_tmpfs(where, "ro,size=64k")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(disk: Path, leave_bytes: int = 0) -> None:
    """Fill ``disk`` up to ``leave_bytes`` of free space."""
    free = shutil.disk_usage(disk).free - leave_bytes
    with open(disk / "filler", "wb") as fh:
        try:
            fh.write(b"x" * max(free, 0))
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


def test_run_onto_a_full_disk(tmp_path, capsys, full_disk):
    f = tmp_path / "s.toml"
    f.write_text(BASE)
    (full_disk / "q").mkdir()
    _fill(full_disk, leave_bytes=8192)         # the results file needs more than that
    rc, _, err = cli(capsys, "run", f, "--out", full_disk / "q", "--quiet")
    assert_clear(rc, err, str(full_disk / "q" / "results.h5"), "disk full")
    assert list((full_disk / "q").iterdir()) == []          # no results, no temporary file
    (full_disk / "filler").unlink()                          # space again: the same run works
    rc, _, err = cli(capsys, "run", f, "--out", full_disk / "q", "--quiet")
    assert rc == 0, err


def test_run_onto_a_read_only_disk(tmp_path, capsys, readonly_disk):
    f = tmp_path / "s.toml"
    f.write_text(BASE)
    rc, _, err = cli(capsys, "run", f, "--out", readonly_disk / "q", "--quiet")
    assert_clear(rc, err, str(readonly_disk / "q"), "read-only")


def test_config_dump_onto_a_full_disk(tmp_path, capsys, full_disk):
    f = tmp_path / "s.toml"
    f.write_text(BASE)
    _fill(full_disk)
    rc, _, err = cli(capsys, "config", "dump", f, "--out", full_disk / "dump.toml")
    assert_clear(rc, err, str(full_disk / "dump.toml"), "disk full")
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]


def test_write_results_atomic_on_enospc(tmp_path, monkeypatch):
    """The OSError of the final write (simulated here) leaves neither file nor temporary."""
    from simran.errors import ResultsError
    from simran.output import results

    real_open = open

    def failing_open(path, mode="r", *a, **k):
        if "w" in mode and ".tmp-" in str(path):
            fh = real_open(path, mode, *a, **k)

            class Full:
                def __enter__(self):
                    return self

                def __exit__(self, *exc):
                    fh.close()

                def write(self, data):
                    fh.write(data[:10])
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return Full()
        return real_open(path, mode, *a, **k)

    monkeypatch.setattr("builtins.open", failing_open)
    with pytest.raises(ResultsError, match="disk full"):
        results.write_atomic(tmp_path / "r.h5", b"0123456789abcdef")
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------------
# the real command: no traceback


@pytest.mark.slow
@pytest.mark.parametrize("text", [SCENARIO_CASES[0][1], SCENARIO_CASES[10][1], ""],
                         ids=["kpi-inf", "event-cell-999", "empty"])
def test_subprocess_prints_no_traceback(tmp_path, text):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    r = subprocess.run([sys.executable, "-m", "simran.cli.main", "validate", str(f)],
                       capture_output=True, text=True, cwd=REPO, timeout=120)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert r.stderr.startswith("simran: error: ") and str(f) in r.stderr


def test_results_error_json_roundtrip(results_file):
    """The loader still reads the good file (the corpus is not vacuous)."""
    from simran.output.results import load_results

    r = load_results(results_file)
    assert r.scenario["simulation"]["duration_s"] == 0.5
    assert json.loads(json.dumps(r.summary))


# ------------------------------------------------------------------------------------------
# traces: CSV / series / UCC zip imports and trace-set files


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    import zipfile

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


UCC_CSV = ("Timestamp,Longitude,Latitude,Speed,Operatorname,CellID,NetworkMode,RSRP,RSRQ,SNR,"
           "CQI,RSSI,DL_bitrate,UL_bitrate,State,NRxRSRP,NRxRSRQ,ServingCell_Lon,"
           "ServingCell_Lat,ServingCell_Distance\n" + "".join(
               f"2019.12.14_11.{m:02d}.{s:02d},-8.4,51.9,50,A,1,LTE,-90,-10,5,{7 + s % 3},-70,"
               f"1000,10,D,-,-,-8.4,51.9,500\n" for m in range(3) for s in range(60)))
MEMBER = "Download/Driving/B_2019.12.14_11.00.00.csv"


def _flipped_zip(tmp_path: Path) -> Path:
    good = _zip(tmp_path / "good.zip", {MEMBER: UCC_CSV.encode() * 3})
    data = bytearray(good.read_bytes())
    start = 30 + len(MEMBER) + 40                    # inside the deflated data of the member
    for j in range(start, start + 32):
        data[j] ^= 0x5A
    p = tmp_path / "flipped.zip"
    p.write_bytes(bytes(data))
    return p


def _w(path: Path, data: bytes | str) -> Path:
    if isinstance(data, str):
        path.write_text(data)
    else:
        path.write_bytes(data)
    return path


TRACE_IMPORT_CASES = [
    ("csv-binary", lambda d: _w(d / "b.csv", bytes(range(256)) * 8),
     ["csv", "--time", "t", "--cqi", "cqi"], "b.csv", "not a"),
    ("csv-nul", lambda d: _w(d / "n.csv", b"t,cqi\n0,\0\0\n1,5\n"),
     ["csv", "--time", "t", "--cqi", "cqi"], "n.csv: data row 1 (line 2)", "is not a number"),
    ("csv-time-1e300", lambda d: _w(d / "t.csv", "t,cqi\n0,5\n1,6\n1e300,7\n"),
     ["csv", "--time", "t", "--cqi", "cqi"], "t.csv: data row 3 (line 4)", "beyond"),
    ("series-binary", lambda d: _w(d / "s.txt", b"\xff\xfe\x00\x81" * 64),
     ["series", "--period-s", "1"], "s.txt", "not a UTF-8 text file"),
    ("ucc-not-zip", lambda d: _w(d / "z.zip", b"PK\x03\x04garbage" * 10),
     ["ucc5g"], "z.zip", "cannot open as a zip file"),
    ("ucc-binary-member", lambda d: _zip(d / "bm.zip", {MEMBER: bytes(range(128, 256)) * 20}),
     ["ucc5g"], "member Download/Driving/", "not a UTF-8 text CSV"),
    ("ucc-flipped", _flipped_zip, ["ucc5g"], "flipped.zip", "member Download/Driving/"),
    ("series-period-1e-300", lambda d: _w(d / "p.txt", "cqi\n5\n6\n"),
     ["series", "--period-s", "1e-300"], "p.txt", "not a whole number of microseconds"),
    ("series-period-1e300", lambda d: _w(d / "q.txt", "cqi\n5\n6\n"),
     ["series", "--period-s", "1e300"], "trace 'q'", "beyond ±1e+12 s"),
    ("csv-sub-microsecond", lambda d: _w(d / "u.csv", "t,cqi\n0,5\n0.0000001,6\n"),
     ["csv", "--time", "t", "--cqi", "cqi"], "trace 'u'", "less than 1 µs apart"),
]


@pytest.mark.parametrize("make, args, where, reason", [c[1:] for c in TRACE_IMPORT_CASES],
                         ids=[c[0] for c in TRACE_IMPORT_CASES])
def test_bad_trace_import(tmp_path, capsys, make, args, where, reason):
    src = make(tmp_path)
    out = tmp_path / "set.h5"
    rc, _, err = cli(capsys, "traces", "import", args[0], src, *args[1:], "--out", out)
    assert_clear(rc, err, where, reason)
    assert not out.exists() and leftovers(tmp_path) == []


def test_trace_import_out_is_a_folder(tmp_path, capsys):
    src = _w(tmp_path / "t.csv", "t,cqi\n0,5\n1,6\n")
    rc, _, err = cli(capsys, "traces", "import", "csv", src, "--time", "t", "--cqi", "cqi",
                     "--out", tmp_path)
    assert_clear(rc, err, str(tmp_path), "it is a folder")


@pytest.fixture
def trace_set(tmp_path) -> Path:
    from simran.traces.trace import Trace
    from simran.traces.trace_set import write_trace_set

    traces = [Trace(id=f"v{k}", t_s=np.arange(50.0), cqi=np.full(50, 5 + k),
                    speed_mps=np.full(50, 10.0)) for k in range(2)]
    return write_trace_set(tmp_path / "good.h5", traces)


def _damage_traces(src: Path, dst: Path, how: str) -> None:
    shutil.copy(src, dst)
    if how == "truncate":
        dst.write_bytes(src.read_bytes()[:1000])
        return
    with h5py.File(dst, "r+") as f:
        if how == "del-cqi":
            del f["traces/v0/cqi"]
        elif how == "del-traces":
            del f["traces"]
        elif how == "empty":
            for k in list(f["traces"]):
                del f["traces"][k]
        elif how == "version-999":
            f.attrs["format_version"] = 999
        elif how == "version-text":
            f.attrs["format_version"] = "one"
        elif how == "short-cqi":
            del f["traces/v0/cqi"]
            f["traces/v0"].create_dataset("cqi", data=np.full(10, 5))
        elif how == "cqi-99":
            f["traces/v0/cqi"][3] = 99
        elif how == "time-back":
            f["traces/v0/t_s"][5] = 1.0
        elif how == "string-time":
            del f["traces/v0/t_s"]
            f["traces/v0"].create_dataset("t_s", data=["x"] * 50, dtype=h5py.string_dtype())
        else:  # pragma: no cover
            raise ValueError(how)


TRACE_SET_CASES = [
    ("del-cqi", "/traces/v0", "missing dataset"),
    ("del-traces", "not a simran trace-set file", "no /traces group"),
    ("empty", "holds no traces", ""),
    ("version-999", "format_version 999", "newer"),
    ("version-text", "format_version 'one'", "not an integer"),
    ("short-cqi", "trace 'v0'", "cqi has shape"),
    ("cqi-99", "trace 'v0'", "CQI at sample 3"),
    ("time-back", "trace 'v0'", "does not strictly increase at sample"),
    ("string-time", "/traces/v0", "damaged"),
    ("truncate", "cannot read as HDF5", ""),
]


@pytest.mark.parametrize("how, where, reason", TRACE_SET_CASES,
                         ids=[c[0] for c in TRACE_SET_CASES])
def test_bad_trace_set(tmp_path, capsys, trace_set, how, where, reason):
    bad = tmp_path / "bad.h5"
    _damage_traces(trace_set, bad, how)
    rc, _, err = cli(capsys, "traces", "show", bad, "--trace", "v0")
    assert_clear(rc, err, str(bad), where, reason)


def test_trace_import_onto_a_full_disk(tmp_path, capsys, full_disk):
    src = tmp_path / "t.csv"
    src.write_text("t,cqi\n" + "".join(f"{k},{k % 16}\n" for k in range(3000)))
    _fill(full_disk, leave_bytes=4096)
    out = full_disk / "set.h5"
    rc, _, err = cli(capsys, "traces", "import", "csv", src, "--time", "t", "--cqi", "cqi",
                     "--out", out)
    assert_clear(rc, err, str(out), "disk full")
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]


# ------------------------------------------------------------------------------------------
# sweeps and campaigns


def _sweep(tmp_path: Path, sweep_table: str, base: str = BASE) -> Path:
    (tmp_path / "base.toml").write_text(base)
    f = tmp_path / "sw.toml"
    f.write_text(f'base = "base.toml"\n[sweep]\n{sweep_table}\n')
    return f


SWEEP_CASES = [
    ("million-runs", 'grid = { "slices.0.quota_pct" = [10, 20, 30, 40, 50, 60, 70, 80, 90, '
     '95], "ue_groups.0.count" = [' + ", ".join(map(str, range(1, 101))) + ']}\n'
     'replications = 1000', "plans 1,000,000 runs", "--allow-large"),
    ("bad-axis-value", 'grid = { "simulation.duration_s" = [0.05, inf] }',
     "simulation.duration_s", "finite"),
    ("axis-not-list", 'grid = { "simulation.seed" = 3 }', "simulation.seed", "must be a list"),
    ("unknown-field", 'grid = { "simulation.nosuch" = [1, 2] }', "simulation.nosuch",
     "unknown field"),
    ("event-cell-in-sweep", 'grid = { "slices.0.quota_pct" = [50, 60] }', "base.toml", ""),
]


@pytest.mark.parametrize("table, where, reason", [c[1:] for c in SWEEP_CASES],
                         ids=[c[0] for c in SWEEP_CASES])
def test_bad_sweep(tmp_path, capsys, table, where, reason):
    base = BASE
    if "event-cell" in table or where == "base.toml":
        base = BASE + "[[events]]\nat_s = 0.01\naction = \"cell_off\"\ncell = 5\n"
        where, reason = "events.0.cell", "cell 5 does not exist"
    f = _sweep(tmp_path, table, base)
    rc, _, err = cli(capsys, "sweep", f, "--out", tmp_path / "camp", "--workers", "0",
                     "--quiet")
    assert_clear(rc, err, where, reason)
    runs = tmp_path / "camp" / "runs"
    assert not runs.exists() or not any(runs.glob("*.h5"))


def test_sweep_size_override(tmp_path, capsys):
    """--allow-large lifts the run-count guard (dry run: nothing is run)."""
    from simran.campaigns.sweep import load_sweep

    f = _sweep(tmp_path, 'grid = { "slices.0.quota_pct" = [50, 55, 60] }\nreplications = 4')
    sw = load_sweep(f)
    assert sw.n_runs() == 12 == len(sw.points())
    with pytest.raises(Exception, match="plans 12 runs"):
        sw.check_size(max_runs=10)
    rc, out, err = cli(capsys, "sweep", f, "--out", tmp_path / "c", "--dry-run")
    assert rc == 0 and "12 runs" in out


def test_sweep_metric_pattern_that_matches_nothing(tmp_path, capsys):
    f = _sweep(tmp_path, 'grid = { "slices.0.quota_pct" = [50, 60] }\n'
               'metrics = ["throughput_mbps_mean", "nosuch_*"]')
    rc, _, err = cli(capsys, "sweep", f, "--out", tmp_path / "c", "--workers", "0", "--quiet")
    assert_clear(rc, err, str(f), "[sweep] metrics", "'nosuch_*'", "they are kept")
    assert len(list((tmp_path / "c" / "runs").glob("*.h5"))) == 2     # nothing lost
    # on resume the check comes first, before anything runs
    rc, _, err = cli(capsys, "sweep", f, "--out", tmp_path / "c", "--workers", "0", "--quiet")
    assert_clear(rc, err, "'nosuch_*'")


def test_campaign_onto_a_full_disk_stops_and_keeps_finished_runs(tmp_path, full_disk):
    """A runner that fills the disk and fails: recording the lost run cannot be written; the
    campaign stops with a SweepError naming the record, the finished run is kept."""
    from simran.campaigns.campaign import run_campaign, scan_runs
    from simran.campaigns.executors import SerialExecutor
    from simran.campaigns.runs import run_one
    from simran.errors import SweepError

    f = _sweep(tmp_path, 'grid = { "slices.0.quota_pct" = [50, 55, 60] }')
    calls = []

    def runner(spec, runs_dir):
        calls.append(spec.run_id)
        if len(calls) == 1:
            return run_one(spec, runs_dir)
        _fill(full_disk)
        raise RuntimeError("worker crashed")

    with pytest.raises(SweepError, match=r"stopped: .*\.json: cannot write: disk full.*"
                       "free space and run the same command again"):
        run_campaign(f, full_disk / "c", executor=SerialExecutor(), runner=runner, quiet=True)
    recs = scan_runs(full_disk / "c")
    assert [r["state"] for r in recs.values()] == ["done"]
    assert leftovers(full_disk) == []
    (full_disk / "filler").unlink()
    rep = run_campaign(f, full_disk / "c", executor=SerialExecutor(), quiet=True)
    assert rep.skipped == 1 and rep.done == 2                           # resumed


def test_sweep_into_a_read_only_folder(tmp_path, capsys, readonly_disk):
    f = _sweep(tmp_path, 'grid = { "slices.0.quota_pct" = [50, 60] }')
    rc, _, err = cli(capsys, "sweep", f, "--out", readonly_disk / "c", "--workers", "0",
                     "--quiet")
    assert_clear(rc, err, str(readonly_disk / "c"), "read-only")


# ------------------------------------------------------------------------------------------
# LLM replies and agent faults


@pytest.fixture
def bad_ollama(monkeypatch):
    """An 'Ollama' that answers every request with HTTP 200 and a body that is not JSON."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def _reply(self):
            n = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(n)
            body = b"<html>502 gateway says hello</html>"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _reply

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("OLLAMA_HOST", f"http://127.0.0.1:{server.server_address[1]}")
    yield server
    server.shutdown()


def test_ollama_non_json_body_falls_back_and_the_run_completes(tmp_path, capsys, bad_ollama):
    """HTTP 200 with a non-JSON body: the deterministic policy answers, the reason is recorded,
    the run is not lost (design §10)."""
    import agents.demo  # noqa: F401
    from simran.output.results import load_results

    f = tmp_path / "s.toml"
    f.write_text(BASE + DEMO_AGENT.format(backend="ollama:llama3.2:3b", intent=10))
    rc, out, err = cli(capsys, "run", f, "--out", tmp_path / "o", "--quiet")
    assert rc == 0, err
    assert "Traceback" not in err
    d = load_results(tmp_path / "o").decisions
    assert len(d) == 2 and set(d["backend"]) == {"scripted"}
    assert all("not JSON" in r for r in d["fallback_reason"]), list(d["fallback_reason"])


def test_ollama_backend_non_json_is_backend_unavailable(bad_ollama):
    from agents.llm import BackendUnavailable
    from agents.llm.ollama_backend import OllamaBackend

    b = OllamaBackend("llama3.2:3b", timeout_s=5)
    with pytest.raises(BackendUnavailable, match="malformed response: the body is not JSON"):
        b.chat([{"role": "user", "content": "hi"}], {"type": "object"})
    ok, why = b.available(timeout_s=5)
    assert not ok and "not JSON" in why


class _Broken:
    """Agent kinds whose decide() raises (registered once, in-process)."""

    registered = False

    @classmethod
    def register(cls):
        if cls.registered:
            return
        from simran.hooks import Agent, register_agent

        @register_agent("h17_json_broken")
        class JsonBroken(Agent):
            def decide(self, obs):
                return json.loads("{not json")

        @register_agent("h17_scenario_error")
        class ScenarioBroken(Agent):
            def decide(self, obs):
                from simran.errors import ScenarioError
                raise ScenarioError("x.toml", [("agents.0.params.k", "bad k")])

        cls.registered = True


@pytest.mark.parametrize("kind, needles", [
    ("h17_json_broken", ["agent 'b' (h17_json_broken) failed at t = 0.02 s",
                         "JSONDecodeError: Expecting property name"]),
    ("h17_scenario_error", ["x.toml", "agents.0.params.k: bad k"]),
])
def test_exception_in_an_agent_keeps_its_message(tmp_path, capsys, kind, needles):
    """SimPy re-creates a process's exception as type(e)(*e.args): a JSONDecodeError became
    'TypeError: … missing 2 required positional arguments'. Now the message survives."""
    _Broken.register()
    f = tmp_path / "s.toml"
    f.write_text(BASE + f'[[agents]]\nname = "b"\nkind = "{kind}"\nperiod_ms = 20\n'
                 'latency = "fixed:0"\n')
    rc, _, err = cli(capsys, "run", f, "--out", tmp_path / "o", "--quiet")
    assert_clear(rc, err, *needles)
    assert "TypeError" not in err and "missing 2 required" not in err
    assert not (tmp_path / "o" / "results.h5").exists() and leftovers(tmp_path) == []


def test_errors_survive_simpy_and_pickle():
    """Every simran error class is rebuilt from its args (SimPy) and pickles (process pools)."""
    import pickle

    from simran import errors

    cases = [errors.ScenarioError("a.toml", [("x.y", "bad")]), errors.TraceError("t: row 3"),
             errors.SweepError("s"), errors.ResultsError("r"), errors.AgentError("a"),
             errors.SizeError("big"), errors.ControlError("c")]
    for e in cases:
        assert str(type(e)(*e.args)) == str(e)
        assert str(pickle.loads(pickle.dumps(e))) == str(e)


def test_auto_records_why_it_chose_the_scripted_rule(monkeypatch):
    """``auto`` with no Ollama and no embedded model: the scripted rule answers, and its
    description (printed by ``simran run``) says why."""
    import agents.llm.factory as factory

    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")          # nothing listens there
    monkeypatch.setattr(factory, "embedded_status", lambda: (False, "not installed (test)"))
    b = factory.make_backend("auto", lambda messages, schema: {"x": 1}, timeout_s=1)
    assert isinstance(b, factory.ScriptedBackend)
    desc = b.describe()
    assert "chosen by auto" in desc and "127.0.0.1:9" in desc and "not installed (test)" in desc
    assert b.chat([{"role": "user", "content": "q"}]).text == '{"x": 1}'


# ------------------------------------------------------------------------------------------
# more of the same classes: through a scenario, through plots, through the real command


def test_scenario_with_a_damaged_trace_set(tmp_path, capsys, trace_set):
    bad = tmp_path / "bad.h5"
    _damage_traces(trace_set, bad, "del-cqi")
    f = tmp_path / "s.toml"
    f.write_text(BASE.replace("[[ue_groups]]\nname = \"u\"\ncount = 4\nslice = \"a\"\n",
                              "[[ue_groups]]\nname = \"veh\"\nslice = \"a\"\n"
                              "mobility = \"trace\"\n[ue_groups.trace]\nfile = \"bad.h5\"\n"))
    rc, _, err = cli(capsys, "validate", f)
    assert_clear(rc, err, str(f), "ue_groups[veh].trace", "bad.h5", "missing dataset")


def test_plot_of_a_damaged_results_file(tmp_path, capsys, results_file):
    pytest.importorskip("matplotlib")
    bad = tmp_path / "r.h5"
    _damage(results_file, bad, "del:kpi/cell")
    rc, _, err = cli(capsys, "plot", bad, "--out", tmp_path / "png")
    assert_clear(rc, err, str(bad), "/kpi/cell")
    assert not list(tmp_path.glob("png/*.png"))


@pytest.mark.slow
def test_flipped_bytes_in_trace_sets_never_traceback(tmp_path, capsys, trace_set):
    data = bytearray(trace_set.read_bytes())
    n, codes = len(data), []
    for k, frac in enumerate(np.linspace(0.02, 0.98, 10)):
        bad = bytearray(data)
        at = int(frac * n)
        for j in range(at, min(n, at + 48)):
            bad[j] ^= 0x3C
        p = tmp_path / f"flip{k}.h5"
        p.write_bytes(bytes(bad))
        for args in (["list", p], ["show", p, "--trace", "v0"], ["show", p, "--trace", "v1"]):
            rc, _, err = cli(capsys, "traces", *args)
            assert "Traceback" not in err and rc in (0, 2), err
            if rc == 2:
                assert_clear(rc, err, str(p))
            codes.append(rc)
    assert codes.count(2) >= 3, codes


@pytest.mark.slow
def test_real_command_on_a_full_disk_exits_2_not_139(tmp_path, full_disk):
    """The real ``simran run`` onto a full disk: exit 2 and one line (it used to segfault)."""
    f = tmp_path / "s.toml"
    f.write_text(BASE)
    _fill(full_disk, leave_bytes=8192)
    r = subprocess.run([sys.executable, "-m", "simran.cli.main", "run", str(f), "--out",
                        str(full_disk / "q"), "--quiet"], capture_output=True, text=True,
                       cwd=REPO, timeout=300)
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    assert "Traceback" not in r.stderr and "HDF5-DIAG" not in r.stderr
    assert r.stderr.strip().splitlines() == [
        f"simran: error: {full_disk / 'q' / 'results.h5'}: cannot write: disk full (No space "
        "left on device)"]
    assert sorted(p.name for p in full_disk.rglob("*")) == ["filler", "q"]


@pytest.mark.parametrize("argv, needles", [
    (["run", "{s}", "--set", "simulation.seed=99999999999999999999999", "--out", "{d}/o"],
     ["simulation.seed", "less than or equal to 9223372036854775807"]),
    (["validate", "{s}", "--set", "ue_groups.0.mobility='vehicle'", "--set",
      "ue_groups.0.speed_mps=1.0", "--set", "ue_groups.0.route=[[0,0],[0,0]]"],
     ["ue_groups.0", "route has zero length"]),
    (["config", "dump", "{s}", "--out", "{d}"], ["--out names a folder"]),
    (["traces", "synth", "--out", "{d}/syn.h5", "--duration-s", "inf"],
     ["synthetic traces", "must be finite"]),
    (["run", "{s}", "--set", "agents=[{{name='a', kind='demo_quota', period_ms=20.0, "
      "latency='fixed:1', params={{slice='zz'}}}}]", "--out", "{d}/o2"],
     ["agent 'a' (demo_quota) failed at t = 0.02 s", "ValueError", "'zz'"]),
])
def test_found_by_exploration(tmp_path, capsys, argv, needles):
    """Cases found by trying hostile command lines (each was a traceback)."""
    import agents.demo  # noqa: F401

    s = tmp_path / "s.toml"
    s.write_text(BASE)
    rc, _, err = cli(capsys, *[a.format(s=s, d=tmp_path) for a in argv])
    assert_clear(rc, err, *needles)
    assert leftovers(tmp_path) == [] and not list(tmp_path.rglob("results.h5"))
