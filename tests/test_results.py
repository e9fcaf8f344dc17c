"""Tests of simran.output.results: the documented HDF5 layout, the loader, and rejection of bad
files.

The oracle for the columns is the layout block of the ``simran.output.results`` module docstring:
the test parses it, so the file and its documentation cannot drift apart.
"""

from __future__ import annotations

import re
import shutil

import h5py
import numpy as np
import pandas as pd
import pytest

import simran.output.results as results
from simran.control import SetSliceQuota
from simran.errors import SimranError
from simran.hooks import DECISION_COLUMNS, Agent, Decision, register_agent
from simran.output.results import load_results
from simran.scenario import Scenario
from simran.simulation import run_scenario


@register_agent("_test_results_agent")
class _Halver(Agent):
    def decide(self, obs):
        return Decision(actions=[SetSliceQuota(obs.slice_names[0], 40.0)], note="test")


SCENARIO = {
    "name": "results-test",
    "simulation": {"duration_s": 0.3, "seed": 5},
    "network": {"rings": 0},
    "slices": [{"name": "a", "quota_pct": 60}, {"name": "b", "quota_pct": 40, "policy": "rr"}],
    "ue_groups": [{"name": "g0", "count": 3, "slice": "a"},
                  {"name": "g1", "count": 2, "slice": "b", "traffic": "cbr"}],
    "events": [{"at_s": 0.1, "action": "cell_sleep", "cell": 2}],
    "agents": [{"name": "h", "kind": "_test_results_agent", "period_ms": 100,
                "latency": "fixed:1"}],
    "output": {"kpi_period_ms": 50, "ue_kpi_period_ms": 100},
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("res") / "results.h5"
    run_scenario(Scenario.from_dict(SCENARIO), out)
    return out


def documented_layout() -> dict[str, list[str]]:
    """Parse the ``Layout`` block of simran/output/results.py: /path → documented columns."""
    doc = results.__doc__
    block = doc.split("::", 1)[1].split("\n\n", 2)[1]
    layout: dict[str, list[str]] = {}
    current = None
    for line in block.splitlines():
        text = re.sub(r"\(.*?\)", "", line).strip()        # drop "(only when …)" remarks
        if text.startswith("/"):
            current, _, rest = text.partition(" ")
            layout[current] = [c.strip() for c in rest.split(",") if c.strip()]
        elif current and text:
            layout[current] += [c.strip() for c in text.split(",") if c.strip()]
    return layout


def test_layout_parser_reads_the_docstring():
    lay = documented_layout()
    assert lay["/kpi/cell"][:3] == ["t_s", "cell", "throughput_mbps"]
    assert "active" in lay["/kpi/ue"]                     # continuation line


@pytest.mark.parametrize("table, attr", [
    ("/kpi/cell", "cell"), ("/kpi/slice", "slice"), ("/kpi/ue", "ue"),
    ("/topology/cells", "cells"), ("/topology/sites", "sites"), ("/events", "events"),
])
def test_dataframes_have_the_documented_columns(run, table, attr):
    df = getattr(load_results(run), attr)
    assert isinstance(df, pd.DataFrame)
    # the file's columns, plus the names load_results adds next to indices (issue 16)
    added = ["group_name", "slice_name"] if table == "/kpi/ue" else []
    assert sorted(df.columns) == sorted(documented_layout()[table] + added)
    assert len(df) > 0
    # the documented order: t_s first (COLUMN_ORDER)
    from simran.output.results import COLUMN_ORDER

    assert list(df.columns) == list(COLUMN_ORDER[table.lstrip("/")])


def test_dataframe_dtypes_and_names(run):
    r = load_results(run)
    assert r.cell["n_ue"].dtype == np.int32 and r.cell["state"].dtype == np.int8
    assert r.slice["n_ue"].dtype == np.int32 and r.ue["mcs"].dtype == np.int16
    names = [g["name"] for g in r.scenario["ue_groups"]]
    assert (r.ue["group_name"] == [names[g] for g in r.ue["group"]]).all()
    slices = [s["name"] for s in r.scenario["slices"]]
    assert (r.ue["slice_name"] == [slices[s] for s in r.ue["slice"]]).all()


def test_row_counts_types_and_values(run):
    r = load_results(run)
    C, S, U = 3, 2, 5
    # 0.3 s / 50 ms = 6 cell records; UE records every 100 ms = 3
    assert len(r.cell) == 6 * C and len(r.slice) == 6 * C * S and len(r.ue) == 3 * U
    np.testing.assert_allclose(np.unique(r.cell["t_s"]), np.arange(1, 7) * 0.05)
    assert r.cell["cell"].dtype.kind == "i" and r.cell["t_s"].dtype.kind == "f"
    assert set(r.slice["slice_name"]) == {"a", "b"}
    assert r.slice_totals().columns.tolist() == ["t_s", "slice_name", "throughput_mbps", "prb",
                                                 "n_ue"]
    np.testing.assert_array_equal(sorted(r.ue["group"].unique()), [0, 1])
    # the sleep event at 0.1 s is in the events table with its parsed detail, and the state
    assert (r.events["kind"] == "action").any()
    assert isinstance(r.events["detail"].iloc[0], dict)
    st = r.cell[r.cell["cell"] == 2].set_index("t_s")["state"]
    assert st.loc[0.05] == 0 and st.loc[0.3] == 2


def test_metadata_summary_and_scenario(run):
    r = load_results(run)
    for key in ("format", "format_version", "simran_version", "git_commit", "git_dirty", "seed",
                "rng_scheme", "scenario_name", "created_utc", "complete"):
        assert key in r.attrs, key
    assert r.attrs["complete"] and r.attrs["seed"] == 5
    assert r.attrs["scenario_name"] == "results-test"
    assert Scenario.from_dict(r.scenario).to_dict() == r.scenario       # resolved, reloadable
    assert r.summary["n_ues"] == 5.0 and "energy_kwh" in r.summary
    assert "wall_s" in r.run_info


def test_decisions_table(run):
    r = load_results(run)
    assert r.decisions is not None
    assert sorted(r.decisions.columns) == sorted(DECISION_COLUMNS)
    assert (r.decisions["agent"] == "h").all() and len(r.decisions) == 2   # at 0.1 s, 0.2 s
    np.testing.assert_allclose(r.decisions["t_apply_s"], [0.105, 0.205])   # 1 ms → next tick


def test_directory_path_is_accepted(run):
    assert load_results(run.parent).path == run


# ------------------------------------------------------------------------------ rejection ----
def test_incomplete_file_rejected(run, tmp_path):
    p = tmp_path / "partial.h5"
    shutil.copy(run, p)
    with h5py.File(p, "a") as f:
        f.attrs["complete"] = False
    with pytest.raises(SimranError, match=r"partial\.h5: incomplete results file"):
        load_results(p)
    with h5py.File(p, "a") as f:
        del f.attrs["complete"]
    with pytest.raises(SimranError, match="incomplete"):
        load_results(p)


def test_non_simran_hdf5_rejected(tmp_path):
    p = tmp_path / "other.h5"
    with h5py.File(p, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(SimranError, match=r"other\.h5: not a simran results file"):
        load_results(p)


def test_not_hdf5_and_missing_rejected(tmp_path):
    p = tmp_path / "text.h5"
    p.write_text("hello")
    with pytest.raises(SimranError, match=r"text\.h5: not an HDF5 file"):
        load_results(p)
    with pytest.raises(SimranError, match="results file not found"):
        load_results(tmp_path / "missing.h5")
    with pytest.raises(SimranError, match="results file not found"):
        load_results(tmp_path)                         # a folder without results.h5


def test_summary_cli_rejects_bad_file(tmp_path, capsys):
    from simran.cli.main import main

    p = tmp_path / "other.h5"
    with h5py.File(p, "w") as f:
        f["x"] = 1
    assert main(["summary", str(p)]) == 2
    assert "not a simran results file" in capsys.readouterr().err


def test_out_path_without_suffix_is_a_folder(tmp_path):
    small = {k: v for k, v in SCENARIO.items() if k != "agents"}
    small["simulation"] = {"duration_s": 0.05}
    res = run_scenario(Scenario.from_dict(small), tmp_path / "folder")
    assert res.results_path == tmp_path / "folder" / "results.h5"
    assert load_results(tmp_path / "folder").attrs["complete"]
    assert [p.name for p in (tmp_path / "folder").iterdir()] == ["results.h5"]   # no temp file


def test_in_memory_write_matches_the_data_and_errors_are_results_errors(tmp_path):
    """The results file is built in memory and written once: the same tables as before; a path
    that cannot be written is a ResultsError (a SimranError) naming it, with no file left."""
    from simran.errors import ResultsError

    small = {k: v for k, v in SCENARIO.items() if k != "agents"}
    small["simulation"] = {"duration_s": 0.05}
    scen = Scenario.from_dict(small)
    res = run_scenario(scen, tmp_path / "a.h5")
    r = load_results(res.results_path)
    assert r.attrs["complete"] and r.attrs["format_version"] == 1
    assert len(r.cell) == len(r.cells) * len(set(r.cell["t_s"]))
    assert set(r.slice["slice_name"]) == {s.name for s in scen.slices}
    (tmp_path / "dir.h5").mkdir()
    with pytest.raises(ResultsError, match=r"dir\.h5: cannot write results: it is a folder"):
        run_scenario(scen, tmp_path / "dir.h5")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ResultsError, match="a file of that name exists"):
        run_scenario(scen, tmp_path / "file" / "r.h5")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.h5", "dir.h5", "file"]


def test_newer_format_version_is_refused(tmp_path):
    small = {k: v for k, v in SCENARIO.items() if k != "agents"}
    small["simulation"] = {"duration_s": 0.05}
    p = run_scenario(Scenario.from_dict(small), tmp_path / "a.h5").results_path
    with h5py.File(p, "r+") as f:
        f.attrs["format_version"] = 2
    with pytest.raises(SimranError, match=r"format_version 2 is not supported .*reads 1…1"):
        load_results(p)
