"""Tests of simran.radio.link, .nr_tables and .tbs against TS 38.214 / 38.306 / 38.101 values.

Oracles: the 3GPP table rows and worked numbers of radio-reference C.1–C.7.
"""

import numpy as np
import pytest

from simran.errors import SimranError
from simran.radio import link, nr_tables, tbs


# -------------------------------------------------------------------------------- tables (C.1/C.2)
@pytest.mark.parametrize("name", ["table1", "table2", "table3"])
def test_cqi_table_shape_and_cqi0(name):
    tab = nr_tables.cqi_table_array(name)
    assert tab.shape == (16, 3)
    # CQI 0 is "out of range": efficiency 0
    assert np.all(tab[0] == 0)
    assert not tab.flags.writeable


@pytest.mark.parametrize("name, n_valid", [("qam64", 29), ("qam256", 28), ("qam64LowSE", 29)])
def test_mcs_table_reserved_rows_excluded(name, n_valid):
    # TS 38.214 Table 5.1.3.1-1/-3: I_MCS 29..31 reserved; Table 5.1.3.1-2: 28..31 reserved
    assert nr_tables.mcs_table_array(name).shape == (n_valid, 3)


@pytest.mark.parametrize("tables", [nr_tables.CQI_TABLES, nr_tables.MCS_TABLES])
def test_efficiency_column_is_spec_rounding(tables):
    # The spec prints efficiency = Q_m * R/1024 rounded half-up to 4 decimals (C.1), e.g.
    # CQI 9 of table 1: 4*616/1024 = 2.40625 -> 2.4063 (half-up, not half-even 2.4062).
    for tab in tables.values():
        exact = tab[:, 0] * tab[:, 1] / 1024
        assert np.all(np.abs(tab[:, 2] - exact) <= 5e-5 + 1e-12)


def test_efficiency_monotone_except_known_dip():
    # CQI tables are strictly increasing in efficiency; MCS tables are non-decreasing except
    # Table 5.1.3.1-1 MCS 16 (16QAM 658 -> 2.5703) > MCS 17 (64QAM 438 -> 2.5664).
    for tab in nr_tables.CQI_TABLES.values():
        assert np.all(np.diff(tab[:, 2]) > 0)
    for name, tab in nr_tables.MCS_TABLES.items():
        dips = np.flatnonzero(np.diff(tab[:, 2]) < 0)
        assert dips.tolist() == ([16] if name == "qam64" else [])


def test_se_fallback_handles_non_monotone_mcs_table():
    # CQI table 2 with MCS table qam64 mismatches (256QAM CQIs 12..15 have no Qm 8 MCS), so the
    # whole pair maps by SE: highest MCS with SE <= CQI SE. CQI 6 (16QAM 616, 2.4063) -> MCS 15
    # (2.4063; MCS 16's 2.5703 and 17's 2.5664 are larger); CQI 7 (2.7305) -> MCS 18 (2.7305);
    # CQI 12..15 (>= 5.5547) -> MCS 28 (5.5547).
    out = link.cqi_to_mcs(np.arange(1, 16), "table2", "qam64")
    np.testing.assert_array_equal(out, [0, 2, 6, 11, 13, 15, 18, 20, 22, 24, 26, 28, 28, 28, 28])


def test_selected_spec_table_entries():
    # TS 38.214 Table 5.2.2.1-2 CQI 15: 64QAM, 948 -> 5.5547; CQI 9: 2.4063 (half-up)
    assert tuple(nr_tables.CQI_TABLES["table1"][15]) == (6, 948, 5.5547)
    assert nr_tables.CQI_TABLES["table1"][9, 2] == 2.4063
    # Table 5.2.2.1-3 CQI 12: 256QAM, 711 -> 5.5547; Table 5.2.2.1-4 CQI 1: QPSK, 30 -> 0.0586
    assert tuple(nr_tables.CQI_TABLES["table2"][12]) == (8, 711, 5.5547)
    assert tuple(nr_tables.CQI_TABLES["table3"][1]) == (2, 30, 0.0586)
    # Table 5.1.3.1-2 MCS 20 and 26: 256QAM with half-integer code rates 682.5 -> 5.3320,
    # 916.5 -> 7.1602
    assert tuple(nr_tables.MCS_TABLES["qam256"][20]) == (8, 682.5, 5.332)
    assert tuple(nr_tables.MCS_TABLES["qam256"][26]) == (8, 916.5, 7.1602)
    # Table 5.1.3.1-1 MCS 3: QPSK 251 (not 521, a known typo in a public copy) -> 0.4902
    assert tuple(nr_tables.MCS_TABLES["qam64"][3]) == (2, 251, 0.4902)
    # Table 5.1.3.1-3 MCS 28: 64QAM 772 -> 4.5234
    assert tuple(nr_tables.MCS_TABLES["qam64LowSE"][28]) == (6, 772, 4.5234)


def test_unknown_table_names_raise():
    with pytest.raises(SimranError, match="valid: table1, table2, table3"):
        nr_tables.cqi_table_array("table4")
    with pytest.raises(ValueError, match="qam1024"):
        link.cqi_to_mcs(5, mcs_table="qam1024")


def test_cqi_efficiency():
    # CQI table 1 CQI 7: 16QAM 378 -> 1.4766; CQI 0 -> 0
    np.testing.assert_array_equal(link.cqi_efficiency([0, 7]), [0.0, 1.4766])
    with pytest.raises(ValueError, match="CQI 16"):
        link.cqi_efficiency(16)


# ------------------------------------------------------------------------------- SINR -> CQI (C.4)
def test_sinr_to_cqi_mathworks_thresholds():
    # C.4b: CQI = number of thresholds <= SINR; thresholds -1.89 ... 29.32 dB
    sinr = np.array([-10.0, -1.90, -1.89, 0.0, 7.39, 7.38, 29.31, 29.32, 50.0])
    expected = [0, 0, 1, 2, 6, 5, 14, 15, 15]
    out = link.sinr_to_cqi(sinr)
    assert out.dtype == np.int8
    np.testing.assert_array_equal(out, expected)


def test_sinr_to_cqi_lte_fan_thresholds():
    # C.4a: -6.7 (CQI 1) ... 22.7 (CQI 15); 0.2 is the CQI 4 bound, 0.19 stays CQI 3
    out = link.sinr_to_cqi([-6.71, -6.7, 0.19, 0.2, 22.7], mapping="lte_fan")
    np.testing.assert_array_equal(out, [0, 1, 3, 4, 15])


@pytest.mark.parametrize("mapping", nr_tables.SINR_CQI_MAPPINGS)
def test_sinr_to_cqi_nan_and_inf(mapping):
    out = link.sinr_to_cqi(np.array([np.nan, -np.inf, np.inf]), mapping=mapping)
    np.testing.assert_array_equal(out, [0, 0, 15])


@pytest.mark.parametrize("mapping", nr_tables.SINR_CQI_MAPPINGS)
def test_sinr_to_cqi_shape_and_monotone(mapping):
    sinr = np.linspace(-20, 40, 6000).reshape(3, 2000)
    out = link.sinr_to_cqi(sinr, mapping=mapping)
    assert out.shape == sinr.shape
    assert np.all(np.diff(out.ravel()) >= 0)
    assert out.min() == 0 and out.max() == 15


def test_sinr_to_cqi_analytic_bounds():
    # C.4c: Gamma = -ln(5 * 5e-5)/1.5 = -ln(2.5e-4)/1.5 = 8.2940/1.5 = 5.5294 (7.43 dB)
    assert link.analytic_gap_lin() == pytest.approx(5.5294, abs=1e-4)
    # Lower SINR bound of CQI q: Gamma * (2^eff_q - 1). The reference sheet lists the bounds for
    # the 2-decimal efficiencies of ns-3; simran uses the 4-decimal spec efficiencies, which move
    # a bound by at most 0.09 dB (CQI 2: eff 0.2344 vs 0.23). So SINR = listed bound + 0.15 dB
    # must reach CQI q, and listed bound - 0.15 dB must stay below it.
    bounds = np.array([-2.18, -0.20, 2.22, 4.55, 6.67, 8.45, 9.95, 11.83, 13.78, 14.94, 16.96,
                       18.87, 20.84, 22.71, 24.04])
    cqi = np.arange(1, 16)
    np.testing.assert_array_equal(link.sinr_to_cqi(bounds + 0.15, "analytic"), cqi)
    np.testing.assert_array_equal(link.sinr_to_cqi(bounds - 0.15, "analytic"), cqi - 1)


def test_sinr_to_cqi_analytic_strictly_less():
    # At exactly SE = eff(CQI 15) = 5.5547 the rule "efficiency < SE" must NOT give CQI 15.
    # SINR = Gamma * (2^5.5547 - 1) = 5.52937 * 46.0022 = 254.37 -> 24.055 dB
    sinr_lin = link.analytic_gap_lin() * (2.0**5.5547 - 1.0)
    sinr_db = 10 * np.log10(sinr_lin)
    assert link.sinr_to_cqi(sinr_db - 1e-9, "analytic") == 14
    assert link.sinr_to_cqi(sinr_db + 1e-6, "analytic") == 15


def test_sinr_to_cqi_unknown_mapping():
    with pytest.raises(ValueError, match="nr_mathworks"):
        link.sinr_to_cqi(3.0, mapping="nope")


# -------------------------------------------------------------------------------- CQI -> MCS (C.3)
@pytest.mark.parametrize("cqi_table, mcs_table, expected", [
    # C.3 rule-1 table (OAI get_mcs_from_cqi), CQI 1..15
    ("table1", "qam64", [0, 0, 2, 4, 6, 8, 11, 13, 15, 18, 20, 22, 24, 26, 28]),
    ("table2", "qam256", [0, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27]),
    ("table3", "qam64LowSE", [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28]),
    # C.3 mismatch row: CQI table 1 reported, MCS table 2 used -> highest MCS with SE <= CQI SE
    # (CQI 1: 0.1523 < MCS 0's 0.2344 -> 0; CQI 15: 5.5547 -> MCS 21 = 5.5547)
    ("table1", "qam256", [0, 0, 1, 2, 3, 4, 5, 7, 9, 11, 13, 15, 17, 19, 21]),
])
def test_cqi_to_mcs_reference_rows(cqi_table, mcs_table, expected):
    out = link.cqi_to_mcs(np.arange(1, 16), cqi_table, mcs_table)
    np.testing.assert_array_equal(out, expected)


def test_cqi0_means_no_transmission():
    assert link.cqi_to_mcs(0) == -1
    assert link.mcs_efficiency(-1) == 0.0
    assert tbs.tbs_38214(50, -1) == 0


def test_cqi_to_mcs_vectorised_and_cached():
    cqi = np.array([[0, 15], [7, 3]])
    out = link.cqi_to_mcs(cqi)
    np.testing.assert_array_equal(out, [[-1, 28], [11, 2]])
    assert link.cqi_to_mcs_lut("table1", "qam64") is link.cqi_to_mcs_lut("table1", "qam64")
    with pytest.raises(ValueError, match="CQI -1"):
        link.cqi_to_mcs([3, -1])


@pytest.mark.parametrize("cqi_table", ["table1", "table2", "table3"])
@pytest.mark.parametrize("mcs_table", ["qam64", "qam256", "qam64LowSE"])
def test_cqi_to_mcs_never_exceeds_cqi_rate_by_much(cqi_table, mcs_table):
    # Property: the chosen MCS's efficiency never exceeds the CQI's except where the MCS table
    # has nothing lower (CQI 1 of table 1/2 -> MCS 0 of qam64/qam256, 0.2344 vs 0.1523; and
    # table 3 CQIs 1..4 under qam64, whose lowest MCS is 0.2344).
    mcs = link.cqi_to_mcs(np.arange(1, 16), cqi_table, mcs_table)
    se_mcs = link.mcs_efficiency(mcs, mcs_table)
    se_cqi = link.cqi_efficiency(np.arange(1, 16), cqi_table)
    lowest = nr_tables.mcs_table_array(mcs_table)[0, 2]
    assert np.all((se_mcs <= se_cqi + 1e-12) | (mcs == 0) & (se_cqi < lowest))
    assert np.all(np.diff(mcs) >= 0)


def test_mcs_efficiency():
    # Table 5.1.3.1-2 MCS 27: 256QAM 948 -> 7.4063; Table 5.1.3.1-1 MCS 28 -> 5.5547
    np.testing.assert_array_equal(link.mcs_efficiency([27, -1], "qam256"), [7.4063, 0.0])
    assert link.mcs_efficiency(28) == 5.5547
    with pytest.raises(ValueError, match=r"MCS 28 out of range \[-1, 27\] for qam256"):
        link.mcs_efficiency(28, "qam256")


# ------------------------------------------------------------------------------------- N_PRB (C.7)
@pytest.mark.parametrize("bw, scs, fr, n_prb", [
    (5, 15, "FR1", 25), (20, 15, "FR1", 106), (50, 15, "FR1", 270),
    (40, 30, "FR1", 106), (100, 30, "FR1", 273), (20, 30, "FR1", 51), (5, 30, "FR1", 11),
    (10, 60, "FR1", 11), (100, 60, "FR1", 135),
    (50, 60, "FR2", 66), (200, 60, "FR2", 264), (100, 120, "FR2", 66), (400, 120, "FR2", 264),
])
def test_prb_count(bw, scs, fr, n_prb):
    # TS 38.101-1 / 38.101-2 Table 5.3.2-1 (C.7)
    assert link.prb_count(bw, scs, fr) == n_prb


def test_prb_count_errors_name_combination_and_valid_set():
    with pytest.raises(ValueError, match=r"60 MHz at 15 kHz.*valid bandwidths for 15 kHz: 5, 10"):
        link.prb_count(60, 15)
    with pytest.raises(ValueError, match="5 MHz at 60 kHz"):
        link.prb_count(5, 60)
    with pytest.raises(ValueError, match="valid SCS: 60, 120"):
        link.prb_count(100, 30, "FR2")


def test_numerology_and_slots():
    assert [link.numerology(s) for s in (15, 30, 60, 120)] == [0, 1, 2, 3]
    assert link.slots_per_ms(30) == 2 and link.slots_per_ms(120) == 8
    with pytest.raises(ValueError, match="45 kHz"):
        link.numerology(45)


# ------------------------------------------------------------------------------------- rates (C.6)
# C.6 per-PRB table, Mb/s, CQI table 1, OH 0.14, 1 layer:
# c(CQI) = 12 * 14 * 2^mu * 1000 * SE(CQI) * 0.86, e.g. CQI 15 mu=1: 336000*5.5547*0.86 = 1.6051e6
C6_MU0 = [.0220, .0339, .0545, .0869, .1267, .1699, .2133, .2765, .3477, .3945, .4800, .5638,
          .6535, .7390, .8025]
C6_MU1 = [.0440, .0677, .1089, .1738, .2534, .3398, .4267, .5531, .6953, .7890, .9600, 1.1276,
          1.3071, 1.4781, 1.6051]


@pytest.mark.parametrize("scs, expected", [(15, C6_MU0), (30, C6_MU1)])
def test_rate_per_prb_matches_c6_table(scs, expected):
    se = link.cqi_efficiency(np.arange(1, 16))
    rate_mbps = link.rate_per_prb_bps(se, scs) / 1e6
    np.testing.assert_array_equal(np.round(rate_mbps, 4), expected)


def test_bits_per_prb_per_slot():
    # 12*14*5.5547*1*(1-0.14) = 168*5.5547*0.86 = 802.55 bits; 2 layers, OH 0 -> 168*5.5547*2
    assert link.bits_per_prb_per_slot(5.5547) == pytest.approx(802.5431, abs=1e-3)
    assert link.bits_per_prb_per_slot(5.5547, layers=2, overhead=0.0) == pytest.approx(1866.379,
                                                                                      abs=1e-3)


@pytest.mark.parametrize("qm, layers, dl, ul", [
    # C.6 worked numbers, FR1 40 MHz @ 30 kHz (106 PRB, mu=1):
    # 1e-6 * v * Qm * 948/1024 * 106*12 / (1e-3/28) * (1-OH); Qm 6, v 1, DL: 170.1 Mb/s
    (6, 1, 170.1, 182.0), (6, 2, 340.3, 364.0), (8, 1, 226.9, 242.7), (8, 2, 453.7, 485.4),
    (8, 4, 907.4, 970.7),
])
def test_peak_rate_38306_worked_numbers(qm, layers, dl, ul):
    assert round(float(link.peak_rate_38306_mbps(40, 30, qm, layers)), 1) == dl
    assert round(float(link.peak_rate_38306_mbps(40, 30, qm, layers, direction="UL")), 1) == ul


def test_peak_rate_38306_100mhz():
    # C.6 sanity: 100 MHz @ 30 kHz, 273 PRB, 256QAM, 4 layers, DL -> 2337.0 Mb/s
    assert round(float(link.peak_rate_38306_mbps(100, 30, 8, 4)), 1) == 2337.0
    # scaling factor f = 0.75 scales linearly
    assert link.peak_rate_38306_mbps(100, 30, 8, 4, scaling=0.75) == pytest.approx(
        0.75 * link.peak_rate_38306_mbps(100, 30, 8, 4))


def test_peak_rate_equals_per_prb_at_cqi15():
    # C.6: at CQI 15 (SE 5.5547 = 6*948/1024 rounded), 106 PRB, 30 kHz -> 170.1 Mb/s either way
    per_prb = link.rate_per_prb_bps(link.cqi_efficiency(15), 30)
    assert round(float(106 * per_prb / 1e6), 1) == 170.1


# --------------------------------------------------------------------------------------- TBS (C.5)
def test_tbs_small_table_lookup():
    # 1 PRB, MCS 0 (qam64: Qm 2, R 120), 12 symbols, 12 DMRS REs:
    # N'_RE = 12*12 - 12 = 132; N_info = 132 * 120/1024 * 2 = 30.94 <= 3824
    # n = max(3, floor(log2 30.94) - 6) = max(3, -2) = 3; N'_info = max(24, 8*floor(3.87)) = 24
    # smallest table entry >= 24 -> 24
    assert tbs.tbs_38214(1, 0) == 24
    # 10 PRB, MCS 4 (Qm 2, R 308): N_RE = 1320; N_info = 1320*308/1024*2 = 794.06
    # n = max(3, 9 - 6) = 3; N'_info = 8*floor(99.26) = 792; smallest entry >= 792 -> 808
    assert tbs.tbs_38214(10, 4) == 808


def test_tbs_large_one_code_block():
    # 25 PRB, MCS 9 (Qm 2, R 679): N_RE = 3300; N_info = 3300*679/1024*2 = 4376.37 > 3824
    # n = floor(log2(4352.37)) - 5 = 12 - 5 = 7; N'_info = max(3840, 128*round(34.003)) = 4352
    # R > 1/4 and N'_info <= 8424 -> TBS = 8*ceil(4376/8) - 24 = 4376 - 24 = 4352
    assert tbs.tbs_38214(25, 9) == 4352


def test_tbs_large_segmented():
    # 52 PRB, MCS 9: N_RE = 6864; N_info = 6864*679/1024*2 = 9102.84
    # n = floor(log2(9078.84)) - 5 = 13 - 5 = 8; N'_info = 256*round(35.46) = 8960
    # R > 1/4, N'_info > 8424 -> C = ceil(8984/8424) = 2; TBS = 16*ceil(8984/16) - 24 = 8968
    assert tbs.tbs_38214(52, 9) == 8968
    # 106 PRB, MCS 27 (Qm 6, R 910): N_RE = 13992; N_info = 13992*910/1024*6 = 74605.78
    # n = floor(log2(74581.78)) - 5 = 16 - 5 = 11; N'_info = 2048*round(36.42) = 73728
    # C = ceil(73752/8424) = 9; TBS = 72*ceil(73752/72) - 24 = 72*1025 - 24 = 73776
    assert tbs.tbs_38214(106, 27) == 73776


def test_tbs_low_rate_branch():
    # 273 PRB, MCS 0 (R 120/1024 = 0.117 <= 1/4), 4 layers: N_RE = 132*273 = 36036;
    # N_info = 36036*120/1024*2*4 = 33783.75; n = floor(log2(33759.75)) - 5 = 10;
    # N'_info = 1024*round(32.97) = 33792; C = ceil(33816/3816) = 9;
    # TBS = 72*ceil(33816/72) - 24 = 72*470 - 24 = 33816
    assert tbs.tbs_38214(273, 0, layers=4) == 33816


def test_tbs_vectorised_and_n_re_cap():
    out = tbs.tbs_38214(np.array([1, 10, 52]), np.array([0, 4, 9]))
    np.testing.assert_array_equal(out, [24, 808, 8968])
    # N'_RE is capped at 156: 14 symbols, 0 DMRS -> 168 -> 156, same as n_symb=13, n_dmrs=0
    assert tbs.tbs_38214(20, 10, n_symb=14, n_dmrs=0) == tbs.tbs_38214(20, 10, n_symb=13,
                                                                          n_dmrs=0)


@pytest.mark.parametrize("cqi", [5, 10, 15])
def test_closed_form_rate_close_to_tbs_rate(cqi):
    # Cross-check C.5 vs C.6: 106 PRB at 30 kHz (2000 slots/s), 14 symbols with 12 DMRS + 12
    # xOverhead REs per PRB -> 144 data REs, close to the closed form's 168*0.86 = 144.48 REs.
    mcs = link.cqi_to_mcs(cqi)
    tbs_rate = tbs.tbs_38214(106, mcs, n_symb=14, n_dmrs=12, n_oh=12) * 2000
    closed = 106 * link.rate_per_prb_bps(link.mcs_efficiency(mcs), 30)
    assert abs(tbs_rate / closed - 1) < 0.03
