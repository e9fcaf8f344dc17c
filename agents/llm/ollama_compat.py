"""A small Ollama-API-compatible HTTP server on 127.0.0.1, for tests and demos.

**This is a stand-in for a real Ollama server**, used in tests because Ollama cannot be installed
on the project's machines. It speaks enough of the Ollama REST API for the official ``ollama``
Python client — and therefore :class:`~agents.llm.ollama_backend.OllamaBackend` — to work against
it end to end over real HTTP:

* ``GET /api/version`` → ``{"version": ...}``
* ``GET /api/tags`` → ``{"models": [{"name", "model", "modified_at", "size", "digest",
  "details"}]}``
* ``POST /api/chat`` → a ``ChatResponse`` (``model``, ``created_at``, ``message.role``,
  ``message.content``, ``done``, ``done_reason``, ``total_duration``, ``load_duration``,
  ``prompt_eval_count``, ``prompt_eval_duration``, ``eval_count``, ``eval_duration``; durations
  in nanoseconds). ``format`` (a JSON schema, or ``"json"`` → ``{"type": "object"}``) is passed
  to the responder; ``options.num_predict`` and ``options.temperature`` too. With
  ``"stream": true`` the whole reply is sent as one NDJSON line with ``done: true``.
  An unknown model gets HTTP 404 ``{"error": "model \\"x\\" not found, try pulling it first"}``
  as Ollama answers.

The answers come from a pluggable *responder*: an object with a backend-style ``chat`` method
(default: :class:`~agents.llm.embedded.EmbeddedBackend`, created on the first request), or a
callable ``responder(messages, schema) -> str``.

Fault injection, switchable at run time with :meth:`OllamaCompatServer.set_mode` (or the
``mode`` attribute): ``"ok"``; ``"error500"`` (HTTP 500 with an Ollama-style error body);
``"hang"`` (the request is read and never answered until ``hang_s`` passes or the server stops —
clients see a read timeout); ``"down"`` (the listening socket is closed, so connections are
refused; switching back re-binds the same port).

Only loopback: the server binds 127.0.0.1 and an ephemeral port; :attr:`url` gives the base URL.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

MODES = ("ok", "error500", "hang", "down")
VERSION = "0.0.0-simran-compat"


def _now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class _Handler(BaseHTTPRequestHandler):
    """Routes requests to the owning :class:`OllamaCompatServer`."""

    server_version = "simran-ollama-compat"
    owner: OllamaCompatServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log."""

    def _send(self, status: int, body: dict, content_type: str = "application/json") -> None:
        data = json.dumps(body).encode("utf-8") + (b"\n" if "ndjson" in content_type else b"")
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout) before we answered

    def _fault(self) -> bool:
        """Apply the injected fault, if any; True if the request is handled by it."""
        mode = self.owner.mode
        if mode == "error500":
            self._send(500, {"error": "injected fault: internal server error"})
            return True
        if mode == "hang":
            self.owner._release.wait(self.owner.hang_s)
            self.close_connection = True
            return True
        return False

    def do_GET(self) -> None:
        """``/api/version`` and ``/api/tags``."""
        self.owner._count(self.path)
        if self._fault():
            return
        if self.path == "/api/version":
            self._send(200, {"version": VERSION})
        elif self.path == "/api/tags":
            self._send(200, {"models": [self.owner._tag(m) for m in self.owner.models]})
        else:
            self._send(404, {"error": f"unknown endpoint {self.path}"})

    def do_POST(self) -> None:
        """``/api/chat``."""
        self.owner._count(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self._fault():
            return
        if self.path != "/api/chat":
            self._send(404, {"error": f"unknown endpoint {self.path}"})
            return
        try:
            request = json.loads(raw or b"{}")
        except json.JSONDecodeError as exc:
            self._send(400, {"error": f"invalid JSON body: {exc.msg}"})
            return
        self.owner.last_request = request
        model = request.get("model", "")
        if model not in self.owner.models:
            self._send(404, {"error": f'model "{model}" not found, try pulling it first'})
            return
        try:
            body = self.owner._answer(request)
        except Exception as exc:  # any responder failure is a 500, as in Ollama
            self._send(500, {"error": f"responder failed: {type(exc).__name__}: {exc}"})
            return
        if request.get("stream", True):
            self._send(200, body, "application/x-ndjson")
        else:
            self._send(200, body)


class OllamaCompatServer:
    """Ollama-compatible server in a background thread (see module docstring).

    Parameters
    ----------
    responder : object or callable, optional
        Something with ``chat(messages, schema, *, max_tokens, temperature) -> ChatReply``, or a
        callable ``(messages, schema) -> str``. Default: the embedded SmolLM2 backend.
    models : sequence of str
        Model tags the server claims to have (``/api/tags``); others get HTTP 404.
    mode : str
        Initial fault mode, one of ``ok``, ``error500``, ``hang``, ``down``.
    hang_s : float
        How long a ``hang`` request is held (released early by :meth:`stop` or a mode change).
    """

    def __init__(self, responder: Any | Callable[[list[dict], dict | None], str] | None = None,
                 *, models: tuple[str, ...] | list[str] = ("smollm2:135m",), mode: str = "ok",
                 hang_s: float = 30.0):
        self.responder = responder
        self.models = list(models)
        self.hang_s = float(hang_s)
        self.requests: dict[str, int] = {}
        self.last_request: dict | None = None
        self._mode = "ok"
        self._release = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port = 0
        self._lock = threading.Lock()
        self._initial_mode = self._check_mode(mode)

    @staticmethod
    def _check_mode(mode: str) -> str:
        if mode not in MODES:
            raise ValueError(f"unknown fault mode {mode!r}; valid: {', '.join(MODES)}")
        return mode

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> OllamaCompatServer:
        """Bind 127.0.0.1 (ephemeral port on first start) and serve in a daemon thread."""
        self._release.clear()
        self._mode = "ok"
        self._listen()
        if self._initial_mode != "ok":
            self.set_mode(self._initial_mode)
        return self

    def stop(self) -> None:
        """Release hanging requests, stop serving and close the socket."""
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
                                        name=f"ollama-compat-{self._port}", daemon=True)
        self._thread.start()

    def _close(self) -> None:
        httpd, thread = self._httpd, self._thread
        self._httpd = self._thread = None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if thread is not None:
            thread.join(timeout=5.0)

    # ---- fault injection ---------------------------------------------------------------------
    @property
    def mode(self) -> str:
        """Current fault mode."""
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        self.set_mode(value)

    def set_mode(self, mode: str) -> None:
        """Switch fault mode; ``down`` closes the socket, leaving ``down`` re-binds the port."""
        mode = self._check_mode(mode)
        with self._lock:
            previous, self._mode = self._mode, mode
            if previous == "hang" and mode != "hang":
                self._release.set()
            if mode == "hang":
                self._release.clear()
            if mode == "down" and previous != "down":
                self._release.set()
                self._close()
            elif previous == "down" and mode != "down":
                self._listen()

    # ---- properties and helpers -----------------------------------------------------------
    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:43117``."""
        return f"http://127.0.0.1:{self._port}"

    def _count(self, path: str) -> None:
        with self._lock:
            self.requests[path] = self.requests.get(path, 0) + 1

    @staticmethod
    def _tag(name: str) -> dict:
        return {"name": name, "model": name, "modified_at": _now_iso(), "size": 0,
                "digest": "0" * 64, "details": {"format": "gguf", "family": "simran-compat"}}

    def _responder(self) -> Any:
        if self.responder is None:
            from agents.llm.embedded import EmbeddedBackend

            self.responder = EmbeddedBackend()
        return self.responder

    def _answer(self, request: dict) -> dict:
        """Run the responder on a chat request and shape an Ollama ``ChatResponse``."""
        fmt = request.get("format")
        schema = {"type": "object"} if fmt == "json" else (fmt or None)
        options = request.get("options") or {}
        messages = request.get("messages") or []
        max_tokens = int(options.get("num_predict") or 128)
        temperature = float(options.get("temperature") or 0.0)
        responder = self._responder()
        start = time.perf_counter_ns()
        if hasattr(responder, "chat"):
            reply = responder.chat(messages, schema, max_tokens=max_tokens,
                                   temperature=temperature)
            text, n_prompt, n_eval = reply.text, reply.prompt_tokens, reply.completion_tokens
        else:
            text, n_prompt, n_eval = str(responder(messages, schema)), 0, 0
        total_ns = time.perf_counter_ns() - start
        return {
            "model": request.get("model"), "created_at": _now_iso(),
            "message": {"role": "assistant", "content": text},
            "done": True, "done_reason": "length" if n_eval >= max_tokens > 0 else "stop",
            "total_duration": total_ns, "load_duration": 0,
            "prompt_eval_count": n_prompt, "prompt_eval_duration": 0,
            "eval_count": n_eval, "eval_duration": total_ns,
        }
