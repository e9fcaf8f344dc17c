"""PNG plots of one run's results file (the ``plot`` extra; ``simran plot``).

matplotlib is imported inside the functions only — ``import simran`` never imports it
(AGENTS.md). The figures use the object-oriented :class:`matplotlib.figure.Figure` API with the
Agg canvas, so they need no display, never touch pyplot's global state and never switch the
backend of a notebook the user is working in.

Figures written by :func:`plot_run`:

* ``slices.png`` — network-wide throughput per slice [Mbit/s] and the PRB quota of cell 0 per
  slice [% of N_PRB], with the PRBs the slice actually used in cell 0;
* ``radio.png`` — CDF of UE SINR [dB] per UE group and the histogram of UE CQI;
* ``map.png`` — sites, sector boresights and UE tracks (colour = UE group);
* ``energy.png`` — EARTH input power per cell [W] and cumulative energy [Wh] per cell and in
  total.

The UE figures need UE KPIs (``output.ue_kpis``); without them the map shows the sites only and
``radio.png`` is not written.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simran.output.results import Results, load_results

_DPI = 110


def plot_run(results_path, out_dir) -> list[Path]:
    """Write the PNG plots of a results file into ``out_dir``.

    Parameters
    ----------
    results_path : str or Path
        ``results.h5`` (or its folder).
    out_dir : str or Path
        Folder for the PNGs (created if needed).

    Returns
    -------
    list of Path
        The files written.
    """
    r = load_results(results_path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [plot_slices(r, out / "slices.png")]
    if r.ue is not None and len(r.ue):
        written.append(plot_radio(r, out / "radio.png"))
    written.append(plot_map(r, out / "map.png"))
    written.append(plot_energy(r, out / "energy.png"))
    return written


# ------------------------------------------------------------------------------ helpers ------
def _figure(nrows: int, ncols: int = 1, size=(8.0, 6.0)):
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=_DPI, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes.ravel()


def _title(r: Results, what: str) -> str:
    name = r.attrs.get("scenario_name", "run")
    return f"{name} (seed {r.attrs.get('seed')}): {what}"


def _group_names(r: Results) -> list[str]:
    return [g.get("name", f"group {i}") for i, g in enumerate(r.scenario.get("ue_groups", []))]


def _n_prb(r: Results) -> float:
    return float(r.summary.get("n_prb", np.nan))


def _save(fig, path: Path) -> Path:
    fig.savefig(path, dpi=_DPI)
    return path


# ------------------------------------------------------------------------------ figures ------
def plot_slices(r: Results, path) -> Path:
    """Network throughput per slice, and cell 0's PRB quota and PRB use per slice, over time."""
    fig, (ax1, ax2) = _figure(2, size=(8.5, 6.5))
    tot = r.slice_totals()
    names = list(dict.fromkeys(r.slice["slice_name"]))
    colours = {n: f"C{i}" for i, n in enumerate(names)}
    for n in names:
        d = tot[tot["slice_name"] == n]
        ax1.plot(d["t_s"], d["throughput_mbps"], color=colours[n], label=n)
    net = tot.groupby("t_s")["throughput_mbps"].sum()
    if len(names) > 1:
        ax1.plot(net.index, net.to_numpy(), color="0.3", ls=":", label="all slices")
    ax1.set_ylabel("throughput [Mbit/s]")
    ax1.set_title(_title(r, "network throughput per slice (sum over cells)"))
    ax1.legend(loc="best", fontsize="small")
    ax1.grid(alpha=0.3)
    c0 = r.slice[r.slice["cell"] == 0]
    n_prb = _n_prb(r)
    for n in names:
        d = c0[c0["slice_name"] == n]
        ax2.step(d["t_s"], d["quota_pct"], where="pre", color=colours[n], label=f"{n} quota")
        ax2.plot(d["t_s"], d["prb"] / n_prb * 100, color=colours[n], ls="--", alpha=0.7,
                 label=f"{n} PRBs used")
    ax2.set_ylim(-2, 102)
    ax2.set_xlabel("simulated time [s]")
    ax2.set_ylabel(f"share of cell 0's {n_prb:.0f} PRBs [%]")
    ax2.set_title("cell 0: PRB quota (solid) and PRBs used (dashed) per slice")
    ax2.legend(loc="best", fontsize="small", ncol=2)
    ax2.grid(alpha=0.3)
    return _save(fig, Path(path))


def plot_radio(r: Results, path) -> Path:
    """CDF of the UE SINR per group and histogram of the UE CQI (all UE KPI records)."""
    fig, (ax1, ax2) = _figure(1, 2, size=(10.0, 4.2))
    ue = r.ue
    groups = _group_names(r)
    for g in sorted(ue["group"].unique()):
        s = ue.loc[ue["group"] == g, "sinr_db"].to_numpy(float)
        s = np.sort(s[np.isfinite(s)])
        if s.size == 0:
            continue
        label = groups[g] if g < len(groups) else f"group {g}"
        ax1.plot(s, np.arange(1, s.size + 1) / s.size, label=f"{label} (n={s.size})")
    ax1.set_xlabel("SINR [dB]")
    ax1.set_ylabel("CDF")
    ax1.set_ylim(0, 1)
    ax1.set_title("UE SINR per group")
    ax1.grid(alpha=0.3)
    if ax1.lines:
        ax1.legend(loc="lower right", fontsize="small")
    cqi = ue["cqi"].to_numpy(float)
    cqi = np.rint(cqi[np.isfinite(cqi)])
    counts = np.bincount(cqi.astype(int), minlength=16)[:16]
    ax2.bar(np.arange(16), counts / max(counts.sum(), 1) * 100, color="C0")
    ax2.set_xticks(range(0, 16))
    ax2.set_xlabel("CQI (mean per UE record, rounded)")
    ax2.set_ylabel("share of UE records [%]")
    ax2.set_title("UE CQI distribution")
    ax2.grid(alpha=0.3, axis="y")
    fig.suptitle(_title(r, "radio conditions"))
    return _save(fig, Path(path))


def plot_map(r: Results, path) -> Path:
    """Sites, sector boresights and UE tracks coloured by group."""
    fig, (ax,) = _figure(1, size=(7.5, 7.0))
    sites, cells = r.sites, r.cells
    span = np.ptp(np.r_[sites["x_m"], sites["y_m"]]) if len(sites) > 1 else 0.0
    isd = float(r.scenario.get("network", {}).get("isd_m", 500.0))
    arrow = 0.3 * (isd if span == 0 else min(isd, span))
    groups = _group_names(r)
    if r.ue is not None and len(r.ue):
        ue = r.ue.sort_values(["ue", "t_s"])
        for g in sorted(ue["group"].unique()):
            d = ue[ue["group"] == g]
            label = groups[g] if g < len(groups) else f"group {g}"
            for k, (_, tr) in enumerate(d.groupby("ue")):
                x, y = tr["x_m"].to_numpy(float), tr["y_m"].to_numpy(float)
                ok = np.isfinite(x) & np.isfinite(y)
                if not ok.any():
                    continue
                ax.plot(x[ok], y[ok], color=f"C{g % 10}", lw=0.9, alpha=0.75,
                        label=label if k == 0 else None)
                ax.plot(x[ok][-1:], y[ok][-1:], "o", color=f"C{g % 10}", ms=2.5)
    one_sector = cells.groupby("site").size().max() == 1
    for _, c in cells.iterrows():
        if one_sector and r.scenario.get("network", {}).get("sectors", 3) == 1:
            break
        a = np.radians(c["azimuth_deg"])
        ax.annotate("", xy=(c["x_m"] + arrow * np.cos(a), c["y_m"] + arrow * np.sin(a)),
                    xytext=(c["x_m"], c["y_m"]),
                    arrowprops={"arrowstyle": "->", "color": "0.25", "lw": 1.0})
    ax.plot(sites["x_m"], sites["y_m"], "k^", ms=8, label="site")
    for _, s in sites.iterrows():
        ax.annotate(str(int(s["site"])), (s["x_m"], s["y_m"]), textcoords="offset points",
                    xytext=(5, -11), fontsize=7)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("x [m]")
    ax.set_ylabel("y [m]")
    ax.set_title(_title(r, "sites, sector boresights (arrows), UE tracks"))
    ax.grid(alpha=0.3)
    n_items = len(ax.get_legend_handles_labels()[1])
    fig.legend(loc="outside lower center", ncol=min(n_items, 5), fontsize="small")
    return _save(fig, Path(path))


def plot_energy(r: Results, path) -> Path:
    """EARTH input power per cell over time and cumulative energy per cell and in total."""
    fig, (ax1, ax2) = _figure(2, size=(8.5, 6.5))
    cell = r.cell.sort_values(["cell", "t_s"])
    cells = sorted(cell["cell"].unique())
    legend = len(cells) <= 12
    total = None
    for c in cells:
        d = cell[cell["cell"] == c]
        t = d["t_s"].to_numpy(float)
        p = d["power_w"].to_numpy(float)
        dt = np.diff(np.r_[0.0, t])                              # each record covers (t−dt, t]
        e_wh = np.cumsum(p * dt) / 3600.0
        total = e_wh if total is None else total + e_wh
        kw = {"label": f"cell {c}"} if legend else {}
        ax1.step(t, p, where="pre", lw=0.9, **kw)
        ax2.plot(t, e_wh, lw=0.8, alpha=0.7)
    mean = cell.groupby("t_s")["power_w"].mean()
    ax1.step(mean.index, mean.to_numpy(), where="pre", color="k", lw=2, label="mean over cells")
    ax1.set_ylabel("input power [W]")
    ax1.set_title(_title(r, f"EARTH base-station power, {len(cells)} cells"))
    ax1.grid(alpha=0.3)
    if legend:
        ax1.legend(loc="best", fontsize="x-small", ncol=3)
    else:
        ax1.legend(handles=ax1.lines[-1:], loc="best", fontsize="small")
    if total is not None:
        ax2b = ax2.twinx()
        ax2b.plot(cell[cell["cell"] == cells[0]]["t_s"], total, color="k", lw=2,
                  label="network total (right axis)")
        ax2b.set_ylabel("network energy [Wh]")
        ax2b.legend(loc="upper left", fontsize="small")
    ax2.set_xlabel("simulated time [s]")
    ax2.set_ylabel("energy per cell [Wh]")
    ax2.set_title("cumulative energy (thin: per cell)")
    ax2.grid(alpha=0.3)
    return _save(fig, Path(path))
