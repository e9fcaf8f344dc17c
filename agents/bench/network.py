"""The benchmark network as the LLM sees it: named cells and a KPI snapshot of the base run.

Cells are named after their site and sector — site ``A`` (site index 0), ``B``, … and sector
1, 2, 3 — so cell index ``3·site + sector`` of a tri-sectorised layout is ``"B1"`` for index 3.
The names come from the ``/topology/cells`` table of a results file, never from the
simulation's internals. :class:`NetworkView` is built from one run of the base scenario (the
*baseline*): per cell its UEs per slice, slice throughputs at the base quotas, power draw and
worst UE throughput, plus network totals. :meth:`NetworkView.describe` renders it as the compact
text of the system prompt.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from simran.output.results import Results


def cell_names(cells: pd.DataFrame) -> list[str]:
    """Names ``A1``, ``A2``, … of the cells of a ``Results.cells`` table, in cell-index order.

    Parameters
    ----------
    cells : pandas.DataFrame
        Columns ``cell``, ``site``, ``sector``.

    Returns
    -------
    list of str
        ``chr(ord('A') + site) + str(sector + 1)`` for sites below 26, else ``S<site>-<sector>``.
    """
    rows = cells.sort_values("cell")
    return [(chr(65 + int(r.site)) if r.site < 26 else f"S{int(r.site)}-") + str(int(r.sector) + 1)
            for r in rows.itertuples()]


def ue_mean_mbps(results: Results) -> pd.Series:
    """Mean throughput of every UE over the run [Mbit/s], indexed by UE."""
    if results.ue is None:
        raise ValueError(f"{results.path}: no UE KPIs recorded (output.ue_kpis = false)")
    return results.ue.groupby("ue")["throughput_mbps"].mean()


def network_power_w(results: Results) -> float:
    """Mean power drawn by the whole network over the run [W] (EARTH model, sum over cells)."""
    return float(results.cell.groupby("t_s")["power_w"].sum().mean())


@dataclass
class NetworkView:
    """What the benchmark knows about the base network.

    Attributes
    ----------
    names : list of str
        Cell names in index order.
    sites : list of str
        Site names (``A``, ``B``, …).
    slices : list of str
        Slice names in scenario order.
    tenants : dict
        Slice → tenant.
    quota_pct : dict
        Slice → base quota [% of PRBs].
    n_prb : int
        PRBs per cell.
    power_dbm, max_power_dbm : float
        Base transmit power per cell and the guard-rail maximum [dBm].
    cell : pandas.DataFrame
        One row per cell name: ``site``, ``n_ue``, ``power_w``, ``min_ue_mbps`` and per slice
        ``ue_<slice>`` and ``mbps_<slice>`` (mean over the baseline run).
    power_w : float
        Network power draw of the baseline [W].
    sinr_p5_db : float
        5th percentile of the UEs' mean SINR in the baseline [dB].
    min_ue_mbps : float
        Lowest UE mean throughput in the baseline [Mbit/s].
    """

    names: list[str]
    sites: list[str]
    slices: list[str]
    tenants: dict
    quota_pct: dict
    n_prb: int
    power_dbm: float
    max_power_dbm: float
    cell: pd.DataFrame
    power_w: float
    sinr_p5_db: float
    min_ue_mbps: float

    @classmethod
    def from_results(cls, results: Results) -> NetworkView:
        """Build the view from a results file of the base scenario (see module docstring)."""
        names = cell_names(results.cells)
        sc = results.scenario
        slices = [s["name"] for s in sc["slices"]]
        kpi = results.cell.groupby("cell")[["n_ue", "power_w"]].mean()
        sl = results.slice.groupby(["cell", "slice_name"])[["n_ue", "throughput_mbps"]].mean()
        ue_mbps = ue_mean_mbps(results)
        ue_cell = results.ue.groupby("ue")["cell"].last()
        table = pd.DataFrame(index=pd.Index(names, name="cell"))
        table["site"] = [n[:-1] for n in names]
        table["n_ue"] = np.rint(kpi["n_ue"].to_numpy()).astype(int)
        table["power_w"] = kpi["power_w"].to_numpy()
        for s in slices:
            part = sl.xs(s, level="slice_name").reindex(range(len(names)), fill_value=0.0)
            table[f"ue_{s}"] = np.rint(part["n_ue"].to_numpy()).astype(int)
            table[f"mbps_{s}"] = part["throughput_mbps"].to_numpy()
        worst = ue_mbps.groupby(ue_cell).min().reindex(range(len(names)))
        table["min_ue_mbps"] = worst.to_numpy()
        power = float(sc["network"]["tx_power_dbm"])
        return cls(names=names, sites=sorted(set(table["site"])), slices=slices,
                   tenants={s["name"]: s["tenant"] for s in sc["slices"]},
                   quota_pct={s["name"]: float(s["quota_pct"]) for s in sc["slices"]},
                   n_prb=int(results.summary["n_prb"]), power_dbm=power,
                   max_power_dbm=power + 3.0, cell=table,
                   power_w=network_power_w(results),
                   sinr_p5_db=float(results.summary["sinr_db_p5"]),
                   min_ue_mbps=float(ue_mbps.min()))

    def index(self, name: str) -> int:
        """Cell index of a cell name (``ValueError`` if unknown)."""
        return self.names.index(name)

    def least_loaded(self, site: str) -> str:
        """The cell of ``site`` serving the fewest UEs (ties: lower throughput, then name)."""
        rows = self.cell[self.cell["site"] == site]
        if rows.empty:
            raise ValueError(f"unknown site {site!r} (sites: {', '.join(self.sites)})")
        mbps = rows[[f"mbps_{s}" for s in self.slices]].sum(axis=1)
        order = sorted(rows.index, key=lambda n: (rows.at[n, "n_ue"], mbps[n], n))
        return order[0]

    def describe(self) -> str:
        """The network section of the system prompt (names, limits, per-cell snapshot)."""
        sl = ", ".join(f"{s} (tenant {self.tenants[s]}, quota {self.quota_pct[s]:g} %)"
                       for s in self.slices)
        head = (f"Network: {len(self.sites)} sites ({', '.join(self.sites)}), cells "
                f"{', '.join(self.names)}; {self.n_prb} PRBs per cell; every cell transmits "
                f"{self.power_dbm:g} dBm (allowed 0-{self.max_power_dbm:g} dBm). Slices: {sl}. "
                "A slice's quota is its share of a cell's PRBs; the quotas of one cell must add "
                "up to at most 100 %.")
        cols = " ".join(f"{s}:UEs/Mbit/s" for s in self.slices)
        lines = [f"Now (cell {cols} | worst UE Mbit/s | power W):"]
        for name, r in self.cell.iterrows():
            per = " ".join(f"{r[f'ue_{s}']}/{r[f'mbps_{s}']:.1f}" for s in self.slices)
            worst = "-" if np.isnan(r["min_ue_mbps"]) else f"{r['min_ue_mbps']:.2f}"
            lines.append(f"{name} {per} | {worst} | {r['power_w']:.0f}")
        lines.append(f"Network power {self.power_w:.0f} W; UE SINR 5th percentile "
                     f"{self.sinr_p5_db:.1f} dB; worst UE {self.min_ue_mbps:.2f} Mbit/s.")
        return "\n".join([head] + lines)
