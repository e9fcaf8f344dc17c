"""The LLM side of a twin run: its configuration, one backend session that fits prompts into the
context and records every call, and code extraction from replies (:mod:`agents.twin.chain`)."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import asdict, dataclass, field

from agents.twin.sandbox import Limits

CHARS_PER_TOKEN = 3.0
"""Conservative prompt-size estimate (SmolLM2's tokenizer: ~2.9 characters per token here)."""


@dataclass
class ChainConfig:
    """Knobs of the chain (defaults: the paper's structure at a size a small model can run).

    Attributes
    ----------
    n_coarse : int
        Coarse-grained generators / evaluators N.
    m_fine : int
        Fine-grained generators M.
    debug_rounds : int
        Debugger iterations before a restart.
    restarts : int
        Restarts of the coding phase after repeated failures.
    feedback_rounds : int
        Sanity-check → blueprint-refiner → recode rounds.
    max_tokens : int
        Largest reply per call [tokens].
    temperature : float
        Sampling temperature (0: greedy).
    context_tokens : int
        Context window of the model [tokens]; prompts and replies are fitted into it.
    call_timeout_s : float
        Wall-clock limit of one LLM call [s] (a model that never answers fails the run).
    limits : Limits
        Sandbox limits of every program run.
    compact_blocks : bool
        Show the blocks' summary lines instead of their whole docstrings (small contexts).
    """

    n_coarse: int = 2
    m_fine: int = 1
    debug_rounds: int = 2
    restarts: int = 1
    feedback_rounds: int = 1
    max_tokens: int = 512
    temperature: float = 0.0
    context_tokens: int = 2048
    call_timeout_s: float = 300.0
    limits: Limits = field(default_factory=Limits)
    compact_blocks: bool = True


class RunFailure(Exception):
    """A run stops: ``stage`` and ``reason`` are recorded in its result."""

    def __init__(self, stage: str, reason: str):
        super().__init__(f"{stage}: {reason}")
        self.stage = stage
        self.reason = reason


@dataclass
class RunRecord:
    """The outcome of one run of one method on one task instance (one row of runs.jsonl)."""

    task: str
    run: int
    method: str
    backend: str
    model: str
    blocks: list
    success: bool = False
    error: float | None = None
    stage: str = ""
    reason: str = ""
    blueprint: str | None = None
    code: str | None = None
    sanity_error: float | None = None
    sandbox: dict = field(default_factory=dict)
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    llm_wall_s: float = 0.0
    wall_s: float = 0.0
    policy: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-serialisable form."""
        return asdict(self)


# ------------------------------------------------------------------------------------------------
# LLM calls
# ------------------------------------------------------------------------------------------------
def _call_with_timeout(fn, timeout_s: float):
    box: dict = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 — handed to the caller below
            box["error"] = exc

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        raise TimeoutError(f"no answer within {timeout_s:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


class LLMSession:
    """Ask one backend, fit prompts into its context, record every call.

    Parameters
    ----------
    backend : agents.llm.base.LLMBackend
    config : ChainConfig
    transcript : list of dict
        Every call is appended here (the JSON lines of ``transcripts.jsonl``).
    tags : dict
        Added to every record (task, run, method).
    """

    def __init__(self, backend, config: ChainConfig, transcript: list, tags: dict):
        self.backend = backend
        self.config = config
        self.transcript = transcript
        self.tags = tags
        self.calls = self.prompt_tokens = self.completion_tokens = 0
        self.wall_s = 0.0

    def ask(self, stage: str, system: str, user: str) -> str:
        """One chat call; returns the reply text or raises :class:`RunFailure`."""
        from agents.llm.base import BackendUnavailable, prompt_hash

        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        est = int(len(system + user) / CHARS_PER_TOKEN) + 16
        max_tokens = min(self.config.max_tokens, self.config.context_tokens - est)
        if max_tokens < 64:
            raise RunFailure(stage, f"prompt of ~{est} tokens does not fit the "
                                    f"{self.config.context_tokens}-token context")
        t0 = time.perf_counter()
        record = dict(self.tags, stage=stage, prompt_hash=prompt_hash(messages, None),
                      messages=messages, max_tokens=max_tokens)
        try:
            reply = _call_with_timeout(
                lambda: self.backend.chat(messages, None, max_tokens=max_tokens,
                                          temperature=self.config.temperature),
                self.config.call_timeout_s)
        except (BackendUnavailable, TimeoutError, RuntimeError, ValueError, OSError) as exc:
            record.update(raw_text="", backend=getattr(self.backend, "name", "?"),
                          model=getattr(self.backend, "model", "?"), prompt_tokens=0,
                          completion_tokens=0, wall_s=time.perf_counter() - t0,
                          error=f"{type(exc).__name__}: {exc}")
            self.transcript.append(record)
            self.calls += 1
            raise RunFailure(stage, f"LLM gave no answer: {type(exc).__name__}: {exc}"
                             [:300]) from None
        record.update(raw_text=reply.text, backend=reply.backend, model=reply.model,
                      prompt_tokens=reply.prompt_tokens,
                      completion_tokens=reply.completion_tokens, wall_s=reply.wall_s,
                      error=None)
        self.transcript.append(record)
        self.calls += 1
        self.prompt_tokens += reply.prompt_tokens
        self.completion_tokens += reply.completion_tokens
        self.wall_s += reply.wall_s
        return reply.text or ""


_CODE = re.compile(r"```[ \t]*(?:python|py|python3)?[ \t]*\n(.*?)(?:```|\Z)", re.S | re.I)


def extract_code(text: str) -> str | None:
    """The program in a reply: the longest fenced block, else the text if it looks like code."""
    found = [b for b in _CODE.findall(text or "") if b.strip()]
    if found:
        return max(found, key=len).strip() + "\n"
    if re.search(r"^\s*(import|from)\s+\w+", text or "", re.M):
        return text.strip() + "\n"
    return None
