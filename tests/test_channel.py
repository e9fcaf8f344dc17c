"""Tests of simran.radio.channel against TR 38.901 (radio-reference C.8, C.10) and field statistics."""

import numpy as np
import pytest

from simran.errors import SimranError
from simran.radio import channel

N_FIELDS = 20_000  # realisations for the statistical tests


# -------------------------------------------------------------------------------- path loss (C.10)
def test_breakpoint_distance():
    # d'_BP = 4 (h_BS - 1)(h_UT - 1) f_c / c: UMa 4*24*0.5*3.5e9/3e8 = 560 m;
    # UMi 4*9*0.5*3.5e9/3e8 = 210 m
    assert channel.breakpoint_distance_m(3.5, 25.0, 1.5) == pytest.approx(560.0)
    assert channel.breakpoint_distance_m(3.5, 10.0, 1.5) == pytest.approx(210.0)


def test_uma_sanity_values():
    # C.10 sanity values: UMa, 3.5 GHz, h_BS 25 m, h_UT 1.5 m, d_2D 50/100/250/500 m (< d'_BP);
    # e.g. LOS 50 m: d_3D = sqrt(50^2 + 23.5^2) = 55.25; 28 + 22 log10(55.25) + 20 log10(3.5)
    #   = 28 + 38.33 + 10.88 = 77.2 dB
    d2d = np.array([50.0, 100.0, 250.0, 500.0])
    los = channel.pathloss_db("UMa", True, d2d, 3.5, 25.0, 1.5)
    nlos = channel.pathloss_db("UMa", False, d2d, 3.5, 25.0, 1.5)
    np.testing.assert_allclose(los, [77.2, 83.1, 91.7, 98.3], atol=0.05)
    np.testing.assert_allclose(nlos, [92.5, 103.0, 118.2, 129.9], atol=0.05)


def test_umi_hand_values():
    # UMi LOS, 100 m: d_3D = sqrt(100^2 + 8.5^2) = 100.3606; 32.4 + 21*2.001564 + 20*0.544068
    #   = 32.4 + 42.0328 + 10.8814 = 85.314 dB
    # UMi NLOS', 100 m: 22.4 + 35.3*2.001564 + 21.3*0.544068 = 22.4 + 70.6552 + 11.5887
    #   = 104.644 dB (> LOS, so NLOS = 104.644)
    # UMi LOS, 300 m (> d'_BP = 210 m): d_3D = 300.1204;
    #   32.4 + 40*2.477296 + 10.8814 - 9.5 log10(210^2 + 8.5^2 = 44172.25 -> 4.645151)
    #   = 32.4 + 99.0918 + 10.8814 - 44.1289 = 98.244 dB
    pl = channel.pathloss_db("UMi", np.array([True, False, True]), np.array([100.0, 100.0, 300.0]),
                             3.5, 10.0, 1.5)
    np.testing.assert_allclose(pl, [85.314, 104.644, 98.244], atol=2e-3)


@pytest.mark.parametrize("scenario, h_bs", [("UMa", 25.0), ("UMi", 10.0)])
def test_los_continuous_at_breakpoint(scenario, h_bs):
    # At d_2D = d'_BP: PL2 - PL1 = (40 - 22) log10(d_3D) - 18/2 log10(d'_BP^2 + dh^2) = 0 (UMa;
    # UMi: 40 - 21 = 19 = 2*9.5), so the LOS curve is continuous.
    d_bp = float(channel.breakpoint_distance_m(3.5, h_bs, 1.5))
    pl = channel.pathloss_db(scenario, True, np.array([d_bp, d_bp * (1 + 1e-9)]), 3.5, h_bs, 1.5)
    assert pl[1] == pytest.approx(pl[0], abs=1e-6)


@pytest.mark.parametrize("scenario", ["UMa", "UMi"])
def test_nlos_never_below_los_and_monotone(scenario):
    d2d = np.linspace(10, 5000, 2000)
    los = channel.pathloss_db(scenario, True, d2d, 3.5, 25.0, 1.5)
    nlos = channel.pathloss_db(scenario, False, d2d, 3.5, 25.0, 1.5)
    assert np.all(nlos >= los)
    assert np.all(np.diff(los) > 0) and np.all(np.diff(nlos) > 0)


def test_d2d_clipped_to_10m():
    pl = channel.pathloss_db("UMa", True, np.array([0.0, 1.0, 10.0]), 3.5, 25.0, 1.5)
    assert pl[0] == pl[1] == pl[2]


def test_pathloss_broadcasts_cells_by_ues():
    los = np.zeros((3, 4), dtype=bool)
    pl = channel.pathloss_db("UMa", los, np.full((3, 4), 100.0), 3.5,
                             np.array([[25.0], [25.0], [30.0]]), np.full(4, 1.5))
    assert pl.shape == (3, 4)
    assert pl[0, 0] == pytest.approx(103.0, abs=0.05)


def test_unknown_scenario():
    with pytest.raises(SimranError, match="valid: UMa, UMi"):
        channel.pathloss_db("RMa", True, 100.0, 3.5, 35.0, 1.5)


# --------------------------------------------------------------------------------- LOS probability
def test_los_probability_values():
    # UMa, h_UT 1.5 (C' = 0): 18/d + exp(-d/63)(1 - 18/d)
    #   d = 100: 0.18 + 0.82*exp(-1.587302) = 0.18 + 0.82*0.204477 = 0.347671
    #   d = 200: 0.09 + 0.91*exp(-3.174603) = 0.09 + 0.91*0.041811 = 0.128048
    # UMi, d = 100: 0.18 + 0.82*exp(-2.777778) = 0.18 + 0.82*0.062177 = 0.230985
    # UMa, h_UT 18 m: C' = (0.5)^1.5 = 0.353553; factor 1 + 0.353553*1.25*1*exp(-2/3)
    #   = 1 + 0.353553*1.25*0.513417 = 1.226900 -> 0.347671*1.226900 = 0.426557
    uma = channel.los_probability("UMa", np.array([5.0, 18.0, 100.0, 200.0]), 1.5)
    np.testing.assert_allclose(uma, [1.0, 1.0, 0.347671, 0.128048], atol=2e-6)
    assert channel.los_probability("UMi", 100.0) == pytest.approx(0.230985, abs=2e-6)
    assert channel.los_probability("UMa", 100.0, 18.0) == pytest.approx(0.426557, abs=2e-6)
    # C'(h_UT) = 0 up to 13 m
    assert channel.los_probability("UMa", 100.0, 13.0) == pytest.approx(0.347671, abs=2e-6)


def test_shadow_sigma_and_distances():
    # TR 38.901 Table 7.4.1-1 sigma_SF and Table 7.5-6 decorrelation distances
    np.testing.assert_array_equal(channel.shadow_sigma_db("UMa", [True, False]), [4.0, 6.0])
    np.testing.assert_array_equal(channel.shadow_sigma_db("UMi", [True, False]), [4.0, 7.82])
    assert channel.shadow_decorrelation_m("UMa", True) == 37.0
    assert channel.shadow_decorrelation_m("UMa", False) == 50.0
    assert channel.shadow_decorrelation_m("UMi", True) == 10.0
    assert channel.shadow_decorrelation_m("UMi", False) == 13.0
    assert channel.los_correlation_m("UMa") == 50.0 and channel.los_correlation_m("UMi") == 15.0


# ------------------------------------------------------------------------------------- noise (C.8)
@pytest.mark.parametrize("bw_hz, nf_db, expected_dbm", [
    # N = 10 log10(k T 1000) + 10 log10(B) + NF, kT = 1.380649e-23 * 290 -> -173.975 dBm/Hz
    (180e3, 0.0, -121.4),     # 1 PRB @ 15 kHz: -173.975 + 52.553
    (360e3, 0.0, -118.4),     # 1 PRB @ 30 kHz
    (38.16e6, 0.0, -98.2),    # 106 PRB @ 30 kHz
    (20e6, 0.0, -101.0),
    (40e6, 0.0, -98.0),
    (360e3, 9.0, -109.4),
    (38.16e6, 9.0, -89.2),
])
def test_thermal_noise_c8(bw_hz, nf_db, expected_dbm):
    assert channel.thermal_noise_dbm(bw_hz, nf_db) == pytest.approx(expected_dbm, abs=0.06)


def test_thermal_noise_density_is_kT_not_174():
    # 1 Hz: 10 log10(1.380649e-23 * 290 * 1e3) = -173.9752 dBm (not exactly -174)
    assert channel.thermal_noise_dbm(1.0) == pytest.approx(-173.9752, abs=1e-4)


# ------------------------------------------------------------------------------------------ fields
@pytest.fixture(scope="module")
def field_stats():
    d_cor = 50.0
    field = channel.CorrelatedField(np.random.default_rng(20240607), N_FIELDS, d_cor)
    c45 = np.cos(np.radians(45.0))
    points = np.array([[0.0, 0.0], [d_cor, 0.0], [0.0, d_cor], [2 * d_cor * c45, 2 * d_cor * c45]])
    return d_cor, field.sample(points)


def test_field_mean_and_variance(field_stats):
    _, values = field_stats
    # iid over realisations: sd(mean) = 1/sqrt(N) = 0.0071 -> 5 sigma = 0.035;
    # sd(sample var) ~ sqrt(2/N) = 0.010 (near-Gaussian marginal) -> 5 sigma = 0.05
    for v in values.T:
        assert abs(v.mean()) < 5 / np.sqrt(N_FIELDS)
        assert abs(v.var() - 1.0) < 5 * np.sqrt(2 / N_FIELDS)


def test_field_exponential_autocorrelation(field_stats):
    _, values = field_stats
    # E[f(x) f(x + D)] = exp(-|D|/d_cor). Estimator mean of products; Var(XY) = 1 + rho^2 for
    # unit bivariate normals -> sd = sqrt((1 + rho^2)/N): rho = e^-1 -> 0.0075, e^-2 -> 0.0071.
    for j, rho in [(1, np.exp(-1.0)), (2, np.exp(-1.0)), (3, np.exp(-2.0))]:
        est = np.mean(values[:, 0] * values[:, j])
        assert abs(est - rho) < 5 * np.sqrt((1 + rho**2) / N_FIELDS), (j, est, rho)


def test_field_deterministic_and_position_only():
    xy = np.random.default_rng(0).uniform(-500, 500, (300, 2))
    a = channel.CorrelatedField(np.random.default_rng(7), 5, 37.0).sample(xy)
    b = channel.CorrelatedField(np.random.default_rng(7), 5, 37.0).sample(xy)
    c = channel.CorrelatedField(np.random.default_rng(8), 5, 37.0).sample(xy)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert a.shape == (5, 300)


def test_field_chunking_does_not_change_values():
    # many points force one field per chunk; a few points process all fields at once
    field = channel.CorrelatedField(np.random.default_rng(3), 4, 50.0)
    xy = np.random.default_rng(4).uniform(0, 1000, (20_000, 2))
    np.testing.assert_allclose(field.sample(xy)[:, :7], field.sample(xy[:7]), atol=1e-12)


def test_field_rejects_bad_parameters():
    with pytest.raises(ValueError, match="decorrelation_m > 0"):
        channel.CorrelatedField(np.random.default_rng(0), 3, 0.0)


@pytest.fixture(scope="module")
def los_field():
    return channel.CorrelatedField(np.random.default_rng(99), N_FIELDS,
                                   channel.los_correlation_m("UMa"))


def test_los_marginal_matches_probability(los_field):
    # LOS iff Phi(field) < P_LOS(d): P(LOS) = P_LOS exactly for a Gaussian field.
    # Binomial CI over N realisations: sd = sqrt(p(1-p)/N), tolerance 4.5 sd.
    d2d = np.array([30.0, 100.0, 200.0, 400.0])
    xy = np.column_stack([d2d, np.zeros_like(d2d)])
    p = channel.los_probability("UMa", d2d)
    los = channel.los_from_field(los_field.sample(xy), p)
    freq = los.mean(axis=0)
    np.testing.assert_array_less(np.abs(freq - p), 4.5 * np.sqrt(p * (1 - p) / N_FIELDS))


def test_los_state_spatial_consistency(los_field):
    # With P_LOS = 0.5 at two points D = d_cor apart, the states disagree with probability
    # P(sign X != sign Y) = arccos(rho)/pi, rho = e^-1 = 0.367879 -> 1.194239/pi = 0.380137;
    # at D = 1 m: rho = e^(-1/50) = 0.980199 -> arccos = 0.199335 -> 0.063451.
    xy = np.array([[0.0, 0.0], [50.0, 0.0], [1.0, 0.0]])
    los = channel.los_from_field(los_field.sample(xy), 0.5)
    for j, expected in [(1, 0.380137), (2, 0.063451)]:
        freq = np.mean(los[:, 0] != los[:, j])
        assert abs(freq - expected) < 5 * np.sqrt(expected * (1 - expected) / N_FIELDS)


def test_field_gaussian_kernel_autocorrelation():
    # kernel="gaussian": E[f(x) f(x + D)] = exp(-(|D|/d)^2): D = d -> e^-1, D = d/2 -> e^-0.25,
    # D = 2d -> e^-4. Same estimator tolerance as the exponential test (5 sd).
    d_cor = 15.0
    field = channel.CorrelatedField(np.random.default_rng(5), N_FIELDS, d_cor, kernel="gaussian")
    pts = np.array([[0.0, 0.0], [d_cor, 0.0], [0.0, d_cor / 2], [2 * d_cor, 0.0]])
    v = field.sample(pts)
    for j, rho in [(1, np.exp(-1.0)), (2, np.exp(-0.25)), (3, np.exp(-4.0))]:
        est = np.mean(v[:, 0] * v[:, j])
        assert abs(est - rho) < 5 * np.sqrt((1 + rho**2) / N_FIELDS), (j, est, rho)


def test_los_state_on_a_gaussian_field_rarely_flips_along_a_walk():
    # a threshold on the smooth field crosses O(1/d) times per metre; on the rough exponential
    # field it flips far more often (each flip is a ~20 dB path-loss step for the UE)
    x = np.column_stack([np.arange(0, 200, 0.1), np.zeros(2000)])
    flips = {}
    for kernel in ("gaussian", "exponential"):
        f = channel.CorrelatedField(np.random.default_rng(11), 200, 15.0, kernel=kernel)
        los = channel.los_from_field(f.sample(x), 0.5)
        flips[kernel] = np.abs(np.diff(los.astype(int), axis=1)).sum(axis=1).mean()
    assert flips["gaussian"] < 30 and flips["exponential"] > 2 * flips["gaussian"], flips


def test_field_rejects_unknown_kernel():
    with pytest.raises(ValueError, match="kernel"):
        channel.CorrelatedField(np.random.default_rng(0), 3, 10.0, kernel="matern")
