"""Ollama backend: the official ``ollama`` Python client against a user's Ollama server.

Structured output uses Ollama's ``format=<json schema>`` (the server constrains decoding to the
schema). Sampling is greedy (``temperature`` 0 by default) with a fixed ``seed`` option, and
``num_predict`` caps the reply length.

Every transport-level failure becomes :class:`BackendUnavailable` with a reason a decision log
can show: connection refused, read timeout, HTTP 5xx, model not pulled (HTTP 404), a response
the client cannot parse. ``ollama.Client`` forwards unknown keyword arguments to
``httpx.Client``, so tests inject an ``httpx.MockTransport`` through ``transport=`` without any
server.
"""

from __future__ import annotations

import os
import time
from typing import Any

from agents.llm.base import BackendUnavailable, ChatReply
from agents.llm.parsing import parse_json_reply

DEFAULT_HOST = "http://127.0.0.1:11434"
PROBE_TIMEOUT_S = 2.0


def default_host() -> str:
    """``$OLLAMA_HOST`` if set, else ``http://127.0.0.1:11434``."""
    return os.environ.get("OLLAMA_HOST") or DEFAULT_HOST


def _same_model(wanted: str, listed: str) -> bool:
    """Ollama tags without ``:tag`` mean ``:latest``."""
    def norm(name: str) -> str:
        return name if ":" in name else f"{name}:latest"
    return norm(wanted) == norm(listed)


class OllamaBackend:
    """Chat with a model served by Ollama.

    Parameters
    ----------
    model : str
        Ollama model tag, e.g. ``"llama3.2:3b"``.
    host : str, optional
        Server URL; default ``$OLLAMA_HOST`` or ``http://127.0.0.1:11434``.
    timeout_s : float
        httpx timeout per request (connect, read, write) in seconds.
    client : ollama.Client, optional
        A ready client (then ``host``, ``timeout_s`` and ``transport`` are not used for it).
    transport : httpx.BaseTransport, optional
        Forwarded to ``httpx.Client`` (tests: ``httpx.MockTransport``).
    seed : int
        Ollama ``seed`` option, for reproducible sampling.
    """

    name = "ollama"

    def __init__(self, model: str, host: str | None = None, timeout_s: float = 30.0,
                 client: Any | None = None, *, transport: Any | None = None, seed: int = 0):
        if not model:
            raise ValueError("OllamaBackend: model tag must not be empty (e.g. 'llama3.2:3b')")
        self.model = model
        self.host = host or default_host()
        self.timeout_s = float(timeout_s)
        self.seed = seed
        self._transport = transport
        self._client = client if client is not None else self._make_client(self.timeout_s)
        self._probe_client = client

    def _make_client(self, timeout_s: float) -> Any:
        import ollama

        extra = {"transport": self._transport} if self._transport is not None else {}
        return ollama.Client(host=self.host, timeout=timeout_s, **extra)

    def _unavailable(self, exc: BaseException) -> BackendUnavailable:
        """Translate a client/transport exception into a clear reason."""
        import httpx
        import ollama
        import pydantic

        where = f"ollama {self.model} @ {self.host}"
        if isinstance(exc, httpx.TimeoutException):
            why = f"no reply within {self.timeout_s:g} s ({type(exc).__name__})"
        elif isinstance(exc, ollama.ResponseError) and exc.status_code == 404:
            why = f"model not available on the server (HTTP 404: {exc.error})"
        elif isinstance(exc, ollama.ResponseError):
            why = f"HTTP {exc.status_code}: {exc.error}"
        elif isinstance(exc, ConnectionError):
            why = "connection refused (is `ollama serve` running?)"
        elif isinstance(exc, pydantic.ValidationError):
            why = f"malformed response: {exc.error_count()} validation error(s)"
        elif isinstance(exc, ValueError):    # HTTP 200 whose body is not JSON (JSONDecodeError)
            why = f"malformed response: the body is not JSON ({exc})"
        else:
            why = f"{type(exc).__name__}: {exc}"
        return BackendUnavailable(f"{where}: {why}")

    def _errors(self) -> tuple[type[BaseException], ...]:
        import httpx
        import ollama
        import pydantic

        # ValueError: json.JSONDecodeError of a reply body that is not JSON (HTTP 200 or not)
        return (httpx.HTTPError, ollama.ResponseError, ollama.RequestError, ConnectionError,
                pydantic.ValidationError, ValueError)

    def chat(self, messages: list[dict], schema: dict | None = None, *, max_tokens: int = 128,
             temperature: float = 0.0) -> ChatReply:
        """One non-streaming ``/api/chat`` call with ``format=schema``.

        Raises
        ------
        BackendUnavailable
            On connection refused, timeout, HTTP error, missing model or malformed response.
        """
        options = {"temperature": temperature, "num_predict": max_tokens, "seed": self.seed}
        start = time.perf_counter()
        try:
            resp = self._client.chat(model=self.model, messages=messages, format=schema,
                                     options=options, stream=False)
        except self._errors() as exc:
            raise self._unavailable(exc) from exc
        wall_s = time.perf_counter() - start
        text = (resp.message.content if resp.message is not None else None) or ""
        parsed, error = parse_json_reply(text, schema)
        return ChatReply(text=text, parsed=parsed, prompt_tokens=int(resp.prompt_eval_count or 0),
                         completion_tokens=int(resp.eval_count or 0), wall_s=wall_s,
                         backend=self.name, model=self.model, error=error)

    def available(self, timeout_s: float | None = None) -> tuple[bool, str]:
        """Check that the server answers ``/api/tags`` and lists the model.

        Parameters
        ----------
        timeout_s : float, optional
            Timeout of this probe; default ``min(timeout_s, 2 s)`` so a dead server is found
            quickly.

        Returns
        -------
        (bool, str)
            ``(True, "...")`` or ``(False, reason)``; never raises for transport errors.
        """
        probe_timeout = timeout_s if timeout_s is not None else min(self.timeout_s,
                                                                    PROBE_TIMEOUT_S)
        client = self._probe_client or self._make_client(probe_timeout)
        try:
            listed = [m.model or "" for m in client.list().models]
        except self._errors() as exc:
            return False, str(self._unavailable(exc))
        if any(_same_model(self.model, name) for name in listed):
            return True, f"ollama {self.host} serves {self.model}"
        shown = ", ".join(listed) or "none"
        return False, (f"ollama {self.model} @ {self.host}: model not pulled (server has: "
                       f"{shown}); run `ollama pull {self.model}`")

    def describe(self) -> str:
        """``ollama <model> @ <host>``."""
        return f"ollama {self.model} @ {self.host}"
