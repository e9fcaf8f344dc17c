"""Scripted backend: a deterministic decision rule behind the same chat interface.

A scripted policy implements the decision rule the prompt describes (e.g. the paper's Kp
heuristic, a bidding rule per tenant personality) as plain Python. It is a **real baseline**,
fast enough for sweeps and exact for tests, and it is labelled ``backend="scripted"`` in every
reply and result — never presented as an LLM. Its token counts are 0; its ``wall_s`` is the
measured wall time of the rule (microseconds).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from agents.llm.base import ChatReply
from agents.llm.parsing import parse_json_reply

Policy = Callable[[list[dict], "dict | None"], dict]


class ScriptedBackend:
    """Answer with ``policy(messages, schema)``, serialised as JSON.

    Parameters
    ----------
    policy : callable
        ``policy(messages, schema) -> dict``: the decision. Exceptions propagate (a bug in a
        baseline must not be hidden as an unavailable backend).
    name : str
        Name of the rule, recorded as the reply's ``model``.
    """

    def __init__(self, policy: Policy, name: str = "scripted"):
        self.policy = policy
        self.name = "scripted"
        self.model = name

    def chat(self, messages: list[dict], schema: dict | None = None, *, max_tokens: int = 128,
             temperature: float = 0.0) -> ChatReply:
        """Run the rule; the decision is validated against ``schema`` like any LLM reply."""
        start = time.perf_counter()
        decision = self.policy(messages, schema)
        wall_s = time.perf_counter() - start
        text = json.dumps(decision, sort_keys=True)
        parsed, error = parse_json_reply(text, schema)
        return ChatReply(text=text, parsed=parsed, prompt_tokens=0, completion_tokens=0,
                         wall_s=wall_s, backend=self.name, model=self.model, error=error)

    def describe(self) -> str:
        """Say plainly that this is a deterministic baseline rule."""
        return f"scripted baseline '{self.model}' (deterministic rule, not an LLM)"
