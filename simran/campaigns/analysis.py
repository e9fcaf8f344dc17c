"""Analysis of a folder of runs: one tidy table of its runs, summaries over seeds, plots.

:func:`load_runs` reads any folder of results files (a campaign, replay output, hand-made);
:func:`load_campaign` reads the run records of a folder written by
:func:`~simran.campaigns.campaign.run_campaign` (one row per run: parameters and summary
metrics); :func:`summarize` gives the mean and 95 % confidence interval over seeds per parameter
combination; :func:`plot_metric` draws one metric against a swept parameter (matplotlib is
imported inside it only).
"""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path

import numpy as np
import pandas as pd

from simran.campaigns.campaign import CAMPAIGN_FILE, RUNS_DIR, campaign_meta, scan_runs
from simran.campaigns.sweep import canonical_json
from simran.errors import SweepError


def _cell(value):
    """Scalar params stay as they are; list/table values become canonical JSON text."""
    return canonical_json(value) if isinstance(value, (list, dict)) else value


def load_campaign(path: str | Path, metrics: list[str] | None = None) -> pd.DataFrame:
    """One tidy row per recorded run: run_id, status, replication, seed, params, metrics.

    Parameters
    ----------
    path : path
        Campaign folder.
    metrics : list of str, optional
        Summary metrics to include (fnmatch patterns); default (None or ``[]``): every summary
        metric of the runs. Failed runs have NaN metrics.

    Returns
    -------
    pandas.DataFrame
        Parameters are columns named by their dotted path; ``df.attrs["axes"]`` lists them,
        ``df.attrs["metrics"]`` the metric columns and ``df.attrs["sweep_metrics"]`` those the
        sweep file's ``[sweep] metrics`` selects (what ``simran campaign`` shows). Rows are in
        plan order.
    """
    out = Path(path)
    meta = campaign_meta(out)
    records = scan_runs(out)
    order = {p["run_id"]: i for i, p in enumerate(meta.get("plan", []))}
    recs = sorted(records.values(), key=lambda r: (order.get(r["run_id"], len(order)),
                                                    r["run_id"]))
    axes = list(dict.fromkeys([*meta.get("axes", []), *(k for r in recs for k in r["params"])]))
    names = _select(recs, metrics or [])
    selected = _select(recs, meta.get("metrics") or [], strict=False)
    rows = [{"run_id": r["run_id"], "status": r["state"], "replication": r["replication"],
             "seed": r["seed"], **{a: _cell(r["params"].get(a)) for a in axes},
             **{m: r.get("summary", {}).get(m, np.nan) for m in names},
             "wall_s": r.get("wall_s"), "error": r.get("error"),
             "path": str(out / RUNS_DIR / r.get("results_file", f"{r['run_id']}.h5"))}
            for r in recs]
    df = pd.DataFrame(rows, columns=["run_id", "status", "replication", "seed", *axes, *names,
                                     "wall_s", "error", "path"])
    df.attrs.update(axes=axes, metrics=names, sweep_metrics=selected, kind="campaign")
    return df


def _select(recs: list[dict], patterns: list[str], strict: bool = True) -> list[str]:
    available = list(dict.fromkeys(k for r in recs for k in r.get("summary", {})))
    if not patterns:
        return available
    chosen = [m for m in available if any(fnmatch(m, p) for p in patterns)]
    unmatched = [p for p in patterns if not any(fnmatch(m, p) for m in available)]
    if strict and available and unmatched:
        raise SweepError(f"metric(s) {unmatched} match no summary metric; available: "
                         + ", ".join(available))
    return chosen


def load_runs(path: str | Path, metrics: list[str] | None = None) -> pd.DataFrame:
    """One tidy DataFrame of any folder of results files: a campaign, replay output, hand-made.

    A campaign folder (``campaign.json`` or ``runs/``) is read by :func:`load_campaign`. Any
    other folder is searched recursively for simran results files (``*.h5`` with the results
    format; trace sets and other HDF5 files are skipped); a single results file works too. Only
    attributes and the summary are read, not the KPI tables.

    Parameters
    ----------
    path : path
        Folder (or one results file).
    metrics : list of str, optional
        Summary metrics to include (fnmatch patterns); default: all.

    Returns
    -------
    pandas.DataFrame
        One row per file: ``run_id`` (the path relative to ``path``, without ``.h5``; for
        ``<name>/results.h5`` the folder name), ``status`` (``done``, ``incomplete`` or
        ``unreadable``), ``replication`` (None outside campaigns), ``seed``, the scenario fields
        that differ between the files (dotted ``--set`` paths, e.g. ``ue_groups.0.trace.ids``),
        the metrics, ``wall_s``, ``error`` and ``path``. ``df.attrs`` holds ``axes``,
        ``metrics`` and ``kind`` (``"campaign"`` or ``"files"``), so :func:`summarize` and
        :func:`plot_metric` work on it.

    Raises
    ------
    SweepError
        If ``path`` does not exist or holds no results file.
    """
    root = Path(path)
    if root.is_dir() and ((root / CAMPAIGN_FILE).is_file() or (root / RUNS_DIR).is_dir()):
        return load_campaign(root, metrics)
    if not root.exists():
        raise SweepError(f"{root}: no such file or folder")
    files = [root] if root.is_file() else sorted(root.rglob("*.h5"))
    recs = [r for f in files if (r := _file_record(f, root))]
    if not recs:
        raise SweepError(f"{root}: no simran results file (*.h5) found")
    axes = _varying([r.pop("scenario") for r in recs], recs)
    names = _select(recs, metrics or [])
    rows = [{"run_id": r["run_id"], "status": r["state"], "replication": None,
             "seed": r["seed"], **{a: r["params"].get(a) for a in axes},
             **{m: r["summary"].get(m, np.nan) for m in names},
             "wall_s": r["wall_s"], "error": r["error"], "path": r["path"]} for r in recs]
    df = pd.DataFrame(rows, columns=["run_id", "status", "replication", "seed", *axes, *names,
                                     "wall_s", "error", "path"])
    df.attrs.update(axes=axes, metrics=names, sweep_metrics=names, kind="files")
    return df


def _file_record(f: Path, root: Path) -> dict | None:
    """Attributes, summary and flattened scenario of one results file (None: not one)."""
    import json

    import h5py

    from simran.output.results import FORMAT

    rel = f.relative_to(root) if f != root else Path(f.name)
    run_id = str(rel.parent if rel.name == "results.h5" and str(rel.parent) != "." else
                 rel.with_suffix(""))
    rec = {"run_id": run_id, "path": str(f), "seed": None, "summary": {}, "scenario": {},
           "wall_s": None, "error": None, "state": "done"}
    try:
        with h5py.File(f, "r") as h:
            if h.attrs.get("format") != FORMAT:
                return None
            rec["seed"] = _py(h.attrs.get("seed"))
            if not bool(h.attrs.get("complete", False)):
                return {**rec, "state": "incomplete", "error": "the run did not finish"}
            rec["summary"] = {k: float(v) for k, v in h["summary"].attrs.items()}
            rec["wall_s"] = _py(h["run_info"].attrs.get("wall_s"))
            rec["scenario"] = _flat(json.loads(h["scenario_json"].asstr()[()]))
    except (OSError, KeyError, ValueError, TypeError) as exc:
        return {**rec, "state": "unreadable", "error": f"{type(exc).__name__}: {exc}"}
    return rec


def _py(v):
    return v.item() if isinstance(v, np.generic) else v


def _flat(data, prefix: str = "") -> dict:
    """Dotted ``--set`` paths → scalar (lists of tables by index; other lists as JSON)."""
    if isinstance(data, dict):
        out = {}
        for k, v in data.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else k))
        return out
    if isinstance(data, list) and data and all(isinstance(v, dict) for v in data):
        out = {}
        for i, v in enumerate(data):
            out.update(_flat(v, f"{prefix}.{i}"))
        return out
    return {prefix: _cell(data)}


def _varying(scenarios: list[dict], recs: list[dict]) -> list[str]:
    """Scenario fields that differ between the files become the parameter columns."""
    keys = list(dict.fromkeys(k for s in scenarios for k in s))
    ok = [s for s, r in zip(scenarios, recs) if r["state"] == "done"]
    axes = [k for k in keys if k not in ("source", "base_dir")
            and len({canonical_json(s.get(k)) for s in ok}) > 1]
    for s, r in zip(scenarios, recs):
        r["params"] = {a: s.get(a) for a in axes}
    return axes


def summarize(df: pd.DataFrame, metrics: list[str] | None = None,
              by: list[str] | None = None) -> pd.DataFrame:
    """Mean, 95 % CI half-width (t-distribution) and n over seeds, per parameter combination.

    Columns: ``n``, then ``<metric>`` and ``<metric>_ci95`` for every metric.
    """
    done = df[df["status"] == "done"]
    by = by if by is not None else [a for a in df.attrs.get("axes", []) if a in df]
    metrics = metrics or [m for m in df.attrs.get("metrics", []) if m in df]
    groups = done.groupby(by, sort=True, dropna=False) if by else [((), done)]
    rows = []
    for key, g in groups:
        row = dict(zip(by, key if isinstance(key, tuple) else (key,)), n=len(g))
        for m in metrics:
            row[m], row[f"{m}_ci95"] = mean_ci95(g[m].to_numpy(float))
        rows.append(row)
    return pd.DataFrame(rows, columns=[*by, "n", *(c for m in metrics for c in (m, f"{m}_ci95"))])


def mean_ci95(values: np.ndarray) -> tuple[float, float]:
    """Mean and the half-width of its 95 % confidence interval, Student t with n-1 dof.

    .. math:: \\bar x \\pm t_{0.975,\\,n-1}\\, s / \\sqrt{n}

    The half-width is NaN for fewer than 2 finite values.
    """
    from scipy.stats import t

    x = values[np.isfinite(values)]
    if x.size == 0:
        return float("nan"), float("nan")
    if x.size < 2:
        return float(x.mean()), float("nan")
    half = t.ppf(0.975, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
    return float(x.mean()), float(half)


#: summary metrics: (readable name, unit). Slice and agent metrics are matched by their suffix.
METRIC_LABELS = {
    "throughput_mbps_mean": ("network throughput, time mean", "Mbit/s"),
    "cell_throughput_mbps_mean": ("cell throughput, mean over cells and time", "Mbit/s"),
    "prb_util_mean": ("PRB utilisation, mean over cells and time", "0..1"),
    "ue_throughput_mbps_mean": ("UE throughput, mean over UEs", "Mbit/s"),
    "ue_throughput_mbps_p5": ("UE throughput, 5th percentile over UEs", "Mbit/s"),
    "ue_throughput_mbps_p50": ("UE throughput, median over UEs", "Mbit/s"),
    "sinr_db_mean": ("UE SINR, mean of dB values", "dB"),
    "sinr_db_p5": ("UE SINR, 5th percentile", "dB"),
    "cbr_dropped_mbit": ("CBR traffic dropped", "Mbit"),
    "energy_kwh": ("network energy", "kWh"),
    "energy_j_per_cell_mean": ("energy per cell", "J"),
    "energy_efficiency_bit_per_j": ("energy efficiency", "bit/J"),
    "handovers": ("handovers", "count"),
}


def metric_label(metric: str) -> str:
    """A readable axis label of a summary metric: name, unit and the metric's key."""
    name = metric.split(".")[-1]
    if metric in METRIC_LABELS or name in METRIC_LABELS:
        what, unit = METRIC_LABELS.get(metric) or METRIC_LABELS[name]
        if metric.startswith("slice."):
            what = f"slice {metric.split('.')[1]}: " + what.replace("network ", "")
        return f"{what} [{unit}]\n({metric})"
    return metric


def param_label(path: str) -> str:
    """A readable axis label of a scenario parameter path, from the schema's description."""
    from simran.scenario import Scenario

    model, info = Scenario, None
    for part in (p for p in path.split(".") if not p.isdigit()):
        info = model.model_fields.get(part) if model is not None else None
        model = _submodel(info.annotation) if info is not None else None
        if info is None:
            break
    desc = (info.description or "") if info is not None else ""
    if not desc:
        return path
    desc = desc.split(";")[0].split(" (")[0]
    return f"{desc[:48]}{'…' if len(desc) > 48 else ''}\n({path})"


def _submodel(annotation):
    """The first pydantic model inside a field annotation (``list[Slice]``, ``X | None``)."""
    import typing

    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        if (m := _submodel(arg)) is not None:
            return m
    return None


def metric_range(metric: str, values=None) -> tuple[float, float]:
    """The range a summary metric can take: (low, high).

    PRB utilisation is within 0..1, ``*_pct`` metrics within 0..100; dB metrics are unbounded;
    any other metric is a count, an energy or a rate and is ≥ 0 (as is any metric whose
    ``values`` are all ≥ 0).
    """
    name = metric.split(".")[-1]
    if name.startswith("prb_util"):
        return 0.0, 1.0
    if name.endswith("_pct"):
        return 0.0, 100.0
    if "_db" in name:
        return -np.inf, np.inf
    if values is not None and np.nanmin(np.asarray(values, float), initial=0.0) < 0:
        return -np.inf, np.inf
    return 0.0, np.inf


def clipped_errors(mean, ci, low: float, high: float) -> np.ndarray:
    """Asymmetric error bars [2, n] for ``mean ± ci`` clipped to ``[low, high]`` (a 95 % CI of
    a throughput does not reach below zero)."""
    mean, ci = np.asarray(mean, float), np.nan_to_num(np.asarray(ci, float))
    lo = np.minimum(ci, np.maximum(mean - low, 0.0))
    hi = np.minimum(ci, np.maximum(high - mean, 0.0))
    return np.vstack([lo, hi])


def plot_metric(campaign: str | Path | pd.DataFrame, metric: str, x: str, hue: str | None = None,
                out: str | Path | None = None, xlabel: str | None = None,
                ylabel: str | None = None):
    """Plot a metric against a parameter: mean ± 95 % CI over seeds, one line per ``hue``.

    Every other swept parameter must be constant in ``campaign`` (filter the DataFrame first):
    averaging over different configurations is not a confidence interval over seeds. Error
    bars are clipped to the metric's range (:func:`metric_range`); axis labels come from the
    schema's field descriptions and :data:`METRIC_LABELS` unless ``xlabel`` / ``ylabel`` are
    given.

    Returns
    -------
    matplotlib.figure.Figure
        Saved to ``out`` (PNG, …) when given.
    """
    from matplotlib.figure import Figure

    df = campaign if isinstance(campaign, pd.DataFrame) else load_runs(campaign, metrics=[])
    _check_plot_columns(df, metric, x, hue)
    stats = summarize(df, [metric], by=[c for c in (hue, x) if c])
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.subplots()
    groups = list(stats.groupby(hue, sort=True)) if hue else [(None, stats)]
    numeric = pd.api.types.is_numeric_dtype(stats[x])
    span = float(np.ptp(stats[x])) if numeric and len(stats) else 0.0
    for i, (label, g) in enumerate(groups):
        dodge = (i - (len(groups) - 1) / 2) * 0.01 * span  # keep error bars apart
        xs = g[x] + dodge if numeric else g[x].astype(str)
        low, high = metric_range(metric, df[metric])
        yerr = clipped_errors(g[metric], g[f"{metric}_ci95"], low, high)
        ax.errorbar(xs, g[metric], yerr=yerr, marker="o", capsize=4,
                    label=None if hue is None else f"{hue} = {label}")
    n = stats["n"]
    ax.set(xlabel=xlabel or param_label(x), ylabel=ylabel or metric_label(metric),
           title=f"{metric}\nmean ± 95 % CI (t), n = "
           f"{n.min()}" + (f"–{n.max()}" if n.max() != n.min() else "") + " seeds per point")
    ax.grid(alpha=0.3)
    if hue:
        ax.legend()
    if out is not None:
        fig.savefig(out, dpi=120)
    return fig


def _check_plot_columns(df: pd.DataFrame, metric: str, x: str, hue: str | None) -> None:
    axes = df.attrs.get("axes", [])
    for what, col, choices in (("metric", metric, df.attrs.get("metrics", list(df.columns))),
                               ("x", x, axes), ("hue", hue, axes)):
        if col is not None and col not in df:
            raise SweepError(f"{what} {col!r} is not a column of the campaign; choose from: "
                             + ", ".join(map(str, choices)))
    done = df[df["status"] == "done"]
    if done.empty:
        raise SweepError("the campaign has no finished runs to plot")
    varying = [a for a in axes if a not in (x, hue) and a in df and done[a].nunique() > 1]
    if varying:
        raise SweepError(f"parameter(s) {varying} also vary: use one as hue, or filter the "
                         "DataFrame of load_campaign() to one value each")
