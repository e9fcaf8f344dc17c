"""Command line of the benchmark: ``python -m agents.bench.run --backend B [--backend B2 …]``.

Each ``--backend`` is an :func:`agents.llm.make_backend` spec (``embedded``, ``ollama:<model>``,
``openai:<model>``, ``replay:<file>``) or ``scripted`` — the benchmark's deterministic rule
(:mod:`agents.bench.rule`), labelled as a rule, never as an LLM. Models under test are **not**
wrapped in a fallback: a server that fails is the model's failure, recorded as such. The master
LLM (``--master``, default: the backend under test itself) is any spec too.

Outputs in ``--out``: ``results.csv`` (task × model), ``transcript.jsonl`` (every step),
``tables.md`` and ``table_<i>.md`` (one markdown table per model).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from agents.bench.executor import Executor
from agents.bench.ladder import LadderConfig, Session, TaskResult
from agents.bench.network import NetworkView
from agents.bench.report import markdown_table, write_outputs
from agents.bench.rule import BenchRule
from agents.bench.tasks import ResolvedTask, TaskSuite, load_tasks
from agents.llm.base import LLMBackend
from agents.llm.factory import make_backend

DEFAULT_TASKS = Path(__file__).resolve().parents[2] / "scenarios" / "bench" / "tasks.toml"
EMBEDDED_HISTORY_CHARS = 2500
"""History budget for the embedded model (2048-token context, ~4 characters per token)."""


class Bench:
    """The benchmark's shared state: tasks, base network, executor, the rule.

    Parameters
    ----------
    tasks_path : str or pathlib.Path
        Task file.
    workdir : str or pathlib.Path
        Folder for check runs.
    overrides : list of str
        Extra overrides of the base scenario (after the task file's).
    only : list of str, optional
        Task ids to run (default: all, in file order).
    """

    def __init__(self, tasks_path, workdir, overrides=(), only=None):
        self.suite: TaskSuite = load_tasks(tasks_path)
        self.executor = Executor(self.suite.base, workdir,
                                 self.suite.overrides + list(overrides))
        self.scenario = self.executor.scenario.to_dict()
        self.view = NetworkView.from_results(self.executor.baseline())
        self.resolved = {t.id: self.suite.resolve(t, self.view) for t in self.suite.tasks}
        self.order: list[ResolvedTask] = [self.resolved[t.id] for t in self.suite.tasks
                                          if only is None or t.id in only]
        self.rule = BenchRule(self.resolved, self.view, self.executor, self.scenario)

    def backend(self, spec: str, timeout_s: float = 120.0) -> LLMBackend:
        """Build a backend; ``scripted`` is the benchmark rule."""
        if spec.strip() == "scripted":
            return make_backend("scripted", self.rule)
        return make_backend(spec, None, timeout_s=timeout_s)

    def run(self, backend: LLMBackend, master: LLMBackend,
            config: LadderConfig | None = None) -> list[TaskResult]:
        """One model through every task (a fresh chat)."""
        cfg = config or LadderConfig(max_iterations=self.suite.max_iterations)
        return Session(backend, master, self.view, self.executor, self.scenario, cfg).run(
            self.order)


def label(backend: LLMBackend) -> str:
    """``<backend> <model>``; the rule is labelled as such."""
    if backend.name == "scripted":
        return "scripted rule (baseline, not an LLM)"
    return f"{backend.name} {backend.model}"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m agents.bench.run", description=__doc__.split(
        "\n")[0])
    p.add_argument("--backend", action="append", required=True,
                   help="model under test (repeatable): scripted | embedded | ollama:<model> | "
                        "openai:<model> | replay:<file>")
    p.add_argument("--master", default=None, help="master LLM spec (default: the backend)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--tasks", default=str(DEFAULT_TASKS), help="task file")
    p.add_argument("--only", default=None, help="comma-separated task ids")
    p.add_argument("--max-iterations", type=int, default=None)
    p.add_argument("--history-chars", type=int, default=None,
                   help=f"chat history budget (default: all; embedded {EMBEDDED_HISTORY_CHARS})")
    p.add_argument("--max-tokens", type=int, default=256)
    p.add_argument("--timeout-s", type=float, default=120.0, help="per-request timeout [s]")
    p.add_argument("--set", action="append", default=[], dest="overrides",
                   help="override of the base scenario, e.g. simulation.duration_s=1")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark for every ``--backend``; print the tables; write the outputs."""
    args = _parser().parse_args(argv)
    only = args.only.split(",") if args.only else None
    with tempfile.TemporaryDirectory(prefix="simran-bench-") as work:
        bench = Bench(args.tasks, work, args.overrides, only)
        runs = []
        for spec in args.backend:
            backend = bench.backend(spec, args.timeout_s)
            master = bench.backend(args.master, args.timeout_s) if args.master else backend
            history = args.history_chars
            if history is None and backend.name == "embedded":
                history = EMBEDDED_HISTORY_CHARS
            cfg = LadderConfig(max_iterations=args.max_iterations or bench.suite.max_iterations,
                               history_max_chars=history, max_tokens=args.max_tokens)
            results = bench.run(backend, master, cfg)
            desc = f"{backend.describe()}; master: {master.describe()}"
            runs.append((label(backend), desc, results))
            print(markdown_table(label(backend), results), flush=True)
        write_outputs(args.out, runs)
    print(f"wrote {args.out}/results.csv, transcript.jsonl, tables.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
