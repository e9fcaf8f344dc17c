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

Valid by construction (issue 15)
    When a language model may answer (any backend but the pure ``scripted`` one), the agent asks
    with its *model schema* (:meth:`LLMAgent.model_schema`): a schema whose numeric fields are an
    ``enum`` of the allowed values (or a choice such as raise / hold / lower). The embedded
    backend turns the schema into a llama.cpp grammar, so every reply it can produce is a decision
    in range; the validation above still runs (other backends do not constrain). Each reply of a
    real model is compared with the rule's answer to the same prompt (:meth:`LLMAgent.agrees`):
    the run summary gets ``agent.<name>.model_replies``, ``.valid_reply_pct`` (replies that
    passed validation), ``.agree_with_rule_pct`` (same direction of change as the rule: raise,
    hold or lower) and ``.same_as_rule_pct`` (exactly the rule's value), and ``simran run``
    prints them. With the ``scripted`` backend (or the replay of a run that only the rule
    answered) the agent asks exactly as before (schema, prompt and results unchanged, bit for
    bit) and no model metrics are added.
"""

from __future__ import annotations

import json
import math

from simran.hooks import Agent, Decision


def direction(new: float, old: float, tol: float = 1e-9) -> str:
    """``"raise"``, ``"hold"`` or ``"lower"``: the direction of a change from ``old`` to ``new``
    (same unit), "hold" within ``tol``."""
    if not (math.isfinite(new) and math.isfinite(old)) or abs(new - old) <= tol:
        return "hold"
    return "raise" if new > old else "lower"


def _replays_rule(backend) -> bool:
    """True for a replay of a run in which only the scripted rule answered: that run asked with
    the plain schema, so the replay must too (else no prompt hash would match)."""
    from agents.llm import ReplayBackend

    if not isinstance(backend, ReplayBackend):
        return False
    recorded = [r.backend for q in backend._queues.values() for r in q]
    return bool(recorded) and all(b == "scripted" for b in recorded)


class LLMAgent(Agent):
    """An agent that asks an LLM backend (``cfg.backend``) and validates the answer.

    Subclasses implement :meth:`messages` (the prompt), :attr:`schema`, :meth:`policy` (the
    deterministic rule — the ``scripted`` backend and the fallback), :meth:`to_decision` (parsed
    reply → actions) and optionally :meth:`sanity`. An agent whose reply has a numeric range
    also overrides :meth:`model_schema` (and, if the model answers in other terms than the rule,
    :meth:`model_messages`, :meth:`model_policy`, :meth:`from_model`) and :meth:`agrees`.

    Attributes
    ----------
    constrained : bool
        True when a model may answer (the backend is not the pure ``scripted`` rule): the agent
        then asks with :meth:`model_schema` and :meth:`model_messages`.
    model_replies, model_valid, model_agree, model_same : int
        Replies that came from a real model (not the rule, not a fallback), how many passed
        validation, how many chose the rule's direction, how many the rule's exact value.
    """

    schema: dict = {}
    max_tokens: int = 64

    def __init__(self, ctx):
        super().__init__(ctx)
        cfg = ctx.cfg
        from agents.llm import ScriptedBackend, make_backend

        self._obs = None
        self.constrained = False

        def policy(messages, schema):
            return self.model_policy(self._obs) if self.constrained else self.policy(self._obs)
        policy.__name__ = f"{type(self).__name__}.policy"
        self.backend = make_backend(cfg.backend, scripted_policy=policy,
                                    timeout_s=float(cfg.params.get("timeout_s", 30.0)))
        self.constrained = not (isinstance(self.backend, ScriptedBackend)
                                or _replays_rule(self.backend))
        self.model_replies = self.model_valid = self.model_agree = self.model_same = 0

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

    # -- constrained replies of a model (default: the same as the rule's) ----------------------
    def model_schema(self) -> dict:
        """The schema a model answers with: every reply it allows must be a decision in range
        (an ``enum`` of allowed values or of choices). Default: :attr:`schema`."""
        return self.schema

    def model_messages(self, obs) -> list[dict]:
        """The prompt of a model (default: :meth:`messages`)."""
        return self.messages(obs)

    def model_policy(self, obs) -> dict:
        """The rule's answer in the model's terms (:meth:`model_schema`); default :meth:`policy`."""
        return self.policy(obs)

    def from_model(self, parsed: dict, obs) -> dict:
        """A model's (validated) reply → the rule's terms, for :meth:`to_decision`."""
        return parsed

    def agrees(self, reply: dict, rule: dict, obs) -> tuple[bool, bool]:
        """(same direction, same value) of a model's reply and the rule's, both in the model's
        terms. Default: both mean equality of the replies."""
        same = reply == rule
        return same, same

    # -- machinery ----------------------------------------------------------------------------
    def backend_description(self) -> str:
        describe = getattr(self.backend, "describe", None)
        return describe() if describe else type(self.backend).__name__

    def ask(self, obs) -> Decision:
        """Prompt the backend, validate the reply, fall back to :meth:`policy` if needed."""
        from agents.llm import BackendUnavailable, parse_json_reply, prompt_hash

        self._obs = obs
        if self.constrained:
            schema, msgs = self.model_schema(), self.model_messages(obs)
        else:
            schema, msgs = self.schema, self.messages(obs)
        h = prompt_hash(msgs, schema)
        try:
            reply = self.backend.chat(msgs, schema, max_tokens=self.max_tokens)
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
            parsed, err = parse_json_reply(reply.text, schema)
        plain = parsed
        if self.constrained and parsed is not None and err is None:
            plain = self.from_model(parsed, obs)
        why = err or (self.sanity(plain, obs) if plain is not None else "no parsed reply")
        if why:
            fallback = self.policy(obs)
            dec = self.to_decision(fallback, obs)
            dec.validation = f"rejected: {why}"
            dec.note = "deterministic policy used (reply rejected)"
        else:
            dec = self.to_decision(plain, obs)
        if self.constrained and reply.backend != "scripted" and not reply.fallback_reason:
            self._score(parsed if not why else None, obs, dec)
        dec.backend, dec.model = reply.backend, reply.model
        dec.prompt_hash, dec.prompt = h, json.dumps(msgs)
        dec.raw_text, dec.parsed = reply.text, parsed
        dec.reply_error = err or ""
        dec.fallback_reason = reply.fallback_reason or ""
        dec.prompt_tokens, dec.completion_tokens = reply.prompt_tokens, reply.completion_tokens
        dec.wall_s = reply.wall_s
        return dec

    def _score(self, reply: dict | None, obs, dec: Decision) -> None:
        """Count a real model's reply: valid, same direction / value as the rule's answer."""
        self.model_replies += 1
        if reply is None:
            return
        self.model_valid += 1
        rule = self.model_policy(obs)
        agree, same = self.agrees(reply, rule, obs)
        self.model_agree += bool(agree)
        self.model_same += bool(same)
        verdict = "agrees with" if agree else "differs from"
        note = f"model {verdict} the rule (rule: {json.dumps(rule, sort_keys=True)})"
        dec.note = f"{dec.note}; {note}" if dec.note else note

    def decide(self, obs) -> Decision:
        return self.ask(obs)

    def summary_metrics(self) -> dict[str, float]:
        """Model metrics (module docstring) when a real model answered at least once."""
        n = self.model_replies
        if not n:
            return {}
        valid = self.model_valid
        pre = f"agent.{self.name}."
        return {pre + "model_replies": float(n),
                pre + "valid_reply_pct": 100.0 * valid / n,
                pre + "agree_with_rule_pct": 100.0 * self.model_agree / valid if valid else 0.0,
                pre + "same_as_rule_pct": 100.0 * self.model_same / valid if valid else 0.0}

    def run_report(self) -> list[str]:
        """How many model replies were valid and how often they agreed with the rule."""
        m = self.summary_metrics()
        if not m:
            return []
        pre = f"agent.{self.name}."
        n, valid = int(m[pre + "model_replies"]), self.model_valid
        return [f"model replies: {n}, valid {valid} ({m[pre + 'valid_reply_pct']:.0f} %, "
                "constrained to the allowed values)",
                f"quality: same direction as the deterministic rule in {self.model_agree}/{valid}"
                f" ({m[pre + 'agree_with_rule_pct']:.0f} %), the rule's exact value in "
                f"{self.model_same}/{valid} ({m[pre + 'same_as_rule_pct']:.0f} %); the rule is "
                "the scripted baseline (run with backend = \"scripted\" to compare)"]
