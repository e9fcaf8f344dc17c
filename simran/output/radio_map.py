"""Radio maps: the best-server RSRP, the downlink SINR and the serving cell over a grid.

The map is what ns-3 calls a REM (radio environment map) and Sionna a radio map: the large-scale
channel of the scenario (TR 38.901 antenna pattern Table 7.3-1, path loss Table 7.4.1-1, LOS
probability Table 7.4.2-1, spatially consistent shadowing and LOS §7.6.3) evaluated at every
grid point as if a UE stood there, with the same ``channel`` random stream as a run of the
scenario, so the shadowing is the run's. Interference assumes every cell that is on transmits
on a fraction ``load`` of its PRBs (1 = full load, the worst case; a run's cells are usually less
loaded), with no fast fading:

.. math:: \\mathrm{SINR}(x) = \\frac{P_c G_c(x)}{\\sum_{j \\ne c} \\ell P_j G_j(x) + N}

with c the strongest-RSRP cell at x (radio-reference C.8; RSRP per TS 38.215 §5.1.1).
numpy only; :func:`plot_radio_map` imports matplotlib lazily.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: grid points per axis by default (a 21-cell map takes well under a second)
DEFAULT_POINTS = 120


@dataclass(frozen=True)
class RadioMap:
    """A radio map on a regular grid.

    Attributes
    ----------
    x_m, y_m : ndarray [nx], [ny]
        Grid coordinates, m.
    rsrp_dbm : ndarray [ny, nx]
        RSRP of the strongest cell, dBm.
    sinr_db : ndarray [ny, nx]
        Downlink SINR from that cell, dB.
    serving : ndarray of int [ny, nx]
        The strongest cell (the cell id used by events and agents).
    load : float
        PRB activity of the interferers, 0..1.
    """

    x_m: np.ndarray
    y_m: np.ndarray
    rsrp_dbm: np.ndarray
    sinr_db: np.ndarray
    serving: np.ndarray
    load: float

    def coverage(self, sinr_min_db: float = -6.0) -> float:
        """Share of the grid with SINR ≥ ``sinr_min_db`` (default −6 dB, about CQI 1)."""
        return float(np.mean(self.sinr_db >= sinr_min_db))


def radio_map(scenario, n_points: int = DEFAULT_POINTS, load: float = 1.0,
              margin_m: float | None = None) -> RadioMap:
    """Compute the radio map of a scenario.

    Parameters
    ----------
    scenario : simran.scenario.Scenario
        The scenario (``[network]`` and ``simulation.seed`` are used).
    n_points : int
        Grid points along the longer side (≥ 2).
    load : float
        Interferer PRB activity ℓ, 0..1.
    margin_m : float, optional
        Margin around the sites, m (default half an ISD).

    Returns
    -------
    RadioMap
    """
    from simran.radio.network import RadioNetwork
    from simran.rng import Streams

    if not 0.0 <= load <= 1.0:
        raise ValueError(f"load must be within 0..1, got {load}")
    if n_points < 2:
        raise ValueError(f"n_points must be ≥ 2, got {n_points}")
    sc = scenario
    net = RadioNetwork(sc.network, [s.quota_pct for s in sc.slices],
                       sc.simulation.tick_ms / 1e3)
    lo, hi = _extent(net, sc.network.isd_m / 2 if margin_m is None else margin_m)
    step = float(max(hi - lo)) / (n_points - 1)
    xs = np.arange(lo[0], hi[0] + step / 2, step)
    ys = np.arange(lo[1], hi[1] + step / 2, step)
    gx, gy = np.meshgrid(xs, ys)
    xy = np.column_stack([gx.ravel(), gy.ravel()])          # [P, 2]
    net.init_channel(Streams(sc.simulation.seed).stream("channel"), xy)
    rsrp = net.rsrp_dbm()                                    # [C, P]
    serving = np.argmax(rsrp, axis=0)
    sinr = net.sinr_db(serving, np.full(net.n_cells, float(load)))
    shape = gx.shape
    return RadioMap(x_m=xs, y_m=ys, rsrp_dbm=rsrp.max(axis=0).reshape(shape),
                    sinr_db=np.asarray(sinr, float).reshape(shape),
                    serving=serving.reshape(shape).astype(np.int64), load=float(load))


def _extent(net, margin_m: float) -> tuple[np.ndarray, np.ndarray]:
    xy = net.topo.site_xy
    return xy.min(axis=0) - margin_m, xy.max(axis=0) + margin_m


def plot_radio_map(rm: RadioMap, cells=None, path=None, title: str = ""):
    """Plot SINR (left) and the serving cell (right) of a radio map.

    Parameters
    ----------
    rm : RadioMap
    cells : pandas.DataFrame, optional
        ``topology/cells`` of a results file (cell, x_m, y_m, azimuth_deg): cell ids are drawn.
    path : str or Path, optional
        Where to save the figure.
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12.0, 5.4), dpi=110, layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    ext = (rm.x_m[0], rm.x_m[-1], rm.y_m[0], rm.y_m[-1])
    im = ax1.imshow(rm.sinr_db, origin="lower", extent=ext, cmap="viridis",
                    vmin=max(-10.0, float(np.nanmin(rm.sinr_db))),
                    vmax=min(40.0, float(np.nanmax(rm.sinr_db))))
    fig.colorbar(im, ax=ax1, label="SINR [dB]")
    ax1.set_title(f"downlink SINR, interferers at {rm.load:.0%} load; "
                  f"{rm.coverage():.0%} of the area ≥ −6 dB")
    n_cells = int(rm.serving.max()) + 1
    im2 = ax2.imshow(rm.serving, origin="lower", extent=ext, cmap="tab20",
                     vmin=-0.5, vmax=max(19.5, n_cells - 0.5), interpolation="nearest")
    ax2.set_title("serving (strongest-RSRP) cell")
    del im2
    for ax in (ax1, ax2):
        ax.set_xlabel("x [m]")
        ax.set_ylabel("y [m]")
        if cells is not None:
            _cell_labels(ax, cells, rm)
    if title:
        fig.suptitle(title)
    if path is not None:
        fig.savefig(Path(path), dpi=110)
    return fig


def _cell_labels(ax, cells, rm: RadioMap) -> None:
    """Cell ids a short way along each boresight (where that cell usually serves)."""
    span = float(max(np.ptp(rm.x_m), np.ptp(rm.y_m)))
    off = 0.06 * span
    for _, c in cells.iterrows():
        a = np.radians(c["azimuth_deg"])
        ax.text(c["x_m"] + off * np.cos(a), c["y_m"] + off * np.sin(a), str(int(c["cell"])),
                ha="center", va="center", fontsize=7, color="w",
                bbox={"boxstyle": "round,pad=0.15", "fc": "0.15", "alpha": 0.7, "lw": 0})
    ax.plot(cells["x_m"], cells["y_m"], "k^", ms=5)
