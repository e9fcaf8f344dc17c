"""Figures of the Type I evaluation, after papers/004 Fig. 3, 4, 12, 13 and 14a.

matplotlib is imported inside the functions (the ``plot`` extra), never at module import.
Every function takes an ``ax`` (or creates a figure) and returns the figure.

``series`` arguments are dicts with the keys ``run_task`` keeps for the plotted route:
``t_s, thr, quota, target, tol`` (per tick), ``kp`` ([(t_s, kp, source)]), ``enf``
([(k0, k1, converged)]) and ``cqi`` ((t_s, cqi) of the vehicle, may be empty).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _band(ax, s, color="tab:green"):
    lo, hi = s["target"] - s["tol"], s["target"] + s["tol"]
    ax.fill_between(s["t_s"], lo, hi, step="post", color=color, alpha=0.2, lw=0,
                    label="intent band")


def fig3_kp(s: dict, title: str = "", ax=None):
    """Fig. 3: throughput vs the band, ι of every enforcement, and the gain updates."""
    import matplotlib.pyplot as plt

    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(10, 4))
    _band(ax, s)
    ax.plot(s["t_s"], s["thr"], color="k", lw=0.8, label="slice throughput")
    tick = s["t_s"][1] - s["t_s"][0] if len(s["t_s"]) > 1 else 0.005
    for k0, k1, conv in s["enf"]:
        k = min(k1, len(s["thr"]) - 1)
        ax.plot(s["t_s"][k], s["thr"][k], "o", ms=3, color="k" if conv else "tab:red")
        ax.annotate(str(k1 - k0), (s["t_s"][k], s["thr"][k]), fontsize=6,
                    xytext=(2, 3), textcoords="offset points")
    kp_ax = ax.twinx()
    t_kp = [t for t, _, _ in s["kp"]] + [s["t_s"][-1] + tick]
    kps = [k for _, k, _ in s["kp"]]
    if kps:
        kp_ax.step(t_kp, kps + kps[-1:], where="post", color="tab:red", ls="--", lw=1,
                   label="Kp")
        for t, k, _ in s["kp"][1:]:
            kp_ax.annotate(f"{k:g}", (t, k), color="tab:red", fontsize=7, xytext=(2, 2),
                           textcoords="offset points")
    kp_ax.set_ylabel("Kp [% per Mbit/s]", color="tab:red")
    ax.set_xlabel("time [s]")
    ax.set_ylabel("throughput [Mbit/s]")
    ax.set_title(title or "Type I symbiotic agent: P-control iterations and Kp updates")
    ax.legend(loc="upper left", fontsize=7)
    return fig


def fig12_throughput(series_by_method: dict, labels: dict | None = None, ymax=None):
    """Fig. 12 / Fig. 4: throughput vs the band, one panel per method (same route)."""
    import matplotlib.pyplot as plt

    n = len(series_by_method)
    fig, axes = plt.subplots(n, 1, figsize=(10, 1.9 * n + 0.5), sharex=True, squeeze=False)
    for ax, (m, s) in zip(axes[:, 0], series_by_method.items()):
        _band(ax, s)
        ax.plot(s["t_s"], s["thr"], color="k", lw=0.6)
        ax.set_title((labels or {}).get(m, m), fontsize=8, loc="left")
        ax.set_ylabel("Mbit/s", fontsize=8)
        if ymax:
            ax.set_ylim(0, ymax)
    axes[-1, 0].set_xlabel("time [s]")
    fig.tight_layout()
    return fig


def fig13_box(box_by_method: dict, target=20.0, tol=5.0, labels: dict | None = None):
    """Fig. 13: throughput box plots over all routes, per method, against the band."""
    import matplotlib.pyplot as plt

    names = list(box_by_method)
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(names) + 2), 4.5))
    ax.axhspan(target - tol, target + tol, color="tab:green", alpha=0.2, label="intent band")
    ax.boxplot([np.asarray(box_by_method[m], float) for m in names], showfliers=False,
               whis=(5, 95))
    ax.set_xticks(range(1, len(names) + 1), [(labels or {}).get(m, m) for m in names],
                  rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("slice throughput [Mbit/s]")
    ax.set_title("Throughput over all routes per method (boxes 25–75 %, whiskers 5–95 %)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def fig14_controllers(runs, methods: list[str], labels: dict | None = None):
    """Fig. 14a: iterations to converge (box over routes), RMSE and inference latency."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(methods) + 2), 4))
    data = [runs.loc[runs["method"] == m, "iterations_mean"].dropna().to_numpy() for m in methods]
    ax.boxplot(data, showfliers=False, patch_artist=True,
               boxprops={"facecolor": "tab:blue", "alpha": 0.4})
    rmse = [runs.loc[runs["method"] == m, "rmse_mbps"].mean() for m in methods]
    ax.set_xticks(range(1, len(methods) + 1),
                  [f"{(labels or {}).get(m, m)}\nRMSE {r:.1f}" for m, r in zip(methods, rmse)],
                  fontsize=7, rotation=20, ha="right")
    ax.set_ylabel("iterations to converge", color="tab:blue")
    lat_ax = ax.twinx()
    lat = [runs.loc[runs["method"] == m, "latency_ms_mean"].mean() for m in methods]
    lat_ax.plot(range(1, len(methods) + 1), np.maximum(lat, 1e-3), "o", color="tab:red")
    lat_ax.set_yscale("log")
    lat_ax.set_ylabel("inference latency [ms]", color="tab:red")
    ax.set_title("Traditional controllers and standalone LLMs")
    fig.tight_layout()
    return fig


def save_all(out: str | Path, series: dict, box: dict, runs) -> list[Path]:
    """Write fig3/fig12/fig13/fig14 PNGs of an evaluation into ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from agents.symbiotic.methods import PRESETS, label

    out = Path(out)
    labels = {m: label(m) for m in box}
    written = []

    def save(fig, name):
        p = out / name
        fig.savefig(p, dpi=120)
        plt.close(fig)
        written.append(p)
    sym = [m for m in series if m.startswith("symbiotic")]
    if sym:
        save(fig3_kp(series[sym[0]], f"{labels.get(sym[0], sym[0])}: Kp updates"), "fig3_kp.png")
    if series:
        save(fig12_throughput(series, labels), "fig12_throughput.png")
    if box:
        save(fig13_box(box, labels=labels), "fig13_box.png")
    f14 = [m for m in PRESETS["fig14"] if m in set(runs["method"])]
    if f14:
        save(fig14_controllers(runs, f14, labels), "fig14_controllers.png")
    return written
