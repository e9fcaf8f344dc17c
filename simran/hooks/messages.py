"""Messages between agents and negotiation rounds, in simulated time (design §3).

Two primitives:

* :meth:`MessageBus.send` — one message, delivered ``delay`` of simulated time later into the
  recipient's inbox (it reads it with its next observation). Recipients are found by name in a
  dict; an unknown name is a :class:`MessageError`.
* :func:`run_round` — a **round**: send a request to many agents at once and gather their replies
  until all have arrived or a simulated-time deadline passes. Every recipient computes its reply
  at the instant the request reaches it (its :meth:`~simran.hooks.Agent.respond`), and the reply
  arrives after the latency its own latency model charges (plus the transport delay). So a round
  lasts as long as its slowest participant — or until the deadline — while the network keeps
  running. The :class:`RoundResult` says who answered, when, who timed out and who does not exist.

Parallel thinking, sequential accounting
    The replies of one round are logically simultaneous: they may be computed in parallel threads
    (:func:`parallel_decide`, e.g. 20 LLM tenants). Everything that touches shared state — the
    observations before, the latency draws, the decision log and the arrival times after — runs
    in the fixed order of the recipients' names as given, and each recipient uses only its own
    state and RNG stream, so the simulated result does not depend on thread timing (tested).

A recipient already busy thinking (a reply or a decision of its own in progress) starts on the
request when it is free: its reply arrives at max(t_request, busy_until) + L.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from simran.errors import SimranError


class MessageError(SimranError):
    """A message or round names an agent that does not exist (or another misuse)."""


@dataclass
class Message:
    """A message between agents, delivered in simulated time.

    Attributes
    ----------
    src, dst : str
        Agent names.
    payload : dict
        Anything JSON-like; agents agree on its keys.
    t_sent_us, t_deliver_us : int
        Simulated send and delivery time [µs].
    round_id : int or None
        The round this message is a request of (None for a plain message).
    """

    src: str
    dst: str
    payload: dict
    t_sent_us: int = 0
    t_deliver_us: int = 0
    round_id: int | None = None


@dataclass
class Reply:
    """One recipient's answer in a round.

    Attributes
    ----------
    src : str
        Who answered.
    payload : Any
        The reply (``Decision.reply``).
    t_request_us, t_arrive_us : int
        When the request reached the recipient and when its reply arrived [µs].
    latency_us : int
        Thinking time charged by the recipient's latency model [µs] (plus the time it was busy).
    decision_id : int
        Its row in the decision log.
    """

    src: str
    payload: Any
    t_request_us: int
    t_arrive_us: int
    latency_us: int
    decision_id: int = -1


@dataclass
class RoundResult:
    """What a round gathered.

    Attributes
    ----------
    round_id : int
    initiator : str
    t_start_us, deadline_us, t_end_us : int
        Start, deadline and end of the round [µs]; ``t_end_us`` is the last reply's arrival when
        everyone answered in time, else the deadline.
    replies : dict[str, Reply]
        Replies that arrived by the deadline, in arrival order (ties: the order asked).
    late : dict[str, int]
        Recipients whose reply would have arrived after the deadline → their arrival time [µs].
    silent : list[str]
        Recipients that gave no reply at all.
    unknown : list[str]
        Names that are not agents of this scenario (nothing was sent to them).
    """

    round_id: int
    initiator: str
    t_start_us: int
    deadline_us: int
    t_end_us: int = 0
    replies: dict[str, Reply] = field(default_factory=dict)
    late: dict[str, int] = field(default_factory=dict)
    silent: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    @property
    def answered(self) -> list[str]:
        """Names that answered in time, in arrival order."""
        return list(self.replies)

    @property
    def timed_out(self) -> list[str]:
        """Names asked that did not answer by the deadline (late or silent)."""
        return list(self.late) + self.silent

    @property
    def complete(self) -> bool:
        """Everyone asked answered in time (and every name existed)."""
        return not (self.late or self.silent or self.unknown)

    @property
    def duration_us(self) -> int:
        return self.t_end_us - self.t_start_us


def parallel_decide(calls: list[Callable[[], Any]], max_workers: int | None = None) -> list:
    """Run independent calls concurrently in threads; results in input order.

    For logically simultaneous decisions (many tenants answering one round). Each call must use
    only its own agent's state and RNG stream; then the result does not depend on thread timing.
    An exception in a call is re-raised here (the first one in input order).
    """
    if len(calls) <= 1 or (max_workers or 0) == 1:
        return [c() for c in calls]
    with ThreadPoolExecutor(max_workers=max_workers or min(8, len(calls))) as ex:
        futures = [ex.submit(c) for c in calls]
        return [f.result() for f in futures]


class MessageBus:
    """Delivery of messages by agent name (a dict), in simulated time."""

    def __init__(self, env):
        self.env = env
        self._agents: dict[str, Any] = {}
        self._round_ids = itertools.count()

    def register(self, agent) -> None:
        """Make ``agent`` (anything with ``name`` and ``inbox``) reachable by its name."""
        if agent.name in self._agents:
            raise MessageError(f"two agents are named {agent.name!r}")
        self._agents[agent.name] = agent

    def __contains__(self, name: str) -> bool:
        return name in self._agents

    def get(self, name: str):
        """The agent named ``name`` or None."""
        return self._agents.get(name)

    def names(self) -> list[str]:
        return list(self._agents)

    def send(self, src: str, dst: str, payload: dict, delay_us: int = 0) -> Message:
        """Deliver ``payload`` from ``src`` to ``dst``'s inbox ``delay_us`` later; return it."""
        agent = self._agents.get(dst)
        if agent is None:
            raise MessageError(f"agent {src}: no agent named {dst!r} "
                               f"(agents: {', '.join(self._agents) or 'none'})")
        msg = Message(src, dst, payload)
        msg.t_sent_us = int(self.env.now)
        msg.t_deliver_us = msg.t_sent_us + int(delay_us)
        env, inbox = self.env, agent.inbox

        def deliver():
            if delay_us:
                yield env.timeout(delay_us)
            yield inbox.put(msg)
        env.process(deliver())
        return msg

    def next_round_id(self) -> int:
        return next(self._round_ids)


def run_round(bus: MessageBus, initiator: str, dsts: list[str], payload,
              deadline_us: int, delay_us: int = 0, max_workers: int | None = None):
    """A round as a SimPy generator: ``result = yield from run_round(...)``.

    Parameters
    ----------
    bus : MessageBus
    initiator : str
        Name of the agent that runs the round.
    dsts : list of str
        Recipients, in the order their replies are accounted (ties in arrival keep this order).
    payload : dict or callable(dst) -> dict
        The request, the same for all or one per recipient.
    deadline_us : int
        Simulated time from the round's start after which replies are no longer awaited [µs].
    delay_us : int
        Transport delay of the request and of each reply [µs].
    max_workers : int, optional
        Threads for computing the replies (1 = sequentially; default min(8, n)).

    Returns
    -------
    RoundResult
        (the generator's return value).
    """
    env = bus.env
    t0 = int(env.now)
    res = RoundResult(bus.next_round_id(), initiator, t0, t0 + int(deadline_us))
    seen: set[str] = set()
    asked = []
    for d in dsts:
        if d in seen:
            continue
        seen.add(d)
        (asked if d in bus else res.unknown).append(d)
    if delay_us:
        yield env.timeout(delay_us)
    t_req = int(env.now)
    msgs = [Message(initiator, d, payload(d) if callable(payload) else payload, t0, t_req,
                    res.round_id) for d in asked]
    agents = [bus.get(d) for d in asked]
    # observations in order (shared state), thinking possibly in parallel (own state only)
    jobs = [a.prepare_reply(m) for a, m in zip(agents, msgs)]
    outs = parallel_decide(jobs, max_workers)
    arrivals = []
    for a, m, (dec, wall_s) in zip(agents, msgs, outs):
        arrive, lat, row_id = a.commit_reply(m, dec, wall_s, t_req, delay_us, res.deadline_us)
        if arrive is None:
            res.silent.append(a.name)
        elif arrive > res.deadline_us:
            res.late[a.name] = arrive
        else:
            arrivals.append((arrive, len(arrivals),
                             Reply(a.name, dec.reply, t_req, arrive, lat, row_id)))
    for _t, _i, rep in sorted(arrivals, key=lambda x: (x[0], x[1])):
        res.replies[rep.src] = rep
    if res.late or res.silent:
        res.t_end_us = res.deadline_us
    else:
        res.t_end_us = max([t_req] + [r.t_arrive_us for r in res.replies.values()])
    if res.t_end_us > env.now:
        yield env.timeout(res.t_end_us - int(env.now))
    return res
