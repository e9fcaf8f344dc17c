"""Agents as time-scaled SimPy processes (design §3): the hook framework.

Every agent runs through one wrapper process (:meth:`Agent.run`):

1. **observe** at t0 — a typed :class:`Observation` (KPIs, quotas, intents, messages);
2. **decide** — :meth:`Agent.decide`, called synchronously: the simulation does not advance;
3. **latency** L from the agent's latency model (:mod:`simran.hooks.latency`: ``measured``,
   ``fixed:<ms>``, ``profile:<model>``, ``tokens:<hardware>``);
4. the wrapper yields L of *simulated* time — the network keeps evolving meanwhile;
5. **budget**: L > budget makes the decision late: ``drop`` (default) discards it, ``apply``
   applies it and flags it;
6. **guard-rails**: actions go through :class:`simran.control.ControlSurface`, which validates and
   clamps them (a quota of 140 % never reaches the scheduler);
7. **apply** at the first scheduler tick boundary ≥ t0 + L, and **log** the decision.

Timing rule: the tick runs before agents at a boundary (it has urgent priority), so an agent that
observes at a boundary t0 sees the allocation made at t0; its action lands at the first boundary
≥ t0 + L that has not yet been scheduled — the next one when L = 0.

Agents also exchange :class:`Message` s, delivered in simulated time (``send(..., delay_ms)``), for
negotiations between many agents. Several agents deciding at the same instant may compute in
parallel threads (:func:`parallel_decide`); results are collected in a fixed order and each agent
draws only from its own RNG stream, so the outcome does not depend on thread timing.

Only ``measured`` latency depends on wall-clock time, so it is the one latency model whose runs are
not bit-reproducible; a ``replay`` backend returns the recorded wall time and reproduces them.

Agents are found by ``kind`` in a registry filled by the :func:`register_agent` decorator and the
``simran.agents`` entry-point group (``setup.cfg``); ``simran`` never imports ``agents``.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from simran.errors import ScenarioError, SimranError
from simran.hooks.latency import parse_latency_spec
from simran.units import US_PER_S, ms_to_us

LOOP_BUDGET_MS = {"rt": 10.0, "near_rt": 1000.0, "non_rt": 60_000.0}
"""Default decision budget per O-RAN loop class (design §3): dApp < 10 ms, xApp 10 ms–1 s,
rApp ≥ 1 s
(60 s here: papers/004 Table 7 reaches consensus in 10–48 s)."""

ENTRY_POINT_GROUP = "simran.agents"
_REGISTRY: dict[str, type] = {}


# ----------------------------------------------------------------------------- registry ------
def register_agent(kind: str):
    """Class decorator: make an :class:`Agent` subclass available as ``kind`` in scenario files."""
    def deco(cls):
        _REGISTRY[kind] = cls
        cls.kind = kind
        return cls
    return deco


def agent_class(kind: str) -> type:
    """The class registered as ``kind`` (decorator first, then the entry-point group)."""
    if kind in _REGISTRY:
        return _REGISTRY[kind]
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == kind:
            cls = ep.load()
            _REGISTRY[kind] = cls
            return cls
    if ":" in kind:                                # "package.module:Class" for a user's module
        mod, _, name = kind.partition(":")
        cls = getattr(importlib.import_module(mod), name)
        _REGISTRY[kind] = cls
        return cls
    known = sorted(set(_REGISTRY) | {ep.name for ep in
                                     importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)})
    raise SimranError(f"unknown agent kind {kind!r}; registered: {', '.join(known) or 'none'} "
                      "(or give 'package.module:Class')")


def build_agent(sim, cfg) -> Agent:
    """Instantiate the agent a scenario's ``[[agents]]`` entry describes."""
    try:
        cls = agent_class(cfg.kind)
    except SimranError as exc:
        raise ScenarioError(sim.scenario.name, [(f"agents.{cfg.name}.kind", str(exc))]) from None
    return cls(sim, cfg)


# ----------------------------------------------------------------------------- data ---------
@dataclass
class Message:
    """A message between agents, delivered in simulated time."""

    src: str
    dst: str
    payload: dict
    t_sent_us: int = 0
    t_deliver_us: int = 0


@dataclass(slots=True)
class Observation:
    """What an agent sees at t0 (units in the names).

    The arrays are read-only snapshots: they are never changed after t0 (the kernel makes new
    KPI arrays every tick and the control surface replaces the state arrays instead of writing
    into them), so an agent may keep an observation; writing into one raises ``ValueError`` —
    change the network through actions (``np.array(obs.quota_pct)`` gives a writable copy).

    ``tick_*`` are the values of the allocation made at the last tick boundary; ``kpi_*`` are
    averages over the last completed KPI recording period.
    """

    t_us: int
    tick_cell_slice_mbps: np.ndarray          # [C, S]
    tick_cell_slice_prb: np.ndarray           # [C, S]
    tick_prb_util: np.ndarray                 # [C]
    kpi_cell_slice_mbps: np.ndarray           # [C, S]
    quota_pct: np.ndarray                     # [C, S]
    tx_power_dbm: np.ndarray                  # [C]
    cell_state: np.ndarray                    # [C]
    intent_mbps: np.ndarray                   # [S] (NaN = none)
    intent_tol_mbps: np.ndarray               # [S]
    n_prb: int
    slice_names: list[str]
    inbox: list[Message] = field(default_factory=list)

    @property
    def t_s(self) -> float:
        return self.t_us / US_PER_S


@dataclass(slots=True)
class Decision:
    """What :meth:`Agent.decide` returns.

    Attributes
    ----------
    actions : list
        Control-surface actions (:mod:`simran.control`), validated and clamped at apply time.
    messages : list of (dst, payload)
        Sent when the decision is ready (t0 + L), so thinking time delays them too.
    on_ready : callable(t_us), optional
        An effect on the agent itself at t0 + L (e.g. a new gain for its own controller).
    backend, model, prompt_hash, prompt, raw_text, parsed, reply_error, fallback_reason
        What the LLM (or rule) answered, for the decision log (empty for numeric agents).
    validation : str
        ``"ok"`` or why the reply was rejected by the agent's own validation (then ``actions``
        are the deterministic fallback policy's).
    prompt_tokens, completion_tokens : int
    wall_s : float or None
        Wall time of the backend call (None: the wrapper measures decide itself).
    """

    actions: list = field(default_factory=list)
    messages: list = field(default_factory=list)
    on_ready: Callable | None = None
    backend: str = ""
    model: str = ""
    prompt_hash: str = ""
    prompt: str = ""
    raw_text: str = ""
    parsed: Any = None
    reply_error: str = ""
    fallback_reason: str = ""
    validation: str = "ok"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    wall_s: float | None = None
    note: str = ""


DECISION_COLUMNS = (
    "decision_id", "agent", "kind", "loop", "t_obs_s", "t_ready_s", "t_apply_s", "latency_ms",
    "budget_ms", "on_time", "status", "n_actions", "backend", "model", "prompt_hash", "prompt",
    "raw_text", "parsed", "actions", "guard_verdict", "guard_reason", "validation",
    "fallback_reason", "prompt_tokens", "completion_tokens", "wall_s", "note")


class DecisionRecord:
    """One row of the decision log: the fields of :data:`DECISION_COLUMNS`, read and written
    like a dict (``row["status"]``, ``row.get("prompt")``, ``row.keys()``).

    A slotted record, not a dict: an ``rt`` agent logs a decision every 5 ms tick (12,000 per
    simulated minute), and a record of 27 slots takes a fifth of a 27-key dict's memory and
    less time to build.
    """

    __slots__ = DECISION_COLUMNS

    def __init__(self, values: dict | None = None, **fields):
        for c in DECISION_COLUMNS:
            setattr(self, c, None)
        for k, v in {**(values or {}), **fields}.items():
            self[k] = v

    def __getitem__(self, key: str):
        if key not in _DECISION_FIELDS:
            raise KeyError(key)
        return getattr(self, key)

    def __setitem__(self, key: str, value) -> None:
        if key not in _DECISION_FIELDS:
            raise KeyError(f"{key!r} is not a decision-log field ({', '.join(DECISION_COLUMNS)})")
        setattr(self, key, value)

    def get(self, key: str, default=None):
        return getattr(self, key, default) if key in _DECISION_FIELDS else default

    def __contains__(self, key) -> bool:
        return key in _DECISION_FIELDS

    def __iter__(self):
        return iter(DECISION_COLUMNS)

    def __len__(self) -> int:
        return len(DECISION_COLUMNS)

    def keys(self):
        return list(DECISION_COLUMNS)

    def items(self):
        return [(c, getattr(self, c)) for c in DECISION_COLUMNS]

    def to_dict(self) -> dict:
        return dict(self.items())

    def __eq__(self, other) -> bool:
        if isinstance(other, DecisionRecord):
            other = other.to_dict()
        return isinstance(other, dict) and self.to_dict() == other

    __hash__ = None

    def __repr__(self) -> str:
        return f"DecisionRecord({self.to_dict()!r})"


_DECISION_FIELDS = frozenset(DECISION_COLUMNS)
_NO_DECISION = Decision()
"""What ``decide`` returning None stands for (shared: the wrapper only reads it)."""


class DecisionLog:
    """Every decision of every agent (the paper's audit log 𝓛); one row per decision."""

    def __init__(self):
        self.rows: list[DecisionRecord] = []

    def add(self, row: dict | DecisionRecord) -> DecisionRecord:
        """Append a row (a :class:`DecisionRecord`, or a dict of its fields); return it."""
        if not isinstance(row, DecisionRecord):
            row = DecisionRecord(row)
        row.decision_id = len(self.rows)
        self.rows.append(row)
        return row

    def columns(self) -> dict[str, np.ndarray]:
        """Column arrays for the results file (strings as object arrays)."""
        out = {}
        for c in DECISION_COLUMNS:
            vals = [r.get(c) for r in self.rows]
            if c in ("t_obs_s", "t_ready_s", "t_apply_s", "latency_ms", "budget_ms", "wall_s"):
                out[c] = np.array([np.nan if v is None else float(v) for v in vals], float)
            elif c in ("decision_id", "n_actions", "prompt_tokens", "completion_tokens"):
                out[c] = np.array([int(v or 0) for v in vals], np.int64)
            elif c == "on_time":
                out[c] = np.array([bool(v) for v in vals], bool)
            elif c == "actions":
                out[c] = np.array([json.dumps([_action_dict(a) for a in v or []])
                                   for v in vals], dtype=object)
            else:
                out[c] = np.array([v if isinstance(v, str) else json.dumps(v, default=str)
                                   if v is not None else "" for v in vals], dtype=object)
        return out

    def summary(self) -> dict:
        """Counts for the run summary, per agent: decisions, on time, late, dropped, replies
        rejected by validation (the deterministic policy decided instead), and decisions for which
        the backend could not answer at all (server down, … → the scripted policy answered)."""
        out: dict[str, float] = {}
        for r in self.rows:
            a = r["agent"]
            for key, cond in (("decisions", True), ("on_time", r["on_time"]),
                              ("late", not r["on_time"]),
                              ("dropped", r["status"] == "dropped_late"),
                              ("rejected_replies", r["validation"] != "ok"),
                              ("backend_fallbacks", bool(r["fallback_reason"]))):
                k = f"agent.{a}.{key}"
                out[k] = out.get(k, 0.0) + float(bool(cond))
        return out


def parallel_decide(calls: list[Callable[[], Any]], max_workers: int | None = None) -> list:
    """Run independent decide calls concurrently in threads; results in input order.

    For logically simultaneous decisions (many tenants bidding in one round). Each call must use
    only its own agent's state and RNG stream; then the result does not depend on thread timing.
    """
    if len(calls) <= 1 or (max_workers or 0) == 1:
        return [c() for c in calls]
    with ThreadPoolExecutor(max_workers=max_workers or min(8, len(calls))) as ex:
        futures = [ex.submit(c) for c in calls]
        return [f.result() for f in futures]


# ----------------------------------------------------------------------------- the agent -----
class Agent:
    """Base class of every agent. Subclass it and implement :meth:`decide`.

    Parameters
    ----------
    sim : simran.simulation.Simulation
    cfg : simran.scenario.AgentConfig
        ``name``, ``loop``, ``budget_ms``, ``period_ms``, ``latency``, ``late``, ``backend``,
        ``params``.

    Example
    -------
    ::

        from simran.control import SetSliceQuota
        from simran.hooks import Agent, Decision, register_agent

        @register_agent("half_quota")
        class HalfQuota(Agent):
            def decide(self, obs):
                return Decision(actions=[SetSliceQuota(slice=obs.slice_names[0], quota_pct=50)])
    """

    kind = "agent"

    def __init__(self, sim, cfg):
        self.sim, self.cfg, self.name = sim, cfg, cfg.name
        self.env: simpy.Environment = sim.env
        self.rng = sim.streams.stream(f"agent:{cfg.name}")
        self._lat_rng = sim.streams.stream(f"agent-latency:{cfg.name}")
        self.loop = cfg.loop
        self.budget_ms = cfg.budget_ms if cfg.budget_ms is not None else LOOP_BUDGET_MS[cfg.loop]
        self.budget_us = ms_to_us(self.budget_ms)
        self.period_us = max(ms_to_us(cfg.period_ms), 1)
        try:
            self.latency = parse_latency_spec(cfg.latency, loop=cfg.loop)
        except ValueError as exc:
            raise ScenarioError(sim.scenario.name, [(f"agents.{cfg.name}.latency", str(exc))]) \
                from None
        self.inbox: simpy.Store = simpy.Store(self.env)
        self.log: DecisionLog = sim.decision_log
        self._origin = f"agent:{cfg.name}"
        self.busy_until_us = 0

    # -- to override ----------------------------------------------------------------------
    def decide(self, obs: Observation) -> Decision | list | None:
        """Return a :class:`Decision` (or a list of actions, or None for 'no action')."""
        return None

    def backend_description(self) -> str:
        """Which backend really answers (shown by ``simran run``)."""
        return "numeric (no LLM)"

    def first_observation_us(self) -> int:
        """Simulated time of the first observation (default: one period in)."""
        return self.period_us

    # -- helpers for subclasses -----------------------------------------------------------
    def observe(self) -> Observation:
        """Build the observation of now (drains the inbox)."""
        sim, last = self.sim, self.sim.last
        C, S = sim.C, sim.S
        coll = sim.collector
        kpi = coll.latest_slice_mbps()
        if kpi is None:
            kpi = np.zeros((C, S))
        inbox = self.inbox.items[:]
        self.inbox.items.clear()
        started = last.cell_slice_mbps is not None      # False before the first tick
        net = sim.net
        # no copies: the tick's arrays are new every tick and the network state is replaced,
        # never changed in place (copy-on-write, simran.control); all of them are read-only
        return Observation(
            t_us=int(self.env.now),
            tick_cell_slice_mbps=last.cell_slice_mbps if started else np.zeros((C, S)),
            tick_cell_slice_prb=last.cell_slice_prb if started else np.zeros((C, S)),
            tick_prb_util=last.cell_prb_util if started else np.zeros(C),
            kpi_cell_slice_mbps=kpi, quota_pct=net.quota_pct, tx_power_dbm=net.tx_power_dbm,
            cell_state=net.cell_state, intent_mbps=net.intent_mbps,
            intent_tol_mbps=net.intent_tol_mbps, n_prb=sim.n_prb,
            slice_names=list(sim.slice_names), inbox=inbox)

    def send(self, dst: str, payload: dict, delay_ms: float = 0.0) -> None:
        """Send a message to agent ``dst``, delivered ``delay_ms`` of simulated time later."""
        self.sim_send(Message(self.name, dst, payload), ms_to_us(delay_ms))

    def sim_send(self, msg: Message, delay_us: int) -> None:
        dst = next((a for a in self.sim.agents if a.name == msg.dst), None)
        if dst is None:
            raise SimranError(f"agent {self.name}: no agent named {msg.dst!r}")
        msg.t_sent_us = int(self.env.now)
        msg.t_deliver_us = msg.t_sent_us + int(delay_us)

        def deliver():
            if delay_us:
                yield self.env.timeout(delay_us)
            yield dst.inbox.put(msg)
        self.env.process(deliver())

    # -- the wrapper process (design §3 steps 1–7) -----------------------------------------
    def run(self):
        """The agent's SimPy process."""
        env = self.env
        first = self.first_observation_us()
        if first > 0:
            yield env.timeout(first)
        while True:
            t0 = int(env.now)
            latency_us = self.step(t0)                   # effects are queued for t0 + L
            # the agent is busy thinking until t0 + L (the network evolves meanwhile); a decision
            # longer than the period skips the observations it covered
            nxt = t0 + self.period_us
            while nxt < t0 + latency_us:
                nxt += self.period_us
            yield env.timeout(nxt - t0)

    def step(self, t0: int) -> int:
        """Observe, decide, charge latency, submit; return the latency [µs]."""
        obs = self.observe()
        w0 = time.perf_counter()
        dec = self.decide(obs)
        wall = time.perf_counter() - w0
        if dec is None:
            dec = _NO_DECISION        # read-only use below; its row gets a list of its own
        elif isinstance(dec, list):
            dec = Decision(actions=dec)
        wall_s = dec.wall_s if dec.wall_s is not None else wall
        lat = self.latency.sample_us(self._lat_rng, wall_s=wall_s,
                                     prompt_tokens=dec.prompt_tokens,
                                     completion_tokens=dec.completion_tokens)
        return self._commit(t0, int(lat), dec, wall_s)

    def _commit(self, t0: int, lat: int, dec: Decision, wall_s: float) -> int:
        on_time = lat <= self.budget_us
        t_ready = t0 + lat
        late_drop = (not on_time) and self.cfg.late == "drop"
        acts = bool(dec.actions or dec.messages or dec.on_ready is not None)
        status = "dropped_late" if late_drop else ("no_action" if not acts else
                                                   ("pending" if on_time else "pending_late"))
        row = DecisionRecord.__new__(DecisionRecord)      # every field set here
        row.agent, row.kind, row.loop = self.name, self.kind, self.loop
        row.t_obs_s, row.t_ready_s, row.t_apply_s = t0 / US_PER_S, t_ready / US_PER_S, None
        row.latency_ms, row.budget_ms, row.on_time = lat / 1e3, self.budget_ms, on_time
        row.status, row.n_actions = status, len(dec.actions)
        row.backend, row.model, row.prompt_hash = dec.backend, dec.model, dec.prompt_hash
        row.prompt, row.raw_text, row.parsed = dec.prompt, dec.raw_text, dec.parsed
        row.actions, row.guard_verdict, row.guard_reason = dec.actions or [], "", ""
        row.validation, row.fallback_reason = dec.validation, dec.fallback_reason or ""
        row.prompt_tokens, row.completion_tokens = dec.prompt_tokens, dec.completion_tokens
        row.wall_s, row.note = wall_s, dec.note
        row = self.log.add(row)
        if late_drop or not acts:
            return lat
        verdicts: list = []
        n_actions = len(dec.actions)

        def applied(t_us, action, verdict, _row=row, _n=n_actions):
            verdicts.append(verdict)
            _row.t_apply_s = t_us / US_PER_S
            if _n == 1:
                _row.guard_verdict, _row.guard_reason = verdict.status, verdict.reason
            else:
                _row.guard_verdict = _worst([v.status for v in verdicts])
                _row.guard_reason = "; ".join(v.reason for v in verdicts if v.reason)
            if len(verdicts) == _n:
                _row.status = "applied" if on_time else "applied_late"

        for a in dec.actions:
            self.sim.control.submit(a, t_ready, origin=self._origin, tag=applied)
        if dec.messages or dec.on_ready is not None:
            self.env.process(self._ready_effects(lat, dec, row, on_time))
        return lat

    def _ready_effects(self, lat: int, dec: Decision, row: dict, on_time: bool):
        if lat:
            yield self.env.timeout(lat)
        for dst, payload in dec.messages:
            self.sim_send(Message(self.name, dst, payload), 0)
        if dec.on_ready is not None:
            dec.on_ready(int(self.env.now))
        if not dec.actions:
            row["t_apply_s"] = self.env.now / US_PER_S
            row["status"] = "applied" if on_time else "applied_late"


def _worst(statuses: list[str]) -> str:
    for s in ("rejected", "clamped", "accepted"):
        if s in statuses:
            return s
    return ""


def _action_dict(a) -> dict:
    from simran.control import action_to_dict

    if isinstance(a, dict):
        return a
    try:
        d = action_to_dict(a)
    except TypeError:
        return {"repr": repr(a)}
    return {k: (v if not isinstance(v, float) or math.isfinite(v) else str(v))
            for k, v in d.items()}
