"""Network topology: hexagonal layouts of (tri-)sectorised sites and the cell neighbour graph.

Hexagonal grids follow the 3GPP / ITU-R evaluation layouts (TR 38.901 Table 7.2-1, radio-reference
C.11): sites on a hexagonal lattice of inter-site distance ISD, three sectors per site with
boresights 30°, 150°, 270° (C.9; azimuths counter-clockwise from +x). The lattice is oriented so
that the nearest-neighbour directions are 30° + k·60°: each sector then faces a neighbouring
site and the sector cells (circumradius ISD/3, centred ISD/3 along the boresight) tile the plane —
the classic clover-leaf layout.

Cells are indexed ``site * sectors + sector``. ``Topology.graph`` is a :mod:`networkx` graph of
cells: ``intra_site`` edges join the sectors of one site, ``neighbour`` edges join every cell of
two sites at most 1.01·ISD apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from simran.errors import SimranError

DEFAULT_BORESIGHTS_DEG = (30.0, 150.0, 270.0)
NEIGHBOUR_TOLERANCE = 1.01
"""Sites at most this many ISDs apart are neighbours."""


class TopologyError(SimranError, ValueError):
    """Invalid layout parameters (rings, ISD, sectors/boresights, site array)."""


@dataclass
class Topology:
    """Cells of a multi-site network.

    Attributes
    ----------
    site_xy : ndarray, shape [S, 2]
        Site positions in metres.
    cell_site : ndarray of int, shape [C]
        Site index of each cell.
    cell_sector : ndarray of int, shape [C]
        Sector index of each cell within its site.
    cell_xy : ndarray, shape [C, 2]
        Cell antenna positions in metres (= its site's position).
    cell_azimuth_deg : ndarray, shape [C]
        Boresight azimuth, degrees counter-clockwise from +x (0 for omni cells).
    isd_m : float
        Inter-site distance in metres (NaN for a single site without a given ISD).
    graph : networkx.Graph
        Nodes = cell index (attrs ``site, sector, x_m, y_m, azimuth_deg``); edges with attrs
        ``kind`` ("intra_site" or "neighbour") and ``distance_m`` (site-to-site distance).
    """

    site_xy: np.ndarray
    cell_site: np.ndarray
    cell_sector: np.ndarray
    cell_xy: np.ndarray
    cell_azimuth_deg: np.ndarray
    isd_m: float
    graph: nx.Graph = field(repr=False)

    @property
    def n_sites(self) -> int:
        """Number of sites S."""
        return int(self.site_xy.shape[0])

    @property
    def n_cells(self) -> int:
        """Number of cells C."""
        return int(self.cell_site.shape[0])


def _unit(angle_deg: float) -> np.ndarray:
    rad = np.radians(angle_deg)
    return np.array([np.cos(rad), np.sin(rad)])


def hex_sites(rings: int, isd_m: float) -> np.ndarray:
    """Site positions of a hexagonal grid with ``rings`` rings around a centre site.

    Parameters
    ----------
    rings : int
        0 → 1 site, 1 → 7, 2 → 19 (1 + 3·r·(r + 1)).
    isd_m : float
        Inter-site distance in metres.

    Returns
    -------
    ndarray, shape [S, 2] (m)
        Centre first, then ring by ring; each ring starts at the corner in direction 30°
        (distance r·ISD) and walks counter-clockwise.
    """
    if rings < 0 or isd_m <= 0:
        raise TopologyError(f"hex_sites needs rings ≥ 0 and isd_m > 0 (got {rings}, {isd_m})")
    points = [np.zeros(2)]
    for r in range(1, rings + 1):
        for k in range(6):
            corner = r * isd_m * _unit(30.0 + 60.0 * k)
            step = isd_m * _unit(150.0 + 60.0 * k)
            points += [corner + j * step for j in range(r)]
    return np.round(np.array(points), 9)


def _boresights(sectors: int, boresights_deg) -> np.ndarray:
    if sectors < 1:
        raise TopologyError(f"sectors must be ≥ 1 (got {sectors})")
    if sectors == 1:
        return np.zeros(1)
    az = np.asarray(boresights_deg, dtype=float).ravel()
    if az.size != sectors:
        raise TopologyError(f"boresights_deg has {az.size} entries but sectors = {sectors}")
    return az


def _min_site_distance(site_xy: np.ndarray) -> float:
    if site_xy.shape[0] < 2:
        return float("nan")
    d = np.linalg.norm(site_xy[:, None] - site_xy[None], axis=-1)
    return float(d[np.triu_indices(site_xy.shape[0], 1)].min())


def _cell_graph(site_xy, cell_site, cell_sector, cell_azimuth_deg, isd_m) -> nx.Graph:
    graph = nx.Graph()
    for c in range(cell_site.size):
        x, y = site_xy[cell_site[c]]
        graph.add_node(c, site=int(cell_site[c]), sector=int(cell_sector[c]), x_m=float(x),
                       y_m=float(y), azimuth_deg=float(cell_azimuth_deg[c]))
    # [S, S] site distances
    d_site = np.linalg.norm(site_xy[:, None] - site_xy[None], axis=-1)
    limit = NEIGHBOUR_TOLERANCE * isd_m if np.isfinite(isd_m) else -1.0
    for a, b in zip(*np.triu_indices(cell_site.size, 1)):
        sa, sb = cell_site[a], cell_site[b]
        if sa == sb:
            graph.add_edge(int(a), int(b), kind="intra_site", distance_m=0.0)
        elif d_site[sa, sb] <= limit:
            graph.add_edge(int(a), int(b), kind="neighbour", distance_m=float(d_site[sa, sb]))
    return graph


def from_sites(site_xy, sectors: int = 3, boresights_deg=DEFAULT_BORESIGHTS_DEG,
               isd_m: float | None = None) -> Topology:
    """Build a topology from site positions.

    Parameters
    ----------
    site_xy : array_like, shape [S, 2]
        Site positions in metres.
    sectors : int
        Sectors (cells) per site; 1 means one omni cell per site with azimuth 0.
    boresights_deg : sequence of float
        Boresight azimuth of each sector (length ``sectors``; ignored when ``sectors == 1``).
    isd_m : float, optional
        Inter-site distance; default = the smallest distance between two sites (NaN for one
        site, which then has no neighbour edges).

    Returns
    -------
    Topology
    """
    site_xy = np.asarray(site_xy, dtype=float).reshape(-1, 2)
    if site_xy.shape[0] == 0:
        raise TopologyError("site_xy is empty")
    azimuths = _boresights(sectors, boresights_deg)
    isd = _min_site_distance(site_xy) if isd_m is None else float(isd_m)
    cell_site = np.repeat(np.arange(site_xy.shape[0]), sectors)
    cell_sector = np.tile(np.arange(sectors), site_xy.shape[0])
    cell_az = azimuths[cell_sector]
    graph = _cell_graph(site_xy, cell_site, cell_sector, cell_az, isd)
    return Topology(site_xy=site_xy, cell_site=cell_site, cell_sector=cell_sector,
                    cell_xy=site_xy[cell_site], cell_azimuth_deg=cell_az, isd_m=isd, graph=graph)


def hex_grid(rings: int, isd_m: float, sectors: int = 3,
             boresights_deg=DEFAULT_BORESIGHTS_DEG) -> Topology:
    """Hexagonal grid of sectorised sites (TR 38.901 Table 7.2-1 style; 2 rings = 19 sites).

    Parameters
    ----------
    rings : int
        Rings around the centre site (0, 1, 2, … → 1, 7, 19, … sites).
    isd_m : float
        Inter-site distance in metres (UMa 500 m, UMi 200 m in TR 38.901).
    sectors : int
        Sectors per site (1 = omni).
    boresights_deg : sequence of float
        Sector boresights, degrees counter-clockwise from +x.

    Returns
    -------
    Topology
    """
    return from_sites(hex_sites(rings, isd_m), sectors, boresights_deg, isd_m=isd_m)


def hermes10(isd_m: float = 500.0) -> Topology:
    """The 10 tri-sectorised base-station network of Hermes (papers/000 §IV), as a preset.

    The paper states only "10 tri-sectorized BSs". simran's choice: the 7-site hexagon (centre +
    ring 1) plus the first three sites of ring 2 in :func:`hex_sites` order (the ring-2 corner
    at 30° and the next two sites counter-clockwise), ISD 500 m, boresights 30°/150°/270° —
    10 sites, 30 cells.

    Parameters
    ----------
    isd_m : float
        Inter-site distance in metres.

    Returns
    -------
    Topology
    """
    return from_sites(hex_sites(2, isd_m)[:10], 3, DEFAULT_BORESIGHTS_DEG, isd_m=isd_m)
