"""Fallback backend: ask the primary; if it cannot answer, ask the fallback and say why.

Only :class:`BackendUnavailable` triggers the fallback (server down, timeout, HTTP error, model
missing). A primary that *answers* with unusable JSON has made a decision; the guard-rails and
the agent deal with it, and the fallback is not consulted.

Circuit breaker
    After ``max_failures`` consecutive failures (default 3) the primary is not asked again for
    ``retry_after_s`` wall-clock seconds (default 60): a dead server would otherwise cost one full
    timeout per decision. When the pause ends the primary is tried once more; a success closes
    the breaker, a failure re-opens it for another ``retry_after_s``. While paused, replies carry
    ``fallback_reason="primary paused after N consecutive failures; last: …"``.

    The breaker works on wall-clock time, so which backend answers can depend on when a server
    died; every reply records ``backend`` and ``fallback_reason`` in the decision log, and a
    replay reproduces the run exactly regardless.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from agents.llm.base import BackendUnavailable, ChatReply, LLMBackend


class FallbackBackend:
    """Primary backend with a fallback and a circuit breaker.

    Parameters
    ----------
    primary, fallback : LLMBackend
        The backend to ask first, and the one that answers when it cannot.
    max_failures : int
        Consecutive primary failures that pause the primary.
    retry_after_s : float
        Wall-clock seconds the primary stays paused.
    clock : callable
        Monotonic clock in seconds (tests inject a fake one).
    """

    name = "fallback"

    def __init__(self, primary: LLMBackend, fallback: LLMBackend, *, max_failures: int = 3,
                 retry_after_s: float = 60.0, clock: Callable[[], float] = time.monotonic):
        if max_failures < 1:
            raise ValueError(f"max_failures must be >= 1, got {max_failures}")
        self.primary = primary
        self.fallback = fallback
        self.model = primary.model
        self.max_failures = max_failures
        self.retry_after_s = float(retry_after_s)
        self._clock = clock
        self._lock = threading.Lock()
        self.failures = 0
        self.last_reason: str | None = None
        self._paused_until: float | None = None

    def _paused(self) -> bool:
        with self._lock:
            return self._paused_until is not None and self._clock() < self._paused_until

    def _record_failure(self, reason: str) -> None:
        with self._lock:
            self.failures += 1
            self.last_reason = reason
            if self.failures >= self.max_failures:
                self._paused_until = self._clock() + self.retry_after_s

    def _record_success(self) -> None:
        with self._lock:
            self.failures = 0
            self._paused_until = None

    def chat(self, messages: list[dict], schema: dict | None = None, *, max_tokens: int = 128,
             temperature: float = 0.0) -> ChatReply:
        """Ask the primary unless paused; on BackendUnavailable ask the fallback.

        The returned reply's ``backend`` names who answered; ``fallback_reason`` is set when the
        fallback answered. If the fallback is unavailable too, its BackendUnavailable
        propagates (naming both reasons).
        """
        kwargs = {"max_tokens": max_tokens, "temperature": temperature}
        if self._paused():
            reason = (f"primary paused after {self.failures} consecutive failures; "
                      f"last: {self.last_reason}")
        else:
            try:
                reply = self.primary.chat(messages, schema, **kwargs)
            except BackendUnavailable as exc:
                reason = str(exc)
                self._record_failure(reason)
            else:
                self._record_success()
                return reply
        try:
            reply = self.fallback.chat(messages, schema, **kwargs)
        except BackendUnavailable as exc:
            raise BackendUnavailable(f"{exc} (after primary failed: {reason})") from exc
        reply.fallback_reason = reason
        return reply

    def describe(self) -> str:
        """Primary, fallback, and the primary's health if it has been failing."""
        text = f"{self.primary.describe()}; falls back to {self.fallback.describe()}"
        if self._paused():
            text += f" [primary paused: {self.last_reason}]"
        elif self.failures:
            text += f" [primary failing: {self.last_reason}]"
        return text
