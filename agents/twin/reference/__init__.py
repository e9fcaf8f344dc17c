"""Reference (expert-written) solutions of the twin tasks: a blueprint and a program per task.

Written by the project's engineers, not by an LLM, and labelled ``reference`` in every result.
They go through the same blueprint validation, sandbox and scoring as generated code; their
100 % success rate is the proof that statements, inputs, ground truth and scoring agree. The
programs use numpy and pandas only (no expert block), so they also run with ``--blocks 0``.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent


def blueprint_text(task: str) -> str:
    """The reference blueprint (TOML) of ``task``."""
    return (HERE / f"{task}.toml").read_text(encoding="utf-8")


def code_text(task: str) -> str:
    """The reference program of ``task``."""
    return (HERE / f"{task}_solution.py").read_text(encoding="utf-8")
