"""A small OpenAI-compatible chat-completions server on 127.0.0.1, for tests and demos.

**This is a stand-in for a real OpenAI-compatible server** (vLLM, the llama.cpp server, LM
Studio, OpenAI), none of which can be installed or reached on the project's machines. It speaks
just enough of the API for :class:`~agents.llm.openai_backend.OpenAIBackend` to be tested end to
end over real HTTP:

* ``GET /v1/models`` → ``{"object": "list", "data": [{"id", "object": "model", "created",
  "owned_by"}]}``
* ``POST /v1/chat/completions`` → ``{"id", "object": "chat.completion", "created", "model",
  "choices": [{"index": 0, "message": {"role": "assistant", "content"}, "finish_reason"}],
  "usage": {"prompt_tokens", "completion_tokens", "total_tokens"}}``. A
  ``response_format`` of type ``json_schema`` hands its schema to the responder (``json_object``
  → ``{"type": "object"}``). An unknown model gets HTTP 404 with an OpenAI-style error body
  (``{"error": {"message", "type", "code"}}``); a wrong bearer token (when ``api_key`` is set)
  HTTP 401.

Answers come from a *responder*: an object with a backend-style ``chat`` method (default: the
embedded SmolLM2 backend, created on first use) or a callable ``responder(messages, schema) ->
str``. Every request body is kept in :attr:`OpenAICompatServer.bodies`.

Fault modes (:meth:`OpenAICompatServer.set_mode`): ``ok``; ``error500`` (HTTP 500);
``hang`` (read the request, never answer until ``hang_s`` passes or the mode changes — clients
time out); ``down`` (socket closed: connection refused; leaving ``down`` re-binds the same
port); ``garbage`` (HTTP 200 with a body that is not JSON); ``no_schema`` (like a server without
structured outputs: a request with ``response_format`` of type ``json_schema`` gets HTTP 400
``"response_format json_schema is not supported"``, plain requests are answered).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

MODES = ("ok", "error500", "hang", "down", "garbage", "no_schema")


def _error(message: str, kind: str, code: str) -> dict:
    return {"error": {"message": message, "type": kind, "code": code}}


class _Handler(BaseHTTPRequestHandler):
    """Routes requests to the owning :class:`OpenAICompatServer`."""

    server_version = "simran-openai-compat"
    owner: OpenAICompatServer

    def log_message(self, format: str, *args: Any) -> None:
        """No access log on stderr."""

    def _send(self, status: int, payload: dict | bytes) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and left

    def _fault(self) -> bool:
        mode = self.owner.mode
        if mode == "error500":
            self._send(500, _error("injected fault: internal server error", "server_error",
                                   "internal_error"))
        elif mode == "garbage":
            self._send(200, b"<html>502 upstream garbage, not JSON")
        elif mode == "hang":
            self.owner._release.wait(self.owner.hang_s)
            self.close_connection = True
        else:
            return False
        return True

    def _authorised(self) -> bool:
        key = self.owner.api_key
        if key is None or self.headers.get("Authorization") == f"Bearer {key}":
            return True
        self._send(401, _error("invalid API key", "invalid_request_error", "invalid_api_key"))
        return False

    def do_GET(self) -> None:
        """``/v1/models``."""
        self.owner._count(self.path)
        if self._fault() or not self._authorised():
            return
        if self.path.rstrip("/") != "/v1/models":
            self._send(404, _error(f"unknown endpoint {self.path}", "invalid_request_error",
                                   "not_found"))
            return
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "simran-compat"}
                for m in self.owner.models]
        self._send(200, {"object": "list", "data": data})

    def do_POST(self) -> None:
        """``/v1/chat/completions``."""
        self.owner._count(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self._fault() or not self._authorised():
            return
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(404, _error(f"unknown endpoint {self.path}", "invalid_request_error",
                                   "not_found"))
            return
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError as exc:
            self._send(400, _error(f"invalid JSON body: {exc.msg}", "invalid_request_error",
                                   "bad_json"))
            return
        self.owner.bodies.append(body)
        self._complete(body)

    def _complete(self, body: dict) -> None:
        fmt = body.get("response_format") or {}
        if self.owner.mode == "no_schema" and fmt.get("type") == "json_schema":
            self._send(400, _error("response_format json_schema is not supported by this "
                                   "server", "invalid_request_error", "unsupported_format"))
            return
        if body.get("model") not in self.owner.models:
            self._send(404, _error(f"The model `{body.get('model')}` does not exist",
                                   "invalid_request_error", "model_not_found"))
            return
        try:
            self._send(200, self.owner._answer(body))
        except Exception as exc:  # a failing responder is the server's 500
            self._send(500, _error(f"responder failed: {type(exc).__name__}: {exc}",
                                   "server_error", "internal_error"))


class OpenAICompatServer:
    """OpenAI-compatible server in a background thread (see module docstring).

    Parameters
    ----------
    responder : object or callable, optional
        ``chat(messages, schema, *, max_tokens, temperature) -> ChatReply`` or
        ``(messages, schema) -> str``. Default: the embedded SmolLM2 backend.
    models : sequence of str
        Model ids served (``/v1/models``); others get HTTP 404.
    mode : str
        Initial fault mode (one of :data:`MODES`).
    hang_s : float
        How long a ``hang`` request is held [s].
    api_key : str, optional
        If set, requests must carry ``Authorization: Bearer <api_key>``.
    """

    def __init__(self, responder: Any | Callable[[list[dict], dict | None], str] | None = None,
                 *, models: tuple[str, ...] | list[str] = ("smollm2-135m",), mode: str = "ok",
                 hang_s: float = 30.0, api_key: str | None = None):
        self.responder = responder
        self.models = list(models)
        self.hang_s = float(hang_s)
        self.api_key = api_key
        self.requests: dict[str, int] = {}
        self.bodies: list[dict] = []
        self._mode = "ok"
        self._initial = self._check(mode)
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port = 0

    @staticmethod
    def _check(mode: str) -> str:
        if mode not in MODES:
            raise ValueError(f"unknown fault mode {mode!r}; valid: {', '.join(MODES)}")
        return mode

    # ---- lifecycle -----------------------------------------------------------------------
    def start(self) -> OpenAICompatServer:
        """Bind 127.0.0.1 (an ephemeral port the first time) and serve in a daemon thread."""
        self._release.clear()
        self._listen()
        self.set_mode(self._initial)
        return self

    def stop(self) -> None:
        """Release held requests and close the socket."""
        self._release.set()
        self._close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _listen(self) -> None:
        handler = type("Handler", (_Handler,), {"owner": self})
        httpd = ThreadingHTTPServer(("127.0.0.1", self._port), handler)
        httpd.daemon_threads = True
        self._port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"openai-compat-{self._port}", daemon=True)
        self._thread.start()

    def _close(self) -> None:
        httpd, thread = self._httpd, self._thread
        self._httpd = self._thread = None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if thread is not None:
            thread.join(timeout=5.0)

    # ---- fault injection -------------------------------------------------------------------
    @property
    def mode(self) -> str:
        """Current fault mode."""
        return self._mode

    def set_mode(self, mode: str) -> None:
        """Switch the fault mode; ``down`` closes the socket, leaving it re-binds the port."""
        mode = self._check(mode)
        with self._lock:
            previous, self._mode = self._mode, mode
            if mode == "hang":
                self._release.clear()
            elif previous == "hang":
                self._release.set()
            if mode == "down" and previous != "down":
                self._release.set()
                self._close()
            elif previous == "down" and mode != "down":
                self._listen()

    # ---- answers ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Base URL of the API, e.g. ``http://127.0.0.1:43117/v1``."""
        return f"http://127.0.0.1:{self._port}/v1"

    def _count(self, path: str) -> None:
        with self._lock:
            self.requests[path] = self.requests.get(path, 0) + 1

    def _answer(self, body: dict) -> dict:
        fmt = body.get("response_format") or {}
        schema = None
        if fmt.get("type") == "json_schema":
            schema = (fmt.get("json_schema") or {}).get("schema")
        elif fmt.get("type") == "json_object":
            schema = {"type": "object"}
        max_tokens = int(body.get("max_tokens") or body.get("max_completion_tokens") or 128)
        if self.responder is None:
            from agents.llm.embedded import EmbeddedBackend

            self.responder = EmbeddedBackend()
        messages = body.get("messages") or []
        if hasattr(self.responder, "chat"):
            reply = self.responder.chat(messages, schema, max_tokens=max_tokens,
                                        temperature=float(body.get("temperature") or 0.0))
            text, n_in, n_out = reply.text, reply.prompt_tokens, reply.completion_tokens
        else:
            text = str(self.responder(messages, schema))
            n_in = sum(len(str(m.get("content", "")).split()) for m in messages)
            n_out = len(text.split())
        return {"id": f"chatcmpl-{len(self.bodies)}", "object": "chat.completion",
                "created": int(time.time()), "model": body.get("model"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": "length" if n_out >= max_tokens else "stop"}],
                "usage": {"prompt_tokens": n_in, "completion_tokens": n_out,
                          "total_tokens": n_in + n_out}}
