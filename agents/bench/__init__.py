"""A closed-loop LLM benchmark on simran's control tasks (NetLLMBench, papers/002; issue 14).

Tasks in plain language (:mod:`~agents.bench.tasks`, ``scenarios/bench/tasks.toml``) are asked
in one chat; replies are JSON command lists (:mod:`~agents.bench.commands`) verified, re-prompted
and, when needed, rewritten by a master LLM (:mod:`~agents.bench.ladder`); commands run on simran
through its control surface (:mod:`~agents.bench.executor`) and each task's KPI assertion is
checked on the run's results (:mod:`~agents.bench.checks`). :mod:`~agents.bench.rule` is the
scripted ceiling (a rule, not an LLM); :mod:`~agents.bench.report` writes the CSV and per-model
markdown tables; ``python -m agents.bench.run`` is the command line. See ``docs/bench.md``.
"""

from agents.bench.commands import Command, CommandError, parse_commands
from agents.bench.ladder import LadderConfig, Session, TaskResult
from agents.bench.tasks import TaskFileError, load_tasks

__all__ = ["Command", "CommandError", "LadderConfig", "Session", "TaskFileError", "TaskResult",
           "load_tasks", "parse_commands"]
