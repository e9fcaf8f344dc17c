"""OpenAI-compatible backend: ``POST {base_url}/chat/completions`` over httpx.

Speaks the chat-completions API that vLLM, the llama.cpp server, LM Studio, Ollama's ``/v1`` and
OpenAI itself serve. The base URL comes from ``base_url`` or ``$OPENAI_BASE_URL`` (default
``https://api.openai.com/v1``); the API key from ``api_key`` or ``$OPENAI_API_KEY`` (sent as
``Authorization: Bearer …`` when set; local servers need none).

Structured output
    With a schema, the request carries ``response_format = {"type": "json_schema",
    "json_schema": {"name": "reply", "schema": …, "strict": false}}`` (OpenAI's structured
    outputs; vLLM and llama.cpp constrain decoding to it). A server that does not support it
    answers HTTP 400/422 (or 501) naming ``response_format``/``json_schema``; the backend then
    falls back, once per instance, to plain JSON instructions — the schema is appended to the
    last system message ("Reply with one JSON object that satisfies this JSON schema: …") — and
    keeps using the fallback for later calls (:attr:`OpenAIBackend.structured` says which mode
    is in use). Either way the reply is checked by :func:`agents.llm.parsing.parse_json_reply`:
    structured decoding does not enforce numeric ranges, and the fallback enforces nothing.

Errors
    As in :class:`~agents.llm.ollama_backend.OllamaBackend`, every transport-level failure
    becomes :class:`BackendUnavailable` with a reason a decision log can show — connection
    refused, no reply within the timeout, HTTP 4xx/5xx with the server's error message, a body
    that is not JSON or has no ``choices[0].message`` — so :class:`~agents.llm.fallback.
    FallbackBackend` can hand over to the deterministic policy. A reply that *is* delivered but is
    not valid JSON is the model's decision: ``parsed`` is ``None`` and ``error`` says why.
    Tests inject an ``httpx.MockTransport`` through ``transport=``.

``httpx`` is imported when a backend is built (extra ``openai``, or ``llm`` which brings it with
``ollama``), so importing :mod:`agents.llm` does not need it.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from agents.llm.base import BackendUnavailable, ChatReply
from agents.llm.parsing import parse_json_reply

DEFAULT_BASE_URL = "https://api.openai.com/v1"
PROBE_TIMEOUT_S = 2.0
STRUCTURED_MODES = ("auto", "json_schema", "instructions")
_UNSUPPORTED_STATUS = (400, 404, 415, 422, 501)
_UNSUPPORTED_WORDS = ("response_format", "json_schema", "structured")


def _httpx() -> Any:
    """The httpx module, or BackendUnavailable naming the extra that installs it."""
    try:
        import httpx
    except ImportError as exc:
        raise BackendUnavailable("openai: the httpx package is not installed "
                                 "(pip install 'simran[openai]')") from exc
    return httpx


def default_base_url() -> str:
    """``$OPENAI_BASE_URL`` if set, else ``https://api.openai.com/v1``."""
    return (os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")


def schema_instruction(schema: dict) -> str:
    """The plain-text stand-in for structured output: the schema, in words a model follows."""
    return ("Reply with one JSON object and nothing else (no prose, no code fence) that "
            f"satisfies this JSON schema: {json.dumps(schema, sort_keys=True)}")


def _with_instruction(messages: list[dict], schema: dict) -> list[dict]:
    """Append the schema instruction to the last system message (or add one in front)."""
    out = [dict(m) for m in messages]
    text = schema_instruction(schema)
    for m in reversed(out):
        if m.get("role") == "system":
            m["content"] = f"{m.get('content', '')}\n{text}".strip()
            return out
    return [{"role": "system", "content": text}] + out


class OpenAIBackend:
    """Chat with a model behind an OpenAI-compatible ``/chat/completions`` endpoint.

    Parameters
    ----------
    model : str
        Model name as the server knows it (``gpt-4o-mini``, ``Qwen/Qwen2.5-7B-Instruct`` …).
    base_url : str, optional
        API root including the version path (``http://127.0.0.1:8000/v1``); default
        ``$OPENAI_BASE_URL`` or ``https://api.openai.com/v1``.
    api_key : str, optional
        Bearer token; default ``$OPENAI_API_KEY`` (none sent if unset).
    timeout_s : float
        httpx timeout per request (connect, read, write) [s].
    structured : str
        ``auto`` (json_schema, falling back to instructions if the server refuses it),
        ``json_schema`` (never fall back: a refusal is an error) or ``instructions`` (never send
        ``response_format``).
    seed : int
        ``seed`` of the request (honoured by vLLM, llama.cpp and OpenAI), for reproducibility.
    transport : httpx.BaseTransport, optional
        Forwarded to ``httpx.Client`` (tests: ``httpx.MockTransport``).
    """

    name = "openai"

    def __init__(self, model: str, base_url: str | None = None, api_key: str | None = None,
                 timeout_s: float = 30.0, *, structured: str = "auto", seed: int = 0,
                 transport: Any | None = None):
        if not model:
            raise ValueError("OpenAIBackend: model name must not be empty (e.g. 'gpt-4o-mini')")
        if structured not in STRUCTURED_MODES:
            raise ValueError(f"structured={structured!r}; valid: {', '.join(STRUCTURED_MODES)}")
        self.model = model
        self.base_url = (base_url or default_base_url()).rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.timeout_s = float(timeout_s)
        self.structured = structured
        self.seed = seed
        self._transport = transport
        self._client = self._make_client(self.timeout_s)

    def _make_client(self, timeout_s: float) -> Any:
        httpx = _httpx()
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        extra = {"transport": self._transport} if self._transport is not None else {}
        return httpx.Client(base_url=self.base_url, timeout=timeout_s, headers=headers, **extra)

    # ---------------------------------------------------------------------- errors ----------
    def _where(self) -> str:
        return f"openai {self.model} @ {self.base_url}"

    def _unavailable(self, exc: BaseException) -> BackendUnavailable:
        httpx = _httpx()
        if isinstance(exc, httpx.TimeoutException):
            why = f"no reply within {self.timeout_s:g} s ({type(exc).__name__})"
        elif isinstance(exc, httpx.ConnectError):
            why = "connection refused (is the server running at this base URL?)"
        else:
            why = f"{type(exc).__name__}: {exc}"
        return BackendUnavailable(f"{self._where()}: {why}")

    @staticmethod
    def _error_text(resp: Any) -> str:
        try:
            body = resp.json()
        except ValueError:
            return resp.text[:200]
        err = body.get("error") if isinstance(body, dict) else None
        if isinstance(err, dict):
            return str(err.get("message") or err)
        return str(err if err is not None else body)[:200]

    def _refuses_schema(self, resp: Any) -> bool:
        text = self._error_text(resp).lower()
        return resp.status_code in _UNSUPPORTED_STATUS and any(w in text
                                                               for w in _UNSUPPORTED_WORDS)

    # ---------------------------------------------------------------------- chat ------------
    def _post(self, body: dict) -> Any:
        try:
            return self._client.post("/chat/completions", json=body)
        except _httpx().HTTPError as exc:
            raise self._unavailable(exc) from exc

    def _body(self, messages: list[dict], schema: dict | None, max_tokens: int,
              temperature: float) -> dict:
        body: dict = {"model": self.model, "messages": messages, "max_tokens": max_tokens,
                      "temperature": temperature, "seed": self.seed, "stream": False}
        if schema is None:
            return body
        if self.structured == "instructions":
            body["messages"] = _with_instruction(messages, schema)
        else:
            body["response_format"] = {"type": "json_schema", "json_schema": {
                "name": "reply", "schema": schema, "strict": False}}
        return body

    def _decode(self, resp: Any) -> tuple[str, int, int]:
        if resp.status_code >= 400:
            raise BackendUnavailable(f"{self._where()}: HTTP {resp.status_code}: "
                                     f"{self._error_text(resp)}")
        try:
            data = resp.json()
            message = data["choices"][0]["message"]
            text = message.get("content") or ""
            usage = data.get("usage") or {}
            n_in = int(usage.get("prompt_tokens") or 0)
            n_out = int(usage.get("completion_tokens") or 0)
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise BackendUnavailable(f"{self._where()}: malformed response "
                                     f"({type(exc).__name__}: {exc}): {resp.text[:120]!r}"
                                     ) from exc
        if not isinstance(text, str):
            raise BackendUnavailable(f"{self._where()}: malformed response: content is "
                                     f"{type(text).__name__}, not text")
        return text, n_in, n_out

    def chat(self, messages: list[dict], schema: dict | None = None, *, max_tokens: int = 128,
             temperature: float = 0.0) -> ChatReply:
        """One non-streaming chat completion (see module docstring for structured output).

        Raises
        ------
        BackendUnavailable
            Connection refused, timeout, HTTP error, malformed response body.
        """
        start = time.perf_counter()
        resp = self._post(self._body(messages, schema, max_tokens, temperature))
        if schema is not None and self.structured == "auto" and self._refuses_schema(resp):
            self.structured = "instructions"
            resp = self._post(self._body(messages, schema, max_tokens, temperature))
        text, n_in, n_out = self._decode(resp)
        wall_s = time.perf_counter() - start
        parsed, error = parse_json_reply(text, schema)
        return ChatReply(text=text, parsed=parsed, prompt_tokens=n_in, completion_tokens=n_out,
                         wall_s=wall_s, backend=self.name, model=self.model, error=error)

    def available(self, timeout_s: float | None = None) -> tuple[bool, str]:
        """Check that ``GET {base_url}/models`` answers and lists the model; never raises.

        Parameters
        ----------
        timeout_s : float, optional
            Probe timeout [s]; default ``min(timeout_s, 2 s)``.

        Returns
        -------
        (bool, str)
            ``(True, "...")`` or ``(False, reason)``.
        """
        probe = timeout_s if timeout_s is not None else min(self.timeout_s, PROBE_TIMEOUT_S)
        httpx = _httpx()
        try:
            with self._make_client(probe) as client:
                resp = client.get("/models")
            if resp.status_code >= 400:
                return False, f"{self._where()}: HTTP {resp.status_code}: " \
                              f"{self._error_text(resp)}"
            listed = [m.get("id", "") for m in resp.json().get("data", [])]
        except httpx.HTTPError as exc:
            return False, str(self._unavailable(exc))
        except (ValueError, AttributeError, TypeError) as exc:
            return False, f"{self._where()}: malformed /models response ({exc})"
        if self.model in listed:
            return True, f"openai-compatible {self.base_url} serves {self.model}"
        return False, (f"{self._where()}: model not served (server has: "
                       f"{', '.join(listed) or 'none'})")

    def describe(self) -> str:
        """``openai <model> @ <base_url>`` and the structured-output mode in use."""
        return f"openai {self.model} @ {self.base_url} (structured: {self.structured})"
