"""Block errors, HARQ (chase combining) and OLLA (simran.radio.harq), with oracles."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from simran.radio.harq import LinkAdaptation, bler, cqi_sinr_thresholds_db
from simran.scenario import load_scenario
from simran.simulation import Simulation, run_scenario

THR = cqi_sinr_thresholds_db("nr_mathworks")


def _cfg(**kw):
    base = dict(harq_max_tx=1, harq_rtt_ticks=1, olla=False, bler_target=0.1,
                olla_step_up_db=0.5, bler_slope_per_db=2.0)
    base.update(kw)
    return SimpleNamespace(**base)


def _run(la: LinkAdaptation, sinr_db: float, ticks: int, bits: float = 1000.0):
    """Drive ``ticks`` ticks at a fixed SINR with every UE scheduled; delivered bits per tick."""
    U = la.U
    prb = np.ones(U)
    s = np.full(U, sinr_db)
    cqi = np.searchsorted(THR, s, side="right")
    out = np.zeros(ticks)
    for k in range(ticks):
        sel = la.select_cqi(s, cqi)
        d, _ = la.step(prb, np.full(U, bits), s, sel)
        out[k] = d.sum()
    return out


def test_bler_shape():
    # BLER(θ) = 1/(1 + 9) = 0.1 by construction (TS 38.214 §5.2.2.1's 10 % point)
    assert bler(THR, THR) == pytest.approx(np.full(15, 0.1))
    # 0.9 → 0.01 over (ln 81 + ln 11)/a dB: at θ − ln(81)/(2a) … check both ends for a = 2
    assert bler(5.0 - np.log(81.0) / 2.0, 5.0) == pytest.approx(0.9)
    assert bler(5.0 + np.log(11.0) / 2.0, 5.0) == pytest.approx(0.01)
    assert bler(-np.inf, 0.0) == 1.0 and bler(1e6, 0.0) < 1e-300
    s = np.linspace(-10, 30, 50)
    assert np.all(np.diff(bler(s, 5.0)) < 0)        # monotone decreasing in SINR


def test_analytic_thresholds_invert_the_gap_rule():
    from simran.radio.link import sinr_to_cqi

    thr = cqi_sinr_thresholds_db("analytic")
    # just above θ_c the analytic rule gives CQI c, just below c − 1 (C.4c, strict "<")
    assert np.array_equal(sinr_to_cqi(thr + 1e-6, "analytic"), np.arange(1, 16))
    assert np.array_equal(sinr_to_cqi(thr - 1e-6, "analytic"), np.arange(0, 15))


@pytest.mark.parametrize("sinr_db", [3.0, 12.0, 20.0])
def test_olla_converges_to_target(sinr_db):
    # stationary offset ⇔ P(NACK)·up = P(ACK)·down ⇔ BLER = down/(up + down) = target
    la = LinkAdaptation(_cfg(olla=True), 400, THR, np.random.default_rng(1))
    _run(la, sinr_db, 300)                         # settle
    n0, e0 = la.n_first, la.n_first_err
    _run(la, sinr_db, 1500)
    b = (la.n_first_err - e0) / (la.n_first - n0)
    assert abs(b - 0.10) < 0.01, b


def test_throughput_is_error_free_times_one_minus_bler_without_harq():
    sinr = 9.5          # CQI 7 (θ = 8.89 dB): BLER = 1/(1 + 9 e^{2·0.61}) = 0.0329
    c = int(np.searchsorted(THR, sinr, side="right"))
    assert c == 7
    p = 1.0 / (1.0 + 9.0 * np.exp(2.0 * (sinr - THR[c - 1])))
    la = LinkAdaptation(_cfg(), 1000, THR, np.random.default_rng(2))
    got = _run(la, sinr, 400).mean() / (1000 * 1000.0)
    # 400 000 Bernoulli draws: σ = sqrt(p(1−p)/4e5) ≈ 2.8e-4; allow 5σ
    assert got == pytest.approx(1 - p, abs=5 * np.sqrt(p * (1 - p) / 4e5))
    assert la.n_first_err / la.n_first == pytest.approx(p, abs=0.0015)


def test_harq_gain_and_delay_as_derived():
    # 2 transmissions, RTT 3 ticks, at θ_7 − 1 dB: p1 = BLER(θ − 1) = 1/(1 + 9e^{−2});
    # chase combining doubles the linear SINR, +3.0103 dB: p2 = BLER(θ − 1 + 3.0103).
    sinr = THR[6] - 1.0
    p1 = 1.0 / (1.0 + 9.0 * np.exp(-2.0))
    p2 = 1.0 / (1.0 + 9.0 * np.exp(2.0 * (-1.0 + 10 * np.log10(2.0))))
    U, T, rtt = 1000, 600, 3
    la = LinkAdaptation(_cfg(harq_max_tx=2, harq_rtt_ticks=rtt), U, THR,
                        np.random.default_rng(3))
    prb, s = np.ones(U), np.full(U, sinr)
    cqi = np.full(U, 7)
    for _ in range(T):
        la.step(prb, np.full(U, 1000.0), s, cqi)
    residual = la.n_dropped / la.n_blocks_done
    assert residual == pytest.approx(p1 * p2, abs=0.01)
    # every failed first transmission gets exactly one retransmission: tx per block = 1 + p1;
    # mean delay of delivered blocks = rtt · P(ok at 2nd)/P(ok) = rtt·p1(1−p2)/(1−p1p2)
    assert la.n_tx / la.n_first == pytest.approx(1 + p1, abs=0.01)
    delay = la.delay_ticks_sum / la.n_delivered
    assert delay == pytest.approx(rtt * p1 * (1 - p2) / (1 - p1 * p2), abs=0.03)
    # without HARQ the same blocks fail with p1: HARQ lowers the residual BLER by p2
    assert residual < 0.5 * p1


def _quick(*sets):
    return load_scenario("scenarios/quickstart.toml",
                         overrides=["simulation.duration_s=2", "agents.0.backend=scripted",
                                    "agents.0.latency=fixed:50", *sets])


def test_off_is_the_kernel_and_not_in_the_scenario_json():
    sc = _quick()
    assert "link" not in json.loads(sc.to_json())["network"]
    assert Simulation(sc).link_adapt is None
    on = _quick("network.link.bler=true")
    assert json.loads(on.to_json())["network"]["link"]["bler"] is True


def test_same_seed_same_run_and_kpis():
    a = run_scenario(_quick("network.link.bler=true")).summary
    b = run_scenario(_quick("network.link.bler=true")).summary
    assert a == b
    assert 0.0 < a["link.bler_first_tx"] < 0.2
    off = run_scenario(_quick()).summary
    assert "link.bler_first_tx" not in off
    # other streams are untouched, so the first tick's radio is the same: the run differs only
    # through the block errors (throughput moves by a few % at most)
    assert a["throughput_mbps_mean"] == pytest.approx(off["throughput_mbps_mean"], rel=0.1)


def test_trace_ues_get_noisy_throughput():
    sc = load_scenario("scenarios/symbiotic_type1.toml",
                       overrides=["simulation.duration_s=4", "agents.1.backend=scripted",
                                  "network.link.bler=true"])
    sim = Simulation(sc)
    sim.run()
    s = sim.summary()
    # trace UEs sit at their CQI's threshold: BLER 0.1 there, OLLA keeps it near the target
    assert 0.05 < s["link.bler_first_tx"] < 0.15


# ------------------------------------------------------------------ soft LOS (TR 38.901 §7.6.3.3)
def test_soft_los_state_formula_and_limits():
    from scipy.special import erfinv

    from simran.radio.channel import los_from_field, soft_los_state

    lam = 299_792_458.0 / 3.5e9                       # 8.57 cm at 3.5 GHz
    rng = np.random.default_rng(0)
    x, p = rng.normal(size=200), rng.uniform(0.01, 0.99, 200)
    # eq. 7.6-18 with G = −x: 1/2 + arctan(√(20/λ)·(G + √2·erfinv(2p − 1)))/π
    want = 0.5 + np.arctan(np.sqrt(20 / lam) * (-x + np.sqrt(2) * erfinv(2 * p - 1))) / np.pi
    got = soft_los_state(x, p, lam)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    # > ½ exactly where the hard state is LOS; the hard state as λ → 0; ½ on the boundary
    assert np.array_equal(got > 0.5, los_from_field(x, p))
    np.testing.assert_array_equal(np.rint(soft_los_state(x, p, 1e-12)), los_from_field(x, p))
    assert soft_los_state(0.0, 0.5, lam) == pytest.approx(0.5)
    assert soft_los_state(0.0, 1.0, lam) == 1.0 and soft_los_state(0.0, 0.0, lam) == 0.0


def test_soft_los_blends_the_gain_and_is_off_by_default():
    from simran.radio import antenna
    from simran.radio.channel import (
        los_probability,
        pathloss_db,
        shadow_sigma_db,
        soft_los_state,
    )

    base = ["simulation.duration_s=0.1", "agents.0.backend=scripted", "network.rings=0",
            "network.sectors=1"]
    hard = Simulation(load_scenario("scenarios/quickstart.toml", overrides=base))
    soft = Simulation(load_scenario("scenarios/quickstart.toml",
                                    overrides=[*base, "network.los_soft=true"]))
    assert "los_soft" not in json.loads(hard.scenario.to_json())["network"]
    assert np.array_equal(hard.los, soft.los)          # same streams, same hard state
    # oracle: g = G_ant − [s·(PL_LOS + σ_LOS·f) + (1 − s)·(PL_NLOS + σ_NLOS·f)]  (dB blend)
    r, n = soft.radio, soft.scenario.network
    _, _, d2d, _ = antenna.angles(r.topo.cell_xy, r.topo.cell_azimuth_deg, r.bs_height_m,
                                  soft.ue_xy, n.ue_height_m)
    x, f = r._los_field.sample(soft.ue_xy), r._sf_field.sample(soft.ue_xy)
    s = soft_los_state(x, los_probability(n.scenario, d2d, n.ue_height_m),
                       299_792_458.0 / (n.carrier_ghz * 1e9))
    loss_l = (pathloss_db(n.scenario, True, d2d, n.carrier_ghz, r.bs_height_m, n.ue_height_m)
              + shadow_sigma_db(n.scenario, True) * f)
    loss_n = (pathloss_db(n.scenario, False, d2d, n.carrier_ghz, r.bs_height_m, n.ue_height_m)
              + shadow_sigma_db(n.scenario, False) * f)
    g_ant = n.antenna.max_gain_dbi
    np.testing.assert_allclose(soft.gain_db, g_ant - (s * loss_l + (1 - s) * loss_n),
                               atol=1e-9)
    # the hard gain is one of the two ends; the soft one lies between them, closer to the
    # hard one (s > ½ exactly on LOS links)
    np.testing.assert_allclose(hard.gain_db, g_ant - np.where(hard.los, loss_l, loss_n),
                               atol=1e-9)
    lo, hi = g_ant - np.maximum(loss_l, loss_n), g_ant - np.minimum(loss_l, loss_n)
    assert np.all((soft.gain_db >= lo - 1e-9) & (soft.gain_db <= hi + 1e-9))
    assert np.all(np.abs(soft.gain_db - hard.gain_db) <= 0.5 * (hi - lo) + 1e-9)
