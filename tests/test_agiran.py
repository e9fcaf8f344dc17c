"""The AGI-RAN demo (issue 12): trace, static twin, votes, renegotiation, regulatory cap."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import agents.agiran.smo  # noqa: F401 - registers "agiran_smo"
import agents.negotiation.mediator  # noqa: F401 - registers "mediator", "tenant"
from agents.agiran.compare import static_twin
from agents.agiran.make_trace import vehicle_trace
from agents.negotiation.votes import tally
from simran.scenario import Scenario, read_toml
from simran.simulation import Simulation
from simran.traces.trace_set import load_trace_set

ROOT = Path(__file__).resolve().parent.parent
VEHICLE = ROOT / "scenarios" / "agi_ran_vehicle.toml"


def test_shipped_trace_is_the_script_output_with_the_hole_of_fig16a():
    shipped = list(load_trace_set(ROOT / "datasets" / "agi_ran_vehicle.h5"))[0]
    made = vehicle_trace()
    assert np.array_equal(shipped.cqi, made.cqi) and np.array_equal(shipped.t_s, made.t_s)
    c, t = shipped.cqi, shipped.t_s
    assert c[(t > 210) & (t < 390)].mean() < 6 and c[(t < 190) | (t > 410)].mean() > 11
    assert t[-1] >= read_toml(VEHICLE)["simulation"]["duration_s"]   # never runs out


def test_static_twin_file_is_what_compare_derives():
    twin, sla, _ = static_twin(read_toml(VEHICLE))
    shipped = read_toml(ROOT / "scenarios" / "agi_ran_vehicle_static.toml")
    assert sla == pytest.approx(160 / 3)
    for key in ("simulation", "network", "slices", "ue_groups", "agents", "events", "output"):
        assert twin[key] == shipped[key], key


def test_unanimity_rule():
    assert tally(["a", "b"], {"a": "off", "b": "off"})
    assert not tally(["a", "b"], {"a": "off", "b": "on"})
    assert not tally(["a", "b"], {"a": "off"})          # no vote counts as "on"
    assert not tally([], {})


def _demo(duration_s=60.0, tenants=None, smo=None, bandwidth=40, offset_s=0.0, lat="fixed:500"):
    data = read_toml(VEHICLE)
    data["simulation"]["duration_s"] = duration_s
    data["network"]["bandwidth_mhz"] = bandwidth
    data["ue_groups"][0]["trace"]["offset_s"] = offset_s
    for a in data["agents"]:
        if a["kind"] in ("mediator", "tenant"):
            a["latency"] = lat
        if a["kind"] == "tenant" and tenants:
            a["params"].update(tenants.get(a["name"], {}))
        if a["kind"] == "agiran_smo" and smo:
            a["params"].update(smo)
    sc = Scenario.from_dict(data, source=str(VEHICLE), base_dir=VEHICLE.parent)
    sim = Simulation(sc)
    sim.run()
    return sim, {a.name: a for a in sim.agents}


def test_a_tenant_voting_off_alone_is_a_bid_not_a_decision():
    sim, ag = _demo(tenants={"t3": {"min_efficiency": 1.0}})      # t3 always wants off
    votes = ag["mno"].votes_held
    assert votes and not any(v.passed for v in votes)
    assert votes[0].votes == {"t1": "on", "t2": "on", "t3": "off"}
    assert int(np.max(sim.net.cell_state)) == 0                   # the cell stayed on


def test_unanimous_vote_switches_the_cell_off_through_the_control_surface():
    every = {"min_efficiency": 1.0}
    sim, ag = _demo(tenants={"t1": every, "t2": every, "t3": every},
                    smo={"probe_period_s": 1000.0})
    assert [v.passed for v in ag["mno"].votes_held] == [True]
    assert int(sim.net.cell_state[0]) == 1
    rows = [r for r in sim.decision_log.rows if r["agent"] == "mno" and r["n_actions"] == 3]
    assert rows and rows[0]["status"] == "applied"


def test_violation_during_a_negotiation_is_merged_never_overlapped():
    # start inside the hole: the opening SLA (~53) is violated while slow games run
    sim, ag = _demo(duration_s=90.0, offset_s=205.0, lat="fixed:8000",
                    smo={"hold_s": 2.0, "retry_s": 5.0})
    games = ag["mno"].games
    assert len(games) >= 2 and ag["smo"].violations
    assert any(g.merged for g in games)
    for g0, g1 in zip(games, games[1:]):
        assert g0.game_end_s is not None and g0.game_end_s <= g1.t_start_s


def test_an_sla_the_cell_cannot_carry_is_capped_at_its_peak():
    # 10 MHz at 30 kHz: 24 PRB, peak ≈ 38 Mbit/s; every tenant wants 100
    want = {"intent_mbps": 100}
    sim, ag = _demo(duration_s=60.0, bandwidth=10, tenants={"t1": want, "t2": want, "t3": want})
    med = ag["mno"]
    g = med.game
    assert g.consensus_mbps is not None and g.consensus_mbps <= med.peak_mbps + 1e-9
    assert med.peak_mbps < 50


@pytest.mark.slow
def test_compare_vehicle_saves_prbs_and_keeps_the_sla(tmp_path):
    from agents.agiran.compare import compare

    r = compare(VEHICLE, tmp_path)
    a, s, sv = r["agentic"], r["static"], r["saving"]
    assert 0 < sv["agiran.prb_saved_pct"] < 100
    assert a["agiran.negotiations"] >= 3 and a["agiran.votes_passed"] >= 1
    assert a["agiran.off_time_s"] > 0 and s["agiran.off_time_s"] == 0
    assert a["agiran.sla_satisfied_pct"] > s["agiran.sla_satisfied_pct"]


def test_a_trace_that_ends_before_the_scenario_is_an_error_naming_file_and_trace():
    from simran.errors import ScenarioError

    data = read_toml(VEHICLE)
    data["simulation"]["duration_s"] = 600.0          # the trace has 520 s
    sc = Scenario.from_dict(data, source=str(VEHICLE), base_dir=VEHICLE.parent)
    with pytest.raises(ScenarioError) as exc:
        Simulation(sc)
    text = str(exc.value)
    assert "agi_ran_vehicle.h5" in text and "fig16_hole" in text and "ue_groups.0.trace" in text


def _built(**tenant_params):
    data = read_toml(VEHICLE)
    for a in data["agents"]:
        if a["name"] == "t1":
            a["params"].update(tenant_params)
    sc = Scenario.from_dict(data, source=str(VEHICLE), base_dir=VEHICLE.parent)
    sim = Simulation(sc)
    return sim, {a.name: a for a in sim.agents}


def test_violation_is_declared_only_after_the_hold_time_and_a_good_sample_resets_it():
    from types import SimpleNamespace

    _, ag = _built()
    smo = ag["smo"]                       # hold 5 s at a 0.5 s period: 10 samples

    def obs(t, y, q=100.0):
        return SimpleNamespace(t_s=t, kpi_cell_slice_mbps=np.array([[y]]),
                               quota_pct=np.array([[q]]))
    seq = [smo._watch(obs(0.5 * k, 30.0), 50.0, 5.0) for k in range(9)]
    assert all(d is None for d in seq)
    assert smo._watch(obs(5.0, 46.0), 50.0, 5.0) is None          # inside the band: reset
    seq = [smo._watch(obs(5.5 + 0.5 * k, 30.0), 50.0, 5.0) for k in range(10)]
    assert all(d is None for d in seq[:9]) and seq[9] is not None
    assert seq[9].messages[0][1]["request"] == "renegotiate"
    assert smo._watch(obs(11.0, 30.0, q=80.0), 50.0, 5.0) is None  # not saturated: no sample
    assert len(smo.violations) == 1


def test_intent_schedule_and_bad_tenant_params():
    from simran.errors import ScenarioError

    _, ag = _built(intent_schedule=[[0.0, 70.0], [300.0, 20.0]])
    assert ag["t1"].scheduled_intent() == 70.0 and ag["t1"].intent_mbps == 100.0
    with pytest.raises(ScenarioError, match="intent_schedule"):
        _built(intent_schedule=[[0.0, 170.0]])
    with pytest.raises(ScenarioError, match="capacity_share"):
        _built(capacity_share=0.0)


def test_compare_tiny_gives_savings_a_message_trace_and_fig16(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from agents.agiran import figures
    from agents.agiran.compare import compare, report
    from simran.output.results import load_results

    r = compare(VEHICLE, tmp_path, ["simulation.duration_s=60", "simulation.tick_ms=50",
                                    "agents.0.period_ms=50"])
    assert (tmp_path / "comparison.json").exists()
    assert any("PRB saved" in line for line in report(r))
    a = load_results(tmp_path / "agentic" / "results.h5")
    lines = figures.message_trace(a)
    assert lines[0].split()[3:5] == ["Human", "t1"]
    assert any("consensus" in x and "SetIntent" in x for x in lines)
    assert any("System" in x for x in lines)
    fig = figures.plot(a, load_results(tmp_path / "static" / "results.h5"))
    assert len(fig.axes) == 4


@pytest.mark.slow
def test_compare_real_drive_has_a_dip_and_saves(tmp_path):
    from agents.agiran.compare import compare

    path = ROOT / "scenarios" / "agi_ran_ucc5g.toml"
    r = compare(path, tmp_path)
    a = r["agentic"]
    assert a["agiran.violations"] >= 1 and a["agiran.negotiations"] >= 2   # the dip was seen
    assert 0 < r["saving"]["agiran.prb_saved_pct"] < 100
