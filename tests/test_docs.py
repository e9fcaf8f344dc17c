"""Writing agents, documented (issue 15 parts 1 and 5): the API reference builds without a
warning, the scenario schema prints in the terminal, every decision status is documented, and
an agent that never decided is in the summary and warned about."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import simran
from simran.cli.config_schema import field_rows, format_section, sections
from simran.cli.main import main
from simran.scenario import Scenario

REPO = Path(__file__).resolve().parents[1]
TINY = """
name = "tiny"
[simulation]
duration_s = 0.5
[network]
rings = 0
[[slices]]
name = "embb"
quota_pct = 60
[[ue_groups]]
name = "phones"
count = 3
slice = "embb"
[[agents]]
name = "slow"
kind = "demo_quota"
period_ms = 1000
[[agents]]
name = "fast"
kind = "demo_quota"
period_ms = 100
"""


# ------------------------------------------------------------------ part 5 -----------------------
def test_an_agent_that_never_decides_is_in_the_summary_with_zeros(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text(TINY)
    res = simran.run_scenario(simran.load_scenario(f), None)
    assert res.summary["agent.slow.decisions"] == 0.0
    assert res.summary["agent.slow.dropped"] == 0.0
    assert res.summary["agent.fast.decisions"] == 4.0        # at 0.1, 0.2, 0.3, 0.4 s


def test_validate_warns_about_an_agent_observing_after_the_end(tmp_path, capsys):
    f = tmp_path / "s.toml"
    f.write_text(TINY)
    assert main(["validate", str(f)]) == 0
    err = capsys.readouterr().err
    assert "agents.0 (slow)" in err and "no decision" in err
    assert "agents.1" not in err


def test_every_decision_status_is_documented():
    import simran.hooks.agent as agent_mod
    import simran.hooks.decisions as dec_mod

    code = Path(agent_mod.__file__).read_text()
    statuses = set(re.findall(r'"(no_action|pending\w*|applied\w*|dropped_late|replied|'
                              r'reply_late|no_reply)"', code))
    assert len(statuses) >= 9, statuses          # the statuses the run loop can set
    doc = dec_mod.__doc__
    for s in statuses:
        assert f"``{s}``" in doc, s
    for verdict in ("accepted", "clamped", "rejected"):
        assert f"``{verdict}``" in doc


# ------------------------------------------------------------------ config schema ----------------
def test_config_schema_prints_a_section_from_the_models(capsys):
    assert main(["config", "schema", "network.handover"]) == 0
    out = capsys.readouterr().out
    info = Scenario.model_fields["network"].annotation.model_fields["handover"]
    model = info.annotation
    for name, f in model.model_fields.items():
        assert f"{name}:" in out
        assert " ".join(f.description.split()) in out
    assert "≤ 5120" in out                         # the range of ttt_ms, from its Field


def test_config_schema_knows_every_section_and_refuses_others(capsys):
    assert {"simulation", "network.antenna", "agents", "ue_groups.trace"} <= set(sections())
    for s in sections():
        assert field_rows(s)
        assert format_section(s).startswith(f"[{s}]")
    assert main(["config", "schema", "nope"]) == 2
    assert "sections:" in capsys.readouterr().err


# ------------------------------------------------------------------ API reference ----------------
def test_every_results_column_is_documented(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text(TINY)                       # agents default to the scripted backend
    simran.run_scenario(simran.load_scenario(f), tmp_path / "r.h5")
    res = simran.load_results(tmp_path / "r.h5")
    page = (REPO / "docs" / "api" / "results.rst").read_text()
    for table in ("cell", "slice", "ue", "events", "decisions", "cells", "sites"):
        df = getattr(res, table)
        assert df is not None and len(df.columns), table
        for col in df.columns:
            assert f"``{col}``" in page, f"res.{table}.{col} is not in docs/api/results.rst"


@pytest.mark.slow
def test_api_reference_builds_without_warnings(tmp_path):
    if not (_has("sphinx") and _has("numpydoc")):
        pytest.skip("sphinx or numpydoc is not installed (pip install -e '.[docs]'; the test "
                    "extra has both)")
    out = tmp_path / "html"
    done = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b",
                           "html", str(REPO / "docs" / "api"), str(out)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Unknown section" not in done.stderr, done.stderr[-3000:]   # numpydoc's own warnings
    index = (out / "index.html").read_text()
    assert "simran" in index
    obs = (out / "agents.html").read_text()
    for field in ("tick_cell_slice_mbps", "ue_kpi_mbps", "intent_tol_mbps"):
        assert field in obs
    scen = (out / "scenario.html").read_text()
    for name in Scenario.model_fields["simulation"].annotation.model_fields:
        assert name in scen
    assert "dropped_late" in (out / "decisions.html").read_text()


def _has(mod: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(mod) is not None
