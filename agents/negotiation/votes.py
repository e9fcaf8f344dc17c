"""Requests to the mediator and the tenants' vote on switching the cell off (papers/004 §6).

Two things reach a running mediator besides round replies, as plain messages (``ctx.send``):

``{"request": "renegotiate", "reason": <text>}``
    From the SMO's observability (an SLA violation, conditions recovered) — or anyone. A request
    that arrives while a game runs is **merged** into that game (its rounds already observe the
    capacity of now; the record lists the merged requests); one that arrives during a vote is
    queued. Games never overlap.
``{"request": "vote_off", "reason": <text>}``
    From a tenant that wants the cell off. A tenant's wish is a **bid, not a decision**: the
    mediator holds a vote round among *all* the game's tenants and switches the cell off through
    the control surface only when **every** tenant votes ``"off"``. A tenant can also bid for it
    inside a negotiation (``"switch_off": true`` in its reply); the vote then follows the game.
    At most one vote is queued at a time.

A vote round's reply is ``{"vote": "off" | "on", "reasoning": <text>}``; anything else (no reply,
a late one, another value) counts as ``"on"`` — keeping the service is the default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

REQUEST_KINDS = ("renegotiate", "vote_off")
VOTES = ("off", "on")


@dataclass
class Request:
    """A queued request: ``kind`` (``start`` | ``renegotiate`` | ``vote_off``), who, why, when."""

    kind: str
    src: str
    reason: str
    t_s: float


def parse_request(msg) -> Request | None:
    """The :class:`Request` in a message, or None when the message is not one."""
    p = msg.payload
    if not isinstance(p, dict) or p.get("request") not in REQUEST_KINDS:
        return None
    return Request(str(p["request"]), str(msg.src), str(p.get("reason", ""))[:200],
                   msg.t_deliver_us / 1e6)


def parse_vote(payload) -> str:
    """``"off"`` or ``"on"`` from a vote reply (anything unusable is ``"on"``)."""
    if isinstance(payload, dict) and payload.get("vote") in VOTES:
        return str(payload["vote"])
    return "on"


@dataclass
class VoteRecord:
    """One vote on switching the cell off.

    Attributes
    ----------
    t_start_s, t_end_s : float
        Simulated start and end of the vote round [s].
    asked_by : list of str
        The tenants whose bid or request called the vote.
    votes : dict
        tenant → ``"off"`` / ``"on"`` (``"on"`` also for no or an unusable reply).
    reasons : dict
        tenant → the reasoning sent (or why the vote counts as ``"on"``).
    passed : bool
        Every tenant voted ``"off"``.
    """

    t_start_s: float
    asked_by: list
    t_end_s: float = math.nan
    votes: dict = field(default_factory=dict)
    reasons: dict = field(default_factory=dict)
    passed: bool = False

    def report_line(self) -> str:
        tally = ", ".join(f"{t} {v}" for t, v in self.votes.items())
        verdict = "PASSED: cell off" if self.passed else "failed: the cell stays on (a bid, not " \
                                                         "a decision)"
        return (f"vote on cell off [{self.t_start_s:.1f} → {self.t_end_s:.1f} s], asked by "
                f"{', '.join(self.asked_by) or '?'}: {tally}; {verdict}")

    def as_dict(self) -> dict:
        return {"t_start_s": self.t_start_s, "t_end_s": self.t_end_s,
                "asked_by": list(self.asked_by), "votes": dict(self.votes),
                "reasons": dict(self.reasons), "passed": self.passed}


def tally(tenants, votes: dict) -> bool:
    """Unanimity: True iff there is at least one tenant and every one voted ``"off"``."""
    return bool(tenants) and all(votes.get(t) == "off" for t in tenants)


class VoteMixin:
    """The mediator's vote round (needs ``tenants``, ``slice``, ``cell``, ``deadline_ms``,
    ``votes_held``, ``ctx``, ``step`` and ``_commit`` on ``self``)."""

    def _vote(self, req: Request):
        """A vote round among all the tenants; unanimity → the switch-off decision (generator)."""
        from simran.units import US_PER_S

        obs = self.ctx.observe(drain_inbox=False)
        rec = VoteRecord(self.ctx.now_s, [s.strip() for s in req.src.split(",")])
        if obs.cell_state[self.cell] != 0 or getattr(self, "_off_decided", False):
            return                            # already off, or a passed vote is being applied
        sla = float(obs.intent_mbps[self.ctx.slice_index(self.slice)])

        def payload(t):
            return {"vote": "cell_off", "cell": self.cell, "asked_by": rec.asked_by,
                    "reason": req.reason, "sla_mbps": sla if math.isfinite(sla) else None}
        res = yield from self.ctx.round(list(self.tenants), payload, deadline_ms=self.deadline_ms,
                                        max_workers=1)
        rec.t_end_s = res.t_end_us / US_PER_S
        for t in self.tenants:
            rep = res.replies.get(t)
            rec.votes[t] = parse_vote(rep.payload if rep is not None else None)
            rec.reasons[t] = (str(rep.payload.get("reasoning", ""))[:200]
                              if rep is not None and isinstance(rep.payload, dict)
                              else "no reply by the deadline: counted as 'on'")
        rec.passed = tally(self.tenants, rec.votes)
        self._off_decided = rec.passed
        self.votes_held.append(rec)
        self._off_action = rec
        lat = self.step(self.ctx.now_us)
        self._off_action = None
        if lat > 0:
            yield self.ctx.timeout(lat)

    def _off_decision(self):
        from simran.control import SetCellState, SetIntent, SetSliceQuota
        from simran.hooks import Decision

        rec = self._off_action
        parsed = {"vote": rec.votes, "passed": rec.passed}
        if not rec.passed:
            yes = [t for t, v in rec.votes.items() if v == "off"]
            return Decision(backend="", parsed=parsed,
                            note=f"vote on cell {self.cell} off failed ({len(yes)}/"
                                 f"{len(rec.votes)} off: {', '.join(yes) or 'none'}): a bid, "
                                 "not a decision; the cell stays on")
        return Decision(actions=[SetIntent(self.slice, 0.0, 0.0),
                                 SetSliceQuota(self.slice, 0.0, self.cell),
                                 SetCellState("off", self.cell)], backend="", parsed=parsed,
                        note=f"unanimous vote ({len(rec.votes)}/{len(rec.votes)} off): "
                             f"SetIntent({self.slice}, 0), SetSliceQuota({self.slice}, 0), "
                             f"SetCellState(off, cell {self.cell})")
