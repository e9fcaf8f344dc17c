"""Twin tasks: ground truth from simran, exported inputs, error measures (issue 13, part 1–2)."""

import io
import math
import tomllib

import numpy as np
import pandas as pd
import pytest

from agents.twin import blocks, scoring, tasks, truth


@pytest.fixture(scope="module")
def base():
    return truth.baseline(False)


def test_snapshot_is_what_the_kernel_computes_once_handovers_settle(base):
    # The twin scenario runs A3 with 0 dB offset, 0 ms TTT and no L3 filter, full buffer: after
    # one second every UE is on its strongest cell and every cell with a UE has load 1, so the
    # kernel's own SINR (prev_load weighting) equals the full-load snapshot for the loaded cells.
    sim = truth.build_simulation(base.scenario)
    sim.run()
    np.testing.assert_allclose(sim.prev_load, 1.0, rtol=1e-12)  # full buffer: all loaded
    kernel_sinr = sim.sinr_db()                 # interference weighted by the kernel's load
    np.testing.assert_array_equal(sim.serving, base.snap.serving)
    np.testing.assert_allclose(kernel_sinr, base.snap.sinr_db, atol=1e-9)


def test_shutdown_power_is_the_earth_model_of_the_remaining_cells(base):
    # EARTH macro, 2 TRX per cell, 46 dBm = 39.81 W per cell at load 1:
    # on = 2 (130 + 4.7 * 39.81 / 2) = 447.11 W, off = 2 * 75 = 150 W (radio-reference C.12)
    p_on = 2 * (130 + 4.7 * 10 ** 4.6 / 1000 / 2)
    off = [3, 4, 5]
    got = truth.shutdown_power_w(off)
    assert got == pytest.approx(27 * p_on + 3 * 150.0, rel=1e-9)
    assert base.cell_power_w.sum() == pytest.approx(30 * p_on, rel=1e-9)


def test_exported_inputs_reproduce_the_baseline(base):
    inst = tasks.make_instance("power", 0)
    ues = pd.read_csv(io.BytesIO(inst.files["ues.csv"]))
    rsrp = pd.read_csv(io.BytesIO(inst.files["rsrp_dbm.csv"]))
    net = tomllib.loads(inst.files["network.toml"].decode())
    assert list(rsrp.columns) == ["ue_id"] + [f"cell_{c}" for c in range(30)]
    r = rsrp.drop(columns="ue_id").to_numpy()
    serving = blocks.associate_strongest(r)
    np.testing.assert_array_equal(serving, ues["serving_cell"])
    sinr = blocks.sinr_db(r, serving, net["radio"]["scs_khz"], net["radio"]["noise_figure_db"])
    np.testing.assert_allclose(sinr, ues["sinr_db"], atol=1e-4)
    assert set(inst.files) == set(tasks.INPUT_FILES)
    assert tomllib.loads(inst.files["policy.toml"].decode())["policy"] == inst.policy


def test_blocks_agree_with_simran_on_the_deterministic_network():
    det = truth.baseline(True)
    r = blocks.rsrp_geometry_dbm(det.cell_xy, det.azimuth_deg, det.tx_power_dbm, det.ue_xy,
                                 det.n_prb)
    np.testing.assert_allclose(r, det.snap.rsrp_dbm.T, atol=1e-9)
    xy, az, ids = blocks.add_site(det.cell_xy, det.azimuth_deg, 100.0, 200.0)
    assert ids == [30, 31, 32] and xy.shape == (33, 2)
    np.testing.assert_array_equal(az[30:], [30.0, 150.0, 270.0])


def test_earth_block_matches_kernel_power(base):
    p = blocks.earth_power_w(base.tx_power_dbm, base.cell_load, np.ones(30, bool))
    np.testing.assert_allclose(p, base.cell_power_w, rtol=1e-9)


def test_instances_are_reproducible_and_differ_between_runs():
    a, b, c = (tasks.make_instance("shutdown", r) for r in (4, 4, 5))
    assert a.policy == b.policy and a.truth == b.truth
    assert a.policy != c.policy or a.run != c.run
    pw = [tasks.make_instance("power", r).policy for r in (0, 1)]
    assert pw[0] != pw[1]
    assert all(40 <= p <= 49 for p in pw[0]["tx_power_dbm"])


def test_new_site_is_far_from_existing_sites():
    det = truth.baseline(True)
    for r in range(5):
        xy = np.array(tasks.make_instance("new_site", r).policy["new_sites"][0])
        assert np.linalg.norm(det.site_xy - xy, axis=1).min() >= tasks.MIN_NEW_SITE_DISTANCE_M


def test_trivial_answers_fail():
    # answering "nothing changes" must not pass any task: the tasks measure the change
    for task in ("power", "new_site"):
        inst = tasks.make_instance(task, 0)
        ues = pd.read_csv(io.BytesIO(inst.files["ues.csv"]))
        err = scoring.score(task, {"sinr_db": ues["sinr_db"].tolist()}, inst.truth)
        assert err > scoring.SUCCESS_THRESHOLD, task
    inst = tasks.make_instance("shutdown", 0)
    err = scoring.score("shutdown", {"energy_kwh": inst.baseline_energy_kwh}, inst.truth,
                        inst.baseline_energy_kwh)
    assert err == pytest.approx(1.0)


def test_sinr_error_is_relative_in_linear_units():
    # +0.4139 dB is exactly +10 % in linear units: 10 log10(1.1) = 0.41393
    true = np.array([0.0, 10.0, -3.0])
    assert scoring.sinr_error(true + 10 * math.log10(1.1), true) == pytest.approx(0.10)
    assert scoring.sinr_error(true, true) == 0.0
    assert not scoring.success(0.1) and scoring.success(0.0999)
    assert not scoring.success(None) and not scoring.success(float("nan"))


def test_shutdown_error_is_relative_to_the_saving():
    # E0 = 10, E = 9 (saving 1 kWh); answering 9.05 misses the saving by 5 %
    assert scoring.score("shutdown", {"energy_kwh": 9.05}, {"energy_kwh": 9.0}, 10.0) == \
        pytest.approx(0.05)
    assert scoring.score("shutdown", {"energy_kwh": 9.9}, {"energy_kwh": 9.0}, 10.0,
                         saving=False) == pytest.approx(0.1)


@pytest.mark.parametrize("result, message", [
    ([1.0, 2.0], "not an object"),
    ({"sinr": [1.0]}, "no key"),
    ({"sinr_db": [1.0, 2.0]}, "shape"),
    ({"sinr_db": [1.0, float("nan"), 2.0]}, "NaN"),
    ({"sinr_db": ["a", "b", "c"]}, "not numbers"),
])
def test_unscorable_results_raise(result, message):
    with pytest.raises(scoring.ResultError, match=message):
        scoring.score("power", result, {"sinr_db": [0.0, 1.0, 2.0]})


def test_tradeoff_error_is_the_worst_level():
    truth_ = {"energy_kwh": [10.0, 8.0], "sinr_db": [[0.0, 0.0], [0.0, 0.0]]}
    got = {"energy_kwh": [10.0, 8.8], "sinr_db": [[0.0, 0.0], [0.0, 0.0]]}
    assert scoring.score("tradeoff", got, truth_) == pytest.approx(0.1)
    with pytest.raises(scoring.ResultError, match="shape"):
        scoring.score("tradeoff", {"energy_kwh": [1.0, 2.0], "sinr_db": [[0.0, 0.0]]}, truth_)


def test_block_selection():
    assert blocks.select("power", 0) == ()
    assert blocks.select("power", "2") == ("shift_rsrp_dbm", "associate_strongest")
    assert blocks.select("new_site", 1) == ("rsrp_geometry_dbm",)
    assert blocks.select("shutdown", "sinr_db,earth_power_w") == ("sinr_db", "earth_power_w")
    with pytest.raises(ValueError, match="unknown block"):
        blocks.select("power", "magic_block")
    with pytest.raises(ValueError):
        blocks.select("power", 9)
    text = blocks.describe(blocks.select("power", 3))
    assert "def sinr_db(" in text and "Returns" in text
    assert "No expert blocks" in blocks.describe(())
    for f in blocks.REGISTRY.values():
        assert "Returns" in f.__doc__ and "Parameters" in f.__doc__
