"""Tests of simran.scenario: every kind of bad input fails fast, naming file, field and reason.

Design §6/§10: a bad file fails with the file, the field path and the reason, nothing runs
half-configured, and the CLI exits non-zero without leaving a results file. ``--set`` overrides
are validated exactly like values in the file; ``config dump`` round-trips.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from simran.cli.main import main, to_toml
from simran.errors import ScenarioError
from simran.scenario import Scenario, apply_overrides, load_scenario, parse_override

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((REPO / "scenarios").glob("*.toml"))

GOOD = """
name = "t"
[simulation]
duration_s = 0.05
[network]
rings = 0
[[slices]]
name = "embb"
quota_pct = 60
[[slices]]
name = "iot"
quota_pct = 40
[[ue_groups]]
name = "u"
count = 2
slice = "embb"
"""


def _write(tmp_path: Path, text: str | bytes, name: str = "s.toml") -> Path:
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


# (case id, file text, field path expected in the message, words of the reason)
BAD = [
    ("unknown_field", GOOD.replace("duration_s = 0.05", "duration_s = 0.05\ndurration_s = 3"),
     "simulation.durration_s", "unknown field"),
    ("unknown_section", GOOD + "\n[radio]\nx = 1\n", "radio", "unknown field"),
    ("wrong_type_str_for_float", GOOD.replace("duration_s = 0.05", 'duration_s = "ten"'),
     "simulation.duration_s", "valid number"),
    ("wrong_type_fraction_for_int", GOOD.replace("rings = 0", "rings = 1.5"),
     "network.rings", "valid integer"),
    ("wrong_type_int_for_str", GOOD.replace('name = "t"', "name = 5"), "name", "valid string"),
    ("wrong_type_table_for_list", GOOD.replace("rings = 0", "rings = 0\nsites = 3"),
     "network.sites", "valid list"),
    ("negative_duration", GOOD.replace("duration_s = 0.05", "duration_s = -1"),
     "simulation.duration_s", "greater than 0"),
    ("zero_duration", GOOD.replace("duration_s = 0.05", "duration_s = 0"),
     "simulation.duration_s", "greater than 0"),
    ("quota_above_100", GOOD.replace("quota_pct = 60", "quota_pct = 140"),
     "slices.0.quota_pct", "less than or equal to 100"),
    ("quota_negative", GOOD.replace("quota_pct = 40", "quota_pct = -1"),
     "slices.1.quota_pct", "greater than or equal to 0"),
    ("quotas_sum_above_100", GOOD.replace("quota_pct = 40", "quota_pct = 50"),
     "slices", "add up to 110 % > 100 %"),
    ("no_cells_sites_layout", GOOD.replace("rings = 0", 'layout = "sites"'),
     "network.sites", "needs a non-empty `sites` list"),
    ("unsupported_bandwidth", GOOD.replace("rings = 0", "rings = 0\nbandwidth_mhz = 33"),
     "network.bandwidth_mhz", "33 MHz at 30 kHz"),
    ("bandwidth_not_for_scs", GOOD.replace("rings = 0", "rings = 0\nbandwidth_mhz = 100\n"
                                           "scs_khz = 15"),
     "network.bandwidth_mhz", "100 MHz at 15 kHz"),
    ("bad_literal", GOOD.replace("rings = 0", 'rings = 0\nscenario = "UMx"'),
     "network.scenario", "'UMa' or 'UMi'"),
    ("ue_group_unknown_slice", GOOD.replace('slice = "embb"', 'slice = "video"'),
     "ue_groups.0.slice", "'video' is not a slice"),
    ("duplicate_slice", GOOD.replace('name = "iot"', 'name = "embb"'),
     "slices", "unique"),
    ("missing_required", GOOD.replace('slice = "embb"\n', ""), "ue_groups.0.slice",
     "Field required"),
    ("event_needs_value", GOOD + '\n[[events]]\nat_s = 1\naction = "set_cell_power"\n',
     "events.0.value", "needs a value"),
    ("vehicle_without_speed", GOOD.replace("count = 2", 'count = 2\nmobility = "vehicle"'),
     "ue_groups.0", "speed_mps > 0"),
    ("tick_not_whole_us", GOOD.replace("duration_s = 0.05", "duration_s = 0.05\n"
                                       "tick_ms = 0.0005"),
     "simulation.tick_ms", "whole number of microseconds"),
]


@pytest.mark.parametrize("case, text, field, words", BAD, ids=[b[0] for b in BAD])
def test_bad_scenario_names_file_field_and_reason(tmp_path, case, text, field, words):
    p = _write(tmp_path, text)
    with pytest.raises(ScenarioError) as ei:
        load_scenario(p)
    msg = str(ei.value)
    assert str(p) in msg
    assert any(path == field for path, _ in ei.value.problems), ei.value.problems
    assert words in msg, msg


@pytest.mark.parametrize("case, text, field, words", BAD, ids=[b[0] for b in BAD])
def test_bad_scenario_via_cli_exits_nonzero_without_results(tmp_path, capsys, case, text,
                                                            field, words):
    p = _write(tmp_path, text)
    out = tmp_path / "out"
    assert main(["run", str(p), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("simran: error: ")
    assert str(p) in err and field in err and words in err
    assert not (out / "results.h5").exists()
    assert not list(tmp_path.rglob("*.h5*")), "a results (or temp) file was left behind"
    assert main(["validate", str(p)]) == 2


def test_all_problems_reported_at_once(tmp_path):
    text = GOOD.replace("duration_s = 0.05", "duration_s = -1\ncolour = 1").replace(
        "quota_pct = 60", "quota_pct = 140")
    with pytest.raises(ScenarioError) as ei:
        load_scenario(_write(tmp_path, text))
    paths = {p for p, _ in ei.value.problems}
    assert {"simulation.duration_s", "simulation.colour", "slices.0.quota_pct"} <= paths


def test_quoted_numbers_and_booleans_are_not_numbers(tmp_path):
    for bad in ('duration_s = "5"', "duration_s = true"):
        with pytest.raises(ScenarioError):
            load_scenario(_write(tmp_path, GOOD.replace("duration_s = 0.05", bad)))


# --------------------------------------------------------------------------- bad files -------
def test_missing_file(tmp_path):
    p = tmp_path / "nope.toml"
    with pytest.raises(ScenarioError, match="nope.toml.*\n.*file not found"):
        load_scenario(p)
    assert main(["run", str(p), "--out", str(tmp_path / "o")]) == 2
    assert not (tmp_path / "o").exists()


def test_unreadable_file(tmp_path):
    d = tmp_path / "dir.toml"
    d.mkdir()                                    # a directory cannot be read as a file
    with pytest.raises(ScenarioError, match="dir.toml.*\n.*cannot read file"):
        load_scenario(d)
    if os.geteuid() != 0:                        # root reads mode-000 files anyway
        p = _write(tmp_path, GOOD)
        p.chmod(0)
        try:
            with pytest.raises(ScenarioError, match="cannot read file"):
                load_scenario(p)
        finally:
            p.chmod(0o644)


def test_non_utf8_file(tmp_path):
    p = _write(tmp_path, b'name = "caf\xe9"\n')    # Latin-1 é
    with pytest.raises(ScenarioError, match=r"s\.toml.*\n.*not a UTF-8 text file"):
        load_scenario(p)


def test_toml_syntax_error_names_line(tmp_path):
    p = _write(tmp_path, "[simulation]\nduration_s = \n")
    with pytest.raises(ScenarioError) as ei:
        load_scenario(p)
    assert str(p) in str(ei.value)
    assert "TOML syntax error" in str(ei.value) and "line 2" in str(ei.value)


# --------------------------------------------------------------------------- overrides -------
def test_set_overrides_nested_and_list_index(tmp_path):
    p = _write(tmp_path, GOOD)
    sc = load_scenario(p, ["simulation.seed=7", "slices.1.quota_pct=25.5",
                           "network.antenna.downtilt_deg=9", "ue_groups.0.mobility=static",
                           'name="over ridden"', "network.handover.enabled=false"])
    assert sc.simulation.seed == 7
    assert sc.slices[1].quota_pct == 25.5
    assert sc.network.antenna.downtilt_deg == 9.0
    assert sc.name == "over ridden"
    assert sc.network.handover.enabled is False
    # a missing intermediate table is created; a bare word is a string
    sc = load_scenario(p, ["output.ue_kpi_period_ms=500", "network.scenario=UMi"])
    assert sc.output.ue_kpi_period_ms == 500.0 and sc.network.scenario == "UMi"
    # overrides do not mutate the document they were applied to
    doc = {"slices": [{"name": "a"}]}
    apply_overrides(doc, ["slices.0.quota_pct=5"])
    assert doc == {"slices": [{"name": "a"}]}


@pytest.mark.parametrize("override, field, words", [
    ("slices.5.quota_pct=3", "slices.5.quota_pct", "no list element '5' (list has 2)"),
    ("slices.x.quota_pct=3", "slices.x.quota_pct", "no list element 'x'"),
    ("simulation.duration_s.x=3", "simulation.duration_s.x", "is a value, not a table"),
    ("simulation.duration_s=-3", "simulation.duration_s", "greater than 0"),
    ("simulation.speed=3", "simulation.speed", "unknown field"),
    ("slices.0.quota_pct=101", "slices.0.quota_pct", "less than or equal to 100"),
    ("simulation.duration_s", "simulation.duration_s", "expected path.to.field=value"),
])
def test_set_override_errors(tmp_path, capsys, override, field, words):
    p = _write(tmp_path, GOOD)
    with pytest.raises(ScenarioError) as ei:
        load_scenario(p, [override])
    assert any(path == field for path, _ in ei.value.problems), ei.value.problems
    assert words in str(ei.value)
    out = tmp_path / "out"
    assert main(["run", str(p), "--set", override, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert field in err and words in err
    assert not (out / "results.h5").exists()


def test_parse_override_values():
    assert parse_override("a.b=3") == ("a.b", 3)
    assert parse_override("a=3.5") == ("a", 3.5)
    assert parse_override("a=true") == ("a", True)
    assert parse_override("a=[1, 2]") == ("a", [1, 2])
    assert parse_override("a=hello world") == ("a", "hello world")
    assert parse_override(' a = "x=y" ') == ("a", "x=y")


# --------------------------------------------------------------------------- config dump -----
RICH = GOOD + """
[[ue_groups]]
name = "cars"
count = 3
slice = "iot"
mobility = "vehicle"
speed_mps = 12.5
route = [[0.0, 0.0], [100.0, 50.0], [200.0, -10.0]]
traffic = "cbr"
cbr_mbps = 0.25

[[events]]
at_s = 0.5
action = "set_slice_quota"
slice = "embb"
value = 30

[[events]]
at_s = 0.7
action = "cell_off"
cell = 1

[[agents]]
name = "pc"
kind = "pcontrol"
loop = "rt"
period_ms = 5
latency = "fixed:0.1"
params = { kp = 0.5, targets = { embb = 20.0, iot = 1.5 }, names = ["a", "b"], note = "é \\"q\\"" }
"""


@pytest.mark.parametrize("source", ["rich"] + [p.name for p in SCENARIOS])
def test_config_dump_round_trips(tmp_path, capsys, source):
    p = _write(tmp_path, RICH) if source == "rich" else REPO / "scenarios" / source
    want = load_scenario(p).to_dict()
    dumped = tmp_path / "dump.toml"
    assert main(["config", "dump", str(p), "--out", str(dumped)]) == 0
    assert load_scenario(dumped).to_dict() == want
    # to stdout too, and JSON
    assert main(["config", "dump", str(p)]) == 0
    text = capsys.readouterr().out
    assert Scenario.from_dict(__import__("tomllib").loads(text)).to_dict() == want
    assert main(["config", "dump", str(p), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == want


def test_dump_is_fully_resolved(tmp_path):
    # defaults the file does not mention are written out (ns-3 ConfigStore "Save")
    text = to_toml(load_scenario(_write(tmp_path, GOOD)).to_dict())
    assert "tick_ms = 5.0" in text and "noise_figure_db = 9.0" in text
    assert "[network.antenna]" in text and "[network.handover]" in text


def test_timing_consistency_and_notes():
    """Periods that do not divide the tick are errors; shorter KPI periods round up with a
    note; the cell count estimate matches the layouts (docs/errors.md)."""
    ok = {"simulation": {"tick_ms": 5.0, "duration_s": 1.0}, "output": {"kpi_period_ms": 2.0},
          "events": [{"at_s": 0.0123, "action": "cell_off", "cell": 2}]}
    s = Scenario.from_dict(ok)
    notes = s.notes()
    assert any("recorded once per tick" in n for n in notes)
    assert any("applied at the next tick boundary, 0.015 s" in n for n in notes)
    assert s.n_cells_estimate() == 21
    for field, value, msg in [("output.kpi_period_ms", 12.0, "not a multiple of the 5 ms tick"),
                              ("simulation.duration_s", 1.0025, "not a whole number of 5 ms"),
                              ("simulation.duration_s", 0.001, "shorter than one 5 ms tick"),
                              ("simulation.duration_s", float("inf"), "finite")]:
        bad = apply_overrides(ok, {field: value})
        with pytest.raises(ScenarioError, match=msg) as ei:
            Scenario.from_dict(bad, source="f.toml")
        assert field in str(ei.value) and "f.toml" in str(ei.value)
    bad = apply_overrides(ok, {"events.0.cell": 21})
    with pytest.raises(ScenarioError, match=r"events\.0\.cell: cell 21 does not exist .*0…20"):
        Scenario.from_dict(bad)


@pytest.mark.parametrize("spec, ok", [
    ("auto", True), ("embedded", True), ("scripted", True), ("ollama:llama3.2:3b", True),
    ("openai:gpt-4o-mini", True), ("replay:runs/a/results.h5", True), ("nosuch", False),
    ("ollama:", False), ("openai: ", False), ("replay:", False), ("Ollama:x", False)])
def test_backend_spec_forms(spec, ok):
    data = {"agents": [{"name": "a", "kind": "k", "backend": spec}]}
    if ok:
        assert Scenario.from_dict(data).agents[0].backend == spec
    else:
        with pytest.raises(ScenarioError, match=r"agents\.0\.backend"):
            Scenario.from_dict(data)
