"""Table 4 of papers/004 from the evaluation's runs: the mean over routes per method, with the
paper's figures beside (:func:`table`), and its markdown (:func:`markdown`)."""

from __future__ import annotations

import math

import pandas as pd


def table(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean over routes per method (event counts summed), with the paper's figures beside."""
    from agents.symbiotic.methods import label, paper_row

    out = []
    for method, g in runs.groupby("method", sort=False):
        paper = paper_row(method)
        out.append({
            "method": method, "label": label(method), "routes": len(g),
            "rmse_mbps": g["rmse_mbps"].mean(), "rmse_band_mbps": g["rmse_band_mbps"].mean(),
            "in_band_pct": g["in_band_pct"].mean(), "infeasible_pct": g["infeasible_pct"].mean(),
            "iterations": g["iterations_mean"].mean(),
            "iterations_steady": g["iterations_steady"].mean(),
            "convergence_ms": g["convergence_ms_mean"].mean(),
            "inference_ms": g["latency_ms_mean"].mean(),
            "on_time": int(g["on_time"].sum()), "late": int(g["late"].sum()),
            "dropped": int(g["dropped"].sum()), "llm_invocations": int(g["llm_invocations"].sum()),
            "rejected": int(g["rejected"].sum()), "kp_final": g["kp_final"].mean(),
            "out_of_band_s_per_min": _mean(g, "out_of_band_s_per_min"),
            "enforcements_per_min": _mean(g, "enforcements_per_min"),
            "merged_per_min": _mean(g, "merged_per_min"),
            "merged_iterations": _mean(g, "merged_iterations_mean"),
            "episode_iterations": _mean(g, "episode_iterations_mean"),
            "episode_unconverged": _mean(g, "episode_unconverged"),
            "llm_skipped": _sum(g, "llm_skipped"),
            "paper_rmse_mbps": paper.get("rmse_mbps", math.nan),
            "paper_iterations": paper.get("iterations", math.nan),
            "paper_convergence_ms": paper.get("convergence_ms", math.nan),
            "paper_inference_ms": paper.get("latency_ms", math.nan),
            "paper_source": paper.get("source", "")})
    return pd.DataFrame(out).sort_values("rmse_mbps", kind="stable").reset_index(drop=True)


def _mean(g: pd.DataFrame, col: str) -> float:
    """Mean of a column over routes (NaN when the runs predate it)."""
    return float(g[col].mean()) if col in g else math.nan


def _sum(g: pd.DataFrame, col: str) -> int:
    return int(g[col].sum()) if col in g else 0


def markdown(tab: pd.DataFrame) -> str:
    """Table 4-style markdown: ours | paper."""
    head = ("| method | RMSE [Mbit/s] | RMSE to band | in band % | iterations (steady) | "
            "conv. [ms] | "
            "inference [ms] | on time / late / dropped | LLM calls (rejected) | final Kp | "
            "paper RMSE | paper iters | paper conv. [ms] | paper inference [ms] | "
            "out of band [s/min] | enforcements/min | merged/min (ι merged) | ι per episode |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]

    def f(x, d=1):
        return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{d}f}"
    for r in tab.itertuples():
        lines.append(
            f"| {r.label} | {f(r.rmse_mbps)} | {f(r.rmse_band_mbps, 2)} | {f(r.in_band_pct)} | "
            f"{f(r.iterations, 2)} ({f(r.iterations_steady, 2)}) | {f(r.convergence_ms)} | "
            f"{f(r.inference_ms, 3)} | "
            f"{r.on_time} / {r.late} / {r.dropped} | {r.llm_invocations} ({r.rejected}) | "
            f"{f(r.kp_final, 2)} | {f(r.paper_rmse_mbps)} | {f(r.paper_iterations)} | "
            f"{f(r.paper_convergence_ms, 0)} | {f(r.paper_inference_ms, 0)} | "
            f"{f(r.out_of_band_s_per_min, 2)} | {f(r.enforcements_per_min)} | "
            f"{f(r.merged_per_min)} ({f(r.merged_iterations, 1)}) | "
            f"{f(r.episode_iterations, 2)} |")
    return "\n".join(lines) + "\n"
