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

``renegotiate`` (true), ``votes`` (true), ``cell`` (0)
    Serve requests after the opening game (:mod:`agents.negotiation.votes`): a
    ``renegotiate`` request starts a new game (merged into a running one, never overlapped); a
    tenant's ``vote_off`` request or ``switch_off`` bid starts a vote, and a unanimous vote
    switches ``cell`` off through the control surface (``SetIntent(slice, 0)``,
    ``SetSliceQuota(slice, 0)``, ``SetCellState("off")``).

Regulatory cap: whatever the rules file says, no consensus exceeds the cell's peak rate (all its
PRBs at the highest CQI of the link table, ``n_prb × rate_per_prb_mbps[15]``): an SLA the cell
can never carry is capped, and the report says so.

The game (rounds, checks, stop rule) is described in :mod:`agents.negotiation.game`. Games after
the first take x⁽⁰⁾ from their opening bids (the tenants' intents of *now*), not from the intent
prompts sent at t = 0. Every
proposal is a decision of the mediator's own (its latency charged, logged); the consensus is a
decision whose action is the ``SetIntent``. Run-level metrics (``negotiation.*``) and the game's
report lines are given by :meth:`Mediator.summary_metrics` and :meth:`Mediator.run_report`.
"""

from __future__ import annotations

import numpy as np

from agents.negotiation.arbitral import Arbiter
from agents.negotiation.game import (
    MAX_STRIKES,
    GameRecord,
    RoundRecord,
    check_reply,
    scripted_mediator_proposal,
    stop_rule,
    weighted_mean,
)
from agents.negotiation.mediator_params import configure
from agents.negotiation.optimizer import optimum
from agents.negotiation.proposal import MEDIATOR_PROMPT, MEDIATOR_SCHEMA, ProposalMixin
from agents.negotiation.regulatory import SLA_RANGE_MBPS, Rules
from agents.negotiation.votes import Request, VoteMixin, parse_request
from simran.control import SetIntent
from simran.hooks import Agent, Decision, register_agent
from simran.units import US_PER_S

__all__ = ["Mediator", "MEDIATOR_PROMPT", "MEDIATOR_SCHEMA"]


@register_agent("mediator")
class Mediator(ProposalMixin, VoteMixin, Agent):
    """The game's mediator (see the module docstring)."""

    def __init__(self, ctx):
        super().__init__(ctx)
        self.rules: Rules | None = None
        configure(self, ctx)
        self.peak_mbps = float(ctx.n_prb * float(np.max(ctx.rate_per_prb_mbps)))
        self.arbiter = Arbiter()
        self.games: list[GameRecord] = []
        self.current: GameRecord | None = None
        self.votes_held: list = []
        self._queue: list[Request] = []
        self._phase = "propose"
        self._bids: dict = {}
        self._proposal: float | None = None
        self._proposal_text = ""
        self._pending = None
        self._consensus: float | None = None
        self._off_action = None
        p = ctx.params
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

    @property
    def game(self) -> GameRecord | None:
        """The opening game (``games[0]``; None before it starts)."""
        return self.games[0] if self.games else None

    # -- wiring --------------------------------------------------------------------------------
    def backend_description(self) -> str:
        describe = getattr(self.backend, "describe", None)
        return describe() if describe else type(self.backend).__name__

    def _bounds(self) -> tuple[float, float]:
        lo, hi = SLA_RANGE_MBPS if self.rules is None else \
            self.rules.consensus_range(self.tenants)
        return lo, min(hi, max(self.peak_mbps, lo))

    def _shown_interval(self):
        g = self.current
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
        if obs.ue_cqi is None or obs.ue_slice is None or obs.cell_state[self.cell] != 0:
            return None                       # a cell that is off reports no CQI
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

    # -- requests and the queue -----------------------------------------------------------------
    def _observe(self):
        """Observe, taking requests out of the inbox into the queue (merged into a running game,
        queued otherwise); other messages stay in ``obs.inbox``."""
        obs = self.ctx.observe()
        keep = []
        for m in obs.inbox:
            req = parse_request(m)
            if req is None:
                keep.append(m)
            else:
                self._take(req)
        obs.inbox = keep
        return obs

    def observe(self):
        """The wrapper's observation (proposal steps) also routes requests (:meth:`_observe`)."""
        return self._observe()

    def _take(self, req: Request) -> None:
        g = self.current
        running = g is not None and g.game_end_s is None
        if req.kind == "renegotiate":
            if not self.renegotiate:
                return
            if running:
                g.merged.append(f"{req.src} at {req.t_s:.1f} s: {req.reason}")
            elif not any(q.kind == "renegotiate" for q in self._queue):
                self._queue.append(req)
        elif self.votes and not any(q.kind == "vote_off" for q in self._queue):
            self._queue.append(req)

    def first_observation_us(self) -> int:
        return self.start_us

    def run(self):
        """The mediator's process: the opening game at ``start_s``, then requests in order."""
        if self.start_us > 0:
            yield self.ctx.timeout(self.start_us)
        self._queue.append(Request("start", self.name, "start", self.ctx.now_s))
        while True:
            while self._queue:
                req = self._queue.pop(0)
                if req.kind == "vote_off":
                    yield from self._vote(req)
                else:
                    yield from self._negotiate(req)
                    g = self.current
                    if g.off_bids and self.votes and \
                            not any(q.kind == "vote_off" for q in self._queue):
                        self._queue.append(Request("vote_off", ", ".join(g.off_bids),
                                                   "switch-off bid in the negotiation",
                                                   self.ctx.now_s))
                self._observe()                  # requests that came meanwhile
            if not (self.renegotiate or self.votes) or not self.tenants:
                return
            msg = yield self.inbox.get()
            req = parse_request(msg)
            if req is not None:
                self._take(req)

    def _negotiate(self, req: Request):
        """One game (papers/004 Fig. 5–7) as a generator: rounds, proposals, the consensus."""
        g = self.current = GameRecord(list(self.tenants), self.pressure, self.epsilon, self.k_max,
                                      t_start_s=self.ctx.now_s)
        g.reason, g.t_request_s = req.reason or req.kind, req.t_s
        self._off_decided = False
        self.games.append(g)
        self._bids, self._proposal, self._proposal_text = {}, None, ""
        self._phase, self._consensus = "propose", None
        intents = self._intents()
        if intents:
            g.optimum_mbps = optimum(intents, **self.optimizer.params())
        if not self.tenants:
            self._fail(g, "no tenants (params.tenants is empty)")
            return
        participants = list(self.tenants)
        if len(self.games) == 1:             # later games: x⁽⁰⁾ = their opening bids
            self._intent_prompts(g, self._observe())
        strikes: dict = {}
        warnings: dict = {}
        rejected: dict = {}
        last_bids: dict = {}
        workers = self._workers()
        for k in range(1, self.k_max + 1):
            obs = self._observe()
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
                        "warning": warnings.pop(t, ""), "rejected": rejected.pop(t, ""),
                        "reason": g.reason}
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
                if isinstance(rep.payload, dict) and rep.payload.get("switch_off") is True \
                        and t not in g.off_bids:
                    g.off_bids.append(t)
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
                if g.final_mbps > hi and hi >= self.peak_mbps:
                    g.intent_notes.append(f"consensus {g.final_mbps:.2f} capped to the cell's "
                                          f"peak rate {hi:.2f} Mbit/s (regulatory unit)")
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

    def _fail(self, g: GameRecord, reason: str) -> None:
        g.failed, g.failure_reason = True, reason
        g.game_end_s = self.ctx.now_s
        self._commit(self.ctx.now_us, 0, Decision(note=f"negotiation failed: {reason}",
                                                  backend="", parsed={"failed": reason}), 0.0)

    def decide(self, obs):
        if self._off_action is not None:
            return self._off_decision()
        if self._phase == "final":
            c = self._consensus
            return Decision(actions=[SetIntent(slice=self.slice, target_mbps=float(c),
                                               tolerance_mbps=self.tolerance)],
                            backend="", parsed={"consensus_mbps": c},
                            note=f"consensus {c:.2f} Mbit/s after {self.current.n_rounds} "
                                 f"round(s): SetIntent({self.slice}, {c:.2f} ± "
                                 f"{self.tolerance:g})")
        return self._propose()

    # -- run-level outputs -----------------------------------------------------------------------
    def _prefix(self) -> str:
        try:
            n = sum(1 for a in self.ctx.peers().values() if a == self.kind)
        except Exception:                                    # noqa: BLE001 - metrics only
            n = 1
        return "negotiation." if n <= 1 else f"negotiation.{self.name}."

    def summary_metrics(self) -> dict:
        """``negotiation.*``: the opening game's consensus, optimum, error, rounds, time to
        consensus, failed, …; with ``games``, ``renegotiations``, ``votes``, ``votes_passed``."""
        pre = self._prefix()
        if self.game is None:
            return {pre + "started": 0.0}
        out = self.game.summary_metrics(pre)
        out[pre + "started"] = 1.0
        out[pre + "finished"] = float(self.game.game_end_s is not None)
        out[pre + "games"] = float(len(self.games))
        out[pre + "renegotiations"] = float(len(self.games) - 1)
        out[pre + "votes"] = float(len(self.votes_held))
        out[pre + "votes_passed"] = float(sum(v.passed for v in self.votes_held))
        return out

    def run_report(self) -> list[str]:
        """The games and votes in words: rounds, bids, the interval, the consensus, the time."""
        if self.game is None:
            return [f"negotiation ({self.name}): not started (the run ended before start_s = "
                    f"{self.start_us / US_PER_S:g} s)"]
        items = [(g.t_start_s, g.report_lines()) for g in self.games]
        items += [(v.t_start_s, [v.report_line()]) for v in self.votes_held]
        lines = [ln for _, block in sorted(items, key=lambda x: x[0]) for ln in block]
        if self.current.game_end_s is None:
            lines.append("  (the run ended before the game did: lengthen simulation.duration_s)")
        return lines
