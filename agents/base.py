"""LLM agents on top of the hook framework: ask a backend, validate, fall back.

:class:`LLMAgent` is the base of every agent whose decision comes from a language model. One call
of :meth:`LLMAgent.ask` does MAESTRO's validation unit (papers/003 §III-7) in three layers:

1. **syntax** — the reply must be a JSON object (no NaN/Infinity) matching the JSON schema
   (:func:`agents.llm.parse_json_reply`);
2. **range** — the schema's ``minimum``/``maximum`` (JSON-schema grammars do not enforce numeric
   ranges, so the check happens here, after generation);
3. **sanity** — the agent's own :meth:`LLMAgent.sanity` check on the parsed object (e.g. a Kp that
   would make the loop unstable).

A reply that fails any layer never reaches the network: the agent's deterministic policy
(:meth:`LLMAgent.policy`, the same rule the prompt describes) decides instead, and the decision log
says why (``validation``). A backend that cannot answer at all (server down, timeout) is replaced by
the same policy through :class:`agents.llm.FallbackBackend` and logged as ``fallback_reason``.
"""

from __future__ import annotations

import json

from simran.hooks import Agent, Decision


class LLMAgent(Agent):
    """An agent that asks an LLM backend (``cfg.backend``) and validates the answer.

    Subclasses implement :meth:`messages` (the prompt), :attr:`schema`, :meth:`policy` (the
    deterministic rule — the ``scripted`` backend and the fallback), :meth:`to_decision` (parsed
    reply → actions) and optionally :meth:`sanity`.
    """

    schema: dict = {}
    max_tokens: int = 64

    def __init__(self, ctx):
        super().__init__(ctx)
        cfg = ctx.cfg
        from agents.llm import make_backend

        self._obs = None

        def policy(messages, schema):
            return self.policy(self._obs)
        policy.__name__ = f"{type(self).__name__}.policy"
        self.backend = make_backend(cfg.backend, scripted_policy=policy,
                                    timeout_s=float(cfg.params.get("timeout_s", 30.0)))

    # -- to override --------------------------------------------------------------------------
    def messages(self, obs) -> list[dict]:
        raise NotImplementedError

    def policy(self, obs) -> dict:
        """The deterministic decision rule the prompt describes (a real baseline)."""
        raise NotImplementedError

    def sanity(self, parsed: dict, obs) -> str:
        """'' if the parsed reply is acceptable, else why not."""
        return ""

    def to_decision(self, parsed: dict, obs) -> Decision:
        raise NotImplementedError

    # -- machinery ----------------------------------------------------------------------------
    def backend_description(self) -> str:
        describe = getattr(self.backend, "describe", None)
        return describe() if describe else type(self.backend).__name__

    def ask(self, obs) -> Decision:
        """Prompt the backend, validate the reply, fall back to :meth:`policy` if needed."""
        from agents.llm import BackendUnavailable, parse_json_reply, prompt_hash

        self._obs = obs
        msgs = self.messages(obs)
        h = prompt_hash(msgs, self.schema)
        try:
            reply = self.backend.chat(msgs, self.schema, max_tokens=self.max_tokens)
        except BackendUnavailable as exc:       # e.g. replay without a recorded answer
            parsed = self.policy(obs)
            dec = self.to_decision(parsed, obs)
            dec.backend, dec.prompt_hash = "scripted", h
            dec.prompt = json.dumps(msgs)
            dec.fallback_reason = str(exc)
            dec.parsed = parsed
            dec.note = "deterministic policy (backend unavailable)"
            return dec
        parsed, err = reply.parsed, reply.error
        if parsed is None and err is None:
            parsed, err = parse_json_reply(reply.text, self.schema)
        why = err or (self.sanity(parsed, obs) if parsed is not None else "no parsed reply")
        if why:
            fallback = self.policy(obs)
            dec = self.to_decision(fallback, obs)
            dec.validation = f"rejected: {why}"
            dec.note = "deterministic policy used (reply rejected)"
        else:
            dec = self.to_decision(parsed, obs)
        dec.backend, dec.model = reply.backend, reply.model
        dec.prompt_hash, dec.prompt = h, json.dumps(msgs)
        dec.raw_text, dec.parsed = reply.text, parsed
        dec.reply_error = err or ""
        dec.fallback_reason = reply.fallback_reason or ""
        dec.prompt_tokens, dec.completion_tokens = reply.prompt_tokens, reply.completion_tokens
        dec.wall_s = reply.wall_s
        return dec

    def decide(self, obs) -> Decision:
        return self.ask(obs)
