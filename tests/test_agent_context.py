"""The agent context: exactly what an agent may use, nothing that reaches the kernel, read-only
observations with per-UE arrays that agree with the slice KPIs."""

from __future__ import annotations

import numpy as np
import pytest

import simran
from simran.control import ControlSurface, SetSliceQuota
from simran.hooks import Agent, AgentContext, register_agent

BASE = {
    "name": "ctx",
    "simulation": {"duration_s": 0.5, "seed": 3},
    "network": {"layout": "hex", "rings": 1, "sectors": 3},
    "slices": [{"name": "a", "quota_pct": 60, "policy": "pf"},
               {"name": "b", "quota_pct": 40, "policy": "rr"}],
    "ue_groups": [{"name": "u", "count": 30, "slice": "a"}, {"name": "v", "count": 12,
                                                             "slice": "b"}],
    "output": {"kpi_period_ms": 50, "ue_kpis": True},
}

PUBLIC = {
    "name", "kind", "loop", "params", "cfg", "rng", "tick_us", "tick_s", "duration_us",
    "n_cells", "n_slices", "n_ues", "n_prb", "slice_names", "cell_site", "cell_sector",
    "ue_slice", "cqi_to_mcs", "rate_per_prb_mbps", "now_us", "now_s", "slice_index", "timeout",
    "event", "process", "observe", "submit", "send", "round", "peers", "peer", "kpi_history",
    "kpi_period_us", "decisions", "action_history", "trace_cqi", "index", "scenario_source",
    "base_dir", "scenario",
}


@register_agent("test_ctx_watcher")
class Watcher(Agent):
    def __init__(self, ctx):
        super().__init__(ctx)
        self.obs = []

    def decide(self, obs):
        self.obs.append(obs)
        return None


def run(**over):
    data = {**BASE, "agents": [{"name": "w", "kind": "test_ctx_watcher", "period_ms": 100,
                                "latency": "fixed:0", "params": {"k": 1}}]}
    for k, v in over.items():
        data = simran.apply_overrides(data, {k: v})
    sim = simran.Simulation(simran.Scenario.from_dict(data))
    sim.run()
    return sim


def test_the_context_exposes_exactly_the_agent_api():
    ctx = run().agents[0].ctx
    public = {n for n in dir(ctx) if not n.startswith("_")}
    assert public == PUBLIC
    with pytest.raises(AttributeError):
        ctx.sim = 1                                     # slotted: no new attributes
    assert not hasattr(ctx, "__dict__")


def test_nothing_public_leads_to_the_kernel():
    sim = run()
    ctx = sim.agents[0].ctx
    kernel = (simran.Simulation, ControlSurface, type(sim.collector), type(sim.net))
    for n in PUBLIC:
        v = getattr(ctx, n)
        assert not isinstance(v, kernel), n
        if isinstance(v, np.ndarray):
            assert not v.flags.writeable, n
    with pytest.raises(TypeError):
        ctx.params["k"] = 2                             # params are read-only
    ctx.scenario.slices[0].quota_pct = 1.0              # a private copy: the run is untouched
    assert sim.scenario.slices[0].quota_pct == 60.0


def test_observation_arrays_are_read_only_and_per_ue_consistent():
    sim = run()
    obs = sim.agents[0].obs[-1]
    U, C, S = sim.U, sim.C, sim.S
    for name in ("ue_cell", "ue_slice", "ue_sinr_db", "ue_cqi", "ue_tick_mbps", "ue_kpi_mbps",
                 "quota_pct", "tick_cell_slice_mbps"):
        a = getattr(obs, name)
        with pytest.raises(ValueError):
            a[...] = 0
        if name.startswith("ue_"):
            assert a.shape == (U,), name
    # the per-UE throughput of the tick adds up to the slice throughput of each cell
    cs = np.zeros((C, S))
    np.add.at(cs, (obs.ue_cell, obs.ue_slice), obs.ue_tick_mbps)
    np.testing.assert_allclose(cs, obs.tick_cell_slice_mbps, rtol=1e-12)
    assert np.all((obs.ue_cqi >= 0) & (obs.ue_cqi <= 15))
    assert np.all(np.isfinite(obs.ue_sinr_db))
    # KPI-period throughput: the last completed per-UE record
    np.testing.assert_array_equal(obs.ue_kpi_mbps,
                                  sim.collector.ue["throughput_mbps"][obs.t_us // 50_000 - 1])


def test_ue_kpi_is_nan_without_per_ue_kpis():
    obs = run(**{"output.ue_kpis": False}).agents[0].obs[-1]
    assert np.all(np.isnan(obs.ue_kpi_mbps))


def test_submit_goes_through_the_guard_rails():
    data = {**BASE, "agents": [{"name": "w", "kind": "test_ctx_watcher", "period_ms": 100,
                                "latency": "fixed:0"}]}
    sim = simran.Simulation(simran.Scenario.from_dict(data))
    ctx = sim.agents[0].ctx
    ctx.submit(SetSliceQuota(slice="a", quota_pct=140.0))
    sim.run()
    assert sim.net.quota_pct[0, 0] <= 100.0              # clamped, never 140 %
    ev = [e for e in ctx.action_history() if e["detail"]["origin"] == "agent:w"]
    assert ev and ev[0]["detail"]["verdict"] == "clamped"


def test_decision_rows_are_copies():
    sim = run()
    ctx = sim.agents[0].ctx
    rows = ctx.decisions()
    assert rows and all(r["agent"] == "w" for r in rows)
    rows[0]["status"] = "forged"
    assert sim.decision_log.rows[0]["status"] != "forged"


def test_old_style_constructor_is_refused():
    sim = run(**{"simulation.duration_s": 0.01})
    with pytest.raises(TypeError, match="AgentContext"):
        Agent(sim)                   # the simulation object is not a context
    assert isinstance(sim.agents[0].ctx, AgentContext)


def test_link_tables_match_the_kernel():
    sim = run(**{"simulation.duration_s": 0.01})
    ctx = sim.agents[0].ctx
    np.testing.assert_allclose(ctx.rate_per_prb_mbps * ctx.tick_s * 1e6,
                               sim.cqi_bits_per_prb_tick, rtol=1e-12)
    assert ctx.n_prb == sim.n_prb and ctx.n_ues == sim.U and ctx.n_cells == sim.C
