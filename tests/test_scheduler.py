"""Tests of simran.mac.scheduler: conservation properties, policy oracles and a reference twin.

Oracles (style §10):

* tier 1 — derived values: round robin on one (cell, slice) gives N_PRB/n each; a CBR UE whose
  demand is below its fair share gets exactly demand / bits_per_prb PRBs and the rest goes to the
  others (water-filling); max-rate gives the whole budget to the best UE; PF on static equal
  channels converges to equal shares.
* tier 2 — properties over random inputs (seeded numpy loops; hypothesis is not in the venv) and
  an independent plain-Python reference scheduler (``tests/reference/scheduler_ref.py``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from reference.scheduler_ref import (
    POLICIES,
    ReferenceScheduler,
    max_rate_fill_ref,
    water_level_fill,
)

from simran.mac.fill import max_rate_fill, water_fill
from simran.mac.scheduler import SliceScheduler, slice_budgets

N_PRB = 106          # 40 MHz at 30 kHz (TS 38.101-1 Table 5.3.2-1)
TICK_S = 0.005
# CQI 15, table 1 → MCS 28 (SE 5.5547), 30 kHz, OH 0.14: 1.6051 Mbit/s per PRB (C.6);
# bits per PRB per 5 ms tick = 1.6051e6 · 0.005 ≈ 8025
BPP_CQI15 = 1.6051e6 * TICK_S


def _random_case(rng: np.random.Generator, lending: bool | None = None,
                 policies: tuple[str, ...] = POLICIES):
    """A random tick: cells, slices, policies, quotas (Σ ≤ 100 %), UEs with random state."""
    C = int(rng.integers(1, 5))
    S = int(rng.integers(1, 4))
    U = int(rng.integers(0, 40))
    policies = [str(p) for p in rng.choice(list(policies), size=S)]
    raw = rng.uniform(0, 1, size=(C, S))
    total = rng.uniform(0.3, 1.0, size=(C, 1)) * 100.0
    quota = raw / raw.sum(axis=1, keepdims=True) * total             # rows sum to ≤ 100 %
    if rng.uniform() < 0.3:                                          # exact quotas like 50/30/20
        quota = np.round(quota)
        quota = np.minimum(quota, 100 - (quota.sum(axis=1, keepdims=True) - quota))
    cell_on = rng.uniform(size=C) < 0.85
    serving = rng.integers(0, C, size=U)
    ue_slice = rng.integers(0, S, size=U)
    active = rng.uniform(size=U) < 0.9
    cqi_rate = np.array([0.0, 0.0440, 0.0677, 0.1089, 0.1738, 0.2534, 0.3398, 0.4267, 0.5531,
                         0.6953, 0.7890, 0.9600, 1.1276, 1.3071, 1.4781, 1.6051]) * 1e6
    bpp = cqi_rate[rng.integers(0, 16, size=U)] * TICK_S
    fb = rng.uniform(size=U) < 0.5
    demand = np.where(fb, np.inf, rng.exponential(20_000, size=U))
    demand[rng.uniform(size=U) < 0.05] = 0.0                         # empty buffers
    lend = bool(rng.uniform() < 0.5) if lending is None else lending
    beta = float(rng.uniform(0.01, 1.0))
    return dict(C=C, S=S, U=U, policies=policies, quota=quota, cell_on=cell_on, serving=serving,
                ue_slice=ue_slice, active=active, bpp=bpp, demand=demand, lending=lend, beta=beta)


def _sched(case):
    return SliceScheduler(case["C"], case["S"], N_PRB, case["policies"], case["lending"],
                          case["beta"])


def _alloc(s, case):
    return s.allocate(case["serving"], case["ue_slice"], case["active"], case["bpp"],
                      case["demand"], case["quota"], case["cell_on"], TICK_S)


def _per(index, n, values):
    return np.bincount(index, weights=values, minlength=n)


# ------------------------------------------------------------------ conservation properties --
@pytest.mark.parametrize("seed", range(4))
def test_conservation_properties_random(seed):
    rng = np.random.default_rng(1000 + seed)
    for _ in range(100):
        case = _random_case(rng)
        s = _sched(case)
        C, S = case["C"], case["S"]
        for _tick in range(3):       # a few ticks, so the PF averages move
            prb = _alloc(s, case)
            assert prb.shape == (case["U"],)
            assert np.all(prb >= 0)
            # a cell never grants more than N_PRB (design §5, "conservation")
            per_cell = _per(case["serving"], C, prb)
            assert np.all(per_cell <= N_PRB + 1e-6), per_cell
            # off cells, inactive UEs and CQI-0 UEs get nothing
            assert np.all(per_cell[~case["cell_on"]] == 0)
            assert np.all(prb[~case["active"]] == 0)
            assert np.all(prb[case["bpp"] == 0] == 0)
            # nobody gets more than it can use: prb · bits_per_prb ≤ demand (+ rounding)
            fin = np.isfinite(case["demand"]) & (case["bpp"] > 0)
            assert np.all(prb[fin] * case["bpp"][fin] <= case["demand"][fin] * (1 + 1e-9) + 1e-6)
            if not case["lending"]:
                # hard cap: per (cell, slice) ≤ floor(quota · N_PRB / 100)
                cs = case["serving"] * S + case["ue_slice"]
                per_cs = _per(cs, C * S, prb).reshape(C, S)
                cap = np.floor(case["quota"] * N_PRB / 100 + 1e-9)
                assert np.all(per_cs <= cap + 1e-6), (per_cs, cap)


def test_slice_budgets_floor_and_off_cells():
    # floor(50 % · 106) = 53, floor(30 % · 106) = floor(31.8) = 31, floor(20 % · 106) = 21
    q = np.array([[50.0, 30.0, 20.0], [50.0, 30.0, 20.0]])
    b = slice_budgets(q, N_PRB, np.array([True, False]))
    np.testing.assert_array_equal(b, [[53, 31, 21], [0, 0, 0]])
    assert b[0].sum() <= N_PRB
    # quotas that are a multiple of 1/N_PRB in floating point must not lose a PRB:
    # 100 % → 106, and 1/106·100 % → exactly 1 PRB
    np.testing.assert_array_equal(slice_budgets(np.array([[100.0]]), N_PRB, np.array([True])),
                                  [[106]])
    np.testing.assert_array_equal(
        slice_budgets(np.array([[100.0 / 106]]), N_PRB, np.array([True])), [[1]])


def test_lending_uses_unused_quota_but_never_exceeds_cell():
    # one cell, slices A (30 %) with 2 full-buffer UEs and B (50 %) with no UE; 20 % unassigned.
    # Without lending A gets floor(0.3·106) = 31 PRBs; with lending the cell's 106 PRBs all go to A.
    serving = np.zeros(2, int)
    ue_slice = np.zeros(2, int)
    q = np.array([[30.0, 50.0]])
    args = (serving, ue_slice, np.ones(2, bool), np.full(2, BPP_CQI15), np.full(2, np.inf), q,
            np.array([True]), TICK_S)
    hard = SliceScheduler(1, 2, N_PRB, ["rr", "rr"], False, 0.05).allocate(*args)
    np.testing.assert_allclose(hard, [15.5, 15.5])
    lend = SliceScheduler(1, 2, N_PRB, ["rr", "rr"], True, 0.05).allocate(*args)
    np.testing.assert_allclose(lend, [53.0, 53.0])


# ------------------------------------------------------------------------------ policies -----
def _one_cell(n, policy, bpp, demand, beta=0.05, quota=100.0):
    s = SliceScheduler(1, 1, N_PRB, [policy], False, beta)
    args = (np.zeros(n, int), np.zeros(n, int), np.ones(n, bool), np.asarray(bpp, float),
            np.asarray(demand, float), np.array([[quota]]), np.array([True]), TICK_S)
    return s, args


def test_round_robin_equal_shares():
    # 4 full-buffer UEs with different CQIs, RR: N_PRB / 4 = 26.5 PRBs each, whatever the rate
    s, args = _one_cell(4, "rr", [BPP_CQI15, 4000, 1000, 50], [np.inf] * 4)
    np.testing.assert_allclose(s.allocate(*args), [26.5] * 4)
    # 60 % quota: floor(0.6·106) = 63 PRBs → 15.75 each
    s, args = _one_cell(4, "rr", [BPP_CQI15] * 4, [np.inf] * 4, quota=60.0)
    np.testing.assert_allclose(s.allocate(*args), [15.75] * 4)


def test_cbr_demand_cap_and_water_filling():
    # 3 UEs, RR, 106 PRBs, bits/PRB = 8000. UE0 wants 40 000 bit → 5 PRBs; UE1 wants 400 000 bit
    # → 50 PRBs; UE2 full buffer. Water-filling: equal share 35.33 > 5, so UE0 gets 5 and the
    # other two share 101 → 50.5 each; UE1 needs 50 → 50; UE2 gets the rest, 106 − 55 = 51.
    s, args = _one_cell(3, "rr", [8000.0] * 3, [40_000.0, 400_000.0, np.inf])
    np.testing.assert_allclose(s.allocate(*args), [5.0, 50.0, 51.0])
    # all demands met → PRBs left unused (no padding), exactly demand / bpp each
    s, args = _one_cell(2, "rr", [8000.0] * 2, [8000.0, 16000.0])
    np.testing.assert_allclose(s.allocate(*args), [1.0, 2.0])


def test_water_filling_many_distinct_needs_is_work_conserving():
    # 12 CBR UEs with geometric needs 2^k/64 PRB (k = 0…11: 0.016 … 32 PRB; Σ = 63.98 PRB) plus
    # one full-buffer UE. Every CBR UE is below the water level, so each gets its need and the
    # full-buffer UE gets the rest: 106 − Σ needs (nothing is left unused).
    needs = 2.0 ** np.arange(12) / 64
    bpp = np.full(13, 8000.0)
    demand = np.append(needs * 8000.0, np.inf)
    s, args = _one_cell(13, "rr", bpp, demand)
    got = s.allocate(*args)
    np.testing.assert_allclose(got[:12], needs, rtol=1e-9)
    assert got[12] == pytest.approx(N_PRB - needs.sum())
    assert got.sum() == pytest.approx(N_PRB)


def test_max_rate_gives_to_best_ue():
    # full buffers: the best UE (index 2) takes all 106 PRBs
    s, args = _one_cell(3, "mr", [4000, 6000, BPP_CQI15], [np.inf] * 3)
    np.testing.assert_allclose(s.allocate(*args), [0, 0, 106])
    # best UE needs only 20 PRBs (demand 20 · 8025 bit): the next best gets the other 86
    s, args = _one_cell(3, "mr", [4000, 6000, BPP_CQI15], [np.inf, np.inf, 20 * BPP_CQI15])
    np.testing.assert_allclose(s.allocate(*args), [0, 86, 20])
    # ties go to the lower index
    s, args = _one_cell(2, "mr", [5000, 5000], [np.inf, np.inf])
    np.testing.assert_allclose(s.allocate(*args), [106, 0])


def test_pf_converges_to_equal_shares_on_equal_channels():
    # Equal static rates: the PF fixed point x_u ∝ r/(r·x_u) gives equal shares N/n; start from
    # unequal averages (one UE already well served) and check convergence over ticks.
    n = 4
    s, args = _one_cell(n, "pf", [BPP_CQI15] * n, [np.inf] * n, beta=0.05)
    s.avg_bps = np.array([50e6, 1e3, 1e3, 1e3])
    first = s.allocate(*args)
    assert first[0] < first[1]                  # the well-served UE starts with less
    for _ in range(400):
        prb = s.allocate(*args)
    np.testing.assert_allclose(prb, [N_PRB / n] * n, rtol=1e-3)


def test_pf_equal_time_shares_on_unequal_static_channels():
    # On static channels PF equalises time (PRB) shares, not throughputs: rates 1 : 4 still give
    # 53 PRBs each at the fixed point.
    s, args = _one_cell(2, "pf", [2000.0, 8000.0], [np.inf] * 2, beta=0.1)
    for _ in range(500):
        prb = s.allocate(*args)
    np.testing.assert_allclose(prb, [53.0, 53.0], rtol=1e-3)


def test_pf_favours_ue_above_its_own_average():
    # Two UEs at steady state with equal rates (53 PRB each). Then UE0's channel improves ×2 for
    # one tick: its metric r/T doubles, so its share becomes 2/3 of the PRBs: 70.67 vs 35.33.
    s, args = _one_cell(2, "pf", [4000.0, 4000.0], [np.inf] * 2, beta=0.02)
    for _ in range(1000):
        s.allocate(*args)
    avg = s.avg_bps.copy()
    np.testing.assert_allclose(avg, avg[0], rtol=1e-3)
    bpp = np.array([8000.0, 4000.0])
    prb = s.allocate(args[0], args[1], args[2], bpp, *args[4:])
    np.testing.assert_allclose(prb, [N_PRB * 2 / 3, N_PRB / 3], rtol=1e-3)


# --------------------------------------------------------------- reference implementation --
@pytest.mark.parametrize("seed", range(4))
def test_matches_reference_scheduler(seed):
    rng = np.random.default_rng(seed)
    for _ in range(60):
        case = _random_case(rng)
        s = _sched(case)
        ref = ReferenceScheduler(case["C"], case["S"], N_PRB, case["policies"], case["lending"],
                                 case["beta"])
        for _tick in range(4):
            got = _alloc(s, case)
            want = ref.allocate(case["serving"].tolist(), case["ue_slice"].tolist(),
                                case["active"].tolist(), case["bpp"].tolist(),
                                case["demand"].tolist(), case["quota"].tolist(),
                                case["cell_on"].tolist(), TICK_S)
            np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-7, err_msg=str(case))
            if {"pf", "bet"} & set(case["policies"]):   # averages kept only for PF/BET slices
                np.testing.assert_allclose(s.avg_bps, ref.avg, rtol=1e-7, atol=1e-6)
            # channel and demand evolve between ticks
            case["bpp"] = case["bpp"] * rng.uniform(0.5, 1.5, size=case["U"])
            case["active"] = rng.uniform(size=case["U"]) < 0.9


def test_fill_primitives_match_reference():
    rng = np.random.default_rng(7)
    for _ in range(300):
        n = int(rng.integers(1, 25))
        need = np.where(rng.uniform(size=n) < 0.3, np.inf, rng.exponential(10, size=n))
        need = np.minimum(need, N_PRB)
        need[rng.uniform(size=n) < 0.1] = 0.0
        w = rng.uniform(0.1, 5, size=n)
        budget = float(rng.integers(0, 107))
        got = water_fill(np.zeros(n, int), 1, np.array([budget]), w, need)
        want = water_level_fill(need.tolist(), w.tolist(), budget)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
        assert got.sum() <= budget + 1e-9
        # the fair split is work-conserving: either the budget is used or every need is met
        assert math.isclose(got.sum(), min(budget, need.sum()), rel_tol=1e-9, abs_tol=1e-9)
        rate = rng.choice([1.0, 2.0, 3.0], size=n)                    # many ties
        got = max_rate_fill(np.zeros(n, int), 1, np.array([budget]), rate, need)
        want = max_rate_fill_ref(need.tolist(), rate.tolist(), budget)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
