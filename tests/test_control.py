"""Tests of simran.control: guard-rails (validation, clamping, recorded reasons) and timing.

Timing oracle (design §3 step 7, control.py docstring): an action ready at t_ready is applied at
the first scheduler tick boundary ≥ t_ready; with a 5 ms tick, t_ready = 7 ms → applied at 10 ms,
t_ready = 10 ms → applied at 10 ms. The KPI record of the tick [10, 15) ms (t_s = 0.015 with a
5 ms KPI period) is the first one that shows the new value.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from simran.control import ControlSurface, SetCellPower, SetCellState, SetIntent, SetSliceQuota
from simran.hooks import Agent, Decision, register_agent
from simran.scenario import Scenario
from simran.simulation import NetworkState, Simulation

SLICES = ["embb", "urllc", "mmtc"]


def _surface(n_cells=3, quotas=(50.0, 30.0, 20.0)):
    net = NetworkState(
        n_cells=n_cells, quota_pct=np.tile(np.asarray(quotas, float), (n_cells, 1)),
        tx_power_dbm=np.full(n_cells, 46.0), cell_state=np.zeros(n_cells, np.int8),
        intent_mbps=np.full(len(SLICES), np.nan), intent_tol_mbps=np.zeros(len(SLICES)))
    log = []
    cs = ControlSurface(net, SLICES, min_power_dbm=0.0, max_power_dbm=49.0,
                        on_applied=lambda *a: log.append(a))
    return cs, net, log


def _snapshot(net):
    return (net.quota_pct.copy(), net.tx_power_dbm.copy(), net.cell_state.copy(),
            net.intent_mbps.copy(), net.intent_tol_mbps.copy())


def _assert_unchanged(net, snap):
    for a, b in zip(_snapshot(net), snap):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------------------ quotas -------
def test_quota_accepted_when_it_fits():
    cs, net, _ = _surface(quotas=(40.0, 30.0, 20.0))
    v = cs.apply(SetSliceQuota("embb", 50.0, cell=1))      # 50 + 30 + 20 = 100 %: fits exactly
    assert v.status == "accepted" and v.reason == ""
    np.testing.assert_array_equal(net.quota_pct[:, 0], [40, 50, 40])


@pytest.mark.parametrize("value, expected, words", [
    (140.0, 100.0, "outside [0, 100]"),      # hallucinated 140 % → 100 % (then other slices)
    (-5.0, 0.0, "outside [0, 100]"),
])
def test_quota_clamped_to_0_100(value, expected, words):
    cs, net, _ = _surface(quotas=(0.0, 0.0, 0.0))
    v = cs.apply(SetSliceQuota("embb", value))
    assert v.status == "clamped"
    assert words in v.reason
    np.testing.assert_array_equal(net.quota_pct[:, 0], expected)
    assert v.applied["quota_pct"] == [expected] * 3


def test_quota_clamped_to_what_other_slices_leave():
    # others hold 30 + 20 = 50 % → embb may have at most 50 %; asking 80 % gives 50 %
    cs, net, _ = _surface(quotas=(10.0, 30.0, 20.0))
    v = cs.apply(SetSliceQuota("embb", 80.0, cell=2))
    assert v.status == "clamped"
    assert "other slices hold 50 %" in v.reason and "clamped to 50 %" in v.reason
    assert net.quota_pct[2, 0] == 50.0
    assert net.quota_pct[2].sum() == pytest.approx(100.0)
    # above 100 and over the remainder: both reasons are recorded
    v = cs.apply(SetSliceQuota("urllc", 500.0, cell=0))
    assert "outside [0, 100]" in v.reason and "other slices hold 30 %" in v.reason
    assert net.quota_pct[0, 1] == 70.0
    # whatever happened, no cell's quotas add up to more than 100 %
    assert np.all(net.quota_pct.sum(axis=1) <= 100.0 + 1e-9)


def test_quota_all_cells_with_different_room():
    cs, net, _ = _surface(quotas=(10.0, 30.0, 20.0))
    net.quota_pct[1] = [10.0, 60.0, 20.0]            # cell 1 has only 20 % left for embb
    v = cs.apply(SetSliceQuota("embb", 45.0))          # cell=None → every cell
    assert v.status == "clamped"
    np.testing.assert_array_equal(net.quota_pct[:, 0], [45.0, 20.0, 45.0])
    assert v.applied["quota_pct"] == [45.0, 20.0, 45.0]


@pytest.mark.parametrize("action, words", [
    (SetSliceQuota("video", 10.0), "unknown slice 'video'"),
    (SetSliceQuota("embb", 10.0, cell=3), "cell 3 does not exist"),
    (SetSliceQuota("embb", 10.0, cell=-1), "cell -1 does not exist"),
    (SetSliceQuota("embb", 10.0, cell="0"), "cell must be an integer"),
    (SetSliceQuota("embb", 10.0, cell=True), "cell must be an integer"),
    (SetSliceQuota("embb", 10.0, cell=1.0), "cell must be an integer"),
    (SetSliceQuota("embb", math.nan), "must be finite"),
    (SetSliceQuota("embb", math.inf), "must be finite"),
    (SetSliceQuota("embb", -math.inf), "must be finite"),
    (SetSliceQuota("embb", "lots"), "must be a number"),
    (SetSliceQuota("embb", None), "must be a number"),
    (SetSliceQuota("embb", [50]), "must be a number"),
    (SetCellPower(math.nan, cell=0), "must be finite"),
    (SetCellPower("max", cell=0), "must be a number"),
    (SetCellPower(40.0, cell=7), "cell 7 does not exist"),
    (SetCellState("hibernate", cell=0), "unknown cell state"),
    (SetCellState("off", cell=9), "cell 9 does not exist"),
    (SetIntent("embb", -1.0), "must be ≥ 0"),
    (SetIntent("embb", math.nan), "must be finite"),
    (SetIntent("nope", 10.0), "unknown slice"),
    ("set everything to 11", "unknown action"),
])
def test_bad_actions_rejected_and_state_unchanged(action, words):
    cs, net, _ = _surface()
    snap = _snapshot(net)
    assert cs.validate(action).status == "rejected"
    v = cs.apply(action)
    assert v.status == "rejected" and not v.ok
    assert words in v.reason
    _assert_unchanged(net, snap)


def test_validate_does_not_change_state():
    cs, net, _ = _surface(quotas=(10.0, 30.0, 20.0))
    snap = _snapshot(net)
    for a in (SetSliceQuota("embb", 90.0), SetCellPower(10.0), SetCellState("off"),
              SetIntent("embb", 5.0, 1.0)):
        assert cs.validate(a).ok
    _assert_unchanged(net, snap)


# ------------------------------------------------------------------------------ power --------
@pytest.mark.parametrize("value, expected, status", [
    (40.0, 40.0, "accepted"),
    (0.0, 0.0, "accepted"),
    (49.0, 49.0, "accepted"),
    (1e9, 49.0, "clamped"),       # an LLM's 1e9 dBm never reaches the radio
    (-30.0, 0.0, "clamped"),
])
def test_power_clamping(value, expected, status):
    cs, net, _ = _surface()
    v = cs.apply(SetCellPower(value, cell=1))
    assert v.status == status
    assert net.tx_power_dbm[1] == expected
    assert net.tx_power_dbm[0] == 46.0 and net.tx_power_dbm[2] == 46.0
    if status == "clamped":
        assert "outside [0, 49] dBm" in v.reason


def test_cell_state_and_intent_applied():
    cs, net, _ = _surface()
    assert cs.apply(SetCellState("off", cell=2)).status == "accepted"
    assert cs.apply(SetCellState("sleep", cell=0)).status == "accepted"
    np.testing.assert_array_equal(net.cell_state, [2, 0, 1])
    np.testing.assert_array_equal(net.cell_on, [False, True, False])
    assert cs.apply(SetIntent("urllc", 12.5, 0.5)).ok
    assert net.intent_mbps[1] == 12.5 and net.intent_tol_mbps[1] == 0.5


# ------------------------------------------------------------------------------ queueing -----
def test_apply_due_order_and_ready_times():
    cs, net, log = _surface(quotas=(10.0, 10.0, 10.0))
    cs.submit(SetSliceQuota("embb", 20.0), 7_000, origin="a")
    cs.submit(SetSliceQuota("embb", 30.0), 7_000, origin="b")     # same time: submission order
    cs.submit(SetSliceQuota("embb", 40.0), 12_000, origin="c")
    assert cs.apply_due(5_000) == 0
    assert net.quota_pct[0, 0] == 10.0
    assert cs.apply_due(10_000) == 2
    assert [e[3] for e in log] == ["a", "b"]
    assert all(e[0] == 10_000 for e in log)
    assert net.quota_pct[0, 0] == 30.0
    assert cs.apply_due(15_000) == 1 and net.quota_pct[0, 0] == 40.0


# ------------------------------------------------------------------- in a real simulation ----
def _scenario(**over):
    data = {
        "name": "ctl",
        "simulation": {"duration_s": 0.05, "tick_ms": 5.0, "seed": 3},
        "network": {"layout": "hex", "rings": 0, "isd_m": 200.0, "shadowing": False},
        "slices": [{"name": "embb", "quota_pct": 60.0, "policy": "rr"},
                   {"name": "urllc", "quota_pct": 40.0, "policy": "rr"}],
        "ue_groups": [{"name": "a", "count": 6, "slice": "embb", "min_distance_m": 20.0},
                      {"name": "b", "count": 6, "slice": "urllc", "min_distance_m": 20.0}],
        "output": {"kpi_period_ms": 5.0},
    }
    for k, v in over.items():
        data[k] = v
    return Scenario.from_dict(data)


def _kpi_quota(sim, cell, s):
    t_s, _, sl, _, _ = sim.collector.trimmed()
    return t_s, sl["quota_pct"][:, cell, s]


def test_actions_applied_at_first_tick_boundary_in_simulation():
    sim = Simulation(_scenario())
    sim.control.submit(SetSliceQuota("embb", 20.0, cell=0), 7_000, origin="test")   # → 10 ms
    sim.control.submit(SetSliceQuota("embb", 30.0, cell=1), 20_000, origin="test")  # → 20 ms
    sim.control.submit(SetSliceQuota("embb", 500.0, cell=2), 31_000, origin="test")  # → 35 ms
    sim.control.submit(SetSliceQuota("nope", 10.0, cell=2), 31_000, origin="test")   # rejected
    sim.run()
    acts = [e for e in sim.events_log if e["kind"] == "action"]
    assert [e["t_us"] for e in acts] == [10_000, 20_000, 35_000, 35_000]
    assert [e["detail"]["verdict"] for e in acts] == ["accepted", "accepted", "clamped",
                                                      "rejected"]
    assert "outside [0, 100]" in acts[2]["detail"]["reason"]
    assert "unknown slice" in acts[3]["detail"]["reason"]
    # KPI record t_s is the end of the 5 ms tick; the tick starting at 10 ms ends at 15 ms
    t_s, q0 = _kpi_quota(sim, 0, 0)
    np.testing.assert_allclose(t_s[:4], [0.005, 0.010, 0.015, 0.020])
    np.testing.assert_array_equal(q0, np.where(t_s >= 0.015 - 1e-9, 20.0, 60.0))
    _, q1 = _kpi_quota(sim, 1, 0)
    np.testing.assert_array_equal(q1, np.where(t_s >= 0.025 - 1e-9, 30.0, 60.0))
    _, q2 = _kpi_quota(sim, 2, 0)      # 500 % → clamped to 100 − 40 (urllc) = 60 %: unchanged
    np.testing.assert_array_equal(q2, 60.0)


def test_quota_change_moves_prbs_from_the_next_tick():
    # cell 0's embb slice: floor(60 % · 106) = 63 PRBs; at 20 % from t = 10 ms: floor(21.2) = 21
    sim = Simulation(_scenario())
    sim.control.submit(SetSliceQuota("embb", 20.0, cell=0), 7_000)
    served0 = np.flatnonzero((sim.serving == 0) & (sim.ue_slice == 0))
    assert served0.size > 0, "test geometry: cell 0 serves no embb UE"
    sim.run()
    t_s, _, sl, _, _ = sim.collector.trimmed()
    prb = sl["prb"][:, 0, 0]
    np.testing.assert_allclose(prb[t_s < 0.0125], 63.0, rtol=1e-6)
    np.testing.assert_allclose(prb[t_s > 0.0125], 21.0, rtol=1e-6)


def test_scripted_events_follow_the_same_timing():
    # event at 7 ms (between ticks) → 10 ms; event exactly on a boundary (20 ms) → 20 ms
    sc = _scenario(events=[
        {"at_s": 0.007, "action": "set_cell_power", "cell": 0, "value": 30.0},
        {"at_s": 0.020, "action": "set_cell_power", "cell": 1, "value": 1e6},
    ])
    sim = Simulation(sc)
    sim.run()
    acts = [e for e in sim.events_log if e["kind"] == "action"]
    assert [(e["t_us"], e["detail"]["origin"]) for e in acts] == [(10_000, "event"),
                                                                  (20_000, "event")]
    assert acts[1]["detail"]["verdict"] == "clamped"
    # guard-rail: max power is the configured power + 3 dB = 49 dBm
    assert acts[1]["detail"]["applied"]["power_dbm"] == 49.0
    t_s, cell, _, _, _ = sim.collector.trimmed()
    np.testing.assert_array_equal(cell["tx_power_dbm"][:, 0], np.where(t_s > 0.0125, 30, 46))
    np.testing.assert_array_equal(cell["tx_power_dbm"][:, 1], np.where(t_s > 0.0225, 49, 46))


@register_agent("_test_quota_setter")
class _QuotaSetter(Agent):
    """Sets embb's quota in cell 0 to 25 % at every observation."""

    def decide(self, obs):
        return Decision(actions=[SetSliceQuota("embb", 25.0, cell=0)])


def test_agent_action_lands_at_first_boundary_after_latency():
    # observes at 10 ms, fixed latency 7 ms → ready at 17 ms → applied at the 20 ms boundary
    sc = _scenario(agents=[{"name": "q", "kind": "_test_quota_setter", "loop": "near_rt",
                            "period_ms": 1000.0, "latency": "fixed:7"}])
    sim = Simulation(sc)
    sim.agents[0].first_observation_us = lambda: 10_000   # one decision in 50 ms, at 10 ms
    sim.run()
    rows = sim.decision_log.rows
    assert len(rows) == 1
    assert rows[0]["t_obs_s"] == pytest.approx(0.010)
    assert rows[0]["t_ready_s"] == pytest.approx(0.017)
    assert rows[0]["t_apply_s"] == pytest.approx(0.020)
    assert rows[0]["status"] == "applied" and rows[0]["guard_verdict"] == "accepted"
    t_s, q0 = _kpi_quota(sim, 0, 0)
    np.testing.assert_array_equal(q0, np.where(t_s > 0.0225, 25.0, 60.0))
