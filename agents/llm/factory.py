"""Build a backend from a spec string: ``auto | embedded | ollama:<model> | openai:<model> |
scripted | replay:<path>``.

``openai:<model>`` talks to an OpenAI-compatible server (vLLM, llama.cpp server, LM Studio,
OpenAI) at ``$OPENAI_BASE_URL`` with ``$OPENAI_API_KEY``; ``auto`` never probes it.

``auto`` picks, in order: Ollama if a server answers and lists the default model
(``$SIMRAN_OLLAMA_MODEL``, default ``llama3.2:3b``; probed with a 2 s timeout); else the embedded
SmolLM2 model if llama-cpp can run it here; else the scripted baseline. ``ollama:`` and
``embedded`` (also when chosen by ``auto``) are wrapped in a
:class:`~agents.llm.fallback.FallbackBackend` to the scripted policy when one is given, so a
server that dies mid-run degrades to the baseline with the reason recorded. Whatever is built,
``describe()`` names which backend really answers.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from agents.llm.base import BackendUnavailable, LLMBackend
from agents.llm.embedded import EmbeddedBackend, embedded_status
from agents.llm.fallback import FallbackBackend
from agents.llm.ollama_backend import PROBE_TIMEOUT_S, OllamaBackend
from agents.llm.openai_backend import OpenAIBackend
from agents.llm.replay import ReplayBackend
from agents.llm.scripted import ScriptedBackend

DEFAULT_OLLAMA_MODEL = "llama3.2:3b"
SPEC_FORMS = "auto | embedded | ollama:<model> | openai:<model> | scripted | replay:<path>"


class AutoScriptedBackend(ScriptedBackend):
    """The scripted policy as chosen by ``auto``; :meth:`describe` says why (nothing else
    differs: the replies are those of :class:`ScriptedBackend`)."""

    def __init__(self, policy: Callable, name: str = "scripted", *, reason: str = ""):
        super().__init__(policy, name=name)
        self.auto_reason = reason

    def describe(self) -> str:
        """``scripted baseline … — chosen by auto: <why Ollama and the embedded model were not
        used>``."""
        return f"{super().describe()} — chosen by auto: {self.auto_reason}"


def default_ollama_model() -> str:
    """``$SIMRAN_OLLAMA_MODEL`` or ``llama3.2:3b``."""
    return os.environ.get("SIMRAN_OLLAMA_MODEL") or DEFAULT_OLLAMA_MODEL


def _with_fallback(primary: LLMBackend, scripted: ScriptedBackend | None) -> LLMBackend:
    return FallbackBackend(primary, scripted) if scripted is not None else primary


def _auto(scripted: ScriptedBackend | None, host: str | None, timeout_s: float) -> LLMBackend:
    ollama = OllamaBackend(default_ollama_model(), host=host, timeout_s=timeout_s)
    ok, ollama_reason = ollama.available(timeout_s=min(timeout_s, PROBE_TIMEOUT_S))
    if ok:
        return _with_fallback(ollama, scripted)
    ok, embedded_reason = embedded_status()
    if ok:
        return _with_fallback(EmbeddedBackend(), scripted)
    if scripted is not None:       # say why (``simran run`` prints describe())
        return AutoScriptedBackend(scripted.policy, scripted.model,
                                   reason=f"ollama: {ollama_reason}; embedded: "
                                   f"{embedded_reason}")
    raise BackendUnavailable(f"auto: no backend can answer: {ollama_reason}; embedded: "
                             f"{embedded_reason}; and no scripted policy was given")


def make_backend(spec: str, scripted_policy: Callable | None = None, *,
                 ollama_host: str | None = None, timeout_s: float = 30.0) -> LLMBackend:
    """Build the backend named by ``spec``.

    Parameters
    ----------
    spec : str
        ``auto``, ``embedded``, ``ollama:<model>``, ``openai:<model>``, ``scripted`` or
        ``replay:<path>``.
    scripted_policy : callable, optional
        ``policy(messages, schema) -> dict``; required for ``scripted``, used as the fallback of
        ``ollama:``/``openai:``/``embedded``/``auto``.
    ollama_host : str, optional
        Ollama URL; default ``$OLLAMA_HOST`` or ``http://127.0.0.1:11434``.
    timeout_s : float
        Per-request timeout of the Ollama / OpenAI-compatible client, seconds.

    Returns
    -------
    LLMBackend
        With ``describe()`` naming which backend really answers.

    Raises
    ------
    ValueError
        Unknown spec, empty model/path, or ``scripted`` without a policy.
    BackendUnavailable
        ``auto`` found nothing that can answer and no policy was given.
    """
    spec = spec.strip()
    name = getattr(scripted_policy, "__name__", "scripted")
    scripted = ScriptedBackend(scripted_policy, name=name) if scripted_policy else None
    if spec == "scripted":
        if scripted is None:
            raise ValueError("LLM backend 'scripted' needs a scripted policy; this agent has none")
        return scripted
    if spec == "embedded":
        return _with_fallback(EmbeddedBackend(), scripted)
    if spec == "auto":
        return _auto(scripted, ollama_host, timeout_s)
    kind, _, arg = spec.partition(":")
    if kind == "ollama" and arg:
        return _with_fallback(OllamaBackend(arg, host=ollama_host, timeout_s=timeout_s),
                              scripted)
    if kind == "openai" and arg:
        return _with_fallback(OpenAIBackend(arg, timeout_s=timeout_s), scripted)
    if kind == "replay" and arg:
        return ReplayBackend.from_hdf5(arg)
    raise ValueError(f"unknown LLM backend spec {spec!r}; valid forms: {SPEC_FORMS}")
