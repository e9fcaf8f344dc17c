"""LLM backends behind one protocol: ``chat(messages, schema) -> ChatReply`` (design §4).

Backends: :class:`EmbeddedBackend` (llama-cpp, SmolLM2-135M, in-process), :class:`OllamaBackend`
(a user's Ollama server), :class:`ScriptedBackend` (deterministic baseline rule),
:class:`ReplayBackend` (recorded transcript) and :class:`FallbackBackend` (primary → fallback
with a circuit breaker). :func:`make_backend` builds one from a spec string. Importing this
package imports neither ``ollama`` nor ``llama_cpp``; the backends do so when used.
"""

from agents.llm.base import BackendUnavailable, ChatReply, LLMBackend, prompt_hash
from agents.llm.embedded import EmbeddedBackend, embedded_available, embedded_status, model_path
from agents.llm.factory import SPEC_FORMS, default_ollama_model, make_backend
from agents.llm.fallback import FallbackBackend
from agents.llm.ollama_backend import OllamaBackend
from agents.llm.parsing import SchemaError, parse_json_reply, validate
from agents.llm.replay import RecordedReply, ReplayBackend, TranscriptError
from agents.llm.scripted import ScriptedBackend

__all__ = [
    "BackendUnavailable", "ChatReply", "EmbeddedBackend", "FallbackBackend", "LLMBackend",
    "OllamaBackend", "RecordedReply", "ReplayBackend", "SPEC_FORMS", "SchemaError",
    "ScriptedBackend", "TranscriptError", "default_ollama_model", "embedded_available",
    "embedded_status", "make_backend", "model_path", "parse_json_reply", "prompt_hash",
    "validate",
]
