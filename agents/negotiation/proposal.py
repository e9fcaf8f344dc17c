"""The mediator's own proposals (an LLM, or the weighted-mean rule, labelled as a rule).

Split out of :mod:`agents.negotiation.mediator`: the prompt, the reply schema, and
:class:`ProposalMixin` — one proposal per round, validated like a tenant's bid, re-prompted once,
replaced by the deterministic rule when rejected, and by the optimizer's consensus under ``hard``
pressure.
"""

from __future__ import annotations

import json
import math

from agents.negotiation.extraction import RESPONSE_TEMPLATE, extract
from agents.negotiation.pressure import guardrail_text, prompt_interval
from agents.negotiation.validation import reprompt_message, validate_bid
from simran.hooks import Decision
from simran.units import US_PER_S

MEDIATOR_PROMPT = (
    "You are the network mediator (MNO) of a multi-tenant negotiation in a 5G network on the "
    "throughput SLA of a shared slice (0 to 100 Mbit/s). Each tenant's agent has its own goal. "
    "Consider all goals and propose one throughput that is fair to every tenant and that they can "
    "all accept, so the negotiation concludes in a few rounds. {template}")

MEDIATOR_SCHEMA = {"type": "object", "additionalProperties": False,
                   "required": ["throughput", "reasoning"],
                   "properties": {"throughput": {"type": "number"},
                                  "reasoning": {"type": "string", "minLength": 1,
                                                "maxLength": 240}}}



class ProposalMixin:
    """The mediator's proposal step and the optimizer's interval (needs ``current``, ``k_max``,
    ``backend``, ``max_tokens``, ``pressure``, ``optimizer``, ``tenants``, ``_bounds()``,
    ``_shown_interval()``, ``_rule_proposal()``, ``_weights()`` on ``self``)."""

    def _intent_prompts(self, g, obs) -> None:
        """x⁽⁰⁾ from the tenants' intent prompts in the inbox (extraction + range check), and the
        optimizer's interval from it, before the first round (papers/004 Fig. 7)."""
        x0, notes = {}, []
        for m in obs.inbox:
            if m.src not in self.tenants or not isinstance(m.payload, dict) \
                    or "intent_prompt" not in m.payload:
                continue
            found = extract(str(m.payload["intent_prompt"]))
            v = found.value
            if found.found and isinstance(v, (int, float)) and not isinstance(v, bool) \
                    and math.isfinite(v) and 0 <= v <= 100:
                x0[m.src] = float(v)
            else:
                notes.append(f"{m.src}: unusable intent prompt ({found.problem or v!r})")
        g.intents_x0 = dict(x0)
        g.intent_notes = notes
        if x0:
            self._interval(g, x0)

    def _interval(self, g, x0: dict) -> None:
        names = list(x0)
        res = self.optimizer.solve([x0[t] for t in names], self._weights(names), rng=self.rng)
        g.interval = res.interval
        g.optimizer_mbps = res.consensus_mbps
        g.prompt_interval = prompt_interval("soft", res.interval)


    def messages(self) -> list[dict]:
        g = self.current
        lines = [f"Round {g.n_rounds} of at most {self.k_max}. The tenants' bids:"]
        last = g.rounds[-1]
        for c in last.checks:
            if c.ok:
                lines.append(f"- {c.tenant}: {c.bid_mbps:.1f} Mbit/s. {c.reasoning}")
        shown = self._shown_interval()
        if shown is not None:
            lines.append(guardrail_text(*shown))
        lo, hi = self._bounds()
        if lo > 0 or hi < 100:
            lines.append(f"Regulatory constraints: the consensus must lie within [{lo:g}, "
                         f"{hi:g}] Mbit/s.")
        if g.capacity_mbps is not None:
            lines.append(f"Network observation: the slice can currently deliver at most "
                         f"{g.capacity_mbps:.0f} Mbit/s.")
        lines.append("Propose the consensus throughput.")
        return [{"role": "system", "content": MEDIATOR_PROMPT.format(template=RESPONSE_TEMPLATE)},
                {"role": "user", "content": "\n".join(lines)}]

    def _propose(self) -> Decision:
        from agents.llm import BackendUnavailable, prompt_hash

        msgs = self.messages()
        dec = Decision(prompt_hash=prompt_hash(msgs, MEDIATOR_SCHEMA), prompt=json.dumps(msgs))
        shown, bounds = self._shown_interval(), self._bounds()
        notes, texts, wall, tok = [], [], 0.0, [0, 0]
        verdict, found = None, None
        for attempt in range(2):
            try:
                reply = self.backend.chat(msgs, MEDIATOR_SCHEMA, max_tokens=self.max_tokens)
            except BackendUnavailable as exc:
                dec.fallback_reason = str(exc)
                notes.append(f"backend unavailable: {exc}")
                break
            texts.append(reply.text)
            wall += reply.wall_s
            tok[0] += reply.prompt_tokens
            tok[1] += reply.completion_tokens
            dec.backend, dec.model = reply.backend, reply.model
            dec.fallback_reason = reply.fallback_reason or dec.fallback_reason
            found = extract(reply.text)
            verdict = validate_bid(found, interval=shown, bounds_mbps=bounds)
            if verdict.ok:
                break
            notes.append(f"attempt {attempt + 1} rejected: {verdict.reason}")
            msgs = msgs + [{"role": "assistant", "content": reply.text},
                           {"role": "user", "content": reprompt_message(verdict.reason)}]
        if verdict is not None and verdict.ok:
            p, text = verdict.bid_mbps, str(found.reasoning)
            dec.validation = "ok" if not notes else f"ok after re-prompt ({notes[0]})"
        else:
            p = self._rule_proposal()
            text = "The weighted mean of the tenants' current bids is a fair middle ground."
            dec.validation = "rejected: " + ("; ".join(notes) or "no reply")
            notes.append("deterministic mediator rule proposed instead (not an LLM)")
        if self.pressure == "hard":
            lo, hi = bounds
            hard = min(max(self.current.optimizer_mbps, lo), hi)
            notes.append(f"hard pressure: proposal {p:.2f} replaced by the optimizer's "
                         f"{hard:.2f}")
            p = hard
        from agents.negotiation.arbitral import sanitise

        text = sanitise(text)[:240]
        dec.raw_text = "\n---\n".join(texts)
        dec.parsed = {"throughput": p, "reasoning": text}
        dec.prompt_tokens, dec.completion_tokens, dec.wall_s = tok[0], tok[1], wall

        self._pending = (float(p), text)

        def announce(t_us, _p=p):
            self.current.proposals.append((t_us / US_PER_S, float(_p)))
        dec.on_ready = announce
        dec.note = "; ".join([f"proposal {p:.2f} Mbit/s (round {self.current.n_rounds})"]
                             + notes)
        return dec

