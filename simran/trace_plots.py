"""Plots of drive traces (matplotlib is imported inside the functions only).

``import simran`` never imports matplotlib (AGENTS.md); these helpers use the object-oriented
:class:`matplotlib.figure.Figure` API, so they neither need pyplot nor switch the user's backend.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simran.traces import CQI_MAX, Trace


def trace_mcs(cqi: np.ndarray, cqi_table: str = "table1", mcs_table: str = "qam64"):
    """MCS index per CQI sample via :func:`simran.link.cqi_to_mcs` (TS 38.214, radio-ref C.3).

    Parameters
    ----------
    cqi : ndarray of int
        CQI 0..15.
    cqi_table, mcs_table : str
        Table names understood by :mod:`simran.link`.

    Returns
    -------
    ndarray of float or None
        I_MCS, NaN where CQI 0 means "no transmission"; ``None`` when :mod:`simran.link` is not
        available (the MCS panel is then skipped).
    """
    try:
        from simran.link import cqi_to_mcs
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
    note = "" if mcs is not None else " — MCS panel skipped: simran.link not available"
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
