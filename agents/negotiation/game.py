"""The negotiation game's bookkeeping, shared by the mediator agent and the evaluation (pure).

A game (papers/004 §3.3, Fig. 5–7; papers/003 §III) is a sequence of rounds run by the mediator
on simran's round primitive (:mod:`simran.hooks.messages`):

1. **round k** — the mediator sends every participating tenant its request (the proposal, the
   interval under soft/hard pressure, the tenant's regulatory bounds, the observed capacity, the
   last bids, an arbitral warning if any); all tenants bid in parallel; the round lasts as long as
   its slowest tenant (or until the deadline);
2. the mediator **checks** every reply again (extraction → validation → arbitral → observability,
   :func:`check_reply`): a tenant is untrusted, whatever it claims to have validated;
3. after round 1 the side-car optimizer computes the interval from the opening bids (the
   "initial numeric claims" x⁽⁰⁾ of Fig. 7);
4. **stop** (:func:`stop_rule`): the spread (max − min) of the participants' valid bids is below
   ε → consensus = their weighted mean (arbitral weights); else after K_max rounds → failed, with
   the reason; else the mediator summarises and proposes (its own decision, with its own latency)
   and the next round starts.

Tenants that do not answer a round by its deadline (silent or late) are **excluded** from the
rest of the game (waiting for them again would cost a whole deadline per round); the game goes
on with the others and the record says who was excluded and why. A tenant whose reply the
mediator rejects keeps its previous valid bid for that round (marked stale); two rejected replies
in a row exclude it. A round can only end the game with a consensus when every participant has a
valid bid.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np

from agents.negotiation.arbitral import Arbiter, sanitise
from agents.negotiation.extraction import extract
from agents.negotiation.observability import capacity_flag
from agents.negotiation.validation import validate_bid

DEFAULT_EPSILON_MBPS = 1.0
DEFAULT_K_MAX = 5
MAX_STRIKES = 2
"""Consecutive rejected replies after which a tenant is excluded."""


@dataclass
class BidCheck:
    """The mediator's verdict on one tenant's reply in one round."""

    tenant: str
    ok: bool
    bid_mbps: float | None
    reasoning: str
    reason: str = ""
    warning: str = ""
    arbitral: str = "clean"
    arbitral_matches: tuple = ()
    capacity_note: str = ""

    def as_dict(self) -> dict:
        return {"tenant": self.tenant, "ok": self.ok, "bid_mbps": self.bid_mbps,
                "reasoning": self.reasoning, "reason": self.reason, "warning": self.warning,
                "arbitral": self.arbitral, "capacity": self.capacity_note}


def check_reply(tenant: str, payload, interval, bounds, arbiter: Arbiter | None,
                capacity_mbps: float | None) -> BidCheck:
    """The mediator's units on one reply: extraction, validation, arbitral, observability.

    ``payload`` is whatever the tenant sent (a dict in our template, text, or garbage).
    The reasoning returned is sanitised (injection phrases removed) so it can be relayed.
    """
    found = extract(payload if isinstance(payload, (str, dict)) else repr(payload))
    v = validate_bid(found, interval=interval, bounds_mbps=bounds)
    text = found.reasoning if isinstance(found.reasoning, str) else ""
    category, matches, warning = "clean", (), ""
    if arbiter is not None and text:
        verdict = arbiter.review(tenant, text)
        category, matches, warning = verdict.category, verdict.matches, verdict.warning
    chk = BidCheck(tenant, v.ok, v.bid_mbps, sanitise(text)[:400], v.reason, warning, category,
                   tuple(matches))
    if v.ok and capacity_mbps is not None:
        chk.capacity_note = capacity_flag(v.bid_mbps, capacity_mbps, tenant).text
    if v.ok and v.warning:
        chk.reason = v.warning
    return chk


def spread(bids) -> float:
    """max − min of the bids (0 for one bid, inf for none)."""
    b = [float(x) for x in bids]
    return max(b) - min(b) if b else math.inf


def weighted_mean(bids, weights) -> float:
    b = np.asarray(list(bids), float)
    w = np.asarray(list(weights), float)
    if b.size == 0:
        return math.nan
    if w.sum() <= 0:
        return float(b.mean())
    return float((b * w).sum() / w.sum())


def scripted_mediator_proposal(bids, weights, interval, bounds) -> float:
    """The mediator's deterministic rule (a rule, not an LLM): the weighted mean of the current
    valid bids, moved into the interval shown in the prompts (when there is one) and into the
    values every tenant may bid (``bounds``)."""
    p = weighted_mean(bids, weights)
    if interval is not None:
        p = min(max(p, interval[0]), interval[1])
    if bounds is not None:
        p = min(max(p, bounds[0]), bounds[1])
    return float(p)


@dataclass
class RoundRecord:
    """What one round gathered and what the mediator made of it."""

    k: int
    t_start_s: float
    t_end_s: float
    proposal_mbps: float | None
    bids: dict = field(default_factory=dict)          # tenant -> valid bid (this round or stale)
    stale: list = field(default_factory=list)         # tenants whose bid is carried over
    checks: list = field(default_factory=list)        # BidCheck per reply
    excluded: dict = field(default_factory=dict)      # tenant -> reason (this round)
    spread_mbps: float = math.inf
    latency_s: float = 0.0                            # slowest tenant's thinking time

    def as_dict(self) -> dict:
        return {"k": self.k, "t_start_s": self.t_start_s, "t_end_s": self.t_end_s,
                "proposal_mbps": self.proposal_mbps, "bids": dict(self.bids),
                "stale": list(self.stale), "excluded": dict(self.excluded),
                "spread_mbps": None if math.isinf(self.spread_mbps) else self.spread_mbps,
                "latency_s": self.latency_s, "checks": [c.as_dict() for c in self.checks]}


@dataclass
class GameRecord:
    """The whole game: for the run summary, the report and the evaluation."""

    tenants: list
    pressure: str
    epsilon_mbps: float
    k_max: int
    t_start_s: float = 0.0
    rounds: list = field(default_factory=list)
    interval: tuple | None = None                     # Eq. 8's, unrounded
    prompt_interval: tuple | None = None              # as shown (rounded outwards)
    optimizer_mbps: float | None = None               # optimizer's consensus of the opening bids
    optimum_mbps: float | None = None                 # the theoretical optimum of the intents
    consensus_mbps: float | None = None
    final_mbps: float | None = None                   # weighted mean of the last valid bids
    t_consensus_s: float | None = None
    failed: bool = False
    failure_reason: str = ""
    excluded: dict = field(default_factory=dict)
    offences: int = 0
    capacity_mbps: float | None = None
    proposals: list = field(default_factory=list)
    intents_x0: dict = field(default_factory=dict)    # extracted from the intent prompts
    intent_notes: list = field(default_factory=list)
    reason: str = "start"                             # why the game was held
    t_request_s: float | None = None                  # when it was asked for
    merged: list = field(default_factory=list)        # requests merged into this game
    off_bids: list = field(default_factory=list)      # tenants that bid for switching off

    @property
    def n_rounds(self) -> int:
        return len(self.rounds)

    @property
    def time_to_consensus_s(self) -> float | None:
        return None if self.t_consensus_s is None else self.t_consensus_s - self.t_start_s

    def summary_metrics(self, prefix: str = "negotiation.") -> dict:
        """Numeric metrics only (NaN where undefined)."""
        nan = math.nan

        def f(x):
            return nan if x is None else float(x)
        err = (abs(self.final_mbps - self.optimum_mbps)
               if self.final_mbps is not None and self.optimum_mbps is not None else None)
        lat = [r.latency_s for r in self.rounds]
        out = {"consensus_mbps": f(self.consensus_mbps), "final_mbps": f(self.final_mbps),
               "optimum_mbps": f(self.optimum_mbps), "abs_error_mbps": f(err),
               "rounds": float(self.n_rounds), "time_to_consensus_s": f(self.time_to_consensus_s),
               "failed": float(self.failed), "tenants": float(len(self.tenants)),
               "excluded": float(len(self.excluded)), "offences": float(self.offences),
               "interval_low_mbps": f(self.interval[0] if self.interval else None),
               "interval_high_mbps": f(self.interval[1] if self.interval else None),
               "round_latency_s": float(np.mean(lat)) if lat else nan,
               "game_time_s": f(self.game_time_s)}
        return {prefix + k: v for k, v in out.items()}

    game_end_s: float | None = None

    @property
    def game_time_s(self) -> float | None:
        return None if self.game_end_s is None else self.game_end_s - self.t_start_s

    def report_lines(self) -> list[str]:
        """Human-readable lines of the game (for ``simran run``)."""
        n = len(self.tenants)
        why = "" if self.reason == "start" else f" (renegotiation: {self.reason})"
        lines = [f"negotiation: {n} tenant(s), pressure {self.pressure}, ε = "
                 f"{self.epsilon_mbps:g} Mbit/s, at most {self.k_max} rounds, from t = "
                 f"{self.t_start_s:.1f} s{why}"]
        if self.intents_x0:
            lines.append("  intent prompts: " + ", ".join(
                f"{t} {v:g}" for t, v in list(self.intents_x0.items())[:8])
                + (f", … ({len(self.intents_x0)})" if len(self.intents_x0) > 8 else "")
                + " Mbit/s (x⁽⁰⁾ of the optimizer)")
        for note in self.intent_notes:
            lines.append(f"  {note}")
        if self.interval is not None:
            lines.append(f"  optimizer: consensus {self.optimizer_mbps:.2f} Mbit/s, 95 % interval "
                         f"[{self.interval[0]:.2f}, {self.interval[1]:.2f}] (shown as "
                         f"[{self.prompt_interval[0]:g}, {self.prompt_interval[1]:g}])"
                         if self.prompt_interval else
                         f"  optimizer: consensus {self.optimizer_mbps:.2f} Mbit/s, 95 % interval "
                         f"[{self.interval[0]:.2f}, {self.interval[1]:.2f}] (not shown: "
                         "pressure none)")
        for r in self.rounds:
            prop = "opening bids" if r.proposal_mbps is None else \
                f"proposal {r.proposal_mbps:.2f}"
            shown = list(r.bids.items())
            bids = ", ".join(f"{t} {b:.1f}{'*' if t in r.stale else ''}" for t, b in shown[:8])
            if len(shown) > 8:
                bids += f", … ({len(shown)} bids)"
            sp = "—" if math.isinf(r.spread_mbps) else f"{r.spread_mbps:.2f}"
            lines.append(f"  round {r.k} [{r.t_start_s:.1f} → {r.t_end_s:.1f} s]: {prop}; "
                         f"bids {bids}; spread {sp}")
            for c in r.checks:
                if not c.ok:
                    lines.append(f"    {c.tenant}: reply rejected ({c.reason})")
                elif c.reason:
                    lines.append(f"    {c.tenant}: {c.reason}")
                if c.arbitral != "clean":
                    lines.append(f"    {c.tenant}: arbitral flag {c.arbitral} "
                                 f"({', '.join(c.arbitral_matches)})")
                if c.capacity_note:
                    lines.append(f"    {c.capacity_note}")
            for t, why in r.excluded.items():
                lines.append(f"    {t} excluded: {why}")
        for m in self.merged:
            lines.append(f"  request merged into this game: {m}")
        if self.off_bids:
            lines.append(f"  switch-off bid by {', '.join(self.off_bids)} (a bid: a vote follows)")
        opt = "" if self.optimum_mbps is None else f"; optimum {self.optimum_mbps:.2f} Mbit/s"
        if self.failed:
            fin = "" if self.final_mbps is None else f"; last bids' mean {self.final_mbps:.2f}"
            lines.append(f"  FAILED after {self.n_rounds} round(s): {self.failure_reason}{fin}"
                         f"{opt}")
        elif self.consensus_mbps is not None:
            lines.append(f"  consensus {self.consensus_mbps:.2f} Mbit/s after {self.n_rounds} "
                         f"round(s), {self.time_to_consensus_s:.1f} s of simulated time{opt}"
                         " (SetIntent on the slice)")
        return lines

    def transcript(self) -> str:
        """The dialogue as text (for an LLM judge)."""
        out = []
        for r in self.rounds:
            if r.proposal_mbps is not None:
                out.append(f"[Mediator] proposes {r.proposal_mbps:.1f} Mbit/s")
            for c in r.checks:
                val = "invalid" if c.bid_mbps is None else f"{c.bid_mbps:.1f}"
                out.append(f"[{c.tenant}] Reasoning: {c.reasoning} {{\"throughput\": {val}}}")
        if self.failed:
            out.append(f"[Mediator] no agreement: {self.failure_reason}")
        elif self.consensus_mbps is not None:
            out.append(f"[Mediator] consensus {self.consensus_mbps:.1f} Mbit/s")
        return "\n".join(out)

    def to_json(self) -> str:
        return json.dumps({
            "tenants": self.tenants, "pressure": self.pressure, "epsilon_mbps": self.epsilon_mbps,
            "k_max": self.k_max, "reason": self.reason, "merged": self.merged,
            "off_bids": self.off_bids, "t_start_s": self.t_start_s, "interval": self.interval,
            "optimizer_mbps": self.optimizer_mbps,
            "optimum_mbps": self.optimum_mbps, "consensus_mbps": self.consensus_mbps,
            "final_mbps": self.final_mbps, "failed": self.failed,
            "failure_reason": self.failure_reason, "excluded": self.excluded,
            "rounds": [r.as_dict() for r in self.rounds]}, default=float)


def stop_rule(bids: dict, participants: list, epsilon_mbps: float) -> tuple[bool, float]:
    """(consensus reached, spread): every participant has a valid bid and the spread < ε."""
    have = [bids[t] for t in participants if t in bids]
    sp = spread(have)
    return bool(participants) and len(have) == len(participants) and sp < epsilon_mbps, sp
