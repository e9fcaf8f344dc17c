"""Tests of simran.radio.link.link_table: the kernel's link numbers without a simulation.

Oracles: the simulation kernel's own arrays (bit for bit) and hand computations from the
TS 38.214 / 38.306 tables (radio-reference C.2, C.3, C.6, C.7), derivations in the comments.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from simran.radio.link import LinkError, LinkTable, link_table, peak_rate_38306_mbps
from simran.scenario import NetworkConfig, load_scenario
from simran.simulation import Simulation

SCEN = Path(__file__).resolve().parent.parent / "scenarios"


@pytest.mark.parametrize("file, over", [
    ("hermes10.toml", {}),
    ("quickstart.toml", {"simulation.tick_ms": 1.0}),
    # 256QAM tables, 2 layers, 20 MHz at 15 kHz
    ("quickstart.toml", {"network.cqi_table": "table2", "network.mcs_table": "qam256",
                         "network.layers": 2, "network.bandwidth_mhz": 20,
                         "network.scs_khz": 15}),
    # a mismatched pair (spectral-efficiency fallback), other OH, 60 kHz, 2.5 ms tick
    ("quickstart.toml", {"network.cqi_table": "table1", "network.mcs_table": "qam64LowSE",
                         "network.overhead": 0.18, "network.scs_khz": 60,
                         "network.bandwidth_mhz": 100, "simulation.tick_ms": 2.5}),
    # FR2: 28 GHz, 400 MHz at 120 kHz
    ("quickstart.toml", {"network.carrier_ghz": 28.0, "network.scs_khz": 120,
                         "network.bandwidth_mhz": 400, "network.cqi_table": "table3"}),
])
def test_equals_the_simulation_arrays_bit_for_bit(file, over):
    scen = load_scenario(SCEN / file, {"agents": [], "simulation.duration_s": 0.1, **over})
    sim = Simulation(scen)
    t = link_table(scen.network, scen.simulation.tick_ms)
    assert t.n_prb == sim.n_prb
    assert t.tick_s == sim.tick_s
    assert np.array_equal(t.cqi_to_mcs, sim.cqi_to_mcs)
    assert t.bits_per_prb_tick.dtype == sim.cqi_bits_per_prb_tick.dtype
    assert np.array_equal(t.bits_per_prb_tick, sim.cqi_bits_per_prb_tick)
    assert np.array_equal(t.rate_per_prb_bps * t.tick_s, sim.cqi_bits_per_prb_tick)


def test_hand_computed_default_carrier():
    # CQI table 1 / MCS table qam64, 40 MHz at 30 kHz (μ = 1), 1 layer, OH 0.14, 5 ms tick.
    # N_PRB = 106 (TS 38.101-1 Table 5.3.2-1). CQI 15 = (6, 948) → lowest qam64 MCS with Q_m 6
    # and R ≥ 948: MCS 28 (6, 948), SE 5.5547 (TS 38.214 Table 5.1.3.1-1). Rate per PRB
    # 12·14·2·1000·5.5547·0.86 = 336 000·5.5547·0.86 = 1 605 086.112 bit/s; per 5 ms tick
    # 8025.43056 bit; peak 106 · 1 605 086.112 = 170 139 127.872 bit/s (TS 38.306: 170.1 Mb/s).
    # CQI 7 = (4, 378) → MCS 11 (4, 378), SE 1.4766: 336 000·1.4766·0.86 = 426 678.336 bit/s.
    t = link_table(NetworkConfig(), 5.0)
    assert isinstance(t, LinkTable)
    assert t.n_prb == 106 and t.tick_s == 0.005
    assert t.cqi_to_mcs[0] == -1 and t.cqi_to_mcs[7] == 11 and t.cqi_to_mcs[15] == 28
    assert t.rate_per_prb_bps[0] == 0 and t.bits_per_prb_tick[0] == 0
    assert t.rate_per_prb_bps[15] == pytest.approx(1_605_086.112, rel=1e-12)
    assert t.bits_per_prb_tick[15] == pytest.approx(8025.43056, rel=1e-12)
    assert t.rate_per_prb_bps[7] == pytest.approx(426_678.336, rel=1e-12)
    assert t.peak_rate_bps == pytest.approx(170_139_127.872, rel=1e-12)
    assert t.peak_rate_bps / 1e6 == pytest.approx(170.1, abs=0.05)
    assert t.peak_rate_bps == t.n_prb * t.rate_per_prb_bps.max()
    assert np.all(np.diff(t.rate_per_prb_bps) >= 0)          # monotone in CQI


def test_hand_computed_256qam_two_layers():
    # CQI table 2 / qam256, 100 MHz at 30 kHz: N_PRB = 273. CQI 15 = (8, 948), SE 7.4063 →
    # qam256 MCS 27 (8, 948). 2 layers: 336 000·7.4063·2·0.86 = 4 280 248.896 bit/s per PRB;
    # peak 273 · that = 1 168 507 948.6 bit/s ≈ TS 38.306 with Q_m 8, v 2: 1168.5 Mb/s
    # (R_max = 948/1024 there vs the 4-decimal SE 7.4063 here).
    net = NetworkConfig(cqi_table="table2", mcs_table="qam256", layers=2, bandwidth_mhz=100)
    t = link_table(net, 5.0)
    assert t.n_prb == 273 and t.cqi_to_mcs[15] == 27
    assert t.rate_per_prb_bps[15] == pytest.approx(4_280_248.896, rel=1e-12)
    assert t.peak_rate_bps == pytest.approx(1_168_507_948.608, rel=1e-12)
    assert t.peak_rate_bps / 1e6 == pytest.approx(float(peak_rate_38306_mbps(100, 30, 8, 2)),
                                                  rel=1e-5)


def test_frozen_and_read_only():
    t = link_table(NetworkConfig(), 5.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.n_prb = 1
    for arr in (t.cqi_to_mcs, t.rate_per_prb_bps, t.bits_per_prb_tick):
        assert arr.shape == (16,) and not arr.flags.writeable
    # the tick uses the kernel's integer-microsecond clock: 0.5 ms → 500 µs → 0.0005 s
    assert link_table(NetworkConfig(), 0.5).tick_s == 500 / 1e6


def test_unsupported_carrier_names_the_combination():
    class Net:                               # any object with the NetworkConfig attributes
        cqi_table, mcs_table, scs_khz, layers, overhead = "table1", "qam64", 30, 1, 0.14
        bandwidth_mhz, frequency_range = 7, "FR1"

    with pytest.raises(LinkError, match="7 MHz at 30 kHz"):
        link_table(Net(), 5.0)
    Net.bandwidth_mhz = 40
    assert link_table(Net(), 5.0).n_prb == 106
