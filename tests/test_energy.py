"""Tests of simran.radio.energy against the EARTH model (Auer et al. 2011; radio-reference C.12)."""

import numpy as np
import pytest

from simran.radio import energy
from simran.units import dbm_to_w


def test_macro_site_full_load_idle_sleep():
    # Macro: 6 TRX per site, 3 sectors -> 2 TRX per cell; 40 W per cell -> 20 W per TRX = P_max.
    # full load: per cell 2 * (130 + 4.7 * 20) = 2 * 224 = 448 W; site 3 * 448 = 1344 W
    full = energy.cell_power_w(np.ones(3), np.full(3, 40.0), np.ones(3, bool))
    np.testing.assert_allclose(full, 448.0)
    assert full.sum() == pytest.approx(1344.0)
    # idle but on (P_out -> 0+): 2 * 130 = 260 W per cell; site 780 W
    idle = energy.cell_power_w(np.zeros(3), np.full(3, 40.0), np.ones(3, bool))
    assert idle.sum() == pytest.approx(780.0)
    # sleeping: 2 * 75 = 150 W per cell; site 450 W (independent of load and tx power)
    sleep = energy.cell_power_w(np.ones(3), np.full(3, 40.0), np.zeros(3, bool))
    assert sleep.sum() == pytest.approx(450.0)


def test_bracketed_form_not_the_buggy_one():
    # The buggy N*P0 + dp*P_out would give 6*130 + 4.7*20 = 874 W for a full-load site;
    # the bracketed N*(P0 + dp*P_out) gives 1344 W.
    site = energy.cell_power_w(np.ones(3), np.full(3, 40.0), np.ones(3, bool)).sum()
    assert site != pytest.approx(874.0)


def test_46_dbm_cells_and_partial_load():
    # 46 dBm = 39.81 W per cell -> 19.905 W per TRX -> 2 * (130 + 4.7 * 19.905) = 447.11 W
    p = energy.cell_power_w(1.0, dbm_to_w(46.0), True)
    assert p == pytest.approx(2 * (130 + 4.7 * 19.9054), abs=1e-2)
    assert p == pytest.approx(447.11, abs=0.01)
    # half load, 40 W: P_out = 10 W per TRX -> 2 * (130 + 47) = 354 W
    assert energy.cell_power_w(0.5, 40.0, True) == pytest.approx(354.0)


def test_mixed_vector_and_linearity():
    load = np.array([0.0, 0.25, 1.0, 0.7])
    on = np.array([True, True, True, False])
    p = energy.cell_power_w(load, np.full(4, 40.0), on)
    # on cells: 260 + 2 * 4.7 * 20 * load = 260 + 188 * load; off cell: 150
    np.testing.assert_allclose(p, [260.0, 307.0, 448.0, 150.0])


@pytest.mark.parametrize("bs_type, sectors, tx_w, full_w, sleep_w", [
    # RRH: 2 TRX per cell, 2 * (84 + 2.8 * 20) = 280 W; sleep 2 * 56 = 112 W
    ("rrh", 3, 40.0, 280.0, 112.0),
    # micro, one cell per site: 2 TRX, 12.6 W total -> 6.3 W per TRX:
    # 2 * (56 + 2.6 * 6.3) = 144.76 W; sleep 2 * 39 = 78 W
    ("micro", 1, 12.6, 144.76, 78.0),
    # pico: 2 * (6.8 + 4.0 * 0.13) = 14.64 W; sleep 8.6 W
    ("pico", 1, 0.26, 14.64, 8.6),
    # femto: 2 * (4.8 + 8.0 * 0.05) = 10.4 W; sleep 5.8 W
    ("femto", 1, 0.10, 10.4, 5.8),
])
def test_other_bs_types(bs_type, sectors, tx_w, full_w, sleep_w):
    full = energy.cell_power_w(1.0, tx_w, True, bs_type=bs_type, sectors_per_site=sectors)
    sleep = energy.cell_power_w(1.0, tx_w, False, bs_type=bs_type, sectors_per_site=sectors)
    assert full == pytest.approx(full_w)
    assert sleep == pytest.approx(sleep_w)


def test_table_values():
    macro = energy.bs_params("macro")
    assert (macro.n_trx, macro.p_max_w, macro.p0_w, macro.delta_p, macro.p_sleep_w) == (
        6, 20.0, 130.0, 4.7, 75.0)
    assert set(energy.BS_TYPES) == {"macro", "rrh", "micro", "pico", "femto"}


def test_bad_input():
    with pytest.raises(ValueError, match="valid: macro, rrh, micro, pico, femto"):
        energy.cell_power_w(1.0, 40.0, True, bs_type="giant")
    with pytest.raises(ValueError, match="load must lie in"):
        energy.cell_power_w(1.5, 40.0, True)
    with pytest.raises(ValueError, match="tx_power_w"):
        energy.cell_power_w(1.0, -1.0, True)
