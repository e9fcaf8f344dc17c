"""Success rates of the twin methods per task, model and number of expert blocks (Tables I–II).

``python -m agents.twin.evaluate --backend embedded --method chain,cot,coder --runs 3 --out DIR``

Writes into ``DIR``:

* ``runs.jsonl`` — one line per run (:class:`agents.twin.chain.RunRecord`: success, error,
  failure stage and reason, blueprint, code, sandbox outcome, tokens, times);
* ``transcripts.jsonl`` — one line per LLM call (stage, messages, prompt hash, raw reply, tokens,
  wall time); ``--backend replay:DIR/transcripts.jsonl`` re-executes the runs without the model;
* ``success.csv`` and ``success.md`` — success rate per (backend, model, method, blocks, task),
  and the overall rate over tasks; the markdown has one table per block count (Table I layout:
  methods × tasks) and, with several block counts, a Table II layout (blocks × tasks);
* ``meta.json`` — the command line, configuration, versions and wall time.

``--method reference`` runs the expert-written solutions (no LLM) and must score 100 %. The
``scripted`` backend cannot write code and is refused with a message. The evaluation always
completes: every failure is a row with its reason.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import time
from collections import defaultdict
from pathlib import Path

from agents.twin import blocks as expert
from agents.twin.chain import METHODS, ChainConfig, solve
from agents.twin.sandbox import Limits
from agents.twin.tasks import TASKS, TITLES, make_instance

SCRIPTED_REFUSAL = ("the scripted backend cannot write code: it implements a fixed decision "
                    "rule, not a programmer. Use --method reference for the expert-written "
                    "solutions (labelled reference), or an LLM backend (embedded, ollama:<model>, "
                    "replay:<transcripts.jsonl>).")


def build_backend(spec: str):
    """The LLM backend of ``spec``; ``replay:<file>.jsonl`` reads a twin transcript.

    Raises
    ------
    ValueError
        ``scripted`` (see :data:`SCRIPTED_REFUSAL`) or an unknown spec.
    """
    spec = spec.strip()
    if spec == "scripted":
        raise ValueError(SCRIPTED_REFUSAL)
    if spec.startswith("replay:") and spec.endswith(".jsonl"):
        from agents.llm.replay import ReplayBackend

        path = spec.partition(":")[2]
        with open(path, encoding="utf-8") as f:
            records = [json.loads(line) for line in f if line.strip()]
        return ReplayBackend.from_records([r for r in records if r.get("raw_text") is not None
                                           and not r.get("error")], label=path)
    from agents.llm.factory import make_backend

    return make_backend(spec)


def backend_for_run(backend, run: int):
    """The backend of run ``run``: a copy whose sampling seed is ``seed + run`` when it has one.

    The prompts of a task are the same in every run (the instance's numbers are in the input
    files), so with one seed every run would sample the same reply; the paper's 20 runs are
    independent samples. Backends without a seed (replay) are returned unchanged.
    """
    if backend is None or not hasattr(backend, "seed"):
        return backend
    import copy

    twin = copy.copy(backend)
    twin.seed = int(backend.seed) + int(run)
    return twin


def _parse_list(text: str, valid, what: str) -> list:
    items = [t.strip() for t in text.split(",") if t.strip()]
    if items == ["all"]:
        return list(valid)
    bad = [t for t in items if t not in valid]
    if bad or not items:
        raise SystemExit(f"--{what}: unknown {bad or 'empty'}; valid: {', '.join(valid)}, all")
    return items


def _rate_rows(records: list) -> list:
    groups: dict = defaultdict(list)
    for r in records:
        key = (r["backend"], r["model"], r["method"], len(r["blocks"]), r["task"])
        groups[key].append(r)
        groups[key[:4] + ("all",)].append(r)
    rows = []
    for (backend, model, method, k, task), rs in sorted(groups.items(), key=lambda kv: (
            kv[0][:4], TASKS.index(kv[0][4]) if kv[0][4] in TASKS else 99)):
        errors = sorted(r["error"] for r in rs if r["error"] is not None)
        rows.append({"backend": backend, "model": model, "method": method, "blocks": k,
                     "task": task, "runs": len(rs), "successes": sum(r["success"] for r in rs),
                     "success_rate": sum(r["success"] for r in rs) / len(rs),
                     "scored": len(errors),
                     "median_error": errors[len(errors) // 2] if errors else None,
                     "mean_wall_s": sum(r["wall_s"] for r in rs) / len(rs),
                     "mean_llm_calls": sum(r["llm_calls"] for r in rs) / len(rs)})
    return rows


def _pct(x: float) -> str:
    return f"{100 * x:.0f} %"


def markdown_tables(rows: list) -> str:
    """Table I layout per (backend, block count): methods × tasks; Table II: blocks × tasks."""
    tasks = [t for t in TASKS if any(r["task"] == t for r in rows)]
    out = []
    by = defaultdict(dict)
    for r in rows:
        by[(r["backend"], r["model"], r["blocks"])][(r["method"], r["task"])] = r
    head = "| method | " + " | ".join(tasks) + " | all |\n|---|" + "---|" * (len(tasks) + 1)
    for (backend, model, k), cells in by.items():
        out.append(f"\n**{backend} / {model}, {k} expert block(s)** — success rate "
                   "(successes/runs)\n\n" + head)
        for method in [m for m in METHODS if any(key[0] == m for key in cells)]:
            vals = [cells.get((method, t)) for t in tasks + ["all"]]
            out.append(f"| {method} | " + " | ".join(
                f"{_pct(v['success_rate'])} ({v['successes']}/{v['runs']})" if v else "–"
                for v in vals) + " |")
    ks = sorted({r["blocks"] for r in rows})
    if len(ks) > 1:
        out.append("\n**Success rate vs number of expert blocks (Table II layout)**\n")
        out.append("| backend / method | blocks | " + " | ".join(tasks) + " | all |")
        out.append("|---|---|" + "---|" * (len(tasks) + 1))
        for (_backend, model, k), cells in sorted(by.items(), key=lambda kv: (kv[0][:2],
                                                                              kv[0][2])):
            for method in sorted({key[0] for key in cells}):
                vals = [cells.get((method, t)) for t in tasks + ["all"]]
                out.append(f"| {model} / {method} | {k} | " + " | ".join(
                    _pct(v["success_rate"]) if v else "–" for v in vals) + " |")
    return "\n".join(out) + "\n"


def write_tables(out: Path, records: list) -> list:
    """Write success.csv and success.md from run records; return the rows."""
    rows = _rate_rows(records)
    with open(out / "success.csv", "w", newline="", encoding="utf-8") as f:
        if rows:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    tasks_doc = "\n".join(f"* {t}: {TITLES[t]}" for t in TASKS)
    (out / "success.md").write_text(
        "# Twin task success rates (error < 10 %)\n\n" + tasks_doc + "\n" + markdown_tables(rows),
        encoding="utf-8")
    return rows


def evaluate(methods, tasks, runs: int, block_counts, backend_spec: str | None, out: Path,
             config: ChainConfig, first_run: int = 0, progress=print) -> list:
    """Run every (blocks, method, task, run) and write the outputs; returns the records.

    Parameters
    ----------
    methods, tasks : list of str
    runs : int
        Runs per task (instances ``first_run`` … ``first_run + runs - 1``).
    block_counts : list of str
        ``--blocks`` values (k or names), one table each.
    backend_spec : str or None
        LLM backend (not needed when every method is ``reference``).
    out : pathlib.Path
    config : ChainConfig
    """
    out.mkdir(parents=True, exist_ok=True)
    llm_methods = [m for m in methods if m != "reference"]
    backend = build_backend(backend_spec) if llm_methods else None
    records: list = []
    instances: dict = {}
    t_start = time.perf_counter()
    with open(out / "runs.jsonl", "w", encoding="utf-8") as runs_f, \
            open(out / "transcripts.jsonl", "w", encoding="utf-8") as tr_f:
        for bsel in block_counts:
            for method in methods:
                for task in tasks:
                    names = expert.select(task, bsel)
                    for run in range(first_run, first_run + runs):
                        if (task, run) not in instances:
                            instances[(task, run)] = make_instance(task, run)
                        transcript: list = []
                        rec = solve(method, instances[(task, run)], names,
                                    None if method == "reference"
                                    else backend_for_run(backend, run), config, transcript)
                        for line in transcript:
                            tr_f.write(json.dumps(line, ensure_ascii=False) + "\n")
                        d = rec.to_dict()
                        runs_f.write(json.dumps(d, ensure_ascii=False) + "\n")
                        runs_f.flush()
                        tr_f.flush()
                        records.append(d)
                        err = "–" if rec.error is None else f"{rec.error:.3g}"
                        progress(f"[{time.perf_counter() - t_start:7.1f} s] {method:9s} "
                                 f"blocks={len(names)} {task:8s} run {run:2d}: "
                                 f"{'OK ' if rec.success else 'FAIL'} error={err} "
                                 f"{rec.stage}: {rec.reason[:90]}")
    rows = write_tables(out, records)
    meta = {"argv": sys.argv, "methods": methods, "tasks": tasks, "runs": runs,
            "first_run": first_run, "blocks": block_counts,
            "backend": None if backend is None else backend.describe(),
            "config": {k: (v.__dict__ if isinstance(v, Limits) else v)
                       for k, v in config.__dict__.items()},
            "wall_s": time.perf_counter() - t_start, "python": platform.python_version(),
            "machine": platform.machine(), "cpus": os.cpu_count()}
    (out / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m agents.twin.evaluate", description=__doc__
                                .split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--backend", default="embedded",
                   help="embedded | ollama:<model> | replay:<transcripts.jsonl> (scripted is "
                        "refused)")
    p.add_argument("--method", default="chain,coder,cot",
                   help=f"comma list of {', '.join(METHODS)} (or all)")
    p.add_argument("--tasks", default="all", help=f"comma list of {', '.join(TASKS)} (or all)")
    p.add_argument("--runs", type=int, default=int(os.environ.get("TWIN_RUNS", 20)),
                   help="runs per task (paper: 20)")
    p.add_argument("--first-run", type=int, default=0, help="first instance number")
    p.add_argument("--blocks", default="0",
                   help="expert blocks: k (first k of the task's ranked list), names joined by "
                        "'+', or several separated by commas for a Table II sweep, e.g. 0,1,3,5")
    p.add_argument("--out", required=True, type=Path, help="output directory")
    p.add_argument("--max-tokens", type=int, default=512)
    p.add_argument("--temperature", type=float, default=0.0)
    p.add_argument("--context-tokens", type=int, default=2048,
                   help="context window of the model (embedded: 2048)")
    p.add_argument("--call-timeout", type=float, default=300.0, help="per LLM call [s]")
    p.add_argument("--n-coarse", type=int, default=2)
    p.add_argument("--m-fine", type=int, default=1)
    p.add_argument("--debug-rounds", type=int, default=2)
    p.add_argument("--restarts", type=int, default=1)
    p.add_argument("--wall-s", type=float, default=60.0, help="sandbox wall-clock limit [s]")
    p.add_argument("--cpu-s", type=int, default=30, help="sandbox CPU limit [s]")
    p.add_argument("--memory-mb", type=int, default=2048, help="sandbox memory limit [MiB]")
    a = p.parse_args(argv)
    if os.environ.get("SIMRAN_CI_TINY"):
        a.runs = min(a.runs, 1)
    methods = _parse_list(a.method, METHODS, "method")
    tasks = _parse_list(a.tasks, TASKS, "tasks")
    block_counts = [b.replace("+", ",") for b in a.blocks.split(",") if b.strip()]
    for t in tasks:
        for b in block_counts:
            try:
                expert.select(t, b)
            except ValueError as exc:
                p.error(str(exc))
    config = ChainConfig(n_coarse=a.n_coarse, m_fine=a.m_fine, debug_rounds=a.debug_rounds,
                         restarts=a.restarts, max_tokens=a.max_tokens,
                         temperature=a.temperature, context_tokens=a.context_tokens,
                         call_timeout_s=a.call_timeout,
                         limits=Limits(wall_s=a.wall_s, cpu_s=a.cpu_s, memory_mb=a.memory_mb),
                         compact_blocks=a.context_tokens < 4096)
    try:
        rows = evaluate(methods, tasks, a.runs, block_counts, a.backend, a.out, config,
                        a.first_run, progress=lambda s: print(s, file=sys.stderr, flush=True))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print((a.out / "success.md").read_text(encoding="utf-8"))
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
