"""PNG plots of one run's results file (the ``plot`` extra; ``simran plot``).

matplotlib is imported inside the functions only — ``import simran`` never imports it
(AGENTS.md). The figures use the object-oriented :class:`matplotlib.figure.Figure` API with the
Agg canvas, so they need no display, never touch pyplot's global state and never switch the
backend of a notebook the user is working in.

Figures written by :func:`plot_run`:

* ``slices.png`` — network-wide throughput per slice [Mbit/s] and the PRB quota of one cell per
  slice [% of N_PRB], with the PRBs the slice actually used in that cell. The cell is the
  busiest one (largest carried traffic over the run, :func:`busiest_cell`) unless ``cell`` is
  given (``simran plot --cell N``);
* ``radio.png`` — CDF of UE SINR [dB] per UE group and the histogram of UE CQI;
* ``map.png`` — sites, sector boresights labelled with their cell ids (the ids events and agents
  use) and UE positions coloured by their serving cell;
* ``energy.png`` — EARTH input power per cell [W] and cumulative energy [Wh] per cell and in
  total;
* ``radio_map.png`` (only with ``radio_map=True``, ``simran plot --radio-map``) — SINR and the
  serving cell over a grid (:mod:`simran.output.radio_map`).

Time plots mark scripted events (dashed vertical lines), agent decisions (triangles along the top:
filled = applied) and slice intents (dotted target lines on the throughput panel). Throughput and
power axes start at zero, so a 1 % change looks like one. A panel without data (a replay records
no SINR, a run without ``output.ue_kpis`` no UE tracks) is replaced by a note that says why.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simran.output.results import Results, load_results

_DPI = 110


def plot_run(results_path, out_dir, cell: int | None = None, radio_map: bool = False,
             load: float = 1.0) -> list[Path]:
    """Write the PNG plots of a results file into ``out_dir``.

    Parameters
    ----------
    results_path : str or Path
        ``results.h5`` (or its folder).
    out_dir : str or Path
        Folder for the PNGs (created if needed).
    cell : int, optional
        Cell of the per-cell panels (default: :func:`busiest_cell`).
    radio_map : bool
        Also write ``radio_map.png`` (SINR and serving cell over a grid).
    load : float
        Interferer PRB activity of the radio map, 0..1.

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    simran.errors.ResultsError
        If ``cell`` is not a cell of the run.
    """
    r = load_results(results_path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [plot_slices(r, out / "slices.png", cell=cell)]
    if r.ue is not None and len(r.ue):
        written.append(plot_radio(r, out / "radio.png"))
    written.append(plot_map(r, out / "map.png"))
    written.append(plot_energy(r, out / "energy.png"))
    if radio_map:
        written.append(plot_radio_map_of(r, out / "radio_map.png", load=load))
    return written


def busiest_cell(r: Results) -> int:
    """The cell that carried the most traffic over the run (ties: the most UEs, then the lowest
    id); the default cell of the per-cell panels."""
    c = r.cell
    if c is None or not len(c):
        return 0
    g = c.groupby("cell").agg(thr=("throughput_mbps", "sum"), n=("n_ue", "sum"))
    g = g.reset_index().sort_values(["thr", "n", "cell"], ascending=[False, False, True])
    return int(g["cell"].iloc[0])


def plot_radio_map_of(r: Results, path, load: float = 1.0, n_points: int = 120) -> Path:
    """The radio map (SINR, serving cell) of a run's scenario, with the run's shadowing."""
    from simran.output.radio_map import plot_radio_map, radio_map
    from simran.scenario import Scenario

    scen = Scenario.from_dict(r.scenario, source=str(r.path))
    rm = radio_map(scen, n_points=n_points, load=load)
    plot_radio_map(rm, r.cells, path, title=_title(r, "radio map"))
    return Path(path)


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


def _empty(ax, why: str) -> None:
    """Hide a panel without data and say why in its place."""
    ax.set_axis_off()
    ax.text(0.5, 0.5, why, ha="center", va="center", wrap=True, fontsize=9, color="0.3",
            transform=ax.transAxes)


def _event_times(r: Results) -> list[tuple[float, str]]:
    """(t_s, label) of the scripted events (and guard-rail interventions) of the run."""
    ev = r.events
    if ev is None or not len(ev):
        return []
    acts = ev[ev["kind"] == "action"]
    out = []
    for t, d in zip(acts["t_s"], acts["detail"]):
        a = (d or {}).get("action", {}) if isinstance(d, dict) else {}
        out.append((float(t), str(a.get("kind", "action"))))
    return out


def _decisions(r: Results):
    """(t_s, applied) arrays of the agent decisions (empty without agents)."""
    d = r.decisions
    if d is None or not len(d):
        return np.zeros(0), np.zeros(0, dtype=bool)
    t = d["t_apply_s"].to_numpy(float) if "t_apply_s" in d else np.zeros(0)
    if "t_ready_s" in d:
        t = np.where(np.isfinite(t), t, d["t_ready_s"].to_numpy(float))
    applied = (d["status"] == "applied").to_numpy() if "status" in d else np.ones(len(t), bool)
    ok = np.isfinite(t)
    return t[ok], applied[ok]


def _intents(r: Results) -> list[tuple[float, str, float, float]]:
    """(t_s, slice, target_mbps, tolerance_mbps) of every accepted set_intent action."""
    import json

    out = []
    for t, d in zip(r.events.get("t_s", []), r.events.get("detail", [])):
        a = d.get("action", {}) if isinstance(d, dict) else {}
        if a.get("kind") == "set_intent" and d.get("verdict") != "rejected":
            out.append((float(t), a["slice"], float(a["target_mbps"]),
                        float(a.get("tolerance_mbps", 0.0))))
    dec = r.decisions
    if dec is not None and len(dec) and "actions" in dec:
        for t, st, acts in zip(dec["t_apply_s"], dec["status"], dec["actions"]):
            if st != "applied" or not isinstance(acts, str) or "set_intent" not in acts:
                continue
            for a in json.loads(acts):
                if a.get("kind") == "set_intent":
                    out.append((float(t), a["slice"], float(a["target_mbps"]),
                                float(a.get("tolerance_mbps", 0.0))))
    return sorted(out)


def _mark(ax, r: Results, labels: bool = True) -> None:
    """Mark scripted events (dashed lines) and agent decisions (triangles at the top)."""
    seen = set()
    for t, kind in _event_times(r):
        lab = f"event: {kind}" if labels and kind not in seen else None
        seen.add(kind)
        ax.axvline(t, color="0.2", ls="--", lw=0.9, alpha=0.7, label=lab)
    t, applied = _decisions(r)
    xt = ax.get_xaxis_transform()              # x in data, y in axes units
    for sel, face, what in ((applied, "C3", "applied"), (~applied, "none", "not applied")):
        if sel.any():
            ax.plot(t[sel], np.full(sel.sum(), 0.97), "v", transform=xt, ms=5, mec="C3",
                    mfc=face, ls="none", label=f"agent decision ({what})" if labels else None)


# ------------------------------------------------------------------------------ figures ------
def plot_slices(r: Results, path, cell: int | None = None) -> Path:
    """Network throughput per slice, and one cell's PRB quota and PRB use per slice, over time.

    ``cell`` defaults to :func:`busiest_cell`.
    """
    from simran.errors import ResultsError

    fig, (ax1, ax2) = _figure(2, size=(8.5, 6.5))
    if r.slice is None or not len(r.slice):
        _empty(ax1, "no slice KPI records in this results file")
        _empty(ax2, "")
        return _save(fig, Path(path))
    cells = sorted(int(c) for c in r.cell["cell"].unique())
    c = busiest_cell(r) if cell is None else int(cell)
    if c not in cells:
        raise ResultsError(f"{r.path}: cell {c} is not a cell of this run (cells "
                           f"{cells[0]}…{cells[-1]})")
    tot = r.slice_totals()
    names = list(dict.fromkeys(r.slice["slice_name"]))
    colours = {n: f"C{i}" for i, n in enumerate(names)}
    for n in names:
        d = tot[tot["slice_name"] == n]
        ax1.plot(d["t_s"], d["throughput_mbps"], color=colours[n], label=n)
    net = tot.groupby("t_s")["throughput_mbps"].sum()
    if len(names) > 1:
        ax1.plot(net.index, net.to_numpy(), color="0.3", ls=":", label="all slices")
    t_end = float(tot["t_s"].max()) if len(tot) else 0.0
    for t0, sl, target, tol in _intents(r):
        col = colours.get(sl, "k")
        ax1.hlines(target, t0, t_end, colors=col, linestyles=(0, (1, 1)), lw=1.5,
                   label=f"{sl} intent")
        if tol > 0:
            ax1.fill_between([t0, t_end], target - tol, target + tol, color=col, alpha=0.1)
    ax1.set_ylim(bottom=0)                 # from zero: a 1 % blip must look like one
    ax1.set_ylabel("throughput [Mbit/s]")
    ax1.set_title(_title(r, "network throughput per slice (sum over cells)"))
    _mark(ax1, r)
    _dedup_legend(ax1, loc="lower left", fontsize="small", ncol=2)
    ax1.grid(alpha=0.3)
    c0 = r.slice[r.slice["cell"] == c]
    n_prb = _n_prb(r)
    for n in names:
        d = c0[c0["slice_name"] == n]
        ax2.step(d["t_s"], d["quota_pct"], where="pre", color=colours[n], label=f"{n} quota")
        ax2.plot(d["t_s"], d["prb"] / n_prb * 100, color=colours[n], ls="--", alpha=0.7,
                 label=f"{n} PRBs used")
    _mark(ax2, r, labels=False)
    ax2.set_ylim(-2, 102)
    ax2.set_xlabel("simulated time [s]")
    ax2.set_ylabel(f"share of cell {c}'s {n_prb:.0f} PRBs [%]")
    which = "busiest cell" if cell is None else "cell"
    ax2.set_title(f"{which} {c}: PRB quota (solid) and PRBs used (dashed) per slice")
    ax2.legend(loc="best", fontsize="small", ncol=2)
    ax2.grid(alpha=0.3)
    return _save(fig, Path(path))


def _dedup_legend(ax, **kw) -> None:
    handles, labels = ax.get_legend_handles_labels()
    keep = dict(zip(labels, handles))
    if keep:
        ax.legend(list(keep.values()), list(keep), **kw)


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
    else:
        _empty(ax1, "no SINR recorded for any UE\n(trace-driven UEs replay a measured CQI, "
               "not a SINR)")
    cqi = ue["cqi"].to_numpy(float)
    cqi = np.rint(cqi[np.isfinite(cqi)])
    if cqi.size == 0:
        _empty(ax2, "no CQI recorded for any UE")
        fig.suptitle(_title(r, "radio conditions"))
        return _save(fig, Path(path))
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
    """Sites, sector boresights with cell ids, UE tracks (grey) and UE positions coloured by
    serving cell (the colours of the radio map's serving-cell panel)."""
    fig, (ax,) = _figure(1, size=(7.5, 7.0))
    sites, cells = r.sites, r.cells
    span = np.ptp(np.r_[sites["x_m"], sites["y_m"]]) if len(sites) > 1 else 0.0
    isd = float(r.scenario.get("network", {}).get("isd_m", 500.0))
    arrow = 0.3 * (isd if span == 0 else min(isd, span))
    n_cells = max(int(cells["cell"].max()) + 1, 20) if len(cells) else 20
    if r.ue is not None and len(r.ue):
        ue = r.ue.sort_values(["ue", "t_s"])
        for k, (_, tr) in enumerate(ue.groupby("ue")):
            x, y = tr["x_m"].to_numpy(float), tr["y_m"].to_numpy(float)
            ok = np.isfinite(x) & np.isfinite(y)
            if ok.any():
                ax.plot(x[ok], y[ok], color="0.6", lw=0.6, alpha=0.6,
                        label="UE track" if k == 0 else None)
        ok = np.isfinite(ue["x_m"].to_numpy(float)) & (ue["cell"].to_numpy() >= 0)
        ax.scatter(ue["x_m"][ok], ue["y_m"][ok], c=ue["cell"][ok], cmap="tab20", vmin=-0.5,
                   vmax=n_cells - 0.5, s=4, label="UE position (colour: serving cell)")
    else:
        ax.text(0.5, 0.02, "no UE tracks: the run did not record UE KPIs (output.ue_kpis)",
                ha="center", transform=ax.transAxes, fontsize=8, color="0.3")
    sectored = not (cells.groupby("site").size().max() == 1
                    and r.scenario.get("network", {}).get("sectors", 3) == 1)
    for _, c in cells.iterrows():
        a = np.radians(c["azimuth_deg"])
        tip = (c["x_m"] + arrow * np.cos(a), c["y_m"] + arrow * np.sin(a))
        if sectored:
            ax.annotate("", xy=tip, xytext=(c["x_m"], c["y_m"]),
                        arrowprops={"arrowstyle": "->", "color": "0.25", "lw": 1.0})
        else:
            tip = (c["x_m"] + 0.1 * arrow, c["y_m"] - 0.1 * arrow)
        ax.text(*tip, str(int(c["cell"])), fontsize=7, ha="center", va="center",
                bbox={"boxstyle": "round,pad=0.15", "fc": "w", "alpha": 0.8, "lw": 0.3})
    ax.plot(sites["x_m"], sites["y_m"], "k^", ms=8, label="site")
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("x [m]")
    ax.set_ylabel("y [m]")
    ax.set_title(_title(r, "cells (ids at the boresight arrows), UE positions by serving cell"))
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
    (mean_line,) = ax1.step(mean.index, mean.to_numpy(), where="pre", color="k", lw=2,
                            label="mean over cells")
    ax1.set_ylim(bottom=0)
    _mark(ax1, r, labels=False)
    ax1.set_ylabel("input power [W]")
    ax1.set_title(_title(r, f"EARTH base-station power, {len(cells)} cells"))
    ax1.grid(alpha=0.3)
    if legend:
        ax1.legend(loc="best", fontsize="x-small", ncol=3)
    else:
        ax1.legend(handles=[mean_line], loc="best", fontsize="small")
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
