"""The mediator (MNO) of the Type II negotiation: runs the game on rounds, enforces the consensus.

Scenario entry (``kind = "mediator"``, loop ``non_rt``)::

    [[agents]]
    name = "mno"
    kind = "mediator"
    loop = "non_rt"
    latency = "profile:llama3.3:70b"   # papers/004 Table 7: 11.7 s per round
    backend = "auto"
    params = { pressure = "soft", tenants = ["t1", "t2", "t3"] }

``params``

``tenants`` (required)
    Names of the tenant agents. Every name must be an agent of the scenario (else a scenario error
    naming ``agents.<i>.params.tenants``, before the run starts); an empty list is a game declared
    failed ("no tenants").
``pressure``
    ``none`` (standalone: no interval anywhere), ``soft`` (default; the interval in every prompt:
    the Type II *symbiotic* agent) or ``hard`` (as soft, and the mediator's proposal is the
    optimizer's consensus).
``epsilon_mbps`` (1.0), ``k_max`` (5)
    Stop when the participants' bids spread less than ε; declare the game failed after k_max
    rounds.
``start_s`` (1.0), ``deadline_s`` (the mediator's budget: 60 s in non_rt)
    When the game starts, and how long a round waits for replies (simulated time).
``slice`` (default: the first tenant's ``slice`` param, else the first slice), ``tolerance_mbps``
(5.0)
    Where the consensus goes: ``SetIntent(slice, consensus, tolerance)`` through the control
    surface, so a Type I ``pcontrol`` agent on that slice enforces it.
``rules``
    A regulatory rules file (:mod:`agents.negotiation.regulatory`), relative to the scenario file.
    A malformed file, or one that leaves no bid (or no common value) for this game's tenants, is
    a scenario error naming the file, the field and the reason.
``capacity``
    ``"observed"`` (default: what the slice's UEs could carry now with the whole cell, from their
    CQIs and simran's link table), a number in Mbit/s, or ``"none"``.
``arbitral`` (true)
    Use the arbitral unit's weights (a repeated offence halves a tenant's pull). Flags and
    warnings are always given.
``restarts`` (100), ``jitter_mbps`` (5.0), ``alpha`` (7), ``gamma`` (7)
    The side-car optimizer (:class:`~agents.negotiation.optimizer.SidecarOptimizer`).
``workers`` (``"auto"``)
    Threads for a round's replies: 1 when every tenant is scripted (threads buy nothing for a
    rule), else up to 8.

The game (rounds, checks, stop rule) is described in :mod:`agents.negotiation.game`. Every
proposal is a decision of the mediator's own (its latency charged, logged); the consensus is a
decision whose action is the ``SetIntent``. Run-level metrics (``negotiation.*``) and the game's
report lines are given by :meth:`Mediator.summary_metrics` and :meth:`Mediator.run_report`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from agents.negotiation.arbitral import Arbiter
from agents.negotiation.errors import RulesError
from agents.negotiation.extraction import RESPONSE_TEMPLATE, extract
from agents.negotiation.game import (
    DEFAULT_EPSILON_MBPS,
    DEFAULT_K_MAX,
    MAX_STRIKES,
    GameRecord,
    RoundRecord,
    check_reply,
    scripted_mediator_proposal,
    stop_rule,
    weighted_mean,
)
from agents.negotiation.optimizer import SidecarOptimizer, optimum
from agents.negotiation.pressure import PRESSURES, guardrail_text, prompt_interval
from agents.negotiation.regulatory import SLA_RANGE_MBPS, Rules, load_rules
from agents.negotiation.tenant import _scenario_where
from agents.negotiation.validation import reprompt_message, validate_bid
from simran.control import SetIntent
from simran.errors import ScenarioError
from simran.hooks import Agent, Decision, register_agent
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


@register_agent("mediator")
class Mediator(Agent):
    """The game's mediator (see the module docstring)."""

    def __init__(self, ctx):
        super().__init__(ctx)
        p = ctx.params
        source, base_dir, idx = _scenario_where(ctx)
        self._source, self._idx = source, idx
        problems = []
        tenants = p.get("tenants")
        names = self._scenario_agent_names(ctx)
        if tenants is None:
            problems.append((f"agents.{idx}.params.tenants", "required: the tenant agents' names"))
            tenants = []
        elif not isinstance(tenants, list) or not all(isinstance(t, str) for t in tenants):
            problems.append((f"agents.{idx}.params.tenants", f"must be a list of agent names, got "
                                                             f"{tenants!r}"))
            tenants = []
        else:
            missing = [t for t in tenants if names is not None and t not in names]
            dup = sorted({t for t in tenants if tenants.count(t) > 1})
            if missing:
                problems.append((f"agents.{idx}.params.tenants",
                                 f"no agent named {', '.join(map(repr, missing))} in this "
                                 f"scenario (agents: {', '.join(names or [])})"))
            if dup:
                problems.append((f"agents.{idx}.params.tenants", f"listed twice: {dup}"))
            if self.name in tenants:
                problems.append((f"agents.{idx}.params.tenants",
                                 "the mediator cannot be its own tenant"))
        self.tenants = list(tenants)
        self.pressure = p.get("pressure", "soft")
        if self.pressure not in PRESSURES:
            problems.append((f"agents.{idx}.params.pressure",
                             f"{self.pressure!r}: use one of {', '.join(PRESSURES)}"))
        num = {}
        for key, default, lo in (("epsilon_mbps", DEFAULT_EPSILON_MBPS, 0.0),
                                 ("k_max", DEFAULT_K_MAX, 1), ("start_s", 1.0, 0.0),
                                 ("deadline_s", self.budget_ms / 1e3, 0.0),
                                 ("tolerance_mbps", 5.0, 0.0), ("restarts", 100, 2),
                                 ("jitter_mbps", 5.0, 0.0), ("alpha", 7.0, 0.0),
                                 ("gamma", 7.0, 0.0)):
            v = p.get(key, default)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
                    or v < lo or (key in ("epsilon_mbps", "deadline_s", "alpha", "gamma")
                                  and v <= 0):
                problems.append((f"agents.{idx}.params.{key}", f"must be a number "
                                 f"{'>' if key in ('epsilon_mbps', 'deadline_s') else '>='} {lo:g}"
                                 f", got {v!r}"))
                v = default
            num[key] = v
        self.epsilon = float(num["epsilon_mbps"])
        self.k_max = int(num["k_max"])
        self.start_us = int(round(num["start_s"] * US_PER_S))
        self.deadline_ms = float(num["deadline_s"]) * 1e3
        self.tolerance = float(num["tolerance_mbps"])
        self.optimizer = SidecarOptimizer(alpha=num["alpha"], gamma=num["gamma"],
                                          restarts=int(num["restarts"]),
                                          jitter_mbps=num["jitter_mbps"], rng=self.rng)
        self.use_weights = bool(p.get("arbitral", True))
        self.workers = p.get("workers", "auto")
        self.max_tokens = int(p.get("max_tokens", 96))
        self.slice = p.get("slice")
        if self.slice is None:
            self.slice = self._tenant_slice(ctx) or ctx.slice_names[0]
        if self.slice not in ctx.slice_names:
            problems.append((f"agents.{idx}.params.slice", f"no slice {self.slice!r} (slices: "
                                                           f"{', '.join(ctx.slice_names)})"))
        cap = p.get("capacity", "observed")
        if not (cap in ("observed", "none") or (isinstance(cap, (int, float))
                                                and not isinstance(cap, bool) and cap >= 0)):
            problems.append((f"agents.{idx}.params.capacity",
                             f"use 'observed', 'none' or a number of Mbit/s, got {cap!r}"))
            cap = "none"
        self.capacity_mode = cap
        self._slice_idx = ctx.slice_names.index(self.slice) if self.slice in ctx.slice_names \
            else 0
        self.rules: Rules | None = None
        if p.get("rules") is not None:
            path = Path(str(p["rules"]))
            path = path if path.is_absolute() else Path(base_dir) / path
            try:
                self.rules = load_rules(path)
            except RulesError as exc:
                problems += [(f"agents.{idx}.params.rules", f"{exc.source}: {f or '<file>'}: {r}")
                             for f, r in exc.problems]
            else:
                lo, hi = self.rules.consensus_range(self.tenants)
                if self.tenants and lo > hi:
                    problems.append((f"agents.{idx}.params.rules",
                                     f"{path}: tenants: no value every tenant of this game may "
                                     f"bid (common range [{lo:g}, {hi:g}] is empty): every "
                                     "consensus is infeasible"))
        if problems:
            raise ScenarioError(source, problems)
        self.arbiter = Arbiter()
        self.game: GameRecord | None = None
        self._phase = "propose"
        self._bids: dict = {}
        self._proposal: float | None = None
        self._proposal_text = ""
        self._pending = None
        self._consensus: float | None = None
        from agents.llm import make_backend

        def policy(messages, schema):
            return {"throughput": round(self._rule_proposal(), 3),
                    "reasoning": "The weighted mean of the tenants' current bids"
                                 + (" moved into the optimizer's interval"
                                    if self._shown_interval() else "")
                                 + " is a fair middle ground for all tenants."}
        policy.__name__ = "mediator rule (weighted mean of the bids)"
        self.backend = make_backend(ctx.cfg.backend, scripted_policy=policy,
                                    timeout_s=float(p.get("timeout_s", 60.0)))

    # -- wiring --------------------------------------------------------------------------------
    @staticmethod
    def _scenario_agent_names(ctx):
        sc = getattr(getattr(ctx, "_sim", None), "scenario", None)
        if sc is None:
            return None
        return [a.name for a in sc.agents]

    def _tenant_slice(self, ctx):
        sc = getattr(getattr(ctx, "_sim", None), "scenario", None)
        for a in getattr(sc, "agents", []) or []:
            if self.tenants and a.name == self.tenants[0]:
                return a.params.get("slice")
        return None

    def backend_description(self) -> str:
        describe = getattr(self.backend, "describe", None)
        return describe() if describe else type(self.backend).__name__

    def _bounds(self) -> tuple[float, float]:
        if self.rules is None:
            return SLA_RANGE_MBPS
        return self.rules.consensus_range(self.tenants)

    def _shown_interval(self):
        g = self.game
        if g is None or self.pressure == "none":
            return None
        return g.prompt_interval

    def _weights(self, names) -> np.ndarray:
        if not self.use_weights:
            return np.ones(len(names))
        return self.arbiter.weights(names)

    def _rule_proposal(self) -> float:
        names = list(self._bids)
        return scripted_mediator_proposal([self._bids[t] for t in names], self._weights(names),
                                          self._shown_interval(), self._bounds())

    def _capacity(self, obs) -> float | None:
        mode = self.capacity_mode
        if mode == "none":
            return None
        if mode != "observed":
            return float(mode)
        if obs.ue_cqi is None or obs.ue_slice is None:
            return None
        s = self._slice_idx
        mask = (np.asarray(obs.ue_slice) == s) & (np.asarray(obs.ue_cqi) > 0)
        if not mask.any():
            return None
        rate = np.asarray(self.ctx.rate_per_prb_mbps)[np.asarray(obs.ue_cqi)[mask]]
        cells = np.asarray(obs.ue_cell)[mask]
        cap = sum(obs.n_prb * float(rate[cells == c].mean()) for c in np.unique(cells))
        return round(cap, 1)

    def _intents(self):
        """The tenants' declared intents, for the metric only (the game never reads them)."""
        out = []
        for t in self.tenants:
            try:
                d = getattr(self.ctx.peer(t), "intent_mbps", None)
            except KeyError:
                d = None
            if d is None:
                return None
            out.append(float(d))
        return out

    def _workers(self):
        if self.workers != "auto":
            return int(self.workers)
        try:
            if all(getattr(self.ctx.peer(t), "scripted", False) for t in self.tenants):
                return 1
        except KeyError:
            pass
        return None

    # -- the game ------------------------------------------------------------------------------
    def first_observation_us(self) -> int:
        return self.start_us

    def run(self):
        """The game as a SimPy process: rounds on the round primitive, proposals as decisions."""
        if self.start_us > 0:
            yield self.ctx.timeout(self.start_us)
        g = self.game = GameRecord(list(self.tenants), self.pressure, self.epsilon, self.k_max,
                                   t_start_s=self.ctx.now_s)
        intents = self._intents()
        if intents:
            g.optimum_mbps = optimum(intents, **self.optimizer.params())
        if not self.tenants:
            self._fail(g, "no tenants (params.tenants is empty)")
            return
        participants = list(self.tenants)
        self._intent_prompts(g, self.ctx.observe())
        strikes: dict = {}
        warnings: dict = {}
        rejected: dict = {}
        last_bids: dict = {}
        workers = self._workers()
        for k in range(1, self.k_max + 1):
            obs = self.ctx.observe()
            cap = self._capacity(obs)
            if g.capacity_mbps is None:
                g.capacity_mbps = cap
            shown = self._shown_interval()
            proposal, ptext, bids = self._proposal, self._proposal_text, dict(last_bids)

            def payload(t, k=k, cap=cap, shown=shown, proposal=proposal, ptext=ptext, bids=bids):
                return {"round": k, "k_max": self.k_max, "proposal_mbps": proposal,
                        "proposal_reasoning": ptext,
                        "interval": list(shown) if shown is not None else None,
                        "bounds_mbps": list(self.rules.bounds(t)) if self.rules else None,
                        "capacity_mbps": cap, "bids": bids,
                        "your_last_bid_mbps": self._bids.get(t),
                        "warning": warnings.pop(t, ""), "rejected": rejected.pop(t, "")}
            res = yield from self.ctx.round(participants, payload, deadline_ms=self.deadline_ms,
                                            max_workers=workers)
            rec = RoundRecord(k, res.t_start_us / US_PER_S, res.t_end_us / US_PER_S, proposal)
            for t in res.unknown:
                rec.excluded[t] = "no such agent"
            for t in res.silent:
                rec.excluded[t] = f"no answer in round {k}"
            for t, when in res.late.items():
                rec.excluded[t] = (f"reply due at {when / US_PER_S:.1f} s, after the round-{k} "
                                   f"deadline {res.deadline_us / US_PER_S:.1f} s")
            for t, rep in res.replies.items():
                chk = check_reply(t, rep.payload, shown, self.rules.bounds(t) if self.rules
                                  else None, self.arbiter, cap)
                rec.checks.append(chk)
                rec.latency_s = max(rec.latency_s, rep.latency_us / US_PER_S)
                if chk.warning:
                    warnings[t] = chk.warning
                if chk.ok:
                    self._bids[t] = chk.bid_mbps
                    strikes[t] = 0
                else:
                    strikes[t] = strikes.get(t, 0) + 1
                    rejected[t] = chk.reason
                    if strikes[t] >= MAX_STRIKES:
                        rec.excluded[t] = f"{strikes[t]} rejected replies in a row ({chk.reason})"
                    elif t in self._bids:
                        rec.stale.append(t)
            for t in rec.excluded:
                g.excluded[t] = rec.excluded[t]
                self._bids.pop(t, None)
            participants = [t for t in participants if t not in g.excluded]
            rec.bids = {t: self._bids[t] for t in participants if t in self._bids}
            last_bids = dict(rec.bids)
            g.offences = sum(self.arbiter.offences.values())
            names = list(rec.bids)
            if names:
                g.final_mbps = weighted_mean(rec.bids.values(), self._weights(names))
            if g.interval is None and names:          # no usable intent prompt: x⁽⁰⁾ = bids
                self._interval(g, {t: self._bids[t] for t in names})
            done, rec.spread_mbps = stop_rule(self._bids, participants, self.epsilon)
            g.rounds.append(rec)
            if not participants:
                self._fail(g, "no tenant left: " + "; ".join(f"{t} excluded ({w})"
                                                             for t, w in g.excluded.items()))
                return
            if done:
                lo, hi = self._bounds()
                self._consensus = min(max(g.final_mbps, lo), hi)
                self._phase = "final"
            elif k == self.k_max:
                spread = ", ".join(f"{t} {b:.1f}" for t, b in list(rec.bids.items())[:6])
                why = (f"no consensus after {k} rounds: bids spread {rec.spread_mbps:.2f} Mbit/s "
                       f">= epsilon {self.epsilon:g} ({spread})" if names and len(names) ==
                       len(participants) else f"no consensus after {k} rounds: "
                       f"{len(participants) - len(names)} participant(s) without a valid bid")
                self._fail(g, why)
                return
            else:
                self._phase = "propose"
            t0 = self.ctx.now_us
            lat = self.step(t0)
            if lat > 0:
                yield self.ctx.timeout(lat)
            if self._pending is not None:          # the proposal is out at t0 + L
                self._proposal, self._proposal_text = self._pending
                self._pending = None
            if self._phase == "final":
                g.consensus_mbps = self._consensus
                g.t_consensus_s = (t0 + lat) / US_PER_S
                g.game_end_s = g.t_consensus_s
                return

    def _intent_prompts(self, g: GameRecord, obs) -> None:
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

    def _interval(self, g: GameRecord, x0: dict) -> None:
        names = list(x0)
        res = self.optimizer.solve([x0[t] for t in names], self._weights(names), rng=self.rng)
        g.interval = res.interval
        g.optimizer_mbps = res.consensus_mbps
        g.prompt_interval = prompt_interval("soft", res.interval)

    def _fail(self, g: GameRecord, reason: str) -> None:
        g.failed, g.failure_reason = True, reason
        g.game_end_s = self.ctx.now_s
        self._commit(self.ctx.now_us, 0, Decision(note=f"negotiation failed: {reason}",
                                                  backend="", parsed={"failed": reason}), 0.0)

    # -- the mediator's own decisions ------------------------------------------------------------
    def messages(self) -> list[dict]:
        g = self.game
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

    def decide(self, obs):
        if self._phase == "final":
            c = self._consensus
            return Decision(actions=[SetIntent(slice=self.slice, target_mbps=float(c),
                                               tolerance_mbps=self.tolerance)],
                            backend="", parsed={"consensus_mbps": c},
                            note=f"consensus {c:.2f} Mbit/s after {self.game.n_rounds} round(s): "
                                 f"SetIntent({self.slice}, {c:.2f} ± {self.tolerance:g})")
        return self._propose()

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
            hard = min(max(self.game.optimizer_mbps, lo), hi)
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
            self.game.proposals.append((t_us / US_PER_S, float(_p)))
        dec.on_ready = announce
        dec.note = "; ".join([f"proposal {p:.2f} Mbit/s (round {self.game.n_rounds})"] + notes)
        return dec

    # -- run-level outputs -----------------------------------------------------------------------
    def _prefix(self) -> str:
        try:
            n = sum(1 for a in self.ctx.peers().values() if a == self.kind)
        except Exception:                                    # noqa: BLE001 - metrics only
            n = 1
        return "negotiation." if n <= 1 else f"negotiation.{self.name}."

    def summary_metrics(self) -> dict:
        """``negotiation.*``: consensus, optimum, error, rounds, time to consensus, failed, …"""
        pre = self._prefix()
        if self.game is None:
            return {pre + "started": 0.0}
        out = self.game.summary_metrics(pre)
        out[pre + "started"] = 1.0
        out[pre + "finished"] = float(self.game.game_end_s is not None)
        return out

    def run_report(self) -> list[str]:
        """The game in words: rounds, bids, the interval, the consensus, the simulated time."""
        if self.game is None:
            return [f"negotiation ({self.name}): not started (the run ended before start_s = "
                    f"{self.start_us / US_PER_S:g} s)"]
        lines = self.game.report_lines()
        if self.game.game_end_s is None:
            lines.append("  (the run ended before the game did: lengthen simulation.duration_s)")
        return lines
