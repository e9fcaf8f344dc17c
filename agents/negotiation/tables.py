"""Tables and figures of the Type II evaluation: Table 7 beside the paper, Fig. 15, MAESTRO's
Fig. 3a/3b (:mod:`agents.negotiation.evaluate` runs the games)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------------------ tables ---------
def _f(v):
    return math.nan if v is None else float(v)


def _agg(rows: list[dict]) -> dict:
    err = np.array([_f(r["abs_error_mbps"]) for r in rows])
    ok = [r for r in rows if not r["failed"]]
    ttc = np.array([_f(r["time_to_consensus_s"]) for r in ok])
    rl = np.array([_f(r["game_time_s"]) / max(r["rounds"], 1) for r in rows])
    return {"games": len(rows), "mae_mbps": float(np.nanmean(err)) if rows else math.nan,
            "median_err_mbps": float(np.nanmedian(err)) if rows else math.nan,
            "rounds": float(np.mean([r["rounds"] for r in rows])) if rows else math.nan,
            "time_to_consensus_s": float(np.nanmean(ttc)) if ok else math.nan,
            "round_s": float(np.nanmean(rl)) if rows else math.nan,
            "failure_rate": float(np.mean([r["failed"] for r in rows])) if rows else math.nan}


def table7(grid: list[dict], embedded: list[dict], algo_rows: list[dict]) -> list[dict]:
    """Our rows (measured here) and the paper's (transcribed), one list."""
    rows = []
    names = {"none": "standalone (pressure none)", "soft": "symbiotic (pressure soft)",
             "hard": "symbiotic (pressure hard)"}
    for p in ("soft", "hard", "none"):
        sel = [r for r in grid if r["pressure"] == p]
        if sel:
            rows.append({"source": "simran", "model": "scripted rules (not an LLM)",
                         "design": names[p], **_agg(sel)})
    for v in ("soft+grammar", "soft", "none"):
        sel = [r for r in embedded if r.get("variant") == v]
        if sel:
            design = {"none": "standalone (pressure none)", "soft": "symbiotic (pressure soft)",
                      "soft+grammar": "symbiotic, interval as grammar bound"}[v]
            rows.append({"source": "simran", "model": "SmolLM2-135M (embedded, 2 tenants)",
                         "design": design, **_agg(sel)})
    rows += algo_rows
    rows += paper_table7()
    return rows


def algorithm1_rows(grid: list[dict]) -> list[dict]:
    """The optimizer-only baselines on the grid's intents: the closed form (the reference, error
    0 by definition) and Algorithm 1 as printed (x_t = 50, Eq. 7 with the growing β)."""
    from agents.negotiation.optimizer import algorithm1_as_printed

    seen, errs, fails, iters = set(), [], 0, []
    for r in grid:
        key = tuple(r["intents"])
        if key in seen:
            continue
        seen.add(key)
        run = algorithm1_as_printed(r["intents"], 50.0)
        iters.append(run.iterations)
        if run.value is None:
            fails += 1
            errs.append(abs(float(np.mean(run.sla_mbps)) - _f(r["optimum_mbps"])))
        else:
            errs.append(abs(run.value - _f(r["optimum_mbps"])))
    if not seen:
        return []
    n = len(seen)
    return [{"source": "simran", "model": "side-car optimizer (closed form)",
             "design": "optimizer only (the reference)", "games": n, "mae_mbps": 0.0,
             "median_err_mbps": 0.0, "rounds": 0.0, "time_to_consensus_s": 0.0, "round_s": 0.0,
             "failure_rate": 0.0},
            {"source": "simran", "model": "Algorithm 1 as printed (x_t = 50)",
             "design": "optimizer only, iterations as rounds", "games": n,
             "mae_mbps": float(np.mean(errs)), "median_err_mbps": float(np.median(errs)),
             "rounds": float(np.mean(iters)), "time_to_consensus_s": 0.0, "round_s": 0.0,
             "failure_rate": fails / n}]


def paper_table7() -> list[dict]:
    import csv

    path = REPO / "datasets" / "llm_latency_profiles.csv"
    out = []
    with path.open() as fh:
        for r in csv.DictReader(fh):
            if r["table"] != "7":
                continue
            out.append({"source": "papers/004 Table 7", "model": r["model"], "design": r["design"],
                        "games": math.nan, "mae_mbps": float(r["mae_mbps"]),
                        "median_err_mbps": math.nan, "rounds": float(r["rounds"]),
                        "time_to_consensus_s": float(r["convergence_s"]),
                        "round_s": float(r["latency_ms"]) / 1e3, "failure_rate": math.nan})
    return out


COLUMNS = ("source", "model", "design", "games", "mae_mbps", "median_err_mbps", "rounds",
           "time_to_consensus_s", "round_s", "failure_rate")


def markdown(rows: list[dict], columns=COLUMNS) -> str:
    def cell(v):
        if isinstance(v, float):
            return "—" if not math.isfinite(v) else f"{v:.2f}" if abs(v) < 1000 else f"{v:.0f}"
        return str(v)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def write_csv(path: Path, rows: list[dict], columns) -> None:
    import csv

    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(columns), extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow(r)


def fig3a_table(rows: list[dict]) -> list[dict]:
    out = []
    pairs = []
    for r in rows:
        if r["pair"] not in pairs:
            pairs.append(r["pair"])
    for p in pairs:
        sel = [r for r in rows if r["pair"] == p]
        fin = np.array([_f(r["final_mbps"]) for r in sel])
        ok = [r for r in sel if not r["failed"]]
        out.append({"pair": p, "games": len(sel), "mean_mbps": float(np.nanmean(fin)),
                    "sd_mbps": float(np.nanstd(fin)),
                    "cost_final_mbps": float(np.nanmean([_f(r["final_bids"][0]) for r in sel])),
                    "qos_final_mbps": float(np.nanmean([_f(r["final_bids"][1]) for r in sel])),
                    "agreement_rate": len(ok) / len(sel),
                    "rounds": float(np.mean([r["rounds"] for r in sel])),
                    "time_to_consensus_s": float(np.nanmean([_f(r["time_to_consensus_s"])
                                                             for r in ok])) if ok else math.nan})
    return out


def fig3b_table(rows: list[dict]) -> list[dict]:
    out = []
    for n in sorted({r["n"] for r in rows}):
        for p in ("none", "soft", "hard"):
            sel = [r for r in rows if r["n"] == n and r["pressure"] == p]
            if sel:
                err = np.array([_f(r["abs_error_mbps"]) for r in sel])
                out.append({"n": n, "pressure": p, **_agg(sel),
                            "sd_err_mbps": float(np.nanstd(err))})
    return out


def fig15_table(rows: list[dict]) -> list[dict]:
    out = []
    for n in sorted({r["n"] for r in rows}):
        for p, label in (("none", "without interval"), ("soft", "with interval")):
            sel = [r for r in rows if r["n"] == n and r["pressure"] == p]
            if sel:
                out.append({"n": n, "interval": label, **_agg(sel)})
    return out


def _boxplot(path: Path, groups: list[tuple[str, list[float]]], title: str, ylabel: str,
             colors=None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(6, 0.55 * len(groups)), 4))
    data = [[v for v in vals if math.isfinite(v)] or [math.nan] for _, vals in groups]
    bp = ax.boxplot(data, patch_artist=True, showfliers=True)
    ax.set_xticks(range(1, len(groups) + 1), [g for g, _ in groups], rotation=45, ha="right")
    if colors:
        for patch, c in zip(bp["boxes"], colors):
            patch.set_facecolor(c)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def figures(out: Path, grid, fig3a, fig3b) -> None:
    if grid:
        groups, colors = [], []
        for n in sorted({r["n"] for r in grid}):
            for p, label, c in (("none", "no interval", "#e8a0a0"),
                                ("soft", "interval", "#a0d0a0")):
                groups.append((f"n={n}\n{label}", [_f(r["abs_error_mbps"]) for r in grid
                                                   if r["n"] == n and r["pressure"] == p]))
                colors.append(c)
        _boxplot(out / "fig15.png", groups, "Fig. 15 analogue: error to the optimum, scripted "
                 "rules (not LLMs)", "|final − optimum| [Mbit/s]", colors)
    if fig3a:
        pairs = []
        for r in fig3a:
            if r["pair"] not in pairs:
                pairs.append(r["pair"])
        _boxplot(out / "fig3a.png", [(p, [_f(r["final_mbps"]) for r in fig3a if r["pair"] == p])
                                     for p in pairs],
                 "Fig. 3a analogue: final value per personality pair (cost–QoS), scripted rules",
                 "final throughput [Mbit/s]")
    if fig3b:
        groups = [(f"n={n} {p}", [_f(r["abs_error_mbps"]) for r in fig3b
                                  if r["n"] == n and r["pressure"] == p])
                  for n in sorted({r["n"] for r in fig3b}) for p in ("none", "soft", "hard")]
        _boxplot(out / "fig3b.png", groups, "Fig. 3b analogue: error to the optimum by pressure, "
                 "scripted rules", "|final − optimum| [Mbit/s]")


def report(out: Path, rows_by_part: dict) -> str:
    grid = rows_by_part.get("grid", [])
    emb = rows_by_part.get("embedded", [])
    t7 = table7(grid, emb, algorithm1_rows(grid))
    write_csv(out / "table7.csv", t7, COLUMNS)
    text = ["## Table 7 (simran rows measured here; paper rows transcribed)", "", markdown(t7)]
    (out / "table7.md").write_text("\n".join(text) + "\n")
    if grid:
        f15 = fig15_table(grid)
        cols = ("n", "interval", "games", "mae_mbps", "median_err_mbps", "rounds",
                "time_to_consensus_s", "failure_rate")
        write_csv(out / "fig15.csv", f15, cols)
        text += ["", "## Fig. 15 (scripted rules)", "", markdown(f15, cols)]
    if rows_by_part.get("fig3a"):
        f3a = fig3a_table(rows_by_part["fig3a"])
        cols = ("pair", "games", "mean_mbps", "sd_mbps", "cost_final_mbps", "qos_final_mbps",
                "agreement_rate", "rounds", "time_to_consensus_s")
        write_csv(out / "fig3a.csv", f3a, cols)
        text += ["", "## Fig. 3a (scripted rules, pressure none)", "", markdown(f3a, cols)]
    if rows_by_part.get("fig3b"):
        f3b = fig3b_table(rows_by_part["fig3b"])
        cols = ("n", "pressure", "games", "mae_mbps", "sd_err_mbps", "median_err_mbps", "rounds",
                "time_to_consensus_s", "failure_rate")
        write_csv(out / "fig3b.csv", f3b, cols)
        text += ["", "## Fig. 3b (scripted rules, ≤ 4 rounds)", "", markdown(f3b, cols)]
    if emb:
        cols = ("variant", "games", "mae_mbps", "median_err_mbps", "rounds", "failure_rate",
                "rejected_share", "reprompt_share")
        erows = []
        for v in ("none", "soft", "soft+grammar"):
            sel = [r for r in emb if r.get("variant") == v]
            if sel:
                reps = sum(r["replies"] for r in sel) or 1
                erows.append({"variant": v, **_agg(sel),
                              "rejected_share": sum(r["rejected_replies"] for r in sel) / reps,
                              "reprompt_share": sum(r["reprompted"] for r in sel) / reps})
        write_csv(out / "embedded.csv", erows, cols)
        text += ["", "## Embedded SmolLM2-135M tenants (2 per game)", "", markdown(erows, cols)]
    try:
        figures(out, grid, rows_by_part.get("fig3a", []), rows_by_part.get("fig3b", []))
    except ImportError:
        text.append("\n(matplotlib missing: no figures)")
    md = "\n".join(text) + "\n"
    (out / "report.md").write_text(md)
    return md
