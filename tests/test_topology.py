"""Tests of simran.radio.topology: hex layouts (TR 38.901 Table 7.2-1 style), presets, cell graph."""

import networkx as nx
import numpy as np
import pytest

from simran.radio import topology


def _site_distances(xy):
    d = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    return d


@pytest.mark.parametrize("rings, n_sites", [(0, 1), (1, 7), (2, 19), (3, 37)])
def test_hex_site_counts(rings, n_sites):
    # 1 + 6 * (1 + 2 + ... + r) = 1 + 3 r (r + 1)
    assert topology.hex_sites(rings, 500.0).shape == (n_sites, 2)


@pytest.mark.parametrize("rings", [1, 2])
def test_hex_nearest_neighbour_distance_is_isd(rings):
    xy = topology.hex_sites(rings, 500.0)
    d = _site_distances(xy)
    np.testing.assert_allclose(d.min(axis=1), 500.0)
    # all sites distinct and on the lattice: every pairwise distance is ISD*sqrt(a^2+ab+b^2)
    assert np.unique(np.round(xy, 6), axis=0).shape[0] == xy.shape[0]


def test_hex_order_centre_first_then_counter_clockwise():
    xy = topology.hex_sites(2, 500.0)
    np.testing.assert_allclose(xy[0], [0.0, 0.0])
    # ring 1 starts at the 30 deg corner: 500 (cos 30, sin 30) = (433.013, 250)
    np.testing.assert_allclose(xy[1], [433.0127, 250.0], atol=1e-4)
    # ring 1: radius ISD, bearings 30, 90, ..., 330 increasing (counter-clockwise)
    ring1 = xy[1:7]
    np.testing.assert_allclose(np.hypot(*ring1.T), 500.0)
    bearings = np.mod(np.degrees(np.arctan2(ring1[:, 1], ring1[:, 0])), 360.0)
    np.testing.assert_allclose(bearings, [30, 90, 150, 210, 270, 330], atol=1e-9)
    # ring 2 starts at the 30 deg corner at 2 ISD, next site one step along 150 deg:
    # (866.025, 500) + 500 (cos 150, sin 150) = (433.013, 750)
    np.testing.assert_allclose(xy[7], [866.0254, 500.0], atol=1e-4)
    np.testing.assert_allclose(xy[8], [433.0127, 750.0], atol=1e-4)
    ring2 = xy[7:]
    b2 = np.unwrap(np.arctan2(ring2[:, 1], ring2[:, 0]))
    assert np.all(np.diff(b2) > 0)


def test_boresights_face_neighbouring_sites():
    # lattice directions 30 + 60k: from the centre, each boresight 30/150/270 points at a site
    xy = topology.hex_sites(1, 200.0)
    for az in (30.0, 150.0, 270.0):
        target = 200.0 * np.array([np.cos(np.radians(az)), np.sin(np.radians(az))])
        assert np.min(np.linalg.norm(xy - target, axis=1)) < 1e-6


@pytest.mark.parametrize("rings, n_sites", [(0, 1), (1, 7), (2, 19)])
def test_hex_grid_cells(rings, n_sites):
    topo = topology.hex_grid(rings, 500.0)
    assert topo.n_sites == n_sites and topo.n_cells == 3 * n_sites
    np.testing.assert_array_equal(topo.cell_site, np.repeat(np.arange(n_sites), 3))
    np.testing.assert_array_equal(topo.cell_sector, np.tile([0, 1, 2], n_sites))
    np.testing.assert_array_equal(topo.cell_azimuth_deg, np.tile([30.0, 150.0, 270.0], n_sites))
    np.testing.assert_array_equal(topo.cell_xy, topo.site_xy[topo.cell_site])
    assert topo.isd_m == 500.0
    assert topo.graph.number_of_nodes() == 3 * n_sites


def test_graph_edges_one_ring():
    topo = topology.hex_grid(1, 500.0)
    g = topo.graph
    kinds = nx.get_edge_attributes(g, "kind")
    # intra-site: 3 pairs per site x 7 sites = 21
    assert sum(k == "intra_site" for k in kinds.values()) == 21
    # neighbouring site pairs: 6 (centre-ring) + 6 (ring-ring adjacent) = 12, x 3 x 3 cells = 108
    assert sum(k == "neighbour" for k in kinds.values()) == 108
    # centre site's cell 0 neighbours: its 2 sectors + 6 sites x 3 cells = 20
    assert g.degree[0] == 20
    # a ring-1 site touches the centre and 2 ring-1 sites: 2 + 3 x 3 = 11
    assert g.degree[3] == 11
    for a, b, data in g.edges(data=True):
        assert b in g[a] and a in g[b]
        expected = 0.0 if data["kind"] == "intra_site" else 500.0
        assert data["distance_m"] == pytest.approx(expected)


def test_graph_neighbour_relation_symmetric_in_sites():
    topo = topology.hex_grid(2, 200.0)
    site_adj = np.zeros((topo.n_sites, topo.n_sites), dtype=bool)
    for a, b, data in topo.graph.edges(data=True):
        if data["kind"] == "neighbour":
            site_adj[topo.cell_site[a], topo.cell_site[b]] = True
            site_adj[topo.cell_site[b], topo.cell_site[a]] = True
    np.testing.assert_array_equal(site_adj, site_adj.T)
    # neighbours are exactly the sites at ISD
    d = _site_distances(topo.site_xy)
    np.testing.assert_array_equal(site_adj, np.isclose(d, 200.0))
    # centre has 6 neighbouring sites, ring-2 corner sites have 3
    assert site_adj[0].sum() == 6 and site_adj[7].sum() == 3


def test_node_attributes():
    topo = topology.hex_grid(1, 500.0)
    node = topo.graph.nodes[4]  # site 1, sector 1
    assert node["site"] == 1 and node["sector"] == 1 and node["azimuth_deg"] == 150.0
    assert (node["x_m"], node["y_m"]) == pytest.approx((433.0127, 250.0), abs=1e-4)


def test_hermes10():
    topo = topology.hermes10()
    # 10 tri-sectorised sites = centre + ring 1 + first 3 ring-2 sites, 30 cells
    assert topo.n_sites == 10 and topo.n_cells == 30
    np.testing.assert_allclose(topo.site_xy, topology.hex_sites(2, 500.0)[:10])
    np.testing.assert_allclose(_site_distances(topo.site_xy).min(axis=1), 500.0)
    assert nx.is_connected(topo.graph)


def test_from_sites_omni_and_custom():
    topo = topology.from_sites([[0.0, 0.0]], sectors=1)
    assert topo.n_cells == 1 and topo.cell_azimuth_deg.tolist() == [0.0]
    assert np.isnan(topo.isd_m) and topo.graph.number_of_edges() == 0
    # isd defaults to the smallest site distance
    two = topology.from_sites([[0, 0], [300, 400]], sectors=2, boresights_deg=(0, 180))
    assert two.isd_m == pytest.approx(500.0)
    assert two.cell_azimuth_deg.tolist() == [0.0, 180.0, 0.0, 180.0]
    assert two.graph.number_of_edges() == 2 + 4  # 2 intra-site pairs + 2x2 neighbour pairs


def test_from_sites_errors():
    with pytest.raises(ValueError, match="boresights_deg has 3 entries but sectors = 2"):
        topology.from_sites([[0, 0]], sectors=2)
    with pytest.raises(ValueError, match="rings"):
        topology.hex_sites(-1, 500.0)
