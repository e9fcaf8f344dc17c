"""Tests of the ``simran`` command, in-process through :func:`simran.cli.main.main` and once as a
real subprocess of the installed console script (or ``python -m simran``)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from simran.cli.main import main
from simran.output.results import load_results
from simran.scenario import load_scenario

REPO = Path(__file__).resolve().parent.parent

SCEN = """
name = "cli-test"
[simulation]
duration_s = 0.2
seed = 4
[network]
rings = 0
[[slices]]
name = "embb"
quota_pct = 70
[[slices]]
name = "iot"
quota_pct = 30
policy = "rr"
[[ue_groups]]
name = "phones"
count = 4
slice = "embb"
mobility = "random_waypoint"
speed_mps = 3.0
[[ue_groups]]
name = "meters"
count = 2
slice = "iot"
traffic = "cbr"
cbr_mbps = 0.1
[output]
kpi_period_ms = 50
"""


@pytest.fixture
def scen(tmp_path) -> Path:
    p = tmp_path / "s.toml"
    p.write_text(SCEN, encoding="utf-8")
    return p


def test_validate(scen, capsys):
    assert main(["validate", str(scen)]) == 0
    out = capsys.readouterr().out
    # 1 site × 3 sectors; 40 MHz @ 30 kHz → 106 PRB (TS 38.101-1 Table 5.3.2-1)
    assert "OK" in out and "3 cells (106 PRB each)" in out and "2 slices" in out
    assert "6 UEs" in out


def test_run_with_set_and_quiet(scen, tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["run", str(scen), "--set", "simulation.seed=9", "--set", "slices.0.quota_pct=60",
               "--out", str(out), "--quiet"])
    assert rc == 0
    stdout = capsys.readouterr().out
    assert stdout.strip() == f"results: {out / 'results.h5'}"          # --quiet: just the path
    r = load_results(out)
    assert r.attrs["seed"] == 9 and r.scenario["slices"][0]["quota_pct"] == 60.0
    assert (r.slice[r.slice["slice_name"] == "embb"]["quota_pct"] == 60.0).all()
    # existing results are not overwritten without --force
    assert main(["run", str(scen), "--out", str(out), "--quiet"]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["run", str(scen), "--out", str(out), "--quiet", "--force"]) == 0
    assert load_results(out).attrs["seed"] == 4


def test_run_verbose_prints_summary(scen, tmp_path, capsys):
    assert main(["run", str(scen), "--out", str(tmp_path / "v.h5")]) == 0
    out = capsys.readouterr().out
    assert "simulated s in" in out and "throughput_mbps_mean" in out
    assert (tmp_path / "v.h5").exists()


def test_config_dump(scen, tmp_path, capsys):
    assert main(["config", "dump", str(scen), "--set", "simulation.seed=11"]) == 0
    dumped = tomllib.loads(capsys.readouterr().out)
    assert dumped["simulation"]["seed"] == 11
    assert dumped["network"]["bandwidth_mhz"] == 40.0                    # defaults resolved
    p = tmp_path / "d.toml"
    assert main(["config", "dump", str(scen), "--out", str(p)]) == 0
    assert load_scenario(p).to_dict() == load_scenario(scen).to_dict()


def test_summary(scen, tmp_path, capsys):
    main(["run", str(scen), "--out", str(tmp_path / "r"), "--quiet"])
    capsys.readouterr()
    assert main(["summary", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "scenario 'cli-test', seed 4" in out
    assert "energy_kwh" in out and "n_cells" in out
    assert main(["summary", str(tmp_path / "nothing")]) == 2
    assert "not found" in capsys.readouterr().err


@pytest.mark.slow
def test_plot(scen, tmp_path, capsys):
    if importlib.util.find_spec("matplotlib") is None:
        print("matplotlib is not installed (the `plot` extra): skipping")
        pytest.skip("matplotlib is not installed (the `plot` extra)")
    main(["run", str(scen), "--out", str(tmp_path / "r"), "--quiet"])
    capsys.readouterr()
    assert main(["plot", str(tmp_path / "r"), "--out", str(tmp_path / "png")]) == 0
    out = capsys.readouterr().out
    names = sorted(p.name for p in (tmp_path / "png").glob("*.png"))
    assert names == ["energy.png", "map.png", "radio.png", "slices.png"]
    for n in names:
        assert f"plot: {tmp_path / 'png' / n}" in out
        data = (tmp_path / "png" / n).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    # default output folder: next to the results
    assert main(["plot", str(tmp_path / "r" / "results.h5")]) == 0
    assert (tmp_path / "r" / "map.png").exists()


def test_plots_written_by_run_when_asked(scen, tmp_path, capsys):
    if importlib.util.find_spec("matplotlib") is None:
        pytest.skip("matplotlib is not installed (the `plot` extra)")
    assert main(["run", str(scen), "--set", "output.plots=true", "--set", "output.ue_kpis=false",
                 "--out", str(tmp_path / "r"), "--quiet"]) == 0
    # without UE KPIs there is no radio figure, the map shows the sites only
    assert sorted(p.name for p in (tmp_path / "r").glob("*.png")) == [
        "energy.png", "map.png", "slices.png"]


def test_import_simran_does_not_import_heavy_modules():
    code = ("import sys, simran, simran.output.plots, simran.cli.main; "
            "bad = [m for m in ('matplotlib', 'agents', 'ollama', 'dask', 'llama_cpp') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 0, res.stdout + res.stderr


def test_no_command_and_version(capsys):
    assert main([]) == 2
    with pytest.raises(SystemExit) as ei:
        main(["--version"])
    assert ei.value.code == 0
    assert "simran " in capsys.readouterr().out


@pytest.mark.slow
def test_console_script_subprocess(scen, tmp_path):
    exe = shutil.which("simran")
    cmd = [exe] if exe else [sys.executable, "-m", "simran"]
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    ok = subprocess.run(cmd + ["run", str(scen), "--out", str(tmp_path / "sp"), "--quiet"],
                        capture_output=True, text=True, env=env, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert load_results(tmp_path / "sp").attrs["complete"]
    bad = subprocess.run(cmd + ["validate", str(tmp_path / "missing.toml")], capture_output=True,
                         text=True, env=env, timeout=60)
    assert bad.returncode == 2
    assert bad.stderr.startswith("simran: error: ") and "file not found" in bad.stderr
    assert "Traceback" not in bad.stderr


# ------------------------------------------------------------------------------------------
# issue 16: one summary order for run and summary, machine-readable summaries, plurals


def _metric_lines(text: str) -> list[str]:
    return [ln.split()[0] for ln in text.splitlines() if ln.startswith("    ")]


def test_run_and_summary_print_the_same_grouped_order(scen, tmp_path, capsys):
    assert main(["run", str(scen), "--out", str(tmp_path / "r")]) == 0
    run_out = capsys.readouterr().out
    assert main(["summary", str(tmp_path / "r")]) == 0
    sum_out = capsys.readouterr().out
    ran, shown = _metric_lines(run_out), _metric_lines(sum_out)
    assert ran == shown and len(ran) > 10
    # grouped, not alphabetical: the run's size first, energy after the UE metrics
    assert ran[:4] == ["duration_s", "n_cells", "n_ues", "n_prb"]
    assert ran.index("energy_kwh") > ran.index("ue_throughput_mbps_p5")
    assert "  network (sum over cells, mean over time):" in sum_out


def test_summary_json_and_csv(scen, tmp_path, capsys):
    import csv
    import io
    import json

    main(["run", str(scen), "--out", str(tmp_path / "r"), "--quiet"])
    summary = load_results(tmp_path / "r").summary
    capsys.readouterr()
    assert main(["summary", str(tmp_path / "r"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["summary"] == summary and doc["seed"] == 4 and doc["scenario"] == "cli-test"
    assert main(["summary", str(tmp_path / "r"), "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {r["metric"]: float(r["value"]) for r in rows} == summary
    assert rows[0]["group"] == "run" and list(rows[0]) == ["group", "metric", "value"]


def test_plurals(tmp_path, capsys):
    from simran.cli.main import plural

    assert (plural(1, "cell"), plural(3, "cell"), plural(0, "UE")) == ("1 cell", "3 cells",
                                                                        "0 UEs")
    one = tmp_path / "one.toml"
    one.write_text(SCEN.replace("rings = 0", "rings = 0\nsectors = 1"), encoding="utf-8")
    data = tomllib.loads(one.read_text())
    data["slices"] = data["slices"][:1]
    data["slices"][0]["quota_pct"] = 100
    data["ue_groups"] = [dict(g, slice=data["slices"][0]["name"]) for g in data["ue_groups"]]
    from simran.cli.main import to_toml

    one.write_text(to_toml(data), encoding="utf-8")
    assert main(["validate", str(one)]) == 0
    out = capsys.readouterr().out
    assert "1 cell (" in out and "1 slice," in out and "0 agents" in out
