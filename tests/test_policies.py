"""Tests of simran.mac.policies: the registry, the policy contract, and blind equal throughput.

Oracles (style §10):

* tier 1 — derived values: BET with β = 1 equalises one tick's throughputs (x_u ∝ 1/r_u); with
  β < 1 it lifts the lowest expected average first (worked numbers in the tests); over a long run
  with full buffers its averages meet at B / Σ 1/r_u (C.6 rates), while PF gives equal PRB shares
  and MR everything to the best CQI;
* tier 2 — every registered policy obeys the contract on random groups, and the vectorised BET
  equals the plain-Python reference (bisection on the water level, ``tests/reference``) on many
  random seeds.
"""

from __future__ import annotations

import numpy as np
import pytest
from reference.scheduler_ref import POLICIES as REF_POLICIES
from reference.scheduler_ref import ReferenceScheduler, bet_fill_ref

from simran.errors import ScenarioError, SimranError
from simran.mac import policies
from simran.mac.fill import level_fill
from simran.mac.policies import (
    PolicyError,
    SchedulingPolicy,
    available_policies,
    policy_class,
    register_policy,
)
from simran.mac.scheduler import SliceScheduler
from simran.scenario import Scenario, SliceConfig

N_PRB = 106          # 40 MHz at 30 kHz (TS 38.101-1 Table 5.3.2-1)
TICK_S = 0.005
# rate per PRB [Mbit/s] by CQI, table 1, 30 kHz, OH 0.14 (radio-reference C.6)
RATE_MBPS = np.array([0.0, 0.0440, 0.0677, 0.1089, 0.1738, 0.2534, 0.3398, 0.4267, 0.5531,
                      0.6953, 0.7890, 0.9600, 1.1276, 1.3071, 1.4781, 1.6051])


# ----------------------------------------------------------------------------- registry ------
def test_builtin_policies_are_registered():
    assert {"rr", "pf", "mr", "bet"} <= set(available_policies())
    assert list(available_policies()) == sorted(available_policies())
    for name in available_policies():
        cls = policy_class(name)
        assert issubclass(cls, SchedulingPolicy) and cls.name == name and cls.description


def test_every_registered_policy_has_a_reference_twin():
    # the random comparisons of test_scheduler.py run every policy of the reference; a new
    # policy is covered by adding its plain-Python twin to tests/reference/scheduler_ref.py
    assert set(available_policies()) <= set(REF_POLICIES)


def test_unknown_policy_names_the_registered_ones():
    with pytest.raises(PolicyError, match="unknown scheduling policy 'fifo'; available: bet, mr"):
        policy_class("fifo")
    with pytest.raises(SimranError, match="available:"):
        SliceScheduler(1, 1, N_PRB, ["fifo"], False, 0.05)


def test_register_rejects_non_policies_and_name_clashes(monkeypatch):
    monkeypatch.setattr(policies, "_REGISTRY", dict(policies._REGISTRY))
    with pytest.raises(TypeError):
        register_policy("_x")(object)
    with pytest.raises(ValueError, match="already registered"):
        @register_policy("rr")
        class _Other(SchedulingPolicy):
            pass


def test_a_new_policy_is_one_class(monkeypatch):
    # one class registered by name: accepted by the scenario schema and run by the scheduler
    monkeypatch.setattr(policies, "_REGISTRY", dict(policies._REGISTRY))

    @register_policy("_lowest_index")
    class LowestIndexFirst(SchedulingPolicy):
        description = "lowest UE index first"

        def allocate(self, group, n_groups, budget, rate_bps, need, avg_bps, beta):
            from simran.mac.fill import max_rate_fill
            return max_rate_fill(group, n_groups, budget, np.where(group >= 0, 1.0, 0.0), need)

    assert "_lowest_index" in available_policies()
    assert SliceConfig(name="s", policy="_lowest_index").policy == "_lowest_index"
    assert "_lowest_index" in SliceConfig.model_json_schema()["properties"]["policy"]["enum"]
    s = SliceScheduler(1, 2, N_PRB, ["_lowest_index", "rr"], False, 0.05)
    prb = s.allocate(np.zeros(4, int), np.array([0, 0, 1, 1]), np.ones(4, bool),
                     np.full(4, 8000.0), np.array([40_000.0, np.inf, np.inf, np.inf]),
                     np.array([[50.0, 50.0]]), np.array([True]), TICK_S)
    # slice 0 (53 PRB): UE0 needs 5, UE1 the other 48; slice 1 (53 PRB): round robin 26.5 each
    np.testing.assert_allclose(prb, [5.0, 48.0, 26.5, 26.5])


# ----------------------------------------------------------------------------- scenario ------
def test_scenario_accepts_registered_policies():
    for name in available_policies():
        scen = Scenario.from_dict({"slices": [{"name": "a", "policy": name}]})
        assert scen.slices[0].policy == name
        assert scen.to_dict()["slices"][0]["policy"] == name        # what `config dump` prints


def test_scenario_rejects_unknown_policy_with_the_list():
    with pytest.raises(ScenarioError) as exc:
        Scenario.from_dict({"slices": [{"name": "a"}, {"name": "b", "policy": "fifo"}]},
                           source="x.toml")
    msg = str(exc.value)
    assert "x.toml" in msg and "slices.1.policy" in msg
    assert "unknown policy 'fifo'; available: " + ", ".join(available_policies()) in msg
    with pytest.raises(ScenarioError, match="slices.0.policy"):
        Scenario.from_dict({"slices": [{"name": "a", "policy": 2}]})      # the old integer


def test_policy_schema_lists_the_registry():
    prop = SliceConfig.model_json_schema()["properties"]["policy"]
    assert prop["type"] == "string" and prop["default"] == "pf"
    assert prop["enum"] == list(available_policies())
    assert "bet = blind equal throughput" in prop["description"]


# ----------------------------------------------------------------------------- contract ------
def _random_groups(rng, n_groups):
    U = int(rng.integers(1, 40))
    group = rng.integers(-1, n_groups, size=U)
    rate = RATE_MBPS[rng.integers(0, 16, size=U)] * 1e6 * rng.uniform(0.5, 1.5, size=U)
    need = np.where(rng.uniform(size=U) < 0.5, float(N_PRB), rng.exponential(15, size=U))
    need = np.minimum(need, N_PRB)
    need[rng.uniform(size=U) < 0.1] = 0.0
    need[rate == 0] = 0.0                        # CQI 0: the scheduler gives such a UE no need
    budget = rng.integers(0, N_PRB + 1, size=n_groups).astype(float)
    avg = rng.choice([1e3, 1e5, 1e6, 2e7], size=U) * rng.uniform(0.5, 2, size=U)
    return group, budget, rate, need, avg


@pytest.mark.parametrize("name", available_policies())
def test_policy_contract_on_random_groups(name):
    rng = np.random.default_rng(11)
    pol = policy_class(name)()
    for _ in range(200):
        G = int(rng.integers(1, 6))
        group, budget, rate, need, avg = _random_groups(rng, G)
        beta = float(rng.uniform(0.01, 1.0))
        x = pol.allocate(group, G, budget, rate, need, avg, beta)
        assert x.shape == group.shape and np.all(np.isfinite(x))
        assert np.all(x >= -1e-12)
        assert np.all(x[group < 0] == 0)
        assert np.all(x <= need + 1e-9)
        ok = group >= 0
        per = np.bincount(group[ok], weights=x[ok], minlength=G)
        assert np.all(per <= budget + 1e-9)
        # work conserving: a group's budget is used up unless its needs are met
        usable = np.bincount(group[ok], weights=need[ok], minlength=G)
        np.testing.assert_allclose(per, np.minimum(budget, usable), rtol=1e-9, atol=1e-9)
        if pol.lone_ue_gets_min:                     # the scheduler's singleton fast path
            lone = ok & (np.bincount(group[ok], minlength=G)[np.maximum(group, 0)] == 1)
            np.testing.assert_allclose(x[lone], np.minimum(budget[group[lone]], need[lone]),
                                       rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------- BET oracles ---
def _one_cell(n, policy, bpp, demand, beta, quota=100.0):
    s = SliceScheduler(1, 1, N_PRB, [policy], False, beta)
    args = (np.zeros(n, int), np.zeros(n, int), np.ones(n, bool), np.asarray(bpp, float),
            np.asarray(demand, float), np.array([[quota]]), np.array([True]), TICK_S)
    return s, args


def test_bet_beta_one_equalises_the_tick_throughput():
    # β = 1: the expected average is this tick's throughput r_u·x_u. Two full-buffer UEs with
    # 2000 and 8000 bit per PRB per tick: 2000·x1 = 8000·x2, x1 + x2 = 106 → x1 = 106·0.8 = 84.8,
    # x2 = 21.2; both carry 169 600 bit in the tick.
    s, args = _one_cell(2, "bet", [2000.0, 8000.0], [np.inf] * 2, beta=1.0)
    prb = s.allocate(*args)
    np.testing.assert_allclose(prb, [84.8, 21.2], rtol=1e-12)
    np.testing.assert_allclose(prb * [2000.0, 8000.0], [169_600.0] * 2, rtol=1e-12)


def test_bet_serves_the_lowest_average_first():
    # β = 0.1, equal rates r = 5000 bit/PRB/tick = 1e6 bit/s per PRB, averages T = 1 and 5 Mbit/s.
    # Expected averages E1 = 0.9e6 + 1e5·x1, E2 = 4.5e6 + 1e5·x2. UE1 alone is lifted to 4.5e6
    # with 36 PRBs; the other 70 are split equally: x = (71, 35), E1 = E2 = 8.0 Mbit/s.
    s, args = _one_cell(2, "bet", [5000.0, 5000.0], [np.inf] * 2, beta=0.1)
    s.avg_bps = np.array([1e6, 5e6])
    np.testing.assert_allclose(s.allocate(*args), [71.0, 35.0], rtol=1e-12)
    np.testing.assert_allclose(s.avg_bps, [8e6, 8e6], rtol=1e-12)
    # 20 % quota: floor(21.2) = 21 PRBs, all to UE1 (it stays below UE2's 4.5e6 level)
    s, args = _one_cell(2, "bet", [5000.0, 5000.0], [np.inf] * 2, beta=0.1, quota=20.0)
    s.avg_bps = np.array([1e6, 5e6])
    np.testing.assert_allclose(s.allocate(*args), [21.0, 0.0], atol=1e-12)


def test_bet_demand_cap_returns_the_rest():
    # β = 1, equal rates 8000 bit/PRB/tick: equal throughputs = equal PRBs, 35.33 each; UE0 only
    # wants 40 000 bit = 5 PRBs, so the other two share 101 → 50.5 each.
    s, args = _one_cell(3, "bet", [8000.0] * 3, [40_000.0, np.inf, np.inf], beta=1.0)
    np.testing.assert_allclose(s.allocate(*args), [5.0, 50.5, 50.5], rtol=1e-12)


def test_bet_long_run_equal_throughput_where_pf_and_mr_are_not():
    # Four full-buffer UEs of CQI 2, 6, 10, 15 in one slice of one cell (C.6 rates r_u per PRB:
    # 0.0677, 0.3398, 0.7890, 1.6051 Mbit/s), channels fluctuating ±50 % per tick, 10 s.
    # BET: the averages meet at B / Σ 1/r_u (static value 106 / 19.604 = 5.41 Mbit/s each).
    # PF: equal PRB shares, throughputs ∝ r_u (23.7 : 1). MR: each tick all to the best rate, so
    # the CQI-2 and CQI-6 UEs (≤ 1.5 · 0.3398 < 0.5 · 1.6051 Mbit/s) never get a PRB.
    r_bps = RATE_MBPS[[2, 6, 10, 15]] * 1e6
    mean = {}
    for name in ("bet", "pf", "mr"):
        rng = np.random.default_rng(5)
        s, args = _one_cell(4, name, r_bps * TICK_S, [np.inf] * 4, beta=TICK_S / 0.1)
        served = np.zeros(4)
        for _ in range(2000):
            bpp = r_bps * TICK_S * rng.uniform(0.5, 1.5, size=4)
            prb = s.allocate(args[0], args[1], args[2], bpp, *args[4:])
            assert prb.sum() == pytest.approx(N_PRB)
            served += prb * bpp
        mean[name] = served / (2000 * TICK_S)                    # bit/s
    bet, pf, mr = mean["bet"], mean["pf"], mean["mr"]
    assert bet.max() / bet.min() < 1.01
    assert bet.mean() == pytest.approx(N_PRB / np.sum(1 / r_bps), rel=0.05)
    assert pf.max() / pf.min() > 15
    assert mr[0] == 0 and mr[1] == 0 and mr[3] > 10 * mr[2]
    # equal throughput costs cell throughput
    assert bet.sum() < pf.sum() < mr.sum()


# ----------------------------------------------------------------------------- BET reference -
def test_level_fill_matches_bisection_reference():
    rng = np.random.default_rng(3)
    for _ in range(400):
        group, budget, rate, need, avg = _random_groups(rng, 1)
        group = np.where(group >= 0, 0, -1)
        beta = float(rng.choice([1.0, rng.uniform(0.001, 1.0)]))
        got = level_fill(group, 1, budget, (1 - beta) * avg, beta * rate, need)
        ok = group >= 0
        want = np.zeros(group.size)
        want[ok] = bet_fill_ref(need[ok].tolist(), rate[ok].tolist(), avg[ok].tolist(), beta,
                                float(budget[0]))
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


def test_level_fill_groups_are_independent():
    # many groups in one call give what each group gives alone
    rng = np.random.default_rng(4)
    for _ in range(100):
        G = int(rng.integers(2, 8))
        group, budget, rate, need, avg = _random_groups(rng, G)
        base, gain = 0.95 * avg, 0.05 * rate
        together = level_fill(group, G, budget, base, gain, need)
        for g in range(G):
            alone = level_fill(np.where(group == g, 0, -1), 1, budget[g:g + 1], base, gain, need)
            np.testing.assert_allclose(together[group == g], alone[group == g], rtol=1e-12,
                                       atol=1e-12)


@pytest.mark.parametrize("seed", range(8))
def test_bet_scheduler_matches_reference(seed):
    # every slice BET or a mix with BET; several ticks so the averages drive the allocation
    rng = np.random.default_rng(100 + seed)
    for _ in range(40):
        C, S, U = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 40))
        pols = ["bet"] * S if rng.uniform() < 0.5 else [str(p) for p in
                                                         rng.choice(REF_POLICIES, size=S)]
        raw = rng.uniform(0, 1, (C, S))
        quota = raw / raw.sum(axis=1, keepdims=True) * rng.uniform(30, 100, (C, 1))
        serving, ue_slice = rng.integers(0, C, U), rng.integers(0, S, U)
        on = rng.uniform(size=C) < 0.9
        lending, beta = bool(rng.uniform() < 0.5), float(rng.uniform(0.01, 1.0))
        bpp = RATE_MBPS[rng.integers(0, 16, U)] * 1e6 * TICK_S
        demand = np.where(rng.uniform(size=U) < 0.6, np.inf, rng.exponential(20_000, U))
        s = SliceScheduler(C, S, N_PRB, pols, lending, beta)
        ref = ReferenceScheduler(C, S, N_PRB, pols, lending, beta)
        for _tick in range(6):
            active = rng.uniform(size=U) < 0.9
            got = s.allocate(serving, ue_slice, active, bpp, demand, quota, on, TICK_S)
            want = ref.allocate(serving.tolist(), ue_slice.tolist(), active.tolist(),
                                bpp.tolist(), demand.tolist(), quota.tolist(), on.tolist(),
                                TICK_S)
            np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-7)
            if s.uses_average:                # the averages are kept only for PF / BET slices
                np.testing.assert_allclose(s.avg_bps, ref.avg, rtol=1e-7, atol=1e-6)
            bpp = bpp * rng.uniform(0.5, 1.5, U)


def test_bet_runs_in_a_simulation():
    from pathlib import Path

    from simran.scenario import apply_overrides, read_toml
    from simran.simulation import Simulation

    repo = Path(__file__).resolve().parent.parent
    data = apply_overrides(read_toml(repo / "scenarios" / "quickstart.toml"),
                           {"agents": [], "simulation.duration_s": 0.5, "output.ue_kpis": False,
                            "slices.0.policy": "bet", "slices.1.policy": "bet"})
    sim = Simulation(Scenario.from_dict(data, base_dir=repo / "scenarios"))
    assert sim.scheduler.uses_average
    sim.run()
    assert sim.scheduler.avg_bps.max() > 1e3              # the averages moved
