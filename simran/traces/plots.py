"""Plots of drive traces (matplotlib is imported inside the functions only).

``import simran`` never imports matplotlib (AGENTS.md); these helpers use the object-oriented
:class:`matplotlib.figure.Figure` API, so they neither need pyplot nor switch the user's backend.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simran.traces.trace import CQI_MAX, Trace


def trace_mcs(cqi: np.ndarray, cqi_table: str = "table1", mcs_table: str = "qam64"):
    """MCS index per CQI sample via :func:`simran.radio.link.cqi_to_mcs` (TS 38.214, radio-ref C.3).

    Parameters
    ----------
    cqi : ndarray of int
        CQI 0..15.
    cqi_table, mcs_table : str
        Table names understood by :mod:`simran.radio.link`.

    Returns
    -------
    ndarray of float or None
        I_MCS, NaN where CQI 0 means "no transmission"; ``None`` when :mod:`simran.radio.link`
        is not available (the MCS panel is then skipped).
    """
    try:
        from simran.radio.link import cqi_to_mcs
    except ImportError:
        return None
    mcs = np.asarray(cqi_to_mcs(np.asarray(cqi, dtype=np.int64), cqi_table, mcs_table),
                     dtype=float)
    return np.where(mcs < 0, np.nan, mcs)


def plot_trace(trace: Trace, path, *, cqi_table: str = "table1", mcs_table: str = "qam64"
               ) -> Path:
    """Plot one trace over time: CQI, MCS and (if present) measured DL throughput.

    Parameters
    ----------
    trace : Trace
        The trace.
    path : str or Path
        Output image (format from the suffix, e.g. ``.png``, ``.pdf``).
    cqi_table, mcs_table : str
        CQI → MCS mapping for the MCS panel (default CQI table 1 → MCS table qam64).

    Returns
    -------
    Path
        The written image.
    """
    from matplotlib.figure import Figure

    mcs = trace_mcs(trace.cqi, cqi_table, mcs_table)
    dl = trace.dl_mbps if trace.dl_mbps is not None and np.isfinite(trace.dl_mbps).any() else None
    panels = [("CQI", trace.cqi, (-0.5, CQI_MAX + 0.5))]
    if mcs is not None:
        panels.append((f"MCS ({cqi_table}→{mcs_table})", mcs, None))
    if dl is not None:
        panels.append(("DL throughput (Mbit/s)", dl, None))
    fig = Figure(figsize=(9, 2.2 * len(panels) + 0.6), layout="constrained")
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (label, values, ylim) in zip(axes, panels):
        ax.step(trace.t_s, values, where="post", lw=0.9)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        if ylim:
            ax.set_ylim(*ylim)
    axes[-1].set_xlabel("time from trace start (s)")
    note = "" if mcs is not None else " — MCS panel skipped: simran.radio.link not available"
    fig.suptitle(f"{trace.id} ({trace.n_samples} samples, {trace.duration_s:.0f} s){note}",
                 fontsize=10)
    path = Path(path)
    fig.savefig(path, dpi=110)
    return path


def plot_cqi_distribution(trace_sets: dict, path) -> Path:
    """Histogram of CQI (fraction of samples per CQI 0..15), one bar group per trace set.

    Parameters
    ----------
    trace_sets : dict of str to TraceSet
        Label → trace set (all its traces are pooled).
    path : str or Path
        Output image.

    Returns
    -------
    Path
        The written image.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.6), layout="constrained")
    ax = fig.subplots()
    cqi_axis = np.arange(CQI_MAX + 1)
    width = 0.8 / max(1, len(trace_sets))
    for k, (label, trace_set) in enumerate(trace_sets.items()):
        counts = sum(np.bincount(t.cqi, minlength=CQI_MAX + 1) for t in trace_set)
        share = counts / max(1, counts.sum())
        ax.bar(cqi_axis + (k - (len(trace_sets) - 1) / 2) * width, share, width,
               label=f"{label} ({int(counts.sum())} samples)")
    ax.set_xticks(cqi_axis)
    ax.set_xlabel("CQI index")
    ax.set_ylabel("fraction of samples")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    path = Path(path)
    fig.savefig(path, dpi=110)
    return path


def _trace_ue_labels(results) -> dict[int, str]:
    """UE index → label (the trace id when it can be known) for every trace UE of a run."""
    from simran.traces.trace_set import load_trace_set

    labels: dict[int, str] = {}
    for gi, g in enumerate(results.scenario.get("ue_groups", [])):
        if g.get("mobility") != "trace":
            continue
        members = sorted(int(u) for u in results.ue.loc[results.ue["group"] == gi, "ue"].unique())
        t = g["trace"]
        ids = t.get("ids")
        if ids is None:
            try:          # a relative path is relative to the scenario file, unknown here
                ids = [tr.id for tr in load_trace_set(t["file"]).select(first=t.get("first"))]
            except Exception:  # noqa: BLE001 - labels only: fall back to UE numbers
                ids = None
        for k, ue in enumerate(members):
            labels[ue] = ids[k] if ids is not None and k < len(ids) else f"UE {ue}"
    return labels


def plot_replay(results_path, path, *, max_legend: int = 10) -> Path:
    """Plot a replay: per trace UE, the CQI it got from its trace, its MCS and its throughput.

    Parameters
    ----------
    results_path : str or Path
        A results file (or its folder) of a run with ``mobility = "trace"`` UEs and UE KPIs
        (``output.ue_kpis = true``), e.g. from ``simran replay``.
    path : str or Path
        Output image.
    max_legend : int
        Label the lines only when there are at most this many trace UEs.

    Returns
    -------
    Path
        The written image.

    Raises
    ------
    SimranError
        The run has no UE KPIs or no trace UE.

    Notes
    -----
    CQI is the mean over each KPI period of the CQI the kernel used (the trace's value; with
    ``sampling = "hold"`` and periods that divide the trace period it *is* the trace sample), MCS
    the one of the period's last tick (CQI → MCS of the scenario's tables, TS 38.214), throughput
    the UE's simulated rate. Periods in which a UE is inactive (its trace ended with
    ``end = "stop"``) are left blank in the CQI and MCS panels.
    """
    from matplotlib.figure import Figure

    from simran.errors import SimranError
    from simran.output.results import load_results

    res = load_results(results_path)
    if res.ue is None:
        raise SimranError(f"{res.path}: no UE KPIs (run with output.ue_kpis = true)")
    labels = _trace_ue_labels(res)
    if not labels:
        raise SimranError(f"{res.path}: the run has no trace UE (mobility = 'trace')")
    fig = Figure(figsize=(9, 7.2), layout="constrained")
    axes = fig.subplots(3, 1, sharex=True)
    for ue, label in labels.items():
        d = res.ue[res.ue["ue"] == ue].sort_values("t_s")
        live = d["active"].to_numpy() > 0
        cqi = np.where(live, d["cqi"].to_numpy(), np.nan)
        mcs = np.where(live & (d["mcs"].to_numpy() >= 0), d["mcs"].to_numpy(), np.nan)
        t = d["t_s"].to_numpy()
        lw = 0.9 if len(labels) <= max_legend else 0.5
        axes[0].step(t, cqi, where="pre", lw=lw, label=label)
        axes[1].step(t, mcs, where="pre", lw=lw)
        axes[2].plot(t, d["throughput_mbps"].to_numpy(), lw=lw)
    sc = res.scenario["network"]
    for ax, name in zip(axes, ("CQI (trace)", f"MCS ({sc['cqi_table']}→{sc['mcs_table']})",
                               "throughput (Mbit/s)")):
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    axes[0].set_ylim(-0.5, CQI_MAX + 0.5)
    axes[1].set_ylim(-0.5, 28.5)                   # I_MCS 0..28 (TS 38.214 Table 5.1.3.1-x)
    axes[2].set_ylim(bottom=0)
    axes[2].set_xlabel("simulated time (s)")
    if len(labels) <= max_legend:
        axes[0].legend(fontsize=7, ncol=min(len(labels), 4), loc="lower left")
    fig.suptitle(f"replay {res.attrs.get('scenario_name', '')}: {len(labels)} trace UE(s), "
                 f"{res.path.parent.name}/{res.path.name}", fontsize=10)
    path = Path(path)
    fig.savefig(path, dpi=110)
    return path
