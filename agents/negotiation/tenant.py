"""A tenant of the Type II negotiation: an agent that bids a throughput when the mediator asks.

Scenario entry (``kind = "tenant"``, loop ``non_rt``)::

    [[agents]]
    name = "t1"
    kind = "tenant"
    loop = "non_rt"
    latency = "profile:llama3.3:70b"   # Table 7: 11.7 s per round (default: measured)
    backend = "scripted"               # auto | embedded | ollama:<m> | openai:<m> | scripted
    params = { intent_mbps = 100, personality = "normal", slice = "shared" }

``params``: ``intent_mbps`` (a number in [0, 100], or ``"random"``: drawn uniformly from the
agent's own stream), ``personality`` (normal | agreeable | disagreeable | vulnerable | toxic),
``slice`` (informational), ``max_tokens`` (96), ``grammar_interval`` (false: when true and the
request carries an interval, the reply schema's ``throughput`` becomes an enum of the integers in
[L, U], which the embedded backend's grammar enforces), ``reprompt`` (true).

One reply (:meth:`Tenant.respond`) is MAESTRO's units on the tenant's side (papers/003 §III):
the **LLM** (or the scripted personality rule, labelled as a rule) is prompted with the paper's
game prompt (papers/004 App. B Listing 1, condensed), the persona, the mediator's proposal, the
others' last bids, the **regulatory** bounds, the **observability** capacity, the **optimizer**
interval under soft/hard pressure and any **arbitral** warning; **extraction** takes the value and
the reasoning out of the reply; **validation** checks schema, range, bounds and the interval; a
rejected reply gets **one re-prompt** with the reason, and if that is rejected too the
personality's deterministic rule bids instead. All of it is in the decision row (prompt, raw
text, parsed, validation, note).

Renegotiation and votes (papers/004 §6; all optional, off by default)
    ``intent_schedule`` — ``[[t_s, mbps], …]``: the human operator's intent changes over time
    (the last entry at or before now applies; before the first, ``intent_mbps``).
    ``capacity_share`` — in (0, 1]: the tenant grounds its goal on the observability unit's
    capacity (the ``capacity_mbps`` of the mediator's request): goal = min(intent, share ×
    capacity), so it never asks for an SLA the cell could carry only at 100 % of its PRBs.
    ``min_efficiency`` — in (0, 1]: an OPEX-minded tenant: when the capacity is below this
    fraction of the cell's peak rate (a PRB is worth less than that share of its nominal rate),
    its goal is 0, its reply carries ``"switch_off": true`` (a *bid*: the mediator calls a vote)
    and it votes ``off``. ``floor_mbps`` and ``patience_s`` (60) — a QoS-minded tenant: when the
    slice's SLA has been below its floor for ``patience_s`` (its users' feedback), it asks the
    mediator for a vote (``{"request": "vote_off"}``) and votes ``off``; otherwise it votes
    ``on``. ``check_s`` (1.0) is how often it looks at the SLA.
"""

from __future__ import annotations

import json
import math
import time

from agents.negotiation.errors import NegotiationInputError
from agents.negotiation.extraction import RESPONSE_TEMPLATE, Extracted, extract
from agents.negotiation.personalities import PERSONALITIES, persona_prompt, scripted_bid
from agents.negotiation.pressure import guardrail_text
from agents.negotiation.tenant_demo import TenantDemoMixin
from agents.negotiation.validation import reprompt_message, validate_bid
from simran.errors import ScenarioError
from simran.hooks import Agent, Decision, register_agent

GAME_PROMPT = (
    "Let's play a role-playing game. You are {name}, the agent of one tenant in a mediated "
    "multi-agent negotiation in a 5G network. You negotiate with the agents of other tenants on "
    "a service level agreement (SLA): the RAN throughput (variable name: throughput) of a shared "
    "slice, from 0 to 100 Mbit/s. Your goal is {intent:g} Mbit/s; other agents may have "
    "different goals. The network mediator is a trusted entity: it considers all goals and "
    "proposes an agreement. In every round you either agree with the mediator's proposal (bid "
    "exactly its value) or propose a value closer to your objective, with your reasoning in 1-2 "
    "sentences. Conclude fast and fairly, in a few rounds. {persona} {template}")
"""Condensed from papers/004 App. B Listing 1 (the paper's Type II tenant prompt)."""


def _scenario_where(ctx):
    """(source file, base dir, index of this agent) — for scenario errors."""
    return ctx.scenario_source, ctx.base_dir, ctx.index


def tenant_schema(interval=None, grammar_interval: bool = False) -> dict:
    """The reply schema: ``{"throughput": number, "reasoning": string}``.

    With ``grammar_interval`` and an interval, ``throughput`` is an enum of the integers in
    [ceil L, floor U] (at least one): a grammar-constrained backend cannot produce anything else.
    """
    tp: dict = {"type": "number"}
    if grammar_interval and interval is not None:
        lo, hi = math.ceil(interval[0]), math.floor(interval[1])
        if hi < lo:
            hi = lo = int(round((interval[0] + interval[1]) / 2))
        tp = {"type": "integer", "enum": list(range(int(lo), int(hi) + 1))}
    return {"type": "object", "additionalProperties": False,
            "required": ["throughput", "reasoning"],
            "properties": {"throughput": tp,
                           "reasoning": {"type": "string", "minLength": 1, "maxLength": 240}}}


def request_text(req: dict, name: str) -> str:
    """The round's user message from the mediator's request payload."""
    k, kmax = req.get("round", 1), req.get("k_max", 5)
    parts = [f"Round {k} of at most {kmax}."]
    p = req.get("proposal_mbps")
    if p is None:
        parts.append("Make your opening bid.")
    else:
        why = req.get("proposal_reasoning") or ""
        parts.append(f"The mediator proposes {p:.1f} Mbit/s" + (f": {why}" if why else "."))
    last = req.get("your_last_bid_mbps")
    if last is not None:
        parts.append(f"Your last bid was {last:.1f} Mbit/s.")
    others = {t: b for t, b in (req.get("bids") or {}).items() if t != name}
    if others:
        if len(others) <= 5:
            parts.append("Other tenants' last bids: " + ", ".join(
                f"{t} {b:.1f}" for t, b in others.items()) + " Mbit/s.")
        else:
            v = list(others.values())
            parts.append(f"Other tenants' last bids ({len(v)}): min {min(v):.1f}, mean "
                         f"{sum(v) / len(v):.1f}, max {max(v):.1f} Mbit/s.")
    b = req.get("bounds_mbps")
    if b is not None and (b[0] > 0 or b[1] < 100):
        parts.append(f"Regulatory constraints: your bids must lie within [{b[0]:g}, {b[1]:g}] "
                     "Mbit/s.")
    cap = req.get("capacity_mbps")
    if cap is not None:
        parts.append(f"Network observation: the slice can currently deliver at most {cap:.0f} "
                     "Mbit/s.")
    iv = req.get("interval")
    if iv is not None:
        parts.append(guardrail_text(iv[0], iv[1]))
    w = req.get("warning")
    if w:
        parts.append(w)
    rej = req.get("rejected")
    if rej:
        parts.append(f"The mediator rejected your last reply: {rej}.")
    return " ".join(parts)


@register_agent("tenant")
class Tenant(TenantDemoMixin, Agent):
    """A negotiating tenant (see the module docstring for the scenario parameters)."""

    max_workers_hint = None

    def __init__(self, ctx):
        super().__init__(ctx)
        p = ctx.params
        source, _, idx = _scenario_where(ctx)
        intent = p.get("intent_mbps", 50.0)
        if intent == "random":
            intent = float(self.rng.uniform(0.0, 100.0))
        if isinstance(intent, bool) or not isinstance(intent, (int, float)) \
                or not math.isfinite(intent) or not 0 <= intent <= 100:
            raise ScenarioError(source, [(f"agents.{idx}.params.intent_mbps",
                                          f"must be a number in [0, 100] Mbit/s or 'random', got "
                                          f"{intent!r}")])
        self.intent_mbps = float(intent)
        self.personality = p.get("personality", "normal")
        if self.personality not in PERSONALITIES:
            raise ScenarioError(source, [(f"agents.{idx}.params.personality",
                                          f"{self.personality!r} is not one of "
                                          f"{', '.join(PERSONALITIES)}")])
        self.slice = p.get("slice")
        self.max_tokens = int(p.get("max_tokens", 96))
        self.grammar_interval = bool(p.get("grammar_interval", False))
        self.reprompt = bool(p.get("reprompt", True))
        self.last_bid_mbps: float | None = None
        self._req: dict = {}
        self._read_demo_params(p, source, idx)
        from agents.llm import make_backend

        def policy(messages, schema):
            r = self._req
            b = scripted_bid(self.personality, self.goal_mbps(r), int(r.get("round", 1)) - 1,
                             r.get("proposal_mbps"), r.get("interval"), self.last_bid_mbps,
                             self.rng)
            bid = b.bid_mbps
            if schema is not None:              # a grammar-bound rule answers within the enum
                enum = schema["properties"]["throughput"].get("enum")
                if enum:
                    bid = min(enum, key=lambda v: abs(v - bid))
            return {"throughput": round(bid, 3), "reasoning": b.reasoning}
        policy.__name__ = f"tenant rule '{self.personality}'"
        self.backend = make_backend(ctx.cfg.backend, scripted_policy=policy,
                                    timeout_s=float(p.get("timeout_s", 60.0)))
        self.scripted = getattr(self.backend, "name", "") == "scripted"

    def intent_prompt(self) -> str:
        """The tenant operator's intent prompt (a human's words, not the LLM's)."""
        where = f" on slice {self.slice}" if self.slice else ""
        return (f"Tenant {self.name}: our intent is a throughput of {self.intent_mbps:g} Mbit/s"
                f"{where}.")

    def run(self):
        """Submit the intent prompt to the mediator(s) that list this tenant, at t = 0 (papers/004
        Fig. 7: the optimizer's x⁽⁰⁾ is extracted from the intent prompts before the first
        round); then answer rounds — and, with ``floor_mbps``, watch the SLA (:meth:`_watch`)."""
        self._mediators = [n for n in self.ctx.peers()
                           if self.name in (getattr(self.ctx.peer(n), "tenants", None) or ())]
        for name in self._mediators:
            self.ctx.send(name, {"intent_prompt": self.intent_prompt()})
        if self.floor_mbps is not None:
            yield from self._watch()

    def backend_description(self) -> str:
        describe = getattr(self.backend, "describe", None)
        return describe() if describe else type(self.backend).__name__

    def _rule_reply(self, req, interval, bounds) -> Decision:
        """The scripted backend: the personality rule itself (a rule reads no prompt, so none is
        built or logged); its bid still goes through the validation unit."""
        w0 = time.perf_counter()
        goal = self.goal_mbps(req)
        b = scripted_bid(self.personality, goal, int(req.get("round", 1)) - 1,
                         req.get("proposal_mbps"), interval, self.last_bid_mbps, self.rng)
        bid = b.bid_mbps if bounds is None else min(max(b.bid_mbps, bounds[0]), bounds[1])
        v = validate_bid(Extracted(bid, b.reasoning, "json"), interval=interval,
                         bounds_mbps=bounds)
        self.last_bid_mbps = float(bid)
        reply = {"throughput": float(bid), "reasoning": b.reasoning}
        note = f"bid {bid:.2f} Mbit/s (intent {self.intent_mbps:g}, {self.personality})"
        if goal != self.intent_mbps:
            note += f"; goal {goal:.2f} ({self._goal_why})"
        if self._wants_off:
            reply["switch_off"] = True
            reply["reasoning"] = (f"The cell delivers only {self._last_cap:.0f} Mbit/s: every PRB "
                                  "costs more than it is worth. Switch the cell off.")
        if not v.ok:
            note += f"; outside the validation unit's checks ({v.reason}): sent as the rule's bid"
        for key in ("warning", "rejected"):
            if req.get(key):
                note += f"; received: {req[key]}"
        return Decision(reply=reply, parsed=reply, backend="scripted",
                        model=f"tenant rule '{self.personality}' (not an LLM)",
                        validation="ok" if v.ok else f"rejected: {v.reason}",
                        wall_s=time.perf_counter() - w0, note=note)

    # -- the prompt ----------------------------------------------------------------------------
    def messages(self, req: dict) -> list[dict]:
        system = GAME_PROMPT.format(name=self.name, intent=self.goal_mbps(req),
                                    persona=persona_prompt(self.personality),
                                    template=RESPONSE_TEMPLATE)
        return [{"role": "system", "content": system},
                {"role": "user", "content": request_text(req, self.name)}]

    # -- one reply -----------------------------------------------------------------------------
    def respond(self, request, obs):
        from agents.llm import BackendUnavailable, prompt_hash

        req = request.payload if isinstance(request.payload, dict) else {}
        if req.get("vote") == "cell_off":
            return self.vote_reply(req)
        if int(req.get("round", 1) or 1) == 1:
            self.last_bid_mbps = None              # a new game: open from the goal of now
        self._req = req
        iv = req.get("interval")
        interval = tuple(iv) if iv is not None else None
        bounds = tuple(req["bounds_mbps"]) if req.get("bounds_mbps") is not None else None
        if self.scripted:
            return self._rule_reply(req, interval, bounds)
        schema = tenant_schema(interval, self.grammar_interval)
        msgs = self.messages(req)
        texts, notes, tokens, wall = [], [], [0, 0], 0.0
        dec = Decision(prompt_hash=prompt_hash(msgs, schema), prompt=json.dumps(msgs))
        verdict, found = None, None
        for attempt in range(2 if self.reprompt else 1):
            try:
                reply = self.backend.chat(msgs, schema, max_tokens=self.max_tokens)
            except BackendUnavailable as exc:
                notes.append(f"backend unavailable: {exc}")
                dec.fallback_reason = str(exc)
                break
            texts.append(reply.text)
            tokens[0] += reply.prompt_tokens
            tokens[1] += reply.completion_tokens
            wall += reply.wall_s
            dec.backend, dec.model = reply.backend, reply.model
            if reply.fallback_reason:
                dec.fallback_reason = reply.fallback_reason
            found = extract(reply.text)
            verdict = validate_bid(found, interval=interval, bounds_mbps=bounds)
            if verdict.ok:
                break
            notes.append(f"attempt {attempt + 1} rejected: {verdict.reason}")
            msgs = msgs + [{"role": "assistant", "content": reply.text},
                           {"role": "user", "content": reprompt_message(verdict.reason)}]
        if verdict is not None and verdict.ok:
            bid, reasoning = verdict.bid_mbps, str(found.reasoning)
            dec.validation = "ok" if not notes else f"ok after re-prompt ({notes[0]})"
            if verdict.warning:
                notes.append(verdict.warning)
        else:
            w0 = time.perf_counter()
            b = scripted_bid(self.personality, self.goal_mbps(req), int(req.get("round", 1)) - 1,
                             req.get("proposal_mbps"), interval, self.last_bid_mbps, self.rng)
            wall += time.perf_counter() - w0
            bid = b.bid_mbps
            if bounds is not None:
                bid = min(max(bid, bounds[0]), bounds[1])
            reasoning = b.reasoning
            dec.validation = "rejected: " + ("; ".join(notes) or "no reply")
            notes.append(f"deterministic rule '{self.personality}' bid instead (not an LLM)")
        if not math.isfinite(bid) or not 0 <= bid <= 100:          # never reached; belt and braces
            raise NegotiationInputError(f"tenant {self.name}: bid {bid!r} escaped validation")
        self.last_bid_mbps = float(bid)
        dec.reply = {"throughput": float(bid), "reasoning": reasoning}
        if self._wants_off:
            dec.reply["switch_off"] = True
        dec.raw_text = "\n---\n".join(texts)
        dec.parsed = dict(dec.reply)
        dec.prompt_tokens, dec.completion_tokens = tokens
        dec.wall_s = wall
        if not dec.backend:
            dec.backend, dec.model = "scripted", f"tenant rule '{self.personality}'"
        dec.note = (f"bid {bid:.2f} Mbit/s (intent {self.intent_mbps:g}, "
                    f"{self.personality}); " + "; ".join(notes)).rstrip("; ")
        return dec
