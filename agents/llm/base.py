"""The LLM backend protocol: one chat call in, one :class:`ChatReply` out (design §4).

Every backend (embedded llama-cpp, Ollama, scripted baseline, replay) answers
``chat(messages, schema)`` with a :class:`ChatReply` that carries the raw text, the parsed and
validated object, token counts, the wall-clock latency and the name of the backend and model that
really answered. A backend that cannot answer at all (server down, model missing, no recorded
reply) raises :class:`BackendUnavailable`; a backend that answers with something unusable returns
a reply whose ``parsed`` is ``None`` and whose ``error`` says why — that is the LLM's decision,
and the guard-rails, not the transport, deal with it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


@dataclass
class ChatReply:
    """One answer of a backend to one chat call.

    Attributes
    ----------
    text : str
        The raw reply text exactly as the model produced it (recorded in the decision log).
    parsed : dict or None
        The reply parsed as a JSON object and validated against the schema; ``None`` if parsing
        or validation failed (then ``error`` says why).
    prompt_tokens : int
        Tokens of the prompt as counted by the backend (0 for the scripted baseline).
    completion_tokens : int
        Tokens generated (0 for the scripted baseline).
    wall_s : float
        Wall-clock seconds the call took on this machine (for a replay: the recorded value).
    backend : str
        Which backend answered: ``"embedded"``, ``"ollama"``, ``"scripted"``, ``"replay"``.
    model : str
        The model that answered (file stem, Ollama tag, policy name or recorded model).
    error : str or None
        Why ``parsed`` is ``None`` (e.g. ``"not JSON: …"``, ``"kp=1e9 above maximum 5"``).
    fallback_reason : str or None
        Set by :class:`~agents.llm.fallback.FallbackBackend` when the primary backend could not
        answer and the fallback did; the primary's failure reason.
    """

    text: str
    parsed: dict | None
    prompt_tokens: int
    completion_tokens: int
    wall_s: float
    backend: str
    model: str
    error: str | None = None
    fallback_reason: str | None = None


class BackendUnavailable(Exception):
    """A backend cannot answer at all (connection refused, HTTP error, timeout, model missing,
    no recorded reply, embedded model not loadable). The message names the backend and reason."""


@runtime_checkable
class LLMBackend(Protocol):
    """What every backend offers.

    Attributes
    ----------
    name : str
        Backend kind (``"embedded"``, ``"ollama"``, ``"scripted"``, ``"replay"``, ``"fallback"``).
    model : str
        Model name as recorded in results.
    """

    name: str
    model: str

    def chat(
        self,
        messages: list[dict],
        schema: dict | None = None,
        *,
        max_tokens: int = 128,
        temperature: float = 0.0,
    ) -> ChatReply:
        """Answer one chat call; raise :class:`BackendUnavailable` if no answer is possible."""
        ...

    def describe(self) -> str:
        """One line naming which backend really answers (shown by ``simran run``)."""
        ...


def canonical_json(obj: Any) -> str:
    """Canonical JSON text: sorted keys, no whitespace, UTF-8 kept, NaN rejected."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def prompt_hash(messages: list[dict], schema: dict | None) -> str:
    """Identify a prompt: sha256 of the canonical JSON of messages and schema, 16 hex chars.

    Parameters
    ----------
    messages : list of dict
        Chat messages (``{"role": ..., "content": ...}``).
    schema : dict or None
        JSON schema the reply must satisfy.

    Returns
    -------
    str
        First 16 hex digits of ``sha256(canonical_json({"messages": …, "schema": …}))``; the key
        of the replay transcript.
    """
    text = canonical_json({"messages": messages, "schema": schema})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
