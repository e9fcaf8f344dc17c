"""Issue 16, "the first hour": scenario inheritance (``base =``), ``simran sweep --set``,
``config dump --origins``.

Oracles are hand-built merges: each test states the base, the child and the merged value the
documented rules give.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
from helpers import TINY_SWEEP_BASE, write_sweep

from simran.cli.main import main
from simran.errors import ScenarioError
from simran.scenario import (
    load_scenario,
    merge_scenario_data,
    read_scenario_data,
    scenario_origins,
)


def _write(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.write_text(textwrap.dedent(text))
    return p


# --------------------------------------------------------------------------------------------
# merge rules


def test_tables_merge_key_by_key_and_child_wins():
    base = {"simulation": {"duration_s": 10.0, "seed": 1}, "name": "a"}
    child = {"simulation": {"seed": 7}}
    assert merge_scenario_data(base, child) == {"simulation": {"duration_s": 10.0, "seed": 7},
                                                "name": "a"}
    assert base["simulation"]["seed"] == 1            # inputs are not modified


def test_named_lists_merge_by_name_keep_order_append_new_and_remove():
    base = {"slices": [{"name": "embb", "quota_pct": 70, "policy": "pf"},
                       {"name": "iot", "quota_pct": 30}]}
    child = {"slices": [{"name": "urllc", "quota_pct": 10},
                        {"name": "embb", "quota_pct": 60}]}
    merged = merge_scenario_data(base, child)["slices"]
    assert merged == [{"name": "embb", "quota_pct": 60, "policy": "pf"},
                      {"name": "iot", "quota_pct": 30},
                      {"name": "urllc", "quota_pct": 10}]
    gone = merge_scenario_data(base, {"slices": [{"name": "iot", "remove": True}]})["slices"]
    assert [s["name"] for s in gone] == ["embb"]


def test_unnamed_lists_and_empty_lists_replace():
    base = {"events": [{"at_s": 5.0, "action": "x"}], "output": {"cells": [0, 1]}}
    child = {"events": [], "output": {"cells": [2]}}
    assert merge_scenario_data(base, child) == {"events": [], "output": {"cells": [2]}}


# --------------------------------------------------------------------------------------------
# files


def test_child_scenario_validates_with_inherited_and_changed_values(tmp_path):
    _write(tmp_path, "base.toml", TINY_SWEEP_BASE)
    child = _write(tmp_path, "child.toml", """
        base = "base.toml"
        name = "child"
        [simulation]
        seed = 9
        [[ue_groups]]
        name = "phones"
        count = 6
        [[ue_groups]]
        name = "cameras"
        count = 1
        slice = "iot"
        traffic = "cbr"
        """)
    scen = load_scenario(child)
    assert scen.name == "child"
    assert scen.simulation.seed == 9 and scen.simulation.duration_s == 0.2   # inherited
    assert [(g.name, g.count) for g in scen.ue_groups] == [("phones", 6), ("sensors", 2),
                                                          ("cameras", 1)]
    assert [s.quota_pct for s in scen.slices] == [60, 40]
    # --set applies after inheritance, with the merged indices
    scen = load_scenario(child, ["ue_groups.2.count=3"])
    assert scen.ue_groups[2].count == 3


def test_chain_of_bases_and_relative_paths(tmp_path):
    (tmp_path / "common").mkdir()
    _write(tmp_path / "common", "root.toml", TINY_SWEEP_BASE)
    _write(tmp_path / "common", "mid.toml", 'base = "root.toml"\n[simulation]\nseed = 4\n')
    leaf = _write(tmp_path, "leaf.toml", 'base = "common/mid.toml"\n[simulation]\n'
                  'duration_s = 0.1\n')
    data = read_scenario_data(leaf)
    assert "base" not in data
    assert data["simulation"] == {"duration_s": 0.1, "seed": 4}


def test_bad_bases_are_scenario_errors_naming_file_and_field(tmp_path):
    a = _write(tmp_path, "a.toml", 'base = "b.toml"\n')
    _write(tmp_path, "b.toml", 'base = "a.toml"\n')
    with pytest.raises(ScenarioError, match="inheritance cycle: a.toml -> b.toml -> a.toml"):
        load_scenario(a)
    missing = _write(tmp_path, "m.toml", 'base = "nope.toml"\n')
    with pytest.raises(ScenarioError, match=r"(?s)m\.toml.*base.*'nope.toml' not found"):
        load_scenario(missing)
    number = _write(tmp_path, "n.toml", "base = 3\n")
    with pytest.raises(ScenarioError, match="base.*expected a file name"):
        load_scenario(number)


def test_inherited_value_is_validated_like_any_scenario(tmp_path):
    _write(tmp_path, "base.toml", TINY_SWEEP_BASE)
    child = _write(tmp_path, "c.toml", 'base = "base.toml"\n[[slices]]\nname = "embb"\n'
                   'quota_pct = 250\n')
    with pytest.raises(ScenarioError, match="quota_pct"):
        load_scenario(child)


def test_origins_name_the_file_of_each_value(tmp_path):
    base = _write(tmp_path, "base.toml", TINY_SWEEP_BASE)
    child = _write(tmp_path, "c.toml", 'base = "base.toml"\n[simulation]\nseed = 5\n'
                   '[[ue_groups]]\nname = "sensors"\ncount = 1\n')
    got = scenario_origins(child, ["network.rings=1"])
    assert got["simulation.seed"] == str(child)
    assert got["simulation.duration_s"] == str(base)
    assert got["ue_groups.1.count"] == str(child)        # "sensors" is item 1 of the merge
    assert got["ue_groups.1.traffic"] == str(base)
    assert got["network.rings"] == "--set"


def test_cli_config_dump_origins(tmp_path, capsys):
    _write(tmp_path, "base.toml", TINY_SWEEP_BASE)
    child = _write(tmp_path, "c.toml", 'base = "base.toml"\n[simulation]\nseed = 5\n')
    assert main(["config", "dump", str(child), "--origins"]) == 0
    out = capsys.readouterr().out
    assert any(line.startswith("simulation.seed") and line.endswith("c.toml")
               for line in out.splitlines())


# --------------------------------------------------------------------------------------------
# sweep --set


SWEEP = """
    base = "base.toml"
    [sweep]
    grid = { "slices.0.quota_pct" = [50, 60] }
    """


def test_sweep_set_applies_to_every_run_and_changes_run_ids(tmp_path, capsys):
    path = write_sweep(tmp_path, SWEEP)
    assert main(["sweep", str(path), "--out", str(tmp_path / "a"), "--dry-run"]) == 0
    plain = capsys.readouterr().out
    assert main(["sweep", str(path), "--out", str(tmp_path / "a"), "--dry-run",
                 "--set", "simulation.duration_s=0.1"]) == 0
    changed = capsys.readouterr().out
    ids = [set(line.split()[0] for line in out.splitlines()[:2]) for out in (plain, changed)]
    assert ids[0].isdisjoint(ids[1])                   # a different config ⇒ different runs
    from simran.campaigns.sweep import load_sweep
    from simran.cli.sweep import _with_overrides

    specs = _with_overrides(load_sweep(path), ["simulation.duration_s=0.1"]).plan()
    assert {s.scenario.simulation.duration_s for s in specs} == {0.1}


def test_sweep_set_of_a_swept_axis_is_refused(tmp_path, capsys):
    path = write_sweep(tmp_path, SWEEP)
    assert main(["sweep", str(path), "--out", str(tmp_path / "a"), "--dry-run",
                 "--set", "slices.0.quota_pct=70"]) == 2
    assert "swept by" in capsys.readouterr().err


def test_sweep_base_may_itself_inherit(tmp_path, capsys):
    _write(tmp_path, "root.toml", TINY_SWEEP_BASE)
    path = write_sweep(tmp_path, SWEEP, base='base = "root.toml"\n[simulation]\nseed = 11\n')
    from simran.campaigns.sweep import load_sweep

    specs = load_sweep(path).plan()
    assert len(specs) == 2 and all(s.scenario.simulation.seed == 11 for s in specs)
    assert json.loads(specs[0].scenario.to_json())["slices"][1]["name"] == "iot"


# --------------------------------------------------------------------------------------------
# part 2: one loader for any folder of results files


@pytest.fixture(scope="module")
def hand_made(tmp_path_factory):
    """Two runs in ``<name>/results.h5`` folders that differ in seed and UE count, a trace-like
    HDF5 file that is not a results file, and an incomplete results file."""
    import tomllib

    import h5py

    from simran.scenario import Scenario
    from simran.simulation import run_scenario

    root = tmp_path_factory.mktemp("runs")
    data = tomllib.loads(TINY_SWEEP_BASE)
    for name, seed, count in (("a", 1, 4), ("b", 2, 6)):
        d = {**data, "simulation": {**data["simulation"], "seed": seed}}
        d["ue_groups"] = [{**d["ue_groups"][0], "count": count}, d["ue_groups"][1]]
        run_scenario(Scenario.from_dict(d), root / name / "results.h5", quiet=True)
    with h5py.File(root / "traces.h5", "w") as f:
        f.attrs["format"] = "simran-trace-set"
    import shutil

    shutil.copy(root / "a" / "results.h5", root / "half.h5")
    with h5py.File(root / "half.h5", "r+") as f:
        f.attrs["complete"] = False
    return root


def test_load_runs_reads_a_folder_of_results_files(hand_made):
    from simran import load_results, load_runs

    df = load_runs(hand_made)
    assert list(df["run_id"]) == ["a", "b", "half"]
    assert list(df["status"]) == ["done", "done", "incomplete"]
    # only what differs between the finished runs becomes a parameter column
    assert df.attrs["axes"] == ["simulation.seed", "ue_groups.0.count"]
    assert list(df["ue_groups.0.count"][:2]) == [4, 6]
    assert list(df.columns[:4]) == ["run_id", "status", "replication", "seed"]
    # every summary metric, equal to the file's own summary
    summary = load_results(hand_made / "b").summary
    assert set(summary) <= set(df.attrs["metrics"])
    assert df.loc[1, "throughput_mbps_mean"] == summary["throughput_mbps_mean"]
    assert np.isnan(df.loc[2, "throughput_mbps_mean"])


def test_load_runs_metric_patterns_and_summarize(hand_made):
    from simran.campaigns.analysis import load_runs, summarize

    df = load_runs(hand_made, metrics=["throughput_*"])
    assert df.attrs["metrics"] and all(m.startswith("throughput_") for m in df.attrs["metrics"])
    table = summarize(df, ["throughput_mbps_mean"], by=[])
    assert table["n"][0] == 2                        # the incomplete run is not averaged


def test_load_runs_errors(tmp_path):
    from simran.campaigns.analysis import load_runs
    from simran.errors import SweepError

    with pytest.raises(SweepError, match="no such file"):
        load_runs(tmp_path / "nothing")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(SweepError, match="no simran results file"):
        load_runs(tmp_path)


def test_load_runs_on_a_campaign_folder_gives_every_metric(tmp_path):
    from simran.campaigns.analysis import load_runs
    from simran.campaigns.campaign import run_campaign
    from simran.campaigns.executors import SerialExecutor

    path = write_sweep(tmp_path, SWEEP + 'metrics = ["energy_kwh"]\n')
    run_campaign(path, tmp_path / "c", executor=SerialExecutor(), quiet=True)
    df = load_runs(tmp_path / "c")
    assert df.attrs["kind"] == "campaign" and len(df) == 2
    assert "throughput_mbps_mean" in df.attrs["metrics"]           # not only the selection
    assert df.attrs["sweep_metrics"] == ["energy_kwh"]
    assert all(Path(p).is_file() for p in df["path"])


# --------------------------------------------------------------------------------------------
# part 4: one overwrite rule for run / replay / sweep


def test_sweep_overwrite_rule(tmp_path, capsys):
    path = write_sweep(tmp_path, SWEEP)
    out = tmp_path / "c"
    # a non-empty folder that is not a campaign: refused, nothing written
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["sweep", str(path), "--out", str(out), "--workers", "0", "--quiet"]) == 2
    assert "is not a campaign folder" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    (out / "notes.txt").unlink()
    assert main(["sweep", str(path), "--out", str(out), "--workers", "0", "--quiet"]) == 0
    capsys.readouterr()
    # the same sweep again: a resume, nothing to run, no --force needed
    assert main(["sweep", str(path), "--out", str(out), "--workers", "0", "--quiet"]) == 0
    assert "nothing to run" in capsys.readouterr().err
    # another sweep definition (--set changes every run) into the same folder: refused …
    args = ["sweep", str(path), "--out", str(out), "--workers", "0", "--quiet",
            "--set", "simulation.duration_s=0.1"]
    assert main(args) == 2
    assert "2 run(s) of another sweep definition" in capsys.readouterr().err
    # … unless --force, which adds the runs and deletes nothing
    assert main([*args, "--force"]) == 0
    assert len(list((out / "runs").glob("*.h5"))) == 4


# --------------------------------------------------------------------------------------------
# part 6: the README's inheritance example is a valid scenario with the documented effect


def test_readme_inheritance_example(tmp_path):
    import re
    import shutil

    root = Path(__file__).resolve().parents[1]
    text = (root / "README.md").read_text()
    block = re.search(r"```toml\n(base = \"quickstart.toml\".+?)```", text, flags=re.S).group(1)
    shutil.copy(root / "scenarios" / "quickstart.toml", tmp_path / "quickstart.toml")
    child = _write(tmp_path, "umi.toml", block)
    scen = load_scenario(child)
    assert scen.name == "quickstart-umi" and scen.network.scenario == "UMi"
    assert [(g.name, g.count) for g in scen.ue_groups] == [("pedestrians", 21), ("cars", 28),
                                                          ("trucks", 5)]
    assert scen.ue_groups[1].mobility == "vehicle"            # inherited from the base item
    base = load_scenario(tmp_path / "quickstart.toml")
    assert scen.network.isd_m == base.network.isd_m and scen.events == base.events


def test_replay_base_may_inherit(tmp_path):
    """``simran replay --scenario child.toml`` follows the child's ``base =``."""
    from simran.traces.replay import DEFAULT_BASE, replay_scenario

    child = _write(tmp_path, "child.toml", f'base = "{DEFAULT_BASE}"\n[simulation]\nseed = 42\n')
    ts = Path(__file__).resolve().parents[1] / "datasets" / "ucc5g_driving.h5"
    from simran.traces.trace_set import load_trace_set

    first = load_trace_set(ts).ids[0]
    scen = replay_scenario(child, ts, [first], 5.0, [])
    assert scen.simulation.seed == 42 and scen.simulation.duration_s == 5.0
    assert scen.ue_groups[0].trace.ids == [first]
