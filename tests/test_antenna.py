"""Tests of simran.radio.antenna against TR 38.901 Table 7.3-1 (radio-reference C.9)."""

import numpy as np
import pytest

from simran.radio import antenna


@pytest.mark.parametrize("phi, expected", [
    # on the horizon (zenith 90 deg, A_V = 0), G = 8 dBi - min(12 (phi/65)^2, 30)
    (0.0, 8.0),         # boresight: G_E,max
    (32.5, 5.0),        # 12 * (32.5/65)^2 = 3 dB -> half-power point
    (-32.5, 5.0),
    (65.0, -4.0),       # 12 * 1 = 12 dB
    (-65.0, -4.0),
    (180.0, -22.0),     # 12 * (180/65)^2 = 92 -> capped at A_max = 30 dB
    (-180.0, -22.0),
    # 12 * (100/65)^2 = 12 * 2.36686 = 28.402 dB < 30 (not capped) -> 8 - 28.402 = -20.402
    (100.0, -20.402),
])
def test_horizontal_cut(phi, expected):
    assert antenna.sector_gain_dbi(phi, 90.0) == pytest.approx(expected, abs=1e-3)


def test_azimuth_is_wrapped():
    # 350 deg off boresight is -10 deg: 8 - 12*(10/65)^2 = 8 - 0.2840 = 7.7160 dBi
    assert antenna.sector_gain_dbi(350.0, 90.0) == pytest.approx(7.7160, abs=1e-4)
    assert antenna.sector_gain_dbi(-370.0, 90.0) == pytest.approx(7.7160, abs=1e-4)
    np.testing.assert_allclose(antenna.wrap_deg([180.0, 190.0, -190.0, 720.0]),
                               [-180.0, -170.0, 170.0, 0.0])


@pytest.mark.parametrize("zenith, tilt, expected", [
    # boresight azimuth; A_V = -min(12 ((theta - 90 - tilt)/65)^2, 30)
    (90.0, 0.0, 8.0),
    (122.5, 0.0, 5.0),            # 32.5 deg below the horizon: -3 dB
    (57.5, 0.0, 5.0),             # 32.5 deg above: -3 dB
    (155.0, 0.0, -4.0),           # 65 deg below: -12 dB
    (0.0, 0.0, 8.0 - 12.0 * (90.0 / 65.0) ** 2),   # zenith: 12*1.91716 = 23.006 -> -15.006
    (102.0, 12.0, 8.0),           # 12 deg tilt: beam points at zenith 102 deg
    (90.0, 12.0, 8.0 - 12.0 * (12.0 / 65.0) ** 2),  # horizon with 12 deg tilt: -0.409 dB
])
def test_vertical_cut(zenith, tilt, expected):
    assert antenna.sector_gain_dbi(0.0, zenith, downtilt_deg=tilt) == pytest.approx(expected)


def test_vertical_sla_cap():
    # theta_3dB = 10 deg (TR 36.814 style): 12*(90/10)^2 = 972 dB -> capped at SLA_V = 20 dB
    g = antenna.sector_gain_dbi(0.0, 0.0, theta_3db=10.0, sla_v=20.0, a_max=30.0)
    assert g == pytest.approx(8.0 - 20.0)


def test_3d_sum_and_a_max_cap():
    # (phi, theta) = (65, 155): A_H = -12, A_V = -12 -> A = -min(24, 30) = -24 -> -16 dBi
    assert antenna.sector_gain_dbi(65.0, 155.0) == pytest.approx(-16.0)
    # (90, 155): A_H = -23.006, A_V = -12 -> sum 35.006 > 30 -> capped: 8 - 30 = -22 dBi
    assert antenna.sector_gain_dbi(90.0, 155.0) == pytest.approx(-22.0)
    # back lobe plus steep elevation never goes below G - A_max
    g = antenna.sector_gain_dbi(np.linspace(-180, 180, 73)[:, None], np.linspace(0, 180, 37))
    assert g.min() == pytest.approx(-22.0) and g.max() == pytest.approx(8.0)


def test_broadcasting_shapes():
    g = antenna.sector_gain_dbi(np.zeros((3, 5)), np.full(5, 90.0), downtilt_deg=np.zeros((3, 1)))
    assert g.shape == (3, 5)
    assert antenna.omni_gain_dbi(np.zeros((3, 5)), 90.0).shape == (3, 5)
    np.testing.assert_array_equal(antenna.omni_gain_dbi([0, 90], [90, 10], gain_dbi=2.0), [2, 2])


def test_angles_geometry():
    bs_xy = np.array([[0.0, 0.0], [100.0, 0.0]])
    bs_az = np.array([30.0, 180.0])
    ue_xy = np.array([[100.0, 0.0], [0.0, 23.5]])
    phi, zen, d2d, d3d = antenna.angles(bs_xy, bs_az, 25.0, ue_xy, 1.5)
    assert phi.shape == zen.shape == d2d.shape == d3d.shape == (2, 2)
    # cell 0 (az 30) -> UE 0 at bearing 0: phi = -30; -> UE 1 at bearing 90: phi = 60
    np.testing.assert_allclose(phi[0], [-30.0, 60.0])
    # cell 1 at (100, 0), az 180 -> UE 0 co-located (bearing atan2(0,0)=0): phi = -180 (wrapped)
    # -> UE 1 at bearing atan2(23.5, -100) = 166.775 deg: phi = -13.225
    assert phi[1, 1] == pytest.approx(np.degrees(np.arctan2(23.5, -100.0)) - 180.0)
    # cell 0 -> UE 1: d2d = 23.5, dz = 1.5 - 25 = -23.5 -> zenith = 135 deg, d3d = 23.5*sqrt 2
    assert zen[0, 1] == pytest.approx(135.0)
    assert d3d[0, 1] == pytest.approx(23.5 * np.sqrt(2.0))
    # co-located UE: straight down, zenith 180, d3d = height difference
    assert zen[1, 0] == pytest.approx(180.0) and d3d[1, 0] == pytest.approx(23.5)


def test_angles_per_cell_and_per_ue_heights():
    _, zen, _, d3d = antenna.angles([[0, 0], [0, 0]], [0, 0], np.array([25.0, 10.0]),
                                    [[10, 0], [20, 0]], np.array([1.5, 10.0]))
    # cell 1 (10 m) to UE 1 (10 m): same height -> zenith 90, d3d = d2d = 20
    assert zen[1, 1] == pytest.approx(90.0) and d3d[1, 1] == pytest.approx(20.0)
    # cell 0 (25 m) to UE 0 (1.5 m) at 10 m: zenith = 90 + atan(23.5/10) = 156.95 deg
    assert zen[0, 0] == pytest.approx(90.0 + np.degrees(np.arctan(23.5 / 10.0)))
