"""Tables of the benchmark: one CSV of every task × model, a markdown table per model.

The per-model table follows papers/002 Fig. 3–4 in tabular form: per task whether it was solved,
in how many iterations, which rungs of the ladder were needed (format re-requested, example
given, master used / parsed / helped), the tokens in and out, the throughput [tokens/s] and the
latency [s] of the model under test.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from agents.bench.ladder import TaskResult

COLUMNS = ["model", "backend", "task", "level", "success", "iterations", "format_requested",
           "example_given", "master_used", "master_parsed", "master_helped", "tokens_in",
           "tokens_out", "tokens_per_s", "wall_s", "master_tokens_in", "master_tokens_out",
           "master_wall_s", "message"]


def _yes(flag: bool) -> str:
    return "yes" if flag else "-"


def markdown_table(label: str, results: list[TaskResult]) -> str:
    """The markdown table of one model (with a totals row).

    Parameters
    ----------
    label : str
        Heading (model and backend, e.g. ``embedded SmolLM2-135M-Instruct``).
    results : list of TaskResult

    Returns
    -------
    str
    """
    head = ("| task | level | solved | iterations | format re-asked | example | master | "
            "master parsed | master helped | tokens in | tokens out | tokens/s | latency s |")
    lines = [f"#### {label}", "", head, "|" + "---|" * 13]
    for r in results:
        lines.append(
            f"| {r.task} | {r.level} | {'**yes**' if r.success else 'no'} | {r.iterations} | "
            f"{_yes(r.format_requested)} | {_yes(r.example_given)} | {_yes(r.master_used)} | "
            f"{_yes(r.master_parsed)} | {_yes(r.master_helped)} | {r.tokens_in} | "
            f"{r.tokens_out} | {r.tokens_per_s:.1f} | {r.wall_s:.2f} |")
    n = len(results)
    solved = sum(r.success for r in results)
    its = sum(r.iterations for r in results)
    tin, tout = sum(r.tokens_in for r in results), sum(r.tokens_out for r in results)
    wall = sum(r.wall_s for r in results)
    rate = tout / wall if wall > 0 and tout else 0.0
    lines.append(f"| **all** | | **{solved}/{n}** | {its} | "
                 f"{sum(r.format_requested for r in results)} | "
                 f"{sum(r.example_given for r in results)} | "
                 f"{sum(r.master_used for r in results)} | "
                 f"{sum(r.master_parsed for r in results)} | "
                 f"{sum(r.master_helped for r in results)} | {tin} | {tout} | {rate:.1f} | "
                 f"{wall:.2f} |")
    return "\n".join(lines) + "\n"


def write_outputs(out: str | Path, runs: list[tuple[str, str, list[TaskResult]]]) -> Path:
    """Write ``results.csv``, ``transcript.jsonl``, ``tables.md`` and one ``table_<i>.md``.

    Parameters
    ----------
    out : str or pathlib.Path
        Output folder (created).
    runs : list of (label, backend description, results)
        One entry per model.

    Returns
    -------
    pathlib.Path
        The folder.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "results.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        w.writeheader()
        for label, desc, results in runs:
            for r in results:
                w.writerow({"model": label, "backend": desc, **r.row()})
    with open(out / "transcript.jsonl", "w", encoding="utf-8") as f:
        for label, _, results in runs:
            for r in results:
                for step in r.steps:
                    f.write(json.dumps({"model": label, **step}, default=str) + "\n")
    tables = []
    for i, (label, desc, results) in enumerate(runs):
        text = markdown_table(label, results) + f"\n_{desc}_\n"
        (out / f"table_{i}.md").write_text(text, encoding="utf-8")
        tables.append(text)
    (out / "tables.md").write_text("\n".join(tables), encoding="utf-8")
    return out
